"""GPU check, run on a machine with CUDA and CuPy, in one call: the float32 CuPy kernel against
the NumPy reference in distribution (four conditions) and against its NumPy twin draw for draw,
register use from the compiled kernel's attributes, and throughput with data resident.

Usage: PYTHONPATH=src python3 benchmarks/gpu_check.py OUT.json
Pass/fail is printed per check; the exit status is 1 if any check failed.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
from scipy import stats

from endplate import default_parameters, make_population, run_train
from endplate.junction.perturbations import apply_perturbations
from endplate.junction.population import stimulus_schedule
from endplate.kernels import gpu, gpu_twin

CONDITIONS = {
    "healthy": ("mouse", ()),
    "low_calcium": ("mouse", ("low_calcium",)),
    "ache_inhibition+achr_loss": ("mouse", ("ache_inhibition", "achr_loss")),
    "human": ("human", ()),
}


def compare(species, condition, n=20000, n_s=30):
    """GPU vs reference (tolerances of tests/statistical/test_gpu_kernel.py) and vs the twin."""
    params = apply_perturbations(default_parameters(species), condition)
    pop = make_population(params, n, seed=42)
    intervals = [np.inf] + [20.0] * (n_s - 1)
    st_g = pop.rested_state()
    g = run_train(pop, st_g, intervals, 1, backend="cupy")
    r = run_train(pop, pop.rested_state(), intervals, 2, backend="numpy")
    twin_quanta = gpu_twin.train_twin(pop, pop.rested_state(), stimulus_schedule(params, intervals), 1, True)[0]
    rows = []
    for i in (0, 1, 9, n_s - 1):
        rows.append(
            {
                "stimulus": i,
                "mean_quanta_gpu": float(g.quanta[:, i].mean()),
                "mean_quanta_ref": float(r.quanta[:, i].mean()),
                "ks_epp_p": float(stats.ks_2samp(g.epp_mv[:, i], r.epp_mv[:, i]).pvalue),
                "fired_gpu": float(g.fired_fraction[i]),
                "fired_ref": float(r.fired_fraction[i]),
            }
        )
    same = g.quanta == twin_quanta
    ok_state = bool(
        np.all(st_g.vesicles >= 0)
        and np.all(st_g.vesicles <= pop.capacity)
        and np.all((st_g.tsc_activity >= 0) & (st_g.tsc_activity <= 1))
    )
    sums_match = bool(
        np.allclose(g.sums[0], g.quanta.sum(axis=0), rtol=1e-6) and np.allclose(g.sums[2], np.isfinite(g.latency_ms).sum(axis=0))
    )
    distribution = all(
        abs(x["mean_quanta_gpu"] - x["mean_quanta_ref"]) <= max(0.03 * x["mean_quanta_ref"], 0.05)
        and x["ks_epp_p"] > 1e-3
        and abs(x["fired_gpu"] - x["fired_ref"]) <= 0.03
        for x in rows
    )
    return {
        "passed": bool(distribution and ok_state and sums_match and same[:, 0].mean() > 0.99),
        "distribution_matches_reference": distribution,
        "state_in_range": ok_state,
        "sums_match_records": sums_match,
        "identical_quanta_first_stimulus": float(same[:, 0].mean()),
        "identical_trains": float(same.all(axis=1).mean()),
        "rows": rows,
    }


def throughput(n_junctions, n_stimuli=100, repeats=5):
    """Kernel time with population and state resident on the device (no transfers)."""
    import cupy as cp

    params = default_parameters("mouse")
    pop = make_population(params, n_junctions, seed=1)
    schedule = stimulus_schedule(params, [np.inf] + [20.0] * (n_stimuli - 1))
    gpu.DeviceTrain(pop, pop.rested_state()).run(schedule, 0, False)
    best = np.inf
    for r in range(repeats):
        dev = gpu.DeviceTrain(pop, pop.rested_state())
        cp.cuda.Device().synchronize()
        t0 = time.perf_counter()
        dev.run(schedule, r, False)
        cp.cuda.Device().synchronize()
        best = min(best, time.perf_counter() - t0)
    return {"junctions": n_junctions, "stimuli": n_stimuli, "seconds": best, "throughput": n_junctions * n_stimuli / best}


def kernel_attributes():
    attributes = dict(gpu.compiled_kernel().attributes)
    return {
        k: attributes.get(k)
        for k in ("num_regs", "local_size_bytes", "shared_size_bytes", "max_threads_per_block", "binary_version")
    }


def main(path):
    report = {"gpu_available": gpu.available()}
    if not report["gpu_available"]:
        print("no CUDA GPU visible to CuPy: nothing checked")
        return 1
    import cupy as cp

    report["device"] = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    report["kernel"] = kernel_attributes()
    report["comparisons"] = {name: compare(*c) for name, c in CONDITIONS.items()}
    report["throughput"] = [throughput(n) for n in (1_000_000, 10_000_000)]
    mouse = default_parameters("mouse")
    pop = make_population(mouse, 1_000_000, seed=1)
    t0 = time.perf_counter()
    run_train(pop, pop.rested_state(), [np.inf] + [20.0] * 99, 0, backend="cupy", record=False)
    report["end_to_end_seconds_1e6x100"] = time.perf_counter() - t0
    with open(path, "w") as fh:
        json.dump(report, fh, indent=1)
    print(json.dumps(report, indent=1))
    for name, result in report["comparisons"].items():
        print(f"{name:28s} {'PASS' if result['passed'] else 'FAIL'}")
    print(
        f"registers a thread: {report['kernel']['num_regs']}; "
        f"throughput 1e7 x 100: {report['throughput'][-1]['throughput']:.3g} junction-stimuli/s"
    )
    return 0 if all(r["passed"] for r in report["comparisons"].values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
