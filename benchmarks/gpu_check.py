"""GPU check, run on a machine with CUDA and CuPy: the CuPy kernel against the NumPy reference
in distribution, invariants, and kernel throughput with data resident on the device.

Usage: python3 benchmarks/gpu_check.py OUT.json
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
from endplate.kernels import gpu


def compare(params, label, n=20000, n_s=30):
    pop = make_population(params, n, seed=42)
    intervals = [np.inf] + [20.0] * (n_s - 1)
    st_g, st_r = pop.rested_state(), pop.rested_state()
    g = run_train(pop, st_g, intervals, 1, backend="cupy")
    r = run_train(pop, st_r, intervals, 2, backend="numpy")
    rows = []
    for i in (0, 1, 9, n_s - 1):
        rows.append({
            "stimulus": i, "mean_quanta_gpu": float(g.quanta[:, i].mean()), "mean_quanta_ref": float(r.quanta[:, i].mean()),
            "ks_epp_p": float(stats.ks_2samp(g.epp_mv[:, i], r.epp_mv[:, i]).pvalue),
            "fired_gpu": float(g.fired_fraction[i]), "fired_ref": float(r.fired_fraction[i]),
        })
    ok_state = bool(np.all(st_g.vesicles >= 0) and np.all(st_g.vesicles <= pop.capacity)
                    and np.all((st_g.tsc_activity >= 0) & (st_g.tsc_activity <= 1)))
    sums_match = bool(np.allclose(g.sums[0], g.quanta.sum(axis=0), rtol=1e-9)
                      and np.allclose(g.sums[2], np.isfinite(g.latency_ms).sum(axis=0)))
    passed = ok_state and sums_match and all(
        abs(x["mean_quanta_gpu"] - x["mean_quanta_ref"]) <= 0.03 * max(x["mean_quanta_ref"], 1.0) and x["ks_epp_p"] > 1e-3
        and abs(x["fired_gpu"] - x["fired_ref"]) < 0.03 for x in rows)
    return {"condition": label, "passed": passed, "state_in_range": ok_state, "sums_match_records": sums_match, "rows": rows}


def throughput(n_junctions, n_stimuli=100, repeats=5):
    import cupy as cp

    params = default_parameters("mouse")
    pop = make_population(params, n_junctions, seed=1)
    schedule = stimulus_schedule(params, [np.inf] + [20.0] * (n_stimuli - 1))
    dev = gpu.DeviceTrain(pop, pop.rested_state())
    dev.run(schedule, 0, False)
    cp.cuda.Device().synchronize()
    best = np.inf
    for r in range(repeats):
        dev = gpu.DeviceTrain(pop, pop.rested_state())
        cp.cuda.Device().synchronize()
        t0 = time.perf_counter()
        dev.run(schedule, r, False)
        cp.cuda.Device().synchronize()
        best = min(best, time.perf_counter() - t0)
    return {"junctions": n_junctions, "stimuli": n_stimuli, "seconds": best,
            "throughput": n_junctions * n_stimuli / best}


def main(path):
    mouse = default_parameters("mouse")
    report = {"gpu_available": gpu.available()}
    if report["gpu_available"]:
        import cupy as cp

        report["device"] = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
        report["comparisons"] = [compare(apply_perturbations(mouse, c), "+".join(c) or "healthy")
                                 for c in [(), ("low_calcium",), ("ache_inhibition", "achr_loss")]]
        report["comparisons"].append(compare(default_parameters("human"), "human"))
        report["throughput"] = [throughput(n) for n in (1_000_000, 10_000_000)]
        t0 = time.perf_counter()
        run_train(make_population(mouse, 1_000_000, seed=1), make_population(mouse, 1_000_000, seed=1).rested_state(),
                  [np.inf] + [20.0] * 99, 0, backend="cupy", record=False)
        report["end_to_end_seconds_1e6x100"] = time.perf_counter() - t0
    with open(path, "w") as fh:
        json.dump(report, fh, indent=1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
