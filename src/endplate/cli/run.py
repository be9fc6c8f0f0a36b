"""`endplate run` (a whole animal or patient, day by day) and `endplate app` (the interactive app)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from endplate.cli._app import _emit, _fail, _parse_sets, allow_large_option, app, check_output, err, out, seed_option
from endplate.errors import EndplateInputError

HTML_SUFFIXES = (".html", ".htm")
# Disease-course cost, for the warning only: a reduced human patient (14,000 fibres, 2,556 days, few
# readouts) took about 1 s per simulation on one free core of the development machine
# (docs/calibration.md, the human problem): about 3.6e7 fibre-days per second. Frequent CMAP and
# MUNE readouts on large muscles cost more, so the estimate is a floor.
FIBRE_DAYS_PER_SECOND = 3.6e7
WARN_ABOVE_SECONDS = 10.0
# The first run after installing compiles the kernels (Numba, cached afterwards): human-als took
# 101 s the first time and 9.7 s the second on the 2-core development machine (load 1.5-3, with an
# empty NUMBA_CACHE_DIR), so the note says so.
FIRST_RUN_COMPILE = "the first run after installing also compiles the kernels, a minute or two more"


def _warn_if_long(sc) -> None:
    """Say on stderr, before any work, that a run will take a while and why (fibres x days)."""
    from endplate.muscle.presets import load_muscle

    fibres = sum(load_muscle(sc.species, m, **sc.muscle_set.get(m, {})).n_fibres for m in sc.muscles)
    days = sc.end_day - sc.start_day + 1
    seconds = fibres * days / FIBRE_DAYS_PER_SECOND
    if seconds > WARN_ABOVE_SECONDS:
        err.print(
            f"[yellow]note[/]: {sc.name} simulates {fibres:,} fibres for {days:,} days; expect {seconds:.0f} s or more "
            f"on a free core (minutes on a busy machine; {FIRST_RUN_COMPILE}). Fewer fibres per muscle "
            "(muscle_set n_fibres in a scenario file) or fewer days run faster."
        )


def _milestone(days, series, below: float = 50.0):
    import numpy as np

    hit = np.flatnonzero(np.asarray(series) < below)
    return int(days[hit[0]]) if hit.size else None


def _day(day: float | None) -> str:
    """A milestone day as the report writes it: the day, or "not reached"."""
    return "not reached" if day is None else str(day)


@app.command()
def run(
    scenario: str = typer.Argument(..., help="A bundled scenario (sod1-g93a, wild-type, human-als, ...) or a TOML file."),
    seed: int | None = seed_option(None, "Override the scenario's seed."),
    hypothesis: str | None = typer.Option(None, help="Override the hypothesis: dying_back, dying_forward, independent."),
    genotype: str | None = typer.Option(None, help="Override the genotype."),
    first_partner: str | None = typer.Option(None, help="Which NMJ partner fails first: presynaptic, tsc, postsynaptic."),
    onset_site: str | None = typer.Option(
        None, help="Human: where weakness starts, upper_limb, lower_limb, bulbar or respiratory (contiguous spread from there)."
    ),
    set_: list[str] = typer.Option([], "--set", help="Override a mechanism parameter, mechanism.parameter=value."),
    block_soma_death: bool = typer.Option(False, "--block-soma-death", help="Bax-knockout style: motor neurons cannot die."),
    output: Path | None = typer.Option(None, help="Dataset path, .nc or .zarr (default: SCENARIO.nc here)."),
    report: Path | None = typer.Option(None, help="Also write a self-contained HTML report."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    allow_large: bool = allow_large_option(),
) -> None:
    """Simulate a whole animal or patient day by day, from a bundled scenario or a TOML file."""
    from endplate.disease.dataset import run_dataset
    from endplate.disease.scenario import load_scenario
    from endplate.disease.simulate import simulate
    from endplate.io.datasets import write_dataset
    from endplate.provenance import record_inputs

    try:
        changes: dict[str, Any] = {
            "seed": seed,
            "hypothesis": hypothesis,
            "genotype": genotype,
            "first_partner": first_partner,
            "onset_site": onset_site,
        }
        if set_:
            changes["set"] = _parse_sets(set_)
        if block_soma_death:
            changes["soma_death_blocked"] = True
        sc = load_scenario(scenario, allow_large=allow_large, **changes)
        out_path = output or Path(f"{sc.name}.nc")
        check_output(out_path, (".nc", ".zarr"), "--output")
        check_output(report, HTML_SUFFIXES, "--report")
        _warn_if_long(sc)
        if as_json:
            result = simulate(sc)
        else:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("day {task.completed}/{task.total}"),
                TimeRemainingColumn(),
                console=err,
            ) as bar:
                task = bar.add_task(f"{sc.name}", total=sc.end_day - sc.start_day + 1)
                result = simulate(sc, progress=lambda done, total: bar.update(task, completed=done))
        ds = run_dataset(result)
        record_inputs(ds.attrs, sets=changes.get("set"))
        # The report is drawn (the slow part) before anything is written, so that an interrupted
        # run leaves neither output: the two files are swapped in one after the other at the end.
        html = None
        if report is not None:
            from endplate.report.run_report import report_from_dataset

            html = report_from_dataset(ds)
        write_dataset(ds, out_path)
        if report is not None and html is not None:
            from endplate.io.atomic import atomic_path

            with atomic_path(report) as tmp:
                tmp.write_text(html)
    except EndplateInputError as exc:
        _fail(str(exc))
        return
    days = result.day
    payload = {
        "scenario": sc.name,
        "species": sc.species,
        "genotype": sc.genotype,
        "hypothesis": sc.hypothesis,
        "first_partner": sc.first_partner,
        "seed": sc.seed,
        "day": days.tolist(),
        "readout_day": result.readout_day.tolist(),
        "mune_day": result.mune_day.tolist(),
        "onset_day": result.onset_day,
        "end_stage_day": result.end_stage_day,
        "muscles": {
            m: {
                k: getattr(v, k).tolist()
                for k in (
                    "innervated_percent",
                    "partial_percent",
                    "denervated_percent",
                    "motor_neurons_percent",
                    "cmap_percent",
                    "mune",
                    "mune_true",
                    "force_percent",
                )
            }
            | {"mune_undefined": v.mune_undefined}
            for m, v in result.muscles.items()
        },
        "output": str(out_path),
        "report": None if report is None else str(report),
    }

    def summary() -> None:
        out.print(f"[bold]{sc.name}[/]: {sc.genotype}, {sc.hypothesis}, seed {sc.seed}")
        out.print(f"onset day: {_day(result.onset_day)}   end-stage day: {_day(result.end_stage_day)}")
        table = Table(title="milestones (first day below 50 % of start)")
        for col in ("muscle", "innervated", "motor neurons", "force", "CMAP", "largest unit / start"):
            table.add_column(col)
        for m, v in result.muscles.items():
            table.add_row(
                m,
                _day(_milestone(days, v.innervated_percent)),
                _day(_milestone(days, v.motor_neurons_percent)),
                _day(_milestone(days, v.force_percent)),
                _day(_milestone(result.readout_day, v.cmap_percent)),
                f"{v.max_enlargement:.1f}",
            )
        out.print(table)
        for m, v in result.muscles.items():
            if v.mune_undefined:
                out.print(f"MUNE ({sc.mune_method}) in {m}: {v.mune_undefined}")
        out.print(f"dataset: {out_path}" + (f"   report: {report}" if report else ""))

    _emit(payload, as_json, summary)


@app.command("app")
def app_command(
    port: int = typer.Option(5006, help="Port on localhost (127.0.0.1) to serve the app on."),
    show: bool = typer.Option(True, "--show/--no-browser", help="Open the app in a browser (default) or only serve it."),
) -> None:
    """Serve the interactive app (disease course, cross-section, virtual EMG lab) on localhost."""
    if not 1 <= port <= 65535:
        _fail(f"--port must be between 1 and 65535, got {port}")
    from endplate.app.ui import serve

    try:
        serve(port=port, show=show)
    except OSError as exc:
        _fail(f"cannot serve on 127.0.0.1:{port} ({exc.strerror or exc}); is the port in use? Choose another with --port")
