"""User spec files (TOML): read one safely, and check a table against the fields of a frozen dataclass.

Every spec the user writes (a scenario, a trial, interventions) goes through here. ``read_toml``
turns unreadable, non-UTF-8, oversized, invalid or too deeply nested files into an
``EndplateInputError`` naming the file. ``check_table`` checks every key of a table against a
dataclass: unknown keys are refused with the allowed ones, each value must have its field's type
(from the annotations) and lie in the range or among the choices in the field's metadata (see
``rule``). Messages read ``WHERE, line N: KEY ...`` so that the user finds the offending line.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from endplate.errors import EndplateInputError

MAX_SPEC_BYTES = 1_000_000  # a spec is a page of settings; anything larger is not one
MAX_DEPTH = 8  # tables within tables: the deepest spec (a trial arm's interventions) has 4
SEED_MAX = 2**63 - 1  # seeds are stored as 64-bit signed integers in every dataset attribute


def rule(
    default: Any = dataclasses.MISSING,
    *,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
    choices: Iterable[str] | Callable[[], Iterable[str]] | None = None,
    items: type | None = None,
    factory: Callable[[], Any] | None = None,
    internal: bool = False,
) -> Any:
    """A dataclass field with the range the loader enforces.

    ``low``/``high``: inclusive bounds; ``above``: a strict lower bound (``above=0``: positive);
    ``choices``: the allowed strings (or a function giving them, for lists known only at run
    time); ``items``: the type of each element of a list; ``internal``: set by the loader, never
    by a file. Floats must also be finite.
    """
    metadata = {"low": low, "high": high, "above": above, "choices": choices, "items": items, "internal": internal}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def read_text(path: Path, what: str, limit: int = MAX_SPEC_BYTES) -> tuple[str, str]:
    """``(text, where)`` of the UTF-8 file ``path``; unreadable, oversized or undecodable files are refused."""
    where = f"{what} file {str(path)!r}"
    try:
        if path.stat().st_size > limit:
            raise EndplateInputError(f"{where}: larger than {limit} bytes; a {what} file is not that large")
        raw = path.read_bytes()
    except OSError as exc:
        raise EndplateInputError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8"), where
    except UnicodeDecodeError as exc:
        raise EndplateInputError(f"{where}: not UTF-8 text (undecodable byte at offset {exc.start}); save it as UTF-8") from None


def read_toml(path: Path, what: str) -> tuple[dict, str, str]:
    """``(table, text, where)`` of the TOML file ``path``; ``what`` names it in messages ("scenario")."""
    text, where = read_text(path, what)
    return parse_toml(text, where), text, where


def parse_toml(text: str, where: str) -> dict:
    """The table in ``text``; invalid or too deeply nested TOML raises EndplateInputError naming ``where``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EndplateInputError(f"{where}: not valid TOML ({exc})") from None
    except RecursionError:
        raise EndplateInputError(f"{where}: tables or arrays nested too deeply (at most {MAX_DEPTH} levels)") from None
    if _depth(data) > MAX_DEPTH:
        raise EndplateInputError(f"{where}: tables or arrays nested too deeply (at most {MAX_DEPTH} levels)")
    return data


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def line_of(text: str, key: str) -> str:
    """``", line N"`` of the line that sets ``key`` in ``text`` ("" when none is found).

    ``key`` may be dotted ("muscle_set.TA.n_fibres"): the last part is looked for first as an
    assignment or a table header at the start of a line, then inside an inline table, then the
    parts before it in turn.
    """
    parts = [p for p in re.split(r"[.\[\]]", key) if p and not p.isdigit()]
    for part in reversed(parts):
        name = re.escape(part)
        for pattern in (rf"\s*(\"?{name}\"?\s*=|\[+\s*([\w.\"-]+\.)?\"?{name}\"?\s*\]+)", rf".*[{{,]\s*\"?{name}\"?\s*="):
            for i, line in enumerate(text.splitlines(), 1):
                if re.match(pattern, line):
                    return f", line {i}"
    return ""


def fail(where: str, text: str, key: str, message: str) -> typing.NoReturn:
    """Raise the loader's error: ``WHERE, line N: MESSAGE`` (the line of ``key`` when it is found)."""
    raise EndplateInputError(f"{where}{line_of(text, key)}: {message}")


def _fields(cls: type) -> dict[str, dataclasses.Field]:
    """The fields a file may set (all but those the loader fills)."""
    return {f.name: f for f in dataclasses.fields(cls) if f.init and not f.metadata.get("internal")}


def required(cls: type) -> list[str]:
    return [n for n, f in _fields(cls).items() if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]


def check_table(cls: type, data: Any, where: str, text: str, prefix: str = "") -> dict:
    """``data`` checked against the fields of ``cls``: the keyword arguments to build it.

    ``prefix`` ("arms.placebo.") is put before each key in messages for a nested table. Lists
    become tuples where the field is a tuple; whole numbers become floats where it is a float.
    """
    if not isinstance(data, dict):
        fail(where, text, prefix.rstrip(".") or cls.__name__, f"{prefix.rstrip('.') or 'the file'} must be a table, got {data!r}")
    fields = _fields(cls)
    hints = typing.get_type_hints(cls)
    out = {}
    for key, value in data.items():
        if key not in fields:
            fail(where, text, key, f"unknown key {prefix + key!r}; allowed: {', '.join(prefix + k for k in fields)}")
        out[key] = check_value(prefix + key, value, hints[key], fields[key].metadata, where, text)
    missing = [prefix + k for k in required(cls) if k not in data]
    if missing:
        raise EndplateInputError(f"{where}: missing required key(s) {', '.join(missing)}")
    return out


def _kind(annotation: Any) -> tuple[type, type | None]:
    """(base type, element type) of an annotation: ``tuple[str, ...]`` -> (tuple, str); ``float | None`` -> float."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        origin = typing.get_origin(annotation)
    if origin is None:
        return annotation, None
    args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
    return origin, (args[0] if origin in (tuple, list) and args else None)


_NAMES = {str: "string", int: "whole number", float: "number", bool: "true or false", tuple: "list", list: "list", dict: "table"}


def check_value(key: str, value: Any, annotation: Any, metadata: Any, where: str, text: str) -> Any:
    """One value checked against its field's type and ``rule`` metadata (see ``check_table``)."""
    base, element = _kind(annotation)
    element = metadata.get("items") or element
    if base in (tuple, list):
        if not isinstance(value, list):
            fail(where, text, key, f"{key} must be a list, got {value!r}")
        if element is not None:
            return tuple(check_value(f"{key}[{i}]", v, element, metadata, where, text) for i, v in enumerate(value))
        return tuple(value)
    if not _is(value, base):
        fail(where, text, key, f"{key} must be a {_NAMES.get(base, base.__name__)}, got {value!r}")
    if base is float:
        value = float(value)
        if not math.isfinite(value):
            fail(where, text, key, f"{key} must be a finite number, got {value!r}")
    if base in (int, float):
        _check_range(key, value, metadata, where, text)
    choices = metadata.get("choices")
    if base is str and choices is not None:
        allowed = list(choices() if callable(choices) else choices)
        if value not in allowed:
            fail(where, text, key, f"unknown {key} {value!r}; allowed: {', '.join(allowed)}")
    return value


def _is(value: Any, base: type) -> bool:
    if base is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, base)


def _check_range(key: str, value: float, metadata: Any, where: str, text: str) -> None:
    low, high, above = metadata.get("low"), metadata.get("high"), metadata.get("above")
    if (low is not None and value < low) or (high is not None and value > high) or (above is not None and value <= above):
        parts = [
            ("non-negative" if low == 0 else f"at least {_num(low)}") if low is not None else "",
            ("positive" if above == 0 else f"above {_num(above)}") if above is not None else "",
            f"at most {_num(high)}" if high is not None else "",
        ]
        fail(where, text, key, f"{key} must be {' and '.join(p for p in parts if p)}, got {value!r}")


def _num(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def number(
    key: str,
    value: Any,
    where: str,
    text: str,
    *,
    low: float | None = None,
    above: float | None = None,
    high: float | None = None,
) -> float:
    """A finite number in range, for values of free-keyed tables (``set``, ``onset_delay_days``)."""
    return check_value(key, value, float, {"low": low, "above": above, "high": high}, where, text)
