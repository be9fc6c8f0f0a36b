"""`endplate fit` and `endplate compare` as a user runs them: bad input exits 2, compare's JSON."""

import json


def test_fit_unknown_problem_exits_2_listing_the_allowed_ones(cli):
    result = cli("fit", "sod2-g93a")
    assert result.returncode == 2 and "sod1-g93a" in result.stderr and "human-als" in result.stderr


def test_fit_unreachable_scheduler_exits_2_quickly(cli, tmp_path):
    result = cli("fit", "sod1-g93a", "--quick", "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "f.nc"))
    assert result.returncode == 2 and "scheduler" in result.stderr
    assert not (tmp_path / "f.nc").exists() and not (tmp_path / "f.abc").exists()


def test_fit_target_file_with_missing_columns_exits_2(cli, tmp_path):
    bad = tmp_path / "targets.csv"
    bad.write_text("id,problem,value\nD08,sod1-g93a,99.9\n")
    result = cli("fit", "sod1-g93a", "--targets", str(bad))
    assert result.returncode == 2 and "lacks column" in result.stderr and "spread" in result.stderr


def test_compare_of_a_missing_result_exits_2(cli, tmp_path):
    result = cli("compare", str(tmp_path / "nothing.nc"))
    assert result.returncode == 2 and "no fit result" in result.stderr


def test_compare_without_a_result_reads_the_shipped_calibrations(cli):
    result = cli("compare", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert abs(sum(h["probability"] for h in payload["hypotheses"]) - 1) < 1e-6
    assert {h["name"] for h in payload["hypotheses"]} >= {"dying_back", "dying_forward", "independent"}
    for t in payload["targets"]:
        assert {"id", "observed", "predicted_median", "predicted_low", "predicted_high"} <= set(t)


def test_compare_preset_out_without_a_result_exits_2(cli, tmp_path):
    result = cli("compare", "--preset-out", str(tmp_path / "p.toml"))
    assert result.returncode == 2 and "needs at least one RESULT" in result.stderr
    assert not (tmp_path / "p.toml").exists()
