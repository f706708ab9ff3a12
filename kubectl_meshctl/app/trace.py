"""``trace``: which route one request takes at a gateway proxy, and why each earlier route did not take it.

Why this module exists: people ask "where does THIS request go, and why?" -- the question the routes table and
the reachability findings answer only indirectly.  A trace picks the route configuration as the proxy's
listener would, then runs the request through :mod:`kubectl_meshctl.envoy.matching` (the one matcher the
analysis and the Envoy oracle tests also use), for a saved config dump (read back into the model by
:mod:`kubectl_meshctl.envoy.from_dump`) or for istiod's predicted routes (traced as the model objects
themselves).  A dumped route with a condition the model does not cover is never guessed: when every
modelled condition holds, the trace stops there and says the answer is not modelled.

Two things a route dump cannot say: the VirtualService rule index (istiod writes the VirtualService and the
rule's name, not its position), so ``rule``/``match`` are ``None`` for a dump; and the listener's SNI names,
so an ``https://`` request picks the HTTPS route configuration whose virtual hosts take the host.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from ..envoy.matching import Header, Request, VirtualHostChoice, evaluate, select_virtual_host
from ..records import record
from .errors import NotFound, UsageProblem

if TYPE_CHECKING:
    from ..envoy.route_model import Route, RouteConfiguration
    from ..istio.translation import GatewayProxy
    from ..resources.model import Snapshot

JSON = dict[str, Any]
Verdict = Literal["routed", "404", "not modelled", "tls redirect", "no listener"]


# --------------------------------------------------------------------------- the request


@record
class TraceQuery:
    """The request as the gateway sees it, and the gateway port it arrives on."""

    request: Request
    port: int
    https: bool


def parse_query(url: str, *, method: str, headers: Sequence[str], port: int | None) -> TraceQuery:
    """``URL``, ``-X``, ``-H 'Name: value'`` and ``--port`` as a request (UsageProblem for a malformed one)."""
    try:
        parts = urlsplit(url)
        url_port = parts.port
    except ValueError as exc:
        raise UsageProblem(f"bad URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageProblem(f"bad URL {url!r}: want http://HOST[:PORT]/PATH or https://...")
    if not method or not method.isascii() or not method.replace("-", "").isalnum():
        raise UsageProblem(f"bad method {method!r}")
    sent: list[Header] = []
    host = parts.netloc.rpartition("@")[2]
    for h in headers:
        name, sep, value = h.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not name or any(c in name for c in " \t\r\n") or any(c in value for c in "\r\n"):
            raise UsageProblem(f"bad header {h!r}: want 'Name: value'")
        if name.lower() == "host":
            host = value
        else:
            sent.append(Header(name, value))
    https = parts.scheme == "https"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    chosen = port if port is not None else url_port if url_port is not None else 443 if https else 80
    if not 0 < chosen < 65536:
        raise UsageProblem(f"bad port {chosen}")
    return TraceQuery(Request(method.upper(), path, host, tuple(sent), scheme=parts.scheme), chosen, https)


# --------------------------------------------------------------------------- what is known about a route


@record
class Destination:
    host: str
    port: int | None
    subset: str
    weight: int


@record
class RouteFacts:
    """A route as a trace reports it: its match, where it came from, its action."""

    name: str
    match: str
    virtual_service: str | None
    """``namespace/name``; ``None`` when the route carries no Istio metadata (the bootstrap's own routes)."""
    rule: int | None
    """The rule's index in the VirtualService's ``http``, or in the HTTPRoute/GRPCRoute's ``rules``."""
    match_index: int | None
    destinations: tuple[Destination, ...] = ()
    redirect: Mapping[str, Any] | None = None
    direct_response: Mapping[str, Any] | None = None
    not_modelled: tuple[str, ...] = ()
    action_not_modelled: str = ""
    route_kind: str = ""
    """``HTTPRoute``/``GRPCRoute`` when istiod generated the route from one (then ``route_name`` names it and ``rule``
    and ``match_index`` are its); ``""`` for a VirtualService's."""
    route_name: str = ""

    def as_dict(self) -> JSON:
        origin_key = {"HTTPRoute": "httpRoute", "GRPCRoute": "grpcRoute"}.get(self.route_kind, "virtualService")
        out: JSON = {
            "name": self.name,
            origin_key: self.route_name if self.route_kind else self.virtual_service,
            "rule": self.rule,
            "match": self.match_index,
            "condition": self.match,
            "destinations": [{"host": d.host, "port": d.port, "subset": d.subset, "weight": d.weight} for d in self.destinations],
        }
        if self.redirect is not None:
            out["redirect"] = dict(self.redirect)
        if self.direct_response is not None:
            out["directResponse"] = dict(self.direct_response)
        if self.not_modelled:
            out["notModelled"] = list(self.not_modelled)
        if self.action_not_modelled:
            out["actionNotModelled"] = self.action_not_modelled
        return out


def destinations(route: Route) -> tuple[Destination, ...]:
    """``outbound|PORT|SUBSET|HOST`` clusters as destinations (another cluster name is its own host)."""
    action = route.action
    if action.kind != "route":
        return ()
    out = []
    for cluster, weight in action.clusters:
        parts = cluster.split("|")
        shown = weight if action.weighted else 100
        if len(parts) == 4 and parts[0] in ("inbound", "outbound") and parts[1].isdigit():
            out.append(Destination(parts[3], int(parts[1]), parts[2], shown))
        else:
            out.append(Destination(cluster, None, "", shown))
    return tuple(out)


Facts = Callable[["Route"], RouteFacts]


@record
class ProxyRoutesView:
    """One proxy's route configurations, with what is known about each route beyond the model."""

    proxy: str
    source_labels: Mapping[str, str]
    configurations: Sequence[RouteConfiguration]
    facts: Facts
    server_hosts: Mapping[str, tuple[str, ...]] | None = None
    """Route configuration name -> its servers' hosts (the listener's SNI names); ``None`` for a dump."""
    not_emitted: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """``namespace/name`` of a VirtualService -> why some of its rules never reach the proxy."""


# --------------------------------------------------------------------------- the trace


@record
class Tried:
    route: RouteFacts
    failed: str
    """The first condition the request failed."""


@record
class Trace:
    proxy: str
    source_labels: Mapping[str, str]
    route_configuration: str | None
    route_configuration_reason: str
    virtual_host: VirtualHostChoice | None
    tried: tuple[Tried, ...]
    route: RouteFacts | None
    verdict: Verdict
    reason: str
    not_emitted: tuple[str, ...] = ()

    def as_dict(self) -> JSON:
        vh = self.virtual_host
        return {
            "proxy": self.proxy,
            "sourceLabels": dict(self.source_labels),
            "routeConfiguration": self.route_configuration,
            "routeConfigurationReason": self.route_configuration_reason,
            "virtualHost": None if vh is None else {"name": vh.virtual_host.name, "domain": vh.domain, "kind": vh.kind},
            "tried": [{**t.route.as_dict(), "failed": t.failed} for t in self.tried],
            "route": None if self.route is None else self.route.as_dict(),
            "verdict": self.verdict,
            "reason": self.reason,
            "notEmitted": list(self.not_emitted),
        }


_KIND_WHY = {
    "exact": "exact domain {d}",
    "suffix": "longest suffix wildcard {d}",
    "prefix": "longest prefix wildcard {d}",
    "any": "catch-all domain *",
}


def virtual_host_reason(choice: VirtualHostChoice) -> str:
    return _KIND_WHY[choice.kind].format(d=choice.domain)


def _sni_rank(host: str, patterns: Sequence[str]) -> tuple[int, int] | None:
    """How well a server's hosts take an SNI name: exact first, then the longest wildcard; ``None``: not at all."""
    best: tuple[int, int] | None = None
    for p in patterns:
        p = p.lower().partition("/")[2] or p.lower()
        if p == host:
            rank = (0, 0)
        elif p == "*":
            rank = (2, 0)
        elif p.startswith("*.") and host.endswith(p[1:]):
            rank = (1, -len(p))
        else:
            continue
        best = rank if best is None or rank < best else best
    return best


def choose_route_configuration(view: ProxyRoutesView, query: TraceQuery) -> tuple[RouteConfiguration | None, str]:
    """The route configuration the listener on ``query.port`` hands the request to, and why."""
    configs = view.configurations
    host = query.request.host.lower().rsplit(":", 1)[0] if query.request.host.count(":") == 1 else query.request.host.lower()
    if not query.https:
        name = f"http.{query.port}"
        found = next((rc for rc in configs if rc.name == name), None)
        if found is not None:
            return found, f"{name}: the HTTP listener of port {query.port} (its servers merged)"
        # a Service may map the Gateway port to another container port: the vhosts keep the Gateway port
        found = next(
            (
                rc
                for rc in configs
                if rc.name.startswith("http.") and any(vh.name.endswith(f":{query.port}") for vh in rc.virtual_hosts)
            ),
            None,
        )
        if found is not None:
            return found, f"{found.name}: the HTTP listener serving gateway port {query.port}"
        return None, f"no HTTP route configuration for port {query.port} (http.{query.port})"
    prefix = f"https.{query.port}."
    https = [rc for rc in configs if rc.name.startswith(prefix)]
    if not https:
        return None, f"no HTTPS route configuration for port {query.port} ({prefix}*)"
    if view.server_hosts is not None:
        ranked = [
            (r, i, rc) for i, rc in enumerate(https) if (r := _sni_rank(host, view.server_hosts.get(rc.name, ()))) is not None
        ]
        if not ranked:
            return None, f"no HTTPS server on port {query.port} has a host matching SNI {host}"
        best = min(ranked, key=lambda t: (t[0], t[1]))[2]
        return best, f"{best.name}: the HTTPS server on port {query.port} whose hosts match SNI {host}"
    for rc in https:
        if select_virtual_host(rc.virtual_hosts, host) is not None:
            return (
                rc,
                f"{rc.name}: the first HTTPS route configuration of port {query.port} with a virtual host for {host} (a route dump has no SNI names)",
            )
    return None, f"no HTTPS route configuration of port {query.port} has a virtual host for SNI {host}"


def trace_one(view: ProxyRoutesView, query: TraceQuery) -> Trace:
    """The request through one proxy's routes (see the module docstring)."""
    rc, why = choose_route_configuration(view, query)
    notes = tuple(n for ns in view.not_emitted.values() for n in ns)

    def done(verdict: Verdict, reason: str, **kw: Any) -> Trace:
        base: dict[str, Any] = {"virtual_host": None, "tried": (), "route": None}
        base.update(kw)
        return Trace(
            view.proxy,
            view.source_labels,
            None if rc is None else rc.name,
            why,
            verdict=verdict,
            reason=reason,
            not_emitted=notes,
            **base,
        )

    if rc is None:
        return done("no listener", why)
    request = query.request
    choice = select_virtual_host(rc.virtual_hosts, request.host)
    if choice is None:
        return done("404", f"no virtual host of {rc.name} has a domain matching {request.host}")
    if choice.virtual_host.require_tls and not query.https:
        return done(
            "tls redirect",
            f"virtual host {choice.virtual_host.name} requires TLS: Envoy answers 301 to https://",
            virtual_host=choice,
        )
    seen = request.match_input()
    tried: list[Tried] = []
    for route in choice.virtual_host.routes:
        facts = view.facts(route)
        result = evaluate(route.match, seen)
        if result.mismatch is not None:
            tried.append(Tried(facts, result.mismatch.describe()))
            continue
        if facts.not_modelled:
            return done(
                "not modelled",
                f"route {facts.name or '(unnamed)'} ({facts.match}) has conditions the model does not cover: "
                f"{'; '.join(facts.not_modelled)} -- whether it takes the request is not known",
                virtual_host=choice,
                tried=tuple(tried),
            )
        how = f"route {facts.name or '(unnamed)'} matches: {facts.match}"
        if facts.action_not_modelled:
            how += f" (its action, {facts.action_not_modelled}, is not modelled)"
        return done("routed", how, virtual_host=choice, tried=tuple(tried), route=facts)
    if not choice.virtual_host.routes:
        return done("404", f"virtual host {choice.virtual_host.name} has no routes", virtual_host=choice)
    return done("404", f"no route of virtual host {choice.virtual_host.name} matches", virtual_host=choice, tried=tuple(tried))


# --------------------------------------------------------------------------- sources


def dump_view(dump: bytes, *, proxy: str) -> ProxyRoutesView:
    """A saved config dump's route configurations (decoded as ``routes -f`` decodes them)."""
    from .routes import dumped_configurations

    dumped = dumped_configurations(dump)
    details = {k: v for d in dumped for k, v in d.details.items()}

    def facts(route: Route) -> RouteFacts:
        d = details[id(route)]
        return RouteFacts(
            name=route.name,
            match=route.match.describe(),
            virtual_service=None if d.virtual_service is None else "/".join(d.virtual_service),
            rule=None,
            match_index=None,
            destinations=destinations(route),
            redirect=d.redirect,
            direct_response=d.direct_response,
            not_modelled=d.not_modelled,
            action_not_modelled=d.action_not_modelled,
        )

    return ProxyRoutesView(proxy, {}, [d.configuration for d in dumped], facts)


def predicted_view(snapshot: Snapshot, proxy: GatewayProxy) -> ProxyRoutesView:
    """istiod's predicted route configurations for ``proxy``, traced as the model's own objects."""
    from ..envoy.config import route_json
    from ..istio.translation import make_index, merged_servers, routes_for_proxy, written_at

    index = make_index(snapshot)
    predicted = routes_for_proxy(snapshot, proxy, index=index)
    hosts = {name: tuple(h for s in servers for h in s.hosts) for name, servers in merged_servers(index, proxy).items()}

    from ..istio.gateway_api import generated_rule

    def facts(route: Route) -> RouteFacts:
        src = written_at(route)
        shown = route_json(route, 0) if route.action.kind in ("redirect", "direct_response") else {}
        generated = generated_rule(snapshot, namespace=src.namespace, name=src.name, rule=src.rule_index)
        return RouteFacts(
            name=route.name,
            match=route.match.describe(),
            virtual_service=f"{src.namespace}/{src.name}",
            rule=src.rule_index if generated is None else generated.rule,
            match_index=src.match_index if generated is None else generated.match,
            destinations=destinations(route),
            redirect=shown.get("redirect"),
            direct_response=shown.get("direct_response"),
            route_kind="" if generated is None else generated.kind,
            route_name="" if generated is None else generated.full_name,
        )

    not_emitted: dict[str, list[str]] = {}
    for t in predicted.truncations:
        src, by = written_at(t), written_at(t.by)
        where = f"rule #{src.rule_index}" + ("" if src.match_index is None else f" match #{src.match_index}")
        stopper = f"rule #{by.rule_index}" + ("" if by.match_index is None else f" match #{by.match_index}")
        not_emitted.setdefault(f"{src.namespace}/{src.name}", []).append(
            f"{src.namespace}/{src.name} {where} is never asked: istiod does not emit it, it follows the catch-all {stopper} ({t.by.match.describe()})"
        )
    labels = {k: v for k, v in proxy.labels}
    name = proxy.name if proxy.namespace is None else f"{proxy.name}.{proxy.namespace}"
    return ProxyRoutesView(
        name, labels, predicted.route_configurations, facts, hosts, {k: tuple(v) for k, v in not_emitted.items()}
    )


def gateway_name(gateway: str) -> tuple[str, str]:
    """``--gateway NAMESPACE/NAME`` split (UsageProblem otherwise)."""
    namespace, sep, name = gateway.partition("/")
    if not sep or not namespace or not name:
        raise UsageProblem(f"--gateway {gateway!r}: want NAMESPACE/NAME")
    return namespace, name


def proxies_for_gateway(snapshot: Snapshot, gateway: str) -> list[GatewayProxy]:
    """The proxies ``NS/NAME``'s selector selects (one per distinct label set), else one made up from the selector."""
    from ..istio.translation import GatewayProxy

    namespace, name = gateway_name(gateway)
    found = next((g for g in snapshot.gateways if g.meta.namespace == namespace and g.meta.name == name), None)
    from .routes import proxy_of

    if found is None:
        kube = next((g for g in snapshot.kube_gateways if g.meta.namespace == namespace and g.meta.name == name), None)
        if kube is None:
            raise NotFound(f"gateway {gateway} not found in the input")
        from ..istio.gateway_api import GATEWAY_NAME_LABEL, gateway_pods

        label = ((GATEWAY_NAME_LABEL, name),)
        pods = gateway_pods(snapshot.pods, namespace=namespace, name=name)
        by_labels = {p.labels: proxy_of(p) for p in pods}
        if by_labels:
            return list(by_labels.values())
        return [GatewayProxy(f"<pod of {kube.meta.full_name}>", namespace, label, hypothetical=True)]

    proxies: dict[tuple[tuple[str, str], ...], GatewayProxy] = {}
    for pod in snapshot.pods_selected_by(found.selector):
        proxies.setdefault(pod.labels, proxy_of(pod))
    if proxies:
        return list(proxies.values())
    return [GatewayProxy(f"<pod selected by {found.meta.full_name}>", None, found.selector, hypothetical=True)]


def trace_views(views: Sequence[ProxyRoutesView], query: TraceQuery) -> list[Trace]:
    return [trace_one(v, query) for v in views]
