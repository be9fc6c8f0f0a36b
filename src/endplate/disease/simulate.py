"""Run a scenario: build the muscles, step the disease daily, record what is measured.

The daily tallies (stages of every NMJ, axons and motor neurons by type, force) come from the
kernel; CMAP and MUNE are recorded every ``readout_every_days`` / ``mune_every_days`` by the
muscle layer's own readouts, on the muscles as they are that day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from endplate.disease import kernel as kern
from endplate.disease.junction_state import diseased_junctions, fibre_junction_state
from endplate.disease.model import (
    Genotype,
    drive,
    drive_rates,
    first_partner,
    genotype,
    kernel_parameters,
    mechanism_values,
    with_changes,
)
from endplate.disease.scenario import Scenario
from endplate.junction.parameters import default_parameters
from endplate.muscle.anatomy import Anatomy, build_anatomy
from endplate.muscle.cmap import maximal_cmap
from endplate.muscle.mune import estimate_value, mune
from endplate.muscle.presets import load_muscle
from endplate.seeding import day_seed, substreams

NEIGHBOURS = 6  # nearest fibres a sprout can come from (assumed: the first ring around a fibre)
PARALLEL_CHUNKS = 8
PARALLEL_MIN_FIBRES = 100_000
READOUTS = ("cmap", "mune", "probe")  # readouts with their own sub-stream of each muscle's seed


@dataclass
class MuscleState:
    """Disease state of one muscle, beside (and sharing arrays with) its anatomy."""

    anatomy: Anatomy
    stage: np.ndarray
    timer: np.ndarray
    denerv: np.ndarray
    atrophy0: np.ndarray  # kernel's lazily kept atrophy (see kernel.step_day); anatomy.atrophy is refreshed from it
    tsc: np.ndarray
    level: np.ndarray
    neighbours: np.ndarray
    force_weight: np.ndarray
    soma_alive: np.ndarray
    unit_level: np.ndarray
    size0: np.ndarray
    size: np.ndarray
    functional: np.ndarray
    unit_vuln: np.ndarray
    midpoint_day: float
    drive_start_day: float  # the disease reaches this muscle: the genotype's drive start plus its onset delay
    baseline_force: float
    baseline_cmap_mv: float
    units0_by_type: np.ndarray
    counts: np.ndarray  # running tallies kept by the kernel (see kernel.step_day)
    rng_seed: int = 0
    n_chunks: int = 1
    deltas: tuple = ()  # per-chunk scratch arrays of the kernel (unit sizes, functional NMJs, counts, force)
    recovering: np.ndarray = None  # bool, reinnervated fibre (matures and regrows from its adoption day)
    ref_day: float = 0.0
    day: int = 0  # the day of the last readout
    recovery_days: float = 20.0
    maturation_days: float = 21.0
    quiet_below: float = 0.0  # lowest trigger level at the start: below it healthy days are skipped
    partner: dict = None  # transmission of impaired NMJs by which partner fails first (disease.toml first_partners)
    atrophy_floor: float = 0.3
    atrophy_tau: float = 30.0
    soma_stage: np.ndarray = None  # int8 per unit: stages of secondary death passed (kernel._units)
    unit_days: np.ndarray = None  # units x 2: the day each unit lost its axon and its soma (inf: not yet)
    readout_seeds: dict = None  # readout name (cmap, mune, probe) -> its sub-stream of the muscle's seed

    def kernel_state(self) -> kern.KernelState:
        """The arrays the kernel steps (this state's and its anatomy's, not copies)."""
        a = self.anatomy
        fibres = (a.owner, self.stage, self.timer, self.denerv, self.atrophy0, self.tsc, a.fibre_type, self.level)
        units = (a.unit_type, self.soma_alive, a.unit_alive, self.unit_level, self.size0, self.size, self.functional)
        return kern.KernelState(
            *fibres,
            self.neighbours,
            self.force_weight,
            self.recovering,
            *units,
            self.unit_vuln,
            self.soma_stage,
            self.unit_days,
            self.counts,
            *self.deltas,
            self.ref_day,
            self.quiet_below,
            self.rng_seed,
            self.n_chunks,
        )

    @property
    def nbytes_per_fibre(self) -> float:
        fibre = (
            self.stage,
            self.timer,
            self.denerv,
            self.atrophy0,
            self.tsc,
            self.level,
            self.neighbours,
            self.force_weight,
            self.recovering,
        )
        return self.anatomy.nbytes_per_fibre + sum(a.nbytes for a in fibre) / self.anatomy.n_fibres


def unit_spread(mech: dict, n_units: int, seed: int) -> np.ndarray:
    """Each unit's terminal vulnerability relative to its type's (log-normal, median 1)."""
    sd = mech["terminal_degeneration"]["vulnerability_sd_log"]
    return np.exp(sd * np.random.default_rng(seed).standard_normal(n_units))


def cortical_vulnerability(mech: dict, unit_type: np.ndarray) -> np.ndarray:
    """Each unit's vulnerability to the cortical process (by type; zero without it)."""
    c = mech["cortical_soma_death"]
    return np.array([c["vulnerability_s"], c["vulnerability_fr"], c["vulnerability_ff"]])[unit_type]


def readout_seed(state: MuscleState, readout: str, day: int) -> int:
    """The seed of ``readout`` (one of READOUTS) of this muscle on ``day``."""
    return day_seed(state.readout_seeds[readout], day)


def init_muscle(scenario: Scenario, name: str, p: np.ndarray, geno: Genotype, seed: int) -> MuscleState:
    """The muscle ``name`` on the scenario's first day; its streams are sub-streams of ``seed``.

    It is built healthy; the baseline CMAP is its recording with that day's seed, so a healthy
    muscle reads 100 % on the first day. If the scenario starts after the muscle's drive start,
    the days between are stepped here (unrecorded), so the muscle is as the disease has left it,
    not healthy with a backlog of drive.
    """
    streams = substreams(seed, "anatomy", "levels", "kernel", *READOUTS, "vulnerability")
    preset = load_muscle(scenario.species, name, **scenario.muscle_set.get(name, {}))
    a = build_anatomy(preset, streams["anatomy"], default_parameters(scenario.species))
    rng = np.random.default_rng(streams["levels"])
    mech = mechanism_values(scenario.hypothesis, geno, scenario.set)
    exponent = mech["terminal_degeneration"]["length_exponent"]
    length = (preset.axon_length_mm / scenario.reference_axon_length_mm) ** exponent
    vuln_by_type = np.array([p[kern.K_VULN_S], p[kern.K_VULN_FR], p[kern.K_VULN_FF]]) * length
    unit_vuln = vuln_by_type[a.unit_type] * unit_spread(mech, a.n_units, streams["vulnerability"])
    with np.errstate(divide="ignore"):
        level = (rng.exponential(1.0, a.n_fibres) / unit_vuln[a.owner]).astype(np.float32)
        cortical = cortical_vulnerability(mech, a.unit_type)
        unit_level = rng.exponential(1.0, a.n_units) / cortical
    _, nb = cKDTree(a.fibre_xy_mm).query(a.fibre_xy_mm, NEIGHBOURS + 1)
    # Large muscles are stepped in parallel chunks of rows; a chunk must be far thicker than the
    # neighbourhood of a fibre (one row), which holds from about 10^5 fibres.
    chunks = PARALLEL_CHUNKS if a.n_fibres >= PARALLEL_MIN_FIBRES else 1
    sizes = a.unit_sizes().astype(np.int64)
    specific = np.array([preset.specific_force_s, preset.specific_force_fr, preset.specific_force_ff])
    force_weight = (a.force_scale * specific[a.fibre_type] * a.fibre_diameter_um.astype(float) ** 2).astype(np.float32)
    state = MuscleState(
        anatomy=a,
        stage=np.zeros(a.n_fibres, np.int8),
        timer=np.zeros(a.n_fibres, np.float32),
        denerv=np.zeros(a.n_fibres, np.float32),
        atrophy0=np.ones(a.n_fibres, np.float32),
        tsc=np.zeros(a.n_fibres, np.int8),
        level=level,
        neighbours=nb[:, 1:].astype(np.int32),
        force_weight=force_weight,
        soma_alive=np.ones(a.n_units, bool),
        unit_level=unit_level,
        size0=sizes.copy(),
        size=sizes.copy(),
        functional=sizes.copy(),
        unit_vuln=unit_vuln,
        midpoint_day=geno.values["midpoint_day"] + scenario.onset_delay_days.get(name, 0),
        drive_start_day=geno.values["drive_start_day"] + scenario.onset_delay_days.get(name, 0),
        baseline_force=float(force_weight.sum(dtype=np.float64)),
        baseline_cmap_mv=maximal_cmap(a, day_seed(streams["cmap"], scenario.start_day))["amplitude_mv"],
        units0_by_type=np.bincount(a.unit_type, minlength=3).astype(float),
        counts=_initial_counts(a, force_weight),
        atrophy_floor=float(p[kern.K_ATROPHY_FLOOR]) if p[kern.K_ATROPHY_TAU] > 0 else 1.0,
        atrophy_tau=float(p[kern.K_ATROPHY_TAU]),
        recovering=np.zeros(a.n_fibres, bool),
        soma_stage=np.zeros(a.n_units, np.int8),
        unit_days=np.full((a.n_units, 2), np.inf),
        rng_seed=int(streams["kernel"] % 2**31),
        n_chunks=chunks,
        deltas=(
            np.zeros((chunks, a.n_units), np.int64),
            np.zeros((chunks, a.n_units), np.int64),
            np.zeros((chunks, 4)),
            np.zeros((chunks, 2)),
        ),
        ref_day=float(scenario.start_day),
        recovery_days=float(p[kern.K_RECOVERY]),
        maturation_days=float(p[kern.K_MATURATION]),
        quiet_below=float(level.min()),
        partner=dict(first_partner(scenario.first_partner).values),
        readout_seeds={r: streams[r] for r in READOUTS},
    )
    _warm_up(state, scenario, p, geno, mech)
    return state


def _warm_up(state: MuscleState, scenario: Scenario, p: np.ndarray, geno: Genotype, mech: dict) -> None:
    """Step the days from the drive's start to the day before the scenario's first day."""
    first = int(np.ceil(state.drive_start_day))
    if first >= scenario.start_day:
        return
    days = np.arange(first, scenario.start_day)
    g_t, g_c = muscle_drives(state, days, geno, *drive_rates(mech, geno))
    step_many(state, p, first, g_t, g_c)


def muscle_drives(
    state: MuscleState, days: np.ndarray, geno: Genotype, term_rate: float, cort_rate: float, course=None
) -> tuple[np.ndarray, np.ndarray]:
    """Terminal and cortical drives of this muscle on ``days`` (-1: the process does not act).

    A muscle's onset delay shifts its whole drive in time (midpoint and start), so it delays the
    loss of every unit type in it alike. ``course``: an ``endplate.therapy.interventions.Course``
    whose hazard ratios apply inside their windows (None: untreated).
    """
    start, width = state.drive_start_day, geno.values["width_days"]

    def one(kind: str, rate: float) -> np.ndarray:
        if rate <= 0:
            return np.full(np.size(days), -1.0)
        if course is None:
            return drive(days, rate, state.midpoint_day, width, start)
        return course.treated_drive(kind, days, rate, state.midpoint_day, width, start)

    return one("terminal", term_rate), one("cortical", cort_rate)


def _initial_counts(a: Anatomy, force_weight: np.ndarray) -> np.ndarray:
    counts = np.zeros(kern.N_COUNTS)
    counts[kern.HEALTHY] = a.n_fibres
    by_type = np.bincount(a.unit_type, minlength=3)
    counts[4:7] = by_type
    counts[7:10] = by_type
    counts[10] = counts[11] = float(force_weight.sum(dtype=np.float64))
    return counts


def step(state: MuscleState, p: np.ndarray, day: int, g_term: float, g_cort: float) -> None:
    """Advance the muscle one day in place (``p``: kernel parameters; drives as in ``kernel.step_day``)."""
    kern.step_day(p, float(day), g_term, g_cort, state.kernel_state())


def step_many(state: MuscleState, params: np.ndarray, first_day: int, g_terms: np.ndarray, g_corts: np.ndarray) -> np.ndarray:
    """Advance ``len(g_terms)`` days from ``first_day`` in one compiled call; the daily tallies (days x N_COUNTS).

    ``params``: the kernel parameter vector, one for all days or one row a day. Equal to calling
    ``step`` day by day (the random streams depend on the day only), without a call a day.
    """
    g_terms = np.ascontiguousarray(g_terms, dtype=float)
    n = g_terms.size
    rows = np.ascontiguousarray(np.broadcast_to(params, (n, params.shape[-1])), dtype=float)
    history = np.empty((n, kern.N_COUNTS))
    g_corts = np.ascontiguousarray(g_corts, dtype=float)
    kern.step_days(rows, float(first_day), g_terms, g_corts, state.kernel_state(), history)
    return history


def refresh_atrophy(state: MuscleState, day: int) -> None:
    """Bring the lazily kept atrophy of denervated fibres up to ``day`` (for readouts)."""
    a = state.anatomy
    state.day = day
    a.atrophy[:] = kern.current_atrophy(
        float(day),
        a.owner,
        state.denerv,
        state.atrophy0,
        state.recovering,
        state.atrophy_floor,
        state.atrophy_tau,
        state.recovery_days,
    )


def probe(state: MuscleState, day: int, seed: int, adjust: Callable | None = None) -> dict:
    """Jitter, blocking and 3 Hz decrement of the muscle as the disease has left it on ``day``.

    ``adjust`` (optional) maps the junction population to a treated one (layer D interventions).
    """
    from endplate.muscle.rns import muscle_rns
    from endplate.muscle.sfemg import muscle_sfemg

    a = state.anatomy
    healthy = a.junctions
    a.junctions = effective_junctions(state) if adjust is None else adjust(effective_junctions(state))
    try:
        streams = substreams(seed, "sfemg", "rns")
        sf = muscle_sfemg(a, 10.0, n_pairs=20, n_discharges=100, seed=streams["sfemg"])
        rns = muscle_rns(a, 3.0, 10, streams["rns"])
    finally:
        a.junctions = healthy
    sizes = a.unit_sizes()
    return {
        "day": int(day),
        "mcd_us": sf["mcd_us"],
        "blocking_percent": sf["blocking_percent"],
        "fibre_density": sf["fibre_density"],
        "decrement_percent": rns["decrement_percent"],
        "unit_sizes": sizes[a.unit_alive & (sizes > 0)].tolist(),
        "grouping_index": _grouping(a),
        "cross_section": {"owner": a.owner.copy(), "fibre_type": a.fibre_type.copy()},
    }


def _grouping(a) -> float:
    from endplate.muscle.grouping import grouping_index

    return grouping_index(a)


def effective_junctions(state: MuscleState):
    """The muscle's junctions as the disease has left them (see ``disease.junction_state``)."""
    return diseased_junctions(state.anatomy.junctions, fibre_junction_state(state))


def simulate(
    scenario: Scenario,
    progress: Callable[[int, int], None] | None = None,
    interventions=None,
    observe: Callable[[int, dict], None] | None = None,
) -> dict:
    """Run ``scenario``; returns daily and readout arrays per muscle plus onset and end stage.

    ``interventions``: an ``endplate.therapy.interventions.Course`` (windows in simulation days) that
    changes kernel parameters, disease drives and, at probe days, junction parameters while its
    windows are open. None (the default) runs the scenario untouched.
    ``observe(day, states)``: called at the end of every day with the muscle states (read only),
    for observation models that follow single units or fibres; it makes the run step day by day.
    """
    geno = with_changes(genotype(scenario.genotype), scenario.set)
    mech = mechanism_values(scenario.hypothesis, geno, scenario.set)
    p = kernel_parameters(mech, geno, scenario.soma_death_blocked, first_partner(scenario.first_partner))
    seeds = substreams(scenario.seed, *scenario.muscles)
    states = {m: init_muscle(scenario, m, p, geno, seeds[m]) for m in scenario.muscles}
    days = np.arange(scenario.start_day, scenario.end_day + 1)
    term_rate, cort_rate = drive_rates(mech, geno)
    n_d = days.size
    daily = {m: np.zeros((n_d, kern.N_COUNTS)) for m in scenario.muscles}
    # Upper motor neurons: the corticospinal neurons driving a pool degenerate with the cortical
    # process that kills the pool's somata under dying forward, each at its unit's cortical
    # vulnerability (no new parameter). They are many more than the units, so their surviving
    # share is the expected one, exp(-vulnerability x cortical drive), averaged over the units.
    umn = {m: np.full(n_d, 100.0) for m in scenario.muscles}
    unit_cortical_vuln = {m: cortical_vulnerability(mech, st.anatomy.unit_type) for m, st in states.items()}
    readout_days = days[(days - days[0]) % scenario.readout_every_days == 0]
    mune_days = days[(days - days[0]) % scenario.mune_every_days == 0]
    cmap = {m: [] for m in scenario.muscles}
    mune_est = {m: [] for m in scenario.muscles}
    mune_true = {m: [] for m in scenario.muscles}
    probes: list[dict] = []
    largest = {m: 1.0 for m in scenario.muscles}  # largest unit enlargement seen at any readout
    partner = first_partner(scenario.first_partner)
    # The kernel runs whole stretches of days in one call; a stretch ends where something is read.
    stops = np.union1d(np.union1d(readout_days, mune_days), np.intersect1d(days, scenario.probe_days))
    stops = days if observe is not None else np.union1d(stops, [days[-1]])
    lo = 0
    for stop in stops:
        hi = int(stop - days[0]) + 1
        span = days[lo:hi]
        params = p
        # --- layer D (therapy): parameters and drives of the interventions open on each day ---
        if interventions is not None:
            params = np.array(
                [interventions.kernel_parameters(int(d), mech, geno, scenario.soma_death_blocked, partner) for d in span]
            )
        for m, st in states.items():
            g_t, g_c = muscle_drives(st, span, geno, term_rate, cort_rate, interventions)
            # --- end layer D ---
            daily[m][lo:hi] = step_many(st, params, int(span[0]), g_t, g_c)
            if cort_rate > 0:
                umn[m][lo:hi] = 100.0 * np.exp(-np.outer(np.maximum(g_c, 0.0), unit_cortical_vuln[m])).mean(axis=1)
            day = int(stop)
            refresh_atrophy(st, day)
            if day in readout_days:
                cmap[m].append(
                    maximal_cmap(st.anatomy, readout_seed(st, "cmap", day))["amplitude_mv"] / st.baseline_cmap_mv * 100
                )
                largest[m] = max(largest[m], float((st.size / np.maximum(st.size0, 1)).max()))
            if day in mune_days:
                r = mune(st.anatomy, scenario.mune_method, readout_seed(st, "mune", day))
                mune_est[m].append(estimate_value(r))
                mune_true[m].append(r["true_units"])
            if day in scenario.probe_days and m == (scenario.probe_muscle or scenario.muscles[0]):
                probes.append(
                    probe(
                        st,
                        day,
                        readout_seed(st, "probe", day),
                        None if interventions is None else interventions.junction_adjuster(day),
                    )
                )
        lo = hi
        if observe is not None:
            observe(int(stop), states)
        if progress:
            progress(hi, n_d)
    out = _assemble(scenario, states, days, daily, readout_days, cmap, mune_days, mune_est, mune_true)
    for m in scenario.muscles:
        out["muscles"][m]["max_enlargement"] = largest[m]
        out["muscles"][m]["upper_motor_neurons_percent"] = umn[m]
    out["probes"] = probes
    out["mechanisms"] = mech
    return out


def _first_day(days: np.ndarray, series: np.ndarray, below: float) -> float | None:
    hit = np.flatnonzero(series < below)
    return float(days[hit[0]]) if hit.size else None


def _assemble(scenario, states, days, daily, readout_days, cmap, mune_days, mune_est, mune_true) -> dict:
    muscles = {}
    for m, st in states.items():
        d = daily[m]
        n_f = st.anatomy.n_fibres
        muscles[m] = {
            "innervated_percent": 100 * (d[:, kern.HEALTHY] + d[:, kern.IMPAIRED]) / n_f,
            "partial_percent": 100 * d[:, kern.WITHDRAWING] / n_f,
            "denervated_percent": 100 * d[:, kern.DENERVATED] / n_f,
            "impaired_percent": 100 * d[:, kern.IMPAIRED] / n_f,
            "axons_percent_by_type": 100 * d[:, 4:7] / np.maximum(st.units0_by_type, 1),
            "motor_neurons_percent_by_type": 100 * d[:, 7:10] / np.maximum(st.units0_by_type, 1),
            "motor_neurons_percent": 100 * d[:, 7:10].sum(axis=1) / st.units0_by_type.sum(),
            "force_percent": 100 * d[:, 10] / st.baseline_force,
            "cmap_percent": np.array(cmap[m]),
            "mune": np.array(mune_est[m]),
            "mune_true": np.array(mune_true[m]),
            "units": st.anatomy.n_units,
            "fibres": n_f,
        }
    # Onset and end stage read the named muscles that were simulated (all of them if none were).
    onset_set = [m for m in scenario.onset_muscles if m in muscles] or list(muscles)
    end_set = [m for m in scenario.end_stage_muscles if m in muscles] or list(muscles)
    onset_force = np.mean([muscles[m]["force_percent"] for m in onset_set], axis=0)
    end_force = np.mean([muscles[m]["force_percent"] for m in end_set], axis=0)
    return {
        "scenario": scenario,
        "day": days,
        "readout_day": readout_days,
        "mune_day": mune_days,
        "muscles": muscles,
        "onset_day": _first_day(days, onset_force, 100 * scenario.onset_force_fraction),
        "end_stage_day": _first_day(days, end_force, 100 * scenario.end_stage_force_fraction),
        "states": states,
    }
