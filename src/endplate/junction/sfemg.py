"""Single-fibre EMG: jitter (mean consecutive difference) and blocking of fibre pairs of one unit."""

from __future__ import annotations

import numpy as np
import xarray as xr

from endplate.errors import EndplateInputError
from endplate.junction import estimators as est
from endplate.junction.parameters import UNIT_TYPES, JunctionParameters
from endplate.junction.population import JunctionPopulation, make_population
from endplate.junction.provenance import provenance_attrs
from endplate.kernels import run_train
from endplate.seeding import substreams


def firing_intervals(rate_hz: float, n_discharges: int, isi_cv: float, seed: int) -> list[float]:
    """Discharge intervals (ms): regular for stimulation (cv 0), gamma-distributed for voluntary firing."""
    if not (0 < rate_hz <= 100) or n_discharges < 3:
        raise EndplateInputError(f"SFEMG needs 0 < rate_hz <= 100 and at least 3 discharges; got {rate_hz} Hz, {n_discharges}")
    mean = 1000.0 / rate_hz
    if isi_cv <= 0:
        return [np.inf] + [mean] * (n_discharges - 1)
    shape = 1.0 / isi_cv**2
    isi = np.random.default_rng(seed).gamma(shape, mean / shape, n_discharges - 1)
    return [np.inf] + list(np.maximum(isi, 1.0))


def jitter_from_latencies(latency_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: MCD of the inter-potential interval (us) and blocking (% discharges).

    ``latency_ms`` has shape (n_pairs, 2, n_discharges), NaN where a fibre did not fire.
    """
    ipi = latency_ms[:, 1, :] - latency_ms[:, 0, :]
    mcd = np.array([est.mean_consecutive_difference(row) for row in ipi]) * 1000.0
    blocking = np.isnan(ipi).mean(axis=1) * 100.0
    return mcd, blocking


def sfemg_recording(
    pop: JunctionPopulation, rate_hz: float, n_discharges: int, isi_cv: float, seed: int, backend: str = "numba"
) -> tuple[np.ndarray, np.ndarray]:
    """Discharge times (ms, from the first) and latencies (ms) of junction pairs (0,1), (2,3), ... of ``pop``.

    Latencies have shape (n_pairs, 2, n_discharges), NaN where a fibre did not fire.
    """
    streams = substreams(seed, "isi", "train")
    intervals = firing_intervals(rate_hz, n_discharges, isi_cv, streams["isi"])
    rec = run_train(pop, pop.rested_state(), intervals, streams["train"], backend=backend)
    n_pairs = pop.size // 2
    times = np.concatenate([[0.0], np.cumsum(intervals[1:])])
    return times, rec.latency_ms[: 2 * n_pairs].reshape(n_pairs, 2, n_discharges)


def sfemg_from_population(
    pop: JunctionPopulation, rate_hz: float, n_discharges: int, isi_cv: float, seed: int, backend: str = "numba"
) -> tuple[np.ndarray, np.ndarray]:
    """Jitter of consecutive junction pairs (0,1), (2,3), ... of ``pop`` firing together."""
    return jitter_from_latencies(sfemg_recording(pop, rate_hz, n_discharges, isi_cv, seed, backend)[1])


def sfemg(
    params: JunctionParameters,
    *,
    rate_hz: float = 10.0,
    n_pairs: int = 20,
    n_discharges: int = 100,
    voluntary: bool = True,
    unit_type: str = "mixed",
    seed: int = 0,
    backend: str = "numba",
) -> xr.Dataset:
    """SFEMG recording of ``n_pairs`` fibre pairs, each pair two junctions of one motor unit.

    Voluntary activation fires irregularly (interval CV 0.2, assumed); stimulation is regular.
    ``unit_type`` "mixed" samples pairs from S, FR and FF units in equal numbers, as a needle
    samples a mixed muscle (the muscle layer supplies the real proportions).
    Summary: ``mcd_us`` (mean jitter over pairs), ``blocking_percent``, ``abnormal_pairs_percent``
    (pairs over the individual-pair limit of 50 us, Bromberg 1994 via E01).
    """
    if n_pairs < 1:
        raise EndplateInputError(f"n_pairs must be at least 1, got {n_pairs}")
    streams = substreams(seed, "population", "recording")
    streams.update(substreams(streams["population"], "types", "junctions"))
    types = unit_type
    if unit_type == "mixed":
        types = np.repeat(np.random.default_rng(streams["types"]).integers(0, len(UNIT_TYPES), n_pairs), 2)
    pop = make_population(params, 2 * n_pairs, streams["junctions"], types)
    times, latency = sfemg_recording(pop, rate_hz, n_discharges, 0.2 if voluntary else 0.0, streams["recording"], backend)
    mcd, blocking = jitter_from_latencies(latency)
    return xr.Dataset(
        {
            "latency_ms": (("pair", "fibre", "discharge"), latency),
            "discharge_time_ms": ("discharge", times),
            "pair_mcd_us": ("pair", mcd),
            "pair_blocking_percent": ("pair", blocking),
            "mcd_us": ((), float(np.nanmean(mcd)) if np.isfinite(mcd).any() else float("nan")),
            "blocking_percent": ((), float(blocking.mean())),
            "abnormal_pairs_percent": ((), float(np.mean((mcd > 50) | (blocking > 0)) * 100)),
        },
        attrs=provenance_attrs(
            "sfemg",
            seed,
            params,
            rate_hz=rate_hz,
            n_pairs=n_pairs,
            n_discharges=n_discharges,
            voluntary=voluntary,
            unit_type=unit_type,
            backend=backend,
        ),
    )
