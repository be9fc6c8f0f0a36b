"""Where the compiled CPU kernel's time goes: ablation by substitution, ratios in one process.

Each variant is the source of ``endplate/kernels/cpu.py`` with one piece replaced by a cheap
stand-in of the same shape (a binomial by its rounded mean, the normals by a bare generator step,
a transcendental by its argument, a block skipped); a stand-in keeps what it feeds alive, so
that the compiler does not remove more than the piece. Variants are compiled without the cache and timed
interleaved on the ``junction-train`` workload (10^6 junctions x 100 stimuli at 50 Hz) in
process CPU time, which other processes on a shared machine disturb far less than wall time.
The time a piece costs is the full kernel's time minus the variant's; results of the variants
are not valid samples of the model.

Usage: PYTHONPATH=src python benchmarks/profile_cpu_kernel.py [OUT.json] [--junctions N] [--rounds R]
"""

from __future__ import annotations

import inspect
import json
import os
import time

import numpy as np
import workload
from numba import njit

import endplate.kernels.cpu as cpu_module
from endplate.kernels import rng


@njit(inline="always")
def _rounded_mean(s0, s1, n, p, z):
    """Stand-in for a binomial draw: no random numbers, no branches on the regime."""
    return s0, s1, int(n * p + 0.5)


@njit(inline="always")
def _exact_as_rounded_mean(s0, s1, n, p, z):
    """Stand-in for the exact branch only: below the approximation's variance a rounded mean
    (sending those draws down the Cornish-Fisher path instead would feed it variances near 0,
    where its square root is NaN and the pool runs negative: the train stops costing anything)."""
    if n > 0 and n * p * (1.0 - p) >= rng.APPROX_MIN_VARIANCE:
        return s0, s1, rng.binomial_cornish_fisher(n, p, z)
    return s0, s1, int(n * p + 0.5)


@njit(inline="always")
def _bare_generator_normals(s0, s1):
    """Stand-in for the normal pair: one xoroshiro128+ step, halves scaled to unit variance."""
    s0, s1, u = rng.next_uniform(s0, s1)
    return s0, s1, (u - 0.5) * 3.4641016, (0.5 - u) * 3.4641016


@njit(inline="always")
def _counter_normals(s0, s1):
    """Stand-in with no generator at all: a counter, so the cost of drawing is gone."""
    s0 = s0 + np.uint64(1)
    z = (np.float64(s0 & np.uint64(1023)) - 511.5) * (1.0 / 295.6)
    return s0, s1, z, -z


# name -> (source substitutions in cpu.py, names to rebind in the compiled module)
VARIANTS: dict[str, tuple[list[tuple[str, str]], dict]] = {
    "full": ([], {}),
    "binomials as rounded means": ([], {"next_binomial_fast": _rounded_mean}),
    "exact draws as rounded means": ([], {"next_binomial_fast": _exact_as_rounded_mean}),
    "normals from a bare generator step (no ziggurat)": ([], {"next_normal_pair": _bare_generator_normals}),
    "no generator (counter normals)": ([], {"next_normal_pair": _counter_normals}),
    "no log in the threshold crossing (argument instead)": ([("math.log(", "(")], {}),
    "no latency (threshold crossing skipped)": ([("    if fired:\n", "    if False:\n")], {}),
    "per-stimulus tally of quanta only": (
        [("            if fired_here:\n", "            if False:\n"), ("            total_epp += epp\n", "")],
        {},
    ),
}


def build_variant(substitutions: list[tuple[str, str]], rebind: dict):
    """Execute cpu.py's source with ``substitutions`` applied and names rebound; returns train_cpu,
    or None where a substitution does not apply to this version of the kernel."""
    source = inspect.getsource(cpu_module).replace("cache=True", "cache=False")
    for old, new in substitutions:
        if old not in source:
            return None
        source = source.replace(old, new)
    namespace = {"__name__": "endplate.kernels._profiled"}
    exec(compile(source, "<profiled cpu.py>", "exec"), namespace)  # noqa: S102 - our own source
    namespace.update(rebind)
    return namespace["train_cpu"]


def main() -> None:
    args = workload.parser(__doc__).parse_args()
    pop, schedule = workload.junction_train(args.junctions)
    small = pop.subset(np.arange(2000))
    trains = {}
    for name, (subs, rebind) in VARIANTS.items():
        train = build_variant(subs, rebind)
        if train is None:
            print(f"{name}: does not apply to this kernel")
            continue
        train(small, small.rested_state(), schedule, 0, False)  # compile outside the timing
        trains[name] = train
    seconds = {name: [] for name in trains}
    for r in range(args.rounds):
        for name, train in trains.items():
            state = pop.rested_state()
            t0 = time.process_time()
            train(pop, state, schedule, r, False)
            seconds[name].append(time.process_time() - t0)
    size = pop.size * schedule.shape[1]
    full = min(seconds["full"])
    rows = [
        {
            "variant": name,
            "best_cpu_seconds": min(t),
            "all_cpu_seconds": t,
            "cpu_ns_per_junction_stimulus": min(t) * 1e9 / size,
            "share_of_full_removed": 1.0 - min(t) / full,
        }
        for name, t in seconds.items()
    ]
    report = {
        "kernel": cpu_module.__file__,
        "junction_stimuli": size,
        "load_average": os.getloadavg(),
        "rows": rows,
        "junction_stimuli_per_cpu_second_full": size / full,
    }
    for row in rows:
        print(
            f"{row['variant']:50s} {row['best_cpu_seconds']:7.3f} s  {row['cpu_ns_per_junction_stimulus']:6.1f} ns"
            f"  removed {100 * row['share_of_full_removed']:5.1f} %"
        )
    print(f"full: {size / full:.3g} junction-stimuli per CPU second; load average {os.getloadavg()}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=1)


if __name__ == "__main__":
    main()
