"""Command-line interface: the only layer that knows typer, rich, file suffixes and exit codes.

Each command module registers its commands on ``cli._app.app``; this file imports them all, puts
them in help order and writes the one-line summary of ``endplate --help`` from that order.
"""

from endplate.cli import checks, fit, infer_course, infer_scan, presets, protocol, replay, report, run, trial  # noqa: F401  (they register commands)
from endplate.cli._app import app

COMMANDS = (
    "presets",
    "protocol",
    "run",
    "report",
    "app",
    "trial",
    "validate",
    "bench",
    "fit",
    "compare",
    "replay",
    "demo",
    "infer",
    "scans",
)


def _name(command) -> str:
    return command.name or command.callback.__name__.replace("_", "-")


app.registered_commands.sort(key=lambda c: COMMANDS.index(_name(c)))
app.info.help = "Command-line interface: endplate " + " | ".join(COMMANDS) + "."


def main() -> None:
    app()


__all__ = ["app", "main"]
