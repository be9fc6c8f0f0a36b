"""`endplate report` from saved results, and NWB exports that round-trip through pynwb."""

import importlib.util
import json

import numpy as np
import pytest
import xarray as xr

SMALL_RUN = """
species = "mouse"
genotype = "SOD1-G93A"
hypothesis = "dying_back"
muscles = ["TA"]
start_day = 20
end_day = 90
seed = 3
probe_days = [40, 80]
probe_muscle = "TA"
"""


def in_process(*args, cwd=None):
    """The CLI called in this process (for quick error paths); returns exit code, stdout, stderr."""
    import os

    from typer.testing import CliRunner

    from endplate.cli import app

    old = os.getcwd()
    os.chdir(cwd or old)
    try:
        r = CliRunner().invoke(app, list(args))
    finally:
        os.chdir(old)
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory, cli):
    folder = tmp_path_factory.mktemp("run")
    (folder / "small.toml").write_text(SMALL_RUN)
    res = cli("run", "small.toml", "--output", "small.nc", "--report", "direct.html", "--json", cwd=folder)
    assert res.returncode == 0, res.stderr
    return folder


def test_saved_run_is_marked_as_a_run_with_its_probes(saved_run):
    ds = xr.open_dataset(saved_run / "small.nc")
    assert ds.attrs["endplate_result"] == "run"
    assert list(ds.probe_day.values) == [40, 80]
    assert ds.probe_owner.shape == (2, int(ds.fibres.sel(muscle="TA")))


def test_report_rebuilt_from_the_saved_run_equals_the_report_written_by_run(saved_run, cli):
    res = cli("report", "small.nc", "-o", "rebuilt.html", "--json", cwd=saved_run)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["report"] == "rebuilt.html"
    rebuilt = (saved_run / "rebuilt.html").read_text()
    assert rebuilt == (saved_run / "direct.html").read_text()
    assert rebuilt.count("data:image/png;base64,") == 8 and "<script" not in rebuilt


@pytest.mark.parametrize(
    "content, needle",
    [
        (None, "no such file"),
        (b"not a dataset", "not a NetCDF or Zarr dataset"),
        ("plain", "not an endplate result"),
        ("fit", "no report for it"),
    ],
)
def test_report_of_a_missing_or_foreign_file_exits_2_and_writes_nothing(tmp_path, content, needle):
    path = tmp_path / "in.nc"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        ds = xr.Dataset({"a": ("x", [1.0, 2.0])})
        if content != "plain":
            ds.attrs["endplate_result"] = content
        ds.to_netcdf(path)
    if content == "fit" and importlib.util.find_spec("endplate.calibrate.report") is not None:
        pytest.skip("the calibration layer is installed, so a fit has a report")
    code, _, stderr = in_process("report", str(path), "-o", str(tmp_path / "r.html"))
    assert code == 2
    assert needle in stderr and "Traceback" not in stderr
    assert not (tmp_path / "r.html").exists()


def _read_nwb(path):
    from pynwb import NWBHDF5IO

    io = NWBHDF5IO(str(path), "r")
    return io, io.read()


def test_epp_train_nwb_round_trips_with_units_times_and_seed(tmp_path, cli):
    res = cli(
        "protocol",
        "train",
        "--frequency-hz",
        "50",
        "--stimuli",
        "20",
        "--seed",
        "4",
        "--nwb",
        "t.nwb",
        "--output",
        "t.nc",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    ds = xr.open_dataset(tmp_path / "t.nc")
    io, nwb = _read_nwb(tmp_path / "t.nwb")
    with io:
        epp = nwb.acquisition["epp_amplitude"]
        assert epp.unit == "volts" and epp.conversion == pytest.approx(1e-3)
        np.testing.assert_allclose(epp.data[:], ds["epp_mv_trace"].values.T)
        np.testing.assert_allclose(epp.timestamps[:], np.arange(20) * 0.02)
        provenance = json.loads(nwb.notes)
        assert provenance["seed"] == 4 and json.loads(provenance["settings"])["frequency_hz"] == 50
        assert "train" in nwb.session_description and nwb.subject.species == "Mus musculus"


def test_sfemg_nwb_holds_latencies_whose_jitter_matches_the_reported_mcd(tmp_path, cli):
    res = cli("protocol", "sfemg", "--species", "human", "--pairs", "5", "--nwb", "s.nwb", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    reported = [p["mcd_us"] for p in json.loads(res.stdout)["pairs"]]
    io, nwb = _read_nwb(tmp_path / "s.nwb")
    with io:
        ipi = nwb.acquisition["sfemg_interpotential_interval"]
        assert ipi.unit == "seconds" and ipi.data.shape == (100, 5)
        from endplate.junction.estimators import mean_consecutive_difference

        mcd = [mean_consecutive_difference(col) * 1000 for col in np.asarray(ipi.data[:]).T]
        np.testing.assert_allclose(mcd, reported, rtol=1e-5)
        np.testing.assert_allclose(nwb.processing["sfemg"]["jitter"]["mcd_us"].data[:], reported)


def test_cmap_and_cmap_scan_nwb_round_trip(tmp_path, cli):
    assert cli("protocol", "cmap", "--nwb", "c.nwb", cwd=tmp_path).returncode == 0
    res = cli("protocol", "cmap-scan", "--stimuli", "50", "--nwb", "s.nwb", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    scan = json.loads(res.stdout)
    io, nwb = _read_nwb(tmp_path / "c.nwb")
    with io:
        cmap = nwb.acquisition["cmap"]
        assert cmap.rate > 1000 and cmap.electrodes.table["location"][0] == "TA"
    io, nwb = _read_nwb(tmp_path / "s.nwb")
    with io:
        np.testing.assert_allclose(nwb.acquisition["cmap_amplitude"].data[:], scan["cmap_mv"], rtol=1e-6)
        np.testing.assert_allclose(nwb.stimulus["stimulus_intensity"].data[:], scan["stimulus"])
        assert nwb.stimulus["stimulus_intensity"].unit == "amperes"
        assert json.loads(nwb.notes)["true_units"] == scan["true_units"]


@pytest.mark.parametrize(
    "args, needle",
    [
        (("protocol", "epp", "--nwb", "x.nwb"), "--nwb applies to protocols"),
        (("protocol", "train", "--nwb", "x.h5"), "must end in .nwb"),
        (("protocol", "mune", "--nwb", "x.nwb"), "does not apply"),
    ],
)
def test_bad_nwb_requests_exit_2_and_write_nothing(tmp_path, args, needle):
    code, _, stderr = in_process(*args, cwd=tmp_path)
    assert code == 2 and needle in stderr
    assert not list(tmp_path.iterdir())
