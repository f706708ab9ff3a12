"""Property tests: covers() is sound with respect to accepts(), Envoy's route matching (kubectl_meshctl.envoy.matching).

Soundness: whenever ``covers(A, B)`` says True, no request that B matches escapes A.  Requests are
not drawn blindly (a random request almost never matches a specific route): they are derived from
the values A and B mention -- B's exact path, its prefix plus suffixes, ASCII case variants, each
header/parameter missing or set to every value either match names (and small variations).  Route
matching is a conjunction over independent dimensions (path, each header name, each query
parameter), so starting from a request B matches and varying one dimension at a time over all its
candidates reaches every counterexample in the candidate grid.

accepts() itself is pinned to hand-checked Envoy semantics at the bottom of the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubectl_meshctl.envoy.coverage import covers
from kubectl_meshctl.envoy.matching import MatchInput, accepts
from kubectl_meshctl.envoy.route_model import HeaderMatcher, PathSpec, QueryMatcher, RouteMatch, ValueMatcher
from kubectl_meshctl.istio.translation import translate_match
from kubectl_meshctl.resources.model import HTTPMatch, StringMatch

EXAMPLES = int(os.environ.get("COVERAGE_PROPERTY_EXAMPLES", "400"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------- Istio matches

PATHS = ["/", "/a", "/ab", "/A", "/a/b", "/aB"]
PATH_REGEXES = [".*", "/a.*", "[ab]+", "/[ab]+", "/a", "/(a|A)/.*", "/.*"]
VALUES = ["a", "ab", "b", "A", ""]
VALUE_REGEXES = [".*", "a.*", "[ab]+", "*", "b?", "(?s).*"]
METHODS = ["GET", "POST", "G", "GE"]
METHOD_REGEXES = ["GET|POST", "G.*", "*"]
AUTHORITIES = ["a.com", "a", "b.com", ""]
AUTHORITY_REGEXES = [r".*\.com", "a.*"]
SCHEMES = ["http", "https"]


def string_matches(values: list[str], regexes: list[str]) -> st.SearchStrategy[StringMatch]:
    return st.one_of(
        st.just(StringMatch("")),
        st.builds(StringMatch, st.sampled_from(["exact", "prefix"]), st.sampled_from(values)),
        st.builds(StringMatch, st.just("regex"), st.sampled_from(regexes)),
    )


VALUE_MATCH = string_matches(VALUES, VALUE_REGEXES)


def string_map(
    names: list[str], values: st.SearchStrategy[StringMatch]
) -> st.SearchStrategy[tuple[tuple[str, StringMatch], ...]]:
    return st.dictionaries(st.sampled_from(names), values, max_size=len(names)).map(lambda d: tuple(sorted(d.items())))


URI = st.one_of(
    st.none(),
    st.builds(StringMatch, st.sampled_from(["exact", "prefix"]), st.sampled_from(PATHS)),
    st.builds(StringMatch, st.just("regex"), st.sampled_from(PATH_REGEXES)),
)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "uri": URI,
    "ignore_uri_case": st.booleans(),
    "headers": string_map(["x", "y"], VALUE_MATCH),
    "without_headers": string_map(["x", "y"], VALUE_MATCH),
    "query_params": string_map(["q", "r"], VALUE_MATCH),
    "method": st.none() | string_matches(METHODS, METHOD_REGEXES),
    "authority": st.none() | string_matches(AUTHORITIES, AUTHORITY_REGEXES),
    "scheme": st.none() | st.builds(StringMatch, st.just("exact"), st.sampled_from(SCHEMES)),
}
# Most fields usually absent: small matches, so that one often covers another.
SPARSE: dict[str, st.SearchStrategy[Any]] = {
    name: (st.just(HTTPMatch.__dataclass_fields__[name].default) | strategy) if name != "uri" else strategy
    for name, strategy in FIELDS.items()
}
ISTIO_MATCH = st.fixed_dictionaries({}, optional=SPARSE).map(lambda kw: HTTPMatch(**kw))


def _with(m: HTTPMatch, field: str, value: object) -> HTTPMatch:
    changes: dict[str, Any] = {field: value}
    return replace(m, **changes)


@st.composite
def match_pairs(draw: st.DrawFn) -> tuple[HTTPMatch, HTTPMatch]:
    """(A, B): independent, or one derived from the other by redrawing one or two fields (near misses)."""
    first = draw(ISTIO_MATCH)
    how = draw(st.sampled_from(["independent", "narrow", "widen", "same"]))
    if how == "independent":
        return first, draw(ISTIO_MATCH)
    if how == "same":
        return first, first
    other = first
    for field in draw(st.lists(st.sampled_from(sorted(FIELDS)), min_size=1, max_size=2, unique=True)):
        other = _with(other, field, draw(FIELDS[field]))
    return (first, other) if how == "narrow" else (other, first)


def _pool(values: list[str], regexes: list[str]) -> list[StringMatch]:
    return [
        StringMatch(""),
        *(StringMatch(k, v) for k in ("exact", "prefix") for v in values),
        *(StringMatch("regex", r) for r in regexes),
    ]


VALUE_POOL = _pool(VALUES, VALUE_REGEXES)
SINGLE_POOLS: dict[str, list[StringMatch | None]] = {
    "uri": [
        None,
        *(StringMatch(k, v) for k in ("exact", "prefix") for v in PATHS),
        *(StringMatch("regex", r) for r in PATH_REGEXES),
    ],
    "method": [None, *_pool(METHODS, METHOD_REGEXES)],
    "authority": [None, *_pool(AUTHORITIES, AUTHORITY_REGEXES)],
    "scheme": [None, *(StringMatch("exact", v) for v in SCHEMES)],
}
MAP_NAMES = {"headers": ["x", "y"], "without_headers": ["x", "y"], "query_params": ["q", "r"]}


def neighbours(m: HTTPMatch) -> Iterator[HTTPMatch]:
    """Every match that differs from ``m`` in exactly one field or one map entry."""
    for value in SINGLE_POOLS["uri"]:  # the path is uri and ignoreUriCase together
        for ignore_case in (False, True):
            if (value, ignore_case) != (m.uri, m.ignore_uri_case):
                yield replace(m, uri=value, ignore_uri_case=ignore_case)
    for field, pool in SINGLE_POOLS.items():
        for value in pool:
            if field != "uri" and value != getattr(m, field):
                yield _with(m, field, value)
    for field, names in MAP_NAMES.items():
        current = dict(getattr(m, field))
        for name in names:
            options: list[StringMatch | None] = [None, *VALUE_POOL]
            for value in options:
                if value == current.get(name):
                    continue
                changed = {k: v for k, v in current.items() if k != name}
                if value is not None:
                    changed[name] = value
                yield _with(m, field, tuple(sorted(changed.items())))


# --------------------------------------------------------------------------- candidate requests

Dim = tuple[str, str]  # ("path", ""), ("h", header name), ("q", parameter name)


def _variants(value: str) -> set[str]:
    out = {value, value + "b", value + "x", value + "/", value + "/x", value[:-1], value.upper(), value.lower(), value.swapcase()}
    out |= {value[:i] + value[i].swapcase() + value[i + 1 :] for i in range(len(value))}
    return out


def _route_values(route: RouteMatch, dim: Dim) -> set[str]:
    kind, name = dim
    if kind == "path":
        return {route.path.value} if route.path.kind != "regex" else set()
    matchers = (
        [h.matcher for h in route.headers if h.name == name]
        if kind == "h"
        else [q.matcher for q in route.query if q.name == name]
    )
    return {m.value for m in matchers if m.kind in ("exact", "prefix")}


def candidates(dim: Dim, routes: tuple[RouteMatch, ...]) -> list[str | None]:
    kind, _ = dim
    mentioned = set().union(*(_route_values(r, dim) for r in routes))
    if kind == "path":
        paths = {"/", "/a", "/A", "/ab", "/aB", "/AB", "/a/b", "/A/B", "/b", "/a/", "/ba", "/a?x=1", "/a#f", "/b/a"}
        for value in mentioned:
            paths |= {v for v in _variants(value) if v.startswith("/")} | {value + "?q=1", value + "#f"}
        path_values: list[str | None] = [*sorted(paths)]
        return path_values
    values = {"", "a", "ab", "b", "A", "Ab", "ba", "z", "GET", "POST", "GEX", "a.com", "b.com", "http", "https"}
    for value in mentioned:
        values |= _variants(value)
    if kind == "q":
        values |= {"a\nb", "\n"}  # decoded %0A; header values can never hold a line feed
    return [None, *sorted(values)]


def dimensions(routes: tuple[RouteMatch, ...]) -> list[Dim]:
    dims: set[Dim] = {("path", "")}
    for r in routes:
        dims |= {("h", h.name) for h in r.headers} | {("q", q.name) for q in r.query}
    return sorted(dims)


def project(route: RouteMatch, dim: Dim) -> RouteMatch:
    """The part of ``route`` that looks at one dimension (a route of its own)."""
    kind, name = dim
    if kind == "path":
        return RouteMatch(route.path)
    any_path = PathSpec("prefix", "/")
    if kind == "h":
        return RouteMatch(any_path, headers=tuple(h for h in route.headers if h.name == name))
    return RouteMatch(any_path, query=tuple(q for q in route.query if q.name == name))


def build(assignment: dict[Dim, str | None]) -> MatchInput:
    path = assignment.get(("path", "")) or "/"
    headers = {n: v for (k, n), v in assignment.items() if k == "h" and v is not None}
    query = {n: v for (k, n), v in assignment.items() if k == "q" and v is not None}
    return MatchInput(path, headers, query)


def requests_matching(b: RouteMatch, a: RouteMatch) -> Iterator[MatchInput]:
    """Requests ``b`` matches: a base request, then every candidate of each dimension in turn."""
    dims = dimensions((a, b))
    accepted: dict[Dim, list[str | None]] = {}
    for dim in dims:
        part = project(b, dim)
        accepted[dim] = [v for v in candidates(dim, (a, b)) if accepts(part, build({dim: v}))]
        if not accepted[dim]:
            return  # b matches no candidate request at all
    for base_choice in (0, -1):
        base = {dim: values[base_choice] for dim, values in accepted.items()}
        for dim in dims:
            for value in accepted[dim]:
                request = build({**base, dim: value})
                assert accepts(b, request), f"projection and full match disagree on {request}"
                yield request


def assert_sound(a: RouteMatch, b: RouteMatch) -> None:
    if not covers(a, b):
        return
    for request in requests_matching(b, a):
        assert accepts(a, request), f"covers(A, B) but B takes {request} and A does not:\nA={a}\nB={b}"


# --------------------------------------------------------------------------- properties


@PROPERTY
@given(match_pairs())
def test_covers_is_sound_for_istio_matches(pair: tuple[HTTPMatch, HTTPMatch]) -> None:
    a, b = pair
    assert_sound(translate_match(a), translate_match(b))


@PROPERTY
@given(match_pairs(), st.booleans(), st.booleans())
def test_covers_is_sound_for_gateway_api_matches(pair: tuple[HTTPMatch, HTTPMatch], a_gateway: bool, b_gateway: bool) -> None:
    """VirtualServices generated from Gateway API routes: a prefix becomes a path_separated_prefix."""
    a, b = pair
    assert_sound(translate_match(a, gateway_semantics=a_gateway), translate_match(b, gateway_semantics=b_gateway))


def test_path_separated_prefixes_cover_what_they_must() -> None:
    def psp(value: str, case: bool | None = None) -> RouteMatch:
        return RouteMatch(PathSpec("path_separated_prefix", value, case))

    def plain(kind: str, value: str, case: bool | None = None) -> RouteMatch:
        return RouteMatch(PathSpec(kind, value, case))  # type: ignore[arg-type]

    assert covers(psp("/a"), psp("/a")) and covers(psp("/a"), psp("/a/b")) and not covers(psp("/a"), psp("/ab"))
    assert covers(psp("/a"), plain("path", "/a/x")) and not covers(psp("/a"), plain("path", "/ab"))
    assert covers(psp("/a"), plain("prefix", "/a/")) and not covers(psp("/a"), plain("prefix", "/a"))
    assert covers(plain("prefix", "/a"), psp("/a")) and covers(plain("prefix", "/"), psp("/b"))
    assert not covers(plain("path", "/a"), psp("/a")) and not covers(psp("/a/b"), psp("/a"))
    assert covers(psp("/a", False), psp("/A/b")) and not covers(psp("/a"), psp("/a", False))
    assert covers(psp("/1"), psp("/1/2", False))  # no letters: every casing is the same path


@settings(max_examples=max(EXAMPLES // 5, 10), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ISTIO_MATCH)
def test_covers_is_sound_for_every_single_step_neighbour(m: HTTPMatch) -> None:
    # Near misses are where covers() goes wrong: one field or map entry changed, in both directions.
    route = translate_match(m)
    for other in neighbours(m):
        other_route = translate_match(other)
        assert_sound(route, other_route)
        assert_sound(other_route, route)


@PROPERTY
@given(ISTIO_MATCH)
def test_every_match_covers_itself(m: HTTPMatch) -> None:
    route = translate_match(m)
    assert covers(route, route)


UNTRUSTED_REGEXES = ["(?=a)a", "a{,2}", "(a)\\1", "[[:alpha:]]+"]


@settings(max_examples=100, deadline=None)
@given(ISTIO_MATCH, st.sampled_from(UNTRUSTED_REGEXES), st.sampled_from(["uri", "headers", "query_params"]))
def test_match_with_untrusted_regex_covers_itself(m: HTTPMatch, pattern: str, where: str) -> None:
    # Equal matchers select equal requests whatever the regex engine makes of them.
    regex = StringMatch("regex", pattern)
    m = replace(m, uri=regex) if where == "uri" else _with(m, where, (("x", regex),))
    route = translate_match(m)
    assert covers(route, route)


# Raw Envoy matchers, including combinations istiod never emits (an inverted value matcher without
# treat_missing_header_as_empty, a plain one with it): the header reasoning must hold for all.
RAW_VALUE = st.one_of(
    st.just(ValueMatcher("present")),
    st.builds(ValueMatcher, st.sampled_from(["exact", "prefix"]), st.sampled_from(VALUES)),
    st.builds(ValueMatcher, st.just("regex"), st.sampled_from([".*", "a.*", "[ab]+", "b?", "(?s).*"])),
)
RAW_HEADER = st.builds(HeaderMatcher, st.sampled_from(["x", "y"]), RAW_VALUE, st.booleans(), st.booleans())
RAW_ROUTE = st.builds(
    RouteMatch,
    st.builds(
        PathSpec,
        st.sampled_from(["prefix", "path", "regex"]),
        st.sampled_from([*PATHS, "/.*", "/a.*"]),
        st.sampled_from([True, False, None]),
    ),
    st.lists(RAW_HEADER, max_size=3).map(tuple),
    st.lists(st.builds(QueryMatcher, st.sampled_from(["q", "r"]), RAW_VALUE), max_size=2).map(tuple),
)


@st.composite
def raw_pairs(draw: st.DrawFn) -> tuple[RouteMatch, RouteMatch]:
    a = draw(RAW_ROUTE)
    if draw(st.booleans()):
        return a, draw(RAW_ROUTE)
    # B: A plus or minus a few header matchers, so that covers() is often asked something true.
    extra = draw(st.lists(RAW_HEADER, max_size=2))
    keep = draw(st.lists(st.booleans(), min_size=len(a.headers), max_size=len(a.headers)))
    b = replace(a, headers=tuple(h for h, k in zip(a.headers, keep, strict=True) if k) + tuple(extra))
    return (a, b) if draw(st.booleans()) else (b, a)


@PROPERTY
@given(raw_pairs())
def test_covers_is_sound_for_raw_envoy_matchers(pair: tuple[RouteMatch, RouteMatch]) -> None:
    assert_sound(*pair)


RAW_VALUE_POOL = [
    ValueMatcher("present"),
    *(ValueMatcher(k, v) for k in ("exact", "prefix") for v in VALUES),
    *(ValueMatcher("regex", r) for r in [".*", "a.*", "[ab]+", "b?", "(?s).*"]),
]
RAW_PATH_POOL = [
    PathSpec(kind, value, cs)
    for kind in ("prefix", "path", "regex")
    for value in [*PATHS, "/.*", "/a.*", "/[ab]+"]
    for cs in (True, False)
]


def raw_neighbours(r: RouteMatch) -> Iterator[RouteMatch]:
    """Every route differing from ``r`` in its path, or in one header or query matcher (changed, added, removed)."""
    for path in RAW_PATH_POOL:
        if path != r.path:
            yield replace(r, path=path)
    pool = [
        HeaderMatcher(n, v, inv, treat)
        for n in ("x", "y")
        for v in RAW_VALUE_POOL
        for inv in (False, True)
        for treat in (False, True)
    ]
    for i in range(len(r.headers)):
        yield replace(r, headers=r.headers[:i] + r.headers[i + 1 :])
        for h in pool:
            if h.name == r.headers[i].name:
                yield replace(r, headers=(*r.headers[:i], h, *r.headers[i + 1 :]))
    for h in pool:
        yield replace(r, headers=(*r.headers, h))
    queries = [QueryMatcher(n, v) for n in ("q", "r") for v in RAW_VALUE_POOL]
    for i in range(len(r.query)):
        yield replace(r, query=r.query[:i] + r.query[i + 1 :])
    for q in queries:
        yield replace(r, query=(*r.query, q))


@settings(max_examples=max(EXAMPLES // 12, 10), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RAW_ROUTE)
def test_covers_is_sound_for_every_raw_neighbour(route: RouteMatch) -> None:
    for other in raw_neighbours(route):
        assert_sound(route, other)
        assert_sound(other, route)


def test_generation_exercises_the_property() -> None:
    """A deterministic sweep: covers() must be True often enough for the soundness test to mean anything."""
    seen: dict[str, int] = {"covered": 0, "not covered": 0}

    @settings(max_examples=300, deadline=None, derandomize=True, database=None)
    @given(match_pairs())
    def sweep(pair: tuple[HTTPMatch, HTTPMatch]) -> None:
        ta, tb = translate_match(pair[0]), translate_match(pair[1])
        seen["covered" if covers(ta, tb) and ta != tb else "not covered"] += 1

    sweep()
    assert seen["covered"] >= 30, seen
    assert seen["not covered"] >= 30, seen


# --------------------------------------------------------------------------- accepts() vs Envoy


def _hm(name: str, kind: str, value: str = "", *, invert: bool = False, treat: bool = False) -> HeaderMatcher:
    return HeaderMatcher(name, ValueMatcher(kind, value), invert, treat)  # type: ignore[arg-type]


def _route(*headers: HeaderMatcher, path: PathSpec | None = None, query: tuple[QueryMatcher, ...] = ()) -> RouteMatch:
    return RouteMatch(path or PathSpec("prefix", "/"), headers, query)


class TestAcceptsIsEnvoy:
    def test_present_match(self) -> None:
        r = _route(_hm("x", "present"))
        assert accepts(r, MatchInput("/", {"x": ""}))
        assert not accepts(r, MatchInput("/"))
        inverted = _route(_hm("x", "present", invert=True))
        assert accepts(inverted, MatchInput("/"))
        assert not accepts(inverted, MatchInput("/", {"x": "a"}))

    def test_string_matcher_on_missing_header(self) -> None:
        # HeaderUtility::matchHeaders: without treat_missing_header_as_empty a missing header fails
        # every non-present matcher, inverted or not.
        assert not accepts(_route(_hm("x", "exact", "a")), MatchInput("/"))
        assert not accepts(_route(_hm("x", "exact", "a", invert=True)), MatchInput("/"))
        # With it the value is "" and invert_match flips the result.
        assert accepts(_route(_hm("x", "exact", "a", invert=True, treat=True)), MatchInput("/"))
        assert not accepts(_route(_hm("x", "prefix", "", invert=True, treat=True)), MatchInput("/"))
        assert accepts(_route(_hm("x", "exact", "", treat=True)), MatchInput("/"))

    def test_inverted_value(self) -> None:
        r = _route(_hm("x", "regex", "[0-9]{3}", invert=True, treat=True))
        assert accepts(r, MatchInput("/", {"x": "1234"}))
        assert not accepts(r, MatchInput("/", {"x": "123"}))

    def test_case_insensitive_path_is_ascii_only(self) -> None:
        r = _route(path=PathSpec("prefix", "/api", False))
        assert accepts(r, MatchInput("/API/x"))
        assert accepts(r, MatchInput("/aPi"))
        assert not accepts(_route(path=PathSpec("path", "/é", False)), MatchInput("/É"))
        assert not accepts(_route(path=PathSpec("prefix", "/api", True)), MatchInput("/API"))

    def test_regex_is_full_match_and_ignores_case_flag(self) -> None:
        r = _route(path=PathSpec("regex", "/a.*", False))
        assert accepts(r, MatchInput("/ab?x=1"))
        assert not accepts(r, MatchInput("/A"))
        assert not accepts(_route(path=PathSpec("regex", "/a")), MatchInput("/ab"))

    def test_path_without_query_and_fragment(self) -> None:
        assert accepts(_route(path=PathSpec("path", "/a")), MatchInput("/a?b=1#c"))
        assert accepts(_route(path=PathSpec("path", "/a")), MatchInput("/a#c"))
        assert not accepts(_route(path=PathSpec("prefix", "/a?b")), MatchInput("/a?b=1"))

    def test_query_parameter_required(self) -> None:
        r = _route(query=(QueryMatcher("q", ValueMatcher("present")),))
        assert accepts(r, MatchInput("/", query={"q": ""}))
        assert not accepts(r, MatchInput("/"))
        exact = _route(query=(QueryMatcher("q", ValueMatcher("exact", "")),))
        assert not accepts(exact, MatchInput("/"))
        assert accepts(exact, MatchInput("/", query={"q": ""}))

    def test_translated_istio_match(self) -> None:
        m = translate_match(
            HTTPMatch(
                uri=StringMatch("prefix", "/api"),
                ignore_uri_case=True,
                method=StringMatch("exact", "GET"),
                headers=(("X-User", StringMatch("prefix", "a")),),
                without_headers=(("debug", StringMatch("")),),
                query_params=(("v", StringMatch("regex", "[0-9]+")),),
            )
        )
        ok = MatchInput("/API/x", {":method": "GET", "x-user": "ab"}, {"v": "2"})
        assert accepts(m, ok)
        assert not accepts(m, replace(ok, headers={**ok.headers, "debug": "1"}))
        assert not accepts(m, replace(ok, headers={**ok.headers, ":method": "POST"}))
        assert not accepts(m, replace(ok, query={"v": "x"}))
        assert not accepts(m, replace(ok, query={}))
