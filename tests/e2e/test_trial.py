"""`endplate trial`: resume after an interruption, the JSON contract, and bad input."""

import json
import time

import pytest
import xarray as xr

from endplate.errors import EndplateInputError
from endplate.therapy.engine import run_trial
from endplate.therapy.trial import load_trial

TINY = """
description = "tiny test trial"
species = "mouse"
genotype = "SOD1-G93A"
hypothesis = "dying_back"
muscles = ["TA", "soleus"]
seed = 5
subjects_per_arm = 2
control = "vehicle"
start = {{ relative_to = "age", day = 70 }}
duration_days = 30
visit_every_days = 10
endpoints = ["cmap", "mune", "force", "composite", "survival"]
primary = "cmap"
power = {{ sizes = [2, 4], replicates = 20 }}
fidelity = {{ fibres_per_unit = 10, max_units = 20 }}
batch_size = 1
{extra}
[arms.vehicle]
interventions = []

[arms.treated]
interventions = {treated}
"""


def _trial_file(tmp_path, treated='["musk_agonist"]', extra=""):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.format(treated=treated, extra=extra))
    return path


def test_interrupted_trial_resumes_to_the_uninterrupted_result(tmp_path):
    trial = load_trial(str(_trial_file(tmp_path)))
    assert run_trial(trial, tmp_path / "cut.zarr", workers=2, processes=False, stop_after=2) is None
    seen = []
    resumed = run_trial(trial, tmp_path / "cut.zarr", workers=2, processes=False, progress=lambda d, t: seen.append(d))
    assert seen[0] == 2  # the two finished batches were kept, not rerun
    whole = run_trial(trial, tmp_path / "whole.zarr", workers=1, processes=False)
    xr.testing.assert_identical(resumed, whole)
    assert resumed["enrolled"].values.all() and resumed.attrs["endplate_result"] == "trial"


def test_trial_json_contract_and_report(cli, tmp_path):
    path = _trial_file(tmp_path)
    result = cli("trial", str(path), "--workers", "1", "--json", "--report", "r.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {"arms", "endpoints", "effect", "ci_low", "ci_high", "p_value", "power"} <= set(payload)
    assert [a["name"] for a in payload["arms"]] == ["vehicle", "treated"]
    power = payload["power"]
    at = power["curve"]["subjects_per_arm"].index(2)  # the trial's own size is a point of the curve
    assert power["power"] == power["curve"]["power"][at] and 0 <= power["power"] <= 1
    assert power["curve"]["bank_per_arm"] >= 4 * 4 and set(power["endpoints"]) == set(payload["endpoints"])
    survival = next(r for r in payload["results"] if r["endpoint"] == "survival")
    assert survival["events"] + survival["censored"] == survival["subjects"]
    page = (tmp_path / "r.html").read_text()
    assert page.count("data:image/png;base64") >= 4
    assert f"{power['power']:.2f} +/- {power['se']:.2f}" in page  # the report states the JSON's one power figure
    assert (tmp_path / "tiny-bank.zarr").is_dir()
    ds = xr.open_dataset(tmp_path / "tiny.nc")
    assert ds.attrs["endplate_result"] == "trial" and "analysis" in ds.attrs


@pytest.mark.parametrize(
    "treated, extra, message",
    [
        ('["aspirin"]', "", "unknown intervention"),
        (
            '[{ name = "riluzole", start_day = 0, duration_days = 20 }, { name = "riluzole", start_day = 10, duration_days = 20 }]',
            "",
            "overlapping",
        ),
        ('[{ name = "riluzole", start_day = -3 }]', "", "arms.treated.interventions[0].start_day must be non-negative"),
        ("[]", "dose_mg = 5", "unknown key"),
    ],
)
def test_bad_trial_files_exit_2_and_write_nothing(cli, tmp_path, treated, extra, message):
    path = _trial_file(tmp_path, treated, extra)
    result = cli("trial", str(path), "--json", cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and result.stdout == ""
    assert not (tmp_path / "tiny.nc").exists() and not (tmp_path / "tiny.zarr").exists()


def test_arm_without_subjects_and_unreachable_scheduler_exit_2(cli, tmp_path):
    path = _trial_file(tmp_path)
    result = cli("trial", str(path), "--subjects-per-arm", "0", cwd=tmp_path)
    assert result.returncode == 2 and "subjects_per_arm" in result.stderr
    t0 = time.perf_counter()
    result = cli("trial", str(path), "--scheduler", "tcp://127.0.0.1:9", cwd=tmp_path)
    assert result.returncode == 2 and "scheduler" in result.stderr and time.perf_counter() - t0 < 60
    assert not (tmp_path / "tiny.nc").exists() and not (tmp_path / "tiny.zarr").exists()


def test_unknown_bench_workload_exits_2(cli):
    result = cli("bench", "--workload", "nope")
    assert result.returncode == 2 and "trial" in result.stderr


def test_fresh_deletes_only_a_trial_store(cli, tmp_path):
    """The reproducer of issue 19: --fresh on a folder a user made must refuse and keep its files."""
    mine = tmp_path / "mine.zarr"
    mine.mkdir()
    (mine / "notes.txt").write_text("data")
    result = cli("trial", "nmj-stabiliser-human", "--subjects-per-arm", "2", "--store", str(mine), "--fresh", cwd=tmp_path)
    # refused by the output check (a .zarr folder that is not a Zarr store) before the trial's own check
    assert result.returncode == 2 and str(mine) in result.stderr and "not a Zarr store" in result.stderr
    assert "Traceback" not in result.stderr and (mine / "notes.txt").read_text() == "data"


def test_fresh_restarts_a_trial_store_but_keeps_a_file_put_into_it(tmp_path):
    trial = load_trial(str(_trial_file(tmp_path)))
    store = tmp_path / "t.zarr"
    store.mkdir()  # an empty folder holds nothing to lose: the store is made in it
    assert run_trial(trial, store, workers=1, processes=False, stop_after=1) is None
    seen = []
    run_trial(trial, store, workers=1, processes=False, fresh=True, progress=lambda d, t: seen.append(d))
    assert seen[0] == 0  # started over: no batch kept
    (store / "notes.txt").write_text("mine")
    with pytest.raises(EndplateInputError, match="notes.txt"):
        run_trial(trial, store, workers=1, processes=False, fresh=True)
    assert (store / "notes.txt").exists()


def test_trial_cluster_listens_on_loopback_only(tmp_path, listening):
    """Issue 19: the trial's dashboard listened on every interface while the trial ran."""
    trial = load_trial(str(_trial_file(tmp_path)))
    before, during = listening(), set()
    run_trial(
        trial,
        tmp_path / "t.zarr",
        workers=1,
        processes=False,
        stop_after=1,
        progress=lambda done, total: during.update(listening() - before),
    )
    assert during and {ip for ip, _ in during} == {"127.0.0.1"}, during


def test_a_resumed_run_says_so_and_a_settings_mismatch_shows_no_empty_progress(cli, tmp_path):
    path = _trial_file(tmp_path)
    trial = load_trial(str(path))
    assert run_trial(trial, tmp_path / "tiny.zarr", workers=1, processes=False, stop_after=1) is None
    resumed = cli("trial", str(path), "--workers", "1", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming tiny.zarr: 1 of 4 batches already done" in " ".join(resumed.stderr.split())
    assert "power (cmap, prospective" in resumed.stdout
    other = cli("trial", str(path), "--workers", "1", "--seed", "6", cwd=tmp_path)
    assert other.returncode == 2 and "other settings" in other.stderr
    assert "batch" not in other.stderr and "Traceback" not in other.stderr


def test_target_power_outside_0_1_exits_2_before_any_work(cli, tmp_path):
    result = cli("trial", str(_trial_file(tmp_path)), "--target-power", "1.5", cwd=tmp_path)
    assert result.returncode == 2 and "--target-power must lie strictly between 0 and 1" in result.stderr
    assert not (tmp_path / "tiny.zarr").exists() and not (tmp_path / "tiny-bank.zarr").exists()
