"""Hostile networks: no credential leaves its server, every request ends by its deadline, memory stays bounded.

The fake API server's faults (``fakeapi.server.Fault``) play broken or malicious servers; ``fakeapi.proxies``
plays the proxies in between and a stranger who must never hear from the plugin.  Every test asserts what was sent
where, not only what was printed.
"""

from __future__ import annotations

import http.server
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import REPO, TESTS, run_cli
from fakeapi.proxies import ConnectProxy, Recorder, Socks5Proxy
from fakeapi.server import FakeApiServer, Fault

from kubectl_meshctl.exitcodes import ExitCode
from kubectl_meshctl.kube.transport import MAX_BODY

POD = "istio-ingressgateway-5d7f9b8c4-x2x7q"
FORWARD = f"/api/v1/namespaces/istio-system/pods/{POD}/portforward"
GATEWAYS = "/apis/networking.istio.io/v1/gateways"
DUMP = TESTS / "golden-routes" / "routes" / "istio-gateway-http-route-prefix" / "configdump.json"


@pytest.fixture(autouse=True)
def _private_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def admin(fake_api: FakeApiServer) -> Iterator[int]:
    """The gateway pod's Envoy admin port, as far as the plugin can tell: answers /config_dump with a real dump."""
    body = DUMP.read_bytes()

    class Admin(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Admin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake_api.set_pod_backend("istio-system", POD, 15000, "127.0.0.1", server.server_address[1])
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _edit(kubeconfig: Path, *, cluster: dict[str, object] | None = None, user: dict[str, object] | None = None) -> Path:
    config = yaml.safe_load(kubeconfig.read_text())
    config["clusters"][0]["cluster"].update(cluster or {})
    if user is not None:
        config["users"][0]["user"] = user
    kubeconfig.write_text(yaml.safe_dump(config))
    return kubeconfig


def _one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    (line,) = stderr.splitlines()
    return line


def _tls_pair(fake: FakeApiServer) -> tuple[Path, Path]:
    return fake.certs.cert_file, fake.certs.key_file


# ----------------------------------------------------------------------------- credentials stay with their server


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_a_redirected_port_forward_upgrade_is_not_followed(
    scheme: str, fake_api: FakeApiServer, fake_kubeconfig: Path, admin: int
) -> None:
    with Recorder(tls=_tls_pair(fake_api) if scheme == "wss" else None) as stranger:
        fake_api.faults.append(Fault(FORWARD, "redirect", location=f"{scheme}://127.0.0.1:{stranger.port}/steal"))
        result = run_cli(["routes", f"{POD}.istio-system", "--kubeconfig", str(fake_kubeconfig), "--request-timeout", "5s"])
        time.sleep(0.2)  # a connection the plugin made would have been accepted by now
        assert stranger.received == []
    # the pod proxy is the second way, on the same server
    assert result.code == 0, result.stderr
    assert "httpbin.default" in result.stdout
    upgrade = next(r for r in fake_api.requests if r.path == FORWARD)
    assert upgrade.status == 302 and upgrade.header("Authorization") == f"Bearer {fake_api.token}"


def test_an_unanswered_port_forward_upgrade_ends_by_the_deadline(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    fake_api.faults.append(Fault(FORWARD, "silent"))
    start = time.monotonic()
    result = run_cli(["routes", f"{POD}.istio-system", "--kubeconfig", str(fake_kubeconfig), "--request-timeout", "1s"])
    assert time.monotonic() - start < 4
    assert result.code == ExitCode.TEMPFAIL
    assert "timed out after 1s" in _one_line_error(result.stderr)


@pytest.mark.parametrize("kind", ["http", "https", "socks5"])
@pytest.mark.parametrize("credential", ["token", "exec"])
def test_every_request_goes_through_the_configured_proxy(
    kind: str, credential: str, fake_api: FakeApiServer, tmp_path: Path, admin: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fake is named by a hostname only the proxy resolves: a request that bypassed the proxy would fail."""
    kubeconfig = fake_api.write_kubeconfig(tmp_path / "kc", exec_credential=credential == "exec")
    if kind == "https":  # the proxy's certificate is checked against the system roots, as kubectl does
        monkeypatch.setenv("SSL_CERT_FILE", str(fake_api.certs.ca_file))
    proxy: ConnectProxy | Socks5Proxy
    proxy = Socks5Proxy() if kind == "socks5" else ConnectProxy(tls=_tls_pair(fake_api) if kind == "https" else None)
    host = "localhost" if kind == "https" else "127.0.0.1"  # the serving certificate names both
    with proxy:
        _edit(
            kubeconfig,
            cluster={"server": f"https://kubernetes.default.svc:{fake_api.port}", "proxy-url": f"{kind}://{host}:{proxy.port}"},
        )
        result = run_cli(["routes", f"{POD}.istio-system", "--kubeconfig", str(kubeconfig)])
        assert result.code == 0, result.stderr
        assert "httpbin.default" in result.stdout
        targets = [c if isinstance(c, str) else c[0] for c in proxy.connects]
    assert targets and set(targets) == {f"kubernetes.default.svc:{fake_api.port}"}
    upgrade = next(r for r in fake_api.requests if r.path == FORWARD)
    assert upgrade.status == 101  # the port-forward itself went through the proxy


def test_a_token_file_ending_in_a_newline_works_with_every_kind_of_user(fake_api: FakeApiServer, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(fake_api.token + "\n")  # what `echo $TOKEN > file` writes
    kubeconfig = _edit(
        fake_api.write_kubeconfig(tmp_path / "kc"),
        cluster={"disable-compression": True},
        user={"tokenFile": str(token_file), "as": "jane", "as-groups": ["viewers", "auditors"]},
    )
    result = run_cli(["gateways", "-A", "--kubeconfig", str(kubeconfig)])
    assert result.code == 0, result.stderr
    sent = fake_api.requests[-1]
    assert sent.header("Authorization") == f"Bearer {fake_api.token}"
    assert sent.header("Impersonate-User") == "jane"


def test_a_token_with_a_line_break_is_refused_without_printing_it(fake_api: FakeApiServer, tmp_path: Path) -> None:
    kubeconfig = _edit(fake_api.write_kubeconfig(tmp_path / "kc"), user={"token": "abc\r\nX-Injected: 1"})
    result = run_cli(["gateways", "-A", "--kubeconfig", str(kubeconfig)])
    assert result.code == ExitCode.USAGE
    assert "abc" not in _one_line_error(result.stderr)
    assert fake_api.requests == []


def test_no_credential_is_left_on_disk(
    fake_api: FakeApiServer, tmp_path: Path, admin: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64
    import tempfile

    from fakeapi.certs import issue_client_certificate

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    cert, key = issue_client_certificate(fake_api.certs, tmp_path / "pki", "jane")
    keyed = _edit(
        fake_api.write_kubeconfig(tmp_path / "keyed"),
        user={
            "client-certificate-data": base64.b64encode(cert.read_bytes()).decode(),
            "client-key-data": base64.b64encode(key.read_bytes()).decode(),
        },
    )
    exec_kubeconfig = fake_api.write_kubeconfig(tmp_path / "exec", exec_credential=True)
    for kubeconfig in (keyed, exec_kubeconfig):
        result = run_cli(["routes", f"{POD}.istio-system", "--kubeconfig", str(kubeconfig)])
        assert result.code == 0, result.stderr
        assert list(scratch.iterdir()) == []
    assert {r.user for r in fake_api.requests} == {"jane", fake_api.user}


def test_a_password_in_the_server_url_is_never_printed(fake_api: FakeApiServer, tmp_path: Path) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    kubeconfig = _edit(fake_api.write_kubeconfig(tmp_path / "kc"), cluster={"server": f"https://admin:hunter2@127.0.0.1:{port}"})
    for debug in ([], ["--debug"]):
        result = run_cli(["gateways", "-A", "--kubeconfig", str(kubeconfig), *debug])
        assert result.code == ExitCode.UNAVAILABLE
        assert "hunter2" not in result.stderr + result.stdout
        assert f"https://127.0.0.1:{port}" in result.stderr


# ----------------------------------------------------------------------------- deadlines and bounded answers


@pytest.mark.parametrize("kind", ["drip", "endless", "silent"])
def test_request_timeout_is_a_deadline(kind: str, fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    fake_api.faults.append(Fault(GATEWAYS, kind, interval=0.3))
    start = time.monotonic()
    result = run_cli(["gateways", "-A", "--no-cache", "--kubeconfig", str(fake_kubeconfig), "--request-timeout", "1s"])
    assert time.monotonic() - start < 4
    line = _one_line_error(result.stderr)
    if kind == "endless" and result.code == ExitCode.UNAVAILABLE:  # loopback can be fast enough to hit the size limit
        assert "too large" in line
        return
    assert result.code == ExitCode.TEMPFAIL, result.stderr
    assert "timed out after 1s (--request-timeout)" in line


def test_a_list_that_never_ends_is_an_error(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    fake_api.faults.append(Fault(GATEWAYS, "loop-continue"))
    looping = run_cli(["gateways", "-A", "--no-cache", "--kubeconfig", str(fake_kubeconfig)])
    assert looping.code == ExitCode.UNAVAILABLE
    assert "continue token it sent before" in _one_line_error(looping.stderr)
    # fresh tokens forever: the run's bound (10 x --request-timeout) ends it
    fake_api.faults[:] = [Fault(GATEWAYS, "fresh-continue")]
    start = time.monotonic()
    fresh = run_cli(["gateways", "-A", "--no-cache", "--kubeconfig", str(fake_kubeconfig), "--request-timeout", "0.2s"])
    assert time.monotonic() - start < 5
    assert fresh.code == ExitCode.TEMPFAIL
    _one_line_error(fresh.stderr)


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("items-not-list", "items are not a list of objects"),
        ("truncated", "the body ended after"),
        ("bad-chunked", "bad chunked encoding"),
    ],
)
def test_malformed_answers_are_one_line_and_exit_69(
    kind: str, words: str, fake_api: FakeApiServer, fake_kubeconfig: Path
) -> None:
    fake_api.faults.append(Fault(GATEWAYS, kind))
    result = run_cli(["gateways", "-A", "--no-cache", "--kubeconfig", str(fake_kubeconfig)])
    assert result.code == ExitCode.UNAVAILABLE
    assert words in _one_line_error(result.stderr)


def test_an_endless_body_without_a_deadline_is_cut_at_the_size_limit(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    """No --request-timeout (as kubectl, none by default): the body limit still bounds memory."""
    fake_api.faults.append(Fault(GATEWAYS, "endless"))
    env = {**os.environ, "HOME": str(fake_kubeconfig.parent), "PYTHONPATH": str(REPO)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run(
        [sys.executable, "-m", "kubectl_meshctl", "gateways", "-A", "--no-cache", "--kubeconfig", str(fake_kubeconfig)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert done.returncode == ExitCode.UNAVAILABLE, done.stderr
    assert "too large" in _one_line_error(done.stderr)
    if peak_kib > before:  # the largest child so far is this one
        assert peak_kib * 1024 < 3 * MAX_BODY + (200 << 20)


def test_names_are_one_path_segment(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    """A name from the user or the server cannot make a request reach another path of the API server."""
    from kubectl_meshctl.kube.transport import segment

    assert segment("a/../../apis/x?y#z") == "a%2F..%2F..%2Fapis%2Fx%3Fy%23z"
    result = run_cli(["routes", "deployment/x?watch=1#.istio-system", "--kubeconfig", str(fake_kubeconfig)])
    assert result.code == ExitCode.NOT_FOUND, result.stderr
    (asked,) = [r for r in fake_api.requests if "deployments" in r.path]
    assert asked.path == "/apis/apps/v1/namespaces/istio-system/deployments/x?watch=1#" and asked.raw_query == ""


def test_a_refused_port_forward_says_why_and_the_pod_proxy_is_tried(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    """No admin backend at all: both ways fail, and the one line says why each did (the Status, the error channel)."""
    fake_api.faults.append(Fault(FORWARD, "redirect", location="ws://127.0.0.1:1/x"))
    redirected = run_cli(["routes", f"{POD}.istio-system", "--kubeconfig", str(fake_kubeconfig)])
    line = _one_line_error(redirected.stderr)
    assert "the API server answered 302 to the port-forward upgrade (redirects are not followed)" in line
    assert "pod proxy failed" in line
    fake_api.faults.clear()
    refused = run_cli(["routes", f"{POD}.istio-system", "--kubeconfig", str(fake_kubeconfig)])
    line = _one_line_error(refused.stderr)
    assert "port-forward to 15000 failed (error forwarding port 15000 to pod" in line  # the error channel's text


def test_list_items_must_be_objects() -> None:
    from kubectl_meshctl.kube.api import page_items
    from kubectl_meshctl.kube.errors import BadAnswer

    for body in (b'{"kind":"GatewayList","items":[1,2]}', b'{"kind":"GatewayList","items":{}}', b'{"kind":"GatewayList"}'):
        with pytest.raises(BadAnswer, match="items are not a list of objects"):
            list(page_items([body]))
    assert list(page_items([b'{"kind":"GatewayList","apiVersion":"v1","items":null}'])) == []


def test_the_contexts_secrets_are_redacted_from_every_message(fake_api: FakeApiServer, tmp_path: Path) -> None:
    """connect registers the kubeconfig's secrets: even a message that quotes one (here the server URL) hides it."""
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    secret = "s3cr3t-t0ken-4711-abcdef"
    kubeconfig = _edit(
        fake_api.write_kubeconfig(tmp_path / "kc"),
        cluster={"server": f"https://127.0.0.1:{port}/{secret}"},
        user={"token": secret},
    )
    for debug in ([], ["--debug"]):
        result = run_cli(["gateways", "-A", "--kubeconfig", str(kubeconfig), *debug])
        assert result.code == ExitCode.UNAVAILABLE
        assert secret not in result.stderr and "[REDACTED]" in result.stderr
