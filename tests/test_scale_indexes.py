"""The indexes that keep analysis linear answer exactly as the scans they replace.

Each index (issue "Scale") replaced an all-pairs scan; the scan is restated here, plainly, as the oracle, and
Hypothesis draws inputs crowded with near-misses (shared suffixes, wildcards on both sides, prefixes of prefixes,
regexes whose text occurs or almost occurs in a path).  A separate test per index builds the pathological input
the issue names and counts the comparisons made, so that a return to pairwise work fails here, not in a benchmark.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from operator import itemgetter
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubectl_meshctl.analysis import istio_rules, reachability
from kubectl_meshctl.analysis.reachability import regex_required_literal
from kubectl_meshctl.envoy.matching import MatchInput, VirtualHostChoice, VirtualHostIndex, accepts, evaluate
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
from kubectl_meshctl.istio.hosts import HostCandidates, HostOverlapIndex, host_subset_of, intersect_hosts
from kubectl_meshctl.resources.model import (
    HTTPMatch,
    HTTPRule,
    LabelIndex,
    Selector,
    SelectorIndex,
    Snapshot,
    StringMatch,
    labels_match,
)

PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LABELS = ["a", "b", "ab", "x"]


@st.composite
def host_names(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=3))
    name = ".".join(parts)
    shape = draw(st.sampled_from(["plain", "suffix", "prefix", "any", "dotless-suffix"]))
    if shape == "suffix":
        return "*." + name
    if shape == "dotless-suffix":
        return "*" + name
    if shape == "prefix":
        return name + "*"
    if shape == "any":
        return "*"
    return draw(st.sampled_from([name, name.upper(), name + ":80"]))


# --------------------------------------------------------------------------- Envoy's virtual host choice


def _scan_choice(virtual_hosts: Sequence[VirtualHost], host: str) -> tuple[int, str, str] | None:
    """Envoy's choice stated as a scan: exact, longest ``*suffix``, longest ``prefix*``, ``*``; first vhost wins ties."""
    colon = host.rfind(":")
    if colon != -1 and host.rfind("]") < colon:
        host = host[:colon]
    host = host.lower()
    for i, vh in enumerate(virtual_hosts):
        for d in vh.domains:
            if "*" not in d and d.lower() == host:
                return i, d, "exact"
    for kind in ("suffix", "prefix"):
        best: tuple[int, int, str] | None = None
        for i, vh in enumerate(virtual_hosts):
            for d in vh.domains:
                if d == "*" or len(host) < len(d):
                    continue
                fits = (
                    d.startswith("*") and host.endswith(d[1:].lower())
                    if kind == "suffix"
                    else d.endswith("*") and host.startswith(d[:-1].lower())
                )
                if fits and (best is None or (-len(d), i) < best[:2]):
                    best = (-len(d), i, d)
        if best is not None:
            return best[1], best[2], kind
    return next(((i, "*", "any") for i, vh in enumerate(virtual_hosts) if "*" in vh.domains), None)


def _as_tuple(choice: VirtualHostChoice | None, virtual_hosts: Sequence[VirtualHost]) -> tuple[int, str, str] | None:
    if choice is None:
        return None
    return next(i for i, vh in enumerate(virtual_hosts) if vh is choice.virtual_host), choice.domain, choice.kind


@PROPERTY
@given(
    st.lists(st.lists(host_names(), min_size=1, max_size=3), min_size=1, max_size=6),
    st.lists(host_names().map(lambda h: h.replace("*", "q")), min_size=1, max_size=8),
)
def test_virtual_host_index_chooses_as_envoy_scans(domain_lists: list[list[str]], hosts: list[str]) -> None:
    virtual_hosts = [VirtualHost(f"vh{i}", domains, []) for i, domains in enumerate(domain_lists)]
    index = VirtualHostIndex(virtual_hosts)
    for host in hosts:
        assert _as_tuple(index.select(host), virtual_hosts) == _scan_choice(virtual_hosts, host), host


def test_virtual_host_index_ties_and_lengths() -> None:
    first, second = VirtualHost("one", ["*.b.c"], []), VirtualHost("two", ["*.b.c", "*.c"], [])
    index = VirtualHostIndex([first, second])
    assert index.select("a.b.c") == VirtualHostChoice(first, "*.b.c", "suffix")
    assert index.select(".c") is None  # a wildcard matches only a Host longer than its text
    assert index.select("x.c:8080") == VirtualHostChoice(second, "*.c", "suffix")


# --------------------------------------------------------------------------- host overlap of servers and domains


@PROPERTY
@given(st.lists(host_names(), max_size=8), st.lists(host_names(), min_size=1, max_size=8))
def test_host_overlap_index_answers_as_every_pair(domains: list[str], servers: list[str]) -> None:
    index = HostOverlapIndex(domains)
    for h in servers:
        expected = any(host_subset_of(h, d) or host_subset_of(d, h) for d in domains)
        assert index.overlaps(h) is expected, (h, domains)


# --------------------------------------------------------------------------- a regex's required text

PATH_CHARS = "/ab.1"


@st.composite
def small_regexes(draw: st.DrawFn) -> str:
    atoms = ["a", "b", "/", r"\.", ".", "[ab]", "(a|b)", "(ab)", r"\d", "1"]
    pieces = []
    for _ in range(draw(st.integers(1, 6))):
        atom = draw(st.sampled_from(atoms))
        quantifier = draw(st.sampled_from(["", "", "", "*", "+", "?", "{2}", "{0,2}", "+?"]))
        pieces.append(atom + quantifier)
    return "".join(pieces)


@PROPERTY
@given(small_regexes(), st.lists(st.text(alphabet=PATH_CHARS, max_size=8), max_size=30))
def test_required_literal_is_in_every_full_match(pattern: str, paths: list[str]) -> None:
    required = regex_required_literal(pattern)
    compiled = re.compile(pattern)
    for path in paths:
        if compiled.fullmatch(path):
            assert required in path, (pattern, required, path)


@pytest.mark.parametrize(
    ("pattern", "required"),
    [
        ("/api/v[0-9]+/users", "/api/v"),
        (".*/health", "/health"),
        ("x{2}yz", "yz"),
        ("/(a|b)/c", ""),
        ("(?i)/abc", ""),
        ("/ab?c", "/a"),  # "/ac" matches too: the optional b and what follows it are no part of the text
        ("/items/x*/end", "/items/"),
        ("/v1/users?", "/v1/user"),
    ],
)
def test_required_literal_examples(pattern: str, required: str) -> None:
    assert regex_required_literal(pattern) == required


# --------------------------------------------------------------------------- linear in the pathological inputs


def _count_calls(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[int]:
    calls = [0]
    original = getattr(module, name)

    def counted(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_exact_paths_do_not_meet_every_earlier_regex(monkeypatch: pytest.MonkeyPatch) -> None:
    """N regexes starting with ``.*`` then M exact paths: each path is compared only with regexes whose text it holds."""

    def route(kind: Literal["path", "regex"], value: str, i: int) -> Route:
        return Route(RouteMatch(PathSpec(kind, value)), RouteSource("ns", "vs", i), "gw", RouteAction("route"))

    n = 300
    routes = [route("regex", f".*/thing-{i}", i) for i in range(n)]
    routes += [route("path", f"/exact-{i}", n + i) for i in range(n)]
    calls = _count_calls(monkeypatch, reachability, "_covers")
    outcomes = reachability._Outcomes()
    reachability._walk_routes(routes, outcomes)
    assert len(outcomes.alive) == 2 * n
    assert calls[0] < n  # pairwise would be n * n


def test_istio_prefix_pairs_among_thousands() -> None:
    """Thousands of distinct prefixes in one VirtualService: the one real pair is found, earlier before later."""
    prefixed = [_prefixed(f"/p{i}/") for i in range(2000)] + [_prefixed("/p1/x"), _prefixed("/p")]
    found = [(a.prefix, b.prefix) for a, b in istio_rules._prefix_pairs(prefixed)]
    assert found == [("/p1/", "/p1/x")]


@PROPERTY
@given(st.lists(st.text(alphabet="/ab", min_size=1, max_size=4), max_size=25))
def test_prefix_pairs_are_every_pair_in_order(prefixes: list[str]) -> None:
    prefixed = [_prefixed(p, index=k) for k, p in enumerate(prefixes)]
    expected = [(i, j) for i, a in enumerate(prefixes) for j, b in enumerate(prefixes) if i < j and b != a and b.startswith(a)]
    found = [(a.match_index, b.match_index) for a, b in istio_rules._prefix_pairs(prefixed)]
    assert found == expected


def _prefixed(prefix: str, *, index: int = 0) -> tuple[HTTPRule, HTTPMatch, int]:
    """A prefix match as http_rule_findings collects them: (rule, match, match index); the index names it here."""
    return HTTPRule(index=0), HTTPMatch(uri=StringMatch("prefix", prefix)), index


# --------------------------------------------------------------------------- the boolean matcher witnesses use

PATH_SPECS = st.builds(
    lambda kind, value, ci: PathSpec(kind, value, ci),
    st.sampled_from(["path", "prefix", "path_separated_prefix", "regex"]),
    st.sampled_from(["/", "/a", "/A", "/a/", "/a/b", "/a.*", "[/a]+"]),
    st.sampled_from([None, False, True]),
)
VALUE_MATCHERS = st.builds(
    ValueMatcher,
    st.sampled_from(["exact", "prefix", "suffix", "contains", "regex", "present"]),
    st.sampled_from(["", "a", "ab", "a.*"]),
    st.booleans(),
)


@PROPERTY
@given(
    PATH_SPECS,
    st.lists(st.builds(HeaderMatcher, st.sampled_from(["x", ":method"]), VALUE_MATCHERS, st.booleans()), max_size=2),
    st.lists(st.builds(QueryMatcher, st.sampled_from(["q"]), VALUE_MATCHERS), max_size=1),
    st.booleans(),
    st.lists(
        st.builds(
            MatchInput,
            st.sampled_from(["/", "/a", "/A", "/a/b", "/ab?q=a", "/a#f", "/a?x"]),
            st.dictionaries(
                st.sampled_from(["x", ":method", "content-type"]), st.sampled_from(["", "a", "ab", "application/grpc"])
            ),
            st.dictionaries(st.just("q"), st.sampled_from(["", "a", "ab"])),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_accepts_answers_as_evaluate(
    path: PathSpec, headers: list[HeaderMatcher], query: list[QueryMatcher], grpc: bool, requests: list[MatchInput]
) -> None:
    match = RouteMatch(path, tuple(headers), tuple(query), grpc)
    for request in requests:
        assert accepts(match, request) is evaluate(match, request).matched, request


def test_a_match_hashes_every_field_it_compares() -> None:
    """HTTPMatch caches its hash (it keys the translation cache and Istio's duplicate check); the cached hash is the
    hash of exactly the compared fields, so equal matches hash alike and a field added later is not left out."""
    import dataclasses

    match = HTTPMatch(
        name="n", uri=StringMatch("prefix", "/a"), port=8080, gateways=("g",), headers=(("x", StringMatch("exact", "1")),)
    )
    compared = tuple(getattr(match, f.name) for f in dataclasses.fields(match) if f.compare)
    assert hash(match) == hash(compared)
    assert hash(match) == hash(match)  # the cached value
    twin = dataclasses.replace(match)
    assert twin == match and hash(twin) == hash(match)
    assert dataclasses.replace(match, name="") == match.duplicate_key()


def test_an_exact_path_is_taken_by_an_earlier_regex_whose_text_is_inside_it() -> None:
    """The regex candidates of an exact path are found by their required text anywhere in the path, not only at its
    start: ``.*/health`` takes ``/api/health``, and ``/v[0-9]+/users`` takes ``/v2/users`` (text ``/users``)."""
    routes = [
        Route(RouteMatch(PathSpec("regex", ".*/health")), RouteSource("ns", "vs", 0), "gw", RouteAction("route")),
        Route(RouteMatch(PathSpec("regex", "/v[0-9]+/users")), RouteSource("ns", "vs", 1), "gw", RouteAction("route")),
        Route(RouteMatch(PathSpec("path", "/api/health")), RouteSource("ns", "vs", 2), "gw", RouteAction("route")),
        Route(RouteMatch(PathSpec("path", "/v2/users")), RouteSource("ns", "vs", 3), "gw", RouteAction("route")),
        Route(RouteMatch(PathSpec("path", "/v2/user")), RouteSource("ns", "vs", 4), "gw", RouteAction("route")),
    ]
    outcomes = reachability._Outcomes()
    reachability._walk_routes(routes, outcomes)
    assert outcomes.dead[("ns", "vs", 2, None)] is routes[0]
    assert outcomes.dead[("ns", "vs", 3, None)] is routes[1]
    assert ("ns", "vs", 4, None) in outcomes.alive


@pytest.mark.parametrize("count", [2, 3])
def test_the_killer_is_the_earliest_of_the_routes_that_cover(count: int) -> None:
    """Candidates are gathered by kind (match-all regexes first, then prefixes by length, then exact paths), not by
    position: Envoy takes the first route in order, so the killer named is the earliest that covers."""
    earlier = [
        Route(RouteMatch(PathSpec("path", "/a/b")), RouteSource("ns", "vs", 0), "gw", RouteAction("route")),
        Route(RouteMatch(PathSpec("prefix", "/a")), RouteSource("ns", "vs", 1), "gw", RouteAction("route")),
        Route(RouteMatch(PathSpec("regex", ".*")), RouteSource("ns", "vs", 2), "gw", RouteAction("route")),
    ][3 - count :]
    victim = Route(RouteMatch(PathSpec("path", "/a/b")), RouteSource("ns", "vs", 9), "gw", RouteAction("route"))
    outcomes = reachability._Outcomes()
    reachability._walk_routes([*earlier, victim], outcomes)
    assert outcomes.dead[("ns", "vs", 9, None)] is earlier[0]


# --------------------------------------------------------------------------- hostile lengths: work bounded by the index


def test_a_megabyte_host_is_looked_up_by_the_wildcards_lengths() -> None:
    """A Host header (a route test's authority, a trace's --host) of a megabyte: tried only at the lengths of the
    wildcards there are, never at every position (that would copy half a terabyte)."""
    long_host = "a" * 1_000_000 + ".example.com"
    first = VirtualHost("one", ["*.example.com", "exact.example.com"], [])
    second = VirtualHost("two", ["prefix.*"], [])
    index = VirtualHostIndex([first, second])
    assert index.select(long_host) == VirtualHostChoice(first, "*.example.com", "suffix")
    assert index.select("prefix." + "b" * 1_000_000) == VirtualHostChoice(second, "prefix.*", "prefix")
    assert index.select("c" * 1_000_000) is None


def test_a_megabyte_server_host_overlaps_by_the_wildcards_lengths() -> None:
    index = HostOverlapIndex(["*.example.com", "a.b"])
    assert index.overlaps("x" * 1_000_000 + ".example.com")
    assert not index.overlaps("x" * 1_000_000 + ".example.org")
    assert index.overlaps("*" + "y" * 1_000_000 + ".example.com")


def test_a_megabyte_exact_path_meets_the_regexes_whose_text_it_holds() -> None:
    """Past a bound the regex candidates are found by asking each regex's text (same answer as slicing)."""
    regexes = [f"/r{i}/" + "[a-z]" * 3 + "x" * i for i in range(1, 40)]  # 39 distinct text lengths
    routes = [
        Route(RouteMatch(PathSpec("regex", pattern)), RouteSource("ns", "vs", i), "gw", RouteAction("route"))
        for i, pattern in enumerate(regexes)
    ]
    routes.append(Route(RouteMatch(PathSpec("regex", ".*/health")), RouteSource("ns", "vs", 90), "gw", RouteAction("route")))
    long_path = "/" + "p" * 500_000 + "/health"
    routes.append(Route(RouteMatch(PathSpec("path", long_path)), RouteSource("ns", "vs", 91), "gw", RouteAction("route")))
    routes.append(Route(RouteMatch(PathSpec("path", long_path + "x")), RouteSource("ns", "vs", 92), "gw", RouteAction("route")))
    outcomes = reachability._Outcomes()
    reachability._walk_routes(routes, outcomes)
    assert outcomes.dead[("ns", "vs", 91, None)] is routes[-3]
    assert ("ns", "vs", 92, None) in outcomes.alive


# --------------------------------------------------------------------------- twin route lists walked once


def _routes(vs: str, certain: Sequence[bool], matches: Sequence[RouteMatch]) -> list[Route]:
    return [
        Route(m, RouteSource("ns", vs, i), "gw", RouteAction("route"), certain=c)
        for i, (m, c) in enumerate(zip(matches, certain, strict=True))
    ]


def test_a_twin_route_list_gets_the_first_walks_verdicts_named_by_its_own_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same matches at an HTTP and an HTTPS server: walked once; the twin's routes are killed by the twin's own
    earlier routes (its VirtualService, its position), never by the first list's."""
    matches = [
        RouteMatch(PathSpec("prefix", "/b")),
        RouteMatch(PathSpec("regex", ".*")),
        RouteMatch(PathSpec("prefix", "/a")),
        RouteMatch(PathSpec("path", "/a/b")),
    ]
    first, twin = _routes("http-vs", [True] * 4, matches), _routes("https-vs", [True] * 4, matches)
    walked = _count_calls(monkeypatch, reachability, "_walk_routes")
    walks, outcomes = reachability._Walks(), reachability._Outcomes()
    walks.walk(first, outcomes)
    walks.walk(twin, outcomes)
    assert walked[0] == 1
    assert outcomes.dead == {
        ("ns", "http-vs", 2, None): first[1],
        ("ns", "http-vs", 3, None): first[1],
        ("ns", "https-vs", 2, None): twin[1],
        ("ns", "https-vs", 3, None): twin[1],
    }
    assert outcomes.alive == {("ns", vs, i, None) for vs in ("http-vs", "https-vs") for i in (0, 1)}


def test_the_same_matches_with_another_certainty_are_walked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A catch-all that may not be there kills nothing: a list that differs only in that is no twin."""
    matches = [RouteMatch(PathSpec("prefix", "/")), RouteMatch(PathSpec("path", "/x"))]
    walked = _count_calls(monkeypatch, reachability, "_walk_routes")
    walks, outcomes = reachability._Walks(), reachability._Outcomes()
    sure, unsure = _routes("sure", [True, True], matches), _routes("unsure", [False, True], matches)
    walks.walk(sure, outcomes)
    walks.walk(unsure, outcomes)
    assert walked[0] == 2
    assert outcomes.dead == {("ns", "sure", 1, None): sure[0]}
    assert {("ns", "unsure", 0, None), ("ns", "unsure", 1, None)} <= outcomes.alive


def test_equal_matches_that_are_other_objects_are_walked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twins are found by the matches' identities (the translation shares one object per match): equal copies are
    walked again, to the same verdicts."""
    walked = _count_calls(monkeypatch, reachability, "_walk_routes")
    walks, outcomes = reachability._Walks(), reachability._Outcomes()
    for vs in ("one", "two"):
        walks.walk(_routes(vs, [True, True], [RouteMatch(PathSpec("prefix", "/")), RouteMatch(PathSpec("path", "/x"))]), outcomes)
    assert walked[0] == 2
    assert set(outcomes.dead) == {("ns", "one", 1, None), ("ns", "two", 1, None)}


def _http_and_https_snapshot(tmp_path: Path, *rules: dict[str, object]) -> Snapshot:
    from manifests import gateway, server, to_yaml, virtual_service

    from kubectl_meshctl.sources.files import FileSource

    tls = {"mode": "SIMPLE", "credentialName": "cert"}
    gw = gateway(
        servers=[server(80, hosts=["shop.example.com"]), server(443, hosts=["shop.example.com"], protocol="HTTPS", tls=tls)]
    )
    path = tmp_path / "in.yaml"
    path.write_text(to_yaml(gw, virtual_service(hosts=["shop.example.com"], http=list(rules))))
    return FileSource([str(path)]).read().snapshot


def test_a_virtual_service_at_an_http_and_an_https_server_is_walked_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The usual Gateway (HTTP 80 and HTTPS 443 for the same hosts): one walk of the VirtualService's routes, and
    the shadowed rule found at both route configurations."""
    from manifests import http_rule, prefix

    from kubectl_meshctl.analysis.reachability import compute_reachability

    snapshot = _http_and_https_snapshot(tmp_path, http_rule(prefix("/")), http_rule(prefix("/api")))
    walked = _count_calls(monkeypatch, reachability, "_walk_routes")
    reach = compute_reachability(snapshot, witnesses=False)
    assert walked[0] == 1
    killer = reach.outcomes.dead[("default", "vs", 1, 0)]
    assert (killer.source.name, killer.source.rule_index) == ("vs", 0)


def test_routes_bound_at_an_http_and_an_https_server_are_built_once_for_the_analysis(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The analysis asks for no actions, and no match names a port: the routes do not depend on the port, so the
    second route configuration reuses the first one's -- and still holds them, at its own virtual host."""
    from manifests import http_rule, prefix

    from kubectl_meshctl.istio import translation

    snapshot = _http_and_https_snapshot(tmp_path, http_rule(prefix("/api")), http_rule(prefix("/")))
    built = _count_calls(monkeypatch, translation, "build_vs_routes")
    index = translation.make_index(snapshot)
    proxy = reachability.gateway_proxies(snapshot)[0]
    configs = [rc for rc, _ in translation.route_configurations(index, proxy, served={}, actions=False)]
    assert built[0] == 1
    assert [rc.name for rc in configs] == ["http.80", "https.443.https.gw.default"]
    assert [[r.source.rule_index for r in rc.virtual_hosts[0].routes] for rc in configs] == [[0, 1], [0, 1]]


def test_routes_are_built_per_port_when_a_match_names_a_port_or_actions_are_asked_for(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A ``port`` match keeps a route at one port only; an action sends a destination without a port to the
    gateway's port: either way each route configuration builds its own."""
    from manifests import http_rule, prefix

    from kubectl_meshctl.istio import translation

    ported = _http_and_https_snapshot(
        tmp_path, http_rule(prefix("/shop")), http_rule({**prefix("/api"), "port": 443}), http_rule(prefix("/"))
    )
    built = _count_calls(monkeypatch, translation, "build_vs_routes")
    proxy = reachability.gateway_proxies(ported)[0]
    index = translation.make_index(ported)
    configs = [rc for rc, _ in translation.route_configurations(index, proxy, served={}, actions=False)]
    assert built[0] == 2
    assert [[r.source.rule_index for r in rc.virtual_hosts[0].routes] for rc in configs] == [[0, 2], [0, 1, 2]]

    plain = _http_and_https_snapshot(tmp_path, http_rule(prefix("/"), to="backend"))
    built[0] = 0
    predicted = translation.routes_for_proxy(plain, reachability.gateway_proxies(plain)[0])
    assert built[0] == 2
    clusters = [rc.virtual_hosts[0].routes[0].action.clusters for rc in predicted.route_configurations]
    backend = "backend.default.svc.cluster.local"
    assert clusters == [((f"outbound|80||{backend}", 0),), ((f"outbound|443||{backend}", 0),)]


# --------------------------------------------------------------------------- selectors and labels indexed


label_sets = st.lists(
    st.tuples(st.sampled_from(["app", "istio", "tier", "version"]), st.sampled_from(["a", "b", "ingressgateway"])),
    max_size=3,
).map(lambda pairs: tuple(sorted(dict(pairs).items())))


@given(st.lists(label_sets, max_size=12), st.lists(label_sets, max_size=6))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_label_and_selector_indexes_answer_as_trying_every_pair(labelled: list[Selector], selectors: list[Selector]) -> None:
    """What each selector picks, and what selects each set of labels: the same objects, in the same order, as a
    scan of every pair with ``labels_match`` (equal selectors and empty ones included)."""
    items = list(enumerate(labelled))
    by_label = LabelIndex(items, itemgetter(1))
    for selector in selectors:
        assert by_label.selected_by(selector) == [item for item in items if labels_match(selector, item[1])]
    written = list(enumerate(selectors))
    by_selector = SelectorIndex(written, itemgetter(1))
    for labels in labelled:
        assert by_selector.selecting(labels) == [s for s in written if labels_match(s[1], labels)]


def _tenants(n: int) -> str:
    """``n`` tenants, each with its own ingress pod, Service, Gateway (selecting only its pod) and VirtualService."""
    from manifests import gateway, http_rule, prefix, server, to_yaml, virtual_service

    docs: list[dict[str, object]] = []
    for i in range(n):
        ns, labels = f"t{i}", {"istio": "ingressgateway", "app": f"gw-{i}"}
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"gw-{i}", "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "istio-proxy", "ports": [{"containerPort": 8080, "name": "http2"}]}]},
        }
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"gw-{i}", "namespace": ns},
            "spec": {"selector": {"app": f"gw-{i}"}, "ports": [{"name": "http2", "port": 80, "targetPort": 8080}]},
        }
        gw = gateway(namespace=ns, selector=labels, servers=[server(80, hosts=[f"*.t{i}.example.com"])])
        vs = virtual_service(namespace=ns, hosts=[f"a.t{i}.example.com"], http=[http_rule(prefix("/a"), to="missing")])
        docs += [pod, service, gw, vs]
    return to_yaml(*docs)


def test_per_tenant_gateways_meet_only_their_own_pods(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Hundreds of Gateways, each selecting its own pods: no selector is tried against every pod, no Gateway against
    every proxy, no missing host against every Service (each was quadratic: 26 s at 2,000 tenants)."""
    from kubectl_meshctl.analysis import analyze
    from kubectl_meshctl.analysis import references as references_module
    from kubectl_meshctl.resources import model
    from kubectl_meshctl.sources.files import FileSource

    n = 150
    path = tmp_path / "tenants.yaml"
    path.write_text(_tenants(n))
    snapshot = FileSource([str(path)]).read().snapshot
    calls = _count_calls(monkeypatch, model, "labels_match")
    for name, module in list(sys.modules.items()):  # every module that imported it by name counts too
        if name.startswith("kubectl_meshctl.") and module is not model and hasattr(module, "labels_match"):
            monkeypatch.setattr(module, "labels_match", model.labels_match)
    wildcard_scans: list[int] = []
    lookup = references_module._ServiceIndex.lookup

    def counted_lookup(self: references_module._ServiceIndex, *args: object) -> object:
        wildcard_scans.append(len(self.wildcards))
        return lookup(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(references_module._ServiceIndex, "lookup", counted_lookup)
    findings = analyze(snapshot, witnesses=False)
    assert sum(f.code == "IST0101" and "missing" in f.message for f in findings) == n  # every tenant's missing host
    assert not any(f.code == "IST0145" for f in findings)  # no tenant's Gateway conflicts with another's
    assert calls[0] < 20 * n  # every pair would be n * n
    assert wildcard_scans and max(wildcard_scans) == 0


# --------------------------------------------------------------------------- one Gateway, a server per tenant host


short_hosts = st.sampled_from(["*", "*.a.com", "x.a.com", "a.com", "*.com", "y.b.com", "*.b.com", "b.com"])
scoped_hosts = st.one_of(short_hosts, st.tuples(st.sampled_from(["ns1", "ns2", "*"]), short_hosts).map("/".join))


@given(st.lists(st.lists(short_hosts, max_size=3), max_size=3 * HostCandidates.FEW), st.lists(short_hosts, max_size=3))
@settings(max_examples=300)
def test_host_candidates_hold_every_item_whose_hosts_intersect(items: list[list[str]], names: list[str]) -> None:
    """Every item one of whose names intersects one asked about is a candidate, in the items' order."""
    indexed = list(enumerate(items))
    found = [position for position, _ in HostCandidates(indexed, itemgetter(1)).candidates(names)]
    assert found == sorted(set(found))
    assert {position for position, hosts in indexed if intersect_hosts(tuple(names), tuple(hosts))} <= set(found)


@given(
    st.lists(scoped_hosts, max_size=3 * HostCandidates.FEW),
    st.lists(short_hosts, min_size=1, max_size=3),
    st.sampled_from(["ns1", "ns2"]),
    st.booleans(),
)
@settings(max_examples=300)
def test_gateway_hosts_meet_a_virtual_service_as_every_pair_does(
    server_hosts: list[str], vs_hosts: list[str], ns: str, many: bool
) -> None:
    """IST0132's host check by index: the answer of ``names_for_namespace`` then ``host_matches`` on every pair
    (``many``: past the few hosts compared directly, with hosts of other namespaces that match nothing)."""
    if many:
        server_hosts = server_hosts + [f"ns3/filler{i}.zz" for i in range(HostCandidates.FEW)]
    from kubectl_meshctl.analysis.references import _GatewayHosts
    from kubectl_meshctl.istio.hosts import host_matches, names_for_namespace
    from kubectl_meshctl.resources.model import Gateway, ObjectMeta, Origin, Server, Snapshot

    gw = Gateway(ObjectMeta("Gateway", "gw", "ns1", Origin("test")), servers=(Server(0, None, tuple(server_hosts)),))
    expected = any(host_matches(g, v) for g in names_for_namespace(list(server_hosts), ns) for v in vs_hosts)
    assert _GatewayHosts(Snapshot(gateways=(gw,))).meets("ns1", "gw", tuple(vs_hosts), ns) is expected


def test_a_gateway_with_a_server_per_host_meets_each_virtual_service_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """One Gateway with an HTTPS server per tenant host (each its certificate) and a VirtualService per tenant: no
    server is compared with every VirtualService, in the routes or in the analysis (it was quadratic: 8 s at 2,000)."""
    from manifests import gateway, http_rule, prefix, server, to_yaml, virtual_service

    from kubectl_meshctl.analysis import analyze
    from kubectl_meshctl.analysis import servers as servers_module
    from kubectl_meshctl.istio import translation
    from kubectl_meshctl.sources.files import FileSource

    n = 200
    tls = {"mode": "SIMPLE", "credentialName": "cert"}
    listeners = [server(80, hosts=["*"])] + [
        server(443, hosts=[f"app{i}.example.com"], protocol="HTTPS", name=f"https-{i}", tls=tls) for i in range(n)
    ]
    docs = [gateway(servers=listeners)] + [
        virtual_service(f"vs-{i}", hosts=[f"app{i}.example.com"], http=[http_rule(prefix("/a"))]) for i in range(n)
    ]
    path = tmp_path / "one-gateway.yaml"
    path.write_text(to_yaml(*docs))
    snapshot = FileSource([str(path)]).read().snapshot
    bound = _count_calls(monkeypatch, translation, "hosts_bound")
    served = _count_calls(monkeypatch, servers_module, "serves_hosts")
    findings = analyze(snapshot, witnesses=False)
    assert not [f for f in findings if f.code in ("IST0132", "MSH0201", "MSH0205")]  # every server and host is served
    assert bound[0] < 5 * n and served[0] < 5 * n  # every pair would be n * n


def test_mesh_virtual_services_of_one_namespace_meet_only_those_with_their_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """MSH0203 among hundreds of mesh VirtualServices in one namespace: a VirtualService is compared only with those
    holding its first host (it was every pair); one that holds two hosts still takes a later one for either."""
    from kubectl_meshctl.analysis import sidecars
    from kubectl_meshctl.resources.model import ObjectMeta, Origin, Snapshot, VirtualService

    def vs(i: int, *hosts: str) -> VirtualService:
        stamp = f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}Z"
        rule = HTTPRule(0, matches=(), route=())
        return VirtualService(
            ObjectMeta("VirtualService", f"vs-{i}", "apps", Origin("test"), creation_timestamp=stamp), hosts=hosts, http=(rule,)
        )

    n = 300
    written = [vs(i, f"svc{i}") for i in range(n)]
    written += [vs(n, "svc7", "extra"), vs(n + 1, "extra"), vs(n + 2, "svc5"), vs(n + 3, "solo", "zzz"), vs(n + 4, "zzz")]
    compared = [0]

    class CountedSet(set[str]):
        """The loser's hosts, counting the comparisons with a candidate's (``wanted <= winner_hosts``)."""

        def __le__(self, other: object) -> bool:
            compared[0] += 1
            return super().__le__(other)  # type: ignore[operator]

    monkeypatch.setattr(sidecars, "set", CountedSet, raising=False)
    found = list(sidecars.unused_at_sidecars_findings(Snapshot(virtual_services=tuple(written))))
    assert sorted(f.name for f in found) == ["vs-301", "vs-302", "vs-304"]  # by vs-300, vs-5, vs-303
    assert 0 < compared[0] < 4 * n  # every pair would be n * n


# --------------------------------------------------------------------------- Gateway API listeners


listener_specs = st.lists(
    st.tuples(
        st.sampled_from([80, 443]),
        st.sampled_from(["HTTP", "HTTPS", "TLS", "TCP", "UDP", "tcp"]),
        st.sampled_from(["", "a.example.com", "*.example.com"]),
    ),
    max_size=10,
)


@given(listener_specs)
@settings(max_examples=300)
def test_listener_conflicts_name_the_first_listener_a_scan_finds(specs: list[tuple[int, str, str]]) -> None:
    """MSH0405 by the first of each kind of conflict: the same findings as comparing each listener with every
    earlier one and naming the first that conflicts."""
    from kubectl_meshctl.analysis.findings import finding
    from kubectl_meshctl.analysis.gateway_api import _conflict, listener_conflict_findings
    from kubectl_meshctl.resources.model import KubeGateway, Listener, ObjectMeta, Origin, Snapshot

    listeners = tuple(Listener(f"l{i}", port, protocol, hostname) for i, (port, protocol, hostname) in enumerate(specs))
    gateway = KubeGateway(ObjectMeta("Gateway", "gw", "ns", Origin("test")), listeners=listeners)
    expected = []
    for j, later in enumerate(listeners):
        for earlier in listeners[:j]:
            conflict = _conflict(earlier, later)
            if conflict is not None:
                args = (later.name, earlier.name, later.port, *conflict)
                expected.append(finding("MSH0405", gateway.meta, *args, field=f"spec.listeners[{j}]"))
                break
    found = listener_conflict_findings(Snapshot(kube_gateways=(gateway,)))
    assert [(f.field, f.message) for f in found] == [(f.field, f.message) for f in expected]


def test_a_gateway_with_a_listener_per_host_compares_no_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hundreds of HTTPS listeners, one per tenant host, and a route per host: a route is tried only at the
    listeners its hostnames match, and a listener is compared with no other (both were every pair)."""
    from kubectl_meshctl.analysis import analyze
    from kubectl_meshctl.analysis import gateway_api as findings_module
    from kubectl_meshctl.istio import gateway_api
    from kubectl_meshctl.resources.model import (
        BackendRef,
        KubeGateway,
        KubeRoute,
        KubeRouteMatch,
        KubeRouteRule,
        Listener,
        ObjectMeta,
        Origin,
        ParentRef,
        Snapshot,
    )

    n = 200
    tenants = [Listener(f"https-{i}", 443, "HTTPS", f"app{i}.example.com", allowed_from="All") for i in range(n)]
    listeners = (Listener("http", 80, "HTTP", "*.example.com", allowed_from="All"), *tenants)
    gateway = KubeGateway(ObjectMeta("Gateway", "gw", "istio-system", Origin("test")), gateway_class="istio", listeners=listeners)
    rule = KubeRouteRule(0, matches=(KubeRouteMatch("PathPrefix", "/a"),), backend_refs=(BackendRef("svc", port=80),))
    routes = tuple(
        KubeRoute(
            ObjectMeta("HTTPRoute", f"r{i}", "apps", Origin("test")),
            parent_refs=(ParentRef("gw", namespace="istio-system"),),
            hostnames=(f"app{i}.example.com",),
            rules=(rule,),
        )
        for i in range(n)
    )
    stray = KubeRoute(
        ObjectMeta("HTTPRoute", "stray", "apps", Origin("test")),
        parent_refs=(ParentRef("gw", namespace="istio-system"),),
        hostnames=("x.example.org",),
        rules=(rule,),
    )
    denials = _count_calls(monkeypatch, gateway_api, "_denial")
    conflicts = _count_calls(monkeypatch, findings_module, "_conflict")
    findings = analyze(Snapshot(kube_gateways=(gateway,), kube_routes=routes), witnesses=False)
    assert not [f for f in findings if f.code in ("MSH0404", "MSH0405")]  # every route attached, no conflict
    assert denials[0] < 5 * n and conflicts[0] < 5 * n  # every pair would be n * n
    *attached, denied = gateway_api.convert(Snapshot(kube_gateways=(gateway,), kube_routes=(*routes, stray))).attachments
    assert all(a.accepted and a.listeners == ("http", f"https-{i}") for i, a in enumerate(attached))
    # a route no listener takes: its status still names every listener's reason, as istiod writes it
    assert not denied.accepted and all(f'hostname "{host}"' in denied.message for host in ("*.example.com", "app0.example.com"))
