"""CUDA train kernel through CuPy (optional: the package works without a GPU).

The same model step as ``cpu.py``, in float32, one thread per junction with its state in
registers for the whole train. Random numbers are counter-based (Philox4x32-10 keyed by the
seed, counter = stimulus, draw slot, junction), so a thread keeps no generator state and a long
train can be cut into launches without changing a number. Every sampler has a fixed cost in the
common regime: Box-Muller normals (four per stimulus from one Philox call) and the
Sheppard-corrected Cornish-Fisher binomial above ``APPROX_MIN_VARIANCE``; below it (small
pools, low release, where failures matter) the draw is exact, by inversion. Per-stimulus sums
are reduced per warp by shuffles and per block in a fixed order, so the sums do not depend on
scheduling. ``gpu_twin.py`` is the same algorithm in NumPy, for checking it without a device.
"""

from __future__ import annotations

import functools

import numpy as np

from endplate.junction import population as P
from endplate.kernels import tables as R

SOURCE = r"""
typedef unsigned int u32;

struct Philox { u32 v[4]; };

/* Philox4x32-10 (Salmon et al. 2011): four 32-bit words from counter (c0..c3) and key (k0, k1). */
__device__ __forceinline__ Philox philox(u32 c0, u32 c1, u32 c2, u32 c3, u32 k0, u32 k1) {
    #pragma unroll
    for (int r = 0; r < 10; ++r) {
        u32 hi0 = __umulhi(PHILOX_M0, c0), lo0 = PHILOX_M0 * c0;
        u32 hi1 = __umulhi(PHILOX_M1, c2), lo1 = PHILOX_M1 * c2;
        c0 = hi1 ^ c1 ^ k0; c1 = lo1; c2 = hi0 ^ c3 ^ k1; c3 = lo0;
        k0 += PHILOX_W0; k1 += PHILOX_W1;
    }
    Philox out = {{c0, c1, c2, c3}};
    return out;
}

/* Uniform in (0, 1): the top 24 bits, centred in their cell, so never 0 or 1. */
__device__ __forceinline__ float uniform(u32 x) {
    return ((float)(x >> 8) + 0.5f) * (1.0f / 16777216.0f);
}

/* Box-Muller: two standard normals from two uniforms, no rejection. */
__device__ __forceinline__ void box_muller(u32 a, u32 b, float &z0, float &z1) {
    float radius = sqrtf(-2.0f * logf(uniform(a)));
    float s, c;
    sincospif(2.0f * uniform(b), &s, &c);
    z0 = radius * c;
    z1 = radius * s;
}

/* Continuous Binomial(n, p) quantile at z: second-order Cornish-Fisher with Sheppard's correction. */
__device__ __forceinline__ float cornish_fisher(float n, float p, float z) {
    float pq = p * (1.0f - p), var = n * pq;
    float var_c = var - (1.0f / 12.0f), inv_var_c = 1.0f / var_c;
    float sd = sqrtf(var_c), inv_sd = sd * inv_var_c;
    float skew = var * (1.0f - 2.0f * p) * inv_var_c;
    float kurt = (var * (1.0f - 6.0f * pq) + (1.0f / 120.0f)) * inv_var_c;
    z = fminf(fmaxf(z, -Z_CLAMP), Z_CLAMP);
    float z2 = z * z;
    float tail = z * (kurt * (1.0f / 24.0f) * (z2 - 3.0f) - skew * skew * (1.0f / 36.0f) * (2.0f * z2 - 5.0f));
    return n * p + sd * z + skew * (1.0f / 6.0f) * (z2 - 1.0f) + inv_sd * tail;
}

/* Exact Binomial(n, p) by inversion, searching up from k = 0 (used where n min(p, 1-p) < 12);
   uniforms come from Philox slot `slot` of this stimulus, four per call, a fresh call if all four
   fall beyond the float32 CDF's end (probability ~1e-6 per try). */
__device__ int binomial_exact(int n, float p, u32 i, u32 slot, u32 j, u32 k0, u32 k1) {
    if (n <= 0 || p <= 0.0f) return 0;
    if (p >= 1.0f) return n;
    bool flip = p > 0.5f;
    float pp = flip ? 1.0f - p : p;
    float q = 1.0f - pp, s = pp / q, a = (n + 1) * s;
    float f0 = expf(n * log1pf(-pp));
    for (u32 call = 0;; ++call) {
        Philox w = philox(i, slot + (call << 2), j, 0u, k0, k1);
        #pragma unroll
        for (int t = 0; t < 4; ++t) {
            float u = uniform(w.v[t]), f = f0;
            int k = 0;
            while (u > f && k <= n) { u -= f; k += 1; f *= a / k - s; }
            if (k <= n) return flip ? n - k : k;
        }
    }
}

__device__ __forceinline__ int binomial(int n, float p, float z, u32 i, u32 slot, u32 j, u32 k0, u32 k1) {
    float nf = (float)n;
    if (n > 0 && nf * p * (1.0f - p) >= APPROX_MIN_VARIANCE) {
        float k = floorf(cornish_fisher(nf, p, z) + 0.5f);
        return (int)fminf(fmaxf(k, 0.0f), nf);
    }
    return binomial_exact(n, p, i, slot, j, k0, k1);
}

__device__ __forceinline__ float warp_sum(float v) {
    #pragma unroll
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
    return v;
}

extern "C" __global__ void __launch_bounds__(THREADS) train_kernel(
    const int n_j, const int n_s, const int first_stimulus,
    const int *__restrict__ capacity, const float *__restrict__ p_max, const float *__restrict__ q,
    const float *__restrict__ threshold, const float *__restrict__ gain,
    int *n_arr, float *f1_arr, float *f2_arr, float *tsc_arr, float *des_arr, float *mob_arr, float *pot_arr,
    const float *__restrict__ sch, const u32 k0, const u32 k1, const int record,
    int *out_k, float *out_epp, float *out_lat, float *block_sums,
    const float occ, const float sat_n, const float coop, const float a1, const float a2,
    const float act, const float tsc_inc, const float des_inc, const float cv_q, const float nls,
    const float rise, const float peak, const float delay, const float rel_var, const float br_var,
    const float a_mob, const float mob_rate, const float a_pot, const float pot_gain)
{
    /* per stimulus, sum and warp: part[(c * n_s + i) * WARPS + warp] */
    __shared__ float part[5 * MAX_STIMULI * WARPS];
    const int j = blockIdx.x * THREADS + threadIdx.x;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const bool active = j < n_j;
    int cap = 0, n = 0;
    float f1 = 0.f, f2 = 0.f, tsc = 0.f, des = 0.f, mob = 0.f, pot = 0.f, pm = 0.f, qj = 0.f, th = 0.f, gj = 0.f;
    if (active) {
        cap = capacity[j]; n = n_arr[j];
        f1 = f1_arr[j]; f2 = f2_arr[j]; tsc = tsc_arr[j]; des = des_arr[j]; mob = mob_arr[j]; pot = pot_arr[j];
        pm = p_max[j]; qj = q[j]; th = threshold[j]; gj = gain[j];
    }
    for (int i = 0; i < n_s; ++i) {
        const u32 stim = (u32)(first_stimulus + i);
        float k_f = 0.f, epp = 0.f, fired = 0.f, lat = __int_as_float(0x7fc00000), lat2 = 0.f;
        if (active) {
            Philox w = philox(stim, 0u, (u32)j, 0u, k0, k1);
            float z_refill, z_release, z_amp, z_time;
            box_muller(w.v[0], w.v[1], z_refill, z_release);
            box_muller(w.v[2], w.v[3], z_amp, z_time);
            float lam = __ldg(sch + BASE_REFILL * n_s + i)
                        + act * (f1 * __ldg(sch + G_FAST * n_s + i) + f2 * __ldg(sch + G_SLOW * n_s + i))
                        + mob_rate * mob * __ldg(sch + G_MOB * n_s + i);
            n += binomial(cap - n, -expm1f(-lam), z_refill, stim, 1u, (u32)j, k0, k1);
            mob *= __ldg(sch + E_MOB * n_s + i);
            pot *= __ldg(sch + E_POT * n_s + i);
            f1 *= __ldg(sch + E_FAST * n_s + i);
            f2 *= __ldg(sch + E_SLOW * n_s + i);
            tsc *= __ldg(sch + E_TSC * n_s + i);
            des *= __ldg(sch + E_DES * n_s + i);
            float y = occ * (1.0f + f1 + f2 + pot_gain * pot);
            float yn = (coop == 4.0f) ? (y * y) * (y * y) : powf(y, coop);
            float p = fminf(fmaxf(pm * yn / (yn + sat_n) * (1.0f - gj * tsc), 0.0f), 1.0f);
            int k = binomial(n, p, z_release, stim, 2u, (u32)j, k0, k1);
            n -= k;
            k_f = (float)k;
            float q_eff = qj * (1.0f - des);
            float linear = fmaxf(k_f * q_eff + sqrtf(k_f) * cv_q * q_eff * z_amp, 0.0f);
            epp = linear / (1.0f + nls * linear);
            if (epp > th) {
                float t_cross = -rise * logf(1.0f - (th / epp) * peak);
                lat = delay + t_cross + sqrtf(rel_var / fmaxf(k_f, 1.0f) + br_var) * z_time;
                fired = 1.0f;
                lat2 = lat * lat;
            }
            if (record) {
                size_t o = (size_t)i * n_j + j;  /* stimulus-major, so a warp's writes coalesce */
                out_k[o] = k; out_epp[o] = epp; out_lat[o] = lat;
            }
            f1 += a1;
            f2 += a2;
            tsc += (1.0f - tsc) * fminf(1.0f, tsc_inc * k_f);
            des += (1.0f - des) * fminf(1.0f, des_inc * k_f);
            mob += (1.0f - mob) * a_mob;
            pot += (1.0f - pot) * a_pot;
        }
        float vals[5] = {k_f, epp, fired, fired > 0.f ? lat : 0.f, lat2};
        #pragma unroll
        for (int c = 0; c < 5; ++c) {
            float v = warp_sum(vals[c]);
            if (lane == 0) part[(c * n_s + i) * WARPS + warp] = v;
        }
    }
    if (active) {
        n_arr[j] = n; f1_arr[j] = f1; f2_arr[j] = f2; tsc_arr[j] = tsc; des_arr[j] = des; mob_arr[j] = mob; pot_arr[j] = pot;
    }
    __syncthreads();
    for (int t = threadIdx.x; t < 5 * n_s; t += THREADS) {
        float total = 0.f;
        for (int w = 0; w < WARPS; ++w) total += part[t * WARPS + w];
        block_sums[(size_t)blockIdx.x * 5 * n_s + t] = total;
    }
}
"""

THREADS = 256
WARPS = THREADS // 32
MAX_STIMULI = 128  # per launch: 5 sums x 8 warps x 128 stimuli x 4 bytes = 20 KB of shared memory a block
SCHEDULE_ROWS = ("E_FAST", "E_SLOW", "E_TSC", "E_DES", "G_FAST", "G_SLOW", "BASE_REFILL", "E_MOB", "G_MOB", "E_POT")


def defines() -> str:
    """The ``#define`` lines that complete ``SOURCE`` (schedule rows, constants, launch shape)."""
    values = {name: getattr(P, name) for name in SCHEDULE_ROWS}
    values.update(
        THREADS=THREADS,
        WARPS=WARPS,
        MAX_STIMULI=MAX_STIMULI,
        APPROX_MIN_VARIANCE=f"{R.APPROX_MIN_VARIANCE!r}f",
        Z_CLAMP=f"{R.Z_CLAMP!r}f",
        PHILOX_M0=f"{R.PHILOX_M0:#x}u",
        PHILOX_M1=f"{R.PHILOX_M1:#x}u",
        PHILOX_W0=f"{R.PHILOX_W0:#x}u",
        PHILOX_W1=f"{R.PHILOX_W1:#x}u",
    )
    return "".join(f"#define {name} {value}\n" for name, value in values.items())


def scalar_arguments(params) -> tuple[np.float32, ...]:
    """The 19 kernel scalars as float32 kernel arguments (read from the constant bank, no registers)."""
    s = P.kernel_scalars(params)
    values = (
        s[P.OCC],
        s[P.SAT_N],
        s[P.COOP],
        s[P.A_FAST],
        s[P.A_SLOW],
        s[P.REFILL_ACT],
        s[P.TSC_INC],
        s[P.DES_INC],
        s[P.CV_Q],
        s[P.NLS_K],
        s[P.RISE_TAU],
        s[P.PEAK_FRACTION],
        s[P.DELAY],
        s[P.REL_SD] ** 2,
        s[P.BRANCH_SD] ** 2,
        s[P.A_MOB],
        s[P.MOB_RATE],
        s[P.A_POT],
        s[P.POT_GAIN],
    )
    return tuple(np.float32(v) for v in values)


def seed_key(seed: int) -> tuple[np.uint32, np.uint32]:
    """The Philox key of a seed (its low and high 32 bits)."""
    seed = int(seed) % 2**64
    return np.uint32(seed & 0xFFFFFFFF), np.uint32(seed >> 32)


COMPILE_OPTIONS = ("-std=c++14", "--use_fast_math")


@functools.cache
def compiled_kernel():
    import cupy as cp

    return cp.RawKernel(defines() + SOURCE, "train_kernel", options=COMPILE_OPTIONS)


def available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        import cupy as cp

        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - no CuPy, no driver or no device all mean "no GPU"
        return False


class DeviceTrain:
    """A population and its state resident on the GPU, for repeated trains without transfers."""

    def __init__(self, pop: P.JunctionPopulation, state: P.JunctionState):
        import cupy as cp

        self.cp = cp
        self.size = pop.size
        self.params = [
            cp.asarray(a)
            for a in (pop.capacity, pop.release_probability_max, pop.quantal_mv, pop.threshold_mv, pop.effective_tsc_gain())
        ]
        self.state = [cp.asarray(a) for a in state.arrays()]
        self.scalars = scalar_arguments(pop.params)

    def run(self, schedule: np.ndarray, seed: int, record: bool):
        """The train of ``schedule`` (launches of at most MAX_STIMULI); returns device arrays.

        Records are ``(n_stimuli, n_junctions)`` (transpose of the host contract); ``sums`` is
        ``(5, n_stimuli)`` float64.
        """
        cp = self.cp
        n_s = schedule.shape[1]
        shape = (n_s, self.size) if record else (1,)
        out_k, out_epp, out_lat = cp.zeros(shape, cp.int32), cp.zeros(shape, cp.float32), cp.zeros(shape, cp.float32)
        blocks = (self.size + THREADS - 1) // THREADS
        k0, k1 = seed_key(seed)
        sums = []
        for first in range(0, n_s, MAX_STIMULI):
            count = min(MAX_STIMULI, n_s - first)
            part = cp.asarray(np.ascontiguousarray(schedule[:, first : first + count], dtype=np.float32))
            block_sums = cp.empty((blocks, 5, count), cp.float32)
            offset = first * self.size if record else 0
            compiled_kernel()(
                (blocks,),
                (THREADS,),
                (
                    np.int32(self.size),
                    np.int32(count),
                    np.int32(first),
                    *self.params,
                    *self.state,
                    part,
                    k0,
                    k1,
                    np.int32(record),
                    out_k.ravel()[offset:],
                    out_epp.ravel()[offset:],
                    out_lat.ravel()[offset:],
                    block_sums,
                    *self.scalars,
                ),
            )
            sums.append(block_sums.sum(axis=0, dtype=cp.float64))
        return out_k, out_epp, out_lat, cp.concatenate(sums, axis=1)

    def download_state(self, state: P.JunctionState) -> None:
        for host, dev in zip(state.arrays(), self.state):
            host[:] = dev.get()


def train_gpu(pop: P.JunctionPopulation, state: P.JunctionState, schedule: np.ndarray, seed: int, record: bool):
    """Same contract as ``reference.train_reference`` (copies to and from the GPU)."""
    dev = DeviceTrain(pop, state)
    out_k, out_epp, out_lat, sums = dev.run(schedule, seed, record)
    dev.download_state(state)
    sums = sums.get()
    if not record:
        return None, None, None, sums
    return (
        np.ascontiguousarray(out_k.get().T),
        np.ascontiguousarray(out_epp.get().T),
        np.ascontiguousarray(out_lat.get().T),
        sums,
    )
