"""The course of the disease unit by unit (issue 13): seeding, steady start, units lost one by one."""

import numpy as np
import pytest

from endplate.disease.scenario import load_scenario
from endplate.disease.simulate import READOUTS, simulate
from endplate.seeding import day_seed, substreams

SMALL = dict(muscles=["EDL"], onset_muscles=["EDL"], end_stage_muscles=["EDL"], probe_days=[], probe_muscle="EDL",
             readout_every_days=5, mune_every_days=10)


def _readouts(result, muscle="EDL") -> bytes:
    v = result["muscles"][muscle]
    return v["cmap_percent"].tobytes() + v["mune"].tobytes()


def test_readouts_draw_from_the_scenario_seed_one_stream_per_muscle_and_readout():
    wt = dict(SMALL, end_day=60)
    a, b = (simulate(load_scenario("wild-type", seed=s, **wt)) for s in (3, 3))
    c = simulate(load_scenario("wild-type", seed=4, **wt))
    assert _readouts(a) == _readouts(b)
    # Another seed: another muscle, so other numbers; the noise itself must differ too, which the
    # day-numbered seeds of before did not (same draws in every run on the same day).
    assert not np.array_equal(a["muscles"]["EDL"]["cmap_percent"], c["muscles"]["EDL"]["cmap_percent"])
    streams = [substreams(s, "EDL", "TA") for s in (3, 4)]
    drawn = {day_seed(substreams(st[m], "anatomy", "levels", "kernel", *READOUTS)[r], d)
             for st in streams for m in st for r in READOUTS for d in (20, 27)}
    assert len(drawn) == 2 * 2 * len(READOUTS) * 2  # no two (seed, muscle, readout, day) share a readout seed


def test_the_first_readout_is_the_baseline_recording():
    r = simulate(load_scenario("wild-type", seed=2, **dict(SMALL, end_day=40)))
    assert r["muscles"]["EDL"]["cmap_percent"][0] == 100.0


def test_a_wild_type_muscle_is_at_steady_state_from_day_one():
    v = simulate(load_scenario("wild-type", seed=5, **dict(SMALL, end_day=80)))["muscles"]["EDL"]
    assert np.all(v["force_percent"] == 100.0) and np.all(v["innervated_percent"] == 100.0)
    assert np.all(np.abs(v["cmap_percent"] - 100.0) < 1.0)  # recording noise only (0.2-0.3 % seen)


def test_the_first_day_of_a_disease_run_is_wild_type_before_the_drive_acts():
    from endplate.disease.model import genotype

    start = int(genotype("SOD1-G93A").values["drive_start_day"])
    kw = dict(SMALL, start_day=start, end_day=start + 30, seed=6)
    sod1 = simulate(load_scenario("sod1-g93a", **kw))["muscles"]["EDL"]
    wt = simulate(load_scenario("wild-type", **kw))["muscles"]["EDL"]
    assert sod1["cmap_percent"][0] == wt["cmap_percent"][0] and sod1["mune"][0] == wt["mune"][0]
    assert sod1["force_percent"][0] == 100.0 and sod1["impaired_percent"][0] == 0.0
    # The drive then acts gradually: no backlog of pre-start drive hits the first days at once.
    imp = sod1["impaired_percent"]
    assert imp[1] < 3.0 and imp[1] <= imp[5] <= imp[10], imp[:11]


def test_a_human_muscle_starts_healthy_and_does_not_dip_in_its_first_weeks():
    # Before, the drive of the preclinical years acted on day one: every FF NMJ impaired at once
    # and force at 77-88 % by day 10 in every muscle, recovering after.
    r = simulate(load_scenario("human-als", muscles=["APB"], onset_muscles=["APB"], end_stage_muscles=["APB"],
                               onset_delay_days={"APB": 0}, end_day=30, probe_days=[], probe_muscle="APB"))
    f = r["muscles"]["APB"]["force_percent"]
    assert f[0] == 100.0 and f[1] > 99.5 and f[10] > 97.0, f[:11]
