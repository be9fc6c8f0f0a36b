"""The disease kernel's cost per muscle-day on diseased trial muscles, this tree against a git revision.

Four patients of the bundled ``nmj-stabiliser-human`` trial, their four reduced muscles each
(100 units of 12 fibres, the cohort's fidelity), are built once; every round copies their states
and steps each through days 0-2,199 in one ``step_days`` call with the untreated drives, first
with the revision's kernel (``disease/kernel.py`` of ``--against``, written to a scratch module),
then with this tree's, interleaved so that a load change on a shared machine hits both alike.
The first round (compilation) is not counted. ``identical`` says whether the two gave the same
daily tallies for every muscle.

Usage: PYTHONPATH=src python benchmarks/disease_day_cost.py [--against main] [--rounds R] [OUT.json]
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

from endplate.disease import kernel as this_kernel
from endplate.disease import simulate
from endplate.disease.resolve import resolve
from endplate.therapy.cohort import allocate, draw_subject
from endplate.therapy.trial import load_trial

DAYS = 2200
PATIENTS = 4


def kernel_at(revision: str, folder: Path):
    """The disease kernel module of ``revision``, imported from a scratch copy (not cached by Numba)."""
    source = subprocess.run(
        ["git", "show", f"{revision}:src/endplate/disease/kernel.py"], capture_output=True, text=True, check=True
    ).stdout
    (folder / "old_disease_kernel.py").write_text(source.replace("cache=True", "cache=False"))
    sys.path.insert(0, str(folder))
    return importlib.import_module("old_disease_kernel")


def muscles() -> list[tuple]:
    """(kernel state, parameters, terminal drive, cortical drive) of each diseased trial muscle."""
    trial = load_trial("nmj-stabiliser-human", subjects_per_arm=max(PATIENTS, 2))
    arms = allocate(trial)
    out = []
    for i in range(PATIENTS):
        subject = draw_subject(trial, i, arms[i])
        model = resolve(subject.scenario, subject.genotype)
        for m in subject.scenario.muscles:
            state = simulate.init_muscle(model, m, 100 + i, baseline_cmap=False)
            g_term, g_cort = simulate.muscle_drives(state, np.arange(DAYS), model)
            out.append((state.kernel_state(), model.kernel_parameters, g_term, g_cort))
    return out


def step(module, case) -> tuple[float, np.ndarray]:
    """CPU seconds of one ``step_days`` call on a copy of ``case``'s state, and its tallies."""
    state, params, g_term, g_cort = case
    fields = {f: (v.copy() if isinstance(v, np.ndarray) else v) for f, v in state._asdict().items()}
    missing = [f for f in module.KernelState._fields if f not in fields]
    if missing:
        raise SystemExit(f"the revision's kernel state has fields this tree's lacks: {missing}")
    copy = module.KernelState(**{f: fields[f] for f in module.KernelState._fields})
    rows = np.ascontiguousarray(np.broadcast_to(params, (g_term.size, params.size)))
    history = np.empty((g_term.size, this_kernel.N_COUNTS))
    t0 = time.process_time()
    module.step_days(rows, 0.0, g_term, g_cort, copy, history)
    return time.process_time() - t0, history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="main")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("out", nargs="?")
    args = parser.parse_args()
    numba.set_num_threads(1)
    cases = muscles()
    muscle_days = len(cases) * DAYS
    with tempfile.TemporaryDirectory() as folder:
        kernels = {"against": kernel_at(args.against, Path(folder)), "this_tree": this_kernel}
        cost: dict[str, list[float]] = {k: [] for k in kernels}
        tallies: dict[str, list[np.ndarray]] = {}
        for r in range(args.rounds + 1):
            for name, module in kernels.items():
                runs = [step(module, case) for case in cases]
                tallies[name] = [h for _, h in runs]
                if r:  # round 0 compiles
                    cost[name].append(sum(s for s, _ in runs) / muscle_days * 1e6)
    identical = all(np.array_equal(a, b) for a, b in zip(tallies["against"], tallies["this_tree"]))
    result = {
        "against": args.against,
        "muscles": len(cases),
        "days": DAYS,
        "us_per_muscle_day": {k: {"min": min(v), "median": float(np.median(v))} for k, v in cost.items()},
        "ratio_of_medians": float(np.median(cost["against"]) / np.median(cost["this_tree"])),
        "identical": identical,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
