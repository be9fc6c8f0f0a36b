"""`endplate infer patient` (a patient's visits: posterior and forecasts) and `endplate infer patients-check`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from endplate.cli._app import _emit, _fail, check_output, err, infer_app, out, seed_option
from endplate.cli.run import HTML_SUFFIXES
from endplate.errors import EndplateInputError

PNG_SUFFIXES = (".png",)


def _bank(subjects: int, workers: int, quiet: bool):
    from endplate.infer.bank import BankSettings, cache_dir, load_bank

    settings = BankSettings(subjects=subjects)
    if not (cache_dir() / f"patient-bank-{settings.key()}.nc").is_file() and not quiet:
        err.print(
            f"building the bank of {subjects} virtual patients once (about {subjects * 2 / workers / 60:.0f} min on "
            f"{workers} cores); it is cached in {cache_dir()}",
            highlight=False,
        )
    progress = None if quiet else (lambda done, total: err.print(f"bank: {done}/{total} batches", highlight=False))
    return load_bank(settings, workers=workers, progress=progress)


@infer_app.command()
def patient(
    visits: Path = typer.Argument(
        ..., help="Visits CSV (docs/infer.md: days_since_onset or date, measure, muscle, method, value, unit)."
    ),
    seed: int = seed_option(0, "Seed of the forecast draws."),
    report: Path | None = typer.Option(None, help="Also write a self-contained HTML report with the figure."),
    figure: Path | None = typer.Option(None, help="Also write the figure as PNG."),
    bank_subjects: int = typer.Option(600, min=20, max=10_000, help="Virtual patients in the bank (built once, cached)."),
    workers: int = typer.Option(2, min=1, max=64, help="Processes that build the bank."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """A patient's posterior over the disease parameters and forecasts at 6, 12 and 18 months."""
    from endplate._version import __version__
    from endplate.infer.bank import BANK_MUSCLES
    from endplate.infer.patient import ErrorModel, fit, result_payload
    from endplate.infer.visits import read_visits

    try:
        check_output(report, HTML_SUFFIXES, "--report")
        check_output(figure, PNG_SUFFIXES, "--figure")
        checked = read_visits(visits, BANK_MUSCLES)
        bank = _bank(bank_subjects, workers, as_json)
        post, series = fit(checked, bank)
        payload = {**result_payload(post, series, bank, checked, seed, ErrorModel()), "version": __version__}
        if report is not None or figure is not None:
            _write_figures(post, series, checked, bank, seed, payload, report, figure)
    except EndplateInputError as exc:
        _fail(str(exc))
        return
    _emit(payload, as_json, lambda: _summary(payload))


def _write_figures(post, series, visits, bank, seed: int, payload: dict, report: Path | None, figure: Path | None) -> None:
    from endplate.infer.report import course_figure, figure_png, patient_html
    from endplate.io.atomic import atomic_path

    png = figure_png(course_figure(post, series, bank, visits, seed))
    if figure is not None:
        with atomic_path(figure) as tmp:
            tmp.write_bytes(png)
    if report is not None:
        with atomic_path(report) as tmp:
            tmp.write_text(patient_html(payload, png))


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def _summary(payload: dict) -> None:
    table = Table(title=f"patient forecast (times after the last visit; origin: {payload['time_origin']})")
    for col in ("measure", "months", "median", "50 %", "90 %", "P(alive)"):
        table.add_column(col)
    for s in payload["series"]:
        name = s["measure"] + (f" {s['muscle']}" if s["muscle"] else "") + (f" ({s['method']})" if s["method"] else "")
        for f in s["forecasts"]:
            table.add_row(
                f"{name} [{s['unit']}]",
                str(f["months_after_last_visit"]),
                _fmt(f["median"]),
                "-".join(_fmt(x) for x in f["interval_50"]),
                "-".join(_fmt(x) for x in f["interval_90"]),
                f"{f['p_alive']:.2f}",
            )
    out.print(table)
    for key, label in (("time_to_half_function", "ALSFRS-R <= 24"), ("survival", "end stage")):
        e = payload[key]
        out.print(
            f"{label}: median {_fmt(e['median_days'])} days (90 % {_fmt(e['interval_90_days'][0])}-"
            f"{_fmt(e['interval_90_days'][1])}), {_fmt(e['median_months_after_last_visit'])} months after the last visit",
            highlight=False,
        )
    p = payload["posterior"]
    out.print(
        f"progression factor {p['progression_factor']['median']:.3g} (90 % {p['progression_factor']['interval_90'][0]:.3g}-"
        f"{p['progression_factor']['interval_90'][1]:.3g}); site of onset "
        + ", ".join(f"{k} {v:.2f}" for k, v in p["site_of_onset"].items())
        + f"; effective sample size {payload['effective_sample_size']:.1f} of {payload['bank_subjects']}",
        highlight=False,
    )
    out.print(f"prior: {payload['prior']}", highlight=False)
    out.print(f"likelihood: {payload['likelihood']}", highlight=False)
