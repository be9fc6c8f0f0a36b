"""Fuzzing the boundary: generated CLI arguments, spec files and result files never crash endplate.

Every case asserts the package's promise for bad input: exit code 0 or 2, no traceback, a refusal
that names the offending key (or value), and nothing partial in the output folder (no temporary,
no output at all after a refusal). Runs in-process through typer's CliRunner for speed; the
subprocess cases live in tests/e2e (test_interrupt.py, test_cli.py).

CI runs a small number of examples per test (``ENDPLATE_FUZZ_EXAMPLES``, default 25). The larger
run of the issue (about 10^4 inputs over the six generated tests; half an hour on 2 cores) is::

    ENDPLATE_FUZZ_EXAMPLES=1700 ENDPLATE_FUZZ_RANDOM=1 python -m pytest tests/fuzz -q -p no:cacheprovider \
        --hypothesis-show-statistics
"""

import math
import os
import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from endplate.cli import app
from endplate.errors import EndplateInputError
from endplate.therapy.interventions import load_interventions
from endplate.therapy.trial import load_trial

EXAMPLES = int(os.environ.get("ENDPLATE_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("ENDPLATE_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)

# A scenario small enough that a mutation which stays valid runs in about a second.
TINY_SCENARIO = {
    "species": "mouse",
    "genotype": "SOD1-G93A",
    "hypothesis": "dying_back",
    "muscles": ["TA"],
    "start_day": 60,
    "end_day": 62,
    "muscle_set": {"TA": {"n_units": 10, "n_fibres": 300}},
}
TINY_TRIAL = {
    "species": "mouse",
    "genotype": "SOD1-G93A",
    "hypothesis": "dying_back",
    "muscles": ["TA"],
    "arms": {"vehicle": {"interventions": []}, "treated": {"interventions": ["riluzole"]}},
    "subjects_per_arm": 2,
    "start": {"relative_to": "age", "day": 60},
    "duration_days": 14,
    "visit_every_days": 7,
    "endpoints": ["cmap"],
    "primary": "cmap",
}
TINY_INTERVENTION = {
    "mine": {
        "description": "d",
        "effects": {"hazard.terminal": 0.5},
        "source": "assumed",
        "evidence": "assumed",
        "window": {"start_day": 0, "duration_days": 10},
    }
}

KEYS = st.sampled_from(
    [
        "seed",
        "start_day",
        "end_day",
        "muscles",
        "species",
        "genotype",
        "hypothesis",
        "set",
        "muscle_set",
        "onset_delay_days",
        "first_partner",
        "mune_method",
        "probe_days",
        "probe_muscle",
        "readout_every_days",
        "reference_axon_length_mm",
        "onset_force_fraction",
        "calibrated",
        "calibration",
        "bogus",
        "n_fibres",
        "axon_length_mm",
        "TA",
        "subjects_per_arm",
        "batch_size",
        "duration_days",
        "arms",
        "start",
        "endpoints",
        "power",
        "fidelity",
        "population",
        "effects",
        "window",
        "evidence",
        "allocation",
        "interventions",
        "hazard.terminal",
        "retrograde_axon_loss.rate_per_day",
        "genotype.midpoint_day",
        "relative_to",
        "days",
        "sizes",
        "alpha",
        "name",
        "description",
    ]
)
SCALARS = st.one_of(
    st.sampled_from(
        [
            0,
            1,
            -1,
            2,
            7,
            10**9,
            2**63,
            -(2**63),
            2**70,
            0.0,
            -0.5,
            0.5,
            1e300,
            math.nan,
            math.inf,
            -math.inf,
            True,
            False,
            "",
            "TA",
            "x",
            "human",
            "mouse",
            "SOD1-G93A",
            "riluzole",
            "age",
            "onset",
            "cmap",
        ]
    ),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS | st.text(max_size=6), inner, max_size=3)),
    max_leaves=6,
)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)  # TOML refuses integers beyond 64 bits: the loader must say so, not crash
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, str):
        return '"' + v.encode("unicode_escape").decode().replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return "{ " + ", ".join(f'"{k}" = {_toml_value(x)}' for k, x in v.items()) + " }"


def _toml(table: dict) -> str:
    return "".join(f'"{k}" = {_toml_value(v)}\n' for k, v in table.items())


def _mutate(base: dict, path: list, value) -> dict:
    """``base`` with the value at ``path`` (keys into nested tables) replaced by ``value``."""
    out = dict(base)
    if len(path) == 1 or not isinstance(out.get(path[0]), dict):
        out[path[0]] = value
    else:
        out[path[0]] = _mutate(out[path[0]], path[1:], value)
    return out


def _check_outcome(result, out_dir: Path, names) -> None:
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code in (0, 2), f"exit {result.exit_code}: {text}\n{result.exception!r}"
    assert "Traceback" not in text
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    left = sorted(p.name for p in out_dir.iterdir())
    assert not [n for n in left if n.startswith(".")], f"temporaries left: {left}"
    if result.exit_code == 2:
        assert left == [], f"a refused command left {left}"
        assert any(str(n) in text for n in names), f"the refusal names none of {names}: {text}"


def _names(path: list, value) -> list:
    """What a refusal may name: a key of the mutated path, or the offending value as written."""
    shown = [repr(value), str(value)] if not isinstance(value, (dict, list)) else []
    return [*map(str, path), *shown, "TOML", "nested"]


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


@FUZZ
@given(path=st.lists(KEYS, min_size=1, max_size=3), value=VALUES)
def test_scenario_files(runner, tmp_path_factory, path, value):
    work = tmp_path_factory.mktemp("scenario")
    out_dir = work / "out"
    out_dir.mkdir()
    spec = work / "s.toml"
    spec.write_text(_toml(_mutate(TINY_SCENARIO, path, value)))
    result = runner.invoke(app, ["run", str(spec), "--json", "--output", str(out_dir / "r.nc")])
    names = _names(path, value) + ["start_day", "end_day", "muscle", "genotype", "species", "set", "calibration"]
    _check_outcome(result, out_dir, names)


def _loader_refuses_or_accepts(load, text: str, tmp_path: Path, names) -> None:
    spec = tmp_path / "f.toml"
    spec.write_text(text)
    try:
        load(spec)
    except EndplateInputError as exc:
        assert str(spec) in str(exc), str(exc)
        assert any(str(n) in str(exc) for n in names), f"the refusal names none of {names}: {exc}"


@FUZZ
@given(path=st.lists(KEYS, min_size=1, max_size=4), value=VALUES)
def test_trial_files(tmp_path_factory, path, value):
    names = _names(path, value) + [
        "arms",
        "genotype",
        "muscle",
        "primary",
        "endpoint",
        "control",
        "population",
        "start",
        "allocation",
        "intervention",
        "subjects",
        "window",
    ]
    _loader_refuses_or_accepts(
        lambda p: load_trial(str(p)), _toml(_mutate(TINY_TRIAL, path, value)), tmp_path_factory.mktemp("trial"), names
    )


@FUZZ
@given(path=st.lists(KEYS | st.just("mine"), min_size=1, max_size=3), value=VALUES)
def test_intervention_files(tmp_path_factory, path, value):
    table = _mutate(TINY_INTERVENTION, ["mine", *path] if path[0] != "mine" else path, value)
    names = _names(path, value) + ["mine", "effects", "window"]
    _loader_refuses_or_accepts(load_interventions, _toml(table), tmp_path_factory.mktemp("iv"), names)


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=200),
        st.integers(1, 400).map(lambda n: ("a = " + "[" * n + "]" * n + "\n").encode()),
        st.integers(1, 400).map(lambda n: ("a = " + "{b = " * n + "1" + "}" * n + "\n").encode()),
        st.text(max_size=200).map(str.encode),
    )
)
def test_raw_bytes_as_scenario_and_trial(runner, tmp_path_factory, data):
    work = tmp_path_factory.mktemp("raw")
    out_dir = work / "out"
    out_dir.mkdir()
    spec = work / "raw.toml"
    spec.write_bytes(data)
    for command in (
        ["run", str(spec), "--output", str(out_dir / "r.nc")],
        ["trial", str(spec), "--store", str(out_dir / "s.zarr"), "--output", str(out_dir / "t.nc")],
    ):
        result = runner.invoke(app, command)
        _check_outcome(result, out_dir, ["raw.toml"])
        if result.exit_code == 0:
            for p in out_dir.iterdir():
                p.unlink() if p.is_file() else __import__("shutil").rmtree(p)


ATTRS = st.dictionaries(
    st.sampled_from(
        ["endplate_result", "scenario", "analysis", "settings", "parameters", "seed", "endplate_version", "problem", "x"]
    ),
    st.one_of(st.sampled_from(["run", "fit", "trial", "{}", "[]", "{", "null", "1"]), st.text(max_size=10), st.integers(-5, 5)),
    max_size=4,
)


@FUZZ
@given(
    attrs=ATTRS,
    variables=st.lists(st.sampled_from(["model", "day", "weight", "innervated_percent", "x"]), max_size=3, unique=True),
    junk=st.booleans(),
)
def test_result_files_for_report_and_compare(runner, tmp_path_factory, attrs, variables, junk):
    work = tmp_path_factory.mktemp("result")
    out_dir = work / "out"
    out_dir.mkdir()
    path = work / "r.nc"
    if junk:
        path.write_bytes(b"CDF\x01junk" * 3)
    else:
        xr.Dataset({v: ("n", np.arange(3.0)) for v in variables}, attrs=attrs).to_netcdf(path)
    for command in (["report", str(path), "-o", str(out_dir / "r.html")], ["compare", str(path), "--json"]):
        result = runner.invoke(app, command)
        _check_outcome(result, out_dir, ["r.nc"])


COUNT = st.sampled_from([-1, 0, 1, 2, 3, 10**9, 2**63, 2**70])
REAL = st.sampled_from(["nan", "inf", "-inf", "0", "-1", "1e308", "20", "0.5", "x"])


@FUZZ
@given(
    name=st.sampled_from(["train", "epp", "sfemg", "rns", "mepp", "paired-pulse", "cmap", "mune", "nope"]),
    options=st.lists(
        st.one_of(
            st.tuples(
                st.sampled_from(["--junctions", "--stimuli", "--pairs", "--fibres", "--discharges", "--seed"]), COUNT.map(str)
            ),
            st.tuples(st.sampled_from(["--frequency-hz", "--rate-hz", "--duration-s"]), REAL),
            st.tuples(
                st.sampled_from(["--species", "--unit-type", "--muscle", "--method", "--set", "--perturb"]),
                st.sampled_from(["human", "FF", "APB", "mps", "x", "n_fibres=1e9", "n_units=0", "ca_mm=nan", ""]),
            ),
        ),
        max_size=3,
    ),
)
def test_protocol_options(runner, tmp_path_factory, name, options):
    out_dir = tmp_path_factory.mktemp("protocol")
    args = ["protocol", name, "--json", *[x for pair in options for x in pair]]
    result = runner.invoke(app, args)
    given_values = [x for pair in options for x in pair]
    _check_outcome(
        result,
        out_dir,
        [
            name,
            *given_values,
            *[x.partition("=")[0] for x in given_values if x.partition("=")[0]],
            "option",
            "protocol",
            "Invalid value",
        ],
    )


def test_tiny_scenario_is_valid_toml_and_runs(runner, tmp_path):
    """The base of the mutations is itself accepted (else every mutation would be refused for it)."""
    spec = tmp_path / "s.toml"
    spec.write_text(_toml(TINY_SCENARIO))
    assert tomllib.loads(spec.read_text()) == TINY_SCENARIO
    result = runner.invoke(app, ["run", str(spec), "--json", "--output", str(tmp_path / "r.nc")])
    assert result.exit_code == 0, result.output
