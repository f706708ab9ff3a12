"""Envoy's request routing: which virtual host a request selects, which route takes it, and why earlier ones did not.

Why this module exists: it is the project's one executable definition of Envoy's matching for the
matchers istiod emits.  :mod:`.coverage` is proven sound against it (the property tests), a real
Envoy is checked against it (the oracle tests), and tracing a request through predicted routes uses
it to name, for every route tried, the first condition that failed.  Pure: no I/O.

Semantics modelled:

* virtual host: the Host header (``:authority``) lower-cased, its port dropped (istiod sets
  ``ignore_port_in_host_matching``: all from the last ``:`` not inside IPv6 brackets); then an exact
  domain, the longest suffix wildcard (``*.foo.com``), the longest prefix wildcard (``foo.*``), and last ``*``.  A wildcard never matches an empty rest;
* routes: tried in order, the first whose every condition holds takes the request; Envoy checks a
  route's header matchers, then its query parameter matchers, then its path;
* path: ``:path`` without query string and fragment; a case-insensitive ``prefix``/``path`` compares
  ASCII letters only without case; a regex is a full match and ignores ``case_sensitive``; a
  ``path_separated_prefix`` needs the prefix followed by the path's end or ``/``;
* string matchers: ``exact``, ``prefix``, ``suffix``, ``contains`` (``ignore_case``: ASCII letters), ``safe_regex``;
  ``range_match``: the value an int64 (``absl::SimpleAtoi``: whitespace and a sign allowed) in ``[start, end)``;
* ``grpc``: content-type ``application/grpc``, alone or followed by ``+`` (not ``;``: the differential run
  against Envoy 1.40 found it);
* headers: ``HeaderUtility::matchHeaders`` -- a ``present_match`` answers whether the header is
  there (inverted: absent); any other matcher on a missing header is false, inverted or not, unless
  ``treat_missing_header_as_empty`` (then the value is ``""``, present, and ``invert_match`` flips the
  result); a matcher's name is compared lower-cased;
  a header sent several times: a string matcher accepts it when any one of its values matches (each value as
  sent, commas and all; inverted: when none does), ``present_match`` when it is there
  (``benchmarks/differential_envoy.py`` found this against Envoy 1.40);
* query parameters: the raw value as sent (``%20`` and ``+`` not decoded), the first value of a repeated name,
  ``""`` for a name without ``=``; a matcher requires the parameter.

Regexes are Envoy's RE2, evaluated with Python's ``re`` only where both agree (:func:`regex_fullmatch`).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import field
from functools import lru_cache
from typing import Literal, NamedTuple

from ..records import record
from .route_model import (
    PATH_KIND_TEXT,
    HeaderMatcher,
    PathSpec,
    QueryMatcher,
    Route,
    RouteMatch,
    ValueMatcher,
    VirtualHost,
    condition_text,
    header_label,
)

# --------------------------------------------------------------------------- strings and regexes

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Envoy compares case-insensitively on ASCII only."""
    return text.translate(_ASCII_LOWER)


# Constructs Python's ``re`` accepts but RE2 rejects or reads differently: lookaround, atomic and
# possessive groups, backreferences (also named and conditional), comments, ``\Z``/``\z``, Python's
# ``{,n}`` (a literal in RE2), POSIX classes (a nested set to Python) and Python-only escapes.
_RE2_DIFFERENT = re.compile(r"\(\?[=!<>#(]|\(\?P=|\\[0-9zZuUN]|[*+?}]\+|\{,|\[:")
_INLINE_IGNORECASE = re.compile(r"\(\?[a-zA-Z]*i")


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str] | None:
    # Envoy uses RE2; only patterns without constructs whose meaning differs between the engines
    # are trusted.  re.ASCII: RE2's \d, \w, \s and \b are ASCII-only.
    if _RE2_DIFFERENT.search(pattern):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return re.compile(pattern, re.ASCII)
    except (re.error, RecursionError, OverflowError):
        return None


def compile_re2(pattern: str) -> re.Pattern[str] | None:
    """``pattern`` compiled where Python's ``re`` reads it as RE2 does, else ``None``."""
    return _compile(pattern)


def regex_fullmatch(pattern: str, text: str) -> bool | None:
    """``True``/``False`` as RE2 full-match would answer, ``None`` when it cannot be trusted."""
    compiled = _compile(pattern)
    if compiled is None:
        return None
    if "\n" in text and "$" in pattern:
        return None  # Python's $ also matches before a final newline, RE2's does not
    if "\x0b" in text and ("\\s" in pattern or "\\S" in pattern):
        return None  # RE2's \s has no vertical tab
    if not (pattern.isascii() and text.isascii()) and _INLINE_IGNORECASE.search(pattern):
        return None  # RE2 folds Unicode case, re.ASCII only ASCII
    return compiled.fullmatch(text) is not None


# --------------------------------------------------------------------------- requests


class Header(NamedTuple):
    """One request header as sent."""

    name: str
    value: str


@record
class MatchInput:
    """A request as Envoy's route matchers read it."""

    path: str
    """``:path`` as sent (path matchers ignore its query string and fragment)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Lower-case names, pseudo-headers (``:method``, ``:authority``, ``:scheme``) included; a header sent several
    times as its values joined with ``,`` (how it is shown)."""
    query: Mapping[str, str] = field(default_factory=dict)
    """Query parameters as sent (not decoded), the first value of each name."""
    repeated: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Each value of a header sent more than once (string matchers try them one by one)."""


@record
class Request:
    """An HTTP request as a client sends it to the gateway."""

    method: str
    path: str
    """Path and query string, as sent."""
    host: str
    """The Host header (``:authority``), possibly with a port."""
    headers: tuple[Header, ...] = ()
    """Other headers, as sent (any case, a name may repeat)."""
    scheme: str = "http"
    """What Envoy sees as ``:scheme`` (``https`` behind a TLS listener)."""

    def describe(self) -> str:
        extra = "".join(f" {k}: {v}" for k, v in self.headers)
        return f"{self.method} {self.host}{self.path}{extra}"

    def match_input(self) -> MatchInput:
        """What the route matchers see: pseudo-headers added, repeated headers kept value by value, the query raw."""
        headers = {":method": self.method, ":authority": self.host, ":scheme": self.scheme, ":path": self.path}
        repeated: dict[str, tuple[str, ...]] = {}
        for k, v in self.headers:
            k = k.lower()
            if k in headers and not k.startswith(":"):
                repeated[k] = (*repeated.get(k, (headers[k],)), v)
                headers[k] = f"{headers[k]},{v}"
            else:
                headers[k] = v
        query: dict[str, str] = {}
        for part in self.path.partition("?")[2].partition("#")[0].split("&"):
            if part:
                name, _, value = part.partition("=")
                query.setdefault(name, value)
        return MatchInput(self.path, headers, query, repeated)


# --------------------------------------------------------------------------- conditions

MismatchReason = Literal["path", "case", "absent", "present", "value"]
"""``path``: the path does not match; ``case``: it would, ignoring ASCII case; ``absent``: the header or
parameter is missing; ``present``: the header is there but must not be; ``value``: its value fails."""


@record
class Mismatch:
    """The first condition of a route that a request fails, and how."""

    condition: PathSpec | HeaderMatcher | QueryMatcher
    reason: MismatchReason
    seen: str | None
    """What the request had: its path (without query string), the header's or parameter's value, ``None`` if absent."""

    def describe(self) -> str:
        """``path /API: only ignoring case prefix /api``, ``method POST: not exact GET``, ``query debug: absent, needs exact 1`` ..."""
        c = self.condition
        if isinstance(c, PathSpec):
            kind = PATH_KIND_TEXT[c.kind]
            if self.reason == "case":
                return f"path {self.seen}: only ignoring case {kind} {c.value}"
            return f"path {self.seen}: not {kind} {c.value}"
        label = header_label(c.name) if isinstance(c, HeaderMatcher) else f"query {c.name}"
        wanted = condition_text(c.matcher)
        inverted = isinstance(c, HeaderMatcher) and c.invert
        if self.reason == "absent":
            return f"{label}: absent, needs {'not ' if inverted else ''}{wanted}"
        if self.reason == "present":
            return f"{label} {self.seen}: present, must be absent"
        return f"{label} {self.seen}: {wanted}, must not be" if inverted else f"{label} {self.seen}: not {wanted}"


@record
class MatchResult:
    """Whether a route takes a request; when not, the first condition that failed (see :func:`evaluate`)."""

    mismatch: Mismatch | None = None

    @property
    def matched(self) -> bool:
        return self.mismatch is None


MATCHED = MatchResult()


_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)
_INT64 = (-(2**63), 2**63 - 1)


def _range_matches(bounds: tuple[int, int], value: str) -> bool:
    # absl::SimpleAtoi into an int64: surrounding whitespace and a sign are accepted, nothing else.
    if not _INTEGER.fullmatch(value):
        return False
    number = int(value)
    return _INT64[0] <= number <= _INT64[1] and bounds[0] <= number < bounds[1]


def value_matches(m: ValueMatcher, value: str) -> bool:
    """A present header or parameter value against a matcher (``present`` accepts every value)."""
    if m.kind == "present":
        return True
    if m.kind == "regex":
        return regex_fullmatch(m.value, value) is True
    if m.kind == "range":
        return _range_matches(m.bounds, value)
    want = m.value
    if m.ignore_case:  # absl's *IgnoreCase helpers: ASCII letters only
        value, want = ascii_lower(value), ascii_lower(want)
    if m.kind == "exact":
        return value == want
    if m.kind == "prefix":
        return value.startswith(want)
    if m.kind == "suffix":
        return value.endswith(want)
    return want in value  # contains


def header_matches(h: HeaderMatcher, value: str | None, *, values: tuple[str, ...] = ()) -> bool:
    """``HeaderUtility::matchHeaders`` for one matcher; ``value`` ``None``: the header is missing; ``values``: each
    value of a header sent several times (then a string matcher needs any one of them)."""
    if value is None and h.treat_missing_as_empty:
        value = ""  # also for ``present_match``: a missing header is then present (and empty)
    if h.matcher.kind == "present":
        return (value is not None) != h.invert
    if value is None:
        return False  # inverted or not, Envoy answers false for a missing header
    if values:
        return any(value_matches(h.matcher, v) for v in values) != h.invert
    return value_matches(h.matcher, value) != h.invert


def _path_fits(kind: str, value: str, want: str) -> bool:
    if kind == "path":
        return value == want
    if kind == "prefix":
        return value.startswith(want)
    # path_separated_prefix: the prefix, then the end of the path or a "/"
    return value.startswith(want) and (len(value) == len(want) or value[len(want)] == "/")


def path_only(path: str) -> str:
    """The request path without its query string or fragment (what Envoy's path matchers look at)."""
    end = len(path)
    for mark in "?#":
        at = path.find(mark, 0, end)
        if at >= 0:
            end = at
    return path[:end]


def _path_accepts(p: PathSpec, path: str) -> bool:
    """Whether Envoy's path specifier ``p`` takes ``path`` (query string and fragment already gone)."""
    if p.kind == "regex":
        return regex_fullmatch(p.value, path) is True
    value, want = path, p.value
    if p.case_sensitive is False:
        value, want = ascii_lower(value), ascii_lower(want)
    return _path_fits(p.kind, value, want)


def _path_mismatch(p: PathSpec, path: str) -> Mismatch | None:
    path = path_only(path)
    if _path_accepts(p, path):
        return None
    if p.kind == "regex":
        return Mismatch(p, "path", path)
    differs_in_case = _path_fits(p.kind, ascii_lower(path), ascii_lower(p.value))
    return Mismatch(p, "case" if differs_in_case else "path", path)


GRPC_CONTENT_TYPE = HeaderMatcher("content-type", ValueMatcher("prefix", "application/grpc"))
"""How a ``grpc`` match condition is named when it fails (the test itself is :func:`is_grpc`)."""


def is_grpc(content_type: str | None) -> bool:
    """``Grpc::Common::hasGrpcContentType``: ``application/grpc``, alone or followed by ``+``."""
    if content_type is None or not content_type.startswith("application/grpc"):
        return False
    rest = content_type[len("application/grpc") :]
    return rest == "" or rest[0] == "+"


def _header_mismatch(h: HeaderMatcher, value: str | None, *, values: tuple[str, ...] = ()) -> Mismatch | None:
    if header_matches(h, value, values=values):
        return None
    if value is None:
        return Mismatch(h, "absent", None)
    return Mismatch(h, "present" if h.matcher.kind == "present" else "value", value)


def evaluate(match: RouteMatch, request: MatchInput) -> MatchResult:
    """Whether ``match`` takes ``request``; if not, the first failing condition in Envoy's order.

    Envoy checks the header matchers in order, then the query parameter matchers
    (``RouteEntryImplBase::matchRoute``), and the path last.
    """
    for h in match.headers:
        name = h.name.lower()  # Envoy lower-cases the matcher's name
        failed = _header_mismatch(h, request.headers.get(name), values=request.repeated.get(name, ()))
        if failed is not None:
            return MatchResult(failed)
    for q in match.query:
        value = request.query.get(q.name)
        if value is None:
            return MatchResult(Mismatch(q, "absent", None))
        if not value_matches(q.matcher, value):
            return MatchResult(Mismatch(q, "value", value))
    if match.grpc and not is_grpc(request.headers.get("content-type")):
        seen = request.headers.get("content-type")
        return MatchResult(Mismatch(GRPC_CONTENT_TYPE, "absent" if seen is None else "value", seen))
    failed = _path_mismatch(match.path, request.path)
    return MATCHED if failed is None else MatchResult(failed)


def undecidable(match: RouteMatch, request: MatchInput) -> str:
    """The first regex of ``match`` whose answer on ``request`` the model cannot trust (see :func:`regex_fullmatch`),
    as ``regex <pattern>``; ``""`` when every condition is decided."""
    path = path_only(request.path)
    if match.path.kind == "regex" and regex_fullmatch(match.path.value, path) is None:
        return f"regex {match.path.value}"
    for h in match.headers:
        value = request.headers.get(h.name.lower())
        values = request.repeated.get(h.name.lower(), ()) or ((value,) if value is not None else ())
        if h.matcher.kind == "regex" and any(regex_fullmatch(h.matcher.value, v) is None for v in values):
            return f"regex {h.matcher.value}"
    for q in match.query:
        value = request.query.get(q.name)
        if q.matcher.kind == "regex" and value is not None and regex_fullmatch(q.matcher.value, value) is None:
            return f"regex {q.matcher.value}"
    return ""


def accepts(match: RouteMatch, request: MatchInput) -> bool:
    """Whether Envoy's route ``match`` takes ``request``: :func:`evaluate` without naming what failed (the path, the
    cheapest and most often failing condition, first -- the answer is the same in any order)."""
    if not _path_accepts(match.path, path_only(request.path)):
        return False
    if not match.headers and not match.query and not match.grpc:
        return True
    return evaluate(match, request).matched


# --------------------------------------------------------------------------- virtual hosts and routes

DomainKind = Literal["exact", "suffix", "prefix", "any"]


@record
class VirtualHostChoice:
    """The virtual host Envoy picks for a Host header, and the domain (and kind of domain) that won."""

    virtual_host: VirtualHost
    domain: str
    kind: DomainKind


def _host_without_port(host: str) -> str:
    """``HeaderUtility::getPortStart``: everything from the last ``:`` goes, unless a ``]`` follows it (IPv6)."""
    colon = host.rfind(":")
    if colon != -1 and host.rfind("]") < colon:
        host = host[:colon]
    return host.lower()


class VirtualHostIndex:
    """Envoy's vhost choice over one route configuration's virtual hosts, by dictionary instead of a scan.

    Built once per route configuration where many Host headers are looked up (witnesses for every shadowed rule),
    so that a lookup costs the length of the Host header, not the number of virtual hosts.
    """

    __slots__ = ("_any", "_exact", "_prefix", "_prefix_lengths", "_suffix", "_suffix_lengths", "virtual_hosts")

    def __init__(self, virtual_hosts: Sequence[VirtualHost]) -> None:
        self.virtual_hosts = virtual_hosts
        self._exact: dict[str, tuple[VirtualHost, str]] = {}
        self._suffix: dict[str, tuple[VirtualHost, str]] = {}
        """A wildcard's text after its leading ``*``, lower-cased -> the first vhost with it."""
        self._prefix: dict[str, tuple[VirtualHost, str]] = {}
        self._any: VirtualHost | None = None
        for vh in virtual_hosts:
            for d in vh.domains:
                if d == "*":
                    if self._any is None:
                        self._any = vh
                    continue
                if "*" not in d:
                    self._exact.setdefault(d.lower(), (vh, d))
                if d.startswith("*"):
                    self._suffix.setdefault(d[1:].lower(), (vh, d))
                if d.endswith("*"):
                    self._prefix.setdefault(d[:-1].lower(), (vh, d))
        # the wildcards' lengths, longest first: a lookup tries only those, whatever the Host's length
        self._suffix_lengths = sorted({len(k) for k in self._suffix}, reverse=True)
        self._prefix_lengths = sorted({len(k) for k in self._prefix}, reverse=True)

    def select(self, host: str) -> VirtualHostChoice | None:
        """Exact domain, then the longest suffix wildcard, then the longest prefix wildcard, then ``*``; a wildcard
        matches only a Host longer than its text (``*.a`` never matches ``.a``); ties go to the first vhost."""
        host = _host_without_port(host)
        hit = self._exact.get(host)
        if hit is not None:
            return VirtualHostChoice(hit[0], hit[1], "exact")
        for n in self._suffix_lengths:
            if n < len(host):
                hit = self._suffix.get(host[len(host) - n :])
                if hit is not None:
                    return VirtualHostChoice(hit[0], hit[1], "suffix")
        for n in self._prefix_lengths:
            if n < len(host):
                hit = self._prefix.get(host[:n])
                if hit is not None:
                    return VirtualHostChoice(hit[0], hit[1], "prefix")
        return None if self._any is None else VirtualHostChoice(self._any, "*", "any")


def select_virtual_host(virtual_hosts: Sequence[VirtualHost] | VirtualHostIndex, host: str) -> VirtualHostChoice | None:
    """Envoy's vhost choice: exact domain, then longest suffix wildcard, then longest prefix wildcard, then ``*``."""
    index = virtual_hosts if isinstance(virtual_hosts, VirtualHostIndex) else VirtualHostIndex(virtual_hosts)
    return index.select(host)


@record
class RouteAttempt:
    route: Route
    result: MatchResult


def attempt_routes(virtual_host: VirtualHost, request: MatchInput) -> list[RouteAttempt]:
    """The routes Envoy tries for ``request``, in order, up to and including the one that takes it."""
    attempts: list[RouteAttempt] = []
    for route in virtual_host.routes:
        result = evaluate(route.match, request)
        attempts.append(RouteAttempt(route, result))
        if result.matched:
            break
    return attempts


def first_route(virtual_host: VirtualHost, request: MatchInput) -> Route | None:
    """The route Envoy picks in ``virtual_host`` (``None``: 404 ``NR``)."""
    return next((r for r in virtual_host.routes if accepts(r.match, request)), None)


@record
class Routing:
    """How Envoy routes one request through a route configuration's virtual hosts."""

    virtual_host: VirtualHostChoice | None
    """``None``: no domain matches (404 ``NR``)."""
    attempts: tuple[RouteAttempt, ...] = ()
    """Every route tried, in order; the last one took the request when :attr:`route` is set."""

    @property
    def route(self) -> Route | None:
        last = self.attempts[-1] if self.attempts else None
        return last.route if last is not None and last.result.matched else None


def route_request(virtual_hosts: Sequence[VirtualHost] | VirtualHostIndex, request: Request) -> Routing:
    """Select the virtual host for ``request`` and try its routes in order (an index: see :class:`VirtualHostIndex`)."""
    choice = select_virtual_host(virtual_hosts, request.host)
    if choice is None:
        return Routing(None)
    return Routing(choice, tuple(attempt_routes(choice.virtual_host, request.match_input())))
