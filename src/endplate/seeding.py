"""Explicit randomness: every simulation takes a seed and splits it into named sub-streams."""

from __future__ import annotations

import numpy as np

from endplate.errors import EndplateInputError


def substreams(seed: int, *names: str) -> dict[str, int]:
    """Independent 63-bit seeds for ``names``, derived from ``seed`` by ``SeedSequence.spawn``."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise EndplateInputError(f"seed must be a non-negative integer, got {seed!r}")
    children = np.random.SeedSequence(int(seed)).spawn(len(names))
    return {n: int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for n, c in zip(names, children)}


def day_seed(stream: int, day: int) -> int:
    """A 31-bit seed for one readout taken on ``day`` from the named sub-stream ``stream``.

    Readouts are repeated on many days; each day gets its own draw, and two streams (two muscles,
    two readouts, two scenario seeds) never share one.
    """
    if day < 0:
        raise EndplateInputError(f"readout day must be non-negative, got {day!r}")
    return int(np.random.SeedSequence([int(stream), int(day)]).generate_state(1, np.uint32)[0] >> np.uint32(1))
