"""What `endplate fit` and `endplate compare` print: hypotheses, Bayes factors, target checks.

A fit result (``fit-NAME.nc``) and a shipped calibrated preset (``presets/calibrated/NAME.toml``)
give the same payload, so ``endplate compare`` works from a fresh install.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import xarray as xr

from endplate.errors import EndplateInputError


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def payload_from_dataset(ds: xr.Dataset) -> dict:
    """The comparison of one fit: hypotheses with probabilities and Bayes factors, and every target."""
    names = ds.model.values.tolist()
    probs = ds.model_probability.values
    best = float(probs.max())
    hypotheses = [
        {"name": n, "probability": float(p), "bayes_factor_best_over_this": _num(best / p) if p > 0 else None}
        for n, p in zip(names, probs)
    ]
    targets = []
    for i, tid in enumerate(ds.target.values.tolist()):
        targets.append(
            {
                "id": tid,
                "quantity": str(ds.target_quantity.values[i]),
                "units": str(ds.target_units.values[i]),
                "observed": float(ds.observed.values[i]),
                "spread": float(ds.spread.values[i]),
                "predicted_low": _num(ds.predicted_low.values[i]),
                "predicted_median": _num(ds.predicted_median.values[i]),
                "predicted_high": _num(ds.predicted_high.values[i]),
                "covered": bool(ds.covered.values[i]),
                "loso_low": _num(ds.loso_low.values[i]),
                "loso_median": _num(ds.loso_median.values[i]),
                "loso_high": _num(ds.loso_high.values[i]),
                "source": str(ds.target_source.values[i]),
                "evidence": str(ds.target_evidence.values[i]),
            }
        )
    loso = [
        {"source": s, "probabilities": dict(zip(names, map(float, ds.loso_model_probability.values[j])))}
        for j, s in enumerate(ds.source.values.tolist())
    ]
    return {
        "problem": ds.attrs["problem"],
        "winner": ds.attrs["winner"],
        "hypotheses": hypotheses,
        "targets": targets,
        "leave_one_source_out": loso,
        "simulations": int(ds.attrs.get("simulations_all_stages", ds.attrs["simulations"])),
        "wall_seconds": float(ds.attrs.get("wall_seconds_all_runs", ds.attrs["wall_seconds"])),
        "settings": ds.attrs["settings"],
        "seed": int(ds.attrs["seed"]),
        "created": ds.attrs["created"],
        "population_floor": _floor(ds),
    }


def _floor(ds: xr.Dataset) -> float:
    """Smallest probability a model can show and stay alive: one particle of the final population."""
    n = int(ds.sizes.get("particle", 0))
    return 1.0 / n if n else math.nan


def payload_from_preset(name: str, preset: dict) -> dict:
    """The same payload from a shipped calibrated preset."""
    probs = preset["model_probabilities"]
    best = max(probs.values())
    hypotheses = [
        {"name": n, "probability": float(p), "bayes_factor_best_over_this": (best / p) if p > 0 else None}
        for n, p in probs.items()
    ]
    return {
        "problem": name,
        "winner": preset["winner"],
        "hypotheses": hypotheses,
        "targets": preset.get("targets", []),
        "leave_one_source_out": preset.get("leave_one_source_out", []),
        "simulations": preset.get("simulations"),
        "wall_seconds": preset.get("wall_seconds"),
        "settings": preset.get("settings"),
        "seed": preset.get("seed"),
        "created": preset.get("date"),
        "population_floor": preset.get("population_floor"),
        "seed_spread": preset.get("seed_spread"),
    }


MAIN_FIT_SETTINGS = ("population", "generations", "min_acceptance")  # what the verdict depends on besides the seed


def seed_spread(datasets: list[xr.Dataset]) -> dict:
    """Monte Carlo error of a verdict: model probabilities across fits that differ only in their seed.

    Returns {"problem", "seeds", "simulations" (main fit, per seed), "winners" (per seed), "models":
    [{"name", "mean", "sd" (across seeds, ddof 1), "min", "max", "probabilities" (per seed)}]}.
    """
    if len(datasets) < 2:
        raise EndplateInputError(f"a seed-to-seed spread needs at least 2 fits, got {len(datasets)}")
    first = datasets[0]
    seeds = [int(ds.attrs["seed"]) for ds in datasets]
    if len(set(seeds)) != len(seeds):
        raise EndplateInputError(f"the fits must have different seeds, got seeds {seeds}")
    for ds in datasets[1:]:
        _check_same_fit(first, ds)
    probs = np.array([ds.model_probability.values for ds in datasets])
    models = [
        {
            "name": name,
            "mean": float(col.mean()),
            "sd": float(col.std(ddof=1)),
            "min": float(col.min()),
            "max": float(col.max()),
            "probabilities": col.tolist(),
        }
        for name, col in zip(first.model.values.tolist(), probs.T)
    ]
    return {
        "problem": first.attrs["problem"],
        "seeds": seeds,
        "winners": [ds.attrs["winner"] for ds in datasets],
        "simulations": [int(ds.attrs["simulations"]) for ds in datasets],
        "models": models,
    }


def _check_same_fit(a: xr.Dataset, b: xr.Dataset) -> None:
    """Raise unless ``b`` fits the same problem, models, targets and main-fit settings as ``a``."""
    sa, sb = json.loads(a.attrs["settings"]), json.loads(b.attrs["settings"])
    differ = [k for k in MAIN_FIT_SETTINGS if sa.get(k) != sb.get(k)]
    if a.attrs["problem"] != b.attrs["problem"]:
        differ.append("problem")
    if a.model.values.tolist() != b.model.values.tolist():
        differ.append("models")
    if a.target.values.tolist() != b.target.values.tolist() or not np.array_equal(a.observed.values, b.observed.values):
        differ.append("targets")
    if differ:
        raise EndplateInputError(
            f"fits of seed {a.attrs['seed']} and seed {b.attrs['seed']} differ in "
            f"{', '.join(differ)}; a seed-to-seed spread compares fits that differ only in --seed"
        )


def load_result(path: str | Path) -> xr.Dataset:
    p = Path(path)
    if not p.is_file():
        raise EndplateInputError(f"no fit result {str(p)!r} (write one with `endplate fit PROBLEM --out {p.name}`)")
    try:
        ds = xr.load_dataset(p)
    except (OSError, ValueError) as exc:
        raise EndplateInputError(f"{str(p)!r} is not a readable NetCDF dataset ({exc})") from None
    if ds.attrs.get("endplate_result") != "fit":
        raise EndplateInputError(f"{str(p)!r} is not a fit result (endplate_result = {ds.attrs.get('endplate_result')!r})")
    return ds


def compare_payloads(results: list[str] | None) -> list[dict]:
    """Payloads for ``results`` (fit .nc files) or, without any, for every shipped calibration.

    Several results of one problem that differ only in their seed: the first payload carries
    their ``seed_spread``. A file that is a fit in name only is refused naming what it lacks.
    """
    if results:
        from endplate.io.datasets import structure_checked

        datasets = [load_result(r) for r in results]
        payloads = []
        for r, ds in zip(results, datasets):
            with structure_checked(repr(str(r)), "fit", ds.attrs.get("endplate_version", "unknown")):
                payloads.append(payload_from_dataset(ds))
        if len(datasets) > 1:
            with structure_checked(", ".join(repr(str(r)) for r in results), "fit", "several"):
                payloads[0]["seed_spread"] = seed_spread(datasets)
        return payloads
    from endplate.disease.calibrated import calibrated_presets

    presets = calibrated_presets()
    if not presets:
        raise EndplateInputError("no RESULT given and no calibration is shipped; run `endplate fit sod1-g93a` first")
    return [payload_from_preset(k, v) for k, v in sorted(presets.items())]


def json_payload(payloads: list[dict]) -> dict:
    """One JSON object: the first (or only) comparison at top level, all of them under ``problems``."""
    first = payloads[0]
    return {**first, "problems": payloads} if len(payloads) > 1 else first
