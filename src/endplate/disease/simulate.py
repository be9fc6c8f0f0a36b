"""Run a scenario: build the muscles, step the disease daily, record what is measured.

The daily tallies (stages of every NMJ, axons and motor neurons by type, force) come from the
kernel; CMAP and MUNE are recorded every ``readout_every_days`` / ``mune_every_days`` by the
muscle layer's own readouts, on the muscles as they are that day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from endplate.disease import kernel as kern
from endplate.disease.junction_state import diseased_junctions, fibre_junction_state
from endplate.disease.model import Genotype, drive
from endplate.disease.resolve import DiseaseModel, resolve
from endplate.disease.scenario import Scenario
from endplate.disease.spread import susceptibility
from endplate.junction.parameters import default_parameters
from endplate.muscle.anatomy import Anatomy, build_anatomy
from endplate.muscle.cmap import maximal_cmap
from endplate.muscle.emg import conductor
from endplate.muscle.mune import estimate_value, mune
from endplate.muscle.neighbours import nearest
from endplate.readings import REASON_SUFFIX
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
    prune_level: np.ndarray  # per unit: the drive its episode of pruning begins at (inf: per-NMJ triggers)
    midpoint_day: float
    drive_start_day: float  # the disease reaches this muscle: the genotype's drive start plus its onset delay
    baseline_force: float
    baseline_cmap_mv: float
    units0_by_type: np.ndarray
    counts: np.ndarray  # running tallies kept by the kernel (see kernel.step_day)
    deltas: tuple  # per-chunk scratch arrays of the kernel (unit sizes, functional NMJs, counts, force, healthy NMJs, adoptions)
    recovering: np.ndarray  # bool, reinnervated fibre (matures and regrows from its adoption day)
    partner: dict  # transmission of impaired NMJs by which partner fails first (disease.toml first_partners)
    soma_stage: np.ndarray  # int8 per unit: stages of secondary death passed (kernel._units)
    unit_days: np.ndarray  # units x 2: the day each unit lost its axon and its soma (inf: not yet)
    readout_seeds: dict  # readout name (cmap, mune, probe) -> its sub-stream of the muscle's seed
    healthy: np.ndarray  # per unit: fibres owned with a healthy NMJ
    expected: np.ndarray  # per unit: healthy NMJs expected (reduced muscles, kernel._expect)
    expected_impaired: np.ndarray  # per unit: impaired NMJs expected (likewise)
    g_last: np.ndarray  # 1: the terminal drive ``expected`` was decayed to
    adopted: np.ndarray  # 3: adoptions by units of each type since the kernel last updated ``expected``
    represent: float = 1.0  # fibres of the real muscle each model fibre stands for (preset ``represents``)
    rng_seed: int = 0
    n_chunks: int = 1
    ref_day: float = 0.0
    day: int = 0  # the day of the last readout
    recovery_days: float = 20.0
    maturation_days: float = 21.0
    quiet_below: float = 0.0  # lowest trigger level at the start: below it healthy days are skipped
    atrophy_floor: float = 0.3
    atrophy_tau: float = 30.0

    def kernel_state(self) -> kern.KernelState:
        """The arrays the kernel steps (this state's and its anatomy's, not copies)."""
        a = self.anatomy
        d_size, d_func, d_counts, d_force, d_healthy, d_adopt = self.deltas
        return kern.KernelState(
            owner=a.owner,
            stage=self.stage,
            timer=self.timer,
            denerv=self.denerv,
            atrophy=self.atrophy0,
            tsc=self.tsc,
            ftype=a.fibre_type,
            level=self.level,
            neighbours=self.neighbours,
            force_weight=self.force_weight,
            recovering=self.recovering,
            unit_type=a.unit_type,
            soma_alive=self.soma_alive,
            axon_intact=a.unit_alive,
            unit_level=self.unit_level,
            size0=self.size0,
            size=self.size,
            functional=self.functional,
            unit_vuln=self.unit_vuln,
            prune_level=self.prune_level,
            soma_stage=self.soma_stage,
            unit_days=self.unit_days,
            counts=self.counts,
            d_size=d_size,
            d_func=d_func,
            d_counts=d_counts,
            d_force=d_force,
            healthy=self.healthy,
            expected=self.expected,
            expected_impaired=self.expected_impaired,
            d_healthy=d_healthy,
            d_adopt=d_adopt,
            g_last=self.g_last,
            adopted=self.adopted,
            ref_day=self.ref_day,
            quiet_below=self.quiet_below,
            rng_seed=self.rng_seed,
            n_chunks=self.n_chunks,
            represent=self.represent,
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


@dataclass(frozen=True)
class MuscleCourse:
    """One muscle's course in a run: daily series on ``Run.day``, readouts on ``Run.readout_day``
    (CMAP) and ``Run.mune_day`` (MUNE). Percentages are of the first day (by type: S, FR, FF)."""

    innervated_percent: np.ndarray  # fibres with a healthy or impaired NMJ
    partial_percent: np.ndarray  # fibres whose NMJ is withdrawing
    denervated_percent: np.ndarray
    impaired_percent: np.ndarray
    axons_percent_by_type: np.ndarray  # days x 3
    motor_neurons_percent_by_type: np.ndarray  # days x 3
    motor_neurons_percent: np.ndarray
    force_percent: np.ndarray
    upper_motor_neurons_percent: np.ndarray
    cmap_percent: np.ndarray
    mune: np.ndarray  # the estimate of the scenario's MUNE method
    mune_true: np.ndarray  # functioning units
    units: int
    fibres: int
    max_enlargement: float  # largest unit enlargement (fold) seen at a CMAP readout
    mune_undefined: str = ""  # where ``mune`` is NaN: at how many readouts and why ("" if never)


@dataclass(frozen=True)
class Run:
    """What ``simulate`` returns: the course of every muscle, onset and end stage (days, None: not
    reached), the probes of the probe muscle, and the muscles as the run left them (``states``,
    for readouts recorded from them afterwards)."""

    scenario: Scenario
    model: DiseaseModel
    day: np.ndarray
    readout_day: np.ndarray
    mune_day: np.ndarray
    muscles: dict[str, MuscleCourse]
    onset_day: float | None
    end_stage_day: float | None
    probes: tuple[dict, ...]
    states: dict[str, MuscleState]

    @property
    def mechanisms(self) -> dict[str, dict[str, float]]:
        return self.model.mechanisms


def unit_spread(mech: dict, n_units: int, seed: int) -> np.ndarray:
    """Each unit's terminal vulnerability relative to its type's (log-normal, median 1)."""
    sd = mech["terminal_degeneration"]["vulnerability_sd_log"]
    return np.exp(sd * np.random.default_rng(seed).standard_normal(n_units))


def pruning_levels(mech: dict, unit_vuln: np.ndarray) -> np.ndarray:
    """The drive at which each unit's episode of pruning begins (``unit_pruning``); inf without it.

    ln 2 / v: the drive at which a unit of vulnerability v in the per-NMJ model has lost half of
    its NMJs, so that switching the mechanism keeps each type's median timing.
    """
    if mech["terminal_degeneration"]["unit_pruning"] < 0.5:
        return np.full(unit_vuln.shape, np.inf)
    with np.errstate(divide="ignore"):
        return np.log(2.0) / unit_vuln


def terminal_levels(
    unit_vuln: np.ndarray, prune: np.ndarray, owner: np.ndarray, width: float, rng: np.random.Generator
) -> np.ndarray:
    """Each fibre's terminal trigger level (drive units) at the start, float32.

    Per NMJ (``prune`` infinite): Exp(1) / v of its unit. With unit pruning: L (1 + width Exp(1)),
    L its unit's ``prune`` level, so that a unit's NMJs go together once the drive reaches L. The
    same draws either way (the kernel's adoptions use the same rule, kernel._visit_many).
    """
    e = rng.exponential(1.0, owner.shape[0])
    coherent = np.isfinite(prune[owner])
    per_nmj = e / unit_vuln[owner]
    return np.where(coherent, prune[owner] * (1.0 + width * e), per_nmj).astype(np.float32)


def cortical_vulnerability(mech: dict, unit_type: np.ndarray) -> np.ndarray:
    """Each unit's vulnerability to the cortical process (by type; zero without it)."""
    c = mech["cortical_soma_death"]
    return np.array([c["vulnerability_s"], c["vulnerability_fr"], c["vulnerability_ff"]])[unit_type]


def readout_seed(state: MuscleState, readout: str, day: int) -> int:
    """The seed of ``readout`` (one of READOUTS) of this muscle on ``day``."""
    return day_seed(state.readout_seeds[readout], day)


def init_muscle(model: DiseaseModel, name: str, seed: int, baseline_cmap: bool = True) -> MuscleState:
    """The muscle ``name`` of ``model``'s scenario on its first day; its streams are sub-streams of ``seed``.

    It is built healthy; the baseline CMAP is its recording with that day's seed, so a healthy
    muscle reads 100 % on the first day (``baseline_cmap=False``: not recorded, NaN, for callers
    that report absolute CMAP; the recording has its own stream, so nothing else changes). If the scenario starts after the muscle's drive start,
    the days between are stepped here (unrecorded, untreated), so the muscle is as the disease has
    left it, not healthy with a backlog of drive.
    """
    scenario, p, geno, mech = model.scenario, model.kernel_parameters, model.genotype, model.mechanisms
    streams = substreams(seed, "anatomy", "levels", "kernel", *READOUTS, "vulnerability")
    preset = model.muscle(name)
    a = build_anatomy(preset, streams["anatomy"], default_parameters(scenario.species))
    rng = np.random.default_rng(streams["levels"])
    exponent = mech["terminal_degeneration"]["length_exponent"]
    length = (preset.axon_length_mm / scenario.reference_axon_length_mm) ** exponent
    pool = susceptibility(scenario.species, name)  # the muscle's own pool (presets/spread.toml), 1 by default
    vuln_by_type = np.array([p[kern.K_VULN_S], p[kern.K_VULN_FR], p[kern.K_VULN_FF]]) * length * pool
    unit_vuln = vuln_by_type[a.unit_type] * unit_spread(mech, a.n_units, streams["vulnerability"])
    prune = pruning_levels(mech, unit_vuln)
    with np.errstate(divide="ignore"):
        level = terminal_levels(unit_vuln, prune, a.owner, mech["terminal_degeneration"]["pruning_width"], rng)
        cortical = cortical_vulnerability(mech, a.unit_type) * pool
        unit_level = rng.exponential(1.0, a.n_units) / cortical
    nb = nearest(a.fibre_xy_mm, NEIGHBOURS + 1)
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
        prune_level=prune,
        midpoint_day=geno.values["midpoint_day"] + scenario.onset_delay_days.get(name, 0),
        drive_start_day=geno.values["drive_start_day"] + scenario.onset_delay_days.get(name, 0),
        baseline_force=float(force_weight.sum(dtype=np.float64)),
        baseline_cmap_mv=maximal_cmap(a, day_seed(streams["cmap"], scenario.start_day))["amplitude_mv"]
        if baseline_cmap
        else np.nan,
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
            np.zeros((chunks, a.n_units), np.int64),
            np.zeros((chunks, a.n_units)),
        ),
        healthy=sizes.copy(),
        expected=sizes.astype(np.float64),
        expected_impaired=np.zeros(a.n_units),
        g_last=np.zeros(1),
        adopted=np.zeros(3),
        represent=float(preset.represents),
        ref_day=float(scenario.start_day),
        recovery_days=float(p[kern.K_RECOVERY]),
        maturation_days=float(p[kern.K_MATURATION]),
        quiet_below=float(level.min()),
        partner=dict(model.partner.values),
        readout_seeds={r: streams[r] for r in READOUTS},
    )
    _warm_up(state, model)
    return state


def _warm_up(state: MuscleState, model: DiseaseModel) -> None:
    """Step the days from the drive's start to the day before the scenario's first day."""
    first = int(np.ceil(state.drive_start_day))
    if first >= model.scenario.start_day:
        return
    days = np.arange(first, model.scenario.start_day)
    step_many(state, model.kernel_parameters, first, *muscle_drives(state, days, model))


def muscle_drives(
    state: MuscleState, days: np.ndarray, model: DiseaseModel, course: Schedule | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Terminal and cortical drives of this muscle on ``days`` (-1: the process does not act).

    A muscle's onset delay shifts its whole drive in time (midpoint and start), so it delays the
    loss of every unit type in it alike. ``course``: a schedule of interventions (see ``Scheduled``)
    whose hazard ratios apply inside their windows (None: untreated).
    """
    start, width = state.drive_start_day, model.width_days

    def one(kind: str, rate: float) -> np.ndarray:
        if rate <= 0:
            return np.full(np.size(days), -1.0)
        if course is None:
            return drive(days, rate, state.midpoint_day, width, start)
        return course.treated_drive(kind, days, rate, state.midpoint_day, width, start)

    return one("terminal", model.terminal_rate_per_day), one("cortical", model.cortical_rate_per_day)


class Treatment(Protocol):
    """What a treatment changes in a run, asked once per stretch of days (untreated: ``Untreated``)."""

    def kernel_rows(self, model: DiseaseModel, days: np.ndarray) -> np.ndarray:
        """Kernel parameters on ``days``: one vector for all of them, or one row a day."""
        ...

    def drives(self, model: DiseaseModel, state: MuscleState, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The muscle's terminal and cortical drives on ``days`` (as ``muscle_drives``)."""
        ...

    def junction_adjuster(self, day: int) -> Callable | None:
        """A map from the junction population to the treated one on ``day`` (None: unchanged)."""
        ...


class Untreated:
    """No treatment: the model's parameters and drives."""

    def kernel_rows(self, model: DiseaseModel, days: np.ndarray) -> np.ndarray:
        return model.kernel_parameters

    def drives(self, model: DiseaseModel, state: MuscleState, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return muscle_drives(state, days, model)

    def junction_adjuster(self, day: int) -> Callable | None:
        return None


class Schedule(Protocol):
    """Interventions with windows in simulation days (the therapy layer's ``Course`` is one; the
    disease layer does not import it)."""

    def kernel_parameters(self, day: float, mech: dict, geno: Genotype, soma_death_blocked: bool, partner=None) -> np.ndarray:
        """The kernel parameter vector with the interventions open on ``day``."""
        ...

    def kernel_rows(self, days, mech: dict, geno: Genotype, soma_death_blocked: bool, partner=None) -> np.ndarray:
        """``kernel_parameters`` of each of ``days``, one row a day."""
        ...

    def treated_drive(self, kind: str, day, rate: float, midpoint: float, width: float, start: float = -np.inf):
        """The cumulative ``kind`` drive (terminal, cortical) with hazard ratios inside their windows."""
        ...

    def junction_adjuster(self, day: float):
        """A map from the junction population to the treated one on ``day``."""
        ...


@dataclass(frozen=True)
class Scheduled:
    """A schedule of interventions as a treatment: its parameters, drives and junction changes."""

    course: Schedule

    def kernel_rows(self, model: DiseaseModel, days: np.ndarray) -> np.ndarray:
        blocked, c = model.scenario.soma_death_blocked, self.course
        return c.kernel_rows([int(d) for d in days], model.mechanisms, model.genotype, blocked, model.partner)

    def drives(self, model: DiseaseModel, state: MuscleState, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return muscle_drives(state, days, model, self.course)

    def junction_adjuster(self, day: int) -> Callable | None:
        return self.course.junction_adjuster(day)


@dataclass(frozen=True)
class Stretch:
    """Days stepped in one kernel call and what each muscle went through on them."""

    days: np.ndarray  # consecutive days
    tallies: dict[str, np.ndarray]  # muscle -> days x N_COUNTS, the kernel's tallies after each day
    cortical_drive: dict[str, np.ndarray]  # muscle -> days (-1: no cortical process)


def run_days(
    model: DiseaseModel,
    states: dict[str, MuscleState],
    days: np.ndarray,
    treatment: Treatment,
    last_of_stretch: Callable[[int], int],
    record: Callable[[Stretch], bool],
) -> None:
    """The day loop of every run: step ``states`` over ``days`` in stretches, one kernel call each.

    A stretch starting on day ``d`` ends on ``last_of_stretch(d)`` (clipped to the last day);
    ``treatment`` gives its parameters and drives; ``record(stretch)`` observes it (the muscles are
    as the stretch left them) and returns True to stop the run there.
    """
    i = 0
    while i < days.size:
        hi = min(int(last_of_stretch(int(days[i])) - days[0]) + 1, days.size)
        span = days[i:hi]
        params = treatment.kernel_rows(model, span)
        tallies, cortical = {}, {}
        for m, st in states.items():
            g_t, g_c = treatment.drives(model, st, span)
            tallies[m] = step_many(st, params, int(span[0]), g_t, g_c)
            cortical[m] = g_c
        i = hi
        if record(Stretch(span, tallies, cortical)):
            return


def _initial_counts(a: Anatomy, force_weight: np.ndarray) -> np.ndarray:
    counts = np.zeros(kern.N_COUNTS)
    counts[kern.HEALTHY] = a.n_fibres
    by_type = np.bincount(a.unit_type, minlength=3)
    counts[kern.AXONS] = by_type
    counts[kern.SOMATA] = by_type
    counts[kern.FORCE] = counts[kern.FORCE_STATIC] = float(force_weight.sum(dtype=np.float64))
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


def _grouping(a: Anatomy) -> float | None:
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
    treatment: Treatment | None = None,
    model: DiseaseModel | None = None,
) -> Run:
    """Run ``scenario``: daily and readout arrays per muscle, onset and end stage (a ``Run``).

    ``treatment``: what changes the run (default ``Untreated()``). ``interventions``: a schedule
    of interventions (an ``endplate.therapy.interventions.Course``, windows in simulation days),
    shorthand for ``treatment=Scheduled(interventions)``. ``observe(day, states)``: called at the
    end of every day with the muscle states (read only), for observation models that follow single
    units or fibres; it makes the run step day by day. ``model``: the scenario already resolved.
    """
    model = resolve(scenario) if model is None else model
    if treatment is None:
        treatment = Untreated() if interventions is None else Scheduled(interventions)
    seeds = substreams(scenario.seed, *scenario.muscles)
    states = {m: init_muscle(model, m, seeds[m]) for m in scenario.muscles}
    days = np.arange(scenario.start_day, scenario.end_day + 1)
    readout_days = days[(days - days[0]) % scenario.readout_every_days == 0]
    mune_days = days[(days - days[0]) % scenario.mune_every_days == 0]
    # The kernel runs whole stretches of days in one call; a stretch ends where something is read.
    stops = np.union1d(np.union1d(readout_days, mune_days), np.intersect1d(days, scenario.probe_days))
    stops = days if observe is not None else np.union1d(stops, [days[-1]])
    recorder = _Recorder(model, states, days, readout_days, mune_days, treatment, observe, progress)
    run_days(model, states, days, treatment, lambda d: int(stops[np.searchsorted(stops, d)]), recorder)
    return recorder.result()


class _Recorder:
    """What ``simulate`` records: daily tallies, readouts on their days, probes (the ``record`` of ``run_days``)."""

    def __init__(self, model, states, days, readout_days, mune_days, treatment, observe, progress) -> None:
        sc = model.scenario
        self.model, self.states, self.days, self.treatment = model, states, days, treatment
        self.readout_days, self.mune_days, self.observe, self.progress = readout_days, mune_days, observe, progress
        self.daily = {m: np.zeros((days.size, kern.N_COUNTS)) for m in sc.muscles}
        self.umn = {m: np.full(days.size, 100.0) for m in sc.muscles}
        self.unit_cortical_vuln = {m: cortical_vulnerability(model.mechanisms, st.anatomy.unit_type) for m, st in states.items()}
        self.cmap: dict[str, list[float]] = {m: [] for m in sc.muscles}
        self.mune_est: dict[str, list[float]] = {m: [] for m in sc.muscles}
        self.mune_true: dict[str, list[float]] = {m: [] for m in sc.muscles}
        self.mune_why: dict[str, dict[str, int]] = {m: {} for m in sc.muscles}  # reason -> readouts
        self.probes: list[dict] = []
        self.largest = {m: 1.0 for m in sc.muscles}  # largest unit enlargement seen at any readout
        self.probe_muscle = sc.probe_muscle or sc.muscles[0]

    def __call__(self, stretch: Stretch) -> bool:
        lo = int(stretch.days[0] - self.days[0])
        hi = lo + stretch.days.size
        day = int(stretch.days[-1])
        for m, st in self.states.items():
            self.daily[m][lo:hi] = stretch.tallies[m]
            if self.model.cortical_rate_per_day > 0:
                # Upper motor neurons: the corticospinal neurons driving a pool degenerate with the
                # cortical process that kills the pool's somata under dying forward, each at its
                # unit's cortical vulnerability (no new parameter). They are many more than the
                # units, so their surviving share is the expected one, exp(-vulnerability x
                # cortical drive), averaged over the units.
                g_c = np.maximum(stretch.cortical_drive[m], 0.0)
                self.umn[m][lo:hi] = 100.0 * np.exp(-np.outer(g_c, self.unit_cortical_vuln[m])).mean(axis=1)
            refresh_atrophy(st, day)
            self._readouts(m, st, day)
        if self.observe is not None:
            self.observe(day, self.states)
        if self.progress:
            self.progress(hi, self.days.size)
        return False

    def _readouts(self, m: str, st: MuscleState, day: int) -> None:
        sc = self.model.scenario
        cmap_today, mune_today = day in self.readout_days, day in self.mune_days
        # One conductor for the day's readouts: the muscle does not change between them.
        cond = conductor(st.anatomy) if cmap_today or mune_today else None
        if cmap_today:
            self.cmap[m].append(
                maximal_cmap(st.anatomy, readout_seed(st, "cmap", day), cond)["amplitude_mv"] / st.baseline_cmap_mv * 100
            )
            self.largest[m] = max(self.largest[m], float((st.size / np.maximum(st.size0, 1)).max()))
        if mune_today:
            r = mune(st.anatomy, sc.mune_method, readout_seed(st, "mune", day), cond)
            self.mune_est[m].append(estimate_value(r))
            self.mune_true[m].append(r["true_units"])
            if r["estimate"] is None:
                why = r.get("estimate" + REASON_SUFFIX) or "not measured"
                self.mune_why[m][why] = self.mune_why[m].get(why, 0) + 1
        if day in sc.probe_days and m == self.probe_muscle:
            self.probes.append(probe(st, day, readout_seed(st, "probe", day), self.treatment.junction_adjuster(day)))

    def result(self) -> Run:
        sc = self.model.scenario
        muscles = {m: self._course(m, st) for m, st in self.states.items()}
        # Onset and end stage read the named muscles that were simulated (all of them if none were).
        onset_set = [m for m in sc.onset_muscles if m in muscles] or list(muscles)
        end_set = [m for m in sc.end_stage_muscles if m in muscles] or list(muscles)
        onset_force = np.mean([muscles[m].force_percent for m in onset_set], axis=0)
        end_force = np.mean([muscles[m].force_percent for m in end_set], axis=0)
        return Run(
            scenario=sc,
            model=self.model,
            day=self.days,
            readout_day=self.readout_days,
            mune_day=self.mune_days,
            muscles=muscles,
            onset_day=_first_day(self.days, onset_force, 100 * sc.onset_force_fraction),
            end_stage_day=_first_day(self.days, end_force, 100 * sc.end_stage_force_fraction),
            probes=tuple(self.probes),
            states=self.states,
        )

    def _course(self, m: str, st: MuscleState) -> MuscleCourse:
        d = self.daily[m]
        n_f = st.anatomy.n_fibres
        units0 = np.maximum(st.units0_by_type, 1)
        return MuscleCourse(
            innervated_percent=100 * (d[:, kern.HEALTHY] + d[:, kern.IMPAIRED]) / n_f,
            partial_percent=100 * d[:, kern.WITHDRAWING] / n_f,
            denervated_percent=100 * d[:, kern.DENERVATED] / n_f,
            impaired_percent=100 * d[:, kern.IMPAIRED] / n_f,
            axons_percent_by_type=100 * d[:, kern.AXONS] / units0,
            motor_neurons_percent_by_type=100 * d[:, kern.SOMATA] / units0,
            motor_neurons_percent=100 * d[:, kern.SOMATA].sum(axis=1) / st.units0_by_type.sum(),
            force_percent=100 * d[:, kern.FORCE] / st.baseline_force,
            upper_motor_neurons_percent=self.umn[m],
            cmap_percent=np.array(self.cmap[m]),
            mune=np.array(self.mune_est[m]),
            mune_true=np.array(self.mune_true[m]),
            units=st.anatomy.n_units,
            fibres=n_f,
            max_enlargement=self.largest[m],
            mune_undefined=_undefined_text(self.mune_why[m], len(self.mune_est[m])),
        )


def _undefined_text(reasons: dict[str, int], readouts: int) -> str:
    """The text "undefined at 28 of 29 readouts: why" (one clause per reason), or "" when always defined."""
    return "; ".join(f"undefined at {n} of {readouts} readouts: {why}" for why, n in reasons.items())


def _first_day(days: np.ndarray, series: np.ndarray, below: float) -> float | None:
    hit = np.flatnonzero(series < below)
    return float(days[hit[0]]) if hit.size else None
