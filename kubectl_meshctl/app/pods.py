"""``pods``: the ingress gateway pods in reach, selected by a label selector or by a Gateway's own selector."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..records import record
from ..resources.kinds import GATEWAY, POD
from .cluster_access import KubeOptions, connect, read_cluster
from .errors import NotFound

if TYPE_CHECKING:
    from ..resources.model import Pod
    from ..sources.result import InputError


@record
class GatewayPods:
    pods: list[Pod]
    selector: str
    namespace: str | None
    """The namespace asked for with -n; None when every namespace was searched."""
    errors: tuple[InputError, ...]
    """Pods of the cluster that could not be parsed (listed without them)."""


def gateway_pods(kube: KubeOptions, *, selector: str, gateway: str | None, notify: Callable[[str], None]) -> GatewayPods:
    """Pods matching ``selector``, or the selector of the Gateway ``NS/NAME``; every namespace unless -n is given."""
    from ..istio.translation import resolve_gateway_name
    from ..resources.model import selector_string

    conn = connect(kube)
    if gateway:
        full_name = resolve_gateway_name(gateway, conn.namespace)
        read = read_cluster(conn, all_namespaces=True, kinds=(GATEWAY.name,))
        for note in read.notes:
            notify(note)
        found = next((g for g in read.result.snapshot.gateways if g.meta.full_name == full_name), None)
        if found is None:
            raise NotFound(f'gateways.networking.istio.io "{full_name}" not found')
        selector = selector_string(found.selector)
    explicit_namespace = kube.namespace is not None and not kube.all_namespaces
    read = read_cluster(conn, all_namespaces=not explicit_namespace, kinds=(POD.name,), selectors={POD.name: selector})
    for note in read.notes:
        notify(note)
    pods = [p for p in read.result.snapshot.pods if not explicit_namespace or p.meta.namespace == conn.namespace]
    return GatewayPods(pods, selector, conn.namespace if explicit_namespace else None, tuple(read.result.errors))
