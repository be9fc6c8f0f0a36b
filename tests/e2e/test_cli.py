import json

import pytest


def _json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_version(cli):
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("endplate ")


def test_presets_lists_species_and_perturbations(cli):
    payload = _json(cli("presets", "--json"))
    assert {"species", "muscles", "genotypes", "hypotheses", "interventions"} <= set(payload)
    assert payload["species"] == ["mouse", "human"] and "low_calcium" in payload["perturbations"]
    assert {"pyridostigmine", "musk_agonist", "dok7_gene_therapy", "tofersen"} <= set(payload["interventions"])
    assert {"musk-agonist-sod1-mouse", "nmj-stabiliser-human"} <= set(payload["trials"])


def test_epp_protocol_json_contract(cli):
    payload = _json(cli("protocol", "epp", "--json", "--seed", "3"))
    assert 35 < payload["quantal_content"] < 70
    assert payload["safety_factor"] > 2 and payload["mepp_mv"] > 0 and payload["epp_mv"] > 0


def test_train_protocol_json_contract(cli):
    payload = _json(cli("protocol", "train", "--frequency-hz", "50", "--stimuli", "30", "--json"))
    assert len(payload["epp_mv"]) == 30 and 0 < payload["plateau_ratio"] < 1 and payload["rrp_estimate"] > 0


def test_sfemg_protocol_json_contract(cli):
    payload = _json(cli("protocol", "sfemg", "--rate-hz", "10", "--species", "human", "--json"))
    assert payload["mcd_us"] > 0 and 0 <= payload["blocking_percent"] <= 100
    assert len(payload["pairs"]) == 20 and "mcd_us" in payload["pairs"][0]


def test_rns_protocol_json_contract(cli):
    payload = _json(cli("protocol", "rns", "--frequency-hz", "3", "--species", "human", "--json"))
    assert len(payload["cmap_mv"]) == 10 and payload["decrement_percent"] < 10


def test_mepp_and_paired_pulse_run(cli):
    assert _json(cli("protocol", "mepp", "--json"))["mepp_hz"] > 0
    assert _json(cli("protocol", "paired-pulse", "--perturb", "low_calcium", "--json"))["facilitation_f0"] > 0


def test_same_seed_gives_the_same_json(cli):
    a = cli("protocol", "train", "--seed", "9", "--json").stdout
    b = cli("protocol", "train", "--seed", "9", "--json").stdout
    assert a == b


@pytest.mark.parametrize(
    "args,needle",
    [
        (("protocol", "epp", "--set", "foo=1"), "unknown junction parameter"),
        (("protocol", "epp", "--set", "quantal_cv=nan"), "quantal_cv"),
        (("protocol", "epp", "--set", "release_probability_max=1.5"), "release_probability_max"),
        (("protocol", "epp", "--set", "rrp_capacity_quanta=-3"), "rrp_capacity_quanta"),
        (("protocol", "epp", "--species", "rat"), "allowed: mouse, human"),
        (("protocol", "nope"), "allowed: mepp"),
        (("protocol", "train", "--rate-hz", "3"), "does not apply"),
        (("protocol", "epp", "--junctions", "0"), "--junctions"),
        (("protocol", "epp", "--perturb", "bogus"), "unknown perturbation"),
        (("protocol", "train", "--frequency-hz", "-5"), "--frequency-hz"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message_and_no_traceback(cli, args, needle):
    result = cli(*args, "--json")
    assert result.returncode == 2
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_bad_input_leaves_no_output_file(cli, tmp_path):
    out = tmp_path / "r.nc"
    result = cli("protocol", "epp", "--set", "quantal_cv=-1", "--output", str(out))
    assert result.returncode == 2 and not out.exists() and list(tmp_path.iterdir()) == []


def test_protocol_writes_plot_and_netcdf(cli, tmp_path):
    import xarray as xr

    plot, data = tmp_path / "t.png", tmp_path / "t.nc"
    _json(cli("protocol", "train", "--plot", str(plot), "--output", str(data), "--json"))
    assert plot.stat().st_size > 10_000
    ds = xr.open_dataset(data)
    assert ds.attrs["seed"] == 0 and "plateau_ratio" in ds


def test_demo_prints_summary_and_writes_figure(cli, tmp_path):
    payload = _json(cli("demo", "--output-dir", str(tmp_path / "demo"), "--json"))
    assert payload["conditions"]["SOD1 presymptomatic"]["quantal_content"] > payload["conditions"]["wild-type"]["quantal_content"]
    assert (tmp_path / "demo" / "demo.png").stat().st_size > 20_000


def test_bench_quick_reports_workloads(cli):
    payload = _json(cli("bench", "--quick", "--json"))
    names = {w["name"] for w in payload["workloads"]}
    assert {"junction-train", "junction-train-reference", "muscle-cmap-scan", "fit-simulations"} <= names
    for w in payload["workloads"]:
        assert {"name", "size", "seconds", "throughput", "unit", "reference_ratio"} <= set(w)


def test_cmap_scan_json_and_csv_export(cli, tmp_path):
    csv = tmp_path / "scan.csv"
    payload = _json(cli("protocol", "cmap-scan", "--species", "human", "--muscle", "FDI", "--csv", str(csv), "--json"))
    assert len(payload["stimulus"]) == len(payload["cmap_mv"]) == 500 and payload["true_units"] == 119
    lines = [ln for ln in csv.read_text().splitlines() if not ln.startswith("#")]
    assert lines[0] == "stimulus_mA,cmap_mV" and len(lines) == 501


@pytest.mark.parametrize("method", ["incremental", "mps", "scanfit", "munix"])
def test_mune_json_reports_the_true_count_beside_the_estimate(cli, method):
    payload = _json(cli("protocol", "mune", "--species", "mouse", "--muscle", "soleus", "--method", method, "--json"))
    assert payload["method"] == method and payload["true_units"] == 25 and payload["estimate"] > 0


def test_muscle_level_rns_sfemg_force_and_cross_section(cli, tmp_path):
    rns = _json(cli("protocol", "rns", "--species", "human", "--muscle", "ADM", "--frequency-hz", "3", "--json"))
    assert len(rns["cmap_mv"]) == 10 and rns["decrement_percent"] < 10
    sf = _json(cli("protocol", "sfemg", "--species", "mouse", "--muscle", "EDL", "--rate-hz", "10", "--json"))
    assert sf["fibre_density"] >= 1 and sf["pairs"]
    force = _json(cli("protocol", "force", "--species", "mouse", "--muscle", "soleus", "--json"))
    assert force["tetanic_n"] == pytest.approx(force["max_tetanic_n"], rel=1e-6)
    plot = tmp_path / "xs.png"
    xs = _json(cli("protocol", "cross-section", "--species", "mouse", "--muscle", "TA", "--plot", str(plot), "--json"))
    assert xs["grouping_index"] > 0 and plot.stat().st_size > 10_000


@pytest.mark.parametrize(
    "args,needle",
    [
        (("protocol", "cmap", "--species", "human", "--muscle", "quadriceps"), "allowed: APB"),
        (("protocol", "force", "--species", "human", "--muscle", "APB", "--set", "n_units=0"), "n_units"),
        (
            ("protocol", "force", "--species", "human", "--muscle", "APB", "--set", "n_units=99999", "--allow-large"),
            "more motor units",
        ),
        (("protocol", "mune", "--species", "human", "--muscle", "APB", "--method", "guess"), "allowed: incremental"),
        (("protocol", "cmap", "--species", "human", "--muscle", "APB", "--rate-hz", "3"), "does not apply"),
    ],
)
def test_bad_muscle_input_exits_2(cli, args, needle):
    result = cli(*args, "--json")
    assert result.returncode == 2 and needle in result.stderr and result.stdout == ""


def test_run_bundled_scenario_writes_dataset_and_report(cli, tmp_path):
    import xarray as xr

    out, report = tmp_path / "wt.nc", tmp_path / "wt.html"
    payload = _json(cli("run", "wild-type", "--output", str(out), "--report", str(report), "--json"))
    assert payload["onset_day"] is None and set(payload["muscles"]) == {"TA", "EDL", "MG", "soleus", "diaphragm"}
    assert len(payload["day"]) == len(payload["muscles"]["TA"]["innervated_percent"])
    ds = xr.open_dataset(out)
    assert ds.attrs["seed"] == 1 and "mechanism_sources" in ds.attrs and float(ds.innervated_percent.min()) == 100.0
    text = report.read_text()
    assert text.count("data:image/png;base64,") >= 6 and "Provenance" in text


def test_run_user_scenario_file_and_overrides(cli, tmp_path):
    scenario = tmp_path / "short.toml"
    scenario.write_text(
        'species = "mouse"\ngenotype = "SOD1-G93A"\nhypothesis = "dying_back"\nmuscles = ["TA", "soleus"]\n'
        "start_day = 20\nend_day = 80\nseed = 3\n"
    )
    payload = _json(
        cli(
            "run",
            str(scenario),
            "--hypothesis",
            "independent",
            "--set",
            "reinnervation.rate_per_day=0.05",
            "--output",
            str(tmp_path / "s.nc"),
            "--json",
        )
    )
    assert payload["hypothesis"] == "independent" and payload["muscles"]["TA"]["innervated_percent"][-1] < 90


@pytest.mark.parametrize(
    "args,needle",
    [
        (("run", "nope"), "not a bundled name"),
        (("run", "wild-type", "--hypothesis", "dying_sideways"), "unknown hypothesis"),
        (("run", "wild-type", "--set", "reinnervation.speed=2"), "unknown disease parameter"),
        (("run", "wild-type", "--output", "x.csv"), "must end in .nc or .zarr"),
        (("run", "wild-type", "--output", "/no/such/folder/x.nc"), "does not exist"),
    ],
)
def test_bad_run_input_exits_2_and_writes_nothing(cli, tmp_path, args, needle):
    result = cli(*args, "--json", cwd=tmp_path)
    assert result.returncode == 2 and needle in result.stderr and result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_interrupted_run_leaves_no_output(tmp_path):
    """Ctrl-C during a run: nothing half-written (outputs are written atomically at the end)."""
    import shutil
    import signal
    import subprocess
    import sys
    import time
    from importlib import resources

    exe = shutil.which("endplate")
    cmd = [exe] if exe else [sys.executable, "-m", "endplate.cli"]
    # The bundled human run now ends in about 5 s on the 2-core machine, so a Ctrl-C after 4 s
    # could miss it: the same scenario with a readout every day runs for minutes.
    text = resources.files("endplate.presets").joinpath("scenarios", "human-als.toml").read_text()
    slow = text.replace("readout_every_days = 91", "readout_every_days = 1").replace(
        "mune_every_days = 91", "mune_every_days = 1"
    )
    assert slow != text
    scenario = tmp_path / "slow.toml"
    scenario.write_text(slow)
    # A shell that starts the test suite in the background hands its children SIGINT ignored;
    # restore the default so that the child sees Ctrl-C as a user's terminal would send it.
    proc = subprocess.Popen(
        [*cmd, "run", str(scenario), "--report", "r.html"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert list(tmp_path.iterdir()) == [scenario]


def test_run_refuses_an_unknown_site_of_onset_naming_the_allowed_ones(cli, tmp_path):
    out = tmp_path / "h.nc"
    result = cli("run", "human-als", "--onset-site", "elbow", "--output", str(out))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'elbow'" in result.stderr and "bulbar" in result.stderr and "respiratory" in result.stderr
    assert not out.exists()
