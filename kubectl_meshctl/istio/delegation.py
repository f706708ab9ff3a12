"""VirtualService delegation as istiod does it: a root rule with ``delegate`` becomes the delegate's rules, merged.

Why this module exists: istiod never translates a ``delegate:`` rule itself.  Before building routes it replaces
every such rule of a *root* VirtualService by the http rules of the *delegate* VirtualService it names, each
merged with the root rule (upstream ``pilot/pkg/model/virtualservice.go``: ``mergeVirtualServicesIfNeeded``,
``mergeHTTPRoutes``, ``mergeHTTPRoute``, ``mergeHTTPMatchRequests``, ``mergeHTTPMatchRequest``, ``hasConflict``,
``stringMatchConflict``; 1.24+ also in ``pilot/pkg/config/kube/virtualservice``).  The model of istiod
(:mod:`.translation`) then builds routes from the merged VirtualService exactly as from any other, so
``routes --predict`` and the analysis see the same routes.  The facts reproduced here:

* a VirtualService without ``hosts`` is a delegate, one with hosts never is; delegates are only used through a
  root, never bound to a gateway themselves;
* ``delegate.namespace`` defaults to the root's namespace; a delegate that does not exist, or whose ``exportTo``
  (``.`` = its own namespace, none = the mesh default ``*``) names neither ``*`` nor the root's namespace, drops
  the root rule and nothing else;
* each delegate rule is merged with the root rule: every delegate match must be compatible with at least one root
  match, else the whole delegate rule is dropped; a compatible pair gives one merged match (delegate matches in
  order, each with every root match it fits, in order).  A root without matches takes the delegate's matches as
  they are, a delegate rule without matches takes the root's;
* a pair is incompatible when a URI/scheme/method/authority/header/query/withoutHeaders condition of the delegate
  does not lie within the root's (only ``exact`` within an equal ``exact``, ``exact`` or ``prefix`` within a
  ``prefix`` it starts with; any ``regex`` on either side, or a root condition the delegate leaves ``{}``,
  conflicts), ``ignoreUriCase`` differs, both set different ports, the root's ``sourceNamespace`` differs, a
  ``sourceLabels`` key has another value, or the delegate's ``gateways`` are not all among the root's;
* the merged match is the delegate's, completed by the root's: URI/scheme/method/authority, port,
  sourceNamespace, gateways and statPrefix when the delegate has none; header, query, withoutHeaders and
  sourceLabels maps united (the delegate's value wins a shared key); names joined ``<root>-<delegate>`` when both
  have one;
* the merged rule is the delegate's (route, redirect...) with the root's timeout, direct response, mirror(s)
  (and rewrite, retries, fault, CORS, header operations, which the model does not carry) where the delegate
  has none, its name joined as for matches;
* one level only: a delegate's own ``delegate`` rules are not followed (the webhook refuses them; istiod
  translates such a rule as it stands);
* short names are resolved before merging, each VirtualService in its own namespace: the delegate's destination
  hosts and match gateways keep the delegate's namespace after being merged into a root elsewhere.

The merged VirtualService carries the root's metadata (istiod writes the root's name into the routes'
metadata); :class:`RuleOrigin` remembers where each merged rule and match is written, so findings can name the
delegate.  Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Literal, NamedTuple

from ..records import record
from ..resources.model import Destination, HTTPMatch, HTTPRule, RouteDestination, StringMatch, VirtualService
from .hosts import resolve_gateway_name, resolve_shortname_to_fqdn

DelegateProblem = Literal["missing", "has hosts", "not exported"]


@record
class RuleOrigin:
    """Where a rule of a merged VirtualService is written in the input."""

    virtual_service: VirtualService
    """The root for the root's own rules, the delegate for delegated ones."""
    rule: HTTPRule
    """The rule as written there."""
    match_indexes: tuple[int | None, ...]
    """For each match of the merged rule: its index in ``rule.matches``; ``None`` when the delegate rule has no
    match and the root's match was taken as it is."""
    delegated_by: HTTPRule | None = None
    """The root rule whose ``delegate`` brought the rule in; ``None`` for the root's own rules."""


@record
class MergedVirtualService:
    """A root VirtualService as istiod translates it: its delegating rules replaced by the merged delegate rules."""

    root: VirtualService
    """As written."""
    merged: VirtualService
    """The root's metadata, hosts, gateways and exportTo; ``http`` merged (each rule's ``index`` is its position)."""
    origins: tuple[RuleOrigin, ...]
    """One per rule of ``merged.http``."""


@record
class UnresolvedDelegate:
    """A root rule istiod drops because its delegate cannot be used."""

    root: VirtualService
    rule: HTTPRule
    namespace: str
    """The delegate's namespace (the root's when ``delegate.namespace`` is empty)."""
    name: str
    problem: DelegateProblem
    found: VirtualService | None = None
    """The VirtualService of that name when there is one (with hosts, or not exported)."""


@record
class DroppedDelegateRule:
    """A delegate rule istiod leaves out of a root: one of its matches fits none of the root rule's matches."""

    root: VirtualService
    root_rule: HTTPRule
    delegate: VirtualService
    rule: HTTPRule
    match_index: int
    """The first delegate match that fits no root match (istiod stops there)."""
    reasons: tuple[str, ...]
    """Why it conflicts with each root match, in root match order."""


@record
class Delegation:
    """Every root merged with its delegates, and what the merge left out."""

    merged: tuple[MergedVirtualService, ...]
    unresolved: tuple[UnresolvedDelegate, ...]
    dropped: tuple[DroppedDelegateRule, ...]


# --------------------------------------------------------------------------- conflicts (``hasConflict``)


def _condition(sm: StringMatch | None, kind: str) -> str:
    """The value of one kind of a StringMatch as Go's getters read it: ``""`` when unset or empty."""
    return sm.value if sm is not None and sm.kind == kind else ""


def _within(root: StringMatch | None, leaf: StringMatch | None) -> bool:
    """Whether the delegate's condition ``leaf`` may be merged with the root's ``root`` (``stringMatchConflict``)."""
    if root is None or leaf is None:
        return True
    root_regex, leaf_regex = _condition(root, "regex"), _condition(leaf, "regex")
    root_exact, leaf_exact = _condition(root, "exact"), _condition(leaf, "exact")
    root_prefix, leaf_prefix = _condition(root, "prefix"), _condition(leaf, "prefix")
    if root_regex and (leaf_regex or leaf_prefix or leaf_exact):
        return False
    if leaf_regex and (root_regex or root_prefix or root_exact):
        return False
    if root_exact:
        return not leaf_prefix and leaf_exact == root_exact
    if root_prefix:
        if leaf_prefix:
            return leaf_prefix.startswith(root_prefix)
        if leaf_exact:
            return leaf_exact.startswith(root_prefix)
    return False


def _shown(sm: StringMatch | None) -> str:
    return "(none)" if sm is None else sm.describe()


def _not_within(what: str, root: StringMatch | None, leaf: StringMatch | None) -> str:
    return f"{what} {_shown(leaf)} is not within {_shown(root)}"


def conflict(root: HTTPMatch, leaf: HTTPMatch) -> str | None:
    """Why the delegate match ``leaf`` cannot be merged with the root match ``root``; ``None`` when it can.

    Both matches' ``gateways`` must already be resolved (``namespace/name``), each in its own namespace.
    """
    for what, root_sm, leaf_sm in (
        ("uri", root.uri, leaf.uri),
        ("scheme", root.scheme, leaf.scheme),
        ("method", root.method, leaf.method),
        ("authority", root.authority, leaf.authority),
    ):
        if not _within(root_sm, leaf_sm):
            return _not_within(what, root_sm, leaf_sm)
    for what, root_map, leaf_map in (
        ("header", root.headers, leaf.headers),
        ("withoutHeaders", root.without_headers, leaf.without_headers),
        ("query", root.query_params, leaf.query_params),
    ):
        roots = dict(root_map)
        for key, leaf_sm in leaf_map:
            if not _within(roots.get(key), leaf_sm):
                return _not_within(f"{what} {key}", roots.get(key), leaf_sm)
    if root.ignore_uri_case != leaf.ignore_uri_case:
        return "ignoreUriCase differs"
    if root.port and leaf.port and root.port != leaf.port:
        return f"port {leaf.port} is not port {root.port}"
    if root.source_namespace and leaf.source_namespace != root.source_namespace:
        return f"sourceNamespace {leaf.source_namespace or '(none)'} is not {root.source_namespace}"
    root_labels = dict(root.source_labels)
    for key, value in leaf.source_labels:
        if key in root_labels and root_labels[key] != value:
            return f"sourceLabels {key}={value} is not {key}={root_labels[key]}"
    if (
        root.gateways
        and leaf.gateways
        and (len(root.gateways) < len(leaf.gateways) or not set(leaf.gateways) <= set(root.gateways))
    ):
        return f"gateways [{' '.join(leaf.gateways)}] are not among [{' '.join(root.gateways)}]"
    return None


# --------------------------------------------------------------------------- merging


def _joined(root_name: str, delegate_name: str) -> str:
    if not delegate_name:
        return root_name
    return f"{root_name}-{delegate_name}" if root_name else delegate_name


def _united(
    root: tuple[tuple[str, StringMatch], ...], leaf: tuple[tuple[str, StringMatch], ...]
) -> tuple[tuple[str, StringMatch], ...]:
    if not root:
        return leaf
    if not leaf:
        return root
    return tuple(sorted({**dict(root), **dict(leaf)}.items()))


def merge_match(root: HTTPMatch, leaf: HTTPMatch) -> HTTPMatch:
    """``mergeHTTPMatchRequest``: the delegate match completed by the root match (gateways already resolved)."""
    labels = leaf.source_labels
    if root.source_labels:
        labels = tuple(sorted({**dict(root.source_labels), **dict(leaf.source_labels)}.items()))
    return replace(
        leaf,
        name=_joined(root.name, leaf.name),
        uri=root.uri if leaf.uri is None else leaf.uri,
        scheme=root.scheme if leaf.scheme is None else leaf.scheme,
        method=root.method if leaf.method is None else leaf.method,
        authority=root.authority if leaf.authority is None else leaf.authority,
        headers=_united(root.headers, leaf.headers),
        without_headers=_united(root.without_headers, leaf.without_headers),
        query_params=_united(root.query_params, leaf.query_params),
        port=leaf.port or root.port,
        source_labels=labels,
        source_namespace=leaf.source_namespace or root.source_namespace,
        gateways=leaf.gateways or root.gateways,
        stat_prefix=leaf.stat_prefix or root.stat_prefix,
    )


def _resolved(match: HTTPMatch, namespace: str) -> HTTPMatch:
    """The match with its ``gateways`` resolved in ``namespace`` (as istiod does before merging)."""
    if not match.gateways:
        return match
    gateways = tuple(resolve_gateway_name(g, namespace) for g in match.gateways)
    return match if gateways == match.gateways else replace(match, gateways=gateways)


class MergedMatches(NamedTuple):
    """The merged matches of one delegate rule, and for each the index of the delegate match it came from."""

    matches: tuple[HTTPMatch, ...]
    indexes: tuple[int | None, ...]


class ConflictingMatch(NamedTuple):
    """The first delegate match that fits no root match, and why it conflicts with each root match."""

    match_index: int
    reasons: tuple[str, ...]


def merge_matches(root: Sequence[HTTPMatch], leaf: Sequence[HTTPMatch]) -> MergedMatches | ConflictingMatch:
    """``mergeHTTPMatchRequests``: the merged matches (and each one's delegate match index), or the first delegate
    match that fits no root match (then istiod drops the whole delegate rule).  Gateways already resolved."""
    if not root:
        return MergedMatches(tuple(leaf), tuple(range(len(leaf))))
    if not leaf:
        return MergedMatches(tuple(root), (None,) * len(root))
    merged: list[HTTPMatch] = []
    indexes: list[int | None] = []
    for leaf_index, leaf_match in enumerate(leaf):
        reasons = []
        for root_match in root:
            why = conflict(root_match, leaf_match)
            if why is not None:
                reasons.append(why)
                continue
            merged.append(merge_match(root_match, leaf_match))
            indexes.append(leaf_index)
        if len(reasons) == len(root):
            return ConflictingMatch(leaf_index, tuple(reasons))
    return MergedMatches(tuple(merged), tuple(indexes))


def _destinations_resolved(destinations: tuple[RouteDestination, ...], namespace: str) -> tuple[RouteDestination, ...]:
    out = []
    for rd in destinations:
        d = rd.destination
        if d is not None and d.host:
            fqdn = resolve_shortname_to_fqdn(d.host, namespace)
            if fqdn != d.host:
                rd = replace(rd, destination=Destination(fqdn, d.subset, d.port))
        out.append(rd)
    return tuple(out)


def _is_single_mirror(rd: RouteDestination) -> bool:
    """A ``mirror:`` (not a ``mirrors[]`` entry): the model keeps both in one list, the path tells them apart."""
    return rd.path.endswith(".mirror.host")


def merge_rule(root: HTTPRule, leaf: HTTPRule, *, matches: tuple[HTTPMatch, ...], delegate_namespace: str) -> HTTPRule:
    """``mergeHTTPRoute`` once the matches are merged: the delegate rule with what it leaves unset taken from the root."""
    single = [m for m in leaf.mirrors if _is_single_mirror(m)] or [m for m in root.mirrors if _is_single_mirror(m)]
    listed = [m for m in leaf.mirrors if not _is_single_mirror(m)] or [m for m in root.mirrors if not _is_single_mirror(m)]
    return replace(
        leaf,
        name=_joined(root.name, leaf.name),
        matches=matches,
        route=_destinations_resolved(leaf.route, delegate_namespace),
        mirrors=_destinations_resolved((*single, *listed), delegate_namespace),
        direct_response=leaf.direct_response or root.direct_response,
        timeout=leaf.timeout or root.timeout,
    )


def _visible_to(delegate: VirtualService, namespace: str) -> bool:
    """Whether the delegate's exportTo lets a root in ``namespace`` use it (no exportTo: the mesh default ``*``)."""
    export_to = {delegate.meta.namespace if e == "." else e for e in delegate.export_to or ("*",)}
    return "*" in export_to or namespace in export_to


def merge_delegates(virtual_services: Iterable[VirtualService]) -> Delegation:
    """Every root VirtualService merged with its delegates (``mergeVirtualServicesIfNeeded``).

    ``virtual_services`` in istiod's order (creation time, name, namespace): of two delegates with the same
    namespace and name, the later one is used, as in istiod's map.
    """
    delegates: dict[tuple[str, str], VirtualService] = {}
    with_hosts: dict[tuple[str, str], VirtualService] = {}
    roots: list[VirtualService] = []
    for vs in virtual_services:
        key = (vs.meta.namespace, vs.meta.name)
        if not vs.hosts:
            delegates[key] = vs
            continue
        with_hosts[key] = vs
        if any(rule.delegate is not None for rule in vs.http):
            roots.append(vs)
    merged: list[MergedVirtualService] = []
    unresolved: list[UnresolvedDelegate] = []
    dropped: list[DroppedDelegateRule] = []
    for root in roots:
        root_ns = root.meta.namespace
        rules: list[HTTPRule] = []
        origins: list[RuleOrigin] = []
        for root_rule in root.http:
            if root_rule.delegate is None:
                origins.append(RuleOrigin(root, root_rule, tuple(range(len(root_rule.matches)))))
                rules.append(root_rule if root_rule.index == len(rules) else replace(root_rule, index=len(rules)))
                continue
            name, namespace = root_rule.delegate
            namespace = namespace or root_ns
            delegate = delegates.get((namespace, name))
            if delegate is None:
                found = with_hosts.get((namespace, name))
                problem: DelegateProblem = "missing" if found is None else "has hosts"
                unresolved.append(UnresolvedDelegate(root, root_rule, namespace, name, problem, found))
                continue
            if not _visible_to(delegate, root_ns):
                unresolved.append(UnresolvedDelegate(root, root_rule, namespace, name, "not exported", delegate))
                continue
            root_matches = [_resolved(m, root_ns) for m in root_rule.matches]
            for leaf in delegate.http:
                leaf_matches = [_resolved(m, delegate.meta.namespace) for m in leaf.matches]
                outcome = merge_matches(root_matches, leaf_matches)
                if isinstance(outcome, ConflictingMatch):
                    dropped.append(DroppedDelegateRule(root, root_rule, delegate, leaf, outcome.match_index, outcome.reasons))
                    continue
                rule = merge_rule(root_rule, leaf, matches=outcome.matches, delegate_namespace=delegate.meta.namespace)
                rules.append(replace(rule, index=len(rules)))
                origins.append(RuleOrigin(delegate, leaf, outcome.indexes, root_rule))
        merged.append(MergedVirtualService(root, replace(root, http=tuple(rules)), tuple(origins)))
    return Delegation(tuple(merged), tuple(unresolved), tuple(dropped))
