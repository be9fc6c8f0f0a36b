"""The post-exercise RNS session on a whole muscle: CMAPs summed from the fibres that fire.

The same session as ``junction.post_exercise`` (a 3 Hz train at rest, a conditioning tetanus,
the same train 1 s and 1-4 min after; one state carried through every block), run on the
junctions of the muscle's innervated fibres, healthy or as a disease has left them (impaired,
immature reinnervated, withdrawing junctions with their own safety factor). Each train's CMAP
sums, through the volume conductor, the potentials of the fibres that fired at each stimulus,
as ``muscle.rns`` does; denervated fibres give nothing.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from endplate.junction.post_exercise import (
    PROBE_AFTER_S,
    REST_BEFORE_S,
    block_names,
    check_session,
    run_session,
    session_dataset,
    session_intervals,
)
from endplate.kernels import TrainRecord
from endplate.muscle.anatomy import Anatomy
from endplate.muscle.emg import conductor
from endplate.muscle.rns import fired_cmaps
from endplate.readings import REASON_SUFFIX
from endplate.seeding import substreams


def muscle_post_exercise(
    anatomy: Anatomy,
    *,
    frequency_hz: float = 3.0,
    n_stimuli: int = 10,
    conditioning_hz: float = 30.0,
    conditioning_s: float = 10.0,
    after_s: tuple[float, ...] | list[float] = PROBE_AFTER_S,
    rest_before_s: float = REST_BEFORE_S,
    seed: int = 0,
    backend: str = "numba",
) -> xr.Dataset:
    """The session of ``junction.post_exercise`` on ``anatomy``'s innervated fibres; the same readouts.

    Every block is delivered to every innervated fibre (supramaximal nerve stimulation; the
    conditioning at one rate stands for maximal voluntary effort, as at junction level).
    ``fibres_fired`` counts the innervated fibres that fired at each stimulus. A muscle without an
    innervated fibre gives zero CMAPs, its decrements undefined with the reason.
    """
    after_s = tuple(float(t) for t in after_s)
    check_session(frequency_hz, n_stimuli, conditioning_hz, conditioning_s, after_s, rest_before_s)
    blocks = session_intervals(frequency_hz, n_stimuli, conditioning_hz, conditioning_s, after_s, rest_before_s)
    names = block_names(after_s)
    streams = substreams(seed, *names)
    ok = np.flatnonzero(anatomy.innervated())
    if ok.size == 0:
        zeros = np.zeros((len(blocks) - 1, n_stimuli))
        cmap, fired, potentiation = zeros, zeros.copy(), np.full(len(blocks) - 1, np.nan)
    else:
        cond = conductor(anatomy)
        pop = anatomy.junctions.subset(ok)

        def summed(rec: TrainRecord) -> tuple[np.ndarray, np.ndarray]:
            assert rec.latency_ms is not None  # probe trains are recorded
            did = np.isfinite(rec.latency_ms)
            return fired_cmaps(anatomy, cond, ok, did), did.sum(axis=0).astype(float)

        cmap, fired, potentiation = run_session(
            pop, pop.rested_state(), blocks, [streams[n] for n in names], summed, backend, record=True
        )
    attrs = {
        "protocol": "post-exercise",
        "muscle": anatomy.preset.muscle,
        "innervated_fibres": int(ok.size),
        "frequency_hz": frequency_hz,
        "n_stimuli": n_stimuli,
        "conditioning_hz": conditioning_hz,
        "conditioning_s": conditioning_s,
        "rest_before_s": rest_before_s,
    }
    ds = session_dataset(cmap, fired, potentiation, after_s, rest_before_s, attrs)
    if ok.size == 0:
        for name in ("decrement_percent", "post_exercise_increment_percent"):
            ds.attrs[name + REASON_SUFFIX] = "no innervated fibre: the muscle gives no CMAP"
    return ds
