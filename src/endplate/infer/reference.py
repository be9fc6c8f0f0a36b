"""The reference table of the scan inference: labelled scans drawn from the prior, simulated once.

Inference is amortised (simulate once, store, infer many times). The table has two parts:

- ``simulate_reference`` draws ``per_muscle`` labelled scans of every muscle in
  ``scans.SCAN_MUSCLES`` with seeds from ``REFERENCE_FIRST_SEED`` on (stages healthy,
  reinnervated, late of ``scans.STAGES``);
- ``simulate_course`` adds ``COURSE_RUNS`` disease runs per muscle (``scans.course_scans``, run
  seeds from ``COURSE_FIRST_SEED``), each looked at on a few days of its course: the muscles as the
  disease model itself leaves them, whose remnant units the first part does not draw. Without
  them the inference counted about half the units of the model's own ALS muscles, with intervals
  that excluded the truth (docs/mune.md).

Each row keeps a ``group``: scans of one disease run share it (they are the same muscle), and
cross-fitting and calibration split the table by group, never inside one. The bundled table
(``data/scan_reference.npz``) was written by ``python -m endplate.infer.reference TABLE RAW``
(about 30 minutes on one core; after a refit of a species, ``python -m endplate.infer.reference
redraw-course TABLE SPECIES`` redraws that species' course runs, ``redraw_course``); benchmark scans use other seeds (``BENCHMARK_FIRST_SEED``), so no
benchmark scan is in the table.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from endplate.infer.scans import COURSE, SCAN_MUSCLES, STAGES, course_scans, labelled_scan
from endplate.infer.summaries import levels, sorted_scan, summaries

REFERENCE_FIRST_SEED = 10_000_000
BENCHMARK_FIRST_SEED = 20_000_000
COURSE_FIRST_SEED = 30_000_000
PER_MUSCLE = 2000
COURSE_RUNS = 100  # disease runs per muscle in the table, 16 scans each (scans.course_scans)
# Stage codes of the table: the prior's stages, then the disease course.
TABLE_STAGES = (*STAGES, COURSE)
# Quantities stored for each reference scan, inferred beside the unit count (amplitudes in uV).
QUANTITIES = (
    "log_units",
    "mean_amplitude_uv",
    "amplitude_p10_uv",
    "amplitude_p50_uv",
    "amplitude_p90_uv",
    "largest_amplitude_uv",
    "threshold_cv",
    "threshold_noise_rsd",
)


def quantities(scan) -> np.ndarray:
    """The stored truth of one labelled scan, in the order of ``QUANTITIES``."""
    amp_uv = scan.unit_amplitude_mv * 1e3
    thr = scan.unit_threshold_ma
    return np.array(
        [
            np.log(scan.true_units),
            amp_uv.mean(),
            *np.percentile(amp_uv, [10, 50, 90]),
            amp_uv.max(),
            thr.std() / thr.mean(),
            scan.threshold_noise_rsd,
        ]
    )


def scan_columns(raw: np.ndarray) -> dict:
    """Summaries (rows, N_FEATURES) and CMAP (rows,) in mV of raw scans (rows, 2, stimuli)."""
    raw = raw.astype(float)
    cmap = [levels(*sorted_scan(r[0], r[1])) for r in raw]
    return {
        "features": np.array([summaries(r[0], r[1]) for r in raw], np.float32),
        "cmap_mv": np.array([top - base for base, top, _ in cmap], np.float32),
    }


def simulate_reference(per_muscle: int, first_seed: int, progress: Callable[[int], None] | None = None) -> dict:
    """Summaries and truths of ``per_muscle`` scans of each muscle; seeds ``first_seed`` + row."""
    rows = per_muscle * len(SCAN_MUSCLES)
    truth, muscle, stage, scans = [], [], [], []
    for row in range(rows):
        species, name = SCAN_MUSCLES[row % len(SCAN_MUSCLES)]
        scan = labelled_scan(first_seed + row, species, name)
        scans.append(np.stack([scan.stimulus_ma, scan.cmap_mv]))
        truth.append(quantities(scan))
        muscle.append(row % len(SCAN_MUSCLES))
        stage.append(STAGES.index(scan.stage))
        if progress is not None and (row + 1) % 100 == 0:
            progress(row + 1)
    raw = np.array(scans, np.float32)
    return {
        **scan_columns(raw),
        "truth": np.array(truth, np.float32),
        "muscle": np.array(muscle, np.int8),
        "stage": np.array(stage, np.int8),
        "group": np.arange(rows, dtype=np.int64),  # every scan its own muscle
        "first_seed": np.int64(first_seed),
        "raw": raw,  # (rows, 2, N_STIMULI): stimulus (mA) and response (mV)
    }


def course_run(k: int, first_seed: int, first_group: int) -> dict | None:
    """The rows of disease run ``k`` (muscle ``k % len(SCAN_MUSCLES)``, seed ``first_seed`` + k, group
    ``first_group`` + k), raw scans included; None if it left no scan to infer."""
    scans = course_scans(first_seed + k, *SCAN_MUSCLES[k % len(SCAN_MUSCLES)])
    if not scans:
        return None
    raw = np.array([np.stack([scan.stimulus_ma, scan.cmap_mv]) for scan in scans], np.float32)
    n = len(scans)
    return {
        **scan_columns(raw),
        "truth": np.array([quantities(scan) for scan in scans], np.float32),
        "muscle": np.full(n, k % len(SCAN_MUSCLES), np.int8),
        "stage": np.full(n, TABLE_STAGES.index(COURSE), np.int8),
        "group": np.full(n, first_group + k, np.int64),
        "raw": raw,
    }


def simulate_course(runs: int, first_seed: int, first_group: int, progress: Callable[[int], None] | None = None) -> dict:
    """The disease-course part of the table: ``runs`` runs of every muscle, run seeds ``first_seed`` + k.

    Run k is of muscle ``k % len(SCAN_MUSCLES)``; its scans share the group ``first_group`` + k.
    """
    parts = []
    for k in range(runs * len(SCAN_MUSCLES)):
        rows = course_run(k, first_seed, first_group)
        if rows is not None:
            parts.append(rows)
        if progress is not None:
            progress(k + 1)
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def joined(first: dict, second: dict) -> dict:
    """The rows of table ``first`` followed by those of ``second`` (scalars kept from ``first``)."""
    return {k: np.concatenate([v, second[k]]) if np.ndim(v) else v for k, v in first.items()}


@cache
def bundled_reference() -> dict:
    """The reference table shipped with the package (read once)."""
    with resources.files("endplate.data").joinpath("scan_reference.npz").open("rb") as fh:
        with np.load(fh) as data:
            return {k: data[k] for k in data.files}


def write_reference(path: Path, raw_path: Path, per_muscle: int = PER_MUSCLE, course_runs: int = COURSE_RUNS) -> None:
    """Simulate the reference table and save it (compressed ``.npz``) at ``path``, the raw scans at ``raw_path``.

    The raw scans (about 40 MB, not shipped) let the summaries be recomputed without simulating
    again (``resummarise``).
    """
    table = simulate_reference(per_muscle, REFERENCE_FIRST_SEED, lambda n: print(f"{n} scans", file=sys.stderr, flush=True))
    course = simulate_course(
        course_runs, COURSE_FIRST_SEED, table["group"].size, lambda n: print(f"{n} course runs", file=sys.stderr, flush=True)
    )
    table = joined(table, course)
    np.savez_compressed(raw_path, raw=table.pop("raw"))
    np.savez_compressed(path, **table)


def resummarise(path: Path, raw_path: Path) -> None:
    """Recompute the summaries and CMAP of the table at ``path`` from its raw scans (after a change of ``summaries``)."""
    with np.load(path) as data:
        table = {k: data[k] for k in data.files}
    with np.load(raw_path) as data:
        table.update(scan_columns(data["raw"]))
    np.savez_compressed(path, **table)


def redraw_course(path: Path, species: str) -> None:
    """Simulate the disease-course runs of ``species`` in the table at ``path`` again, in their places.

    The course runs follow the species' calibration (``scans.COURSE_SCENARIO`` takes the shipped
    preset), so a refit changes them; the prior's rows and the other species' runs do not move.
    The result is the table ``write_reference`` would write with today's code and presets (its
    summaries to float32 rounding), at a fraction of the cost (the 100 mouse runs: under a minute).
    """
    with np.load(path) as data:
        table = {k: data[k] for k in data.files}
    course = table["stage"] == TABLE_STAGES.index(COURSE)
    first_group = int(table["group"][course].min())
    runs = int(table["group"][course].max()) - first_group + 1
    keys = ("features", "cmap_mv", "truth", "muscle", "stage", "group")
    parts: dict[str, list] = {k: [table[k][~course]] for k in keys}
    for k in range(runs):
        if SCAN_MUSCLES[k % len(SCAN_MUSCLES)][0] != species:
            for key in keys:
                parts[key].append(table[key][table["group"] == first_group + k])
        elif (rows := course_run(k, COURSE_FIRST_SEED, first_group)) is not None:
            for key in keys:
                parts[key].append(rows[key])
    out: dict = {k: np.concatenate(v) for k, v in parts.items()}
    out["first_seed"] = table["first_seed"]
    np.savez_compressed(path, **out)


if __name__ == "__main__":
    if sys.argv[1] == "resummarise":
        resummarise(Path(sys.argv[2]), Path(sys.argv[3]))
    elif sys.argv[1] == "redraw-course":
        redraw_course(Path(sys.argv[2]), sys.argv[3])
    else:
        write_reference(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else PER_MUSCLE)
