"""Witnesses: one concrete request a dead route's match accepts, that the route taking it instead accepts too.

Why this module exists: a finding that says "rule X is never reached" is easier to trust, and to replay
(``trace``, curl, a test), with a request in hand.  :func:`witness_request` builds one from the dead route's
match -- its path, method, ``:authority``, headers and query parameters -- and a Host header from the
virtual host's domains (a concrete name for a wildcard), and returns it only when the product's model of
Envoy (:func:`~kubectl_meshctl.envoy.matching.evaluate`) says both matches accept it.  A regex it cannot
sample (constructs Envoy's RE2 reads differently, lookaround, ...) gives ``None``: no guess, and so does a
matcher kind this module does not know (a route model that grew one must not make a finding crash).  Pure: no I/O.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Iterator, Sequence
from typing import cast

from .matching import Header, Request, ascii_lower, evaluate, header_matches, regex_fullmatch, value_matches
from .route_model import HeaderMatcher, QueryMatcher, RouteMatch, ValueMatcher

try:  # Python 3.11+
    import re._constants as _sre  # type: ignore[import-not-found]
    import re._parser as _sre_parse  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _sre
    import sre_parse as _sre_parse

WILDCARD_NAME = "example"
"""What stands for ``*`` in a wildcard domain: ``*.foo.com`` -> ``example.foo.com``, ``*`` -> ``example.com``."""
FILLER = "x"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
_TOKEN = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")
_PATH_SAFE = frozenset(string.ascii_letters + string.digits + "/-._~!$&'()*+,;=:@%")
_QUERY_SAFE = _PATH_SAFE - frozenset("&") | frozenset("/?")
_VALUE_SAFE = frozenset(string.printable) - frozenset("\r\n\t\x0b\x0c")
_PREFERRED = "a7-/_xzXQ."


# --------------------------------------------------------------------------- regex samples


def _char_in(items: list[tuple[object, object]]) -> str | None:
    negate = any(op is _sre.NEGATE for op, _ in items)

    def inside(ch: str) -> bool:
        for op, av in items:
            if op is _sre.LITERAL and ch == chr(av):  # type: ignore[arg-type]
                return True
            if op is _sre.RANGE and av[0] <= ord(ch) <= av[1]:  # type: ignore[index]
                return True
            if op is _sre.CATEGORY and _category_fits(av, ch):
                return True
        return False

    for op, av in items:  # the set's own first member reads best (``[0-9]`` -> ``0``)
        if not negate and op is _sre.LITERAL:
            return chr(av)  # type: ignore[arg-type]
        if not negate and op is _sre.RANGE:
            return chr(av[0])  # type: ignore[index]
    return next((c for c in _PREFERRED + string.ascii_letters + string.digits if inside(c) != negate), None)


def _category_fits(category: object, ch: str) -> bool:
    name = str(category)
    fits = {"DIGIT": ch.isdigit(), "SPACE": ch in " \t\n\r\f", "WORD": ch.isalnum() or ch == "_"}
    for key, value in fits.items():
        if key in name:
            return not value if "NOT_" in name else value
    return False


def _sample(tokens: Sequence[tuple[object, object]], repeat: int) -> str | None:
    out: list[str] = []
    for op, av in tokens:
        if op is _sre.LITERAL:
            out.append(chr(av))  # type: ignore[arg-type]
        elif op is _sre.NOT_LITERAL:
            out.append("a" if chr(av) != "a" else "b")  # type: ignore[arg-type]
        elif op is _sre.ANY:
            out.append("a")
        elif op is _sre.IN:
            ch = _char_in(av)  # type: ignore[arg-type]
            if ch is None:
                return None
            out.append(ch)
        elif op is _sre.CATEGORY:
            ch = next((c for c in _PREFERRED if _category_fits(av, c)), None)
            if ch is None:
                return None
            out.append(ch)
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
            low, high, sub = cast("tuple[int, object, Sequence[tuple[object, object]]]", av)
            count = min(max(low, repeat), low + repeat if high is _sre.MAXREPEAT else cast(int, high))
            part = _sample(sub, repeat)
            if part is None:
                return None
            out.append(part * count)
        elif op is _sre.SUBPATTERN:
            part = _sample(av[-1], repeat)  # type: ignore[index]
            if part is None:
                return None
            out.append(part)
        elif op is _sre.BRANCH:
            part = next((p for b in av[1] if (p := _sample(b, repeat)) is not None), None)  # type: ignore[index]
            if part is None:
                return None
            out.append(part)
        elif op is _sre.AT:
            continue
        else:
            return None  # lookaround, backreferences, ...: not sampled
    return "".join(out)


def regex_samples(pattern: str) -> list[str]:
    """Strings RE2 fully matches with ``pattern`` per :func:`~.matching.regex_fullmatch` (``[]``: none built)."""
    if regex_fullmatch(pattern, "") is None:
        return []  # a pattern whose RE2 meaning the model does not trust
    try:
        parsed = list(_sre_parse.parse(pattern))
    except (re.error, ValueError, TypeError, RecursionError, OverflowError):
        return []
    found: list[str] = []
    for repeat in (1, 0, 2):
        try:
            text = _sample(parsed, repeat)
        except (RecursionError, ValueError, IndexError, TypeError):
            text = None
        if text is not None and text not in found and regex_fullmatch(pattern, text) is True:
            found.append(text)
    return found


# --------------------------------------------------------------------------- candidate values


_VALUE_KINDS = frozenset({"exact", "prefix", "suffix", "contains", "regex", "present", "range"})
_PATH_KINDS = frozenset({"prefix", "path", "regex", "path_separated_prefix"})


def _known(match: RouteMatch) -> bool:
    """Every matcher kind of ``match`` is one this module samples (and :func:`~.matching.evaluate` decides)."""
    kinds = [h.matcher.kind for h in match.headers] + [q.matcher.kind for q in match.query]
    return match.path.kind in _PATH_KINDS and all(k in _VALUE_KINDS for k in kinds)


def _value_candidates(m: ValueMatcher) -> list[str]:
    # The value itself fits exact/prefix/suffix/contains (ignore_case too); every candidate is checked by the model.
    if m.kind == "present":
        return ["1"]
    if m.kind == "regex":
        return regex_samples(m.value)
    if m.kind == "range":
        low, high = m.bounds
        return [str(low)] if low < high else []
    if m.kind in _VALUE_KINDS:
        return [m.value]
    return []


def _header_values(matchers: Sequence[HeaderMatcher]) -> list[str | None]:
    """Values for one header (``None``: not sent) that every matcher on its name accepts."""
    candidates: list[str | None] = [None, FILLER, "", "zz"]
    for h in matchers:
        if not h.invert:
            candidates[:0] = _value_candidates(h.matcher)
    out: list[str | None] = []
    for value in dict.fromkeys(candidates):
        if value is not None and not set(value) <= _VALUE_SAFE:
            continue
        if all(header_matches(h, value) for h in matchers):
            out.append(value)
    return out


def host_for(domain: str) -> str | None:
    """A concrete Host header for a virtual host domain (``None`` for an empty one)."""
    if not domain:
        return None
    if domain == "*":
        return f"{WILDCARD_NAME}.com"
    if domain.startswith("*"):
        return WILDCARD_NAME + domain[1:]
    if domain.endswith("*"):
        return domain[:-1] + WILDCARD_NAME
    return domain


def _fits_domain(host: str, domain: str) -> bool:
    host = ascii_lower(host)
    d = ascii_lower(domain)
    if d == "*":
        return True
    if d.startswith("*"):
        return len(host) > len(d) - 1 and host.endswith(d[1:])
    if d.endswith("*"):
        return len(host) > len(d) - 1 and host.startswith(d[:-1])
    return host == d


def _paths(match: RouteMatch) -> list[str]:
    p = match.path
    if p.kind == "regex":
        found = regex_samples(p.value)
    elif p.kind in ("prefix", "path_separated_prefix") and p.value in ("", "/"):
        found = ["/"]
    elif p.kind in _PATH_KINDS:
        found = [p.value]
    else:
        return []
    return [x for x in found if x.startswith("/") and set(x) <= _PATH_SAFE and "?" not in x and "#" not in x]


def _queries(query: Sequence[QueryMatcher]) -> Iterator[str]:
    names = list(dict.fromkeys(q.name for q in query))
    if any(not n or not set(n) <= _QUERY_SAFE or "=" in n for n in names):
        return
    options: list[list[str]] = []
    for name in names:
        wanted = [q.matcher for q in query if q.name == name]
        values = [v for m in wanted for v in _value_candidates(m)]
        fitting = [v for v in dict.fromkeys(values) if set(v) <= _QUERY_SAFE and all(value_matches(m, v) for m in wanted)]
        if not fitting:
            return
        options.append([f"{name}={v}" for v in fitting])
    for combo in itertools.product(*options):
        yield "&".join(combo)


# --------------------------------------------------------------------------- the witness


def witness_request(
    dead: RouteMatch, killer: RouteMatch, domains: Sequence[str], *, scheme: str = "http", limit: int = 64
) -> Request | None:
    """One request ``dead`` accepts that ``killer`` accepts too (per :func:`~.matching.evaluate`), with a Host header
    that fits one of ``domains``; ``None`` when none could be built (e.g. a regex it cannot sample).

    Which virtual host Envoy picks for that Host among a route configuration's others is the caller's to check
    (:func:`~.matching.route_request`).
    """
    if not (_known(dead) and _known(killer)):
        return None  # a kind added to the route model after this module: no guess
    by_name: dict[str, list[HeaderMatcher]] = {}
    for h in dead.headers:
        by_name.setdefault(h.name.lower(), []).append(h)
    if any(h.name.lower() == ":scheme" and not header_matches(h, scheme) for h in dead.headers):
        return None
    method_matchers = by_name.pop(":method", [])
    methods = [
        m for m in dict.fromkeys([*(v for h in method_matchers if not h.invert for v in _value_candidates(h.matcher)), *METHODS])
    ]
    methods = [m for m in methods if m and set(m) <= _TOKEN and all(header_matches(h, m) for h in method_matchers)]
    authority_matchers = by_name.pop(":authority", [])
    hosts = [*(v for h in authority_matchers if not h.invert for v in _value_candidates(h.matcher))]
    hosts += [name for d in domains if (name := host_for(d)) is not None]
    hosts = [
        h
        for h in dict.fromkeys(hosts)
        if h
        and set(h) <= _VALUE_SAFE
        and " " not in h
        and "/" not in h
        and any(_fits_domain(h, d) for d in domains)
        and all(header_matches(m, h) for m in authority_matchers)
    ]
    by_name.pop(":scheme", None)
    header_names = [n for n in by_name if not n.startswith(":")]
    if len(header_names) != len(by_name):
        return None  # a pseudo-header a client cannot set
    header_options = [[(n, v) for v in _header_values(by_name[n])] for n in header_names]
    if getattr(dead, "grpc", False) and "content-type" not in by_name:
        header_options.append([("content-type", "application/grpc")])  # a ``grpc`` match needs gRPC's content-type
    paths = _paths(dead)
    queries = list(itertools.islice(_queries(dead.query), 8))
    tried = 0
    for path, query, method, host in itertools.product(paths, queries, methods[:3], hosts[:3]):
        for chosen in itertools.product(*header_options):
            tried += 1
            if tried > limit:
                return None
            sent = tuple(Header(n, v) for n, v in chosen if v is not None)
            request = Request(method, f"{path}?{query}" if query else path, host, sent, scheme=scheme)
            seen = request.match_input()
            if evaluate(dead, seen).matched and evaluate(killer, seen).matched:
                return request
    return None
