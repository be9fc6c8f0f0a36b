"""The compiled CPU kernel of this tree against the one of a git revision, in one process.

The revision's ``kernels/{tables,rng,cpu}.py`` are written to a scratch package with their
imports pointed at it, so both kernels run side by side on the ``junction-train`` workload
(10^6 junctions x 100 stimuli at 50 Hz, default mouse), interleaved round by round: a load
change on a shared machine hits both alike, and the ratio is the figure to quote. Wall and
process CPU time are both recorded; on a loaded machine the CPU-time ratio is the steadier.
``identical_output`` says, per condition, whether the two kernels give the same bytes.

Usage: PYTHONPATH=src python benchmarks/compare_cpu_kernels.py [--against main] [--rounds R] [--junctions N] [OUT.json]
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import workload

from endplate.kernels.cpu import train_cpu

_FILES = ("tables", "rng", "cpu")


def kernel_at(revision: str, folder: Path):
    """``train_cpu`` of ``revision``, imported from a copy of its kernel files under ``folder``."""
    package = folder / "old_kernels"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in _FILES:
        source = subprocess.run(["git", "show", f"{revision}:src/endplate/kernels/{name}.py"],
                                capture_output=True, text=True, check=True).stdout
        (package / f"{name}.py").write_text(source.replace("endplate.kernels.", "old_kernels."))
    sys.path.insert(0, str(folder))
    return importlib.import_module("old_kernels.cpu").train_cpu


def identical_output(old, new) -> dict[str, bool]:
    """Whether two kernels give the same bytes (records, pools, sums) on 3000 junctions in four
    conditions, a train from rest and one that continues its state."""
    from endplate.junction.parameters import default_parameters
    from endplate.junction.perturbations import apply_perturbations
    from endplate.junction.population import make_population, stimulus_schedule

    conditions = {"healthy": ("mouse", ()), "low_calcium": ("mouse", ("low_calcium",)),
                  "ache_inhibition+achr_loss": ("mouse", ("ache_inhibition", "achr_loss")), "human": ("human", ())}
    out = {}
    for name, (species, condition) in conditions.items():
        params = apply_perturbations(default_parameters(species), condition)
        pop = make_population(params, 3000, seed=42)
        runs = []
        for train in (old, new):
            state = pop.rested_state()
            first = train(pop, state, stimulus_schedule(params, [np.inf] + [20.0] * 29), 7, True)
            second = train(pop, state, stimulus_schedule(params, [5.0] * 10), 8, True)
            runs.append([*first, *second, *state.arrays()])
        out[name] = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(*runs))
    return out


def main() -> None:
    parser = workload.parser(__doc__)
    parser.add_argument("--against", default="main")
    args = parser.parse_args()
    pop, schedule = workload.junction_train(args.junctions)
    with tempfile.TemporaryDirectory() as folder:
        kernels = {args.against: kernel_at(args.against, Path(folder)), "this tree": train_cpu}
        small = pop.subset(np.arange(2000))
        for train in kernels.values():
            train(small, small.rested_state(), schedule, 0, False)  # compile outside the timing
        seconds = {name: [] for name in kernels}
        cpu_seconds = {name: [] for name in kernels}
        loads = []
        for r in range(args.rounds):
            for name, train in kernels.items():
                state = pop.rested_state()
                t0, c0 = time.perf_counter(), time.process_time()
                train(pop, state, schedule, r, False)
                seconds[name].append(time.perf_counter() - t0)
                cpu_seconds[name].append(time.process_time() - c0)
            loads.append(os.getloadavg()[0])
        same = identical_output(kernels[args.against], train_cpu)
    size = pop.size * schedule.shape[1]
    ratios = [old / new for old, new in zip(seconds[args.against], seconds["this tree"])]
    cpu_ratios = [old / new for old, new in zip(cpu_seconds[args.against], cpu_seconds["this tree"])]
    report = {"junction_stimuli": size, "seconds": seconds, "cpu_seconds": cpu_seconds, "load_average_1min": loads,
              "throughput_best": {name: size / min(t) for name, t in seconds.items()},
              "speedup_per_round": ratios, "speedup_median": float(np.median(ratios)),
              # CPU time is what the work costs when other processes share the cores
              "cpu_time_speedup_per_round": cpu_ratios, "cpu_time_speedup_median": float(np.median(cpu_ratios)),
              "identical_output": same}
    print(json.dumps(report, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
