"""`endplate infer scan` (MUNE from a recorded CMAP scan) and `endplate scans` (labelled synthetic scans)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from endplate._version import __version__
from endplate.cli._app import _emit, _fail, app, check_output, err, infer_app, out, seed_option
from endplate.errors import EndplateInputError
from endplate.limits import check_size

PLOT_SUFFIXES = (".png", ".pdf", ".svg")


def _inferred(scan_file: Path, muscle: str, species: str | None, prior: str) -> tuple[dict, dict]:
    """(result, model curve) of the scan in ``scan_file``."""
    from endplate.infer.scan import PRIORS, AbcSettings, infer_scan, model_curve
    from endplate.io.scan_file import read_scan

    if prior not in PRIORS:  # before reading the file: the cheaper refusal first
        raise EndplateInputError(f"unknown --prior {prior!r}; allowed: {', '.join(PRIORS)}")
    recording = read_scan(scan_file)
    result = infer_scan(recording.stimulus_ma, recording.response_mv, muscle, species, AbcSettings(prior=prior))
    curve = model_curve(recording.stimulus_ma, recording.response_mv, result["units"], result["threshold_noise_rsd"])
    result["source"] = str(scan_file)
    return result, curve


def _write_outputs(result: dict, curve: dict, plot: Path | None, report: Path | None) -> list[str]:
    from endplate.io.atomic import atomic_path
    from endplate.report.scan_report import save_scan_figure, scan_report_html

    written = []
    if plot is not None:
        with atomic_path(plot) as tmp:
            save_scan_figure(result, curve, tmp)
        written.append(str(plot))
    if report is not None:
        provenance = {"source": result["source"], "muscle": result["muscle"], "endplate": __version__, "engine": result["engine"]}
        with atomic_path(report) as tmp:
            tmp.write_text(scan_report_html(result, curve, provenance), encoding="utf-8")
        written.append(str(report))
    return written


def _benchmark(n: int, course_runs: int, others: bool, as_json: bool) -> None:
    from endplate.infer.benchmark import run_benchmark
    from endplate.infer.scans import SCAN_MUSCLES

    check_size("scans", n, "--n")
    check_size("runs", course_runs, "--course-runs")
    todo = n + course_runs * len(SCAN_MUSCLES)
    payload = run_benchmark(
        n, others, None if as_json else lambda i: err.print(f"{i}/{todo} scans and disease runs", end="\r"), course_runs
    )

    def summary() -> None:
        table = Table(
            title=f"MUNE benchmark: {payload['scans']} simulated scans, {course_runs} disease runs a muscle among them "
            "(median absolute error, % of the true count)"
        )
        methods = list(payload["summary"]["all"]["median_abs_error_percent"])
        for col in ("scans", "group", *methods, "90 % coverage", "90 % coverage (als)"):
            table.add_column(col)
        for name, g in payload["summary"].items():
            errors = [g["median_abs_error_percent"].get(m) for m in methods]
            als = g.get("coverage_90_als")
            table.add_row(
                str(g["scans"]),
                name,
                *("" if e is None else f"{e:.1f}" for e in errors),
                f"{g['coverage_90']:.2f}",
                "" if als is None else f"{als:.2f}",
            )
        out.print(table)

    _emit(payload, as_json, summary)


@infer_app.command("scan")
def infer_scan_command(
    scan_file: Path = typer.Argument(None, help="CSV (stimulus_mA, response_mV[, area_mVms]) or NWB file of the scan."),
    muscle: str = typer.Option("APB", "--muscle", help="Muscle scanned: APB, ADM, FDI (human) or TA (mouse)."),
    species: str = typer.Option(None, "--species", help="human or mouse (default: the one the reference holds)."),
    plot: Path = typer.Option(None, "--plot", help="Figure of the scan, model and residuals (.png, .pdf, .svg)."),
    report: Path = typer.Option(None, "--report", help="Self-contained HTML report (.html)."),
    benchmark: bool = typer.Option(False, "--benchmark", help="Score the method on simulated scans of known truth instead."),
    n: int = typer.Option(500, "--n", min=0, help="Benchmark scans drawn from the prior."),
    course_runs: int = typer.Option(
        4, "--course-runs", min=0, help="Benchmark disease runs per muscle (8 scans of the model's own course each)."
    ),
    inference_only: bool = typer.Option(
        False, "--inference-only", help="Benchmark the inference alone (no scan fit, MPS, incremental)."
    ),
    prior: str = typer.Option(
        "mixed",
        "--prior",
        help="Muscles the scan is inferred among: mixed (all reference scans), als (healthy muscles and the disease "
        "model's own ALS course: choose it for a patient with ALS), generic (healthy and the assumed reinnervated and "
        "late stages). See docs/mune.md, 'Which prior'.",
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Motor unit number from a recorded CMAP scan, with a credible interval (docs/mune.md)."""
    try:
        if benchmark:
            _benchmark(n, course_runs, not inference_only, as_json)
            return
        if scan_file is None:
            raise EndplateInputError("give the scan file (CSV or NWB), or --benchmark")
        check_output(plot, PLOT_SUFFIXES, "--plot")
        check_output(report, (".html",), "--report")
        result, curve = _inferred(scan_file, muscle, species, prior)
        result["files"] = _write_outputs(result, curve, plot, report)
    except EndplateInputError as exc:
        _fail(str(exc))
        return

    def summary() -> None:
        table = Table(
            title=f"MUNE from the CMAP scan {scan_file} ({result['species']} {result['muscle']}, prior {result['prior']})"
        )
        table.add_column("quantity")
        table.add_column("value", justify="right")
        table.add_row(
            "motor units", f"{result['units']} ({result['interval']:.0%} interval {result['units_low']}-{result['units_high']})"
        )
        table.add_row("CMAP", f"{result['cmap_mv']:.3g} mV")
        table.add_row("baseline noise", f"{result['noise_uv']:.3g} uV")
        for k, v in result["unit_size_uv"].items():
            table.add_row(f"unit size {k}", f"{v:.3g} uV")
        for k, v in result["threshold_ma"].items():
            table.add_row(f"threshold at {k[1:]} % of CMAP", f"{v:.3g} mA")
        table.add_row("threshold spread (CV)", f"{result['threshold_cv']:.3g}")
        table.add_row("threshold noise (RSD)", f"{result['threshold_noise_rsd']:.3g}")
        out.print(table)
        for f in result["files"]:
            out.print(f"wrote {f}")

    payload = {k: v for k, v in result.items() if k not in ("posterior_units", "posterior_weights")}
    _emit(payload, as_json, summary)


@app.command("scans")
def scans_command(
    n: int = typer.Option(..., "--n", min=1, help="Number of scans."),
    out_dir: Path = typer.Option(..., "--out", help="Folder to write them to (created if missing)."),
    seed: int = seed_option(0, "Random seed of the set."),
    muscle: str = typer.Option(None, "--muscle", help="Only this muscle (APB, ADM, FDI human; TA mouse); default: drawn."),
    stage: str = typer.Option(
        None,
        "--stage",
        help="Only this stage: healthy, reinnervated, late, or course (the disease model's own muscles, about 5 s a scan); "
        "default: one of the first three, drawn.",
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Labelled synthetic CMAP scans (CSV) with their truth (JSON), to score any MUNE method on."""
    from endplate.infer.scan import scan_muscle
    from endplate.infer.scans import COURSE, SCAN_MUSCLES, STAGES, write_labelled_scans

    try:
        check_size("scans", n, "--n")
        check_output(out_dir, (), "--out")
        pick = SCAN_MUSCLES[scan_muscle(muscle, None)] if muscle is not None else None
        if stage is not None and stage not in (*STAGES, COURSE):
            raise EndplateInputError(f"unknown --stage {stage!r}; allowed: {', '.join((*STAGES, COURSE))}")
        out_dir.mkdir(exist_ok=True)
        index = write_labelled_scans(out_dir, n, seed, pick, stage, {"endplate": __version__})
    except EndplateInputError as exc:
        _fail(str(exc))
        return
    payload = {"out": str(out_dir), "seed": seed, "scans": index}

    def summary() -> None:
        table = Table(title=f"{n} labelled scans in {out_dir} (seed {seed})")
        for col in ("csv", "muscle", "stage", "true units"):
            table.add_column(col)
        for row in index[:20]:
            table.add_row(row["csv"], f"{row['species']} {row['muscle']}", row["stage"], str(row["true_units"]))
        out.print(table)
        if n > 20:
            out.print(f"... and {n - 20} more; the truth of each is in its .truth.json")

    _emit(payload, as_json, summary)
