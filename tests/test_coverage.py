"""covers(): per-dimension unit tests, written from Istio HTTPMatch objects through translate_match.

Every "not covered" case where the later match is really reachable also names a witness request
that the later match takes and the earlier one does not (checked with Envoy's matching, ``accepts``), so the
expected answer is not an opinion but a fact about Envoy's matching.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from kubectl_meshctl.envoy.coverage import covers
from kubectl_meshctl.envoy.matching import MatchInput, accepts, regex_fullmatch
from kubectl_meshctl.istio.translation import GatewayProxy, match_applies, translate_match
from kubectl_meshctl.resources.model import HTTPMatch, StringMatch


def sm(kind: str = "", value: str = "") -> StringMatch:
    return StringMatch(kind, value)  # type: ignore[arg-type]


EXACT, PREFIX, REGEX = "exact", "prefix", "regex"


def uri(kind: str, value: str, **kw: object) -> HTTPMatch:
    return HTTPMatch(uri=sm(kind, value), **kw)  # type: ignore[arg-type]


def req(path: str = "/", headers: dict[str, str] | None = None, query: dict[str, str] | None = None, **pseudo: str) -> MatchInput:
    h = dict(headers or {})
    for k, v in pseudo.items():
        h[f":{k}"] = v
    return MatchInput(path, h, dict(query or {}))


def cov(a: HTTPMatch, b: HTTPMatch) -> bool:
    return covers(translate_match(a), translate_match(b))


def assert_covered(a: HTTPMatch, b: HTTPMatch) -> None:
    assert cov(a, b), f"{a} should cover {b}"


def assert_reachable(a: HTTPMatch, b: HTTPMatch, witness: MatchInput) -> None:
    """``b`` is really reachable after ``a`` (the witness proves it) and covers() must say so."""
    ta, tb = translate_match(a), translate_match(b)
    assert accepts(tb, witness), f"witness {witness} must match the later match {b}"
    assert not accepts(ta, witness), f"witness {witness} must not match the earlier match {a}"
    assert not covers(ta, tb), f"{a} must not cover {b}: {witness} reaches it"


# --------------------------------------------------------------------------- uri


class TestUri:
    def test_exact_covers_same_exact(self) -> None:
        assert_covered(uri(EXACT, "/a"), uri(EXACT, "/a"))

    def test_exact_does_not_cover_other_exact(self) -> None:
        assert_reachable(uri(EXACT, "/a"), uri(EXACT, "/b"), req("/b"))

    def test_exact_does_not_cover_prefix_of_same_value(self) -> None:
        assert_reachable(uri(EXACT, "/a"), uri(PREFIX, "/a"), req("/a/x"))

    def test_exact_ignores_query_string(self) -> None:
        assert accepts(translate_match(uri(EXACT, "/a")), req("/a?x=1"))
        assert accepts(translate_match(uri(EXACT, "/a")), req("/a#frag"))

    def test_prefix_covers_longer_prefix_and_exact(self) -> None:
        assert_covered(uri(PREFIX, "/api"), uri(PREFIX, "/api/v1"))
        assert_covered(uri(PREFIX, "/api"), uri(EXACT, "/api"))
        # Envoy's prefix is a plain string prefix, not a path segment.
        assert_covered(uri(PREFIX, "/api"), uri(PREFIX, "/apis"))

    def test_longer_prefix_does_not_cover_shorter(self) -> None:
        assert_reachable(uri(PREFIX, "/api/v1"), uri(PREFIX, "/api"), req("/api/v2"))
        assert_reachable(uri(PREFIX, "/api/v1"), uri(EXACT, "/api"), req("/api"))

    def test_no_uri_is_prefix_slash(self) -> None:
        assert_covered(HTTPMatch(), uri(REGEX, "/a[0-9]+"))
        assert_covered(HTTPMatch(), uri(EXACT, "/x"))
        assert_covered(uri(PREFIX, "/"), HTTPMatch(ignore_uri_case=True))

    def test_match_all_regex_covers_everything(self) -> None:
        for b in (uri(EXACT, "/a"), uri(PREFIX, "/a"), uri(REGEX, "/a.*"), HTTPMatch(), uri(PREFIX, "/A", ignore_uri_case=True)):
            assert_covered(uri(REGEX, ".*"), b)

    def test_regex_covers_exact_it_fully_matches(self) -> None:
        assert_covered(uri(REGEX, "/a.*"), uri(EXACT, "/a/b"))
        assert_covered(uri(REGEX, "/(a|b)/[0-9]+"), uri(EXACT, "/b/42"))

    def test_regex_is_a_full_match(self) -> None:
        # RE2 full match: "/a" does not match "/a/b" although it is a prefix of it.
        assert_reachable(uri(REGEX, "/a"), uri(EXACT, "/a/b"), req("/a/b"))

    def test_regex_does_not_cover_exact_it_does_not_match(self) -> None:
        assert_reachable(uri(REGEX, "/a[0-9]"), uri(EXACT, "/ab"), req("/ab"))

    def test_regex_does_not_cover_prefix(self) -> None:
        assert_reachable(uri(REGEX, "/a/[a-z]"), uri(PREFIX, "/a/"), req("/a/zz"))

    def test_regex_covers_identical_regex(self) -> None:
        assert_covered(uri(REGEX, "/a/[0-9]+"), uri(REGEX, "/a/[0-9]+"))

    def test_different_regex_never_covers(self) -> None:
        # "/a/.*" is a subset of "/a.*", but regex inclusion is not proved: never covered.
        assert not cov(uri(REGEX, "/a.*"), uri(REGEX, "/a/.*"))
        assert_reachable(uri(REGEX, "/a+"), uri(REGEX, "/b+"), req("/b"))

    def test_only_slash_prefix_covers_a_regex(self) -> None:
        assert_covered(uri(PREFIX, "/"), uri(REGEX, "[ab]+"))
        assert not cov(uri(PREFIX, "/a"), uri(REGEX, "/a.*"))
        assert_reachable(uri(PREFIX, "/a"), uri(REGEX, "/(a|b)"), req("/b"))

    @pytest.mark.parametrize(
        ("pattern", "path", "answer"),
        [
            (r"/a{,2}", "/", None),  # Python: {0,2}; RE2: the literal "{,2}"
            (r"/[[:digit:]]+", "/:]", None),  # Python: a nested set; RE2: a POSIX class
            (r"/\d+", "/١٢", False),  # RE2's \d is ASCII-only (so is Python's with re.ASCII)
            (r"/\w", "/é", False),
            (r"/(?=a)a", "/a", None),  # lookahead: RE2 rejects it
            (r"/(a)\1", "/aa", None),  # backreference: RE2 rejects it
            (r"(?i)/ſ", "/s", None),  # RE2 folds Unicode case, Python with re.ASCII does not
            (r"/a$\n", "/a\n", None),  # Python's $ also matches before a final line feed
        ],
    )
    def test_regex_where_python_and_re2_differ_never_covers(self, pattern: str, path: str, answer: bool | None) -> None:
        assert regex_fullmatch(pattern, path) is answer
        assert not cov(uri(REGEX, pattern), uri(EXACT, path))


# --------------------------------------------------------------------------- ignoreUriCase


class TestIgnoreUriCase:
    def test_case_insensitive_earlier_covers_case_sensitive_later(self) -> None:
        a = uri(PREFIX, "/api", ignore_uri_case=True)
        assert_covered(a, uri(PREFIX, "/API/x"))
        assert_covered(a, uri(EXACT, "/Api/users"))
        assert_covered(uri(EXACT, "/a", ignore_uri_case=True), uri(EXACT, "/A"))

    def test_case_insensitive_covers_case_insensitive(self) -> None:
        assert_covered(uri(PREFIX, "/API", ignore_uri_case=True), uri(PREFIX, "/api/x", ignore_uri_case=True))
        assert_covered(uri(EXACT, "/Ab", ignore_uri_case=True), uri(EXACT, "/aB", ignore_uri_case=True))

    def test_case_sensitive_earlier_does_not_cover_case_insensitive_later(self) -> None:
        # A3.2 #6: Istio ignores ignoreUriCase; B still takes /API/X.
        assert_reachable(uri(PREFIX, "/api"), uri(PREFIX, "/api/x", ignore_uri_case=True), req("/API/X"))
        assert_reachable(uri(EXACT, "/a"), uri(EXACT, "/a", ignore_uri_case=True), req("/A"))

    def test_case_sensitive_covers_case_insensitive_without_letters(self) -> None:
        assert_covered(uri(EXACT, "/1/2"), uri(EXACT, "/1/2", ignore_uri_case=True))
        assert_covered(uri(PREFIX, "/1/"), uri(PREFIX, "/1/x", ignore_uri_case=True))
        assert_covered(uri(PREFIX, "/"), uri(PREFIX, "/abc", ignore_uri_case=True))

    def test_case_sensitive_prefix_with_letters_does_not_cover_case_insensitive_exact(self) -> None:
        assert_reachable(uri(PREFIX, "/a"), uri(EXACT, "/a1", ignore_uri_case=True), req("/A1"))

    def test_case_insensitive_other_value_not_covered(self) -> None:
        assert_reachable(uri(PREFIX, "/api", ignore_uri_case=True), uri(PREFIX, "/ap"), req("/ap"))

    def test_regex_ignores_ignore_uri_case(self) -> None:
        # Envoy ignores case_sensitive for safe_regex: a "case-insensitive" regex is still case-sensitive.
        a = uri(REGEX, "/a", ignore_uri_case=True)
        assert_reachable(a, uri(EXACT, "/A"), req("/A"))
        assert_covered(a, uri(EXACT, "/a"))

    def test_regex_does_not_cover_case_insensitive_exact_with_letters(self) -> None:
        assert_reachable(uri(REGEX, "/a"), uri(EXACT, "/a", ignore_uri_case=True), req("/A"))
        assert_covered(uri(REGEX, "/[0-9]"), uri(EXACT, "/1", ignore_uri_case=True))


# --------------------------------------------------------------------------- headers


def hdr(**headers: StringMatch) -> HTTPMatch:
    return HTTPMatch(headers=tuple(sorted(headers.items())))


def without(**headers: StringMatch) -> HTTPMatch:
    return HTTPMatch(without_headers=tuple(sorted(headers.items())))


class TestHeaders:
    def test_exact(self) -> None:
        assert_covered(hdr(x=sm(EXACT, "a")), hdr(x=sm(EXACT, "a")))
        assert_reachable(hdr(x=sm(EXACT, "a")), hdr(x=sm(EXACT, "ab")), req(headers={"x": "ab"}))
        assert_reachable(hdr(x=sm(EXACT, "a")), HTTPMatch(), req())

    def test_exact_does_not_cover_prefix(self) -> None:
        assert_reachable(hdr(x=sm(EXACT, "a")), hdr(x=sm(PREFIX, "a")), req(headers={"x": "ab"}))

    def test_prefix(self) -> None:
        assert_covered(hdr(x=sm(PREFIX, "a")), hdr(x=sm(EXACT, "ab")))
        assert_covered(hdr(x=sm(PREFIX, "a")), hdr(x=sm(PREFIX, "ab")))
        assert_reachable(hdr(x=sm(PREFIX, "ab")), hdr(x=sm(PREFIX, "a")), req(headers={"x": "ac"}))
        assert_reachable(hdr(x=sm(PREFIX, "a")), hdr(x=sm(EXACT, "b")), req(headers={"x": "b"}))

    def test_header_values_are_case_sensitive(self) -> None:
        assert_reachable(hdr(x=sm(EXACT, "a")), hdr(x=sm(EXACT, "A")), req(headers={"x": "A"}))

    def test_header_names_are_case_insensitive(self) -> None:
        assert_covered(HTTPMatch(headers=(("X-Foo", sm(EXACT, "a")),)), HTTPMatch(headers=(("x-foo", sm(EXACT, "a")),)))

    def test_regex(self) -> None:
        assert_covered(hdr(x=sm(REGEX, "[ab]+")), hdr(x=sm(EXACT, "ab")))
        assert_covered(hdr(x=sm(REGEX, "[ab]+")), hdr(x=sm(REGEX, "[ab]+")))
        assert_reachable(hdr(x=sm(REGEX, "[ab]+")), hdr(x=sm(EXACT, "c")), req(headers={"x": "c"}))
        assert_covered(hdr(x=sm(REGEX, ".*")), hdr(x=sm(PREFIX, "a")))

    def test_regex_does_not_cover_prefix(self) -> None:
        assert_reachable(hdr(x=sm(REGEX, "a[0-9]")), hdr(x=sm(PREFIX, "a")), req(headers={"x": "ab"}))

    def test_presence(self) -> None:
        for b in (hdr(x=sm(EXACT, "a")), hdr(x=sm(PREFIX, "a")), hdr(x=sm(REGEX, "b+")), hdr(x=sm())):
            assert_covered(hdr(x=sm()), b)
        # regex "*" and exact "" are presence matches too.
        assert_covered(hdr(x=sm(REGEX, "*")), hdr(x=sm(EXACT, "zz")))
        assert_covered(hdr(x=sm(EXACT, "")), hdr(x=sm(EXACT, "zz")))
        assert_reachable(hdr(x=sm()), HTTPMatch(), req())

    def test_fewer_headers_cover_more_headers(self) -> None:
        # A4: Istio requires equal header counts; Envoy does not.
        assert_covered(hdr(x=sm(EXACT, "a")), hdr(x=sm(EXACT, "a"), y=sm(EXACT, "b")))
        assert_covered(HTTPMatch(), hdr(x=sm(EXACT, "a"), y=sm(EXACT, "b")))
        assert_reachable(hdr(x=sm(EXACT, "a"), y=sm(EXACT, "b")), hdr(x=sm(EXACT, "a")), req(headers={"x": "a"}))

    def test_headers_are_independent(self) -> None:
        assert_reachable(hdr(x=sm(EXACT, "a")), hdr(y=sm(EXACT, "a")), req(headers={"y": "a"}))


class TestWithoutHeaders:
    def test_inverted_comparison_false_positive_5(self) -> None:
        # A3.2 #5: A excludes x=ab, B excludes x=a; a request with x=ab takes B, not A.
        assert_reachable(without(x=sm(EXACT, "ab")), without(x=sm(EXACT, "a")), req(headers={"x": "ab"}))

    def test_narrower_exclusion_does_not_cover_wider(self) -> None:
        assert_reachable(without(x=sm(EXACT, "a")), without(x=sm(EXACT, "ab")), req(headers={"x": "a"}))
        assert_reachable(without(x=sm(PREFIX, "a")), without(x=sm(PREFIX, "ab")), req(headers={"x": "ac"}))

    def test_wider_exclusion_in_later_is_covered(self) -> None:
        # B rejects every value starting with "a", so it rejects "a" as A does.
        assert_covered(without(x=sm(EXACT, "a")), without(x=sm(PREFIX, "a")))
        assert_covered(without(x=sm(PREFIX, "ab")), without(x=sm(PREFIX, "a")))
        assert_covered(without(x=sm(EXACT, "a")), without(x=sm(EXACT, "a")))
        assert_covered(without(x=sm(REGEX, "a+")), without(x=sm(REGEX, "a+")))

    def test_missing_header_matches_without_headers(self) -> None:
        a = translate_match(without(x=sm(EXACT, "a")))
        assert accepts(a, req())
        assert not accepts(a, req(headers={"x": "a"}))
        assert accepts(a, req(headers={"x": "b"}))

    def test_without_value_vs_required_other_value(self) -> None:
        assert_covered(without(x=sm(EXACT, "a")), hdr(x=sm(EXACT, "b")))
        assert_covered(without(x=sm(PREFIX, "a")), hdr(x=sm(PREFIX, "b")))
        assert_reachable(without(x=sm(EXACT, "a")), hdr(x=sm(PREFIX, "a")), req(headers={"x": "a"}))

    def test_without_vs_nothing(self) -> None:
        assert_reachable(without(x=sm(EXACT, "a")), HTTPMatch(), req(headers={"x": "a"}))

    def test_without_presence_means_absent(self) -> None:
        a = without(x=sm())
        assert_covered(a, without(x=sm()))
        assert_reachable(a, without(x=sm(EXACT, "a")), req(headers={"x": "b"}))
        assert_reachable(a, HTTPMatch(), req(headers={"x": "b"}))
        assert_reachable(a, hdr(x=sm(EXACT, "b")), req(headers={"x": "b"}))

    def test_without_value_covers_header_absent(self) -> None:
        # B: x absent.  A: missing counts as "" (treat_missing_header_as_empty), which is not "a".
        assert_covered(without(x=sm(EXACT, "a")), without(x=sm()))

    def test_without_regex_matching_empty_does_not_cover_absent(self) -> None:
        # A excludes values matching "a*", "" included: a request without x fails A, takes B.
        assert_reachable(without(x=sm(REGEX, "a*")), without(x=sm()), req())

    def test_required_header_covers_nothing_inverted(self) -> None:
        assert_reachable(hdr(x=sm()), without(x=sm(EXACT, "a")), req())


# --------------------------------------------------------------------------- query parameters


def qp(**params: StringMatch) -> HTTPMatch:
    return HTTPMatch(query_params=tuple(sorted(params.items())))


class TestQueryParams:
    def test_exact(self) -> None:
        assert_covered(qp(q=sm(EXACT, "1")), qp(q=sm(EXACT, "1")))
        assert_reachable(qp(q=sm(EXACT, "1")), qp(q=sm(EXACT, "2")), req(query={"q": "2"}))

    def test_prefix_and_regex(self) -> None:
        assert_covered(qp(q=sm(PREFIX, "a")), qp(q=sm(EXACT, "ab")))
        assert_covered(qp(q=sm(REGEX, "[0-9]+")), qp(q=sm(EXACT, "12")))
        assert_reachable(qp(q=sm(PREFIX, "ab")), qp(q=sm(PREFIX, "a")), req(query={"q": "ac"}))

    def test_required_parameter(self) -> None:
        assert_reachable(qp(q=sm(EXACT, "1")), HTTPMatch(), req())
        assert_covered(HTTPMatch(), qp(q=sm(EXACT, "1")))
        assert_covered(qp(q=sm(EXACT, "1")), qp(q=sm(EXACT, "1"), r=sm(EXACT, "2")))

    def test_presence(self) -> None:
        assert_covered(qp(q=sm()), qp(q=sm(EXACT, "1")))
        assert_reachable(qp(q=sm()), qp(r=sm()), req(query={"r": "x"}))

    def test_different_regexes(self) -> None:
        # A3.2 #4 for query parameters.
        assert_reachable(qp(q=sm(REGEX, "a+")), qp(q=sm(REGEX, "b+")), req(query={"q": "b"}))

    def test_dot_star_does_not_cover_decoded_line_feed(self) -> None:
        # Query values are percent-decoded: %0A is a line feed, which RE2's "." does not match.
        assert_reachable(qp(q=sm(REGEX, ".*")), qp(q=sm(PREFIX, "a")), req(query={"q": "a\nb"}))
        assert_covered(qp(q=sm(REGEX, ".*")), qp(q=sm(EXACT, "ab")))
        assert_covered(qp(q=sm(REGEX, "(?s).*")), qp(q=sm(PREFIX, "a")))


# --------------------------------------------------------------------------- method / authority / scheme


class TestPseudoHeaders:
    def test_missing_method_is_not_get(self) -> None:
        # A3.2 #1.
        assert_reachable(HTTPMatch(method=sm(EXACT, "GET")), HTTPMatch(), req(method="POST"))

    def test_no_method_covers_post(self) -> None:
        # A4 (Istio treats the missing method as GET and misses this).
        assert_covered(HTTPMatch(), HTTPMatch(method=sm(EXACT, "POST")))
        assert_covered(uri(PREFIX, "/api"), uri(PREFIX, "/api/x", method=sm(EXACT, "POST")))

    def test_method_prefix_direction(self) -> None:
        # A3.2 #2: "A's value starts with B's" is the wrong direction for prefixes.
        assert_reachable(HTTPMatch(method=sm(PREFIX, "GET")), HTTPMatch(method=sm(PREFIX, "GE")), req(method="GEX"))
        assert_covered(HTTPMatch(method=sm(PREFIX, "GE")), HTTPMatch(method=sm(PREFIX, "GET")))
        # A3.2 false negative: tags differ but prefix G covers exact GET.
        assert_covered(HTTPMatch(method=sm(PREFIX, "G")), HTTPMatch(method=sm(EXACT, "GET")))

    def test_method_exact(self) -> None:
        assert_covered(HTTPMatch(method=sm(EXACT, "GET")), HTTPMatch(method=sm(EXACT, "GET")))
        assert_reachable(HTTPMatch(method=sm(EXACT, "GET")), HTTPMatch(method=sm(EXACT, "POST")), req(method="POST"))

    def test_authority_only_on_earlier(self) -> None:
        # A3.2 #3.
        assert_reachable(HTTPMatch(authority=sm(EXACT, "a.com")), HTTPMatch(), req(authority="b.com"))
        assert_covered(HTTPMatch(), HTTPMatch(authority=sm(EXACT, "a.com")))

    def test_authority_values(self) -> None:
        assert_covered(HTTPMatch(authority=sm(PREFIX, "a.")), HTTPMatch(authority=sm(EXACT, "a.com")))
        assert_reachable(HTTPMatch(authority=sm(PREFIX, "a.com")), HTTPMatch(authority=sm(PREFIX, "a.")), req(authority="a.org"))
        # A3.2 #4: a regex on B is not "" for the comparison.
        assert_reachable(
            HTTPMatch(authority=sm(EXACT, "a.com")), HTTPMatch(authority=sm(REGEX, r".*\.com")), req(authority="b.com")
        )

    def test_scheme(self) -> None:
        # A3.2 #6: scheme is a dimension.
        assert_reachable(HTTPMatch(scheme=sm(EXACT, "https")), HTTPMatch(scheme=sm(EXACT, "http")), req(scheme="http"))
        assert_covered(HTTPMatch(), HTTPMatch(scheme=sm(EXACT, "http")))
        assert_covered(HTTPMatch(scheme=sm(EXACT, "http")), HTTPMatch(scheme=sm(EXACT, "http")))

    def test_pseudo_header_is_not_a_plain_header(self) -> None:
        assert_reachable(
            HTTPMatch(method=sm(EXACT, "GET")),
            HTTPMatch(headers=(("method", sm(EXACT, "GET")),)),
            req(headers={"method": "GET"}, method="POST"),
        )


# --------------------------------------------------------------------------- Istio's false positives (A3.2)


class TestIstioFalsePositives:
    """Each case Istio reports as overlapping, with a request proving the later match reachable."""

    def test_1_missing_method_is_get(self) -> None:
        a = uri(PREFIX, "/api", method=sm(EXACT, "GET"))
        b = uri(PREFIX, "/api/x")
        assert_reachable(a, b, req("/api/x", method="POST"))

    def test_2_reversed_prefix_comparison(self) -> None:
        assert_reachable(
            uri(PREFIX, "/api", method=sm(PREFIX, "GET")),
            uri(PREFIX, "/api/x", method=sm(PREFIX, "GE")),
            req("/api/x", method="GEX"),
        )
        assert_reachable(
            uri(PREFIX, "/api", authority=sm(PREFIX, "a.com")),
            uri(PREFIX, "/api/x", authority=sm(PREFIX, "a.c")),
            req("/api/x", authority="a.cz"),
        )
        assert_reachable(
            uri(PREFIX, "/api", headers=(("x", sm(PREFIX, "ab")),)),
            uri(PREFIX, "/api/x", headers=(("x", sm(PREFIX, "a")),)),
            req("/api/x", {"x": "ac"}),
        )
        assert_reachable(
            uri(PREFIX, "/api", query_params=(("q", sm(PREFIX, "ab")),)),
            uri(PREFIX, "/api/x", query_params=(("q", sm(PREFIX, "a")),)),
            req("/api/x", query={"q": "ac"}),
        )

    def test_3_authority_only_on_earlier(self) -> None:
        assert_reachable(
            uri(PREFIX, "/api", authority=sm(EXACT, "a.com")), uri(PREFIX, "/api/x"), req("/api/x", authority="b.com")
        )

    def test_4_regex_and_presence_collapse(self) -> None:
        assert_reachable(
            uri(PREFIX, "/api", headers=(("x", sm(REGEX, "a+")),)),
            uri(PREFIX, "/api/x", headers=(("x", sm(REGEX, "b+")),)),
            req("/api/x", {"x": "b"}),
        )
        assert_reachable(
            uri(PREFIX, "/api", headers=(("x", sm(EXACT, "a")),)),
            uri(PREFIX, "/api/x", headers=(("x", sm(REGEX, "[ab]")),)),
            req("/api/x", {"x": "b"}),
        )
        assert_reachable(
            uri(PREFIX, "/api", headers=(("x", sm(EXACT, "a")),)),
            uri(PREFIX, "/api/x", headers=(("x", sm()),)),
            req("/api/x", {"x": "zz"}),
        )
        assert_reachable(
            uri(PREFIX, "/api", query_params=(("q", sm(EXACT, "a")),)),
            uri(PREFIX, "/api/x", query_params=(("q", sm(REGEX, "[ab]")),)),
            req("/api/x", query={"q": "b"}),
        )

    def test_5_without_headers_inverted(self) -> None:
        assert_reachable(
            uri(PREFIX, "/api", without_headers=(("x", sm(EXACT, "ab")),)),
            uri(PREFIX, "/api/x", without_headers=(("x", sm(EXACT, "a")),)),
            req("/api/x", {"x": "ab"}),
        )

    def test_6_ignore_uri_case(self) -> None:
        assert_reachable(uri(PREFIX, "/api"), uri(PREFIX, "/api/x", ignore_uri_case=True), req("/API/X"))

    def test_6_scheme(self) -> None:
        assert_reachable(
            uri(PREFIX, "/api", scheme=sm(EXACT, "https")),
            uri(PREFIX, "/api/x", scheme=sm(EXACT, "http")),
            req("/api/x", scheme="http"),
        )

    def test_6_gateways_and_source_labels(self) -> None:
        # These never reach Envoy's matchers; istiod drops the match where it does not apply, so at
        # the gateway where B exists, A's route does not exist and cannot shadow it.
        proxy = GatewayProxy("gw-pod", "istio-system", (("app", "gw"),))
        base = uri(PREFIX, "/api")
        a = replace(base, gateways=("istio-system/gw1",))
        b = replace(uri(PREFIX, "/api/x"), gateways=("istio-system/gw2",))
        where = {"gateway": "istio-system/gw2", "port": 80, "proxy": proxy, "vs_namespace": "default"}
        assert match_applies(b, **where) == "yes"  # type: ignore[arg-type]
        assert match_applies(a, **where) == "no"  # type: ignore[arg-type]
        a = replace(base, source_labels=(("app", "other"),))
        assert match_applies(a, **where) == "no"  # type: ignore[arg-type]
        a = replace(base, source_namespace="elsewhere")
        assert match_applies(a, **where) == "no"  # type: ignore[arg-type]

    def test_stat_prefix_does_not_change_matching(self) -> None:
        # Not a false positive: B differing only in statPrefix is really unreachable.
        assert_covered(uri(PREFIX, "/api", stat_prefix="one"), uri(PREFIX, "/api/x", stat_prefix="two"))


# --------------------------------------------------------------------------- true covers Istio misses (A4)


class TestIstioMisses:
    def test_prefix_covers_exact(self) -> None:
        assert_covered(uri(PREFIX, "/api"), uri(EXACT, "/api/users"))

    def test_no_method_covers_method(self) -> None:
        assert_covered(uri(PREFIX, "/api"), uri(PREFIX, "/api", method=sm(EXACT, "POST")))

    def test_fewer_headers_cover_more(self) -> None:
        assert_covered(
            uri(PREFIX, "/api", headers=(("x", sm(EXACT, "a")),)),
            uri(PREFIX, "/api/v1", headers=(("x", sm(EXACT, "a")), ("y", sm(PREFIX, "b")))),
        )

    def test_semantic_catch_alls(self) -> None:
        specific = uri(EXACT, "/x", method=sm(EXACT, "GET"), headers=(("x", sm(EXACT, "a")),), query_params=(("q", sm()),))
        for a in (HTTPMatch(), uri(PREFIX, "/"), HTTPMatch(ignore_uri_case=True), HTTPMatch(name="n"), uri(REGEX, ".*")):
            assert_covered(a, specific)

    def test_case_insensitive_covers_case_variant(self) -> None:
        assert_covered(uri(PREFIX, "/api", ignore_uri_case=True), uri(PREFIX, "/API"))

    def test_header_exact_vs_prefix_and_regex(self) -> None:
        assert_covered(hdr(x=sm(PREFIX, "a")), hdr(x=sm(EXACT, "abc")))
        assert_covered(hdr(x=sm(REGEX, "a.c")), hdr(x=sm(EXACT, "abc")))

    def test_without_headers_logic(self) -> None:
        assert_covered(without(x=sm(EXACT, "a")), without(x=sm(PREFIX, "a")))


@pytest.mark.parametrize(
    ("b", "a", "disjoint"),
    [
        (("exact", "v1"), ("exact", "v2"), True),
        (("exact", "v1"), ("exact", "v1"), False),
        (("exact", "v1"), ("prefix", "v"), False),
        (("exact", "v1"), ("prefix", "w"), True),
        (("exact", "v1"), ("regex", "v[0-9]"), False),
        (("exact", "v1"), ("regex", "w.*"), True),
        (("prefix", "v"), ("exact", "v1"), False),
        (("prefix", "v1"), ("exact", "v"), True),  # "v" does not start with "v1"
        (("prefix", "v"), ("prefix", "v1"), False),  # "v1x" is matched by both
        (("prefix", "v1"), ("prefix", "v"), False),  # either direction
        (("prefix", "v1"), ("prefix", "w"), True),
        (("prefix", "v"), ("regex", "w.*"), False),  # not decided for regexes: never claimed disjoint
        (("exact", "v1"), ("regex", "(?=v)w"), False),  # a lookahead RE2 lacks: the verdict is unknown, not "disjoint"
        (("exact", "v1\n"), ("regex", "w$"), False),  # Python's $ before a final newline: unknown again
        (("present", ""), ("exact", "v"), False),
        (("exact", "v"), ("present", ""), False),
    ],
)
def test_disjoint_header_values(b: tuple[str, str], a: tuple[str, str], disjoint: bool) -> None:
    """Every branch of _disjoint, both directions of the prefix/prefix case (a mutation only unseeded runs found)."""
    from kubectl_meshctl.envoy.coverage import _disjoint
    from kubectl_meshctl.envoy.route_model import ValueMatcher

    assert _disjoint(ValueMatcher(b[0], b[1]), ValueMatcher(a[0], a[1])) is disjoint  # type: ignore[arg-type]
