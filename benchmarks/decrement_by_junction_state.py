"""Which junctions of a diseased human muscle make its 3 Hz decrement, and for how long each can.

Usage: ``python benchmarks/decrement_by_junction_state.py [SEED]`` (default 0; a few seconds).

Part 1, the junction model alone: 400 human junctions at each maturity (``disease.junction_state``,
nothing impaired), 10 stimuli at 3 Hz: the median EPP over threshold at the 1st and 4th stimulus
and the share of fibres that fire on the 1st but not the 4th, the only fibres a 4th-response
decrement counts. Part 2, the virtual EMG study (``therapy.placebo.emg_study``, same trial and
draws): at entry, trapezius and ADM fibres of all enrolled patients pooled by the state of their
junction (mature, younger or older than half-mature, impaired, partly withdrawn), each class's
share of the innervated fibres and its own 1st-to-4th loss, with the muscles' probe sub-streams.
The figures are read in docs/calibration.md ("Where the decrement at diagnosis comes from").
"""

from __future__ import annotations

import sys

import numpy as np

from endplate.disease.diseased_muscle import snapshot
from endplate.disease.junction_state import FibreJunctionState, diseased_junctions, fibre_junction_state
from endplate.disease.simulate import readout_seed
from endplate.junction.parameters import default_parameters
from endplate.junction.population import make_population
from endplate.junction.train import regular_intervals
from endplate.kernels import run_train
from endplate.therapy.cohort import draw_subject
from endplate.therapy.placebo import EMG_MUSCLES, EMG_PATIENTS, emg_trial
from endplate.therapy.subject import simulate_subject

CLASSES = ("mature", "young < 0.5", "young >= 0.5", "impaired", "withdrawing")


def _train(pop, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(EPP over threshold, fired) of every junction at every stimulus of a 10-stimulus 3 Hz train."""
    rec = run_train(pop, pop.rested_state(), regular_intervals(3.0, 10), seed)
    return rec.epp_mv / pop.threshold_mv[:, None], np.isfinite(rec.latency_ms)


def by_maturity(seed: int, n: int = 400) -> None:
    healthy = make_population(default_parameters("human"), n, seed=seed)
    print("maturity  EPP/threshold 1st  4th  fired 1st  4th  lost 1st->4th")
    for m in np.linspace(0.0, 1.0, 11):
        state = FibreJunctionState(
            innervated=np.ones(n, bool),
            impaired=np.zeros(n),
            withdrawn_fraction=np.zeros(n),
            maturity=np.full(n, m),
            tsc_present=np.ones(n),
        )
        ratio, fired = _train(diseased_junctions(healthy, state), seed)
        lost = (fired[:, 0] & ~fired[:, 3]).mean()
        print(
            f"{m:8.1f} {np.median(ratio[:, 0]):18.2f} {np.median(ratio[:, 3]):4.2f} {fired[:, 0].mean():10.2f} "
            f"{fired[:, 3].mean():4.2f} {lost:14.2f}"
        )


def junction_class(state) -> np.ndarray:
    """Each fibre's class (an index into CLASSES), withdrawal and impairment before maturity."""
    j = fibre_junction_state(state)
    young = np.where(j.maturity < 0.5, 1, 2)
    out = np.where(j.maturity < 0.999, young, 0)
    out = np.where(j.impaired > 0, 3, out)
    return np.where(j.withdrawn_fraction > 0, 4, out)


def by_state(seed: int) -> None:
    trial = emg_trial(seed)
    known = trial.known_interventions()
    tally = {(m, c): np.zeros(3) for m in EMG_MUSCLES for c in range(len(CLASSES))}

    def look(k: int, day: int, states: dict) -> None:
        if k != 0:
            return
        for m in EMG_MUSCLES:
            muscle = snapshot(states[m])
            ok = np.flatnonzero(muscle.innervated())
            if ok.size == 0:
                continue
            _, fired = _train(muscle.junctions.subset(ok), readout_seed(states[m], "probe", day))
            cls = junction_class(states[m])[ok]
            for c in range(len(CLASSES)):
                s = cls == c
                tally[(m, c)] += (s.sum(), s.sum() / ok.size, (fired[s, 0] & ~fired[s, 3]).sum())

    enrolled = 0
    for i in range(EMG_PATIENTS):
        enrolled += bool(simulate_subject(trial, draw_subject(trial, i, trial.control), known, look)["enrolled"])
    print(f"\n{enrolled} patients at entry; share: mean over patients of the class's share of innervated fibres")
    print("muscle     class         fibres  share  lost 1st->4th  contribution")
    for m in EMG_MUSCLES:
        for c, name in enumerate(CLASSES):
            n, share, lost = tally[(m, c)]
            if n:
                rate = lost / n
                print(f"{m:10s} {name:13s} {int(n):6d} {share / enrolled:6.3f} {rate:14.2f} {rate * share / enrolled:13.3f}")


if __name__ == "__main__":
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    by_maturity(seed)
    by_state(seed)
