"""The disease state of each fibre's NMJ, mapped to junction parameters."""

import numpy as np
import pytest

from endplate.disease import kernel as kern
from endplate.disease.junction_state import FibreJunctionState, diseased_junctions, fibre_junction_state
from endplate.disease.resolve import resolve
from endplate.disease.scenario import load_scenario
from endplate.disease.simulate import init_muscle


def _state(partner: str = "presynaptic"):
    sc = load_scenario("sod1-g93a", muscles=["TA"], first_partner=partner, calibrated=False)
    return init_muscle(resolve(sc), "TA", 3)


def test_record_reads_stage_withdrawal_and_tsc_from_the_disease_state():
    st = _state()
    st.stage[0::3] = kern.IMPAIRED
    st.stage[1::3] = kern.WITHDRAWING
    st.stage[2::3] = kern.HEALTHY  # the warm-up from the drive's start may already have touched some
    s = fibre_junction_state(st)
    assert np.all(s.impaired[0::3] == 1) and np.all(s.impaired[1::3] == 1) and np.all(s.impaired[2::3] == 0)
    assert np.all(s.withdrawn_fraction[1::3] == 0.5) and np.all(s.withdrawn_fraction[0::3] == 0)
    assert np.array_equal(s.innervated, st.anatomy.owner >= 0)
    assert np.all((s.maturity >= 0) & (s.maturity <= 1))


def test_partly_withdrawn_junction_keeps_half_the_pool_of_an_impaired_one():
    st = _state()
    st.stage[0::2] = kern.IMPAIRED
    st.stage[1::2] = kern.WITHDRAWING
    healthy = st.anatomy.junctions
    sick = diseased_junctions(healthy, fibre_junction_state(st))
    q = st.partner
    assert np.allclose(
        sick.release_probability_max[0::2],
        np.clip(healthy.release_probability_max[0::2] * q["release_impaired"], 0, 1),
        rtol=1e-6,
    )
    ratio = sick.capacity[1::2] / np.maximum(1, np.rint(healthy.capacity[1::2] * q["capacity_impaired"]))
    assert np.all(np.abs(ratio - 0.5) < 0.02)


def _record(n: int, **fields) -> FibreJunctionState:
    base = dict(
        innervated=np.ones(n, bool),
        impaired=np.zeros(n),
        withdrawn_fraction=np.zeros(n),
        maturity=np.ones(n),
        tsc_present=np.ones(n),
        partner={"release_impaired": 0.6, "capacity_impaired": 0.7, "quantal_impaired": 1.0, "tsc_gain_impaired": 1.0},
    )
    base.update({k: np.full(n, v, float) for k, v in fields.items()})
    return FibreJunctionState(**base)


def _safety_factor_and_3_hz_failures(pop) -> tuple[float, float, float]:
    """Mean safety factor at the first stimulus, and the fraction of fibres failing at the 1st and 4th of 3 Hz."""
    from endplate.kernels import run_train

    rec = run_train(pop, pop.rested_state(), [np.inf] + [1000.0 / 3] * 3, seed=11)
    sf = float(np.mean(rec.epp_mv[:, 0] / pop.threshold_mv))
    return sf, 1 - rec.fired_fraction[0], 1 - rec.fired_fraction[3]


@pytest.mark.parametrize("species", ["mouse", "human"])
def test_immature_impaired_and_withdrawn_junctions_carry_a_lower_safety_factor(species):
    from endplate.junction.parameters import default_parameters
    from endplate.junction.population import make_population

    healthy = make_population(default_parameters(species), 3000, seed=5)
    mature = _safety_factor_and_3_hz_failures(diseased_junctions(healthy, _record(3000)))[0]
    for state in (dict(maturity=0.3), dict(impaired=1.0), dict(withdrawn_fraction=0.5)):
        sf = _safety_factor_and_3_hz_failures(diseased_junctions(healthy, _record(3000, **state)))[0]
        assert sf < 0.8 * mature, state


@pytest.mark.parametrize("species", ["human", "mouse"])
def test_immature_junctions_run_down_into_failure_within_a_3_hz_train(species):
    """A small store released at a larger share: more fibres fail at the 4th than at the 1st stimulus.

    Failed for the mouse before its immature terminal released IMMATURE_SHARE of its store: at
    twice the mature mouse share (0.03) the store held at 3 Hz (failures 1st -> 4th within 2 points).
    """
    from endplate.junction.parameters import default_parameters
    from endplate.junction.population import make_population

    healthy = make_population(default_parameters(species), 4000, seed=5)
    _, first, fourth = _safety_factor_and_3_hz_failures(diseased_junctions(healthy, _record(4000, maturity=0.4)))
    assert fourth > first + 0.05


def test_immature_mouse_junction_trades_store_for_share_at_the_same_first_quantal_content():
    """The share per impulse reaches IMMATURE_SHARE; the store shrinks so that share x store (the
    first-impulse quantal content) is what IMMATURE_RELEASE x IMMATURE_CAPACITY gives at each maturity."""
    from endplate.disease import junction_state as js
    from endplate.junction.parameters import default_parameters
    from endplate.junction.population import make_population

    params = default_parameters("mouse")
    healthy = make_population(params, 2000, seed=5, heterogeneity=False)
    mature_share = js.resting_release_share(params)
    assert mature_share < js.IMMATURE_SHARE / js.IMMATURE_RELEASE  # the mouse is the case the share rule is for
    for maturity in (0.0, 0.4, 0.8):
        young = 1 - maturity
        sick = diseased_junctions(healthy, _record(2000, maturity=maturity))
        share = mature_share * sick.release_probability_max / healthy.release_probability_max
        expected_qc = (1 + (js.IMMATURE_RELEASE - 1) * young) * (1 - (1 - js.IMMATURE_CAPACITY) * young)
        qc_ratio = (sick.release_probability_max * sick.capacity) / (healthy.release_probability_max * healthy.capacity)
        assert np.allclose(qc_ratio, expected_qc, rtol=0.02), maturity
        assert np.allclose(share, mature_share + (js.IMMATURE_SHARE - mature_share) * young, rtol=1e-4), maturity


def test_human_immature_junction_is_what_it_was_before_the_share_rule():
    """The human mature share (0.19) doubled is above IMMATURE_SHARE: its immature junction keeps
    IMMATURE_RELEASE and IMMATURE_CAPACITY exactly, so the human ALS course does not move."""
    from endplate.disease import junction_state as js
    from endplate.junction.parameters import default_parameters
    from endplate.junction.population import make_population

    params = default_parameters("human")
    assert js.IMMATURE_RELEASE * js.resting_release_share(params) >= js.IMMATURE_SHARE
    healthy = make_population(params, 1000, seed=5)
    young = 0.6
    sick = diseased_junctions(healthy, _record(1000, maturity=1 - young))
    assert np.array_equal(sick.capacity, np.maximum(1, np.rint(healthy.capacity * (1 - (1 - js.IMMATURE_CAPACITY) * young))))
    release = np.clip(healthy.release_probability_max * (1 + (js.IMMATURE_RELEASE - 1) * young), 0, 1).astype(np.float32)
    assert np.array_equal(sick.release_probability_max, release)


def test_human_reinnervated_junctions_stay_immature_for_months_mouse_ones_for_weeks():
    """Maturation is an e-folding time of the species' disease preset: 365 days for human sporadic
    ALS (Massey & Sanders 1991: human single-fibre EMG still abnormal 34 months after reinnervation),
    21 for the SOD1 mouse. Six months after adoption a human junction still fails within a 3 Hz train
    more often than a mature one; a mouse junction is mature by then. Failed when the human used the
    mouse's 21 days (maturity 1 - exp(-180 / 21) = 0.9998 at six months)."""
    from endplate.junction.parameters import default_parameters
    from endplate.junction.population import make_population

    days = 180.0
    for scenario, species, immature in (("human-als", "human", True), ("sod1-g93a", "mouse", False)):
        sc = load_scenario(scenario)
        st = init_muscle(resolve(sc), sc.muscles[0], 0)
        owner = np.zeros(4, np.int64)
        maturity = kern.current_maturity(days, owner, np.zeros(4), np.ones(4, bool), st.maturation_days)
        assert (maturity[0] < 0.5) == immature, (scenario, maturity[0])
        healthy = make_population(default_parameters(species), 4000, seed=5)
        _, _, mature_fourth = _safety_factor_and_3_hz_failures(diseased_junctions(healthy, _record(4000)))
        _, _, fourth = _safety_factor_and_3_hz_failures(diseased_junctions(healthy, _record(4000, maturity=float(maturity[0]))))
        assert (fourth > mature_fourth + 0.02) == immature, (scenario, fourth, mature_fourth)
