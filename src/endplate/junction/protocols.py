"""The junction protocols by name (as ``endplate protocol NAME`` and ``endplate replay`` call them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def junction_protocol(name: str) -> Callable[..., Any]:
    """The function behind junction protocol ``name`` (imported here, so that importing this module is fast)."""
    from endplate.junction.epp import epp
    from endplate.junction.mepp import mepp
    from endplate.junction.paired_pulse import paired_pulse
    from endplate.junction.post_exercise import post_exercise
    from endplate.junction.rns import rns
    from endplate.junction.sfemg import sfemg
    from endplate.junction.train import train

    functions: dict[str, Callable[..., Any]] = {
        "mepp": mepp,
        "epp": epp,
        "train": train,
        "paired-pulse": paired_pulse,
        "sfemg": sfemg,
        "rns": rns,
        "post-exercise": post_exercise,
    }
    return functions[name]
