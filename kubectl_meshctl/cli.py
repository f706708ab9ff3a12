"""The command line: flags in, a Source and the core called, text out, one exit code.

Why this module exists: it is the imperative shell and the only place that prints or exits.
Every error ends at :func:`main`, which maps it to an :class:`~kubectl_meshctl.exitcodes.ExitCode`
and prints one line (a traceback only with ``--debug``).  Heavy imports (the analysis core, the
Kubernetes client) happen inside commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import click

from . import __version__
from .exitcodes import ExitCode, describe_exit_codes

F = TypeVar("F", bound=Callable[..., Any])

ISTIO_ANALYSIS_DOCS = "https://istio.io/v1.24/docs/reference/config/analysis"


class PluginError(Exception):
    """An error the user can act on: printed as one line, exits with ``code``."""

    def __init__(self, message: str, code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.code = code


class _Exit(Exception):
    def __init__(self, code: ExitCode) -> None:
        self.code = code


def kubectl_options(func: F) -> F:
    """The flags every kubectl plugin command accepts, in kubectl's spelling."""
    options = [
        click.option("--kubeconfig", metavar="PATH", help="Path to the kubeconfig file (else KUBECONFIG, ~/.kube/config)."),
        click.option("--context", "kube_context", metavar="NAME", help="The kubeconfig context to use."),
        click.option("-n", "--namespace", metavar="NS", help="Namespace (files: namespace for objects without one)."),
        click.option("-A", "--all-namespaces", is_flag=True, help="All namespaces."),
        click.option(
            "--request-timeout",
            metavar="DURATION",
            default="0",
            show_default=True,
            help="Per-request timeout (e.g. 5s, 1m; 0 = none).",
        ),
        click.option("--debug", is_flag=True, help="Show tracebacks for errors."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


EPILOG = "Exit codes:\n\n\b\n" + describe_exit_codes()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110}, epilog=EPILOG)
@click.version_option(__version__, "--version", prog_name="kubectl-meshctl", message="%(prog)s %(version)s")
@click.option("--debug", "debug_root", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug_root: bool) -> None:
    """Istio ingress gateways from kubectl: analyse routing rules, list gateways, print routes.

    \b
    Examples:
      kubectl meshctl analyze -f ./manifests
      kubectl meshctl analyze -f examples/seed.yaml -o json
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug_root


def _level(_ctx: click.Context, _param: click.Parameter, value: str) -> Any:
    from .findings import Level

    try:
        return Level.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command(epilog=EPILOG)
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
    callback=_level,
    help="Exit 79 when a finding is at this level or above (Info, Warning, Error).",
)
@click.option(
    "--output-threshold", default="Info", show_default=True, callback=_level, help="Print findings at this level or above."
)
@click.option(
    "-S",
    "--suppress",
    "suppressions",
    multiple=True,
    metavar='"CODE=Kind ns/name"',
    help='Suppress findings, e.g. -S "IST0130=VirtualService default/*" (glob).',
)
@click.option("--ignore-unknown", is_flag=True, help="Skip objects of unknown kinds instead of failing with exit 65.")
@click.option("--color/--no-color", default=None, help="Colour the level words (default: on a terminal).")
@kubectl_options
@click.pass_context
def analyze(ctx: click.Context, /, filenames: tuple[str, ...], paths: tuple[str, ...], **opts: Any) -> None:
    """Find unreachable routing rules and gateway misconfigurations.

    Reports Istio's own findings (IST codes, istioctl's texts, without its known false
    positives) and the plugin's (MSH codes: rules shadowed by earlier rules, also across
    VirtualServices merged at a gateway host; bindings that never take effect).
    See docs/codes.md for every code.

    \b
    Examples:
      kubectl meshctl analyze -f examples/seed.yaml
      kubectl meshctl analyze -f ./manifests --failure-threshold Warning
      cat vs.yaml | kubectl meshctl analyze -f - -o json
    """
    from .analysis import analyze as run_analysis
    from .report import Suppression, annotation_suppressions, arrange, render_json, render_log, render_yaml, suppress
    from .sources import FileSource

    files = [*filenames, *paths]
    if not files:
        raise PluginError("no input: give files with -f FILE|DIR|- (live-cluster analysis is not available yet)", ExitCode.USAGE)
    try:
        rules = [Suppression.parse(s) for s in opts["suppressions"]]
    except ValueError as exc:
        raise PluginError(str(exc), ExitCode.USAGE) from None
    for rule in rules:
        if not rule.known:
            click.echo(
                f"Warning: Supplied message code '{rule.code}' is an unknown message code and will not have any effect.", err=True
            )
    namespace = opts["namespace"] or "default"
    result = FileSource(files, default_namespace=namespace).read()
    errors = [e for e in result.errors if not (opts["ignore_unknown"] and e.unknown_kind)]
    for error in errors:
        click.echo(f"Error: {error}", err=True)
    findings = suppress(run_analysis(result.snapshot), rules, annotation_suppressions(result.snapshot))
    findings = arrange(findings)
    failed = any(f.level >= opts["failure_threshold"] for f in findings)
    shown = [f for f in findings if f.level >= opts["output_threshold"]]
    shown = [_with_line(f, result) for f in shown]
    output = opts["output"]
    if output == "json":
        click.echo(render_json(shown), nl=False)
    elif output == "yaml":
        click.echo(render_yaml(shown), nl=False)
    else:  # istioctl prints the joined lines and a newline: an empty line when there is nothing
        color = opts["color"]
        if color is None:
            color = sys.stdout.isatty() and os.environ.get("TERM") != "dumb"
        click.echo(render_log(shown, color=color), nl=False)
    sys.stdout.flush()  # keep stdout before the stderr summary when both go to a terminal
    target = "all namespaces" if opts["all_namespaces"] else f"namespace: {namespace}"
    if not shown and output == "log":
        click.echo(_success_line(files, target, len(errors)), err=True)
    if failed:
        click.echo(f"Error: Analyzers found issues when analyzing {target}.", err=True)
        click.echo(f"See {ISTIO_ANALYSIS_DOCS} for more information about causes and resolutions.", err=True)
        raise _Exit(ExitCode.FINDINGS)
    if errors:
        raise _Exit(ExitCode.DATA)


def _with_line(f: Any, result: Any) -> Any:
    from dataclasses import replace

    if not f.field or f.origin is None or f.origin.line is None:
        return f
    return replace(f, line=result.field_line(f.origin, f.field))


def _success_line(files: Sequence[str], target: str, unparsed: int) -> str:
    if unparsed:
        return f"No validation issues found when analyzing {target} (but {unparsed} file(s) could not be parsed)."
    if len(files) == 1:
        return f"\u2714 No validation issues found when analyzing {files[0]}."
    return "\u2714 No validation issues found when analyzing:\n" + "\n".join(f"  - {f}" for f in files)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point: the one error boundary."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="kubectl meshctl", standalone_mode=False)
    except _Exit as done:
        sys.exit(int(done.code))
    except PluginError as exc:
        if debug:
            raise
        click.echo(f"Error: {exc}", err=True)
        sys.exit(int(exc.code))
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(int(ExitCode.ERROR))
    except click.ClickException as exc:
        exc.show()
        sys.exit(int(ExitCode.USAGE))
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(int(ExitCode.OK))
    except Exception as exc:
        if debug:
            raise
        click.echo(f"Error: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", err=True)
        sys.exit(int(ExitCode.ERROR))
    sys.exit(int(ExitCode.OK))


if __name__ == "__main__":  # pragma: no cover
    main()
