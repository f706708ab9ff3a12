"""Exec credential plugins (``kube/exec_credential.py``), run by the plugin itself and checked against the real kubectl.

kubectl is the oracle: for one kubeconfig, a recording plugin must see the same ``KUBERNETES_EXEC_INFO``, arguments,
environment and standard input whether kubectl or the plugin runs it, and a plugin that fails must get kubectl's
message (what kubectl prints after "Unable to connect to the server: ").  The rest is what kubectl cannot show: the
output bound, a token that cannot be a header, no import of the official client.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import run_cli
from fakeapi.fixtures import find_kubectl
from fakeapi.server import FakeApiServer

from kubectl_meshctl.exitcodes import ExitCode
from kubectl_meshctl.kube import exec_credential
from kubectl_meshctl.kube.exec_credential import ExecPluginError, exec_credentials

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"

RECORDER = """#!/bin/sh
# records what it was given beside $1, then prints the credential in $2
out="$1"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$out.info"
printf '%s\\n' "$@" > "$out.args"
printf '%s' "${MESHCTL_TEST_VAR-unset}" > "$out.env"
if [ -t 0 ]; then echo tty > "$out.stdin"; else cat > "$out.stdin"; fi
cat "$2"
"""


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KUBECACHEDIR", str(tmp_path / "cache"))


def _credential(token: str, *, api_version: str = V1, **status: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": "ExecCredential", "status": {"token": token, **status}}


def _kubeconfig(fake_api: FakeApiServer, directory: Path, exec_config: dict[str, Any], **cluster: Any) -> Path:
    kubeconfig = fake_api.write_kubeconfig(directory / "kc")
    config = yaml.safe_load(kubeconfig.read_text())
    config["users"][0]["user"] = {"exec": exec_config}
    config["clusters"][0]["cluster"].update(cluster)
    kubeconfig.write_text(yaml.safe_dump(config))
    return kubeconfig


def _recorder(directory: Path, output: str | bytes) -> tuple[Path, Path, Path]:
    """The recording plugin, the file it prints, and the prefix of its records."""
    plugin = directory / "record.sh"
    plugin.write_text(RECORDER)
    plugin.chmod(0o755)
    printed = directory / "printed"
    printed.write_bytes(output.encode() if isinstance(output, str) else output)
    return plugin, printed, directory / "rec"


def _records(prefix: Path) -> dict[str, Any]:
    return {
        "info": json.loads(prefix.with_suffix(".info").read_text()),
        "args": prefix.with_suffix(".args").read_text().splitlines(),
        "env": prefix.with_suffix(".env").read_text(),
        "stdin": prefix.with_suffix(".stdin").read_text(),
    }


def _kubectl(kubeconfig: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    kubectl = find_kubectl()
    if kubectl is None:
        pytest.skip("kubectl is not on PATH")
    env = {**os.environ, "HOME": str(tmp_path / "kubectl-home")}
    return subprocess.run(
        [kubectl, "--kubeconfig", str(kubeconfig), "get", "gateways.networking.istio.io", "-A"],
        capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip


# ----------------------------------------------------------------------------- what the plugin is given


@pytest.mark.parametrize(
    ("case", "extra", "cluster"),
    [
        ("v1, Never", {"apiVersion": V1, "interactiveMode": "Never"}, {}),
        ("v1beta1, no mode (IfAvailable)", {"apiVersion": V1BETA1}, {}),
        ("cluster info", {"apiVersion": V1, "interactiveMode": "Never", "provideClusterInfo": True}, {
            "extensions": [{"name": "client.authentication.k8s.io/exec", "extension": {"audience": "meshctl", "count": 3}},
                           {"name": "other", "extension": {"x": 1}}],
        }),
        ("cluster info, CA file", {"apiVersion": V1, "interactiveMode": "IfAvailable", "provideClusterInfo": True}, {
            "certificate-authority": "ca.pem",
        }),
    ],
)  # fmt: skip
def test_the_plugin_sees_what_kubectl_gives_it(
    case: str,
    extra: dict[str, Any],
    cluster: dict[str, Any],
    fake_api: FakeApiServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exec_credential, "_stdin_is_terminal", lambda: False)  # as for kubectl, run with /dev/null
    api_version = extra["apiVersion"]
    plugin, printed, prefix = _recorder(tmp_path, json.dumps(_credential(fake_api.token, api_version=api_version)))
    if "certificate-authority" in cluster:
        (tmp_path / "ca.pem").write_bytes(fake_api.certs.ca_pem)
        cluster = {**cluster, "certificate-authority-data": None}
    exec_config = {
        "command": str(plugin),
        "args": [str(prefix), str(printed), "--flag=a b", ""],
        "env": [{"name": "MESHCTL_TEST_VAR", "value": "from kubeconfig"}],
        **extra,
    }
    kubeconfig = _kubeconfig(fake_api, tmp_path, exec_config, **cluster)

    done = _kubectl(kubeconfig, tmp_path)
    assert done.returncode == 0, done.stderr
    by_kubectl = _records(prefix)
    for record in prefix.parent.glob("rec.*"):
        record.unlink()

    ours = run_cli(["gateways", "-A", "--kubeconfig", str(kubeconfig)])
    assert ours.code == 0, ours.stderr
    assert "gt-gateway" in ours.stdout
    assert _records(prefix) == by_kubectl
    assert by_kubectl["env"] == "from kubeconfig" and by_kubectl["stdin"] == ""  # not a terminal: no standard input
    info = by_kubectl["info"]
    assert info["apiVersion"] == api_version and info["spec"]["interactive"] is False
    if extra.get("provideClusterInfo"):
        assert base64.b64decode(info["spec"]["cluster"]["certificate-authority-data"]) == fake_api.certs.ca_pem
        assert info["spec"]["cluster"]["server"] == fake_api.url


def test_an_interactive_plugin_gets_the_terminal_only_when_there_is_one(tmp_path: Path) -> None:
    plugin, printed, prefix = _recorder(tmp_path, json.dumps(_credential("t0k3n")))
    base = {"command": str(plugin), "args": [str(prefix), str(printed)], "apiVersion": V1}
    assert exec_credentials({**base, "interactiveMode": "IfAvailable"}, {"server": "https://x"}, stdin_is_terminal=True)
    assert json.loads(prefix.with_suffix(".info").read_text())["spec"] == {"interactive": True}
    exec_credentials({**base, "interactiveMode": "IfAvailable"}, {"server": "https://x"}, stdin_is_terminal=False)
    assert json.loads(prefix.with_suffix(".info").read_text())["spec"] == {"interactive": False}
    with pytest.raises(ExecPluginError, match="cannot support interactive mode: standard input is not a terminal"):
        exec_credentials({**base, "interactiveMode": "Always"}, {"server": "https://x"}, stdin_is_terminal=False)
    assert exec_credentials({**base, "interactiveMode": "Always"}, {"server": "https://x"}, stdin_is_terminal=True)


# ----------------------------------------------------------------------------- failures, in kubectl's words


def _kubectl_reason(done: subprocess.CompletedProcess[str]) -> str:
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Unable to connect to the server: "), done.stderr
    return last.removeprefix("Unable to connect to the server: ")


@pytest.mark.parametrize(
    ("case", "script"),
    [
        ("exit 3", "exit 3"),
        ("killed", "kill -9 $$"),
        ("not JSON", "echo hello"),
        ("other version", f"echo '{json.dumps(_credential('t', api_version=V1BETA1))}'"),
        ("no status", f"echo '{json.dumps({'apiVersion': V1, 'kind': 'ExecCredential'})}'"),
        ("empty status", f"echo '{json.dumps({'apiVersion': V1, 'kind': 'ExecCredential', 'status': {}})}'"),
        ("certificate only", f"echo '{json.dumps(_credential('', clientCertificateData='x'))}'"),
        ("key only", f"echo '{json.dumps(_credential('', clientKeyData='x'))}'"),
    ],
)
def test_a_failing_plugin_gets_kubectls_message(case: str, script: str, fake_api: FakeApiServer, tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.sh"
    plugin.write_text(f"#!/bin/sh\n{script}\n")
    plugin.chmod(0o755)
    kubeconfig = _kubeconfig(fake_api, tmp_path, {"command": str(plugin), "apiVersion": V1, "interactiveMode": "Never"})
    ours = run_cli(["gateways", "--kubeconfig", str(kubeconfig)])
    assert ours.code == ExitCode.USAGE
    (line,) = ours.stderr.splitlines()
    assert line.startswith("Error: getting credentials: ")
    theirs = _kubectl_reason(_kubectl(kubeconfig, tmp_path))
    if case == "not JSON":  # kubectl goes on with Go's decoder's words
        assert theirs.startswith(line.removeprefix("Error: ") + ": json: cannot unmarshal")
    else:
        assert line.removeprefix("Error: ") == theirs


def test_a_missing_plugin_gets_kubectls_message_and_the_install_hint_on_one_line(fake_api: FakeApiServer, tmp_path: Path) -> None:
    for command in ("/nonexistent/plugin", "meshctl-no-such-plugin"):
        hint = "Install it with:\n  brew install meshctl-auth"
        kubeconfig = _kubeconfig(
            fake_api, tmp_path, {"command": command, "apiVersion": V1, "interactiveMode": "Never", "installHint": hint}
        )
        ours = run_cli(["gateways", "--kubeconfig", str(kubeconfig)])
        assert ours.code == ExitCode.USAGE
        (line,) = ours.stderr.splitlines()
        theirs = _kubectl_reason(_kubectl(kubeconfig, tmp_path)) if command.startswith("/") else ""
        if command.startswith("/"):
            assert line == f"Error: {theirs}"
        else:  # kubectl adds a paragraph of help and the hint on lines of their own
            assert (
                line
                == f"Error: getting credentials: exec: executable {command} not found (Install it with: brew install meshctl-auth)"
            )


def test_a_relative_command_is_the_kubeconfigs_and_a_bare_one_is_looked_up_on_path(
    fake_api: FakeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bin").mkdir()
    credential = tmp_path / "bin" / "cred"
    credential.write_text(f"#!/bin/sh\necho '{json.dumps(_credential(fake_api.token))}'\n")
    credential.chmod(0o755)
    kubeconfig = _kubeconfig(fake_api, tmp_path, {"command": "./bin/cred", "apiVersion": V1, "interactiveMode": "Never"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert run_cli(["gateways", "--kubeconfig", str(kubeconfig)], cwd=elsewhere).code == 0
    kubeconfig = _kubeconfig(fake_api, tmp_path, {"command": "cred", "apiVersion": V1, "interactiveMode": "Never"})
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert run_cli(["gateways", "--kubeconfig", str(kubeconfig)], cwd=elsewhere).code == 0


@pytest.mark.parametrize(
    ("exec_config", "message"),
    [
        ({"apiVersion": V1}, 'interactiveMode must be specified for user "fakeapi-user" to use exec authentication plugin'),
        ({"apiVersion": V1, "interactiveMode": "Sometimes"}, 'invalid interactiveMode for user "fakeapi-user": "Sometimes"'),
        ({"apiVersion": "client.authentication.k8s.io/v2", "interactiveMode": "Never"}, "exec plugin: invalid apiVersion"),
    ],
)
def test_a_plugin_kubectl_refuses_to_run_is_not_run(
    exec_config: dict[str, Any], message: str, fake_api: FakeApiServer, tmp_path: Path
) -> None:
    ran = tmp_path / "ran"
    plugin = tmp_path / "plugin.sh"
    plugin.write_text(f"#!/bin/sh\ntouch {ran}\nexit 1\n")
    plugin.chmod(0o755)
    kubeconfig = _kubeconfig(fake_api, tmp_path, {"command": str(plugin), **exec_config})
    ours = run_cli(["gateways", "--kubeconfig", str(kubeconfig)])
    assert ours.code == ExitCode.USAGE and message in ours.stderr, ours.stderr
    assert not ran.exists()
    done = _kubectl(kubeconfig, tmp_path)
    assert done.returncode != 0 and message.replace('user "fakeapi-user"', "fakeapi-user") in done.stderr
    assert not ran.exists()


def test_a_user_with_a_token_runs_no_plugin(fake_api: FakeApiServer, tmp_path: Path) -> None:
    kubeconfig = fake_api.write_kubeconfig(tmp_path / "kc")
    config = yaml.safe_load(kubeconfig.read_text())
    config["users"][0]["user"]["exec"] = {"command": "/bin/false", "apiVersion": V1, "interactiveMode": "Never"}
    kubeconfig.write_text(yaml.safe_dump(config))
    assert run_cli(["gateways", "--kubeconfig", str(kubeconfig)]).code == 0
    assert _kubectl(kubeconfig, tmp_path).returncode == 0


# ----------------------------------------------------------------------------- what kubectl cannot show


def test_a_client_certificate_from_the_plugin_authenticates(fake_api: FakeApiServer, tmp_path: Path) -> None:
    from fakeapi.certs import issue_client_certificate

    cert, key = issue_client_certificate(fake_api.certs, tmp_path / "pki", "jane")
    status = {"clientCertificateData": cert.read_text(), "clientKeyData": key.read_text()}
    plugin, printed, prefix = _recorder(tmp_path, json.dumps(_credential("", **status)))
    kubeconfig = _kubeconfig(
        fake_api,
        tmp_path,
        {"command": str(plugin), "args": [str(prefix), str(printed)], "apiVersion": V1, "interactiveMode": "Never"},
    )
    result = run_cli(["gateways", "--kubeconfig", str(kubeconfig)])
    assert result.code == 0, result.stderr
    assert {r.user for r in fake_api.requests} == {"jane"}
    assert _kubectl(kubeconfig, tmp_path).returncode == 0


def test_a_token_that_cannot_be_a_header_is_refused_and_never_shown(fake_api: FakeApiServer, tmp_path: Path) -> None:
    secret = "zq7-exec-secret"
    plugin, printed, prefix = _recorder(tmp_path, json.dumps(_credential(f"{secret}\r\nX-Injected: 1")))
    kubeconfig = _kubeconfig(
        fake_api,
        tmp_path,
        {"command": str(plugin), "args": [str(prefix), str(printed)], "apiVersion": V1, "interactiveMode": "Never"},
    )
    for debug in ([], ["--debug"]):
        result = run_cli(["gateways", "--kubeconfig", str(kubeconfig), *debug])
        assert result.code == ExitCode.USAGE
        assert "characters not allowed in an HTTP header" in result.stderr
        assert secret not in result.stderr + result.stdout
    assert fake_api.requests == []


def test_endless_output_is_cut_and_the_plugin_stopped(tmp_path: Path) -> None:
    plugin = tmp_path / "endless.sh"
    plugin.write_text(
        "#!/bin/sh\nwhile :; do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done\n"
    )
    plugin.chmod(0o755)
    started = time.monotonic()
    with pytest.raises(ExecPluginError, match="wrote more than 1 MiB"):
        exec_credentials({"command": str(plugin), "apiVersion": V1, "interactiveMode": "Never"}, {"server": "https://x"})
    assert time.monotonic() - started < 30


def test_output_up_to_the_bound_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    padded = json.dumps(_credential("t0k3n")).encode()
    padded += b" " * (exec_credential.OUTPUT_LIMIT - len(padded))
    plugin, printed, prefix = _recorder(tmp_path, padded)
    config = {"command": str(plugin), "args": [str(prefix), str(printed)], "apiVersion": V1, "interactiveMode": "Never"}
    assert exec_credentials(config, {"server": "https://x"}) == {"token": "t0k3n"}
    printed.write_bytes(padded + b" ")
    with pytest.raises(ExecPluginError, match="wrote more than"):
        exec_credentials(config, {"server": "https://x"})


def test_an_exec_kubeconfig_does_not_import_the_official_client(fake_api: FakeApiServer, tmp_path: Path) -> None:
    kubeconfig = fake_api.write_kubeconfig(tmp_path / "kc", exec_credential=True)
    code = (
        "import sys\n"
        "from kubectl_meshctl.kube.connection import connect\n"
        f"connect(kubeconfig={str(kubeconfig)!r}, context=None, namespace=None, timeout=None)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'urllib3', 'logging')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout


@pytest.mark.parametrize(
    ("mode", "terminal", "seen"),
    [("Never", True, ""), ("IfAvailable", False, ""), ("IfAvailable", True, "typed\n"), ("", True, "typed\n")],
)
def test_standard_input_reaches_only_an_interactive_plugin(mode: str, terminal: bool, seen: str, tmp_path: Path) -> None:
    """What the user types (or pipes in) is the plugin's only when it runs interactively, as in client-go (a v1beta1
    plugin without a mode: IfAvailable)."""
    plugin, printed, prefix = _recorder(tmp_path, json.dumps(_credential("t0k3n", api_version=V1BETA1)))
    config = {"command": str(plugin), "args": [str(prefix), str(printed)], "apiVersion": V1BETA1}
    if mode:
        config["interactiveMode"] = mode
    code = (
        "import sys\n"
        "from kubectl_meshctl.kube.exec_credential import exec_credentials\n"
        f"exec_credentials({config!r}, {{'server': 'https://x'}}, stdin_is_terminal={terminal})\n"
    )
    subprocess.run([sys.executable, "-c", code], input="typed\n", text=True, timeout=60, check=True)
    assert prefix.with_suffix(".stdin").read_text() == seen
    assert json.loads(prefix.with_suffix(".info").read_text())["spec"]["interactive"] is bool(seen)


def test_what_the_plugin_hands_over_is_never_printed(fake_api: FakeApiServer, tmp_path: Path) -> None:
    """The token and the key a plugin returns are registered for redaction as a kubeconfig's own are: no later line
    (an error, a --debug traceback) can carry them."""
    from fakeapi.certs import issue_client_certificate

    from kubectl_meshctl import redact
    from kubectl_meshctl.kube.connection import connect

    cert, key = issue_client_certificate(fake_api.certs, tmp_path / "pki", "jane")
    token = "zq7-exec-token-handed-over"
    status = {"clientCertificateData": cert.read_text(), "clientKeyData": key.read_text()}
    plugin, printed, prefix = _recorder(tmp_path, json.dumps(_credential(token, **status)))
    exec_config = {"command": str(plugin), "args": [str(prefix), str(printed)], "apiVersion": V1, "interactiveMode": "Never"}
    kubeconfig = _kubeconfig(fake_api, tmp_path, exec_config)
    connect(kubeconfig=str(kubeconfig), context=None, namespace=None, timeout=None)
    key_lines = [line for line in key.read_text().splitlines() if "-----" not in line]
    for secret in (token, base64.b64encode(key.read_bytes()).decode(), *key_lines):
        assert secret not in redact.redact(f"Error: {secret} was in the way"), secret
