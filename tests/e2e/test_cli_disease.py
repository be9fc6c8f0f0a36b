"""The EMG lab on a diseased muscle from the command line: --genotype/--hypothesis/--day, --state."""

import json

import pytest


def _json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cmap_scan_of_a_sod1_muscle_writes_csv_and_nwb_with_the_disease_in_the_provenance(cli, tmp_path):
    csv, nwb = tmp_path / "scan.csv", tmp_path / "scan.nwb"
    healthy = _json(cli("protocol", "cmap-scan", "--muscle", "TA", "--json"))
    sick = _json(
        cli(
            "protocol",
            "cmap-scan",
            "--genotype",
            "SOD1-G93A",
            "--hypothesis",
            "dying_back",
            "--day",
            "110",
            "--muscle",
            "TA",
            "--csv",
            str(csv),
            "--nwb",
            str(nwb),
            "--json",
        )
    )
    assert sick["genotype"] == "SOD1-G93A" and sick["day"] == 110 and sick["hypothesis"] == "dying_back"
    assert sick["true_units"] < healthy["true_units"] and max(sick["cmap_mv"]) < max(healthy["cmap_mv"])
    assert csv.stat().st_size > 1000 and nwb.stat().st_size > 1000


def test_a_saved_run_replays_the_same_muscle_on_its_day(cli, tmp_path):
    """--state re-simulates the saved run from its provenance: the same junctions as --genotype
    with the run's seed (and the same readout seed), so the same RNS."""
    from endplate.disease.dataset import run_dataset
    from endplate.disease.diseased_muscle import one_muscle_scenario
    from endplate.disease.simulate import simulate
    from endplate.io.datasets import write_dataset

    saved = tmp_path / "run.nc"
    write_dataset(run_dataset(simulate(one_muscle_scenario("SOD1-G93A", "dying_back", "TA", 5, end_day=90))), saved)
    replay = _json(cli("protocol", "rns", "--state", str(saved), "--day", "80", "--seed", "5", "--json"))
    direct = _json(cli("protocol", "rns", "--genotype", "SOD1-G93A", "--day", "80", "--muscle", "TA", "--seed", "5", "--json"))
    assert replay["state"] == str(saved) and replay["cmap_mv"] == direct["cmap_mv"]


def test_mune_method_table_through_the_disease(cli):
    payload = _json(
        cli("protocol", "mune", "--genotype", "SOD1-G93A", "--day", "40", "--day", "120", "--subjects", "1", "--json")
    )
    cells = {(e["day"], e["method"]): e for e in payload["table"]}
    assert set(cells) == {(d, m) for d in (40, 120) for m in ("incremental", "mps", "scanfit", "munix")}
    assert cells[(120, "mps")]["true_units_mean"] < cells[(40, "mps")]["true_units_mean"]
    human = cli("protocol", "mune", "--genotype", "SOD1-G93A", "--day", "120", "--subjects", "1")
    assert human.returncode == 0 and "bias %" in human.stdout and "scanfit" in human.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("sfemg", "--genotype", "SOD1-G93A"), "need --day"),
        (("sfemg", "--genotype", "SOD1-G93A", "--day", "400"), "day must be a whole day from 20 to"),
        (("sfemg", "--genotype", "sporadic-ALS", "--day", "100"), "--species human"),
        (("sfemg", "--genotype", "nope", "--day", "100"), "unknown genotype 'nope'"),
        (("rns", "--genotype", "SOD1-G93A", "--day", "100", "--hypothesis", "maybe"), "unknown hypothesis 'maybe'"),
        (("rns", "--genotype", "SOD1-G93A", "--day", "100", "--set", "n_units=10"), "--set and --perturb"),
        (("rns", "--state", "missing.nc", "--day", "100"), "missing.nc"),
        (("epp", "--genotype", "SOD1-G93A", "--day", "100"), "apply to muscle protocols"),
        (("sfemg", "--muscle", "TA", "--subjects", "2"), "--subjects go with --genotype"),
        (("post-exercise", "--genotype", "SOD1-G93A", "--day", "400"), "day must be a whole day from 20 to"),
        (("post-exercise", "--genotype", "SOD1-G93A", "--day", "30", "--perturb", "lems"), "--set and --perturb"),
        (("post-exercise", "--muscle", "TA", "--fibres", "100"), "does not apply to muscle protocol post-exercise"),
        (("post-exercise", "--muscle", "TA", "--stimuli", "3"), "--stimuli must be at least 4"),
        (("post-exercise", "--muscle", "TA", "--conditioning-s", "0"), "--conditioning-s"),
        (("post-exercise", "--muscle", "TA", "--backend", "numpy"), "take no --backend"),
    ],
)
def test_bad_disease_options_exit_2_naming_the_problem(cli, args, message):
    result = cli("protocol", *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_the_table_and_plot_titles_of_a_diseased_muscle_name_genotype_hypothesis_and_day(cli, tmp_path):
    from endplate.cli.protocol import _state_label

    assert _state_label({}) == ""
    assert _state_label({"genotype": "SOD1-G93A", "hypothesis": "dying_back", "day": 100}) == ", SOD1-G93A (dying_back) day 100"
    plot = tmp_path / "scan.png"
    table = cli("protocol", "cmap-scan", "--genotype", "SOD1-G93A", "--day", "100", "--muscle", "TA", "--plot", str(plot))
    assert table.returncode == 0, table.stderr
    assert "SOD1-G93A (dying_back) day 100" in table.stdout and plot.stat().st_size > 0


def test_post_exercise_on_a_diseased_muscle_gives_the_junction_fields_and_a_plot(cli, tmp_path):
    """The EMG-lab session on the SOD1-G93A TA (day 30, early: a fast course) and on the healthy
    TA: the fields of the junction-level protocol, the disease named, a figure written."""
    from endplate.cli.protocol import _JSON_FIELDS
    from endplate.junction.post_exercise import PROBE_AFTER_S

    plot = tmp_path / "pe.png"
    sick = _json(
        cli(
            "protocol", "post-exercise", "--genotype", "SOD1-G93A", "--day", "30", "--muscle", "TA", "--plot", str(plot), "--json"
        )
    )
    healthy = _json(cli("protocol", "post-exercise", "--muscle", "TA", "--json"))
    phases = ["rest", *[f"{t:g} s after" for t in PROBE_AFTER_S]]  # as at junction level
    for out in (sick, healthy):
        assert set(_JSON_FIELDS["post-exercise"]) <= set(out) and out["phase"] == phases
        assert len(out["cmap_mv"]) == len(out["decrement_percent"]) == len(out["phase"])
    assert sick["genotype"] == "SOD1-G93A" and sick["day"] == 30 and sick["muscle"] == "TA"
    assert "genotype" not in healthy and plot.stat().st_size > 0
    table = cli("protocol", "post-exercise", "--genotype", "SOD1-G93A", "--day", "30", "--muscle", "TA")
    assert table.returncode == 0 and "SOD1-G93A (dying_back) day 30" in table.stdout and "decrement_percent" in table.stdout


def test_junction_post_exercise_json_says_why_each_derived_readout_is_missing(cli):
    """A junction whose fibres never fire (1 % of its AChR): the readouts derived from the undefined
    decrements are null beside a reason, as the muscle-level session gives them."""
    out = _json(
        cli("protocol", "post-exercise", "--species", "human", "--set", "achr_density_relative=0.01", "--fibres", "200", "--json")
    )
    for name in ("facilitation_points", "exhaustion_points", "post_exercise_increment_percent"):
        assert out[name] is None and out[name + "_undefined_reason"], name
