"""Every example of issue 18 exits 2 with a message naming the problem, and leaves nothing behind.

In-process through typer's CliRunner (the subprocess cases are in test_interrupt.py and
test_atomic_writes.py).
"""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from endplate.cli import app

SCENARIO = """species = "mouse"
genotype = "SOD1-G93A"
hypothesis = "dying_back"
muscles = ["TA"]
start_day = 60
end_day = 62
"""
TRIAL = """species = "mouse"
genotype = "SOD1-G93A"
hypothesis = "dying_back"
muscles = ["TA"]
subjects_per_arm = 2
duration_days = 14
visit_every_days = 7
endpoints = ["cmap"]
primary = "cmap"
[start]
relative_to = "age"
day = 60
[arms.vehicle]
interventions = []
[arms.treated]
interventions = ["riluzole"]
"""
INTERVENTIONS = """[mine]
description = "d"
source = "assumed"
evidence = "assumed"
effects = { "hazard.terminal" = 0.5 }
"""


def _invoke(args, cwd: Path):
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=True)
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert sorted(p.name for p in cwd.iterdir() if p.name != "in") == [], "a refused command left output"
    return result.output


@pytest.fixture
def place(tmp_path, monkeypatch):
    (tmp_path / "in").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


SCENARIO_CASES = [
    ("[muscle_set.TA]\naxon_length_mm = nan\n", "muscle_set.TA.axon_length_mm must be a finite number"),
    ("[muscle_set.TA]\naxon_length_mm = 0\n", "axon_length_mm must be positive"),
    ("onset_delay_days = { TA = inf }\n", "onset_delay_days.TA must be a finite number"),
    ("[muscle_set.TA]\nn_fibres = 1000000000\n", "muscle_set.TA.n_fibres = 1,000,000,000 is above the limit"),
    ("[muscle_set.TA]\nn_fibre = 10\n", "unknown muscle parameter(s) n_fibre"),
    ("[muscle_set.EDL]\nn_units = 10\n", "muscle_set names 'EDL'"),
    ('set = { "retrograde_axon_loss.rate_per_dy" = 1.0 }\n', "unknown disease parameter 'retrograde_axon_loss.rate_per_dy'"),
    ('set = { "genotype.nope" = 1.0 }\n', "unknown genotype parameter 'genotype.nope'"),
    ('set = { "tsc.loss_per_day" = "fast" }\n', "set.tsc.loss_per_day must be a number"),
    ("seed = 99999999999999999999\n", "seed must be non-negative and at most 9223372036854775807"),
    ("seed = -1\n", "seed must be non-negative"),
    ("readout_every_dayz = 3\n", "unknown key 'readout_every_dayz'"),
    ("probe_days = [61.5]\n", "probe_days[0] must be a whole number"),
    ("calibration = { a = 1 }\n", "unknown key 'calibration'"),
    ("a = " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
]


@pytest.mark.parametrize("extra, needle", SCENARIO_CASES)
def test_bad_scenarios_are_refused_naming_the_key(place, extra, needle):
    text = SCENARIO.replace("end_day = 62\n", "end_day = 62\n" if "end_day" not in extra else "")
    path = place / "in" / "s.toml"
    path.write_text(text + extra) if not extra.startswith("[") else path.write_text(text + extra)
    out = _invoke(["run", path, "--json"], place)
    assert needle in out and "s.toml" in out


def test_files_that_are_not_utf8_are_refused(place):
    for command, body in (("run", SCENARIO), ("trial", TRIAL)):
        path = place / "in" / f"{command}.toml"
        path.write_bytes(body.encode() + b'description = "caf\xe9"\n')
        out = _invoke([command, path], place)
        assert "not UTF-8" in out and f"{command}.toml" in out
    trial = place / "in" / "t.toml"
    trial.write_text('interventions_file = "iv.toml"\n' + TRIAL)
    (place / "in" / "iv.toml").write_bytes(INTERVENTIONS.encode() + b'assumptions = "\xff"\n')
    assert "iv.toml': not UTF-8" in _invoke(["trial", trial], place)


@pytest.mark.parametrize(
    "change, needle",
    [
        ('effects = { "hazard.terminal" = "half" }', "mine.effects.hazard.terminal must be a number"),
        ('effects = { "hazard.terminal" = -1 }', "must be non-negative"),
        ("effects = 3", "mine.effects must be a table"),
        ('window = { start_day = "soon" }', "mine.window.start_day must be a number"),
        ("window = { start = 3 }", "unknown key 'mine.window.start'"),
        ('evidence = "guessed"', "unknown mine.evidence 'guessed'; allowed: read, recalled, secondary, assumed"),
    ],
)
def test_bad_interventions_are_refused_naming_the_key(place, change, needle):
    key = change.split(" =")[0]
    lines = [line for line in INTERVENTIONS.splitlines() if not line.startswith(key + " ")]
    (place / "in" / "iv.toml").write_text("\n".join(lines) + "\n" + change + "\n")
    trial = place / "in" / "t.toml"
    trial.write_text('interventions_file = "iv.toml"\n' + TRIAL)
    out = _invoke(["trial", trial], place)
    assert needle in out and "iv.toml" in out


@pytest.mark.parametrize(
    "extra, needle",
    [
        ("subjects_per_arm = 1000000000\n", "above the limit of 10,000 subjects"),
        ("duration_days = 1000000000\n", "duration_days must be at least 1 and at most 36500"),
        ("max_days = 1000000000\n", "max_days must be at least 1 and at most 36500"),
        ("batch_size = 1000000000\n", "batch_size = 1,000,000,000 is above the limit"),
        ("[power]\nsizes = [10]\nreplicatez = 3\n", "unknown key 'power.replicatez'"),
        ("[fidelity]\nfibres_per_unit = -1\n", "fidelity.fibres_per_unit must be non-negative"),
        ("[population]\nmidpoint_sd_days = nan\n", "population: midpoint_sd_days must be a finite"),
    ],
)
def test_bad_trials_are_refused_naming_the_key(place, extra, needle):
    key = extra.split(" =")[0]
    base = "\n".join(line for line in TRIAL.splitlines() if not line.startswith(key + " ")) + "\n"
    path = place / "in" / "t.toml"
    path.write_text(extra + base if not extra.startswith("[") else base + extra)
    out = _invoke(["trial", path], place)
    assert needle in out


@pytest.mark.parametrize(
    "args, needle",
    [
        (["run", "wild-type", "--seed", "99999999999999999999"], "--seed"),
        (["run", "wild-type", "--seed", "1", "--seed", "2"], "given twice"),
        (["demo", "--seed", "-1"], "--seed"),
        (["protocol", "train", "--junctions", "1000000000"], "--junctions = 1,000,000,000 is above the limit"),
        (["protocol", "train", "--stimuli", "1000000000"], "--stimuli = 1,000,000,000 is above the limit"),
        (["protocol", "sfemg", "--pairs", "1000000000"], "--pairs = 1,000,000,000 is above the limit"),
        (["protocol", "rns", "--fibres", "1000000000"], "--fibres = 1,000,000,000 is above the limit"),
        (["protocol", "train", "--junctions", "100000", "--stimuli", "100000"], "junction-stimuli"),
        (["protocol", "train", "--frequency-hz", "nan"], "--frequency-hz must be a finite number above 0"),
        (["fit", "synthetic", "--population", "1000000000"], "--population = 1,000,000,000 is above the limit"),
        (["trial", "musk-agonist-sod1-mouse", "--subjects-per-arm", "1000000000"], "above the limit of 10,000 subjects"),
    ],
)
def test_bad_numbers_on_the_command_line_are_refused(place, args, needle):
    out = _invoke(args, place)
    assert needle in out and ("--allow-large" in out or "limit" not in needle)


def test_result_files_that_are_not_what_they_claim(place):
    fake = place / "in" / "fit.nc"
    xr.Dataset({"a": ("x", np.arange(3))}, attrs={"endplate_result": "fit"}).to_netcdf(fake)
    for args in (["report", fake, "-o", "r.html"], ["compare", fake]):
        out = _invoke(args, place)
        assert "fit.nc' is a 'fit' result" in out and "model" in out
    plain = place / "in" / "plain.nc"
    xr.Dataset({"a": ("x", np.arange(3))}).to_netcdf(plain)
    assert "is not an endplate result" in _invoke(["report", plain, "-o", "r.html"], place)


def test_corrupt_fit_folder_and_store_that_is_a_file(place):
    folder = place / "in" / "f.abc"
    folder.mkdir()
    (folder / "main.db").write_text("junk")
    assert "main.db' is not an ABC database" in _invoke(["fit", "synthetic", "--quick", "--out", place / "in" / "f.nc"], place)
    (place / "in" / "s.zarr").write_text("not a folder")
    assert "exists and is not a folder" in _invoke(
        ["trial", "musk-agonist-sod1-mouse", "--store", place / "in" / "s.zarr"], place
    )


def test_a_zarr_output_that_is_a_folder_of_other_files_is_refused_and_kept(place):
    mine = place / "in" / "mine.zarr"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    out = _invoke(["run", "sod1-g93a", "--output", mine], place)
    assert "is a folder that is not a Zarr store" in out
    assert (mine / "notes.txt").read_text() == "my notes"
