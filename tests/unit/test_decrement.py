"""The human junction's rundown, its safety factor, and the decrement that emerges from it.

Each test here failed on the code before the human junction was rebuilt (issue 12): the human
3 Hz EPP ran down monotonically by about 8 %, the human safety factor (4.3) was above the
mouse's, a 60 % AChR loss gave a 0.2 % decrement and the RNS modules divided by zero.
"""

import warnings

import numpy as np
import pytest

from endplate.calibrate.targets import load_targets
from endplate.junction.epp import epp
from endplate.junction.parameters import default_parameters
from endplate.junction.perturbations import apply_perturbations
from endplate.junction.rns import rns
from endplate.junction.train import train
from endplate.muscle.protocols import muscle
from endplate.muscle.rns import muscle_rns


def _band(row_id: str) -> tuple[float, float]:
    row = load_targets()[row_id]
    return float(row["low"]), float(row["high"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_human_3_hz_epp_runs_down_to_the_4th_or_5th_stimulus_then_partly_recovers(seed):
    """Depletion of the small human store, then mobilisation (N01, N02)."""
    epp_mv = train(default_parameters("human"), frequency_hz=3, n_stimuli=10, n_junctions=500, seed=seed)["epp_mv"].values
    smallest = int(np.argmin(epp_mv))
    low, high = _band("N01")
    assert smallest + 1 in (4, 5)
    assert low <= 100 * (1 - epp_mv[smallest] / epp_mv[0]) <= high
    assert epp_mv[-1] > epp_mv[smallest] * 1.02  # partial recovery, not a monotonic fall


@pytest.mark.parametrize("seed", [0, 7])
def test_human_safety_factor_is_below_the_mouse_and_in_the_published_band(seed):
    human = float(epp(default_parameters("human"), seed=seed)["safety_factor"])
    mouse = float(epp(default_parameters("mouse"), seed=seed)["safety_factor"])
    low, high = _band("N04")
    assert human < mouse
    assert low <= human <= high


def _apb(seed: int = 0, **changes):
    return muscle("human", "APB", seed, default_parameters("human", **changes) if changes else None)


def test_healthy_human_muscle_stays_normal_at_3_hz():
    assert muscle_rns(_apb(), 3.0, 10, 0)["decrement_percent"] < 10


def test_myasthenic_achr_loss_gives_a_decrement_deepest_at_the_4th_or_5th_response():
    """60 % AChR loss: fibres drop out as their EPPs run down below threshold."""
    r = muscle_rns(_apb(achr_density_relative=0.4), 3.0, 10, 0)
    cmap = r["cmap_mv"]
    assert r["decrement_percent"] > 10
    assert int(np.argmin(cmap)) + 1 in (4, 5)
    assert cmap[-1] > cmap.min()  # the U shape of the myasthenic train


def test_lems_like_loss_of_ca_entry_gives_low_cmap_decrement_and_high_rate_increment():
    """Presynaptic: small first CMAP, decrement at 3 Hz, increment at 30-50 Hz (N08, N09 directions)."""
    healthy = _apb()
    lems = muscle("human", "APB", 0, apply_perturbations(default_parameters("human"), ["lems"]))
    first_healthy = muscle_rns(healthy, 3.0, 10, 0)["cmap_mv"][0]
    slow = muscle_rns(lems, 3.0, 10, 0)
    assert slow["cmap_mv"][0] < 0.5 * first_healthy
    assert slow["decrement_percent"] > 5
    for rate in (30.0, 50.0):
        fast = muscle_rns(lems, rate, 60, 0)["cmap_mv"]
        assert fast.max() > 1.6 * fast[0], rate


def test_halving_release_lowers_the_first_cmap_and_deepens_the_decrement():
    healthy = muscle_rns(_apb(), 3.0, 10, 0)
    halved = muscle_rns(_apb(ca_mm=1.0), 3.0, 10, 0)
    assert float(epp(default_parameters("human", ca_mm=1.0), seed=0)["quantal_content"]) < 0.6 * float(
        epp(default_parameters("human"), seed=0)["quantal_content"]
    )
    assert halved["cmap_mv"][0] < healthy["cmap_mv"][0]
    assert halved["decrement_percent"] > healthy["decrement_percent"] + 2


def test_junction_rns_reports_an_undefined_decrement_with_its_reason_and_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ds = rns(default_parameters("human", achr_density_relative=0.02), frequency_hz=3, seed=0)
    assert float(ds["cmap_mv"][0]) == 0
    assert "first stimulus" in ds.attrs["decrement_percent_undefined_reason"]


def test_muscle_without_an_innervated_fibre_reports_its_decrement_undefined_with_a_reason():
    anatomy = _apb()
    anatomy.owner[:] = -1
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        r = muscle_rns(anatomy, 3.0, 10, 0)
    assert r["decrement_percent"] is None and "no innervated fibre" in r["decrement_percent_undefined_reason"]
    assert not np.isnan(r["cmap_mv"]).any()


def test_symptomatic_sod1_ta_decrements_at_3_hz_as_its_immature_junctions_run_down(small_ta):
    """SOD1-G93A TA at P110 (symptomatic): a measurable 3 Hz decrement from fibres that fire at the
    1st stimulus and drop out by the 4th.

    Threshold 5 %: the lower edge of what Killian et al. 1994 call a borderline decrement in ALS
    (5-9 %, L20; secondary) and below the 8.5-point rise of the CMAP decrement in symptomatic
    SOD1-G93A rats (Leermakers et al., L53, test: rat gastrocnemius, so only a bound). No mouse
    value was found. Before the immature mouse terminal released IMMATURE_SHARE of a small store,
    this muscle decremented 2-4 % (mean of 3 courses x 5 trains: 3.7 %; now about 9 %), its fibres
    failing 1-3 points more at the 4th stimulus than at the 1st.
    """
    decrements, dropouts = [], []
    for course_seed in (0, 1, 2):
        anatomy = small_ta(course_seed, 110)
        for rns_seed in range(5):
            r = muscle_rns(anatomy, 3.0, 10, rns_seed)
            decrements.append(r["decrement_percent"])
            dropouts.append(r["fibres_failing_percent"][3] - r["fibres_failing_percent"][0])
    assert np.mean(decrements) > 5, decrements
    assert np.mean(dropouts) > 4, dropouts


def test_healthy_mouse_ta_does_not_decrement_at_3_hz():
    """The share rule changes immature junctions only: the healthy mouse TA keeps every fibre firing."""
    r = muscle_rns(muscle("mouse", "TA", 0), 3.0, 10, 0)
    assert abs(r["decrement_percent"]) < 1 and max(r["fibres_failing_percent"]) < 1
