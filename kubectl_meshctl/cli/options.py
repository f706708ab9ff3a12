"""The flags commands share, typed: kubectl's connection flags become one frozen :class:`KubeOptions`.

Why this module exists: every cluster-reading command accepts kubectl's flags in kubectl's spelling, and shell
completion asks the cluster for names the same way; callbacks turn flag text into typed values (levels,
Istio versions) so a bad value is a usage error before any work starts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..app.cluster_access import KubeOptions
from ..exitcodes import describe_exit_codes
from ..redact import quote

if TYPE_CHECKING:
    from ..analysis.findings import Level

F = TypeVar("F", bound=Callable[..., Any])

EPILOG = "Exit codes:\n\n\b\n" + describe_exit_codes()

# A fixed width makes help text identical everywhere, so entry.py can print the root help without click.
HELP_WIDTH = 100

LIST_OUTPUT = click.Choice(["wide", "json", "yaml", "name"])


def _complete_from_cluster(ctx: click.Context, incomplete: str, *paths: str) -> list[str]:
    """Names served at ``paths`` (e.g. ``/api/v1/namespaces``) for shell completion; a path that fails (a kind the
    cluster does not serve) adds nothing, and nothing is ever printed."""
    try:
        from ..app.cluster_access import connect
        from ..kube.api import Api

        params = ctx.params
        options = KubeOptions(
            kubeconfig=params.get("kubeconfig"), context=params.get("kube_context"), namespace=params.get("namespace")
        )
        conn = connect(options, timeout=2.0)
        api = Api(conn)
    except Exception:  # completion must never print an error into the user's shell
        return []
    names: set[str] = set()
    for path in paths:
        try:
            body = api.get(path.format(namespace=conn.namespace), {"limit": 500})
        except Exception:
            continue
        names.update(str((i.get("metadata") or {}).get("name", "")) for i in body.get("items") or [] if isinstance(i, dict))
    # a name the shell cannot show as typed (control characters) is no candidate
    return sorted(n for n in names if n.startswith(incomplete) and quote(n) == n)


def complete_namespaces(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    return _complete_from_cluster(ctx, incomplete, "/api/v1/namespaces")


def complete_gateways(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    """Istio's Gateways and the Gateway API's (listed together by ``gateways``)."""
    return _complete_from_cluster(
        ctx,
        incomplete,
        "/apis/networking.istio.io/v1/namespaces/{namespace}/gateways",
        "/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/gateways",
    )


def complete_virtual_services(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    return _complete_from_cluster(ctx, incomplete, "/apis/networking.istio.io/v1/namespaces/{namespace}/virtualservices")


def complete_routes(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    """HTTPRoutes and GRPCRoutes (listed together by ``httproutes``)."""
    return _complete_from_cluster(
        ctx,
        incomplete,
        "/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/httproutes",
        "/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/grpcroutes",
    )


def kubectl_options(func: F) -> F:
    """kubectl's flags, in kubectl's spelling, handed to the command as one ``kube: KubeOptions`` argument.

    ``--debug`` is accepted here too; the error boundary reads it from the arguments, so commands never see it.
    """

    @functools.wraps(func)
    def command(
        *args: object,
        kubeconfig: str | None,
        kube_context: str | None,
        namespace: str | None,
        all_namespaces: bool,
        request_timeout: str,
        debug: bool,
        **kwargs: object,
    ) -> object:
        kube = KubeOptions(kubeconfig, kube_context, namespace, all_namespaces, request_timeout)
        return func(*args, kube=kube, **kwargs)

    options = [
        click.option("--kubeconfig", metavar="PATH", help="Path to the kubeconfig file (else KUBECONFIG, ~/.kube/config)."),
        click.option("--context", "kube_context", metavar="NAME", help="The kubeconfig context to use."),
        click.option(
            "-n",
            "--namespace",
            metavar="NS",
            shell_complete=complete_namespaces,
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
    wrapped: Callable[..., object] = command
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped  # type: ignore[return-value]  # same call signature for click, one typed argument for the body


def cache_option(func: F) -> F:
    return click.option(
        "--cache/--no-cache",
        "use_cache",
        default=True,
        show_default=True,
        help="Reuse the listing while no object read has changed, and the API server's discovery answers for 5 minutes (~/.kube/cache/meshctl).",
    )(func)


def level(_ctx: click.Context, _param: click.Parameter, value: str) -> Level:
    from ..analysis.findings import Level

    try:
        return Level.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def istio_version(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from ..routes.versions import istio_minor  # the renderer's own rule, so the flag accepts exactly what it renders

    try:
        istio_minor(value)
    except ValueError:
        raise click.BadParameter(f"'{value}': expected an Istio version 1.18 or later, e.g. 1.24") from None
    return value
