"""`endplate infer cohort`: the table's checks, the observation model of every measure, and the fit's problem."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from endplate.calibrate.cohort_table import MEASURES, parse_cohort_table, row_target
from endplate.calibrate.observation import KINDS
from endplate.cli import app
from endplate.infer.cohort import cohort_problem, next_targets
from endplate.muscle.presets import muscles

MOUSE = tuple(muscles("mouse"))
HEADER = "strain,sex,age_days,muscle,measure,value,sd,n\n"
EXAMPLE = Path(__file__).resolve().parents[2] / "src" / "endplate" / "data" / "examples" / "cohort_table.csv"


def _rows(text: str):
    return parse_cohort_table(HEADER + text, "cohort table 't.csv'", MOUSE)


def test_every_measure_maps_to_an_observation_model():
    for kind, _, _, _ in MEASURES.values():
        assert kind in KINDS


def test_readers_read_the_run_at_the_rows_age():
    # a run of two muscles whose innervation falls by 1 % a day from day 20 and CMAP read every 10 days
    days = np.arange(20, 151)
    # a stand-in for a Run with the fields the readers use
    course = dict(
        innervated_percent=100.0 - (days - 20),
        motor_neurons_percent=np.full(days.size, 80.0),
        force_percent=np.full(days.size, 50.0),
        cmap_percent=100.0 - (days[::10] - 20),
        mune=np.full(days[::10].size, 40.0),
    )
    muscles = {m: SimpleNamespace(**course) for m in ("TA", "MG")}
    run = SimpleNamespace(day=days, readout_day=days[::10], mune_day=days[::10], muscles=muscles)
    row = _rows("B6SJL,mixed,60,TA,innervated_endplates_percent,50,5,6\nB6SJL,mixed,90,MG,cmap_percent,40,5,6\n")
    assert row_target(row[0], "a").observation.true_value(run) == pytest.approx(60.0)
    assert row_target(row[1], "b").observation.true_value(run) == pytest.approx(30.0)


def test_problem_reads_cmap_every_10_days_only_when_the_table_has_cmap():
    plain = cohort_problem(_rows("B6SJL,mixed,60,TA,innervated_endplates_percent,50,5,6\n"))
    with_cmap = cohort_problem(_rows("B6SJL,mixed,60,TA,cmap_percent,50,5,6\n"))
    assert plain.scenario_changes["readout_every_days"] > 100
    assert with_cmap.scenario_changes["readout_every_days"] == 10
    assert {"dying_back", "dying_forward", "independent"} <= {m.name for m in plain.models}


def test_c57_table_uses_the_c57_scenario_and_adds_its_muscles():
    p = cohort_problem(_rows("C57BL6,female,100,diaphragm,force_percent,60,10,5\n"))
    assert p.scenario == "sod1-g93a-c57bl6"
    assert "diaphragm" in p.scenario_changes["muscles"]


def test_next_measurements_extend_the_table():
    rows = _rows("B6SJL,mixed,90,TA,innervated_endplates_percent,50,5,6\nB6SJL,mixed,,,onset_age_days,95,5,6\n")
    nxt = {(t.quantity, t.muscles, t.age_days) for t in next_targets(rows)}
    assert ("innervated_endplates_percent", ("TA",), 104.0) in nxt
    assert ("motor_neurons_percent", ("TA",), 90.0) in nxt
    assert any(q == "survival_age_days" for q, _, _ in nxt)
    assert not any(q == "onset_age_days" for q, _, _ in nxt)
    assert math.isnan(rows[1].age_days)


BAD = [
    ("", "empty"),
    ("strain,sex,age,muscle,measure,value,sd,n\n", "unknown column 'age'"),
    ("strain,sex,age_days,muscle,measure,value,sd\n", "missing column 'n'"),
    (HEADER + "FVB,mixed,60,TA,force_percent,50,5,6\n", "column strain: 'FVB'; allowed: B6SJL, C57BL6"),
    (HEADER + "B6SJL,mixed,60,TA,grip_strength,50,5,6\n", "grip strength is not modelled"),
    (HEADER + "B6SJL,mixed,60,TA,weight,50,5,6\n", "unknown measure 'weight'; allowed: innervated_endplates_percent"),
    (
        HEADER + "B6SJL,mixed,60,APB,force_percent,50,5,6\n",
        "row 2, column muscle: unknown muscle 'APB' for force_percent; allowed: TA",
    ),
    (HEADER + "B6SJL,mixed,sixty,TA,force_percent,50,5,6\n", "row 2, column age_days: 'sixty' is not a number"),
    (HEADER + "B6SJL,mixed,60,TA,force_percent,50,0,6\n", "column sd: must be positive"),
    (HEADER + "B6SJL,mixed,60,TA,force_percent,50,5,2.5\n", "column n: a whole number"),
    (HEADER + "B6SJL,mixed,60,TA,innervated_endplates_percent,120,5,6\n", "must lie in 0-100"),
    (HEADER + "B6SJL,mixed,60,TA,force_percent,50,5,6\nC57BL6,mixed,60,TA,force_percent,50,5,6\n", "fit one strain at a time"),
    (HEADER + "B6SJL,mixed,60,TA,force_percent,50,5,6\nB6SJL,mixed,60,TA,force_percent,52,5,6\n", "row 3: the same measure"),
    (HEADER + "B6SJL,mixed,60,TA,onset_age_days,90,5,6\n", "leave muscle empty"),
]


@pytest.mark.parametrize("text, message", BAD, ids=[m[:30] for _, m in BAD])
def test_bad_cohort_table_exits_2_naming_the_problem(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "t.csv"
    path.write_text(text)
    result = CliRunner().invoke(app, ["infer", "cohort", str(path), "--quick"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert message in " ".join(result.output.split()), result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_bundled_cohort_example_parses():
    rows = parse_cohort_table(EXAMPLE.read_text(), "example", MOUSE)
    assert {r.measure for r in rows} >= {"innervated_endplates_percent", "onset_age_days", "survival_age_days"}
