"""The command line: flags in, a Source and the core called, text out, one exit code.

Why this module exists: it is the imperative shell and the only place that prints or exits.
Every error ends at :func:`main`, which maps it to an :class:`~kubectl_meshctl.exitcodes.ExitCode`
and prints one line (``--debug`` adds the traceback before it, never changes the code).  Everything
written to stderr goes through :func:`_say`: secrets redacted, control characters escaped, one line
per call.  Heavy imports (the analysis core, the Kubernetes client) happen inside commands, so
``--help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import click

from .. import __version__
from ..exitcodes import ExitCode, describe_exit_codes
from ..redact import escape, quote, redact

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


def _say(text: str) -> None:
    """Write one line to stderr, the only way anything reaches it: secrets redacted, newlines and escapes escaped."""
    click.echo(escape(redact(text)), err=True)


def _complete_from_cluster(ctx: click.Context, path: str, incomplete: str) -> list[str]:
    """Names served at ``path`` (e.g. ``/api/v1/namespaces``) for shell completion; nothing on any failure."""
    try:
        from ..kube.cluster import Api, connect

        params = ctx.params
        conn = connect(
            kubeconfig=params.get("kubeconfig"),
            context=params.get("kube_context"),
            namespace=params.get("namespace"),
            timeout=2.0,
        )
        body = Api(conn).get(path.format(namespace=conn.namespace), {"limit": 500})
    except Exception:  # completion must never print an error into the user's shell
        return []
    names = [str((i.get("metadata") or {}).get("name", "")) for i in body.get("items") or [] if isinstance(i, dict)]
    # a name the shell cannot show as typed (control characters) is no candidate
    return sorted(n for n in names if n.startswith(incomplete) and quote(n) == n)


def _complete_namespaces(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    return _complete_from_cluster(ctx, "/api/v1/namespaces", incomplete)


def _complete_gateways(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    return _complete_from_cluster(ctx, "/apis/networking.istio.io/v1/namespaces/{namespace}/gateways", incomplete)


def _complete_virtual_services(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    return _complete_from_cluster(ctx, "/apis/networking.istio.io/v1/namespaces/{namespace}/virtualservices", incomplete)


def kubectl_options(func: F) -> F:
    """The flags every kubectl plugin command accepts, in kubectl's spelling."""
    options = [
        click.option("--kubeconfig", metavar="PATH", help="Path to the kubeconfig file (else KUBECONFIG, ~/.kube/config)."),
        click.option("--context", "kube_context", metavar="NAME", help="The kubeconfig context to use."),
        click.option(
            "-n",
            "--namespace",
            metavar="NS",
            shell_complete=_complete_namespaces,
            help="Namespace (files: namespace for objects without one).",
        ),
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


# A fixed width makes help text identical everywhere, so entry.py can print the root help without click.
HELP_WIDTH = 100


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": HELP_WIDTH, "terminal_width": HELP_WIDTH},
    epilog=EPILOG,
)
@click.version_option(__version__, "--version", prog_name="kubectl-meshctl", message="%(prog)s %(version)s")
@click.option("--debug", "debug_root", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug_root: bool) -> None:
    """Istio ingress gateways from kubectl: find unreachable routing rules, list gateways and their pods.

    \b
    Examples:
      kubectl meshctl analyze -f ./manifests
      kubectl meshctl analyze -f examples/seed.yaml -o json
      kubectl meshctl gateways -A
      kubectl meshctl pods
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug_root


def _level(_ctx: click.Context, _param: click.Parameter, value: str) -> Any:
    from ..analysis.findings import Level

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
@click.option(
    "-k",
    "--use-kube/--no-use-kube",
    default=None,
    help="Read the cluster too (default: only when no -f is given; with -f, files override cluster objects).",
)
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
    from ..analysis import analyze as run_analysis
    from ..analysis.report import Suppression, annotation_suppressions, arrange, render_json, render_log, render_yaml, suppress
    from ..sources.files import FileSource

    files = [*filenames, *paths]
    try:
        rules = [Suppression.parse(s) for s in opts["suppressions"]]
    except ValueError as exc:
        raise PluginError(str(exc), ExitCode.USAGE) from None
    for rule in rules:
        if not rule.known:
            _say(f"Warning: Supplied message code '{rule.code}' is an unknown message code and will not have any effect.")
    use_kube = opts["use_kube"] if opts["use_kube"] is not None else not files
    cluster = None
    if use_kube:
        conn = _connect(opts)
        namespace = conn.namespace
        cluster = _read_cluster(conn, opts, kinds=("Gateway", "VirtualService", "DestinationRule", "Service", "Pod"))
    else:
        namespace = opts["namespace"] or "default"
    result = FileSource(files, default_namespace=namespace).read() if files else None
    if cluster is not None and result is not None:
        from ..sources.files import overlay

        result.snapshot = overlay(cluster.snapshot, result.snapshot)
        result.errors = cluster.errors + result.errors
    elif cluster is not None:
        result = cluster
    assert result is not None
    errors = [e for e in result.errors if not (opts["ignore_unknown"] and e.unknown_kind)]
    for error in errors:
        _say(f"Error: {error}")
    for warning in result.warnings:  # a repeated object: read once; warnings never change the exit code
        _say(f"Warning: {warning}")
    findings = suppress(run_analysis(result.snapshot), rules, annotation_suppressions(result.snapshot))
    if use_kube and not opts["all_namespaces"]:
        # as istioctl: findings on resources outside the selected namespace are dropped unless -A
        findings = [f for f in findings if f.namespace in (namespace, "")]
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
        for line in _success_lines([] if use_kube else files, target, len(errors)):
            _say(line)
    if failed:
        _say(f"Error: Analyzers found issues when analyzing {target}.")
        _say(f"See {ISTIO_ANALYSIS_DOCS} for more information about causes and resolutions.")
        raise _Exit(ExitCode.FINDINGS)
    if errors:
        raise _Exit(ExitCode.DATA)


def _with_line(f: Any, result: Any) -> Any:
    from dataclasses import replace

    if not f.field or f.origin is None or f.origin.line is None:
        return f
    return replace(f, line=result.field_line(f.origin, f.field))


def _success_lines(files: Sequence[str], target: str, unparsed: int) -> list[str]:
    if unparsed:
        return [f"No validation issues found when analyzing {target} (but {unparsed} file(s) could not be parsed)."]
    if not files:
        return [f"\u2714 No validation issues found when analyzing {target}."]
    if len(files) == 1:
        return [f"\u2714 No validation issues found when analyzing {files[0]}."]
    return ["\u2714 No validation issues found when analyzing:", *(f"  - {f}" for f in files)]


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point: the one error boundary.

    Every error becomes one ``Error: …`` line and its exit code; ``--debug`` (at the root or on a command) prints
    the traceback before that line and changes nothing else.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in (args[: args.index("--")] if "--" in args else args)
    try:
        cli.main(args=args, prog_name="kubectl meshctl", standalone_mode=False)
    except _Exit as done:
        sys.exit(int(done.code))
    except PluginError as exc:
        _fail(f"Error: {exc}", exc, debug=debug)
        sys.exit(int(exc.code))
    except click.exceptions.Abort:
        _say("Aborted.")
        sys.exit(int(ExitCode.ERROR))
    except click.ClickException as exc:
        _show_usage_error(exc)
        sys.exit(int(ExitCode.USAGE))
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(int(ExitCode.OK))
    except Exception as exc:
        _fail(f"Error: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", exc, debug=debug)
        sys.exit(int(ExitCode.ERROR))
    sys.exit(int(ExitCode.OK))


def _fail(line: str, exc: BaseException, *, debug: bool) -> None:
    if debug:
        for tb_line in _traceback_lines(exc):
            _say(tb_line)
    _say(line)


def _traceback_lines(exc: BaseException) -> list[str]:
    """Python's traceback of ``exc`` and its chain, each exception's own text on one line (it may hold input)."""
    import traceback

    chain: list[tuple[BaseException, str]] = []  # each exception, and the words leading from it to the one before
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, "The above exception was the direct cause of the following exception:"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, "During handling of the above exception, another exception occurred:"
        else:
            current = None
    lines: list[str] = []
    for item, words in reversed(chain):
        if item.__traceback__ is not None:
            lines.append("Traceback (most recent call last):")
            for frame in traceback.format_tb(item.__traceback__):
                lines.extend(frame.rstrip("\n").split("\n"))
        lines.append("".join(traceback.format_exception_only(type(item), item)).rstrip("\n"))
        if words:
            lines += ["", words, ""]
    return lines


def _show_usage_error(exc: click.ClickException) -> None:
    """click's ``exc.show()`` (usage, hint, ``Error: …``), one :func:`_say` per line."""
    ctx = exc.ctx if isinstance(exc, click.UsageError) else None
    if ctx is not None:
        for line in ctx.get_usage().split("\n"):
            _say(line)
        if ctx.command.get_help_option(ctx) is not None:
            _say(f"Try '{ctx.command_path} {max(ctx.command.get_help_option_names(ctx), key=len)}' for help.")
        _say("")
    _say(f"Error: {exc.format_message()}")


if __name__ == "__main__":  # pragma: no cover
    main()


# --------------------------------------------------------------------------- live cluster


def _connect(opts: dict[str, Any]) -> Any:
    from ..kube.cluster import ClusterError, connect, parse_duration

    try:
        timeout = parse_duration(opts["request_timeout"])
    except ValueError as exc:
        raise PluginError(str(exc), ExitCode.USAGE) from None
    try:
        return connect(kubeconfig=opts["kubeconfig"], context=opts["kube_context"], namespace=opts["namespace"], timeout=timeout)
    except ClusterError as exc:
        raise PluginError(str(exc), exc.code) from None


def _cluster_source(conn: Any, opts: dict[str, Any], *, kinds: Sequence[str], selectors: dict[str, str] | None = None) -> Any:
    from ..kube.cluster import Api, ClusterSource

    return ClusterSource(
        Api(conn), namespace=None if opts["all_namespaces"] else conn.namespace, kinds=kinds, selectors=selectors
    )


def _echo_notes(source: Any) -> None:
    for note in source.notes:
        _say(f"Note: {note}")


def _read_cluster(conn: Any, opts: dict[str, Any], *, kinds: Sequence[str], selectors: dict[str, str] | None = None) -> Any:
    from ..kube.cluster import ClusterError

    source = _cluster_source(conn, opts, kinds=kinds, selectors=selectors)
    try:
        result = source.read()
    except ClusterError as exc:
        raise PluginError(str(exc), exc.code) from None
    _echo_notes(source)
    return result


def _now() -> Any:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def _emit_objects(kind: str, plural: str, items: list[dict[str, Any]], output: str) -> None:
    import json

    import yaml

    if output == "name":
        for item in items:
            click.echo(f"{plural}/{quote(item['name'])}")
        return
    doc = {"apiVersion": "v1", "kind": "List", "items": [{"kind": kind, **i} for i in items]}
    if output == "json":
        click.echo(json.dumps(doc, indent=4))
    else:
        click.echo(yaml.safe_dump(doc, sort_keys=False), nl=False)


def _print_table(rows: list[list[str]]) -> None:
    from ..gocompat.tabwriter import table

    if len(rows) == 1:
        return
    # not click.echo: off a terminal it scans the text for ANSI codes to strip (3 ms on 2,000 rows); cells have none
    sys.stdout.write(table(rows))
    sys.stdout.flush()


def _not_found(kind: str, namespace: str | None) -> None:
    where = f" in {namespace} namespace" if namespace else ""
    _say(f"No {kind} found{where}.")


LIST_OUTPUT = click.Choice(["wide", "json", "yaml", "name"])


def _read_for_listing(opts: dict[str, Any], selectors: dict[str, str], *, part: str, use_cache: bool) -> tuple[Any, str | None]:
    """The Listing of everything the listing commands join and analyse, plus the namespace shown.

    The lists' metadata is always read from the API server (every object's resourceVersion); the full lists, their
    parsing and the analysis are skipped when the listing cache holds the result for exactly these objects.
    """
    from ..kube.cluster import ClusterError
    from ..listing import cache as listing_cache

    conn = _connect(opts)
    kinds = ("Gateway", "VirtualService", "DestinationRule", "Service", "Pod")
    source = _cluster_source(conn, opts, kinds=kinds, selectors=selectors)
    try:
        key = listing_cache.key_for(source.fetch(metadata_only=True).digest()) if use_cache else None
        listing = listing_cache.load(key, part=part) if key else None
        if listing is None:
            raw = source.fetch()
            from ..analysis import analyze as run_analysis
            from ..analysis.report import arrange
            from ..gcpause import paused_gc
            from ..listing.views import listing_of

            result = source.parse(raw)
            errors = tuple(str(e) for e in result.errors)
            findings = arrange(run_analysis(result.snapshot))
            with paused_gc():
                listing = listing_of(result.snapshot, findings, errors=errors)
            if key:
                listing_cache.store(key, listing)
    except ClusterError as exc:
        raise PluginError(str(exc), exc.code) from None
    _echo_notes(source)
    for error in listing.errors:
        _say(f"Warning: {error}")
    return listing, None if opts["all_namespaces"] else conn.namespace


def cache_option(func: F) -> F:
    return click.option(
        "--cache/--no-cache",
        "use_cache",
        default=True,
        show_default=True,
        help="Reuse the listing while no object read has changed (~/.kube/cache/meshctl).",
    )(func)


@cli.command("gateways")
@click.argument("name", required=False, shell_complete=_complete_gateways)
@click.option("-l", "--selector", default="", metavar="SELECTOR", help="Label selector for the Gateways (server-side).")
@click.option("-o", "--output", type=LIST_OUTPUT, default=None, help="wide, json, yaml or name.")
@cache_option
@kubectl_options
def gateways_command(name: str | None, selector: str, output: str | None, use_cache: bool, **opts: Any) -> None:
    """List Gateways: selector, servers, ready pods, bound VirtualServices (alias: gw).

    \b
    Examples:
      kubectl meshctl gateways -A
      kubectl meshctl gw gt-gateway -n default -o wide
    """
    from ..listing.views import gateway_rows, summary_line

    listing, namespace = _read_for_listing(opts, {"Gateway": selector}, part="gateways", use_cache=use_cache)
    items = [g for g in listing.gateways if (namespace is None or g["namespace"] == namespace)]
    if name is not None:
        items = [g for g in items if g["name"] == name]
        if not items:
            raise PluginError(f'gateways.networking.istio.io "{name}" not found', ExitCode.NOT_FOUND)
    if output in ("json", "yaml", "name"):
        _emit_objects("Gateway", "gateway.networking.istio.io", items, output)
    elif not items:
        _not_found("gateways", namespace)
    else:
        _print_table(gateway_rows(items, now=_now(), all_namespaces=namespace is None, wide=output == "wide"))
    wanted = {f"{g['namespace']}/{g['name']}" for g in items}
    wanted.update(vs for g in items for vs in g["virtualServices"])
    flagged = [f for f in listing.flags if f"{f.namespace}/{f.name}" in wanted]
    line = summary_line(flagged, all_namespaces=namespace is None)
    if line:
        _say(line)


cli.add_command(gateways_command, "gw")


@cli.command("virtualservices")
@click.argument("name", required=False, shell_complete=_complete_virtual_services)
@click.option("-l", "--selector", default="", metavar="SELECTOR", help="Label selector for the VirtualServices (server-side).")
@click.option("-o", "--output", type=LIST_OUTPUT, default=None, help="wide, json, yaml or name.")
@cache_option
@kubectl_options
def virtualservices_command(name: str | None, selector: str, output: str | None, use_cache: bool, **opts: Any) -> None:
    """List VirtualServices with their gateways, hosts, rules and findings (alias: vs).

    \b
    Examples:
      kubectl meshctl vs -A
      kubectl meshctl vs vs-gateway -n default -o wide
    """
    from ..listing.views import summary_line, virtual_service_rows

    listing, namespace = _read_for_listing(opts, {"VirtualService": selector}, part="virtualServices", use_cache=use_cache)
    items = [
        v
        for v in listing.virtual_services
        if (namespace is None or v["namespace"] == namespace) and (name is None or v["name"] == name)
    ]
    if name is not None and not items:
        raise PluginError(f'virtualservices.networking.istio.io "{name}" not found', ExitCode.NOT_FOUND)
    if output in ("json", "yaml", "name"):
        _emit_objects("VirtualService", "virtualservice.networking.istio.io", items, output)
    elif not items:
        _not_found("virtualservices", namespace)
    else:
        _print_table(virtual_service_rows(items, now=_now(), all_namespaces=namespace is None, wide=output == "wide"))
    shown = {(v["namespace"], v["name"]) for v in items}
    findings = [f for f in listing.flags if f.kind == "VirtualService" and (f.namespace, f.name) in shown]
    line = summary_line(findings, all_namespaces=namespace is None)
    if line:
        _say(line)


cli.add_command(virtualservices_command, "vs")


@cli.command("pods")
@click.option(
    "-l",
    "--selector",
    default="istio=ingressgateway",
    show_default=True,
    metavar="SELECTOR",
    help="Label selector for the gateway pods.",
)
@click.option("--gateway", "gateway_ref", metavar="NS/NAME", help="Use this Gateway's selector instead of -l.")
@click.option("-o", "--output", type=LIST_OUTPUT, default=None, help="wide, json, yaml or name.")
@kubectl_options
def pods_command(selector: str, gateway_ref: str | None, output: str | None, **opts: Any) -> None:
    """List ingress gateway pods (all namespaces unless -n) and the argument for `routes`.

    \b
    Examples:
      kubectl meshctl pods
      kubectl meshctl pods --gateway default/gt-gateway
    """
    from ..listing.views import pod_rows
    from ..resources.model import selector_string

    conn = _connect(opts)
    if gateway_ref:
        from ..istio.translation import resolve_gateway_name

        gw_full = resolve_gateway_name(gateway_ref, conn.namespace)
        gws = _read_cluster(conn, {**opts, "all_namespaces": True}, kinds=("Gateway",)).snapshot.gateways
        gw = next((g for g in gws if g.meta.full_name == gw_full), None)
        if gw is None:
            raise PluginError(f'gateways.networking.istio.io "{gw_full}" not found', ExitCode.NOT_FOUND)
        selector = selector_string(gw.selector)
    explicit_ns = opts["namespace"] is not None and not opts["all_namespaces"]
    result = _read_cluster(conn, {**opts, "all_namespaces": not explicit_ns}, kinds=("Pod",), selectors={"Pod": selector})
    pods = [p for p in result.snapshot.pods if not explicit_ns or p.meta.namespace == conn.namespace]
    for error in result.errors:
        _say(f"Warning: {error}")
    if output in ("json", "yaml", "name"):
        items = [
            {
                "name": p.meta.name,
                "namespace": p.meta.namespace,
                "ready": f"{p.ready_containers}/{p.total_containers}",
                "status": p.phase,
                "ip": p.pod_ip,
                "node": p.node_name,
                "routesArg": f"{p.meta.name}.{p.meta.namespace}",
                "creationTimestamp": p.meta.creation_timestamp,
            }
            for p in pods
        ]
        _emit_objects("Pod", "pod", items, output)
    elif not pods:
        _not_found(f"pods matching {selector or 'everything'}", conn.namespace if explicit_ns else None)
    else:
        _print_table(pod_rows(pods, now=_now()))


@cli.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_command(shell: str) -> None:
    """Print the shell completion script for kubectl-meshctl.

    \b
    Examples:
      source <(kubectl-meshctl completion bash)
      kubectl-meshctl completion zsh > "${fpath[1]}/_kubectl-meshctl"
      kubectl-meshctl completion fish > ~/.config/fish/completions/kubectl-meshctl.fish

    `kubectl meshctl <TAB>` (kubectl 1.26+) uses the kubectl_complete-meshctl executable installed with the plugin.
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(cli, {}, "kubectl-meshctl", "_KUBECTL_MESHCTL_COMPLETE").source())


def kubectl_complete(argv: Sequence[str] | None = None) -> NoReturn:
    """``kubectl_complete-meshctl``: kubectl's plugin completion protocol (cobra's ``__complete``).

    kubectl runs it with the words typed after ``kubectl meshctl``, the last being the word to
    complete, and expects one candidate per line followed by ``:<directive>`` (4 = no file completion).
    """
    from click.shell_completion import ShellComplete

    words = list(sys.argv[1:] if argv is None else argv)
    incomplete = words.pop() if words else ""
    completer = ShellComplete(cli, {}, "kubectl-meshctl", "_KUBECTL_MESHCTL_COMPLETE")
    try:
        items = completer.get_completions(words, incomplete)
    except Exception:  # never print an error into the user's shell
        items = []
    for item in items:
        click.echo(item.value)
    click.echo(":4")
    sys.exit(0)


# --------------------------------------------------------------------------- routes


def _predicted_dump(snapshot: Any, proxy: Any) -> bytes:
    """The config dump istiod's predicted RouteConfigurations would show (the same renderer as the proxy's)."""
    import json

    from ..envoy.config import route_configuration_json, static_backend_route_configs
    from ..istio.translation import routes_for_proxy

    predicted = routes_for_proxy(snapshot, proxy)
    typed = {"@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"}
    dump = {
        "configs": [
            {
                "@type": "type.googleapis.com/envoy.admin.v3.RoutesConfigDump",
                "static_route_configs": [{"route_config": {**typed, **rc}} for rc in static_backend_route_configs()],
                "dynamic_route_configs": [
                    {"route_config": {**typed, **route_configuration_json(rc)}} for rc in predicted.route_configurations
                ],
            }
        ]
    }
    return json.dumps(dump).encode()


def _split_target(target: str, default_namespace: str) -> tuple[str, str, str]:
    """``pod[.ns]`` or ``type/name[.ns]`` -> (type, name, namespace); namespaces cannot contain dots."""
    kind, _, rest = target.rpartition("/")
    name, dot, namespace = rest.rpartition(".")
    if not dot:
        name, namespace = rest, default_namespace
    return (kind.lower() or "pod"), name, namespace


def _resolve_pod(api: Any, snapshot_pods: Any, target: str | None, default_namespace: str) -> Any:
    """The gateway Pod to inspect: named, behind a deployment, or the only ingress gateway pod in reach."""
    if target is None:
        if len(snapshot_pods) != 1:
            names = ", ".join(f"{p.meta.name}.{p.meta.namespace}" for p in snapshot_pods) or "none"
            raise PluginError(f"give a pod: {len(snapshot_pods)} ingress gateway pods in reach ({names})", ExitCode.USAGE)
        pod = snapshot_pods[0]
        _say(f"Using the only ingress gateway pod in reach: {pod.meta.name}.{pod.meta.namespace}")
        return pod
    kind, name, namespace = _split_target(target, default_namespace)
    if kind in ("pod", "pods", "po"):
        pod = next((p for p in snapshot_pods if (p.meta.name, p.meta.namespace) == (name, namespace)), None)
        if pod is None:
            raise PluginError(f'pods "{name}" not found in namespace {namespace}', ExitCode.NOT_FOUND)
        return pod
    if kind in ("deployment", "deployments", "deploy"):
        from ..kube.cluster import ClusterError
        from ..kube.transport import segment

        try:
            deployment = api.get(f"/apis/apps/v1/namespaces/{segment(namespace)}/deployments/{segment(name)}")
        except ClusterError as exc:
            raise PluginError(str(exc), ExitCode.NOT_FOUND if exc.status == 404 else exc.code) from None
        selector = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        pods = [
            p
            for p in snapshot_pods
            if p.meta.namespace == namespace and all(dict(p.labels).get(k) == v for k, v in selector.items())
        ]
        if not pods:
            raise PluginError(f"deployment {namespace}/{name} has no pods", ExitCode.NOT_FOUND)
        return sorted(pods, key=lambda p: p.meta.name)[0]
    raise PluginError(f"unsupported target type {kind!r}: use pod/NAME or deployment/NAME", ExitCode.USAGE)


def _istio_version(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from ..routes.table import istio_minor  # the renderer's own rule, so the flag accepts exactly what it renders

    try:
        istio_minor(value)
    except ValueError:
        raise click.BadParameter(f"'{value}': expected an Istio version 1.18 or later, e.g. 1.24") from None
    return value


@cli.command("routes")
@click.argument("target", required=False, metavar="[POD[.NS] | TYPE/NAME[.NS]]")
@click.option("-f", "--file", "input_file", metavar="FILE|-", help="An Envoy config dump (with --predict: Istio resources).")
@click.option("--name", "route_name", default=None, help="Only route configurations with this name.")
@click.option(
    "--verbose", type=click.BOOL, default=True, is_flag=False, flag_value=True, help="--verbose=false: one line per route config."
)
@click.option("-o", "--output", type=click.Choice(["short", "json", "yaml"]), default="short", show_default=True)
@click.option(
    "--istio-version",
    default="1.24",
    show_default=True,
    callback=_istio_version,
    help="Render as this istioctl (1.23 shows the older VIRTUAL SERVICE column).",
)
@click.option("--proxy-admin-port", default=15000, show_default=True, type=int)
@click.option(
    "--predict", is_flag=True, help="Compute what istiod would send the pod from the resources instead of asking the proxy."
)
@click.option("--diff", is_flag=True, help="Rows where the proxy's routes and the prediction differ (exit 0 when they agree).")
@click.option(
    "--pod-labels", default="istio=ingressgateway", show_default=True, help="With -f --predict: the gateway pod's labels."
)
@click.option(
    "--pod-namespace", default="istio-system", show_default=True, help="With -f --predict: the gateway pod's namespace."
)
@kubectl_options
def routes_command(
    target: str | None,
    input_file: str | None,
    route_name: str | None,
    verbose: bool,
    output: str,
    istio_version: str,
    proxy_admin_port: int,
    predict: bool,
    diff: bool,
    pod_labels: str,
    pod_namespace: str,
    **opts: Any,
) -> None:
    """istioctl's `proxy-config routes` table, from a gateway pod, from a file, or predicted from the resources.

    \b
    Examples:
      kubectl meshctl routes istio-ingressgateway-5d7f9b8c4-x2x7q.istio-system
      kubectl meshctl routes deployment/istio-ingressgateway.istio-system --name http.8080
      kubectl meshctl routes -f config_dump.json
      kubectl meshctl routes istio-ingressgateway-5d7f9b8c4-x2x7q.istio-system --predict
      kubectl meshctl routes -f resources.yaml --predict --pod-labels istio=ingressgateway --pod-namespace istio-system
      kubectl meshctl routes istio-ingressgateway-5d7f9b8c4-x2x7q.istio-system --diff
    """
    from ..istio.translation import GatewayProxy
    from ..routes import table as routes_table

    def render(dump_bytes: bytes) -> str:
        try:
            dump = routes_table.load_route_dump(dump_bytes)
            if output == "json":
                return routes_table.render_routes_json(dump, name=route_name)
            if output == "yaml":
                return routes_table.render_routes_yaml(dump, name=route_name)
        except routes_table.RoutesError as exc:
            raise PluginError(str(exc), ExitCode.DATA) from None
        return routes_table.render_routes(dump, name=route_name, verbose=verbose, istio_version=istio_version)

    if input_file is not None and not predict:
        if diff:
            raise PluginError("--diff compares a pod with its prediction: give a pod, not -f", ExitCode.USAGE)
        data = _read_file(input_file)
        click.echo(render(data), nl=False)
        return
    if input_file is not None:  # offline prediction from resource files
        from ..sources.files import FileSource

        result = FileSource([input_file], default_namespace=opts["namespace"] or "default").read()
        for error in result.errors:
            _say(f"Error: {error}")
        for warning in result.warnings:
            _say(f"Warning: {warning}")
        pairs = (kv.partition("=") for kv in pod_labels.split(",") if kv)
        labels = tuple(sorted((key, value) for key, _, value in pairs))
        proxy = GatewayProxy("<predicted>", pod_namespace, labels)
        click.echo(render(_predicted_dump(result.snapshot, proxy)), nl=False)
        if result.errors:
            raise _Exit(ExitCode.DATA)
        return
    from ..kube.cluster import Api, ClusterError, fetch_config_dump

    conn = _connect(opts)
    wanted = ("Gateway", "VirtualService", "DestinationRule", "Service", "Pod") if predict or diff else ("Pod",)
    selectors = {} if target else {"Pod": "istio=ingressgateway"}
    result = _read_cluster(conn, {**opts, "all_namespaces": True}, kinds=wanted, selectors=selectors)
    pods = (
        result.snapshot.pods if target else [p for p in result.snapshot.pods if dict(p.labels).get("istio") == "ingressgateway"]
    )
    api = Api(conn)
    pod = _resolve_pod(api, pods, target, conn.namespace)
    proxy = GatewayProxy(
        pod.meta.name,
        pod.meta.namespace,
        pod.labels,
        unprivileged=pod.unprivileged,
        container_ports=tuple((p.name, p.container_port) for p in pod.container_ports if p.name),
    )
    if predict and not diff:
        click.echo(render(_predicted_dump(result.snapshot, proxy)), nl=False)
        return
    try:
        real, how = fetch_config_dump(api, pod.meta.name, pod.meta.namespace, port=proxy_admin_port)
    except ClusterError as exc:
        raise PluginError(str(exc), exc.code) from None
    if not diff:
        click.echo(render(real), nl=False)
        return
    actual = render(real).removesuffix("\n").split("\n")
    expected = render(_predicted_dump(result.snapshot, proxy)).removesuffix("\n").split("\n")
    header = actual[:1]
    only_proxy = [line for line in actual[1:] if line not in expected[1:]]
    only_predicted = [line for line in expected[1:] if line not in actual[1:]]
    if not only_proxy and not only_predicted:
        _say(f"The routes of {pod.meta.name}.{pod.meta.namespace} ({how}) agree with the prediction.")
        return
    # the table quotes any cell with a control character, so every line printed here is one printable row
    for line in header:
        click.echo(f"  {line}")
    for line in only_proxy:
        click.echo(f"- {line}")
    for line in only_predicted:
        click.echo(f"+ {line}")
    _say("- only in the proxy (stale or extra config), + only in the prediction (rejected or not yet pushed)")
    raise _Exit(ExitCode.DRIFT)


def _read_file(path: str) -> bytes:
    """A config dump from ``path`` or stdin (``-``), at most MAX_INPUT bytes."""
    from ..bounded_read import MAX_INPUT, TooLarge, read_at_most

    try:
        if path == "-":
            return read_at_most(sys.stdin.buffer, MAX_INPUT)
        with open(path, "rb") as fh:
            return read_at_most(fh, MAX_INPUT)
    except TooLarge as exc:
        raise PluginError(f"{path}: {exc}", ExitCode.DATA) from None
    except OSError as exc:
        raise PluginError(f"{path}: {exc.strerror or exc}", ExitCode.DATA) from None
