"""Compensation: does the unit count fall before CMAP and force? Days each falls below 80 % and 50 %."""
import sys

import numpy as np

from endplate.disease.scenario import load_scenario
from endplate.disease.simulate import simulate


def first(days, series, below):
    hit = np.flatnonzero(np.asarray(series) < below)
    return int(days[hit[0]]) if hit.size else None

def show(r, muscles):
    for m in muscles:
        v = r.muscles[m]
        md, rd = r.mune_day, r.readout_day
        units = 100 * v.mune_true / v.mune_true[0]
        out = []
        for lvl in (80, 50):
            out.append(f"<{lvl}%: units {first(md, units, lvl)} MUNE {first(md, 100 * v.mune / v.mune[0], lvl)} "
                       f"CMAP {first(rd, v.cmap_percent, lvl)} force {first(r.day, v.force_percent, lvl)}")
        print(f"  {m}: " + " | ".join(out) + f" | max enlargement {v.max_enlargement:.2f}")

if __name__ == "__main__":
    seeds = [int(s) for s in sys.argv[2].split(",")] if len(sys.argv) > 2 else [0, 1, 2, 3, 4]
    for seed in seeds:
        if sys.argv[1] == "mouse":
            r = simulate(load_scenario("sod1-g93a", seed=seed, muscles=["TA", "MG", "soleus"], probe_days=[], readout_every_days=3, mune_every_days=3))
            print(f"sod1-g93a seed {seed}: onset {r.onset_day} end stage {r.end_stage_day}")
            show(r, ("TA", "MG", "soleus"))
        else:
            from endplate.calibrate.validate import _human_run_changes
            kw = {**_human_run_changes(), "readout_every_days": 30}
            r = simulate(load_scenario("human-als", seed=seed, **kw))
            print(f"human-als seed {seed}: onset {r.onset_day} end stage {r.end_stage_day}")
            show(r, ("APB", "FDI", "biceps"))
