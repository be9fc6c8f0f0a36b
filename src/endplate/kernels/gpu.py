"""CUDA train kernel through CuPy (optional: the package works without a GPU).

The same step as ``cpu.py``, one thread per junction, with the same random-number scheme
(SplitMix64-seeded xoroshiro128+ per junction, ziggurat normals, exact inversion / BTRS binomials
with the Cornish-Fisher draw above ``APPROX_MIN_VARIANCE``). Per-stimulus population sums are
reduced in shared memory per block, then added to global memory once per block.
"""

from __future__ import annotations

import numpy as np

from endplate.junction import population as P
from endplate.kernels import tables as R

_SOURCE = r"""
typedef unsigned long long u64;
typedef long long i64;

struct Rng { u64 s0, s1; };

__device__ __forceinline__ u64 splitmix(u64 &x) {
    x += 0x9E3779B97F4A7C15ULL;
    u64 z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

__device__ __forceinline__ void seed_stream(Rng &r, u64 seed, u64 index) {
    u64 x = seed ^ ((index + 1ULL) * 0x94D049BB133111EBULL);
    r.s0 = splitmix(x);
    r.s1 = splitmix(x);
    if (r.s0 == 0ULL && r.s1 == 0ULL) r.s1 = 0x9E3779B97F4A7C15ULL;
}

__device__ __forceinline__ u64 next_u64(Rng &r) {
    u64 result = r.s0 + r.s1;
    u64 s1 = r.s1 ^ r.s0;
    r.s0 = ((r.s0 << 24) | (r.s0 >> 40)) ^ s1 ^ (s1 << 16);
    r.s1 = (s1 << 37) | (s1 >> 27);
    return result;
}

__device__ __forceinline__ double uniform(Rng &r) {
    return (double)(next_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

__device__ double ziggurat_slow(Rng &r, i64 hz, const double *zk, const double *zw, const double *zf) {
    const double R = 3.442619855899;
    while (true) {
        int iz = (int)(hz & 127);
        double x = (double)hz * zw[iz];
        if (iz == 0) {
            double y;
            do {
                x = -log(1.0 - uniform(r)) / R;
                y = -log(1.0 - uniform(r));
            } while (y + y < x * x);
            return hz > 0 ? R + x : -(R + x);
        }
        if (zf[iz] + uniform(r) * (zf[iz - 1] - zf[iz]) < exp(-0.5 * x * x)) return x;
        hz = (i64)(uniform(r) * 4294967296.0) - 2147483648LL;
        if ((double)llabs(hz) < zk[hz & 127]) return (double)hz * zw[hz & 127];
    }
}

__device__ __forceinline__ double ziggurat_one(Rng &r, i64 hz, const double *zk, const double *zw, const double *zf) {
    int iz = (int)(hz & 127);
    if ((double)llabs(hz) < zk[iz]) return (double)hz * zw[iz];
    return ziggurat_slow(r, hz, zk, zw, zf);
}

__device__ __forceinline__ void normal_pair(Rng &r, double &a, double &b, const double *zk, const double *zw, const double *zf) {
    u64 result = next_u64(r);
    a = ziggurat_one(r, (i64)(result >> 32) - 2147483648LL, zk, zw, zf);
    b = ziggurat_one(r, (i64)(result & 0xFFFFFFFFULL) - 2147483648LL, zk, zw, zf);
}

__device__ __forceinline__ double log_factorial(double k, const double *lf) {
    if (k < 16.0) return lf[(int)k];
    double inv = 1.0 / k;
    return (k + 0.5) * log(k) - k + 0.91893853320467274178 + inv * (1.0 / 12.0 - inv * inv / 360.0);
}

__device__ int binomial_inversion(Rng &r, int n, double p) {
    double q = 1.0 - p, s = p / q, a = (n + 1) * s;
    while (true) {
        double f = exp(n * log(q));
        double u = uniform(r);
        int k = 0;
        while (u > f && k <= n) { u -= f; k += 1; f *= a / k - s; }
        if (k <= n) return k;
    }
}

__device__ int binomial_btrs(Rng &r, int n, double p, const double *lf) {
    double q = 1.0 - p, spq = sqrt(n * p * q);
    double b = 1.15 + 2.53 * spq, a = -0.0873 + 0.0248 * b + 0.01 * p, c = n * p + 0.5;
    double vr = 0.92 - 4.2 / b;
    double alpha = (2.83 + 5.1 / b) * spq, lpq = log(p / q), m = floor((n + 1) * p);
    double h = log_factorial(m, lf) + log_factorial(n - m, lf);
    while (true) {
        double u = uniform(r) - 0.5, v = uniform(r);
        double us = 0.5 - fabs(u);
        double k = floor((2.0 * a / us + b) * u + c);
        if (k < 0.0 || k > n) continue;
        if (us >= 0.07 && v <= vr) return (int)k;
        v = log(v * alpha / (a / (us * us) + b));
        if (v <= h - log_factorial(k, lf) - log_factorial(n - k, lf) + (k - m) * lpq) return (int)k;
    }
}

__device__ int binomial_exact(Rng &r, int n, double p, const double *lf) {
    if (n <= 0 || p <= 0.0) return 0;
    if (p >= 1.0) return n;
    bool flip = p > 0.5;
    double pp = flip ? 1.0 - p : p;
    int k = (n * pp < INVERSION_MAX_MEAN) ? binomial_inversion(r, n, pp) : binomial_btrs(r, n, pp, lf);
    return flip ? n - k : k;
}

__device__ int binomial_fast(Rng &r, int n, double p, double z, const double *lf) {
    if (n > 0 && n * p * (1.0 - p) >= APPROX_MIN_VARIANCE) {
        double pq = p * (1.0 - p), var = n * pq, sd = sqrt(var);
        double gam = (1.0 - 2.0 * p) / sd, kap = (1.0 - 6.0 * pq) / var;
        z = fmin(fmax(z, -Z_CLAMP), Z_CLAMP);
        double z2 = z * z;
        double w = z + gam * (z2 - 1.0) / 6.0 + z * ((kap / 24.0) * (z2 - 3.0) - (gam * gam / 36.0) * (2.0 * z2 - 5.0));
        double k = floor(n * p + sd * w + 0.5);
        return (int)fmin(fmax(k, 0.0), (double)n);
    }
    return binomial_exact(r, n, p, lf);
}

extern "C" __global__ void train_kernel(
    const int n_j, const int n_s,
    const int *capacity, const float *p_max, const float *q, const float *threshold, const float *gain,
    int *n_arr, float *f1_arr, float *f2_arr, float *tsc_arr, float *des_arr, float *mob_arr,
    const double *s, const double *sch, const u64 seed, const int record,
    int *out_k, float *out_epp, float *out_lat, double *sums,
    const double *zk, const double *zw, const double *zf, const double *lf)
{
    extern __shared__ double block_sums[];
    for (int t = threadIdx.x; t < 5 * n_s; t += blockDim.x) block_sums[t] = 0.0;
    __syncthreads();
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    const bool active = j < n_j;
    Rng r;
    seed_stream(r, seed, (u64)(active ? j : 0));
    int cap = 0, n = 0;
    double f1 = 0, f2 = 0, tsc = 0, des = 0, mob = 0, pm = 0, qj = 0, th = 0, gj = 0;
    if (active) {
        cap = capacity[j]; n = n_arr[j];
        f1 = f1_arr[j]; f2 = f2_arr[j]; tsc = tsc_arr[j]; des = des_arr[j]; mob = mob_arr[j];
        pm = p_max[j]; qj = q[j]; th = threshold[j]; gj = gain[j];
    }
    const double occ = s[OCC], sat_n = s[SAT_N], coop = s[COOP], a1 = s[A_FAST], a2 = s[A_SLOW];
    const double act = s[REFILL_ACT], tsc_inc = s[TSC_INC], des_inc = s[DES_INC], cv_q = s[CV_Q];
    const double a_mob = s[A_MOB], mob_rate = s[MOB_RATE];
    const double nls = s[NLS_K], rise = s[RISE_TAU], peak = s[PEAK_FRACTION], delay = s[DELAY];
    const double rel_var = s[REL_SD] * s[REL_SD], br_var = s[BRANCH_SD] * s[BRANCH_SD];
    const int lane = threadIdx.x & 31;
    for (int i = 0; i < n_s; ++i) {
        double vals[5] = {0.0, 0.0, 0.0, 0.0, 0.0};
        if (active) {
            double z_refill, z_release, z_amp, z_time;
            normal_pair(r, z_refill, z_release, zk, zw, zf);
            double lam = sch[BASE_REFILL * n_s + i] + act * (f1 * sch[G_FAST * n_s + i] + f2 * sch[G_SLOW * n_s + i]);
            lam += mob_rate * mob * sch[G_MOB * n_s + i];
            n += binomial_fast(r, cap - n, 1.0 - exp(-lam), z_refill, lf);
            mob *= sch[E_MOB * n_s + i];
            f1 *= sch[E_FAST * n_s + i];
            f2 *= sch[E_SLOW * n_s + i];
            tsc *= sch[E_TSC * n_s + i];
            des *= sch[E_DES * n_s + i];
            double y = occ * (1.0 + f1 + f2);
            double yn = (coop == 4.0) ? (y * y) * (y * y) : pow(y, coop);
            double p = fmin(fmax(pm * yn / (yn + sat_n) * (1.0 - gj * tsc), 0.0), 1.0);
            int k = binomial_fast(r, n, p, z_release, lf);
            n -= k;
            normal_pair(r, z_amp, z_time, zk, zw, zf);
            double q_eff = qj * (1.0 - des);
            double linear = fmax(k * q_eff + sqrt((double)k) * cv_q * q_eff * z_amp, 0.0);
            double epp = linear / (1.0 + nls * linear);
            double lat = __longlong_as_double(0x7FF8000000000000LL);
            if (epp > th) {
                double t_cross = -rise * log(1.0 - (th / epp) * peak);
                lat = delay + t_cross + sqrt(rel_var / (double)max(k, 1) + br_var) * z_time;
                vals[2] = 1.0; vals[3] = lat; vals[4] = lat * lat;
            }
            vals[0] = (double)k; vals[1] = epp;
            if (record) {
                unsigned long long o = (unsigned long long)j * n_s + i;
                out_k[o] = k; out_epp[o] = (float)epp; out_lat[o] = (float)lat;
            }
            f1 += a1;
            f2 += a2;
            tsc += (1.0 - tsc) * fmin(1.0, tsc_inc * k);
            des += (1.0 - des) * fmin(1.0, des_inc * k);
            mob += (1.0 - mob) * a_mob;
        }
        for (int c = 0; c < 5; ++c) {
            double v = vals[c];
            for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffff, v, off);
            if (lane == 0) atomicAdd(&block_sums[c * n_s + i], v);
        }
    }
    if (active) {
        n_arr[j] = n; f1_arr[j] = (float)f1; f2_arr[j] = (float)f2; tsc_arr[j] = (float)tsc; des_arr[j] = (float)des;
        mob_arr[j] = (float)mob;
    }
    __syncthreads();
    for (int t = threadIdx.x; t < 5 * n_s; t += blockDim.x) atomicAdd(&sums[t], block_sums[t]);
}
"""

THREADS = 256
MAX_STIMULI = 1200  # 5 sums per stimulus in 48 KB of shared memory


def _defines() -> str:
    names = ["OCC", "SAT_N", "COOP", "A_FAST", "A_SLOW", "REFILL_ACT", "TSC_INC", "DES_INC", "CV_Q", "NLS_K",
             "RISE_TAU", "PEAK_FRACTION", "DELAY", "REL_SD", "BRANCH_SD", "A_MOB", "MOB_RATE",
             "E_FAST", "E_SLOW", "E_TSC", "E_DES", "G_FAST", "G_SLOW", "BASE_REFILL", "E_MOB", "G_MOB"]
    lines = [f"#define {n} {getattr(P, n)}" for n in names]
    lines += [f"#define INVERSION_MAX_MEAN {R.INVERSION_MAX_MEAN!r}", f"#define APPROX_MIN_VARIANCE {R.APPROX_MIN_VARIANCE!r}",
              f"#define Z_CLAMP {R._Z_CLAMP!r}"]
    return "\n".join(lines) + "\n"


_kernel = None


def _get_kernel():
    global _kernel
    if _kernel is None:
        import cupy as cp

        _kernel = cp.RawKernel(_defines() + _SOURCE, "train_kernel", options=("-std=c++14",))
    return _kernel


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
        self.pop = pop
        self.size = pop.size
        self.params = [cp.asarray(a) for a in (pop.capacity, pop.release_probability_max, pop.quantal_mv,
                                               pop.threshold_mv, pop.effective_tsc_gain())]
        self.state = [cp.asarray(a) for a in state.arrays()]
        self.scalars = cp.asarray(P.kernel_scalars(pop.params))
        self.tables = [cp.asarray(t) for t in (R._ZIG_K, R._ZIG_W, R._ZIG_F, R._LOG_FACTORIAL)]

    def run(self, schedule: np.ndarray, seed: int, record: bool):
        cp = self.cp
        n_s = schedule.shape[1]
        if n_s > MAX_STIMULI:
            raise ValueError(f"the GPU kernel takes at most {MAX_STIMULI} stimuli per call; split the train")
        shape = (self.size, n_s) if record else (1,)
        out_k = cp.zeros(shape, cp.int32)
        out_epp = cp.zeros(shape, cp.float32)
        out_lat = cp.zeros(shape, cp.float32)
        sums = cp.zeros(5 * n_s, cp.float64)
        blocks = (self.size + THREADS - 1) // THREADS
        _get_kernel()(
            (blocks,), (THREADS,),
            (np.int32(self.size), np.int32(n_s), *self.params, *self.state, self.scalars,
             cp.asarray(np.ascontiguousarray(schedule, dtype=np.float64)), np.uint64(seed), np.int32(record),
             out_k, out_epp, out_lat, sums, *self.tables),
            shared_mem=5 * n_s * 8,
        )
        return out_k, out_epp, out_lat, sums

    def download_state(self, state: P.JunctionState) -> None:
        for host, dev in zip(state.arrays(), self.state):
            host[:] = dev.get()


def train_gpu(pop: P.JunctionPopulation, state: P.JunctionState, schedule: np.ndarray, seed: int, record: bool):
    """Same contract as ``reference.train_reference`` (copies to and from the GPU)."""
    dev = DeviceTrain(pop, state)
    out_k, out_epp, out_lat, sums = dev.run(schedule, seed, record)
    dev.download_state(state)
    sums = sums.get().reshape(5, schedule.shape[1])
    if not record:
        return None, None, None, sums
    return out_k.get(), out_epp.get(), out_lat.get(), sums
