"""The provenance every saved result carries, so that ``endplate replay`` can run it again.

One writer (``provenance_attrs``, with ``record_inputs`` for what only the command line knows)
and one reader (``read_provenance``). Each kind of result also keeps its own inputs in its own
attributes (a run its resolved ``scenario``, a protocol its ``settings`` and ``parameters``, a
trial its ``settings``, a fit its ``problem`` and ``settings``); ``endplate.replay`` knows which.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field

import numpy as np

from endplate._version import __version__
from endplate.errors import EndplateInputError

PROVENANCE_SCHEMA = 1  # raise when the attributes below change meaning; the reader refuses newer ones
RESULT_KINDS = ("run", "protocol", "trial", "fit")


@dataclass(frozen=True)
class Provenance:
    """What a saved result says about how it was made (the attributes ``provenance_attrs`` wrote)."""

    result: str  # one of RESULT_KINDS
    schema: int
    endplate_version: str
    seed: int
    sets: dict = field(default_factory=dict)  # --set key=value, as given on the command line
    perturbations: tuple[str, ...] = ()  # --perturb names, in the order given
    backend: str = ""  # the kernel backend (protocols); "" where the result has no backend choice
    calibration: dict = field(default_factory=dict)  # the shipped calibration applied (problem, date, seed, ...)


def provenance_attrs(result: str, seed: int, *, backend: str = "", calibration: Mapping | None = None) -> dict:
    """The common attributes of a saved result of kind ``result`` made with integer ``seed``."""
    if result not in RESULT_KINDS:
        raise ValueError(f"unknown result kind {result!r}; allowed: {', '.join(RESULT_KINDS)}")
    return {
        "endplate_result": result,
        "provenance_schema": PROVENANCE_SCHEMA,
        "endplate_version": __version__,
        "seed": int(seed),
        "sets": "{}",
        "perturbations": "[]",
        "backend": backend,
        "calibration": json.dumps(dict(calibration or {}), sort_keys=True),
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
    }


def record_inputs(
    attrs: MutableMapping, *, sets: Mapping[str, float] | None = None, perturbations: tuple[str, ...] | list[str] = ()
) -> None:
    """Add the command line's ``--set`` values and ``--perturb`` names to a result's attributes."""
    attrs["sets"] = json.dumps({k: float(v) for k, v in (sets or {}).items()}, sort_keys=True)
    attrs["perturbations"] = json.dumps(list(perturbations))


def read_provenance(attrs: Mapping, where: str = "the result") -> Provenance:
    """The provenance of a saved result; EndplateInputError if it has none or a newer schema."""
    result = attrs.get("endplate_result")
    if result not in RESULT_KINDS:
        raise EndplateInputError(
            f"{where} is not an endplate result endplate can replay (endplate_result "
            f"{result!r}; allowed: {', '.join(RESULT_KINDS)})"
        )
    schema = attrs.get("provenance_schema")
    if schema is None:
        raise EndplateInputError(
            f"{where} carries no provenance_schema: it was written before results could be "
            "replayed (endplate 0.1.0 before replay); run it again to replay it"
        )
    if int(schema) > PROVENANCE_SCHEMA:
        raise EndplateInputError(
            f"{where} has provenance schema {int(schema)}; this endplate {__version__} reads "
            f"schema {PROVENANCE_SCHEMA} and older: replay it with a newer endplate"
        )
    return Provenance(
        result=str(result),
        schema=int(schema),
        endplate_version=str(attrs["endplate_version"]),
        seed=int(attrs["seed"]),
        sets=json.loads(attrs.get("sets", "{}")),
        perturbations=tuple(json.loads(attrs.get("perturbations", "[]"))),
        backend=str(attrs.get("backend", "")),
        calibration=json.loads(attrs.get("calibration", "{}")),
    )
