import numpy as np
import pytest

from endplate import EndplateInputError
from endplate.muscle.anatomy import build_anatomy, unit_sizes_and_types
from endplate.muscle.cmap import cmap_scan, maximal_cmap
from endplate.muscle.emg import conductor
from endplate.muscle.force import muscle_force
from endplate.muscle.grouping import grouping_index
from endplate.muscle.mune import METHODS, mune, scan_fit
from endplate.muscle.presets import SPECIES, load_muscle, muscle_provenance, muscles
from endplate.muscle.rns import muscle_rns
from endplate.muscle.sfemg import muscle_sfemg


@pytest.fixture(scope="module")
def apb():
    return build_anatomy(load_muscle("human", "APB"), seed=1)


@pytest.fixture(scope="module")
def soleus():
    return build_anatomy(load_muscle("mouse", "soleus"), seed=1)


@pytest.mark.parametrize("species", SPECIES)
def test_every_preset_builds_with_sources_and_each_unit_owns_fibres(species):
    for name in muscles(species):
        preset = load_muscle(species, name)
        provenance = muscle_provenance(species, name)
        assert all(p.evidence in {"read", "recalled", "secondary", "assumed"} for p in provenance.values())
        assert all(p.note for p in provenance.values() if p.evidence == "assumed"), name
        a = build_anatomy(preset.replace(n_fibres=min(preset.n_fibres, 20000)), seed=0)
        sizes = a.unit_sizes()
        assert sizes.sum() == a.n_fibres and sizes.min() >= 1 and a.functioning_units() == preset.n_units
        assert a.nbytes_per_fibre <= 200


def test_unit_sizes_follow_the_size_ladder_and_type_fractions():
    preset = load_muscle("human", "FDI")
    sizes, types = unit_sizes_and_types(preset)
    assert sizes.sum() == preset.n_fibres
    assert sizes.max() / sizes.min() == pytest.approx(preset.size_ratio, rel=0.15)
    share = np.bincount(types, weights=sizes, minlength=3) / sizes.sum()
    assert share == pytest.approx(preset.type_fractions, abs=0.05)
    assert np.all(np.diff(types) >= 0)  # S smallest, FF largest


def test_same_seed_same_muscle(apb):
    again = build_anatomy(load_muscle("human", "APB"), seed=1)
    assert np.array_equal(again.owner, apb.owner) and np.array_equal(again.unit_threshold_ma, apb.unit_threshold_ma)


@pytest.mark.parametrize(
    "changes,needle",
    [
        ({"n_units": 0}, "at least 1"),
        ({"n_units": 30000}, "more motor units"),
        ({"fraction_s": 0.9}, "sum to 1"),
        ({"nope": 1}, "unknown muscle parameter"),
    ],
)
def test_impossible_anatomy_is_refused(changes, needle):
    with pytest.raises(EndplateInputError, match=needle):
        load_muscle("human", "APB", **changes)


def test_unknown_muscle_lists_the_available_ones():
    with pytest.raises(EndplateInputError, match="allowed: APB, ADM, FDI"):
        load_muscle("human", "quadriceps")


def test_cmap_amplitude_scales_with_the_number_of_firing_fibres(apb):
    cond = conductor(apb)
    full = cond.unit_potentials(apb).sum(axis=0)
    rng = np.random.default_rng(0)
    half = cond.unit_potentials(apb, rng.random(apb.n_fibres) < 0.5).sum(axis=0)
    assert -half.min() == pytest.approx(0.5 * -full.min(), rel=0.05)


def test_denervated_fibres_lose_cmap_and_force(apb):
    import copy

    sick = copy.deepcopy(apb)
    sick.owner[np.random.default_rng(1).random(sick.n_fibres) < 0.4] = -1
    assert maximal_cmap(sick)["amplitude_mv"] < 0.75 * maximal_cmap(apb)["amplitude_mv"]
    assert muscle_force(sick)["tetanic_n"] == pytest.approx(0.6 * muscle_force(apb)["tetanic_n"], rel=0.05)


def test_cmap_scan_rises_from_zero_to_the_maximal_cmap(apb):
    scan = cmap_scan(apb, 500, seed=2)
    order = np.argsort(scan["stimulus_ma"])
    amp = scan["cmap_mv"][order]
    assert amp[:20].mean() < 0.05 * amp[-20:].mean()
    assert amp[-20:].mean() == pytest.approx(maximal_cmap(apb)["amplitude_mv"], rel=0.02)
    assert scan["true_units"] == apb.n_units


def test_scan_fit_recovers_the_count_of_a_synthetic_scan_of_equal_units():
    rng = np.random.default_rng(3)
    thresholds = np.sort(rng.uniform(8, 12, 30))
    s = np.linspace(13, 7, 500)
    fires = s[:, None] >= thresholds[None, :] * (1 + 0.0165 * rng.standard_normal((500, 30)))
    y = fires.sum(axis=1) * 0.2 + rng.normal(0, 0.01, 500)
    n, rsd = scan_fit(s, y, 0.01)
    assert n == pytest.approx(30, rel=0.2)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "munix"])
def test_mune_of_a_small_muscle_with_visible_units_is_near_the_true_count(soleus, method):
    r = mune(soleus, method, seed=4)
    assert r["true_units"] == 25
    assert 0.6 * 25 <= r["estimate"] <= 1.6 * 25, r


def test_blocking_fibres_reduce_the_cmap_during_rns():
    from endplate.junction.parameters import default_parameters

    healthy = build_anatomy(load_muscle("human", "APB"), seed=1)
    weak = build_anatomy(
        load_muscle("human", "APB"), seed=1, junction_params=default_parameters("human", achr_density_relative=0.3)
    )
    h, w = muscle_rns(healthy, seed=1), muscle_rns(weak, seed=1)
    assert abs(h["decrement_percent"]) < 2
    assert w["decrement_percent"] > h["decrement_percent"] + 2 and w["cmap_mv"][0] < h["cmap_mv"][0]


def test_muscle_sfemg_pairs_are_fibres_of_one_unit(soleus):
    r = muscle_sfemg(soleus, seed=1, n_pairs=5, n_discharges=30)
    assert r["fibre_density"] >= 1 and len(r["pairs"]) == 5 and r["mcd_us"] > 0


def test_grouping_index_rises_when_types_cluster(soleus):
    import copy

    grouped = copy.deepcopy(soleus)
    grouped.fibre_type[:] = (grouped.fibre_xy_mm[:, 0] > 0).astype(np.int8)  # two solid halves
    assert grouping_index(grouped) > 1.5 * grouping_index(soleus)


def test_munix_tracks_the_loss_of_motor_units(apb):
    """MUNIX is an index, not a count: it must fall when units are lost (Li et al. 2012, M55)."""
    import copy

    before = mune(apb, "munix", seed=5)["estimate"]
    half = copy.deepcopy(apb)
    half.unit_alive[np.random.default_rng(2).random(half.n_units) < 0.5] = False
    after = mune(half, "munix", seed=5)["estimate"]
    assert after < 0.8 * before


def test_munix_respects_its_bound_and_nears_the_dense_overlap_limit(apb):
    """ICMUC at the reference area cannot exceed (P/A of the CMAP) x T / A (Cauchy-Schwarz);
    with many small units overlapping, MUNIX sits near the Gaussian 2/pi of it (Bostock 2019)."""
    from endplate.muscle.mune import munix

    r = mune(apb, "munix", seed=5)
    assert r["estimate"] <= r["icmuc_bound"]
    assert 0.5 * r["icmuc_bound"] <= r["estimate"] <= 0.8 * r["icmuc_bound"], r["icmuc_bound"]
    # On the literal 500-ms epoch the bound halves: MUSIX cannot come down to the published 60.4 uV.
    literal = munix(apb, 5, conductor(apb), sip_time_base_ms=500.0)
    assert literal["icmuc_bound"] == pytest.approx(r["icmuc_bound"] / 2, rel=0.01)
    assert literal["estimate"] <= literal["icmuc_bound"] and literal["musix_uv"] > 60.4


def test_fibre_density_counts_units_active_at_slight_effort():
    """Voluntary SFEMG sees low-threshold units; with every large unit's fibres removed the
    density is unchanged, with the small units' fibres given to large ones it rises."""
    import copy

    from endplate.muscle.sfemg import SLIGHT_DRIVE, fibre_density

    ta = build_anatomy(load_muscle("human", "TA"), seed=3)
    active = ta.voluntary_threshold() <= SLIGHT_DRIVE
    assert 0.3 < active.mean() < 0.7  # slight effort recruits the smaller part of the pool
    base = fibre_density(ta, seed=1, n_sites=100)
    assert 1.1 < base < 2.0
    no_large = copy.deepcopy(ta)
    no_large.unit_alive[~active] = False
    assert fibre_density(no_large, seed=1, n_sites=100) == pytest.approx(base, abs=0.25)
    # Reinnervation by the small units: each active unit takes the fibres around its own.
    enlarged = copy.deepcopy(ta)
    from scipy.spatial import cKDTree

    tree = cKDTree(ta.fibre_xy_mm[np.isin(ta.owner, np.flatnonzero(active))])
    _, nearest = tree.query(ta.fibre_xy_mm)
    enlarged.owner = ta.owner[np.isin(ta.owner, np.flatnonzero(active))][nearest]
    assert fibre_density(enlarged, seed=1, n_sites=100) > base + 0.5


def test_mouse_fast_muscles_keep_their_oxidative_units_in_a_deep_region():
    """Hayasaki 2001 (M112): the deep region of mouse gastrocnemius is ~87 % oxidative, the
    superficial region has none; without segregation the types are evenly mixed."""
    mg = build_anatomy(load_muscle("mouse", "MG"), seed=2)
    mixed = build_anatomy(load_muscle("mouse", "MG", oxidative_fraction=0.0), seed=2)
    for a, deep_low, sup_high in ((mg, 0.6, 0.02), (mixed, 0.0, 1.0)):
        sizes = a.unit_sizes()
        oxidative = (np.cumsum(sizes) - sizes < 0.22 * sizes.sum())[a.owner]
        x = a.fibre_xy_mm[:, 0] / a.radius_mm  # the electrode sits at +x (superficial)
        deep, superficial = oxidative[x < -1 / 3].mean(), oxidative[x > 1 / 3].mean()
        assert deep >= deep_low and superficial <= sup_high
    assert np.corrcoef(mg.unit_sizes(), mixed.unit_sizes())[0, 1] > 0.95  # the size ladder is kept


def test_oxidative_region_parameters_are_checked():
    with pytest.raises(EndplateInputError, match="oxidative_fraction"):
        load_muscle("mouse", "MG", oxidative_fraction=1.2)
    with pytest.raises(EndplateInputError, match="oxidative_region_density"):
        load_muscle("mouse", "MG", oxidative_region_density=0.1)


def test_unit_potentials_from_the_waves_they_need_equal_the_full_templates(apb):
    """The potentials sum only the unit-bin waves that hold a fibre (computed on first use); they
    equal the full template tensor's weighted sum, whichever is computed first."""
    from endplate.muscle.emg import _template_cache

    _template_cache.clear()
    cond = conductor(apb)
    active = np.random.default_rng(2).random(apb.n_fibres) < 0.7
    lazy = cond.unit_potentials(apb, active).copy()
    weights = cond.unit_bin_weights(apb, active).astype(np.float32)
    assert 0 < (weights > 0).mean() < 0.6  # most unit-bin pairs hold no fibre: the saving is real
    full = np.einsum("ub,ubt->ut", weights, cond.templates())
    assert np.abs(lazy - full).max() <= 1e-6 * np.abs(full).max()
    _template_cache.clear()
    fresh = conductor(apb)
    fresh.templates()  # the full tensor first, then the potentials
    assert np.array_equal(fresh.unit_potentials(apb, active), lazy)


def test_the_compiled_wave_fill_is_the_reference_wave_shape():
    """The readouts' waves come from a recurrence (``emg._wave_row``); they are ``wave_shape``'s."""
    from endplate.muscle.emg import DT_MS, _wave_row, wave_shape

    time = np.arange(0.0, 70.0, DT_MS)
    for start, width in ((0.5, 0.2), (3.0, 0.5), (25.0, 1.0), (60.0, 2.5)):
        out = np.empty(time.size, np.float32)
        _wave_row(start, width, time, out)
        assert np.abs(out - wave_shape((time - start) / width).astype(np.float32)).max() <= 1e-7
