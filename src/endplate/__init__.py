"""endplate: a stochastic simulator of the neuromuscular junction in health and in ALS.

The public API, layer by layer (docs/design.md, "Layers"):

- junctions: ``default_parameters`` -> ``JunctionParameters``; the protocols ``epp``, ``train``,
  ``mepp``, ``paired_pulse``, ``sfemg``, ``rns`` (each ``(params, ..., seed) -> xarray.Dataset``
  with provenance); ``make_population`` and ``run_train`` underneath them;
- muscles: ``build_muscle(species, muscle, seed)`` and ``muscle_protocol(name, anatomy, seed)``
  (CMAP, CMAP scan, MUNE, force, SFEMG, RNS);
- disease: ``load_scenario`` (a bundled name or a TOML file) -> ``resolve`` (the ``DiseaseModel``
  every runner steps) -> ``simulate`` (a ``Run``) -> ``run_dataset``;
- trials: ``load_trial`` -> ``run_trial`` (a Zarr store; resumable) -> ``analyse``;
- calibration: ``run_fit`` (ABC-SMC with model choice on a bundled problem);
- saved results: ``open_result``, ``write_dataset`` and ``replay``.

The junction names are imported with the package; the others on first use, so that
``import endplate`` (and every command line call) stays fast.
"""

from __future__ import annotations

from typing import Any

from endplate._version import __version__
from endplate.errors import EndplateInputError
from endplate.junction.parameters import JunctionParameters, default_parameters
from endplate.junction.population import JunctionPopulation, JunctionState, make_population
from endplate.kernels import TrainRecord, run_train

_JUNCTION_PROTOCOLS = ("epp", "train", "mepp", "paired_pulse", "sfemg", "rns")
_LATER = (
    *_JUNCTION_PROTOCOLS,
    "build_muscle",
    "muscle_protocol",
    "load_scenario",
    "resolve",
    "simulate",
    "run_dataset",
    "load_trial",
    "run_trial",
    "analyse",
    "run_fit",
    "open_result",
    "write_dataset",
    "replay",
)

__all__ = [
    "__version__",
    "EndplateInputError",
    "JunctionParameters",
    "default_parameters",
    "JunctionPopulation",
    "JunctionState",
    "make_population",
    "TrainRecord",
    "run_train",
    *_LATER,
]


def __getattr__(name: str) -> Any:
    """Import a public name of a higher layer on first use (PEP 562), with the rest of its group."""
    group = _group(name) if name in _LATER else {}
    if name not in group:
        raise AttributeError(f"module 'endplate' has no attribute {name!r}")
    globals().update(group)  # the whole group: importing endplate.replay set the attribute to the module
    return group[name]


def _group(name: str) -> dict[str, Any]:
    if name in _JUNCTION_PROTOCOLS:
        from endplate.junction.protocols import junction_protocol

        return {n: junction_protocol(n.replace("_", "-")) for n in _JUNCTION_PROTOCOLS}
    if name in ("build_muscle", "muscle_protocol"):
        from endplate.muscle.protocols import muscle, run

        return {"build_muscle": muscle, "muscle_protocol": run}
    if name in ("load_scenario", "resolve", "simulate", "run_dataset"):
        from endplate.disease.dataset import run_dataset
        from endplate.disease.resolve import resolve
        from endplate.disease.scenario import load_scenario
        from endplate.disease.simulate import simulate

        return {"load_scenario": load_scenario, "resolve": resolve, "simulate": simulate, "run_dataset": run_dataset}
    if name in ("load_trial", "run_trial", "analyse"):
        from endplate.therapy.analysis import analyse
        from endplate.therapy.engine import run_trial
        from endplate.therapy.trial import load_trial

        return {"load_trial": load_trial, "run_trial": run_trial, "analyse": analyse}
    if name == "run_fit":
        from endplate.calibrate.fit import run_fit

        return {"run_fit": run_fit}
    from endplate.io.datasets import open_result, write_dataset
    from endplate.replay import replay

    return {"open_result": open_result, "write_dataset": write_dataset, "replay": replay}


def __dir__() -> list[str]:
    return sorted(__all__)
