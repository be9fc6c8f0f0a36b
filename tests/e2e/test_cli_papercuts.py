"""The papercuts of issue 16, each as a user meets it, and the one output-path check of every command."""

import os
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _help(cli, *args):
    result = cli(*args, "--help")
    assert result.returncode == 0, result.stderr
    return " ".join(result.stdout.split())  # rich wraps help text to the terminal width


def test_top_level_help_names_every_command(cli):
    from endplate.cli import app

    text = _help(cli)
    summary = text.split("Options")[0]
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert len(names) == 13 and all(f" {n} " in summary or f" {n}." in summary for n in names), summary


def test_demo_help_no_longer_waits_for_the_disease_layer(cli):
    assert "until the disease layer lands" not in _help(cli, "demo")


def test_protocol_help_lists_every_protocol_and_both_output_formats(cli):
    from endplate.cli.protocol import _MUSCLE_OPTIONS, PROTOCOLS
    from endplate.muscle.protocols import MUSCLE_PROTOCOLS

    assert set(_MUSCLE_OPTIONS) == set(MUSCLE_PROTOCOLS)
    text = _help(cli, "protocol")
    for name in [*PROTOCOLS, *MUSCLE_PROTOCOLS]:
        assert name in text
    assert ".zarr" in text.split("--output")[1][:120]


def test_protocol_output_as_zarr_is_written_without_warnings(cli, tmp_path):
    import xarray as xr

    store = tmp_path / "t.zarr"
    result = cli("protocol", "train", "--output", str(store), "--json")
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    ds = xr.open_zarr(store)
    assert ds.attrs["seed"] == 0 and "plateau_ratio" in ds


def test_datasets_with_string_coordinates_write_and_read_as_zarr_without_warnings(tmp_path):
    import xarray as xr

    from endplate.io.datasets import open_result, write_dataset

    ds = xr.Dataset(
        {"x": (("muscle", "unit_type"), np.ones((2, 3)))},
        coords={"muscle": ["TA", "soleus"], "unit_type": ["S", "FR", "FF"]},
        attrs={"seed": 1},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_dataset(ds, tmp_path / "r.zarr")
        back = open_result(tmp_path / "r.zarr")
    assert back.identical(ds)


def test_cupy_backend_on_a_muscle_protocol_is_refused(cli):
    result = cli("protocol", "cmap", "--backend", "cupy", "--json")
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert "muscle protocols run on the CPU" in " ".join(result.stderr.split())


def test_run_summary_says_not_reached_never_none(cli, tmp_path):
    result = cli("run", "wild-type", "--output", str(tmp_path / "wt.nc"))
    assert result.returncode == 0, result.stderr
    assert "not reached" in result.stdout and "None" not in result.stdout


def test_package_metadata_uses_the_spdx_licence_form():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "MIT" and (ROOT / meta["project"]["license-files"][0]).is_file()
    setuptools = next(r for r in meta["build-system"]["requires"] if r.startswith("setuptools"))
    assert int(setuptools.split(">=")[1].split(".")[0]) >= 77  # the first release that reads the SPDX form
    assert "py.typed" in meta["tool"]["setuptools"]["package-data"]["endplate"]
    assert (ROOT / "src" / "endplate" / "py.typed").is_file()


def test_browser_test_writes_its_screenshot_to_a_temporary_folder():
    text = (ROOT / "tests" / "e2e" / "test_app_browser.py").read_text()
    assert 'docs" / "figures' not in text and "tmp_path" in text


# One check for every option that writes a file: suffix, folder, file-not-folder, name length.
LONG = "x" * 256


@pytest.mark.parametrize(
    "args, needle",
    [
        (("protocol", "epp", "--output", "{tmp}/r.csv"), "must end in .nc or .zarr"),
        (("protocol", "epp", "--output", "{tmp}/missing/r.nc"), "does not exist"),
        (("protocol", "epp", "--output", "{tmp}/folder.nc"), "is a folder"),
        (("protocol", "epp", "--output", "{tmp}/" + LONG + ".nc"), "longer than 255 bytes"),
        (("protocol", "train", "--plot", "{tmp}/p.gif"), "must end in .png or .pdf or .svg"),
        (("protocol", "train", "--nwb", "{tmp}/missing/r.nwb"), "does not exist"),
        (("protocol", "cmap-scan", "--csv", "{tmp}/folder.nc"), "must end in .csv"),
        (("run", "wild-type", "--report", "{tmp}/r.pdf"), "must end in .html or .htm"),
        (("run", "wild-type", "--output", "{tmp}/folder.nc"), "is a folder"),
        (("report", "{tmp}/none.nc", "-o", "{tmp}/missing/r.html"), "does not exist"),
        (("trial", "musk-agonist-sod1-mouse", "--output", "{tmp}/t.txt"), "must end in .nc or .zarr"),
        (("trial", "musk-agonist-sod1-mouse", "--store", "{tmp}/file.txt"), "exists and is not a folder"),
        (("fit", "synthetic", "--out", "{tmp}/f.zarr"), "must end in .nc"),
        (("fit", "synthetic", "--preset-out", "{tmp}/p.json"), "must end in .toml"),
        (("demo", "--output-dir", "{tmp}/file.txt"), "exists and is not a folder"),
    ],
)
def test_every_output_option_is_checked_before_any_work(cli, tmp_path, args, needle):
    (tmp_path / "folder.nc").mkdir()
    (tmp_path / "file.txt").write_text("keep")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = cli(*(a.format(tmp=tmp_path) for a in args), "--json")
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert needle in message and "--" in message, message
    assert sorted(p.name for p in tmp_path.iterdir()) == before and (tmp_path / "file.txt").read_text() == "keep"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_refused(cli, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = cli("protocol", "epp", "--output", str(locked / "r.nc"), "--json")
    finally:
        locked.chmod(0o700)
    assert result.returncode == 2 and "is not writable" in result.stderr


def test_check_output_refuses_a_read_only_folder(tmp_path, monkeypatch):
    from endplate.cli._app import check_output
    from endplate.errors import EndplateInputError

    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as for a folder the user cannot write to
    with pytest.raises(EndplateInputError, match=r"--output .* is not writable"):
        check_output(tmp_path / "r.nc", (".nc",), "--output")
    monkeypatch.undo()
    check_output(tmp_path / "r.nc", (".nc",), "--output")  # a writable folder passes
