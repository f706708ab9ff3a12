"""``kubectl meshctl gateways``, ``vs`` and ``httproutes``: kubectl-style listings with the analysis' findings per object.

Their body is ``listing_run.show_listing``, which ``entry.py`` also runs without click for the usual command lines.
"""

from __future__ import annotations

import click

from ..app.cluster_access import KubeOptions
from .listing_run import show_listing
from .options import LIST_OUTPUT, cache_option, complete_gateways, complete_routes, complete_virtual_services, kubectl_options


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

    show_listing(GATEWAYS, name=name, selector=selector, output=output, use_cache=use_cache, kube=kube)


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

    show_listing(VIRTUAL_SERVICES, name=name, selector=selector, output=output, use_cache=use_cache, kube=kube)


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

    show_listing(ROUTES, name=name, selector=selector, output=output, use_cache=use_cache, kube=kube)
