"""TCP and TLS rules at ingress gateways: matches that apply nowhere, and rules istiod never uses.

Why this module exists: HTTP rules become Envoy routes (see :mod:`.reachability`), but ``tcp`` and ``tls`` rules
become listener filter chains, chosen by other rules.  What istiod does for a gateway server (``gateway.go``:
``createGatewayTCPFilterChainOpts`` and the two ``buildGatewayNetworkFiltersFrom…Routes``):

* which rules a server uses depends on the server: plaintext TCP-family servers and TLS-terminating non-HTTP
  servers use ``tcp`` rules, ``PASSTHROUGH`` servers use ``tls`` rules, HTTP servers and HTTPS servers that
  terminate TLS use ``http`` rules, ``AUTO_PASSTHROUGH`` servers use no VirtualService at all;
* a match applies to a server when its ``port`` (if set) is the server's Gateway port and its ``gateways`` (if
  set) name the server's Gateway -- ``sourceLabels``, ``sourceNamespace`` and ``destinationSubnets`` are not
  looked at on gateways;
* ``tcp``: among the VirtualServices bound to the Gateway whose hosts match the server's (in istiod's order),
  the first rule with an applicable match (or without match) becomes the server's only filter chain: every
  other rule that applies there is never used there;
* ``tls``: every applicable match becomes a filter chain on its SNI hosts, unless one of them was already
  taken on the same listener port and bind (by any server), in which case istiod drops the whole match.  Envoy
  then picks the most specific SNI, so ``a.example.com`` after ``*.example.com`` is *not* shadowed.

A verdict needs every place the rule exists: each gateway proxy (real pods, else one per selector; a
VirtualService whose visibility to it is unknown makes the server's verdicts "maybe"), and never a rule that
also applies at sidecars (bound to ``mesh``), whose TCP handling is not modelled here.

A finding's witness is a connection (:class:`~.findings.ConnectionWitness`), not a request: the Gateway port of a
plaintext TCP server, or the port and an SNI name of a PASSTHROUGH listener, kept only where the filter chain that
gets it is certain (no bind address, no other kind of server on the listener, no chain of uncertain visibility or
more specific SNI that could take the name).  Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from ..envoy.witness import WILDCARD_NAME
from ..istio.hosts import (
    host_matches,
    names_for_namespace_split_once,
    resolve_shortname_to_fqdn,
)
from ..istio.server_kinds import server_kind
from ..istio.translation import (
    GatewayProxy,
    KeptServer,
    VisibleVirtualService,
    gateways_in_istiod_order,
    in_istiod_order,
    kept_servers,
    resolve_gateway_name,
    visible_in_istiod_order,
    vs_gateways,
)
from ..records import record
from ..resources.model import (
    Gateway,
    L4Match,
    L4Rule,
    SelectorIndex,
    Server,
    Snapshot,
    VirtualService,
    gateway_selector,
)
from .findings import ConnectionWitness, Finding, finding, go_list, rule_label
from .istio_rules import IstioRuleFinding
from .reachability import gateway_proxies
from .servers import GatewayServers, inapplicable_match_reason

Section = Literal["tcp", "tls"]
MESH = "mesh"

_Key = tuple[str, str, str, int, int | None]  # (vs namespace, vs name, section, rule index, match index)


def match_fits_server(match: L4Match, *, server: Server, gateway: str, vs_namespace: str) -> bool:
    """istiod's ``l4SingleMatch`` on a gateway: the match's port and gateways only."""
    assert server.port is not None
    if match.port and match.port != server.port.number:
        return False
    return not match.gateways or any(resolve_gateway_name(g, vs_namespace) == gateway for g in match.gateways)


def _sections(vs: VirtualService) -> tuple[tuple[Section, tuple[L4Rule, ...]], ...]:
    return (("tcp", vs.tcp), ("tls", vs.tls))


def _applies_at_sidecars(vs: VirtualService, match: L4Match | None) -> bool:
    if MESH not in vs_gateways(vs):
        return False
    return match is None or not match.gateways or MESH in match.gateways


# --------------------------------------------------------------------------- MSH0103 for tcp/tls


def inapplicable_l4_match_findings(snapshot: Snapshot, *, servers: GatewayServers) -> Iterator[Finding]:
    """MSH0103 for ``tcp``/``tls`` matches (:func:`.servers.inapplicable_match_reason`; ``servers``: the
    snapshot's Gateways)."""
    for vs in snapshot.virtual_services:
        for section, rules in _sections(vs):
            for rule in rules:
                for mi, m in enumerate(rule.matches):
                    why = inapplicable_match_reason(vs, section=section, match_gateways=m.gateways, port=m.port, servers=servers)
                    if why:
                        path = f"spec.{section}[{rule.index}].match[{mi}]"
                        yield finding("MSH0103", vs.meta, rule_label("", rule.index), rule_label("", mi), why, field=path)


# --------------------------------------------------------------------------- the servers of one gateway proxy


def listener_ordered_servers(snapshot: Snapshot, proxy: GatewayProxy, *, gateways: Sequence[Gateway]) -> list[KeptServer]:
    """The servers istiod keeps for ``proxy`` (:func:`kubectl_meshctl.istio.translation.kept_servers`, given the
    Gateways selecting it in creation order), in istiod's listener order: the first appearance of (listener port,
    protocol, bind)."""
    kept = kept_servers(snapshot, proxy, gateways=gateways)
    first_seen: dict[tuple[int, str, str], int] = {}
    for k in kept:
        first_seen.setdefault(_listener_key(k), len(first_seen))
    return sorted(kept, key=lambda k: first_seen[_listener_key(k)])


def _listener_key(kept: KeptServer) -> tuple[int, str, str]:
    """istiod's ``ServerPort``: listener port, protocol, bind."""
    protocol = kept.server.port.protocol.upper() if kept.server.port is not None else ""
    return (kept.listen, protocol, kept.server.bind)


class _View:
    """Per-snapshot lookups shared by every proxy: Gateways and bound VirtualServices in istiod's order."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.gateways = gateways_in_istiod_order(snapshot.gateways)
        ordered = in_istiod_order(vs for vs in snapshot.virtual_services if vs.hosts and (vs.tcp or vs.tls))
        self.hosts = {id(vs): tuple(resolve_shortname_to_fqdn(h, vs.meta.namespace) for h in vs.hosts) for vs in ordered}
        self.by_gateway: dict[str, list[VirtualService]] = {}
        for vs in ordered:
            for g in vs_gateways(vs):
                self.by_gateway.setdefault(g, []).append(vs)
        self.gateway_selectors = SelectorIndex(self.gateways, gateway_selector)
        """:attr:`gateways` by selector: those selecting a proxy, in that order, without trying each."""

    def candidates(self, proxy: GatewayProxy, kept: KeptServer) -> list[VisibleVirtualService]:
        """VirtualServices bound to the server's Gateway whose hosts match the server's, in istiod's order."""
        out = []
        for seen in visible_in_istiod_order(self.by_gateway.get(kept.gateway.meta.full_name, ()), proxy.namespace):
            vs = seen.virtual_service
            server_hosts = names_for_namespace_split_once(kept.hosts, vs.meta.namespace)
            if any(host_matches(s, h) for s in server_hosts for h in self.hosts[id(vs)]):
                out.append(seen)
        return out


# --------------------------------------------------------------------------- who takes what


@record
class Taker:
    """The rule (and match) that gets a server's connections (tcp) or an SNI host's filter chain (tls)."""

    vs: VirtualService
    section: Section
    rule_index: int
    match_index: int | None

    @property
    def key(self) -> _Key:
        return (self.vs.meta.namespace, self.vs.meta.name, self.section, self.rule_index, self.match_index)

    def describe(self, victim: VirtualService) -> str:
        rule = rule_label("", self.rule_index)
        if self.match_index is None:
            text = f"rule {rule} (no match)"
        else:
            rules = self.vs.tcp if self.section == "tcp" else self.vs.tls
            match = rules[self.rule_index].matches[self.match_index]
            text = f"rule {rule} match {rule_label('', self.match_index)} ({describe_l4_match(match)})"
        if (self.vs.meta.namespace, self.vs.meta.name) != (victim.meta.namespace, victim.meta.name):
            text = f"VirtualService {self.vs.meta.full_name} {text}"
        return text


def describe_l4_match(match: L4Match) -> str:
    parts = []
    if match.port:
        parts.append(f"port {match.port}")
    if match.sni_hosts:
        parts.append(f"sniHosts {go_list(match.sni_hosts)}")
    if match.gateways:
        parts.append(f"gateways {go_list(match.gateways)}")
    return ", ".join(parts) or "any connection"


class Connection(NamedTuple):
    """A connection a client opens to a gateway: what a ``tcp``/``tls`` witness is made of."""

    protocol: Literal["tcp", "tls"]
    port: int
    """The Gateway server's port."""
    sni: str = ""


@dataclass
class L4Outcomes:
    """Per rule/match over every proxy: used somewhere, or only ever taken by another rule (or dropped)."""

    alive: set[_Key] = field(default_factory=set)
    covered: dict[_Key, Taker] = field(default_factory=dict)
    """Where it applies, every connection it would take goes to this earlier rule/match."""
    dropped: dict[_Key, tuple[Taker, str]] = field(default_factory=dict)
    """A TLS match istiod dropped because an SNI host (the ``str``) was already taken by the earlier match."""
    sni_chains: dict[tuple[str, int, str], list[Taker]] = field(default_factory=dict)
    """(proxy, listener port, bind) -> the tls matches that certainly get a filter chain there, in istiod's order."""
    tcp_chains: dict[tuple[str, int, str], Taker] = field(default_factory=dict)
    """(proxy, listener port, bind) -> the tcp rule (and match) whose route is the server's only filter chain, for sure."""
    connections: dict[tuple[_Key, _Key], Connection] = field(default_factory=dict)
    """(covered or dropped key, its taker's key) -> a connection the key's match accepts that Envoy gives the taker."""


def _rule_keys(vs: VirtualService, rule: L4Rule, *, section: Section, fitting: Sequence[int]) -> list[_Key]:
    ns, name = vs.meta.namespace, vs.meta.name
    if not rule.matches:
        return [(ns, name, section, rule.index, None)]
    return [(ns, name, section, rule.index, mi) for mi in fitting]


def tcp_server_taker(applicable: Sequence[tuple[VirtualService, L4Rule, Sequence[int]]]) -> Taker | None:
    """The rule istiod turns into a TCP server's only filter chain: the first applicable one, in istiod's order.

    ``applicable``: (VirtualService, rule, indexes of its matches that fit the server) for every rule that applies.
    """
    if not applicable:
        return None
    vs, rule, fitting = applicable[0]
    return Taker(vs, "tcp", rule.index, fitting[0] if fitting else None)


def _walk_tcp(candidates: list[VisibleVirtualService], kept: KeptServer, *, proxy: str, outcomes: L4Outcomes) -> None:
    """The first applicable tcp rule takes the server; every other applicable one is never used here."""
    gname = kept.gateway.meta.full_name
    applicable: list[tuple[VisibleVirtualService, L4Rule, list[int]]] = []
    for cand in candidates:
        for rule in cand.virtual_service.tcp:
            fitting = [
                mi
                for mi, m in enumerate(rule.matches)
                if match_fits_server(m, server=kept.server, gateway=gname, vs_namespace=cand.virtual_service.meta.namespace)
            ]
            if fitting or not rule.matches:
                applicable.append((cand, rule, fitting))
    taker = tcp_server_taker([(cand.virtual_service, rule, fitting) for cand, rule, fitting in applicable])
    if taker is None:
        return
    sure = all(cand.certain for cand, _, _ in applicable)
    if sure:
        outcomes.tcp_chains[(proxy, kept.listen, kept.server.bind)] = taker
    for cand, rule, fitting in applicable:
        for key in _rule_keys(cand.virtual_service, rule, section="tcp", fitting=fitting):
            if not sure or key[:4] == taker.key[:4]:
                outcomes.alive.add(key)
            else:
                outcomes.covered.setdefault(key, taker)
                # plaintext only: a server that terminates TLS needs a handshake with a fitting SNI and certificate
                if kept.server.tls is None and not kept.server.bind and kept.server.port is not None:
                    outcomes.connections.setdefault((key, taker.key), Connection("tcp", kept.server.port.number))


@dataclass
class _SniTable:
    """``tlsHostsByPort`` of one listener (port and bind): SNI host -> the match whose filter chain has it."""

    taken: dict[str, Taker] = field(default_factory=dict)
    maybe: set[str] = field(default_factory=set)
    """Hosts a match of uncertain visibility may have taken."""
    chains: list[Taker] = field(default_factory=list)
    """The matches that got a filter chain for sure, in order."""
    pending: list[tuple[_Key, Taker, tuple[str, ...], int]] = field(default_factory=list)
    """Witnesses to check once every chain of the listener is known: (key, its taker, SNI hosts to try, Gateway port)."""


def _walk_tls(candidates: list[VisibleVirtualService], kept: KeptServer, *, table: _SniTable, outcomes: L4Outcomes) -> None:
    """Each applicable tls match gets a filter chain unless one of its SNI hosts is taken on the listener."""
    gname = kept.gateway.meta.full_name
    for cand in candidates:
        vs = cand.virtual_service
        for rule in vs.tls:
            for mi, m in enumerate(rule.matches):
                if not match_fits_server(m, server=kept.server, gateway=gname, vs_namespace=vs.meta.namespace):
                    continue
                me = Taker(vs, "tls", rule.index, mi)
                taken = [h for h in m.sni_hosts if h in table.taken]
                if not cand.certain or (not taken and any(h in table.maybe for h in m.sni_hosts)):
                    outcomes.alive.add(me.key)
                    table.maybe.update(m.sni_hosts)
                elif not taken:
                    table.taken.update(dict.fromkeys(m.sni_hosts, me))
                    table.chains.append(me)
                    outcomes.alive.add(me.key)
                elif table.taken[taken[0]].key == me.key:
                    outcomes.alive.add(me.key)  # its own chain, made for an earlier server of this listener
                else:
                    holders = {table.taken[h].key for h in m.sni_hosts if h in table.taken}
                    port = kept.server.port.number if kept.server.port is not None else 0
                    if len(taken) == len(m.sni_hosts) and len(holders) == 1:
                        outcomes.covered.setdefault(me.key, table.taken[taken[0]])
                        table.pending.append((me.key, table.taken[taken[0]], m.sni_hosts, port))
                    else:
                        outcomes.dropped.setdefault(me.key, (table.taken[taken[0]], taken[0]))
                        table.pending.append((me.key, table.taken[taken[0]], (taken[0],), port))


def _concrete_sni(host: str) -> str | None:
    """A server name for an SNI host (``*.example.com`` -> ``example.example.com``); ``None`` for ``*`` and odd ones."""
    if not host or host != host.lower() or "*" in host[1:]:
        return None
    if host.startswith("*"):
        return WILDCARD_NAME + host[1:] if host.startswith("*.") else None
    return host


def _sni_owner(name: str, table: _SniTable) -> _Key | None:
    """The match whose filter chain Envoy picks for the server name ``name``: an exact name first, then the longest
    wildcard suffix (``FilterChainManagerImpl``); ``None`` when no certain chain gets it for sure."""
    for pattern in [name, *("*" + name[i:] for i, ch in enumerate(name) if ch == "." and i > 0)]:
        owners = [t.key for t in table.chains if pattern in _sni_hosts_of(t)]
        if pattern in table.maybe or len(owners) > 1:
            return None
        if owners:
            return owners[0]
    return None


def _sni_hosts_of(taker: Taker) -> tuple[str, ...]:
    if taker.match_index is None:
        return ()
    return taker.vs.tls[taker.rule_index].matches[taker.match_index].sni_hosts


def _tls_connections(table: _SniTable, *, outcomes: L4Outcomes) -> None:
    """The pending witnesses of one PASSTHROUGH listener whose SNI name Envoy gives the taker (per its chains)."""
    for key, taker, hosts, port in table.pending:
        if (key, taker.key) in outcomes.connections:
            continue
        names = [c for h in sorted(hosts, key=lambda h: h.startswith("*")) if (c := _concrete_sni(h)) is not None]
        sni = next((c for c in names if _sni_owner(c, table) == taker.key), None)
        if sni is not None:
            outcomes.connections[(key, taker.key)] = Connection("tls", port, sni)


def compute_l4_outcomes(snapshot: Snapshot) -> L4Outcomes:
    outcomes = L4Outcomes()
    if not any(vs.tcp or vs.tls for vs in snapshot.virtual_services):
        return outcomes
    view = _View(snapshot)
    for proxy in gateway_proxies(snapshot):
        tables: dict[tuple[int, str], _SniTable] = {}
        mixed: set[tuple[int, str]] = set()  # listeners with another kind of server too: its chain may take an SNI
        for kept in listener_ordered_servers(snapshot, proxy, gateways=view.gateway_selectors.selecting(proxy.labels)):
            kind = server_kind(kept.server)
            if kind != "tls":
                mixed.add((kept.listen, kept.server.bind))
            if kind not in ("tcp", "tls"):
                continue
            candidates = view.candidates(proxy, kept)
            if kind == "tcp":
                _walk_tcp(candidates, kept, proxy=proxy.name, outcomes=outcomes)
            else:
                table = tables.setdefault((kept.listen, kept.server.bind), _SniTable())
                _walk_tls(candidates, kept, table=table, outcomes=outcomes)
        for (listen, bind), table in tables.items():
            outcomes.sni_chains[(proxy.name, listen, bind)] = table.chains
            if not bind and (listen, bind) not in mixed:
                _tls_connections(table, outcomes=outcomes)
    return outcomes


# --------------------------------------------------------------------------- findings


def unreachable_l4_rule_findings(
    snapshot: Snapshot, istio: dict[tuple[str, str], list[IstioRuleFinding]], *, outcomes: L4Outcomes | None = None
) -> Iterator[Finding]:
    """MSH0101 / MSH0102 / MSH0104 for ``tcp`` and ``tls`` rules, unless Istio's IST0130/IST0131 already say it."""
    o = compute_l4_outcomes(snapshot) if outcomes is None else outcomes
    for vs in snapshot.virtual_services:
        reported = istio.get((vs.meta.namespace, vs.meta.name), [])
        for section, rules in _sections(vs):
            ist0130 = {f.rule_index for f in reported if f.code == "IST0130" and f.section == section}
            ist0131 = {(f.rule_index, f.match_index) for f in reported if f.code == "IST0131" and f.section == section}
            for rule in rules:
                yield from _rule_findings(vs, rule, section=section, outcomes=o, ist0130=ist0130, ist0131=ist0131)


def _rule_state(vs: VirtualService, rule: L4Rule, *, section: Section, outcomes: L4Outcomes) -> tuple[list[_Key], list[_Key]]:
    """The rule's keys used somewhere (or at sidecars, not modelled), and those only ever taken by another or dropped."""
    o = outcomes
    ns, name = vs.meta.namespace, vs.meta.name
    matches: list[tuple[_Key, L4Match | None]] = (
        [((ns, name, section, rule.index, None), None)]
        if not rule.matches
        else [((ns, name, section, rule.index, mi), m) for mi, m in enumerate(rule.matches)]
    )
    alive = [k for k, m in matches if k in o.alive or _applies_at_sidecars(vs, m)]
    dead = [k for k, _ in matches if k not in alive and (k in o.covered or k in o.dropped)]
    return alive, dead


def _taker_of(key: _Key, outcomes: L4Outcomes) -> Taker:
    """The rule a dead key's findings name: the one that dropped it (MSH0104), else the one that covers it."""
    dropped = outcomes.dropped.get(key)
    return dropped[0] if dropped is not None else outcomes.covered[key]


def _connection_witness(key: _Key, taker: Taker, *, vs: VirtualService, outcomes: L4Outcomes) -> ConnectionWitness | None:
    c = outcomes.connections.get((key, taker.key))
    return None if c is None else ConnectionWitness(c.protocol, c.port, c.sni, taker.describe(vs))


def _first_witness(keys: Sequence[_Key], *, vs: VirtualService, outcomes: L4Outcomes) -> ConnectionWitness | None:
    found = (_connection_witness(k, _taker_of(k, outcomes), vs=vs, outcomes=outcomes) for k in keys)
    return next((w for w in found if w is not None), None)


def istio_l4_witness(
    outcomes: L4Outcomes, vs: VirtualService, *, section: Section, rule_index: int, match_index: int | None
) -> ConnectionWitness | None:
    """A witness for Istio's IST0130 (``match_index`` ``None``: the whole rule) or IST0131 on a ``tcp``/``tls`` rule,
    when this module's verdict agrees (the rule or match is used nowhere it applies); else none, never a guess."""
    rules = vs.tcp if section == "tcp" else vs.tls
    if rule_index >= len(rules):
        return None
    alive, dead = _rule_state(vs, rules[rule_index], section=section, outcomes=outcomes)
    if match_index is None:
        return None if alive else _first_witness(dead, vs=vs, outcomes=outcomes)
    key = (vs.meta.namespace, vs.meta.name, section, rule_index, match_index)
    return _first_witness([key], vs=vs, outcomes=outcomes) if key in dead else None


def _rule_findings(
    vs: VirtualService,
    rule: L4Rule,
    *,
    section: Section,
    outcomes: L4Outcomes,
    ist0130: set[int],
    ist0131: set[tuple[int, int | None]],
) -> Iterator[Finding]:
    o = outcomes
    alive, dead = _rule_state(vs, rule, section=section, outcomes=o)
    if not dead:
        return
    label = rule_label("", rule.index)
    if not alive and all(k in o.covered for k in dead):
        if rule.index not in ist0130:
            # the message names the first dead match's taker; the witness may be another match's (it names its own)
            witness = _first_witness(dead, vs=vs, outcomes=o)
            by = o.covered[dead[0]].describe(vs)
            yield finding("MSH0101", vs.meta, label, by, field=f"spec.{section}[{rule.index}]", witness=witness)
        return
    for k in dead:
        match_index = k[4]
        path = f"spec.{section}[{rule.index}].match[{match_index}]"
        witness = _first_witness([k], vs=vs, outcomes=o)
        if k in o.dropped:
            taker, host = o.dropped[k]
            yield finding(
                "MSH0104", vs.meta, label, rule_label("", match_index or 0), host, taker.describe(vs), field=path, witness=witness
            )
        elif (rule.index, match_index) not in ist0131:
            yield finding(
                "MSH0102",
                vs.meta,
                label,
                rule_label("", match_index or 0),
                o.covered[k].describe(vs),
                field=path,
                witness=witness,
            )
