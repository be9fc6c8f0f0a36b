"""Provenance stored in every output, so that a number can be traced and replayed."""

from __future__ import annotations

import dataclasses
import json
import platform

import numpy as np

from endplate._version import __version__
from endplate.junction.parameters import JunctionParameters, parameter_provenance


def provenance_attrs(protocol: str, seed: int, params: JunctionParameters, **settings) -> dict:
    """Attributes for an xarray object: version, seed, protocol settings, parameters, sources."""
    values = {k: v for k, v in dataclasses.asdict(params).items() if k != "types"}
    sources = sorted({p.source for p in parameter_provenance(params.species).values()})
    return {
        "endplate_version": __version__,
        "protocol": protocol,
        "seed": int(seed),
        "species": params.species,
        "settings": json.dumps(settings, sort_keys=True, default=str),
        "parameters": json.dumps(values, sort_keys=True),
        "type_scales": json.dumps({t: dataclasses.asdict(s) for t, s in params.types.items()}, sort_keys=True),
        "sources": ",".join(sources),
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
    }
