"""Helper of ``test_atomic_writes``: forks writers of one target on request, for the test to kill.

Usage: ``python atomic_writer.py FORMAT TARGET`` with FORMAT ``zarr``, ``netcdf`` or ``html``.
For each line read on stdin it forks a child that writes versions "B", "A", "B", ... of TARGET
in a loop until it is killed, prints the child's pid, waits for it and prints ``reaped``.
Forking after the imports and one warm-up write keeps each round to milliseconds (Zarr resets its
IO thread in a forked child).
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np
import xarray as xr

from endplate.io.atomic import write_atomic
from endplate.io.datasets import write_dataset

VARIABLES = 8  # each a folder in Zarr: a write of many small files, as a real result is


def dataset(version: str) -> xr.Dataset:
    """A small dataset whose values and ``version`` attribute tell the versions apart."""
    offset = "AB".index(version)
    data = {f"v{i}": ("day", np.arange(400.0) + 1000 * i + offset) for i in range(VARIABLES)}
    return xr.Dataset(data, attrs={"version": version})


def html(version: str) -> str:
    return f"<html><body><p>version {version}</p>{'<p>row</p>' * 20000}</body></html>\n"


def write(fmt: str, target: str, version: str) -> None:
    if fmt == "html":
        write_atomic(target, lambda tmp: tmp.write_text(html(version)))
    else:
        write_dataset(dataset(version), target)


def main(fmt: str, target: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:  # a first write loads codecs and libraries lazily: not in a child
        write(fmt, os.path.join(scratch, os.path.basename(target)), "A")
    for _line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            while True:
                for version in "BA":
                    write(fmt, target, version)
        print(pid, flush=True)
        os.waitpid(pid, 0)
        print("reaped", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
