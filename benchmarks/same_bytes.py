"""Same seed, same bytes: write a run, a diseased-muscle protocol and trial subjects (mouse and human), to compare two trees.

Usage: ``PYTHONPATH=<tree>/src python benchmarks/same_bytes.py OUT_FOLDER``, once per tree, then
``cmp``/``diff`` the folders (the run's NetCDF differs only in its provenance attributes, so the
script writes its variables as ``.npy`` too). Used to check that a refactor changes no number.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import xarray as xr


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["endplate", "run", "sod1-g93a", "--seed", "1", "--output", str(out / "run.nc")], check=True)
    with xr.open_dataset(out / "run.nc") as ds:
        for name, var in ds.data_vars.items():
            np.save(out / f"run-{name}.npy", var.values)
    protocol = ["endplate", "protocol", "mune", "--genotype", "SOD1-G93A", "--day", "90", "--method", "mps"]
    (out / "protocol.json").write_text(subprocess.run([*protocol, "--json"], check=True, capture_output=True, text=True).stdout)
    from endplate.therapy.cohort import allocate, draw_subject
    from endplate.therapy.subject import simulate_subject
    from endplate.therapy.trial import load_trial

    for name, per_arm in (("musk-agonist-sod1-mouse", 2), ("nmj-stabiliser-human", 3)):
        trial = load_trial(name, subjects_per_arm=per_arm)
        known, arms = trial.known_interventions(), allocate(trial)
        subjects = [simulate_subject(trial, draw_subject(trial, i, arms[i]), known) for i in range(trial.n_subjects)]
        (out / f"subjects-{name}.pkl").write_bytes(pickle.dumps(subjects))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
