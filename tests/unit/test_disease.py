import numpy as np
import pytest

from endplate import EndplateInputError
from endplate.disease.model import drive, genotypes, hypotheses, mechanism_values, mechanisms
from endplate.disease.scenario import bundled, load_scenario
from endplate.disease.simulate import simulate


@pytest.fixture(scope="module")
def sod1():
    return simulate(load_scenario("sod1-g93a"))


@pytest.fixture(scope="module")
def wild():
    return simulate(load_scenario("wild-type"))


def _at(result, muscle, key, day):
    return getattr(result.muscles[muscle], key)[list(result.day).index(day)]


def test_every_mechanism_value_has_a_source_and_hypotheses_compose_known_mechanisms():
    known = mechanisms()
    for m in known.values():
        for name, p in m.provenance.items():
            assert p.evidence in {"read", "recalled", "secondary", "assumed"} and p.source
            if p.evidence == "assumed":
                assert p.note, (m.name, name)
    for name, parts in hypotheses().items():
        assert set(parts) <= set(known), name
    assert {"dying_back", "dying_forward", "independent"} <= set(hypotheses())
    assert {"wild-type", "SOD1-G93A", "SOD1-G93A-C57BL6", "sporadic-ALS"} <= set(genotypes())


def test_inactive_mechanisms_contribute_nothing():
    values = mechanism_values("dying_forward", genotypes()["SOD1-G93A"])
    assert values["terminal_degeneration"]["vulnerability_ff"] == 0.0
    assert values["cortical_soma_death"]["vulnerability_ff"] > 0.0


def test_disease_drive_accelerates():
    g = drive(np.array([0.0, 20.0, 40.0]), 0.1, 20.0, 20.0)
    assert g[0] < g[1] < g[2] and (g[2] - g[1]) > (g[1] - g[0])


def test_wild_type_shows_no_degeneration(wild):
    for m, v in wild.muscles.items():
        assert v.innervated_percent.min() == 100.0 and v.motor_neurons_percent.min() == 100.0, m
    assert wild.onset_day is None and wild.end_stage_day is None


def test_ff_rich_muscles_denervate_long_before_motor_neurons_are_lost(sod1):
    day = np.asarray(sod1.day)
    for m in ("TA", "EDL"):
        v = sod1.muscles[m]
        nmj = day[np.argmax(v.innervated_percent < 80)]
        mn = day[np.argmax(v.motor_neurons_percent < 80)]
        assert mn - nmj >= 15, (m, nmj, mn)


def test_soleus_is_spared_until_late(sod1):
    assert _at(sod1, "soleus", "innervated_percent", 80) > 80
    assert _at(sod1, "soleus", "innervated_percent", 80) > _at(sod1, "TA", "innervated_percent", 80) + 20


def test_units_are_lost_in_the_order_ff_fr_s(sod1):
    axons = sod1.muscles["TA"].axons_percent_by_type
    day = list(sod1.day)
    ff_half = day[np.argmax(axons[:, 2] < 50)]
    fr_half = day[np.argmax(axons[:, 1] < 50)] if (axons[:, 1] < 50).any() else 10**6
    assert ff_half < fr_half
    assert axons[day.index(130), 0] > axons[day.index(130), 1]


def test_onset_and_end_stage_near_the_cited_ages(sod1):
    assert 90 <= sod1.onset_day <= 110  # D08: 99.9 +- 2.2 (mean +- SE); band widened for one animal
    assert 105 <= sod1.end_stage_day <= 140  # D11: 123.9 +- 10.3 (mean +- SD)


def test_every_fibre_is_owned_by_exactly_one_unit_or_none_and_enlargement_is_bounded(sod1):
    for m, st in sod1.states.items():
        a = st.anatomy
        assert a.owner.min() >= -1 and a.owner.max() < a.n_units
        assert np.array_equal(np.bincount(a.owner[a.owner >= 0], minlength=a.n_units), st.size)
        limit = mechanism_values("dying_back", genotypes()["SOD1-G93A"])["reinnervation"]["max_enlargement"]
        assert np.all(st.size <= np.ceil(limit * st.size0)), m
        assert np.all((st.stage == 3) == (a.owner < 0))


def test_blocking_soma_death_keeps_motor_neurons_but_not_their_junctions():
    blocked = simulate(load_scenario("sod1-g93a", soma_death_blocked=True, end_day=110))
    assert blocked.muscles["TA"].motor_neurons_percent[-1] == 100.0
    assert blocked.muscles["TA"].innervated_percent[-1] < 60


def test_dying_forward_loses_motor_neurons_before_terminals():
    fwd = simulate(load_scenario("sod1-g93a", hypothesis="dying_forward", end_day=130))
    v = fwd.muscles["TA"]
    day = list(fwd.day)
    mn_half = day[np.argmax(v.motor_neurons_percent < 80)] if (v.motor_neurons_percent < 80).any() else None
    nmj_half = day[np.argmax(v.innervated_percent < 80)] if (v.innervated_percent < 80).any() else None
    assert mn_half is not None and (nmj_half is None or mn_half <= nmj_half)


def test_same_seed_same_course(sod1):
    again = simulate(load_scenario("sod1-g93a"))
    assert np.array_equal(again.muscles["TA"].innervated_percent, sod1.muscles["TA"].innervated_percent)


@pytest.mark.parametrize(
    "text,needle",
    [
        (
            'species = "mouse"\ngenotype = "SOD1-G93A"\nhypothesis = "dying_back"\nmuscles = ["TA"]\nstart_day = 20\nend_day = 50\ncolour = 3\n',
            "line 7: unknown key 'colour'",
        ),
        (
            'species = "mouse"\ngenotype = "SOD1-G93A"\nhypothesis = "dying_back"\nmuscles = ["TA"]\nstart_day = "x"\nend_day = 50\n',
            "line 5: start_day must be a whole number",
        ),
        (
            'species = "mouse"\ngenotype = "SOD1-G93A"\nhypothesis = "nope"\nmuscles = ["TA"]\nstart_day = 20\nend_day = 50\n',
            "unknown hypothesis",
        ),
        (
            'species = "mouse"\ngenotype = "SOD1-G93A"\nhypothesis = "dying_back"\nmuscles = ["biceps"]\nstart_day = 20\nend_day = 50\n',
            "unknown mouse muscle 'biceps'",
        ),
        (
            'species = "mouse"\ngenotype = "sporadic-ALS"\nhypothesis = "dying_back"\nmuscles = ["TA"]\nstart_day = 20\nend_day = 50\n',
            "is for human",
        ),
        (
            'species = "mouse"\ngenotype = "SOD1-G93A"\nhypothesis = "dying_back"\nmuscles = ["TA"]\nstart_day = 60\nend_day = 50\n',
            "start_day < end_day",
        ),
        ('species = "mouse"\nmuscles = ["TA"]\n', "missing required key"),
        ("species = [\n", "not valid TOML"),
        (
            'species = "mouse"\ngenotype = "SOD1-G93A"\nhypothesis = "dying_back"\nmuscles = ["TA"]\nstart_day = 20\nend_day = 50\nfirst_partner = "axon"\n',
            "line 7: unknown first_partner 'axon'; allowed: presynaptic, tsc, postsynaptic",
        ),
    ],
)
def test_bad_scenario_files_name_the_file_key_and_allowed_values(tmp_path, text, needle):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(EndplateInputError, match=needle):
        load_scenario(str(path))


def test_unknown_scenario_lists_the_bundled_ones():
    with pytest.raises(EndplateInputError, match="sod1-g93a"):
        load_scenario("no-such-scenario")
    assert {"sod1-g93a", "wild-type", "human-als"} <= set(bundled())


def test_unknown_mechanism_parameter_is_refused():
    with pytest.raises(EndplateInputError, match="unknown disease parameter"):
        mechanism_values("dying_back", genotypes()["SOD1-G93A"], {"reinnervation.speed": 1.0})


def test_parallel_chunks_give_the_same_course_whatever_the_thread_count(monkeypatch):
    import numba

    import endplate.disease.simulate as sim

    monkeypatch.setattr(sim, "PARALLEL_MIN_FIBRES", 1000)
    monkeypatch.setattr(sim, "PARALLEL_CHUNKS", 4)
    scenario = load_scenario("sod1-g93a", muscles=["TA", "MG"], end_day=110, probe_days=[], probe_muscle="TA")
    a = simulate(scenario)
    numba.set_num_threads(1)
    try:
        b = simulate(scenario)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert a.states["MG"].n_chunks == 4
    for m in ("TA", "MG"):
        assert np.array_equal(a.muscles[m].innervated_percent, b.muscles[m].innervated_percent)
        assert np.array_equal(a.states[m].anatomy.owner, b.states[m].anatomy.owner)


def test_ownership_and_enlargement_hold_on_every_day():
    """Property: every fibre is owned by one unit or none, and no unit exceeds its limit, daily."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from endplate.disease.resolve import resolve
    from endplate.disease.simulate import init_muscle, step

    @settings(max_examples=6, deadline=None)
    @given(
        seed=st.integers(0, 10**6),
        hyp=st.sampled_from(["dying_back", "dying_forward", "independent"]),
        chunks=st.sampled_from([1, 3]),
    )
    def check(seed, hyp, chunks):
        import endplate.disease.simulate as sim

        sc = load_scenario(
            "sod1-g93a", hypothesis=hyp, seed=seed, muscles=["EDL"], probe_days=[], probe_muscle="EDL", calibrated=False
        )
        model = resolve(sc)
        g, mech, p = model.genotype, model.mechanisms, model.kernel_parameters
        old = sim.PARALLEL_MIN_FIBRES, sim.PARALLEL_CHUNKS
        sim.PARALLEL_MIN_FIBRES, sim.PARALLEL_CHUNKS = (1, chunks) if chunks > 1 else old
        try:
            state = init_muscle(model, "EDL", seed)
        finally:
            sim.PARALLEL_MIN_FIBRES, sim.PARALLEL_CHUNKS = old
        limit = mech["reinnervation"]["max_enlargement"] * state.size0
        rate = g.values["terminal_rate_per_day"] if mech["terminal_degeneration"]["vulnerability_ff"] > 0 else 0.0
        cort = g.values["cortical_rate_per_day"] if mech["cortical_soma_death"]["vulnerability_ff"] > 0 else 0.0
        for day in range(20, 140):
            g_t = float(drive(day, rate, state.midpoint_day, g.values["width_days"])) if rate else -1.0
            g_c = float(drive(day, cort, state.midpoint_day, g.values["width_days"])) if cort else -1.0
            step(state, p, day, g_t, g_c)
            owner = state.anatomy.owner
            assert owner.min() >= -1 and owner.max() < state.anatomy.n_units
            assert np.array_equal(np.bincount(owner[owner >= 0], minlength=state.anatomy.n_units), state.size)
            assert np.all(state.size <= limit)
            assert np.array_equal(state.stage == 3, owner < 0)

    check()


def test_survivors_reinnervate_after_partial_denervation():
    """Cutting most axons of a healthy muscle: the survivors adopt the orphaned fibres."""
    from endplate.calibrate.observation import partial_denervation_enlargement as _partial_denervation

    assert _partial_denervation(seed=2, days=7) > 1.1
    assert _partial_denervation(seed=2, days=60) > 2.5


def _impaired_junctions(partner: str):
    from endplate.disease import kernel as kern
    from endplate.disease.model import genotype
    from endplate.disease.resolve import resolve
    from endplate.disease.simulate import effective_junctions, init_muscle

    g = genotype("SOD1-G93A")
    # Started on the day the drive starts, so the muscle is healthy before the stages are set.
    sc = load_scenario(
        "sod1-g93a", muscles=["TA"], first_partner=partner, start_day=int(g.values["drive_start_day"]), calibrated=False
    )
    st = init_muscle(resolve(sc), "TA", 3)
    st.stage[::2] = kern.IMPAIRED
    return st.anatomy.junctions, effective_junctions(st)


@pytest.mark.parametrize(
    "partner,changed,unchanged",
    [
        ("presynaptic", {"release_probability_max": -1, "capacity": -1}, ("quantal_mv", "tsc_gain")),
        ("postsynaptic", {"quantal_mv": -1}, ("release_probability_max", "capacity", "tsc_gain")),
        ("tsc", {"tsc_gain": +1, "release_probability_max": -1}, ("quantal_mv", "capacity")),
    ],
)
def test_the_partner_that_fails_first_sets_what_an_impaired_nmj_loses(partner, changed, unchanged):
    healthy, sick = _impaired_junctions(partner)
    for name, sign in changed.items():
        a, b = np.abs(getattr(healthy, name)), np.abs(getattr(sick, name))
        assert np.all(sign * (b[::2] - a[::2]) >= -1e-9) and np.any(b[::2] != a[::2]), (partner, name)
        assert np.array_equal(a[1::2], b[1::2]), (partner, name)  # healthy NMJs untouched
    for name in unchanged:
        assert np.array_equal(getattr(healthy, name), getattr(sick, name)), (partner, name)


def test_tsc_first_disease_leaves_denervated_endplates_without_guidance_and_fewer_reinnervated(sod1):
    # the mechanism at equal parameters: the tSC-first variant with the presynaptic variant's fitted values
    # (its own fit absorbs the effect with a lower terminal rate, docs/calibration.md)
    tsc = simulate(load_scenario("sod1-g93a", first_partner="tsc", set=load_scenario("sod1-g93a").set))
    day = list(sod1.day).index(100)
    for m in ("MG", "soleus"):
        assert tsc.muscles[m].innervated_percent[day] < sod1.muscles[m].innervated_percent[day], m
    assert tsc.onset_day <= sod1.onset_day


def test_single_units_dismantle_over_weeks_when_dying_back_and_within_days_when_dying_forward():
    """D16 (Martineau 2018): a dying-back unit loses its NMJs one by one over weeks while it sprouts;
    a unit whose soma dies first loses them all within days (Wallerian), without sprouting."""
    from endplate.calibrate.observation import unit_dismantling

    back = unit_dismantling("sod1-g93a", 3, hypothesis="dying_back")
    forward = unit_dismantling("sod1-g93a", 3, hypothesis="dying_forward")
    assert back["units"] >= 10 and forward["units"] >= 10
    assert back["median_days"] >= 14 and back["concurrent_fraction"] >= 0.1
    assert forward["median_days"] < 14 and forward["concurrent_fraction"] < 0.05


def test_upper_motor_neurons_follow_the_cortical_process_only():
    """Dying back has no cortical process; under dying forward the corticospinal neurons go as the
    somata they kill; blocking soma death (Bax knockout) spares the somata but not the cortex."""
    from endplate.disease.scenario import load_scenario
    from endplate.disease.simulate import simulate

    small = dict(
        muscles=["TA"],
        onset_muscles=["TA"],
        end_stage_muscles=["TA"],
        probe_days=[],
        seed=4,
        readout_every_days=1000,
        mune_every_days=1000,
    )
    from endplate.report.run_report import run_report

    back_run = simulate(load_scenario("sod1-g93a", hypothesis="dying_back", **small))
    back = back_run.muscles["TA"]
    assert np.all(back.upper_motor_neurons_percent == 100.0) and back.motor_neurons_percent[-1] < 90
    forward_run = simulate(load_scenario("sod1-g93a", hypothesis="dying_forward", **small))
    forward = forward_run.muscles["TA"]
    assert "Upper motor neurons" in run_report(forward_run) and "Upper motor neurons" not in run_report(back_run)
    umn, lmn = forward.upper_motor_neurons_percent, forward.motor_neurons_percent
    assert umn[-1] < 50 and np.all(np.diff(umn) <= 0)
    assert np.max(np.abs(umn - lmn)) < 15  # expected share against 100 realised somata
    bax = simulate(load_scenario("sod1-g93a", hypothesis="dying_forward", soma_death_blocked=True, **small)).muscles["TA"]
    assert bax.motor_neurons_percent[-1] == 100.0
    np.testing.assert_allclose(bax.upper_motor_neurons_percent, umn)


def test_allow_large_lifts_a_size_limit_but_not_the_type_checks(tmp_path):
    from endplate.disease.scenario import load_scenario

    path = tmp_path / "big.toml"
    path.write_text(
        'species = "mouse"\ngenotype = "SOD1-G93A"\nhypothesis = "dying_back"\nmuscles = ["TA"]\n'
        "start_day = 60\nend_day = 62\n[muscle_set.TA]\nn_fibres = 5000001\n"
    )
    with pytest.raises(EndplateInputError, match="above the limit of 5,000,000 fibres.*--allow-large"):
        load_scenario(str(path))
    assert load_scenario(str(path), allow_large=True).muscle_set["TA"]["n_fibres"] == 5_000_001
    path.write_text(path.read_text().replace("5000001", "nan"))
    with pytest.raises(EndplateInputError, match="n_fibres must be a whole number"):
        load_scenario(str(path), allow_large=True)


def test_an_undefined_mune_keeps_its_reason_in_the_run_the_dataset_and_the_report():
    """The human diaphragm's unit potentials lie under the surface electrode's noise: its MPS
    estimate is undefined at every readout. The gap in the curve is named, with its reason, in
    the run, the dataset's attributes and the report, not left as a silent NaN."""
    import json

    from endplate.disease.dataset import run_dataset
    from endplate.report.run_report import report_from_dataset

    sc = load_scenario(
        "human-als",
        muscles=["diaphragm"],
        onset_muscles=[],
        end_stage_muscles=["diaphragm"],
        end_day=200,
        probe_days=[],
        probe_muscle="diaphragm",
    )
    run = simulate(sc)
    course = run.muscles["diaphragm"]
    n = len(course.mune)
    assert np.isnan(course.mune).all() and n == 3
    assert course.mune_undefined == f"undefined at {n} of {n} readouts: no unit potential reaches 3x the noise"
    ds = run_dataset(run)
    assert json.loads(ds.attrs["mune_undefined"]) == {"diaphragm": course.mune_undefined}
    assert f"diaphragm: {course.mune_undefined}" in report_from_dataset(ds)
