"""The work behind `endplate fit`: settings, a progress display, the result and an optional preset."""

from __future__ import annotations

from pathlib import Path

from endplate.errors import EndplateInputError


def run_fit_command(problem: str, *, quick: bool, seed: int, out: Path | None, scheduler: str | None, workers: int | None,
                    population: int | None, generations: int | None, loso: bool, targets: Path | None,
                    preset_out: Path | None, console=None) -> dict:
    """Run a fit with a progress display on ``console`` (None: silent); returns the comparison payload."""
    from endplate.calibrate.compare import payload_from_dataset
    from endplate.calibrate.fit import default_out, run_fit, settings_for
    from endplate.calibrate.problem import bundled_problems

    if problem not in bundled_problems():
        raise EndplateInputError(f"unknown calibration problem {problem!r}; allowed: {', '.join(bundled_problems())}")
    if workers is not None and workers < 1:
        raise EndplateInputError(f"--workers must be at least 1, got {workers}")
    _check_preset_path(preset_out)
    settings = settings_for(problem, quick, population, generations, loso)
    out = Path(out or default_out(problem))
    if console is None:
        ds = run_fit(problem, quick=quick, seed=seed, out=out, scheduler=scheduler, workers=workers, settings=settings,
                     targets_path=targets)
    else:
        ds = _with_progress(console, problem, quick, seed, out, scheduler, workers, settings, targets)
    if preset_out is not None:
        write_preset(ds, preset_out)
    payload = payload_from_dataset(ds)
    payload["output"] = str(out)
    payload["preset"] = None if preset_out is None else str(preset_out)
    return payload


def _with_progress(console, problem, quick, seed, out, scheduler, workers, settings, targets):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from endplate.calibrate.fit import run_fit

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=console) as bar:
        tasks: dict[str, int] = {}

        def progress(label: str, done: int, total: int, info: dict) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total, info="")
            text = ""
            if info.get("probabilities"):
                probs = " ".join(f"{k} {v:.2f}" for k, v in info["probabilities"].items())
                text = f"eps {info['epsilon']:.3g}  acc {info['acceptance']:.2f}  sims {info['simulations']}  {probs}"
            bar.update(tasks[label], completed=done, total=total, info=text)

        return run_fit(problem, quick=quick, seed=seed, out=out, scheduler=scheduler, workers=workers, settings=settings,
                       targets_path=targets, progress=progress)


def compare_command(results: list[str] | None, preset_out: Path | None) -> list[dict]:
    """The comparison payloads of ``endplate compare``; ``preset_out``: the first result's preset, with the spread."""
    from endplate.calibrate.compare import compare_payloads, load_result

    if preset_out is not None and not results:
        raise EndplateInputError("--preset-out needs at least one RESULT (a fit .nc) to write the preset of")
    _check_preset_path(preset_out)
    payloads = compare_payloads(results)
    if preset_out is not None:
        write_preset(load_result(results[0]), preset_out, payloads[0].get("seed_spread"))
    return payloads


def _check_preset_path(path: Path | None) -> None:
    if path is not None and path.suffix != ".toml":
        raise EndplateInputError(f"--preset-out must end in .toml, got {str(path)!r}")


def write_preset(ds, path: Path, spread: dict | None = None) -> None:
    """Write ``ds``'s calibrated preset (with the seed-to-seed ``spread``, if given) atomically to ``path``."""
    from endplate.calibrate.presets import preset_toml
    from endplate.calibrate.problem import load_problem
    from endplate.disease.scenario import load_scenario
    from endplate.io.atomic import atomic_path

    problem = load_problem(ds.attrs["problem"])
    genotype = load_scenario(problem.scenario, calibrated=False).genotype
    with atomic_path(path) as tmp:
        tmp.write_text(preset_toml(ds, genotype, spread))
