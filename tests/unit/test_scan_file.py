"""Reading a recorded CMAP scan: columns by name and unit, any order, and clear refusals."""

import numpy as np
import pytest

from endplate.errors import EndplateInputError
from endplate.io.scan_file import MIN_STIMULI, parse_scan_csv, read_scan


def _rows(n=MIN_STIMULI):
    s = np.linspace(12.0, 6.0, n)
    return s, 10.0 / (1 + np.exp(-(s - 9.0) * 3))


def _csv(header, cols):
    return header + "\n" + "\n".join(",".join(f"{v:g}" for v in row) for row in zip(*cols)) + "\n"


def test_columns_in_any_order_with_units_converted():
    s, y = _rows()
    scan = parse_scan_csv("# a comment\n" + _csv("amplitude (uV),stimulus [mA]", [y * 1000, s]), "t")
    assert np.allclose(scan.stimulus_ma, s) and np.allclose(scan.response_mv, y, rtol=1e-5)
    assert scan.area_mv_ms is None


def test_optional_area_column_is_read():
    s, y = _rows()
    scan = parse_scan_csv(_csv("stimulus_mA,cmap_mV,area_mVms", [s, y, 2 * y]), "t")
    assert np.allclose(scan.area_mv_ms, 2 * y, rtol=1e-5)


@pytest.mark.parametrize(
    "text, words",
    [
        ("", ["empty"]),
        ("# only a comment\n", ["empty"]),
        ("stimulus_mA,force_N\n1,2\n", ["unknown column 'force_N'", "allowed columns"]),
        ("stimulus_mA,cmap_mA\n1,2\n", ["unit 'mA'", "mV, uV, V"]),
        ("stimulus_mA\n1\n", ["no response column"]),
        ("stimulus_mA,cmap_mV,amplitude_mV\n1,2,3\n", ["more than one response"]),
    ],
)
def test_bad_headers_are_refused_by_name(text, words):
    with pytest.raises(EndplateInputError) as info:
        parse_scan_csv(text, "scan file 'x.csv'")
    assert all(w in str(info.value) for w in words), str(info.value)


def test_non_numeric_cell_names_row_line_and_column():
    s, y = _rows()
    lines = _csv("stimulus_mA,cmap_mV", [s, y]).splitlines()
    lines[3] = "7.5,abc"
    with pytest.raises(EndplateInputError, match=r"row 3 \(line 4\), column 'cmap_mV': 'abc' is not a number"):
        parse_scan_csv("\n".join(lines), "t")


def test_too_few_stimuli_and_negative_stimulus_are_refused():
    s, y = _rows(10)
    with pytest.raises(EndplateInputError, match=f"at least {MIN_STIMULI}"):
        parse_scan_csv(_csv("stimulus_mA,cmap_mV", [s, y]), "t")
    s, y = _rows()
    s[4] = -1
    with pytest.raises(EndplateInputError, match="row 5, column 'stimulus_mA': -1 is negative"):
        parse_scan_csv(_csv("stimulus_mA,cmap_mV", [s, y]), "t")


def test_missing_binary_and_non_nwb_hdf5_files_are_refused(tmp_path):
    with pytest.raises(EndplateInputError, match="does not exist"):
        read_scan(tmp_path / "none.csv")
    (tmp_path / "b.csv").write_bytes(b"\x00\x01\x02stimulus")
    with pytest.raises(EndplateInputError, match="not a CSV text file"):
        read_scan(tmp_path / "b.csv")
    (tmp_path / "h.nwb").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(EndplateInputError, match="not a readable NWB file"):
        read_scan(tmp_path / "h.nwb")


def test_nwb_scan_written_by_the_package_reads_back(tmp_path):
    from endplate.io.nwb import write_nwb

    s, y = _rows(80)
    scan = {"stimulus_ma": s, "cmap_mv": y, "units_firing": np.zeros(80, int), "true_units": 3}
    write_nwb(tmp_path / "scan.nwb", "cmap-scan", scan, {"seed": 1, "species": "human", "muscle": "APB"})
    back = read_scan(tmp_path / "scan.nwb")
    assert np.allclose(back.stimulus_ma, s) and np.allclose(back.response_mv, y)


def test_nwb_sweeps_per_stimulus_are_read_as_negative_peaks(tmp_path):
    from datetime import UTC, datetime

    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    s, y = _rows(60)
    t = np.linspace(-1, 1, 41)  # holds t = 0, where each sweep peaks
    sweeps = -y[:, None] * np.exp(-(t[None, :] ** 2) * 8) * 1e-3  # volts, negative-first wave per stimulus
    nwb = NWBFile(session_description="other lab", identifier="x", session_start_time=datetime.now(UTC))
    nwb.add_stimulus(TimeSeries(name="stim", data=s * 1e-3, unit="amperes", rate=1.0))
    nwb.add_acquisition(TimeSeries(name="sweeps", data=sweeps, unit="volts", rate=1.0))
    with NWBHDF5IO(str(tmp_path / "o.nwb"), "w") as io:
        io.write(nwb)
    back = read_scan(tmp_path / "o.nwb")
    assert np.allclose(back.stimulus_ma, s) and np.allclose(back.response_mv, y, rtol=1e-6)
