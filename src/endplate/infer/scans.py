"""Labelled CMAP scans: simulated recordings with their true unit population, for inference and scoring.

A labelled scan is drawn in four steps, each from its own sub-stream of the scan's seed:

1. a healthy muscle of a bundled preset is built with ``BUILT_UNITS_FACTOR`` times its units
   (``muscle.anatomy.build_anatomy``; a few such muscles per preset are cached and reused);
2. a random share of its units is removed and their fibres adopted in full by the nearest units,
   so that healthy muscles differ in unit count (``HEALTHY_KEPT``) and units grow to keep the
   fibre count;
3. a disease stage (``STAGES``) removes a further share of units, the fast types first
   (``LOSS_WEIGHT``), and a share of the orphaned fibres is adopted by the nearest surviving unit
   (collateral reinnervation); the rest stay denervated;
4. axonal thresholds, their stimulus-to-stimulus noise (alternation) and the baseline noise are
   redrawn, and a 500-stimulus scan is recorded through the muscle's volume conductor
   (``muscle.cmap.cmap_scan``): negative-peak amplitudes of summed unit potentials, so phase
   cancellation between units is in the recording.

The truth is what the muscle holds after step 3: the functioning units, their negative-peak
potentials at the electrode, their thresholds, and the noise and alternation settings drawn.
The spreads in steps 2-4 are assumed (a prior over muscles that covers healthy variation and
the course of ALS), each stated where it is defined.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from endplate.errors import EndplateInputError
from endplate.infer.summaries import summaries
from endplate.muscle.anatomy import DENERVATED, Anatomy, build_anatomy
from endplate.muscle.cmap import cmap_scan
from endplate.muscle.emg import Conductor, conductor, negative_peak_mv
from endplate.muscle.presets import load_muscle
from endplate.seeding import substreams

# (species, muscle) pairs the labelled scans are drawn from: the three hand muscles scanned in the
# clinic and the mouse tibialis anterior of ALS-model studies.
SCAN_MUSCLES = (("human", "APB"), ("human", "ADM"), ("human", "FDI"), ("mouse", "TA"))
STAGES = ("healthy", "reinnervated", "late")
N_STIMULI = 500  # the MScanFit protocol's 500 stimuli (Bostock 2016)
BUILT_UNITS_FACTOR = 1.4  # built muscles hold 1.4x the preset's units before step 2
BASE_MUSCLES = 6  # distinct built muscles per preset, reused across scans (building is the slow part)
# Assumed: healthy muscles keep 0.43-1 of the built units, i.e. 0.6-1.4x the preset's count.
HEALTHY_KEPT = (0.6 / BUILT_UNITS_FACTOR, 1.0)
# Assumed: share of the healthy units lost, and share of orphaned fibres adopted, at each stage.
STAGE_LOSS = {"healthy": (0.0, 0.0), "reinnervated": (0.3, 0.75), "late": (0.8, 0.95)}
STAGE_ADOPTED = {"healthy": (1.0, 1.0), "reinnervated": (0.6, 1.0), "late": (0.2, 0.8)}
# Assumed: relative chance of loss by type S, FR, FF; fast units go first in ALS (the disease
# preset's FF > FR > S order), softened because human muscles lose units of every type.
LOSS_WEIGHT = np.array([1.0, 2.0, 4.0])
# Assumed log-normal spreads (SD of the log) around the preset's values, drawn per scan.
RSD_SPREAD = 0.35  # threshold noise RSD (alternation); preset 0.0165 (Sleutjes 2021)
NOISE_SPREAD = 0.4  # baseline noise
THRESHOLD_CV_SPREAD = 0.25  # spread of axonal thresholds
ADOPTION_NEIGHBOURS = 3  # an orphaned fibre goes to one of its 3 nearest surviving units
# Scans of the disease course itself (``course_scans``): the muscle as the species' bundled ALS
# scenario leaves it on a day drawn from the window (human: from the start to the last months of
# APB's course; mouse: weaning to end stage), a few days and redraws per run (runs are the slow part).
COURSE = "course"
COURSE_SCENARIO = {"human": "human-als", "mouse": "sod1-g93a"}
COURSE_WINDOW = {"human": (0, 2200), "mouse": (20, 125)}
COURSE_DAYS_PER_RUN = 8
COURSE_REDRAWS = 2


@dataclass(frozen=True)
class LabelledScan:
    """One simulated scan and its truth.

    ``stimulus_ma``, ``cmap_mv``: (N_STIMULI,) descending intensities and negative-peak
    responses; ``unit_amplitude_mv``, ``unit_threshold_ma``: (true_units,) of the functioning units.
    """

    species: str
    muscle: str
    stage: str
    seed: int
    stimulus_ma: np.ndarray
    cmap_mv: np.ndarray
    true_units: int
    unit_amplitude_mv: np.ndarray
    unit_threshold_ma: np.ndarray
    threshold_noise_rsd: float
    noise_uv: float
    loss_fraction: float  # nan for a scan of the disease course (``course_scans``)
    adopted_fraction: float
    anatomy: Anatomy = dataclasses.field(repr=False)
    cond: Conductor = dataclasses.field(repr=False)
    day: int | None = None  # the course day of a ``course_scans`` scan

    def truth(self) -> dict:
        """The truth as plain JSON-ready values (mV, mA, uV)."""
        return {
            "species": self.species,
            "muscle": self.muscle,
            "stage": self.stage,
            "seed": self.seed,
            "true_units": self.true_units,
            "unit_amplitude_mv": self.unit_amplitude_mv.tolist(),
            "unit_threshold_ma": self.unit_threshold_ma.tolist(),
            "threshold_noise_rsd": self.threshold_noise_rsd,
            "noise_uv": self.noise_uv,
            "loss_fraction": self.loss_fraction,
            "adopted_fraction": self.adopted_fraction,
            **({"day": self.day} if self.day is not None else {}),
        }


@lru_cache(maxsize=len(SCAN_MUSCLES) * BASE_MUSCLES)
def _base(species: str, muscle: str, index: int) -> tuple[Anatomy, Conductor]:
    """A healthy built muscle (read-only: scans copy what they change) and its conductor."""
    preset = load_muscle(species, muscle)
    preset = preset.replace(n_units=int(round(preset.n_units * BUILT_UNITS_FACTOR)))
    anatomy = build_anatomy(preset, seed=index)
    cond = conductor(anatomy)
    cond.templates()
    return anatomy, cond


def _adopt(anatomy: Anatomy, owner: np.ndarray, alive: np.ndarray, share: float, rng: np.random.Generator) -> None:
    """Give ``share`` of the fibres without a living owner to one of their nearest living units (in place)."""
    orphans = np.flatnonzero((owner == DENERVATED) | ~alive[np.maximum(owner, 0)])
    owner[orphans] = DENERVATED
    living = np.flatnonzero(alive)
    taken = orphans[rng.random(orphans.size) < share]
    if taken.size == 0 or living.size == 0:
        return
    from scipy.spatial import cKDTree

    k = min(ADOPTION_NEIGHBOURS, living.size)
    _, nearest = cKDTree(anatomy.unit_centre_mm[living]).query(anatomy.fibre_xy_mm[taken], k=k)
    nearest = nearest.reshape(taken.size, k)
    owner[taken] = living[nearest[np.arange(taken.size), rng.integers(0, k, taken.size)]]


def _remove(alive: np.ndarray, share: float, weight: np.ndarray, rng: np.random.Generator) -> None:
    """Kill ``share`` of the living units, each chosen with probability proportional to ``weight`` (in place)."""
    living = np.flatnonzero(alive)
    n = int(round(share * living.size))
    if n == 0:
        return
    keys = rng.random(living.size) ** (1.0 / weight[living])  # weighted sampling without replacement
    alive[living[np.argsort(keys)[:n]]] = False


def _muscle(rng: np.random.Generator, species: str | None, muscle: str | None) -> tuple[str, str]:
    """(species, muscle): as given, else drawn from ``SCAN_MUSCLES`` (one draw from ``rng`` either way)."""
    pick = SCAN_MUSCLES[rng.integers(len(SCAN_MUSCLES))]
    if muscle is None:
        return pick
    return (species if species is not None else next((sp for sp, m in SCAN_MUSCLES if m == muscle), "human")), muscle


def labelled_scan(seed: int, species: str | None = None, muscle: str | None = None, stage: str | None = None) -> LabelledScan:
    """Draw one labelled scan (see the module docstring); muscle and stage are drawn unless given."""
    streams = substreams(seed, "choice", "healthy", "disease", "thresholds", "recording")
    rng = np.random.default_rng(streams["choice"])
    species, muscle = _muscle(rng, species, muscle)
    stage = stage if stage is not None else STAGES[rng.integers(len(STAGES))]
    base, cond = _base(species, muscle, int(rng.integers(BASE_MUSCLES)))
    owner, alive = base.owner.copy(), base.unit_alive.copy()

    rng = np.random.default_rng(streams["healthy"])
    _remove(alive, 1.0 - rng.uniform(*HEALTHY_KEPT), np.ones(base.n_units), rng)
    _adopt(base, owner, alive, 1.0, rng)
    rng = np.random.default_rng(streams["disease"])
    loss, adopted = rng.uniform(*STAGE_LOSS[stage]), rng.uniform(*STAGE_ADOPTED[stage])
    _remove(alive, loss, LOSS_WEIGHT[base.unit_type], rng)
    _adopt(base, owner, alive, adopted, rng)

    muscle_now = dataclasses.replace(base, owner=owner, unit_alive=alive)
    return _recorded(muscle_now, cond, streams, species, muscle, stage, seed, float(loss), float(adopted))


def _recorded(
    muscle_now: Anatomy,
    cond: Conductor,
    streams: dict,
    species: str,
    muscle: str,
    stage: str,
    seed: int,
    loss: float,
    adopted: float,
) -> LabelledScan:
    """Step 4: redraw thresholds, alternation and noise on ``muscle_now``, record its scan and its truth."""
    preset = muscle_now.preset
    rng = np.random.default_rng(streams["thresholds"])
    cv = preset.threshold_cv * rng.lognormal(0.0, THRESHOLD_CV_SPREAD)
    sigma = np.sqrt(np.log1p(cv**2))
    threshold = preset.threshold_mean_ma * rng.lognormal(-0.5 * sigma**2, sigma, muscle_now.n_units)
    rsd = preset.threshold_noise_rsd * rng.lognormal(0.0, RSD_SPREAD)
    noise = preset.noise_uv * rng.lognormal(0.0, NOISE_SPREAD)
    muscle_now = dataclasses.replace(
        muscle_now,
        preset=dataclasses.replace(preset, threshold_noise_rsd=float(rsd), noise_uv=float(noise)),
        unit_threshold_ma=threshold.astype(np.float32),
    )
    scan = cmap_scan(muscle_now, N_STIMULI, streams["recording"], cond)
    functioning = muscle_now.unit_alive & (muscle_now.unit_sizes() > 0)
    amplitude = negative_peak_mv(cond.unit_potentials(muscle_now))
    return LabelledScan(
        species=species,
        muscle=muscle,
        stage=stage,
        seed=seed,
        stimulus_ma=scan["stimulus_ma"],
        cmap_mv=scan["cmap_mv"].astype(float),
        true_units=int(functioning.sum()),
        unit_amplitude_mv=amplitude[functioning].astype(float),
        unit_threshold_ma=threshold[functioning].astype(float),
        threshold_noise_rsd=float(rsd),
        noise_uv=float(noise),
        loss_fraction=loss,
        adopted_fraction=adopted,
        anatomy=muscle_now,
        cond=cond,
    )


def course_scans(
    run_seed: int, species: str, muscle: str, days: int = COURSE_DAYS_PER_RUN, redraws: int = COURSE_REDRAWS
) -> list[LabelledScan]:
    """Labelled scans of one muscle as the disease model leaves it (stage ``COURSE``), ``redraws`` on each of ``days`` days.

    One disease run of the species' bundled ALS scenario (``COURSE_SCENARIO``, this muscle only,
    its seed from ``run_seed``) is looked at on ``days`` days drawn from ``COURSE_WINDOW``; on each,
    ``redraws`` scans are recorded with thresholds, alternation and noise redrawn (step 4, each
    scan with its own seed ``scan_seed(run_seed, k)``). Here units lose their terminals one by
    one as the course has them, so remnant units of a few fibres sit beside enlarged ones: the
    population the steps 2-3 prior does not draw. The truth is the same as a scan's of the
    protocols (``functioning_units``: units with an axon and at least one innervated fibre); days
    on which none is left, and scans whose rise is lost in the noise (refused by ``summaries`` as
    a user's scan would be), are skipped.
    """
    from endplate.disease.diseased_muscle import muscles_on_days
    from endplate.disease.scenario import load_scenario

    streams = substreams(run_seed, "days", "run")
    low, high = COURSE_WINDOW[species]
    wanted = np.random.default_rng(streams["days"]).choice(np.arange(low, high + 1), size=days, replace=False)
    scenario = load_scenario(COURSE_SCENARIO[species], muscles=[muscle], seed=streams["run"], probe_muscle=muscle, probe_days=[])
    out, k = [], 0
    for day, anatomy in sorted(muscles_on_days(scenario, muscle, sorted(int(d) for d in wanted)).items()):
        if anatomy.functioning_units() == 0:
            continue  # a muscle with no units left has no count to infer
        cond = conductor(anatomy)
        cond.templates()
        for _ in range(redraws):
            seed = scan_seed(run_seed, k)
            streams_k = substreams(seed, "thresholds", "recording")
            scan = _recorded(anatomy, cond, streams_k, species, muscle, COURSE, seed, float("nan"), float("nan"))
            k += 1
            try:
                summaries(scan.stimulus_ma, scan.cmap_mv)
            except EndplateInputError:
                continue  # a rise lost in the noise: refused as a user's scan would be, nothing to infer
            out.append(dataclasses.replace(scan, day=int(day)))
    return out


def course_scan(seed: int, species: str | None = None, muscle: str | None = None) -> LabelledScan:
    """One labelled scan of the disease course (``course_scans``: one day of one run), muscle drawn unless given."""
    rng = np.random.default_rng(substreams(seed, "choice")["choice"])
    species, muscle = _muscle(rng, species, muscle)
    scans = course_scans(seed, species, muscle, redraws=1)
    if not scans:  # every day drawn after the muscle's last unit: not met in practice (8 days a run)
        raise RuntimeError(f"course run {seed} of {muscle} has no unit left on any of its days")
    return scans[int(rng.integers(len(scans)))]


def scan_seed(seed: int, index: int) -> int:
    """The seed of the ``index``-th scan of a set drawn with ``seed`` (63-bit, independent streams)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint64)[0] >> np.uint64(1))


def write_labelled_scans(
    out_dir, n: int, seed: int, muscle: tuple[str, str] | None = None, stage: str | None = None, provenance: dict | None = None
) -> list[dict]:
    """Write ``n`` labelled scans to ``out_dir``: ``scan_NNNN.csv`` and ``scan_NNNN.truth.json`` each.

    The CSV is the recording a user would have (stimulus_mA, cmap_mV; ``#`` lines say how it was
    made, never the truth); the JSON holds the truth (``LabelledScan.truth``). ``stage`` ``COURSE``
    writes scans of the disease model's own muscles (``course_scan``, a disease run each). Returns
    one index row per scan (file names, muscle, stage, true units).
    """
    import json
    from pathlib import Path

    from endplate.io.atomic import write_atomic
    from endplate.muscle.cmap import write_scan_csv

    out_dir = Path(out_dir)
    index = []
    for i in range(n):
        species, name = muscle if muscle is not None else (None, None)
        if stage == COURSE:
            scan = course_scan(scan_seed(seed, i), species, name)
        else:
            scan = labelled_scan(scan_seed(seed, i), species, name, stage)
        stem = f"scan_{i:04d}"
        header = {"made by": "endplate scans (simulated; the truth is in the .truth.json beside it)", **(provenance or {})}
        header.update({"set seed": seed, "scan": i, "muscle": f"{scan.species} {scan.muscle}"})
        write_scan_csv(out_dir / f"{stem}.csv", {"stimulus_ma": scan.stimulus_ma, "cmap_mv": scan.cmap_mv}, header)
        truth = {**scan.truth(), "set_seed": seed, "index": i, **(provenance or {})}
        text = json.dumps(truth, indent=1)

        def write(tmp: Path, text: str = text) -> None:
            tmp.write_text(text)

        write_atomic(out_dir / f"{stem}.truth.json", write)
        index.append(
            {
                "csv": f"{stem}.csv",
                "truth": f"{stem}.truth.json",
                "muscle": scan.muscle,
                "species": scan.species,
                "stage": scan.stage,
                "true_units": scan.true_units,
            }
        )
    return index
