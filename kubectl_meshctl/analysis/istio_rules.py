"""Istio's own unreachable-rule checks (IST0130, IST0131), reproduced -- and then fact-checked.

Why this module exists: users compare our output with ``istioctl analyze``.  Istio's algorithm
(``analyzeUnreachableHTTPRules`` and the TCP/TLS variants, spec/analysis.md A2-A3) is reproduced
here to get the same codes and texts, but each finding is kept only when it is true: the
prefix-overlap check has known false positives (A3.2), so an overlap is kept only when
:func:`~kubectl_meshctl.envoy.coverage.covers` proves it and the earlier match applies wherever the
later one does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..envoy.coverage import covers
from ..istio.translation import resolve_gateway_name, translate_match
from ..records import record
from ..resources.model import HTTPMatch, HTTPRule, L4Rule, Pod, StringMatch, VirtualService, labels_match
from .findings import rule_label


@record
class IstioRuleFinding:
    """A structured IST0130/IST0131 so that our own rules can tell which rule/match Istio named."""

    code: str
    section: str
    rule_index: int
    match_index: int | None
    args: tuple[str, ...]


@record
class _Descriptor:
    rule: HTTPRule
    match: HTTPMatch
    match_index: int
    prefix: str
    port: int
    method: str
    authority: str
    headers: tuple[tuple[str, str], ...]
    query: tuple[tuple[str, str], ...]
    without: tuple[tuple[str, str], ...]


def _tagged(sm: StringMatch | None) -> str:
    if sm is None or sm.kind not in ("exact", "prefix"):
        return ""
    return f"{sm.kind}:{sm.value}"


def _tagged_map(items: tuple[tuple[str, StringMatch], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((k, _tagged(v)) for k, v in items)


def _descriptor(rule: HTTPRule, match: HTTPMatch, index: int) -> _Descriptor:
    method = _tagged(match.method) or "exact:GET"  # Istio's assumption (false positive #1)
    return _Descriptor(
        rule,
        match,
        index,
        match.uri.value if match.uri else "",
        match.port,
        method,
        _tagged(match.authority),
        _tagged_map(match.headers),
        _tagged_map(match.query_params),
        _tagged_map(match.without_headers),
    )


def _map_covers(a: tuple[tuple[str, str], ...], b: tuple[tuple[str, str], ...]) -> bool:
    if len(a) != len(b):
        return False
    bd = dict(b)
    return all(k in bd and (v == bd[k] or v.startswith(bd[k])) for k, v in a)


def _istio_overlaps(a: _Descriptor, b: _Descriptor) -> bool:
    return (
        b.prefix.startswith(a.prefix)
        and a.port == b.port
        and (a.method == b.method or a.method.startswith(b.method))
        and (a.authority == b.authority or a.authority.startswith(b.authority))
        and _map_covers(a.headers, b.headers)
        and _map_covers(a.query, b.query)
        and _map_covers(a.without, b.without)
    )


def _kept_at(match: HTTPMatch, pod: Pod) -> bool:
    """istiod keeps a match with source filters for a gateway proxy only when the proxy's pod fits them."""
    if match.source_namespace and match.source_namespace != pod.meta.namespace:
        return False
    return labels_match(match.source_labels, pod.labels)


def _applies_wherever(a: HTTPMatch, b: HTTPMatch, namespace: str, *, proxies: Sequence[Pod] | None = None) -> bool:
    """``a`` is kept by istiod at every (gateway, port, proxy) where ``b`` is kept.

    ``proxies``: every gateway pod the VirtualService's rules are built for, when the input says so (its gateways'
    pods, no ``mesh``); then source filters are decided pod by pod instead of by comparing the filters.
    """
    if a.port and a.port != b.port:
        return False
    if a.gateways:
        if not b.gateways:
            return False
        mine = {resolve_gateway_name(g, namespace) for g in a.gateways}
        return all(resolve_gateway_name(g, namespace) in mine for g in b.gateways)
    if not a.source_labels and not a.source_namespace:
        return True
    if b.gateways:
        return False  # b ignores source filters when it names gateways; a does not
    if proxies:
        return all(_kept_at(a, pod) for pod in proxies if _kept_at(b, pod))
    if a.source_namespace and a.source_namespace != b.source_namespace:
        return False
    return set(a.source_labels) <= set(b.source_labels)


def truly_covers(
    a: HTTPMatch, b: HTTPMatch, namespace: str, *, proxies: Sequence[Pod] | None = None, gateway_semantics: bool = False
) -> bool:
    """Every request ``b`` would take, at every place ``b`` exists, ``a`` takes first."""
    if not _applies_wherever(a, b, namespace, proxies=proxies):
        return False
    return covers(
        translate_match(a, gateway_semantics=gateway_semantics), translate_match(b, gateway_semantics=gateway_semantics)
    )


def http_rule_findings(vs: VirtualService, *, proxies: Sequence[Pod] | None = None) -> Iterator[IstioRuleFinding]:
    """``analyzeUnreachableHTTPRules`` with its untrue overlap findings removed (``proxies``: see ``_applies_wherever``)."""
    seen: dict[HTTPMatch, int] = {}
    empty_rule_seen = -1
    prefixed: list[tuple[HTTPRule, HTTPMatch, int]] = []
    for rule in vs.http:
        if not rule.matches:
            if empty_rule_seen >= 0 and vs.http[empty_rule_seen].delegate is None:
                yield IstioRuleFinding(
                    "IST0130",
                    "http",
                    rule.index,
                    None,
                    (rule_label(rule.name, rule.index), "only the last rule can have no matches"),
                )
            empty_rule_seen = rule.index
            continue
        duplicates = 0
        for mi, match in enumerate(rule.matches):
            if empty_rule_seen >= 0:
                # A delegating rule without match is no catch-all at runtime: Istio's claim is then untrue.
                if vs.http[empty_rule_seen].delegate is None:
                    yield IstioRuleFinding(
                        "IST0130",
                        "http",
                        rule.index,
                        None,
                        (rule_label(rule.name, rule.index), "route without matches defined before"),
                    )
                continue
            known = len(seen)
            first_index = seen.setdefault(match.duplicate_key(), rule.index)  # one lookup: most matches are new
            if len(seen) == known:
                first = vs.http[first_index]
                yield IstioRuleFinding(
                    "IST0131",
                    "http",
                    rule.index,
                    mi,
                    (rule_label(rule.name, rule.index), rule_label(match.name, mi), rule_label(first.name, first.index)),
                )
                duplicates += 1
                continue
            if match.uri is not None and match.uri.kind == "prefix" and match.uri.value:
                prefixed.append((rule, match, mi))
        if duplicates == len(rule.matches):
            yield IstioRuleFinding(
                "IST0130", "http", rule.index, None, (rule_label(rule.name, rule.index), "all matches used by prior rules")
            )
    for a, b in _prefix_pairs(prefixed):
        if not _istio_overlaps(a, b):
            continue
        if not truly_covers(a.match, b.match, vs.meta.namespace, proxies=proxies, gateway_semantics=vs.gateway_semantics):
            continue  # one of Istio's known false positives: not reported
        yield IstioRuleFinding(
            "IST0131",
            "http",
            b.rule.index,
            b.match_index,
            (
                rule_label(b.rule.name, b.rule.index),
                f"{rule_label(b.match.name, b.match_index)} of prefix {b.prefix}",
                f"{rule_label(a.match.name, a.match_index)} of prefix {a.prefix} on {rule_label(a.rule.name, a.rule.index)}",
            ),
        )


def _prefix_pairs(prefixed: list[tuple[HTTPRule, HTTPMatch, int]]) -> list[tuple[_Descriptor, _Descriptor]]:
    """Every pair (earlier ``a``, later ``b``) of prefix matches where ``a``'s prefix is a shorter beginning of
    ``b``'s, as descriptors, in the order istioctl compares pairs (by ``a``, then ``b``).  Found by looking up ``b``'s
    beginnings among the earlier prefixes, not by comparing every pair, and described only when in a pair: a
    VirtualService with thousands of distinct prefixes stays linear."""
    earlier: dict[str, list[int]] = {}
    lengths: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for j, (_, match, _) in enumerate(prefixed):
        prefix = match.uri.value if match.uri is not None else ""
        for n in lengths:
            if n < len(prefix):
                pairs.extend((i, j) for i in earlier.get(prefix[:n], ()))
        earlier.setdefault(prefix, []).append(j)
        lengths.add(len(prefix))
    pairs.sort()
    described: dict[int, _Descriptor] = {}

    def descriptor(k: int) -> _Descriptor:
        found = described.get(k)
        if found is None:
            found = described[k] = _descriptor(*prefixed[k])
        return found

    return [(descriptor(i), descriptor(j)) for i, j in pairs]


def l4_rule_findings(rules: tuple[L4Rule, ...], section: str) -> Iterator[IstioRuleFinding]:
    """``analyzeUnreachableTCPRules``/``TLSRules``: duplicates and match-less rules only."""
    seen: dict[object, int] = {}
    empty_rule_seen = -1
    for rule in rules:
        name = f"#{rule.index}"
        if not rule.matches:
            if empty_rule_seen >= 0:
                yield IstioRuleFinding("IST0130", section, rule.index, None, (name, "only the last rule can have no matches"))
            empty_rule_seen = rule.index
            continue
        duplicates = 0
        for mi, match in enumerate(rule.matches):
            if empty_rule_seen >= 0:
                yield IstioRuleFinding("IST0130", section, rule.index, None, (name, "route without matches defined before"))
                continue
            if match in seen:
                yield IstioRuleFinding("IST0131", section, rule.index, mi, (name, f"#{mi}", f"#{seen[match]}"))
                duplicates += 1
                continue
            seen[match] = rule.index
        if duplicates == len(rule.matches):
            yield IstioRuleFinding("IST0130", section, rule.index, None, (name, "all matches used by prior rules"))


def istio_rule_findings(vs: VirtualService, *, proxies: Sequence[Pod] | None = None) -> list[IstioRuleFinding]:
    return [*http_rule_findings(vs, proxies=proxies), *l4_rule_findings(vs.tcp, "tcp"), *l4_rule_findings(vs.tls, "tls")]
