import json

import pytest

from endplate.calibrate.targets import load_targets
from endplate.calibrate.validate import CHECKS, MUSCLE_CHECKS, validate


def test_every_check_names_a_registered_target_with_a_source():
    registry = load_targets()
    for check in CHECKS + MUSCLE_CHECKS:
        row = registry[check.target_id]
        assert row["source"] and row["evidence"] in {"read", "recalled", "secondary", "assumed"}
        assert check.low < check.high


_RESULTS: dict = {}


def _validate(seed: int) -> list[dict]:
    if seed not in _RESULTS:
        _RESULTS[seed] = validate(seed)
    return _RESULTS[seed]


@pytest.mark.parametrize("seed", [0, 7])
def test_model_passes_every_target_not_marked_as_a_known_gap(seed):
    results = _validate(seed)
    failed = [(r["id"], r["name"], r["predicted"]) for r in results if not r["passed"] and r["open_issue"] is None]
    assert not failed, failed


def test_known_gaps_are_reported_with_their_issue():
    """A check may be marked as a known gap of an open issue (none is at present): it is still run
    and reported with its prediction, and only a check that fails may carry the mark."""
    results = _validate(0)
    gaps = [r for r in results if r["open_issue"] is not None]
    assert all(isinstance(r["predicted"], float) and r["open_issue"] > 0 and not r["passed"] for r in gaps)


def test_validate_cli_reports_json_and_exits_zero(cli):
    result = cli("validate", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["failed"] == 0 and payload["passed"] == len(payload["targets"]) - payload["open"] > 10
    assert {"id", "predicted", "low", "high", "passed"} <= set(payload["targets"][0])
