"""Figures for issue 13: unit loss by type (one by one or cohorts), axon-to-soma lag, spread across muscles."""
import sys

import numpy as np

from endplate.disease.scenario import load_scenario
from endplate.disease.simulate import simulate


def spread(days):
    d = days[np.isfinite(days)]
    return (np.percentile(d, [10, 50, 90]).round().astype(int).tolist(), d.size) if d.size else ([], 0)

def report(name, muscles, seeds, **kw):
    for seed in seeds:
        r = simulate(load_scenario(name, seed=seed, muscles=list(muscles), probe_days=[], probe_muscle=muscles[0], **kw))
        print(f"{name} seed {seed}: onset {r.onset_day} end stage {r.end_stage_day}")
        for m in muscles:
            st = r.states[m]
            t = st.anatomy.unit_type
            ax, so = st.unit_days[:, 0], st.unit_days[:, 1]
            line = []
            for k, lab in ((2, "FF"), (1, "FR"), (0, "S")):
                p, n = spread(ax[t == k])
                line.append(f"{lab} axon-loss day p10/50/90 {p} ({n}/{(t == k).sum()})")
            lag = (so - ax)[np.isfinite(so) & np.isfinite(ax)]
            lagtxt = f"soma lag after axon: median {np.median(lag):.0f} d, within 3 d {100 * np.mean(lag <= 3):.0f} %" if lag.size else "no soma died"
            print(f"  {m}: " + "; ".join(line) + "; " + lagtxt)

if __name__ == "__main__":
    seeds = [int(s) for s in sys.argv[2].split(",")] if len(sys.argv) > 2 else [0, 1, 2, 3, 4]
    if sys.argv[1] == "mouse":
        report("sod1-g93a", ("TA", "soleus"), seeds)
    else:
        from endplate.calibrate.validate import _human_run_changes
        kw = _human_run_changes()
        report("human-als", tuple(kw.pop("muscles")), seeds, **{k: v for k, v in kw.items() if k not in ("probe_days", "probe_muscle")})
