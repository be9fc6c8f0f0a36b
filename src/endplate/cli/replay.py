"""`endplate replay RESULT`: run a saved result again from its provenance and say whether it is identical."""

from __future__ import annotations

import typer

from endplate.cli._app import _emit, _fail, app, out
from endplate.errors import EndplateInputError

DIFFERENT_EXIT = 3  # 0: identical, 2: bad input, 3: the replay differs


@app.command()
def replay(
    result: str = typer.Argument(..., help="A saved result (.nc or .zarr) of run, protocol --output, trial or fit."),
    workers: int = typer.Option(1, help="Local Dask workers for a trial or fit replay (the result does not depend on it)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Re-run a saved result from its provenance; exit 0 if identical bit for bit, 3 naming what differs."""
    from endplate.replay import replay as run_replay

    if workers < 1:
        _fail(f"--workers must be at least 1, got {workers}")
    try:
        report = run_replay(result, workers=workers)
    except EndplateInputError as exc:
        _fail(str(exc))
        return

    def summary() -> None:
        made = f"{report.result} {result} (seed {report.seed}, made by endplate {report.recorded_version})"
        if report.identical:
            out.print(f"[bold green]identical[/]: {made} replayed bit for bit in {report.seconds:.1f} s", highlight=False)
            return
        out.print(
            f"[bold red]different[/]: {made}, replayed with endplate {report.current_version}; "
            f"{len(report.differing)} differ: {', '.join(report.differing)}",
            highlight=False,
            soft_wrap=True,
        )

    _emit(report.as_dict(), as_json, summary)
    if not report.identical:
        raise typer.Exit(DIFFERENT_EXIT)
