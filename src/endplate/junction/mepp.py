"""Spontaneous release: miniature endplate potentials (Poisson in time, variable in size)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from endplate.errors import EndplateInputError
from endplate.junction.parameters import JunctionParameters
from endplate.junction.population import JunctionPopulation, make_population
from endplate.junction.provenance import provenance_attrs
from endplate.seeding import substreams


def spontaneous_events(pop: JunctionPopulation, duration_s: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """mEPPs of every junction over ``duration_s``: (junction index, amplitude mV) per event.

    Counts are Poisson at ``mepp_rate_hz``; amplitudes are Gaussian around the junction's
    quantal size (CV ``quantal_cv``, truncated at zero); a fraction are giant mEPPs.
    """
    p = pop.params
    rng = np.random.default_rng(seed)
    counts = rng.poisson(p.mepp_rate_hz * duration_s, pop.size)
    junction = np.repeat(np.arange(pop.size), counts)
    q = pop.quantal_mv[junction].astype(float)
    amp = np.abs(q * (1 + p.quantal_cv * rng.standard_normal(junction.size)))
    giant = rng.random(junction.size) < p.giant_mepp_fraction
    amp[giant] *= p.giant_mepp_scale
    return junction, amp


def mepp(
    params: JunctionParameters, *, n_junctions: int = 20, duration_s: float = 60.0, unit_type: str = "FR", seed: int = 0
) -> xr.Dataset:
    """Record spontaneous mEPPs from ``n_junctions`` junctions for ``duration_s`` seconds each.

    Returns event amplitudes (``event``) and per-junction frequency (``junction``), with the
    summary ``mepp_mv`` (mean amplitude of non-giant events, as usually reported), ``mepp_hz``
    and ``giant_fraction``.
    """
    if not duration_s > 0:
        raise EndplateInputError(f"duration_s must be positive, got {duration_s}")
    streams = substreams(seed, "population", "events")
    pop = make_population(params, n_junctions, streams["population"], unit_type)
    junction, amp = spontaneous_events(pop, duration_s, streams["events"])
    giant_cut = params.quantal_size_mv * (1 + 4 * params.quantal_cv)
    normal = amp < giant_cut
    freq = np.bincount(junction, minlength=pop.size) / duration_s
    ds = xr.Dataset(
        {
            "amplitude_mv": ("event", amp),
            "event_junction": ("event", junction),
            "frequency_hz": ("junction", freq),
            "mepp_mv": ((), float(amp[normal].mean()) if normal.any() else float("nan")),
            "mepp_hz": ((), float(freq.mean())),
            "giant_fraction": ((), float((~normal).mean()) if amp.size else 0.0),
        },
        attrs=provenance_attrs("mepp", seed, params, n_junctions=n_junctions, duration_s=duration_s, unit_type=unit_type),
    )
    return ds
