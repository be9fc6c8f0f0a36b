"""Known-truth benchmark of MUNE from CMAP scans: the inference beside the package's estimators.

Scans are labelled scans (``infer.scans``) with seeds from ``BENCHMARK_FIRST_SEED``, none of
them in the reference table; muscle and stage are drawn per scan. On each, the inference
(``infer.scan.infer_scan``), the scan fit (``muscle.mune.scan_fit`` on the same scan, with the
noise read from the scan as a user would), and MPS and incremental stimulation
(``muscle.mune.mune``, which record the same muscle by their own protocols) are scored against
the true count: median absolute error in % of the truth, and for the inference the share of
scans whose 90 % interval holds the truth.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from endplate.infer.reference import BENCHMARK_FIRST_SEED
from endplate.infer.scan import infer_scan
from endplate.infer.scans import STAGES, labelled_scan
from endplate.infer.summaries import levels, sorted_scan
from endplate.muscle.mune import mune, scan_fit

ESTIMATORS = ("inference", "scanfit", "mps", "incremental")


def score_scan(seed: int, others: bool = True) -> dict:
    """One benchmark scan: the truth and every estimator's count (None where a method gives none)."""
    scan = labelled_scan(seed)
    post = infer_scan(scan.stimulus_ma, scan.cmap_mv, scan.muscle, scan.species)
    row = {
        "seed": seed,
        "muscle": scan.muscle,
        "stage": scan.stage,
        "true_units": scan.true_units,
        "inference": post["units"],
        "inference_low": post["units_low"],
        "inference_high": post["units_high"],
    }
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

    def coverage(subset: list[dict]) -> float:
        return float(np.mean([r["inference_low"] <= r["true_units"] <= r["inference_high"] for r in subset]))

    groups = {"all": rows, **{s: [r for r in rows if r["stage"] == s] for s in STAGES}}
    muscles = sorted({r["muscle"] for r in rows})
    groups.update({m: [r for r in rows if r["muscle"] == m] for m in muscles})
    return {
        name: {
            "scans": len(subset),
            "median_abs_error_percent": {m: error(subset, m) for m in ESTIMATORS if any(m in r for r in subset)},
            "coverage_90": coverage(subset),
        }
        for name, subset in groups.items()
        if subset
    }


def run_benchmark(n: int, others: bool = True, progress: Callable[[int], None] | None = None) -> dict:
    """Score ``n`` benchmark scans; ``others`` adds the package's scan fit, MPS and incremental estimates."""
    rows = []
    for i in range(n):
        rows.append(score_scan(BENCHMARK_FIRST_SEED + i, others))
        if progress is not None:
            progress(i + 1)
    return {"scans": n, "first_seed": BENCHMARK_FIRST_SEED, "summary": summarise(rows), "rows": rows}
