"""`endplate presets`: what is bundled."""

from __future__ import annotations

import typer
from rich.table import Table

from endplate.cli._app import _emit, app, out
from endplate.cli.protocol import ALL_PROTOCOLS


@app.command()
def presets(as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout.")) -> None:
    """List the bundled species, muscles, genotypes, hypotheses and interventions."""
    from endplate.disease.model import first_partners, genotypes, hypotheses
    from endplate.disease.scenario import bundled as scenarios
    from endplate.junction.parameters import SPECIES, UNIT_TYPES
    from endplate.junction.perturbations import perturbations
    from endplate.muscle.presets import muscles
    from endplate.therapy.interventions import bundled as interventions
    from endplate.therapy.trial import bundled as trials

    payload = {
        "species": list(SPECIES),
        "unit_types": list(UNIT_TYPES),
        "muscles": sorted({m for sp in SPECIES for m in muscles(sp)}),
        "muscles_by_species": {sp: muscles(sp) for sp in SPECIES},
        "genotypes": list(genotypes()),
        "hypotheses": list(hypotheses()),
        "first_partners": list(first_partners()),
        "scenarios": scenarios(),
        "interventions": list(interventions()),
        "trials": trials(),
        "perturbations": list(perturbations()),
        "protocols": list(ALL_PROTOCOLS),
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
