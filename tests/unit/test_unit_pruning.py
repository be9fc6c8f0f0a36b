"""Unit pruning (terminal_degeneration.unit_pruning): a unit's NMJs go in one episode, not one by one at random."""

import numpy as np
import pytest

from endplate.disease import kernel as kern
from endplate.disease.resolve import resolve
from endplate.disease.scenario import load_scenario
from endplate.disease.simulate import init_muscle, muscle_drives, pruning_levels, step_many, terminal_levels


def _ta_on_day(pruning: bool, day: int = 70):
    """A SOD1-G93A TA stepped to ``day`` (about onset), and the terminal drive that day."""
    sc = load_scenario(
        "sod1-g93a",
        muscles=["TA"],
        probe_days=[],
        probe_muscle="TA",
        set={"terminal_degeneration.unit_pruning": 1.0} if pruning else {},
    )
    model = resolve(sc)
    st = init_muscle(model, "TA", 3)
    first_owner = st.anatomy.owner.copy()
    days = np.arange(sc.start_day, day + 1)
    g_t, g_c = muscle_drives(st, days, model)
    step_many(st, model.kernel_parameters, int(days[0]), g_t, g_c)
    return st, float(g_t[-1]), first_owner


def _kept_share(st, g: float, first_owner: np.ndarray) -> float:
    """Share of the first fibres of the units not yet pruning (axon intact) that they still own."""
    waiting = st.anatomy.unit_alive & (st.prune_level > g)
    theirs = waiting[first_owner]
    return float((st.anatomy.owner[theirs] == first_owner[theirs]).mean())


def _not_yet_pruning(st, g: float) -> np.ndarray:
    """Fibres owned by units with an axon whose pruning has not begun at drive ``g``."""
    owner = st.anatomy.owner
    waiting = st.anatomy.unit_alive & (st.prune_level > g)
    return (owner >= 0) & waiting[np.maximum(owner, 0)]


def test_with_unit_pruning_only_units_that_began_pruning_have_failing_nmjs():
    st, g, first = _ta_on_day(True)
    assert _kept_share(st, g, first) == 1.0  # a unit keeps every NMJ until its own pruning
    waiting = _not_yet_pruning(st, g)
    stage = st.stage
    assert waiting.sum() > 100  # units not yet reached still own many fibres
    assert (stage[waiting] == kern.HEALTHY).all()
    begun = st.anatomy.unit_alive & (st.prune_level <= g)
    assert begun.any() and (~st.anatomy.unit_alive).any()  # the course is under way
    failing = (stage == kern.IMPAIRED) | (stage == kern.WITHDRAWING)
    assert failing.any()


def test_without_unit_pruning_every_unit_has_failing_nmjs_scattered():
    # The same property fails for per-NMJ triggers: impaired NMJs are spread over the units.
    st, g, first = _ta_on_day(False)
    assert np.isinf(st.prune_level).all()
    assert _kept_share(st, g, first) < 0.95  # living units have lost and re-adopted NMJs
    owned = _not_yet_pruning(st, g)
    failing = (st.stage == kern.IMPAIRED) | (st.stage == kern.WITHDRAWING)
    units_failing = np.unique(st.anatomy.owner[owned & failing])
    assert units_failing.size > 10


def test_terminal_levels():
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    vuln = np.array([1.0, 0.1, 0.0])
    owner = np.repeat(np.arange(3), 200)
    with np.errstate(divide="ignore"):  # a unit without vulnerability is never triggered
        per_nmj = terminal_levels(vuln, np.full(3, np.inf), owner, 0.1, rng_a)
        assert np.array_equal(per_nmj, (rng_b.exponential(1.0, owner.size) / vuln[owner]).astype(np.float32))
    mech = {"terminal_degeneration": {"unit_pruning": 1.0}}
    with np.errstate(divide="ignore"):
        prune = pruning_levels(mech, vuln)
    assert prune[:2] == pytest.approx(np.log(2.0) / vuln[:2]) and np.isinf(prune[2])
    with np.errstate(divide="ignore"):
        lev = terminal_levels(vuln, prune, owner, 0.1, np.random.default_rng(5))
    for u in range(2):
        mine = lev[owner == u]
        assert mine.min() >= np.float32(prune[u]) and np.median(mine) == pytest.approx(
            prune[u] * (1 + 0.1 * np.log(2.0)), rel=0.05
        )
    assert np.isinf(lev[owner == 2]).all()
