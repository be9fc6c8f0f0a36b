"""Command-line interface: `endplate run | protocol | report | app | validate | bench | presets | demo`.

Every command prints a human summary, or with ``--json`` one JSON object on stdout and nothing
else. Bad input exits with code 2 and a one-paragraph message naming what is wrong.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from endplate._version import __version__
from endplate.errors import EndplateInputError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0])
err = Console(stderr=True)
out = Console()


def _jsonable(value: Any) -> Any:
    """Plain JSON: NaN and infinity become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _emit(payload: dict, as_json: bool, summary: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(_jsonable(payload)) + "\n")
    else:
        summary()


def _quantity_table(title: str, payload: dict) -> None:
    """Print a result as a two-column table; long lists are cut, lists of records left to --json."""
    table = Table(title=title)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for k, v in payload.items():
        if isinstance(v, list):
            if v and isinstance(v[0], dict):
                continue
            v = ", ".join(f"{x:.3g}" if isinstance(x, float) else str(x) for x in v[:12]) + (" ..." if len(v) > 12 else "")
        elif isinstance(v, float):
            v = f"{v:.4g}"
        table.add_row(k, str(v))
    out.print(table)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _parse_sets(items: list[str]) -> dict[str, float]:
    changes = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise EndplateInputError(f"--set takes key=value, got {item!r}")
        try:
            changes[key.strip()] = float(raw)
        except ValueError:
            raise EndplateInputError(f"--set {key}: value {raw!r} is not a number") from None
    return changes


def _params(species: str, sets: list[str], perturb: list[str]):
    from endplate.junction.parameters import default_parameters
    from endplate.junction.perturbations import apply_perturbations

    params = apply_perturbations(default_parameters(species), perturb)
    return params.replace(**_parse_sets(sets)) if sets else params


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"endplate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                        help="Print the version and exit.")) -> None:
    """endplate: stochastic simulation of the neuromuscular junction in health and in ALS."""


def _genotypes():
    from endplate.disease.model import genotypes

    return genotypes()


def _hypotheses():
    from endplate.disease.model import hypotheses

    return hypotheses()


def _scenarios():
    from endplate.disease.scenario import bundled

    return bundled()


def _interventions():
    from endplate.therapy.interventions import bundled

    return bundled()


def _trials():
    from endplate.therapy.trial import bundled

    return bundled()


@app.command()
def presets(as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout.")) -> None:
    """List the bundled species, muscles, genotypes, hypotheses and interventions."""
    from endplate.junction.parameters import SPECIES, UNIT_TYPES
    from endplate.disease.model import first_partners
    from endplate.junction.perturbations import perturbations
    from endplate.muscle.presets import muscles

    payload = {
        "species": list(SPECIES),
        "unit_types": list(UNIT_TYPES),
        "muscles": sorted({m for sp in SPECIES for m in muscles(sp)}),
        "muscles_by_species": {sp: muscles(sp) for sp in SPECIES},
        "genotypes": list(_genotypes()),
        "hypotheses": list(_hypotheses()),
        "first_partners": list(first_partners()),
        "scenarios": _scenarios(),
        "interventions": list(_interventions()),
        "trials": _trials(),
        "perturbations": list(perturbations()),
        "protocols": list(dict.fromkeys(list(PROTOCOLS) + ["cmap", "cmap-scan", "mune", "force", "cross-section"])),
    }

    def summary() -> None:
        table = Table(title="endplate presets")
        table.add_column("kind")
        table.add_column("names")
        for k, v in payload.items():
            if isinstance(v, dict):
                v = [f"{sp}: {' '.join(names)}" for sp, names in v.items()]
            table.add_row(k, ", ".join(v) if v else "(none yet)")
        out.print(table)

    _emit(payload, as_json, summary)


# protocol name -> (module attribute path, CLI option -> function keyword)
PROTOCOLS: dict[str, tuple[str, dict[str, str]]] = {
    "mepp": ("endplate.junction.mepp:mepp", {"junctions": "n_junctions", "duration_s": "duration_s", "unit_type": "unit_type"}),
    "epp": ("endplate.junction.epp:epp", {"junctions": "n_junctions", "stimuli": "n_stimuli", "frequency_hz": "frequency_hz",
                                          "unit_type": "unit_type", "backend": "backend"}),
    "train": ("endplate.junction.train:train", {"junctions": "n_junctions", "stimuli": "n_stimuli", "frequency_hz": "frequency_hz",
                                                "unit_type": "unit_type", "backend": "backend"}),
    "paired-pulse": ("endplate.junction.paired_pulse:paired_pulse", {"junctions": "n_junctions", "unit_type": "unit_type",
                                                                     "backend": "backend"}),
    "sfemg": ("endplate.junction.sfemg:sfemg", {"pairs": "n_pairs", "discharges": "n_discharges", "rate_hz": "rate_hz",
                                                "stimulated": "voluntary", "unit_type": "unit_type", "backend": "backend"}),
    "rns": ("endplate.junction.rns:rns", {"fibres": "n_fibres", "stimuli": "n_stimuli", "frequency_hz": "frequency_hz",
                                          "unit_type": "unit_type", "backend": "backend"}),
}

# What each protocol reports in JSON (beyond the stable contract, more is welcome).
_JSON_FIELDS = {
    "mepp": ("mepp_mv", "mepp_hz", "giant_fraction"),
    "epp": ("quantal_content", "quantal_content_variance", "quantal_content_failures", "true_quantal_content",
            "epp_mv", "mepp_mv", "safety_factor", "failure_fraction"),
    "train": ("epp_mv", "quanta", "fired_fraction", "plateau_ratio", "rrp_estimate", "true_rrp"),
    "paired-pulse": ("interval_ms", "paired_pulse_ratio", "facilitation_f0", "tau_fast_ms", "tau_slow_ms"),
    "sfemg": ("mcd_us", "blocking_percent", "abnormal_pairs_percent"),
    "rns": ("decrement_percent", "cmap_mv", "fibres_fired"),
}


def _load(path: str) -> Callable:
    import importlib

    module, attr = path.split(":")
    return getattr(importlib.import_module(module), attr)


def protocol_payload(name: str, ds) -> dict:
    payload = {"protocol": name}
    for field in _JSON_FIELDS[name]:
        value = ds[field].values if field in ds else ds.coords[field].values
        payload[field] = value.item() if value.ndim == 0 else value.tolist()
    if name == "sfemg":
        payload["pairs"] = [{"mcd_us": m, "blocking_percent": b}
                            for m, b in zip(ds["pair_mcd_us"].values.tolist(), ds["pair_blocking_percent"].values.tolist())]
    payload["seed"] = ds.attrs["seed"]
    payload["species"] = ds.attrs["species"]
    return payload


@app.command()
def protocol(
    name: str = typer.Argument(..., help=f"One of: {', '.join(PROTOCOLS)}."),
    species: str = typer.Option("mouse", help="mouse or human."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives the same result."),
    set_: list[str] = typer.Option([], "--set", help="Override a parameter, key=value (repeatable)."),
    perturb: list[str] = typer.Option([], "--perturb", help="Apply a named perturbation (repeatable)."),
    unit_type: Optional[str] = typer.Option(None, help="Motor-unit type of the junctions: S, FR, FF (sfemg: also mixed)."),
    junctions: Optional[int] = typer.Option(None, help="Number of junctions."),
    stimuli: Optional[int] = typer.Option(None, help="Number of stimuli."),
    frequency_hz: Optional[float] = typer.Option(None, help="Stimulation frequency (Hz)."),
    rate_hz: Optional[float] = typer.Option(None, help="SFEMG firing rate (Hz)."),
    pairs: Optional[int] = typer.Option(None, help="SFEMG fibre pairs."),
    discharges: Optional[int] = typer.Option(None, help="SFEMG discharges per pair."),
    stimulated: Optional[bool] = typer.Option(None, "--stimulated/--voluntary", help="SFEMG activation."),
    fibres: Optional[int] = typer.Option(None, help="RNS: number of fibres."),
    duration_s: Optional[float] = typer.Option(None, help="mEPP recording duration (s)."),
    backend: Optional[str] = typer.Option(None, help="Kernel: numba (default), numpy (reference) or cupy (GPU)."),
    muscle: Optional[str] = typer.Option(None, help="Muscle (muscle-level protocols; default APB for human, TA for mouse)."),
    method: Optional[str] = typer.Option(None, help="MUNE method: incremental, mps, scanfit, munix."),
    csv: Optional[Path] = typer.Option(None, help="cmap-scan: also write the scan as CSV."),
    plot: Optional[Path] = typer.Option(None, help="Write the protocol's figure (PNG/PDF)."),
    output: Optional[Path] = typer.Option(None, help="Write the full result as NetCDF (.nc)."),
    nwb: Optional[Path] = typer.Option(None, help="train, sfemg, cmap, cmap-scan: also write the recording as NWB (.nwb)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Run a virtual-electrophysiology protocol on junctions or on a whole muscle."""
    from endplate.muscle.protocols import MUSCLE_PROTOCOLS

    muscle_level = name in MUSCLE_PROTOCOLS and (name not in PROTOCOLS or muscle is not None)
    if muscle_level:
        _muscle_protocol(name, species, seed, set_, perturb, muscle, method, stimuli, frequency_hz, rate_hz,
                         stimulated, csv, plot, nwb, as_json,
                         stray={"junctions": junctions, "pairs": pairs, "discharges": discharges, "fibres": fibres,
                                "duration_s": duration_s, "unit_type": unit_type, "output": output})
        return
    try:
        if muscle is not None or method is not None or csv is not None:
            raise EndplateInputError(f"--muscle, --method and --csv apply to muscle protocols ({', '.join(MUSCLE_PROTOCOLS)})")
        if name not in PROTOCOLS:
            allowed = list(PROTOCOLS) + [p for p in MUSCLE_PROTOCOLS if p not in PROTOCOLS]
            raise EndplateInputError(f"unknown protocol {name!r}; allowed: {', '.join(allowed)}")
        path, mapping = PROTOCOLS[name]
        given = {"junctions": junctions, "stimuli": stimuli, "frequency_hz": frequency_hz, "rate_hz": rate_hz,
                 "pairs": pairs, "discharges": discharges, "stimulated": stimulated, "fibres": fibres,
                 "duration_s": duration_s, "unit_type": unit_type, "backend": backend}
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
        if output is not None and output.suffix != ".nc":
            raise EndplateInputError(f"--output must end in .nc (NetCDF), got {str(output)!r}")
        if plot is not None and plot.suffix.lower() not in (".png", ".pdf", ".svg"):
            raise EndplateInputError(f"--plot must end in .png, .pdf or .svg, got {str(plot)!r}")
        _check_nwb(nwb, name)
        params = _params(species, set_, perturb)
        ds = _load(path)(params, seed=seed, **kwargs)
        if plot is not None:
            from endplate.io.atomic import write_atomic
            from endplate.report.figures import plot_protocol

            write_atomic(plot, lambda tmp: plot_protocol(name, ds, str(tmp), f"{name} ({species}, seed {seed})"))
        if output is not None:
            from endplate.io.atomic import write_atomic

            write_atomic(output, lambda tmp: ds.to_netcdf(tmp))
        if nwb is not None:
            from endplate.io.nwb import write_nwb

            write_nwb(nwb, name, ds, dict(ds.attrs), f"{name} in {species} junctions")
    except EndplateInputError as exc:
        _fail(str(exc))
        return
    payload = protocol_payload(name, ds)

    _emit(payload, as_json, lambda: _quantity_table(f"protocol {name} ({species}, seed {seed})", payload))


def _check_nwb(nwb: Optional[Path], name: str) -> None:
    if nwb is None:
        return
    from endplate.io.nwb import NWB_PROTOCOLS

    if name not in NWB_PROTOCOLS:
        raise EndplateInputError(f"--nwb applies to protocols {', '.join(NWB_PROTOCOLS)}, not {name}")
    if nwb.suffix.lower() != ".nwb":
        raise EndplateInputError(f"--nwb must end in .nwb, got {str(nwb)!r}")
    if not nwb.resolve().parent.exists():
        raise EndplateInputError(f"output folder {str(nwb.parent)!r} does not exist")


DEFAULT_MUSCLE = {"human": "APB", "mouse": "TA"}
# What each muscle protocol accepts beyond --species/--seed/--set/--perturb/--plot/--json.
_MUSCLE_OPTIONS = {"cmap": {"nwb"}, "cmap-scan": {"stimuli", "csv", "nwb"}, "mune": {"method"}, "force": set(),
                   "sfemg": {"rate_hz", "stimulated"}, "rns": {"frequency_hz", "stimuli"}, "cross-section": set()}


def _muscle_protocol(name, species, seed, set_, perturb, muscle, method, stimuli, frequency_hz, rate_hz,
                     stimulated, csv, plot, nwb, as_json, stray) -> None:
    from endplate.muscle.protocols import muscle as build, run

    try:
        given = {"stimuli": stimuli, "frequency_hz": frequency_hz, "rate_hz": rate_hz, "stimulated": stimulated,
                 "method": method, "csv": csv, "nwb": nwb, **stray}
        for option, value in given.items():
            if value is not None and option not in _MUSCLE_OPTIONS[name]:
                raise EndplateInputError(
                    f"option --{option.replace('_', '-')} does not apply to muscle protocol {name}; it takes: "
                    + (", ".join("--" + o.replace("_", "-") for o in sorted(_MUSCLE_OPTIONS[name])) or "no extra options")
                )
        if stimuli is not None and stimuli < (10 if name == "cmap-scan" else 1):
            raise EndplateInputError(f"--stimuli must be at least {10 if name == 'cmap-scan' else 1}, got {stimuli}")
        if csv is not None and csv.suffix.lower() != ".csv":
            raise EndplateInputError(f"--csv must end in .csv, got {str(csv)!r}")
        if plot is not None and plot.suffix.lower() not in (".png", ".pdf", ".svg"):
            raise EndplateInputError(f"--plot must end in .png, .pdf or .svg, got {str(plot)!r}")
        from endplate.muscle.presets import muscle_parameter_names

        muscle_sets = [s for s in set_ if s.partition("=")[0].strip() in muscle_parameter_names()]
        overrides = _parse_sets(muscle_sets)
        for key in ("n_units", "n_fibres"):
            if key in overrides:
                if overrides[key] != int(overrides[key]):
                    raise EndplateInputError(f"--set {key} must be a whole number, got {overrides[key]}")
                overrides[key] = int(overrides[key])
        params = _params(species, [s for s in set_ if s not in muscle_sets], perturb)
        anatomy = build(species, muscle or DEFAULT_MUSCLE.get(species, ""), seed, params, **overrides)
        options = {k: v for k, v in {"n_stimuli": stimuli, "frequency_hz": frequency_hz, "rate_hz": rate_hz,
                                     "method": method}.items() if v is not None}
        if stimulated is not None:
            options["voluntary"] = not stimulated
        _check_nwb(nwb, name)
        result = run(name, anatomy, seed, **options)
        title = f"{name}: {species} {anatomy.preset.muscle} (seed {seed})"
        from endplate.io.atomic import write_atomic

        scan = result.pop("_scan", None)
        if csv is not None:
            from endplate.muscle.cmap import write_scan_csv

            write_scan_csv(csv, scan, {"endplate_version": __version__, "species": species,
                                       "muscle": anatomy.preset.muscle, "seed": seed, "true_units": scan["true_units"]})
        if nwb is not None:
            import dataclasses

            from endplate.io.nwb import write_nwb
            from endplate.io.provenance import provenance_attrs

            provenance = {**provenance_attrs(name, seed, params, **options), "muscle": anatomy.preset.muscle,
                          "muscle_preset": dataclasses.asdict(anatomy.preset), "true_units": result["true_units"]}
            write_nwb(nwb, name, scan if name == "cmap-scan" else result, provenance,
                      f"{name} of the {species} {anatomy.preset.muscle}")
        if plot is not None:
            from endplate.report import figures

            if name == "cross-section":
                write_atomic(plot, lambda tmp: figures.plot_cross_section(anatomy, str(tmp), title))
            else:
                write_atomic(plot, lambda tmp: figures.plot_muscle(name, result, str(tmp), title))
    except EndplateInputError as exc:
        _fail(str(exc))
        return
    payload = {"protocol": name, "seed": seed, **result}
    title = f"protocol {name} ({species} {anatomy.preset.muscle}, seed {seed})"
    _emit(payload, as_json, lambda: _quantity_table(title, payload))


def _milestone(days, series, below: float = 50.0):
    import numpy as np

    hit = np.flatnonzero(np.asarray(series) < below)
    return int(days[hit[0]]) if hit.size else None


@app.command()
def run(
    scenario: str = typer.Argument(..., help="A bundled scenario (sod1-g93a, wild-type, human-als, ...) or a TOML file."),
    seed: Optional[int] = typer.Option(None, help="Override the scenario's seed."),
    hypothesis: Optional[str] = typer.Option(None, help="Override the hypothesis: dying_back, dying_forward, independent."),
    genotype: Optional[str] = typer.Option(None, help="Override the genotype."),
    first_partner: Optional[str] = typer.Option(None, help="Which NMJ partner fails first: presynaptic, tsc, postsynaptic."),
    set_: list[str] = typer.Option([], "--set", help="Override a mechanism parameter, mechanism.parameter=value."),
    block_soma_death: bool = typer.Option(False, "--block-soma-death", help="Bax-knockout style: motor neurons cannot die."),
    output: Optional[Path] = typer.Option(None, help="Dataset path, .nc or .zarr (default: SCENARIO.nc here)."),
    report: Optional[Path] = typer.Option(None, help="Also write a self-contained HTML report."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Simulate a whole animal or patient day by day, from a bundled scenario or a TOML file."""
    from endplate.disease.scenario import load_scenario
    from endplate.disease.simulate import simulate
    from endplate.io.run_dataset import run_dataset, write_dataset

    try:
        changes = {"seed": seed, "hypothesis": hypothesis, "genotype": genotype, "first_partner": first_partner}
        if set_:
            changes["set"] = _parse_sets(set_)
        if block_soma_death:
            changes["soma_death_blocked"] = True
        sc = load_scenario(scenario, **changes)
        out_path = output or Path(f"{sc.name}.nc")
        if out_path.suffix not in (".nc", ".zarr"):
            raise EndplateInputError(f"--output must end in .nc or .zarr, got {str(out_path)!r}")
        if out_path.suffix == ".zarr":
            try:
                import zarr  # noqa: F401
            except ImportError:
                raise EndplateInputError("writing .zarr needs the zarr package (pip install zarr); use .nc otherwise") from None
        for p in (out_path, report):
            if p is not None and not p.resolve().parent.exists():
                raise EndplateInputError(f"output folder {str(p.parent)!r} does not exist")
        if report is not None and report.suffix.lower() not in (".html", ".htm"):
            raise EndplateInputError(f"--report must end in .html, got {str(report)!r}")
        if as_json:
            result = simulate(sc)
        else:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("day {task.completed}/{task.total}"),
                          TimeRemainingColumn(), console=err) as bar:
                task = bar.add_task(f"{sc.name}", total=sc.end_day - sc.start_day + 1)
                result = simulate(sc, progress=lambda done, total: bar.update(task, completed=done))
        ds = run_dataset(result)
        write_dataset(ds, out_path)
        if report is not None:
            from endplate.io.atomic import atomic_path
            from endplate.report.run_report import report_from_dataset

            with atomic_path(report) as tmp:
                tmp.write_text(report_from_dataset(ds))
    except EndplateInputError as exc:
        _fail(str(exc))
        return
    days = result["day"]
    payload = {
        "scenario": sc.name, "species": sc.species, "genotype": sc.genotype, "hypothesis": sc.hypothesis,
        "first_partner": sc.first_partner, "seed": sc.seed,
        "day": days.tolist(), "readout_day": result["readout_day"].tolist(), "mune_day": result["mune_day"].tolist(),
        "onset_day": result["onset_day"], "end_stage_day": result["end_stage_day"],
        "muscles": {m: {k: v[k].tolist() for k in ("innervated_percent", "partial_percent", "denervated_percent",
                                                   "motor_neurons_percent", "cmap_percent", "mune", "mune_true",
                                                   "force_percent")}
                    for m, v in result["muscles"].items()},
        "output": str(out_path), "report": None if report is None else str(report),
    }

    def summary() -> None:
        out.print(f"[bold]{sc.name}[/]: {sc.genotype}, {sc.hypothesis}, seed {sc.seed}")
        out.print(f"onset day: {result['onset_day']}   end-stage day: {result['end_stage_day']}")
        table = Table(title="milestones (first day below 50 % of start)")
        for col in ("muscle", "innervated", "motor neurons", "force", "CMAP", "largest unit / start"):
            table.add_column(col)
        for m, v in result["muscles"].items():
            table.add_row(m, str(_milestone(days, v["innervated_percent"])), str(_milestone(days, v["motor_neurons_percent"])),
                          str(_milestone(days, v["force_percent"])), str(_milestone(result["readout_day"], v["cmap_percent"])),
                          f"{v['max_enlargement']:.1f}")
        out.print(table)
        out.print(f"dataset: {out_path}" + (f"   report: {report}" if report else ""))

    _emit(payload, as_json, summary)


@app.command("report")
def report_command(
    results: Path = typer.Argument(..., help="A saved result: a run, fit or trial dataset (.nc or .zarr)."),
    output: Path = typer.Option(..., "--output", "-o", help="The HTML file to write."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Write a self-contained HTML report of a saved result (run, fit or trial)."""
    from endplate.report.dispatch import write_report

    try:
        written = write_report(results, output)
    except EndplateInputError as exc:
        _fail(str(exc))
        return
    payload = {"results": str(results), "report": written}
    _emit(payload, as_json, lambda: out.print(f"report: {written}"))


@app.command("app")
def app_command(
    port: int = typer.Option(5006, help="Port on localhost (127.0.0.1) to serve the app on."),
    show: bool = typer.Option(True, "--show/--no-browser", help="Open the app in a browser (default) or only serve it."),
) -> None:
    """Serve the interactive app (disease course, cross-section, virtual EMG lab) on localhost."""
    if not 1 <= port <= 65535:
        _fail(f"--port must be between 1 and 65535, got {port}")
    from endplate.app.ui import serve

    try:
        serve(port=port, show=show)
    except OSError as exc:
        _fail(f"cannot serve on 127.0.0.1:{port} ({exc.strerror or exc}); is the port in use? Choose another with --port")


@app.command()
def trial(
    spec: str = typer.Argument(..., help="A bundled trial (musk-agonist-sod1-mouse, nmj-stabiliser-human) or a TOML file."),
    seed: Optional[int] = typer.Option(None, help="Override the trial's seed."),
    subjects_per_arm: Optional[int] = typer.Option(None, help="Override the number of subjects per arm."),
    workers: int = typer.Option(2, help="Local Dask workers (ignored with --scheduler)."),
    scheduler: Optional[str] = typer.Option(None, help="Address of a running Dask scheduler (tcp://host:8786)."),
    store: Optional[Path] = typer.Option(None, help="Zarr store results stream into; an interrupted run resumes from it."),
    fresh: bool = typer.Option(False, "--fresh", help="Discard an existing store and start over."),
    output: Optional[Path] = typer.Option(None, help="Final dataset with the analysis, .nc or .zarr (default: NAME.nc)."),
    report: Optional[Path] = typer.Option(None, help="Also write a self-contained HTML report."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Run a virtual clinical trial: cohorts, arms, visits, endpoints, analysis and power."""
    from endplate.therapy.command import trial_command

    try:
        if as_json:
            payload = trial_command(spec, seed=seed, subjects_per_arm=subjects_per_arm, workers=workers, scheduler=scheduler,
                                    store=store, fresh=fresh, output=output, report=report)
        else:
            from rich.progress import BarColumn, Progress, TextColumn

            with Progress(TextColumn("[bold]trial"), BarColumn(), TextColumn("batch {task.completed}/{task.total}"),
                          console=err) as bar:
                task = bar.add_task("trial", total=None)
                payload = trial_command(spec, seed=seed, subjects_per_arm=subjects_per_arm, workers=workers,
                                        scheduler=scheduler, store=store, fresh=fresh, output=output, report=report,
                                        progress=lambda done, total: bar.update(task, completed=done, total=total))
    except EndplateInputError as exc:
        _fail(str(exc))
        return

    def summary() -> None:
        out.print(f"[bold]{payload['trial']}[/]: {payload['subjects']} subjects, seed {payload['seed']}")
        arms = Table(title="arms")
        for col in ("arm", "subjects", "enrolled", "interventions"):
            arms.add_column(col)
        for a in payload["arms"]:
            arms.add_row(a["name"], str(a["subjects"]), str(a["enrolled"]), ", ".join(a["interventions"]) or "none")
        out.print(arms)
        table = Table(title=f"endpoints (primary: {payload['primary']}; control: {payload['control']})")
        for col in ("endpoint", "arm", "effect", "95 % CI", "p", "unit"):
            table.add_column(col)
        for r in payload["results"]:
            table.add_row(r["endpoint"], r["arm"], f"{r['effect']:.3g}", f"[{r['ci_low']:.3g}, {r['ci_high']:.3g}]",
                          f"{r['p_value']:.3g}", r["unit"])
        out.print(table)
        pc = payload["power_curve"]
        out.print("power: " + ", ".join(f"{n}/arm {p:.2f}" for n, p in zip(pc["subjects_per_arm"], pc["power"])))
        out.print(f"dataset: {payload['output']}   store: {payload['store']}" + (f"   report: {payload['report']}" if payload["report"] else ""))

    _emit(payload, as_json, summary)


@app.command()
def validate(
    seed: int = typer.Option(0, help="Random seed."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Score the model against every bundled literature target; exit 1 if a `fit` row fails (`test` rows are reported)."""
    from endplate.calibrate.validate import validate as run_validation

    try:
        results = run_validation(seed)
    except EndplateInputError as exc:
        _fail(str(exc))
        return
    from endplate.calibrate.validate import NOT_MODELLED, summarise

    counts = summarise(results)
    payload = {"targets": results, **counts,
               "not_modelled": [{"id": k, "why": v} for k, v in NOT_MODELLED.items()], "seed": seed}

    def summary() -> None:
        table = Table(title=f"validation (seed {seed})")
        for col in ("id", "role", "check", "predicted", "band", "evidence", "ok"):
            table.add_column(col)
        for r in sorted(results, key=lambda r: r["role"]):
            verdict = "[green]pass[/]" if r["passed"] else "[red]FAIL[/]"
            if r["open_issue"] is not None:
                verdict += f" (open, issue {r['open_issue']})"
            table.add_row(r["id"], r["role"], r["name"], f"{r['predicted']:.4g}", f"[{r['low']:g}, {r['high']:g}]", r["evidence"], verdict)
        out.print(table)
        out.print(f"fit rows: {counts['passed']} passed, {counts['failed']} failed; {counts['open']} known gaps reported "
                  "but not counted")
        out.print(f"test rows (held out, never tuned to): {counts['test_passed']} passed, {counts['test_failed']} failed")
        for item in payload["not_modelled"]:
            out.print(f"not modelled: {item['id']}: {item['why']}")

    _emit(payload, as_json, summary)
    if counts["failed"]:
        raise typer.Exit(1)


@app.command()
def bench(
    quick: bool = typer.Option(False, help="Smaller sizes (for a smoke test; not the reference numbers)."),
    workload: list[str] = typer.Option([], "--workload", help="Run only these workloads (repeatable; default: all)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Measure throughput of the kernels (ratios within one run are what counts)."""
    from endplate.bench import run_benchmarks

    try:
        workloads = run_benchmarks(quick=quick, progress=None if as_json else err.print, names=workload)
    except EndplateInputError as exc:
        _fail(str(exc))
        return
    payload = {"workloads": workloads}

    def summary() -> None:
        table = Table(title="endplate bench")
        for col in ("name", "size", "seconds", "throughput", "unit", "reference_ratio"):
            table.add_column(col)
        for w in workloads:
            table.add_row(w["name"], str(w["size"]), f"{w['seconds']:.3f}", f"{w['throughput']:.3g}", w["unit"],
                          "" if w.get("reference_ratio") is None else f"{w['reference_ratio']:.1f}")
        out.print(table)

    _emit(payload, as_json, summary)


@app.command()
def fit(
    problem: str = typer.Argument(..., help="A bundled calibration problem: sod1-g93a, human-als, synthetic."),
    quick: bool = typer.Option(False, help="A small fit (well under 2 minutes on 2 cores), for smoke tests."),
    seed: int = typer.Option(0, help="Seed of the fit (every simulation's seed derives from it and its parameters)."),
    out_path: Optional[Path] = typer.Option(None, "--out", help="Result dataset, .nc (default fit-PROBLEM.nc); resumes if it was begun."),
    scheduler: Optional[str] = typer.Option(None, help="Address of a running Dask scheduler (default: a local cluster)."),
    workers: Optional[int] = typer.Option(None, help="Workers of the local cluster (default: one per core)."),
    population: Optional[int] = typer.Option(None, help="Particles per generation (overrides the default)."),
    generations: Optional[int] = typer.Option(None, help="ABC-SMC generations (overrides the default)."),
    loso: bool = typer.Option(True, help="Run the leave-one-source-out check."),
    targets: Optional[Path] = typer.Option(None, help="A target CSV replacing the bundled registry."),
    preset_out: Optional[Path] = typer.Option(None, help="Also write a calibrated preset TOML (values + provenance)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Fit the disease model to published targets per hypothesis (ABC-SMC with model choice) and compare them."""
    from endplate.calibrate.cli_support import run_fit_command

    try:
        payload = run_fit_command(problem, quick=quick, seed=seed, out=out_path, scheduler=scheduler, workers=workers,
                                  population=population, generations=generations, loso=loso, targets=targets,
                                  preset_out=preset_out, console=None if as_json else err)
    except EndplateInputError as exc:
        _fail(str(exc))
        return
    from endplate.calibrate.compare import print_comparison

    def summary() -> None:
        print_comparison(out, payload)
        out.print(f"result: {payload['output']}")

    _emit(payload, as_json, summary)


@app.command()
def compare(
    results: Optional[list[str]] = typer.Argument(None, help="Fit results (.nc); several of one problem and settings "
                                                  "with different seeds: also the spread across seeds. Default: the "
                                                  "shipped calibrations."),
    preset_out: Optional[Path] = typer.Option(None, help="Write the first result's calibrated preset, with the spread."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Hypotheses with posterior probabilities and Bayes factors, and every target's predictive check."""
    from endplate.calibrate.cli_support import compare_command
    from endplate.calibrate.compare import json_payload, print_comparison

    try:
        payloads = compare_command(results, preset_out)
    except EndplateInputError as exc:
        _fail(str(exc))
        return

    def summary() -> None:
        for p in payloads:
            print_comparison(out, p)

    _emit(json_payload(payloads), as_json, summary)


@app.command()
def demo(
    output_dir: Path = typer.Option(Path("endplate-demo"), help="Folder for the figures and data."),
    seed: int = typer.Option(0, help="Random seed."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """The main job until the disease layer lands: healthy versus SOD1-G93A junctions, with figures."""
    from endplate.demo import run_demo

    try:
        payload = run_demo(output_dir, seed)
    except EndplateInputError as exc:
        _fail(str(exc))
        return

    def summary() -> None:
        table = Table(title=f"endplate demo (seed {seed})")
        table.add_column("quantity")
        for cond in payload["conditions"]:
            table.add_column(cond, justify="right")
        for key in payload["conditions"]["wild-type"]:
            table.add_row(key, *(f"{payload['conditions'][c][key]:.3g}" for c in payload["conditions"]))
        out.print(table)
        out.print("figures: " + ", ".join(payload["files"]))

    _emit(payload, as_json, summary)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
