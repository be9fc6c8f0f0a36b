"""Junctions as struct-of-arrays: per-junction parameters, per-junction state, kernel scalars.

One row per NMJ. The muscle and disease layers build and edit these arrays directly (which
type, how much release, how many AChRs, whether the tSC is there), so the hot loop only ever
sees plain arrays and numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from endplate.errors import EndplateInputError
from endplate.junction.parameters import UNIT_TYPES, JunctionParameters

# Structural state of the terminal Schwann cell(s), exposed for the disease layer.
TSC_PRESENT, TSC_REACTIVE, TSC_LOST = 0, 1, 2
TSC_STATES = ("present", "reactive", "lost")

# Index of each scalar in the array handed to kernels.
(
    OCC,
    SAT_N,
    COOP,
    A_FAST,
    A_SLOW,
    REFILL_ACT,
    TSC_INC,
    DES_INC,
    CV_Q,
    NLS_K,
    RISE_TAU,
    PEAK_FRACTION,
    DELAY,
    REL_SD,
    BRANCH_SD,
    A_MOB,
    MOB_RATE,
    A_POT,
    POT_GAIN,
) = range(19)
N_SCALARS = 19


@dataclass
class JunctionState:
    """Dynamic state of each junction (28 bytes a junction)."""

    vesicles: np.ndarray  # int32, quanta in the readily releasable pool
    facilitation_fast: np.ndarray  # float32, residual-Ca occupancy gain, fast component
    facilitation_slow: np.ndarray  # float32, slow component
    tsc_activity: np.ndarray  # float32 in [0, 1], activity-driven tSC state
    desensitisation: np.ndarray  # float32 in [0, 1], fraction of AChRs desensitised
    mobilisation: np.ndarray  # float32 in [0, 1], activity-built mobilisation of vesicles towards the pool
    potentiation: np.ndarray  # float32 in [0, 1], post-tetanic potentiation (slow residual-Ca gain of release)

    @property
    def nbytes_per_junction(self) -> int:
        return sum(a.itemsize for a in self.arrays())

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (
            self.vesicles,
            self.facilitation_fast,
            self.facilitation_slow,
            self.tsc_activity,
            self.desensitisation,
            self.mobilisation,
            self.potentiation,
        )

    def copy(self) -> JunctionState:
        return JunctionState(*(a.copy() for a in self.arrays()))


@dataclass
class JunctionPopulation:
    """Per-junction parameters (struct of arrays) plus the species parameters they came from.

    Shapes are all ``(n_junctions,)``. ``release_probability_max`` already includes the type
    and per-junction scaling; ``quantal_mv`` includes AChR density and AChE activity;
    ``threshold_mv`` is the depolarisation from rest that fires the fibre.
    """

    params: JunctionParameters
    unit_type: np.ndarray  # int8 index into UNIT_TYPES
    capacity: np.ndarray  # int32, RRP capacity (quanta)
    release_probability_max: np.ndarray  # float32
    quantal_mv: np.ndarray  # float32
    threshold_mv: np.ndarray  # float32
    tsc_gain: np.ndarray  # float32, feedback gain of the tSC on release
    tsc_structure: np.ndarray  # int8, TSC_PRESENT / TSC_REACTIVE / TSC_LOST

    @property
    def size(self) -> int:
        return int(self.capacity.shape[0])

    @property
    def nbytes_per_junction(self) -> int:
        arrays = (
            self.unit_type,
            self.capacity,
            self.release_probability_max,
            self.quantal_mv,
            self.threshold_mv,
            self.tsc_gain,
            self.tsc_structure,
        )
        return sum(a.itemsize for a in arrays)

    def effective_tsc_gain(self) -> np.ndarray:
        """Feedback gain seen by the kernel: none where the tSC is lost."""
        return np.where(self.tsc_structure == TSC_LOST, np.float32(0), self.tsc_gain).astype(np.float32)

    def rested_state(self) -> JunctionState:
        """Full pools, no residual Ca, quiet tSCs, no desensitisation, mobilisation or potentiation."""
        n = self.size
        zeros = lambda: np.zeros(n, np.float32)  # noqa: E731
        return JunctionState(self.capacity.copy(), zeros(), zeros(), zeros(), zeros(), zeros(), zeros())

    def subset(self, index: np.ndarray) -> JunctionPopulation:
        return JunctionPopulation(
            self.params,
            self.unit_type[index],
            self.capacity[index],
            self.release_probability_max[index],
            self.quantal_mv[index],
            self.threshold_mv[index],
            self.tsc_gain[index],
            self.tsc_structure[index],
        )

    def scaled(
        self,
        *,
        release: float | np.ndarray = 1.0,
        quantal: float | np.ndarray = 1.0,
        capacity: float | np.ndarray = 1.0,
        threshold: float | np.ndarray = 1.0,
        tsc_gain: float | np.ndarray = 1.0,
    ) -> JunctionPopulation:
        """A copy with multiplicative changes, one number or one per junction (disease stages, perturbations)."""
        return JunctionPopulation(
            self.params,
            self.unit_type.copy(),
            np.maximum(1, np.rint(self.capacity * capacity)).astype(np.int32),
            np.clip(self.release_probability_max * release, 0, 1).astype(np.float32),
            (self.quantal_mv * quantal).astype(np.float32),
            (self.threshold_mv * threshold).astype(np.float32),
            np.clip(self.tsc_gain * tsc_gain, -1, 1).astype(np.float32),
            self.tsc_structure.copy(),
        )


def make_population(
    params: JunctionParameters,
    n_junctions: int,
    seed: int | np.random.SeedSequence,
    unit_type: str | np.ndarray = "FR",
    heterogeneity: bool = True,
) -> JunctionPopulation:
    """Draw ``n_junctions`` junctions of ``params``.

    ``unit_type`` is one type name for all, or an int8 array of indices into ``UNIT_TYPES``.
    With ``heterogeneity`` the RRP capacity varies between junctions (lognormal, CV
    ``rrp_capacity_cv``), as NMJ size does between fibres.
    """
    if n_junctions < 1:
        raise EndplateInputError(f"number of junctions must be at least 1, got {n_junctions}")
    if isinstance(unit_type, str):
        if unit_type not in UNIT_TYPES:
            raise EndplateInputError(f"unknown motor-unit type {unit_type!r}; allowed: {', '.join(UNIT_TYPES)}")
        types = np.full(n_junctions, UNIT_TYPES.index(unit_type), np.int8)
    else:
        types = np.asarray(unit_type, np.int8)
        if types.shape != (n_junctions,) or types.min() < 0 or types.max() >= len(UNIT_TYPES):
            raise EndplateInputError("unit_type array must have one entry 0..2 (S, FR, FF) per junction")
    rng = np.random.default_rng(seed)
    scale = {
        name: np.array([getattr(params.type_scales(t), name) for t in UNIT_TYPES])[types]
        for name in ("capacity_scale", "release_scale", "quantal_scale")
    }
    size = np.ones(n_junctions)
    if heterogeneity and params.rrp_capacity_cv > 0:
        sigma = np.sqrt(np.log1p(params.rrp_capacity_cv**2))
        size = rng.lognormal(-0.5 * sigma**2, sigma, n_junctions)
    capacity = np.maximum(1, np.rint(params.rrp_capacity_quanta * scale["capacity_scale"] * size))
    p_max = np.clip(params.release_probability_max * scale["release_scale"], 0, 1)
    return JunctionPopulation(
        params=params,
        unit_type=types,
        capacity=capacity.astype(np.int32),
        release_probability_max=p_max.astype(np.float32),
        quantal_mv=(params.quantal_size_mv * scale["quantal_scale"]).astype(np.float32),
        threshold_mv=np.full(n_junctions, params.threshold_depolarisation_mv, np.float32),
        tsc_gain=np.full(n_junctions, params.tsc_gain, np.float32),
        tsc_structure=np.full(n_junctions, TSC_PRESENT, np.int8),
    )


def kernel_scalars(params: JunctionParameters) -> np.ndarray:
    """The scalars every kernel reads, in the order of the index constants above."""
    s = np.zeros(N_SCALARS)
    s[OCC] = params.ca_occupancy
    s[SAT_N] = params.saturation_occupancy**params.ca_cooperativity
    s[COOP] = params.ca_cooperativity
    s[A_FAST] = params.facilitation_fast_increment
    s[A_SLOW] = params.facilitation_slow_increment
    s[REFILL_ACT] = params.refill_activity_rate_per_ms
    s[TSC_INC] = params.tsc_increment_per_quantum
    s[DES_INC] = params.desensitisation_per_quantum_effective
    s[CV_Q] = params.quantal_cv
    s[NLS_K] = params.nonlinear_summation_k_per_mv
    s[RISE_TAU] = params.epp_rise_tau_ms
    s[PEAK_FRACTION] = -np.expm1(-params.epp_time_to_peak_ms / params.epp_rise_tau_ms)
    s[DELAY] = params.synaptic_delay_ms
    s[REL_SD] = params.release_latency_sd_ms
    s[BRANCH_SD] = params.branch_jitter_sd_ms
    s[A_MOB] = params.mobilisation_increment
    s[MOB_RATE] = params.mobilisation_refill_rate_per_ms
    s[A_POT] = params.potentiation_increment
    s[POT_GAIN] = params.potentiation_gain
    return s


# Rows of the per-stimulus schedule: decay factors and refill integrals over the interval that
# precedes each stimulus, computed once per protocol rather than per junction.
(E_FAST, E_SLOW, E_TSC, E_DES, G_FAST, G_SLOW, BASE_REFILL, E_MOB, G_MOB, E_POT) = range(10)
N_SCHEDULE = 10


def stimulus_schedule(params: JunctionParameters, intervals_ms: np.ndarray) -> np.ndarray:
    """(10, n_stimuli) array for intervals ``intervals_ms`` (the first one is from rest; inf ok)."""
    dt = np.asarray(intervals_ms, float)
    if dt.ndim != 1 or dt.size == 0 or np.any(~(dt > 0)):
        raise EndplateInputError("stimulus intervals must be a non-empty list of positive times (ms)")
    out = np.empty((N_SCHEDULE, dt.size))
    with np.errstate(over="ignore", invalid="ignore"):
        out[E_FAST] = np.exp(-dt / params.facilitation_fast_tau_ms)
        out[E_SLOW] = np.exp(-dt / params.facilitation_slow_tau_ms)
        out[E_TSC] = np.exp(-dt / params.tsc_tau_ms)
        out[E_DES] = np.exp(-dt / params.desensitisation_tau_ms)
        out[G_FAST] = params.facilitation_fast_tau_ms * (1 - out[E_FAST])
        out[G_SLOW] = params.facilitation_slow_tau_ms * (1 - out[E_SLOW])
        out[BASE_REFILL] = dt / params.refill_tau_rest_ms
        out[E_MOB] = np.exp(-dt / params.mobilisation_tau_ms)
        out[G_MOB] = params.mobilisation_tau_ms * (1 - out[E_MOB])
        out[E_POT] = np.exp(-dt / params.potentiation_tau_ms)
    return out
