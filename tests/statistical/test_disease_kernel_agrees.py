"""The compiled disease kernel against its plain-NumPy reference (disease/reference.py), in distribution."""

import copy
import dataclasses

import numpy as np
import pytest
from scipy import stats

from endplate.disease import kernel as kern
from endplate.disease.reference import reference_days
from endplate.disease.resolve import resolve
from endplate.disease.scenario import load_scenario
from endplate.disease.simulate import cortical_vulnerability, init_muscle, muscle_drives, step_many, terminal_levels

REPLICATES = 40
# Tallies compared, with the days they are read on (the course is about 20-140 days).
READ = {"impaired": kern.IMPAIRED, "withdrawing": kern.WITHDRAWING, "denervated": kern.DENERVATED, "force": kern.FORCE}


def _model(hypothesis: str, represents: float = 1.0, pruning: bool = False):
    """A SOD1-G93A EDL from the day its drive starts (no warm-up), without reinnervation (the reference has none).

    ``represents`` > 1: each fibre stands for that many, as in a reduced cohort muscle (the axon-loss
    trigger then reads the kernel's estimate of the real unit's lost share, ``kernel._lost_fraction``).
    """
    from endplate.disease.model import genotype

    start = int(genotype("SOD1-G93A").values["drive_start_day"])
    sc = load_scenario(
        "sod1-g93a",
        hypothesis=hypothesis,
        muscles=["EDL"],
        probe_days=[],
        probe_muscle="EDL",
        start_day=start,
        end_day=150,
        set={"reinnervation.rate_per_day": 0.0, **({"terminal_degeneration.unit_pruning": 1.0} if pruning else {})},
        muscle_set={"EDL": {"represents": represents}} if represents != 1.0 else {},
    )
    return resolve(sc)


def _runs(model, fast: bool) -> np.ndarray:
    """Tallies (replicates x days x N_COUNTS) of one anatomy, the disease's randomness redrawn each time."""
    base = init_muscle(model, "EDL", 7)
    days = np.arange(model.scenario.start_day, model.scenario.end_day + 1)
    g_t, g_c = muscle_drives(base, days, model)
    cortical = cortical_vulnerability(model.mechanisms, base.anatomy.unit_type)
    out = []
    for r in range(REPLICATES):
        st = copy.deepcopy(base)
        if fast:
            rng = np.random.default_rng(1000 + r)
            with np.errstate(divide="ignore"):
                width = model.kernel_parameters[kern.K_PRUNING_WIDTH]
                st.level[:] = terminal_levels(st.unit_vuln, st.prune_level, st.anatomy.owner, width, rng)
                st.unit_level[:] = rng.exponential(1.0, st.unit_level.size) / cortical
            st = dataclasses.replace(st, rng_seed=2000 + r, quiet_below=float(st.level.min()))
            out.append(step_many(st, model.kernel_parameters, int(days[0]), g_t, g_c))
        else:
            out.append(reference_days(model.kernel_parameters, st.kernel_state(), cortical, g_t, g_c, 3000 + r, int(days[0])))
    return np.array(out)


@pytest.mark.parametrize(
    ("hypothesis", "represents", "pruning"),
    [
        ("dying_back", 1.0, False),
        ("independent", 1.0, False),
        ("dying_back", 4.0, False),
        ("dying_back", 1.0, True),
        ("dying_back", 4.0, True),
    ],
)
def test_fast_disease_kernel_matches_the_reference_in_distribution(hypothesis, represents, pruning):
    model = _model(hypothesis, represents, pruning)
    fast, ref = _runs(model, True), _runs(model, False)
    n_days = fast.shape[1]
    moving = 0
    for i in range(10, n_days, 20):
        for name, col in {**READ, "axons": kern.AXONS, "somata": kern.SOMATA}.items():
            a, b = fast[:, i, col], ref[:, i, col]
            a, b = (a.sum(axis=1), b.sum(axis=1)) if a.ndim == 2 else (a, b)
            if name == "force":
                # The kernel keeps force as a running sum: once every fibre is lost it reads a
                # rounding residue (|x| < 1e-10 of the start) where the reference counts 0, and the
                # KS test ranks those residues; round them away (seen with unit pruning at day 130).
                a, b = np.round(a, 9), np.round(b, 9)
            if a.std() == 0 and b.std() == 0:
                assert a[0] == b[0], (hypothesis, name, i)
                continue
            moving += 1
            # Two samples of 40 from one distribution: a KS p below 1e-3 would be a real difference.
            assert stats.ks_2samp(a, b).pvalue > 1e-3, (hypothesis, name, i, a.mean(), b.mean())
            assert abs(a.mean() - b.mean()) < 4 * np.sqrt(a.var() / a.size + b.var() / b.size) + 1e-9, (hypothesis, name, i)
    assert moving >= 10  # the comparison read a course that moves, not a healthy muscle


def test_reference_refuses_reinnervation():
    model = resolve(load_scenario("sod1-g93a", muscles=["EDL"], probe_days=[], probe_muscle="EDL"))
    st = init_muscle(model, "EDL", 1)
    with pytest.raises(ValueError, match="reinnervation"):
        reference_days(model.kernel_parameters, st.kernel_state(), np.zeros(st.anatomy.n_units), np.zeros(3), np.zeros(3), 0)
