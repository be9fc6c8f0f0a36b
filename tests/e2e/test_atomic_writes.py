"""Outputs survive a SIGKILL at any point of a write: the target is the complete old or new result.

A helper process forks writers of one target; the test kills each after a seeded random delay,
opens the target and compares it with both versions, then writes again and checks that the write
removed the temporaries the killed writer left.
"""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import xarray as xr

from endplate.io import atomic

HELPER = Path(__file__).with_name("atomic_writer.py")
KILLS = 20
MAX_DELAY_S = {"zarr": 0.5, "netcdf": 0.25, "html": 0.02}  # a few writes' time on a busy machine
TARGET = {"zarr": "result.zarr", "netcdf": "result.nc", "html": "report.html"}
LINE_TIMEOUT_S = 60


def _helper_module():
    spec = importlib.util.spec_from_file_location("atomic_writer", HELPER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read_line(proc: subprocess.Popen) -> str:
    """The helper's next line, within LINE_TIMEOUT_S (a hung helper fails the test, not the suite)."""
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(LINE_TIMEOUT_S):
            raise AssertionError("the writer helper did not answer")
    return proc.stdout.readline().strip()


def _version(fmt: str, target: Path, writer) -> str:
    """Which complete version the target holds; fails if it is neither."""
    if fmt == "html":
        text = target.read_text()
        matches = [v for v in "AB" if text == writer.html(v)]
        assert matches, "the HTML target is neither the old nor the new report"
        return matches[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = xr.open_zarr(target).load() if fmt == "zarr" else xr.load_dataset(target)
    version = ds.attrs["version"]
    xr.testing.assert_identical(ds, writer.dataset(version))
    return version


def _temporaries(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}."))


@pytest.mark.parametrize("fmt", ["zarr", "netcdf", "html"])
def test_a_killed_write_leaves_the_old_or_the_new_result(tmp_path, fmt):
    writer = _helper_module()
    target = tmp_path / TARGET[fmt]
    writer.write(fmt, str(target), "A")
    rng = random.Random(19)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, str(HELPER), fmt, str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    seen, stranded = set(), 0
    try:
        for _ in range(KILLS):
            proc.stdin.write("go\n")
            proc.stdin.flush()
            pid = int(_read_line(proc))
            time.sleep(rng.uniform(0, MAX_DELAY_S[fmt]))
            os.kill(pid, signal.SIGKILL)
            assert _read_line(proc) == "reaped"
            seen.add(_version(fmt, target, writer))
            stranded += bool(_temporaries(target))
            writer.write(fmt, str(target), "A")  # the next write, as a user's next run
            assert _temporaries(target) == [], "the next write left the killed writer's temporaries"
    finally:
        proc.kill()
        proc.wait(timeout=LINE_TIMEOUT_S)
    assert stranded > 0, "no kill landed inside a write: the test exercised nothing"
    assert seen == {"A", "B"} or fmt == "html", f"every kill left version {seen}: delays too short or too long"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=LINE_TIMEOUT_S)
    return proc.pid


def test_a_folder_moved_aside_comes_back_when_the_kill_left_no_target(tmp_path):
    """Without an atomic exchange the old folder is moved aside first; a kill right then is repaired."""
    target = tmp_path / "result.zarr"
    aside = tmp_path / f".result.zarr.endplate-{atomic._HOST}-{_dead_pid()}-00000000-old.zarr"
    aside.mkdir()
    (aside / "zarr.json").write_text("{}")
    atomic.clean_stale(target)
    assert (target / "zarr.json").read_text() == "{}" and not aside.exists()


def test_a_running_writers_temporary_is_kept(tmp_path):
    target = tmp_path / "result.nc"
    live = tmp_path / f".result.nc.endplate-{atomic._HOST}-{os.getppid()}-00000000-new.nc"
    live.write_text("being written")
    atomic.clean_stale(target)
    assert live.exists()


def test_the_fallback_swap_without_exchange(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_renameat2", None)
    writer = _helper_module()
    target = tmp_path / "result.zarr"
    for version in "AB":
        writer.write("zarr", str(target), version)
        assert _version("zarr", target, writer) == version and _temporaries(target) == []
