"""The GPU algorithm against the NumPy reference.

The float32 NumPy twin of the CUDA kernel (``gpu_twin.py``) runs everywhere; the CuPy kernel
itself only where a CUDA GPU is present, and its source is compiled for the H200 (sm_90) where
``nvcc`` is installed.
"""

import re
import shutil
import subprocess

import numpy as np
import pytest
from scipy import stats

from endplate import default_parameters, make_population, run_train
from endplate.junction.perturbations import apply_perturbations
from endplate.junction.population import stimulus_schedule
from endplate.kernels import gpu, gpu_available, gpu_twin

CONDITIONS = [("mouse", ()), ("mouse", ("low_calcium",)), ("mouse", ("ache_inhibition", "achr_loss")), ("human", ())]
INTERVALS = [np.inf] + [20.0] * 29


def _params(species, condition):
    return apply_perturbations(default_parameters(species), condition)


def _assert_matches_reference(quanta, epp_mv, fired_fraction, ref):
    for i in (0, 1, 9, 29):
        assert quanta[:, i].mean() == pytest.approx(ref.quanta[:, i].mean(), rel=0.03, abs=0.05)
        assert stats.ks_2samp(epp_mv[:, i], ref.epp_mv[:, i]).pvalue > 1e-3
        assert fired_fraction[i] == pytest.approx(ref.fired_fraction[i], abs=0.03)


@pytest.mark.parametrize("species,condition", CONDITIONS)
def test_float32_gpu_algorithm_matches_reference_in_distribution(species, condition):
    params = _params(species, condition)
    pop = make_population(params, 20000, seed=42)
    state = pop.rested_state()
    quanta, epp, _, sums = gpu_twin.train_twin(pop, state, stimulus_schedule(params, INTERVALS), 1, True)
    ref = run_train(pop, pop.rested_state(), INTERVALS, 2, backend="numpy")
    _assert_matches_reference(quanta, epp, sums[2] / pop.size, ref)
    assert np.all(state.vesicles >= 0) and np.all(state.vesicles <= pop.capacity)
    assert np.array_equal(sums[0], quanta.sum(axis=0))


def test_float32_gpu_algorithm_carries_the_mobilisation_of_the_human_junction():
    """The human junction refills through the slow mobilisation state (3 Hz train)."""
    params = default_parameters("human")
    pop = make_population(params, 20000, seed=42)
    intervals = [np.inf] + [1000.0 / 3] * 9
    state = pop.rested_state()
    quanta = gpu_twin.train_twin(pop, state, stimulus_schedule(params, intervals), 1, True)[0]
    ref = run_train(pop, pop.rested_state(), intervals, 2, backend="numpy")
    for i in (0, 4, 9):
        assert quanta[:, i].mean() == pytest.approx(ref.quanta[:, i].mean(), rel=0.03)
    assert np.all((state.mobilisation > 0) & (state.mobilisation <= 1))


@pytest.mark.parametrize(
    "counter,key,expected",
    [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        (
            (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
            (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
        ),
    ],
)
def test_philox_matches_the_random123_known_answers(counter, key, expected):
    """Known-answer vectors of the Random123 reference implementation (Salmon et al. 2011)."""
    assert tuple(int(w) for w in gpu_twin.philox(*counter, *key)) == expected


def test_box_muller_normals_are_standard_normal_and_independent():
    w = gpu_twin.philox(3, 0, np.arange(200_000, dtype=np.uint32), 0, 11, 12)
    a, b = gpu_twin.box_muller(w[0], w[1])
    x = np.concatenate([a, b]).astype(float)
    assert abs(x.mean()) < 0.01 and x.var() == pytest.approx(1.0, abs=0.01)
    assert stats.kstest(x, "norm").pvalue > 1e-3
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.01


@pytest.mark.parametrize("n,p", [(20, 0.05), (200, 0.02), (60, 0.9), (1730, 0.03), (500, 0.5)])
def test_float32_binomial_draw_matches_the_binomial_distribution(n, p):
    """Both regimes: exact float32 inversion (variance below 6) and Cornish-Fisher (above)."""
    size = 200_000
    j = np.arange(size, dtype=np.uint32)
    w = gpu_twin.philox(7, 0, j, 0, 5, 6)
    z, _ = gpu_twin.box_muller(w[0], w[1])
    sample = gpu_twin.binomial(np.full(size, n), np.full(size, p, np.float32), z, 7, 1, j, (5, 6))
    expected = stats.binom.pmf(np.arange(n + 1), n, p) * size
    observed = np.bincount(sample, minlength=n + 1)
    keep = expected >= 5
    obs, exp = np.append(observed[keep], observed[~keep].sum()), np.append(expected[keep], expected[~keep].sum())
    assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-3


def _ptxas_report(tmp_path):
    source = tmp_path / "train_kernel.cu"
    source.write_text(gpu.defines() + gpu.SOURCE)
    done = subprocess.run(
        [
            "nvcc",
            "-arch=sm_90",
            "-cubin",
            *gpu.COMPILE_OPTIONS,
            "-Xptxas",
            "-v",
            "-o",
            str(tmp_path / "train_kernel.cubin"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs the CUDA compiler (nvcc)")
def test_gpu_kernel_source_compiles_for_the_h200_without_spilling(tmp_path):
    report = _ptxas_report(tmp_path)
    assert "0 bytes spill stores, 0 bytes spill loads" in report
    registers = int(re.search(r"Used (\d+) registers", report).group(1))
    assert registers * gpu.THREADS <= 65536 // 4, "fewer than four blocks of registers an SM"


@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA GPU")
@pytest.mark.parametrize("species,condition", CONDITIONS)
def test_gpu_kernel_matches_reference_in_distribution(species, condition):
    params = _params(species, condition)
    pop = make_population(params, 20000, seed=42)
    state = pop.rested_state()
    g = run_train(pop, state, INTERVALS, 1, backend="cupy")
    ref = run_train(pop, pop.rested_state(), INTERVALS, 2, backend="numpy")
    _assert_matches_reference(g.quanta, g.epp_mv, g.fired_fraction, ref)
    assert np.all(state.vesicles >= 0) and np.all(state.vesicles <= pop.capacity)
    assert np.allclose(g.sums[0], g.quanta.sum(axis=0))


# A 10 s, 30 Hz tetanus, then a probe 2 s later: potentiation raises release most at LEMS-like
# junctions (low Ca occupancy), so the probe's quanta show whether a kernel carries it.
POST_TETANIC = [np.inf] + [1000.0 / 30] * 299 + [2000.0]


def test_float32_gpu_algorithm_carries_the_post_tetanic_potentiation():
    params = apply_perturbations(default_parameters("human"), ("lems",))
    assert params.potentiation_gain > 0 and params.potentiation_increment > 0
    pop = make_population(params, 4000, seed=42)
    state = pop.rested_state()
    quanta = gpu_twin.train_twin(pop, state, stimulus_schedule(params, POST_TETANIC), 1, True)[0]
    ref_state = pop.rested_state()
    ref = run_train(pop, ref_state, POST_TETANIC, 2, backend="numpy")
    for i in (0, 299, 300):
        assert quanta[:, i].mean() == pytest.approx(ref.quanta[:, i].mean(), rel=0.04)
    assert quanta[:, 300].mean() > 1.5 * quanta[:, 0].mean()  # potentiated, as the reference is
    assert np.allclose(state.potentiation, ref_state.potentiation, rtol=1e-4)


@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA GPU")
def test_gpu_kernel_carries_the_post_tetanic_potentiation():
    params = apply_perturbations(default_parameters("human"), ("lems",))
    pop = make_population(params, 20000, seed=42)
    state, ref_state = pop.rested_state(), pop.rested_state()
    g = run_train(pop, state, POST_TETANIC, 1, backend="cupy")
    r = run_train(pop, ref_state, POST_TETANIC, 2, backend="numpy")
    for i in (0, 299, 300):
        assert g.quanta[:, i].mean() == pytest.approx(r.quanta[:, i].mean(), rel=0.03)
    assert np.allclose(state.potentiation, ref_state.potentiation, rtol=1e-4)


@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA GPU")
def test_gpu_kernel_carries_the_mobilisation_of_the_human_junction():
    pop = make_population(default_parameters("human"), 20000, seed=42)
    intervals = [np.inf] + [1000.0 / 3] * 9
    state = pop.rested_state()
    g = run_train(pop, state, intervals, 1, backend="cupy")
    r = run_train(pop, pop.rested_state(), intervals, 2, backend="numpy")
    for i in (0, 4, 9):
        assert g.quanta[:, i].mean() == pytest.approx(r.quanta[:, i].mean(), rel=0.03)
    assert np.all((state.mobilisation > 0) & (state.mobilisation <= 1))


@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA GPU")
def test_gpu_kernel_draws_what_its_twin_draws_across_launches():
    """Same counters, same samplers: the first stimulus agrees draw for draw with the twin (up to
    fast-math rounding), and a train longer than one launch keeps every state in range."""
    params = default_parameters("mouse")
    pop = make_population(params, 3000, seed=1)
    intervals = [np.inf] + [20.0] * (gpu.MAX_STIMULI + 20)
    state = pop.rested_state()
    g = run_train(pop, state, intervals, 4, backend="cupy")
    twin = gpu_twin.train_twin(pop, pop.rested_state(), stimulus_schedule(params, intervals), 4, True)
    assert np.mean(g.quanta[:, 0] == twin[0][:, 0]) > 0.99
    assert np.all(state.vesicles >= 0) and np.all(state.vesicles <= pop.capacity)
    assert np.all(np.isfinite(g.epp_mv)) and np.allclose(g.sums[0], g.quanta.sum(axis=0))


# Just enough of CUDA to run the kernel's source on the host, one thread after another. The
# warp shuffles and the block sums are not emulated (threads do not run together), so only
# what each thread computes on its own (records and state) is compared.
_HOST_SHIMS = r"""
#include <cmath>
#include <cstring>
#include <cstddef>
#define __device__
#define __global__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(n)
struct Index { unsigned x; };
static Index threadIdx, blockIdx;
static inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
static inline float __int_as_float(int x) { float f; std::memcpy(&f, &x, 4); return f; }
static inline float __shfl_down_sync(unsigned, float, int) { return 0.0f; }
static inline void __syncthreads() {}
template <class T> static inline T __ldg(const T *p) { return *p; }
static inline void sincospif(float x, float *s, float *c) { *s = sinf((float)M_PI * x); *c = cosf((float)M_PI * x); }
"""

_HOST_DRIVER = r"""
extern "C" void emulate(int blocks, int n_j, int n_s, const int *capacity, const float *p_max, const float *q,
    const float *threshold, const float *gain, int *n_arr, float *f1, float *f2, float *tsc, float *des, float *mob,
    float *pot,
    const float *sch, unsigned k0, unsigned k1, int *out_k, float *out_epp, float *out_lat, float *block_sums,
    const float *s) {
    for (unsigned b = 0; b < (unsigned)blocks; ++b)
        for (unsigned t = 0; t < THREADS; ++t) {
            blockIdx.x = b; threadIdx.x = t;
            train_kernel(n_j, n_s, 0, capacity, p_max, q, threshold, gain, n_arr, f1, f2, tsc, des, mob, pot, sch, k0, k1,
                         1, out_k, out_epp, out_lat, block_sums, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
                         s[8], s[9], s[10], s[11], s[12], s[13], s[14], s[15], s[16], s[17], s[18]);
        }
}
"""


def _host_kernel(tmp_path):
    import ctypes

    source = tmp_path / "host_kernel.cpp"
    source.write_text(_HOST_SHIMS + gpu.defines() + gpu.SOURCE + _HOST_DRIVER)
    library = tmp_path / "host_kernel.so"
    done = subprocess.run(
        ["g++", "-O2", "-std=c++14", "-shared", "-fPIC", "-o", str(library), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    emulate = ctypes.CDLL(str(library)).emulate
    pointer, integer = ctypes.c_void_p, ctypes.c_int
    emulate.argtypes = [integer] * 3 + [pointer] * 13 + [ctypes.c_uint] * 2 + [pointer] * 5
    emulate.restype = None
    return emulate


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a C++ compiler")
@pytest.mark.parametrize("species,condition", [("mouse", ()), ("mouse", ("low_calcium",)), ("human", ("lems",))])
def test_cuda_source_run_on_the_host_draws_what_the_twin_draws(tmp_path, species, condition):
    """The kernel's own source, compiled for the CPU, against its NumPy twin on the same seed:
    the same Philox counters and samplers give the same quanta, except where float32 functions
    of different libraries round across an integer (then the trains part and stay apart)."""
    params = _params(species, condition)
    pop = make_population(params, 2 * gpu.THREADS, seed=7)
    schedule = stimulus_schedule(params, INTERVALS)
    n_j, n_s = pop.size, schedule.shape[1]
    state = pop.rested_state()
    arrays = [
        np.ascontiguousarray(a)
        for a in (
            pop.capacity,
            pop.release_probability_max,
            pop.quantal_mv,
            pop.threshold_mv,
            pop.effective_tsc_gain(),
            *state.arrays(),
            schedule.astype(np.float32),
        )
    ]
    out_k = np.zeros((n_s, n_j), np.int32)
    out_epp, out_lat = np.zeros((n_s, n_j), np.float32), np.zeros((n_s, n_j), np.float32)
    block_sums = np.zeros((2, 5, n_s), np.float32)
    scalars = np.array(gpu.scalar_arguments(params), np.float32)
    k0, k1 = gpu.seed_key(9)
    _host_kernel(tmp_path)(
        2,
        n_j,
        n_s,
        *(a.ctypes.data for a in arrays),
        int(k0),
        int(k1),
        *(a.ctypes.data for a in (out_k, out_epp, out_lat, block_sums, scalars)),
    )
    twin_state = pop.rested_state()
    quanta, epp, _, _ = gpu_twin.train_twin(pop, twin_state, schedule, 9, True)
    same = out_k.T == quanta
    assert same[:, 0].mean() > 0.99 and same.all(axis=1).mean() > 0.9
    trains_alike = same.all(axis=1)
    assert np.allclose(out_epp.T[trains_alike], epp[trains_alike], rtol=1e-4, atol=1e-4)
    assert np.array_equal(state.vesicles[trains_alike], twin_state.vesicles[trains_alike])
    assert np.allclose(state.potentiation, twin_state.potentiation, rtol=1e-5)  # the same for every junction
