"""Replay a saved result from its provenance and say whether the new one is identical.

A run is replayed from its resolved scenario values, a protocol from its settings and exact
parameters, a trial from its settings (a fresh store in a temporary folder), a fit from its
problem, settings and targets. The new result is written in the saved one's format and read
back, so that both pass through the same encoding, then every variable, coordinate and input
attribute is compared bit for bit. Attributes that record the making rather than the result
(``VOLATILE_ATTRS``: wall time, date, the database path, library versions) are not compared.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from endplate._version import __version__
from endplate.io.datasets import open_result, write_dataset
from endplate.provenance import Provenance, read_provenance, record_inputs

VOLATILE_ATTRS = frozenset(
    {
        "wall_seconds",
        "wall_seconds_all_runs",
        "created",
        "database",
        "endplate_version",
        "numpy_version",
        "python_version",
        "pyabc_version",
    }
)


@dataclass(frozen=True)
class ReplayReport:
    """The outcome of one replay: ``differing`` names each variable, coordinate or ``attrs.KEY`` that differs."""

    path: str
    result: str
    seed: int
    identical: bool
    differing: tuple[str, ...]
    recorded_version: str
    current_version: str
    seconds: float

    def as_dict(self) -> dict:
        return {
            "result_path": self.path,
            "result": self.result,
            "seed": self.seed,
            "identical": self.identical,
            "differing": list(self.differing),
            "recorded_version": self.recorded_version,
            "current_version": self.current_version,
            "seconds": self.seconds,
        }


def replay(path: str | Path, *, workers: int = 1) -> ReplayReport:
    """Re-run the saved result at ``path`` (.nc or .zarr) from its provenance and compare.

    ``workers``: local Dask workers for a trial or a fit (1: threads in this process, no
    cluster start-up); the result does not depend on it.
    """
    started = time.perf_counter()
    saved = open_result(path)
    prov = read_provenance(saved.attrs, repr(str(path)))
    with tempfile.TemporaryDirectory(prefix="endplate-replay-") as folder:
        again = RERUN[prov.result](saved, prov, Path(folder), workers)
        record_inputs(again.attrs, sets=prov.sets, perturbations=prov.perturbations)  # what the command line said
        copy = Path(folder) / f"replayed{Path(path).suffix if Path(path).suffix in ('.nc', '.zarr') else '.nc'}"
        write_dataset(again, copy)
        differing = differences(saved, open_result(copy))
    return ReplayReport(
        path=str(path),
        result=prov.result,
        seed=prov.seed,
        identical=not differing,
        differing=tuple(differing),
        recorded_version=prov.endplate_version,
        current_version=__version__,
        seconds=time.perf_counter() - started,
    )


def differences(a: xr.Dataset, b: xr.Dataset) -> list[str]:
    """Names of the variables, coordinates and non-volatile attributes (``attrs.KEY``) that differ, sorted."""
    found = [
        name
        for name in sorted(set(a.variables) | set(b.variables), key=str)
        if name not in a.variables or name not in b.variables or not _same(a[name], b[name])
    ]
    for key in sorted((set(a.attrs) | set(b.attrs)) - VOLATILE_ATTRS):
        if not _same_value(a.attrs.get(key), b.attrs.get(key)):
            found.append(f"attrs.{key}")
    return [str(n) for n in found]


def _same(x: xr.DataArray, y: xr.DataArray) -> bool:
    """Same dimensions, dtype and values, bit for bit (NaN equal to NaN in the same place)."""
    if x.dims != y.dims or x.dtype != y.dtype or x.shape != y.shape:
        return False
    if x.dtype.kind in "fc":
        return np.ascontiguousarray(x.values).tobytes() == np.ascontiguousarray(y.values).tobytes()  # bits: -0.0, NaN too
    return bool(np.array_equal(x.values, y.values))


def _same_value(x, y) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return bool(np.array_equal(np.asarray(x), np.asarray(y)))
    return bool(x == y)


# ---- one re-run per kind of result ------------------------------------------------------------


def _run(saved: xr.Dataset, prov: Provenance, folder: Path, workers: int) -> xr.Dataset:
    from endplate.disease.dataset import run_dataset
    from endplate.disease.scenario import scenario_from_values
    from endplate.disease.simulate import simulate

    return run_dataset(simulate(scenario_from_values(json.loads(saved.attrs["scenario"]))))


def _protocol(saved: xr.Dataset, prov: Provenance, folder: Path, workers: int) -> xr.Dataset:
    from endplate.junction.protocols import junction_protocol
    from endplate.junction.provenance import junction_parameters

    settings = json.loads(saved.attrs["settings"])
    return junction_protocol(saved.attrs["protocol"])(junction_parameters(saved.attrs), seed=prov.seed, **settings)


def _trial(saved: xr.Dataset, prov: Provenance, folder: Path, workers: int) -> xr.Dataset:
    from endplate.therapy.power import run_with_power
    from endplate.therapy.trial import trial_from_settings

    trial = trial_from_settings(saved.attrs["settings"])
    return run_with_power(trial, folder / "store.zarr", workers=workers, processes=workers > 1)[0]


def _fit(saved: xr.Dataset, prov: Provenance, folder: Path, workers: int) -> xr.Dataset:
    from endplate.calibrate.fit import FitSettings, run_fit

    targets = None
    if "targets_csv" in saved.attrs:
        targets = folder / "targets.csv"
        targets.write_text(saved.attrs["targets_csv"])
    return run_fit(
        saved.attrs["problem"],
        seed=prov.seed,
        out=folder / "fit.nc",
        settings=FitSettings(**json.loads(saved.attrs["settings"])),
        targets_path=targets,
        workers=workers,
        processes=workers > 1,
    )


RERUN: dict[str, Callable[[xr.Dataset, Provenance, Path, int], xr.Dataset]] = {
    "run": _run,
    "protocol": _protocol,
    "trial": _trial,
    "fit": _fit,
}
