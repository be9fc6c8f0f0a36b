"""Motor unit number estimation by the clinical methods, computed from simulated recordings.

Every estimate is returned beside the true number of functioning units. The methods see only
what a clinician records: response amplitudes, waveforms and, for MUNIX, surface interference
patterns; a unit whose potential is lost in the baseline noise is invisible to them.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from endplate.errors import EndplateInputError
from endplate.muscle.anatomy import Anatomy
from endplate.muscle.cmap import maximal_cmap, record, unit_fires
from endplate.muscle.emg import DT_MS, Conductor, conductor, negative_peak_mv
from endplate.readings import reading
from endplate.seeding import substreams

METHODS = ("incremental", "mps", "scanfit", "munix")
N_INCREMENTS = 10
DETECTION_FACTOR = 3.0  # an increment must exceed 3x baseline noise to be seen (assumed)


def _result(
    method: str, estimate: float | None, anatomy: Anatomy, cmap_mv: float, smup_mv: float, undefined_reason: str = "", **extra
) -> dict:
    """One method's answer; an estimate the recording cannot give is None beside ``undefined_reason``."""
    return {
        "method": method,
        **reading("estimate", estimate, undefined_reason),
        "true_units": anatomy.functioning_units(),
        "cmap_mv": float(cmap_mv),
        **reading("mean_smup_uv", smup_mv * 1000 if estimate else None, undefined_reason),
        **extra,
    }


def estimate_value(result: dict) -> float:
    """The estimate as a number for stored series (NaN where undefined; the reason is in ``result``)."""
    return float("nan") if result["estimate"] is None else result["estimate"]


def incremental(anatomy: Anatomy, seed: int, cond: Conductor) -> dict:
    """McComas incremental stimulation: the first 10 discrete response levels above threshold.

    As in the clinic, every new all-or-none level counts as an increment, including the extra
    levels that alternation of units with close thresholds produces (a known reason why the
    method overestimates the count). Mean unit size = highest level / number of levels.
    """
    rng = np.random.default_rng(seed)
    potentials = cond.unit_potentials(anatomy)
    cmap = maximal_cmap(anatomy, seed, cond)["amplitude_mv"]
    lowest = anatomy.unit_threshold_ma[anatomy.unit_alive].min()
    steps = lowest * (0.95 + 0.0025 * np.arange(400))
    detect = DETECTION_FACTOR * anatomy.preset.noise_uv * 1e-3
    baseline, levels = None, []
    for s in steps:
        amp = float(
            negative_peak_mv(record(unit_fires(anatomy, np.array([s]), rng), potentials, anatomy.preset.noise_uv, rng))[0]
        )
        if baseline is None:
            baseline = amp
            continue
        if amp > baseline + detect and all(abs(amp - seen) > detect for seen in levels):
            levels.append(amp)
            if len(levels) == N_INCREMENTS:
                break
    smup = (max(levels) - baseline) / len(levels) if levels else 0.0
    return _result(
        "incremental",
        cmap / smup if smup > 0 else None,
        anatomy,
        cmap,
        smup,
        f"no response level rose {DETECTION_FACTOR:g}x the noise above baseline",
        increments=len(levels),
    )


def multipoint(
    anatomy: Anatomy, seed: int, cond: Conductor, n_sites: int = 10, per_site: int = 2, site_spread: float = 0.15
) -> dict:
    """Multiple point stimulation: the first visible all-or-none units at several nerve sites.

    Each site reorders axonal thresholds (lognormal factor, CV ``site_spread``, assumed).
    """
    rng = np.random.default_rng(seed)
    potentials = cond.unit_potentials(anatomy)
    amplitude = negative_peak_mv(potentials)
    cmap = maximal_cmap(anatomy, seed, cond)["amplitude_mv"]
    detect = DETECTION_FACTOR * anatomy.preset.noise_uv * 1e-3
    visible = np.flatnonzero(anatomy.unit_alive & (amplitude > detect))
    if visible.size == 0:
        return _result(
            "mps", None, anatomy, cmap, 0.0, f"no unit potential reaches {DETECTION_FACTOR:g}x the noise", sampled_units=0
        )
    sampled = set()
    for _ in range(n_sites):
        site = anatomy.unit_threshold_ma * rng.lognormal(0.0, site_spread, anatomy.n_units)
        sampled.update(visible[np.argsort(site[visible])[:per_site]].tolist())
    smup = float(amplitude[list(sampled)].mean())
    return _result("mps", cmap / smup, anatomy, cmap, smup, sampled_units=len(sampled))


def _monotone(y: np.ndarray) -> np.ndarray:
    """Least-squares non-decreasing fit (pool-adjacent-violators)."""
    values, weights, counts = [], [], []
    for v in y:
        values.append(float(v))
        weights.append(1.0)
        counts.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            w = weights[-2] + weights[-1]
            values[-2] = (values[-2] * weights[-2] + values[-1] * weights[-1]) / w
            weights[-2], counts[-2] = w, counts[-2] + counts[-1]
            values.pop(), weights.pop(), counts.pop()
    return np.repeat(values, counts)


def _merge_close(thresholds: np.ndarray, amplitude: float, rsd: float, merge: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge equal steps whose thresholds lie within ``merge`` x RSD of each other into one unit."""
    gaps = np.diff(thresholds) > merge * rsd * thresholds[:-1]
    group = np.concatenate([[0], np.cumsum(gaps)])
    counts = np.bincount(group)
    centres = np.bincount(group, weights=thresholds) / counts
    return centres, amplitude * counts


def scan_fit(
    stimulus: np.ndarray,
    response: np.ndarray,
    noise_mv: float,
    n_grid=None,
    rsd_grid=(0.005, 0.01, 0.0165, 0.025, 0.04),
    merge_grid=(0.05, 0.15, 0.5),
) -> tuple[float, float]:
    """Fit a CMAP scan with a model of units; returns (number of units, threshold RSD).

    In the spirit of MScanFit (Bostock 2016): the model predicts both the mean response and its
    stimulus-by-stimulus variance (each unit fires or not), and its parameters maximise the
    Gaussian likelihood of the scan. The model is built from the monotone fit of the scan cut
    into N equal steps; steps whose thresholds fall within a fraction (``merge_grid``) of an RSD
    of each other are one unit (a large unit makes a steep jump), so units differ in size. N, RSD
    and the merge fraction are searched on a grid; the estimate is the number of units of the
    best model.
    """
    order = np.argsort(stimulus)
    s, y = stimulus[order], response[order]
    mean = _monotone(y)
    low, high = mean[0], mean[-1]
    if high - low <= 3 * noise_mv:
        return 0.0, float("nan")
    n_grid = n_grid if n_grid is not None else np.unique(np.round(np.geomspace(2, 2000, 80)).astype(int))
    ramp = mean + np.arange(mean.size) * 1e-12 * (high - low)
    best = (-np.inf, 0, 0.0)
    for n in n_grid:
        a = (high - low) / n
        steps = np.interp(low + a * (np.arange(n) + 0.5), ramp, s)
        for rsd in rsd_grid:
            for merge in merge_grid:
                thresholds, amplitudes = _merge_close(steps, a, rsd, merge)
                p = ndtr((s[:, None] - thresholds[None, :]) / (rsd * thresholds[None, :]))
                mu = low + p @ amplitudes
                var = (p * (1 - p)) @ amplitudes**2 + noise_mv**2
                ll = -0.5 * np.sum((y - mu) ** 2 / var + np.log(var))
                if ll > best[0]:
                    best = (ll, thresholds.size, rsd)
    return float(best[1]), float(best[2])


def scanfit(anatomy: Anatomy, seed: int, cond: Conductor, n_stimuli: int = 500) -> dict:
    from endplate.muscle.cmap import cmap_scan

    scan = cmap_scan(anatomy, n_stimuli, seed, cond)
    noise = anatomy.preset.noise_uv * 1e-3
    n, rsd = scan_fit(scan["stimulus_ma"], scan["cmap_mv"], noise)
    cmap = float(np.max(scan["cmap_mv"]))
    return _result(
        "scanfit",
        n or None,
        anatomy,
        cmap,
        cmap / n if n else 0.0,
        "the scan rises less than 3x the noise: no unit to fit",
        **reading("fitted_rsd", rsd, "no unit to fit"),
    )


# SIP area is referred to this much signal before it is compared with the 20 mV ms reference.
# Assumed (inferred): with the literal 500-ms epoch, ICMUC cannot exceed (P/A of the CMAP) x T / A
# and MUSIX cannot fall below A / T x (CMAP amplitude / its P/A), 67 uV for a thenar CMAP, whereas
# healthy APB reads MUNIX 191 +- 44 and MUSIX 60.4 +- 12.5 uV (Cao 2020, M04, M114, read). Both
# are reached with SIP area per second of signal; Nandedkar 2004's own definition was not readable.
SIP_TIME_BASE_MS = 1000.0


def munix(
    anatomy: Anatomy,
    seed: int,
    cond: Conductor,
    levels=np.linspace(0.05, 1.0, 20),
    epoch_ms: float = 500.0,
    reference_area_mv_ms: float = 20.0,
    sip_time_base_ms: float = SIP_TIME_BASE_MS,
) -> dict:
    """MUNIX (Nandedkar 2004) from simulated surface interference patterns at graded force.

    Twenty 500-ms epochs from slight to maximal force, as the recording guidelines ask
    (Nandedkar et al. 2018, Muscle Nerve 58:374).

    Recruitment follows size (thresholds from 1 to 70 % of maximal drive, assumed); rates rise
    from 8 Hz at recruitment to 35 Hz (assumed); discharges are gamma-distributed (CV 0.2).
    ICMUC = (CMAP power x SIP area) / (CMAP area x SIP power); MUNIX is the power-law fit of
    ICMUC against SIP area evaluated at 20 mV ms, SIP area being referred to ``sip_time_base_ms``
    of signal (``SIP_TIME_BASE_MS``; pass ``epoch_ms`` for the literal epoch area).
    """
    rng = np.random.default_rng(seed)
    potentials = cond.unit_potentials(anatomy)
    cmap = maximal_cmap(anatomy, seed, cond)
    c_wave = cmap["waveform_mv"]
    c_area, c_power = np.abs(c_wave).sum() * DT_MS, (c_wave**2).sum() * DT_MS
    sizes = anatomy.unit_sizes().astype(float)
    alive = anatomy.unit_alive & (sizes > 0)
    recruit = anatomy.voluntary_threshold()
    n_t = int(epoch_ms / DT_MS)
    starts = np.argmax(np.abs(potentials) > 0, axis=1)
    length = potentials.shape[1]
    icmuc, sip_areas = [], []
    for level in levels:
        sip = np.zeros(n_t + length, np.float32)
        for u in np.flatnonzero(alive & (recruit <= level)):
            rate = min(35.0, 8.0 + 40.0 * (level - recruit[u]))
            isi = rng.gamma(25.0, 1000.0 / rate / 25.0, int(epoch_ms * rate / 1000.0 * 2) + 3)
            times = np.cumsum(isi) - rng.uniform(0, isi[0])
            times = times[(times >= 0) & (times < epoch_ms)]
            for t in (times / DT_MS).astype(int):
                sip[t : t + length - starts[u]] += potentials[u, starts[u] :]
        sip = sip[:n_t] + rng.normal(0, anatomy.preset.noise_uv * 1e-3, n_t).astype(np.float32)
        area, power = np.abs(sip).sum() * DT_MS, (sip**2).sum() * DT_MS
        sip_areas.append(area * sip_time_base_ms / epoch_ms)
        icmuc.append(c_power * area / (c_area * power))
    sip_areas, icmuc = np.array(sip_areas), np.array(icmuc)
    use = sip_areas >= reference_area_mv_ms
    if use.sum() < 3:
        use = np.ones_like(use)
    alpha, log_a = np.polyfit(np.log(sip_areas[use]), np.log(icmuc[use]), 1)
    estimate = float(np.exp(log_a) * reference_area_mv_ms**alpha)
    return _result(
        "munix",
        estimate,
        anatomy,
        cmap["amplitude_mv"],
        cmap["amplitude_mv"] / estimate,
        musix_uv=1000 * cmap["amplitude_mv"] / estimate,
        sip_area_mv_ms=sip_areas.tolist(),
        icmuc=icmuc.tolist(),
        icmuc_bound=munix_bound(c_wave, sip_time_base_ms, reference_area_mv_ms),
    )


def munix_bound(
    cmap_waveform_mv: np.ndarray, time_base_ms: float = SIP_TIME_BASE_MS, reference_area_mv_ms: float = 20.0
) -> float:
    """Largest ICMUC that any interference pattern of the reference area can give.

    By the Cauchy-Schwarz inequality a signal of rectified area A over a time T has power at
    least A**2 / T, so ICMUC = (P_cmap / A_cmap) * (A_sip / P_sip) <= (P_cmap / A_cmap) * T / A,
    with T the time base SIP area is referred to. A Gaussian interference pattern (units
    overlapping densely, Bostock et al. 2019) reaches 2 / pi of it. The bound depends on the
    CMAP's shape and the time base alone, not on the units.
    """
    w = np.asarray(cmap_waveform_mv, float)
    return float((w**2).sum() / np.abs(w).sum() * time_base_ms / reference_area_mv_ms)


_IMPL = {"incremental": incremental, "mps": multipoint, "scanfit": scanfit, "munix": munix}


def mune(anatomy: Anatomy, method: str, seed: int = 0, cond: Conductor | None = None) -> dict:
    """Estimate the number of motor units by ``method`` (one of METHODS).

    A muscle without a functioning unit gives no response: every method's estimate is then
    None with the reason (see ``_result``).
    """
    if method not in _IMPL:
        raise EndplateInputError(f"unknown MUNE method {method!r}; allowed: {', '.join(METHODS)}")
    if anatomy.functioning_units() == 0:
        return _result(method, None, anatomy, 0.0, 0.0, "no functioning motor unit: the nerve evokes no response")
    return _IMPL[method](anatomy, substreams(seed, method)[method], cond or conductor(anatomy))
