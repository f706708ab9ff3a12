"""Findings about what a Gateway's servers are, as istiod reads them: which rules it builds each from.

Why this module exists: some mistakes show in a server's own settings, before any route is compared -- a ``tls``
block that names a credential but no ``mode`` (the mode's zero value is PASSTHROUGH, so istiod neither terminates TLS
there nor uses the credential, istio#40511; ``translation.tls_mode_of``), or a VirtualService whose ``http`` rules are
bound only to servers istiod builds from ``tcp`` or ``tls`` rules (``istio/server_kinds.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Literal

from ..istio.hosts import (
    HostCandidates,
    host_name,
    resolve_gateway_name,
    resolve_shortname_to_fqdn,
    sanitize_server_hosts_split_once,
)
from ..istio.server_kinds import TLS_PROTOCOLS, server_kind, server_uses
from ..istio.translation import hosts_bound, vs_gateways
from ..resources.model import Gateway, Server, Snapshot, VirtualService
from .findings import Finding, finding, go_list


def credential_without_mode_findings(snapshot: Snapshot) -> Iterator[Finding]:
    """MSH0204: an HTTPS or TLS server whose ``tls`` names ``credentialName`` but no ``mode``."""
    for gw in snapshot.gateways:
        for server in gw.servers:
            tls = server.tls
            if server.port is None or tls is None or tls.mode or not tls.credential_name:
                continue
            if server.port.protocol.upper() not in TLS_PROTOCOLS:
                continue  # a plaintext server ignores TLS settings whatever their mode
            yield finding(
                "MSH0204",
                gw.meta,
                gw.meta.full_name,
                server.port.number,
                server.port.protocol.upper(),
                tls.credential_name,
                field=f"spec.servers[{server.index}].tls",
            )


def serves_hosts(server: Server, gateway: Gateway, vs: VirtualService) -> bool:
    """Whether istiod would bind ``vs`` at ``server`` by host: a server host (``namespace/host`` for ``vs``'s
    namespace, ``./`` the Gateway's) and a host of ``vs`` intersect."""
    namespace = vs.meta.namespace
    server_hosts = sanitize_server_hosts_split_once(server.hosts, gateway.meta.namespace)
    return bool(hosts_bound(server_hosts, namespace, tuple(resolve_shortname_to_fqdn(h, namespace) for h in vs.hosts)))


class GatewayServers:
    """The Gateways by name, and each one's servers (with a port) by host: the servers that serve a VirtualService's
    hosts without trying each (a Gateway with a server per tenant host met every tenant's VirtualService)."""

    __slots__ = ("_by_host", "gateways")

    def __init__(self, gateways: Mapping[str, Gateway]) -> None:
        self.gateways = gateways
        self._by_host: dict[str, HostCandidates[Server]] = {}

    def serving(self, gname: str, vs: VirtualService) -> list[Server]:
        """The servers of Gateway ``gname`` (in the input) that serve ``vs``'s hosts (:func:`serves_hosts`), in order."""
        gw = self.gateways[gname]
        if len(gw.servers) <= HostCandidates.FEW:  # the usual Gateway: comparing is cheaper than indexing
            return [s for s in gw.servers if s.port is not None and serves_hosts(s, gw, vs)]
        by_host = self._by_host.get(gname)
        if by_host is None:
            by_host = self._by_host[gname] = HostCandidates(
                [s for s in gw.servers if s.port is not None],
                lambda s: (host_name(h) for h in sanitize_server_hosts_split_once(s.hosts, gw.meta.namespace)),
            )
        names = (resolve_shortname_to_fqdn(h, vs.meta.namespace) for h in vs.hosts)
        return [s for s in by_host.candidates(names) if serves_hosts(s, gw, vs)]


def servers_without_http(vs: VirtualService, gateways: GatewayServers) -> list[tuple[str, Server]] | None:
    """The servers of the Gateways ``vs`` is bound to that serve one of its hosts, when none of them is built from
    ``http`` rules -- every such server passes TLS through, is plain TCP, or terminates TLS for TCP -- so ``vs``'s
    ``http`` rules reach no proxy (a server for other hosts takes none of them either, as istiod binds by host).
    ``None`` when some server may use them, no server serves its hosts (IST0132 says so), ``vs`` is bound to ``mesh``,
    or a bound Gateway is not in the input."""
    if not vs.http or not vs.hosts:
        return None  # a delegate is bound through its root
    bound = vs_gateways(vs)
    if "mesh" in bound or not all(g in gateways.gateways for g in bound):
        return None  # sidecars use them; or a Gateway the input does not hold could serve HTTP
    servers = [(g, s) for g in bound for s in gateways.serving(g, vs)]
    if not servers or any(server_kind(s) in ("http", "unknown") for _, s in servers):
        return None
    return servers


def http_rules_without_http_server_findings(snapshot: Snapshot, *, gateways: GatewayServers) -> Iterator[Finding]:
    """MSH0205: a VirtualService whose ``http`` rules are bound only to servers not built from them
    (:func:`servers_without_http`; ``gateways``: the snapshot's)."""
    for vs in snapshot.virtual_services:
        servers = servers_without_http(vs, gateways)
        if servers is not None:
            uses = ", ".join(dict.fromkeys(f"{g} port {s.port.number}: {server_uses(s)}" for g, s in servers if s.port))
            yield finding("MSH0205", vs.meta, vs.meta.full_name, uses, field="spec.http")


def inapplicable_match_reason(
    vs: VirtualService,
    *,
    section: Literal["http", "tcp", "tls"],
    match_gateways: Sequence[str],
    port: int,
    servers: GatewayServers,
) -> str:
    """MSH0103's ``<why>``: why a match of ``vs``'s ``section`` (its ``gateways`` and ``port``) applies to none of the
    VirtualService's gateways; ``""`` when it may apply, or when the input cannot tell (a bound Gateway missing, or
    ``mesh``: at sidecars ``port`` is a service port).  istiod binds a VirtualService to a server by host, for tcp and
    tls rules as for http ones, so only the servers on ``port`` that serve its hosts count."""
    bound = vs_gateways(vs)
    named = {resolve_gateway_name(g, vs.meta.namespace) for g in match_gateways}
    if match_gateways and not any(g in named for g in bound):
        return f"match.gateways {go_list(match_gateways)} names none of {go_list(bound)}"
    if not port or "mesh" in bound:
        return ""
    applicable = [g for g in bound if not match_gateways or g in named]
    if not applicable or not all(g in servers.gateways for g in applicable):
        return ""
    gateways = ", ".join(applicable)
    if not any(s.port is not None and s.port.number == port for g in applicable for s in servers.gateways[g].servers):
        return f"no server of {gateways} listens on port {port}"
    serving = [s for g in applicable for s in servers.serving(g, vs)]
    if not serving:
        return ""  # no server serves its hosts at all: Istio's IST0132 says so, once
    own = [s for s in serving if s.port is not None and s.port.number == port]
    if not own:
        return f"the servers of {gateways} on port {port} serve none of its hosts"
    if {server_kind(s) for s in own} & {section, "unknown"}:
        return ""
    if section == "http" and servers_without_http(vs, servers) is not None:
        return ""  # no server of the VirtualService uses http rules: MSH0205 says so, once
    uses = ", ".join(dict.fromkeys(server_uses(s) for s in own))
    return f"no server of {gateways} on port {port} uses {section} routes: {uses}"
