"""The resource types the fake serves: discovery documents and server-side Table conversion."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .selectors import COMMON_FIELDS, NAMESPACE_FIELDS, POD_FIELDS, FieldGetter

ISTIO_GROUP = "networking.istio.io"
ISTIO_VERSIONS = ("v1", "v1beta1", "v1alpha3")  # kube version priority order: the first served is preferred
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
GATEWAY_API_VERSIONS = ("v1", "v1beta1")
"""The group versions the Gateway API's standard channel (v1.2) serves; each kind in its own subset of them."""

NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a "
    "client to request the generation of an appropriate name automatically. Name is primarily intended for creation "
    "idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
AGE_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed "
    "to be set in happens-before order across separate operations. Clients may not set this value. It is represented in "
    "RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)

Row = list[Any]
RowFunc = Callable[[dict[str, Any], datetime.datetime], Row]


# ---- time formatting (k8s.io/apimachinery/pkg/util/duration.HumanDuration) --------------------------------------


def human_duration(seconds_total: float) -> str:
    seconds = int(seconds_total)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def parse_timestamp(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def format_timestamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def age(obj: Mapping[str, Any], now: datetime.datetime) -> str:
    created = parse_timestamp((obj.get("metadata") or {}).get("creationTimestamp"))
    if created is None:
        return "<unknown>"
    return human_duration((now - created).total_seconds())


# ---- resource types ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    description: str = ""
    priority: int = 0
    format: str = ""

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


@dataclass(frozen=True)
class ResourceType:
    group: str
    resource: str
    kind: str
    singular: str
    namespaced: bool
    versions: tuple[str, ...]
    columns: tuple[Column, ...]
    row: RowFunc
    fields: Mapping[str, FieldGetter] = field(default_factory=lambda: COMMON_FIELDS)
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[tuple[str, tuple[str, ...]], ...] = ()
    verbs: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
    custom: bool = False  # a CRD: list items keep apiVersion/kind, fixed-format printer columns

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.resource)

    @property
    def qualified(self) -> str:
        """``GroupResource.String()``: ``gateways.networking.istio.io`` or ``pods``."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def api_version(self, version: str) -> str:
        return f"{self.group}/{version}" if self.group else version

    def legacy_resources(self, version: str) -> list[dict[str, Any]]:
        """Entries of an ``APIResourceList`` (``/api/v1``, ``/apis/<g>/<v>``)."""
        main: dict[str, Any] = {
            "name": self.resource,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            main["shortNames"] = list(self.short_names)
        if self.categories:
            main["categories"] = list(self.categories)
        main["storageVersionHash"] = _hash(self.qualified)
        out = [main]
        for sub, verbs in self.subresources:
            kind = self.kind
            entry: dict[str, Any] = {"name": f"{self.resource}/{sub}", "singularName": "", "namespaced": self.namespaced}
            if sub in ("proxy", "portforward", "exec", "attach"):
                kind = {"proxy": "PodProxyOptions", "portforward": "PodPortForwardOptions"}.get(sub, kind)
                if self.kind == "Service" and sub == "proxy":
                    kind = "ServiceProxyOptions"
            entry.update({"kind": kind, "verbs": list(verbs)})
            out.append(entry)
        return out

    def aggregated_resource(self, version: str) -> dict[str, Any]:
        """One ``APIResourceDiscovery`` of an aggregated discovery document."""
        entry: dict[str, Any] = {
            "resource": self.resource,
            "responseKind": {"group": self.group, "version": version, "kind": self.kind},
            "scope": "Namespaced" if self.namespaced else "Cluster",
            "singularResource": self.singular,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        if self.subresources:
            subs = []
            for sub, verbs in self.subresources:
                kind = {"proxy": "PodProxyOptions", "portforward": "PodPortForwardOptions"}.get(sub, self.kind)
                if self.kind == "Service" and sub == "proxy":
                    kind = "ServiceProxyOptions"
                subs.append(
                    {
                        "subresource": sub,
                        "responseKind": {"group": self.group, "version": version, "kind": kind},
                        "verbs": list(verbs),
                    }
                )
            entry["subresources"] = subs
        return entry


def _hash(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()[:8]).decode()


# ---- printers ---------------------------------------------------------------------------------------------------

NAME_COLUMN = Column("Name", "string", NAME_DESCRIPTION, 0, "name")
AGE_COLUMN = Column("Age", "string", AGE_DESCRIPTION)
CRD_AGE_COLUMN = Column("Age", "date", AGE_DESCRIPTION)


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def pod_row(obj: dict[str, Any], now: datetime.datetime) -> Row:
    """``printPod`` of pkg/printers/internalversion (the parts a test cluster exercises)."""
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    reason = status.get("reason") or status.get("phase") or ""
    restarts = 0
    ready = 0
    has_running = False
    total = len(spec.get("containers") or [])
    init_statuses = status.get("initContainerStatuses") or []
    initializing = False
    for index, container in enumerate(init_statuses):
        restarts += int(container.get("restartCount") or 0)
        state = container.get("state") or {}
        terminated = state.get("terminated")
        if terminated and terminated.get("exitCode") == 0:
            continue
        initializing = True
        if terminated:
            reason = "Init:" + (terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}")
        elif (state.get("waiting") or {}).get("reason") not in (None, "", "PodInitializing"):
            reason = "Init:" + state["waiting"]["reason"]
        else:
            reason = f"Init:{index}/{len(spec.get('initContainers') or [])}"
        break
    if not initializing:
        restarts = 0
        for container in reversed(status.get("containerStatuses") or []):
            restarts += int(container.get("restartCount") or 0)
            state = container.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated:
                reason = (
                    f"Signal:{terminated['signal']}" if terminated.get("signal") else f"ExitCode:{terminated.get('exitCode')}"
                )
            elif container.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
            reason = "Running" if conditions.get("Ready") == "True" else "NotReady"
    meta = _meta(obj)
    if meta.get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    gates = spec.get("readinessGates") or []
    if gates:
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        gates_cell = f"{sum(1 for g in gates if conditions.get(g.get('conditionType')) == 'True')}/{len(gates)}"
    else:
        gates_cell = "<none>"
    return [
        meta.get("name", ""),
        f"{ready}/{total}",
        reason,
        str(restarts),
        age(obj, now),
        status.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        gates_cell,
    ]


POD_COLUMNS = (
    NAME_COLUMN,
    Column("Ready", description="The aggregate readiness state of this pod for accepting traffic."),
    Column("Status", description="The aggregate status of the containers in this pod."),
    Column(
        "Restarts",
        description="The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE_COLUMN,
    Column(
        "IP",
        description="podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
        priority=1,
    ),
    Column("Node", description="NodeName indicates in which node this pod is scheduled.", priority=1),
    Column(
        "Nominated Node", description="nominatedNodeName is set only when this pod preempts other pods on the node.", priority=1
    ),
    Column(
        "Readiness Gates",
        description="ConditionType refers to a condition in the pod's condition list with matching type.",
        priority=1,
    ),
)


def _service_external_ip(spec: Mapping[str, Any], status: Mapping[str, Any]) -> str:
    kind = spec.get("type") or "ClusterIP"
    external = list(spec.get("externalIPs") or [])
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        ingress = [i.get("ip") or i.get("hostname") or "" for i in ((status.get("loadBalancer") or {}).get("ingress") or [])]
        ips = [ip for ip in ingress if ip] + external
        return ",".join(ips) if ips else "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName") or "<none>"
    return "<unknown>"


def service_row(obj: dict[str, Any], now: datetime.datetime) -> Row:
    spec = obj.get("spec") or {}
    ports = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol") or "TCP"
        if port.get("nodePort"):
            ports.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            ports.append(f"{port.get('port')}/{protocol}")
    selector = spec.get("selector") or {}
    return [
        _meta(obj).get("name", ""),
        spec.get("type") or "ClusterIP",
        spec.get("clusterIP") or "<none>",
        _service_external_ip(spec, obj.get("status") or {}),
        ",".join(ports) if ports else "<none>",
        age(obj, now),
        ",".join(f"{k}={selector[k]}" for k in sorted(selector)) if selector else "<none>",
    ]


SERVICE_COLUMNS = (
    NAME_COLUMN,
    Column("Type", description="type determines how the Service is exposed. Defaults to ClusterIP."),
    Column("Cluster-IP", description="clusterIP is the IP address of the service and is usually assigned randomly."),
    Column(
        "External-IP",
        description="List of IP addresses for which nodes in the cluster will also accept traffic for this service.",
    ),
    Column("Port(s)", description="The list of ports that are exposed by this service."),
    AGE_COLUMN,
    Column(
        "Selector", description="Route service traffic to pods with label keys and values matching this selector.", priority=1
    ),
)


def namespace_row(obj: dict[str, Any], now: datetime.datetime) -> Row:
    return [_meta(obj).get("name", ""), (obj.get("status") or {}).get("phase") or "", age(obj, now)]


NAMESPACE_COLUMNS = (
    NAME_COLUMN,
    Column("Status", description="The status of the namespace"),
    AGE_COLUMN,
)


def _json_path_cell(obj: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """A ``type: string`` additionalPrinterColumn: scalars verbatim, arrays/maps as Go's jsonpath prints them (JSON)."""
    node: Any = obj
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    if node is None:
        return None
    if isinstance(node, str):
        return node
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, (list, dict)):
        return json.dumps(node, separators=(",", ":"))
    return str(node)


def crd_row(*paths: tuple[str, ...]) -> RowFunc:
    def row(obj: dict[str, Any], now: datetime.datetime) -> Row:
        return [_meta(obj).get("name", ""), *(_json_path_cell(obj, path) for path in paths), age(obj, now)]

    return row


ISTIO_CATEGORIES = ("istio-io", "networking-istio-io")
CRD_SUBRESOURCES = (("status", ("get", "patch", "update")),)


def istio_types(versions: tuple[str, ...]) -> list[ResourceType]:
    return [
        ResourceType(
            ISTIO_GROUP,
            "gateways",
            "Gateway",
            "gateway",
            True,
            versions,
            (NAME_COLUMN, CRD_AGE_COLUMN),
            crd_row(),
            short_names=("gw",),
            categories=ISTIO_CATEGORIES,
            subresources=CRD_SUBRESOURCES,
            custom=True,
        ),
        ResourceType(
            ISTIO_GROUP,
            "virtualservices",
            "VirtualService",
            "virtualservice",
            True,
            versions,
            (
                NAME_COLUMN,
                Column("Gateways", description="The names of gateways and sidecars that should apply these routes"),
                Column("Hosts", description="The destination hosts to which traffic is being sent"),
                CRD_AGE_COLUMN,
            ),
            crd_row(("spec", "gateways"), ("spec", "hosts")),
            short_names=("vs",),
            categories=ISTIO_CATEGORIES,
            subresources=CRD_SUBRESOURCES,
            custom=True,
        ),
        ResourceType(
            ISTIO_GROUP,
            "destinationrules",
            "DestinationRule",
            "destinationrule",
            True,
            versions,
            (NAME_COLUMN, Column("Host", description="The name of a service from the service registry"), CRD_AGE_COLUMN),
            crd_row(("spec", "host")),
            short_names=("dr",),
            categories=ISTIO_CATEGORIES,
            subresources=CRD_SUBRESOURCES,
            custom=True,
        ),
    ]


GATEWAY_API_CATEGORIES = ("gateway-api",)


def gateway_api_types() -> list[ResourceType]:
    """The standard channel's CRDs (v1.2) with their printer columns, as far as a plain JSON path prints them (a
    Gateway's Address and Programmed columns are filtered JSON paths: left out)."""
    hostnames = Column("Hostnames", description="")
    return [
        ResourceType(
            GATEWAY_API_GROUP,
            "gatewayclasses",
            "GatewayClass",
            "gatewayclass",
            False,
            ("v1", "v1beta1"),
            (NAME_COLUMN, Column("Controller", description=""), CRD_AGE_COLUMN),
            crd_row(("spec", "controllerName")),
            short_names=("gc",),
            categories=GATEWAY_API_CATEGORIES,
            subresources=CRD_SUBRESOURCES,
            custom=True,
        ),
        ResourceType(
            GATEWAY_API_GROUP,
            "gateways",
            "Gateway",
            "gateway",
            True,
            ("v1", "v1beta1"),
            (NAME_COLUMN, Column("Class", description=""), CRD_AGE_COLUMN),
            crd_row(("spec", "gatewayClassName")),
            short_names=("gtw",),
            categories=GATEWAY_API_CATEGORIES,
            subresources=CRD_SUBRESOURCES,
            custom=True,
        ),
        ResourceType(
            GATEWAY_API_GROUP,
            "httproutes",
            "HTTPRoute",
            "httproute",
            True,
            ("v1", "v1beta1"),
            (NAME_COLUMN, hostnames, CRD_AGE_COLUMN),
            crd_row(("spec", "hostnames")),
            categories=GATEWAY_API_CATEGORIES,
            subresources=CRD_SUBRESOURCES,
            custom=True,
        ),
        ResourceType(
            GATEWAY_API_GROUP,
            "grpcroutes",
            "GRPCRoute",
            "grpcroute",
            True,
            ("v1",),
            (NAME_COLUMN, hostnames, CRD_AGE_COLUMN),
            crd_row(("spec", "hostnames")),
            categories=GATEWAY_API_CATEGORIES,
            subresources=CRD_SUBRESOURCES,
            custom=True,
        ),
        ResourceType(
            GATEWAY_API_GROUP,
            "referencegrants",
            "ReferenceGrant",
            "referencegrant",
            True,
            ("v1beta1",),
            (NAME_COLUMN, CRD_AGE_COLUMN),
            crd_row(),
            short_names=("refgrant",),
            categories=GATEWAY_API_CATEGORIES,
            custom=True,
        ),
    ]


def core_types() -> list[ResourceType]:
    return [
        ResourceType(
            "",
            "namespaces",
            "Namespace",
            "namespace",
            False,
            ("v1",),
            NAMESPACE_COLUMNS,
            namespace_row,
            fields=NAMESPACE_FIELDS,
            short_names=("ns",),
            subresources=(("finalize", ("update",)), ("status", ("get", "patch", "update"))),
            verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
        ),
        ResourceType(
            "",
            "pods",
            "Pod",
            "pod",
            True,
            ("v1",),
            POD_COLUMNS,
            pod_row,
            fields=POD_FIELDS,
            short_names=("po",),
            categories=("all",),
            subresources=(
                ("log", ("get",)),
                ("portforward", ("create", "get")),
                ("proxy", ("create", "delete", "get", "patch", "update")),
                ("status", ("get", "patch", "update")),
            ),
        ),
        ResourceType(
            "",
            "services",
            "Service",
            "service",
            True,
            ("v1",),
            SERVICE_COLUMNS,
            service_row,
            short_names=("svc",),
            categories=("all",),
            subresources=(("proxy", ("create", "delete", "get", "patch", "update")), ("status", ("get", "patch", "update"))),
            verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
        ),
    ]
