"""The benchmark's disease-course stratum: scans of the model's own muscles, scored by stage ``course``."""

from endplate.infer.benchmark import score_course, summarise
from endplate.infer.scans import COURSE_DAYS_PER_RUN


def test_course_stratum_scores_one_scan_a_day_of_a_disease_run():
    rows = score_course(60_000_003, "mouse", "TA", others=False)
    assert 0 < len(rows) <= COURSE_DAYS_PER_RUN
    assert all(r["stage"] == "course" and r["muscle"] == "TA" for r in rows)
    days = [r["day"] for r in rows]
    assert days == sorted(days) and len(set(days)) == len(days)
    # the disease takes units away: fewer on the last day looked at than on the first
    assert rows[-1]["true_units"] < rows[0]["true_units"]
    summary = summarise(rows)
    assert summary["course"]["scans"] == len(rows) and "healthy" not in summary
