"""Envoy's request routing as the product models it (kubectl_meshctl.envoy.matching).

Virtual host selection order, first-match route semantics, and which condition of a route a request
fails first.  The model is also checked against a real Envoy by tests/test_envoy_oracle.py.
"""

from __future__ import annotations

import pytest

from kubectl_meshctl.envoy.matching import (
    Header,
    MatchInput,
    Mismatch,
    Request,
    Routing,
    attempt_routes,
    evaluate,
    first_route,
    route_request,
    select_virtual_host,
)
from kubectl_meshctl.envoy.route_model import (
    HeaderMatcher,
    PathSpec,
    QueryMatcher,
    Route,
    RouteAction,
    RouteMatch,
    RouteSource,
    ValueMatcher,
    VirtualHost,
)


def vhost(name: str, *domains: str, routes: list[Route] | None = None) -> VirtualHost:
    return VirtualHost(name, list(domains), routes or [])


def route(name: str, match: RouteMatch) -> Route:
    return Route(match, RouteSource("default", name, 0), "default/gw", RouteAction("route", ((f"outbound|80||{name}", 100),)))


def prefix(value: str, *, case_sensitive: bool | None = None) -> PathSpec:
    return PathSpec("prefix", value, case_sensitive)


def header(name: str, matcher: ValueMatcher, *, invert: bool = False, treat_missing: bool = False) -> HeaderMatcher:
    return HeaderMatcher(name, matcher, invert, treat_missing)


def exact(value: str) -> ValueMatcher:
    return ValueMatcher("exact", value)


PRESENT = ValueMatcher("present")


def get(path: str = "/", *headers: tuple[str, str], host: str = "shop.example.com", method: str = "GET") -> MatchInput:
    return Request(method, path, host, tuple(Header(n, v) for n, v in headers)).match_input()


def chosen(vhosts: list[VirtualHost], host: str) -> str | None:
    choice = select_virtual_host(vhosts, host)
    return None if choice is None else choice.virtual_host.name


# --------------------------------------------------------------------------- virtual hosts


ALL_KINDS = [
    vhost("any", "*"),
    vhost("prefix", "shop.*"),
    vhost("suffix", "*.example.com"),
    vhost("exact", "shop.example.com"),
]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("shop.example.com", "exact"),  # exact beats the suffix and the prefix wildcard that also match
        ("api.example.com", "suffix"),
        ("shop.example.org", "prefix"),
        ("other.net", "any"),
    ],
)
def test_exact_beats_suffix_beats_prefix_beats_any(host: str, expected: str) -> None:
    assert chosen(ALL_KINDS, host) == expected
    assert chosen(list(reversed(ALL_KINDS)), host) == expected  # the order of the vhosts does not matter


def test_suffix_wildcard_beats_a_longer_prefix_wildcard() -> None:
    vhosts = [vhost("prefix", "shop.example.*"), vhost("suffix", "*.com")]
    assert chosen(vhosts, "shop.example.com") == "suffix"


def test_the_choice_names_the_winning_domain_and_its_kind() -> None:
    vhosts = [vhost("a", "a.example.com", "*.example.com"), vhost("b", "b.*"), vhost("c", "*")]
    for host, domain, kind in [
        ("a.example.com", "a.example.com", "exact"),
        ("x.example.com", "*.example.com", "suffix"),
        ("b.x", "b.*", "prefix"),
        ("z", "*", "any"),
    ]:
        choice = select_virtual_host(vhosts, host)
        assert choice is not None and (choice.domain, choice.kind) == (domain, kind), host


def test_longest_suffix_wildcard_wins_whatever_the_order() -> None:
    short, long = vhost("short", "*.example.com"), vhost("long", "*.api.example.com")
    assert chosen([short, long], "v1.api.example.com") == "long"
    assert chosen([long, short], "v1.api.example.com") == "long"
    assert chosen([short, long], "v1.web.example.com") == "short"


def test_longest_prefix_wildcard_wins_whatever_the_order() -> None:
    short, long = vhost("short", "shop.*"), vhost("long", "shop.example.*")
    assert chosen([short, long], "shop.example.org") == "long"
    assert chosen([long, short], "shop.example.org") == "long"
    assert chosen([short, long], "shop.other.org") == "short"


def test_equally_long_wildcards_go_to_the_first_vhost() -> None:
    first, second = vhost("first", "*.a.com"), vhost("second", "*-a.com")
    assert chosen([first, second], "x.a.com") == "first"
    assert chosen([first, second], "x-a.com") == "second"
    assert chosen([vhost("one", "*.b.com"), vhost("two", "*.b.com")], "x.b.com") == "one"


def test_a_wildcard_needs_at_least_one_character() -> None:
    vhosts = [vhost("suffix", "*.example.com"), vhost("prefix", "shop.*"), vhost("any", "*")]
    assert chosen(vhosts, ".example.com") == "any"
    assert chosen(vhosts, "shop.") == "any"
    assert chosen(vhosts, "a.example.com") == "suffix"


def test_host_is_compared_without_case() -> None:
    vhosts = [vhost("exact", "Shop.Example.com"), vhost("suffix", "*.Example.org"), vhost("prefix", "API.*")]
    assert chosen(vhosts, "SHOP.example.COM") == "exact"
    assert chosen(vhosts, "x.EXAMPLE.org") == "suffix"
    assert chosen(vhosts, "api.local") == "prefix"


def test_port_in_host_is_ignored() -> None:
    # istiod sets ignore_port_in_host_matching: Envoy drops the port of the Host header when picking a vhost.
    assert chosen(ALL_KINDS, "shop.example.com:8080") == "exact"
    assert chosen(ALL_KINDS, "api.example.com:443") == "suffix"
    assert chosen([vhost("exact", "shop.example.com")], "shop.example.com:80") == "exact"


def test_no_vhost_without_a_matching_domain() -> None:
    assert select_virtual_host([vhost("exact", "shop.example.com"), vhost("suffix", "*.example.org")], "a.example.net") is None
    assert select_virtual_host([], "shop.example.com") is None


# --------------------------------------------------------------------------- routes


def test_the_first_matching_route_takes_the_request() -> None:
    api = route("api", RouteMatch(prefix("/api")))
    api_v1 = route("api-v1", RouteMatch(prefix("/api/v1")))
    rest = route("rest", RouteMatch(prefix("/")))
    vh = vhost("vh", "*", routes=[api, api_v1, rest])
    assert first_route(vh, get("/api/v1/items")) is api  # api-v1 is more specific but comes later
    assert first_route(vh, get("/web")) is rest
    assert first_route(vhost("vh", "*", routes=[api_v1, api]), get("/api/v1/items")) is api_v1


def test_attempts_stop_at_the_route_that_takes_the_request() -> None:
    a = route("a", RouteMatch(prefix("/a")))
    b = route("b", RouteMatch(prefix("/b")))
    c = route("c", RouteMatch(prefix("/")))
    d = route("d", RouteMatch(prefix("/b")))
    attempts = attempt_routes(vhost("vh", "*", routes=[a, b, c, d]), get("/b/x"))
    assert [(t.route, t.result.matched) for t in attempts] == [(a, False), (b, True)]


def test_no_route_is_a_404() -> None:
    vh = vhost("vh", "*", routes=[route("a", RouteMatch(prefix("/a"))), route("b", RouteMatch(PathSpec("path", "/b")))])
    assert first_route(vh, get("/b/x")) is None
    attempts = attempt_routes(vh, get("/b/x"))
    assert [t.result.matched for t in attempts] == [False, False]


def test_route_request_selects_the_vhost_then_the_route() -> None:
    shop_api = route("shop-api", RouteMatch(prefix("/api")))
    shop_rest = route("shop-rest", RouteMatch(prefix("/")))
    other = route("other", RouteMatch(prefix("/")))
    vhosts = [vhost("shop", "shop.example.com", routes=[shop_api, shop_rest]), vhost("any", "*", routes=[other])]
    routing = route_request(vhosts, Request("GET", "/web?x=1", "Shop.Example.com:80"))
    assert routing.virtual_host is not None and routing.virtual_host.virtual_host.name == "shop"
    assert routing.route is shop_rest
    assert [t.route for t in routing.attempts] == [shop_api, shop_rest]
    assert route_request(vhosts, Request("GET", "/api", "elsewhere")).route is other
    nothing = route_request([vhost("shop", "shop.example.com", routes=[shop_api])], Request("GET", "/web", "shop.example.com"))
    assert nothing.route is None and len(nothing.attempts) == 1
    assert route_request([vhost("shop", "shop.example.com")], Request("GET", "/", "x")) == Routing(None)


# --------------------------------------------------------------------------- the first failing condition


def mismatch(match: RouteMatch, request: MatchInput) -> Mismatch:
    result = evaluate(match, request)
    assert result.mismatch is not None, f"{match.describe()} should not take {request}"
    assert not result.matched
    return result.mismatch


def test_a_matching_request_has_no_failed_condition() -> None:
    result = evaluate(RouteMatch(prefix("/api"), (header("x-a", exact("1")),)), get("/api", ("X-A", "1")))
    assert result.matched and result.mismatch is None


def test_headers_are_checked_in_order_before_query_and_path() -> None:
    x_a, x_b = header("x-a", exact("1")), header("x-b", exact("2"))
    q = QueryMatcher("debug", ValueMatcher("exact", "1"))
    m = RouteMatch(prefix("/api"), (x_a, x_b), (q,))
    # everything fails: the first header is named
    assert mismatch(m, get("/web")) == Mismatch(x_a, "absent", None)
    # the first header holds: the second one
    assert mismatch(m, get("/web", ("x-a", "1"), ("x-b", "3"))) == Mismatch(x_b, "value", "3")
    # headers hold: the query parameter, though the path fails too (Envoy checks the path last)
    assert mismatch(m, get("/web?debug=0", ("x-a", "1"), ("x-b", "2"))) == Mismatch(q, "value", "0")
    assert mismatch(m, get("/web", ("x-a", "1"), ("x-b", "2"))) == Mismatch(q, "absent", None)
    # only the path fails
    assert mismatch(m, get("/web?debug=1", ("x-a", "1"), ("x-b", "2"))) == Mismatch(m.path, "path", "/web")


def test_path_that_differs_only_in_case() -> None:
    exact = PathSpec("path", "/Cart")
    assert mismatch(RouteMatch(exact), get("/cart?x=1")) == Mismatch(exact, "case", "/cart")
    assert mismatch(RouteMatch(prefix("/api")), get("/API/x")).reason == "case"
    assert mismatch(RouteMatch(prefix("/api")), get("/other")).reason == "path"
    # a case-insensitive path that fails differs in more than case; regexes ignore case_sensitive
    assert mismatch(RouteMatch(prefix("/api", case_sensitive=False)), get("/APX")).reason == "path"
    assert mismatch(RouteMatch(PathSpec("regex", "/a.*")), get("/A")).reason == "path"
    assert evaluate(RouteMatch(prefix("/api", case_sensitive=False)), get("/API/x")).matched


def test_method_authority_and_scheme_fail_as_pseudo_headers() -> None:
    method = header(":method", exact("GET"))
    authority = header(":authority", ValueMatcher("prefix", "shop."))
    scheme = header(":scheme", exact("https"))
    m = RouteMatch(prefix("/"), (method, authority, scheme))
    assert mismatch(m, get("/", method="POST")) == Mismatch(method, "value", "POST")
    assert mismatch(m, get("/", host="api.example.com")) == Mismatch(authority, "value", "api.example.com")
    assert mismatch(m, get("/")) == Mismatch(scheme, "value", "http")
    assert evaluate(m, Request("GET", "/", "shop.example.com", scheme="https").match_input()).matched


def test_inverted_headers() -> None:
    absent = header("x-debug", PRESENT, invert=True)
    assert mismatch(RouteMatch(prefix("/"), (absent,)), get("/", ("x-debug", "1"))) == Mismatch(absent, "present", "1")
    not_legacy = header("x-legacy", exact("1"), invert=True, treat_missing=True)
    assert mismatch(RouteMatch(prefix("/"), (not_legacy,)), get("/", ("x-legacy", "1"))) == Mismatch(not_legacy, "value", "1")
    assert evaluate(RouteMatch(prefix("/"), (not_legacy,)), get("/")).matched
    # an inverted string matcher without treat_missing_header_as_empty fails on a missing header
    strict = header("x-legacy", exact("1"), invert=True)
    assert mismatch(RouteMatch(prefix("/"), (strict,)), get("/")) == Mismatch(strict, "absent", None)


@pytest.mark.parametrize(
    ("match", "request_", "text"),
    [
        (RouteMatch(prefix("/api")), get("/API"), "path /API: only ignoring case prefix /api"),
        (RouteMatch(PathSpec("path", "/a")), get("/b?x=1"), "path /b: not exact /a"),
        (RouteMatch(prefix("/"), (header(":method", exact("GET")),)), get("/", method="PUT"), "method PUT: not exact GET"),
        (
            RouteMatch(prefix("/"), (header("x-id", ValueMatcher("regex", "[0-9]+")),)),
            get("/"),
            "header x-id: absent, needs regex [0-9]+",
        ),
        (
            RouteMatch(prefix("/"), (header("x-debug", PRESENT, invert=True),)),
            get("/", ("x-debug", "on")),
            "header x-debug on: present, must be absent",
        ),
        (
            RouteMatch(prefix("/"), (header("x-env", ValueMatcher("prefix", "test"), invert=True, treat_missing=True),)),
            get("/", ("x-env", "testing")),
            "header x-env testing: prefix test, must not be",
        ),
        (
            RouteMatch(prefix("/"), (), (QueryMatcher("v", ValueMatcher("present")),)),
            get("/"),
            "query v: absent, needs present",
        ),
    ],
)
def test_mismatch_describes_the_condition(match: RouteMatch, request_: MatchInput, text: str) -> None:
    assert mismatch(match, request_).describe() == text


# --------------------------------------------------------------------------- what the matchers see


def test_match_input_of_a_request() -> None:
    request = Request(
        "POST",
        "/a?x=1&x=2&empty=&b=%2F",
        "shop.example.com:8080",
        (Header("X-Tag", "a"), Header("x-tag", "b"), Header("Other", "c")),
        scheme="https",
    )
    seen = request.match_input()
    assert seen.path == "/a?x=1&x=2&empty=&b=%2F"
    assert seen.headers == {
        ":method": "POST",
        ":authority": "shop.example.com:8080",
        ":scheme": "https",
        ":path": "/a?x=1&x=2&empty=&b=%2F",
        "x-tag": "a,b",  # shown joined; matched value by value (seen.repeated)
        "other": "c",
    }
    assert seen.repeated == {"x-tag": ("a", "b")}
    assert seen.query == {"x": "1", "empty": "", "b": "%2F"}  # as sent (Envoy does not decode), the first value
    assert request.describe() == "POST shop.example.com:8080/a?x=1&x=2&empty=&b=%2F X-Tag: a x-tag: b Other: c"


def test_a_repeated_header_matches_when_any_one_value_does() -> None:
    """Envoy 1.40 (benchmarks/differential_envoy.py): each value as sent, not the comma-joined line."""
    joined = RouteMatch(prefix("/"), (header("x-tag", exact("a,b")),))
    assert not evaluate(joined, get("/", ("x-tag", "a"), ("X-Tag", "b"))).matched
    assert evaluate(joined, get("/", ("x-tag", "a,b"))).matched  # one value that holds a comma
    one = RouteMatch(prefix("/"), (header("x-tag", exact("a")),))
    assert evaluate(one, get("/", ("x-tag", "b"), ("X-Tag", "a"))).matched
    inverted = RouteMatch(prefix("/"), (header("x-tag", exact("a"), invert=True),))
    assert not evaluate(inverted, get("/", ("x-tag", "b"), ("x-tag", "a"))).matched  # some value matches: inverted fails
