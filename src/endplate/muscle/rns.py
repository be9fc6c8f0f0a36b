"""Repetitive nerve stimulation at muscle level: CMAPs from fibre-by-fibre transmission."""

from __future__ import annotations

import numpy as np

from endplate.junction.rns import decrement
from endplate.junction.train import regular_intervals
from endplate.kernels import run_train
from endplate.muscle.anatomy import Anatomy
from endplate.muscle.emg import Conductor, conductor, negative_peak_mv
from endplate.readings import reading


def fired_cmaps(anatomy: Anatomy, cond: Conductor, fibres: np.ndarray, fired: np.ndarray) -> np.ndarray:
    """The CMAP (negative peak, mV) of each stimulus: the summed potentials of the fibres that fired.

    ``fibres`` are the indices of the fibres whose junctions ran; ``fired`` is (fibre, stimulus).
    """
    amplitudes, active = [], np.zeros(anatomy.n_fibres, bool)
    for k in range(fired.shape[1]):
        active[:] = False
        active[fibres[fired[:, k]]] = True
        wave = cond.unit_potentials(anatomy, active).sum(axis=0)
        amplitudes.append(float(negative_peak_mv(wave)))
    return np.array(amplitudes)


def muscle_rns(anatomy: Anatomy, frequency_hz: float = 3.0, n_stimuli: int = 10, seed: int = 0, backend: str = "numba") -> dict:
    """Supramaximal train: every innervated fibre's junction decides whether the fibre fires.

    The CMAP of each stimulus sums the potentials of the fibres that fired; the decrement
    compares the 4th with the 1st negative-peak amplitude. Where it is undefined (no fibre
    innervated, or none fired on the first stimulus) ``decrement_percent`` is None and
    ``decrement_percent_undefined_reason`` gives the reason (``endplate.readings``).
    """
    ok = np.flatnonzero(anatomy.innervated())
    if ok.size == 0:
        return {
            "cmap_mv": np.zeros(n_stimuli),
            **reading("decrement_percent", None, "no innervated fibre: the muscle gives no CMAP"),
            "fibres_failing_percent": [None] * n_stimuli,
        }
    cond = conductor(anatomy)
    rec = run_train(
        anatomy.junctions.subset(ok),
        anatomy.junctions.subset(ok).rested_state(),
        regular_intervals(frequency_hz, n_stimuli),
        seed,
        backend=backend,
    )
    fired = np.isfinite(rec.latency_ms)
    cmap = fired_cmaps(anatomy, cond, ok, fired)
    value, why = decrement(cmap)
    return {
        "cmap_mv": cmap,
        **reading("decrement_percent", value, why or ""),
        "fibres_failing_percent": (100.0 * (1 - fired.mean(axis=0))).tolist(),
    }
