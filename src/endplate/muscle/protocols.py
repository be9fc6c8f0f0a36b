"""Muscle-level protocols as functions of (species, muscle, seed) returning plain results.

Each builds the muscle from its preset (the same seed gives the same muscle) and runs one
readout; the CLI and the report call these.
"""

from __future__ import annotations

import numpy as np

from endplate.junction.parameters import JunctionParameters
from endplate.junction.post_exercise import session_payload
from endplate.muscle import cmap as cmap_mod
from endplate.muscle.anatomy import Anatomy, build_anatomy
from endplate.muscle.force import muscle_force, unit_forces
from endplate.muscle.grouping import grouping
from endplate.muscle.mune import mune
from endplate.muscle.post_exercise import muscle_post_exercise
from endplate.muscle.presets import load_muscle
from endplate.muscle.rns import muscle_rns
from endplate.muscle.sfemg import muscle_sfemg
from endplate.readings import reading
from endplate.seeding import substreams


def muscle(species: str, name: str, seed: int, junction_params: JunctionParameters | None = None, **overrides) -> Anatomy:
    """Build muscle ``name`` of ``species``; ``overrides`` change preset values (checked)."""
    return build_anatomy(load_muscle(species, name, **overrides), substreams(seed, "anatomy")["anatomy"], junction_params)


def summary(anatomy: Anatomy) -> dict:
    sizes = anatomy.unit_sizes()[anatomy.unit_alive]
    ratio = reading("innervation_ratio_mean", sizes[sizes > 0].mean() if (sizes > 0).any() else None, "no functioning motor unit")
    return {
        "muscle": anatomy.preset.muscle,
        "species": anatomy.preset.species,
        "true_units": anatomy.functioning_units(),
        "fibres": anatomy.n_fibres,
        **ratio,
        "type_fractions": (np.bincount(anatomy.fibre_type, minlength=3) / anatomy.n_fibres).tolist(),
    }


def run(name: str, anatomy: Anatomy, seed: int, **options) -> dict:
    """Run muscle protocol ``name`` on ``anatomy``; returns a JSON-ready dict."""
    s = substreams(seed, name)[name]
    if name == "cmap":
        c = cmap_mod.maximal_cmap(anatomy, s)
        return {
            **summary(anatomy),
            "amplitude_mv": c["amplitude_mv"],
            "area_mv_ms": c["area_mv_ms"],
            "peak_to_peak_mv": c["peak_to_peak_mv"],
            "time_ms": c["time_ms"].tolist(),
            "waveform_mv": c["waveform_mv"].tolist(),
        }
    if name == "cmap-scan":
        scan = cmap_mod.cmap_scan(anatomy, options.get("n_stimuli", 500), s)
        return {
            **summary(anatomy),
            "stimulus": scan["stimulus_ma"].tolist(),
            "cmap_mv": scan["cmap_mv"].tolist(),
            "true_units": scan["true_units"],
            "_scan": scan,
        }
    if name == "mune":
        return {**summary(anatomy), **mune(anatomy, options.get("method", "scanfit"), s)}
    if name == "force":
        f = unit_forces(anatomy)
        return {**summary(anatomy), **muscle_force(anatomy), "unit_tetanic_n": f["tetanic_n"].tolist()}
    if name == "sfemg":
        return {
            **summary(anatomy),
            **muscle_sfemg(anatomy, options.get("rate_hz", 10.0), seed=s, voluntary=options.get("voluntary", True)),
        }
    if name == "rns":
        r = muscle_rns(anatomy, options.get("frequency_hz", 3.0), options.get("n_stimuli", 10), s)
        return {
            **summary(anatomy),
            "cmap_mv": r["cmap_mv"].tolist(),
            **{k: v for k, v in r.items() if k.startswith("decrement_percent")},
            "fibres_failing_percent": r["fibres_failing_percent"],
        }
    if name == "post-exercise":
        keys = ("frequency_hz", "n_stimuli", "conditioning_hz", "conditioning_s")
        session = muscle_post_exercise(anatomy, seed=s, **{k: v for k, v in options.items() if k in keys})
        return {**summary(anatomy), **session_payload(session)}
    if name == "cross-section":
        return {**summary(anatomy), **grouping(anatomy)}
    raise KeyError(name)


MUSCLE_PROTOCOLS = ("cmap", "cmap-scan", "mune", "force", "sfemg", "rns", "post-exercise", "cross-section")
