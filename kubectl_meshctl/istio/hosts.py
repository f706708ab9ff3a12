"""Istio's name rules in one place: short names, gateway references, wildcards, namespace-scoped server hosts.

Why this module exists: the model of istiod (:mod:`.translation`, :mod:`.delegation`) and the reproduction of
istioctl's analyzers (:mod:`kubectl_meshctl.analysis.references`) both reason about host and gateway names,
and must do it the way Istio does.  Each helper is named after the upstream Istio function it reproduces.
Where istiod and the analyzers use two upstream functions that look alike but differ (short-name
expansion), or where the model of istiod splits hosts differently from Istio (``_split_once``),
both versions are here under names that say how they differ.  Pure: no I/O.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

CLUSTER_DOMAIN_SUFFIX = "cluster.local"
"""The cluster's DNS domain (Istio's ``constants.DefaultClusterLocalDomain``); Services are ``<name>.<ns>.svc.<suffix>``."""

_SERVICE_FQDN = re.compile(rf"(.+)\.(.+)\.svc\.{re.escape(CLUSTER_DOMAIN_SUFFIX)}")


def is_ip_address(text: str) -> bool:
    """An IPv4 or IPv6 address (cf. ``netutil.IsValidIPAddress``)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- short names


def resolve_shortname_to_fqdn(host: str, namespace: str) -> str:
    """istiod's ``model.ResolveShortnameToFQDN``: ``member`` -> ``member.<ns>.svc.cluster.local``.

    Kept as is: ``""``, ``*``, IP addresses and names with a dot.  Unlike :func:`convert_host_to_fqdn`,
    a dot-less wildcard (``*foo``) is expanded and an IPv6 address is not.
    """
    if "." in host or host == "*" or not host or is_ip_address(host):
        return host
    return f"{host}.{namespace}.svc.{CLUSTER_DOMAIN_SUFFIX}"


def convert_host_to_fqdn(namespace: str, host: str) -> str:
    """The analyzers' ``util.ConvertHostToFQDN``: a name without a dot that is not a wildcard gets ``.<ns>.svc.cluster.local``.

    Unlike :func:`resolve_shortname_to_fqdn`, every name starting with ``*`` is kept, and ``""`` and IPv6
    addresses are expanded.
    """
    if host.startswith("*") or "." in host:
        return host
    return f"{host}.{namespace}.svc.{CLUSTER_DOMAIN_SUFFIX}"


def resource_name_from_host(namespace: str, host: str) -> tuple[str, str]:
    """The analyzers' ``util.GetResourceNameFromHost``: ``(namespace, name)`` of ``<name>.<ns>.svc.cluster.local``, else ``(namespace, host)``."""
    m = _SERVICE_FQDN.fullmatch(host)
    if m is not None:
        return m.group(2), m.group(1)
    return namespace, host


# --------------------------------------------------------------------------- gateway references


def resolve_gateway_name(ref: str, vs_namespace: str) -> str:
    """istiod's gateway reference resolution (``resolveGatewayName``, translation.md §4.1): ``gw``/``./gw`` ->
    ``<vsNs>/gw``, legacy ``gw.ns[.svc.cluster.local]`` -> ``ns/gw``; ``ns/gw`` and ``mesh`` unchanged."""
    if ref == "mesh":
        return ref
    if "/" in ref:
        ns, _, name = ref.partition("/")
        return f"{vs_namespace}/{name}" if ns == "." else ref
    if "." in ref:
        parts = ref.split(".")
        return f"{parts[1]}/{parts[0]}"
    return f"{vs_namespace}/{ref}"


# --------------------------------------------------------------------------- wildcards


def host_matches(a: str, b: str) -> bool:
    """``host.Name.Matches``: symmetric, wildcard-aware, case-sensitive.

    ``*.foo.com`` ~ ``a.foo.com``; ``*`` ~ anything; ``*.foo.com`` !~ ``foo.com``; two wildcards match
    when one suffix ends with the other.
    """
    a_wild = a.startswith("*")
    b_wild = b.startswith("*")
    if a_wild and b_wild:
        if len(a) < len(b):
            return b[1:].endswith(a[1:])
        return a[1:].endswith(b[1:])
    if a_wild:
        return b.endswith(a[1:])
    if b_wild:
        return a.endswith(b[1:])
    return a == b


def host_subset_of(a: str, b: str) -> bool:
    """``host.Name.SubsetOf``: every name matched by ``a`` is matched by ``b``."""
    if b == "*":
        return True
    a_wild, b_wild = a.startswith("*"), b.startswith("*")
    if not b_wild:
        return not a_wild and a == b
    if a_wild:
        return a[1:].endswith(b[1:])
    return a.endswith(b[1:])


class HostOverlapIndex:
    """``any(host_subset_of(h, d) or host_subset_of(d, h) for d in names)`` for many ``h``, without the scan.

    Why: a proxy's route configuration has a domain per routed host, and each of its Gateway servers asks whether
    any of them overlaps its hosts; asked by comparing every pair, that grows with servers x domains.  Here a name
    is looked up by its suffixes (names in the set that contain it) and by a sorted list of reversed names (names in
    the set it contains), so a question costs the length of the name and a logarithm.
    """

    __slots__ = ("_any", "_exact", "_reversed", "_wild_lengths", "_wild_suffixes")

    def __init__(self, names: Iterable[str]) -> None:
        self._any = False
        self._exact: set[str] = set()
        self._wild_suffixes: set[str] = set()
        """``*.a.b`` -> ``.a.b``: the text every name under the wildcard ends with."""
        texts: set[str] = set()
        for d in names:
            if d == "*":
                self._any = True
            elif d.startswith("*"):
                self._wild_suffixes.add(d[1:])
                texts.add(d[1:])
            else:
                self._exact.add(d)
                texts.add(d)
        self._wild_lengths = sorted({len(t) for t in self._wild_suffixes})
        self._reversed = sorted(t[::-1] for t in texts)
        """Each name's text (a wildcard's without its ``*``), reversed: names ending alike sort together."""

    def overlaps(self, h: str) -> bool:
        if self._any or (h == "*" and (self._exact or self._wild_suffixes)):
            return True
        wild = h.startswith("*")
        text = h[1:] if wild else h
        if h in self._exact:  # only names without a wildcard are there
            return True
        # h within some wildcard d: h's text ends with d's text (only the wildcards' lengths are tried)
        if any(n <= len(text) and text[len(text) - n :] in self._wild_suffixes for n in self._wild_lengths):
            return True
        if not wild:
            return False
        # some name d within the wildcard h: d's text ends with h's text
        key = text[::-1]
        at = bisect.bisect_left(self._reversed, key)
        return at < len(self._reversed) and self._reversed[at].startswith(key)


_T = TypeVar("_T")


class HostCandidates(Generic[_T]):
    """Items (servers, VirtualServices) by their exact host names: those whose names could intersect some names,
    without trying each.  An exact name meets only the same name or a wildcard; a wildcard among the names asked
    about may meet anything, so then every item is a candidate.  Candidates come in the items' order, and the
    caller still decides each with the full comparison.

    Why: one Gateway with a server per tenant host (each with its certificate) and a VirtualService per tenant
    compared every server with every VirtualService -- quadratic (8 s at 2,000 tenants)."""

    __slots__ = ("_exact", "_items", "_wild")

    FEW = 8
    """Up to this many items, every one is a candidate: indexing them costs more than the comparisons it saves (the
    usual Gateway has a server or two)."""

    def __init__(self, items: Sequence[_T], names: Callable[[_T], Iterable[str]]) -> None:
        self._items = list(items)
        self._exact: dict[str, list[int]] = {}
        self._wild: list[int] = list(range(len(self._items))) if len(self._items) <= self.FEW else []
        if self._wild:
            return
        for position, item in enumerate(self._items):
            wild = False
            for name in names(item):
                if name.startswith("*"):
                    wild = True
                else:
                    self._exact.setdefault(name, []).append(position)
            if wild:
                self._wild.append(position)

    def candidates(self, names: Iterable[str]) -> Sequence[_T]:
        if len(self._wild) == len(self._items):
            return self._items
        found = set(self._wild)
        for name in names:
            if name.startswith("*"):
                return list(self._items)
            found.update(self._exact.get(name, ()))
        return [self._items[p] for p in sorted(found)]


def host_name(host: str) -> str:
    """A server host's name, without its ``namespace/`` (split at the first ``/``, as the model of istiod does)."""
    return host.partition("/")[2] if "/" in host else host


def intersect_hosts(server_hosts: tuple[str, ...], vs_hosts: tuple[str, ...]) -> list[str]:
    """``host.Names.Intersection``: for each pair, the more specific name when one is a subset of the other."""
    out: list[str] = []
    for h in server_hosts:
        for o in vs_hosts:
            pick = h if host_subset_of(h, o) else o if host_subset_of(o, h) else None
            if pick is not None and pick not in out:
                out.append(pick)
    return out


# --------------------------------------------------------------------------- Gateway server hosts (``ns/host``)


def sanitize_server_host_namespace(hosts: tuple[str, ...], gateway_namespace: str) -> list[str]:
    """``sanitizeServerHostNamespace``: ``./h`` -> ``<gwNs>/h``, ``*/h`` -> ``h``, ``*/*`` -> only ``*``.

    As Istio, splits a host at every ``/`` and keeps the first two parts.
    """
    out = list(hosts)
    for i, h in enumerate(hosts):
        if "/" not in h:
            continue
        parts = h.split("/")
        if parts[0] == ".":
            out[i] = f"{gateway_namespace}/{parts[1]}"
        elif parts[0] == "*":
            if parts[1] == "*":
                return ["*"]
            out[i] = parts[1]
    return out


def sanitize_server_hosts_split_once(hosts: tuple[str, ...], gateway_namespace: str) -> tuple[str, ...]:
    """:func:`sanitize_server_host_namespace` as the model of istiod does it: split at the first ``/`` only.

    Differs only for a host with more than one ``/`` (``./a/b`` -> ``<gwNs>/a/b``, where Istio keeps ``<gwNs>/a``).
    """
    out = []
    for h in hosts:
        if h == "*/*":
            return ("*",)
        if h.startswith("./"):
            out.append(f"{gateway_namespace}/{h[2:]}")
        elif h.startswith("*/"):
            out.append(h[2:])
        else:
            out.append(h)
    return tuple(out)


def names_for_namespace(hosts: list[str], namespace: str) -> list[str]:
    """``host.NamesForNamespace``: keep bare and ``*/`` hosts, and ``ns/`` hosts of ``namespace``, unprefixed.

    As Istio, splits a host at every ``/`` and keeps the second part.
    """
    out: list[str] = []
    for h in hosts:
        if "/" in h:
            parts = h.split("/")
            if parts[0] != namespace and parts[0] != "*":
                continue
            h = parts[1]
        out.append(h)
    return out


def names_for_namespace_split_once(hosts: tuple[str, ...], namespace: str) -> tuple[str, ...]:
    """:func:`names_for_namespace` as the model of istiod does it: split at the first ``/`` only.

    Differs only for a host with more than one ``/`` (``ns/a/b`` -> ``a/b``, where Istio keeps ``a``).
    """
    out = []
    for h in hosts:
        if "/" in h:
            ns, _, name = h.partition("/")
            if ns in (namespace, "*"):
                out.append(name)
        else:
            out.append(h)
    return tuple(out)
