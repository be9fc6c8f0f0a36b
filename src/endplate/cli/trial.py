"""`endplate trial`: run or resume a virtual clinical trial, analyse, save, report."""

from __future__ import annotations

import dataclasses
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
    target_power: float | None = None,
    endpoints_figure: Path | None = None,
    allow_large: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> dict:
    """Run the trial ``spec`` and its power bank and return the JSON payload (DESIGN.md: arms,
    endpoints, effect, ..., power). ``progress(stage, done, total)`` follows the batches of the
    stages "trial" and "power bank"; ``say`` receives resume notices."""
    from endplate.io.atomic import atomic_path
    from endplate.io.datasets import write_dataset
    from endplate.limits import check_size
    from endplate.therapy.power import bank_store, run_with_power
    from endplate.therapy.trial import load_trial

    trial = load_trial(spec, allow_large=allow_large, seed=seed, subjects_per_arm=subjects_per_arm)
    if target_power is not None:
        if not 0 < target_power < 1:
            raise EndplateInputError(f"--target-power must lie strictly between 0 and 1, got {target_power}")
        trial = dataclasses.replace(trial, power_target=target_power)
    check_size("workers", workers, "--workers", allow_large)
    store = store or Path(f"{trial.name}.zarr")
    bank = bank_store(store)
    output = output or Path(f"{trial.name}.nc")
    check_output(output, (".nc", ".zarr"), "--output")
    check_output(store, (), "--store")  # a Zarr folder, any name
    check_output(report, HTML_SUFFIXES, "--report")
    check_output(endpoints_figure, (".png",), "--endpoints-figure")
    if output.resolve() in (store.resolve(), bank.resolve()):
        raise EndplateInputError(f"--output must differ from the store {str(store)!r} and its power bank {str(bank)!r}")
    ds, result = run_with_power(trial, store, fresh=fresh, progress=progress, say=say, scheduler=scheduler, workers=workers)
    write_dataset(ds, output)
    from endplate.therapy.report import endpoints_png, report_from_dataset

    if report is not None:
        with atomic_path(report) as tmp:
            tmp.write_text(report_from_dataset(ds))
    if endpoints_figure is not None:
        with atomic_path(endpoints_figure) as tmp:
            tmp.write_bytes(endpoints_png(result))
    return {
        "trial": trial.name,
        "seed": trial.seed,
        "subjects": trial.n_subjects,
        **result,
        "store": str(store),
        "bank_store": str(bank),
        "output": str(output),
        "report": None if report is None else str(report),
        "endpoints_figure": None if endpoints_figure is None else str(endpoints_figure),
    }


class _Bars:
    """One rich progress bar per stage, started when its first count arrives (so an error found
    before any work shows no empty bar)."""

    def __init__(self):
        from rich.progress import BarColumn, Progress, TextColumn

        self.bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("batch {task.completed}/{task.total}"), console=err
        )
        self.tasks: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.tasks:
            self.bar.start()
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total)
        self.bar.update(self.tasks[stage], completed=done, total=total)

    def stop(self) -> None:
        if self.tasks:
            self.bar.stop()

    def say(self, line: str) -> None:
        (self.bar.console if self.tasks else err).print(line, highlight=False, soft_wrap=True)


def _run(spec, as_json: bool, **options) -> dict:
    """``trial_command``, with progress bars and resume notices on stderr unless ``as_json``."""
    if as_json:
        return trial_command(spec, **options)
    bars = _Bars()
    try:
        return trial_command(spec, **options, progress=bars, say=bars.say)
    finally:
        bars.stop()


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
    target_power: float | None = typer.Option(
        None, help="Power to solve the sample size for (default: the trial's power.target, 0.8)."
    ),
    endpoints_figure: Path | None = typer.Option(
        None, help="Write the comparison of the endpoints (power curves, subjects needed) as a PNG."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    allow_large: bool = allow_large_option(),
) -> None:
    """Run a virtual clinical trial: cohorts, arms, visits, endpoints, analysis and power."""
    try:
        where = (
            f"{str(store)!r} and {str(store.with_name(store.stem + '-bank.zarr'))!r}" if store else "NAME.zarr and NAME-bank.zarr"
        )
        with stoppable(f"finished batches are kept in {where}"):
            payload = _run(
                spec,
                as_json,
                seed=seed,
                subjects_per_arm=subjects_per_arm,
                workers=workers,
                scheduler=scheduler,
                store=store,
                fresh=fresh,
                output=output,
                report=report,
                target_power=target_power,
                endpoints_figure=endpoints_figure,
                allow_large=allow_large,
            )
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
        assumed = payload.get("assumed_effects") or {}
        if assumed:
            effects = Table(title="effects the simulation assumed (uncertain ones drawn once per trial)")
            for col in ("intervention", "target", "drawn", "point", "95 % range", "evidence"):
                effects.add_column(col)
            from endplate.therapy.interventions import range_text

            for name, iv in assumed.items():
                for target, t in iv["targets"].items():
                    effects.add_row(name, target, f"{t['drawn']:.3g}", f"{t['point']:.3g}", range_text(t), iv["evidence"])
            out.print(effects)
        table = Table(title=f"endpoints (primary: {payload['primary']}; control: {payload['control']})")
        for col in ("endpoint", "arm", "effect", "95 % CI", "p", "unit"):
            table.add_column(col)
        for r in payload["results"]:
            table.add_row(
                r["endpoint"],
                r["arm"],
                f"undefined ({r['effect_undefined_reason']})" if r.get("effect_undefined_reason") else f"{r['effect']:.3g}",
                "" if r.get("effect_undefined_reason") else f"[{r['ci_low']:.3g}, {r['ci_high']:.3g}]",
                f"{r['p_value']:.3g}",
                r["unit"],
            )
        out.print(table)
        mixed = next(r for r in payload["results"] if r["endpoint"] == payload["primary"]).get("mixed_model")
        if mixed:
            out.print(
                f"sensitivity ({mixed['method']}): {mixed['effect']:.3g} per month "
                f"[{mixed['ci_low']:.3g}, {mixed['ci_high']:.3g}], p {mixed['p_value']:.3g}"
            )
        _print_power(payload["power"])
        out.print(
            f"dataset: {payload['output']}   store: {payload['store']}"
            + (f"   report: {payload['report']}" if payload["report"] else "")
        )

    _emit(payload, as_json, summary)


def _print_power(power: dict) -> None:
    """The one power figure, the solved sample size and the comparison of endpoints."""

    from endplate.therapy.power import size_strings

    ss = power["sample_size"]
    size, interval = size_strings(ss)
    out.print(
        f"power ({power['endpoint']}, prospective, {power['curve']['trials']} fresh trials per size): "
        f"{power['power']:.2f} +/- {power['se']:.2f} at {power['subjects_per_arm']} per arm; "
        f"{ss['target_power']:.0%} power needs {size} per arm (95 % {interval})"
    )
    table = Table(title=f"endpoints compared: subjects per arm for {ss['target_power']:.0%} power")
    for col in ("endpoint", "subjects per arm", "95 % interval", "power at trial size"):
        table.add_column(col)
    for e, c in power["endpoints"].items():
        n = c["sample_size"]
        at = c["subjects_per_arm"].index(power["subjects_per_arm"])
        table.add_row(e, *size_strings(n), f"{c['power'][at]:.2f}")
    out.print(table)
    check = power["mixed_model_check"]
    if check:
        from endplate.therapy.report import agreement_text

        out.print(f"sensitivity: {agreement_text(check)}")
