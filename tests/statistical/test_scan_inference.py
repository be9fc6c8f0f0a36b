"""MUNE from a CMAP scan: calibrated posteriors (simulation-based calibration) and recovery of the true count."""

import numpy as np

from endplate.infer.calibration import sbc_ranks
from endplate.infer.scan import infer_scan
from endplate.infer.scans import course_scans, labelled_scan


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


def test_inference_counts_the_disease_models_own_muscles():
    # Muscles as the disease course leaves them (remnant units of a few fibres beside enlarged
    # ones), from runs not in the table, once a third of the units are gone: before the table held
    # such runs, a human APB at days 1200-1800 was read at about half its count with 90 %
    # intervals that excluded the truth (these scans: median error 0.28, 2 of 4 inside).
    from endplate.muscle.presets import load_muscle

    start = load_muscle("human", "APB").n_units
    errors, inside = [], []
    for run_seed in (70_000_000, 70_000_004, 70_000_008):
        for scan in course_scans(run_seed, "human", "APB", redraws=1):
            if scan.true_units < 2 / 3 * start:
                post = infer_scan(scan.stimulus_ma, scan.cmap_mv, scan.muscle, scan.species)
                errors.append(abs(post["units"] / scan.true_units - 1))
                inside.append(post["units_low"] <= scan.true_units <= post["units_high"])
    assert len(errors) >= 6, "too few late scans to judge"
    assert np.median(errors) < 0.2, np.round(errors, 2)
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
    # and its disease-course part: the first mouse run (run k = 3) redrawn
    from endplate.infer.reference import COURSE_FIRST_SEED, TABLE_STAGES

    rows = np.flatnonzero(table["group"] == table["group"][table["stage"] == TABLE_STAGES.index("course")].min() + 3)
    scans = course_scans(COURSE_FIRST_SEED + 3, "mouse", "TA")
    assert rows.size == len(scans) > 0 and np.all(table["muscle"][rows] == 3)
    for row, scan in zip(rows, scans):
        assert np.allclose(table["truth"][row], quantities(scan), rtol=1e-5)
        assert np.allclose(table["features"][row], summaries(scan.stimulus_ma, scan.cmap_mv), rtol=1e-3, atol=1e-3)
