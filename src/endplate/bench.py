"""Benchmarks (`endplate bench`): throughput of the kernels, ratios measured in one run."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np

from endplate.junction.parameters import default_parameters
from endplate.junction.population import make_population
from endplate.kernels import cpu_compiled_available, gpu_available, run_train

TRAIN_FREQUENCY_HZ = 50.0


def _time_train(pop, n_stimuli: int, backend: str, repeats: int = 1) -> tuple[float, float]:
    """Best wall and best process-CPU seconds of ``repeats`` trains (CPU time is the steadier on a
    shared machine: other processes lengthen the wall time, not the work)."""
    intervals = [np.inf] + [1000.0 / TRAIN_FREQUENCY_HZ] * (n_stimuli - 1)
    best, best_cpu = np.inf, np.inf
    for r in range(repeats):
        state = pop.rested_state()
        t0, c0 = time.perf_counter(), time.process_time()
        run_train(pop, state, intervals, seed=r, backend=backend, record=False)
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
    return best, best_cpu


def junction_train(quick: bool = False) -> list[dict]:
    """10^6 junctions x 100 stimuli at 50 Hz, fast kernel(s) against the NumPy reference.

    The reference runs a tenth of the junctions (its cost is linear in them) to keep the
    benchmark short; throughputs are compared per junction-stimulus. ``cpu_seconds`` is the
    process CPU time (all threads) and ``load_average`` the machine's 1-minute load when done.
    """
    n_junctions, n_stimuli = (100_000, 100) if quick else (1_000_000, 100)
    params = default_parameters("mouse")
    pop = make_population(params, n_junctions, seed=1)
    state_bytes = pop.rested_state().nbytes_per_junction
    ref_pop = pop.subset(np.arange(n_junctions // 10))
    ref_seconds, ref_cpu = _time_train(ref_pop, n_stimuli, "numpy")
    ref_throughput = ref_pop.size * n_stimuli / ref_seconds
    results = [
        {
            "name": "junction-train-reference",
            "size": ref_pop.size * n_stimuli,
            "seconds": ref_seconds,
            "throughput": ref_throughput,
            "unit": "junction-stimuli/s",
            "reference_ratio": 1.0,
            "backend": "numpy",
            "cpu_seconds": ref_cpu,
        }
    ]
    backends = (["numba"] if cpu_compiled_available() else []) + (["cupy"] if gpu_available() else [])
    for backend in backends:
        _time_train(pop.subset(np.arange(1000)), 3, backend)  # compile outside the timing
        seconds, cpu_seconds = _time_train(pop, n_stimuli, backend, repeats=3)
        throughput = n_junctions * n_stimuli / seconds
        results.append(
            {
                "name": "junction-train" if backend == "numba" else f"junction-train-{backend}",
                "size": n_junctions * n_stimuli,
                "seconds": seconds,
                "throughput": throughput,
                "unit": "junction-stimuli/s",
                "reference_ratio": throughput / ref_throughput,
                "backend": backend,
                "cpu_seconds": cpu_seconds,
                "state_bytes_per_junction": state_bytes,
                "parameter_bytes_per_junction": pop.nbytes_per_junction,
            }
        )
    for row in results:
        row["load_average"] = os.getloadavg()[0]
    return results


def muscle_cmap_scan(quick: bool = False) -> list[dict]:
    """Build a human biceps-scale muscle and record a 500-stimulus CMAP scan (one timing for both)."""
    from endplate.muscle.anatomy import build_anatomy
    from endplate.muscle.cmap import cmap_scan
    from endplate.muscle.presets import load_muscle

    preset = load_muscle("human", "biceps")
    if quick:
        preset = preset.replace(n_units=100, n_fibres=20000)
    build_anatomy(preset.replace(n_units=10, n_fibres=1000), 0)  # warm imports and caches
    best = np.inf
    for r in range(3):
        t0 = time.perf_counter()
        anatomy = build_anatomy(preset, r)
        cmap_scan(anatomy, 500, r)
        best = min(best, time.perf_counter() - t0)
    return [
        {
            "name": "muscle-cmap-scan",
            "size": anatomy.n_fibres,
            "seconds": best,
            "throughput": 500 / best,
            "unit": "scan stimuli/s (including building the muscle)",
            "reference_ratio": None,
            "units": anatomy.n_units,
            "bytes_per_fibre": anatomy.nbytes_per_fibre,
        }
    ]


def _progression(name: str, scenario, end_day: int | None, repeats: int) -> dict:
    """Daily disease steps of every muscle of ``scenario`` (muscles built beforehand, readouts off).

    The scenario is resolved as every run resolves it (``disease.resolve``: calibrated values,
    ``genotype.*`` changes, first partner, both drives) and stepped by the runs' day loop in one
    kernel call per muscle. ``resolve_seconds`` and ``build_seconds`` (the muscles, with their
    warm-up) are timed apart from the stepping; ``cpu_seconds`` is the process CPU time of the
    stepping (all threads) and ``load_average`` the machine's 1-minute load when done.
    """
    import copy

    from endplate.disease.resolve import resolve
    from endplate.disease.simulate import Untreated, init_muscle, run_days

    t0 = time.perf_counter()
    model = resolve(scenario)
    resolve_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    built = {m: init_muscle(model, m, i) for i, m in enumerate(scenario.muscles)}
    build_seconds = time.perf_counter() - t0
    last = end_day or scenario.end_day
    days = np.arange(scenario.start_day, last + 1)
    best, best_cpu = np.inf, np.inf
    for _ in range(repeats):
        states = copy.deepcopy(built)
        t0, c0 = time.perf_counter(), time.process_time()
        run_days(model, states, days, Untreated(), lambda d: last, lambda stretch: False)
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
    fibres = sum(st.anatomy.n_fibres for st in built.values())
    return {
        "name": name,
        "size": int(fibres * days.size),
        "seconds": best,
        "throughput": fibres * days.size / best,
        "unit": "fibre-days/s",
        "reference_ratio": None,
        "days": int(days.size),
        "fibres": int(fibres),
        "cpu_seconds": best_cpu,  # all threads: the steadier figure on a shared machine
        "load_average": os.getloadavg()[0],
        "resolve_seconds": resolve_seconds,
        "build_seconds": build_seconds,
        "bytes_per_fibre": max(st.nbytes_per_fibre for st in built.values()),
    }


def progression(quick: bool = False) -> list[dict]:
    """One SOD1-G93A mouse to end stage, and one patient's biceps over six years, in daily steps."""
    from endplate.disease.scenario import load_scenario

    mouse = load_scenario("sod1-g93a")
    _progression(
        "warm-up", load_scenario("sod1-g93a", muscles=["soleus"], end_day=25, probe_muscle="soleus", probe_days=[]), None, 1
    )
    out = [_progression("progression-mouse", mouse, 124, 3)]
    human = load_scenario(
        "human-als",
        muscles=["biceps"],
        onset_delay_days={},
        onset_site="",  # the biceps alone, its drive not delayed by spread from the hand
        end_day=2190,
        probe_muscle="biceps",
        muscle_set={"biceps": {"n_units": 100, "n_fibres": 20000}} if quick else None,
    )
    out.append(_progression("progression-human", human, None, 1))
    return out


def trial(quick: bool = False) -> list[dict]:
    """Virtual trial: 1,000 patients x 2 arms, 18 months, 4 muscles each (bundled nmj-stabiliser-human,
    reduced-fidelity muscles), on a local Dask cluster with 2 workers; 1 worker on a fifth of the cohort.
    Then a 10-point prospective power curve of the primary endpoint, 200 trials per point (and the
    bank bootstraps of its error bars), drawn from the 2,000 subjects as a power bank.

    Seconds include starting the cluster and writing every batch into the Zarr store; the analysis
    (mixed models, Cox, joint rank) is timed separately and included in ``total_seconds``.
    """
    import tempfile
    from pathlib import Path

    from endplate.therapy.analysis import analyse
    from endplate.therapy.engine import dask_session, run_trial
    from endplate.therapy.power import BANK_BOOTSTRAPS, bank_of, power_curve
    from endplate.therapy.trial import load_trial

    per_arm = 4 if quick else 1000
    out = []
    with dask_session(None, None, 2) as two:
        for workers, n in ((1, max(per_arm // 5, 2)), (2, per_arm)):
            spec = load_trial("nmj-stabiliser-human", subjects_per_arm=n)
            with tempfile.TemporaryDirectory() as folder:
                stats: dict = {}
                t0 = time.perf_counter()
                client = two if workers == 2 else None
                ds = run_trial(spec, Path(folder) / "bench.zarr", client=client, workers=workers, stats=stats)
                seconds = time.perf_counter() - t0
                assert ds is not None  # None only when stopped after some batches (stop_after)
                t0 = time.perf_counter()
                analyse(ds, spec)
                analysis_seconds = time.perf_counter() - t0
            out.append(
                {
                    "name": f"trial-{workers}-worker{'s' if workers > 1 else ''}",
                    "size": spec.n_subjects,
                    "seconds": seconds,
                    "throughput": spec.n_subjects / seconds,
                    "unit": "subjects/s",
                    "reference_ratio": None,
                    "workers": workers,
                    "muscles": len(spec.muscles),
                    "trial_days": spec.duration_days,
                    "analysis_seconds": analysis_seconds,
                    "total_seconds": seconds + analysis_seconds,
                    "simulated_days_per_subject": float(np.nanmean(ds["start_day"].values) + spec.duration_days),
                    # CPU seconds the workers spent per subject: what the wall time would be per
                    # subject and worker on cores nobody else uses (the machine may be shared).
                    "worker_cpu_seconds_per_subject": stats["cpu_seconds"] / spec.n_subjects,
                }
            )
        sizes = [2, 3] if quick else [int(x) for x in np.linspace(25, 250, 10)]
        trials = 20 if quick else 200
        t0 = time.perf_counter()
        curve = power_curve(bank_of(ds, spec, spec.primary), sizes, trials, spec.alpha, 0, two)
        seconds = time.perf_counter() - t0
    simulated = len(sizes) * trials * (1 + BANK_BOOTSTRAPS)
    out.append(
        {
            "name": "trial-power-curve",
            "size": simulated,
            "seconds": seconds,
            "throughput": simulated / seconds,
            "unit": "trials/s",
            "reference_ratio": None,
            "workers": 2,
            "points": len(sizes),
            "trials_per_point": trials,
            "bank_per_arm": curve["bank_per_arm"],
            "endpoint": spec.primary,
        }
    )
    return out


def fit_simulations(quick: bool = False) -> list[dict]:
    """Simulations per second as a fit runs them (one core): a particle in, every target observed out.

    Parameters at the middle of each prior (in the sampler's space), a new seed each time; the
    first call (compilation, imports) is not timed.
    """
    import numba

    from endplate.calibrate.problem import ProblemModel, load_problem

    threads = numba.get_num_threads()  # a fit's simulation runs on one thread; restored afterwards
    out = []
    for name, n in (("sod1-g93a", 5 if quick else 30), ("human-als", 1 if quick else 4)):
        problem = load_problem(name)
        model = ProblemModel(problem, 0, 0)
        mid = {k: sum(problem.priors[k].bounds) / 2 for k in problem.models[0].parameters}
        model(mid)
        t0 = time.perf_counter()
        for i in range(n):
            model({**mid, problem.models[0].parameters[0]: mid[problem.models[0].parameters[0]] + 1e-6 * (i + 1)})
        seconds = time.perf_counter() - t0
        out.append(
            {
                "name": "fit-simulations" if name == "sod1-g93a" else "fit-simulations-human",
                "size": n,
                "seconds": seconds,
                "throughput": n / seconds,
                "unit": "simulations/s (one core)",
                "reference_ratio": None,
                "problem": name,
                "model": problem.models[0].name,
            }
        )
    numba.set_num_threads(threads)
    return out


def infer_scan(quick: bool = False) -> list[dict]:
    """MUNE inferred from the bundled 500-stimulus APB scan (after a first call loads the reference table)."""
    from importlib import resources

    from endplate.infer.scan import infer_scan as infer
    from endplate.io.scan_file import read_scan

    with resources.as_file(resources.files("endplate.data") / "examples" / "scan_apb.csv") as path:
        scan = read_scan(path)
    infer(scan.stimulus_ma, scan.response_mv, "APB")
    repeats = 3 if quick else 10
    best, cpu = np.inf, np.inf
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        infer(scan.stimulus_ma, scan.response_mv, "APB")
        best, cpu = min(best, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return [
        {
            "name": "infer-scan",
            "size": scan.stimulus_ma.size,
            "seconds": best,
            "throughput": 1 / best,
            "unit": "scans inferred/s",
            "reference_ratio": None,
            "cpu_seconds": cpu,
        }
    ]


WORKLOADS: dict[str, Callable[[bool], list[dict]]] = {
    "junction-train": junction_train,
    "muscle-cmap-scan": muscle_cmap_scan,
    "progression": progression,
    "fit-simulations": fit_simulations,
    "trial": trial,
    "infer-scan": infer_scan,
}


def run_benchmarks(
    quick: bool = False, progress: Callable[[str], None] | None = None, names: list[str] | None = None
) -> list[dict]:
    from endplate.errors import EndplateInputError

    unknown = sorted(set(names or ()) - set(WORKLOADS))
    if unknown:
        raise EndplateInputError(f"unknown workload(s) {', '.join(unknown)}; allowed: {', '.join(WORKLOADS)}")
    results = []
    for name, fn in WORKLOADS.items():
        if names and name not in names:
            continue
        if progress:
            progress(f"running {name} ...")
        results.extend(fn(quick))
    return results
