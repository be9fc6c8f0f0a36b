"""Evoked release at low frequency: EPP amplitude, quantal content by three methods, safety factor."""

from __future__ import annotations

import numpy as np
import xarray as xr

from endplate.errors import EndplateInputError
from endplate.junction import estimators as est
from endplate.junction.mepp import spontaneous_events
from endplate.junction.parameters import JunctionParameters
from endplate.junction.population import make_population
from endplate.junction.provenance import provenance_attrs
from endplate.kernels import run_train
from endplate.seeding import substreams


def epp(
    params: JunctionParameters,
    *,
    n_junctions: int = 30,
    n_stimuli: int = 60,
    frequency_hz: float = 0.5,
    unit_type: str = "FR",
    seed: int = 0,
    backend: str = "numba",
) -> xr.Dataset:
    """Stimulate each junction ``n_stimuli`` times at ``frequency_hz`` and analyse as in the lab.

    Quantal content is estimated per junction by the direct method (mean EPP corrected for
    non-linear summation over mean mEPP), the variance method and the method of failures, and
    averaged over junctions; the true mean number of quanta released is reported beside them.
    Safety factor is the mean EPP over the depolarisation needed to fire (Wood & Slater).
    """
    if n_stimuli < 2 or not frequency_hz > 0:
        raise EndplateInputError("epp needs at least 2 stimuli and a positive frequency_hz")
    streams = substreams(seed, "population", "train", "mepp")
    pop = make_population(params, n_junctions, streams["population"], unit_type)
    rec = run_train(
        pop, pop.rested_state(), [np.inf] + [1000.0 / frequency_hz] * (n_stimuli - 1), streams["train"], backend=backend
    )
    junction, mepp_amp = spontaneous_events(pop, max(60.0, 200.0 / max(params.mepp_rate_hz, 1e-3)), streams["mepp"])
    k = params.nonlinear_summation_k_per_mv
    direct, variance, failures = [], [], []
    for j in range(pop.size):
        v = rec.epp_mv[j].astype(float)
        minis = mepp_amp[junction == j]
        minis = minis[minis < params.quantal_size_mv * (1 + 4 * params.quantal_cv)]
        direct.append(est.quantal_content_direct(v, minis, k) if minis.size else np.nan)
        variance.append(est.quantal_content_variance(v, params.quantal_cv, k) if v.var() > 0 else np.nan)
        failures.append(est.quantal_content_failures(n_stimuli, int((rec.quanta[j] == 0).sum())))
    mean_epp = rec.epp_mv.mean(axis=1)
    sf = mean_epp / pop.threshold_mv
    ds = xr.Dataset(
        {
            "epp_mv_trace": (("junction", "stimulus"), rec.epp_mv),
            "quanta": (("junction", "stimulus"), rec.quanta),
            "quantal_content_direct_per_junction": ("junction", np.array(direct)),
            "quantal_content_variance_per_junction": ("junction", np.array(variance)),
            "quantal_content_failures_per_junction": ("junction", np.array(failures)),
            "safety_factor_per_junction": ("junction", sf),
            "epp_mv": ((), float(mean_epp.mean())),
            "mepp_mv": ((), float(mepp_amp[mepp_amp < params.quantal_size_mv * (1 + 4 * params.quantal_cv)].mean())),
            "quantal_content": ((), float(np.nanmean(direct))),
            "quantal_content_variance": ((), float(np.nanmean(variance))),
            "quantal_content_failures": ((), float(np.nanmean(failures)) if np.isfinite(failures).any() else np.nan),
            "true_quantal_content": ((), float(rec.quanta.mean())),
            "failure_fraction": ((), float((rec.quanta == 0).mean())),
            "safety_factor": ((), float(sf.mean())),
        },
        attrs=provenance_attrs(
            "epp",
            seed,
            params,
            n_junctions=n_junctions,
            n_stimuli=n_stimuli,
            frequency_hz=frequency_hz,
            unit_type=unit_type,
            backend=backend,
        ),
    )
    return ds
