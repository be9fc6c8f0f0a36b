"""Saved endplate results: open any one (.nc file or .zarr folder) and write one atomically."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import xarray as xr

from endplate.errors import EndplateInputError
from endplate.io.atomic import atomic_directory, atomic_path


def open_result(path) -> xr.Dataset:
    """Open a saved endplate result (.nc file or .zarr folder); bad paths raise EndplateInputError."""
    path = Path(path)
    if not path.exists():
        raise EndplateInputError(f"no such file: {str(path)!r}")
    try:
        if path.is_dir() or path.suffix == ".zarr":
            return xr.open_zarr(path).load()
        with xr.open_dataset(path) as ds:
            return ds.load()
    except Exception as exc:  # noqa: BLE001 - any reader failure means "not a dataset we can read"
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise EndplateInputError(f"{str(path)!r} is not a NetCDF or Zarr dataset that endplate can read ({reason})") from None


# What reading a dataset that lacks a variable or attribute, or holds one of the wrong shape or
# text, raises inside the readers (xarray, numpy, json): a structure problem of the user's file.
STRUCTURE_ERRORS = (KeyError, AttributeError, ValueError, TypeError, IndexError)


@contextlib.contextmanager
def structure_checked(where: str, kind: str, version: str = "unknown") -> Iterator[None]:
    """Turn a structure problem met while reading the saved ``kind`` result ``where`` into EndplateInputError.

    The message names what was missing or malformed (the key of a KeyError, the attribute of an
    AttributeError, the text of any other).
    """
    try:
        yield
    except EndplateInputError:
        raise
    except STRUCTURE_ERRORS as exc:
        what = f"without {exc}" if isinstance(exc, KeyError) else f"that cannot be read ({type(exc).__name__}: {exc})"
        raise EndplateInputError(
            f"{where} is a {kind!r} result {what}; is it a complete result of this endplate version (it says {version})?"
        ) from None


def write_dataset(ds: xr.Dataset, path) -> None:
    """Write ``ds`` to ``path`` (.nc or .zarr) atomically: a temporary sibling, then a swap (see io.atomic)."""
    path = Path(path)
    if path.suffix == ".nc":
        with atomic_path(path) as tmp:
            ds.to_netcdf(tmp)
        return
    with atomic_directory(path) as tmp:
        # Zarr format 2 with consolidated metadata: both are in the v2 specification, while zarr-python 3
        # warns that consolidated metadata and fixed-width strings (our coordinates) have no v3 one yet.
        ds.to_zarr(tmp, mode="w", zarr_format=2, consolidated=True)
