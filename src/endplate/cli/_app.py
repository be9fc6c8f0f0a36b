"""What every command shares: the Typer app, the consoles, JSON output, errors and the output-path check.

Every command prints a human summary, or with ``--json`` one JSON object on stdout and nothing
else. Bad input exits with code 2 and a one-paragraph message naming what is wrong.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from endplate._version import __version__
from endplate.errors import EndplateInputError
from endplate.readings import REASON_SUFFIX, shown
from endplate.spec import SEED_MAX


class _Commands(TyperGroup):
    """The command group; it refuses an option given twice (click would keep the last one silently)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        command = self.get_command(ctx, args[0]) if args else None
        if command is not None:
            _refuse_repeats(command, args[1:])
        return super().parse_args(ctx, args)


def _refuse_repeats(command: Any, args: list[str]) -> None:
    seen: dict[str, str] = {}
    names = {
        opt: p
        for p in command.params
        if p.param_type_name == "option" and not p.multiple and not getattr(p, "count", False)
        for opt in (*p.opts, *p.secondary_opts)
    }
    for arg in args:
        if arg == "--":
            break
        option = names.get(arg.split("=", 1)[0])
        if option is None:
            continue
        if option.name in seen:
            raise typer.BadParameter("given twice; give it once", param_hint=f"'{seen[option.name]}'")
        seen[option.name or arg] = arg.split("=", 1)[0]


app = typer.Typer(cls=_Commands, add_completion=False, no_args_is_help=True)
infer_app = typer.Typer(cls=_Commands, no_args_is_help=True, help="Fit your own data: a CMAP scan, a patient, a cohort.")
app.add_typer(infer_app, name="infer")
err = Console(stderr=True)
out = Console()

MAX_NAME_BYTES = 255  # the longest file name ext4, XFS, APFS and NTFS accept


def check_output(path: Path | None, suffixes: tuple[str, ...], option: str) -> None:
    """Refuse an output path before any work starts; ``suffixes`` empty means a folder is wanted.

    Checks the suffix (case-insensitive), that the parent is an existing writable folder, that a
    file target is not an existing folder (a ``.zarr`` store is a folder), and the name's length.
    """
    if path is None:
        return
    shown = repr(str(path))
    wants_folder = not suffixes or path.suffix.lower() == ".zarr"
    if suffixes and path.suffix.lower() not in suffixes:
        raise EndplateInputError(f"{option} {shown} must end in {' or '.join(suffixes)}")
    if len(os.fsencode(path.name)) > MAX_NAME_BYTES:
        raise EndplateInputError(f"{option} {shown}: the file name is longer than {MAX_NAME_BYTES} bytes")
    parent = path.resolve().parent
    if not parent.is_dir():
        raise EndplateInputError(f"{option} {shown}: output folder {str(path.parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise EndplateInputError(f"{option} {shown}: output folder {str(path.parent)!r} is not writable")
    if path.is_dir() and not wants_folder:
        raise EndplateInputError(f"{option} {shown} is a folder; give a file name ending in {' or '.join(suffixes)}")
    if path.exists() and not path.is_dir() and wants_folder:
        raise EndplateInputError(f"{option} {shown} exists and is not a folder")
    if path.suffix.lower() == ".zarr" and path.is_dir() and any(path.iterdir()) and not _is_zarr_store(path):
        # Writing swaps the whole folder, so a folder of the user's own files would be lost.
        raise EndplateInputError(f"{option} {shown} is a folder that is not a Zarr store; remove it or give another name")


def _is_zarr_store(path: Path) -> bool:
    """True when ``path`` holds Zarr metadata at its top (format 2 or 3)."""
    return any((path / name).exists() for name in (".zgroup", ".zarray", ".zmetadata", "zarr.json"))


def seed_option(default: int | None, help: str) -> Any:
    """A ``--seed`` option: a whole number 0 <= seed < 2**63 (what every dataset attribute can store)."""
    return typer.Option(default, min=0, max=SEED_MAX, help=f"{help} 0 <= seed < 2**63.")


ALLOW_LARGE_HELP = (
    "Run sizes above the limits for one ordinary machine (docs/design.md, 'Limits'): for a bigger machine or a Dask cluster."
)


def allow_large_option() -> Any:
    return typer.Option(False, "--allow-large", help=ALLOW_LARGE_HELP)


def _jsonable(value: Any) -> Any:
    """Plain JSON: NaN and infinity become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _emit(payload: dict, as_json: bool, summary: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(_jsonable(payload)) + "\n")
    else:
        summary()


def _quantity_table(title: str, payload: dict) -> None:
    """Print a result as a two-column table; long lists are cut, lists of records left to --json."""
    table = Table(title=title)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for k, v in payload.items():
        if k.endswith(REASON_SUFFIX):
            continue
        if v is None:
            v = shown(payload, k)
        elif isinstance(v, list):
            if v and isinstance(v[0], dict):
                continue
            v = ", ".join(f"{x:.3g}" if isinstance(x, float) else str(x) for x in v[:12]) + (" ..." if len(v) > 12 else "")
        elif isinstance(v, float):
            v = f"{v:.4g}" if math.isfinite(v) else "undefined"
        table.add_row(k, str(v))
    out.print(table)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@contextlib.contextmanager
def stoppable(kept: str) -> Iterator[None]:
    """Run a long command so that SIGINT/SIGTERM stop it cleanly: the workers are stopped, finished
    work stays where ``kept`` says, one line says how to resume, and the exit code is 130 or 143."""
    from endplate.cluster import Interrupted, interruptible

    try:
        with interruptible():
            yield
    except Interrupted as exc:
        err.print(f"interrupted ({exc}): {kept}; run the same command again to resume", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None


def _parse_sets(items: list[str]) -> dict[str, float]:
    changes = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise EndplateInputError(f"--set takes key=value, got {item!r}")
        try:
            changes[key.strip()] = float(raw)
        except ValueError:
            raise EndplateInputError(f"--set {key}: value {raw!r} is not a number") from None
    return changes


def _params(species: str, sets: list[str], perturb: list[str]):
    from endplate.junction.parameters import default_parameters
    from endplate.junction.perturbations import apply_perturbations

    params = apply_perturbations(default_parameters(species), perturb)
    return params.replace(**_parse_sets(sets)) if sets else params


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"endplate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """endplate: stochastic simulation of the neuromuscular junction in health and in ALS."""
