"""The layer rule (docs/design.md, "Layers"): every import under src/endplate points down this list.

Function-local imports count, and ``importlib`` is not used on endplate modules, so every arrow is
visible to this test. Same rank is allowed (a layer imports itself), except calibrate <-> therapy.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

# Highest first. A module takes the rank of its longest listed prefix; the bare package is exact.
RANKS = {
    "endplate.cli": 9,  # commands: typer, rich, suffixes, exit codes
    "endplate.app": 8,
    "endplate.bench": 8,
    "endplate.demo": 8,
    "endplate.replay": 8,
    "endplate": 8,  # other faces, public API
    "endplate.calibrate": 7,
    "endplate.infer": 7,  # fits users' data on the muscle and disease layers
    "endplate.therapy": 7,  # siblings over the disease layer
    "endplate.report": 6,  # draws saved datasets
    "endplate.disease": 5,
    "endplate.muscle": 4,
    **{
        f"endplate.junction.{m}": 3
        for m in ("epp", "train", "mepp", "rns", "sfemg", "paired_pulse", "post_exercise", "protocols")
    },
    "endplate.kernels": 2,
    "endplate.junction": 1,  # parameters, population, estimators, provenance
    **{
        f"endplate.{m}": 0
        for m in (
            "io",
            "seeding",
            "errors",
            "readings",
            "cluster",
            "_version",
            "presets",
            "data",
            "provenance",
            "spec",
            "limits",
            "scorecard",
        )
    },
}
SIBLINGS = {"endplate.calibrate", "endplate.therapy"}
CLI_ONLY = {"typer", "rich"}


def rank(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in RANKS and (key != "endplate" or module == "endplate"):
            return RANKS[key]
    raise KeyError(f"no layer rank for {module}; add it to RANKS in tests/unit/test_layers.py")


def _module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.AST, src: Path) -> list[str]:
    """Modules an Import / ImportFrom node brings in (``from pkg import sub`` counts as ``pkg.sub``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        base = node.module
        subs = [f"{base}.{a.name}" for a in node.names]
        found = [
            s
            for s in subs
            if (src / s.replace(".", "/")).with_suffix(".py").exists() or (src / s.replace(".", "/") / "__init__.py").exists()
        ]
        return found if len(found) == len(subs) else [base, *found]
    return []


def _sibling(module: str) -> str | None:
    return next((s for s in SIBLINGS if module == s or module.startswith(s + ".")), None)


def violations(src: Path = SRC) -> list[str]:
    """Every import under ``src/endplate`` that breaks the rule, as 'file:line: why'."""
    found = []
    for path in sorted((src / "endplate").rglob("*.py")):
        here = _module_name(path, src)
        where = f"{path.relative_to(src)}"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in ("import_module", "__import__"):
                    found.append(f"{where}:{node.lineno}: {name}() hides an import from this rule")
                continue
            if isinstance(node, ast.ImportFrom) and node.level:
                found.append(f"{where}:{node.lineno}: relative import; write endplate.... in full")
                continue
            for target in _imported(node, src):
                top = target.split(".")[0]
                if top in CLI_ONLY and not here.startswith("endplate.cli"):
                    found.append(f"{where}:{node.lineno}: {top} outside cli/")
                if top != "endplate":
                    continue
                if rank(target) > rank(here):
                    found.append(f"{where}:{node.lineno}: {here} (rank {rank(here)}) imports {target} (rank {rank(target)})")
                a, b = _sibling(here), _sibling(target)
                if a and b and a != b:
                    found.append(f"{where}:{node.lineno}: {a} and {b} are siblings; neither imports the other")
    return found


def test_every_import_points_down_the_layers():
    assert violations() == []


def test_the_checker_sees_what_it_must_refuse(tmp_path):
    pkg = tmp_path / "endplate"
    for sub in ("disease", "calibrate", "therapy", "io"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "disease" / "scenario.py").write_text("def f():\n    from endplate.calibrate import fit\n")
    (pkg / "calibrate" / "fit.py").write_text("import rich\nfrom endplate.therapy import x\n")
    (pkg / "therapy" / "x.py").write_text("import importlib\nimportlib.import_module('endplate.cli')\n")
    (pkg / "io" / "ok.py").write_text("import json\nfrom endplate.errors import EndplateInputError\n")
    found = "\n".join(violations(tmp_path))
    assert "disease/scenario.py:2: endplate.disease.scenario (rank 5) imports endplate.calibrate.fit (rank 7)" in found
    assert "calibrate/fit.py:1: rich outside cli/" in found
    assert "calibrate/fit.py:2: endplate.calibrate and endplate.therapy are siblings" in found
    assert "therapy/x.py:2: import_module() hides an import" in found
    assert "io/ok.py" not in found
