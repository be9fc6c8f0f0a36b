import json

import pytest

from endplate.calibrate.targets import load_targets
from endplate.calibrate.validate import (
    CHECKS,
    DISEASE_CHECKS,
    MUSCLE_CHECKS,
    POST_EXERCISE_CHECKS,
    READOUT_CHECKS,
    summarise,
    validate,
)


def test_every_check_names_a_registered_target_with_a_source():
    registry = load_targets()
    for check in CHECKS + MUSCLE_CHECKS + POST_EXERCISE_CHECKS + READOUT_CHECKS:
        row = registry[check.target_id]
        assert row["source"] and row["evidence"] in {"read", "recalled", "secondary", "assumed"}
        assert check.low < check.high


_RESULTS: dict = {}


def _validate(seed: int) -> list[dict]:
    if seed not in _RESULTS:
        _RESULTS[seed] = validate(seed)
    return _RESULTS[seed]


@pytest.mark.parametrize("seed", [0, 7])
def test_model_passes_every_fit_target_not_marked_as_a_known_gap(seed):
    results = _validate(seed)
    failed = [
        (r["id"], r["name"], r["predicted"])
        for r in results
        if not r["passed"] and r["open_issue"] is None and r["role"] == "fit"
    ]
    assert not failed, failed


def test_known_gaps_are_reported_with_their_issue():
    """A check may be marked as a known gap of an open issue: it is still run and reported with its
    prediction, and only a check that fails at one of the validated seeds (0 and 7) may carry the
    mark (a seed-dependent gap such as R12 passes at one seed and fails at the other)."""
    by_seed = [_validate(seed) for seed in (0, 7)]
    gaps = [(a, b) for a, b in zip(*by_seed) if a["open_issue"] is not None]
    assert gaps
    for a, b in gaps:
        assert isinstance(a["predicted"], float) and a["open_issue"] > 0, a["id"]
        assert not (a["passed"] and b["passed"]), a["id"]


def test_validate_cli_reports_json_and_exits_zero(cli):
    result = cli("validate", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["failed"] == 0 and payload["passed"] > 10
    # every check is counted once: fit rows (passed, failed, open) and test rows (reported apart)
    assert payload["passed"] + payload["open"] + payload["test_passed"] + payload["test_failed"] == len(payload["targets"])
    assert {"id", "predicted", "low", "high", "passed"} <= set(payload["targets"][0])


def test_every_target_has_a_role_and_a_source_is_on_one_side_only():
    registry = load_targets()
    assert {row["role"] for row in registry.values()} == {"fit", "test"}
    checked = {c.target_id for c in CHECKS + MUSCLE_CHECKS + POST_EXERCISE_CHECKS + DISEASE_CHECKS + READOUT_CHECKS}
    electro = [row for row in registry.values() if row["layer"] == "electrodiagnosis"]
    assert sum(row["role"] == "test" for row in electro) >= len(electro) / 3
    by_source: dict[str, set] = {}
    for row in registry.values():
        by_source.setdefault(row["source"], set()).add(row["role"])
    assert all(len(roles) == 1 for roles in by_source.values()), [s for s, r in by_source.items() if len(r) > 1]
    assert all(registry[i]["role"] in ("fit", "test") for i in checked)


def test_failing_test_rows_are_reported_but_do_not_fail_the_fit_count():
    rows = [
        {"role": "fit", "passed": True, "open_issue": None},
        {"role": "test", "passed": False, "open_issue": None},
        {"role": "test", "passed": True, "open_issue": None},
        {"role": "fit", "passed": False, "open_issue": 12},
    ]
    assert summarise(rows) == {"passed": 1, "failed": 0, "open": 1, "test_passed": 1, "test_failed": 1}


_LONG = "virtual EMG study (20 patients at entry standing for diagnosis): patients with a 3 Hz decrement >= 10 % in trapezius or ADM (%)"


@pytest.mark.parametrize("width, terminal", [(80, True), (150, True), (80, False)])
def test_validate_summary_keeps_every_verdict_and_the_whole_text_of_each_check(monkeypatch, width, terminal):
    """The table once squeezed each check into a column a word wide and cut the verdict of open
    rows ('FAIL (open, ...') at 80 columns, and a file or pipe got those 80 columns too."""
    from rich.console import Console
    from typer.testing import CliRunner

    import endplate.calibrate.validate as module
    import endplate.cli.checks as checks
    from endplate.cli import app

    rows = [
        {
            "id": "R12",
            "role": "fit",
            "name": "SOD1 TA incremental vs multipoint MUNE",
            "predicted": 1.41,
            "low": 0.6,
            "high": 1.0,
            "evidence": "read",
            "passed": False,
            "open_issue": 12,
        },
        {
            "id": "L22",
            "role": "test",
            "name": _LONG,
            "predicted": None,
            "low": 25,
            "high": 60,
            "evidence": "read",
            "passed": False,
            "open_issue": None,
        },
    ]
    monkeypatch.setattr(module, "validate", lambda seed, extra=(): rows)
    monkeypatch.setattr(checks, "out", Console(force_terminal=terminal, width=width, color_system=None))
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    text = " ".join(line.strip(" │") for line in result.output.splitlines())
    assert "…" not in result.output
    assert "FAIL (gap #12)" in result.output and "undefined" in result.output
    assert " ".join(_LONG.split()) in " ".join(text.replace("│", " ").split())
