"""Which measurement separates two disease variants (issue 13: first-partner variants with signatures)."""

import math

import numpy as np
import pytest

from endplate.calibrate.signatures import MEASUREMENTS, animals_needed, signatures, standardised_difference, t_test_power
from endplate.errors import EndplateInputError


def test_animals_needed_matches_the_t_test_tables():
    # Cohen (1988), two-sided alpha 0.05, power 0.8: 64 per group at d 0.5, 26 at 0.8, 17 at 1.0
    assert [animals_needed(d) for d in (0.5, 0.8, 1.0, -1.0)] == [64, 26, 17, 17]
    assert animals_needed(math.inf) == 2 and animals_needed(0.3) is None
    assert t_test_power(0.5, 64) == pytest.approx(0.80, abs=0.01)
    assert t_test_power(0.5, 20) < 0.8 < t_test_power(0.5, 100)


def test_standardised_difference_pools_the_sd_and_adds_the_floor():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([3.0, 4.0, 5.0])
    assert standardised_difference(a, b) == pytest.approx(2.0)
    assert standardised_difference(a, b, floor_sd=math.sqrt(3.0)) == pytest.approx(1.0)
    assert standardised_difference(np.ones(3), np.full(3, 2.0)) == math.inf
    assert standardised_difference(np.array([1.0, np.nan]), b) is None


@pytest.fixture(scope="module")
def partners():
    return signatures("first_partner", days=(60,), animals=2, seed=3)


def test_every_first_partner_variant_leaves_a_trace_besides_jitter(partners):
    # Before: presynaptic-first and postsynaptic-first differed only in jitter.
    assert partners["not_separable"] == []
    for pair in partners["pairs"]:
        assert pair["best"]["measurement"] != "jitter_mcd_us", pair["best"]
        assert pair["best"]["animals_per_group"] is not None and pair["best"]["animals_per_group"] <= 12
    best = {(p["a"], p["b"]): p["best"]["measurement"] for p in partners["pairs"]}
    assert best[("presynaptic", "postsynaptic")] in {"small_mepp_fibres_percent", "mepp_amplitude_relative"}
    assert best[("presynaptic", "tsc")] == "tsc_absent_denervated_percent"


def test_the_postsynaptic_variant_has_small_mepps_and_the_presynaptic_one_none(partners):
    small = {v: g["small_mepp_fibres_percent"]["60"]["mean"] for v, g in partners["groups"].items()}
    assert small["presynaptic"] == 0.0 and small["tsc"] == 0.0 and small["postsynaptic"] > 5.0
    assert set(partners["groups"]["tsc"]) == {m.name for m in MEASUREMENTS}


def test_dying_back_and_dying_forward_are_told_apart_by_denervation_before_motor_neuron_loss():
    result = signatures("hypothesis", days=(60,), animals=2, variants=("dying_back", "dying_forward"), seed=3)
    pair = result["pairs"][0]
    assert pair["best"] is not None
    means = {r["measurement"]: (r["mean_a"], r["mean_b"]) for r in pair["measurements"]}
    back, forward = means["innervated_percent"]
    assert back < forward  # dying back: endplates go first
    back_mn, forward_mn = means["motor_neurons_percent"]
    assert back - back_mn < forward - forward_mn  # ... while the somata are still there


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vary": "colour"}, "not a scenario key with variants; allowed: first_partner, hypothesis"),
        ({"vary": "first_partner", "variants": ("presynaptic",)}, "two or more of presynaptic, tsc, postsynaptic"),
        ({"vary": "first_partner", "animals": 1}, "--animals must be at least 2"),
        ({"vary": "first_partner", "hypothesis": "dying_sideways"}, "unknown hypothesis 'dying_sideways'"),
    ],
)
def test_bad_settings_are_refused_by_name(kwargs, message):
    with pytest.raises(EndplateInputError, match=message):
        signatures(**kwargs)


def test_the_command_refuses_fit_results_with_vary(cli):
    result = cli("compare", "somefit.nc", "--vary", "first_partner")
    assert result.returncode == 2 and "give no fit RESULT with it" in result.stderr
