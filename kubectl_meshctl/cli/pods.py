"""``kubectl meshctl pods``: the ingress gateway pods and the argument ``routes`` takes for each."""

from __future__ import annotations

import click

from ..app.cluster_access import KubeOptions
from .options import LIST_OUTPUT, kubectl_options
from .output import emit_objects, not_found, now, print_table, say, say_all


@click.command("pods")
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
def pods_command(selector: str, gateway_ref: str | None, *, output: str | None, kube: KubeOptions) -> None:
    """List ingress gateway pods (all namespaces unless -n) and the argument for `routes`.

    \b
    Examples:
      kubectl meshctl pods
      kubectl meshctl pods --gateway default/gt-gateway
    """
    from ..app.pods import gateway_pods
    from ..listing.views import pod_rows

    found = gateway_pods(kube, selector=selector, gateway=gateway_ref, notify=lambda note: say(f"Note: {note}"))
    say_all(map(str, found.errors), prefix="Warning: ")
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
            for p in found.pods
        ]
        emit_objects("Pod", "pod", items, output)
    elif not found.pods:
        not_found(f"pods matching {found.selector or 'everything'}", found.namespace)
    else:
        print_table(pod_rows(found.pods, now=now()))
