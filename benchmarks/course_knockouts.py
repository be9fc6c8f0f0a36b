"""Knockout scenarios beside the plain SOD1 run: motor neurons, axons, denervation, onset and end stage."""
import sys

import numpy as np

from endplate.disease.scenario import load_scenario
from endplate.disease.simulate import simulate

seeds = [int(s) for s in sys.argv[1].split(",")] if len(sys.argv) > 1 else [1]
for name in ("sod1-g93a", "sod1-g93a-bax", "sod1-g93a-bax-bak"):
    for seed in seeds:
        r = simulate(load_scenario(name, seed=seed, end_day=200, probe_days=[]))
        days = list(r.day)
        hind = ("TA", "EDL", "MG", "soleus")
        mn = np.mean([r.muscles[m].motor_neurons_percent[days.index(120)] for m in hind])
        ax = np.mean([r.muscles[m].axons_percent_by_type[days.index(120)].mean() for m in hind])
        den = {d: round(float(r.muscles["MG"].denervated_percent[days.index(d)]), 1) for d in (47, 80, 120)}
        print(f"{name:18s} seed {seed}: onset {r.onset_day} end stage {r.end_stage_day} | hindlimb MN at P120 {mn:.0f} %, "
              f"axons (mean of types) {ax:.0f} % | MG denervated {den}")
