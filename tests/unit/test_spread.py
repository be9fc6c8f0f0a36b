"""Site of onset and contiguous spread (disease/spread.py, presets/spread.toml)."""

import numpy as np
import pytest

from endplate.disease.scenario import load_scenario
from endplate.disease.simulate import simulate
from endplate.disease.spread import onset_sites, spread_delays
from endplate.errors import EndplateInputError

SMALL = {"n_units": 80, "n_fibres": 2400}
MUSCLES = ["genioglossus", "APB", "TA"]


def test_scenario_refuses_an_unknown_site_of_onset_naming_the_allowed_ones():
    with pytest.raises(EndplateInputError) as err:
        load_scenario("human-als", onset_site="elbow")
    message = str(err.value)
    assert "onset_site" in message and "'elbow'" in message
    for site in ("upper_limb", "lower_limb", "bulbar", "respiratory"):
        assert site in message


def test_mouse_scenario_has_no_site_of_onset():
    assert onset_sites("mouse") == ()
    with pytest.raises(EndplateInputError, match="onset_site"):
        load_scenario("sod1-g93a", onset_site="bulbar")


def test_bulbar_onset_spreads_to_contiguous_regions_before_distant_ones():
    d = spread_delays("human", "bulbar", ["genioglossus", "diaphragm", "trapezius", "biceps", "APB", "TA"])
    # medulla first, then the cervical cord from its rostral end down, the lumbar cord last
    assert d["genioglossus"] == 0
    assert d["genioglossus"] < d["diaphragm"] <= d["trapezius"] < d["biceps"] < d["APB"] < d["TA"]


def test_lower_limb_onset_reaches_the_hand_before_the_tongue():
    d = spread_delays("human", "lower_limb", ["TA", "APB", "biceps", "genioglossus"])
    assert d["TA"] == 0 < d["APB"] < d["biceps"] < d["genioglossus"]


def test_limb_onset_reaches_the_respiratory_region_at_its_own_published_interval():
    # the second-region interval (15.2 months for the hand) counts limb and bulbar regions only;
    # the respiratory region has its own interval from onset to respiratory symptoms (L70)
    from endplate.disease.spread import _table

    sites = _table()["human"]["sites"]
    own = sites["upper_limb"]["days_to_region"]["respiratory"]["value"]
    for site in ("upper_limb", "lower_limb"):
        d = spread_delays("human", site, ["diaphragm", "genioglossus"])
        assert d["diaphragm"] == own
    up = spread_delays("human", "upper_limb", ["diaphragm", "genioglossus"])
    # the tongue at the second-region hop; the diaphragm's drive now arrives sooner (355 days, fitted
    # against L70: the diaphragm weakens later after its drive than the hand does), no order implied
    assert up["genioglossus"] == sites["upper_limb"]["days_per_region"]["value"] != up["diaphragm"] == own
    # bulbar onset keeps the table's hop (no bulbar-specific interval was found)
    assert spread_delays("human", "bulbar", ["diaphragm"])["diaphragm"] == sites["bulbar"]["days_per_region"]["value"]


def test_explicit_onset_delays_win_over_the_site_and_onset_reads_the_onset_region():
    s = load_scenario("human-als", onset_site="bulbar", onset_delay_days={"TA": 5})
    assert s.onset_delay_days["TA"] == 5
    assert s.onset_delay_days["genioglossus"] == 0
    assert s.onset_muscles == ("genioglossus",)


def _loss_day(run, muscle: str, below_percent: float) -> float:
    m = run.muscles[muscle].motor_neurons_percent
    hit = np.flatnonzero(m < below_percent)
    return float(run.day[hit[0]]) if hit.size else np.inf


def _patient(site: str, muscles: list[str] = MUSCLES):
    return simulate(
        load_scenario(
            "human-als",
            onset_site=site,
            muscles=muscles,
            end_stage_muscles=["APB"],
            muscle_set={m: SMALL for m in muscles},
            probe_days=[],
            probe_muscle="APB",
            readout_every_days=5000,
            mune_every_days=5000,
        )
    )


def test_bulbar_onset_patient_loses_tongue_units_first_and_limb_units_later():
    run = _patient("bulbar")
    tongue, hand, leg = (_loss_day(run, m, 80.0) for m in MUSCLES)
    assert np.isfinite(tongue)
    # the hand and the leg are reached 54 days apart (delays 604 and 658): their order is left to
    # chance and fibre types; both come after the tongue
    assert tongue < min(hand, leg)


def test_the_site_not_the_axon_length_orders_the_loss():
    # the same muscles with onset in the hand: the short-axon tongue now goes after the hand
    run = _patient("upper_limb")
    tongue, hand, _ = (_loss_day(run, m, 80.0) for m in MUSCLES)
    assert np.isfinite(hand)
    assert hand < tongue


def test_reduced_human_muscles_keep_unit_potentials_and_cross_section():
    # human-als scales biceps, TA and diaphragm down in fibres per unit; a unit's summed fibre
    # potential and the muscle's cross-section must stay the full preset's
    from endplate.muscle.presets import load_muscle

    s = load_scenario("human-als")
    assert s.muscle_set, "the bundled human scenario reduces its large muscles"
    for m, changes in s.muscle_set.items():
        full, reduced = load_muscle("human", m), load_muscle("human", m, **changes)
        assert reduced.n_units == full.n_units
        assert reduced.fibre_potential_mv * reduced.n_fibres == pytest.approx(full.fibre_potential_mv * full.n_fibres, rel=1e-4)
        assert reduced.n_fibres / reduced.packing_fraction == pytest.approx(full.n_fibres / full.packing_fraction, rel=1e-4)


def test_a_weak_tongue_costs_bulbar_points_of_the_functional_score():
    from endplate.disease.alsfrs import alsfrs_like_score

    healthy = {"APB": 1.0, "biceps": 1.0, "diaphragm": 1.0, "genioglossus": 1.0}
    assert alsfrs_like_score(healthy, "human") == 48.0
    # a tongue at half force: 12 x (0.5 - 0.1) / 0.8 = 6 of the bulbar 12 points left
    assert alsfrs_like_score({**healthy, "genioglossus": 0.5}, "human") == pytest.approx(42.0)
    # without a bulbar muscle the domain keeps full marks, as before
    assert alsfrs_like_score({"APB": 1.0, "diaphragm": 1.0}, "human") == 48.0


def test_the_scenario_muscle_set_follows_a_change_of_muscles():
    s = load_scenario("human-als", muscles=["APB", "biceps"])
    assert set(s.muscle_set) == {"biceps"}
    with pytest.raises(EndplateInputError, match="muscle_set names 'TA'"):
        load_scenario("human-als", muscles=["APB"], muscle_set={"TA": {"n_units": 10}})


def test_the_split_hand_adm_pool_resists_though_it_lies_at_the_hands_segments():
    # APB, FDI and ADM share their level (C8-T1) and so their onset delay; the ADM pool's lower
    # susceptibility (presets/spread.toml, fitted to L72) makes it lose its units later
    muscles = ["APB", "FDI", "ADM"]
    run = _patient("upper_limb", muscles)
    assert len({run.scenario.onset_delay_days[m] for m in muscles}) == 1
    apb, fdi, adm = (_loss_day(run, m, 80.0) for m in muscles)
    assert np.isfinite(apb) and np.isfinite(fdi)
    assert adm - max(apb, fdi) > 150  # a hazard ratio of 0.4 is a lag of width_days x ln 2.5; 0 before it


def test_a_pools_susceptibility_multiplies_every_units_hazard(monkeypatch):
    from endplate.disease import spread
    from endplate.disease.resolve import resolve
    from endplate.disease.simulate import init_muscle

    assert spread.susceptibility("human", "ADM") == pytest.approx(0.4)
    assert spread.susceptibility("human", "APB") == 1.0 and spread.susceptibility("mouse", "TA") == 1.0
    scenario = load_scenario(
        "human-als", hypothesis="independent", muscles=["ADM"], muscle_set={"ADM": SMALL}, probe_muscle="ADM"
    )
    model = resolve(scenario)
    low = init_muscle(model, "ADM", 3, baseline_cmap=False)
    monkeypatch.setitem(spread._table()["human"]["susceptibility"], "ADM", {"value": 1.0})
    plain = init_muscle(model, "ADM", 3, baseline_cmap=False)
    np.testing.assert_allclose(low.unit_vuln, 0.4 * plain.unit_vuln)
    np.testing.assert_allclose(low.unit_level, plain.unit_level / 0.4)  # the cortical process too
