"""Repetitive nerve stimulation over a population of fibres: decrement of the summed response."""

from __future__ import annotations

import numpy as np
import xarray as xr

from endplate.junction.parameters import JunctionParameters
from endplate.junction.population import JunctionPopulation, make_population
from endplate.junction.provenance import provenance_attrs
from endplate.junction.train import regular_intervals
from endplate.kernels import run_train
from endplate.readings import REASON_SUFFIX
from endplate.seeding import substreams

# Until the muscle layer sums fibre potentials through a volume conductor, each firing fibre
# adds the same share of a normal thenar CMAP (8.3 mV, E07) spread over the simulated fibres.
NORMAL_CMAP_MV = 8.3


def decrement(response: np.ndarray, compare: int = 4) -> tuple[float | None, str | None]:
    """Clinical decrement 100 (1 - R_compare / R_1), 4th against 1st response by default (E03).

    Returns ``(percent, None)``, or ``(None, reason)`` where the decrement is undefined: a
    train shorter than ``compare`` stimuli, or no response to the first stimulus.
    """
    if len(response) < compare:
        return None, f"a decrement needs at least {compare} stimuli, got {len(response)}"
    if not response[0] > 0:
        return None, "no fibre responded to the first stimulus (no CMAP to compare with)"
    return float(100.0 * (1.0 - response[compare - 1] / response[0])), None


def fired_fibres(pop: JunctionPopulation, frequency_hz: float, n_stimuli: int, seed: int, backend: str = "numba") -> np.ndarray:
    """Number of fibres reaching threshold at each stimulus of a regular train."""
    rec = run_train(pop, pop.rested_state(), regular_intervals(frequency_hz, n_stimuli), seed, backend=backend, record=False)
    return rec.fired_fraction * pop.size


def rns(
    params: JunctionParameters,
    *,
    frequency_hz: float = 3.0,
    n_stimuli: int = 10,
    n_fibres: int = 2000,
    unit_type: str | np.ndarray = "FR",
    seed: int = 0,
    backend: str = "numba",
) -> xr.Dataset:
    """3 Hz (or any rate) RNS: count the fibres that fire at every stimulus and sum their responses.

    ``cmap_mv`` is the number of firing fibres times an equal per-fibre share of a normal CMAP;
    the muscle layer replaces this with fibre potentials through a volume conductor. Where the
    decrement is undefined the attribute ``decrement_percent_undefined_reason`` says why.
    """
    streams = substreams(seed, "population", "train")
    pop = make_population(params, n_fibres, streams["population"], unit_type)
    fired = fired_fibres(pop, frequency_hz, n_stimuli, streams["train"], backend)
    cmap = fired * NORMAL_CMAP_MV / n_fibres
    value, why = decrement(cmap)
    attrs = provenance_attrs(
        "rns",
        seed,
        params,
        frequency_hz=frequency_hz,
        n_stimuli=n_stimuli,
        n_fibres=n_fibres,
        backend=backend,
        **({"unit_type": unit_type} if isinstance(unit_type, str) else {}),
    )
    data: dict[str, tuple] = {"cmap_mv": ("stimulus", cmap), "fibres_fired": ("stimulus", fired)}
    if value is None:
        attrs["decrement_percent" + REASON_SUFFIX] = why  # stored as missing; the reason travels with it
        data["decrement_percent"] = ((), np.nan)
    else:
        data["decrement_percent"] = ((), value)
    return xr.Dataset(data, attrs=attrs)
