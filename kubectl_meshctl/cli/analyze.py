"""``kubectl meshctl analyze``: flags in, :func:`app.analyze.analyze` called, findings rendered as istioctl does."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from ..app.cluster_access import KubeOptions
from ..exitcodes import ExitCode
from .boundary import CommandExit, PluginError
from .options import EPILOG, kubectl_options, level
from .output import echo, say, say_all

if TYPE_CHECKING:
    from ..analysis.findings import Level

ISTIO_ANALYSIS_DOCS = "https://istio.io/v1.24/docs/reference/config/analysis"


@click.command("analyze", epilog=EPILOG)
@click.option(
    "-f", "--filename", "filenames", multiple=True, metavar="FILE|DIR|-", help="Files, directories (recursive) or - for stdin."
)
@click.argument("paths", nargs=-1, metavar="[FILE|DIR|-]...")
@click.option(
    "-o", "--output", type=click.Choice(["log", "json", "yaml"]), default="log", show_default=True, help="Output format."
)
@click.option(
    "--failure-threshold",
    default="Error",
    show_default=True,
    callback=level,
    help="Exit 79 when a finding is at this level or above (Info, Warning, Error).",
)
@click.option(
    "--output-threshold", default="Info", show_default=True, callback=level, help="Print findings at this level or above."
)
@click.option(
    "-S",
    "--suppress",
    "suppressions",
    multiple=True,
    metavar='"CODE=Kind ns/name"',
    help='Suppress findings, e.g. -S "IST0130=VirtualService default/*" (glob).',
)
@click.option(
    "--ignore-unknown",
    is_flag=True,
    help="Skip kinds the API groups read do not have (typos) instead of failing with exit 65.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Under each MSH0101/MSH0102 finding, a request the dead rule matches and the route that takes it (a curl line).",
)
@click.option("--color/--no-color", default=None, help="Colour the level words (default: on a terminal).")
@click.option(
    "-k",
    "--use-kube/--no-use-kube",
    default=None,
    help="Read the cluster too (default: only when no -f is given; with -f, files override cluster objects).",
)
@kubectl_options
def analyze_command(
    filenames: tuple[str, ...],
    paths: tuple[str, ...],
    *,
    output: str,
    failure_threshold: Level,
    output_threshold: Level,
    suppressions: tuple[str, ...],
    ignore_unknown: bool,
    explain: bool,
    color: bool | None,
    use_kube: bool | None,
    kube: KubeOptions,
) -> None:
    """Find unreachable routing rules and gateway misconfigurations.

    Reports Istio's own findings (IST codes, istioctl's texts, without its known false
    positives) and the plugin's (MSH codes: rules shadowed by earlier rules, also across
    VirtualServices merged at a gateway host; bindings that never take effect).
    See docs/codes.md for every code.

    Objects of API groups the plugin does not read (Kustomizations, Argo
    Rollouts, cert-manager...) are skipped as istioctl skips them; YAML without
    apiVersion and kind found in a directory is skipped with a note, and is an
    error when named with -f.

    \b
    Examples:
      kubectl meshctl analyze -f examples/seed.yaml
      kubectl meshctl analyze -f ./manifests --failure-threshold Warning
      cat vs.yaml | kubectl meshctl analyze -f - -o json
    """
    from ..analysis.report import Suppression, render_json, render_log, render_yaml
    from ..app.analyze import AnalyzeRequest, analyze, failure_lines, success_lines

    try:
        rules = tuple(Suppression.parse(s) for s in suppressions)
    except ValueError as exc:
        raise PluginError(str(exc), ExitCode.USAGE) from None
    for rule in rules:
        if not rule.known:
            say(f"Warning: Supplied message code '{rule.code}' is an unknown message code and will not have any effect.")
    request = AnalyzeRequest(
        files=(*filenames, *paths),
        suppressions=rules,
        failure_threshold=failure_threshold,
        output_threshold=output_threshold,
        ignore_unknown=ignore_unknown,
        use_kube=use_kube,
        kube=kube,
        witnesses=explain or output in ("json", "yaml"),  # the plain log lines show none: not worth proving them
    )
    outcome = analyze(request)
    say_all(outcome.notes, prefix="Note: ")
    say_all(map(str, outcome.errors), prefix="Error: ")
    say_all(map(str, outcome.warnings), prefix="Warning: ")  # a repeated object: read once; never changes the exit code
    shown = list(outcome.shown)
    if output == "json":
        echo(render_json(shown), newline=False)
    elif output == "yaml":
        echo(render_yaml(shown), newline=False)
    else:  # istioctl prints the joined lines and a newline: an empty line when there is nothing
        if color is None:
            color = sys.stdout.isatty() and os.environ.get("TERM") != "dumb"
        echo(render_log(shown, color=color, explain=explain), newline=False)
    sys.stdout.flush()  # keep stdout before the stderr summary when both go to a terminal
    if not shown and output == "log":
        say_all(success_lines(outcome))
    if outcome.failed:
        say_all(failure_lines(outcome, docs=ISTIO_ANALYSIS_DOCS))
        raise CommandExit(ExitCode.FINDINGS)
    if outcome.errors:
        raise CommandExit(ExitCode.DATA)
