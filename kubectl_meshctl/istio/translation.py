"""What istiod would send an ingress-gateway proxy: Gateway + VirtualService -> RouteConfigurations.

Why this module exists: it is the project's one model of istiod (spec/translation.md).  The
``routes --predict`` table and the reachability analysis both read its output, so a rule the
analysis calls unreachable is exactly a rule whose Envoy route is missing or shadowed here.

A root VirtualService is translated as istiod does, once merged with its delegates (:mod:`.delegation`):
its routes carry the root in their metadata (``source``) and, as :class:`MergedRoute`, the rule and match as
written in the input (``written``, the delegate's for a delegated rule) for the analysis to name.  Where the
input cannot tell what istiod would do (a hypothetical proxy whose labels or namespace are unknown, a
delegate's own ``delegate`` rule), routes are kept but marked ``certain=False``: they never shadow another
route and never get a verdict of their own.  Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from ..envoy.route_model import (
    HeaderMatcher,
    PathSpec,
    QueryMatcher,
    Route,
    RouteAction,
    RouteConfiguration,
    RouteMatch,
    RouteSource,
    ValueMatcher,
    VirtualHost,
)
from ..records import record
from ..resources.model import (
    Gateway,
    HTTPMatch,
    HTTPRule,
    SelectorIndex,
    Server,
    Service,
    Snapshot,
    StringMatch,
    VirtualService,
    gateway_selector,
    labels_match,
)
from .delegation import Delegation, RuleOrigin, merge_delegates
from .hosts import (
    CLUSTER_DOMAIN_SUFFIX,
    HostCandidates,
    host_name,
    intersect_hosts,
    is_ip_address,
    names_for_namespace_split_once,
    resolve_shortname_to_fqdn,
    sanitize_server_hosts_split_once,
)
from .hosts import (
    resolve_gateway_name as resolve_gateway_name,  # re-exported: where the analysis and the app have always found it
)

HTTP_PROTOCOLS = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY"})
PASSTHROUGH_MODES = frozenset({"PASSTHROUGH", "AUTO_PASSTHROUGH"})

Applies = Literal["yes", "no", "maybe"]
LostWhy = Literal["protocol", "bind", "unnamed", "route-name"]


def tls_mode_of(server: Server) -> str:
    """The server's TLS mode as istiod reads it: upper case, ``PASSTHROUGH`` when ``tls`` names none (the enum's
    zero value); ``""`` without ``tls``."""
    if server.tls is None:
        return ""
    return server.tls.mode.upper() or "PASSTHROUGH"


def is_catch_all_route(match: RouteMatch) -> bool:
    """istiod's ``IsCatchAllRoute``: matches every path and has no header or query matcher."""
    if match.headers or match.query:
        return False
    p = match.path
    return (p.kind == "prefix" and p.value == "/") or (p.kind == "regex" and p.value == ".*")


def catch_alls_last(routes: list[Route]) -> list[Route]:
    """A merged virtual host's routes in istiod's order: its catch-all routes moved last, the others kept in order
    (``routes`` itself when it has none, the usual case)."""
    catch_all = [r for r in routes if is_catch_all_route(r.match)]
    if not catch_all:
        return routes
    return [r for r in routes if not is_catch_all_route(r.match)] + catch_all


# --------------------------------------------------------------------------- istiod's own records


@dataclass(eq=False, slots=True)
class MergedRoute(Route):
    """A route of a root VirtualService merged with its delegates.

    ``source`` names the merged rule istiod translated (the root VirtualService, the merged rule's position and
    name): istiod writes the root into the route's metadata and decorator.  ``written`` is the rule and match as
    written in the input -- in the delegate for a delegated rule -- which is what findings name.
    """

    written: RouteSource | None = None


@record
class Truncation:
    """A rule/match that istiod never translated because an earlier catch-all of its VS stopped it."""

    source: RouteSource
    by: Route
    written: RouteSource | None = None
    """For a merged VirtualService: the rule and match as written in the input (see :class:`MergedRoute`)."""


def written_at(item: Route | Truncation) -> RouteSource:
    """The rule and match as written in the input that a route (or a truncated match) comes from.

    The same as ``source`` except for root VirtualServices merged with delegates, whose rules are renumbered and
    whose delegated rules are written in the delegate.
    """
    written = item.written if isinstance(item, (MergedRoute, Truncation)) else None
    return item.source if written is None else written


@record
class GatewayProxy:
    """An ingress-gateway pod as istiod sees it.  ``hypothetical``: made up from a Gateway selector."""

    name: str
    namespace: str | None
    """``None`` when unknown (hypothetical proxy)."""
    labels: tuple[tuple[str, str], ...]
    hypothetical: bool = False
    unprivileged: bool = False
    container_ports: tuple[tuple[str, int], ...] = ()


class ServerRef(NamedTuple):
    """One server of one Gateway."""

    gateway: str
    """The Gateway's ``namespace/name``."""
    server_index: int


class ServerUse(NamedTuple):
    """Where a server's requests go at one proxy."""

    route_configuration: str
    routed: bool
    """Whether any VirtualService routes it (else its requests get a 404)."""


@dataclass(slots=True)
class ProxyRoutes:
    proxy: GatewayProxy
    route_configurations: list[RouteConfiguration]
    truncations: list[Truncation]
    servers: dict[ServerRef, ServerUse] = field(default_factory=dict)


class BuiltRoutes(NamedTuple):
    """One VirtualService's routes for one (gateway, port), and the rules cut off behind a catch-all."""

    routes: list[Route]
    truncations: list[Truncation]


class VisibleVirtualService(NamedTuple):
    virtual_service: VirtualService
    certain: bool
    """False when the proxy's namespace is unknown and exportTo might hide it."""


class KeptServer(NamedTuple):
    """A server istiod keeps for a proxy (``mergeGateways``), with its sanitised hosts and its listener port."""

    gateway: Gateway
    server: Server
    hosts: tuple[str, ...]
    listen: int
    route_name: str | None
    """The route configuration its listener's filter chain asks for (``http.<listener port>``, or a terminating HTTPS
    server's own ``https.…``); ``None`` for a chain built from ``tcp``/``tls`` rules.  ``""`` for an HTTP server kept
    on a port whose first server is TLS: istiod gives its merged entry no name."""
    filed_as: str | None
    """The route configuration istiod builds from it (its ``ServersByRouteName`` key); usually ``route_name``."""


class LostServer(NamedTuple):
    """A server ``mergeGateways`` leaves without routes of its own at a proxy, and why."""

    gateway: Gateway
    server: Server
    listen: int
    why: LostWhy
    """``protocol``: the port's first server (``first``) has another protocol on that address; ``bind``: a server
    without TLS settings on an address TLS servers already use there; ``unnamed``: an HTTP server kept after a TLS
    first server, whose chain asks for route configuration ``""``; ``route-name``: its route configuration name is
    taken."""
    first: KeptServer | None
    """The listener port's first server (none for ``route-name``)."""


class MergeRecord:
    """What ``mergeGateways`` did with each server over the proxies it ran for: kept at one at least, or lost (the
    first reason seen).  A server dropped for repeating a TLS host is in neither: Istio's IST0145 reports those."""

    def __init__(self) -> None:
        self.kept: set[ServerRef] = set()
        self.lost: dict[ServerRef, LostServer] = {}

    def never_served(self, ref: ServerRef) -> LostServer | None:
        """Why the server was lost, if it was lost at every proxy its Gateway applies to."""
        return None if ref in self.kept else self.lost.get(ref)


# --------------------------------------------------------------------------- names


def creation_key(meta_ts: str, name: str, namespace: str) -> tuple[str, str, str]:
    return (meta_ts, name, namespace)


def in_istiod_order(virtual_services: Iterable[VirtualService]) -> list[VirtualService]:
    """VirtualServices in the order istiod processes them: creation time, then name, then namespace."""
    return sorted(virtual_services, key=lambda v: creation_key(v.meta.creation_timestamp, v.meta.name, v.meta.namespace))


def gateways_in_istiod_order(gateways: Iterable[Gateway]) -> list[Gateway]:
    """Gateways in the order istiod merges their servers: creation time, then name, then namespace."""
    return sorted(gateways, key=lambda g: creation_key(g.meta.creation_timestamp, g.meta.name, g.meta.namespace))


def vs_gateways(vs: VirtualService) -> tuple[str, ...]:
    if not vs.gateways:
        return ("mesh",)
    return tuple(resolve_gateway_name(g, vs.meta.namespace) for g in vs.gateways)


def vhost_name(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and is_ip_address(host) else f"{host}:{port}"


# --------------------------------------------------------------------------- match translation


def _value_matcher(sm: StringMatch, *, headers: bool) -> ValueMatcher:
    if not sm.kind or (sm.kind == "regex" and sm.value == "*"):
        return ValueMatcher("present")
    if headers and sm.kind == "exact" and sm.value == "":
        return ValueMatcher("present")
    return ValueMatcher(sm.kind, sm.value)


def translate_match(match: HTTPMatch | None, *, gateway_semantics: bool = False) -> RouteMatch:
    """Istio HTTPMatchRequest -> Envoy RouteMatch (translation.md §6.4).

    ``gateway_semantics``: the VirtualService was generated from the Gateway API (its
    ``internal.istio.io/route-semantics: gateway`` annotation); istiod then writes a prefix other than ``/`` as a
    ``path_separated_prefix`` without its trailing ``/`` (``TranslateRouteMatch``)."""
    if match is None:
        return RouteMatch(PathSpec("prefix", "/"))
    case_sensitive = not match.ignore_uri_case
    uri = match.uri
    if uri is None or not uri.kind:
        path = PathSpec("prefix", "/", case_sensitive)
    elif uri.kind == "exact":
        path = PathSpec("path", uri.value, case_sensitive)
    elif uri.kind == "prefix" and gateway_semantics and uri.value != "/":
        path = PathSpec("path_separated_prefix", uri.value.removesuffix("/"), case_sensitive)
    elif uri.kind == "prefix":
        path = PathSpec("prefix", uri.value, case_sensitive)
    else:
        path = PathSpec("regex", uri.value, case_sensitive)
    if not (match.headers or match.without_headers or match.method or match.authority or match.scheme or match.query_params):
        return RouteMatch(path)  # the usual match: a path alone
    headers: list[HeaderMatcher] = []
    for name, sm in match.headers:
        headers.append(HeaderMatcher(name.lower(), _value_matcher(sm, headers=True)))
    for name, sm in match.without_headers:
        vm = _value_matcher(sm, headers=True)
        headers.append(HeaderMatcher(name.lower(), vm, invert=True, treat_missing_as_empty=vm.kind != "present"))
    headers.sort(key=lambda h: h.name)
    for pseudo, sm_or_none in ((":method", match.method), (":authority", match.authority), (":scheme", match.scheme)):
        if sm_or_none is not None:
            headers.append(HeaderMatcher(pseudo, _value_matcher(sm_or_none, headers=True)))
    query = tuple(QueryMatcher(name, _value_matcher(sm, headers=False)) for name, sm in match.query_params)
    return RouteMatch(path, tuple(headers), query)


# --------------------------------------------------------------------------- the proxy's view


class _Index:
    """Per-snapshot lookups shared by every proxy."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.gateways = gateways_in_istiod_order(snapshot.gateways)
        ordered = in_istiod_order(snapshot.virtual_services)
        self.delegation: Delegation = merge_delegates(ordered)
        merged = {id(m.root): m.merged for m in self.delegation.merged}
        self.virtual_services = [merged.get(id(vs), vs) for vs in ordered if vs.hosts]
        """What istiod binds to gateways: VirtualServices with hosts, roots merged with their delegates."""
        self.origins: dict[int, tuple[RuleOrigin, ...]] = {id(m.merged): m.origins for m in self.delegation.merged}
        """Where each rule of a merged root VirtualService is written, by ``id`` of the merged VirtualService."""
        self.services_by_host: dict[str, list[Service]] = {}
        for svc in snapshot.services:
            host = f"{svc.meta.name}.{svc.meta.namespace}.svc.{CLUSTER_DOMAIN_SUFFIX}"
            self.services_by_host.setdefault(host, []).append(svc)
        self.resolved_hosts = {
            id(vs): tuple(resolve_shortname_to_fqdn(h, vs.meta.namespace) for h in vs.hosts) for vs in self.virtual_services
        }
        self.resolved_gateways = {id(vs): vs_gateways(vs) for vs in self.virtual_services}
        self.translated: dict[bool, dict[HTTPMatch, RouteMatch]] = {False: {}, True: {}}
        """Each match's translation, by ``gateway_semantics`` then by the match."""
        self.actions: dict[tuple[tuple[tuple[str, int], ...], str, bool], RouteAction] = {}
        """Each distinct route action once, by its content (routes share them: immutable).  Kept per rule and port
        instead, they were a tenth of a Gateway API analysis's peak memory and were never reused."""
        self.by_gateway: dict[str, list[VirtualService]] = {}
        for vs in self.virtual_services:
            for g in self.resolved_gateways[id(vs)]:
                self.by_gateway.setdefault(g, []).append(vs)
        self.gateway_selectors = SelectorIndex(self.gateways, gateway_selector)
        """:attr:`gateways` by selector: the ones selecting a proxy, in that order, without trying each."""
        self.bound: dict[tuple[str | None, str], HostCandidates[VisibleVirtualService]] = {}
        """The VirtualServices bound to a gateway as a proxy of a namespace sees them (istiod's order), by host."""
        self._port_matched: dict[int, bool] = {}

    def port_matched(self, vs: VirtualService) -> bool:
        """Does a match of ``vs`` name a gateway port?  (Then its routes differ from port to port.)"""
        known = self._port_matched.get(id(vs))
        if known is None:
            known = self._port_matched[id(vs)] = any(m.port for rule in vs.http for m in rule.matches)
        return known


def vs_visibility(
    vs: VirtualService, proxy_namespace: str | None
) -> Literal["private", "exported", "public", "hidden", "unknown"]:
    export_to = vs.export_to or ("*",)
    if "~" in export_to:
        return "hidden"
    if "*" in export_to:
        return "public"
    namespaces = {vs.meta.namespace if e == "." else e for e in export_to}
    if proxy_namespace is None:
        return "unknown"
    if proxy_namespace not in namespaces:
        return "hidden"
    return "private" if proxy_namespace == vs.meta.namespace else "exported"


def visible_in_istiod_order(bound: Iterable[VirtualService], proxy_namespace: str | None) -> list[VisibleVirtualService]:
    """``VirtualServicesForGateway``: of the VirtualServices bound to one gateway (given in istiod's order), those a
    proxy in ``proxy_namespace`` sees -- its namespace's own, then those exported to it, then the public ones -- each
    with whether its visibility is certain (an unknown namespace puts every one not hidden from all among the public)."""
    groups: dict[str, list[VisibleVirtualService]] = {"private": [], "exported": [], "public": []}
    for vs in bound:
        vis = vs_visibility(vs, proxy_namespace)
        if vis == "hidden":
            continue
        groups["public" if vis == "unknown" else vis].append(VisibleVirtualService(vs, vis != "unknown"))
    return groups["private"] + groups["exported"] + groups["public"]


def _virtual_services_for_gateway(index: _Index, proxy: GatewayProxy, gateway: str) -> list[VisibleVirtualService]:
    return visible_in_istiod_order(index.by_gateway.get(gateway, ()), proxy.namespace)


def match_applies(match: HTTPMatch, *, gateway: str, port: int, proxy: GatewayProxy, vs_namespace: str) -> Applies:
    """Would istiod keep this match for (gateway, gateway port, proxy)?  (translation.md §6.1)"""
    if match.port and match.port != port:
        return "no"
    if match.gateways:
        return "yes" if any(resolve_gateway_name(g, vs_namespace) == gateway for g in match.gateways) else "no"
    verdict: Applies = "yes"
    if match.source_labels and not labels_match(match.source_labels, proxy.labels):
        if not proxy.hypothetical:
            return "no"
        verdict = "maybe"
    if match.source_namespace:
        if proxy.namespace is None:
            verdict = "maybe"
        elif match.source_namespace != proxy.namespace:
            return "no"
    return verdict


def _cluster_port(index: _Index, host: str, port: int, gateway_port: int) -> int:
    if port:
        return port
    services = index.services_by_host.get(host, [])
    if services and len(services[0].ports) == 1:
        return services[0].ports[0].port
    return gateway_port


_REDIRECT = RouteAction("redirect")
_DIRECT_RESPONSE = RouteAction("direct_response")
NOT_WORKED_OUT = RouteAction("route", (("<not worked out>", 0),))
"""The action of every route built with ``actions=False``: the analysis decides which route takes a request, never
where it goes, and working out each rule's clusters was 7% of it (``tests/test_translation.py`` checks the
findings do not change)."""


def _action(index: _Index, vs: VirtualService, rule: HTTPRule, gateway_port: int) -> RouteAction:
    if rule.redirect:
        return _REDIRECT
    if rule.direct_response:
        return _DIRECT_RESPONSE
    clusters = []
    for rd in rule.route:
        d = rd.destination
        if d is None:
            continue
        if len(rule.route) > 1 and rd.weight == 0:
            continue
        host = resolve_shortname_to_fqdn(d.host, vs.meta.namespace) if d.host else "UnknownService"
        port = _cluster_port(index, host, d.port, gateway_port)
        clusters.append((f"outbound|{port}|{d.subset}|{host}", rd.weight))
    key = (tuple(clusters), rule.timeout or "0s", len(rule.route) > 1)
    action = index.actions.get(key)
    if action is None:  # one object for each distinct action: thousands of rules route to the same few clusters
        action = index.actions[key] = RouteAction("route", *key)
    return action


def _written_source(origin: RuleOrigin, merged_match_index: int | None) -> RouteSource:
    """The rule (and match) as written in the input that one rule (and match) of a merged VirtualService comes from."""
    vs, rule = origin.virtual_service, origin.rule
    written_index = None if merged_match_index is None else origin.match_indexes[merged_match_index]
    if written_index is None:
        return RouteSource(vs.meta.namespace, vs.meta.name, rule.index, rule.name)
    return RouteSource(vs.meta.namespace, vs.meta.name, rule.index, rule.name, written_index, rule.matches[written_index].name)


def _route(
    match: RouteMatch,
    source: RouteSource,
    *,
    gateway: str,
    action: RouteAction,
    certain: bool,
    name: str,
    written: RouteSource | None,
) -> Route:
    if written is None:
        return Route(match, source, gateway, action, certain, name)
    return MergedRoute(match, source, gateway, action, certain, name, written)


def build_vs_routes(
    index: _Index,
    vs: VirtualService,
    *,
    gateway: str,
    port: int,
    proxy: GatewayProxy,
    certain: bool = True,
    actions: bool = True,
) -> BuiltRoutes:
    """``BuildHTTPRoutesForVirtualService`` for one (gateway, gateway port); ``actions=False``: every route's action
    is :data:`NOT_WORKED_OUT`."""
    routes: list[Route] = []
    truncations: list[Truncation] = []
    stopped_by: Route | None = None
    sure = certain
    ns, name = vs.meta.namespace, vs.meta.name
    gateway_semantics = vs.gateway_semantics
    origins = index.origins.get(id(vs))
    translated = index.translated[gateway_semantics]
    for rule in vs.http:
        origin = None if origins is None else origins[rule.index]
        action = _action(index, vs, rule, port) if actions else NOT_WORKED_OUT
        if stopped_by is not None:
            if not rule.matches:
                written = None if origin is None else _written_source(origin, None)
                truncations.append(Truncation(RouteSource(ns, name, rule.index, rule.name), stopped_by, written))
            for mi, m in enumerate(rule.matches):
                if match_applies(m, gateway=gateway, port=port, proxy=proxy, vs_namespace=ns) != "no":
                    written = None if origin is None else _written_source(origin, mi)
                    truncations.append(Truncation(RouteSource(ns, name, rule.index, rule.name, mi, m.name), stopped_by, written))
            continue
        if rule.delegate is not None:
            # A delegate's own ``delegate`` (only in a merged VirtualService): istiod does not follow it and translates
            # the rule as it stands -- a route without destinations, which Envoy refuses.  Nothing after it is certain.
            sure = False
        if not rule.matches:
            route = _route(
                translate_match(None),
                RouteSource(ns, name, rule.index, rule.name),
                gateway=gateway,
                action=action,
                certain=sure,
                name=rule.name,
                written=None if origin is None else _written_source(origin, None),
            )
            routes.append(route)
            if sure:
                stopped_by = route
            else:
                break
            continue
        for mi, m in enumerate(rule.matches):
            if stopped_by is not None:
                if match_applies(m, gateway=gateway, port=port, proxy=proxy, vs_namespace=ns) != "no":
                    written = None if origin is None else _written_source(origin, mi)
                    truncations.append(Truncation(RouteSource(ns, name, rule.index, rule.name, mi, m.name), stopped_by, written))
                continue
            if m.port or m.gateways or m.source_labels or m.source_namespace:
                applies = match_applies(m, gateway=gateway, port=port, proxy=proxy, vs_namespace=ns)
                if applies == "no":
                    continue
            else:
                applies = "yes"  # nothing in the match narrows where it applies (the usual case: no call)
            rmatch = translated.get(m)
            if rmatch is None:
                rmatch = translated[m] = translate_match(m, gateway_semantics=gateway_semantics)
            source = RouteSource(ns, name, rule.index, rule.name, mi, m.name)
            route_name = f"{rule.name}.{m.name}" if m.name else rule.name
            route = (
                Route(rmatch, source, gateway, action, sure and applies == "yes", route_name)
                if origin is None  # the usual VirtualService, not a merged one: no call, no keywords
                else MergedRoute(
                    rmatch, source, gateway, action, sure and applies == "yes", route_name, _written_source(origin, mi)
                )
            )
            routes.append(route)
            if is_catch_all_route(rmatch):
                if route.certain:
                    stopped_by = route
                else:
                    sure = False  # it may or may not be there: everything after is uncertain
    return BuiltRoutes(routes, truncations)


def target_ports(snapshot: Snapshot, proxy: GatewayProxy) -> dict[int, int]:
    """Service port -> container port, for the Services in the proxy's namespace that select it (the first Service
    naming a port decides it)."""
    if proxy.namespace is None:
        return {}
    named = dict(proxy.container_ports)
    out: dict[int, int] = {}
    key = "experimental.istio.io/disable-gateway-port-translation"
    for svc in snapshot.services_in(proxy.namespace):
        if not svc.selector or not labels_match(svc.selector, proxy.labels):
            continue
        if svc.meta.annotation(key) is not None or dict(svc.meta.labels).get(key) is not None:
            continue
        for p in svc.ports:
            target = named.get(p.target_port, p.port) if isinstance(p.target_port, str) else (p.target_port or p.port)
            out.setdefault(p.port, target)
    return out


def applicable_gateways(index: _Index, proxy: GatewayProxy) -> list[Gateway]:
    return index.gateway_selectors.selecting(proxy.labels)


def https_route_name(gateway: Gateway, server: Server) -> str | None:
    """``gatewayRDSRouteName`` of an HTTPS server istiod terminates (istiod's IsHTTPServer: TLS settings whose mode is
    not a passthrough one -- and a ``tls`` block without ``mode`` is PASSTHROUGH, the API's default, istio#40511);
    ``None`` for every other server."""
    port = server.port
    if port is None or port.protocol.upper() != "HTTPS" or server.tls is None or tls_mode_of(server) in PASSTHROUGH_MODES:
        return None
    suffix = f".{server.bind}" if server.bind else ""
    return f"https.{port.number}.{port.name}.{gateway.meta.name}.{gateway.meta.namespace}{suffix}"


class _FirstServer(NamedTuple):
    """The first server on a listener port, which decides how later ones merge."""

    protocol: str
    """Upper-cased."""
    plaintext: bool
    """No TLS settings, or an HTTP protocol (istiod's ``!IsTLSServer``)."""
    kept: KeptServer


def kept_servers(
    snapshot: Snapshot, proxy: GatewayProxy, *, gateways: Iterable[Gateway], record: MergeRecord | None = None
) -> list[KeptServer]:
    """``mergeGateways``: the servers of ``gateways`` (those selecting ``proxy``, in creation order) that istiod
    keeps, in merge order (translation.md §3, read against istiod's source for the binds).

    A TLS-bearing server repeating a host of an earlier one on its listener port and bind is dropped whole --
    checked first, so its hosts count as known even when a later check drops it.  (istiod remembers only the last
    bind a host was seen with, so a host repeated on a first bind after another passes its check, and Envoy then
    refuses the listener for two chains with one SNI name; the plugin keeps the first, as istiod means to.)  Then
    the *first* server on the listener port (whatever its bind) decides:

    * it is plaintext (no TLS settings, or an HTTP protocol): a later server with another bind is kept as it is;
      one with the same bind is kept only if it is HTTP-family, and the first is HTTP-family or the same protocol;
    * it is TLS: a later HTTP server, or terminating HTTPS one, is dropped if its route configuration name is taken;
      one without TLS settings is dropped unless its bind is new among the port's later TLS-side servers.  An HTTP
      server kept there asks for a route configuration named ``""`` (istiod's merged entry has no name).

    Route configuration names are ``ServersByRouteName``'s, taken also by servers a later check drops.  The HTTP
    route configurations and the TCP/TLS analysis both read this; ``record`` collects what became of each server."""
    targets = target_ports(snapshot, proxy)
    first_on_port: dict[int, _FirstServer] = {}

    def lose(gw: Gateway, server: Server, listen: int, why: LostWhy, first: KeptServer | None) -> None:
        if record is not None:
            record.lost.setdefault(ServerRef(gw.meta.full_name, server.index), LostServer(gw, server, listen, why, first))

    def keep(k: KeptServer) -> None:
        kept.append(k)
        if record is not None:
            record.kept.add(ServerRef(k.gateway.meta.full_name, k.server.index))

    later_tls_binds: dict[int, set[str]] = {}  # binds of later servers on ports whose first is TLS
    tls_hosts: dict[tuple[int, str], set[str]] = {}  # a set: a Gateway may hold a server per tenant host
    route_names: set[str] = set()
    kept: list[KeptServer] = []
    for gw in gateways:
        for server in gw.servers:
            if server.port is None:
                continue
            listen = targets.get(server.port.number, server.port.number)
            if proxy.unprivileged and listen < 1024:
                continue  # istiod skips the listener; merging on another port is not affected
            proto = server.port.protocol.upper()
            bind = server.bind
            is_http = proto in HTTP_PROTOCOLS
            hosts = sanitize_server_hosts_split_once(server.hosts, gw.meta.namespace)
            if server.tls is not None:
                known = tls_hosts.setdefault((listen, bind), set())
                if any(h in known for h in hosts):
                    continue
                known.update(hosts)
            https_name = https_route_name(gw, server)
            http_server = is_http or https_name is not None  # istiod's IsHTTPServer
            name = (f"http.{listen}.{bind}" if bind else f"http.{listen}") if is_http else https_name
            first = first_on_port.get(listen)
            if first is None:
                k = KeptServer(gw, server, hosts, listen, name, name)
                first_on_port[listen] = _FirstServer(proto, server.tls is None or is_http, k)
                if http_server:
                    route_names.add(name or "")
                keep(k)
            elif first.plaintext:
                same_bind = first.kept.server.bind == bind
                if same_bind and not (is_http and (first.protocol in HTTP_PROTOCOLS or first.protocol == proto)):
                    # TCP vs TLS vs HTTP on one address: the first by creation order wins (so a kept one has a name)
                    lose(gw, server, listen, "protocol", first.kept)
                    continue
                # a TCP server on another bind is filed under "", what an HTTP server kept on a TLS port asks for
                route_names.add(name or "")
                keep(KeptServer(gw, server, hosts, listen, name, name or ""))
            else:
                if http_server:
                    if name in route_names:
                        # HTTPS: "non unique port name"; HTTP: one more plain server on a TLS port
                        lose(gw, server, listen, "route-name", None)
                        continue
                    route_names.add(name or "")
                binds = later_tls_binds.setdefault(listen, set())
                new_bind = bind not in binds
                binds.add(bind)
                if server.tls is None and not new_bind:
                    lose(gw, server, listen, "bind", first.kept)
                    continue
                k = KeptServer(gw, server, hosts, listen, "" if is_http else name, name)
                if is_http:  # kept, with a chain that asks for none of its routes
                    kept.append(k)
                    lose(gw, server, listen, "unnamed", first.kept)
                else:
                    keep(k)
    return kept


def merged_servers(index: _Index, proxy: GatewayProxy, *, record: MergeRecord | None = None) -> dict[str, list[KeptServer]]:
    """Every route configuration the proxy's listeners ask for, in merge order -> the servers istiod builds it from
    (none: istiod answers an empty configuration)."""
    kept = kept_servers(index.snapshot, proxy, gateways=applicable_gateways(index, proxy), record=record)
    by_route: dict[str, list[KeptServer]] = {k.route_name: [] for k in kept if k.route_name is not None}
    for k in kept:
        if k.filed_as is not None and k.filed_as in by_route:
            by_route[k.filed_as].append(k)  # an https.… name is one server's (kept_servers)
    return by_route


def _most_specific_first(host: str) -> tuple[bool, int, str]:
    return (host.startswith("*"), -len(host), host)


def hosts_bound(server_hosts: tuple[str, ...], vs_namespace: str, vs_hosts: tuple[str, ...]) -> list[str]:
    """The hosts at which istiod binds a VirtualService's http routes to a server: the server's hosts (sanitized,
    ``namespace/host`` kept for the VirtualService's namespace) intersected with the VirtualService's (resolved)."""
    return intersect_hosts(names_for_namespace_split_once(server_hosts, vs_namespace), vs_hosts)


def build_route_configuration(
    index: _Index,
    proxy: GatewayProxy,
    name: str,
    servers: list[KeptServer],
    served: dict[ServerRef, ServerUse],
    *,
    actions: bool = True,
    built_at_proxy: dict[tuple[str, int], BuiltRoutes],
) -> tuple[RouteConfiguration, list[Truncation]]:
    """One route configuration istiod would send ``proxy``.  ``built_at_proxy``: the routes of the VirtualServices
    whose routes do not depend on the gateway port (no ``port`` match, no actions asked for), by (gateway,
    VirtualService), shared by the proxy's route configurations: the same rules bound at an HTTP and an HTTPS server
    are built once, not once a port.  (Whether a VirtualService is visible for sure depends only on the proxy's
    namespace and the gateway, so it is the same at every route configuration of the proxy.)"""
    vhosts: dict[str, VirtualHost] = {}
    cache: dict[tuple[str, str], BuiltRoutes] = {}
    truncations: list[Truncation] = []
    for gw, server, hosts, _listen, _route_name, _filed_as in servers:
        assert server.port is not None
        gport = server.port.number
        gname = gw.meta.full_name
        redirect = bool(server.tls and server.tls.https_redirect)
        served[ServerRef(gname, server.index)] = ServerUse(name, False)
        bound = index.bound.get((proxy.namespace, gname))
        if bound is None:
            bound = index.bound[(proxy.namespace, gname)] = HostCandidates(
                _virtual_services_for_gateway(index, proxy, gname), lambda v: index.resolved_hosts[id(v.virtual_service)]
            )
        for vs, visible_for_sure in bound.candidates(host_name(h) for h in hosts):
            common = hosts_bound(hosts, vs.meta.namespace, index.resolved_hosts[id(vs)])
            if not common:
                continue
            key = (gname, vs.meta.full_name)
            if key not in cache:
                port_free = not actions and not index.port_matched(vs)
                built = built_at_proxy.get((gname, id(vs))) if port_free else None
                if built is None:
                    built = build_vs_routes(
                        index, vs, gateway=gname, port=gport, proxy=proxy, certain=visible_for_sure, actions=actions
                    )
                    if port_free:
                        built_at_proxy[(gname, id(vs))] = built
                if not built.routes and not built.truncations:
                    continue
                cache[key] = built
                truncations.extend(built.truncations)
            routes = cache[key].routes
            if not routes:
                continue
            served[ServerRef(gname, server.index)] = ServerUse(name, True)
            for host in common:
                h = host.lower()
                vh = vhosts.get(h)
                if vh is None:
                    vh = vhosts[h] = VirtualHost(vhost_name(h, gport), [h], list(routes))
                else:
                    vh.routes.extend(routes)
                if redirect:
                    vh.require_tls = True
        if redirect:
            for host in hosts:
                h = host.lower()
                if h in vhosts:
                    vhosts[h].require_tls = True
                else:
                    vhosts[h] = VirtualHost(vhost_name(h, gport), [h], [], require_tls=True)
    rc = RouteConfiguration(name)
    if not servers:
        return rc, truncations  # "Gateway missing for route": no virtual host, not even the blackhole
    if not vhosts:
        first_port = servers[0].server.port.number if servers[0].server.port else 0
        rc.virtual_hosts.append(VirtualHost(f"blackhole:{first_port}", ["*"], [], include_request_attempt_count=False))
        return rc, truncations
    kept: list[VirtualHost] = []
    twins: dict[tuple[bool, tuple[int, ...]], VirtualHost] = {}  # (require_tls, identities of the routes)
    for host in sorted(vhosts, key=_most_specific_first):
        vh = vhosts[host]
        twin = twins.setdefault((vh.require_tls, tuple(map(id, vh.routes))), vh) if vh.routes else vh
        if twin is not vh:
            twin.domains.extend(vh.domains)
        else:
            kept.append(vh)
    for vh in kept:
        vh.routes = catch_alls_last(vh.routes)
    rc.virtual_hosts = sorted(kept, key=lambda v: v.name)
    return rc, truncations


def routes_for_proxy(snapshot: Snapshot, proxy: GatewayProxy, *, index: _Index | None = None) -> ProxyRoutes:
    """All dynamic route configurations istiod would send ``proxy``, in server-merge order (Gateway creation order, then server order)."""
    idx = index or _Index(snapshot)
    configs = []
    truncations: list[Truncation] = []
    served: dict[ServerRef, ServerUse] = {}
    for rc, t in route_configurations(idx, proxy, served=served):
        configs.append(rc)
        truncations.extend(t)
    return ProxyRoutes(proxy, configs, truncations, served)


def route_configurations(
    index: _Index,
    proxy: GatewayProxy,
    *,
    served: dict[ServerRef, ServerUse],
    actions: bool = True,
    record: MergeRecord | None = None,
) -> Iterator[tuple[RouteConfiguration, list[Truncation]]]:
    """:func:`routes_for_proxy` one route configuration at a time, each with the rules its routes cut off; ``served``
    is filled in as they are built.  The analysis walks each and lets it go before the next is built (and asks for
    no actions: see :data:`NOT_WORKED_OUT`)."""
    built_at_proxy: dict[tuple[str, int], BuiltRoutes] = {}
    for name, servers in merged_servers(index, proxy, record=record).items():
        yield build_route_configuration(index, proxy, name, servers, served, actions=actions, built_at_proxy=built_at_proxy)


def make_index(snapshot: Snapshot) -> _Index:
    return _Index(snapshot)
