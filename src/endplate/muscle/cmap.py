"""CMAP and CMAP scan: supramaximal and graded nerve stimulation recorded at the surface."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from endplate.errors import EndplateInputError
from endplate.muscle.anatomy import Anatomy
from endplate.muscle.emg import Conductor, conductor, negative_area_mv_ms, negative_peak_mv

SUPRAMAXIMAL = 1.5  # x the highest threshold


def unit_fires(anatomy: Anatomy, stimulus_ma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n_stimuli, n_units) which axons fire: threshold times (1 + RSD z), z fresh for every stimulus."""
    p = anatomy.preset
    noise = 1.0 + p.threshold_noise_rsd * rng.standard_normal((len(stimulus_ma), anatomy.n_units))
    return (np.asarray(stimulus_ma)[:, None] >= anatomy.unit_threshold_ma[None, :] * noise) & anatomy.unit_alive[None, :]


def record(fires: np.ndarray, potentials: np.ndarray, noise_uv: float, rng: np.random.Generator) -> np.ndarray:
    """Waveforms (n_stimuli, n_times): the potentials of the units that fire, plus baseline noise."""
    waves = fires.astype(np.float32) @ potentials
    waves += rng.normal(0.0, noise_uv * 1e-3, waves.shape).astype(np.float32)
    return waves


def maximal_cmap(anatomy: Anatomy, seed: int = 0, cond: Conductor | None = None) -> dict:
    """Supramaximal CMAP: waveform (mV), negative-peak amplitude (mV), negative-peak area (mV ms)."""
    cond = cond or conductor(anatomy)
    potentials = cond.unit_potentials(anatomy)
    fires = anatomy.unit_alive[None, :]
    wave = record(fires, potentials, anatomy.preset.noise_uv, np.random.default_rng(seed))[0]
    return {
        "time_ms": cond.time_ms,
        "waveform_mv": wave,
        "amplitude_mv": float(negative_peak_mv(wave)),
        "area_mv_ms": float(negative_area_mv_ms(wave)),
        "peak_to_peak_mv": float(wave.max() - wave.min()),
    }


def scan_stimuli(anatomy: Anatomy, n_stimuli: int) -> np.ndarray:
    """Descending intensities from supramaximal to below the lowest threshold, as in a CMAP scan."""
    if n_stimuli < 10:
        raise EndplateInputError(f"a CMAP scan needs at least 10 stimuli, got {n_stimuli}")
    alive = anatomy.unit_threshold_ma[anatomy.unit_alive]
    if alive.size == 0:
        return np.linspace(1.0, 0.0, n_stimuli)
    rsd = anatomy.preset.threshold_noise_rsd
    high, low = alive.max() * (1 + 4 * rsd) * 1.02, alive.min() * (1 - 4 * rsd) * 0.98
    return np.linspace(high, low, n_stimuli)


def cmap_scan(anatomy: Anatomy, n_stimuli: int = 500, seed: int = 0, cond: Conductor | None = None) -> dict:
    """Stimulus-response curve: one response per intensity, amplitude as negative peak."""
    cond = cond or conductor(anatomy)
    rng = np.random.default_rng(seed)
    stimulus = scan_stimuli(anatomy, n_stimuli)
    potentials = cond.unit_potentials(anatomy)
    fires = unit_fires(anatomy, stimulus, rng)
    waves = record(fires, potentials, anatomy.preset.noise_uv, rng)
    return {
        "stimulus_ma": stimulus,
        "cmap_mv": negative_peak_mv(waves),
        "units_firing": fires.sum(axis=1),
        "true_units": anatomy.functioning_units(),
        "unit_amplitude_mv": negative_peak_mv(potentials),
    }


def write_scan_csv(path: str | Path, scan: dict, header: dict) -> None:
    """Plain CSV of a scan (stimulus_mA, cmap_mV), commented header lines with provenance."""
    from endplate.io.atomic import write_atomic

    def writer(tmp: Path) -> None:
        with open(tmp, "w") as fh:
            for k, v in header.items():
                fh.write(f"# {k}: {v}\n")
            fh.write("stimulus_mA,cmap_mV\n")
            for s, a in zip(scan["stimulus_ma"], scan["cmap_mv"]):
                fh.write(f"{s:.6g},{a:.6g}\n")

    write_atomic(path, writer)
