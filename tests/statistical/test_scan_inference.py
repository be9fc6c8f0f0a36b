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


def test_bundled_reference_table_is_what_the_scan_model_draws():
    # The shipped table must come from this code: its first scans are redrawn and compared.
    from endplate.infer.reference import REFERENCE_FIRST_SEED, bundled_reference, quantities
    from endplate.infer.scans import SCAN_MUSCLES
    from endplate.infer.summaries import summaries

    table = bundled_reference()
    for row in range(len(SCAN_MUSCLES)):
        species, muscle = SCAN_MUSCLES[row]
        scan = labelled_scan(REFERENCE_FIRST_SEED + row, species, muscle)
        assert table["muscle"][row] == row
        assert np.allclose(table["truth"][row], quantities(scan), rtol=1e-5)
        # the table's summaries were taken from the scan stored as float32
        assert np.allclose(table["features"][row], summaries(scan.stimulus_ma, scan.cmap_mv), rtol=1e-3, atol=1e-3)
