"""The command group: global flags, and the one registration line per command.

Why this module exists: a new command is a module in ``cli/`` plus one ``add_command`` line here; heavy
imports (the analysis core, the Kubernetes client) happen inside commands, so ``--help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

import click

from .. import __version__
from .analyze import analyze_command
from .boundary import run
from .completion import completion_command
from .listings import gateways_command, virtualservices_command
from .options import EPILOG, HELP_WIDTH
from .pods import pods_command
from .routes import routes_command


@click.group(
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


cli.add_command(analyze_command)
cli.add_command(gateways_command)
cli.add_command(gateways_command, "gw")
cli.add_command(virtualservices_command)
cli.add_command(virtualservices_command, "vs")
cli.add_command(pods_command)
cli.add_command(routes_command)
cli.add_command(completion_command)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point: the one error boundary (:func:`boundary.run`) around the command group."""
    run(cli, argv)


if __name__ == "__main__":  # pragma: no cover
    main()
