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


def calibrated_values(genotype: str, hypothesis: str) -> tuple[dict[str, float], dict] | None:
    """(values keyed as scenario ``set`` keys, provenance) fitted for this genotype and hypothesis, or None.

    A preset with ``apply = false`` (and its ``apply_reason``) is shipped for the record and for
    ``endplate compare`` but does not replace the hand-set defaults.
    """
    for problem, preset in sorted(calibrated_presets().items()):
        values = preset.get("values", {}).get(hypothesis)
        if preset.get("genotype") == genotype and values and preset.get("apply", True):
            provenance = {
                "problem": problem,
                "hypothesis": hypothesis,
                "winner": preset.get("winner", ""),
                "date": preset.get("date", ""),
                "seed": preset.get("seed", 0),
                "model_probability": preset.get("model_probabilities", {}).get(hypothesis),
            }
            return {k: float(v) for k, v in values.items()}, provenance
    return None
