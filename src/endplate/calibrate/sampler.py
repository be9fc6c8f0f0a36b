"""A pyabc sampler whose populations are a function of the fit's seed, on any number of Dask workers.

pyabc's own Dask sampler reseeds NumPy's and Python's global generators from OS entropy at the start
of every batch on the worker, so the proposals (model, parameters, perturbation) that a seeded fit
makes differ from run to run. Here particle ``i`` of generation ``t`` reseeds both generators from
a counter-based stream of (fit seed, t, i) just before it is proposed and simulated, so it is the
same particle whichever worker evaluates it and whenever. Batches are evaluated in parallel, but
the population is built by walking the particles in index order and taking the first ``n``
accepted: the result does not depend on which worker finished first. This is the order pyabc's
own sampler already uses to choose among finished particles; only the seeding is new.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable

import cloudpickle
import numpy as np
from pyabc.population import Sample
from pyabc.sampler import Sampler

# In-process (thread) workers share NumPy's global generator: one particle at a time may reseed
# and draw from it. Worker processes each have their own lock, so this costs them nothing.
_GLOBAL_GENERATORS = threading.Lock()
CALIBRATION_STREAM = 0  # pyabc's sample from the prior that sets the first epsilon
GENERATION_STREAM = 1


def seed_particle(seed: int, stream: int, t: int, index: int) -> None:
    """Seed NumPy's and Python's global generators for particle ``index`` of generation ``t``."""
    state = np.random.SeedSequence([int(seed), stream, t + 1, index]).generate_state(4)
    np.random.seed(state)
    random.seed(int(state[0]) << 32 | int(state[1]))


def _evaluate(simulate_one_pickle: bytes, seed: int, stream: int, t: int, start: int, count: int) -> list:
    """Particles ``start`` .. ``start + count - 1`` of one generation, each from its own stream."""
    simulate_one = cloudpickle.loads(simulate_one_pickle)
    out = []
    for index in range(start, start + count):
        with _GLOBAL_GENERATORS:
            seed_particle(seed, stream, t, index)
            out.append(simulate_one())
    return out


class SeededBatchSampler(Sampler):
    """Batches of particles on a Dask client; the population is the first ``n`` accepted in index order.

    ``nr_evaluations_`` counts the particles up to the ``n``-th accepted one, which a sequential
    run would have simulated; particles beyond it that a worker had already begun are discarded
    (``wasted_`` counts them), so the cost recorded in the History is a function of the seed too.
    """

    def __init__(self, client, seed: int, batch_size: int):
        super().__init__()
        self.client = client
        self.seed = int(seed)
        self.batch_size = int(batch_size)
        self.wasted_ = 0

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("client", None)
        return state

    def sample_until_n_accepted(
        self, n: int, simulate_one: Callable, t: int, *, max_eval: float = np.inf, all_accepted: bool = False, ana_vars=None
    ) -> Sample:
        from distributed import wait

        stream = CALIBRATION_STREAM if all_accepted else GENERATION_STREAM
        limit: float = math.inf if not math.isfinite(max_eval) else math.ceil(max_eval)
        payload = cloudpickle.dumps(simulate_one)
        in_flight_max = 2 * max(1, sum(self.client.ncores().values()))  # one running and one queued per core
        running: dict = {}  # future -> batch number
        finished: dict[int, list] = {}
        sample = self._create_empty_sample()
        next_batch = walked = 0  # batches submitted; particles taken into the sample, in index order
        try:
            while True:
                while len(running) < in_flight_max and next_batch * self.batch_size < limit:
                    start = next_batch * self.batch_size
                    count = int(min(self.batch_size, limit - start))
                    running[self.client.submit(_evaluate, payload, self.seed, stream, t, start, count, pure=False)] = next_batch
                    next_batch += 1
                done, _ = wait(list(running), return_when="FIRST_COMPLETED")
                for future in done:
                    finished[running.pop(future)] = future.result()
                walked, complete = self._walk(sample, finished, walked, n, limit)
                if complete:
                    break
        finally:
            for future in running:
                future.cancel()
        self.wasted_ = next_batch * self.batch_size - walked
        self.nr_evaluations_ = walked
        if sample.n_accepted < n:
            sample.ok = False  # max_eval reached: pyabc stops the run, as its single-core sampler does
        return sample

    def _walk(self, sample: Sample, finished: dict[int, list], walked: int, n: int, limit: float) -> tuple[int, bool]:
        """Take finished particles into ``sample`` in index order; (particles taken, sample complete)."""
        while sample.n_accepted < n and walked < limit:
            batch, offset = divmod(walked, self.batch_size)
            if batch not in finished:
                return walked, False
            sample.append(finished[batch][offset])
            walked += 1
            if offset == len(finished[batch]) - 1:
                del finished[batch]
        return walked, True
