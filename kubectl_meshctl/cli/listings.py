"""``kubectl meshctl gateways``, ``vs`` and ``httproutes``: kubectl-style listings with the analysis' findings per object."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..app.cluster_access import KubeOptions
from .options import LIST_OUTPUT, cache_option, complete_gateways, complete_routes, complete_virtual_services, kubectl_options
from .output import emit_objects, not_found, now, print_table, say, say_all

if TYPE_CHECKING:
    from ..app.listings import ListingKind


def _list(kind: ListingKind, *, name: str | None, selector: str, output: str | None, use_cache: bool, kube: KubeOptions) -> None:
    from ..app.listings import GATEWAYS, VIRTUAL_SERVICES, read_listing, rows_shown
    from ..listing.views import gateway_rows, route_rows, summary_line, virtual_service_rows

    read = read_listing(kube, kind=kind, selector=selector, use_cache=use_cache)
    say_all(read.notes, prefix="Note: ")
    say_all(read.listing.errors, prefix="Warning: ")
    shown = rows_shown(read, kind=kind, name=name)
    namespace = shown.namespace
    if output == "name":
        for item in shown.items:  # Istio's Gateways and the Gateway API's, HTTPRoutes and GRPCRoutes: each its own type
            emit_objects(kind.kind.kind, kind.type_name(item), [item], output)
    elif output in ("json", "yaml"):
        emit_objects(kind.kind.kind, "", shown.items, output)
    elif not shown.items:
        not_found(kind.kind.plural, namespace)
    else:
        rows = gateway_rows if kind is GATEWAYS else virtual_service_rows if kind is VIRTUAL_SERVICES else route_rows
        print_table(rows(shown.items, now=now(), all_namespaces=namespace is None, wide=output == "wide"))
    line = summary_line(shown.flags, all_namespaces=namespace is None)
    if line:
        say(line)


@click.command("gateways")
@click.argument("name", required=False, shell_complete=complete_gateways)
@click.option("-l", "--selector", default="", metavar="SELECTOR", help="Label selector for the Gateways (server-side).")
@click.option("-o", "--output", type=LIST_OUTPUT, default=None, help="wide, json, yaml or name.")
@cache_option
@kubectl_options
def gateways_command(name: str | None, selector: str, *, output: str | None, use_cache: bool, kube: KubeOptions) -> None:
    """List Gateways: selector, servers, ready pods, bound VirtualServices (alias: gw).

    Gateway API Gateways are listed beside Istio's when the cluster serves them: their listeners as servers, their
    pods by the gateway.networking.k8s.io/gateway-name label, the HTTPRoutes and GRPCRoutes attached to them as routes
    (-o wide: their class and addresses too).

    \b
    Examples:
      kubectl meshctl gateways -A
      kubectl meshctl gw gt-gateway -n default -o wide
    """
    from ..app.listings import GATEWAYS

    _list(GATEWAYS, name=name, selector=selector, output=output, use_cache=use_cache, kube=kube)


@click.command("virtualservices")
@click.argument("name", required=False, shell_complete=complete_virtual_services)
@click.option("-l", "--selector", default="", metavar="SELECTOR", help="Label selector for the VirtualServices (server-side).")
@click.option("-o", "--output", type=LIST_OUTPUT, default=None, help="wide, json, yaml or name.")
@cache_option
@kubectl_options
def virtualservices_command(name: str | None, selector: str, *, output: str | None, use_cache: bool, kube: KubeOptions) -> None:
    """List VirtualServices with their gateways, hosts, rules and findings (alias: vs).

    \b
    Examples:
      kubectl meshctl vs -A
      kubectl meshctl vs vs-gateway -n default -o wide
    """
    from ..app.listings import VIRTUAL_SERVICES

    _list(VIRTUAL_SERVICES, name=name, selector=selector, output=output, use_cache=use_cache, kube=kube)


@click.command("httproutes")
@click.argument("name", required=False, shell_complete=complete_routes)
@click.option("-l", "--selector", default="", metavar="SELECTOR", help="Label selector for the routes (server-side).")
@click.option("-o", "--output", type=LIST_OUTPUT, default=None, help="wide, json, yaml or name.")
@cache_option
@kubectl_options
def httproutes_command(name: str | None, selector: str, *, output: str | None, use_cache: bool, kube: KubeOptions) -> None:
    """List HTTPRoutes and GRPCRoutes with their parents, hostnames, rules and findings (alias: hr).

    PARENTS gives each parentRef (namespace/gateway[/section][:port]) and whether the route attached to it
    (Accepted) or why not (NoMatchingParent, NotAllowedByListeners, NoMatchingListenerHostname, UnsupportedValue),
    as istiod decides it.  -o wide adds the kind and the listeners attached to.

    \b
    Examples:
      kubectl meshctl httproutes -A
      kubectl meshctl hr web -n shop -o wide
      kubectl meshctl hr -A -o json
    """
    from ..app.listings import ROUTES

    _list(ROUTES, name=name, selector=selector, output=output, use_cache=use_cache, kube=kube)
