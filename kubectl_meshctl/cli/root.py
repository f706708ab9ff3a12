"""The command group: global flags, and the one registration line per command.

Why this module exists: a new command is a module in ``cli/`` plus one line in :data:`COMMANDS`.  A command's
module is imported only when that command runs (or help lists them all), and heavy imports (the analysis core,
the Kubernetes client) happen inside commands, so a run pays only for what it uses.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import NoReturn

import click

from .. import __version__
from .boundary import run
from .options import EPILOG, HELP_WIDTH

COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("analyze", "analyze_command"),
    "gateways": ("listings", "gateways_command"),
    "gw": ("listings", "gateways_command"),
    "virtualservices": ("listings", "virtualservices_command"),
    "vs": ("listings", "virtualservices_command"),
    "httproutes": ("listings", "httproutes_command"),
    "hr": ("listings", "httproutes_command"),
    "pods": ("pods", "pods_command"),
    "routes": ("routes", "routes_command"),
    "trace": ("trace", "trace_command"),
    "test": ("test", "test_command"),
    "completion": ("completion", "completion_command"),
}
"""Every command (aliases too): its name -> (module in ``cli/``, the click command in it)."""


class _Commands(click.Group):
    """The group of :data:`COMMANDS`, each imported when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        command = getattr(importlib.import_module(f"{__package__}.{where[0]}"), where[1])
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": HELP_WIDTH, "terminal_width": HELP_WIDTH},
    epilog=EPILOG,
)
@click.version_option(__version__, "--version", prog_name="kubectl-meshctl", message="%(prog)s %(version)s")
@click.option("--debug", "debug_root", is_flag=True, help="Show tracebacks for errors.")
def cli(debug_root: bool) -> None:
    """Istio ingress gateways from kubectl: find unreachable routing rules, list gateways and their pods.

    \b
    Examples:
      kubectl meshctl analyze -f ./manifests
      kubectl meshctl analyze -f examples/seed.yaml -o json
      kubectl meshctl gateways -A
      kubectl meshctl pods
    """
    # --debug is read by the error boundary from the arguments; nothing to keep here


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point: the one error boundary (:func:`boundary.run`) around the command group."""
    run(cli, argv)


if __name__ == "__main__":  # pragma: no cover
    main()
