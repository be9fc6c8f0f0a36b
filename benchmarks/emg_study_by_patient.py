"""The virtual EMG study (``therapy.placebo.emg_study``) patient by patient: where the ALS decrement comes from.

Usage: ``python benchmarks/emg_study_by_patient.py [SEED]`` (default 0; about 10 s).

For each enrolled patient, at entry (standing for diagnosis), in trapezius and ADM: the 3 Hz
decrement of the 4th response, the share of motor units still functioning, the share of fibres
denervated, and the shares of innervated fibres whose junction is younger than half-mature
(``young``) or impaired. The patients are the study's own (same trial, same draws); the readouts
use the muscles' probe sub-streams, as the study does. On 4 December 2026 (seed 0) the decrement
was close to 0.3 x ``young`` in either muscle: the model's ALS decrement is that of reinnervation
fronts (docs/calibration.md, "The split hand").
"""

from __future__ import annotations

import sys

from endplate.disease.diseased_muscle import snapshot
from endplate.disease.junction_state import fibre_junction_state
from endplate.disease.simulate import readout_seed
from endplate.muscle.rns import muscle_rns
from endplate.therapy.cohort import draw_subject
from endplate.therapy.placebo import EMG_MUSCLES, EMG_PATIENTS, emg_trial
from endplate.therapy.subject import simulate_subject


def main(seed: int) -> None:
    trial = emg_trial(seed)
    known = trial.known_interventions()
    print("patient site        muscle     decrement units denervated young impaired")
    for i in range(EMG_PATIENTS):
        subject = draw_subject(trial, i, trial.control)
        rows: list[tuple] = []

        def look(k: int, day: int, states: dict, rows: list[tuple] = rows) -> None:
            if k != 0:
                return
            for m in EMG_MUSCLES:
                state = states[m]
                muscle = snapshot(state)
                decrement = muscle_rns(muscle, 3.0, 10, readout_seed(state, "probe", day))["decrement_percent"]
                junctions = fibre_junction_state(state)
                innervated = muscle.innervated()
                n = max(int(innervated.sum()), 1)
                rows.append(
                    (
                        m,
                        float("nan") if decrement is None else decrement,
                        muscle.functioning_units() / muscle.n_units,
                        1.0 - innervated.mean(),
                        ((junctions.maturity < 0.5) & innervated).sum() / n,
                        ((junctions.impaired > 0) & innervated).sum() / n,
                    )
                )

        simulate_subject(trial, subject, known, look)
        for m, dec, units, den, young, imp in rows:
            site = subject.covariates["site_of_onset"]
            print(f"{i:7d} {site:11s} {m:10s} {dec:9.1f} {units:5.2f} {den:10.2f} {young:5.2f} {imp:8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
