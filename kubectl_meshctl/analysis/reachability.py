"""The project's own rules: routes no request can reach, and gateway wiring that silently fails.

Why this module exists: Istio only compares matches of one VirtualService structurally.  Here the
snapshot is run through :mod:`~kubectl_meshctl.istio.translation` -- the same model of istiod that
``routes --predict`` prints -- for every gateway proxy (real pods when the input has them, else one
hypothetical proxy per Gateway selector) and for the mesh, and each emitted route is checked
against the routes Envoy would try before it.  A rule is reported only when, everywhere it exists,
an earlier certain route covers it (MSH0101/MSH0102).  MSH0103, MSH0201 and MSH0202 report
bindings that never take effect.  The VirtualServices istiod generates from Gateway API routes are walked
too (their verdicts become MSH0401-MSH0403 in :mod:`.gateway_api`); a route built from one is named by the
HTTPRoute/GRPCRoute rule it came from (:class:`GeneratedRules`).  Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, NamedTuple

from ..envoy.coverage import PATH_MATCH_ALL_REGEXES, covers
from ..envoy.matching import Request, VirtualHostIndex, ascii_lower, first_route
from ..envoy.route_model import (
    HeaderMatcher,
    PathSpec,
    Route,
    RouteConfiguration,
    RouteMatch,
    RouteSource,
    ValueMatcher,
    VirtualHost,
)
from ..envoy.witness import witness_request
from ..istio.hosts import HostOverlapIndex, host_name, sanitize_server_hosts_split_once
from ..istio.server_kinds import server_kind
from ..istio.translation import (
    GatewayProxy,
    LostServer,
    MergeRecord,
    ServerRef,
    ServerUse,
    Truncation,
    build_vs_routes,
    catch_alls_last,
    is_catch_all_route,
    make_index,
    route_configurations,
    translate_match,
    vs_gateways,
    vs_visibility,
    written_at,
)
from ..records import record
from ..resources.model import Gateway, GeneratedFrom, SelectorIndex, Snapshot, VirtualService, selector_itself
from .findings import Finding, Witness, finding, go_list, rule_label
from .istio_rules import IstioRuleFinding
from .servers import GatewayServers, inapplicable_match_reason

_Key = tuple[str, str, int, int | None]  # (vs namespace, vs name, rule index, match index)


def gateway_proxies(snapshot: Snapshot) -> list[GatewayProxy]:
    """Real gateway pods (deduplicated by what istiod looks at), else one made-up proxy per selector."""
    proxies: dict[tuple[object, ...], GatewayProxy] = {}
    covered: set[str] = set()
    by_selector: dict[tuple[tuple[str, str], ...], list[Gateway]] = {}
    for g in snapshot.gateways:
        if g.selector:
            by_selector.setdefault(g.selector, []).append(g)
    # istiod looks at a proxy's labels only through selectors (Gateways', Services', VirtualService sourceLabels):
    # pods that differ only in other labels (pod-template-hash during a rollout) get the same configuration
    seen_keys = {k for selector in by_selector for k, _ in selector}
    seen_keys.update(k for svc in snapshot.services for k, _ in svc.selector or ())
    for vs in snapshot.virtual_services:
        for rule in vs.http:
            seen_keys.update(k for m in rule.matches for k, _ in m.source_labels)
        for l4 in (*vs.tcp, *vs.tls):
            seen_keys.update(k for m in l4.matches for k, _ in m.source_labels)
    selecting = SelectorIndex(by_selector, selector_itself)  # per-tenant gateways: a pod meets only selectors it could match
    for pod in snapshot.pods:
        matched = [g for selector in selecting.selecting(pod.labels) for g in by_selector[selector]]
        if not matched:
            continue
        covered.update(g.meta.full_name for g in matched)
        named = tuple((p.name, p.container_port) for p in pod.container_ports if p.name)
        seen_labels = tuple((k, v) for k, v in pod.labels if k in seen_keys)
        key = (pod.meta.namespace, seen_labels, pod.unprivileged, named)
        proxies.setdefault(key, GatewayProxy(pod.meta.name, pod.meta.namespace, pod.labels, False, pod.unprivileged, named))
    for g in snapshot.gateways:
        if g.meta.full_name in covered:
            continue
        proxies.setdefault(
            ("?", g.selector), GatewayProxy(f"<pod selected by {g.meta.full_name}>", None, g.selector, hypothetical=True)
        )
    return list(proxies.values())


_REGEX_META = frozenset(".[](){}*+?|\\^$")


@lru_cache(maxsize=4096)  # every route of every vhost asks; a mesh writes a few distinct regexes many times
def regex_literal_prefix(pattern: str) -> str | None:
    """A prefix every string fully matching ``pattern`` starts with (``""`` if none is known),
    or ``None`` when the pattern has an alternation (it may match strings with no common prefix)."""
    if "|" in pattern:
        return None
    body = pattern[1:] if pattern.startswith("^") else pattern
    literal: list[str] = []
    for i, ch in enumerate(body):
        if ch in _REGEX_META:
            if ch in "*?{" and literal:
                literal.pop()  # the last literal character is optional or repeated
            break
        literal.append(ch)
        if i + 1 < len(body) and body[i + 1] in "*?{":
            literal.pop()
            break
    return "".join(literal)


@lru_cache(maxsize=4096)
def regex_required_literal(pattern: str) -> str:
    """The longest text every string fully matching ``pattern`` contains (``""`` if none is known).

    Conservative: only literal characters outside groups and classes count, a character made optional or repeated by
    the quantifier after it is left out, and a pattern with an alternation or inline flags (``(?i)`` changes case)
    has none.  Used to find which earlier regexes could take an exact path without trying every one of them.
    """
    if "|" in pattern or "(?" in pattern:
        return ""
    runs: list[str] = []
    run: list[str] = []
    depth = 0  # inside (...) or [...]
    in_class = False
    i = 0
    last_literal = False  # the previous element is the last character of ``run``
    while i < len(pattern):
        ch = pattern[i]
        literal: str | None = None
        if in_class:
            if ch == "\\":
                i += 1
            elif ch == "]":
                in_class = False
        elif ch == "\\":
            nxt = pattern[i + 1 : i + 2]
            i += 1
            if nxt and not nxt.isalnum() and depth == 0:
                literal = nxt
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch in "*?{":
            if last_literal and run:
                run.pop()  # optional or repeated any number of times
            if ch == "{":
                close = pattern.find("}", i)
                if close < 0:
                    return ""  # RE2 would take this brace as a literal: not worth modelling
                i = close
        elif ch == "+":
            pass  # the character stays required, but what follows need not come right after it
        elif depth == 0 and ch not in ".^$":
            literal = ch
        if literal is not None:
            run.append(literal)
            last_literal = True
        else:
            if run:
                runs.append("".join(run))
            run = []
            last_literal = False
        i += 1
    if run:
        runs.append("".join(run))
    return max(runs, key=len, default="")


def _covers(killer: RouteMatch, victim: RouteMatch) -> bool:
    """:func:`~kubectl_meshctl.envoy.coverage.covers`, and a prefix before a regex whose every match starts with it.

    ``covers`` lets only ``/`` cover a regex path; here a regex with a literal prefix (``/api/v[0-9]+/.*`` begins
    with ``/api/v``) is covered by a prefix of that literal, or a ``path_separated_prefix`` whose value and ``/``
    begin it -- what decides a Gateway API RegularExpression placed after a PathPrefix (Istio ranks regexes last).
    """
    if covers(killer, victim):
        return True
    vp, kp = victim.path, killer.path
    if vp.kind != "regex" or vp.case_sensitive is False or kp.kind not in ("prefix", "path_separated_prefix"):
        return False
    literal = regex_literal_prefix(vp.value)
    if literal is None:
        return False
    value = kp.value
    if kp.case_sensitive is False:
        literal, value = ascii_lower(literal), ascii_lower(value)
    if not literal.startswith(value if kp.kind == "prefix" else value + "/"):
        return False
    # the path is settled: the killer's other conditions must hold for every request the victim matches
    anywhere = PathSpec("prefix", "/")
    return covers(replace(killer, path=anywhere), replace(victim, path=anywhere))


_SLICES = 1 << 14
"""Above this many (path length x distinct regex text lengths), an exact path's regex candidates are found by asking
each regex's text: slicing a megabyte-long path at every position for every length would take hours."""


class _EarlierRoutes:
    """The certain routes Envoy tries before the current one, indexed by what could cover a path.

    Only routes that :func:`~kubectl_meshctl.envoy.coverage.path_covers` could accept are candidates:
    a prefix of the victim's path, the same exact path, a match-all regex, or a regex whose required literal
    text occurs in the victim's exact path.  That keeps a vhost with thousands of routes linear.
    """

    def __init__(self) -> None:
        self.position: dict[int, int] = {}
        self.prefixes: dict[str, list[Route]] = {}
        self.ci_prefixes: dict[str, list[Route]] = {}
        self.exact: dict[str, list[Route]] = {}
        self.separated: dict[str, list[Route]] = {}
        """``path_separated_prefix`` routes (istiod's Gateway API PathPrefix) by their value as written."""
        self.regex_all: list[Route] = []
        self.regex_same: dict[str, list[Route]] = {}
        self.regex_by_anchor: dict[str, list[Route]] = {}
        """Regexes by :func:`regex_required_literal`: only those whose text occurs in an exact path can take it."""
        self.lengths: set[int] = set()
        self.separated_lengths: set[int] = set()
        self.ci_lengths: set[int] = set()
        self.regex_lengths: set[int] = set()

    def add(self, route: Route, position: int) -> None:
        self.position[id(route)] = position
        p = route.match.path
        if p.kind == "regex":
            if p.value in PATH_MATCH_ALL_REGEXES:
                self.regex_all.append(route)
                return
            self.regex_same.setdefault(p.value, []).append(route)
            key = regex_required_literal(p.value)
            self.regex_by_anchor.setdefault(key, []).append(route)
            self.regex_lengths.add(len(key))
        elif p.case_sensitive is False:
            key = ascii_lower(p.value)
            self.ci_prefixes.setdefault(key, []).append(route)
            self.ci_lengths.add(len(key))
        elif p.kind == "prefix":
            self.prefixes.setdefault(p.value, []).append(route)
            self.lengths.add(len(p.value))
        elif p.kind == "path_separated_prefix":
            self.separated.setdefault(p.value, []).append(route)
            self.separated_lengths.add(len(p.value))
        else:
            self.exact.setdefault(p.value, []).append(route)

    def _candidates(self, route: Route) -> list[Route]:
        p = route.match.path
        found: list[Route] = list(self.regex_all)
        if p.kind == "regex":
            found.extend(self.regex_same.get(p.value, ()))
            # prefixes of the literal every match starts with (only "/" without one): see _covers
            literal = regex_literal_prefix(p.value) or "/"
            value = literal
        else:
            value = p.value
        for n in self.separated_lengths:
            if n <= len(value):
                found.extend(self.separated.get(value[:n], ()))
        if p.kind == "regex":
            for n in {0, 1, *self.lengths}:
                if n <= len(value):
                    found.extend(self.prefixes.get(value[:n], ()))
            lowered = ascii_lower(value)
            for n in {0, 1, *self.ci_lengths}:
                if n <= len(lowered):
                    found.extend(self.ci_prefixes.get(lowered[:n], ()))
            return list(dict.fromkeys(found))
        for n in self.lengths:
            if n <= len(value):
                found.extend(self.prefixes.get(value[:n], ()))
        if self.ci_lengths:
            lowered = ascii_lower(value)
            for n in self.ci_lengths:
                if n <= len(lowered):
                    found.extend(self.ci_prefixes.get(lowered[:n], ()))
        found.extend(self.exact.get(value, ()))
        if p.kind == "path" and self.regex_lengths:
            if len(value) * len(self.regex_lengths) <= _SLICES:
                seen: set[str] = set()
                for n in self.regex_lengths:
                    for i in range(len(value) - n + 1):
                        text = value[i : i + n]
                        if text not in seen:
                            seen.add(text)
                            found.extend(self.regex_by_anchor.get(text, ()))
            else:  # a very long path: ask each regex's text instead of every slice (same answer, bounded work)
                for text, regexes in self.regex_by_anchor.items():
                    if text in value:
                        found.extend(regexes)
        return found

    def first_cover(self, route: Route) -> Route | None:
        candidates = self._candidates(route)
        if not candidates:  # the usual route: nothing earlier could cover it
            return None
        if len(candidates) > 1:
            position = self.position
            candidates.sort(key=lambda c: position[id(c)])
        return next((c for c in candidates if _covers(c.match, route.match)), None)


@dataclass
class _Outcomes:
    alive: set[_Key] = field(default_factory=set)
    dead: dict[_Key, Route] = field(default_factory=dict)
    witnesses: dict[_Key, Request] = field(default_factory=dict)
    """For a dead key: a request it matches that the model routes to its killer (where the killer was recorded)."""
    find_witnesses: bool = True

    def record(
        self, source: RouteSource, killer: Route | None, *, where: _Where | None = None, victim: Route | None = None
    ) -> None:
        key = (source.namespace, source.name, source.rule_index, source.match_index)
        if killer is None:
            self.alive.add(key)
        elif key not in self.dead:
            self.dead[key] = killer
            if where is not None and victim is not None and self.find_witnesses:
                for dead in _witness_shapes(victim.match):
                    request = witness_request(dead, killer.match, where.vhost.domains, scheme=where.scheme)
                    # honest only if Envoy (the model) picks this vhost for its Host and the killer takes it there
                    if request is not None and _first_route(where.virtual_hosts, request) is killer:
                        self.witnesses[key] = request
                        break


def _first_route(virtual_hosts: VirtualHostIndex, request: Request) -> Route | None:
    choice = virtual_hosts.select(request.host)
    return None if choice is None else first_route(choice.virtual_host, request.match_input())


def _witness_shapes(match: RouteMatch) -> list[RouteMatch]:
    """Narrowings of the victim's match to build its witness from, tried in turn: the simplest request may be taken
    by a route ranked between the killer and the victim rather than by the killer -- an exact path (istiod sorts a
    Gateway API Exact before every PathPrefix), or a method match (sorted first) for the GET a witness tries first.
    So also one path below a prefix, and a method other than GET."""
    shapes = [match]
    p = match.path
    if p.kind in ("prefix", "path_separated_prefix") and p.value.startswith("/"):
        deeper = p.value + ("w" if p.value.endswith("/") else "/w")
        shapes.append(replace(match, path=PathSpec("path", deeper, p.case_sensitive)))
    if not any(h.name == ":method" for h in match.headers):
        not_get = HeaderMatcher(":method", ValueMatcher("exact", "GET"), invert=True)
        shapes += [replace(m, headers=(*m.headers, not_get)) for m in list(shapes)]
    return shapes


class _Where(NamedTuple):
    """The virtual host a route list belongs to (for witnesses): it, its route configuration's vhosts, the scheme."""

    vhost: VirtualHost
    virtual_hosts: VirtualHostIndex
    scheme: str


class _Walks:
    """Route lists already walked, by the identities of their matches and whether each is certain: which earlier
    route covers each route depends on nothing else.  The same rules bound to an HTTP and an HTTPS server (or a
    Gateway API route at its HTTP and HTTPS listeners) give such twin lists at two route configurations."""

    __slots__ = ("_killers",)

    def __init__(self) -> None:
        self._killers: dict[tuple[int, ...], tuple[tuple[RouteMatch, ...], dict[int, int]]] = {}
        """Signature -> (the matches, held so that their identities are not reused; the killer's position by the
        position of each route covered)."""

    def walk(self, routes: list[Route], outcomes: _Outcomes, where: _Where | None = None) -> None:
        signature = tuple([id(r.match) if r.certain else -id(r.match) for r in routes])
        known = self._killers.get(signature)
        if known is None:
            self._killers[signature] = (tuple([r.match for r in routes]), _walk_routes(routes, outcomes, where))
            return
        killers = known[1]
        for pos, route in enumerate(routes):
            killer = killers.get(pos) if route.certain else None
            if killer is None:
                outcomes.record(written_at(route), None)
            else:
                outcomes.record(written_at(route), routes[killer], where=where, victim=route)


def _walk_routes(routes: list[Route], outcomes: _Outcomes, where: _Where | None = None) -> dict[int, int]:
    """Each route's verdict recorded; returns the position of the killer of each route covered, by its position."""
    earlier = _EarlierRoutes()
    killers: dict[int, int] = {}
    for pos, route in enumerate(routes):
        if not route.certain:
            outcomes.record(written_at(route), None)
            continue
        killer = earlier.first_cover(route)
        outcomes.record(written_at(route), killer, where=where, victim=route)
        if killer is not None:
            killers[pos] = earlier.position[id(killer)]
        earlier.add(route, pos)
    return killers


@record
class GeneratedRules:
    """The VirtualServices istiod generates from Gateway API routes, so that a route built from one is named by the
    HTTPRoute/GRPCRoute rule and match the user wrote, never by the generated VirtualService nobody wrote."""

    virtual_services: dict[tuple[str, str], VirtualService] = field(default_factory=dict)
    rule_names: dict[tuple[str, str, str, int], str] = field(default_factory=dict)
    """(kind, namespace, name, rule index) of a route -> the rule's ``name`` (``""`` when unnamed)."""

    @classmethod
    def of(cls, snapshot: Snapshot) -> GeneratedRules:
        generated = {(vs.meta.namespace, vs.meta.name): vs for vs in snapshot.virtual_services if vs.gateway_semantics}
        names = {
            (r.meta.kind, r.meta.namespace, r.meta.name, rule.index): rule.name for r in snapshot.kube_routes for rule in r.rules
        }
        return cls(generated, names)

    def mixes(self, routes: list[Route]) -> bool:
        """Do ``routes`` hold both routes of generated VirtualServices and routes written by someone?  (A route's
        own ``source`` is enough: a generated VirtualService is never a delegation root or a delegate.)"""
        generated = self.virtual_services
        first = (routes[0].source.namespace, routes[0].source.name) in generated if routes else False
        return any(((r.source.namespace, r.source.name) in generated) is not first for r in routes)

    def origin(self, namespace: str, name: str, rule_index: int) -> GeneratedFrom | None:
        """The route rule and match a generated VirtualService's rule comes from (``None``: not generated)."""
        vs = self.virtual_services.get((namespace, name))
        if vs is None or rule_index >= len(vs.http):
            return None
        return vs.http[rule_index].generated_from

    def rule_text(self, origin: GeneratedFrom) -> str:
        """``rule #1`` / ``rule "name"`` of the route, as written."""
        name = self.rule_names.get((origin.kind, origin.namespace, origin.name, origin.rule), "")
        return f"rule {rule_label(name, origin.rule)}"


def route_text(route: Route, generated: GeneratedRules | None = None) -> tuple[str, str]:
    """Who wrote ``route`` (``VirtualService ns/name`` or ``HTTPRoute ns/name``) and its rule and match with the
    condition (``rule #0 match #1 (prefix /api)``)."""
    src = written_at(route)  # a delegated route is named by the delegate's rule, as written
    origin = generated.origin(src.namespace, src.name, src.rule_index) if generated is not None else None
    if origin is not None:
        rule = generated.rule_text(origin) if generated is not None else ""
        owner = f"{origin.kind} {origin.full_name}"
        if origin.match is None:
            return owner, f"{rule} (no match)" if is_catch_all_route(route.match) else f"{rule} ({route.match.describe()})"
        return owner, f"{rule} match #{origin.match} ({route.match.describe()})"
    rule = f"rule {rule_label(src.rule_name, src.rule_index)}"
    if src.match_index is None:
        # a delegate rule without match that took its root rule's match is no catch-all
        text = f"{rule} (no match)" if is_catch_all_route(route.match) else f"{rule} ({route.match.describe()})"
    else:
        text = f"{rule} match {rule_label(src.match_name, src.match_index)} ({route.match.describe()})"
    return f"VirtualService {src.namespace}/{src.name}", text


def describe_killer(killer: Route, victim: VirtualService, *, generated: GeneratedRules | None = None) -> str:
    owner, text = route_text(killer, generated)
    if owner != f"VirtualService {victim.meta.namespace}/{victim.meta.name}":
        text = f"{owner} {text}"
    return text


class SharedHost(NamedTuple):
    """A virtual host whose routes come from VirtualServices and from Gateway API routes alike."""

    proxy: str
    route_configuration: str
    domains: tuple[str, ...]
    owners: tuple[str, ...]
    """``VirtualService ns/name`` / ``HTTPRoute ns/name``, in the order Envoy tries their first routes."""


class ServedAt(NamedTuple):
    """How one server is served at one proxy."""

    routed: bool
    """Some VirtualService routes the server."""
    overlap: bool
    """Some routed virtual host could take the server's hosts."""


@dataclass
class Reachability:
    """Per rule/match verdicts over every proxy and the mesh."""

    outcomes: _Outcomes
    served: dict[ServerRef, list[ServedAt]]
    """Each Gateway server -> how it is served, one entry per proxy."""
    generated: GeneratedRules = field(default_factory=GeneratedRules)
    """The Gateway API routes' generated VirtualServices, to name their routes by the route rules written."""
    shared_hosts: list[SharedHost] = field(default_factory=list)
    """Virtual hosts where routes of VirtualServices and of Gateway API routes are merged (MSH0407)."""
    merge: MergeRecord = field(default_factory=MergeRecord)
    """What istiod's ``mergeGateways`` did with each server over every proxy (MSH0206)."""


def _truncated_at(t: Truncation, homes: dict[int, _Where], by_name: dict[tuple[str, str], VirtualService]) -> dict[str, Any]:
    """Where a truncated match would have been (the vhost of the route that stopped it) and the route it would
    have been, for its witness.  ``homes``: each route's vhost (:func:`_route_homes`).  ``by_name``: the
    VirtualServices as istiod translates them -- a root merged with its delegates, whose truncated match is the merged
    one (root's and delegate's conditions combined), a real request all the same."""
    vs = by_name.get((t.source.namespace, t.source.name))
    if vs is None or t.source.rule_index >= len(vs.http):
        return {}
    rule = vs.http[t.source.rule_index]
    mi = t.source.match_index
    if mi is not None and mi >= len(rule.matches):
        return {}
    where = homes.get(id(t.by))
    if where is None:
        return {}
    match = translate_match(rule.matches[mi] if mi is not None else None, gateway_semantics=vs.gateway_semantics)
    return {"where": where, "victim": Route(match, t.source, t.by.gateway, t.by.action)}


def _route_homes(rc: RouteConfiguration, index: VirtualHostIndex, scheme: str) -> dict[int, _Where]:
    """Every route's virtual host, by the route's identity (the first vhost holding it, as a scan would find)."""
    homes: dict[int, _Where] = {}
    for vh in rc.virtual_hosts:
        where = _Where(vh, index, scheme)
        for r in vh.routes:
            homes.setdefault(id(r), where)
    return homes


def _truncation_taker(t: Truncation, at: dict[str, Any], generated: GeneratedRules) -> Route:
    """The route named as taking a truncated match's requests: the catch-all that cut it off -- or, for a Gateway
    API route, the first route of the virtual host covering it, since istiod's precedence puts every PathPrefix
    (``/`` included) before regexes, so a narrower prefix takes the regex's requests before the catch-all does."""
    where, victim = at.get("where"), at.get("victim")
    if not isinstance(where, _Where) or not isinstance(victim, Route):
        return t.by
    if (t.source.namespace, t.source.name) not in generated.virtual_services:
        return t.by
    for route in where.vhost.routes:
        if route is t.by:
            break
        if route.certain and _covers(route.match, victim.match):
            return route
    return t.by


def _walk_route_configuration(
    rc: RouteConfiguration,
    truncations: list[Truncation],
    *,
    proxy: GatewayProxy,
    outcomes: _Outcomes,
    generated: GeneratedRules,
    by_name: dict[tuple[str, str], VirtualService],
    shared: list[SharedHost],
    routed_domains: dict[str, list[str]],
    walks: _Walks,
) -> None:
    """Every route of one route configuration walked (its verdicts in ``outcomes``), and the rules its routes cut off."""
    vhost_index = VirtualHostIndex(rc.virtual_hosts)
    scheme = "https" if rc.name.startswith("https.") else "http"
    for vh in rc.virtual_hosts:
        # cheap first: does this vhost hold both generated and written routes? (names only then)
        if generated.virtual_services and generated.mixes(vh.routes):
            owners = tuple(dict.fromkeys(route_text(r, generated)[0] for r in vh.routes))
            shared.append(SharedHost(proxy.name, rc.name, tuple(vh.domains), owners))
        walks.walk(vh.routes, outcomes, _Where(vh, vhost_index, scheme))
        if vh.routes:
            routed_domains.setdefault(rc.name, []).extend(vh.domains)
    homes = _route_homes(rc, vhost_index, scheme) if truncations else {}
    for t in truncations:
        at = _truncated_at(t, homes, by_name)
        outcomes.record(written_at(t), _truncation_taker(t, at, generated), **at)


def compute_reachability(snapshot: Snapshot, *, witnesses: bool = True, actions: bool = False) -> Reachability:
    """Every rule's and match's verdict at every proxy; ``witnesses``: also a request proving each dead one.
    ``actions``: also work out where each route sends requests -- never needed for a verdict; only the test that
    shows so asks."""
    index = make_index(snapshot)
    outcomes = _Outcomes(find_witnesses=witnesses)
    served: dict[ServerRef, list[ServedAt]] = {}
    gateways = {g.meta.full_name: g for g in snapshot.gateways}
    # merged roots, as translated: a truncation's rule and match index are the merged VirtualService's
    by_name = {(vs.meta.namespace, vs.meta.name): vs for vs in index.virtual_services}
    generated = GeneratedRules.of(snapshot)
    shared: list[SharedHost] = []
    walks = _Walks()
    merge = MergeRecord()
    for proxy in gateway_proxies(snapshot):
        servers: dict[ServerRef, ServerUse] = {}
        routed_domains: dict[str, list[str]] = {}
        # one route configuration at a time, walked and let go before the next is built: the peak is one, not all
        for built in route_configurations(index, proxy, served=servers, actions=actions, record=merge):
            _walk_route_configuration(
                *built, proxy=proxy, outcomes=outcomes, generated=generated, by_name=by_name, shared=shared,
                routed_domains=routed_domains, walks=walks,
            )  # fmt: skip
            del built  # not held while the next one is built
        overlaps: dict[str, HostOverlapIndex] = {}
        for (gname, server_index), (rc_name, has_routes) in servers.items():
            gw = gateways[gname]
            hosts = sanitize_server_hosts_split_once(gw.servers[server_index].hosts, gw.meta.namespace)
            domains = overlaps.get(rc_name)
            if domains is None:
                domains = overlaps[rc_name] = HostOverlapIndex(routed_domains.get(rc_name, ()))
            overlap = any(domains.overlaps(host_name(h)) for h in hosts)
            served.setdefault(ServerRef(gname, server_index), []).append(ServedAt(has_routes, overlap))
    sidecar = GatewayProxy("<sidecar>", None, (), hypothetical=True)
    for vs in index.virtual_services:
        if "mesh" not in index.resolved_gateways[id(vs)]:
            continue
        ports = sorted({m.port for r in vs.http for m in r.matches if m.port} | {0})
        for port in ports:
            routes, truncations = build_vs_routes(index, vs, gateway="mesh", port=port, proxy=sidecar, actions=actions)
            ordered = catch_alls_last(routes)
            mesh_vhost = VirtualHost(f"{vs.meta.full_name}:{port}", list(vs.hosts), ordered)
            mesh_where = _Where(mesh_vhost, VirtualHostIndex([mesh_vhost]), "http")
            _walk_routes(ordered, outcomes, mesh_where)
            homes = {id(r): mesh_where for r in ordered}
            for t in truncations:
                outcomes.record(written_at(t), t.by, **_truncated_at(t, homes, by_name))
    return Reachability(outcomes, served, generated, shared, merge)


def unreachable_rule_findings(
    snapshot: Snapshot, reach: Reachability, istio: dict[tuple[str, str], list[IstioRuleFinding]]
) -> list[Finding]:
    out: list[Finding] = []
    o = reach.outcomes
    for vs in snapshot.virtual_services:
        if vs.gateway_semantics:
            continue  # istiod's own VirtualServices: their rules are reported on the routes written (MSH0401-MSH0403)
        reported = istio.get((vs.meta.namespace, vs.meta.name), [])
        ist0130 = {f.rule_index for f in reported if f.code == "IST0130" and f.section == "http"}
        ist0131 = {(f.rule_index, f.match_index) for f in reported if f.code == "IST0131" and f.section == "http"}
        ns, name = vs.meta.namespace, vs.meta.name
        for rule in vs.http:
            if len(rule.matches) <= 1 and (ns, name, rule.index, 0 if rule.matches else None) in o.alive:
                continue  # the usual rule: one key, alive (nothing below would report it)
            keys: list[_Key] = (
                [(ns, name, rule.index, None)]
                if not rule.matches
                else [(ns, name, rule.index, i) for i in range(len(rule.matches))]
            )
            if any(k in o.alive for k in keys):
                for k in keys:
                    if k in o.dead and k not in o.alive and (rule.index, k[3]) not in ist0131:
                        m = rule.matches[k[3]] if k[3] is not None else None
                        out.append(
                            finding(
                                "MSH0102",
                                vs.meta,
                                rule_label(rule.name, rule.index),
                                rule_label(m.name if m else "", k[3] or 0),
                                describe_killer(o.dead[k], vs, generated=reach.generated),
                                witness=_witness(reach, k, vs),
                            )
                        )
                continue
            dead_key = next((k for k in keys if k in o.dead), None)
            if dead_key is not None and rule.index not in ist0130:
                killer = o.dead[dead_key]
                witness = _witness(reach, dead_key, vs)
                if witness is None:  # another match of the rule may have one (it names its own killer)
                    witness = next((w for k in keys if k in o.dead and (w := _witness(reach, k, vs)) is not None), None)
                described = describe_killer(killer, vs, generated=reach.generated)
                out.append(finding("MSH0101", vs.meta, rule_label(rule.name, rule.index), described, witness=witness))
    return out


def istio_rule_witness(reach: Reachability, vs: VirtualService, *, rule_index: int, match_index: int | None) -> Witness | None:
    """A witness for Istio's IST0130 (``match_index`` ``None``: the whole rule) or IST0131 on an ``http`` rule, when
    the plugin's own verdict agrees: the rule (match) is taken first everywhere it exists, as for MSH0101/MSH0102.

    Istio's checks are structural and can be wrong (spec/analysis.md A3.2); where the model finds the rule used
    somewhere, or never built it (no gateway in the input), there is no witness rather than a guess.
    """
    o = reach.outcomes
    ns, name = vs.meta.namespace, vs.meta.name
    if match_index is not None:
        key = (ns, name, rule_index, match_index)
        return _witness(reach, key, vs) if key in o.dead and key not in o.alive else None
    if rule_index >= len(vs.http):
        return None
    rule = vs.http[rule_index]
    keys: list[_Key] = (
        [(ns, name, rule_index, None)] if not rule.matches else [(ns, name, rule_index, i) for i in range(len(rule.matches))]
    )
    if any(k in o.alive for k in keys):
        return None
    return next((w for k in keys if k in o.dead and (w := _witness(reach, k, vs)) is not None), None)


def _witness(reach: Reachability, key: _Key, victim: VirtualService) -> Witness | None:
    return witness_of(reach, key, describe_killer(reach.outcomes.dead[key], victim, generated=reach.generated))


def witness_of(reach: Reachability, key: _Key, taken_by: str) -> Witness | None:
    """The witness recorded for a dead ``key`` (VirtualService namespace, name, rule, match), taken by ``taken_by``."""
    request = reach.outcomes.witnesses.get(key)
    if request is None:
        return None
    return Witness(
        request.method,
        f"{request.scheme}://{request.host}{request.path}",
        tuple((h.name, h.value) for h in request.headers),
        taken_by,
    )


def inapplicable_match_findings(snapshot: Snapshot, *, servers: GatewayServers) -> list[Finding]:
    """MSH0103 for ``http`` matches (:func:`.servers.inapplicable_match_reason`; ``servers``: the snapshot's
    Gateways)."""
    out = []
    for vs in snapshot.virtual_services:
        if not vs.hosts:
            continue  # a delegate is bound to no gateway itself: its matches apply where its roots' rules do
        for rule in vs.http:
            for mi, m in enumerate(rule.matches):
                if not m.gateways and not m.port:
                    continue  # applies wherever its rule does (the usual match: no call)
                why = inapplicable_match_reason(vs, section="http", match_gateways=m.gateways, port=m.port, servers=servers)
                if why:
                    out.append(
                        finding(
                            "MSH0103",
                            vs.meta,
                            rule_label(rule.name, rule.index),
                            rule_label(m.name, mi),
                            why,
                            field=f"spec.http[{rule.index}].match[{mi}]",
                        )
                    )
    return out


def unserved_server_findings(snapshot: Snapshot, reach: Reachability) -> list[Finding]:
    """MSH0201: an HTTP/HTTPS server no VirtualService routes, whose hosts no routed vhost serves."""
    out = []
    for gw in snapshot.gateways:
        for server in gw.servers:
            if server.port is None or (server.tls is not None and server.tls.https_redirect) or server_kind(server) != "http":
                continue  # a TCP server istiod files under "" can be read for routes: its own chain is no HTTP one
            results = reach.served.get(ServerRef(gw.meta.full_name, server.index))
            if not results or any(use.routed or use.overlap for use in results):
                continue
            hosts = ",".join(server.hosts)
            out.append(
                finding("MSH0201", gw.meta, gw.meta.full_name, server.port.number, hosts, field=f"spec.servers[{server.index}]")
            )
    return out


def never_served_server_findings(snapshot: Snapshot, reach: Reachability) -> list[Finding]:
    """MSH0206: a server istiod's ``mergeGateways`` leaves without routes at every gateway proxy its Gateway applies
    to, because an earlier server took its listener port (or its route configuration name)."""
    out = []
    for gw in snapshot.gateways:  # as written: not the Gateways istiod generates from the Gateway API
        for server in gw.servers:
            x = reach.merge.never_served(ServerRef(gw.meta.full_name, server.index))
            if x is None or server.port is None:
                continue
            what = f"{server.port.number} ({server.port.protocol.upper()})"
            out.append(finding("MSH0206", gw.meta, gw.meta.full_name, what, _lost_why(x), field=f"spec.servers[{server.index}]"))
    return out


def _lost_why(x: LostServer) -> str:
    if x.first is None or x.first.server.port is None:
        return "its route configuration name is taken by an earlier server"
    port = x.first.server.port
    first = f"{x.first.gateway.meta.full_name} server port {port.number} ({port.protocol.upper()})"
    at = f"listener port {x.listen}" + (f" on {x.first.server.bind}" if x.first.server.bind else "")
    if x.why == "protocol":
        return f"{first} comes first on {at}, and istiod keeps one protocol on an address"
    if x.why == "bind":
        return (
            f"{first} comes first on {at}, and istiod drops a later server without TLS settings on an address its TLS servers use"
        )
    return f'{first} comes first on {at}, so istiod gives this HTTP server a route configuration named "" that holds none of its routes'


def hidden_binding_findings(snapshot: Snapshot) -> list[Finding]:
    """MSH0202: bound to a gateway whose pods (in the input) cannot see the VirtualService."""
    if not snapshot.has_pods:
        return []
    gateways: dict[str, Gateway] = {g.meta.full_name: g for g in snapshot.gateways}
    pod_namespaces: dict[tuple[tuple[str, str], ...], list[str]] = {}  # selector -> namespaces of its pods
    out = []
    for vs in snapshot.virtual_services:
        if not vs.hosts:
            continue
        for gname in dict.fromkeys(vs_gateways(vs)):
            gw = gateways.get(gname)
            if gw is None:
                continue
            namespaces = pod_namespaces.get(gw.selector)
            if namespaces is None:
                namespaces = pod_namespaces[gw.selector] = sorted(
                    {p.meta.namespace for p in snapshot.pods_selected_by(gw.selector)}
                )
            for pod_ns in namespaces:
                if vs_visibility(vs, pod_ns) == "hidden":
                    out.append(
                        finding(
                            "MSH0202", vs.meta, vs.meta.full_name, gname, go_list(vs.export_to), pod_ns, field="spec.exportTo"
                        )
                    )
    return out
