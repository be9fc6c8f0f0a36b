"""`endplate protocol`: virtual electrophysiology on junctions or on a whole muscle."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer

from endplate._version import __version__
from endplate.cli._app import (
    _emit,
    _fail,
    _params,
    _parse_sets,
    _quantity_table,
    allow_large_option,
    app,
    check_output,
    seed_option,
)
from endplate.errors import EndplateInputError
from endplate.readings import REASON_SUFFIX

PLOT_SUFFIXES = (".png", ".pdf", ".svg")

# Junction protocol name -> CLI option -> keyword of its function (endplate.junction.protocols).
PROTOCOLS: dict[str, dict[str, str]] = {
    "mepp": {"junctions": "n_junctions", "duration_s": "duration_s", "unit_type": "unit_type"},
    "epp": {
        "junctions": "n_junctions",
        "stimuli": "n_stimuli",
        "frequency_hz": "frequency_hz",
        "unit_type": "unit_type",
        "backend": "backend",
    },
    "train": {
        "junctions": "n_junctions",
        "stimuli": "n_stimuli",
        "frequency_hz": "frequency_hz",
        "unit_type": "unit_type",
        "backend": "backend",
    },
    "paired-pulse": {"junctions": "n_junctions", "unit_type": "unit_type", "backend": "backend"},
    "sfemg": {
        "pairs": "n_pairs",
        "discharges": "n_discharges",
        "rate_hz": "rate_hz",
        "stimulated": "voluntary",
        "unit_type": "unit_type",
        "backend": "backend",
    },
    "rns": {
        "fibres": "n_fibres",
        "stimuli": "n_stimuli",
        "frequency_hz": "frequency_hz",
        "unit_type": "unit_type",
        "backend": "backend",
    },
    "post-exercise": {
        "fibres": "n_fibres",
        "stimuli": "n_stimuli",
        "frequency_hz": "frequency_hz",
        "conditioning_hz": "conditioning_hz",
        "conditioning_s": "conditioning_s",
        "unit_type": "unit_type",
        "backend": "backend",
    },
}

DEFAULT_MUSCLE = {"human": "APB", "mouse": "TA"}
# Muscle protocol name -> what it accepts beyond --species/--seed/--set/--perturb/--plot/--json
# (the names are muscle.protocols.MUSCLE_PROTOCOLS, checked by a test; kept here so help stays fast).
_MUSCLE_OPTIONS = {
    "cmap": {"nwb"},
    "cmap-scan": {"stimuli", "csv", "nwb"},
    "mune": {"method"},
    "force": set(),
    "sfemg": {"rate_hz", "stimulated"},
    "rns": {"frequency_hz", "stimuli"},
    "post-exercise": {"frequency_hz", "stimuli", "conditioning_hz", "conditioning_s"},
    "cross-section": set(),
}
ALL_PROTOCOLS = tuple(dict.fromkeys([*PROTOCOLS, *_MUSCLE_OPTIONS]))

# What each protocol reports in JSON (beyond the stable contract, more is welcome).
_JSON_FIELDS = {
    "mepp": ("mepp_mv", "mepp_hz", "giant_fraction"),
    "epp": (
        "quantal_content",
        "quantal_content_variance",
        "quantal_content_failures",
        "true_quantal_content",
        "epp_mv",
        "mepp_mv",
        "safety_factor",
        "failure_fraction",
    ),
    "train": ("epp_mv", "quanta", "fired_fraction", "plateau_ratio", "rrp_estimate", "true_rrp"),
    "paired-pulse": ("interval_ms", "paired_pulse_ratio", "facilitation_f0", "tau_fast_ms", "tau_slow_ms"),
    "sfemg": ("mcd_us", "blocking_percent", "abnormal_pairs_percent"),
    "rns": ("decrement_percent", "cmap_mv", "fibres_fired"),
    "post-exercise": (
        "phase",
        "after_s",
        "decrement_percent",
        "first_cmap_mv",
        "first_cmap_change_percent",
        "potentiation",
        "post_exercise_increment_percent",
        "facilitation_points",
        "exhaustion_points",
        "cmap_mv",
    ),
}

MAX_RATE_HZ = 100.0  # the SFEMG firing rates junction.sfemg accepts
MAX_FREQUENCY_HZ = 1000.0  # the stimulation frequencies junction.train, junction.rns and junction.post_exercise accept
_COUNTS = {
    "junctions": "junctions",
    "pairs": "junctions",
    "fibres": "junctions",
    "stimuli": "stimuli",
    "discharges": "stimuli",
    "duration_s": "stimuli",
}  # option -> kind of size in endplate.limits


def _check_rates(given: dict[str, Any]) -> None:
    """Rates and durations finite, above 0 and at most what the protocols accept (named by their option)."""
    for option, top in (
        ("frequency_hz", MAX_FREQUENCY_HZ),
        ("rate_hz", MAX_RATE_HZ),
        ("duration_s", None),
        ("conditioning_hz", MAX_FREQUENCY_HZ),
        ("conditioning_s", None),
    ):
        value = given.get(option)
        if value is None:
            continue
        if not (math.isfinite(value) and value > 0):
            raise EndplateInputError(f"--{option.replace('_', '-')} must be a finite number above 0, got {value}")
        if top is not None and value > top:
            raise EndplateInputError(f"--{option.replace('_', '-')} must be at most {top:g} Hz, got {value:g}")


def _check_sizes(name: str, given: dict[str, Any], allow_large: bool) -> None:
    """Physical options finite and positive; counts, and their product with the defaults, within the limits."""
    import inspect

    from endplate.limits import check_size

    _check_rates(given)
    if given.get("discharges") is not None and given["discharges"] < 3:
        raise EndplateInputError(
            f"--discharges must be at least 3 (jitter needs consecutive intervals), got {given['discharges']}"
        )
    mapping = PROTOCOLS[name]
    from endplate.junction.protocols import junction_protocol

    defaults = inspect.signature(junction_protocol(name)).parameters
    work = 1.0
    for option, kind in _COUNTS.items():
        if option not in mapping:
            continue
        value = given.get(option)
        if value is not None:
            check_size(kind, value, f"--{option.replace('_', '-')}", allow_large)
        else:
            value = defaults[mapping[option]].default
        work *= value if isinstance(value, (int, float)) else 1
    if name == "post-exercise":
        from endplate.junction.post_exercise import PROBE_AFTER_S

        hz = given.get("conditioning_hz") or defaults["conditioning_hz"].default
        seconds = given.get("conditioning_s") or defaults["conditioning_s"].default
        check_size("stimuli", round(hz * seconds), "--conditioning-hz x --conditioning-s", allow_large)
        # every fibre goes through the resting train, each probe train and the conditioning
        fibres = given.get("fibres") or defaults["n_fibres"].default
        stimuli = given.get("stimuli") or defaults["n_stimuli"].default
        work = fibres * (stimuli * (1 + len(PROBE_AFTER_S)) + round(hz * seconds))
    check_size(
        "junction_work",
        work,
        "the protocol's " + " x ".join(f"--{o.replace('_', '-')}" for o in _COUNTS if o in mapping),
        allow_large,
    )


def protocol_payload(name: str, ds) -> dict:
    payload: dict[str, Any] = {"protocol": name}
    for field in _JSON_FIELDS[name]:
        value = ds[field].values if field in ds else ds.coords[field].values
        payload[field] = value.item() if value.ndim == 0 else value.tolist()
    if name == "sfemg":
        payload["pairs"] = [
            {"mcd_us": m, "blocking_percent": b}
            for m, b in zip(ds["pair_mcd_us"].values.tolist(), ds["pair_blocking_percent"].values.tolist())
        ]
    payload.update({k: v for k, v in ds.attrs.items() if k.endswith(REASON_SUFFIX)})  # why a value is missing
    payload["seed"] = ds.attrs["seed"]
    payload["species"] = ds.attrs["species"]
    return payload


@app.command()
def protocol(
    name: str = typer.Argument(..., help=f"One of: {', '.join(ALL_PROTOCOLS)}."),
    species: str = typer.Option("mouse", help="mouse or human."),
    seed: int = seed_option(0, "Random seed; the same seed gives the same result."),
    set_: list[str] = typer.Option([], "--set", help="Override a parameter, key=value (repeatable)."),
    perturb: list[str] = typer.Option([], "--perturb", help="Apply a named perturbation (repeatable)."),
    unit_type: str | None = typer.Option(None, help="Motor-unit type of the junctions: S, FR, FF (sfemg: also mixed)."),
    junctions: int | None = typer.Option(None, help="Number of junctions."),
    stimuli: int | None = typer.Option(None, help="Number of stimuli."),
    frequency_hz: float | None = typer.Option(None, help="Stimulation frequency (Hz)."),
    rate_hz: float | None = typer.Option(None, help="SFEMG firing rate (Hz)."),
    pairs: int | None = typer.Option(None, help="SFEMG fibre pairs."),
    discharges: int | None = typer.Option(None, help="SFEMG discharges per pair."),
    stimulated: bool | None = typer.Option(None, "--stimulated/--voluntary", help="SFEMG activation."),
    fibres: int | None = typer.Option(None, help="RNS, post-exercise at junction level: number of fibres."),
    conditioning_hz: float | None = typer.Option(
        None, help="post-exercise: rate of the conditioning tetanus (Hz; default 30, standing for maximal voluntary effort)."
    ),
    conditioning_s: float | None = typer.Option(None, help="post-exercise: length of the conditioning (s; default 10)."),
    duration_s: float | None = typer.Option(None, help="mEPP recording duration (s)."),
    backend: str | None = typer.Option(None, help="Kernel: numba (default), numpy (reference) or cupy (GPU)."),
    muscle: str | None = typer.Option(None, help="Muscle (muscle-level protocols; default APB for human, TA for mouse)."),
    method: str | None = typer.Option(None, help="MUNE method: incremental, mps, scanfit, munix."),
    csv: Path | None = typer.Option(None, help="cmap-scan: also write the scan as CSV."),
    plot: Path | None = typer.Option(None, help="Write the protocol's figure (PNG/PDF)."),
    output: Path | None = typer.Option(None, help="Write the full result as NetCDF (.nc) or Zarr (.zarr)."),
    nwb: Path | None = typer.Option(None, help="train, sfemg, cmap, cmap-scan: also write the recording as NWB (.nwb)."),
    genotype: str | None = typer.Option(None, help="Record from the diseased muscle of this genotype (with --day)."),
    hypothesis: str | None = typer.Option(None, help="With --genotype: the disease hypothesis (default: the scenario's)."),
    day: list[int] = typer.Option(
        [],
        help="With --genotype or --state: the day of the course to record on "
        "(mune without --method: repeat it for several stages).",
    ),
    state: Path | None = typer.Option(
        None,
        help="A saved `endplate run` result (.nc/.zarr): record from its muscle "
        "on --day (re-simulated from the result's provenance).",
    ),
    subjects: int | None = typer.Option(None, help="mune --genotype without --method: simulated subjects (default 3)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    allow_large: bool = allow_large_option(),
) -> None:
    """Run a virtual-electrophysiology protocol on junctions or on a whole muscle, healthy or diseased."""
    from endplate.muscle.protocols import MUSCLE_PROTOCOLS

    disease = {"genotype": genotype, "hypothesis": hypothesis, "day": day, "state": state, "subjects": subjects}
    diseased = genotype is not None or state is not None or bool(day)
    muscle_level = name in MUSCLE_PROTOCOLS and (name not in PROTOCOLS or muscle is not None or diseased)
    if muscle_level:
        _muscle_protocol(
            name,
            species,
            seed,
            set_,
            perturb,
            muscle,
            method,
            stimuli,
            frequency_hz,
            rate_hz,
            stimulated,
            csv,
            plot,
            nwb,
            as_json,
            backend,
            allow_large,
            disease,
            stray={
                "junctions": junctions,
                "pairs": pairs,
                "discharges": discharges,
                "fibres": fibres,
                "duration_s": duration_s,
                "conditioning_hz": conditioning_hz,
                "conditioning_s": conditioning_s,
                "unit_type": unit_type,
                "output": output,
            },
        )
        return
    try:
        if any(v not in (None, []) for v in disease.values()):
            raise EndplateInputError(
                f"--genotype, --hypothesis, --day, --state and --subjects apply to muscle "
                f"protocols ({', '.join(MUSCLE_PROTOCOLS)})"
            )
        if muscle is not None or method is not None or csv is not None:
            raise EndplateInputError(f"--muscle, --method and --csv apply to muscle protocols ({', '.join(MUSCLE_PROTOCOLS)})")
        if name not in PROTOCOLS:
            raise EndplateInputError(f"unknown protocol {name!r}; allowed: {', '.join(ALL_PROTOCOLS)}")
        mapping = PROTOCOLS[name]
        given: dict[str, Any] = {
            "junctions": junctions,
            "stimuli": stimuli,
            "frequency_hz": frequency_hz,
            "rate_hz": rate_hz,
            "pairs": pairs,
            "discharges": discharges,
            "stimulated": stimulated,
            "fibres": fibres,
            "duration_s": duration_s,
            "conditioning_hz": conditioning_hz,
            "conditioning_s": conditioning_s,
            "unit_type": unit_type,
            "backend": backend,
        }
        kwargs = {}
        for option, value in given.items():
            if value is None:
                continue
            if option not in mapping:
                raise EndplateInputError(
                    f"option --{option.replace('_', '-')} does not apply to protocol {name}; "
                    f"it takes: {', '.join('--' + o.replace('_', '-') for o in mapping)}"
                )
            kwargs[mapping[option]] = (not value) if option == "stimulated" else value
        for count in ("junctions", "stimuli", "pairs", "discharges", "fibres"):
            if given[count] is not None and given[count] < 1:
                raise EndplateInputError(f"--{count} must be at least 1, got {given[count]}")
        _check_sizes(name, given, allow_large)
        check_output(output, (".nc", ".zarr"), "--output")
        check_output(plot, PLOT_SUFFIXES, "--plot")
        _check_nwb(nwb, name)
        params = _params(species, set_, perturb)
        from endplate.junction.protocols import junction_protocol
        from endplate.provenance import record_inputs

        ds = junction_protocol(name)(params, seed=seed, **kwargs)
        record_inputs(ds.attrs, sets=_parse_sets(set_), perturbations=perturb)
        if plot is not None:
            from endplate.io.atomic import write_atomic
            from endplate.report.figures import plot_protocol

            write_atomic(plot, lambda tmp: plot_protocol(name, ds, str(tmp), f"{name} ({species}, seed {seed})"))
        if output is not None:
            from endplate.io.datasets import write_dataset

            write_dataset(ds, output)
        if nwb is not None:
            from endplate.io.nwb import write_nwb

            write_nwb(nwb, name, ds, dict(ds.attrs), f"{name} in {species} junctions")
    except EndplateInputError as exc:
        _fail(str(exc))
        return
    payload = protocol_payload(name, ds)
    # the table shows one number or one short list per row; the trains of post-exercise stay in --json
    shown_rows = {k: v for k, v in payload.items() if not (name == "post-exercise" and k == "cmap_mv")}
    _emit(payload, as_json, lambda: _quantity_table(f"protocol {name} ({species}, seed {seed})", shown_rows))


def _check_nwb(nwb: Path | None, name: str) -> None:
    if nwb is None:
        return
    from endplate.io.nwb import NWB_PROTOCOLS

    if name not in NWB_PROTOCOLS:
        raise EndplateInputError(f"--nwb applies to protocols {', '.join(NWB_PROTOCOLS)}, not {name}")
    check_output(nwb, (".nwb",), "--nwb")


def _disease_scenario(species: str, muscle: str | None, genotype: str, hypothesis: str | None, seed: int):
    """The one-muscle course of ``genotype`` (checked against ``species``) that the diseased muscle comes from."""
    from endplate.disease.diseased_muscle import base_scenario, one_muscle_scenario
    from endplate.disease.model import genotype as genotype_of
    from endplate.disease.model import genotypes, hypotheses

    if genotype not in genotypes():
        raise EndplateInputError(f"unknown genotype {genotype!r}; allowed: {', '.join(genotypes())}")
    if genotype_of(genotype).species != species:
        raise EndplateInputError(
            f"genotype {genotype} is {genotype_of(genotype).species}; pass --species {genotype_of(genotype).species}"
        )
    hypothesis = hypothesis or base_scenario(genotype, species).hypothesis
    if hypothesis not in hypotheses():
        raise EndplateInputError(f"unknown hypothesis {hypothesis!r}; allowed: {', '.join(hypotheses())}")
    return one_muscle_scenario(genotype, hypothesis, muscle or DEFAULT_MUSCLE[species], seed, species)


def _state_label(context: dict) -> str:
    """', SOD1-G93A (dying_back) day 100' for a diseased muscle, '' for a healthy one (plot and table titles)."""
    if not context:
        return ""
    return f", {context['genotype']} ({context['hypothesis']}) day {context['day']}"


def _diseased_muscle(species: str, muscle: str | None, disease: dict, seed: int):
    """The muscle as the disease left it on the one --day asked, and what says where it comes from."""
    from endplate.disease.diseased_muscle import check_day, muscle_on_day, saved_scenario

    if len(disease["day"]) != 1:
        raise EndplateInputError(
            "give one --day to record on (several only for mune without --method)"
            if disease["day"]
            else "--genotype and --state need --day, the day to record on"
        )
    if disease["state"] is not None:
        if disease["genotype"] is not None or disease["hypothesis"] is not None:
            raise EndplateInputError("--state carries its own genotype and hypothesis; drop --genotype and --hypothesis")
        from endplate.io.datasets import open_result

        sc = saved_scenario(open_result(disease["state"]).attrs)
        if sc.species != species:
            raise EndplateInputError(f"--state holds a {sc.species} run; pass --species {sc.species}")
        name = muscle or sc.probe_muscle or sc.muscles[0]
        source = {"state": str(disease["state"])}
    else:
        sc = _disease_scenario(species, muscle, disease["genotype"], disease["hypothesis"], seed)
        name, source = sc.muscles[0], {}
    day = check_day(sc, disease["day"][0])
    context = {**source, "scenario": sc.name, "genotype": sc.genotype, "hypothesis": sc.hypothesis, "day": day}
    return muscle_on_day(sc, name, day), context


def _mune_table(species: str, muscle: str | None, disease: dict, seed: int, as_json: bool, allow_large: bool) -> None:
    """mune --genotype without --method: every method against the true count at each --day."""
    from endplate.disease.diseased_muscle import check_day
    from endplate.disease.mune_course import mune_recordings, mune_table

    if disease["state"] is not None:
        raise EndplateInputError("mune --state records one subject: give --method (or use --genotype for the method table)")
    if disease["genotype"] is None or not disease["day"]:
        raise EndplateInputError("mune without --method on a diseased muscle needs --genotype and at least one --day")
    subjects = 3 if disease["subjects"] is None else disease["subjects"]
    if subjects < 1:
        raise EndplateInputError(f"--subjects must be at least 1, got {subjects}")
    from endplate.limits import check_size

    check_size("subjects", subjects * len(disease["day"]), "--subjects x --day", allow_large)
    sc = _disease_scenario(species, muscle, disease["genotype"], disease["hypothesis"], seed)
    days = [check_day(sc, d) for d in disease["day"]]
    rows = mune_recordings(sc.genotype, sc.hypothesis, sc.muscles[0], days, subjects=subjects, seed=seed, species=species)
    payload = {
        "protocol": "mune",
        "seed": seed,
        "species": species,
        "muscle": sc.muscles[0],
        "genotype": sc.genotype,
        "hypothesis": sc.hypothesis,
        "days": days,
        "subjects": subjects,
        "table": mune_table(rows),
        "recordings": rows,
    }
    _emit(payload, as_json, lambda: _print_mune_table(payload))


def _print_mune_table(payload: dict) -> None:
    from rich.table import Table

    from endplate.cli._app import out
    from endplate.readings import shown

    table = Table(
        title=f"MUNE through the disease: {payload['genotype']} ({payload['hypothesis']}), {payload['muscle']}, "
        f"{payload['subjects']} subjects, seed {payload['seed']}"
    )
    for column in ("day", "method", "true units", "estimate", "bias %", "spread %", "undefined"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for e in payload["table"]:
        table.add_row(
            str(e["day"]),
            e["method"],
            f"{e['true_units_mean']:.1f}",
            shown(e, "estimate_mean", ".1f"),
            shown(e, "bias_percent", "+.0f"),
            shown(e, "spread_percent", ".0f"),
            str(e["undefined"]),
        )
    out.print(table)


def _muscle_protocol(
    name,
    species,
    seed,
    set_,
    perturb,
    muscle,
    method,
    stimuli,
    frequency_hz,
    rate_hz,
    stimulated,
    csv,
    plot,
    nwb,
    as_json,
    backend,
    allow_large,
    disease,
    stray,
) -> None:
    from endplate.muscle.protocols import muscle as build
    from endplate.muscle.protocols import run

    diseased = disease["genotype"] is not None or disease["state"] is not None or bool(disease["day"])
    context: dict = {}
    try:
        if not diseased and (disease["hypothesis"] is not None or disease["subjects"] is not None):
            raise EndplateInputError("--hypothesis and --subjects go with --genotype (and --day)")
        if diseased and (set_ or perturb):
            raise EndplateInputError(
                "--set and --perturb change a healthy muscle; on a diseased one (--genotype, "
                "--state) the disease sets the junctions"
            )
        if diseased and name == "mune" and method is None:
            _mune_table(species, muscle, disease, seed, as_json, allow_large)
            return
        if disease["subjects"] is not None:
            raise EndplateInputError("--subjects applies to mune without --method")
        if backend is not None:
            raise EndplateInputError(
                f"--backend {backend} applies to the junction protocols ({', '.join(PROTOCOLS)}); "
                f"muscle protocols run on the CPU backends and take no --backend"
            )
        given = {
            "stimuli": stimuli,
            "frequency_hz": frequency_hz,
            "rate_hz": rate_hz,
            "stimulated": stimulated,
            "method": method,
            "csv": csv,
            "nwb": nwb,
            **stray,
        }
        for option, value in given.items():
            if value is not None and option not in _MUSCLE_OPTIONS[name]:
                raise EndplateInputError(
                    f"option --{option.replace('_', '-')} does not apply to muscle protocol {name}; it takes: "
                    + (", ".join("--" + o.replace("_", "-") for o in sorted(_MUSCLE_OPTIONS[name])) or "no extra options")
                )
        least = {"cmap-scan": 10, "post-exercise": 4}.get(name, 1)  # post-exercise: the decrement is 4th vs 1st
        if stimuli is not None and stimuli < least:
            raise EndplateInputError(f"--stimuli must be at least {least}, got {stimuli}")
        check_output(csv, (".csv",), "--csv")
        check_output(plot, PLOT_SUFFIXES, "--plot")
        from endplate.muscle.presets import muscle_parameter_names

        muscle_sets = [s for s in set_ if s.partition("=")[0].strip() in muscle_parameter_names()]
        overrides = _parse_sets(muscle_sets)
        for key in ("n_units", "n_fibres"):
            if key in overrides:
                if overrides[key] != int(overrides[key]):
                    raise EndplateInputError(f"--set {key} must be a whole number, got {overrides[key]}")
                overrides[key] = int(overrides[key])
        from endplate.limits import check_size

        check_size("stimuli", stimuli or 0, "--stimuli", allow_large)
        check_size("fibres", overrides.get("n_fibres", 0), "--set n_fibres", allow_large)
        check_size("units", overrides.get("n_units", 0), "--set n_units", allow_large)
        _check_rates(given)
        session = {k: stray[k] for k in ("conditioning_hz", "conditioning_s") if stray[k] is not None}
        if name == "post-exercise":
            _check_muscle_session(species, muscle, overrides, stimuli, frequency_hz, session, allow_large)
        params = _params(species, [s for s in set_ if s not in muscle_sets], perturb)
        if diseased:
            anatomy, context = _diseased_muscle(species, muscle, disease, seed)
        else:
            anatomy = build(species, muscle or DEFAULT_MUSCLE.get(species, ""), seed, params, **overrides)
        options = {
            k: v
            for k, v in {"n_stimuli": stimuli, "frequency_hz": frequency_hz, "rate_hz": rate_hz, "method": method}.items()
            if v is not None
        } | session
        if stimulated is not None:
            options["voluntary"] = not stimulated
        _check_nwb(nwb, name)
        result = run(name, anatomy, seed, **options)
        title = f"{name}: {species} {anatomy.preset.muscle}{_state_label(context)} (seed {seed})"
        from endplate.io.atomic import write_atomic

        scan = result.pop("_scan", None)
        if csv is not None:
            from endplate.muscle.cmap import write_scan_csv

            write_scan_csv(
                csv,
                scan,
                {
                    "endplate_version": __version__,
                    "species": species,
                    "muscle": anatomy.preset.muscle,
                    "seed": seed,
                    "true_units": scan["true_units"],
                },
            )
        if nwb is not None:
            import dataclasses

            from endplate.io.nwb import write_nwb
            from endplate.junction.provenance import provenance_attrs

            provenance = {
                **provenance_attrs(name, seed, params, **options),
                "muscle": anatomy.preset.muscle,
                "muscle_preset": dataclasses.asdict(anatomy.preset),
                "true_units": result["true_units"],
                **context,
            }
            write_nwb(
                nwb, name, scan if name == "cmap-scan" else result, provenance, f"{name} of the {species} {anatomy.preset.muscle}"
            )
        if plot is not None:
            from endplate.report import figures

            if name == "cross-section":
                write_atomic(plot, lambda tmp: figures.plot_cross_section(anatomy, str(tmp), title))
            else:
                write_atomic(plot, lambda tmp: figures.plot_muscle(name, result, str(tmp), title))
    except EndplateInputError as exc:
        _fail(str(exc))
        return
    payload = {"protocol": name, "seed": seed, **context, **result}
    title = f"protocol {name} ({species} {anatomy.preset.muscle}{_state_label(context)}, seed {seed})"
    # the table shows one number or one short list per row; the trains of post-exercise stay in --json
    shown_rows = {k: v for k, v in payload.items() if not (name == "post-exercise" and k in ("cmap_mv", "fibres_fired"))}
    _emit(payload, as_json, lambda: _quantity_table(title, shown_rows))


def _check_muscle_session(
    species: str,
    muscle: str | None,
    overrides: dict,
    stimuli: int | None,
    frequency_hz: float | None,
    session: dict,
    allow_large: bool,
) -> None:
    """post-exercise on a muscle: the session's settings and its size (every fibre of the preset
    through every block: an upper bound for a diseased muscle), before the muscle is built."""
    from endplate.junction.post_exercise import PROBE_AFTER_S, REST_BEFORE_S, check_session
    from endplate.limits import check_size
    from endplate.muscle.presets import load_muscle

    n_stimuli, hz, seconds = stimuli or 10, session.get("conditioning_hz", 30.0), session.get("conditioning_s", 10.0)
    check_session(frequency_hz or 3.0, n_stimuli, hz, seconds, PROBE_AFTER_S, REST_BEFORE_S)
    check_size("stimuli", round(hz * seconds), "--conditioning-hz x --conditioning-s", allow_large)
    fibres = load_muscle(species, muscle or DEFAULT_MUSCLE.get(species, ""), **overrides).n_fibres
    work = fibres * (n_stimuli * (1 + len(PROBE_AFTER_S)) + round(hz * seconds))
    check_size("junction_work", work, "the muscle's fibres x (--stimuli x 6 trains + conditioning impulses)", allow_large)
