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
