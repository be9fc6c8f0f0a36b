"""Readouts that may be undefined: a value, or None with the reason, never a NaN on screen.

A quantity that cannot be measured on a muscle (jitter without a fibre pair, a MUNE without a
response above noise) is reported as ``{name: None, name_undefined_reason: why}``: JSON null
beside its reason, and "undefined (why)" in human output.
"""

from __future__ import annotations

import math

REASON_SUFFIX = "_undefined_reason"


def reading(name: str, value: float | None, reason: str) -> dict:
    """``{name: value}`` when ``value`` is a finite number, else ``{name: None, name + REASON_SUFFIX: reason}``."""
    if value is not None and math.isfinite(float(value)):
        return {name: float(value)}
    return {name: None, name + REASON_SUFFIX: reason}


def shown(result: dict, name: str, fmt: str = ".2f") -> str:
    """The human form of ``result[name]``: the number, or "undefined (reason)"."""
    value = result.get(name)
    if value is None:
        return f"undefined ({result.get(name + REASON_SUFFIX, 'not measured')})"
    return format(value, fmt)
