"""Known-truth benchmark of MUNE from CMAP scans: the inference beside the package's estimators.

Scans are labelled scans (``infer.scans``) with seeds from ``BENCHMARK_FIRST_SEED``, none of
them in the reference table; muscle and stage are drawn per scan. On each, the inference
(``infer.scan.infer_scan``, on the default ``mixed`` prior and on the ``als`` prior), the scan fit (``muscle.mune.scan_fit`` on the same scan, with the
noise read from the scan as a user would), and MPS and incremental stimulation
(``muscle.mune.mune``, which record the same muscle by their own protocols) are scored against
the true count: median absolute error in % of the truth, and for the inference the share of
scans whose 90 % interval holds the truth.

A second stratum, ``course``, scores muscles as the disease model leaves them
(``infer.scans.course_scans``): ``course_runs`` disease runs of each muscle with run seeds from
``BENCHMARK_COURSE_FIRST_SEED`` (none in the reference table), each looked at on
``scans.COURSE_DAYS_PER_RUN`` days of its course, one scan a day.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from endplate.infer.reference import BENCHMARK_FIRST_SEED, TABLE_STAGES
from endplate.infer.scan import AbcSettings, infer_scan
from endplate.infer.scans import SCAN_MUSCLES, LabelledScan, course_scans, labelled_scan
from endplate.infer.summaries import levels, sorted_scan
from endplate.muscle.mune import mune, scan_fit

ESTIMATORS = ("inference", "inference_als", "scanfit", "mps", "incremental")
BENCHMARK_COURSE_FIRST_SEED = 60_000_000
COURSE_RUNS = 4  # disease runs per muscle in the course stratum (8 scans each)


def score_scan(seed: int, others: bool = True) -> dict:
    """One benchmark scan: the truth and every estimator's count (None where a method gives none)."""
    return scored(labelled_scan(seed), seed, others)


def scored(scan: LabelledScan, seed: int, others: bool = True) -> dict:
    """The truth of ``scan`` and every estimator's count; MPS and incremental draw from ``seed``."""
    post = infer_scan(scan.stimulus_ma, scan.cmap_mv, scan.muscle, scan.species)
    row = {
        "seed": scan.seed,
        "muscle": scan.muscle,
        "stage": scan.stage,
        **({"day": scan.day} if scan.day is not None else {}),
        "true_units": scan.true_units,
        "inference": post["units"],
        "inference_low": post["units_low"],
        "inference_high": post["units_high"],
    }
    als = infer_scan(scan.stimulus_ma, scan.cmap_mv, scan.muscle, scan.species, AbcSettings(prior="als"))
    row.update({"inference_als": als["units"], "inference_als_low": als["units_low"], "inference_als_high": als["units_high"]})
    if others:
        noise = levels(*sorted_scan(scan.stimulus_ma, scan.cmap_mv))[2]
        row["scanfit"] = scan_fit(scan.stimulus_ma, scan.cmap_mv, noise)[0] or None
        for method in ("mps", "incremental"):
            row[method] = mune(scan.anatomy, method, seed, scan.cond)["estimate"]  # its own sub-stream of the seed
    return row


def summarise(rows: list[dict]) -> dict:
    """Median absolute % error per estimator (overall and by stage) and the inference's interval coverage."""

    def error(subset: list[dict], method: str) -> float | None:
        e = [abs(r[method] / r["true_units"] - 1) * 100 for r in subset if r.get(method) is not None]
        return float(np.median(e)) if e else None

    def coverage(subset: list[dict], method: str = "inference") -> float:
        return float(np.mean([r[f"{method}_low"] <= r["true_units"] <= r[f"{method}_high"] for r in subset]))

    groups = {"all": rows, **{s: [r for r in rows if r["stage"] == s] for s in TABLE_STAGES}}
    muscles = sorted({r["muscle"] for r in rows})
    groups.update({m: [r for r in rows if r["muscle"] == m] for m in muscles})
    return {
        name: {
            "scans": len(subset),
            "median_abs_error_percent": {m: error(subset, m) for m in ESTIMATORS if any(m in r for r in subset)},
            "coverage_90": coverage(subset),
            **({"coverage_90_als": coverage(subset, "inference_als")} if all("inference_als" in r for r in subset) else {}),
        }
        for name, subset in groups.items()
        if subset
    }


def score_course(run_seed: int, species: str, muscle: str, others: bool = True) -> list[dict]:
    """The benchmark rows of one disease run (one scan on each of its days)."""
    return [scored(scan, scan.seed, others) for scan in course_scans(run_seed, species, muscle, redraws=1)]


def run_benchmark(
    n: int, others: bool = True, progress: Callable[[int], None] | None = None, course_runs: int = COURSE_RUNS
) -> dict:
    """Score ``n`` benchmark scans of the prior and ``course_runs`` disease runs of each muscle.

    ``others`` adds the package's scan fit, MPS and incremental estimates. ``progress`` is called
    with the number of scans and runs done.
    """
    rows = []
    for i in range(n):
        rows.append(score_scan(BENCHMARK_FIRST_SEED + i, others))
        if progress is not None:
            progress(i + 1)
    for k in range(course_runs * len(SCAN_MUSCLES)):
        species, muscle = SCAN_MUSCLES[k % len(SCAN_MUSCLES)]
        rows.extend(score_course(BENCHMARK_COURSE_FIRST_SEED + k, species, muscle, others))
        if progress is not None:
            progress(n + k + 1)
    return {
        "scans": len(rows),
        "first_seed": BENCHMARK_FIRST_SEED,
        "course_runs_per_muscle": course_runs,
        "course_first_seed": BENCHMARK_COURSE_FIRST_SEED,
        "summary": summarise(rows),
        "rows": rows,
    }
