"""Size limits that keep a run within one ordinary machine, with the memory and time it would take.

Each size a user chooses (fibres of a muscle, subjects of a trial, junctions x stimuli of a
protocol, ...) has a documented maximum. Above it the run is refused up front with an estimate of
its memory and time and the limit; ``--allow-large`` (``allow_large=True``) runs it anyway, for a
bigger machine or a Dask cluster. The costs per element were measured with ``/usr/bin/time`` on
the 2-core development machine (``endplate protocol train --junctions 50000 --stimuli 1000``:
0.58 GB above the 0.24 GB interpreter, 15 s above start-up) or are assumed where said; they are
for the estimate in the message only, never for a result.
"""

from __future__ import annotations

from dataclasses import dataclass

from endplate.errors import EndplateInputError


@dataclass(frozen=True)
class Limit:
    what: str  # what is counted, for the message
    maximum: int
    bytes_each: float  # memory per counted element (bytes)
    per_second: float  # elements simulated per second on one core (0: no time to estimate)
    basis: str  # where the costs come from


LIMITS = {
    # junctions x stimuli (train, epp, ...), pairs x discharges (sfemg), fibres x stimuli (rns)
    "junction_work": Limit(
        "junction-stimuli (junctions x stimuli, pairs x discharges, fibres x stimuli)",
        200_000_000,
        12.0,
        3.3e6,
        "measured: protocol train, 5e7 junction-stimuli",
    ),
    "junctions": Limit(
        "junctions, pairs or fibres of one protocol",
        1_000_000,
        12.0 * 100,
        3.3e6 / 100,
        "measured per junction-stimulus, 100 stimuli assumed",
    ),
    "stimuli": Limit(
        "stimuli or discharges of one protocol",
        1_000_000,
        12.0 * 100,
        3.3e6 / 100,
        "measured per junction-stimulus, 100 junctions assumed",
    ),
    "fibres": Limit(
        "fibres of one muscle",
        5_000_000,
        200.0,
        1e6,
        "assumed: about 25 arrays of 8 bytes per fibre; the largest bundled muscle has 580,000",
    ),
    "units": Limit("motor units of one muscle", 20_000, 2_000.0, 1e4, "assumed; the largest bundled muscle has 1,000"),
    "days": Limit("simulated days", 36_500, 0.0, 200.0, "a century of days; assumed 200 days per second"),
    "subjects": Limit(
        "subjects (of a trial, or subjects x days of a MUNE table)",
        10_000,
        1e5,
        0.05,
        "assumed: 20 s and 100 kB of visits per subject (batches stream to the store)",
    ),
    "scans": Limit("simulated CMAP scans", 100_000, 2e4, 3.0, "measured: about 3 labelled scans per second on one core"),
    "runs": Limit(
        "disease runs per muscle",
        10_000,
        2e7,
        0.2,
        "measured: a human hand muscle's course to day 2,200 in about 5 s on one core; memory assumed (one muscle's state)",
    ),
    "batch_size": Limit("subjects per batch", 1_000, 50e6, 0.05, "a batch is held in one worker's memory"),
    "population": Limit("particles per fit generation", 100_000, 1e4, 2.0, "assumed: 2 simulations per second"),
    "generations": Limit("fit generations", 200, 0.0, 1.0, "assumed"),
    "workers": Limit("local Dask workers", 256, 250e6, 0.0, "measured: a worker process holds about 0.25 GB"),
}


def _bytes(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n / 1e3:.3g} kB"


def _duration(s: float) -> str:
    for unit, size in (("years", 3.15e7), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if s >= size:
            return f"{s / size:.3g} {unit}"
    return f"{s:.3g} s"


def estimate(kind: str, count: float) -> str:
    """``"about M of memory and T on one core"`` for ``count`` elements of ``kind``."""
    limit = LIMITS[kind]
    memory = f"about {_bytes(count * limit.bytes_each)} of memory"
    return memory + (f" and {_duration(count / limit.per_second)} on one core" if limit.per_second > 0 else "")


def check_size(kind: str, count: float, name: str, allow_large: bool = False, where: str = "") -> None:
    """Refuse ``count`` elements of ``kind`` above its maximum unless ``allow_large``.

    ``name``: the key or option; ``where``: the file, put first in the message.
    """
    limit = LIMITS[kind]
    if count > limit.maximum and not allow_large:
        raise EndplateInputError(
            f"{where + ': ' if where else ''}{name} = {count:,.0f} is above the limit of {limit.maximum:,} {limit.what} "
            f"({estimate(kind, count)}); pass --allow-large to run it anyway (a bigger machine or a Dask cluster)"
        )
