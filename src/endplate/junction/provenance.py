"""Junction provenance in every protocol output: settings and parameters, written and read back."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

from endplate.junction.parameters import JunctionParameters, TypeScales, default_parameters, parameter_provenance
from endplate.provenance import provenance_attrs as common_attrs


def provenance_attrs(protocol: str, seed: int, params: JunctionParameters, **settings) -> dict:
    """Attributes for a protocol's Dataset: the common provenance, protocol settings, parameters, sources.

    ``parameters`` holds every value but the species (stored apart), so that
    ``default_parameters(attrs["species"], **json.loads(attrs["parameters"]))`` rebuilds them.
    """
    values = {k: v for k, v in dataclasses.asdict(params).items() if k not in ("types", "species")}
    sources = sorted({p.source for p in parameter_provenance(params.species).values()})
    return {
        **common_attrs("protocol", seed, backend=str(settings.get("backend", ""))),
        "protocol": protocol,
        "species": params.species,
        "settings": json.dumps(settings, sort_keys=True, default=str),
        "parameters": json.dumps(values, sort_keys=True),
        "type_scales": json.dumps({t: dataclasses.asdict(s) for t, s in params.types.items()}, sort_keys=True),
        "sources": ",".join(sources),
    }


def junction_parameters(attrs: Mapping) -> JunctionParameters:
    """The exact parameters a protocol output was made with (values and per-type scales), checked."""
    params = default_parameters(str(attrs["species"]), **json.loads(attrs["parameters"]))
    types = {t: TypeScales(**s) for t, s in json.loads(attrs["type_scales"]).items()}
    params = dataclasses.replace(params, types=types)
    params.check()
    return params
