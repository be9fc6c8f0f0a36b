"""Post-exercise RNS: 3 Hz trains at rest, right after a conditioning tetanus and minutes later.

The EMG-lab protocol for post-activation facilitation and exhaustion (myasthenia) and the
post-exercise increment (Lambert-Eaton): a 3 Hz train at rest; a rest; a conditioning tetanus
standing for about 10 s of maximal voluntary effort (motor units fire at 20-50 Hz in a maximal
contraction; 30 Hz by default, an assumption); then the same 3 Hz train immediately after (1 s)
and 1, 2, 3 and 4 min after the end of the conditioning. One junction population is carried
through the whole session, so every state (pool, facilitation, mobilisation, potentiation, tSC,
desensitisation) runs on between the trains as it would in the patient.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from endplate.errors import EndplateInputError
from endplate.junction.parameters import JunctionParameters
from endplate.junction.population import JunctionPopulation, JunctionState, make_population
from endplate.junction.provenance import provenance_attrs
from endplate.junction.rns import NORMAL_CMAP_MV, decrement
from endplate.kernels import TrainRecord, run_train
from endplate.readings import REASON_SUFFIX
from endplate.seeding import substreams

# When the probe trains start, seconds after the last conditioning impulse: "immediately" (1 s,
# the time to start the stimulator) and at 1, 2, 3 and 4 min, as in the published protocols (N22).
PROBE_AFTER_S = (1.0, 60.0, 120.0, 180.0, 240.0)
REST_BEFORE_S = 60.0  # from the end of the resting train to the start of the conditioning (assumed)


def check_session(frequency_hz, n_stimuli, conditioning_hz, conditioning_s, after_s, rest_before_s) -> None:
    """The session's settings, else EndplateInputError naming the one that is wrong."""
    for name, value, top in (
        ("frequency_hz", frequency_hz, 1000.0),
        ("conditioning_hz", conditioning_hz, 1000.0),
        ("conditioning_s", conditioning_s, None),
        ("rest_before_s", rest_before_s, None),
    ):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0 and (top is None or value <= top)):
            limit = f" and at most {top:g}" if top is not None else ""
            raise EndplateInputError(f"{name} must be a finite number above 0{limit}, got {value!r}")
    if n_stimuli < 4:
        raise EndplateInputError(f"the probe trains need at least 4 stimuli (the decrement is 4th vs 1st), got {n_stimuli}")
    if round(conditioning_hz * conditioning_s) < 1:
        raise EndplateInputError(
            f"the conditioning must hold at least one impulse; {conditioning_s:g} s at {conditioning_hz:g} Hz holds none"
        )
    train_s = (n_stimuli - 1) / frequency_hz
    if len(after_s) < 1 or not all(math.isfinite(t) and t > 0 for t in after_s):
        raise EndplateInputError(f"probe times after the conditioning must be positive seconds, got {list(after_s)}")
    for earlier, later in zip(after_s, after_s[1:]):
        if later - earlier <= train_s:
            raise EndplateInputError(
                f"probe trains at {earlier:g} s and {later:g} s overlap: each lasts {train_s:g} s at {frequency_hz:g} Hz"
            )


def session_intervals(
    frequency_hz: float, n_stimuli: int, conditioning_hz: float, conditioning_s: float, after_s, rest_before_s: float
) -> list[list[float]]:
    """The intervals (ms) of each block of the session: rest train, conditioning, then each probe train."""
    period = 1000.0 / frequency_hz
    n_cond = int(round(conditioning_hz * conditioning_s))
    blocks = [[math.inf] + [period] * (n_stimuli - 1), [1000.0 * rest_before_s] + [1000.0 / conditioning_hz] * (n_cond - 1)]
    last = 0.0  # seconds after the conditioning of the last stimulus delivered
    for t in after_s:
        blocks.append([1000.0 * (t - last)] + [period] * (n_stimuli - 1))
        last = t + (n_stimuli - 1) / frequency_hz
    return blocks


def post_exercise(
    params: JunctionParameters,
    *,
    frequency_hz: float = 3.0,
    n_stimuli: int = 10,
    conditioning_hz: float = 30.0,
    conditioning_s: float = 10.0,
    after_s: tuple[float, ...] | list[float] = PROBE_AFTER_S,
    rest_before_s: float = REST_BEFORE_S,
    n_fibres: int = 2000,
    unit_type: str = "FR",
    seed: int = 0,
    backend: str = "numba",
) -> xr.Dataset:
    """3 Hz trains at rest and at ``after_s`` seconds after a conditioning tetanus.

    Each train counts the fibres that fire at every stimulus and gives each an equal share of a
    normal CMAP, as ``junction.rns`` does (``muscle.post_exercise`` sums the potentials of the
    fibres of a muscle instead). Per train (dimension ``phase``: rest, then each probe
    time): ``cmap_mv`` (phase, stimulus), ``decrement_percent`` (4th vs 1st), ``first_cmap_change_percent``
    (first CMAP against the first CMAP at rest), ``potentiation`` (mean potentiation state at the
    first stimulus of the train). ``post_exercise_increment_percent`` is the first CMAP right after
    the conditioning against the first at rest (the Lambert-Eaton sign); ``facilitation_points``
    the fall of the decrement right after the conditioning (positive: repaired);
    ``exhaustion_points`` the deepest decrement 2-4 min after against rest (positive: deeper).
    Coordinate ``after_s``: when each train starts, in seconds after the last conditioning impulse;
    for the resting train, minus the rest between its end and the start of the conditioning.
    With 2000 fibres the decrement of one train scatters by a few points where many fibres sit
    near threshold (LEMS-like junctions): compare seeds before reading a difference of that size.
    """
    after_s = tuple(float(t) for t in after_s)
    check_session(frequency_hz, n_stimuli, conditioning_hz, conditioning_s, after_s, rest_before_s)
    blocks = session_intervals(frequency_hz, n_stimuli, conditioning_hz, conditioning_s, after_s, rest_before_s)
    names = block_names(after_s)
    streams = substreams(seed, "population", *names)
    pop = make_population(params, n_fibres, streams["population"], unit_type)

    def equal_shares(rec: TrainRecord) -> tuple[np.ndarray, np.ndarray]:
        fired = rec.fired_fraction * pop.size
        return fired * NORMAL_CMAP_MV / n_fibres, fired

    cmap, fired, potentiation = run_session(pop, pop.rested_state(), blocks, [streams[n] for n in names], equal_shares, backend)
    attrs = provenance_attrs(
        "post-exercise",
        seed,
        params,
        frequency_hz=frequency_hz,
        n_stimuli=n_stimuli,
        conditioning_hz=conditioning_hz,
        conditioning_s=conditioning_s,
        after_s=list(after_s),
        rest_before_s=rest_before_s,
        n_fibres=n_fibres,
        unit_type=unit_type,
        backend=backend,
    )
    return session_dataset(cmap, fired, potentiation, after_s, rest_before_s, attrs)


def block_names(after_s) -> list[str]:
    """The names of the session's blocks, in order: their random streams are drawn by these names."""
    return ["rest", "conditioning", *[f"probe{i}" for i in range(len(after_s))]]


# What a probe train gives: the CMAP (mV) and the number of fibres that fired, per stimulus.
CmapOf = Callable[[TrainRecord], tuple[np.ndarray, np.ndarray]]


def run_session(
    pop: JunctionPopulation,
    state: JunctionState,
    blocks: list[list[float]],
    streams: list[int],
    cmap_of: CmapOf,
    backend: str = "numba",
    record: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Carry ``pop`` (from ``state``, advanced in place) through the blocks of ``session_intervals``.

    ``streams`` holds one seed per block; ``cmap_of`` turns each probe train (every block but the
    conditioning, the second) into its CMAP and fibres fired per stimulus; ``record`` asks the
    kernel for per-fibre records of the probe trains (``cmap_of`` reads them). Returns the CMAPs
    and fibres fired (train, stimulus) and the mean potentiation each train meets at its first
    stimulus (NaN for an empty population).
    """
    cmaps, fired_counts, potentiation = [], [], []
    for k, (intervals, stream) in enumerate(zip(blocks, streams)):
        probe = k != 1
        if probe:
            # the state the train meets: potentiation decayed over the interval before its first stimulus
            level = float(state.potentiation.mean()) if pop.size else math.nan
            potentiation.append(level * math.exp(-intervals[0] / pop.params.potentiation_tau_ms))
        rec = run_train(pop, state, intervals, stream, backend=backend, record=record and probe)
        if probe:
            cmap, fired = cmap_of(rec)
            fired_counts.append(fired)
            cmaps.append(cmap)
    return np.array(cmaps), np.array(fired_counts), np.array(potentiation)


def session_dataset(
    cmap: np.ndarray,
    fired: np.ndarray,
    potentiation: np.ndarray,
    after_s: tuple[float, ...],
    rest_before_s: float,
    attrs: dict,
) -> xr.Dataset:
    """The readouts of a session's trains (see ``post_exercise``); ``attrs`` gets the reasons of undefined values."""
    decrements, reasons = [], []
    for label, row in zip(["rest", *[f"{t:g} s after" for t in after_s]], cmap):
        value, why = decrement(row)
        decrements.append(np.nan if value is None else value)
        if why:
            reasons.append(f"{label}: {why}")
    decrements_arr = np.array(decrements)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = 100.0 * (cmap[:, 0] / cmap[0, 0] - 1.0) if cmap[0, 0] > 0 else np.full(len(cmap), np.nan)
    late = [i + 1 for i, t in enumerate(after_s) if 120.0 <= t <= 240.0]
    summary = {
        "post_exercise_increment_percent": float(change[1]),
        "facilitation_points": float(decrements_arr[0] - decrements_arr[1]),
        "exhaustion_points": float(np.max(decrements_arr[late]) - decrements_arr[0]) if late else np.nan,
    }
    if cmap[0, 0] <= 0:
        attrs["post_exercise_increment_percent" + REASON_SUFFIX] = "no fibre responded to the first stimulus at rest"
    if reasons:
        attrs["decrement_percent" + REASON_SUFFIX] = "; ".join(reasons)
    if not late:
        attrs["exhaustion_points" + REASON_SUFFIX] = "no probe train 2-4 min after the conditioning"
    # Readouts derived from an undefined decrement or CMAP are undefined too: say why, once, here.
    values = {**summary, "first_cmap_change_percent": change, "potentiation": potentiation}
    for name, why in (
        ("facilitation_points", "the decrement at rest or right after the conditioning is undefined"),
        ("exhaustion_points", "the decrement at rest or in a train 2-4 min after is undefined"),
        ("post_exercise_increment_percent", "the first CMAP right after the conditioning is undefined"),
        ("first_cmap_change_percent", "no fibre responded to the first stimulus at rest"),
        ("potentiation", "no junction to hold it"),
    ):
        if not np.all(np.isfinite(values[name])):
            attrs.setdefault(name + REASON_SUFFIX, why)
    return xr.Dataset(
        {
            "cmap_mv": (("phase", "stimulus"), cmap),
            "fibres_fired": (("phase", "stimulus"), fired),
            "decrement_percent": ("phase", decrements_arr),
            "first_cmap_mv": ("phase", cmap[:, 0]),
            "first_cmap_change_percent": ("phase", change),
            "potentiation": ("phase", potentiation),
            **{k: ((), v) for k, v in summary.items()},
        },
        coords={"phase": ["rest", *[f"{t:g} s after" for t in after_s]], "after_s": ("phase", [-rest_before_s, *after_s])},
        attrs=attrs,
    )


def session_payload(ds: xr.Dataset) -> dict:
    """A session's readouts as plain JSON values: lists and numbers, None beside its reason for what is undefined."""

    def plain(value: np.ndarray):
        if value.ndim == 0:
            v = value.item()
            return None if isinstance(v, float) and not math.isfinite(v) else v
        return [plain(v) for v in value]

    payload: dict[str, Any] = {name: plain(ds.coords[name].values) for name in ("phase", "after_s")}
    payload.update({str(name): plain(ds[name].values) for name in ds.data_vars})
    payload.update({k: v for k, v in ds.attrs.items() if k.endswith(REASON_SUFFIX)})
    return payload
