"""`endplate report`: one HTML report from any saved result, chosen by ``attrs['endplate_result']``.

Each result kind keeps its own report beside its layer (run: ``report/run_report.py``, fit:
``calibrate/report.py``, trial: ``therapy/report.py``); each is imported only when needed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
import xarray as xr

from endplate.cli._app import _emit, _fail, app, check_output, out
from endplate.errors import EndplateInputError

REPORTS = ("run", "fit", "trial")


def _reporter(kind: str) -> Callable[[xr.Dataset], str]:
    """``report_from_dataset`` of the layer that writes results of ``kind`` (one of REPORTS)."""
    if kind == "run":
        from endplate.report.run_report import report_from_dataset as run_report

        return run_report
    if kind == "fit":
        from endplate.calibrate.report import report_from_dataset as fit_report

        return fit_report
    from endplate.therapy.report import report_from_dataset as trial_report

    return trial_report


def report_html(ds: xr.Dataset, where: str = "dataset") -> str:
    """The HTML report of ``ds``, by the reporter of its ``endplate_result`` kind."""
    kind = ds.attrs.get("endplate_result")
    if kind is None:
        raise EndplateInputError(
            f"{where} is not an endplate result: it has no 'endplate_result' attribute (expected one of: {', '.join(REPORTS)})"
        )
    if kind not in REPORTS:
        raise EndplateInputError(f"{where}: unknown endplate_result {kind!r}; allowed: {', '.join(REPORTS)}")
    from endplate.io.datasets import structure_checked

    with structure_checked(where, kind, ds.attrs.get("endplate_version", "unknown")):
        return _reporter(kind)(ds)


def write_report(results: Path, output: Path) -> str:
    """Read the saved result ``results`` and write its report to ``output`` (.html) atomically."""
    from endplate.io.atomic import atomic_path
    from endplate.io.datasets import open_result

    check_output(output, (".html", ".htm"), "-o/--output")
    text = report_html(open_result(results), repr(str(results)))
    with atomic_path(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return str(output)


@app.command("report")
def report_command(
    results: Path = typer.Argument(..., help="A saved result: a run, fit or trial dataset (.nc or .zarr)."),
    output: Path = typer.Option(..., "--output", "-o", help="The HTML file to write."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Write a self-contained HTML report of a saved result (run, fit or trial)."""
    try:
        written = write_report(results, output)
    except EndplateInputError as exc:
        _fail(str(exc))
        return
    payload = {"results": str(results), "report": written}
    _emit(payload, as_json, lambda: out.print(f"report: {written}"))
