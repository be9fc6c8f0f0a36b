"""`endplate trial`: run or resume a virtual clinical trial, analyse, save, report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from rich.table import Table

from endplate.cli._app import _emit, _fail, allow_large_option, app, check_output, err, out, seed_option, stoppable
from endplate.cli.run import HTML_SUFFIXES
from endplate.errors import EndplateInputError


def trial_command(
    spec: str,
    *,
    seed: int | None,
    subjects_per_arm: int | None,
    workers: int,
    scheduler: str | None,
    store: Path | None,
    fresh: bool,
    output: Path | None,
    report: Path | None,
    allow_large: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Run the trial ``spec`` and return the JSON payload (see DESIGN.md: arms, endpoints, effect, ...)."""
    from endplate.io.atomic import atomic_path
    from endplate.io.datasets import write_dataset
    from endplate.therapy.analysis import attach_analysis
    from endplate.therapy.engine import run_trial
    from endplate.therapy.trial import load_trial

    trial = load_trial(spec, allow_large=allow_large, seed=seed, subjects_per_arm=subjects_per_arm)
    from endplate.limits import check_size

    check_size("workers", workers, "--workers", allow_large)
    store = store or Path(f"{trial.name}.zarr")
    output = output or Path(f"{trial.name}.nc")
    check_output(output, (".nc", ".zarr"), "--output")
    check_output(store, (), "--store")  # a Zarr folder, any name
    check_output(report, HTML_SUFFIXES, "--report")
    if output.resolve() == store.resolve():
        raise EndplateInputError("--output and --store must be different paths")
    ds = run_trial(trial, store, scheduler=scheduler, workers=workers, fresh=fresh, progress=progress)
    assert ds is not None  # run_trial returns None only when stopped early (stop_after, used by tests)
    result = attach_analysis(ds, trial)
    write_dataset(ds, output)
    if report is not None:
        from endplate.therapy.report import report_from_dataset

        with atomic_path(report) as tmp:
            tmp.write_text(report_from_dataset(ds))
    return {
        "trial": trial.name,
        "seed": trial.seed,
        "subjects": trial.n_subjects,
        **result,
        "store": str(store),
        "output": str(output),
        "report": None if report is None else str(report),
    }


def _run(spec, seed, subjects_per_arm, workers, scheduler, store, fresh, output, report, allow_large, as_json) -> dict:
    """``trial_command``, with a progress bar on stderr unless ``as_json``."""
    options = dict(
        seed=seed,
        subjects_per_arm=subjects_per_arm,
        workers=workers,
        scheduler=scheduler,
        store=store,
        fresh=fresh,
        output=output,
        report=report,
        allow_large=allow_large,
    )
    if as_json:
        return trial_command(spec, **options)
    from rich.progress import BarColumn, Progress, TextColumn

    with Progress(TextColumn("[bold]trial"), BarColumn(), TextColumn("batch {task.completed}/{task.total}"), console=err) as bar:
        task = bar.add_task("trial", total=None)
        return trial_command(spec, **options, progress=lambda done, total: bar.update(task, completed=done, total=total))


@app.command()
def trial(
    spec: str = typer.Argument(
        ...,
        help="A bundled trial (musk-agonist-sod1-mouse, nmj-stabiliser-human, riluzole-human, edaravone-human) or a TOML file.",
    ),
    seed: int | None = seed_option(None, "Override the trial's seed."),
    subjects_per_arm: int | None = typer.Option(None, help="Override the number of subjects per arm."),
    workers: int = typer.Option(2, help="Local Dask workers (ignored with --scheduler)."),
    scheduler: str | None = typer.Option(None, help="Address of a running Dask scheduler (tcp://host:8786)."),
    store: Path | None = typer.Option(None, help="Zarr store results stream into; an interrupted run resumes from it."),
    fresh: bool = typer.Option(
        False, "--fresh", help="Discard an existing trial store (only one endplate wrote) and start over."
    ),
    output: Path | None = typer.Option(None, help="Final dataset with the analysis, .nc or .zarr (default: NAME.nc)."),
    report: Path | None = typer.Option(None, help="Also write a self-contained HTML report."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    allow_large: bool = allow_large_option(),
) -> None:
    """Run a virtual clinical trial: cohorts, arms, visits, endpoints, analysis and power."""
    try:
        kept = f"finished batches are kept in {str(store)!r}" if store else "finished batches are kept in the store (NAME.zarr)"
        with stoppable(kept):
            payload = _run(spec, seed, subjects_per_arm, workers, scheduler, store, fresh, output, report, allow_large, as_json)
    except EndplateInputError as exc:
        _fail(str(exc))
        return

    def summary() -> None:
        out.print(f"[bold]{payload['trial']}[/]: {payload['subjects']} subjects, seed {payload['seed']}")
        arms = Table(title="arms")
        for col in ("arm", "subjects", "enrolled", "interventions"):
            arms.add_column(col)
        for a in payload["arms"]:
            arms.add_row(a["name"], str(a["subjects"]), str(a["enrolled"]), ", ".join(a["interventions"]) or "none")
        out.print(arms)
        table = Table(title=f"endpoints (primary: {payload['primary']}; control: {payload['control']})")
        for col in ("endpoint", "arm", "effect", "95 % CI", "p", "unit"):
            table.add_column(col)
        for r in payload["results"]:
            table.add_row(
                r["endpoint"],
                r["arm"],
                f"{r['effect']:.3g}",
                f"[{r['ci_low']:.3g}, {r['ci_high']:.3g}]",
                f"{r['p_value']:.3g}",
                r["unit"],
            )
        out.print(table)
        pc = payload["power_curve"]
        out.print("power: " + ", ".join(f"{n}/arm {p:.2f}" for n, p in zip(pc["subjects_per_arm"], pc["power"])))
        out.print(
            f"dataset: {payload['output']}   store: {payload['store']}"
            + (f"   report: {payload['report']}" if payload["report"] else "")
        )

    _emit(payload, as_json, summary)
