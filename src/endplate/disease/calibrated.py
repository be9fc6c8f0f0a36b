"""Shipped calibrated parameter sets (``presets/calibrated/<problem>.toml``): the reader.

Each file holds, per hypothesis, the posterior medians of the fitted parameters, the posterior
model probabilities and the fit's provenance (settings, seed, date). The disease layer applies the
values for a scenario's genotype and hypothesis as defaults (``scenario.set`` still wins); the
files are written by ``endplate fit --preset-out`` (``calibrate/preset_writer.py``). They are disease
presets like ``disease.toml``, so they are read here, beside the scenario that applies them.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources


@cache
def calibrated_presets() -> dict[str, dict]:
    """Every shipped calibration, keyed by problem name."""
    folder = resources.files("endplate.presets").joinpath("calibrated")
    if not folder.is_dir():
        return {}
    return {p.name[:-5]: tomllib.loads(p.read_text()) for p in folder.iterdir() if p.name.endswith(".toml")}


def model_changes(preset: dict) -> dict[str, dict]:
    """The scenario changes of each fitted model of ``preset`` (``[model_changes]``).

    Presets written before that table existed name their models by convention: the hypothesis
    alone (first partner presynaptic, the default) or ``<hypothesis>_<partner>_first``.
    """
    if "model_changes" in preset:
        return {name: dict(changes) for name, changes in preset["model_changes"].items()}
    out = {}
    for name in preset.get("values", {}):
        hypothesis, _, partner = name.partition("_first")[0].rpartition("_") if name.endswith("_first") else (name, "", "")
        out[name] = {"hypothesis": hypothesis, **({"first_partner": partner} if partner else {})}
    return out


def calibrated_values(genotype: str, hypothesis: str, first_partner: str = "presynaptic") -> tuple[dict[str, float], dict] | None:
    """(values keyed as scenario ``set`` keys, provenance) fitted for this genotype, hypothesis and first partner, or None.

    The model is the one whose scenario changes are this hypothesis and first partner (a model
    that names no partner has the default, presynaptic); where that partner was not fitted with
    this hypothesis, the default partner's values, with ``first_partner_fitted = False`` in the
    provenance. A preset with ``apply = false`` (and its
    ``apply_reason``) is shipped for the record and for ``endplate compare`` but does not replace
    the hand-set defaults.
    """
    exact = _calibrated_model(genotype, {"hypothesis": hypothesis, "first_partner": first_partner})
    if exact is not None or first_partner == "presynaptic":
        return exact
    # No fit of this partner with this hypothesis: the hypothesis's default-partner values, said so.
    found = _calibrated_model(genotype, {"hypothesis": hypothesis, "first_partner": "presynaptic"})
    return None if found is None else (found[0], {**found[1], "first_partner_fitted": False})


def _calibrated_model(genotype: str, wanted: dict) -> tuple[dict[str, float], dict] | None:
    for problem, preset in sorted(calibrated_presets().items()):
        if preset.get("genotype") != genotype or not preset.get("apply", True):
            continue
        for model, changes in model_changes(preset).items():
            values = preset.get("values", {}).get(model)
            if values and {"first_partner": "presynaptic", **changes} == wanted:
                provenance = {
                    "problem": problem,
                    "hypothesis": wanted["hypothesis"],
                    "model": model,
                    "winner": preset.get("winner", ""),
                    "date": preset.get("date", ""),
                    "seed": preset.get("seed", 0),
                    "model_probability": preset.get("model_probabilities", {}).get(model),
                }
                return {k: float(v) for k, v in values.items()}, provenance
    return None
