"""What the listing commands show: rows and summary objects for gateways, virtualservices and pods.

Why this module exists: ``gateways``, ``vs`` and ``pods`` answer "what serves what" by joining
Gateways, VirtualServices, Pods and findings the way istiod joins them (selectors match pods in
every namespace, gateway references resolved as istiod resolves them).  These joins are pure
functions of a snapshot, the findings and the current time, so they are tested without a cluster.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .findings import Finding, Level
from .model import Gateway, Pod, Server, Snapshot, VirtualService, labels_match, selector_string
from .translation import vs_gateways


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
        if tls.credential_name:
            details.append(f"credential {tls.credential_name}")
        if details:
            text += f" ({', '.join(details)})"
    return text


def pod_ready(pod: Pod) -> bool:
    return pod.phase == "Running" and pod.total_containers > 0 and pod.ready_containers == pod.total_containers


@dataclass
class GatewayView:
    gateway: Gateway
    pods: list[Pod] = field(default_factory=list)
    virtual_services: list[VirtualService] = field(default_factory=list)

    @property
    def ready(self) -> str:
        return f"{sum(pod_ready(p) for p in self.pods)}/{len(self.pods)}"


def gateway_views(snapshot: Snapshot) -> list[GatewayView]:
    bound: dict[str, list[VirtualService]] = {}
    for vs in snapshot.virtual_services:
        for g in dict.fromkeys(vs_gateways(vs)):
            bound.setdefault(g, []).append(vs)
    views = []
    for gw in sorted(snapshot.gateways, key=lambda g: (g.meta.namespace, g.meta.name)):
        pods = [p for p in snapshot.pods if labels_match(gw.selector, p.labels)]
        views.append(GatewayView(gw, pods, bound.get(gw.meta.full_name, [])))
    return views


def gateway_rows(views: list[GatewayView], *, now: datetime, all_namespaces: bool, wide: bool) -> list[list[str]]:
    header = ["NAME", "SELECTOR", "SERVERS", "PODS", "VIRTUALSERVICES", "AGE"]
    if wide:
        header += ["POD NAMES", "BOUND VIRTUALSERVICES"]
    if all_namespaces:
        header.insert(0, "NAMESPACE")
    rows = [header]
    for v in views:
        g = v.gateway
        row = [
            g.meta.name,
            selector_string(g.selector) or "<all gateway pods>",
            ", ".join(describe_server(s) for s in g.servers) or "<none>",
            v.ready,
            str(len(v.virtual_services)),
            human_age(g.meta.creation_timestamp, now),
        ]
        if wide:
            row.append(",".join(f"{p.meta.name}.{p.meta.namespace}" for p in v.pods) or "<none>")
            row.append(",".join(vs.meta.full_name for vs in v.virtual_services) or "<none>")
        if all_namespaces:
            row.insert(0, g.meta.namespace)
        rows.append(row)
    return rows


def finding_summary(findings: list[Finding]) -> str:
    """``1 warning, 2 info`` (or ``none``) for the FINDINGS column."""
    counts = Counter(f.level for f in findings)
    parts = []
    for level, word in ((Level.ERROR, "error"), (Level.WARNING, "warning"), (Level.INFO, "info")):
        n = counts.get(level, 0)
        if n:
            parts.append(f"{n} {word}{'s' if n > 1 and word != 'info' else ''}")
    return ", ".join(parts) or "none"


def findings_by_object(findings: list[Finding]) -> dict[tuple[str, str, str], list[Finding]]:
    out: dict[tuple[str, str, str], list[Finding]] = {}
    for f in findings:
        out.setdefault((f.kind, f.namespace, f.name), []).append(f)
    return out


def virtual_service_rows(
    snapshot: Snapshot, findings: list[Finding], *, now: datetime, all_namespaces: bool, wide: bool
) -> list[list[str]]:
    per_object = findings_by_object(findings)
    header = ["NAME", "GATEWAYS", "HOSTS", "RULES", "FINDINGS", "AGE"]
    if all_namespaces:
        header.insert(0, "NAMESPACE")
    rows = [header]
    for vs in sorted(snapshot.virtual_services, key=lambda v: (v.meta.namespace, v.meta.name)):
        mine = per_object.get(("VirtualService", vs.meta.namespace, vs.meta.name), [])
        shown = mine if wide else [f for f in mine if f.level >= Level.WARNING]
        row = [
            vs.meta.name,
            ",".join(vs.gateways) or "mesh",
            ",".join(vs.hosts) or "<delegate>",
            str(len(vs.http) + len(vs.tcp) + len(vs.tls)),
            finding_summary(shown),
            human_age(vs.meta.creation_timestamp, now),
        ]
        if all_namespaces:
            row.insert(0, vs.meta.namespace)
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


def summary_line(findings: list[Finding], *, all_namespaces: bool) -> str | None:
    """``1 warning in default/vs-gateway: run kubectl meshctl analyze -n default`` (Warning and above)."""
    serious = [f for f in findings if f.level >= Level.WARNING]
    if not serious:
        return None
    objects = sorted({(f.namespace, f.name) for f in serious})
    namespaces = sorted({ns for ns, _ in objects})
    where = ", ".join(f"{ns}/{name}" for ns, name in objects[:3]) + (f" and {len(objects) - 3} more" if len(objects) > 3 else "")
    run = "-A" if all_namespaces or len(namespaces) > 1 else f"-n {namespaces[0]}"
    return f"{finding_summary(serious)} in {where}: run kubectl meshctl analyze {run}"
