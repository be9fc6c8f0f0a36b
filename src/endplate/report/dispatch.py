"""`endplate report`: one HTML report from any saved result, chosen by ``attrs['endplate_result']``.

Each result kind keeps its own report beside its layer; they are imported only when needed, so a
kind whose layer is not installed gives a clear message instead of an import error.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import xarray as xr

from endplate.errors import EndplateInputError

REPORTERS = {"run": "endplate.report.run_report", "fit": "endplate.calibrate.report", "trial": "endplate.therapy.report"}


def report_html(ds: xr.Dataset, where: str = "dataset") -> str:
    """The HTML report of ``ds``, by the reporter of its ``endplate_result`` kind."""
    kind = ds.attrs.get("endplate_result")
    if kind is None:
        raise EndplateInputError(f"{where} is not an endplate result: it has no 'endplate_result' attribute "
                                 f"(expected one of: {', '.join(REPORTERS)})")
    if kind not in REPORTERS:
        raise EndplateInputError(f"{where}: unknown endplate_result {kind!r}; allowed: {', '.join(REPORTERS)}")
    try:
        module = importlib.import_module(REPORTERS[kind])
        reporter = module.report_from_dataset
    except (ImportError, AttributeError):
        raise EndplateInputError(f"{where} is a {kind!r} result, but this installation has no report for it "
                                 f"({REPORTERS[kind]}.report_from_dataset is missing)") from None
    try:
        return reporter(ds)
    except KeyError as exc:
        raise EndplateInputError(f"{where} is a {kind!r} result without {exc}; was it written by another endplate version "
                                 f"({ds.attrs.get('endplate_version', 'unknown')})?") from None


def write_report(results: Path, output: Path) -> str:
    """Read the saved result ``results`` and write its report to ``output`` (.html) atomically."""
    from endplate.io.atomic import atomic_path
    from endplate.io.datasets import open_result

    if output.suffix.lower() not in (".html", ".htm"):
        raise EndplateInputError(f"-o/--output must end in .html, got {str(output)!r}")
    if not output.resolve().parent.exists():
        raise EndplateInputError(f"output folder {str(output.parent)!r} does not exist")
    text = report_html(open_result(results), repr(str(results)))
    with atomic_path(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return str(output)
