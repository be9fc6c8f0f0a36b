"""Train kernels: one contract, three implementations (NumPy reference, Numba CPU, CuPy GPU).

``run_train`` is the single entry point; ``backend`` chooses the implementation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from endplate.errors import EndplateInputError
from endplate.junction.population import JunctionPopulation, JunctionState, stimulus_schedule

BACKENDS = ("numba", "numpy", "cupy")


@dataclass
class TrainRecord:
    """What a train produced.

    ``quanta``, ``epp_mv``, ``latency_ms`` are ``(n_junctions, n_stimuli)`` (``None`` when not
    recorded); latency is NaN where the fibre did not fire. The per-stimulus population summary
    is always there: ``total_quanta``, ``mean_epp_mv``, ``fired_fraction``, ``mean_latency_ms``.
    """

    quanta: np.ndarray | None
    epp_mv: np.ndarray | None
    latency_ms: np.ndarray | None
    sums: np.ndarray
    n_junctions: int

    @property
    def total_quanta(self) -> np.ndarray:
        return self.sums[0]

    @property
    def mean_quanta(self) -> np.ndarray:
        return self.sums[0] / self.n_junctions

    @property
    def mean_epp_mv(self) -> np.ndarray:
        return self.sums[1] / self.n_junctions

    @property
    def fired_fraction(self) -> np.ndarray:
        return self.sums[2] / self.n_junctions

    @property
    def mean_latency_ms(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.sums[3] / self.sums[2]


def cpu_compiled_available() -> bool:
    """True when Numba imports (the compiled CPU kernel can run)."""
    try:
        import numba  # noqa: F401
    except Exception:  # noqa: BLE001 - e.g. a NumPy newer than this Numba supports
        return False
    return True


def gpu_available() -> bool:
    try:
        from endplate.kernels import gpu
    except Exception:  # noqa: BLE001 - any import or driver failure means "no GPU path"
        return False
    return gpu.available()


def run_train(
    pop: JunctionPopulation, state: JunctionState, intervals_ms, seed: int, backend: str = "numba", record: bool = True
) -> TrainRecord:
    """Deliver stimuli separated by ``intervals_ms`` (first: time since the last activity).

    ``state`` is advanced in place, so consecutive calls continue a recording.
    """
    schedule = stimulus_schedule(pop.params, intervals_ms)
    if backend == "numba":
        from endplate.kernels.cpu import train_cpu as impl
    elif backend == "numpy":
        from endplate.kernels.reference import train_reference as impl
    elif backend == "cupy":
        if not gpu_available():
            raise EndplateInputError("backend 'cupy' needs CuPy and a CUDA GPU; allowed here: numba, numpy")
        from endplate.kernels.gpu import train_gpu as impl
    else:
        raise EndplateInputError(f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    quanta, epp, latency, sums = impl(pop, state, schedule, int(seed) % 2**63, record)
    return TrainRecord(quanta, epp, latency, sums, pop.size)
