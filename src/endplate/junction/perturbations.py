"""Named perturbations of the junction: parameter changes with their sources."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from endplate.errors import EndplateInputError
from endplate.junction.parameters import JunctionParameters


@dataclass(frozen=True)
class Perturbation:
    name: str
    description: str
    scale: dict
    set: dict
    source: str
    evidence: str
    note: str

    def apply(self, params: JunctionParameters) -> JunctionParameters:
        changes = {k: getattr(params, k) * v for k, v in self.scale.items()}
        changes.update(self.set)
        return params.replace(**changes)


@cache
def perturbations() -> dict[str, Perturbation]:
    table = tomllib.loads(resources.files("endplate.presets").joinpath("perturbations.toml").read_text())
    return {
        name: Perturbation(
            name, e["description"], e.get("scale", {}), e.get("set", {}), e["source"], e["evidence"], e.get("note", "")
        )
        for name, e in table.items()
    }


def apply_perturbations(params: JunctionParameters, names: Iterable[str]) -> JunctionParameters:
    known = perturbations()
    for name in names:
        if name not in known:
            raise EndplateInputError(f"unknown perturbation {name!r}; allowed: {', '.join(known)}")
        params = known[name].apply(params)
    return params
