"""MUNE from a CMAP scan: calibrated posteriors (simulation-based calibration) and recovery of the true count."""

import numpy as np

from endplate.infer.calibration import sbc_ranks
from endplate.infer.scan import infer_scan
from endplate.infer.scans import labelled_scan


def test_scan_posteriors_are_calibrated_by_simulation_based_calibration():
    # 4 muscles x 60 held-out reference scans = 240 >= 200 ranks; each inferred from the other scans.
    sbc = sbc_ranks(60, seed=1)
    assert sbc["scans"] == 240
    assert sbc["chi2_p"] > 0.001, f"ranks not uniform: {sbc['bin_counts']}"
    assert 0.85 <= sbc["coverage"] <= 0.95, sbc["coverage"]


def test_inference_recovers_the_true_count_of_fresh_scans():
    # Seeds far from the reference table's and the benchmark's: scans the engine has never seen.
    errors, inside = [], []
    for seed in range(40_000_000, 40_000_012):
        scan = labelled_scan(seed)
        post = infer_scan(scan.stimulus_ma, scan.cmap_mv, scan.muscle, scan.species)
        errors.append(abs(post["units"] / scan.true_units - 1))
        inside.append(post["units_low"] <= scan.true_units <= post["units_high"])
    assert np.median(errors) < 0.2, errors
    assert np.mean(inside) >= 0.6, inside
