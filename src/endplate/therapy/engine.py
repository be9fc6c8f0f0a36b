"""Running a trial: batches of subjects on Dask workers, results streamed into a Zarr store.

Every batch is a fixed range of subject indices and every subject has its own seed, so a batch's
result does not depend on which worker ran it or when. The client writes each batch into the store
as it finishes, then marks it done; an interrupted trial, run again with the same store, submits
only the batches not marked done and ends with exactly the dataset an uninterrupted run gives.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import xarray as xr

from endplate._version import __version__
from endplate.cluster import Interrupted, connect, disconnect
from endplate.errors import EndplateInputError
from endplate.provenance import provenance_attrs
from endplate.therapy.trial import Trial

PER_VISIT_MUSCLE = ("cmap_mv", "mune", "mune_true", "force_percent")
PER_VISIT = ("composite",)
PER_SUBJECT = ("start_day", "onset_day", "death_day", "followup_days")
COVARIATES = ("age_years", "progression_factor", "midpoint_shift_days")
CATEGORIES = {"site_of_onset": ("upper_limb", "lower_limb", "bulbar"), "sex": ("female", "male")}
BATCH_ARRAYS = PER_VISIT_MUSCLE + PER_VISIT + PER_SUBJECT + COVARIATES + tuple(CATEGORIES) + ("enrolled",)
ARRAYS = BATCH_ARRAYS + ("done",)  # every array of a store; "done" marks the batches written


def run_batch(trial: Trial, lo: int, hi: int) -> dict:
    """Simulate subjects ``lo``..``hi - 1`` (runs on a worker; one thread, so workers do not compete)."""
    import numba

    from endplate.therapy.cohort import allocate, draw_subject
    from endplate.therapy.subject import simulate_subject

    numba.set_num_threads(1)
    cpu0 = time.process_time()
    known, arms = trial.known_interventions(), allocate(trial)
    rows = []
    for i in range(lo, hi):
        subject = draw_subject(trial, i, arms[i])
        r = simulate_subject(trial, subject, known)
        for k in COVARIATES:
            r[k] = float(subject.covariates.get(k, np.nan))
        for k, names in CATEGORIES.items():
            r[k] = names.index(subject.covariates[k]) if k in subject.covariates else -1
        rows.append(r)
    keys = BATCH_ARRAYS
    return {
        "lo": lo,
        "hi": hi,
        "cpu_seconds": time.process_time() - cpu0,
        **{k: np.stack([np.asarray(r[k]) for r in rows]) for k in keys},
    }


ZARR_METADATA = ("zarr.json", ".zgroup", ".zattrs", ".zmetadata")  # Zarr v3 and v2 group files


def _not_a_trial_store(path: Path) -> str | None:
    """Why ``path`` is not a trial store this package wrote, or None when it is one.

    A store is ours when its group attributes carry the trial settings and it holds nothing but
    the arrays ``_open_store`` creates: a file a user put there is never deleted with it.
    """
    import zarr

    if not path.is_dir():
        return "it is not a folder"
    strangers = sorted(p.name for p in path.iterdir() if p.name not in ARRAYS + ZARR_METADATA)
    if strangers:
        return f"it holds {', '.join(map(repr, strangers[:3]))}{' and more' if len(strangers) > 3 else ''}, which a trial store never does"
    try:
        attrs = zarr.open_group(str(path), mode="r").attrs
    except Exception:  # noqa: BLE001 - any reader failure means "not a Zarr group"
        return "it is not a Zarr group"
    if "settings" not in attrs or "trial" not in attrs:
        return "its Zarr attributes carry no trial settings"
    return None


def check_store(trial: Trial, path: Path, fresh: bool) -> bool:
    """Refuse a store that cannot be resumed or replaced (before any cluster starts); True when one is there."""
    import zarr

    occupied = path.exists() and not (path.is_dir() and not any(path.iterdir()))  # an empty folder holds nothing
    if not occupied:
        if not path.resolve().parent.exists():
            raise EndplateInputError(f"store folder {str(path.parent)!r} does not exist")
        return False
    reason = _not_a_trial_store(path)
    if reason:
        action = "--fresh deletes only a trial store endplate wrote" if fresh else "it cannot be resumed"
        raise EndplateInputError(f"store {str(path)!r} is not a trial store ({reason}); {action}: choose another --store")
    if not fresh and zarr.open_group(str(path), mode="r").attrs.get("settings") != trial.settings_json():
        raise EndplateInputError(
            f"store {str(path)!r} holds a trial with other settings; use --fresh to start over or choose another --store"
        )
    return True


def _open_store(trial: Trial, path: Path, fresh: bool):
    """The store's Zarr group: the one at ``path`` to resume, or a new one (replacing it with ``fresh``)."""
    import zarr

    if check_store(trial, path, fresh):
        if not fresh:
            return zarr.open_group(str(path), mode="r+")
        shutil.rmtree(path)
    group = zarr.open_group(str(path), mode="w")
    n, b, v, m = trial.n_subjects, trial.batch_size, trial.n_visits, len(trial.muscles)
    for k in PER_VISIT_MUSCLE:
        group.create_array(k, shape=(n, v, m), chunks=(b, v, m), dtype="f8", fill_value=np.nan)
    for k in PER_VISIT:
        group.create_array(k, shape=(n, v), chunks=(b, v), dtype="f8", fill_value=np.nan)
    for k in PER_SUBJECT + COVARIATES:
        group.create_array(k, shape=(n,), chunks=(b,), dtype="f8", fill_value=np.nan)
    for k in CATEGORIES:
        group.create_array(k, shape=(n,), chunks=(b,), dtype="i1", fill_value=-1)
    group.create_array("enrolled", shape=(n,), chunks=(b,), dtype="bool", fill_value=False)
    group.create_array("done", shape=(len(_batches(trial)),), chunks=(len(_batches(trial)),), dtype="bool", fill_value=False)
    group.attrs.update({"settings": trial.settings_json(), "endplate_version": __version__, "trial": trial.name})
    return group


def _batches(trial: Trial) -> list[tuple[int, int]]:
    n, b = trial.n_subjects, trial.batch_size
    return [(lo, min(lo + b, n)) for lo in range(0, n, b)]


@contextlib.contextmanager
def dask_session(client=None, scheduler: str | None = None, workers: int = 2, processes: bool = True) -> Iterator:
    """``client`` itself, or a new client (``endplate.cluster.connect``) closed on the way out.

    After an interruption it is closed quietly: what Dask says of the work cut short is noise,
    since the finished batches are kept.
    """
    if client is not None:
        yield client
        return
    client, cluster = connect(scheduler, workers, processes)
    quiet = False
    try:
        yield client
    except (Interrupted, KeyboardInterrupt):
        quiet = True
        raise
    finally:
        disconnect(client, cluster, quiet)


def run_trial(
    trial: Trial,
    store: str | Path,
    *,
    client=None,
    scheduler: str | None = None,
    workers: int = 2,
    processes: bool = True,
    fresh: bool = False,
    stop_after: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    say: Callable[[str], None] | None = None,
    stats: dict | None = None,
) -> xr.Dataset | None:
    """Run (or resume) ``trial`` into the Zarr ``store``; returns the subjects' dataset when complete.

    ``client``: a Dask client to run on (else one is made from ``scheduler``, ``workers`` and
    ``processes`` and closed at the end). ``stop_after`` stops once that many batches have been
    written in this call (for testing an interruption); the function then returns None and the
    store holds the finished batches. ``progress(done, total)`` follows the batches; ``say``
    receives one line when a store is resumed. ``stats``, if given, receives the workers' CPU
    seconds of the batches run in this call.
    """
    path = Path(store)
    if path.suffix != ".zarr":
        raise EndplateInputError(f"--store must end in .zarr, got {str(path)!r}")
    if workers < 1:
        raise EndplateInputError(f"--workers must be at least 1, got {workers}")
    check_store(trial, path, fresh)  # a store that would be refused starts no cluster
    with dask_session(client, scheduler, workers, processes) as c:  # first: an unreachable scheduler leaves no store
        group = _open_store(trial, path, fresh)
        if _run_batches(c, trial, group, stop_after, progress, say, stats, str(path)):
            return store_dataset(trial, group)
        return None


def _run_batches(client, trial, group, stop_after, progress, say, stats, where: str) -> bool:
    """Submit the batches not yet done and write each as it finishes; False when stopped early."""
    from dask.distributed import as_completed

    batches = _batches(trial)
    done = group["done"][:]
    pending = [i for i, _ in enumerate(batches) if not done[i]]
    if say and done.any():
        say(
            f"resuming {where}: {int(done.sum())} of {len(batches)} batches already done"
            + ("" if pending else ", nothing to run")
        )
    if progress:
        progress(int(done.sum()), len(batches))
    futures = {client.submit(run_batch, trial, *batches[i], pure=False): i for i in pending}
    written = 0
    for fut in as_completed(futures):
        i = futures[fut]
        result = fut.result()
        if stats is not None:
            stats["cpu_seconds"] = stats.get("cpu_seconds", 0.0) + result["cpu_seconds"]
        _write(group, result, i)
        written += 1
        if progress:
            progress(len(batches) - len(pending) + written, len(batches))
        if stop_after is not None and written >= stop_after:
            for other in futures:
                other.cancel()
            return False
    return True


def _write(group, result: dict, batch: int) -> None:
    lo, hi = result["lo"], result["hi"]
    for k, v in result.items():
        if k not in ("lo", "hi", "cpu_seconds"):
            group[k][lo:hi] = v
    group["done"][batch] = True  # only after the data: a batch cut short is simply run again


def trial_calibration(trial: Trial) -> dict:
    """The shipped calibration every subject's scenario takes (its provenance and values), or {} for none."""
    from endplate.disease.calibrated import calibrated_values
    from endplate.disease.model import genotype

    found = calibrated_values(genotype(trial.genotype).calibrated_as, trial.hypothesis)
    return {} if found is None else {**found[1], "values": found[0]}


def store_dataset(trial: Trial, group) -> xr.Dataset:
    """The finished store as an xarray Dataset (subject, visit, muscle) with the arm of each subject."""
    from endplate.therapy.analysis import eligible
    from endplate.therapy.cohort import allocate

    n = trial.n_subjects
    visit_day = np.arange(trial.n_visits) * trial.visit_every_days
    data = {k: (("subject", "visit", "muscle"), group[k][:]) for k in PER_VISIT_MUSCLE}
    data.update({k: (("subject", "visit"), group[k][:]) for k in PER_VISIT})
    data.update({k: (("subject",), group[k][:]) for k in PER_SUBJECT + COVARIATES + tuple(CATEGORIES) + ("enrolled",)})
    data["arm"] = (("subject",), np.array(allocate(trial), dtype=str))
    ds = xr.Dataset(data, coords={"subject": np.arange(n), "visit_day": ("visit", visit_day), "muscle": list(trial.muscles)})
    # Screen failures (enrichment) were randomised and simulated but are not enrolled.
    passed = eligible(ds, trial.enrichment)
    ds["screen_failure"] = ("subject", ds["enrolled"].values & ~passed)
    ds["enrolled"] = ds["enrolled"] & passed
    ds.attrs.update(
        {
            **provenance_attrs("trial", trial.seed, calibration=trial_calibration(trial)),
            "trial": trial.name,
            "settings": trial.settings_json(),
            "categories": json.dumps(CATEGORIES),
            "interventions": json.dumps(
                {a: [e if isinstance(e, str) else list(e) for e in plan] for a, plan in trial.arms.items()}
            ),
            "assumed_effects": json.dumps(assumed_effects(trial)),
        }
    )
    return ds


def assumed_effects(trial: Trial) -> dict:
    """The effects this trial's simulation assumed for the interventions of its arms (drawn once
    from the trial's seed where uncertain), beside their point values, ranges and evidence."""
    from endplate.therapy.interventions import effects_record, load_interventions

    names = [name for arm in trial.arms for name in trial.intervention_names(arm)]
    return effects_record(trial.known_interventions(), load_interventions(*trial.interventions_files), names)
