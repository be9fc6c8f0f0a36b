"""Volume conductor: fibre potentials summed at a surface electrode.

Each fibre's potential at the electrode is a biphasic wave (negative first) whose size grows
with fibre cross-section and falls exponentially with distance from the electrode, and whose
width grows with distance (tissue low-pass filtering). Fibres of a unit are grouped in depth
bins, so a unit's potential is a sum over a few bins rather than over every fibre; latency
dispersion between units (axonal conduction velocities) and within them (endplate spread) gives
phase cancellation.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from numba import njit

from endplate.muscle.anatomy import Anatomy

N_DEPTH_BINS = 16
DT_MS = 0.05
POSITIVE_PHASE = 0.5  # the positive phase of a surface fibre potential is smaller (assumed)
# Unit templates depend only on unit latencies, bin widths and the time base, which a muscle keeps
# through a run while its fibre weights follow atrophy; readouts of the same muscle on later days
# share them (a disease run reads each muscle every visit). Kept by content, least recently used
# out first, up to this many bytes.
TEMPLATE_CACHE_BYTES = 256 * 2**20
_template_cache: OrderedDict[tuple, _Templates] = OrderedDict()
_template_lock = threading.Lock()


def wave_shape(x: np.ndarray) -> np.ndarray:
    """Biphasic unit wave: -1 at x = -1, +POSITIVE_PHASE at x = 1, near zero beyond |x| = 3."""
    y = x * np.exp(0.5 * (1.0 - x * x))
    return np.where(y > 0, POSITIVE_PHASE * y, y)


WAVE_SUPPORT = 15.0  # |x| beyond which the wave is below float32's smallest number (x e^(-112) < 1e-45)


@njit(cache=True)
def _wave_row(start, width, time, out):
    """``wave_shape((time - start) / width)`` into ``out`` (float32) on the uniform grid ``time``.

    Zero where |x| > WAVE_SUPPORT (below float32's range anyway). Inside, the Gaussian factor
    E = exp((1 - x^2) / 2) is carried from sample to sample: with x growing by d a sample,
    E(x + d) = E(x) R(x) with R(x) = exp(-x d - d^2 / 2), and R(x + d) = R(x) exp(-d^2): two
    multiplications a sample instead of an exponential (the fill was most of a reduced muscle's
    readout). Its relative error grows as eps n^2 / 2 over n samples, under 1e-10 for the
    longest grids (about 1,400 samples), far below float32's 6e-8.
    """
    n = time.shape[0]
    step = (time[-1] - time[0]) / (n - 1) / width if n > 1 else 0.0
    shrink = math.exp(-step * step)
    started = False
    e = ratio = 0.0
    for i in range(n):
        x = (float(time[i]) - start) / width
        if abs(x) > WAVE_SUPPORT:
            out[i] = 0.0
            started = False
            continue
        if not started:
            e = math.exp(0.5 * (1.0 - x * x))
            ratio = math.exp(-x * step - 0.5 * step * step)
            started = True
        y = x * e
        out[i] = POSITIVE_PHASE * y if y > 0.0 else y
        e *= ratio
        ratio *= shrink


@njit(cache=True, inline="always")
def _have_wave(u, b, start, width, time, data, have):
    """Unit ``u``'s wave in bin ``b``, filled into ``data`` the first time it is asked for."""
    if not have[u, b]:
        _wave_row(start[u, b], width[b], time, data[u, b])
        have[u, b] = True
    return data[u, b]


@njit(cache=True)
def _potentials(weights, start, width, time, data, have, out):
    """``out[u] = sum over bins b of weights[u, b] x wave of unit u in bin b``, the waves of the
    pairs with a weight computed on first use (``data``, marked in ``have``)."""
    n_t = time.shape[0]
    for u in range(weights.shape[0]):
        for b in range(weights.shape[1]):
            w = weights[u, b]
            if w == 0.0:
                continue
            row = _have_wave(u, b, start, width, time, data, have)
            for i in range(n_t):
                out[u, i] += w * row[i]


@njit(cache=True)
def _fill_all(start, width, time, data, have):
    for u in range(have.shape[0]):
        for b in range(have.shape[1]):
            _have_wave(u, b, start, width, time, data, have)


@dataclass
class Conductor:
    """What the electrode sees of an anatomy, precomputed once per anatomy state."""

    fibre_bin: np.ndarray  # int32 depth bin of each fibre
    fibre_weight_mv: np.ndarray  # float32 peak potential of each fibre at the electrode
    unit_latency_ms: np.ndarray  # float64 per unit
    bin_width_ms: np.ndarray  # float64 per depth bin
    time_ms: np.ndarray  # sample times
    _templates: np.ndarray | None = None
    _waves: _Templates | None = None  # this conductor's entry of the template cache, once looked up
    _last: tuple | None = None  # (bin weights, potentials) of the last unit_potentials

    def unit_bin_weights(self, anatomy: Anatomy, fibre_active: np.ndarray | None = None) -> np.ndarray:
        """(n_units, n_bins) summed fibre potentials of the fibres that fire (all innervated by default)."""
        active = anatomy.innervated() if fibre_active is None else fibre_active & anatomy.innervated()
        idx = anatomy.owner[active].astype(np.int64) * N_DEPTH_BINS + self.fibre_bin[active]
        w = np.bincount(idx, weights=self.fibre_weight_mv[active], minlength=anatomy.n_units * N_DEPTH_BINS)
        return w.reshape(anatomy.n_units, N_DEPTH_BINS)

    def templates(self) -> np.ndarray:
        """(n_units, n_bins, n_times) unit waves per depth bin, float32 (computed once, cached)."""
        if self._templates is None:
            self._templates = _cached_templates(self.unit_latency_ms, self.bin_width_ms, self.time_ms).full()
        return self._templates

    def unit_potentials(self, anatomy: Anatomy, fibre_active: np.ndarray | None = None) -> np.ndarray:
        """(n_units, n_times) motor unit potentials at the electrode (mV), read-only.

        A unit's fibres lie in a few of the depth bins (a quarter to a third of the unit-bin pairs
        hold a fibre), so only the waves of the pairs that hold one are computed (once, cached) and
        summed. The potentials are a function of the bin weights and the templates alone, so a call
        with the same weights as the last (a CMAP and a MUNE of the same muscle on the same day)
        reuses them.
        """
        weights = self.unit_bin_weights(anatomy, fibre_active).astype(np.float32)
        last = self._last
        if last is not None and np.array_equal(last[0], weights):
            return last[1]
        if self._waves is None:
            self._waves = _cached_templates(self.unit_latency_ms, self.bin_width_ms, self.time_ms)
        lazy = self._waves
        out = np.zeros((weights.shape[0], self.time_ms.size), np.float32)
        _potentials(weights, lazy.start, lazy.width, lazy.time, lazy.data, lazy.have, out)
        out.setflags(write=False)
        self._last = (weights, out)
        return out


class _Templates:
    """Unit waves per depth bin, float32, each computed (in float64) the first time a readout needs it."""

    def __init__(self, latency_ms: np.ndarray, width_ms: np.ndarray, time_ms: np.ndarray) -> None:
        self.width = np.asarray(width_ms, np.float64)
        self.start = np.asarray(latency_ms, np.float64)[:, None] + 3.0 * self.width[None, :]
        self.time = np.asarray(time_ms, np.float64)
        self.data = np.empty((latency_ms.size, width_ms.size, time_ms.size), np.float32)  # pages touched when filled
        self.have = np.zeros((latency_ms.size, width_ms.size), bool)
        self.nbytes = self.data.nbytes

    def full(self) -> np.ndarray:
        """Every unit's waves in every bin (read-only)."""
        _fill_all(self.start, self.width, self.time, self.data, self.have)
        out = self.data.view()
        out.setflags(write=False)
        return out


def _cached_templates(latency_ms: np.ndarray, width_ms: np.ndarray, time_ms: np.ndarray) -> _Templates:
    """The ``_Templates`` of these inputs, from the cache when the same inputs were seen."""
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (latency_ms, width_ms, time_ms)]
    digest = hashlib.blake2b(b"".join(a.tobytes() for a in arrays), digest_size=20).digest()
    key = (*(a.size for a in arrays), digest)
    with _template_lock:
        hit = _template_cache.get(key)
        if hit is not None:
            _template_cache.move_to_end(key)
            return hit
        out = _Templates(*arrays)
        _template_cache[key] = out
        while sum(a.nbytes for a in _template_cache.values()) > TEMPLATE_CACHE_BYTES and len(_template_cache) > 1:
            _template_cache.popitem(last=False)
    return out


def conductor(anatomy: Anatomy) -> Conductor:
    """Electrode geometry of ``anatomy``: distances, weights, latencies and the time base."""
    p = anatomy.preset
    electrode = np.array([anatomy.radius_mm + p.skin_depth_mm, 0.0])
    dist = np.hypot(anatomy.fibre_xy_mm[:, 0] - electrode[0], anatomy.fibre_xy_mm[:, 1] - electrode[1])
    edges = np.linspace(dist.min(), dist.max() + 1e-6, N_DEPTH_BINS + 1)
    fibre_bin = np.clip(np.searchsorted(edges, dist, side="right") - 1, 0, N_DEPTH_BINS - 1).astype(np.int32)
    centre = 0.5 * (edges[:-1] + edges[1:])
    width = np.hypot(p.fibre_potential_width_ms * (1 + p.width_per_mm * centre), p.endplate_spread_ms)
    size = (anatomy.fibre_diameter_um / p.fibre_diameter_um) ** 2 * anatomy.atrophy
    weight = (p.fibre_potential_mv * size * np.exp(-dist / p.depth_constant_mm)).astype(np.float32)
    latency = (
        p.stimulation_distance_mm / anatomy.unit_cv_m_per_s + p.terminal_delay_ms + p.electrode_distance_mm / p.fibre_cv_m_per_s
    ).astype(float)
    end = latency.max() + 8 * width.max()
    time = np.arange(0.0, end, DT_MS)
    return Conductor(fibre_bin, weight, latency, width, time)


def negative_peak_mv(waves: np.ndarray) -> np.ndarray:
    """Baseline-to-negative-peak amplitude (mV, positive) of each row."""
    return -waves.min(axis=-1)


def negative_area_mv_ms(waves: np.ndarray) -> np.ndarray:
    """Area of the negative phase (mV ms) of each row."""
    return np.clip(-waves, 0, None).sum(axis=-1) * DT_MS
