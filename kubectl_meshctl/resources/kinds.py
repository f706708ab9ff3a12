"""The resource kinds the plugin reads: one record per kind, and every list of kinds derives from it.

Why this module exists: which kinds are read, where the API server serves them (group, versions,
plural), how a file names them (apiVersion and kind), which parser reads them and which snapshot
field holds them was spelled out by hand in ten places.  Adding a kind is now one :class:`Kind` in
:data:`KINDS`, its parser in ``parse.py`` and its model class in ``model.py``; parsing, snapshot
building and overlay (``sources/files.py``), the cluster's list requests and version discovery
(``kube/cluster_source.py``) and the annotation suppressions (``analysis/report.py``) read it.

It is plain data and imports nothing: the cluster's list requests are built from it before anything
is parsed (a listing served from the listing cache parses nothing, and creating the model classes
costs ~10 ms), so a record *names* its parser and model class; ``parse.py`` and ``sources/files.py``
look the names up when they are imported, so a wrong name fails at once.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

ISTIO_NETWORKING = "networking.istio.io"
ISTIO_VERSIONS = ("v1", "v1beta1", "v1alpha3")
"""The networking.istio.io versions read (files and cluster), preferred first."""
GATEWAY_API = "gateway.networking.k8s.io"

OtherVersions = Literal["refused", "unknown", "read"]


class Kind(NamedTuple):
    """One kind the plugin reads, and everything about it that reading it needs.

    A NamedTuple, not a dataclass: the registry is imported on every cluster read, and creating a dataclass
    costs ten times as much.
    """

    name: str
    """The registry's name, unique: what commands ask for.  The Istio kinds and the core kinds are named by their
    ``kind``; the Gateway API's Gateway is ``KubeGateway`` (``Gateway`` is Istio's)."""
    kind: str
    """The objects' ``kind`` field (their lists' kind is this and ``List``)."""
    group: str
    """The API group; ``""`` for the core group."""
    versions: tuple[str, ...]
    """The versions read, preferred first: the cluster is read in the first one it serves."""
    plural: str
    """The resource in API paths (``virtualservices``) and in RBAC rules."""
    parser: str
    """The function of ``resources/parse.py`` that reads one object: ``(raw, meta) -> model``."""
    model: str
    """The class of ``resources/model.py`` the parser returns."""
    snapshot_field: str
    """The field of :class:`~kubectl_meshctl.resources.model.Snapshot` holding the objects, in input order."""
    namespaced: bool = True
    """Objects live in a namespace (a file object without one gets the default namespace)."""
    other_versions: OtherVersions = "unknown"
    """What an object of this group and kind is in a version not in :attr:`versions`: ``refused`` (an error naming
    the versions read), ``unknown`` (an unknown kind, as any other), ``read`` (read anyway: the fields the plugin
    reads are the same in every version)."""
    installed_by: str = ""
    """What installs the group's CRDs (``Istio``), named when a cluster does not serve the group: the version read
    is then discovered from the cluster.  ``""`` for built-in kinds, read in their first version."""
    per_resource: bool = False
    """The group serves its kinds in different versions (the Gateway API): the version read is the first of
    :attr:`versions` whose resource list holds the kind, not merely the first the group serves."""
    suppressible: bool = False
    """Its ``galley.istio.io/analyze-suppress`` annotation suppresses ``analyze`` findings on it.  Suppressions are
    keyed by (kind field, namespace, name), so a kind whose ``kind`` another registered kind shares (the Gateway
    API's Gateway) must not be: its annotation would suppress the other's findings."""

    @property
    def discovered(self) -> bool:
        """The version to list is asked of the cluster (the group's CRDs may serve any of :attr:`versions`)."""
        return bool(self.installed_by)

    def reads(self, version: str) -> bool:
        """Objects of this kind in ``version`` (of an apiVersion) are parsed."""
        return version in self.versions or self.other_versions == "read"


GATEWAY = Kind(
    "Gateway",
    kind="Gateway",
    group=ISTIO_NETWORKING,
    versions=ISTIO_VERSIONS,
    plural="gateways",
    parser="parse_gateway",
    model="Gateway",
    snapshot_field="gateways",
    other_versions="refused",
    installed_by="Istio",
    suppressible=True,
)
VIRTUAL_SERVICE = Kind(
    "VirtualService",
    kind="VirtualService",
    group=ISTIO_NETWORKING,
    versions=ISTIO_VERSIONS,
    plural="virtualservices",
    parser="parse_virtual_service",
    model="VirtualService",
    snapshot_field="virtual_services",
    other_versions="refused",
    installed_by="Istio",
    suppressible=True,
)
DESTINATION_RULE = Kind(
    "DestinationRule",
    kind="DestinationRule",
    group=ISTIO_NETWORKING,
    versions=ISTIO_VERSIONS,
    plural="destinationrules",
    parser="parse_destination_rule",
    model="DestinationRule",
    snapshot_field="destination_rules",
    other_versions="refused",
    installed_by="Istio",
    suppressible=True,
)
SERVICE_ENTRY = Kind(
    "ServiceEntry",
    kind="ServiceEntry",
    group=ISTIO_NETWORKING,
    versions=ISTIO_VERSIONS,
    plural="serviceentries",
    parser="parse_service_entry",
    model="ServiceEntry",
    snapshot_field="service_entries",
    other_versions="refused",
    installed_by="Istio",
)
SERVICE = Kind(
    "Service",
    kind="Service",
    group="",
    versions=("v1",),
    plural="services",
    parser="parse_service",
    model="Service",
    snapshot_field="services",
    suppressible=True,
)
POD = Kind(
    "Pod",
    kind="Pod",
    group="",
    versions=("v1",),
    plural="pods",
    parser="parse_pod",
    model="Pod",
    snapshot_field="pods",
    suppressible=True,
)
KUBE_GATEWAY = Kind(
    "KubeGateway",
    kind="Gateway",
    group=GATEWAY_API,
    versions=("v1", "v1beta1"),
    plural="gateways",
    parser="parse_kube_gateway",
    model="KubeGateway",
    snapshot_field="kube_gateways",
    other_versions="read",
    installed_by="Gateway API",
    per_resource=True,
)

HTTP_ROUTE = Kind(
    "HTTPRoute",
    kind="HTTPRoute",
    group=GATEWAY_API,
    versions=("v1", "v1beta1"),
    plural="httproutes",
    parser="parse_kube_route",
    model="KubeRoute",
    snapshot_field="kube_routes",
    other_versions="read",
    installed_by="Gateway API",
    per_resource=True,
)
GRPC_ROUTE = Kind(
    "GRPCRoute",
    kind="GRPCRoute",
    group=GATEWAY_API,
    versions=("v1", "v1alpha2"),
    plural="grpcroutes",
    parser="parse_kube_route",
    model="KubeRoute",
    snapshot_field="kube_routes",
    other_versions="read",
    installed_by="Gateway API",
    per_resource=True,
)
REFERENCE_GRANT = Kind(
    "ReferenceGrant",
    kind="ReferenceGrant",
    group=GATEWAY_API,
    versions=("v1", "v1beta1", "v1alpha2"),
    plural="referencegrants",
    parser="parse_reference_grant",
    model="ReferenceGrant",
    snapshot_field="reference_grants",
    other_versions="read",
    installed_by="Gateway API",
    per_resource=True,
)
GATEWAY_CLASS = Kind(
    "GatewayClass",
    kind="GatewayClass",
    group=GATEWAY_API,
    versions=("v1", "v1beta1"),
    plural="gatewayclasses",
    parser="parse_gateway_class",
    model="GatewayClass",
    snapshot_field="gateway_classes",
    namespaced=False,
    other_versions="read",
    installed_by="Gateway API",
    per_resource=True,
)
NAMESPACE = Kind(
    "Namespace",
    kind="Namespace",
    group="",
    versions=("v1",),
    plural="namespaces",
    parser="parse_namespace",
    model="Namespace",
    snapshot_field="namespaces",
    namespaced=False,
)

KINDS: tuple[Kind, ...] = (
    GATEWAY,
    VIRTUAL_SERVICE,
    DESTINATION_RULE,
    SERVICE_ENTRY,
    SERVICE,
    POD,
    KUBE_GATEWAY,
    HTTP_ROUTE,
    GRPC_ROUTE,
    REFERENCE_GRANT,
    GATEWAY_CLASS,
    NAMESPACE,
)
"""Every kind read, in the order snapshots and cluster reads list them."""

ANALYSED_KINDS: tuple[str, ...] = (GATEWAY.name, VIRTUAL_SERVICE.name, DESTINATION_RULE.name, SERVICE.name, POD.name)
"""What ``analyze`` and ``routes --predict``/``--diff`` read from a cluster (ServiceEntries and the Gateway API's
kinds they read from files only), and what the listings read besides the Gateway API's (:data:`LISTED_KINDS`)."""

GATEWAY_API_KINDS: tuple[str, ...] = (
    KUBE_GATEWAY.name,
    HTTP_ROUTE.name,
    GRPC_ROUTE.name,
    REFERENCE_GRANT.name,
    GATEWAY_CLASS.name,
    NAMESPACE.name,
)
"""The Gateway API's kinds, and the Namespaces its ``allowedRoutes`` selectors read: what the listings read besides
:data:`ANALYSED_KINDS`, each only when the cluster serves it (a cluster without the Gateway API's CRDs lists as one
without them; Namespaces are listed only when one of the Gateway API kinds is)."""
LISTED_KINDS: tuple[str, ...] = ANALYSED_KINDS + GATEWAY_API_KINDS
"""What the listings (``gateways``, ``virtualservices``, ``httproutes``) read from a cluster; :data:`GATEWAY_API_KINDS`
are optional (read when served)."""

_BY_NAME = {k.name: k for k in KINDS}
_BY_GROUP_KIND = {(k.group, k.kind): k for k in KINDS}


def by_name(name: str) -> Kind:
    """The kind named ``name`` (:attr:`Kind.name`); ``KeyError`` for a name the registry does not hold."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no kind {name!r} in the registry (known: {', '.join(_BY_NAME)})") from None


def by_api_version(api_version: str, kind: str) -> Kind | None:
    """The kind an object with this ``apiVersion`` and ``kind`` is, whatever its version (see :meth:`Kind.reads`);
    ``None`` when the registry holds no kind of that group and kind."""
    return _BY_GROUP_KIND.get((api_version.rpartition("/")[0], kind))
