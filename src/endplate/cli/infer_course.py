"""`endplate infer patient` (a patient's visits: posterior and forecasts) and `endplate infer patients-check`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from endplate.cli._app import _emit, _fail, check_output, err, infer_app, out, seed_option, stoppable
from endplate.cli.run import HTML_SUFFIXES
from endplate.errors import EndplateInputError

PNG_SUFFIXES = (".png",)


def _bank(subjects: int, workers: int, quiet: bool):
    from endplate.infer.bank import BankSettings, bank_path, cache_dir, load_bank

    settings = BankSettings(subjects=subjects)
    if not bank_path(settings).is_file() and not quiet:
        err.print(
            f"building the bank of {subjects} virtual patients once (about {subjects * 2 / workers / 60:.0f} min on "
            f"{workers} cores); it is cached in {cache_dir()}",
            highlight=False,
        )
    progress = None if quiet else (lambda done, total: err.print(f"bank: {done}/{total} batches", highlight=False))
    with stoppable(f"the bank's finished batches are kept in {cache_dir()}"):
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
    from endplate.infer.patient import MIN_ESS

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
        + f"; effective sample size {payload['effective_sample_size']:.1f} of {payload['bank_subjects']}"
        + (
            f" (likelihood tempered to the power {payload['likelihood_tempering']:.3g} to keep {MIN_ESS:g})"
            if payload["likelihood_tempering"] < 1
            else ""
        ),
        highlight=False,
    )
    out.print(f"prior: {payload['prior']}", highlight=False)
    out.print(f"likelihood: {payload['likelihood']}", highlight=False)


@infer_app.command("patient-check")
def patient_check(
    patients: int = typer.Option(120, min=10, max=10_000, help="Virtual patients scored (each left out of its own fit)."),
    seed: int = seed_option(0, "Seed of the virtual patients' visits and the forecast draws."),
    bank_subjects: int = typer.Option(600, min=20, max=10_000, help="Virtual patients in the bank (built once, cached)."),
    workers: int = typer.Option(2, min=1, max=64, help="Processes that build the bank."),
    figure: Path | None = typer.Option(None, help="Also write the error and coverage figure as PNG."),
    emg: bool = typer.Option(False, "--emg", help="The visits also hold CMAP and MUNE (multipoint) of APB."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Score ALSFRS-R forecasts on virtual patients with known truth: MAE and coverage by visits fitted."""
    from endplate.infer.validation import score_patients, validation_figure

    try:
        check_output(figure, PNG_SUFFIXES, "--figure")
        bank = _bank(bank_subjects, workers, as_json)
        result = score_patients(bank, patients, seed, emg=emg)
        if figure is not None:
            from endplate.infer.report import figure_png
            from endplate.io.atomic import atomic_path

            with atomic_path(figure) as tmp:
                tmp.write_bytes(figure_png(validation_figure(result)))
    except EndplateInputError as exc:
        _fail(str(exc))
        return

    def summary() -> None:
        table = Table(title=f"ALSFRS-R forecasts on {result['patients']} virtual patients (bank of {result['bank_subjects']})")
        for col in (
            "visits fitted",
            "months ahead",
            "patients",
            "MAE",
            "MAE straight line",
            "MAE vs latent",
            "50 % cover",
            "90 % cover",
        ):
            table.add_column(col)
        for r in result["rows"]:
            table.add_row(
                str(r["visits_fitted"]),
                str(r["months_ahead"]),
                str(r["patients"]),
                *(_fmt(r[k]) for k in ("mae_points", "mae_points_line", "mae_points_vs_latent", "coverage_50", "coverage_90")),
            )
        out.print(table)
        out.print("registry forecasters report 2.3-2.7 points MAE on real patients (docs/infer.md)", highlight=False)

    _emit(result, as_json, summary)


@infer_app.command()
def cohort(
    table: Path = typer.Argument(..., help="Cohort CSV: strain, sex, age_days, muscle, measure, value, sd, n (docs/infer.md)."),
    quick: bool = typer.Option(False, help="Small populations and few generations: a few minutes (not a converged fit)."),
    seed: int = seed_option(0, "Seed of the fit."),
    workers: int = typer.Option(2, min=1, max=64, help="Local Dask workers."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Fit a mouse cohort's table by each hypothesis: model probabilities, checks, next measurement."""
    from endplate.calibrate.cohort_table import read_cohort_table
    from endplate.infer.cohort import fit_cohort
    from endplate.muscle.presets import muscles

    def progress(label: str, done: int, total: int, info: dict) -> None:
        if not as_json:
            err.print(f"{label}: generation {done}/{total} {info.get('probabilities', '')}", highlight=False)

    try:
        rows = read_cohort_table(table, tuple(muscles("mouse")))
        payload = fit_cohort(rows, quick=quick, seed=seed, workers=workers, progress=progress)
    except EndplateInputError as exc:
        _fail(str(exc))
        return

    def summary() -> None:
        out.print(
            "model probabilities: " + ", ".join(f"{k} {v:.2f}" for k, v in payload["model_probabilities"].items()),
            highlight=False,
        )
        checks = Table(title="posterior predictive checks (model-averaged)")
        for col in ("row", "measure", "muscle", "age", "observed", "median", "90 %", "inside"):
            checks.add_column(col)
        for c in payload["checks"]:
            p = c["predicted"]
            checks.add_row(
                str(c["row"]),
                c["measure"],
                c["muscle"] or "",
                f"{c['age_days']:g}",
                f"{c['observed']:.3g}",
                _fmt(p["median"]),
                "-".join(_fmt(x) for x in p["interval_90"]),
                str(c["inside_90"]),
            )
        out.print(checks)
        nxt = Table(title="next measurement: median by hypothesis (most discriminating first)")
        for col in ("measure", "muscle", "age", *payload["hypotheses"], "separation"):
            nxt.add_column(col)
        for n in payload["next_measurements"]:
            nxt.add_row(
                n["measure"],
                n["muscle"] or "",
                f"{n['age_days']:g}",
                *(_fmt(n["by_hypothesis"].get(h, {}).get("median")) for h in payload["hypotheses"]),
                _fmt(n["separation"]),
            )
        out.print(nxt)

    _emit(payload, as_json, summary)
