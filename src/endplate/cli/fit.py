"""`endplate fit` (ABC-SMC with model choice, with a progress display) and `endplate compare`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from endplate.cli._app import _emit, _fail, allow_large_option, app, check_output, err, out, seed_option, stoppable
from endplate.errors import EndplateInputError


def run_fit_command(
    problem: str,
    *,
    quick: bool,
    seed: int,
    out: Path | None,
    scheduler: str | None,
    workers: int | None,
    population: int | None,
    generations: int | None,
    loso: bool,
    targets: Path | None,
    preset_out: Path | None,
    console=None,
    allow_large: bool = False,
) -> dict:
    """Run a fit with a progress display on ``console`` (None: silent); returns the comparison payload."""
    from endplate.calibrate.compare import payload_from_dataset
    from endplate.calibrate.fit import default_out, run_fit, settings_for
    from endplate.calibrate.problem import bundled_problems

    if problem not in bundled_problems():
        raise EndplateInputError(f"unknown calibration problem {problem!r}; allowed: {', '.join(bundled_problems())}")
    if workers is not None and workers < 1:
        raise EndplateInputError(f"--workers must be at least 1, got {workers}")
    from endplate.limits import check_size

    for option, value in (("population", population), ("generations", generations)):
        if value is not None and value < 1:
            raise EndplateInputError(f"--{option} must be at least 1, got {value}")
        check_size(option, value or 0, f"--{option}", allow_large)
    check_size("workers", workers or 0, "--workers", allow_large)
    out = Path(out or default_out(problem))
    check_output(out, (".nc",), "--out")
    check_output(preset_out, (".toml",), "--preset-out")
    settings = settings_for(problem, quick, population, generations, loso)
    with _progress_display(console) as progress:
        ds = run_fit(
            problem,
            quick=quick,
            seed=seed,
            out=out,
            scheduler=scheduler,
            workers=workers,
            settings=settings,
            targets_path=targets,
            progress=progress,
        )
    if preset_out is not None:
        from endplate.calibrate.preset_writer import write_preset

        write_preset([ds], preset_out)
    payload = payload_from_dataset(ds)
    payload["output"] = str(out)
    payload["preset"] = None if preset_out is None else str(preset_out)
    return payload


def compare_command(results: list[str] | None, preset_out: Path | None) -> list[dict]:
    """The payloads of `endplate compare`; ``preset_out``: the results' preset (pooled over seeds), with the seed spread."""
    from endplate.calibrate.compare import compare_payloads, load_result

    if preset_out is not None and not results:
        raise EndplateInputError("--preset-out needs at least one RESULT (a fit .nc) to write the preset of")
    check_output(preset_out, (".toml",), "--preset-out")
    payloads = compare_payloads(results)
    if preset_out is not None and results:
        from endplate.calibrate.preset_writer import write_preset

        write_preset([load_result(r) for r in results], preset_out)
    return payloads


@contextmanager
def _progress_display(console: Console | None) -> Iterator[Callable[[str, int, int, dict], None] | None]:
    """A fit's progress callback drawing bars on ``console``; None (no display) when ``console`` is None."""
    if console is None:
        yield None
        return
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(label: str, done: int, total: int, info: dict) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total, info="")
            text = ""
            if info.get("probabilities"):
                probs = " ".join(f"{k} {v:.2f}" for k, v in info["probabilities"].items())
                text = f"eps {info['epsilon']:.3g}  acc {info['acceptance']:.2f}  sims {info['simulations']}  {probs}"
            bar.update(tasks[label], completed=done, total=total, info=text)

        yield progress


def print_comparison(console: Console, payload: dict) -> None:
    """Hypotheses with probabilities and Bayes factors, then every target's predictive check."""
    floor = payload.get("population_floor")
    table = Table(title=f"{payload['problem']}: hypotheses (winner {payload['winner']})")
    for col in ("hypothesis", "posterior probability", "Bayes factor (best : this)"):
        table.add_column(col)
    for h in sorted(payload["hypotheses"], key=lambda h: -h["probability"]):
        bf = h["bayes_factor_best_over_this"]
        shown = f"{bf:.3g}" if bf is not None else (f"> {1 / floor:.0f} (no particle left)" if floor else "inf")
        table.add_row(h["name"], f"{h['probability']:.3f}", shown)
    console.print(table)
    console.print(
        "[bold]targets[/]: observed | posterior predictive median [5-95 %] | covered | predicted with its source left out"
    )
    for t in payload["targets"]:
        pred = _interval(t.get("predicted_median"), t.get("predicted_low"), t.get("predicted_high"))
        loso = _interval(t.get("loso_median"), t.get("loso_low"), t.get("loso_high"))
        ok = "yes" if t.get("covered") else "[red]no [/]"
        console.print(
            f"  {t['id']:<4} {t['observed']:>7.4g} {_short(t['units']):<8} {pred:<22} {ok:<3}  "
            f"left out {loso:<22} {t['quantity']} ({t.get('evidence', '')})",
            soft_wrap=True,
            highlight=False,
        )
    if payload.get("seed_spread"):
        print_seed_spread(console, payload["seed_spread"])
    if payload.get("simulations"):
        console.print(
            f"{payload['simulations']} simulations in {payload.get('wall_seconds') or 0:.0f} s; "
            f"seed {payload.get('seed')}; created {payload.get('created')}"
        )


def print_seed_spread(console: Console, spread: dict) -> None:
    """Each model's probability across fits with different seeds: mean, SD, range, per seed."""
    seeds = ", ".join(map(str, spread["seeds"]))
    table = Table(title=f"{spread['problem']}: model probability across {len(spread['seeds'])} seeds ({seeds})")
    for col in ("hypothesis", "mean", "SD", "range", "per seed"):
        table.add_column(col)
    for m in sorted(spread["models"], key=lambda m: -m["mean"]):
        table.add_row(
            m["name"],
            f"{m['mean']:.3f}",
            f"{m['sd']:.3f}",
            f"{m['min']:.3f}-{m['max']:.3f}",
            " ".join(f"{p:.2f}" for p in m["probabilities"]),
        )
    console.print(table)
    console.print(
        f"winners by seed: {', '.join(spread['winners'])}; main-fit simulations per seed: "
        f"{', '.join(map(str, spread['simulations']))}",
        highlight=False,
    )


def _interval(median, low, high) -> str:
    if median is None:
        return "-"
    return f"{median:.3g} [{low:.3g}, {high:.3g}]"


def _short(units: str) -> str:
    return {"percent": "%", "percent of control": "%", "percent per month": "%/mo"}.get(units, units)


@app.command()
def fit(
    problem: str = typer.Argument(..., help="A bundled calibration problem: sod1-g93a, human-als, synthetic."),
    quick: bool = typer.Option(False, help="A small fit (well under 2 minutes on 2 cores), for smoke tests."),
    seed: int = seed_option(0, "Seed of the fit (every simulation's seed derives from it and its parameters)."),
    out_path: Path | None = typer.Option(
        None, "--out", help="Result dataset, .nc (default fit-PROBLEM.nc); resumes if it was begun."
    ),
    scheduler: str | None = typer.Option(None, help="Address of a running Dask scheduler (default: a local cluster)."),
    workers: int | None = typer.Option(None, help="Workers of the local cluster (default: one per core)."),
    population: int | None = typer.Option(None, help="Particles per generation (overrides the default)."),
    generations: int | None = typer.Option(None, help="ABC-SMC generations (overrides the default)."),
    loso: bool = typer.Option(True, help="Run the leave-one-source-out check."),
    targets: Path | None = typer.Option(None, help="A target CSV replacing the bundled registry."),
    preset_out: Path | None = typer.Option(None, help="Also write a calibrated preset TOML (values + provenance)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    allow_large: bool = allow_large_option(),
) -> None:
    """Fit the disease model to published targets per hypothesis (ABC-SMC with model choice) and compare them."""
    try:
        with stoppable(f"finished generations are kept in {str(Path(out_path or f'fit-{problem}.nc').with_suffix('.abc'))!r}"):
            payload = run_fit_command(
                problem,
                quick=quick,
                seed=seed,
                out=out_path,
                scheduler=scheduler,
                workers=workers,
                population=population,
                generations=generations,
                loso=loso,
                targets=targets,
                preset_out=preset_out,
                console=None if as_json else err,
                allow_large=allow_large,
            )
    except EndplateInputError as exc:
        _fail(str(exc))
        return

    def summary() -> None:
        print_comparison(out, payload)
        out.print(f"result: {payload['output']}")

    _emit(payload, as_json, summary)


@app.command()
def compare(
    results: list[str] | None = typer.Argument(
        None,
        help="Fit results (.nc); several of one problem and settings "
        "with different seeds: also the spread across seeds. Default: the "
        "shipped calibrations.",
    ),
    preset_out: Path | None = typer.Option(
        None,
        help="Write a calibrated preset of the results: with several seeds, the medians of their particles pooled, "
        "the mean model probabilities and the spread.",
    ),
    vary: str | None = typer.Option(
        None,
        help="Instead of fits: run each variant of this scenario key (first_partner or hypothesis) and name the "
        "measurements that tell them apart, with effect sizes and animals needed.",
    ),
    variant: list[str] = typer.Option([], help="--vary: only these variants (repeatable; default: all)."),
    genotype: str = typer.Option("SOD1-G93A", help="--vary: the genotype whose course is run."),
    hypothesis: str = typer.Option("dying_back", help="--vary first_partner: the hypothesis held fixed."),
    muscle: str = typer.Option("TA", help="--vary: the muscle measured."),
    day: list[int] = typer.Option([], help="--vary: days (age) to measure on (repeatable; default 50, 80, 110)."),
    animals: int = typer.Option(4, min=2, max=50, help="--vary: animals (seeds) per variant."),
    seed: int = seed_option(0, "--vary: seed of the first animal (animal i has seed + i)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Hypotheses with posterior probabilities and Bayes factors, and every target's predictive check.

    With ``--vary``: which measurement separates the variants of a scenario key (docs/calibration.md,
    "Which experiment decides").
    """
    if vary is not None:
        _compare_variants(results, vary, variant, genotype, hypothesis, muscle, day, animals, seed, as_json)
        return
    from endplate.calibrate.compare import json_payload

    try:
        payloads = compare_command(results, preset_out)
    except EndplateInputError as exc:
        _fail(str(exc))
        return

    def summary() -> None:
        for p in payloads:
            print_comparison(out, p)

    _emit(json_payload(payloads), as_json, summary)


def _compare_variants(results, vary, variants, genotype, hypothesis, muscle, days, animals, seed, as_json) -> None:
    from endplate.calibrate.signatures import signatures

    try:
        if results:
            raise EndplateInputError("--vary runs its own courses; give no fit RESULT with it")
        payload = signatures(
            vary,
            genotype=genotype,
            muscle=muscle,
            days=tuple(days) or (50, 80, 110),
            animals=animals,
            seed=seed,
            hypothesis=hypothesis,
            variants=tuple(variants) or None,
            progress=None if as_json else err.print,
        )
    except EndplateInputError as exc:
        _fail(str(exc))
        return
    _emit(payload, as_json, lambda: print_signatures(out, payload))


def _effect(row: dict) -> str:
    return "no overlap" if row["d_infinite"] else f"d {row['d']:+.2f}"


def print_signatures(console: Console, payload: dict) -> None:
    """For each pair of variants, the measurements that separate them best."""
    for pair in payload["pairs"]:
        table = Table(
            title=f"{payload['vary']}: {pair['a']} against {pair['b']} ({payload['genotype']} {payload['muscle']}, "
            f"{payload['animals']} animals each)"
        )
        for col in ("measurement", "day", pair["a"], pair["b"], "effect", "n/group"):
            table.add_column(col)
        for row in pair["measurements"][:5]:
            n = row["animals_per_group"]
            table.add_row(
                f"{row['measurement']} ({row['units']})",
                str(row["day"]),
                f"{row['mean_a']:.3g}",
                f"{row['mean_b']:.3g}",
                _effect(row),
                "-" if n is None else str(n),
            )
        console.print(table)
        best = pair["best"]
        if best is None:
            console.print(f"[red]no measurement separates {pair['a']} from {pair['b']} (|d| < {payload['separable_d']})[/]")
        else:
            n = best["animals_per_group"]
            console.print(f"best: {best['how']} on day {best['day']}, {_effect(best)}, {n} animals per group for 80 % power")
