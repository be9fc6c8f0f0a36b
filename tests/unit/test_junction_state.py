"""The disease state of each fibre's NMJ, mapped to junction parameters."""

import numpy as np

from endplate.disease import kernel as kern
from endplate.disease.junction_state import diseased_junctions, fibre_junction_state
from endplate.disease.model import first_partner, genotype, kernel_parameters, mechanism_values
from endplate.disease.scenario import load_scenario
from endplate.disease.simulate import init_muscle


def _state(partner: str = "presynaptic"):
    sc = load_scenario("sod1-g93a", muscles=["TA"], first_partner=partner)
    g = genotype(sc.genotype)
    p = kernel_parameters(mechanism_values(sc.hypothesis, g), g, False, first_partner(partner))
    return init_muscle(sc, "TA", p, g, 3)


def test_record_reads_stage_withdrawal_and_tsc_from_the_disease_state():
    st = _state()
    st.stage[0::3] = kern.IMPAIRED
    st.stage[1::3] = kern.WITHDRAWING
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
    assert np.allclose(sick.release_probability_max[0::2],
                       np.clip(healthy.release_probability_max[0::2] * q["release_impaired"], 0, 1), rtol=1e-6)
    ratio = sick.capacity[1::2] / np.maximum(1, np.rint(healthy.capacity[1::2] * q["capacity_impaired"]))
    assert np.all(np.abs(ratio - 0.5) < 0.02)
