"""Fidelity of the fake Kubernetes API server (tests/fakeapi) against the real kubectl and the official Python client."""

from __future__ import annotations

import datetime
import http.client
import http.server
import json
import re
import socket
import ssl
import subprocess
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from fakeapi import DEFAULT_USER, FakeApiServer, make_scale_scenario
from fakeapi import fixtures as fakeapi_fixtures
from fakeapi.process import FakeApiProcess
from fakeapi.selectors import SelectorError, labels_match, parse_label_selector
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.stream import portforward

fake_api = fakeapi_fixtures.fake_api  # the lead's conftest may import these too; same objects
fake_api_factory = fakeapi_fixtures.fake_api_factory
fake_kubeconfig = fakeapi_fixtures.fake_kubeconfig

INGRESS_POD = "istio-ingressgateway-5d7f9b8c4-x2x7q"
KUBECTL = fakeapi_fixtures.find_kubectl("1.32")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH (install google-cloud-cli's kubectl)")
TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
KUBECTL_TIMEOUT = (
    r"Unable to connect to the server: (context deadline exceeded|net/http: request canceled \(Client\.Timeout exceeded)"
)
AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)


def extra_gateways(count: int) -> str:
    return "\n---\n".join(
        f"apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata:\n  name: extra-{i}\n  namespace: team-{i % 2}\n"
        "spec:\n  selector:\n    istio: ingressgateway"
        for i in range(count)
    )


def assert_only_reads(server: FakeApiServer) -> None:
    writes = [f"{r.method} {r.url}" for r in server.requests if r.method != "GET"]
    assert not writes, writes
    assert not server.errors, server.errors[0]


# ---- raw HTTPS access --------------------------------------------------------------------------------------------


@pytest.fixture
def raw(fake_api: FakeApiServer) -> Callable[..., tuple[int, dict[str, str], Any]]:
    context = ssl.create_default_context(cafile=str(fake_api.ca_file))

    def request(
        path: str,
        *,
        accept: str | None = "application/json",
        token: str | None = None,
        method: str = "GET",
        host: str = "127.0.0.1",
    ) -> tuple[int, dict[str, str], Any]:
        conn = http.client.HTTPSConnection(host, fake_api.port, context=context, timeout=10)
        headers = {"Authorization": f"Bearer {fake_api.token if token is None else token}"}
        if accept:
            headers["Accept"] = accept
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        content_type = response.getheader("Content-Type") or ""
        parsed: Any = json.loads(body) if content_type.startswith("application/json") else body.decode()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, parsed

    return request


# ---- local backends (what the pod proxy / port-forward reach) ------------------------------------------------------


class _EchoHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = json.dumps({"path": self.path, "backend": "envoy-admin"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def backend() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


# ---- the real kubectl ---------------------------------------------------------------------------------------------


@pytest.fixture
def kubectl(fake_api: FakeApiServer, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    if KUBECTL is None:
        pytest.skip("kubectl is not on PATH")
    default_config = fake_api.write_kubeconfig(tmp_path / "kubeconfig")
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def run(*args: str, kubeconfig: Path = default_config, timeout: str = "10s") -> subprocess.CompletedProcess[str]:
        command = [
            KUBECTL,
            f"--kubeconfig={kubeconfig}",
            f"--cache-dir={tmp_path / 'cache'}",
            f"--request-timeout={timeout}",
            *args,
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=30, env=env, check=False)

    return run


def table(stdout: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in stdout.splitlines() if line.strip()]


@needs_kubectl
def test_kubectl_get_gateways_all_namespaces_prints_the_crd_table(fake_api: FakeApiServer, kubectl: Callable[..., Any]) -> None:
    done = kubectl("get", "gateways.networking.istio.io", "-A")
    assert done.returncode == 0, done.stderr
    rows = table(done.stdout)
    assert rows[0] == ["NAMESPACE", "NAME", "AGE"]
    assert rows[1][:2] == ["default", "gt-gateway"]
    assert re.fullmatch(r"\d+s", rows[1][2])
    discovery = [r for r in fake_api.requests if r.path in ("/api", "/apis")]
    assert discovery and all(r.header("Accept") == AGGREGATED_ACCEPT for r in discovery)
    (listing,) = fake_api.requests_to("/apis/networking.istio.io/v1/gateways")
    assert listing.header("Accept") == TABLE_ACCEPT
    assert listing.param("limit") == "500"
    assert_only_reads(fake_api)


@needs_kubectl
def test_kubectl_get_virtualservices_and_destinationrules_use_printer_columns(
    fake_api: FakeApiServer, kubectl: Callable[..., Any]
) -> None:
    fake_api.load_yaml(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: member\n  namespace: default\n"
        "spec:\n  host: member.default.svc.cluster.local\n"
    )
    vs = kubectl("get", "vs", "-A")
    assert vs.returncode == 0, vs.stderr
    assert table(vs.stdout)[0] == ["NAMESPACE", "NAME", "GATEWAYS", "HOSTS", "AGE"]
    assert table(vs.stdout)[1][:4] == ["default", "vs-gateway", '["gt-gateway"]', '["*"]']
    dr = kubectl("get", "destinationrules")
    assert dr.returncode == 0, dr.stderr
    assert table(dr.stdout)[0] == ["NAME", "HOST", "AGE"]
    assert table(dr.stdout)[1][:2] == ["member", "member.default.svc.cluster.local"]
    assert_only_reads(fake_api)


@needs_kubectl
def test_kubectl_get_ingress_pods_by_label(fake_api: FakeApiServer, kubectl: Callable[..., Any]) -> None:
    done = kubectl("get", "pods", "-l", "istio=ingressgateway", "-n", "istio-system")
    assert done.returncode == 0, done.stderr
    rows = table(done.stdout)
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert rows[1][:4] == [INGRESS_POD, "1/1", "Running", "0"]
    (listing,) = fake_api.requests_to("/api/v1/namespaces/istio-system/pods")
    assert listing.param("labelSelector") == "istio=ingressgateway"
    wide = kubectl("get", "pods", "-n", "istio-system", "-o", "wide")
    assert table(wide.stdout)[0] == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED NODE",
        "READINESS GATES",
    ]
    assert table(wide.stdout)[1][5:7] == ["10.244.0.12", "fake-node-1"]
    assert_only_reads(fake_api)


@needs_kubectl
def test_kubectl_set_based_selectors(fake_api: FakeApiServer, kubectl: Callable[..., Any]) -> None:
    found = kubectl("get", "pods", "-l", "istio in (ingressgateway)", "-A")
    assert found.returncode == 0, found.stderr
    assert [row[:2] for row in table(found.stdout)[1:]] == [["istio-system", INGRESS_POD]]
    none = kubectl("get", "pods", "-l", "!istio", "-A")
    assert none.returncode == 0 and none.stdout == ""
    assert "No resources found" in none.stderr
    notin = kubectl("get", "pods", "-l", "istio notin (ingressgateway),app", "-A")
    assert "No resources found" in notin.stderr
    bad = kubectl("get", "pods", "-A", "--field-selector", "spec.host=x")
    assert bad.returncode == 1
    assert "Error from server (BadRequest)" in bad.stderr and "field label not supported: spec.host" in bad.stderr
    assert_only_reads(fake_api)


@needs_kubectl
def test_kubectl_services_and_namespaces_tables(fake_api: FakeApiServer, kubectl: Callable[..., Any]) -> None:
    svc = kubectl("get", "svc", "-n", "istio-system")
    assert table(svc.stdout)[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert table(svc.stdout)[1][:5] == [
        "istio-ingressgateway",
        "LoadBalancer",
        "10.96.120.15",
        "<pending>",
        "15021:31021/TCP,80:30080/TCP,443:30443/TCP",
    ]
    ns = kubectl("get", "namespaces")
    assert [row[:2] for row in table(ns.stdout)] == [["NAME", "STATUS"], ["default", "Active"], ["istio-system", "Active"]]
    assert_only_reads(fake_api)


@needs_kubectl
def test_kubectl_json_output_round_trips(fake_api: FakeApiServer, kubectl: Callable[..., Any]) -> None:
    done = kubectl("get", "virtualservices", "-A", "-o", "json")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["kind"] == "List"
    (stored,) = fake_api.objects("virtualservices")
    assert printed["items"] == [{**stored, "apiVersion": "networking.istio.io/v1"}]
    assert [r["uri"]["prefix"] for rule in printed["items"][0]["spec"]["http"] for r in rule["match"]] == ["/", "/"]
    (listing,) = fake_api.requests_to("/apis/networking.istio.io/v1/virtualservices")
    assert listing.header("Accept") == "application/json"
    assert_only_reads(fake_api)


@needs_kubectl
def test_kubectl_chunked_list_follows_continue_tokens(fake_api: FakeApiServer, kubectl: Callable[..., Any]) -> None:
    fake_api.load_yaml(extra_gateways(4))
    done = kubectl("get", "gateways", "--chunk-size=1", "-A")
    assert done.returncode == 0, done.stderr
    names = [row[1] for row in table(done.stdout)[1:]]
    assert names == ["gt-gateway", "extra-0", "extra-2", "extra-1", "extra-3"]
    pages = fake_api.requests_to("/apis/networking.istio.io/v1/gateways")
    assert len(pages) == 5
    assert all(p.param("limit") == "1" for p in pages)
    assert pages[0].param("continue") is None and all(p.param("continue") for p in pages[1:])
    assert_only_reads(fake_api)


@needs_kubectl
def test_kubectl_reports_an_expired_continue_token(fake_api: FakeApiServer, kubectl: Callable[..., Any]) -> None:
    fake_api.load_yaml(extra_gateways(3))
    fake_api.expire_next_continue()
    done = kubectl("get", "gateways", "--chunk-size=2", "-A")
    assert done.returncode == 1
    assert (
        "Error from server (Expired): The provided continue parameter is too old to display a consistent list result."
        in done.stderr
    )
    assert [p.status for p in fake_api.requests_to("/apis/networking.istio.io/v1/gateways")] == [200, 410]


@needs_kubectl
def test_kubectl_unauthorized_with_a_bad_token(fake_api: FakeApiServer, kubectl: Callable[..., Any], tmp_path: Path) -> None:
    bad = fake_api.write_kubeconfig(tmp_path / "bad-kubeconfig", token="not-a-valid-token")
    done = kubectl("get", "gateways", "-A", kubeconfig=bad)
    assert done.returncode == 1
    # kubectl's wording depends on whether discovery (first) or the list got the 401
    assert (
        "error: You must be logged in to the server (the server has asked for the client to provide credentials)" in done.stderr
    )
    assert {r.status for r in fake_api.requests} == {401}


@needs_kubectl
def test_kubectl_forbidden_after_deny(fake_api: FakeApiServer, kubectl: Callable[..., Any]) -> None:
    fake_api.deny("list", "gateways.networking.istio.io")
    cluster = kubectl("get", "gateways", "-A")
    assert cluster.returncode == 1
    assert (
        f'Error from server (Forbidden): gateways.networking.istio.io is forbidden: User "{DEFAULT_USER}" cannot list resource '
        '"gateways" in API group "networking.istio.io" at the cluster scope'
    ) in cluster.stderr
    namespaced = kubectl("get", "gateways", "-n", "default")
    assert (
        f'Error from server (Forbidden): gateways.networking.istio.io is forbidden: User "{DEFAULT_USER}" cannot list resource '
        '"gateways" in API group "networking.istio.io" in the namespace "default"'
    ) in namespaced.stderr
    assert kubectl("get", "virtualservices", "-A").returncode == 0
    assert_only_reads(fake_api)


@needs_kubectl
def test_kubectl_raw_pod_proxy_reaches_the_backend(fake_api: FakeApiServer, kubectl: Callable[..., Any], backend: int) -> None:
    fake_api.set_pod_backend("istio-system", INGRESS_POD, 15000, "127.0.0.1", backend)
    done = kubectl("get", "--raw", f"/api/v1/namespaces/istio-system/pods/{INGRESS_POD}:15000/proxy/config_dump")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["backend"] == "envoy-admin" and answer["path"].startswith("/config_dump")
    refused = kubectl("get", "--raw", f"/api/v1/namespaces/istio-system/pods/{INGRESS_POD}:15001/proxy/stats")
    assert refused.returncode == 1
    assert "Error from server (ServiceUnavailable): error trying to reach service: dial tcp 10.244.0.12:15001" in refused.stderr
    assert_only_reads(fake_api)


@needs_kubectl
def test_kubectl_request_timeout_against_a_slow_server(fake_api: FakeApiServer, kubectl: Callable[..., Any]) -> None:
    assert kubectl("get", "gateways", "-A").returncode == 0  # warm the discovery cache
    fake_api.latency = 2.0
    started = time.monotonic()
    slow = kubectl("get", "gateways", "-A", timeout="500ms")
    assert slow.returncode == 1 and re.search(KUBECTL_TIMEOUT, slow.stderr), slow.stderr
    assert time.monotonic() - started < 2.0
    fake_api.latency = 0
    fake_api.stop_answering()
    hung = kubectl("get", "gateways", "-A", timeout="500ms")
    assert hung.returncode == 1
    assert re.search(KUBECTL_TIMEOUT, hung.stderr), hung.stderr
    fake_api.resume_answering()


@needs_kubectl
def test_kubectl_write_verbs_are_recorded_and_refused(fake_api: FakeApiServer, kubectl: Callable[..., Any]) -> None:
    done = kubectl("delete", "gateway", "gt-gateway")
    assert done.returncode == 1
    assert (
        'Error from server (MethodNotAllowed): delete is not supported on resources of kind "gateways.networking.istio.io"'
        in done.stderr
    )
    (write,) = [r for r in fake_api.requests if r.method != "GET"]
    assert (write.method, write.path, write.status) == (
        "DELETE",
        "/apis/networking.istio.io/v1/namespaces/default/gateways/gt-gateway",
        405,
    )
    assert fake_api.objects("gateways")


@needs_kubectl
def test_kubectl_with_legacy_discovery_and_a_subset_of_versions(
    fake_api_factory: Callable[..., FakeApiServer], kubectl: Callable[..., Any], tmp_path: Path
) -> None:
    server = fake_api_factory(istio_versions=("v1beta1", "v1alpha3"), aggregated_discovery=False)
    done = kubectl("get", "gateways", "-A", kubeconfig=server.write_kubeconfig(tmp_path / "legacy"))
    assert done.returncode == 0, done.stderr
    assert table(done.stdout)[1][:2] == ["default", "gt-gateway"]
    paths = [r.path for r in server.requests]
    assert "/apis/networking.istio.io/v1beta1" in paths and "/api/v1" in paths
    assert "/apis/networking.istio.io/v1beta1/gateways" in paths
    assert_only_reads(server)


@needs_kubectl
def test_kubectl_without_the_istio_group(
    fake_api_factory: Callable[..., FakeApiServer], kubectl: Callable[..., Any], tmp_path: Path
) -> None:
    server = fake_api_factory(istio_versions=())
    done = kubectl("get", "gateways", "-A", kubeconfig=server.write_kubeconfig(tmp_path / "no-istio"))
    assert done.returncode == 1
    assert 'error: the server doesn\'t have a resource type "gateways"' in done.stderr


@needs_kubectl
def test_kubectl_gets_the_gateway_api_scenario(fake_api: FakeApiServer, kubectl: Callable[..., Any]) -> None:
    fake_api.gateway_api = True
    fake_api.load_gateway_api()
    routes = kubectl("get", "httproutes", "-A")
    assert routes.returncode == 0, routes.stderr
    rows = table(routes.stdout)
    assert rows[0] == ["NAMESPACE", "NAME", "HOSTNAMES", "AGE"]
    assert [r[:2] for r in rows[1:]] == [["other", "intruder"], ["shop", "store"], ["shop", "typo"]]
    assert [r[2] for r in rows[1:3]] == ['["x.example.com"]', '["shop.example.com"]']  # typo has none: an empty cell
    grpc = kubectl("get", "grpcroutes", "-n", "shop", "-o", "name")
    assert grpc.stdout == "grpcroute.gateway.networking.k8s.io/grpc\n", grpc.stderr
    gateways = kubectl("get", "gateways.gateway.networking.k8s.io", "-A")
    assert table(gateways.stdout)[0] == ["NAMESPACE", "NAME", "CLASS", "AGE"]
    assert table(gateways.stdout)[1][:3] == ["shop", "web", "istio"]
    grants = kubectl("get", "referencegrants", "-n", "shop", "-o", "jsonpath={.items[*].apiVersion}")
    assert grants.stdout == "gateway.networking.k8s.io/v1beta1", grants.stderr  # the one version it is served in
    assert "/apis/gateway.networking.k8s.io/v1beta1/namespaces/shop/referencegrants" in [r.path for r in fake_api.requests]
    assert_only_reads(fake_api)


@needs_kubectl
def test_kubectl_without_the_gateway_api_group(fake_api: FakeApiServer, kubectl: Callable[..., Any]) -> None:
    done = kubectl("get", "httproutes", "-A")
    assert done.returncode == 1
    assert 'error: the server doesn\'t have a resource type "httproutes"' in done.stderr


# ---- the official Python client ------------------------------------------------------------------------------------


@pytest.fixture
def api(fake_kubeconfig: Path) -> Iterator[client.ApiClient]:
    previous = client.Configuration.get_default_copy()
    config.load_kube_config(config_file=str(fake_kubeconfig))
    api_client = client.ApiClient()
    yield api_client
    api_client.close()
    client.Configuration.set_default(previous)


def test_client_lists_custom_objects_in_pages(fake_api: FakeApiServer, api: client.ApiClient) -> None:
    fake_api.load_yaml(extra_gateways(4))
    custom = client.CustomObjectsApi(api)
    names: list[str] = []
    token = None
    pages = 0
    while True:
        page = custom.list_cluster_custom_object("networking.istio.io", "v1", "gateways", limit=2, _continue=token)
        assert page["kind"] == "GatewayList" and page["apiVersion"] == "networking.istio.io/v1"
        assert all(item["apiVersion"] == "networking.istio.io/v1" for item in page["items"])
        names += [item["metadata"]["name"] for item in page["items"]]
        pages += 1
        token = page["metadata"].get("continue")
        if not token:
            break
    assert names == ["gt-gateway", "extra-0", "extra-2", "extra-1", "extra-3"]
    assert pages == 3
    namespaced = custom.list_namespaced_custom_object("networking.istio.io", "v1alpha3", "team-1", "gateways")
    assert [i["metadata"]["name"] for i in namespaced["items"]] == ["extra-1", "extra-3"]
    assert namespaced["items"][0]["apiVersion"] == "networking.istio.io/v1alpha3"
    assert_only_reads(fake_api)


def test_client_gets_410_for_an_expired_continue_token(fake_api: FakeApiServer, api: client.ApiClient) -> None:
    fake_api.load_yaml(extra_gateways(4))
    custom = client.CustomObjectsApi(api)
    first = custom.list_cluster_custom_object("networking.istio.io", "v1", "gateways", limit=2)
    fake_api.expire_next_continue()
    with pytest.raises(ApiException) as expired:
        custom.list_cluster_custom_object(
            "networking.istio.io", "v1", "gateways", limit=2, _continue=first["metadata"]["continue"]
        )
    assert expired.value.status == 410
    status = json.loads(expired.value.body)
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Expired", 410)
    assert status["message"].startswith("The provided continue parameter is too old to display a consistent list result.")
    # the inconsistent-continuation token the real server hands back still works; a fresh list restarts cleanly
    rest = custom.list_cluster_custom_object(
        "networking.istio.io", "v1", "gateways", limit=10, _continue=status["metadata"]["continue"]
    )
    assert [i["metadata"]["name"] for i in rest["items"]] == ["extra-2", "extra-1", "extra-3"]
    restarted = custom.list_cluster_custom_object("networking.istio.io", "v1", "gateways", limit=10)
    assert len(restarted["items"]) == 5
    # after a compaction every outstanding token is too old
    page = custom.list_cluster_custom_object("networking.istio.io", "v1", "gateways", limit=1)
    fake_api.expire_continue_tokens()
    with pytest.raises(ApiException) as compacted:
        custom.list_cluster_custom_object(
            "networking.istio.io", "v1", "gateways", limit=1, _continue=page["metadata"]["continue"]
        )
    assert compacted.value.status == 410
    with pytest.raises(ApiException) as garbage:
        custom.list_cluster_custom_object("networking.istio.io", "v1", "gateways", limit=1, _continue="not-a-token")
    assert garbage.value.status == 400 and "invalid continue token" in garbage.value.body
    assert_only_reads(fake_api)


def test_client_paging_is_a_consistent_snapshot(fake_api: FakeApiServer, api: client.ApiClient) -> None:
    fake_api.load_yaml(extra_gateways(4))
    custom = client.CustomObjectsApi(api)
    first = custom.list_cluster_custom_object("networking.istio.io", "v1", "gateways", limit=2)
    fake_api.load_yaml(extra_gateways(8))  # adds extra-4..7 after the first page
    rest = custom.list_cluster_custom_object("networking.istio.io", "v1", "gateways", _continue=first["metadata"]["continue"])
    assert rest["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert [i["metadata"]["name"] for i in rest["items"]] == ["extra-2", "extra-1", "extra-3"]
    latest = custom.list_cluster_custom_object("networking.istio.io", "v1", "gateways")
    assert len(latest["items"]) == 9 and int(latest["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])


def test_client_core_lists_with_label_and_field_selectors(fake_api: FakeApiServer, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)

    def pods(**kwargs: Any) -> list[str]:
        return [p.metadata.name for p in core.list_pod_for_all_namespaces(**kwargs).items]

    assert pods(label_selector="istio=ingressgateway") == [INGRESS_POD]
    assert pods(label_selector="istio==ingressgateway,app=istio-ingressgateway") == [INGRESS_POD]
    assert pods(label_selector="istio!=ingressgateway") == []
    assert pods(label_selector="istio in (ingressgateway, eastwestgateway)") == [INGRESS_POD]
    assert pods(label_selector="istio notin (ingressgateway)") == []
    assert pods(label_selector="app") == [INGRESS_POD]
    assert pods(label_selector="!app") == []
    assert pods(field_selector="status.phase=Running,spec.nodeName=fake-node-1") == [INGRESS_POD]
    assert pods(field_selector="metadata.namespace!=istio-system") == []
    assert [
        p.metadata.name for p in core.list_namespaced_pod("istio-system", field_selector=f"metadata.name={INGRESS_POD}").items
    ] == [INGRESS_POD]
    with pytest.raises(ApiException) as bad:
        pods(field_selector="spec.containers=x")
    assert bad.value.status == 400
    assert json.loads(bad.value.body)["message"] == "field label not supported: spec.containers"

    services = core.list_service_for_all_namespaces(label_selector="istio=ingressgateway").items
    assert [(s.metadata.namespace, s.metadata.name) for s in services] == [("istio-system", "istio-ingressgateway")]
    ports = {p.name: (p.port, p.target_port, p.protocol) for p in services[0].spec.ports}
    assert ports == {"status-port": (15021, 15021, "TCP"), "http2": (80, 8080, "TCP"), "https": (443, 8443, "TCP")}
    assert [s.metadata.name for s in core.list_namespaced_service("default").items] == ["bk-gateway", "member"]
    assert [n.metadata.name for n in core.list_namespace().items] == ["default", "istio-system"]
    pod = core.read_namespaced_pod(INGRESS_POD, "istio-system")
    assert pod.status.pod_ip and pod.spec.node_name and pod.status.container_statuses[0].ready
    container = pod.spec.containers[0]
    assert [p.container_port for p in container.ports] == [15021, 8080, 8443]
    assert any(e.name == "ISTIO_META_UNPRIVILEGED_POD" and e.value == "true" for e in container.env)
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("nope", "istio-system")
    assert missing.value.status == 404 and json.loads(missing.value.body)["message"] == 'pods "nope" not found'
    assert_only_reads(fake_api)


def test_client_port_forward_over_websocket(fake_api: FakeApiServer, api: client.ApiClient, backend: int) -> None:
    fake_api.set_pod_backend("istio-system", INGRESS_POD, 15000, "127.0.0.1", backend)
    core = client.CoreV1Api(api)
    forward = portforward(core.connect_get_namespaced_pod_portforward, INGRESS_POD, "istio-system", ports="15000,15001")
    sock = forward.socket(15000)
    sock.setblocking(True)
    sock.settimeout(10)
    sock.sendall(b"GET /config_dump?resource=listeners HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200") or head.startswith(b"HTTP/1.1 200")
    assert json.loads(body) == {"path": "/config_dump?resource=listeners", "backend": "envoy-admin"}
    assert "error forwarding port 15001 to pod" in (forward.error(15001) or "")
    assert forward.error(15000) is None
    (upgrade,) = fake_api.requests_to(f"/api/v1/namespaces/istio-system/pods/{INGRESS_POD}/portforward")
    assert upgrade.status == 101 and upgrade.query["ports"] == ["15000,15001"]
    assert "v4.channel.k8s.io" in (upgrade.header("Sec-WebSocket-Protocol") or "")
    assert_only_reads(fake_api)


def test_client_port_forward_refused(fake_api: FakeApiServer, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    fake_api.refuse_port_forward = True
    with pytest.raises(ApiException) as refused:
        portforward(core.connect_get_namespaced_pod_portforward, INGRESS_POD, "istio-system", ports="15000")
    assert "403" in str(refused.value.reason)
    fake_api.refuse_port_forward = False
    with pytest.raises(ApiException) as missing:
        portforward(core.connect_get_namespaced_pod_portforward, "no-such-pod", "istio-system", ports="15000")
    assert "404" in str(missing.value.reason)
    assert_only_reads(fake_api)


def test_client_request_timeout_and_latency(fake_api: FakeApiServer, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    fake_api.latency = 0.3
    started = time.monotonic()
    assert core.list_namespace().items
    assert time.monotonic() - started >= 0.3
    fake_api.latency = 0
    settings = client.Configuration.get_default_copy()
    settings.retries = False
    impatient = client.CoreV1Api(client.ApiClient(settings))
    fake_api.stop_answering()
    started = time.monotonic()
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        impatient.list_namespace(_request_timeout=(2, 0.3))  # (connect, read); the client ignores a bare float
    assert time.monotonic() - started < 2
    assert fake_api.requests[-1].status is None  # received, never answered
    fake_api.resume_answering()
    assert core.list_namespace().items


# ---- HTTP-level details --------------------------------------------------------------------------------------------


def test_aggregated_and_legacy_discovery(fake_api: FakeApiServer, raw: Callable[..., Any]) -> None:
    status, headers, body = raw("/apis", accept=AGGREGATED_ACCEPT)
    assert status == 200 and headers["content-type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    assert body["kind"] == "APIGroupDiscoveryList" and body["apiVersion"] == "apidiscovery.k8s.io/v2"
    (group,) = body["items"]
    assert group["metadata"]["name"] == "networking.istio.io"
    assert [v["version"] for v in group["versions"]] == ["v1", "v1beta1", "v1alpha3"]
    resources = {r["resource"]: r for r in group["versions"][0]["resources"]}
    assert set(resources) == {"gateways", "virtualservices", "destinationrules"}
    assert resources["gateways"]["scope"] == "Namespaced" and resources["gateways"]["responseKind"]["kind"] == "Gateway"
    status, headers, body = raw("/api", accept="application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList")
    assert headers["content-type"] == "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
    core = {r["resource"]: r for r in body["items"][0]["versions"][0]["resources"]}
    assert set(core) == {"namespaces", "pods", "services"}
    assert {s["subresource"] for s in core["pods"]["subresources"]} >= {"proxy", "portforward"}
    status, headers, body = raw("/apis")
    assert headers["content-type"] == "application/json" and body["kind"] == "APIGroupList"
    assert body["groups"][0]["preferredVersion"] == {"groupVersion": "networking.istio.io/v1", "version": "v1"}
    status, _, body = raw("/apis/networking.istio.io/v1beta1")
    assert body["kind"] == "APIResourceList" and {r["name"] for r in body["resources"]} >= {"gateways", "gateways/status"}
    assert raw("/api", accept="application/vnd.kubernetes.protobuf")[0] == 406
    assert raw("/version")[2]["gitVersion"] == "v1.32.0"
    assert raw("/openapi/v2")[0] == 404 and raw("/openapi/v3")[0] == 404
    assert raw("/apis/gateway.networking.k8s.io/v1/gateways")[:3:2] == (404, "404 page not found\n")
    assert raw("/version", host="localhost")[0] == 200  # the certificate also names localhost


def test_discovery_follows_the_configured_versions(fake_api_factory: Callable[..., FakeApiServer]) -> None:
    only_v1 = fake_api_factory(istio_versions=("v1",))
    assert only_v1._aggregated(core=False, api_version="v2")["items"][0]["versions"][0]["version"] == "v1"
    assert [v["version"] for v in only_v1._api_group("networking.istio.io")["versions"]] == ["v1"]
    none = fake_api_factory(istio_versions=())
    assert none._aggregated(core=False, api_version="v2")["items"] == []
    with pytest.raises(ValueError, match="unknown"):
        FakeApiServer(istio_versions=("v2",))


def test_gateway_api_discovery_serves_each_kind_in_its_versions(fake_api: FakeApiServer, raw: Callable[..., Any]) -> None:
    assert [g["metadata"]["name"] for g in raw("/apis", accept=AGGREGATED_ACCEPT)[2]["items"]] == ["networking.istio.io"]
    fake_api.gateway_api = True  # off by default, as on a cluster without the Gateway API's CRDs
    body = raw("/apis", accept=AGGREGATED_ACCEPT)[2]
    assert [g["metadata"]["name"] for g in body["items"]] == ["networking.istio.io", "gateway.networking.k8s.io"]
    versions = {v["version"]: {r["resource"] for r in v["resources"]} for v in body["items"][1]["versions"]}
    assert versions == {
        "v1": {"gatewayclasses", "gateways", "grpcroutes", "httproutes"},
        "v1beta1": {"gatewayclasses", "gateways", "httproutes", "referencegrants"},
    }
    assert raw("/apis/gateway.networking.k8s.io")[2]["preferredVersion"]["version"] == "v1"
    legacy = {r["name"] for r in raw("/apis/gateway.networking.k8s.io/v1beta1")[2]["resources"]}
    assert "referencegrants" in legacy and "grpcroutes" not in legacy
    fake_api.load_gateway_api()
    assert raw("/apis/gateway.networking.k8s.io/v1/referencegrants")[0] == 404
    status, _, grants = raw("/apis/gateway.networking.k8s.io/v1beta1/referencegrants")
    assert status == 200 and grants["kind"] == "ReferenceGrantList" and len(grants["items"]) == 1
    routes = raw("/apis/gateway.networking.k8s.io/v1beta1/namespaces/shop/httproutes")[2]
    assert {r["apiVersion"] for r in routes["items"]} == {"gateway.networking.k8s.io/v1beta1"}  # served as asked
    assert (
        raw("/apis/gateway.networking.k8s.io/v1/gatewayclasses/istio")[2]["spec"]["controllerName"]
        == "istio.io/gateway-controller"
    )
    fake_api.gateway_api = False
    assert raw("/apis/gateway.networking.k8s.io/v1/httproutes")[:3:2] == (404, "404 page not found\n")
    with pytest.raises(ValueError, match=r"does not serve GRPCRoute gateway\.networking\.k8s\.io/v1beta1"):
        fake_api.load_yaml("apiVersion: gateway.networking.k8s.io/v1beta1\nkind: GRPCRoute\nmetadata:\n  name: g\n")


def test_status_bodies_match_the_real_server(fake_api: FakeApiServer, raw: Callable[..., Any]) -> None:
    status, _, body = raw("/apis/networking.istio.io/v1/namespaces/default/gateways/x")
    assert status == 404
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'gateways.networking.istio.io "x" not found',
        "reason": "NotFound",
        "details": {"name": "x", "group": "networking.istio.io", "kind": "gateways"},
        "code": 404,
    }
    status, _, body = raw("/api/v1/namespaces", token="wrong")
    assert (status, body["reason"], body["message"]) == (401, "Unauthorized", "Unauthorized")
    assert raw("/api/v1/namespaces", token="")[0] == 401
    fake_api.deny("get", "pods/proxy", namespace="istio-system")
    status, _, body = raw(f"/api/v1/namespaces/istio-system/pods/{INGRESS_POD}:15000/proxy/stats")
    assert status == 403
    assert body["message"] == (
        f'pods "{INGRESS_POD}:15000" is forbidden: User "{DEFAULT_USER}" cannot get resource "pods/proxy" in API group "" '
        'in the namespace "istio-system"'
    )
    fake_api.deny("list", "virtualservices", namespace="team-a")
    assert raw("/apis/networking.istio.io/v1/namespaces/default/virtualservices")[0] == 200
    status, _, body = raw("/apis/networking.istio.io/v1/virtualservices")
    assert status == 403 and body["message"].endswith("at the cluster scope")
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        status, _, body = raw("/apis/networking.istio.io/v1/namespaces/default/gateways/gt-gateway", method=method)
        assert (status, body["reason"]) == (405, "MethodNotAllowed")
    assert [r.method for r in fake_api.requests if r.status == 405] == ["POST", "PUT", "PATCH", "DELETE"]
    status, _, body = raw(f"/api/v1/namespaces/istio-system/pods/{INGRESS_POD}/portforward?ports=15000")
    assert (status, body["message"]) == (400, "Upgrade request required")
    fake_api.allow_all()
    assert raw("/api/v1/namespaces/istio-system/pods/nope:15000/proxy/")[0] == 404
    assert not fake_api.errors


def test_pod_proxy_forms(fake_api: FakeApiServer, raw: Callable[..., Any], backend: int) -> None:
    fake_api.set_pod_backend("istio-system", INGRESS_POD, 80, "127.0.0.1", backend)
    fake_api.set_pod_backend("istio-system", INGRESS_POD, 15000, "127.0.0.1", backend)
    status, _, body = raw(f"/api/v1/namespaces/istio-system/pods/{INGRESS_POD}/proxy/healthz?verbose=1")
    assert (status, body["path"]) == (200, "/healthz?verbose=1")
    status, _, body = raw(f"/api/v1/namespaces/istio-system/pods/http:{INGRESS_POD}:15000/proxy/stats/prometheus")
    assert (status, body["path"]) == (200, "/stats/prometheus")
    status, _, body = raw(f"/api/v1/namespaces/istio-system/pods/{INGRESS_POD}:15021/proxy/healthz/ready")
    assert (status, body["reason"]) == (503, "ServiceUnavailable")
    assert body["message"] == "error trying to reach service: dial tcp 10.244.0.12:15021: connect: connection refused"
    assert_only_reads(fake_api)


def test_server_side_tables(fake_api: FakeApiServer, raw: Callable[..., Any]) -> None:
    def columns(path: str) -> list[str]:
        status, _, body = raw(path, accept=TABLE_ACCEPT)
        assert status == 200 and body["kind"] == "Table" and body["apiVersion"] == "meta.k8s.io/v1", body
        return [c["name"] for c in body["columnDefinitions"] if c["priority"] == 0]

    assert columns("/api/v1/pods") == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert columns("/api/v1/services") == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"]
    assert columns("/api/v1/namespaces") == ["Name", "Status", "Age"]
    assert columns("/apis/networking.istio.io/v1/gateways") == ["Name", "Age"]
    assert columns("/apis/networking.istio.io/v1/virtualservices") == ["Name", "Gateways", "Hosts", "Age"]
    assert columns("/apis/networking.istio.io/v1/destinationrules") == ["Name", "Host", "Age"]
    _, _, body = raw("/api/v1/namespaces/istio-system/pods", accept=TABLE_ACCEPT)
    (row,) = body["rows"]
    assert row["cells"][:4] == [INGRESS_POD, "1/1", "Running", "0"]
    assert row["object"]["kind"] == "PartialObjectMetadata" and row["object"]["metadata"]["namespace"] == "istio-system"
    _, _, body = raw("/api/v1/namespaces/istio-system/pods?includeObject=Object", accept=TABLE_ACCEPT)
    assert body["rows"][0]["object"]["kind"] == "Pod"
    _, _, body = raw("/apis/networking.istio.io/v1/virtualservices", accept="application/json;as=Table;v=v1beta1;g=meta.k8s.io")
    assert body["apiVersion"] == "meta.k8s.io/v1beta1"
    assert body["columnDefinitions"][-1]["type"] == "date"


def test_cached_table_rows_are_the_rows_built_in_full(fake_api: FakeApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake encodes a Table row once per object (its age cell per request): byte for byte what it would build."""
    from fakeapi import server as fake_server

    class Frozen(datetime.datetime):  # both tables at one instant: the age cells cannot tick in between
        @classmethod
        def now(cls, tz: datetime.tzinfo | None = None) -> Frozen:  # type: ignore[override]
            return cls(2026, 12, 6, 1, 2, 3, tzinfo=tz)

    monkeypatch.setattr(
        fake_server, "datetime", types.SimpleNamespace(datetime=Frozen, date=datetime.date, timezone=datetime.timezone)
    )

    class Request:
        def __init__(self, include: str) -> None:
            self.include = include

        def param(self, name: str) -> str | None:
            return self.include if name == "includeObject" else None

    fake_api.load_gateway_api()
    compared = 0
    for entries in (list(data.values()) for data in fake_api._data.values()):
        if not entries:
            continue
        rtype = entries[0].rtype
        cached = fake_api._table(Request("Metadata"), rtype, "v1", entries, {"resourceVersion": "7"}, "v1")
        in_full = fake_api._table(Request("metadata, spelt otherwise"), rtype, "v1", entries, {"resourceVersion": "7"}, "v1")
        assert isinstance(cached, bytes) and isinstance(in_full, dict), rtype.plural
        assert cached == json.dumps(in_full, separators=(",", ":"), ensure_ascii=False).encode(), rtype.plural
        compared += 1
    assert compared >= 10


def test_list_shapes(fake_api: FakeApiServer, raw: Callable[..., Any]) -> None:
    _, _, pods = raw("/api/v1/pods")
    assert (pods["kind"], pods["apiVersion"]) == ("PodList", "v1") and pods["metadata"]["resourceVersion"]
    assert "kind" not in pods["items"][0]  # typed lists omit per-item kind/apiVersion, like the real server
    _, _, pod = raw(f"/api/v1/namespaces/istio-system/pods/{INGRESS_POD}")
    assert (pod["kind"], pod["apiVersion"]) == ("Pod", "v1")
    _, _, gateways = raw("/apis/networking.istio.io/v1beta1/namespaces/default/gateways")
    assert gateways["kind"] == "GatewayList" and gateways["items"][0]["apiVersion"] == "networking.istio.io/v1beta1"
    meta = gateways["items"][0]["metadata"]
    assert {"uid", "resourceVersion", "creationTimestamp", "generation"} <= set(meta)
    assert raw("/apis/networking.istio.io/v1/namespaces/nowhere/gateways")[2]["items"] == []


def test_partial_object_metadata_lists(fake_api: FakeApiServer, raw: Callable[..., Any]) -> None:
    """``as=PartialObjectMetadataList`` (what informers' metadata clients and the listing cache ask for): metadata only,
    paged like the full list; every write gives the object a new resourceVersion, as etcd does."""
    accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;q=0.9"
    _, _, full = raw("/apis/networking.istio.io/v1/virtualservices")
    _, _, partial = raw("/apis/networking.istio.io/v1/virtualservices", accept=accept)
    assert (partial["kind"], partial["apiVersion"]) == ("PartialObjectMetadataList", "meta.k8s.io/v1")
    assert [i["metadata"] for i in partial["items"]] == [i["metadata"] for i in full["items"]]
    assert {(i["kind"], i["apiVersion"]) for i in partial["items"]} == {("PartialObjectMetadata", "meta.k8s.io/v1")}
    assert all(set(i) == {"kind", "apiVersion", "metadata"} for i in partial["items"])
    _, _, one = raw(f"/api/v1/namespaces/istio-system/pods/{INGRESS_POD}", accept=accept.replace("List;", ";"))
    assert one["kind"] == "PartialObjectMetadata" and one["metadata"]["name"] == INGRESS_POD
    fake_api.add_objects(
        {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": f"g{i}", "namespace": "x"}}
        for i in range(3)
    )
    _, _, first = raw("/apis/networking.istio.io/v1/gateways?limit=2", accept=accept)
    token = first["metadata"]["continue"]
    _, _, rest = raw(f"/apis/networking.istio.io/v1/gateways?limit=2&continue={token}", accept=accept)
    _, _, everything = raw("/apis/networking.istio.io/v1/gateways")
    paged = [i["metadata"]["name"] for i in first["items"] + rest["items"]]
    assert len(first["items"]) == 2 and paged == [i["metadata"]["name"] for i in everything["items"]]
    (before,) = [i["metadata"]["resourceVersion"] for i in full["items"] if i["metadata"]["name"] == "vs-gateway"]
    vs = fake_api.objects("virtualservices")[0]
    fake_api.add_object({**vs, "metadata": {**vs["metadata"]}})  # the same object written again, its old RV given
    _, _, after = raw("/apis/networking.istio.io/v1/virtualservices", accept=accept)
    assert int(after["items"][0]["metadata"]["resourceVersion"]) > int(before)


def test_load_yaml_keeps_metadata_and_creates_namespaces(fake_api_factory: Callable[..., FakeApiServer], tmp_path: Path) -> None:
    server = fake_api_factory(seed=False)
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        "apiVersion: networking.istio.io/v1alpha3\nkind: Gateway\nmetadata:\n  name: g\n  namespace: shop\n"
        "  uid: 11111111-2222-3333-4444-555555555555\n  creationTimestamp: 2024-01-02T03:04:05Z\nspec: {}\n---\n"
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: s, namespace: web}\n"
    )
    stored = server.load_yaml(scenario)
    assert stored[0]["metadata"]["uid"] == "11111111-2222-3333-4444-555555555555"
    assert stored[0]["metadata"]["creationTimestamp"] == "2024-01-02T03:04:05Z"
    assert [n["metadata"]["name"] for n in server.objects("namespaces")] == ["shop", "web"]
    assert server.objects("namespaces")[0]["status"] == {"phase": "Active"}
    with pytest.raises(ValueError, match="does not serve"):
        server.load_yaml("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n")


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("a=b", {"a": "b"}, True),
        ("a==b", {"a": "c"}, False),
        ("a!=b", {}, True),
        ("a in (x,y)", {"a": "y"}, True),
        ("a in (x, y),b", {"a": "x"}, False),
        ("a notin (x)", {}, True),
        ("a notin (x)", {"a": "x"}, False),
        ("a", {"a": ""}, True),
        ("!a", {"a": "1"}, False),
        ("a>3", {"a": "4"}, True),
        ("app.kubernetes.io/name=istio", {"app.kubernetes.io/name": "istio"}, True),
    ],
)
def test_label_selector_semantics(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert labels_match(parse_label_selector(selector), labels) is expected


@pytest.mark.parametrize("selector", ["a in (x", "a in ()", "=b", "a=b=c", "a,,b"])
def test_label_selector_errors(selector: str) -> None:
    with pytest.raises(SelectorError):
        parse_label_selector(selector)


def test_scale_scenario_is_fast_to_serve(fake_api_factory: Callable[..., FakeApiServer], raw: Callable[..., Any]) -> None:
    started = time.monotonic()
    objects = make_scale_scenario(gateways=2000, virtual_services=5000, pods=50)
    server = fake_api_factory(seed=False)
    server.add_objects(objects)
    loaded = time.monotonic() - started  # serialisation happens lazily on the first list (or up front with warm())
    context = ssl.create_default_context(cafile=str(server.ca_file))
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=30)
    headers = {"Authorization": f"Bearer {server.token}", "Accept": "application/json"}

    def list_all(resource: str, limit: int) -> int:
        count, token = 0, ""
        while True:
            conn.request(
                "GET",
                f"/apis/networking.istio.io/v1/{resource}?limit={limit}" + (f"&continue={token}" if token else ""),
                headers=headers,
            )
            page = json.loads(conn.getresponse().read())
            count += len(page["items"])
            token = page["metadata"].get("continue", "")
            if not token:
                return count

    started = time.monotonic()
    assert list_all("virtualservices", 500) == 5000
    assert list_all("gateways", 500) == 2000
    assert list_all("virtualservices", 0) == 5000
    served = time.monotonic() - started
    conn.close()
    pods = [o for o in objects if o["kind"] == "Pod"]
    assert len(pods) == 50 and sum(1 for p in pods if p["metadata"]["labels"].get("istio") == "ingressgateway") == 3
    assert loaded < 10 and served < 5, (loaded, served)
    assert_only_reads(server)


def test_connections_are_closed_on_stop(fake_api_factory: Callable[..., FakeApiServer]) -> None:
    server = fake_api_factory(seed=False)
    port = server.port
    context = ssl.create_default_context(cafile=str(server.ca_file))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
    conn.request("GET", "/version", headers={"Authorization": f"Bearer {server.token}"})
    assert conn.getresponse().read()
    server.stop()
    with pytest.raises((OSError, http.client.HTTPException)):
        conn.request("GET", "/version", headers={"Authorization": f"Bearer {server.token}"})
        conn.getresponse().read()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_server_in_a_child_process(tmp_path: Path) -> None:
    with FakeApiProcess(kubeconfig=tmp_path / "kubeconfig", scale=(20, 50, 5), request_log=tmp_path / "requests.jsonl") as fake:
        api_client = config.new_client_from_config(config_file=str(fake.kubeconfig))
        custom = client.CustomObjectsApi(api_client)
        assert len(custom.list_cluster_custom_object("networking.istio.io", "v1", "virtualservices")["items"]) == 51
        pods = client.CoreV1Api(api_client).list_namespaced_pod("istio-system", label_selector="istio=ingressgateway").items
        assert len(pods) == 4
        api_client.close()
    assert [(r["method"], r["status"]) for r in fake.requests()] == [("GET", 200), ("GET", 200)]
