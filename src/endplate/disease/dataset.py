"""A disease run as an xarray Dataset with provenance (written by ``io.datasets.write_dataset``)."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from endplate.disease.model import hypothesis, mechanisms
from endplate.disease.simulate import Run
from endplate.provenance import provenance_attrs

UNIT_TYPES = ["S", "FR", "FF"]


def run_dataset(result: Run) -> xr.Dataset:
    """A ``simulate`` result as a Dataset: daily tallies (``day``), readouts (``readout_day``, ``mune_day``) per ``muscle``.

    Percentages are of the first day; ``mune`` is the estimate of the scenario's method and
    ``mune_true`` the count of functioning units; probe-day readouts of the probe muscle are on
    ``probe_day``. The attributes carry the provenance (``endplate.provenance``) and the resolved
    scenario, so that ``endplate replay`` can run it again.
    """
    sc = result.scenario
    names = list(result.muscles)
    per = result.muscles

    def stack(key: str) -> np.ndarray:
        return np.stack([getattr(per[m], key) for m in names])

    ds = xr.Dataset(
        {
            "innervated_percent": (("muscle", "day"), stack("innervated_percent")),
            "partial_percent": (("muscle", "day"), stack("partial_percent")),
            "impaired_percent": (("muscle", "day"), stack("impaired_percent")),
            "denervated_percent": (("muscle", "day"), stack("denervated_percent")),
            "motor_neurons_percent": (("muscle", "day"), stack("motor_neurons_percent")),
            "motor_neurons_percent_by_type": (("muscle", "day", "unit_type"), stack("motor_neurons_percent_by_type")),
            "upper_motor_neurons_percent": (("muscle", "day"), stack("upper_motor_neurons_percent")),
            "axons_percent_by_type": (("muscle", "day", "unit_type"), stack("axons_percent_by_type")),
            "force_percent": (("muscle", "day"), stack("force_percent")),
            "cmap_percent": (("muscle", "readout_day"), stack("cmap_percent")),
            "mune": (("muscle", "mune_day"), stack("mune")),
            "mune_true": (("muscle", "mune_day"), stack("mune_true")),
        },
        coords={
            "muscle": names,
            "day": result.day,
            "readout_day": result.readout_day,
            "mune_day": result.mune_day,
            "unit_type": UNIT_TYPES,
        },
    )
    for key in ("units", "fibres", "max_enlargement"):
        ds[key] = ("muscle", stack(key))
    if result.probes:
        probe_muscle = sc.probe_muscle or sc.muscles[0]
        ds = ds.merge(_probes(list(result.probes), result.states[probe_muscle].anatomy))
        ds.attrs["probe_muscle"] = probe_muscle
    mech = result.mechanisms
    active = hypothesis(sc.hypothesis)
    sources = {m: {k: [p.source, p.evidence] for k, p in mechanisms()[m].provenance.items()} for m in active}
    ds.attrs = {
        **ds.attrs,
        **provenance_attrs("run", sc.seed, calibration=sc.calibration),
        "scenario": json.dumps(sc.as_dict(), default=list),
        "hypothesis": sc.hypothesis,
        "first_partner": sc.first_partner,
        "mechanisms": json.dumps({m: mech[m] for m in active}),
        "mechanism_sources": json.dumps(sources),
        "genotype": sc.genotype,
        "genotype_values": json.dumps(result.model.genotype.values),
        "onset_day": -1 if result.onset_day is None else result.onset_day,
        "end_stage_day": -1 if result.end_stage_day is None else result.end_stage_day,
        "onset_definition": f"mean force of {list(sc.onset_muscles or sc.muscles)} below {sc.onset_force_fraction:.0%}",
        "end_stage_definition": f"mean force of {list(sc.end_stage_muscles or sc.muscles)} below {sc.end_stage_force_fraction:.0%}",
        "mune_method": sc.mune_method,
        # muscle -> where and why its MUNE is undefined (NaN in ``mune``); muscles always defined are left out
        "mune_undefined": json.dumps({m: per[m].mune_undefined for m in names if per[m].mune_undefined}),
    }
    return ds


def _probes(probes: list[dict], anatomy) -> xr.Dataset:
    """Readouts at the probe days: jitter, decrement, unit sizes and the cross-section of the probe muscle.

    Unit sizes are ragged (units die), so they are stored padded with zeros on a ``probe_unit`` axis.
    """
    sizes = np.zeros((len(probes), anatomy.n_units), np.int32)
    for i, pr in enumerate(probes):
        sizes[i, : len(pr["unit_sizes"])] = pr["unit_sizes"]
    scalar = ("mcd_us", "blocking_percent", "fibre_density", "decrement_percent", "grouping_index")
    return xr.Dataset(
        {
            **{f"probe_{k}": ("probe_day", np.array([pr[k] for pr in probes], float)) for k in scalar},
            "probe_unit_sizes": (("probe_day", "probe_unit"), sizes),
            "probe_owner": (("probe_day", "fibre"), np.stack([pr["cross_section"]["owner"] for pr in probes])),
            "probe_fibre_type": (("probe_day", "fibre"), np.stack([pr["cross_section"]["fibre_type"] for pr in probes])),
            "fibre_xy_mm": (("fibre", "xy"), anatomy.fibre_xy_mm),
            "section_radius_mm": ((), float(anatomy.radius_mm)),
        },
        coords={"probe_day": [pr["day"] for pr in probes], "xy": ["x", "y"]},
    )
