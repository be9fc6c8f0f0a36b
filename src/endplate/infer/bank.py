"""A bank of untreated virtual patients, simulated once from the human cohort prior and cached on disk.

Each bank member is one subject of the human virtual cohort (``therapy.cohort.draw_subject``: site
of onset, age, progression factor, its own seed) simulated by the therapy layer's subject runner
from the day its onset muscles lose force (the model's symptom onset) until end stage, with a
visit every ``visit_every_days``: ALSFRS-R-like score, CMAP amplitude, MUNE and force in every
bank muscle, and the day of end stage. The bank runs through ``therapy.engine.run_trial`` (Dask
workers, resumable store), so it is the same simulation as a trial's placebo arm.

The finished bank is written atomically to ``CACHE/patient-bank-KEY.nc``, KEY a hash of the package
version, every setting of the bank's trial and the shipped calibration its subjects take; CACHE is ``$ENDPLATE_CACHE_DIR``, else ``$XDG_CACHE_HOME/endplate``, else
``~/.cache/endplate``. A bank with other settings, from another version or from other model code is never reused.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import xarray as xr

from endplate._version import __version__

BANK_MUSCLES = ("APB", "ADM", "FDI", "biceps", "deltoid", "trapezius", "TA", "diaphragm")


@dataclass(frozen=True)
class BankSettings:
    """What the bank simulates: the cohort prior of ``trial`` (a bundled human trial: population,
    fidelity), ``subjects`` patients from ``seed``, visits every ``visit_every_days`` for at most
    ``max_days_from_onset`` after onset, MUNE by ``mune_method``."""

    subjects: int = 600
    seed: int = 2026
    muscles: tuple[str, ...] = BANK_MUSCLES
    visit_every_days: int = 30
    max_days_from_onset: int = 3600
    mune_method: str = "mps"
    trial: str = "nmj-stabiliser-human"

    def key(self) -> str:
        """16 hex digits naming this bank: the package version, every setting of the trial it runs
        (population, fidelity, genotype, hypothesis), the shipped calibration its subjects take and
        the fingerprint of the model's code and presets (``model_fingerprint``)."""
        from endplate.therapy.engine import trial_calibration

        trial = bank_trial(self)
        text = __version__ + trial.settings_json() + repr(sorted(trial_calibration(trial).get("values", {}).items()))
        return hashlib.sha256((text + model_fingerprint()).encode()).hexdigest()[:16]


# The code and presets a virtual patient's course depends on: a change to any of them (a new
# mechanism, a refitted spread) makes a new bank, though the version number stays the same.
MODEL_PACKAGES = ("disease", "therapy", "muscle", "junction", "kernels", "presets")


@functools.cache
def model_fingerprint() -> str:
    """SHA-256 of every source and preset file of ``MODEL_PACKAGES`` (names and bytes, sorted)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in MODEL_PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.suffix in (".py", ".toml") and path.is_file():
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def cache_dir() -> Path:
    """Where banks are kept (see the module docstring); created if missing."""
    root = os.environ.get("ENDPLATE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "endplate"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def bank_trial(settings: BankSettings):
    """The untreated single-arm trial whose subjects are the bank (visits from onset, day 0)."""
    from endplate.therapy.trial import load_trial

    trial = load_trial(
        settings.trial,
        allow_large=True,
        seed=settings.seed,
        subjects_per_arm=settings.subjects,
        muscles=list(settings.muscles),
        start={"relative_to": "onset", "day": 0},
        duration_days=settings.max_days_from_onset,
        visit_every_days=settings.visit_every_days,
        endpoints=["cmap", "mune", "force", "composite", "survival"],
        primary="composite",
        mune_method=settings.mune_method,
        batch_size=10,
    )
    return dataclasses.replace(
        trial, name="patient-bank", arms={"untreated": ()}, allocation={"untreated": 1}, control="untreated"
    )


def bank_path(settings: BankSettings) -> Path:
    """Where the bank of ``settings`` is cached (it may not exist yet)."""
    return cache_dir() / f"patient-bank-{settings.key()}.nc"


def cached_bank(settings: BankSettings = BankSettings()) -> xr.Dataset | None:
    """The cached bank of ``settings``, or None when it has not been built (nothing is simulated)."""
    from endplate.io.datasets import open_result

    path = bank_path(settings)
    return open_result(path) if path.is_file() else None


def load_bank(
    settings: BankSettings = BankSettings(),
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> xr.Dataset:
    """The bank for ``settings``: read from the cache, or simulated (resumably) and cached first.

    Dimensions: ``subject``, ``visit`` (day ``visit_day`` after onset), ``muscle``. Variables as a
    trial's (``composite``: ALSFRS-R-like score; ``cmap_mv``, ``mune``, ``mune_true``,
    ``force_percent``; ``death_day``: end stage, days after onset; covariates).
    """
    from endplate.io.datasets import write_dataset
    from endplate.therapy.engine import run_trial

    found = cached_bank(settings)
    if found is not None:
        return found
    path = bank_path(settings)
    store = path.with_suffix(".zarr")
    ds = run_trial(bank_trial(settings), store, workers=workers, progress=progress)
    assert ds is not None  # None only with stop_after, not used here
    ds.attrs["bank_key"] = settings.key()
    write_dataset(ds, path)
    shutil.rmtree(store)  # the store only served to resume an interrupted build
    return ds
