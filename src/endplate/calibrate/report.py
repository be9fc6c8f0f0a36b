"""HTML report of a fit: model probabilities, fits against data per target, posteriors, LOSO.

``report_from_dataset(ds)`` returns a self-contained HTML string (figures inlined as PNG).
``figures(ds)`` returns the figures by title, for the report and for looking at them as files.
"""

from __future__ import annotations

import base64
import html
import io
import json

import matplotlib
import matplotlib.patches
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from endplate.report.style import STYLE  # noqa: E402

MODEL_COLOURS = ["#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _probabilities(ds: xr.Dataset):
    names = ds.model.values.tolist()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 1.4]})
    p = ds.model_probability.values
    a.bar(names, p, color=MODEL_COLOURS[: len(names)])
    a.set(ylabel="posterior probability", ylim=(0, 1), title="final generation")
    for i, v in enumerate(p):
        a.text(i, v + 0.02, f"{v:.2f}", ha="center")
    by_gen = ds.model_probability_by_generation.values
    for i, n in enumerate(names):
        b.plot(ds.generation.values, by_gen[:, i], "o-", color=MODEL_COLOURS[i], label=n)
    b.set(xlabel="ABC-SMC generation", ylabel="model probability", ylim=(0, 1), title="by generation")
    b.legend(frameon=False)
    return fig


def _targets(ds: xr.Dataset):
    """Every target on one axis: (value - observed) / spread, so targets with different units line up."""
    ids = ds.target.values.tolist()
    obs, spread = ds.observed.values, ds.spread.values
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(ids) + 1.6))
    y = np.arange(len(ids))[::-1]
    ax.axvspan(-1, 1, color="#dddddd", alpha=0.6, label="observed +- spread")
    ax.axvline(0, color="k", lw=1)
    names = ds.model.values.tolist()
    q = ds.predicted_by_model.values
    for i, n in enumerate(names):
        if ds.model_probability.values[i] <= 0 or not np.isfinite(q[i]).any():
            continue
        off = 0.22 * (i - (len(names) - 1) / 2)
        lo, mid, hi = ((q[i, :, k] - obs) / spread for k in range(3))
        ax.errorbar(
            mid,
            y + off,
            xerr=[mid - lo, hi - mid],
            fmt="o",
            ms=4,
            color=MODEL_COLOURS[i],
            alpha=0.8,
            label=f"{n} (p = {ds.model_probability.values[i]:.2f})",
        )
    lo, mid, hi = ((ds[k].values - obs) / spread for k in ("loso_low", "loso_median", "loso_high"))
    have = np.isfinite(mid)
    if have.any():
        ax.errorbar(
            mid[have],
            y[have] - 0.38,
            xerr=[(mid - lo)[have], (hi - mid)[have]],
            fmt="s",
            ms=4,
            color="grey",
            label="left out: predicted without its source",
        )
    labels = [
        f"{t}: {str(qn)[:52]} ({obs[j]:g} {u})"
        for j, (t, qn, u) in enumerate(zip(ids, ds.target_quantity.values, ds.target_units.values))
    ]
    ax.set_yticks(y, labels)
    ax.set(xlabel="(predicted - observed) / spread; bars: 5-95 % posterior predictive", xlim=(-6, 6))
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return fig


def _posteriors(ds: xr.Dataset):
    params = ds.parameter.values.tolist()
    names = ds.model.values.tolist()
    n = len(params)
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.7 * rows), squeeze=False)
    for j, p in enumerate(params):
        ax = axes[j // cols][j % cols]
        lo, hi = float(ds.prior_low.values[j]), float(ds.prior_high.values[j])
        log = str(ds.parameter_distribution.values[j]) == "loguniform"
        bins = np.geomspace(lo, hi, 25) if log else np.linspace(lo, hi, 25)
        for i, name in enumerate(names):
            mine = ds.particle_model.values == i
            col = ds.posterior.values[mine, j]
            if not mine.any() or not np.isfinite(col).all():
                continue
            ax.hist(col, bins=bins, weights=ds.particle_weight.values[mine], color=MODEL_COLOURS[i], alpha=0.55, label=name)
        if log:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set(xlim=(lo, hi), title=p, xlabel=str(ds.parameter_key.values[j]))
        ax.set_yticks([])
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].axis("off")
    handles = [
        matplotlib.patches.Patch(color=MODEL_COLOURS[i], alpha=0.55, label=n)
        for i, n in enumerate(names)
        if (ds.particle_model.values == i).any()
    ]
    fig.legend(handles=handles, frameon=False, fontsize=8, loc="upper right")
    fig.suptitle("posterior (weighted by model probability; x-range = prior range)")
    fig.tight_layout()
    return fig


def _convergence(ds: xr.Dataset):
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 2.8))
    a.semilogy(ds.generation.values, ds.epsilon.values, "o-", color="#2c3e50")
    a.set(xlabel="generation", ylabel="epsilon (distance threshold)")
    b.plot(ds.generation.values, ds.acceptance_rate.values, "o-", color="#2c3e50")
    b.set(xlabel="generation", ylabel="acceptance rate", ylim=(0, None))
    return fig


def _loso(ds: xr.Dataset):
    if ds.sizes.get("source", 0) == 0:
        return None
    names = ds.model.values.tolist()
    p = ds.loso_model_probability.values
    fig, ax = plt.subplots(figsize=(10, 0.4 * p.shape[0] + 1.5))
    left = np.zeros(p.shape[0])
    y = np.arange(p.shape[0])[::-1]
    for i, n in enumerate(names):
        ax.barh(y, p[:, i], left=left, color=MODEL_COLOURS[i], label=n)
        left += p[:, i]
    ax.set_yticks(y, [f"without {s[:50]}" for s in ds.source.values.tolist()])
    ax.set(xlabel="model probability", xlim=(0, 1))
    ax.legend(frameon=False, fontsize=8, ncol=len(names), loc="upper center", bbox_to_anchor=(0.5, -0.25))
    return fig


def figures(ds: xr.Dataset) -> dict[str, bytes]:
    """The report's figures as PNG bytes, by title."""
    out = {}
    with plt.rc_context(STYLE):
        for title, make in (
            ("Hypotheses: posterior model probabilities", _probabilities),
            ("Fits against data, per target", _targets),
            ("Posterior of the fitted parameters", _posteriors),
            ("Leave-one-source-out: model probabilities without each source", _loso),
            ("Convergence", _convergence),
        ):
            fig = make(ds)
            if fig is not None:
                out[title] = _png(fig)
    return out


def _table(ds: xr.Dataset) -> str:
    rows = []
    for i, t in enumerate(ds.target.values.tolist()):

        def cell(k, i=i):
            v = float(ds[k].values[i])
            return f"{v:.4g}" if np.isfinite(v) else "-"

        ok = bool(ds.covered.values[i])
        loso = (
            "-"
            if not np.isfinite(ds.loso_median.values[i])
            else f"{cell('loso_median')} [{cell('loso_low')}, {cell('loso_high')}]"
        )
        rows.append(
            f"<tr><td>{html.escape(t)}</td><td>{html.escape(str(ds.target_quantity.values[i]))}</td>"
            f"<td>{cell('observed')} {html.escape(str(ds.target_units.values[i]))}</td><td>{cell('spread')}</td>"
            f"<td>{cell('predicted_median')} [{cell('predicted_low')}, {cell('predicted_high')}]</td>"
            f"<td style='color:{'#1b7a3a' if ok else '#c0392b'}'>{'yes' if ok else 'no'}</td><td>{loso}</td>"
            f"<td>{html.escape(str(ds.target_observation.values[i]))}</td><td>{html.escape(str(ds.target_evidence.values[i]))}</td>"
            f"<td>{html.escape(str(ds.target_source.values[i]))}</td></tr>"
        )
    head = (
        "<tr><th>id</th><th>quantity</th><th>observed</th><th>spread</th><th>predicted (5-95 %)</th><th>covered</th>"
        "<th>left out: predicted</th><th>observation model</th><th>evidence</th><th>source</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _priors(ds: xr.Dataset) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(p)}</td><td>{html.escape(str(ds.parameter_key.values[j]))}</td>"
        f"<td>{html.escape(str(ds.parameter_distribution.values[j]))} [{float(ds.prior_low.values[j]):g}, "
        f"{float(ds.prior_high.values[j]):g}]</td><td>{html.escape(str(ds.parameter_reason.values[j]))}</td></tr>"
        for j, p in enumerate(ds.parameter.values.tolist())
    )
    return f"<table><tr><th>parameter</th><th>scenario key</th><th>prior</th><th>reason</th></tr>{rows}</table>"


def report_from_dataset(ds: xr.Dataset) -> str:
    """A self-contained HTML report of a fit result (``endplate_result = "fit"``)."""
    a = ds.attrs
    probs = ", ".join(f"{n} {p:.3f}" for n, p in zip(ds.model.values.tolist(), ds.model_probability.values))
    covered = int(ds.covered.values.sum())
    missed = [t for t, c in zip(ds.target.values.tolist(), ds.covered.values) if not c]
    settings = json.loads(a["settings"])
    figs = "".join(
        f"<h2>{html.escape(t)}</h2><img src='data:image/png;base64,{base64.b64encode(png).decode()}'/>"
        for t, png in figures(ds).items()
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>endplate fit: {html.escape(a["problem"])}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}} img{{max-width:100%}}
table{{border-collapse:collapse;font-size:0.85em}} td,th{{border:1px solid #ccc;padding:3px 6px;text-align:left}}</style>
</head><body><h1>endplate fit: {html.escape(a["problem"])}</h1>
<p>{html.escape(a["description"])}</p>
<p><b>Posterior model probabilities:</b> {html.escape(probs)} (winner: <b>{html.escape(a["winner"])}</b>).
Equal prior probability for every model; the smallest non-zero probability the final population can show is
1/{ds.sizes.get("particle", 0)}.</p>
<p><b>Predictive checks:</b> {covered} of {ds.sizes["target"]} targets inside the 5-95 % posterior predictive interval
(model-averaged){"; not covered: " + html.escape(", ".join(missed)) if missed else ""}.</p>
<p><b>Method:</b> {html.escape(a["method"])}. Population {settings["population"]}, {ds.sizes["generation"]} generations,
{a["simulations"]} simulations in {float(a["wall_seconds"]):.0f} s; seed {a["seed"]}; pyabc {html.escape(a["pyabc_version"])},
endplate {html.escape(a["endplate_version"])}; created {html.escape(a["created"])}.</p>
<p><b>Simulation:</b> scenario {html.escape(a["scenario"])} with changes {html.escape(a["scenario_changes"])}.</p>
{figs}
<h2>Targets</h2>{_table(ds)}
<h2>Priors</h2>{_priors(ds)}
</body></html>"""
