"""Fit a problem: ABC-SMC with model choice (pyabc) over the competing models, on Dask.

``run_fit`` runs, in order, and each stage resumable from its sqlite database:

1. the main fit: ABC-SMC over all models at once (model choice), a fixed number of generations;
2. posterior predictive checks: fresh simulations from each model's final population;
3. leave-one-source-out: for each source (paper), a smaller fit without its targets, then the
   predictive distribution of the left-out targets.

The result is an xarray Dataset (``endplate_result = "fit"``). The databases sit in a folder
beside the result (``fit-NAME.abc/``); a re-run with the same ``--out`` continues from the last
finished generation of every stage.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from endplate.calibrate.problem import Problem, ProblemModel, load_problem, simulate_targets
from endplate.cluster import Interrupted, disconnect
from endplate.cluster import connect as cluster_connect
from endplate.errors import EndplateInputError
from endplate.provenance import provenance_attrs

QUANTILES = (0.05, 0.5, 0.95)  # predictive interval reported: 90 %
WORKER_ENVIRONMENT = {
    "NUMBA_NUM_THREADS": "1",
    "MALLOC_MMAP_THRESHOLD_": "33554432",
    "MALLOC_TRIM_THRESHOLD_": "1073741824",
    "MALLOC_TOP_PAD_": "268435456",
}


@dataclass(frozen=True)
class FitSettings:
    population: int
    generations: int
    ppc_draws: int
    loso_population: int
    loso_generations: int
    loso_draws: int
    loso_sources: int  # at most this many sources are left out (those with the most targets first); 0: none
    min_acceptance: float = 0.005
    batch_size: int = 4


def settings_for(
    problem: str, quick: bool, population: int | None = None, generations: int | None = None, loso: bool = True
) -> FitSettings:
    """Default settings: ``quick`` runs in well under 2 minutes on 2 cores; full ones in under an hour."""
    if problem == "synthetic":
        s = FitSettings(40, 3, 20, 20, 2, 10, 1 if quick else 3, batch_size=8)
    elif problem == "human-als":
        s = FitSettings(20, 2, 6, 10, 1, 4, 1) if quick else FitSettings(30, 5, 20, 15, 1, 10, 99)
    else:
        s = FitSettings(50, 3, 24, 24, 2, 12, 2) if quick else FitSettings(250, 9, 100, 40, 2, 30, 99)
    changes = {}
    if population is not None:
        if population < 5:
            raise EndplateInputError(f"--population must be at least 5, got {population}")
        changes["population"] = population
    if generations is not None:
        if generations < 1:
            raise EndplateInputError(f"--generations must be at least 1, got {generations}")
        changes["generations"] = generations
    if not loso:
        changes["loso_sources"] = 0
    return FitSettings(**{**asdict(s), **changes})


# ---- Dask -------------------------------------------------------------------------------------


def connect(scheduler: str | None = None, workers: int | None = None, processes: bool = True):
    """A Dask client and its local cluster (or None) for a fit; see ``endplate.cluster.connect``.

    Workers get WORKER_ENVIRONMENT: one Numba thread each (see problem._one_thread), and glibc
    keeps freed memory instead of handing every simulation's arrays back to the system
    (measured: page faults per simulation 13000 -> 1, system time 0.024 -> 0.001 s).
    """
    return cluster_connect(scheduler, workers, processes, worker_environment=WORKER_ENVIRONMENT)


# ---- one ABC-SMC stage ------------------------------------------------------------------------


def _abc(problem: Problem, population: int, client, seed: int, batch_size: int):
    import pyabc

    from endplate.calibrate.sampler import SeededBatchSampler

    models = [pyabc.FunctionModel(ProblemModel(problem, i, seed), name=m.name) for i, m in enumerate(problem.models)]
    priors = []
    for m in problem.models:
        rvs = {}
        for k in m.parameters:
            lo, hi = problem.priors[k].bounds
            rvs[k] = pyabc.RV("uniform", lo, hi - lo)
        priors.append(pyabc.Distribution(**rvs))
    distance = pyabc.PNormDistance(p=2, fixed_weights={t.id: 1.0 / t.spread for t in problem.targets})
    sampler = SeededBatchSampler(client, seed, batch_size)
    return pyabc.ABCSMC(models, priors, distance, population_size=population, sampler=sampler)


def _quiet_pyabc() -> None:
    import logging

    for name in (
        "ABC",
        "Sampler",
        "Epsilon",
        "Distance",
        "Acceptor",
        "History",
        "pyabc",
        "ABC.History",
        "ABC.Sampler",
        "ABC.Epsilon",
        "ABC.Distance",
        "ABC.Acceptor",
        "ABC.Predictor",
        "ABC.Population",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)


def run_stage(
    db_path: Path,
    problem: Problem,
    population: int,
    generations: int,
    client,
    seed: int,
    settings: FitSettings,
    progress: Callable[[str, int, int, dict], None] | None = None,
    label: str = "fit",
):
    """ABC-SMC over ``problem``'s models up to ``generations`` generations, resuming from ``db_path``.

    Every generation starts from the database, exactly as a resumed run does (a fresh ABCSMC
    object loads the last finished population), so an interrupted fit and an uninterrupted one
    take the same path; an unfinished generation is simply run again.
    """
    from pyabc import History

    _quiet_pyabc()
    url = f"sqlite:///{db_path}"
    done = 0
    if db_path.exists():
        max_t = History(url).max_t  # None: killed before pyabc wrote any population
        done = max_t + 1 if max_t is not None and max_t >= 0 else 0
        if done == 0:
            db_path.unlink()
    history = History(url) if done else None
    if progress:
        progress(label, done, generations, _generation_info(history) if done else {})
    for t in range(done, generations):
        abc = _abc(problem, population, client, seed, settings.batch_size)
        if t == 0:
            abc.new(url, problem.observed())
        else:
            abc.load(url, 1, observed_sum_stat=problem.observed())
        before = abc.history.max_t
        abc.run(max_nr_populations=1, min_acceptance_rate=settings.min_acceptance)
        history = abc.history
        if history.max_t == before:
            break  # acceptance fell below the floor: no further generation is worth its cost
        if progress:
            progress(label, t + 1, generations, _generation_info(history))
    return history if history is not None else History(url)


def _generation_info(h) -> dict:
    pops = h.get_all_populations()
    last = pops[pops.t == h.max_t].iloc[0]
    names = h.model_names()
    probs = _probabilities_at(h, h.max_t, len(names))
    return {
        "epsilon": float(last.epsilon),
        "acceptance": float(last.particles / max(last.samples, 1)),
        "simulations": int(h.total_nr_simulations),
        "probabilities": dict(zip(names, probs.tolist())),
    }


def _probabilities_at(h, t: int, n_models: int) -> np.ndarray:
    table = h.get_model_probabilities()
    p = np.zeros(n_models)
    for m in table.columns:
        value = table.loc[t, m]
        p[int(m)] = 0.0 if not np.isfinite(value) else float(value)
    return p


# ---- reading a finished stage -----------------------------------------------------------------


def posterior(h, problem: Problem) -> tuple[np.ndarray, list[tuple[int, dict, float]]]:
    """Model probabilities (one per problem model) and the final particles (model, x, weight within model)."""
    t = h.max_t
    p = _probabilities_at(h, t, len(problem.models))
    particles = []
    for m in range(len(problem.models)):
        if p[m] <= 0:
            continue
        df, w = h.get_distribution(m=m, t=t)
        for (_, row), wi in zip(df.iterrows(), w):
            particles.append((int(m), {k: float(row[k]) for k in df.columns}, float(wi)))
    return p / p.sum(), particles


def _simulate_draw(args) -> dict[str, float]:
    problem, model_index, x, seed, target_ids = args
    from endplate.calibrate.problem import _one_thread

    _one_thread()
    targets = tuple(t for t in problem.targets if t.id in target_ids)
    return simulate_targets(problem, model_index, x, seed, targets)


def predictive(
    client, problem: Problem, probs: np.ndarray, particles, n_per_model: int, seed: int, target_ids: list[str]
) -> dict:
    """Posterior predictive draws per model: {model index: array (draws, targets)}."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    jobs, owner = [], []
    for m in range(len(problem.models)):
        mine = [(x, w) for k, x, w in particles if k == m]
        if probs[m] <= 0 or not mine:
            continue
        w = np.array([w for _, w in mine])
        for i in rng.choice(len(mine), size=n_per_model, p=w / w.sum()):
            jobs.append((problem, m, mine[i][0], int(rng.integers(2**31)), target_ids))
            owner.append(m)
    results = client.gather(client.map(_simulate_draw, jobs, pure=False)) if jobs else []
    out = {}
    for m in set(owner):
        rows = [r for r, o in zip(results, owner) if o == m]
        out[m] = np.array([[r[t] for t in target_ids] for r in rows])
    return out


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs=QUANTILES) -> np.ndarray:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    c = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(qs, c, v)


def mixture_quantiles(draws: dict, probs: np.ndarray, n_targets: int) -> np.ndarray:
    """Quantiles (targets, 3) of the model-averaged predictive distribution."""
    if not draws:
        return np.full((n_targets, 3), np.nan)
    vals = np.concatenate([draws[m] for m in sorted(draws)])
    w = np.concatenate([np.full(len(draws[m]), probs[m] / len(draws[m])) for m in sorted(draws)])
    return np.array([weighted_quantiles(vals[:, j], w) for j in range(n_targets)])


# ---- the whole fit ----------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def default_out(problem: str) -> Path:
    return Path(f"fit-{problem}.nc")


def run_fit(
    problem_name: str,
    *,
    quick: bool = False,
    seed: int = 0,
    out: Path | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    processes: bool = True,
    settings: FitSettings | None = None,
    targets_path: str | Path | None = None,
    progress: Callable[[str, int, int, dict], None] | None = None,
) -> xr.Dataset:
    """Fit ``problem_name`` and write the result (``out``, default ``fit-NAME.nc``); returns the Dataset."""
    from endplate.io.datasets import write_dataset

    problem = load_problem(problem_name, targets_path)
    settings = settings or settings_for(problem_name, quick)
    out = Path(out or default_out(problem_name))
    if out.suffix != ".nc":
        raise EndplateInputError(f"--out must end in .nc, got {str(out)!r}")
    if not out.resolve().parent.exists():
        raise EndplateInputError(f"output folder {str(out.parent)!r} does not exist")
    folder = out.with_suffix(".abc")
    # What a resumed database must share with this run; more generations or another LOSO depth may differ.
    stamp = {
        "problem": problem_name,
        "seed": seed,
        "population": settings.population,
        "loso_population": settings.loso_population,
        "targets": problem.observed(),
    }
    _check_resume(folder, stamp)  # before a cluster starts: a refused database starts none
    client, cluster = connect(scheduler, workers, processes)  # an unreachable scheduler leaves no folder behind
    started = time.perf_counter()
    quiet = False
    try:
        _stamp(folder, stamp)
        h = run_stage(
            folder / "main.db", problem, settings.population, settings.generations, client, seed, settings, progress, "fit"
        )
        probs, particles = posterior(h, problem)
        ids = problem.target_ids()
        if progress:
            progress("predictive checks", 0, 1, {})
        draws = predictive(client, problem, probs, particles, settings.ppc_draws, seed, ids)
        if progress:
            progress("predictive checks", 1, 1, {})
        loso = _leave_one_source_out(client, problem, settings, seed, folder, progress)
        history_table = _history_table(h, problem)
    except (Interrupted, KeyboardInterrupt):
        quiet = True  # finished generations are in the database; Dask's account of the rest is noise
        raise
    finally:
        disconnect(client, cluster, quiet)
        total_seconds = _add_elapsed(folder, time.perf_counter() - started)
    ds = fit_dataset(
        problem,
        settings,
        seed,
        probs,
        particles,
        draws,
        loso,
        history_table,
        wall_seconds=time.perf_counter() - started,
        database=str(folder),
    )
    if targets_path is not None:  # a replay needs the very targets, not a path that may have changed
        ds.attrs["targets_csv"] = Path(targets_path).read_text()
    ds.attrs["wall_seconds_all_runs"] = total_seconds  # a resumed fit: every invocation's time together
    ds.attrs["simulations_all_stages"] = (
        history_table["simulations"] + sum(len(d) for d in draws.values()) + sum(s["simulations"] for s in loso)
    )
    write_dataset(ds, out)
    return ds


def _check_resume(folder: Path, stamp: dict) -> None:
    """Refuse a fit folder that is not one, holds junk, or was begun with other settings (creates nothing)."""
    again = "use another --out, or delete that folder to start again"
    if folder.exists() and not folder.is_dir():
        raise EndplateInputError(f"{str(folder)!r} (the fit's database folder) exists and is not a folder; {again}")
    if not folder.exists():
        return
    for db in sorted(folder.glob("*.db")):
        _check_database(db, again)
    path = folder / "settings.json"
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EndplateInputError(f"{str(path)!r} is not the settings of a fit ({exc}); {again}") from None
        if old != json.loads(json.dumps(stamp)):
            raise EndplateInputError(
                f"{str(folder)!r} holds a fit with other settings (problem, seed, population or targets); "
                "use another --out, or delete that folder to start again"
            )


def _stamp(folder: Path, stamp: dict) -> None:
    """Create the fit folder and record the settings a resumed run must share (once)."""
    folder.mkdir(exist_ok=True)
    path = folder / "settings.json"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stamp, indent=1))
        tmp.replace(path)


def _check_database(db: Path, again: str) -> None:
    """Refuse ``db`` unless it is an SQLite database with pyabc's tables (or an empty file)."""
    import sqlite3

    if db.stat().st_size == 0:
        return
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise EndplateInputError(f"{str(db)!r} is not an ABC database ({exc}); {again}") from None
    if tables and "populations" not in tables:
        raise EndplateInputError(f"{str(db)!r} is an SQLite database but not pyabc's (tables {sorted(tables)}); {again}")


def _add_elapsed(folder: Path, seconds: float) -> float:
    """Add this invocation's wall time to the fit folder's running total (interrupted ones too)."""
    if not folder.is_dir():
        return seconds
    path = folder / "elapsed.json"
    try:
        total = (float(json.loads(path.read_text())["seconds"]) if path.exists() else 0.0) + seconds
    except (OSError, ValueError, KeyError, TypeError):
        total = seconds  # a damaged running total is bookkeeping, not a result: start it again
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"seconds": total}))
    tmp.replace(path)
    return total


def _leave_one_source_out(client, problem: Problem, settings: FitSettings, seed: int, folder: Path, progress) -> list[dict]:
    sources = sorted(problem.sources(), key=lambda s: -sum(t.source == s for t in problem.targets))
    results = []
    for k, source in enumerate(sources[: settings.loso_sources]):
        sub = problem.without_source(source)
        if not sub.targets:
            continue
        h = run_stage(
            folder / f"loso-{_slug(source)}.db",
            sub,
            settings.loso_population,
            settings.loso_generations,
            client,
            seed + 1000 + k,
            settings,
            progress,
            f"without {source[:30]}",
        )
        probs, particles = posterior(h, sub)
        left = [t.id for t in problem.targets if t.source == source]
        draws = predictive(client, problem, probs, particles, settings.loso_draws, seed + 1000 + k, left)
        results.append(
            {
                "source": source,
                "targets": left,
                "probabilities": probs,
                "quantiles": mixture_quantiles(draws, probs, len(left)),
                "simulations": int(h.total_nr_simulations) + sum(len(d) for d in draws.values()),
            }
        )
    return results


def _history_table(h, problem: Problem) -> dict:
    pops = h.get_all_populations()
    pops = pops[pops.t >= 0]
    table = np.array([_probabilities_at(h, t, len(problem.models)) for t in pops.t]).reshape(len(pops), len(problem.models))
    return {
        "epsilon": pops.epsilon.to_numpy(float),
        "samples": pops.samples.to_numpy(float),
        "particles": pops.particles.to_numpy(float),
        "probabilities": table,
        "simulations": int(h.total_nr_simulations),
    }


def fit_dataset(
    problem: Problem,
    settings: FitSettings,
    seed: int,
    probs: np.ndarray,
    particles,
    draws: dict,
    loso: list[dict],
    history: dict,
    wall_seconds: float,
    database: str,
) -> xr.Dataset:
    """Everything a fit found, with its provenance, as one Dataset."""
    names = [m.name for m in problem.models]
    ids = problem.target_ids()
    params = list(problem.priors)
    n_t = len(ids)
    per_model = np.full((len(names), n_t, 3), np.nan)
    for m, d in draws.items():
        per_model[m] = np.quantile(d, QUANTILES, axis=0).T
    mixed = mixture_quantiles(draws, probs, n_t)
    post = np.full((len(particles), len(params)), np.nan)
    for i, (_, x, _) in enumerate(particles):
        for k, v in x.items():
            post[i, params.index(k)] = problem.priors[k].natural(v)
    loso_q = np.full((n_t, 3), np.nan)
    loso_src = [s["source"] for s in loso]
    loso_p = np.full((len(loso), len(names)), np.nan)
    for j, s in enumerate(loso):
        loso_p[j] = s["probabilities"]
        for t, q in zip(s["targets"], s["quantiles"]):
            loso_q[ids.index(t)] = q
    observed = np.array([t.value for t in problem.targets])
    winner = names[int(np.argmax(probs))]
    ds = xr.Dataset(
        {
            "model_probability": ("model", probs),
            "model_probability_by_generation": (("generation", "model"), history["probabilities"]),
            "epsilon": ("generation", history["epsilon"]),
            "acceptance_rate": ("generation", history["particles"] / np.maximum(history["samples"], 1)),
            "simulations_per_generation": ("generation", history["samples"]),
            "particle_model": ("particle", np.array([m for m, _, _ in particles], int)),
            "particle_weight": ("particle", np.array([probs[m] * w for m, _, w in particles])),
            "posterior": (("particle", "parameter"), post),
            "observed": ("target", observed),
            "spread": ("target", np.array([t.spread for t in problem.targets])),
            "predicted_low": ("target", mixed[:, 0]),
            "predicted_median": ("target", mixed[:, 1]),
            "predicted_high": ("target", mixed[:, 2]),
            "predicted_by_model": (("model", "target", "quantile"), per_model),
            "covered": ("target", (observed >= mixed[:, 0]) & (observed <= mixed[:, 2])),
            "loso_low": ("target", loso_q[:, 0]),
            "loso_median": ("target", loso_q[:, 1]),
            "loso_high": ("target", loso_q[:, 2]),
            "loso_model_probability": (("source", "model"), loso_p.reshape(len(loso), len(names))),
            "prior_low": ("parameter", np.array([problem.priors[k].low for k in params])),
            "prior_high": ("parameter", np.array([problem.priors[k].high for k in params])),
        },
        coords={
            "model": names,
            "target": ids,
            "parameter": params,
            "quantile": list(QUANTILES),
            "generation": np.arange(len(history["epsilon"])),
            "source": loso_src,
            "target_quantity": ("target", [t.quantity for t in problem.targets]),
            "target_units": ("target", [t.units for t in problem.targets]),
            "target_source": ("target", [t.source for t in problem.targets]),
            "target_evidence": ("target", [t.evidence for t in problem.targets]),
            "target_observation": ("target", [t.observation.kind for t in problem.targets]),
            "parameter_key": ("parameter", [problem.priors[k].key for k in params]),
            "parameter_reason": ("parameter", [problem.priors[k].reason for k in params]),
            "parameter_distribution": ("parameter", [problem.priors[k].distribution for k in params]),
        },
    )
    import pyabc

    ds.attrs = {
        **provenance_attrs("fit", seed),  # the problem's scenario runs uncalibrated: no shipped calibration enters
        "pyabc_version": pyabc.__version__,
        "problem": problem.name,
        "description": problem.description,
        "settings": json.dumps(asdict(settings)),
        "scenario": problem.scenario,
        "scenario_changes": json.dumps(problem.scenario_changes),
        "models": json.dumps([asdict(m) for m in problem.models]),
        "winner": winner,
        "wall_seconds": float(wall_seconds),
        "simulations": history["simulations"],
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "database": database,
        "truth": json.dumps(problem.truth),
        "method": "ABC-SMC with model selection (pyabc); distance: Euclidean of (simulated - observed) / spread "
        "over the targets; adaptive median epsilon; predictive intervals 5-95 %",
    }
    return ds


def _weighted_medians(posterior: np.ndarray, w: np.ndarray, keys: list[str]) -> dict[str, float]:
    """Weighted median of each column of ``posterior`` (particles x parameters) that is finite throughout."""
    return {
        key: float(weighted_quantiles(posterior[:, j], w, (0.5,))[0])
        for j, key in enumerate(keys)
        if np.isfinite(posterior[:, j]).all()
    }


def posterior_medians(ds: xr.Dataset) -> dict[str, dict[str, float]]:
    """Weighted posterior median of every parameter, per model with particles: {model: {set key: value}}."""
    keys = ds.parameter_key.values.tolist()
    out = {}
    for m, name in enumerate(ds.model.values.tolist()):
        mine = ds.particle_model.values == m
        if mine.any():
            out[name] = _weighted_medians(ds.posterior.values[mine], ds.particle_weight.values[mine], keys)
    return out


def pooled_medians(datasets: list[xr.Dataset]) -> dict[str, dict[str, float]]:
    """Posterior medians of fits that differ only in their seed, from their particles pooled.

    Each seed's particles of a model are one estimate of that model's posterior; pooled, each
    seed's estimate counts in proportion to its effective sample size (Kish) for that model, so a
    seed that kept few particles of a model moves its medians little. One fit: ``posterior_medians``.
    """
    if len(datasets) == 1:
        return posterior_medians(datasets[0])
    keys = datasets[0].parameter_key.values.tolist()
    out = {}
    for m, name in enumerate(datasets[0].model.values.tolist()):
        columns, weights = [], []
        for ds in datasets:
            mine = ds.particle_model.values == m
            if mine.any():
                w = ds.particle_weight.values[mine].astype(float)
                w = w / w.sum()
                columns.append(ds.posterior.values[mine])
                weights.append(w * (1.0 / float(np.sum(w**2))))  # normalised weights x Kish effective sample size
        if columns:
            out[name] = _weighted_medians(np.concatenate(columns), np.concatenate(weights), keys)
    return out


def bayes_factors(ds: xr.Dataset) -> dict[str, float]:
    """Posterior odds of each model against the best (equal model priors: the Bayes factor)."""
    p = ds.model_probability.values
    best = p.max()
    return {name: (float(pi / best) if best > 0 else math.nan) for name, pi in zip(ds.model.values.tolist(), p)}
