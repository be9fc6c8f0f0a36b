"""Read a recorded CMAP scan: a CSV table with named columns and units, or an NWB file.

CSV: lines starting with ``#`` are comments; the first other line is the header; cells are
separated by commas (or tabs, or semicolons, whichever the header uses). Each header cell names a
quantity and its unit, as ``stimulus_mA``, ``stimulus (mA)`` or ``stimulus [mA]``; columns may
come in any order, and rows in any order of stimulus:

| quantity | names | units |
|---|---|---|
| stimulus intensity (required) | stimulus, intensity, current | mA, uA |
| negative-peak response (required) | response, cmap, amplitude, peak | mV, uV, V |
| negative-peak area (optional) | area | mVms, uVs |

Responses are baseline-to-negative-peak amplitudes, as positive numbers.

NWB: the stimulus intensities are the one series under ``stimulus/`` in amperes, the responses
the series under ``acquisition/`` in volts with one value per stimulus (1-D: amplitudes), or one
sweep per stimulus (2-D, stimuli x samples: the negative peak of each sweep is taken). This is
what ``endplate protocol cmap-scan --nwb`` writes.

Every problem raises ``EndplateInputError`` naming the file, the row (data row and line) and
column, and what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from endplate.errors import EndplateInputError
from endplate.spec import read_text

MAX_SCAN_BYTES = 20_000_000  # a 500-stimulus scan is about 10 kB; 20 MB holds 100,000s of rows
MIN_STIMULI = 50  # fewer cannot show the scan's baseline, rise and plateau
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# quantity -> (accepted names, unit -> factor to mA / mV / mV ms)
COLUMNS = {
    "stimulus": (("stimulus", "intensity", "current"), {"ma": 1.0, "ua": 1e-3}),
    "response": (("response", "cmap", "amplitude", "peak"), {"mv": 1.0, "uv": 1e-3, "v": 1e3}),
    "area": (("area",), {"mvms": 1.0, "uvs": 1.0}),
}
UNIT_SPELLING = {"stimulus": "mA, uA", "response": "mV, uV, V", "area": "mVms, uVs"}


@dataclass(frozen=True)
class ScanRecording:
    """A scan as read: (n,) stimuli (mA), negative-peak responses (mV), areas (mV ms) or None."""

    stimulus_ma: np.ndarray
    response_mv: np.ndarray
    area_mv_ms: np.ndarray | None
    source: str


def _allowed() -> str:
    return "; ".join(f"{q}: {'/'.join(names)} with unit {UNIT_SPELLING[q]}" for q, (names, _) in COLUMNS.items())


def _column(cell: str, where: str) -> tuple[str, float]:
    """(quantity, unit factor) of one header cell, or an error naming it and what is allowed."""
    m = re.fullmatch(r"\s*([A-Za-z]+)\s*(?:[_ ]\s*|\(\s*|\[\s*)([A-Za-z*/ ]+?)\s*[)\]]?\s*", cell)
    if m:
        name, unit = m.group(1).lower(), re.sub(r"[*/ ]", "", m.group(2)).lower().replace("µ", "u")
        for quantity, (names, units) in COLUMNS.items():
            if name in names:
                if unit not in units:
                    raise EndplateInputError(
                        f"{where}, header: column {cell.strip()!r} has unit {m.group(2)!r}; allowed units for "
                        f"{quantity}: {UNIT_SPELLING[quantity]}"
                    )
                return quantity, units[unit]
    raise EndplateInputError(f"{where}, header: unknown column {cell.strip()!r}; allowed columns (name_unit): {_allowed()}")


def _delimiter(header: str) -> str:
    return next((d for d in (",", "\t", ";") if d in header), ",")


def parse_scan_csv(text: str, where: str) -> ScanRecording:
    """The scan in CSV ``text``; ``where`` names the file in messages."""
    lines = [(i, line) for i, line in enumerate(text.splitlines(), 1) if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise EndplateInputError(f"{where}: empty (no header and no rows); the first line must name the columns: {_allowed()}")
    header_line, header = lines[0]
    sep = _delimiter(header)
    cells = header.split(sep)
    kinds = [_column(c, where) for c in cells]
    names = [q for q, _ in kinds]
    for quantity in set(names):
        if names.count(quantity) > 1:
            raise EndplateInputError(f"{where}, header: more than one {quantity} column; give each quantity once")
    for quantity in ("stimulus", "response"):
        if quantity not in names:
            raise EndplateInputError(f"{where}, header: no {quantity} column; allowed columns (name_unit): {_allowed()}")
    values = np.empty((len(lines) - 1, len(cells)))
    for row, (line_no, line) in enumerate(lines[1:], 1):
        parts = line.split(sep)
        if len(parts) != len(cells):
            raise EndplateInputError(f"{where}, row {row} (line {line_no}): {len(parts)} cells, the header has {len(cells)}")
        for col, cell in enumerate(parts):
            try:
                values[row - 1, col] = float(cell)
            except ValueError:
                raise EndplateInputError(
                    f"{where}, row {row} (line {line_no}), column {cells[col].strip()!r}: {cell.strip()!r} is not a number"
                ) from None
            if not np.isfinite(values[row - 1, col]):
                raise EndplateInputError(
                    f"{where}, row {row} (line {line_no}), column {cells[col].strip()!r}: {cell.strip()!r} is not a finite number"
                )
    by = {q: values[:, i] * factor for i, (q, factor) in enumerate(kinds)}
    return checked(by["stimulus"], by["response"], by.get("area"), where, [c.strip() for c in cells], names)


def checked(
    stimulus_ma: np.ndarray,
    response_mv: np.ndarray,
    area: np.ndarray | None,
    where: str,
    cells: list[str] | None = None,
    names: list[str] | None = None,
) -> ScanRecording:
    """A scan whose values are physically possible: enough stimuli, positive intensities and amplitudes."""

    def column(quantity: str) -> str:
        return repr(cells[names.index(quantity)]) if cells and names else quantity

    if stimulus_ma.size < MIN_STIMULI:
        raise EndplateInputError(f"{where}: {stimulus_ma.size} stimuli; a CMAP scan needs at least {MIN_STIMULI}")
    for quantity, v in (("stimulus", stimulus_ma), ("response", response_mv), ("area", area)):
        if v is None:
            continue
        bad = np.flatnonzero(v < 0) if quantity != "response" else np.flatnonzero(v < -1.0)
        if bad.size:
            raise EndplateInputError(
                f"{where}, row {bad[0] + 1}, column {column(quantity)}: {v[bad[0]]:g} is negative; "
                + (
                    "give the baseline-to-negative-peak amplitude as a positive number"
                    if quantity == "response"
                    else f"a {quantity} is at least 0"
                )
            )
    if np.ptp(stimulus_ma) <= 0:
        raise EndplateInputError(f"{where}, column {column('stimulus')}: every stimulus is the same; a scan varies the intensity")
    return ScanRecording(stimulus_ma, response_mv, area, where)


def _read_nwb(path: Path, where: str) -> ScanRecording:
    from pynwb import NWBHDF5IO

    try:
        with NWBHDF5IO(str(path), "r") as io:
            nwb = io.read()
            stimuli = [s for s in nwb.stimulus.values() if getattr(s, "unit", "") == "amperes"]
            if len(stimuli) != 1:
                raise EndplateInputError(f"{where}: needs one stimulus series in amperes, found {len(stimuli)}")
            stimulus = np.asarray(stimuli[0].data[:], float) * stimuli[0].conversion * 1e3
            responses = [
                a
                for a in nwb.acquisition.values()
                if getattr(a, "unit", "") == "volts" and np.shape(a.data)[:1] == stimulus.shape[:1]
            ]
            if len(responses) != 1:
                raise EndplateInputError(
                    f"{where}: needs one acquisition series in volts with one value or sweep per stimulus "
                    f"({stimulus.size}), found {len(responses)}"
                )
            data = np.asarray(responses[0].data[:], float) * responses[0].conversion * 1e3
    except EndplateInputError:
        raise
    except Exception as exc:  # h5py and pynwb raise many types for a damaged or foreign file
        raise EndplateInputError(f"{where}: not a readable NWB file ({type(exc).__name__}: {exc})") from None
    response = -data.min(axis=1) if data.ndim == 2 else data
    return checked(stimulus, response, None, where)


def read_scan(path: Path) -> ScanRecording:
    """The scan in the CSV or NWB file ``path`` (told apart by content, not by name)."""
    where = f"scan file {str(path)!r}"
    if not path.is_file():
        raise EndplateInputError(f"{where}: " + ("is a folder" if path.is_dir() else "does not exist"))
    with open(path, "rb") as fh:
        if fh.read(len(HDF5_MAGIC)) == HDF5_MAGIC:
            return _read_nwb(path, where)
    text, where = read_text(path, "scan", MAX_SCAN_BYTES)
    if "\x00" in text:
        raise EndplateInputError(f"{where}: not a CSV text file (it holds binary data)")
    return parse_scan_csv(text, where)
