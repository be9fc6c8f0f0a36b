"""The protocol demo: healthy and SOD1-G93A-like junctions side by side, with one figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from endplate.errors import EndplateInputError
from endplate.io.atomic import write_atomic
from endplate.junction import epp, rns, sfemg, train
from endplate.junction.parameters import default_parameters
from endplate.junction.perturbations import apply_perturbations

MOUSE_CONDITIONS = {
    "wild-type": (),
    "SOD1 presymptomatic": ("sod1_presymptomatic",),
    "SOD1 early symptomatic": ("sod1_early_symptomatic",),
}
HUMAN_ALS = ("sod1_presynaptic_deficit", "achr_loss")


def run_demo(output_dir: Path, seed: int = 0) -> dict:
    """Run the demo protocols, write ``demo.png`` and ``trains.nc`` into ``output_dir``."""
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise EndplateInputError(f"output folder {str(output_dir)!r} exists and is not a folder")
    output_dir.mkdir(parents=True, exist_ok=True)
    results, trains = {}, {}
    for label, perturb in MOUSE_CONDITIONS.items():
        params = apply_perturbations(default_parameters("mouse"), perturb)
        e = epp.epp(params, seed=seed)
        trains[label] = train.train(params, frequency_hz=20, n_stimuli=60, seed=seed)
        results[label] = {
            "quantal_content": float(e["quantal_content"]),
            "epp_mv": float(e["epp_mv"]),
            "mepp_mv": float(e["mepp_mv"]),
            "safety_factor": float(e["safety_factor"]),
            "plateau_ratio_20hz": float(trains[label]["plateau_ratio"]),
        }
    human = {"healthy": default_parameters("human"), "ALS-like NMJs": apply_perturbations(default_parameters("human"), HUMAN_ALS)}
    clinical = {label: (sfemg.sfemg(p, seed=seed), rns.rns(p, seed=seed)) for label, p in human.items()}
    for label, (s, r) in clinical.items():
        results[f"human {label}"] = {
            "jitter_mcd_us": float(s["mcd_us"]),
            "blocking_percent": float(s["blocking_percent"]),
            "decrement_percent_3hz": float(r["decrement_percent"]),
        }
    figure = output_dir / "demo.png"
    write_atomic(figure, lambda tmp: _figure(trains, clinical, tmp))
    import xarray as xr

    data = output_dir / "trains.nc"
    combined = xr.concat(
        [ds[["epp_mv", "quanta", "fired_fraction"]] for ds in trains.values()], dim=xr.DataArray(list(trains), dims="condition")
    )
    combined.attrs = trains["wild-type"].attrs
    write_atomic(data, lambda tmp: combined.to_netcdf(tmp))
    mouse = {k: v for k, v in results.items() if not k.startswith("human")}
    return {
        "seed": seed,
        "conditions": mouse,
        "human": {k: v for k, v in results.items() if k.startswith("human")},
        "files": [str(figure), str(data)],
    }


def _figure(trains, clinical, path) -> None:
    import matplotlib.pyplot as plt

    from endplate.report.style import STYLE

    colours = ["#2c3e50", "#d95f02", "#c0392b"]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
        ax = axes[0]
        for c, (label, ds) in zip(colours, trains.items()):
            ax.plot(ds["time_ms"].values, ds["epp_mv"].values, color=c, label=label, lw=1.8)
        ax.set(title="Mouse EPPs in a 20 Hz train", xlabel="time (ms)", ylabel="mean EPP (mV)", ylim=(0, None))
        ax.legend(frameon=False, fontsize=8)
        ax = axes[1]
        for c, (label, (s, _)) in zip(colours, clinical.items()):
            mcd = np.sort(s["pair_mcd_us"].values)
            ax.plot(np.arange(1, mcd.size + 1), mcd, "o-", color=c, label=f"{label}: mean {float(s['mcd_us']):.0f} us")
        ax.axhline(50, color="grey", ls="--", lw=0.8)
        ax.set(title="Human SFEMG jitter, 10 Hz", xlabel="fibre pair (sorted)", ylabel="MCD (us)")
        ax.legend(frameon=False, fontsize=8)
        ax = axes[2]
        width = 0.4
        for i, (c, (label, (_, r))) in enumerate(zip(colours, clinical.items())):
            x = np.arange(1, r["cmap_mv"].size + 1) + (i - 0.5) * width
            ax.bar(x, r["cmap_mv"].values, width, color=c, label=f"{label}: {float(r['decrement_percent']):.1f} % decrement")
        ax.set(title="3 Hz repetitive stimulation", xlabel="stimulus", ylabel="summed response (mV)")
        ax.set_ylim(0, 1.35 * max(float(r["cmap_mv"].max()) for _, r in clinical.values()))
        ax.legend(frameon=False, fontsize=8, loc="upper right")
        fig.tight_layout()
        fig.savefig(path, format="png")
        plt.close(fig)
