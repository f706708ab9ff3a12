"""Live-cluster commands against the fake API server: output, paging, errors, kubeconfig, read-only."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO, run_cli, table_without_age
from fakeapi.fixtures import find_kubectl
from fakeapi.proxies import ConnectProxy
from fakeapi.server import FakeApiServer
from manifests import gateway, server

from kubectl_meshctl.exitcodes import ExitCode

POD = "istio-ingressgateway-5d7f9b8c4-x2x7q"


@pytest.fixture(autouse=True)
def _no_ambient_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def _cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def test_gateways_table(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    result = run_cli(["gateways", "-A", "--kubeconfig", str(fake_kubeconfig)])
    assert result.code == 0, result.stderr
    header, row = result.stdout.splitlines()
    assert _cells(header) == ["NAMESPACE", "NAME", "SELECTOR", "SERVERS", "PODS", "VIRTUALSERVICES", "AGE"]
    assert _cells(row)[:6] == ["default", "gt-gateway", "istio=ingressgateway", "80/HTTP *", "1/1", "1"]
    assert result.stderr.strip() == "1 warning in default/vs-gateway: run kubectl meshctl analyze -A"


def test_gateways_wide_and_alias(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    result = run_cli(["gw", "gt-gateway", "-o", "wide", "--kubeconfig", str(fake_kubeconfig)])
    header, row = result.stdout.splitlines()
    assert _cells(header)[-2:] == ["POD NAMES", "BOUND VIRTUALSERVICES"]
    assert _cells(row)[-2:] == [f"{POD}.istio-system", "default/vs-gateway"]


def test_gateway_not_found(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    result = run_cli(["gateways", "nope", "--kubeconfig", str(fake_kubeconfig)])
    assert result.code == ExitCode.NOT_FOUND
    assert result.stderr.strip() == 'Error: gateways.networking.istio.io "nope" not found'


def test_virtualservices_table_and_json(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    result = run_cli(["vs", "--kubeconfig", str(fake_kubeconfig)])
    header, row = result.stdout.splitlines()
    assert _cells(header) == ["NAME", "GATEWAYS", "HOSTS", "RULES", "FINDINGS", "AGE"]
    assert _cells(row)[:5] == ["vs-gateway", "gt-gateway", "*", "2", "1 warning"]
    as_json = yaml.safe_load(run_cli(["virtualservices", "-o", "json", "--kubeconfig", str(fake_kubeconfig)]).stdout)
    (item,) = as_json["items"]
    assert [f["code"] for f in item["findings"]] == ["IST0130", "IST0131"]
    names = run_cli(["vs", "-o", "name", "--kubeconfig", str(fake_kubeconfig)]).stdout
    assert names == "virtualservice.networking.istio.io/vs-gateway\n"


def test_pods_default_selector_and_gateway_flag(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    for args in (["pods"], ["pods", "--gateway", "default/gt-gateway"]):
        result = run_cli([*args, "--kubeconfig", str(fake_kubeconfig)])
        header, row = result.stdout.splitlines()
        assert _cells(header) == ["NAMESPACE", "NAME", "READY", "STATUS", "IP", "NODE", "AGE", "ROUTES-ARG"]
        cells = _cells(row)
        assert cells[:4] == ["istio-system", POD, "1/1", "Running"]
        assert cells[-1] == f"{POD}.istio-system"
    pods = [r for r in fake_api.requests if r.path == "/api/v1/pods"]
    assert pods and all(r.param("labelSelector") == "istio=ingressgateway" for r in pods)


def test_analyze_cluster_and_namespace_filter(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    result = run_cli(["analyze", "--kubeconfig", str(fake_kubeconfig)])
    assert result.stdout.splitlines() == [
        "Warning [IST0130] (VirtualService default/vs-gateway) VirtualService rule #1 not used (all matches used by prior rules).",
        "Info [IST0131] (VirtualService default/vs-gateway) VirtualService rule #1 match #0 is not used "
        "(duplicate/overlapping match in rule #0).",
    ]
    other = run_cli(["analyze", "-n", "istio-system", "--kubeconfig", str(fake_kubeconfig)])
    assert other.stdout == "\n"
    assert "No validation issues found when analyzing namespace: istio-system." in other.stderr


def test_files_override_cluster_objects(fake_api: FakeApiServer, fake_kubeconfig: Path, tmp_path: Path) -> None:
    seed = list(yaml.safe_load_all((REPO / "examples" / "seed.yaml").read_text()))
    fixed = seed[1]
    fixed["spec"]["http"] = fixed["spec"]["http"][:1]
    (tmp_path / "vs.yaml").write_text(yaml.safe_dump(fixed))
    result = run_cli(["analyze", "--use-kube", "-f", str(tmp_path / "vs.yaml"), "--kubeconfig", str(fake_kubeconfig)])
    assert result.stdout == "\n", result.stdout


def test_plugin_only_reads(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    for args in (["gateways", "-A"], ["vs", "-A"], ["pods"], ["analyze", "-A"]):
        run_cli([*args, "--kubeconfig", str(fake_kubeconfig)])
    assert fake_api.requests
    assert {r.method for r in fake_api.requests} == {"GET"}


def test_paging_and_restart_after_410(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    gateways = [gateway(f"gw-{i:04d}", namespace="bulk", servers=[server(hosts=[f"h{i}.example.com"])]) for i in range(1200)]
    fake_api.add_objects(gateways)
    fake_api.expire_next_continue()
    result = run_cli(["gateways", "-n", "bulk", "-o", "name", "--no-cache", "--kubeconfig", str(fake_kubeconfig)])
    assert result.code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1200
    listed = [r for r in fake_api.requests if r.path == "/apis/networking.istio.io/v1/gateways"]
    assert any(r.param("continue") for r in listed)
    assert sum(1 for r in listed if not r.param("continue")) == 2  # the 410 restarted the list once


def _full_and_metadata_lists(requests: list[Any]) -> tuple[int, int]:
    lists = [r for r in requests if r.path.endswith(("/gateways", "/virtualservices", "/pods", "/services"))]
    metadata = sum(1 for r in lists if "PartialObjectMetadataList" in (r.header("Accept") or ""))
    return len(lists) - metadata, metadata


def test_listing_cache_serves_unchanged_objects_and_misses_on_any_change(
    fake_api: FakeApiServer, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    args = ["gateways", "-A", "-o", "wide", "--kubeconfig", str(fake_kubeconfig)]
    first = run_cli(args)
    assert first.code == 0, first.stderr
    assert _full_and_metadata_lists(fake_api.requests) == (4, 4)  # keyed on metadata, then read in full
    fake_api.requests.clear()
    second = run_cli(args)
    assert (table_without_age(second.stdout), second.stderr, second.code) == (
        table_without_age(first.stdout),
        first.stderr,
        first.code,
    )
    assert _full_and_metadata_lists(fake_api.requests) == (0, 4)  # a hit: only every object's metadata was read
    assert run_cli(["vs", "-A", "--kubeconfig", str(fake_kubeconfig)]).stdout.startswith("NAMESPACE")

    # any write to any object read misses: here the pod stops being ready, so the PODS column changes
    import copy

    pod = copy.deepcopy(next(p for p in fake_api.objects("pods") if p["metadata"]["name"] == POD))
    pod["status"]["containerStatuses"][0]["ready"] = False
    fake_api.add_object(pod)
    fake_api.requests.clear()
    third = run_cli(args)
    assert _full_and_metadata_lists(fake_api.requests) == (4, 4)
    assert "0/1" in third.stdout and "1/1" in first.stdout

    # a corrupt entry is a miss, not an error; --no-cache reads no metadata lists at all
    home = Path(os.environ["HOME"])
    for entry in (home / ".kube" / "cache" / "meshctl" / "listings").iterdir():
        entry.write_bytes(b"\x00garbage")
    assert table_without_age(run_cli(args).stdout) == table_without_age(third.stdout)
    fake_api.requests.clear()
    assert table_without_age(run_cli([*args, "--no-cache"]).stdout) == table_without_age(third.stdout)
    assert _full_and_metadata_lists(fake_api.requests) == (4, 0)


def test_bad_objects_are_reported_and_the_rest_listed(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    fake_api.add_object(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": "broken", "namespace": "default"},
            "spec": {"http": {"not": "a list"}},
        }
    )
    result = run_cli(["vs", "--kubeconfig", str(fake_kubeconfig)])
    assert result.code == 0
    assert "Warning: cluster: VirtualService default/broken: spec.http: expected a list, got object" in result.stderr
    assert "vs-gateway" in result.stdout


# ----------------------------------------------------------------------------- errors


def test_unreachable_api_server(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = yaml.safe_load(fake_kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{port}"
    fake_kubeconfig.write_text(yaml.safe_dump(config))
    result = run_cli(["gateways", "--kubeconfig", str(fake_kubeconfig)])
    assert result.code == ExitCode.UNAVAILABLE
    assert result.stderr.startswith(f"Error: cannot reach the API server https://127.0.0.1:{port}")
    assert result.stderr.count("\n") == 1


def test_tls_failure(fake_api: FakeApiServer, fake_kubeconfig: Path, tmp_path: Path) -> None:
    import base64

    from fakeapi.certs import generate_bundle

    stranger = generate_bundle(tmp_path / "other-ca")  # a CA that did not sign the server's certificate
    config = yaml.safe_load(fake_kubeconfig.read_text())
    config["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(stranger.ca_pem).decode()
    fake_kubeconfig.write_text(yaml.safe_dump(config))
    result = run_cli(["gateways", "--kubeconfig", str(fake_kubeconfig)])
    assert result.code == ExitCode.UNAVAILABLE
    assert "TLS" in result.stderr


def test_bad_token_is_401(fake_api: FakeApiServer, tmp_path: Path) -> None:
    kubeconfig = fake_api.write_kubeconfig(tmp_path / "kc", token="wrong")
    result = run_cli(["gateways", "--kubeconfig", str(kubeconfig)])
    assert result.code == ExitCode.NOPERM
    assert "rejected the credentials of context fakeapi (401 Unauthorized)" in result.stderr


def test_rbac_denial_names_the_permission(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    fake_api.deny("list", "gateways")
    fake_api.deny("list", "gateways", namespace="default")
    result = run_cli(["gateways", "--kubeconfig", str(fake_kubeconfig)])
    assert result.code == ExitCode.NOPERM
    (line,) = result.stderr.splitlines()[-1:]
    assert 'cannot list resource "gateways" in API group "networking.istio.io"' in line
    assert line.endswith("(needs RBAC permission: list gateways.networking.istio.io in namespace default)")


def test_cluster_wide_denial_falls_back_to_the_namespace(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    # a Role in some other namespace only: the cluster-scope list is denied, namespace "default" is allowed
    fake_api.deny("list", "gateways", namespace="kube-system")
    result = run_cli(["gateways", "--kubeconfig", str(fake_kubeconfig)])
    assert result.code == 0, result.stderr
    assert "Note: cannot list gateways cluster-wide; reading namespace default only" in result.stderr
    assert "gt-gateway" in result.stdout


def test_istio_crds_missing(fake_api_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = fake_api_factory(istio_versions=(), seed=False)
    result = run_cli(["gateways", "--kubeconfig", str(server.write_kubeconfig(tmp_path / "kc"))])
    assert result.code == ExitCode.UNAVAILABLE
    assert "Istio CRDs not found" in result.stderr


def test_only_v1alpha3_served(fake_api_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = fake_api_factory(istio_versions=("v1alpha3",))
    result = run_cli(["gateways", "-A", "--kubeconfig", str(server.write_kubeconfig(tmp_path / "kc"))])
    assert "gt-gateway" in result.stdout
    assert any("/v1alpha3/" in r.path for r in server.requests)
    assert not any("/networking.istio.io/v1/" in r.path for r in server.requests)


def test_request_timeout(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    fake_api.latency = 3.0
    result = run_cli(["gateways", "--request-timeout", "1s", "--kubeconfig", str(fake_kubeconfig)])
    assert result.code == ExitCode.TEMPFAIL
    assert "timed out after 1s (--request-timeout)" in result.stderr
    assert run_cli(["gateways", "--request-timeout", "soon", "--kubeconfig", str(fake_kubeconfig)]).code == ExitCode.USAGE


# ----------------------------------------------------------------------------- kubeconfig


def test_kubeconfig_list_first_current_context_wins(
    fake_api: FakeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = fake_api.write_kubeconfig(tmp_path / "a", context="ctx-a", namespace="istio-system")
    second = fake_api.write_kubeconfig(tmp_path / "b", context="ctx-b", namespace="default", user="other", cluster="other")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(first), str(second)]))
    # ctx-a (first file) selects istio-system: no gateway there
    assert "No gateways found in istio-system namespace." in run_cli(["gateways"]).stderr
    assert "gt-gateway" in run_cli(["gateways", "--context", "ctx-b"]).stdout
    assert "gt-gateway" in run_cli(["gateways", "-n", "default"]).stdout
    missing = run_cli(["gateways", "--context", "nope"])
    assert missing.code == ExitCode.USAGE and 'context "nope" does not exist' in missing.stderr


def test_no_kubeconfig_at_all() -> None:
    result = run_cli(["gateways"])
    assert result.code == ExitCode.USAGE
    assert "no kubeconfig found" in result.stderr


# ----------------------------------------------------------------------------- through kubectl


def test_through_real_kubectl(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    kubectl = find_kubectl()
    if kubectl is None:
        pytest.skip("kubectl is not on PATH")
    import shutil

    if shutil.which("kubectl-meshctl") is None:
        pytest.skip("kubectl-meshctl is not installed on PATH")
    env = {**os.environ, "KUBECONFIG": str(fake_kubeconfig)}
    done = subprocess.run(
        [kubectl, "meshctl", "gateways", "-A"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert _cells(done.stdout.splitlines()[1])[:2] == ["default", "gt-gateway"]
    native = subprocess.run(
        [kubectl, "get", "gateways.networking.istio.io", "-A"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert "gt-gateway" in native.stdout


# ----------------------------------------------------------------------------- completion and credentials


def test_completion_scripts_and_kubectl_protocol(
    fake_api: FakeApiServer, fake_kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kubectl_meshctl.cli import kubectl_complete

    for shell in ("bash", "zsh", "fish"):
        result = run_cli(["completion", shell])
        assert result.code == 0 and "_KUBECTL_MESHCTL_COMPLETE" in result.stdout
    with pytest.raises(SystemExit):
        kubectl_complete(["g"])
    assert capsys.readouterr().out == "gateways\ngw\n:4\n"
    with pytest.raises(SystemExit):
        kubectl_complete(["gateways", "--kubeconfig", str(fake_kubeconfig), "-n", "istio"])
    assert capsys.readouterr().out == "istio-system\n:4\n"
    with pytest.raises(SystemExit):
        kubectl_complete(["gateways", "--kubeconfig", str(fake_kubeconfig), "gt"])
    assert capsys.readouterr().out == "gt-gateway\n:4\n"
    with pytest.raises(SystemExit):  # no cluster: no candidates, no error text
        kubectl_complete(["gateways", "--kubeconfig", "/nonexistent", "gt"])
    assert capsys.readouterr().out == ":4\n"


def test_exec_credential_plugin(fake_api: FakeApiServer, tmp_path: Path) -> None:
    kubeconfig = fake_api.write_kubeconfig(tmp_path / "kc", exec_credential=True)
    assert "token" not in yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]
    result = run_cli(["gateways", "--kubeconfig", str(kubeconfig)])
    assert result.code == 0, result.stderr
    assert "gt-gateway" in result.stdout


def test_in_cluster_config(fake_api: FakeApiServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text(fake_api.token)
    (sa / "ca.crt").write_bytes(fake_api.certs.ca_pem)
    (sa / "namespace").write_text("default")
    monkeypatch.setattr("kubectl_meshctl.kube.kubeconfig.SERVICE_ACCOUNT_DIR", str(sa))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(fake_api.port))
    result = run_cli(["gateways"])
    assert result.code == 0, result.stderr
    assert "gt-gateway" in result.stdout


# ----------------------------------------------------------------------------- transports


def _error_of(kubeconfig: Path, path: str, *, timeout: float | None = None) -> tuple[str, int | None, str]:
    """The error's type, status and line (``("", None, "")`` when the request succeeds)."""
    from kubectl_meshctl.kube.api import Api
    from kubectl_meshctl.kube.connection import connect
    from kubectl_meshctl.kube.errors import KubeError

    try:
        conn = connect(kubeconfig=str(kubeconfig), context=None, namespace=None, timeout=timeout)
        Api(conn).get_raw(path)
    except KubeError as exc:
        return type(exc).__name__, exc.status, str(exc)
    return "", None, ""


def test_exec_credentials_are_obtained_once_and_sent_by_the_one_transport(
    fake_api: FakeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubectl_meshctl.kube.connection import connect
    from kubectl_meshctl.kube.transport import PlainTransport

    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read again
    exec_kubeconfig = fake_api.write_kubeconfig(tmp_path / "exec", exec_credential=True)
    exec_conn = connect(kubeconfig=str(exec_kubeconfig), context=None, namespace=None, timeout=None)
    assert isinstance(exec_conn.transport, PlainTransport)
    assert ("Authorization", f"Bearer {fake_api.token}") in exec_conn.transport.headers
    assert list((tmp_path / "tmp").iterdir()) == []  # the client's temporary files are gone


@pytest.mark.parametrize("case", ["ok", "401", "403", "404", "unreachable", "tls", "timeout"])
def test_token_and_exec_credentials_answer_and_fail_alike(case: str, fake_api: FakeApiServer, tmp_path: Path) -> None:
    import base64

    from fakeapi.certs import generate_bundle

    path, timeout = "/apis/networking.istio.io/v1/gateways", None
    outcomes = []
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
    for exec_credential in (False, True):
        kubeconfig = fake_api.write_kubeconfig(
            tmp_path / f"kc-{exec_credential}", token="wrong" if case == "401" else None, exec_credential=exec_credential
        )
        config = yaml.safe_load(kubeconfig.read_text())
        if case == "403":
            fake_api.deny("list", "gateways")
        elif case == "404":
            path = "/apis/networking.istio.io/v1/namespaces/default/gateways/nope"
        elif case == "unreachable":
            config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{closed_port}"
        elif case == "tls":
            stranger = generate_bundle(tmp_path / "other-ca")
            config["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(stranger.ca_pem).decode()
        elif case == "timeout":
            fake_api.latency, timeout = 2.0, 0.5
        kubeconfig.write_text(yaml.safe_dump(config))
        outcomes.append(_error_of(kubeconfig, path, timeout=timeout))
    expected = {
        "ok": ("", None),
        "401": ("Denied", 401),
        "403": ("Denied", 403),
        "404": ("NotFound", 404),
        "unreachable": ("Unreachable", None),
        "tls": ("Unreachable", None),
        "timeout": ("TimedOut", None),
    }
    assert outcomes[0][:2] == expected[case]
    assert outcomes[0] == outcomes[1]


@pytest.fixture
def client_cert_kubeconfig(fake_api: FakeApiServer, tmp_path: Path) -> tuple[Path, Path, Path]:
    from fakeapi.certs import issue_client_certificate

    cert, key = issue_client_certificate(fake_api.certs, tmp_path / "pki", "jane")
    kubeconfig = fake_api.write_kubeconfig(tmp_path / "kc")
    config = yaml.safe_load(kubeconfig.read_text())
    config["users"][0]["user"] = {"client-certificate": "pki/jane.crt", "client-key": "pki/jane.key"}  # relative paths
    kubeconfig.write_text(yaml.safe_dump(config))
    return kubeconfig, cert, key


def test_client_certificate_files_and_data(fake_api: FakeApiServer, client_cert_kubeconfig: tuple[Path, Path, Path]) -> None:
    import base64

    kubeconfig, cert, key = client_cert_kubeconfig
    result = run_cli(["gateways", "--kubeconfig", str(kubeconfig)])
    assert result.code == 0, result.stderr
    assert "gt-gateway" in result.stdout
    assert {r.user for r in fake_api.requests} == {"jane"}
    config = yaml.safe_load(kubeconfig.read_text())
    config["users"][0]["user"] = {
        "client-certificate-data": base64.b64encode(cert.read_bytes()).decode(),
        "client-key-data": base64.b64encode(key.read_bytes()).decode(),
    }
    kubeconfig.write_text(yaml.safe_dump(config))
    assert "gt-gateway" in run_cli(["gateways", "--kubeconfig", str(kubeconfig)]).stdout
    # no credentials at all: the fake refuses as kube-apiserver does without anonymous auth
    config["users"][0]["user"] = {}
    kubeconfig.write_text(yaml.safe_dump(config))
    assert run_cli(["gateways", "--kubeconfig", str(kubeconfig)]).code == ExitCode.NOPERM


def test_client_certificate_through_real_kubectl(client_cert_kubeconfig: tuple[Path, Path, Path]) -> None:
    kubectl = find_kubectl()
    if kubectl is None:
        pytest.skip("kubectl is not on PATH")
    kubeconfig, _, _ = client_cert_kubeconfig
    done = subprocess.run(
        [kubectl, "--kubeconfig", str(kubeconfig), "get", "gateways.networking.istio.io", "-A"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "gt-gateway" in done.stdout


def test_tls_server_name_and_insecure_skip_verify(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    config = yaml.safe_load(fake_kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    cluster["tls-server-name"] = "kubernetes.default.svc"  # in the serving certificate's SANs
    fake_kubeconfig.write_text(yaml.safe_dump(config))
    assert "gt-gateway" in run_cli(["gateways", "--kubeconfig", str(fake_kubeconfig)]).stdout
    cluster["tls-server-name"] = "elsewhere.example.com"
    fake_kubeconfig.write_text(yaml.safe_dump(config))
    wrong = run_cli(["gateways", "--kubeconfig", str(fake_kubeconfig)])
    assert wrong.code == ExitCode.UNAVAILABLE and "TLS with" in wrong.stderr
    del cluster["tls-server-name"], cluster["certificate-authority-data"]
    cluster["insecure-skip-tls-verify"] = True
    fake_kubeconfig.write_text(yaml.safe_dump(config))
    assert "gt-gateway" in run_cli(["gateways", "--kubeconfig", str(fake_kubeconfig)]).stdout


def test_plain_transport_reads_chunked_bodies_and_survives_an_idle_close() -> None:
    """kube-apiserver streams big lists chunked and closes idle keep-alive connections; neither may lose data."""
    import threading

    from kubectl_meshctl.kube.transport import PlainTransport, TransportError

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    seen: list[bytes] = []

    def serve() -> None:
        # 1st connection: a chunked answer (with a chunk extension and a trailer), then the server hangs up while idle
        conn, _ = listener.accept()
        seen.append(conn.recv(65536))
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'5;ext=1\r\n{"a":\r\n4\r\n[1,2\r\n2\r\n]}\r\n0\r\nX-Trailer: t\r\n\r\n'
        )
        conn.close()
        # 2nd connection (the retry): Content-Length answer, then one without length that ends at close
        conn, _ = listener.accept()
        seen.append(conn.recv(65536))
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}")
        seen.append(conn.recv(65536))
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-close")
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    transport = PlainTransport({"server": f"http://127.0.0.1:{port}"}, {"token": "t0k"}, timeout=5)
    assert transport.get("/api/v1/pods", {"limit": 500, "labelSelector": "a in (b,c)"}) == (200, b'{"a":[1,2]}')
    assert transport.get("/api") == (404, b"{}")
    assert transport.get("/apis") == (200, b"until-close")
    thread.join(5)
    listener.close()
    assert seen[0].startswith(b"GET /api/v1/pods?limit=500&labelSelector=a+in+%28b%2Cc%29 HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer t0k\r\n" in seen[0]
    assert seen[1].startswith(b"GET /api HTTP/1.1\r\n")
    with pytest.raises(TransportError) as failed:
        transport.get("/api")  # nobody listens any more: a fresh connection fails without a retry
    assert failed.value.kind == "unreachable"


# ----------------------------------------------------------------------------- proxies


@pytest.mark.parametrize(
    ("server", "env", "expected"),
    [
        ("https://api.example.com:6443", {"HTTPS_PROXY": "http://p:3128"}, "http://p:3128"),
        ("https://api.example.com:6443", {"https_proxy": "p:3128"}, "http://p:3128"),  # no scheme: http
        ("https://api.example.com:6443", {"HTTP_PROXY": "http://p:3128"}, ""),  # https servers use HTTPS_PROXY only
        ("http://api.example.com", {"HTTP_PROXY": "http://p:3128"}, "http://p:3128"),
        ("https://localhost:6443", {"HTTPS_PROXY": "http://p:3128"}, ""),  # never for loopback
        ("https://127.0.0.1:6443", {"HTTPS_PROXY": "http://p:3128"}, ""),
        ("https://[::1]:6443", {"HTTPS_PROXY": "http://p:3128"}, ""),
        ("https://api.example.com:6443", {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "*"}, ""),
        ("https://api.example.com:6443", {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "example.com"}, ""),
        ("https://example.com:6443", {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "example.com"}, ""),
        ("https://example.com:6443", {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": ".example.com"}, "http://p:3128"),
        ("https://api.example.com:6443", {"HTTPS_PROXY": "http://p:3128", "no_proxy": ".example.com"}, ""),
        ("https://badexample.com:6443", {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "example.com"}, "http://p:3128"),
        ("https://api.example.com:6443", {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "api.example.com:443"}, "http://p:3128"),
        ("https://api.example.com:6443", {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "api.example.com:6443"}, ""),
        ("https://10.1.2.3:6443", {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "10.0.0.0/8"}, ""),
        ("https://11.1.2.3:6443", {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "10.0.0.0/8, 11.1.2.3"}, ""),
        ("https://11.1.2.4:6443", {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "10.0.0.0/8,11.1.2.3"}, "http://p:3128"),
    ],
)
def test_proxy_choice_follows_kubectl(server: str, env: dict[str, str], expected: str) -> None:
    """Go's http.ProxyFromEnvironment (golang.org/x/net/http/httpproxy), which kubectl uses."""
    from kubectl_meshctl.kube.transport import proxy_for

    assert proxy_for(server, env) == expected


@pytest.fixture
def proxied_kubeconfig(fake_api: FakeApiServer, tmp_path: Path) -> Path:
    """A kubeconfig naming the fake by a hostname that only a proxy can reach (it is in the certificate's SANs)."""
    kubeconfig = fake_api.write_kubeconfig(tmp_path / "kc")
    config = yaml.safe_load(kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://kubernetes.default.svc:{fake_api.port}"
    kubeconfig.write_text(yaml.safe_dump(config))
    return kubeconfig


def test_https_proxy_is_tunnelled_through_as_kubectl_does(proxied_kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = ConnectProxy(password="s3cret")
    try:
        monkeypatch.setenv("HTTPS_PROXY", f"http://u:s3cret@127.0.0.1:{proxy.port}")
        result = run_cli(["gateways", "-A", "--kubeconfig", str(proxied_kubeconfig)])
        assert result.code == 0, result.stderr
        assert "gt-gateway" in result.stdout
        assert proxy.connects and all(t.startswith("kubernetes.default.svc:") and a for t, a in proxy.connects)
        kubectl = find_kubectl()
        if kubectl is not None:  # the real kubectl takes the same way through the same proxy
            before = len(proxy.connects)
            env = {**os.environ, "HOME": str(proxied_kubeconfig.parent)}
            done = subprocess.run(
                [kubectl, "--kubeconfig", str(proxied_kubeconfig), "get", "gateways.networking.istio.io", "-A"],
                capture_output=True, text=True, env=env, timeout=60, check=False,
            )  # fmt: skip
            assert done.returncode == 0 and "gt-gateway" in done.stdout, done.stderr
            assert len(proxy.connects) > before
        # a wrong proxy password: one line, as for an unreachable server
        monkeypatch.setenv("HTTPS_PROXY", f"http://u:wrong@127.0.0.1:{proxy.port}")
        refused = run_cli(["gateways", "-A", "--kubeconfig", str(proxied_kubeconfig)])
        assert refused.code == ExitCode.UNAVAILABLE and "407" in refused.stderr and refused.stderr.count("\n") == 1
        # NO_PROXY names the host: the plugin goes direct, and that hostname does not resolve here
        monkeypatch.setenv("HTTPS_PROXY", f"http://u:s3cret@127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", ".svc")
        direct = run_cli(["gateways", "-A", "--kubeconfig", str(proxied_kubeconfig)])
        assert direct.code == ExitCode.UNAVAILABLE and "cannot reach the API server" in direct.stderr
    finally:
        proxy.close()


def test_kubeconfig_proxy_url(proxied_kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = ConnectProxy()
    try:
        monkeypatch.setenv("NO_PROXY", "*")  # proxy-url wins over the environment, as in kubectl
        config = yaml.safe_load(proxied_kubeconfig.read_text())
        config["clusters"][0]["cluster"]["proxy-url"] = f"http://127.0.0.1:{proxy.port}"
        proxied_kubeconfig.write_text(yaml.safe_dump(config))
        result = run_cli(["gateways", "-A", "--kubeconfig", str(proxied_kubeconfig)])
        assert result.code == 0, result.stderr
        assert [t for t, _ in proxy.connects] and "gt-gateway" in result.stdout
    finally:
        proxy.close()


# ----------------------------------------------------------------------------- list envelopes (the cache key)


@pytest.mark.parametrize(
    "shape",
    [
        # typed lists (kube-apiserver writes struct fields in order: metadata first)
        '{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"%s","continue":"%s"},"items":[%s]}',
        # custom resources (encoding/json of a map: keys sorted, metadata last)
        '{"apiVersion":"networking.istio.io/v1","items":[%s],"kind":"GatewayList","metadata":{"continue":"%s","resourceVersion":"%s"}}',
        # anything else: parsed in full
        '{ "kind": "PodList", "metadata": {"resourceVersion": "%s", "continue": "%s"}, "items": [%s] }',
    ],
)
def test_list_envelope_keys_on_the_items_not_on_the_list_version(shape: str) -> None:
    import json

    from kubectl_meshctl.kube.api import list_envelope

    def body(list_rv: str, token: str, item_rv: str) -> bytes:
        item = json.dumps({"metadata": {"name": "a", "resourceVersion": item_rv}, "spec": {"x": '}],"metadata":{'}})
        args = (item, token, list_rv) if shape.startswith('{"apiVersion"') else (list_rv, token, item)
        return (shape % args).encode()

    metadata, key = list_envelope(body("100", "tok", "7"))
    assert metadata == {"resourceVersion": "100", "continue": "tok"}
    assert list_envelope(body("200", "other", "7"))[1] == key  # a write elsewhere in the cluster: same key
    assert list_envelope(body("100", "tok", "8"))[1] != key  # this object was written: another key
    with pytest.raises(ValueError):
        list_envelope(b"[1, 2]")


def test_each_cluster_error_type_has_the_exit_code_the_readme_promises() -> None:
    """The shell's one table (cli/boundary.py): kube/ says what went wrong, never which code follows."""
    from kubectl_meshctl.cli.boundary import exit_code_for
    from kubectl_meshctl.kube import errors
    from kubectl_meshctl.kube.kubeconfig import KubeconfigError

    expected = {
        KubeconfigError: ExitCode.USAGE,
        errors.ConfigError: ExitCode.USAGE,
        errors.TimedOut: ExitCode.TEMPFAIL,
        errors.Denied: ExitCode.NOPERM,
        errors.Unreachable: ExitCode.UNAVAILABLE,
        errors.BadAnswer: ExitCode.UNAVAILABLE,
        errors.NotServed: ExitCode.UNAVAILABLE,
        errors.ApiStatus: ExitCode.UNAVAILABLE,
        errors.NotFound: ExitCode.UNAVAILABLE,
        errors.KubeError: ExitCode.ERROR,
    }
    for kind, code in expected.items():
        assert exit_code_for(kind("x", 403)) is code, kind
    assert exit_code_for(RuntimeError("a bug")) is None  # an internal error, said as one


# ----------------------------------------------------------------------------- the Gateway API

WEB_POD = "web-istio-7c9d8b6f5-abcde"
GATEWAY_API_GROUP = "/apis/gateway.networking.k8s.io"


@pytest.fixture
def gateway_api(fake_api_factory, tmp_path: Path) -> tuple[FakeApiServer, Path]:  # type: ignore[no-untyped-def]
    """The seed cluster with the Gateway API's CRDs and ``scenarios/gateway-api.yaml`` (Gateway shop/web, its pod and
    routes), and a kubeconfig for it."""
    server = fake_api_factory(gateway_api=True)
    server.load_gateway_api()
    return server, server.write_kubeconfig(tmp_path / "gateway-api-kubeconfig")


def _table(stdout: str) -> list[list[str]]:
    return [_cells(line) for line in stdout.splitlines()]


def test_gateway_api_gateways_are_listed_beside_istios(gateway_api: tuple[FakeApiServer, Path]) -> None:
    _, kubeconfig = gateway_api
    result = run_cli(["gateways", "-A", "--kubeconfig", str(kubeconfig)])
    assert result.code == 0, result.stderr
    header, istio, web = _table(result.stdout)
    assert header == ["NAMESPACE", "NAME", "SELECTOR", "SERVERS", "PODS", "ROUTES", "AGE"]
    assert istio[:6] == ["default", "gt-gateway", "istio=ingressgateway", "80/HTTP *", "1/1", "1"]
    servers = "80/HTTP *.example.com, 443/HTTPS shop.example.com (tls Terminate, certificate web-cert)"
    # two routes attach (store, grpc); typo names no listener, intruder's namespace is not allowed
    assert web[:6] == ["shop", "web", "gateway.networking.k8s.io/gateway-name=web", servers, "1/1", "2"]
    wide = _table(run_cli(["gw", "web", "-n", "shop", "-o", "wide", "--kubeconfig", str(kubeconfig)]).stdout)
    assert wide[0][-4:] == ["POD NAMES", "BOUND ROUTES", "CLASS", "ADDRESSES"]
    assert wide[1][-4:] == [f"{WEB_POD}.shop", "GRPCRoute/shop/grpc,HTTPRoute/shop/store", "istio", "<none>"]
    names = run_cli(["gateways", "-A", "-o", "name", "--kubeconfig", str(kubeconfig)]).stdout
    assert names == "gateway.networking.istio.io/gt-gateway\ngateway.gateway.networking.k8s.io/web\n"
    items = yaml.safe_load(run_cli(["gateways", "-A", "-o", "json", "--kubeconfig", str(kubeconfig)]).stdout)["items"]
    assert "apiVersion" not in items[0] and items[0]["virtualServices"] == ["default/vs-gateway"]
    assert items[1]["apiVersion"] == "gateway.networking.k8s.io/v1" and items[1]["gatewayClass"] == "istio"
    assert items[1]["pods"] == {"ready": 1, "total": 1, "names": [f"{WEB_POD}.shop"]}
    assert items[1]["routes"] == ["GRPCRoute/shop/grpc", "HTTPRoute/shop/store"]


def test_a_gateway_api_gateways_pods_are_those_labelled_in_its_namespace(gateway_api: tuple[FakeApiServer, Path]) -> None:
    server, kubeconfig = gateway_api
    pod = next(p for p in server.objects("pods") if p["metadata"]["name"] == WEB_POD)
    elsewhere = {**pod, "metadata": {**pod["metadata"], "name": "web-elsewhere", "namespace": "other"}}
    unready = {**pod, "metadata": {**pod["metadata"], "name": "web-unready"}, "status": {"phase": "Pending"}}
    server.add_objects([elsewhere, unready])
    (item,) = yaml.safe_load(run_cli(["gw", "web", "-n", "shop", "-o", "json", "--kubeconfig", str(kubeconfig)]).stdout)["items"]
    assert item["pods"] == {"ready": 1, "total": 2, "names": [f"{WEB_POD}.shop", "web-unready.shop"]}


def test_httproutes_list_parents_and_whether_each_attached(gateway_api: tuple[FakeApiServer, Path]) -> None:
    _, kubeconfig = gateway_api
    result = run_cli(["httproutes", "-A", "--kubeconfig", str(kubeconfig)])
    assert result.code == 0, result.stderr
    rows = _table(result.stdout)
    assert rows[0] == ["NAMESPACE", "NAME", "HOSTNAMES", "PARENTS", "RULES", "FINDINGS", "AGE"]
    assert [r[:5] for r in rows[1:]] == [
        ["other", "intruder", "x.example.com", "shop/web NotAllowedByListeners", "1"],
        ["shop", "grpc", "grpc.example.com", "shop/web/http Accepted", "1"],
        ["shop", "store", "shop.example.com", "shop/web Accepted", "2"],
        ["shop", "typo", "*", "shop/web/admin NoMatchingParent", "1"],
    ]
    items = yaml.safe_load(run_cli(["hr", "-A", "-o", "json", "--kubeconfig", str(kubeconfig)]).stdout)["items"]
    for row, item in zip(rows[1:], items, strict=True):  # FINDINGS counts the findings of the object at Warning and above
        serious = [f for f in item["findings"] if f["level"] in ("Warning", "Error")]
        assert (row[5] == "none") == (not serious), (row, item["findings"])
    assert [i["kind"] for i in items] == ["HTTPRoute", "GRPCRoute", "HTTPRoute", "HTTPRoute"]
    store = items[2]
    assert store["parents"] == [
        {
            "parentRef": "shop/web",
            "accepted": True,
            "reason": "Accepted",
            "message": "Route was valid",
            "listeners": ["shop/web/http", "shop/web/https"],
        }
    ]
    wide = _table(run_cli(["hr", "store", "-n", "shop", "-o", "wide", "--kubeconfig", str(kubeconfig)]).stdout)
    assert wide[0][-2:] == ["KIND", "LISTENERS"] and wide[1][-2:] == ["HTTPRoute", "shop/web/http,shop/web/https"]
    names = run_cli(["hr", "-n", "shop", "-o", "name", "--kubeconfig", str(kubeconfig)]).stdout.splitlines()
    assert names == [
        "grpcroute.gateway.networking.k8s.io/grpc",
        "httproute.gateway.networking.k8s.io/store",
        "httproute.gateway.networking.k8s.io/typo",
    ]
    missing = run_cli(["hr", "nope", "--kubeconfig", str(kubeconfig)])
    assert missing.code == ExitCode.NOT_FOUND
    assert missing.stderr.strip() == 'Error: httproutes.gateway.networking.k8s.io "nope" not found'
    assert run_cli(["hr", "--kubeconfig", str(kubeconfig)]).stderr == "No httproutes found in default namespace.\n"


def test_httproutes_summary_counts_the_findings_on_the_routes_shown(gateway_api: tuple[FakeApiServer, Path]) -> None:
    """Whatever the analysis finds on HTTPRoutes/GRPCRoutes, the summary line counts those of the rows shown only."""
    _, kubeconfig = gateway_api
    items = yaml.safe_load(run_cli(["hr", "-A", "-o", "json", "--kubeconfig", str(kubeconfig)]).stdout)["items"]
    flagged = sorted(f"{i['namespace']}/{i['name']}" for i in items if any(f["level"] != "Info" for f in i["findings"]))
    line = run_cli(["hr", "-A", "--kubeconfig", str(kubeconfig)]).stderr.strip()
    if flagged:
        assert line.endswith(": run kubectl meshctl analyze -A") and all(name in line for name in flagged), line
    else:
        assert line == ""
    assert run_cli(["hr", "grpc", "-n", "shop", "--kubeconfig", str(kubeconfig)]).stderr == ""  # attached: nothing to say


def test_listing_cache_keys_on_the_gateway_api_objects(gateway_api: tuple[FakeApiServer, Path]) -> None:
    server, kubeconfig = gateway_api
    listed = ("/httproutes", "/grpcroutes", "/gateways", "/referencegrants", "/gatewayclasses", "/namespaces")

    def full_lists() -> int:
        return sum(
            1
            for r in server.requests
            if r.path.startswith(GATEWAY_API_GROUP) and r.path.endswith(listed) and "Partial" not in (r.header("Accept") or "")
        )

    outputs = {}
    for args in (["gw", "-A", "-o", "wide"], ["hr", "-A", "-o", "wide"], ["hr", "-A", "-o", "json"]):
        server.requests.clear()
        fresh = run_cli([*args, "--no-cache", "--kubeconfig", str(kubeconfig)])
        first = run_cli([*args, "--kubeconfig", str(kubeconfig)])
        server.requests.clear()
        cached = run_cli([*args, "--kubeconfig", str(kubeconfig)])
        assert full_lists() == 0, args  # a hit: only metadata was read
        shown = table_without_age if args[-1] == "wide" else str  # AGE may tick between the three runs
        assert (shown(cached.stdout), cached.stderr) == (shown(first.stdout), first.stderr), args
        assert (shown(cached.stdout), cached.stderr) == (shown(fresh.stdout), fresh.stderr), args
        outputs[args[-1]] = cached.stdout
    # a changed HTTPRoute misses: typo now names the http listener
    typo = next(r for r in server.objects("httproutes.gateway.networking.k8s.io") if r["metadata"]["name"] == "typo")
    server.add_object({**typo, "spec": {**typo["spec"], "parentRefs": [{"name": "web", "sectionName": "http"}]}})
    server.requests.clear()
    after = run_cli(["hr", "-A", "-o", "wide", "--kubeconfig", str(kubeconfig)])
    assert full_lists() > 0
    assert "shop/web/http Accepted" in next(line for line in after.stdout.splitlines() if " typo " in line)
    assert "NoMatchingParent" in outputs["wide"]
    gw = _table(run_cli(["gw", "web", "-n", "shop", "-o", "wide", "--kubeconfig", str(kubeconfig)]).stdout)
    assert gw[1][4] == "3" and "HTTPRoute/shop/typo" in gw[1][-3]


def test_without_the_gateway_api_listings_are_unchanged_and_httproutes_says_why(
    fake_api: FakeApiServer, fake_kubeconfig: Path
) -> None:
    fake_api.requests.clear()
    result = run_cli(["gateways", "-A", "-o", "wide", "--kubeconfig", str(fake_kubeconfig)])
    assert result.code == 0 and result.stderr == "1 warning in default/vs-gateway: run kubectl meshctl analyze -A\n"
    assert _cells(result.stdout.splitlines()[0])[-3:] == ["AGE", "POD NAMES", "BOUND VIRTUALSERVICES"]
    asked = [r.path for r in fake_api.requests if r.path.startswith(GATEWAY_API_GROUP) or r.path == "/api/v1/namespaces"]
    assert asked == [GATEWAY_API_GROUP]  # asked once (404), for the metadata and the full read; nothing listed
    routes = run_cli(["hr", "-A", "--kubeconfig", str(fake_kubeconfig)])
    assert routes.code == ExitCode.UNAVAILABLE
    assert routes.stderr.startswith("Error: Gateway API CRDs not found: the API server") and routes.stdout == ""


def test_gateway_api_kinds_rbac_forbids_are_left_out_with_a_note(gateway_api: tuple[FakeApiServer, Path]) -> None:
    server, kubeconfig = gateway_api
    server.deny("list", "grpcroutes")
    result = run_cli(["gateways", "-A", "--kubeconfig", str(kubeconfig)])
    assert result.code == 0, result.stderr
    assert "Note: cannot list grpcroutes; listing without them" in result.stderr
    assert _table(result.stdout)[2][5] == "1"  # store only: grpc was not read
    routes = run_cli(["hr", "-A", "--kubeconfig", str(kubeconfig)])
    assert routes.code == 0 and " grpc " not in routes.stdout and " store " in routes.stdout
    server.deny("list", "httproutes")  # the kind httproutes cannot do without: the denial is the answer
    denied = run_cli(["hr", "-A", "--kubeconfig", str(kubeconfig)])
    assert denied.code == ExitCode.NOPERM and "list httproutes.gateway.networking.k8s.io" in denied.stderr
    assert run_cli(["gateways", "-A", "--kubeconfig", str(kubeconfig)]).code == 0


def test_analyze_reads_the_gateway_api_where_served(gateway_api: tuple[FakeApiServer, Path]) -> None:
    """analyze reads what the listings read: HTTPRoutes get their findings (here the two parentRefs that attach to
    nothing), and the VirtualService findings are what they were."""
    server, kubeconfig = gateway_api
    server.requests.clear()
    result = run_cli(["analyze", "-A", "--kubeconfig", str(kubeconfig)])
    assert [r.path for r in server.requests if r.path.startswith(GATEWAY_API_GROUP)]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Warning [IST0130] (VirtualService default/vs-gateway)")
    attached_nowhere = sorted(x.split(")")[0] for x in lines if "[MSH0404]" in x)
    assert attached_nowhere == ["Warning [MSH0404] (HTTPRoute other/intruder", "Warning [MSH0404] (HTTPRoute shop/typo"]


def test_httproutes_through_real_kubectl_are_the_same_objects(gateway_api: tuple[FakeApiServer, Path]) -> None:
    kubectl = find_kubectl()
    if kubectl is None:
        pytest.skip("kubectl is not on PATH")
    _, kubeconfig = gateway_api
    ours = run_cli(["hr", "-A", "-o", "json", "--kubeconfig", str(kubeconfig)])
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    native = {}
    for plural in ("httproutes", "grpcroutes"):
        done = subprocess.run(
            [kubectl, "get", plural, "-A", "-o", "json"], capture_output=True, text=True, env=env, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        for item in yaml.safe_load(done.stdout)["items"]:
            native[(item["kind"], item["metadata"]["namespace"], item["metadata"]["name"])] = item
    listed = yaml.safe_load(ours.stdout)["items"]
    assert {(i["kind"], i["namespace"], i["name"]) for i in listed} == set(native)
    for item in listed:
        spec = native[(item["kind"], item["namespace"], item["name"])]["spec"]
        assert item["hostnames"] == spec.get("hostnames", [])
        assert item["rules"] == len(spec["rules"]) and len(item["parents"]) == len(spec["parentRefs"])


def test_trace_predicts_a_gateway_api_gateways_pod_from_the_cluster(gateway_api: tuple[FakeApiServer, Path]) -> None:
    """``trace URL POD --predict`` on the pod istiod deploys for Gateway API Gateway shop/web: the routes come from the
    cluster's HTTPRoutes, converted as istiod converts them (PathPrefix /cart is path-separated)."""
    _, kubeconfig = gateway_api
    pod = "web-istio-7c9d8b6f5-abcde.shop"
    args = ["--predict", "-o", "json", "--kubeconfig", str(kubeconfig)]
    [cart] = json.loads(run_cli(["trace", "http://shop.example.com/cart/1", pod, *args]).stdout)
    [other] = json.loads(run_cli(["trace", "http://shop.example.com/cartx", pod, *args]).stdout)
    assert (cart["route"]["httpRoute"], cart["route"]["rule"], cart["route"]["match"]) == ("shop/store", 0, 0)
    assert (other["route"]["httpRoute"], other["route"]["rule"], other["route"]["match"]) == ("shop/store", 1, None)
    assert cart["route"]["destinations"][0]["host"] == "store.shop.svc.cluster.local"


def test_a_gateway_api_gateway_is_addressed_as_gateway_name_ns(gateway_api: tuple[FakeApiServer, Path]) -> None:
    """``gateway/NAME.NS`` means the pod istiod deploys for that Gateway API Gateway (the gateway-name label)."""
    _, kubeconfig = gateway_api
    by_pod = run_cli(["routes", "web-istio-7c9d8b6f5-abcde.shop", "--predict", "--kubeconfig", str(kubeconfig)])
    by_gateway = run_cli(["routes", "gateway/web.shop", "--predict", "--kubeconfig", str(kubeconfig)])
    assert by_gateway.code == 0 and by_gateway.stdout == by_pod.stdout and "shop.example.com" in by_gateway.stdout
    missing = run_cli(["routes", "gateway/nope.shop", "--predict", "--kubeconfig", str(kubeconfig)])
    assert missing.code == ExitCode.NOT_FOUND and "gateway shop/nope has no pods" in missing.stderr


def test_completion_names_gateway_api_gateways_and_routes(
    gateway_api: tuple[FakeApiServer, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """``gateways NAME`` completes Gateway API Gateways too, ``hr NAME`` HTTPRoutes and GRPCRoutes; a cluster without
    the Gateway API completes Istio's names as before (the unserved paths add nothing, print nothing)."""
    from kubectl_meshctl.cli import kubectl_complete

    _, kubeconfig = gateway_api
    with pytest.raises(SystemExit):
        kubectl_complete(["gateways", "--kubeconfig", str(kubeconfig), "-n", "shop", "w"])
    assert capsys.readouterr().out == "web\n:4\n"
    with pytest.raises(SystemExit):
        kubectl_complete(["hr", "--kubeconfig", str(kubeconfig), "-n", "shop", ""])
    assert capsys.readouterr().out == "grpc\nstore\ntypo\n:4\n"
    with pytest.raises(SystemExit):
        kubectl_complete(["httproutes", "--kubeconfig", str(kubeconfig), "-n", "shop", "s"])
    assert capsys.readouterr().out == "store\n:4\n"


def test_completion_without_the_gateway_api(fake_kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kubectl_meshctl.cli import kubectl_complete

    with pytest.raises(SystemExit):
        kubectl_complete(["gateways", "--kubeconfig", str(fake_kubeconfig), "gt"])
    assert capsys.readouterr().out == "gt-gateway\n:4\n"
    with pytest.raises(SystemExit):
        kubectl_complete(["hr", "--kubeconfig", str(fake_kubeconfig), ""])
    assert capsys.readouterr().out == ":4\n"


def _reachable_from(root: object) -> list[object]:
    """Objects reachable from ``root`` through references, not through modules, classes or module globals."""
    import gc
    import sys
    import types

    module_dicts = {id(m.__dict__) for m in list(sys.modules.values()) if m is not None}
    seen: set[int] = set()
    found: list[object] = []
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, (types.ModuleType, type)) or id(obj) in module_dicts:
            continue
        seen.add(id(obj))
        found.append(obj)
        todo.extend(gc.get_referents(obj))
    return found


def test_a_started_read_lets_go_of_the_pages(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    """A command that starts the fetch before its imports keeps the function that finishes it until it is done; the
    pages as sent must not live that long (12 MB through the analysis at 5,000 VirtualServices)."""
    from kubectl_meshctl.kube.api import Api
    from kubectl_meshctl.kube.cluster_source import ClusterSource, RawRead
    from kubectl_meshctl.kube.connection import connect
    from kubectl_meshctl.resources.kinds import GATEWAY_API_KINDS, LISTED_KINDS

    conn = connect(kubeconfig=str(fake_kubeconfig), context=None, namespace=None, timeout=None)
    source = ClusterSource(Api(conn), namespace=None, kinds=LISTED_KINDS, optional=GATEWAY_API_KINDS)
    finish = source.start_reading()
    result = finish()
    assert any(vs.meta.name == "vs-gateway" for vs in result.snapshot.virtual_services)
    held = _reachable_from(finish)
    assert not [o for o in held if isinstance(o, RawRead)]
    assert not [o for o in held if isinstance(o, bytes) and b'"items"' in o]
    # and a failed fetch is raised by the function that finishes it
    fake_api.deny("list", "virtualservices")
    with pytest.raises(Exception, match="virtualservices"):
        ClusterSource(Api(conn), namespace=None, kinds=LISTED_KINDS, optional=GATEWAY_API_KINDS).start_reading()()
