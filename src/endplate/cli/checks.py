"""`endplate validate` (the literature targets), `endplate bench` (kernel throughput), `endplate demo`."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.console import Console
from rich.padding import Padding
from rich.table import Table

from endplate.cli._app import _emit, _fail, app, check_output, err, out, seed_option
from endplate.errors import EndplateInputError

WIDE_COLUMNS = 200  # validate's table written to a file: wide enough for every check's text on one or two lines
NARROW_COLUMNS = 120  # a terminal narrower than this gets validate's rows as lines, not as a table


@app.command()
def validate(
    seed: int = seed_option(0, "Random seed."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Score the model against every bundled literature target; exit 1 if a `fit` row fails (`test` rows are reported)."""
    from endplate.calibrate.validate import validate as run_validation
    from endplate.therapy.placebo import PLACEBO_CHECKS

    try:
        results = run_validation(seed, extra=PLACEBO_CHECKS)
    except EndplateInputError as exc:
        _fail(str(exc))
        return
    from endplate.calibrate.validate import NOT_MODELLED, summarise

    counts = summarise(results)
    payload = {"targets": results, **counts, "not_modelled": [{"id": k, "why": v} for k, v in NOT_MODELLED.items()], "seed": seed}

    def summary() -> None:
        rows = []
        for r in sorted(results, key=lambda r: r["role"]):
            verdict = "[green]pass[/]" if r["passed"] else "[red]FAIL[/]"
            if r["open_issue"] is not None:
                verdict += f" (gap #{r['open_issue']})"
            # an undefined prediction (None or NaN: the check's band text says when) fails, shown as a word
            value = r["predicted"]
            shown = f"{value:.4g}" if value is not None and math.isfinite(value) else "undefined"
            rows.append((r["id"], r["role"], verdict, shown, f"[{r['low']:g}, {r['high']:g}]", r["evidence"], r["name"]))
        # Written to a file or a pipe, the table takes the width its text needs instead of 80 columns.
        console = out if out.is_terminal else Console(width=WIDE_COLUMNS)
        if console.width < NARROW_COLUMNS:
            # A narrow terminal cannot hold the table without squeezing the text of each check into
            # a column a word wide: one line of figures per row, the check's text under it.
            console.print(f"[italic]validation (seed {seed})[/]")
            for ident, role, verdict, shown, band, evidence, name in rows:
                console.print(f"[bold]{ident}[/] {role}  {verdict}  {shown} in {band}  ({evidence})")
                console.print(Padding(name, (0, 0, 0, 4)))
        else:
            table = Table(title=f"validation (seed {seed})")
            # The verdict, values and bands stay whole on their line; only the check's text (last) wraps.
            for col in ("id", "role", "ok", "predicted", "band", "evidence", "check"):
                table.add_column(col, no_wrap=col != "check")
            for row in rows:
                table.add_row(*row)
            console.print(table)
        console.print(
            f"fit rows: {counts['passed']} passed, {counts['failed']} failed; {counts['open']} known gaps reported "
            "but not counted"
        )
        console.print(f"test rows (held out, never tuned to): {counts['test_passed']} passed, {counts['test_failed']} failed")
        for item in payload["not_modelled"]:
            console.print(f"not modelled: {item['id']}: {item['why']}")

    _emit(payload, as_json, summary)
    if counts["failed"]:
        raise typer.Exit(1)


@app.command()
def bench(
    quick: bool = typer.Option(False, help="Smaller sizes (for a smoke test; not the reference numbers)."),
    workload: list[str] = typer.Option([], "--workload", help="Run only these workloads (repeatable; default: all)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Measure throughput of the kernels (ratios within one run are what counts)."""
    from endplate.bench import run_benchmarks

    try:
        workloads = run_benchmarks(quick=quick, progress=None if as_json else err.print, names=workload)
    except EndplateInputError as exc:
        _fail(str(exc))
        return
    payload = {"workloads": workloads}

    def summary() -> None:
        table = Table(title="endplate bench")
        for col in ("name", "size", "seconds", "throughput", "unit", "reference_ratio"):
            table.add_column(col)
        for w in workloads:
            table.add_row(
                w["name"],
                str(w["size"]),
                f"{w['seconds']:.3f}",
                f"{w['throughput']:.3g}",
                w["unit"],
                "" if w.get("reference_ratio") is None else f"{w['reference_ratio']:.1f}",
            )
        out.print(table)

    _emit(payload, as_json, summary)


@app.command()
def demo(
    output_dir: Path = typer.Option(Path("endplate-demo"), help="Folder for the figures and data."),
    seed: int = seed_option(0, "Random seed."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Healthy versus SOD1-G93A junctions (EPP, trains, jitter, decrement), with figures."""
    from endplate.demo import run_demo

    try:
        check_output(output_dir, (), "--output-dir")
        payload = run_demo(output_dir, seed)
    except EndplateInputError as exc:
        _fail(str(exc))
        return

    def summary() -> None:
        table = Table(title=f"endplate demo (seed {seed})")
        table.add_column("quantity")
        for cond in payload["conditions"]:
            table.add_column(cond, justify="right")
        for key in payload["conditions"]["wild-type"]:
            table.add_row(key, *(f"{payload['conditions'][c][key]:.3g}" for c in payload["conditions"]))
        out.print(table)
        out.print("figures: " + ", ".join(payload["files"]))

    _emit(payload, as_json, summary)
