"""Envoy's route configuration as plain data: route configurations, virtual hosts, routes and their matchers.

Why this module exists: these types are Envoy's vocabulary, not istiod's.  The model of istiod
(:mod:`kubectl_meshctl.istio.translation`) builds them, and the Envoy layer reads them -- route matching
(:mod:`.matching`), coverage (:mod:`.coverage`), the Envoy JSON (:mod:`.config`) -- without depending on
how they were built.  Only the subset of ``envoy.config.route.v3`` istiod emits for gateway routes is
modelled.  Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..records import record

PSEUDO_HEADERS_AS_CONDITIONS = (":method", ":authority", ":scheme")
"""Pseudo-headers istiod matches on (an Istio ``method``, ``authority`` or ``scheme`` match)."""


@record
class PathSpec:
    """A route's path specifier: ``prefix``, ``path`` (exact), ``safe_regex`` (``regex``) or ``path_separated_prefix``
    (read from dumps and route configurations; istiod does not emit it)."""

    kind: Literal["prefix", "path", "regex", "path_separated_prefix"]
    value: str
    case_sensitive: bool | None = None
    """``None`` when the field is omitted (Envoy's default: case-sensitive)."""


@record
class ValueMatcher:
    """A header or query parameter condition: a ``StringMatcher`` kind, ``present_match`` or ``range_match``.

    istiod emits ``exact``, ``prefix``, ``regex`` and ``present``; the rest (``suffix``, ``contains``, ``ignore_case``,
    ``range``) come from dumps and hand-written route configurations."""

    kind: Literal["exact", "prefix", "suffix", "contains", "regex", "present", "range"]
    value: str = ""
    ignore_case: bool = False
    """``StringMatcher.ignore_case`` (ASCII only; Envoy refuses it on a regex)."""
    bounds: tuple[int, int] = (0, 0)
    """``range``: start (inclusive) and end (exclusive) of the integer the value must be."""


@record
class HeaderMatcher:
    name: str
    matcher: ValueMatcher
    invert: bool = False
    treat_missing_as_empty: bool = False


@record
class QueryMatcher:
    name: str
    matcher: ValueMatcher


def header_label(name: str) -> str:
    """How a header condition is named to users: ``method``/``authority``/``scheme``, else ``header <name>``."""
    return name.lstrip(":") if name in PSEUDO_HEADERS_AS_CONDITIONS else f"header {name}"


def condition_text(matcher: ValueMatcher) -> str:
    """``present``, ``exact GET``, ``regex [0-9]+``, ``range [100,1000)``, ``suffix .js (any case)`` ..."""
    if matcher.kind == "present":
        return "present"
    if matcher.kind == "range":
        return f"range [{matcher.bounds[0]},{matcher.bounds[1]})"
    return f"{matcher.kind} {matcher.value}{' (any case)' if matcher.ignore_case else ''}"


PATH_KIND_TEXT = {"path": "exact", "prefix": "prefix", "regex": "regex", "path_separated_prefix": "separated prefix"}
"""How a path specifier is named to users."""


@record
class RouteMatch:
    path: PathSpec
    headers: tuple[HeaderMatcher, ...] = ()
    query: tuple[QueryMatcher, ...] = ()
    grpc: bool = False
    """``grpc: {}``: only requests whose content-type is gRPC's (never emitted by istiod for gateways)."""

    def describe(self) -> str:
        """``prefix /api``, followed by every other condition (``, method exact GET``, ``, query v present``)."""
        parts = [f"{PATH_KIND_TEXT[self.path.kind]} {self.path.value}"]
        if self.path.case_sensitive is False:
            parts.append("any case")
        for h in self.headers:
            cond = condition_text(h.matcher)
            parts.append(f"{header_label(h.name)} not {cond}" if h.invert else f"{header_label(h.name)} {cond}")
        for q in self.query:
            parts.append(f"query {q.name} {condition_text(q.matcher)}")
        if self.grpc:
            parts.append("grpc")
        return ", ".join(parts)


@record
class RouteSource:
    """The VirtualService rule and match a route was built from (what istiod writes into its name and metadata)."""

    namespace: str
    name: str
    rule_index: int
    rule_name: str = ""
    match_index: int | None = None
    """``None`` for a rule without ``match``."""
    match_name: str = ""


@record
class RouteAction:
    kind: Literal["route", "redirect", "direct_response", "delegate"]
    clusters: tuple[tuple[str, int], ...] = ()
    """(cluster name, weight) pairs."""
    timeout: str = "0s"
    weighted: bool = False
    """Written as ``weighted_clusters`` (istiod does so for every rule with several destinations, even when only one
    of them has a weight above 0); else as one ``cluster``."""


@dataclass(eq=False, slots=True)
class Route:
    """One Envoy route.  Identity equality: istiod collapses vhosts holding the *same* route objects."""

    match: RouteMatch
    source: RouteSource
    gateway: str
    action: RouteAction
    certain: bool = True
    """``False`` when the input cannot tell whether istiod emits this route (it then never shadows another)."""
    name: str = ""


@dataclass(slots=True)
class VirtualHost:
    name: str
    domains: list[str]
    routes: list[Route] = field(default_factory=list)
    require_tls: bool = False
    include_request_attempt_count: bool = True


@dataclass(slots=True)
class RouteConfiguration:
    name: str
    virtual_hosts: list[VirtualHost] = field(default_factory=list)
