"""What the listing commands show: rows and summary objects for gateways, virtualservices, httproutes and pods.

Why this module exists: ``gateways``, ``vs``, ``httproutes`` and ``pods`` answer "what serves what" by joining
Gateways, VirtualServices, the Gateway API's Gateways and routes, Pods and findings the way istiod joins them
(selectors match pods in every namespace, gateway references resolved as istiod resolves them, a Gateway API
Gateway's pods by the label istiod's deployment controller gives them, routes attached to listeners as istiod's
Gateway API conversion attaches them).  These joins are pure functions of a snapshot, the findings and the
current time, so they are tested without a cluster.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from ..analysis.levels import Level

GATEWAY_API = "gateway.networking.k8s.io"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
"""istio/gateway_api.py's label of a Gateway API Gateway's pods, repeated here: rendering a cached Listing must not
import the model (a test keeps them equal)."""

if TYPE_CHECKING:
    from ..analysis.findings import Finding
    from ..istio.gateway_api import ParentAttachment
    from ..resources.model import Gateway, KubeGateway, KubeRoute, Listener, ParentRef, Pod, Server, Snapshot, VirtualService

# model.py and translation.py are imported by the functions that join a snapshot: rendering a cached
# Listing needs neither


def parse_timestamp(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def human_age(created: str, now: datetime) -> str:
    """kubectl's ``duration.HumanDuration`` (the AGE column); ``<unknown>`` without a timestamp."""
    ts = parse_timestamp(created)
    if ts is None:
        return "<unknown>"
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    seconds = int((now - ts).total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m{s}s" if s else f"{minutes}m"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return f"{hours}h{m}m" if m else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d{h}h" if h else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y{dy}d" if dy else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def describe_server(server: Server) -> str:
    """``80/HTTP *`` or ``443/HTTPS app.example.com (tls SIMPLE, credential web-cert)``."""
    port = f"{server.port.number}/{server.port.protocol or '?'}" if server.port else "?/?"
    text = f"{port} {','.join(server.hosts) or '<no hosts>'}"
    tls = server.tls
    if tls is not None:
        details = []
        if tls.https_redirect:
            details.append("https redirect")
        if tls.mode:
            details.append(f"tls {tls.mode}")
        elif server.port is not None and server.port.protocol.upper() in ("HTTPS", "TLS"):
            details.append("tls PASSTHROUGH, no mode set")  # the API's default: istiod does not terminate it
        if tls.credential_name:
            details.append(f"credential {tls.credential_name}")
        if details:
            text += f" ({', '.join(details)})"
    return text


def describe_listener(listener: Listener) -> str:
    """``80/HTTP *.example.com`` or ``443/HTTPS app.example.com (tls Terminate, certificate web-cert)``: a Gateway API
    listener in :func:`describe_server`'s words (``*`` for a listener without hostname: it takes every host)."""
    text = f"{listener.port}/{listener.protocol or '?'} {listener.hostname or '*'}"
    if listener.tls_mode:
        details = [f"tls {listener.tls_mode}"]
        certificates = [f"{ns}/{name}" if ns else name for _, _, ns, name in listener.certificate_refs]
        if certificates:
            details.append(f"certificate {','.join(certificates)}")
        text += f" ({', '.join(details)})"
    return text


def describe_parent(ref: ParentRef, *, route_namespace: str) -> str:
    """``ns/gateway``, with ``/section`` and ``:port`` when the reference names them; another kind of parent (a
    Service, for the mesh) is prefixed with its kind."""
    text = f"{ref.namespace or route_namespace}/{ref.name}"
    if ref.section_name:
        text += f"/{ref.section_name}"
    if ref.port:
        text += f":{ref.port}"
    if ref.kind != "Gateway" or ref.group != GATEWAY_API:
        text = f"{ref.kind}/{text}"
    return text


def route_name(route: KubeRoute) -> str:
    """``HTTPRoute/ns/name``: how a Gateway's row names a route attached to it."""
    return f"{route.meta.kind}/{route.meta.namespace}/{route.meta.name}"


def pod_ready(pod: Pod) -> bool:
    return pod.phase == "Running" and pod.total_containers > 0 and pod.ready_containers == pod.total_containers


class GatewayView(NamedTuple):
    gateway: Gateway
    pods: list[Pod]
    virtual_services: list[VirtualService]


def gateway_views(snapshot: Snapshot) -> list[GatewayView]:
    from ..istio.translation import vs_gateways

    bound: dict[str, list[VirtualService]] = {}
    for vs in snapshot.virtual_services:
        for g in dict.fromkeys(vs_gateways(vs)):
            bound.setdefault(g, []).append(vs)
    views = []
    selected: dict[tuple[tuple[str, str], ...], list[Pod]] = {}  # Gateways mostly share a handful of selectors
    for gw in sorted(snapshot.gateways, key=lambda g: (g.meta.namespace, g.meta.name)):
        pods = selected.get(gw.selector)
        if pods is None:
            pods = selected[gw.selector] = snapshot.pods_selected_by(gw.selector)
        views.append(GatewayView(gw, list(pods), bound.get(gw.meta.full_name, [])))
    return views


class KubeGatewayView(NamedTuple):
    gateway: KubeGateway
    pods: list[Pod]
    routes: list[str]
    """The routes attached to one of its listeners at least (:func:`route_name`), sorted."""


def kube_gateway_views(snapshot: Snapshot, attachments: Iterable[ParentAttachment]) -> list[KubeGatewayView]:
    """The Gateway API's Gateways, their pods (the gateway-name label in the Gateway's namespace, as istiod's
    deployment controller labels them) and the routes ``attachments`` (istio/gateway_api.py) accepted."""
    attached: dict[tuple[str, str], set[str]] = {}
    for a in attachments:
        if a.accepted and a.gateway is not None:
            attached.setdefault((a.gateway.meta.namespace, a.gateway.meta.name), set()).add(route_name(a.route))
    pods_by_gateway: dict[tuple[str, str], list[Pod]] = {}
    for pod in snapshot.pods:
        name = dict(pod.labels).get(GATEWAY_NAME_LABEL)
        if name is not None:
            pods_by_gateway.setdefault((pod.meta.namespace, name), []).append(pod)
    views = []
    for kg in sorted(snapshot.kube_gateways, key=lambda g: (g.meta.namespace, g.meta.name)):
        key = (kg.meta.namespace, kg.meta.name)
        views.append(KubeGatewayView(kg, pods_by_gateway.get(key, []), sorted(attached.get(key, ()))))
    return views


class Flag(NamedTuple):
    """A finding reduced to what a summary line needs."""

    level: int
    kind: str
    namespace: str
    name: str


class Listing(NamedTuple):
    """What ``gateways`` and ``virtualservices`` show, as plain data (JSON- and marshal-able).

    Built once from a snapshot and its findings; the table, ``-o json|yaml|name`` and the summary line are all
    rendered from it, so a cached Listing renders exactly as a fresh one.  This module's records are NamedTuples,
    as every record on the listing-cache path (docs/architecture.md): no ``dataclasses`` import there.
    """

    gateways: tuple[dict[str, Any], ...]
    """Every Gateway, Istio's and the Gateway API's (these have an ``apiVersion``), sorted by namespace and name: the
    ``-o json`` item of ``gateways``."""
    virtual_services: tuple[dict[str, Any], ...]
    """Every VirtualService, sorted: the ``-o json`` item of ``virtualservices`` (findings: all levels)."""
    flags: tuple[Flag, ...]
    """Every finding of the analysis, reduced for the summary line."""
    errors: tuple[str, ...] = ()
    """Objects that could not be read, one line each."""
    routes: tuple[dict[str, Any], ...] = ()
    """Every HTTPRoute and GRPCRoute, sorted by namespace, name and kind: the ``-o json`` item of ``httproutes``."""


def listing_of(snapshot: Snapshot, findings: list[Finding], *, errors: tuple[str, ...] = ()) -> Listing:
    """The Listing of a snapshot; ``findings`` in the order the output should show them (``report.arrange``)."""
    from ..resources.model import selector_string

    per_object = findings_by_object(findings)
    # one string object per pod name and selector, shared by every Gateway that shows it: marshal (the listing
    # cache) then writes each once, not once per Gateway
    shared: dict[str, str] = {}
    gateways = tuple(
        {
            "name": v.gateway.meta.name,
            "namespace": v.gateway.meta.namespace,
            "selector": shared.setdefault(selector := selector_string(v.gateway.selector), selector),
            "servers": [describe_server(s) for s in v.gateway.servers],
            "pods": {
                "ready": sum(pod_ready(p) for p in v.pods),
                "total": len(v.pods),
                "names": [shared.setdefault(n := f"{p.meta.name}.{p.meta.namespace}", n) for p in v.pods],
            },
            "virtualServices": [vs.meta.full_name for vs in v.virtual_services],
            "creationTimestamp": v.gateway.meta.creation_timestamp,
        }
        for v in gateway_views(snapshot)
    )
    attachments: tuple[ParentAttachment, ...] = ()
    if snapshot.kube_routes or snapshot.kube_gateways:
        from ..istio.gateway_api import convert

        attachments = convert(snapshot).attachments
    if snapshot.kube_gateways:
        kube_gateways = [
            {
                "apiVersion": v.gateway.meta.api_version or f"{GATEWAY_API}/v1",
                "name": v.gateway.meta.name,
                "namespace": v.gateway.meta.namespace,
                "gatewayClass": v.gateway.gateway_class,
                "selector": f"{GATEWAY_NAME_LABEL}={v.gateway.meta.name}",
                "servers": [describe_listener(listener) for listener in v.gateway.listeners],
                "addresses": [value for _, value in v.gateway.addresses],
                "pods": {
                    "ready": sum(pod_ready(p) for p in v.pods),
                    "total": len(v.pods),
                    "names": [f"{p.meta.name}.{p.meta.namespace}" for p in v.pods],
                },
                "routes": v.routes,
                "creationTimestamp": v.gateway.meta.creation_timestamp,
            }
            for v in kube_gateway_views(snapshot, attachments)
        ]
        # one table: Istio's Gateway before the Gateway API's of the same namespace and name
        gateways = tuple(sorted((*gateways, *kube_gateways), key=lambda g: (g["namespace"], g["name"], "apiVersion" in g)))
    by_route: dict[tuple[str, str, str], list[ParentAttachment]] = {}
    for a in attachments:
        by_route.setdefault((a.route.meta.kind, a.route.meta.namespace, a.route.meta.name), []).append(a)
    routes = tuple(
        {
            "kind": r.meta.kind,
            "apiVersion": r.meta.api_version or f"{GATEWAY_API}/v1",
            "name": r.meta.name,
            "namespace": r.meta.namespace,
            "hostnames": list(r.hostnames),
            "parents": [
                {
                    "parentRef": describe_parent(a.parent, route_namespace=r.meta.namespace),
                    "accepted": a.accepted,
                    "reason": a.reason,
                    "message": a.message,
                    "listeners": [f"{a.parent.namespace or r.meta.namespace}/{a.parent.name}/{n}" for n in a.listeners],
                }
                for a in by_route.get((r.meta.kind, r.meta.namespace, r.meta.name), [])
            ],
            "rules": len(r.rules),
            "findings": [
                {"code": f.code, "level": f.level.word, "message": f.message}
                for f in per_object.get((r.meta.kind, r.meta.namespace, r.meta.name), [])
            ],
            "creationTimestamp": r.meta.creation_timestamp,
        }
        for r in sorted(snapshot.kube_routes, key=lambda r: (r.meta.namespace, r.meta.name, r.meta.kind))
    )
    virtual_services = tuple(
        {
            "name": vs.meta.name,
            "namespace": vs.meta.namespace,
            "gateways": list(vs.gateways),
            "hosts": list(vs.hosts),
            "rules": len(vs.http) + len(vs.tcp) + len(vs.tls),
            "findings": [
                {"code": f.code, "level": f.level.word, "message": f.message}
                for f in per_object.get((vs.meta.kind, vs.meta.namespace, vs.meta.name), [])
            ],
            "creationTimestamp": vs.meta.creation_timestamp,
        }
        for vs in sorted(snapshot.virtual_services, key=lambda v: (v.meta.namespace, v.meta.name))
    )
    flags = tuple(Flag(int(f.level), f.kind, f.namespace, f.name) for f in findings)
    return Listing(gateways, virtual_services, flags, errors, routes)


def gateway_rows(items: list[dict[str, Any]], *, now: datetime, all_namespaces: bool, wide: bool) -> list[list[str]]:
    """Istio's Gateways and the Gateway API's in one table.  With a Gateway API Gateway among them, the bound
    VirtualServices column is ROUTES (an Istio Gateway's VirtualServices, a Gateway API Gateway's attached routes)
    and ``-o wide`` adds its class and addresses; without one, the table is what it always was."""
    kube = any("apiVersion" in g for g in items)
    header = ["NAME", "SELECTOR", "SERVERS", "PODS", "ROUTES" if kube else "VIRTUALSERVICES", "AGE"]
    if wide:
        header += ["POD NAMES", "BOUND ROUTES" if kube else "BOUND VIRTUALSERVICES"]
        if kube:
            header += ["CLASS", "ADDRESSES"]
    if all_namespaces:
        header.insert(0, "NAMESPACE")
    rows = [header]
    ages: dict[str, str] = {}  # objects created together share a timestamp
    for g in items:
        created = g["creationTimestamp"]
        age = ages.get(created)
        if age is None:
            age = ages[created] = human_age(created, now)
        bound = g["routes"] if "apiVersion" in g else g["virtualServices"]
        row = [
            g["name"],
            g["selector"] or "<all gateway pods>",
            ", ".join(g["servers"]) or "<none>",
            f"{g['pods']['ready']}/{g['pods']['total']}",
            str(len(bound)),
            age,
        ]
        if wide:
            row.append(",".join(g["pods"]["names"]) or "<none>")
            row.append(",".join(bound) or "<none>")
            if kube:
                row.append(g.get("gatewayClass") or "<none>")
                row.append(",".join(g.get("addresses", ())) or "<none>")
        if all_namespaces:
            row.insert(0, g["namespace"])
        rows.append(row)
    return rows


def finding_summary(levels: Iterable[Level]) -> str:
    """``1 warning, 2 info`` (or ``none``) for the FINDINGS column and the summary line."""
    counts = Counter(levels)
    parts = []
    for level, word in ((Level.ERROR, "error"), (Level.WARNING, "warning"), (Level.INFO, "info")):
        n = counts.get(level, 0)
        if n:
            parts.append(f"{n} {word}{'s' if n > 1 and word != 'info' else ''}")
    return ", ".join(parts) or "none"


def findings_by_object(findings: Iterable[Finding]) -> dict[tuple[str, str, str], list[Finding]]:
    out: dict[tuple[str, str, str], list[Finding]] = {}
    for f in findings:
        out.setdefault((f.kind, f.namespace, f.name), []).append(f)
    return out


def virtual_service_rows(items: list[dict[str, Any]], *, now: datetime, all_namespaces: bool, wide: bool) -> list[list[str]]:
    header = ["NAME", "GATEWAYS", "HOSTS", "RULES", "FINDINGS", "AGE"]
    if all_namespaces:
        header.insert(0, "NAMESPACE")
    rows = [header]
    for vs in items:
        levels = [Level.parse(f["level"]) for f in vs["findings"]]
        row = [
            vs["name"],
            # a delegate binds to nothing itself: its routes serve wherever its roots are bound
            ",".join(vs["gateways"]) or ("mesh" if vs["hosts"] else "<root's>"),
            ",".join(vs["hosts"]) or "<delegate>",
            str(vs["rules"]),
            finding_summary(levels if wide else [lv for lv in levels if lv >= Level.WARNING]),
            human_age(vs["creationTimestamp"], now),
        ]
        if all_namespaces:
            row.insert(0, vs["namespace"])
        rows.append(row)
    return rows


def route_rows(items: list[dict[str, Any]], *, now: datetime, all_namespaces: bool, wide: bool) -> list[list[str]]:
    """``httproutes``: HTTPRoutes and GRPCRoutes as ``vs`` lists VirtualServices; PARENTS says for each parentRef
    whether the route attached (``Accepted``) or why not, as istiod writes it into the route's status."""
    header = ["NAME", "HOSTNAMES", "PARENTS", "RULES", "FINDINGS", "AGE"]
    if wide:
        header += ["KIND", "LISTENERS"]
    if all_namespaces:
        header.insert(0, "NAMESPACE")
    rows = [header]
    for r in items:
        levels = [Level.parse(f["level"]) for f in r["findings"]]
        row = [
            r["name"],
            ",".join(r["hostnames"]) or "*",
            ", ".join(f"{p['parentRef']} {p['reason']}" for p in r["parents"]) or "<none>",
            str(r["rules"]),
            finding_summary(levels if wide else [lv for lv in levels if lv >= Level.WARNING]),
            human_age(r["creationTimestamp"], now),
        ]
        if wide:
            row.append(r["kind"])
            row.append(",".join(name for p in r["parents"] for name in p["listeners"]) or "<none>")
        if all_namespaces:
            row.insert(0, r["namespace"])
        rows.append(row)
    return rows


def pod_rows(pods: list[Pod], *, now: datetime) -> list[list[str]]:
    rows = [["NAMESPACE", "NAME", "READY", "STATUS", "IP", "NODE", "AGE", "ROUTES-ARG"]]
    for p in sorted(pods, key=lambda p: (p.meta.namespace, p.meta.name)):
        rows.append(
            [
                p.meta.namespace,
                p.meta.name,
                f"{p.ready_containers}/{p.total_containers}",
                p.phase or "Unknown",
                p.pod_ip or "<none>",
                p.node_name or "<none>",
                human_age(p.meta.creation_timestamp, now),
                f"{p.meta.name}.{p.meta.namespace}",
            ]
        )
    return rows


class _Flagged(Protocol):
    @property
    def level(self) -> int: ...
    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...


def summary_line(findings: Iterable[_Flagged], *, all_namespaces: bool) -> str | None:
    """``1 warning in default/vs-gateway: run kubectl meshctl analyze -n default`` (Warning and above)."""
    serious = [f for f in findings if f.level >= Level.WARNING]
    if not serious:
        return None
    objects = sorted({(f.namespace, f.name) for f in serious})
    namespaces = sorted({ns for ns, _ in objects})
    where = ", ".join(f"{ns}/{name}" for ns, name in objects[:3]) + (f" and {len(objects) - 3} more" if len(objects) > 3 else "")
    run = "-A" if all_namespaces or len(namespaces) > 1 else f"-n {namespaces[0]}"
    return f"{finding_summary(Level(f.level) for f in serious)} in {where}: run kubectl meshctl analyze {run}"
