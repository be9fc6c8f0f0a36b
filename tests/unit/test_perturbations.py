import pytest

from endplate import EndplateInputError
from endplate.junction.epp import epp
from endplate.junction.perturbations import apply_perturbations, perturbations


@pytest.mark.parametrize("name", list(perturbations()))
def test_every_perturbation_applies_and_states_its_source(mouse, name):
    p = perturbations()[name]
    assert p.source and p.evidence in {"read", "recalled", "secondary", "assumed"}
    changed = apply_perturbations(mouse, [name])
    assert changed != mouse


def test_unknown_perturbation_lists_the_known_ones(mouse):
    with pytest.raises(EndplateInputError, match="allowed: low_calcium"):
        apply_perturbations(mouse, ["nope"])


def test_low_calcium_cuts_quantal_content_and_brings_failures(mouse):
    low = epp(apply_perturbations(mouse, ["low_calcium"]), seed=1, n_stimuli=100)
    assert float(low["true_quantal_content"]) < 3
    assert float(low["failure_fraction"]) > 0.1


def test_potassium_channel_block_raises_quantal_content(mouse):
    base = epp(mouse, seed=2)
    dap = epp(apply_perturbations(mouse, ["potassium_channel_block"]), seed=2)
    assert float(dap["true_quantal_content"]) > 1.2 * float(base["true_quantal_content"])


def test_achr_loss_lowers_the_safety_factor_but_not_release(mouse):
    base = epp(mouse, seed=3)
    lost = epp(apply_perturbations(mouse, ["achr_loss"]), seed=3)
    assert float(lost["safety_factor"]) < 0.7 * float(base["safety_factor"])
    assert float(lost["true_quantal_content"]) == pytest.approx(float(base["true_quantal_content"]))


def test_ache_inhibition_enlarges_the_epp(mouse):
    base = epp(mouse, seed=4)
    inhibited = epp(apply_perturbations(mouse, ["ache_inhibition"]), seed=4)
    assert float(inhibited["epp_mv"]) > float(base["epp_mv"])
