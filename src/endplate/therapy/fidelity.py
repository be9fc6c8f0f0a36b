"""Check the reduced-fidelity cohort muscles against the full muscles on a few subjects.

The same subject (covariates, disease parameters, arm) is simulated twice: with the trial's
reduced muscles and with the full presets. Anatomy and random streams differ between the two,
so single trajectories differ by chance as well as by fidelity; the check reports the onset and
end-stage days, and for every visit CMAP and MUNE (rescaled to true units) and force, with their
mean absolute differences. Run: ``python -m endplate.therapy.fidelity [TRIAL] [N]``.
"""

from __future__ import annotations

import dataclasses
import json
import sys

import numpy as np

from endplate.therapy.cohort import allocate, draw_subject
from endplate.therapy.subject import simulate_subject
from endplate.therapy.trial import load_trial


def compare(trial, indices) -> list[dict]:
    full = dataclasses.replace(trial, fibres_per_unit=0, max_units=0)
    known, arms = trial.known_interventions(), allocate(trial)
    rows = []
    for i in indices:
        a = simulate_subject(trial, draw_subject(trial, i, arms[i]), known)
        b = simulate_subject(full, draw_subject(full, i, arms[i]), known)
        row = {"subject": i, "arm": arms[i]}
        for k in ("start_day", "onset_day", "death_day"):
            row[k] = [a[k], b[k]]
        for k in ("cmap_mv", "mune", "mune_true", "force_percent"):
            both = np.isfinite(a[k]) & np.isfinite(b[k])
            row[k] = {
                "reduced": np.round(a[k], 2).tolist(),
                "full": np.round(b[k], 2).tolist(),
                "mean_abs_diff": float(np.abs(a[k] - b[k])[both].mean()) if both.any() else None,
                "full_mean": float(np.abs(b[k])[both].mean()) if both.any() else None,
            }
        rows.append(row)
    return rows


if __name__ == "__main__":
    import numba

    numba.set_num_threads(2)
    name = sys.argv[1] if len(sys.argv) > 1 else "nmj-stabiliser-human"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    trial = load_trial(name)
    print(json.dumps(compare(trial, range(n)), default=float))
