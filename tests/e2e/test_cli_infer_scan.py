"""`endplate infer scan` and `endplate scans` as a user runs them, on the bundled example and on bad input."""

import json
from importlib import resources

import pytest

EXAMPLES = resources.files("endplate.data") / "examples"


def _json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_infer_scan_on_the_bundled_example_writes_json_plot_and_report(cli, tmp_path):
    truth = json.loads((EXAMPLES / "scan_apb.truth.json").read_text())
    plot, report = tmp_path / "scan.png", tmp_path / "scan.html"
    payload = _json(
        cli(
            "infer",
            "scan",
            str(EXAMPLES / "scan_apb.csv"),
            "--muscle",
            "APB",
            "--json",
            "--plot",
            str(plot),
            "--report",
            str(report),
        )
    )
    assert payload["muscle"] == "APB" and payload["interval"] == 0.9
    assert payload["units_low"] <= payload["units"] <= payload["units_high"]
    # The example is one healthy APB scan: its count within 25 % of the truth (the benchmark scores many).
    assert abs(payload["units"] / truth["true_units"] - 1) < 0.25, (payload["units"], truth["true_units"])
    sizes = payload["unit_size_uv"]
    assert 0 < sizes["amplitude_p10"] <= sizes["amplitude_p50"] <= sizes["amplitude_p90"] <= sizes["largest_amplitude"]
    assert payload["threshold_ma"]["p5"] < payload["threshold_ma"]["p50"] < payload["threshold_ma"]["p95"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "motor units" in report.read_text() and "data:image/png;base64" in report.read_text()


@pytest.mark.parametrize(
    "content, words",
    [
        ("", "empty"),
        ("stimulus_mA,force_N\n1,2\n", "unknown column 'force_N'"),
        ("stimulus_mA,cmap_mV\n" + "1,x\n" * 60, "row 1 (line 2), column 'cmap_mV': 'x' is not a number"),
    ],
)
def test_bad_scan_files_exit_2_and_write_nothing(cli, tmp_path, content, words):
    scan = tmp_path / "scan.csv"
    scan.write_text(content)
    result = cli("infer", "scan", str(scan), "--plot", str(tmp_path / "p.png"), "--report", str(tmp_path / "r.html"))
    assert result.returncode == 2 and words in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan.csv"]


def test_unknown_muscle_is_refused_with_the_allowed_ones(cli):
    result = cli("infer", "scan", str(EXAMPLES / "scan_apb.csv"), "--muscle", "biceps")
    assert result.returncode == 2 and "allowed: APB (human), ADM (human), FDI (human), TA (mouse)" in " ".join(
        result.stderr.split()
    )


def test_scans_writes_seeded_labelled_scans_that_infer_reads(cli, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    index = _json(cli("scans", "--n", "2", "--out", str(a), "--seed", "5", "--muscle", "ADM", "--json"))["scans"]
    _json(cli("scans", "--n", "2", "--out", str(b), "--seed", "5", "--muscle", "ADM", "--json"))
    assert [r["muscle"] for r in index] == ["ADM", "ADM"]
    for row in index:
        assert (a / row["csv"]).read_bytes() == (b / row["csv"]).read_bytes()
        truth = json.loads((a / row["truth"]).read_text())
        assert truth["true_units"] == row["true_units"] == len(truth["unit_amplitude_mv"])
    payload = _json(cli("infer", "scan", str(a / index[0]["csv"]), "--muscle", "ADM", "--json"))
    assert payload["units_low"] <= payload["units_high"]


def test_benchmark_scores_scans_of_known_truth(cli):
    payload = _json(cli("infer", "scan", "--benchmark", "--n", "3", "--course-runs", "0", "--json"))
    assert payload["scans"] == 3 and len(payload["rows"]) == 3
    overall = payload["summary"]["all"]
    assert set(overall["median_abs_error_percent"]) == {"inference", "inference_als", "scanfit", "mps", "incremental"}
    assert 0 <= overall["coverage_90_als"] <= 1
    assert 0 <= overall["coverage_90"] <= 1
    assert all(r["inference_low"] <= r["inference"] <= r["inference_high"] for r in payload["rows"])


def test_scans_of_the_disease_course_carry_their_day(cli, tmp_path):
    index = _json(cli("scans", "--n", "1", "--out", str(tmp_path), "--muscle", "TA", "--stage", "course", "--json"))["scans"]
    truth = json.loads((tmp_path / index[0]["truth"]).read_text())
    assert index[0]["stage"] == truth["stage"] == "course"
    assert 20 <= truth["day"] <= 125 and truth["true_units"] == len(truth["unit_amplitude_mv"]) > 0


def test_scans_refuse_an_unknown_stage_naming_the_allowed_ones(cli, tmp_path):
    result = cli("scans", "--n", "1", "--out", str(tmp_path / "x"), "--stage", "early")
    message = " ".join(result.stderr.split())
    assert result.returncode == 2 and "Traceback" not in message
    assert "allowed: healthy, reinnervated, late, course" in message
    assert not (tmp_path / "x").exists()


def test_the_prior_is_named_and_an_unknown_one_refused(cli, tmp_path):
    scan = str(EXAMPLES / "scan_apb.csv")
    als = _json(cli("infer", "scan", scan, "--muscle", "APB", "--prior", "als", "--json"))
    assert als["prior"] == "als" and als["units_low"] <= als["units"] <= als["units_high"]
    assert als["reference_scans"] < _json(cli("infer", "scan", scan, "--muscle", "APB", "--json"))["reference_scans"]
    result = cli("infer", "scan", scan, "--muscle", "APB", "--prior", "sod1", "--report", str(tmp_path / "r.html"))
    assert result.returncode == 2 and "allowed: mixed, als, generic" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr and not (tmp_path / "r.html").exists()
