"""Typed, immutable objects for the Istio and Kubernetes resources the plugin reads.

Why this module exists: raw dicts are parsed exactly once, at the edge (``parse.py``), into these
frozen dataclasses.  Everything past that edge -- translation, analysis, rendering -- works on a
:class:`Snapshot` and can rely on the invariants stated here instead of re-checking dict shapes.

Normalisation rules (they make structural equality mean what Istio's duplicate check means):

* absent strings are ``""``, absent numbers ``0``, absent lists ``()``;
* maps (headers, query parameters, labels) are tuples of ``(key, value)`` pairs sorted by key;
* lists that Istio compares order-sensitively (``gateways``) keep the order as written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import field, replace
from types import MappingProxyType
from typing import Any, Generic, Literal, TypeVar

from ..records import record

StringMatchKind = Literal["exact", "prefix", "regex", ""]
_NO_SPEC: Mapping[str, Any] = MappingProxyType({})
ROUTE_SEMANTICS = "internal.istio.io/route-semantics"
"""The annotation istiod puts on the VirtualServices it generates from Gateway API routes (value ``gateway``)."""


@record
class Origin:
    """Where an object came from: a file (with the document's first line) or a cluster."""

    source: str
    """The path as given on the command line or ``-`` for stdin; for a cluster object, the kubeconfig context."""
    line: int | None = None
    """1-based first line of the YAML document; ``None`` for JSON and cluster objects."""
    document: int = 0
    """0-based index of the document in its file (to find field lines later)."""
    item: str = ""
    """Path prefix inside the document for objects unwrapped from a ``kind: List`` (``items[2]``)."""
    cluster: bool = False
    """Read from a cluster (through the context ``source`` names): there is no file or line to point at."""


@record
class ObjectMeta:
    kind: str
    name: str
    namespace: str
    origin: Origin
    api_version: str = ""
    creation_timestamp: str = ""
    """RFC 3339 as served by the API server; ``""`` for file objects (istiod then orders by name)."""
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    order: int = 0
    """Position in the input (file order); only a tie-breaker of last resort."""

    @property
    def full_name(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def annotation(self, key: str) -> str | None:
        for k, v in self.annotations:
            if k == key:
                return v
        return None


@record
class StringMatch:
    """Istio StringMatch.  ``kind == ""`` is a present-but-empty match (``{}``)."""

    kind: StringMatchKind
    value: str = ""

    def describe(self) -> str:
        return f"{self.kind} {self.value}" if self.kind else "any"


@record
class HTTPMatch:
    name: str = ""
    uri: StringMatch | None = None
    scheme: StringMatch | None = None
    method: StringMatch | None = None
    authority: StringMatch | None = None
    headers: tuple[tuple[str, StringMatch], ...] = ()
    without_headers: tuple[tuple[str, StringMatch], ...] = ()
    query_params: tuple[tuple[str, StringMatch], ...] = ()
    ignore_uri_case: bool = False
    port: int = 0
    gateways: tuple[str, ...] = ()
    source_labels: tuple[tuple[str, str], ...] = ()
    source_namespace: str = ""
    stat_prefix: str = ""
    _hash: int | None = field(default=None, init=False, repr=False, compare=False)

    def __hash__(self) -> int:
        """The fields' hash, computed once: matches key the translation cache and Istio's duplicate check, 100,000
        lookups on a big mesh, each of which would otherwise hash every field (and each StringMatch) again."""
        cached = self._hash
        if cached is None:
            cached = hash(
                (
                    self.name,
                    self.uri,
                    self.scheme,
                    self.method,
                    self.authority,
                    self.headers,
                    self.without_headers,
                    self.query_params,
                    self.ignore_uri_case,
                    self.port,
                    self.gateways,
                    self.source_labels,
                    self.source_namespace,
                    self.stat_prefix,
                )
            )
            object.__setattr__(self, "_hash", cached)
        return cached

    def duplicate_key(self) -> HTTPMatch:
        """Istio compares matches as JSON with the name blanked (analysis.md A2.2)."""
        return replace(self, name="") if self.name else self


@record
class Destination:
    host: str = ""
    subset: str = ""
    port: int = 0


@record
class RouteDestination:
    destination: Destination | None
    weight: int = 0
    path: str = ""
    """Field path of ``destination.host`` for line lookup, e.g. ``spec.http[0].route[1].destination.host``."""


@record
class GeneratedFrom:
    """The Gateway API route rule (and match) istiod generated a VirtualService rule from."""

    kind: str
    """``HTTPRoute`` or ``GRPCRoute``."""
    namespace: str
    name: str
    rule: int
    match: int | None = None
    """``None`` for a rule without ``matches``."""

    @property
    def full_name(self) -> str:
        return f"{self.namespace}/{self.name}"


@record
class HTTPRule:
    index: int
    name: str = ""
    matches: tuple[HTTPMatch, ...] = ()
    route: tuple[RouteDestination, ...] = ()
    mirrors: tuple[RouteDestination, ...] = ()
    redirect: bool = False
    direct_response: bool = False
    delegate: tuple[str, str] | None = None
    timeout: str = ""
    spec: Mapping[str, Any] = field(default_factory=lambda: _NO_SPEC, compare=False, repr=False)
    """The rule's mapping as written (``spec.http[i]``), shared with the decoded document, never copied: for
    checks that compare a field as a whole (route tests compare ``rewrite``, ``fault``, ``headers`` ... the way
    protobuf equality would).  Not part of equality or hashing: two rules are the same rule by the typed fields."""
    generated_from: GeneratedFrom | None = None
    """Set on the rules of a VirtualService istiod generates from the Gateway API (``istio/gateway_api.py``)."""


@record
class L4Match:
    """A TCP or TLS match; compared structurally as a whole (no names in Istio)."""

    port: int = 0
    gateways: tuple[str, ...] = ()
    sni_hosts: tuple[str, ...] = ()
    destination_subnets: tuple[str, ...] = ()
    source_labels: tuple[tuple[str, str], ...] = ()
    source_namespace: str = ""


@record
class L4Rule:
    index: int
    matches: tuple[L4Match, ...] = ()
    route: tuple[RouteDestination, ...] = ()


@record
class VirtualService:
    meta: ObjectMeta
    hosts: tuple[str, ...] = ()
    gateways: tuple[str, ...] = ()
    export_to: tuple[str, ...] = ()
    http: tuple[HTTPRule, ...] = ()
    tcp: tuple[L4Rule, ...] = ()
    tls: tuple[L4Rule, ...] = ()

    @property
    def gateway_semantics(self) -> bool:
        """Generated by istiod from Gateway API routes (``internal.istio.io/route-semantics: gateway``): istiod then
        translates it slightly differently (path-separated prefixes)."""
        return self.meta.annotation(ROUTE_SEMANTICS) == "gateway"


@record
class ServerPort:
    number: int
    name: str = ""
    protocol: str = ""
    target_port: int = 0


@record
class ServerTLS:
    mode: str = ""
    credential_name: str = ""
    https_redirect: bool = False


@record
class Server:
    index: int
    port: ServerPort | None
    hosts: tuple[str, ...] = ()
    bind: str = ""
    name: str = ""
    tls: ServerTLS | None = None


@record
class Gateway:
    meta: ObjectMeta
    selector: tuple[tuple[str, str], ...] = ()
    servers: tuple[Server, ...] = ()


@record
class ServicePort:
    port: int
    name: str = ""
    protocol: str = ""
    """As written; ``""`` when absent in a file (the API server would default it to TCP)."""
    target_port: int | str = 0
    """0 when absent, an int, or a named container port."""


@record
class Service:
    meta: ObjectMeta
    selector: tuple[tuple[str, str], ...] | None = None
    """``None`` when the Service has no selector at all."""
    ports: tuple[ServicePort, ...] = ()
    type: str = ""
    external_name: str = ""


@record
class ContainerPort:
    container_port: int
    name: str = ""
    protocol: str = ""


@record
class Pod:
    meta: ObjectMeta
    container_ports: tuple[ContainerPort, ...] = ()
    phase: str = ""
    ready_containers: int = 0
    total_containers: int = 0
    pod_ip: str = ""
    node_name: str = ""
    unprivileged: bool = False

    @property
    def labels(self) -> tuple[tuple[str, str], ...]:
        return self.meta.labels


@record
class Subset:
    name: str
    labels: tuple[tuple[str, str], ...] = ()


@record
class DestinationRule:
    meta: ObjectMeta
    host: str = ""
    subsets: tuple[Subset, ...] = ()
    export_to: tuple[str, ...] = ()


@record
class ServiceEntry:
    meta: ObjectMeta
    hosts: tuple[str, ...] = ()
    export_to: tuple[str, ...] = ()
    ports: tuple[ServicePort, ...] = ()


# --------------------------------------------------------------------------- the Gateway API (gateway.networking.k8s.io)


@record
class LabelSelector:
    """A ``metav1.LabelSelector``: every ``match_labels`` pair and every expression must hold."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    """(key, operator ``In``/``NotIn``/``Exists``/``DoesNotExist``, values)."""


@record
class Listener:
    """One listener of a Gateway API Gateway."""

    name: str
    port: int
    protocol: str
    """``HTTP``, ``HTTPS``, ``TLS``, ``TCP``, ``UDP`` or an implementation-specific name, as written."""
    hostname: str = ""
    """``""``: every hostname."""
    tls_mode: str = ""
    """``Terminate`` (the default when ``tls`` is set), ``Passthrough``; ``""`` without ``tls``."""
    certificate_refs: tuple[tuple[str, str, str, str], ...] = ()
    """(group, kind, namespace, name); namespace ``""`` is the Gateway's."""
    allowed_from: Literal["Same", "All", "Selector"] = "Same"
    allowed_selector: LabelSelector | None = None
    allowed_kinds: tuple[tuple[str, str], ...] = ()
    """(group, kind) of ``allowedRoutes.kinds``; ``()``: the kinds the protocol supports."""


@record
class KubeGateway:
    """A Gateway API Gateway (``gateway.networking.k8s.io``)."""

    meta: ObjectMeta
    gateway_class: str = ""
    listeners: tuple[Listener, ...] = ()
    addresses: tuple[tuple[str, str], ...] = ()
    """(type, value) of ``spec.addresses``; type ``""`` is ``IPAddress``."""

    @property
    def listener_hostnames(self) -> tuple[str, ...]:
        """One entry per listener; ``""`` for a listener without hostname (matches every host)."""
        return tuple(listener.hostname for listener in self.listeners)


@record
class ParentRef:
    """A route's ``parentRefs`` entry."""

    name: str
    namespace: str = ""
    """``""``: the route's namespace."""
    group: str = "gateway.networking.k8s.io"
    kind: str = "Gateway"
    section_name: str = ""
    port: int = 0


@record
class KubeValueMatch:
    """A header or query parameter match of an HTTPRoute/GRPCRoute."""

    name: str
    value: str
    type: Literal["Exact", "RegularExpression"] = "Exact"


@record
class KubeRouteMatch:
    """One ``matches`` entry of an HTTPRoute rule (or a GRPCRoute rule, whose method match is in ``grpc_*``)."""

    path_type: Literal["Exact", "PathPrefix", "RegularExpression", ""] = ""
    """``""``: no path match (an HTTPRoute match defaults to ``PathPrefix /``; see the parser)."""
    path: str = ""
    headers: tuple[KubeValueMatch, ...] = ()
    query_params: tuple[KubeValueMatch, ...] = ()
    method: str = ""
    grpc_type: Literal["Exact", "RegularExpression", ""] = ""
    grpc_service: str = ""
    grpc_method: str = ""


@record
class BackendRef:
    name: str
    namespace: str = ""
    """``""``: the route's namespace."""
    group: str = ""
    kind: str = "Service"
    port: int = 0
    weight: int = 1
    filters: tuple[Mapping[str, Any], ...] = ()
    """The backend's own filters, as written (they change headers, not routing)."""


@record
class KubeRouteRule:
    index: int
    name: str = ""
    matches: tuple[KubeRouteMatch, ...] = ()
    backend_refs: tuple[BackendRef, ...] = ()
    filters: tuple[Mapping[str, Any], ...] = ()
    """``RequestHeaderModifier``, ``RequestRedirect``, ``URLRewrite``, ``RequestMirror`` ... as written."""
    timeouts: tuple[tuple[str, str], ...] = ()
    """(``request``/``backendRequest``, duration) as written."""
    retry: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    """``retry`` as written (its fields checked by the parser), ``None`` without one.  Only it, not the whole rule
    as written: the rule's JSON would keep a cluster's decoded pages alive (a fifth of a Gateway API analysis's
    memory)."""


@record
class KubeRoute:
    """An HTTPRoute or a GRPCRoute (``meta.kind`` says which); both attach and translate the same way."""

    meta: ObjectMeta
    parent_refs: tuple[ParentRef, ...] = ()
    hostnames: tuple[str, ...] = ()
    rules: tuple[KubeRouteRule, ...] = ()


@record
class ReferenceGrant:
    """Lets objects of ``from_`` kinds in other namespaces refer to objects of ``to`` kinds in this namespace."""

    meta: ObjectMeta
    from_: tuple[tuple[str, str, str], ...] = ()
    """(group, kind, namespace)."""
    to: tuple[tuple[str, str, str], ...] = ()
    """(group, kind, name); name ``""``: every object of the kind."""


@record
class GatewayClass:
    meta: ObjectMeta
    controller_name: str = ""


@record
class Namespace:
    """A namespace and its labels (``allowedRoutes`` selectors read them)."""

    meta: ObjectMeta


@record
class Snapshot:
    """Everything one run reads, read once.  Tuples keep input order."""

    gateways: tuple[Gateway, ...] = ()
    virtual_services: tuple[VirtualService, ...] = ()
    destination_rules: tuple[DestinationRule, ...] = ()
    service_entries: tuple[ServiceEntry, ...] = ()
    services: tuple[Service, ...] = ()
    pods: tuple[Pod, ...] = ()
    kube_gateways: tuple[KubeGateway, ...] = ()
    kube_routes: tuple[KubeRoute, ...] = ()
    """HTTPRoutes and GRPCRoutes."""
    reference_grants: tuple[ReferenceGrant, ...] = ()
    gateway_classes: tuple[GatewayClass, ...] = ()
    namespaces: tuple[Namespace, ...] = ()
    complete: frozenset[str] = frozenset()
    """The kinds (registry names) the input holds completely, so a check may conclude from an object's absence:
    every kind read from a cluster, and every kind of which files hold at least one object."""

    @property
    def has_pods(self) -> bool:
        """Pods were part of the input (then selector checks can run)."""
        return "Pod" in self.complete

    @property
    def has_services(self) -> bool:
        """Services were part of the input (then host checks can run)."""
        return "Service" in self.complete

    _pods_by_label: LabelIndex[Pod] | None = field(default=None, init=False, repr=False, compare=False)
    _services_by_namespace: dict[str, list[Service]] | None = field(default=None, init=False, repr=False, compare=False)

    def pods_selected_by(self, selector: tuple[tuple[str, str], ...]) -> list[Pod]:
        """The pods, in every namespace, a workload selector matches (an empty selector matches every pod)."""
        index = self._pods_by_label
        if index is None:
            index = LabelIndex(self.pods, _pod_labels)
            object.__setattr__(self, "_pods_by_label", index)
        return index.selected_by(selector)

    def services_in(self, namespace: str) -> list[Service]:
        """The Services of ``namespace``, in input order (a proxy looks only at its own namespace's)."""
        by_namespace = self._services_by_namespace
        if by_namespace is None:
            by_namespace = {}
            for svc in self.services:
                by_namespace.setdefault(svc.meta.namespace, []).append(svc)
            object.__setattr__(self, "_services_by_namespace", by_namespace)
        return by_namespace.get(namespace, [])


def labels_match(selector: tuple[tuple[str, str], ...], labels: tuple[tuple[str, str], ...]) -> bool:
    """Equality-based selector: every key/value of ``selector`` is in ``labels``."""
    if not selector:
        return True
    present = dict(labels)
    return all(present.get(k) == v for k, v in selector)


_T = TypeVar("_T")
Selector = tuple[tuple[str, str], ...]


def _pod_labels(pod: Pod) -> Selector:
    return pod.labels


def gateway_selector(gateway: Gateway) -> Selector:
    """A Gateway's workload selector (what :class:`SelectorIndex` files Gateways by)."""
    return gateway.selector


def selector_itself(selector: Selector) -> Selector:
    """For a :class:`SelectorIndex` of selectors themselves."""
    return selector


class LabelIndex(Generic[_T]):
    """Objects by each of their labels: what an equality-based selector picks, without trying every object.

    Why: a mesh of per-tenant gateways (thousands of Gateways, each selecting its own pods) made every selector meet
    every pod -- quadratic.  A selector's objects are those under its rarest label that carry the others too; they
    come in the objects' order."""

    __slots__ = ("_all", "_by_label", "_labels")

    def __init__(self, items: Iterable[_T], labels: Callable[[_T], Selector]) -> None:
        self._all = list(items)
        self._labels = labels
        self._by_label: dict[tuple[str, str], list[_T]] = {}
        for item in self._all:
            for pair in labels(item):
                self._by_label.setdefault(pair, []).append(item)

    def selected_by(self, selector: Selector) -> list[_T]:
        if not selector:
            return list(self._all)
        fewest = min((self._by_label.get(pair, []) for pair in selector), key=len)
        labels = self._labels
        return [item for item in fewest if labels_match(selector, labels(item))]


class SelectorIndex(Generic[_T]):
    """Objects by their selector: which of them select a set of labels, without trying every one (the reverse of
    :class:`LabelIndex`: the Gateways that select a pod).  Each object is filed under the label of its selector that
    the fewest selectors share -- a pod must carry it to be selected -- and the answer keeps the objects' order."""

    __slots__ = ("_by_label", "_selector", "_unselective")

    def __init__(self, items: Iterable[_T], selector: Callable[[_T], Selector]) -> None:
        listed = list(items)
        self._selector = selector
        shared: dict[tuple[str, str], int] = {}
        for item in listed:
            for pair in selector(item):
                shared[pair] = shared.get(pair, 0) + 1
        self._unselective: list[tuple[int, _T]] = []
        """Objects with an empty selector: they select everything."""
        self._by_label: dict[tuple[str, str], list[tuple[int, _T]]] = {}
        for position, item in enumerate(listed):
            own = selector(item)
            if not own:
                self._unselective.append((position, item))
                continue
            rarest = min(own, key=lambda pair: (shared[pair], pair))
            self._by_label.setdefault(rarest, []).append((position, item))

    def selecting(self, labels: Selector) -> list[_T]:
        found = dict(self._unselective)
        for pair in labels:
            for position, item in self._by_label.get(pair, ()):
                found[position] = item
        selector = self._selector
        return [found[position] for position in sorted(found) if labels_match(selector(found[position]), labels)]


def selector_string(selector: tuple[tuple[str, str], ...]) -> str:
    """Kubernetes ``labels.SelectorFromSet(...).String()``: sorted ``k=v`` joined by commas."""
    return ",".join(f"{k}={v}" for k, v in sorted(selector))
