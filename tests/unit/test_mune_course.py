"""MUNE through the disease: each method against the true count as units are lost."""

import numpy as np

from endplate.disease.diseased_muscle import muscle_on_day, muscles_on_days, one_muscle_scenario
from endplate.disease.mune_course import mune_recordings, mune_table
from endplate.muscle.mune import METHODS

SMALL_TA = {"TA": {"n_units": 60, "n_fibres": 2000}}


def test_the_muscle_on_a_day_is_the_course_up_to_that_day_with_its_junctions():
    """Snapshots taken on several days of one run equal a run stopped on the day; units are
    lost between the two days."""
    sc = one_muscle_scenario("SOD1-G93A", "dying_back", "TA", 4, muscle_set=SMALL_TA)
    both = muscles_on_days(sc, "TA", [60, 100])
    late = muscle_on_day(sc, "TA", 100)
    assert np.array_equal(both[100].owner, late.owner) and both[100].functioning_units() == late.functioning_units()
    assert both[100].functioning_units() < both[60].functioning_units() <= 60


def test_mune_table_scores_every_method_against_the_true_count_through_a_sod1_course():
    """Every method at every stage, bias and spread from subjects; the true count falls from
    P40 to P120 and the scan fit and multipoint estimates fall with it."""
    rows = mune_recordings("SOD1-G93A", "dying_back", "TA", (40, 120), subjects=2, seed=1, muscle_set=SMALL_TA)
    table = mune_table(rows)
    assert {(e["day"], e["method"]) for e in table} == {(d, m) for d in (40, 120) for m in METHODS}
    early = {e["method"]: e for e in table if e["day"] == 40}
    late = {e["method"]: e for e in table if e["day"] == 120}
    assert late["mps"]["true_units_mean"] < 0.8 * early["mps"]["true_units_mean"]
    for m in ("scanfit", "mps"):
        assert late[m]["estimate_mean"] < early[m]["estimate_mean"], m
    for e in table:
        assert e["bias_percent"] is None or np.isfinite(e["bias_percent"]) and e["spread_percent"] >= 0
