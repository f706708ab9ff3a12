"""VirtualServices bound to the mesh that share a host: Istio's IST0109, and the plugin's MSH0203.

Why this module exists: at gateways istiod merges the VirtualServices of one host into one Envoy virtual
host, but at sidecars it does not.  For each host (and port) a sidecar gets the virtual host of the first
mesh VirtualService in its own order -- private to the sidecar's namespace, then exported to it, then public,
each by creation time, name, namespace -- and drops the virtual host of every later one as a duplicate.
Envoy picks a virtual host by domain and never falls back to another, so a later VirtualService is not
consulted for that host at all.

* IST0109 reproduces istioctl's ``ConflictingMeshGatewayHostsAnalyzer`` (host level, with its ``exportTo``
  scopes and wildcard quirk), so lines compare with ``istioctl analyze``.
* MSH0203 says which of them is never used: only where that holds at every sidecar, whatever ``Sidecar``
  resources (which the plugin does not read) import.  The winner must be in the loser's namespace and define
  every host of it (istiod imports a VirtualService by its namespace and hosts, so a sidecar that imports the
  loser also imports the winner), come first in every namespace the loser is visible to, and be certain to
  have a route on every port for every sidecar (an HTTP rule with no port, source or gateway condition).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..istio.hosts import convert_host_to_fqdn, host_matches, resolve_shortname_to_fqdn
from ..istio.translation import creation_key, in_istiod_order, vs_gateways, vs_visibility
from ..resources.model import HTTPMatch, HTTPRule, Snapshot, VirtualService
from .findings import Finding, finding, go_list

MESH = "mesh"
EXPORT_TO_ALL = "*"
EXPORT_TO_NONE = "~"
_OTHER_NAMESPACE = "<any other namespace>"
"""A stand-in for every namespace no exportTo names (not a valid namespace name, so it never collides)."""
_GROUP_RANK = {"private": 0, "exported": 1, "public": 2}


# --------------------------------------------------------------------------- IST0109 (istioctl parity)


def _bound_to_mesh_as_istio_checks(vs: VirtualService) -> bool:
    """The analyzer's test: no ``gateways`` at all, or the literal ``mesh`` among them."""
    return not vs.gateways or MESH in vs.gateways


def _host_scopes(vs: VirtualService) -> list[str]:
    """``*`` when exported to all namespaces (or no exportTo), else each exportTo namespace (``.`` = its own).

    Exported to ``~`` (and not ``*``), no sidecar sees it (istiod skips it): no scope, where istioctl keys it
    under a scope named ``~`` and reports a "conflict" between invisible VirtualServices.
    """
    if not vs.export_to or EXPORT_TO_ALL in vs.export_to:
        return [EXPORT_TO_ALL]
    if EXPORT_TO_NONE in vs.export_to:
        return []
    return sorted({vs.meta.namespace if e == "." else e for e in vs.export_to})


def _scoped_hosts(snapshot: Snapshot) -> dict[str, list[VirtualService]]:
    """``<scope>/<FQDN host>`` -> the mesh VirtualServices defining it, in input order."""
    by_key: dict[str, list[VirtualService]] = {}
    for vs in snapshot.virtual_services:
        if not _bound_to_mesh_as_istio_checks(vs):
            continue
        for scope in _host_scopes(vs):
            for host in vs.hosts:
                by_key.setdefault(f"{scope}/{convert_host_to_fqdn(vs.meta.namespace, host)}", []).append(vs)
    return by_key


def _by_full_name(group: Sequence[VirtualService]) -> list[VirtualService]:
    return sorted(group, key=lambda v: v.meta.full_name)


def conflicting_mesh_gateway_hosts(snapshot: Snapshot) -> Iterator[Finding]:
    """IST0109 on every mesh VirtualService that shares a scoped host with another, each reported once.

    A key scoped to namespaces also collects the VirtualServices of ``*`` keys whose host matches it (wildcards
    on both sides).  Where istioctl's output depends on Go map order, the order here is fixed: keys sorted
    (a VirtualService in several groups gets the first group's text), names sorted within the key's own
    VirtualServices and within those added from ``*`` keys, which istioctl appends after them.  A group whose
    only member is one VirtualService listed twice (two of its hosts resolve to the same FQDN) is not reported:
    it conflicts with nothing.
    """
    by_key = _scoped_hosts(snapshot)
    everywhere = [(key.partition("/")[2], group) for key, group in sorted(by_key.items()) if key.startswith("*/")]
    reported: set[tuple[str, str]] = set()
    for key in sorted(by_key):
        scope, _, fqdn = key.partition("/")
        members = _by_full_name(by_key[key])
        if scope != EXPORT_TO_ALL:
            members += _by_full_name([vs for host, group in everywhere if host_matches(fqdn, host) for vs in group])
        if len({id(vs) for vs in members}) < 2:
            continue
        names = ",".join(vs.meta.full_name for vs in members)
        for vs in members:
            name = (vs.meta.namespace, vs.meta.name)
            if name in reported:
                continue
            reported.add(name)
            yield finding("IST0109", vs.meta, names, key, field="metadata.name")


# --------------------------------------------------------------------------- MSH0203


def _match_kept_at_every_sidecar(match: HTTPMatch) -> bool:
    """istiod keeps this match for every sidecar and every port: no port, source or gateway condition."""
    return (
        not match.port
        and not match.source_labels
        and not match.source_namespace
        and (not match.gateways or MESH in match.gateways)
    )


def _rule_routes_at_every_sidecar(rule: HTTPRule) -> bool:
    if rule.delegate is not None:
        return False  # the delegate's rules decide; not known here
    return not rule.matches or any(_match_kept_at_every_sidecar(m) for m in rule.matches)


def always_has_sidecar_routes(vs: VirtualService) -> bool:
    """Every sidecar gets at least one route of ``vs`` on every port, hence a virtual host for each of its hosts."""
    return any(_rule_routes_at_every_sidecar(rule) for rule in vs.http)


def _rank(vs: VirtualService, proxy_namespace: str) -> tuple[int, tuple[str, str, str]] | None:
    """Where ``vs`` comes in the mesh VirtualServices of a sidecar in ``proxy_namespace`` (``None``: not visible)."""
    visibility = vs_visibility(vs, proxy_namespace)
    if visibility not in _GROUP_RANK:
        return None
    return (_GROUP_RANK[visibility], creation_key(vs.meta.creation_timestamp, vs.meta.name, vs.meta.namespace))


def _proxy_namespaces(*vss: VirtualService) -> set[str]:
    """Every namespace whose sidecars can see these VirtualServices differently, and one standing for all others."""
    out = {_OTHER_NAMESPACE}
    for vs in vss:
        out.add(vs.meta.namespace)
        out.update(vs.meta.namespace if e == "." else e for e in vs.export_to if e not in (EXPORT_TO_ALL, EXPORT_TO_NONE))
    return out


def comes_first_wherever_visible(winner: VirtualService, loser: VirtualService) -> bool:
    """In every namespace whose sidecars see ``loser``, they also see ``winner``, and earlier."""
    visible_somewhere = False
    for namespace in _proxy_namespaces(winner, loser):
        lost = _rank(loser, namespace)
        if lost is None:
            continue
        visible_somewhere = True
        won = _rank(winner, namespace)
        if won is None or won >= lost:
            return False
    return visible_somewhere


def _resolved_hosts(vs: VirtualService) -> tuple[str, ...]:
    return tuple(resolve_shortname_to_fqdn(h, vs.meta.namespace) for h in vs.hosts)


def unused_at_sidecars_findings(snapshot: Snapshot) -> Iterator[Finding]:
    """MSH0203: a mesh VirtualService whose every host is taken, at every sidecar that sees it, by another."""
    mesh = in_istiod_order(vs for vs in snapshot.virtual_services if vs.hosts and MESH in vs_gateways(vs))
    # A winner holds every host of the loser, so its first one too: winners by (namespace, host), each list in
    # istiod's order (a namespace of thousands of mesh VirtualServices compared each with every other: quadratic)
    winners_by_host: dict[tuple[str, str], list[tuple[VirtualService, frozenset[str]]]] = {}
    for vs in mesh:
        if always_has_sidecar_routes(vs):
            entry = (vs, frozenset(_resolved_hosts(vs)))
            for host in entry[1]:
                winners_by_host.setdefault((vs.meta.namespace, host), []).append(entry)
    for loser in mesh:
        if not loser.http:
            continue
        hosts = _resolved_hosts(loser)
        if any(h.startswith("*") for h in hosts):
            continue  # wildcard hosts are shared out per service by specificity, not by order
        wanted = set(hosts)
        for winner, winner_hosts in winners_by_host.get((loser.meta.namespace, hosts[0]), ()):
            if winner is not loser and wanted <= winner_hosts and comes_first_wherever_visible(winner, loser):
                yield finding(
                    "MSH0203", loser.meta, loser.meta.full_name, winner.meta.full_name, go_list(hosts), field="spec.hosts"
                )
                break
