"""Trains at any frequency: rundown, plateau, RRP by back-extrapolation, transmission failure."""

from __future__ import annotations

import numpy as np
import xarray as xr

from endplate.errors import EndplateInputError
from endplate.junction import estimators as est
from endplate.junction.parameters import JunctionParameters
from endplate.junction.population import make_population
from endplate.junction.provenance import provenance_attrs
from endplate.kernels import run_train
from endplate.seeding import substreams


def regular_intervals(frequency_hz: float, n_stimuli: int) -> list[float]:
    """Intervals (ms) of a regular train delivered to a rested junction."""
    if not (0 < frequency_hz <= 1000) or n_stimuli < 1:
        raise EndplateInputError(
            f"a train needs 0 < frequency_hz <= 1000 and at least 1 stimulus; got {frequency_hz} Hz, {n_stimuli} stimuli"
        )
    return [np.inf] + [1000.0 / frequency_hz] * (n_stimuli - 1)


def train(
    params: JunctionParameters,
    *,
    frequency_hz: float = 50.0,
    n_stimuli: int = 50,
    n_junctions: int = 30,
    unit_type: str = "FR",
    seed: int = 0,
    backend: str = "numba",
) -> xr.Dataset:
    """A train of ``n_stimuli`` at ``frequency_hz`` in ``n_junctions`` junctions.

    Summary: ``plateau_ratio`` (mean EPP over the last quarter of the train over the first EPP),
    ``rrp_estimate`` (quanta, back-extrapolation of cumulative release over the second half),
    ``fired_fraction`` per stimulus (fibres reaching threshold).
    """
    streams = substreams(seed, "population", "train")
    pop = make_population(params, n_junctions, streams["population"], unit_type)
    rec = run_train(pop, pop.rested_state(), regular_intervals(frequency_hz, n_stimuli), streams["train"], backend=backend)
    mean_epp = rec.mean_epp_mv
    last = max(1, n_stimuli // 4)
    plateau = float(mean_epp[-last:].mean() / mean_epp[0])
    rrp = est.rrp_back_extrapolation(rec.mean_quanta, n_stimuli // 2) if n_stimuli >= 8 else float("nan")
    return xr.Dataset(
        {
            "epp_mv_trace": (("junction", "stimulus"), rec.epp_mv),
            "epp_mv": ("stimulus", mean_epp),
            "quanta": ("stimulus", rec.mean_quanta),
            "fired_fraction": ("stimulus", rec.fired_fraction),
            "time_ms": ("stimulus", np.arange(n_stimuli) * 1000.0 / frequency_hz),
            "plateau_ratio": ((), plateau),
            "rrp_estimate": ((), rrp),
            "true_rrp": ((), float(pop.capacity.mean())),
        },
        attrs=provenance_attrs(
            "train",
            seed,
            params,
            frequency_hz=frequency_hz,
            n_stimuli=n_stimuli,
            n_junctions=n_junctions,
            unit_type=unit_type,
            backend=backend,
        ),
    )
