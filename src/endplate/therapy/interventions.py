"""Interventions as data: a window of days and multipliers or hazard ratios on named targets.

Bundled interventions live in ``presets/interventions.toml``; users add their own in a TOML file
of the same form. An effect may carry an ``uncertainty`` interval (the 95 % range of what the
evidence allows); a trial draws each such effect once, from its own seed (``draw_effects``), so
that repeated virtual trials carry the uncertainty of the effect as well as that of the cohort. A ``Course`` is a set of interventions with their windows resolved to absolute
days; the disease layer asks it, day by day, for the kernel parameters, the treated disease
drives and the junction changes (``disease.simulate.simulate(..., interventions=course)``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from endplate.disease.model import Genotype, K, drive, kernel_parameters
from endplate.errors import EndplateInputError
from endplate.junction.parameters import JunctionParameters
from endplate.seeding import substreams
from endplate.spec import check_table, fail, number, parse_toml, read_toml, rule

# Mechanism parameters the daily kernel reads afresh every day (others are fixed when a muscle
# is built, so changing them in a window would be silently ignored: they are refused).
PER_DAY = {
    "terminal_degeneration": ("impaired_days", "withdrawing_days"),
    "retrograde_axon_loss": ("threshold_fraction", "rate_per_day"),
    "secondary_soma_death": ("rate_per_day",),
    "wallerian": ("rate_per_day",),
    "reinnervation": (
        "rate_per_day",
        "competence_s",
        "competence_fr",
        "competence_ff",
        "max_enlargement",
        "bridging_without_reactive_tsc",
        "reinnervable_days",
    ),
}
SPECIAL = ("hazard.terminal", "hazard.cortical", "tsc.loss_per_day", "soma_death.blocked")
_JUNCTION = tuple(f.name for f in dataclasses.fields(JunctionParameters) if f.name not in ("species", "types"))
_EVIDENCE = ("read", "recalled", "secondary", "assumed")


def targets() -> list[str]:
    """Every name an intervention may act on."""
    return list(SPECIAL) + [f"{m}.{p}" for m, ps in PER_DAY.items() for p in ps] + [f"junction.{p}" for p in _JUNCTION]


@dataclass(frozen=True)
class Intervention:
    name: str
    description: str
    effects: dict  # target -> multiplier (hazard ratio for hazard.*; 1 = on for soma_death.blocked)
    start_day: float  # default window, days after the start of treatment
    duration_days: float
    source: str
    evidence: str
    assumptions: str
    uncertainty: dict = dataclasses.field(default_factory=dict)  # target -> (low, high): 95 % range of the effect

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def drawn(self, rng: np.random.Generator) -> Intervention:
        """This intervention with its uncertain effects drawn once.

        One potency z ~ normal(0, 1) per intervention moves all its uncertain effects together
        (stronger or weaker at once): log(effect) = log(point) + z sigma, away from 1 for z > 0,
        with sigma such that the interval is the 95 % range (a hazard ratio's confidence interval
        is symmetric on the log scale), truncated to the interval.
        """
        z = rng.standard_normal()
        effects = dict(self.effects)
        for key, (lo, hi) in sorted(self.uncertainty.items()):
            sigma = (math.log(hi) - math.log(lo)) / (2 * 1.96)
            away = -1.0 if effects[key] < 1 else 1.0
            effects[key] = float(np.clip(effects[key] * math.exp(away * z * sigma), lo, hi))
        return dataclasses.replace(self, effects=effects)


@dataclass(frozen=True)
class _Window:
    start_day: float = rule(0.0, low=0, high=36500)  # days after the start of treatment
    duration_days: float = rule(36500.0, above=0, high=36500)


@dataclass(frozen=True)
class _Entry:
    """One intervention table of an interventions TOML file."""

    description: str
    effects: dict  # target -> non-negative multiplier
    source: str
    evidence: str = rule(choices=_EVIDENCE)
    window: dict = rule(factory=dict)
    assumptions: str = ""
    uncertainty: dict = rule(factory=dict)  # target -> [LOW, HIGH], each > 0, around the point value


def _parse(name: str, entry: dict, where: str, text: str = "") -> Intervention:
    e = _Entry(**check_table(_Entry, entry, where, text, f"{name}."))
    allowed = targets()
    effects = {}
    for key, value in e.effects.items():
        if key not in allowed:
            fail(where, text, key, f"intervention {name!r}: unknown parameter {key!r}; allowed: {', '.join(allowed)}")
        effects[key] = number(f"{name}.effects.{key}", value, where, text, low=0)
    window = _Window(**check_table(_Window, e.window, where, text, f"{name}.window."))
    uncertainty = {}
    for key, bounds in e.uncertainty.items():
        if key not in effects:
            fail(
                where,
                text,
                key,
                f"intervention {name!r}: uncertainty for {key!r}, which is not among its effects {list(effects)}",
            )
        if not isinstance(bounds, list) or len(bounds) != 2:
            fail(where, text, key, f"intervention {name!r}: uncertainty.{key} must be [LOW, HIGH], got {bounds!r}")
        lo, hi = (number(f"{name}.uncertainty.{key}", b, where, text, above=0) for b in bounds)
        if not lo <= effects[key] <= hi or lo == hi:
            fail(
                where,
                text,
                key,
                f"intervention {name!r}: uncertainty.{key} = [{lo:g}, {hi:g}] must be an interval (LOW < HIGH) "
                f"holding the point value {effects[key]:g}",
            )
        uncertainty[key] = (lo, hi)
    return Intervention(
        name, e.description, effects, window.start_day, window.duration_days, e.source, e.evidence, e.assumptions, uncertainty
    )


def effects_record(drawn: dict[str, Intervention], point: dict[str, Intervention], names) -> dict:
    """What a trial assumed of each intervention in ``names``: per target the drawn effect, the
    bundled point value and 95 % range (None where the effect is fixed), with source and evidence."""
    out = {}
    for name in sorted(set(names)):
        iv, base = drawn[name], point[name]
        out[name] = {
            "targets": {
                k: {"drawn": float(v), "point": float(base.effects[k]), "range": list(base.uncertainty.get(k, ())) or None}
                for k, v in sorted(iv.effects.items())
            },
            "source": iv.source,
            "evidence": iv.evidence,
        }
    return out


def range_text(target: dict) -> str:
    """A target of ``effects_record`` as its 95 % range, or 'fixed'."""
    return "fixed" if not target["range"] else f"{target['range'][0]:.3g} to {target['range'][1]:.3g}"


def draw_effects(known: dict[str, Intervention], seed: int) -> dict[str, Intervention]:
    """``known`` with every uncertain effect drawn once from ``seed`` (one sub-stream per intervention)."""
    streams = substreams(seed, *(f"effect:{name}" for name in known))
    return {
        name: iv.drawn(np.random.default_rng(streams[f"effect:{name}"])) if iv.uncertainty else iv for name, iv in known.items()
    }


def _check_window(name: str, start, duration, where: str) -> None:
    for key, v in (("start_day", start), ("duration_days", duration)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise EndplateInputError(f"{where}: intervention {name!r}: window {key} must be a number, got {v!r}")
    if start < 0 or duration <= 0:
        raise EndplateInputError(
            f"{where}: intervention {name!r}: window must start at day >= 0 and last > 0 days, "
            f"got start_day={start}, duration_days={duration}"
        )


@cache
def bundled() -> dict[str, Intervention]:
    text = resources.files("endplate.presets").joinpath("interventions.toml").read_text()
    return {n: _parse(n, e, "bundled interventions", text) for n, e in parse_toml(text, "bundled interventions").items()}


def load_interventions(*paths: str | Path) -> dict[str, Intervention]:
    """Bundled interventions plus those in the user's TOML ``paths`` (a user entry may replace a bundled one)."""
    out = dict(bundled())
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise EndplateInputError(f"no interventions file {str(path)!r}")
        table, text, where = read_toml(path, "interventions")
        out.update({n: _parse(n, e, where, text) for n, e in table.items()})
    return out


def lookup(name: str, known: dict[str, Intervention]) -> Intervention:
    if name not in known:
        raise EndplateInputError(f"unknown intervention {name!r}; allowed: {', '.join(known)}")
    return known[name]


@dataclass(frozen=True)
class Course:
    """Interventions with absolute windows [start, end) in simulation days."""

    items: tuple  # ((Intervention, start_day, end_day), ...)
    _kernels: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @staticmethod
    def resolve(plan, at_day: float, known: dict[str, Intervention] | None = None) -> Course:
        """``plan``: names or (name, start_day, duration_days) relative to ``at_day`` (defaults: the window)."""
        known = known or bundled()
        items = []
        for entry in plan:
            name, start, duration = (entry, None, None) if isinstance(entry, str) else entry
            iv = lookup(name, known)
            start = iv.start_day if start is None else start
            duration = iv.duration_days if duration is None else duration
            _check_window(name, start, duration, "treatment plan")
            items.append((iv, at_day + start, at_day + start + duration))
        for i, (a, s, e) in enumerate(items):
            for b, s2, e2 in items[i + 1 :]:
                if a.name == b.name and s < e2 and s2 < e:
                    raise EndplateInputError(
                        f"treatment plan: overlapping windows of {a.name!r} "
                        f"(days {s:g}-{e:g} and {s2:g}-{e2:g}); give each course its own days"
                    )
        return Course(tuple(items))

    def active(self, day: float) -> tuple:
        return tuple(iv for iv, s, e in self.items if s <= day < e)

    def _factor(self, day: float, key: str) -> float:
        return math.prod(iv.effects.get(key, 1.0) for iv in self.active(day))

    def kernel_parameters(self, day: float, mech: dict, geno: Genotype, soma_death_blocked: bool, partner=None) -> np.ndarray:
        """The daily kernel's parameter vector on ``day`` (cached per set of active interventions).

        ``partner``: the scenario's first-failing NMJ partner (``disease.model.first_partner``).
        """
        return self.kernel_rows([day], mech, geno, soma_death_blocked, partner)[0]

    def kernel_rows(self, days, mech: dict, geno: Genotype, soma_death_blocked: bool, partner=None) -> np.ndarray:
        """``kernel_parameters`` of each of ``days`` (rows): what does not change with the day is
        keyed once per call, not once a day (that was a twentieth of a trial subject's time)."""
        static = (
            _freeze(mech),
            geno.name,
            _freeze({"g": geno.values}),
            soma_death_blocked,
            None if partner is None else partner.name,
        )
        rows = []
        for day in days:
            active = self.active(day)
            key = (tuple(iv.name for iv in active), *static)
            if key not in self._kernels:
                self._kernels[key] = _kernel(active, mech, geno, soma_death_blocked, partner)
            rows.append(self._kernels[key])
        return np.array(rows)

    def treated_drive(self, kind: str, day, rate: float, midpoint: float, width: float, start: float = -np.inf):
        """Cumulative disease drive with hazard ratios applied inside their windows (``kind``: terminal, cortical).

        G_treated(t) = G(t) + sum over treated intervals [a, b) before t of (HR - 1) (G(min(b, t)) - G(a)):
        the hazard is multiplied by HR only while the window is open, so the drive stays continuous.
        ``day`` may be a number or an array of days; ``start``: the genotype's ``drive_start_day``.
        """
        t = np.asarray(day, float)
        g = drive(t, rate, midpoint, width, start)
        key = f"hazard.{kind}"
        edges = sorted({x for iv, s, e in self.items if key in iv.effects for x in (s, e)})
        for a, b in zip(edges[:-1], edges[1:]):
            hr = self._factor(a, key)
            if hr != 1.0:
                inside = drive(np.clip(t, a, b), rate, midpoint, width, start) - drive(a, rate, midpoint, width, start)
                g = g + (hr - 1.0) * np.where(t > a, inside, 0.0)
        return float(g) if g.ndim == 0 else g

    def junction_parameters(self, day: float, params: JunctionParameters) -> JunctionParameters:
        """Junction parameters with the multipliers of the interventions active on ``day``."""
        changes = {}
        for iv in self.active(day):
            for key, v in iv.effects.items():
                if key.startswith("junction."):
                    name = key.split(".", 1)[1]
                    changes[name] = changes.get(name, getattr(params, name)) * v
        if "ache_activity_relative" in changes:
            changes["ache_activity_relative"] = min(changes["ache_activity_relative"], 1.0)
        return params.replace(**changes) if changes else params

    def junction_adjuster(self, day: float):
        """A function that applies ``day``'s junction changes to a junction population, or None."""
        if not any(k.startswith("junction.") for iv in self.active(day) for k in iv.effects):
            return None

        def adjust(pop):
            new = self.junction_parameters(day, pop.params)
            old = pop.params
            out = pop.scaled(
                release=new.release_probability_max / old.release_probability_max,
                quantal=new.quantal_size_mv / old.quantal_size_mv,
                capacity=new.rrp_capacity_quanta / old.rrp_capacity_quanta,
                threshold=new.threshold_depolarisation_mv / old.threshold_depolarisation_mv,
                tsc_gain=new.tsc_gain / old.tsc_gain if old.tsc_gain else 1.0,
            )
            out.params = new
            return out

        return adjust


def _freeze(mech: dict) -> tuple:
    return tuple((m, tuple(sorted(v.items()))) for m, v in sorted(mech.items()))


def _kernel(active: tuple, mech: dict, geno: Genotype, blocked: bool, partner=None) -> np.ndarray:
    mech = {m: dict(v) for m, v in mech.items()}
    extra_tsc = 1.0
    for iv in active:
        for key, v in iv.effects.items():
            m, _, p = key.partition(".")
            if m in PER_DAY:
                mech[m][p] *= v
            elif key == "tsc.loss_per_day":
                extra_tsc *= v
            elif key == "soma_death.blocked":
                blocked = blocked or v > 0.5
    p = kernel_parameters(mech, geno, blocked, partner)
    p[K["tsc_loss"]] *= extra_tsc
    p.setflags(write=False)
    return p
