"""Reduced-fidelity cohort muscles lose motor units at the rate of the full muscles (issue 15, point 6).

The same disease (human ALS, one muscle, no treatment) is stepped in the full APB and in the
reduced APB of the bundled ``nmj-stabiliser-human`` trial (at most 100 units of 12 fibres, each
fibre standing for about 9), over 16 anatomies each. Until the kernel estimated a reduced unit's
lost share as the real unit's (``kernel._lost_fraction``), the reduced muscle kept 0.85-0.94 of the
full muscle's axons while the full one kept half to 95 % of them (mean 0.887 with these seeds;
0.94-0.99, mean 0.975, since). Later in the disease a gap remains (0.81-0.92 while the full
muscle keeps 10-50 %, 0.81-0.86 before): not checked here, see ``therapy.cohort``.
"""

import dataclasses

import numpy as np

from endplate.disease import kernel as kern
from endplate.disease.resolve import resolve
from endplate.disease.scenario import load_scenario
from endplate.disease.simulate import init_muscle, muscle_drives, step_many
from endplate.therapy.cohort import reduced_muscles
from endplate.therapy.trial import load_trial

MUSCLE, SEEDS, EVERY = "APB", 16, 60


def _axons(changes: dict) -> np.ndarray:
    """Share of units with an intact axon (seeds x readouts, every ``EVERY`` days)."""
    rows = []
    for seed in range(SEEDS):
        sc = load_scenario(
            "human-als",
            muscles=[MUSCLE],
            onset_muscles=[MUSCLE],
            end_stage_muscles=[MUSCLE],
            probe_days=[],
            probe_muscle=MUSCLE,
            muscle_set=changes,
            seed=seed,
            set={},
        )
        model = resolve(sc)
        st = init_muscle(model, MUSCLE, 1000 + seed)
        days = np.arange(sc.start_day, sc.end_day + 1)
        g_t, g_c = muscle_drives(st, days, model)
        row = []
        for i in range(0, days.size, EVERY):
            h = step_many(st, model.kernel_parameters, int(days[i]), g_t[i : i + EVERY], g_c[i : i + EVERY])
            row.append(h[-1, kern.AXONS].sum() / st.anatomy.n_units)
        rows.append(row)
    return np.array(rows)


def test_reduced_muscle_keeps_the_full_muscles_units_through_the_disease():
    trial = dataclasses.replace(load_trial("nmj-stabiliser-human"), muscles=(MUSCLE,))
    changes, _ = reduced_muscles(trial)
    assert changes[MUSCLE]["represents"] > 5  # the reduced muscle under test is a reduced one
    full, reduced = _axons({}).mean(axis=0), _axons(changes).mean(axis=0)
    during = (full >= 0.5) & (full <= 0.95)
    assert during.sum() >= 6  # the window spans the first half of the unit loss
    ratio = reduced[during] / full[during]
    # Binomial scatter of the reduced muscle's 1,600 units: SD about 0.02 of a ratio at half the
    # units kept, 0.01 for the window's mean. The band keeps the mean within 4 SD of 1 and each
    # reading within 0.1 of it (before the fix the mean was 0.887 and readings went down to 0.854).
    assert 0.95 <= ratio.mean() <= 1.05, np.round(ratio, 3)
    assert np.all(np.abs(ratio - 1) <= 0.1), np.round(ratio, 3)
    # The course moves in both: the disease takes most units by the end.
    assert full[-1] < 0.3 and reduced[-1] < 0.3
