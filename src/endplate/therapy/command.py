"""What `endplate trial` does, apart from parsing options: run or resume, analyse, save, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from endplate.errors import EndplateInputError


def trial_command(spec: str, *, seed: int | None, subjects_per_arm: int | None, workers: int, scheduler: str | None,
                  store: Path | None, fresh: bool, output: Path | None, report: Path | None,
                  progress: Callable[[int, int], None] | None = None) -> dict:
    """Run the trial ``spec`` and return the JSON payload (see DESIGN.md: arms, endpoints, effect, ...)."""
    from endplate.io.atomic import atomic_path
    from endplate.io.datasets import write_dataset
    from endplate.therapy.analysis import analyse
    from endplate.therapy.engine import run_trial
    from endplate.therapy.trial import load_trial

    trial = load_trial(spec, seed=seed, subjects_per_arm=subjects_per_arm)
    store = store or Path(f"{trial.name}.zarr")
    output = output or Path(f"{trial.name}.nc")
    if output.suffix not in (".nc", ".zarr"):
        raise EndplateInputError(f"--output must end in .nc or .zarr, got {str(output)!r}")
    if output.resolve() == store.resolve():
        raise EndplateInputError("--output and --store must be different paths")
    for p in (output, report):
        if p is not None and not p.resolve().parent.exists():
            raise EndplateInputError(f"output folder {str(p.parent)!r} does not exist")
    if report is not None and report.suffix.lower() not in (".html", ".htm"):
        raise EndplateInputError(f"--report must end in .html, got {str(report)!r}")
    ds = run_trial(trial, store, scheduler=scheduler, workers=workers, fresh=fresh, progress=progress)
    result = analyse(ds, trial)
    ds.attrs["analysis"] = json.dumps(result, default=float)
    write_dataset(ds, output)
    if report is not None:
        from endplate.therapy.report import report_from_dataset

        with atomic_path(report) as tmp:
            tmp.write_text(report_from_dataset(ds))
    return {"trial": trial.name, "seed": trial.seed, "subjects": trial.n_subjects, **result,
            "store": str(store), "output": str(output), "report": None if report is None else str(report)}
