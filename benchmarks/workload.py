"""The ``junction-train`` workload of ``endplate bench`` for the kernel scripts in this folder."""

from __future__ import annotations

import argparse

import numpy as np

from endplate.bench import TRAIN_FREQUENCY_HZ
from endplate.junction.parameters import default_parameters
from endplate.junction.population import JunctionPopulation, make_population, stimulus_schedule


def junction_train(n_junctions: int) -> tuple[JunctionPopulation, np.ndarray]:
    """Default mouse junctions and the schedule of 100 stimuli at the bench's frequency."""
    params = default_parameters("mouse")
    pop = make_population(params, n_junctions, seed=1)
    return pop, stimulus_schedule(params, [np.inf] + [1000.0 / TRAIN_FREQUENCY_HZ] * 99)


def parser(doc: str) -> argparse.ArgumentParser:
    """Arguments both scripts take: an optional output path, the junction count, the rounds."""
    out = argparse.ArgumentParser(description=doc.splitlines()[0])
    out.add_argument("out", nargs="?", help="write the report as JSON here")
    out.add_argument("--junctions", type=int, default=1_000_000)
    out.add_argument("--rounds", type=int, default=3)
    return out
