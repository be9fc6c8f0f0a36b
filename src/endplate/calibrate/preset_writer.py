"""Write a calibrated preset (``presets/calibrated/<problem>.toml``) from a fit result.

The reader is ``disease/calibrated.py``; this file is the only writer.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from endplate.calibrate.compare import payload_from_dataset, seed_spread
from endplate.calibrate.fit import pooled_medians
from endplate.calibrate.problem import load_problem
from endplate.disease.scenario import load_scenario
from endplate.io.atomic import atomic_path


def write_preset(fits: list, path: Path) -> None:
    """Write the calibrated preset of fit results ``fits`` to ``path`` (atomically): one fit, or
    several of one problem and settings with different seeds (``preset_toml``)."""
    problem = load_problem(fits[0].attrs["problem"])
    genotype = load_scenario(problem.scenario, calibrated=False).genotype
    with atomic_path(path) as tmp:
        tmp.write_text(preset_toml(fits, genotype))


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(float(v)) if isinstance(v, float) else str(v)
    if v is None:
        return '"nan"'
    return json.dumps(str(v))  # a JSON string is a valid TOML basic string


def _inline(d: dict) -> str:
    return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(_finite(v))}" for k, v in d.items()) + " }"


def _finite(v):
    return v if not isinstance(v, float) or math.isfinite(v) else None


def preset_toml(fits: list, genotype: str) -> str:
    """A calibrated preset from fit results: per-hypothesis posterior medians, probabilities, provenance.

    Several fits that differ only in their seed (the first gives provenance and the targets'
    predictive intervals): the values are the medians of all seeds' particles
    (``fit.pooled_medians``), the model probabilities the mean over seeds and the winner the model
    of the highest mean, so the shipped verdict is the seeds' together, not the first seed's; their
    spread (``compare.seed_spread``) is stored as ``[seed_spread]``, the Monte Carlo error of the
    model probabilities.
    """
    ds = fits[0]
    payload = payload_from_dataset(ds)
    medians = pooled_medians(fits)
    spread = seed_spread(fits) if len(fits) > 1 else None
    if spread is not None:
        probabilities = {m["name"]: m["mean"] for m in spread["models"]}
        winner = max(probabilities, key=lambda k: probabilities[k])
    else:
        probabilities = {h["name"]: h["probability"] for h in payload["hypotheses"]}
        winner = ds.attrs["winner"]
    seeds = [int(f.attrs["seed"]) for f in fits]
    lines = [
        f"# Calibrated values for problem {ds.attrs['problem']!s}, written by `endplate fit` (do not edit by hand).",
        "# Per hypothesis: posterior medians of the fitted parameters (scenario `set` keys). The disease layer",
        "# applies them as defaults to scenarios of this genotype and hypothesis; a scenario's `set` still wins.",
        f"problem = {_toml_value(ds.attrs['problem'])}",
        f"genotype = {_toml_value(genotype)}",
        "apply = true  # false: shipped for the record, not applied as defaults (say why in apply_reason)",
        f"winner = {_toml_value(winner)}",
        f"date = {_toml_value(ds.attrs['created'])}",
        f"seed = {seeds[0]}",
        f"seeds = {json.dumps(seeds)}  # values: medians of these seeds' particles pooled; probabilities: their mean",
        f"settings = {_toml_value(ds.attrs['settings'])}",
        f"simulations = {int(ds.attrs.get('simulations_all_stages', ds.attrs['simulations']))}  # all stages",
        f"wall_seconds = {float(ds.attrs.get('wall_seconds_all_runs', ds.attrs['wall_seconds'])):.1f}  # all invocations",
        f"population_floor = {payload['population_floor']!r}",
        f"endplate_version = {_toml_value(ds.attrs['endplate_version'])}",
        f"pyabc_version = {_toml_value(ds.attrs['pyabc_version'])}",
        f"method = {_toml_value(ds.attrs['method'])}",
        f"scenario_changes = {_toml_value(ds.attrs['scenario_changes'])}",
        "",
        "[model_changes]  # the scenario changes of each model: which values a scenario takes",
        *(f"{m.name} = {_inline(m.changes)}" for m in load_problem(ds.attrs["problem"]).models),
        "",
        "[model_probabilities]",
        *(f"{name} = {p!r}" for name, p in probabilities.items()),
        "",
    ]
    for name, values in medians.items():
        lines += [f"[values.{name}]", *(f"{json.dumps(k)} = {v!r}" for k, v in values.items()), ""]
    for t in payload["targets"]:
        lines += ["[[targets]]", *(f"{k} = {_toml_value(_finite(v))}" for k, v in t.items() if _finite(v) is not None), ""]
    for item in payload["leave_one_source_out"]:
        lines += [
            "[[leave_one_source_out]]",
            f"source = {_toml_value(item['source'])}",
            f"probabilities = {_inline(item['probabilities'])}",
            "",
        ]
    if spread is not None:
        lines += _spread_lines(spread)
    return "\n".join(lines)


def _spread_lines(spread: dict) -> list[str]:
    lines = [
        "# Model probabilities of fits with these settings and other seeds (the Monte Carlo error of the verdict).",
        "[seed_spread]",
        f"problem = {_toml_value(spread['problem'])}",
        *(f"{k} = {json.dumps(spread[k])}" for k in ("seeds", "winners", "simulations")),
        "",
    ]
    for m in spread["models"]:
        lines += [
            "[[seed_spread.models]]",
            f"name = {_toml_value(m['name'])}",
            *(f"{k} = {m[k]!r}" for k in ("mean", "sd", "min", "max")),
            f"probabilities = {json.dumps(m['probabilities'])}",
            "",
        ]
    return lines
