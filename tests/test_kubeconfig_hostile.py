"""Broken and hostile kubeconfigs: one line naming the file and field, exit 64, never a crash or a secret.

The first half pins the message of each kind of mistake (kubectl's wording where kubectl has one); the
second is a property-based fuzz test: real kubeconfig shapes, mutated (wrong types at every field,
deletions, control characters, unicode, huge values, YAML oddities, alias bombs), run through the CLI's
real error boundary against a closed port.
"""

from __future__ import annotations

import base64
import copy
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import run_cli, table_without_age
from fakeapi.server import FakeApiServer
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_kubeconfig_yaml import REAL

from kubectl_meshctl.exitcodes import ExitCode
from kubectl_meshctl.kube import kubeconfig_yaml
from kubectl_meshctl.kube.kubeconfig import KubeconfigError, resolve, secrets_of

# every secret below contains MARK; nothing else the tests write does
MARK = "zq7"
TOKEN = "zq7-token-5b1e0c9d4f2a"
PASSWORD = "zq7-password-8c2a"
KEY_PEM = "-----BEGIN RSA PRIVATE KEY-----\nzq7KEYMATERIALzq7KEYMATERIAL0123\n-----END RSA PRIVATE KEY-----\n"
KEY_DATA = base64.b64encode(KEY_PEM.encode()).decode()
PROXY_PASSWORD = "zq7-proxy-pw"
SERVER_PASSWORD = "zq7-server-pw"
EXEC_TOKEN = "zq7-exec-token-77"
SECRETS = (TOKEN, PASSWORD, KEY_PEM.splitlines()[1], KEY_DATA, PROXY_PASSWORD, SERVER_PASSWORD, EXEC_TOKEN)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KUBECACHEDIR", str(tmp_path / "cache"))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _leaks(text: str) -> list[str]:
    basic = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    return [s for s in (*SECRETS, basic) if s in text] + ([MARK] if MARK in text else [])


def _gateways(kubeconfig: Path, *extra: str) -> Any:
    return run_cli(["gateways", "-A", "--kubeconfig", str(kubeconfig), "--request-timeout", "2s", *extra])


# ----------------------------------------------------------------------------- each mistake, its message

HEAD = "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
CONTEXT = "contexts:\n- name: c\n  context: {cluster: cl, user: u}\n"
CLUSTER = "clusters:\n- name: cl\n  cluster: {server: 'https://127.0.0.1:PORT'}\n"
USER = f"users:\n- name: u\n  user: {{token: {TOKEN}}}\n"
EXEC = "{apiVersion: client.authentication.k8s.io/v1beta1, command: /bin/false, interactiveMode: Never}"


def _cluster(body: str) -> str:
    return f"clusters:\n- name: cl\n  cluster: {{{body}}}\n"


def _user(body: str) -> str:
    return f"users:\n- name: u\n  user: {{{body}}}\n"


CASES = {
    # the file's shape, as kubectl's decoder checks it ('error loading config file "F": FIELD: ...')
    "top level a list": ("- a\n", 'F: top level: expected a map, got list'),
    "clusters an int": (HEAD + "clusters: 5\n" + CONTEXT + USER, "F: clusters: expected a list, got int"),
    "users a map": (HEAD + CONTEXT + CLUSTER + "users: {u: 1}\n", "F: users: expected a list, got map"),
    "context entry an int": (HEAD + "contexts:\n- 5\n" + CLUSTER, "F: contexts[0]: expected a map, got int"),
    "context body an int": (HEAD + "contexts:\n- name: c\n  context: 7\n" + CLUSTER, "F: contexts[0].context: expected a map, got int"),
    "name a list": (HEAD + "contexts:\n- name: [c]\n  context: {}\n" + CLUSTER, "F: contexts[0].name: expected a string, got list"),
    "current-context a map": ("current-context: {a: b}\n" + CONTEXT + CLUSTER, "F: current-context: expected a string, got map"),
    "context cluster an int": (HEAD + "contexts:\n- name: c\n  context: {cluster: 1}\n" + CLUSTER,
                               "F: contexts[0].context.cluster: expected a string, got int"),
    "server an int": (HEAD + CONTEXT + USER + _cluster("server: 5"), "F: clusters[0].cluster.server: expected a string, got int"),
    "CA data not base64": (HEAD + CONTEXT + USER + _cluster("server: 'https://127.0.0.1:PORT', certificate-authority-data: 'zq7*'"),
                           "F: clusters[0].cluster.certificate-authority-data: illegal base64 data"),
    "exec user, CA data not base64": (
        HEAD + CONTEXT + _user(f"exec: {EXEC}") + _cluster("server: 'https://127.0.0.1:PORT', certificate-authority-data: 'zq7*'"),
        "F: clusters[0].cluster.certificate-authority-data: illegal base64 data",
    ),
    "key data not base64": (HEAD + CONTEXT + CLUSTER + _user("client-certificate-data: YWJj, client-key-data: 'zq7-key*'"),
                            "F: users[0].user.client-key-data: illegal base64 data"),
    "cert data not base64": (HEAD + CONTEXT + CLUSTER + _user("client-certificate-data: 'a b', client-key-data: YWJj"),
                             "F: users[0].user.client-certificate-data: illegal base64 data"),
    "token an int": (HEAD + CONTEXT + CLUSTER + _user("token: 12345"), "F: users[0].user.token: expected a string, got int"),
    "password an int": (HEAD + CONTEXT + CLUSTER + _user("username: admin, password: 6"),
                        "F: users[0].user.password: expected a string, got int"),
    "username a list": (HEAD + CONTEXT + CLUSTER + _user(f"username: [a], password: {PASSWORD}"),
                        "F: users[0].user.username: expected a string, got list"),
    "insecure a string": (HEAD + CONTEXT + USER + _cluster("server: 'https://127.0.0.1:PORT', insecure-skip-tls-verify: 'yes'"),
                          "F: clusters[0].cluster.insecure-skip-tls-verify: expected a bool, got string"),
    "exec an int": (HEAD + CONTEXT + CLUSTER + _user("exec: 5"), "F: users[0].user.exec: expected a map, got int"),
    "exec args not strings": (HEAD + CONTEXT + CLUSTER + _user("exec: {command: x, apiVersion: v1, args: [1]}"),
                              "F: users[0].user.exec.args: expected a list of strings"),
    "exec env not a list": (HEAD + CONTEXT + CLUSTER + _user("exec: {command: x, apiVersion: v1, env: {A: b}}"),
                            "F: users[0].user.exec.env: expected a list, got map"),
    "token as binary": (HEAD + CONTEXT + CLUSTER + _user("token: !!binary YWJj"), "F: users[0].user.token: expected a string, got bytes"),
    "YAML syntax": (HEAD + f"users:\n- name: u\n  user: {{token: {TOKEN}\n", "F: yaml: line "),
    # what client-go's validation says ('invalid configuration: ...')
    "context missing": (HEAD.replace("current-context: c", "current-context: nope") + CONTEXT + CLUSTER + USER,
                        "invalid configuration: context was not found for specified context: nope"),
    "cluster reference dangling": (HEAD + "contexts:\n- name: c\n  context: {cluster: nope, user: u}\n" + CLUSTER + USER,
                                   'invalid configuration: cluster "nope" was not found for context "c"'),
    "user reference dangling": (HEAD + "contexts:\n- name: c\n  context: {cluster: cl, user: nope}\n" + CLUSTER + USER,
                                'invalid configuration: user "nope" was not found for context "c"'),
    "no cluster named": (HEAD + "contexts:\n- name: c\n  context: {user: u}\n" + CLUSTER + USER,
                         'invalid configuration: cluster was not specified for context "c"'),
    "no server": (HEAD + CONTEXT + USER + _cluster("insecure-skip-tls-verify: true"),
                  'invalid configuration: no server found for cluster "cl"'),
    "empty server": (HEAD + CONTEXT + USER + _cluster("server: ''"), 'invalid configuration: no server found for cluster "cl"'),
    "bad IPv6 literal": (HEAD + CONTEXT + USER + _cluster("server: 'https://[::1:443'"),
                         'invalid configuration: server "https://[::1:443" of cluster "cl" is not a URL: Invalid IPv6 URL'),
    "bad port": (HEAD + CONTEXT + USER + _cluster("server: 'https://127.0.0.1:99999'"), 'of cluster "cl" is not a URL: Port'),
    "ftp server": (HEAD + CONTEXT + USER + _cluster(f"server: 'ftp://me:{SERVER_PASSWORD}@h:1'"),
                   'unsupported protocol scheme "ftp"'),
    "server without host": (HEAD + CONTEXT + USER + _cluster("server: 'https://:443'"), 'of cluster "cl" has no host'),
    "server with a newline": (HEAD + CONTEXT + USER + _cluster('server: "https://127.0.0.1:1/\\nX: y"'),
                              "it contains whitespace or control characters"),
    "proxy scheme": (HEAD + CONTEXT + USER + _cluster(f"server: 'https://127.0.0.1:PORT', proxy-url: 'ftp://u:{PROXY_PASSWORD}@h:1'"),
                     'for cluster "cl": unsupported scheme "ftp", must be http, https, or socks5'),
    "proxy unparsable": (HEAD + CONTEXT + USER + _cluster("server: 'https://127.0.0.1:PORT', proxy-url: 'http://[::1'"),
                         "invalid 'proxy-url' \"http://[::1\" for cluster \"cl\": could not parse"),
    "token with CR LF": (HEAD + CONTEXT + CLUSTER + _user(f'token: "{TOKEN}\\r\\nX-Evil: 1"'),
                         'invalid configuration: the token of user "u" contains characters not allowed in an HTTP header'),
    "token not ASCII": (HEAD + CONTEXT + CLUSTER + _user(f'token: "{TOKEN}\\u0100"'),
                        "contains characters not allowed in an HTTP header"),
    "impersonation with LF": (HEAD + CONTEXT + CLUSTER + _user(f'token: {TOKEN}, as: "x\\ny"'),
                              "the impersonation settings of user \"u\" contain characters not allowed"),
    "tokenFile missing": (HEAD + CONTEXT + CLUSTER + _user("tokenFile: /nonexistent/token"),
                          'invalid configuration: unable to read tokenFile "/nonexistent/token" for user "u": No such file'),
    "tokenFile a directory": (HEAD + CONTEXT + CLUSTER + _user("tokenFile: /"), 'unable to read tokenFile "/" for user "u": Is a directory'),
    "CA file missing": (HEAD + CONTEXT + USER + _cluster("server: 'https://127.0.0.1:PORT', certificate-authority: /nonexistent/ca"),
                        'unable to read certificate-authority "/nonexistent/ca" for cluster "cl": No such file'),
    "exec without command": (HEAD + CONTEXT + CLUSTER + _user("exec: {apiVersion: v1}"),
                             'invalid configuration: command must be specified for user "u" to use exec authentication plugin'),
    "exec and auth-provider": (HEAD + CONTEXT + CLUSTER + _user(f"exec: {EXEC}, auth-provider: {{name: oidc, config: {{id-token: a.b.c}}}}"),
                               'invalid configuration: authProvider cannot be provided in combination with an exec plugin for user "u"'),
    "exec without apiVersion": (HEAD + CONTEXT + CLUSTER + _user("exec: {command: /bin/false}"),
                                'apiVersion must be specified for user "u" to use exec authentication plugin'),
    "namespace not a label": (HEAD + "contexts:\n- name: c\n  context: {cluster: cl, user: u, namespace: '../x'}\n" + CLUSTER + USER,
                              'invalid configuration: namespace "../x" for context "c" does not conform to the kubernetes DNS_LABEL'),
    "no context or cluster": ("apiVersion: v1\nkind: Config\n", "invalid configuration: no configuration has been provided"),
    # PyYAML takes 0b__ for a binary number and its own int() fails: one line, not an internal error (exit 1)
    "token PyYAML cannot read as the number it takes it for": (
        HEAD + CONTEXT + CLUSTER + "users:\n- name: u\n  user: {token: 0b__}\n",
        "F: yaml: a value that YAML 1.1 reads as a number is not one (quote it)",
    ),
    # PyYAML up to 6.0.3 reads it (then the shape check speaks); 6.0.4's libyaml refuses the nesting itself
    "nested 3000 deep": (HEAD + "users: " + "[" * 3000 + "]" * 3000 + "\n" + CONTEXT + CLUSTER,
                         "F: users[0]: expected a map, got list || F: yaml: line 4, column 1007: exceeded maximum nesting depth"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_mistake_is_one_line_naming_file_and_field(case: str, tmp_path: Path) -> None:
    text, expected = CASES[case]
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(text.replace("PORT", str(_closed_port())))
    alternatives = [e.replace("F: ", f'error loading config file "{kubeconfig}": ') for e in expected.split(" || ")]
    with pytest.raises(KubeconfigError) as raised:
        resolve(kubeconfig=str(kubeconfig), context=None, namespace=None)
    message = str(raised.value)
    assert any(e in message for e in alternatives) and "\n" not in message and not _leaks(message), message
    result = _gateways(kubeconfig)
    assert result.code == ExitCode.USAGE, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ") and any(e in line for e in alternatives), line
    assert not _leaks(result.stderr)


def test_the_missing_context_of_context_flag(fake_kubeconfig: Path) -> None:
    result = _gateways(fake_kubeconfig, "--context", "zz\x1b[2Jtop")
    assert result.code == ExitCode.USAGE
    (line,) = result.stderr.splitlines()
    assert "context was not found for specified context: zz\\x1b[2Jtop" in line and "\x1b" not in line


@pytest.mark.parametrize("path", ["/dev/zero", "/"])
def test_a_kubeconfig_that_is_endless_or_a_directory(path: str) -> None:
    result = run_cli(["gateways", "--kubeconfig", path])
    assert result.code == ExitCode.USAGE
    assert result.stderr.startswith(f'Error: error loading config file "{path}": ')
    assert result.stderr.rstrip().endswith(("larger than 64 MiB", "Is a directory"))


def test_a_large_kubeconfig_below_the_limit_is_read(fake_kubeconfig: Path, tmp_path: Path) -> None:
    """Merged kubeconfigs with hundreds of clusters run to megabytes: 2 MiB of it (a comment here) is well in bounds."""
    large = tmp_path / "kubeconfig-large"
    large.write_bytes(fake_kubeconfig.read_bytes() + b"\n# " + b"x" * (2 << 20) + b"\n")
    plain, padded = _gateways(fake_kubeconfig), _gateways(large)
    assert plain.code == 0 and (padded.code, table_without_age(padded.stdout)) == (0, table_without_age(plain.stdout))


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_a_kubeconfig_with_other_newlines_reads_the_same(fake_kubeconfig: Path, tmp_path: Path, newline: str) -> None:
    """Saved by a Windows editor (CRLF), or with old Mac line ends: read as text mode reads it, the same cluster."""
    other = tmp_path / "kubeconfig-newlines"
    other.write_bytes(fake_kubeconfig.read_bytes().replace(b"\n", newline.encode()))
    assert newline.encode() in other.read_bytes()
    plain, rewritten = _gateways(fake_kubeconfig), _gateways(other)
    assert plain.code == 0 and rewritten.code == 0 and rewritten.stderr == plain.stderr
    assert table_without_age(rewritten.stdout) == table_without_age(plain.stdout)


def test_namespace_flag_must_be_a_label(fake_kubeconfig: Path) -> None:
    result = _gateways(fake_kubeconfig, "-n", "default/../../x")
    assert result.code == ExitCode.USAGE and 'invalid namespace "default/../../x"' in result.stderr


@pytest.mark.parametrize("command", ["/bin/false", "/nonexistent/plugin"])
def test_a_failing_exec_plugin_is_one_line(command: str, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text((HEAD + CONTEXT + CLUSTER + _user(f"exec: {EXEC}")).replace("/bin/false", command).replace("PORT", "1"))
    result = _gateways(kubeconfig)
    assert result.code in (ExitCode.USAGE, ExitCode.NOPERM)
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ") and command in line


# ----------------------------------------------------------------------------- tokenFile


def test_token_file_with_a_trailing_newline_works(fake_api: FakeApiServer, tmp_path: Path) -> None:
    kubeconfig = fake_api.write_kubeconfig(tmp_path / "kc")
    (tmp_path / "token").write_text(f"  {fake_api.token}\n")
    config = yaml.safe_load(kubeconfig.read_text())
    config["users"][0]["user"] = {"tokenFile": "token"}  # relative to the kubeconfig, as in kubectl
    kubeconfig.write_text(yaml.safe_dump(config))
    result = _gateways(kubeconfig)
    assert result.code == 0, result.stderr
    assert "gt-gateway" in result.stdout
    resolved = resolve(kubeconfig=str(kubeconfig), context=None, namespace=None)
    assert resolved.user == {"token": fake_api.token}  # read once, trimmed: every path sends the same header
    assert resolved.client_config["users"] == [{"name": "fakeapi-user", "user": {"token": fake_api.token}}]


def test_token_file_is_bounded_and_its_content_never_shown(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    for content, reason in (
        (b"a" * (2 << 20), "larger than 1048576 bytes"),
        (f"{TOKEN}\r\nX: y".encode(), "the token contains characters not allowed in an HTTP header"),
        (b"\xff" + TOKEN.encode(), "not UTF-8 text"),
    ):
        (tmp_path / "token").write_bytes(content)
        kubeconfig.write_text((HEAD + CONTEXT + CLUSTER + _user("tokenFile: token")).replace("PORT", "1"))
        result = _gateways(kubeconfig)
        assert result.code == ExitCode.USAGE
        assert f'unable to read tokenFile "{tmp_path / "token"}" for user "u": {reason}' in result.stderr
        assert not _leaks(result.stderr) and "aaaa" not in result.stderr


# ----------------------------------------------------------------------------- secrets_of


def test_secrets_of_lists_every_credential(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        HEAD
        + CONTEXT
        + _cluster(
            f"server: 'https://me:{SERVER_PASSWORD}@127.0.0.1:1', proxy-url: 'http://u:{PROXY_PASSWORD.replace('-', '%2D')}@p:3128'"
        )
        + _user(f"token: {TOKEN}, username: admin, password: {PASSWORD}, client-key-data: {KEY_DATA}")
    )
    resolved = resolve(kubeconfig=str(kubeconfig), context=None, namespace=None)
    found = secrets_of(resolved, environ={"HTTPS_PROXY": "http://env:zq7-env-pw@proxy:1"})
    for secret in (TOKEN, PASSWORD, KEY_DATA, KEY_PEM, SERVER_PASSWORD, PROXY_PASSWORD, "zq7-env-pw",
                   KEY_PEM.splitlines()[1], base64.b64encode(f"admin:{PASSWORD}".encode()).decode(),
                   base64.b64encode(f"u:{PROXY_PASSWORD}".encode()).decode()):  # fmt: skip
        assert secret in found, secret
    assert found == sorted(found, key=len, reverse=True)
    assert "admin" not in found and "127.0.0.1" not in found


def test_resolve_reads_no_more_than_the_kubeconfig(tmp_path: Path) -> None:
    """Not a benchmark: a guard that resolve() on a kubeconfig in the fast subset imports nothing heavy."""
    import subprocess
    import sys

    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(REAL["kind"])
    code = (
        "import sys; from kubectl_meshctl.kube.kubeconfig import resolve, secrets_of; before = set(sys.modules);"
        f"secrets_of(resolve(kubeconfig={str(kubeconfig)!r}, context=None, namespace=None));"
        "print(sorted(set(sys.modules) - before))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


# ----------------------------------------------------------------------------- the fast YAML reader on hostile text


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    base=st.sampled_from(sorted(REAL)),
    position=st.integers(min_value=0, max_value=10**6),
    inserted=st.text(
        alphabet=st.sampled_from(
            ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\xa0", "\u2028", "\u2029", "\ufeff", "\ufffe", "\u3000", "\t", "\r",
             "é", "😀", " ", "#", ":", "-", "'", '"', "&", "*", "!", "|", "\n"]
        ),
        min_size=1,
        max_size=3,
    ),
)  # fmt: skip
def test_fast_reader_never_reads_what_pyyaml_would_not(base: str, position: int, inserted: str) -> None:
    text = REAL[base]
    at = position % (len(text) + 1)
    mutated = text[:at] + inserted + text[at:]
    fast = kubeconfig_yaml.load(mutated)
    if fast is not None:
        assert fast == yaml.safe_load(mutated), repr(mutated)


# ----------------------------------------------------------------------------- the fuzz test


@dataclass(frozen=True)
class _Fuzz:
    port: int
    plugin: str
    work: Path
    ca: Path
    cert: Path
    key: Path

    @property
    def key_secrets(self) -> tuple[str, ...]:
        pem = self.key.read_text()
        lines = tuple(line for line in pem.splitlines() if line and not line.startswith("-----"))
        return (base64.b64encode(pem.encode()).decode(), *lines)


def _bases(env: _Fuzz) -> dict[str, dict[str, Any]]:
    """The real shapes with real certificates and planted secrets, every server pointing at a closed port."""
    out = {}
    for name, text in REAL.items():
        doc = yaml.safe_load(text)
        for entry in doc["clusters"]:
            cluster = entry["cluster"]
            cluster["server"] = f"https://127.0.0.1:{env.port}"
            if "certificate-authority-data" in cluster:
                cluster["certificate-authority-data"] = base64.b64encode(env.ca.read_bytes()).decode()
            if "certificate-authority" in cluster:
                cluster["certificate-authority"] = str(env.ca)
        for entry in doc["users"]:
            user = entry["user"]
            if "exec" in user:
                user["exec"]["command"] = env.plugin  # never the real gcloud/aws
                user["exec"].pop("args", None)
            if "client-key-data" in user:
                user["client-certificate-data"] = base64.b64encode(env.cert.read_bytes()).decode()
                user["client-key-data"] = base64.b64encode(env.key.read_bytes()).decode()
            if "client-key" in user:
                user["client-certificate"], user["client-key"] = str(env.cert), str(env.key)
            if "token" in user:
                user["token"] = TOKEN
            if "password" in user:
                user["password"] = PASSWORD
        out[name] = doc
    token = yaml.safe_load((HEAD + CONTEXT + CLUSTER + USER).replace("PORT", str(env.port)))
    token["clusters"][0]["cluster"]["proxy-url"] = f"http://u:{PROXY_PASSWORD}@127.0.0.1:{env.port}"
    token["clusters"][0]["cluster"]["server"] = f"https://me:{SERVER_PASSWORD}@127.0.0.1:{env.port}"
    out["token"] = token
    basic = copy.deepcopy(token)
    basic["users"][0]["user"] = {"username": "admin", "password": PASSWORD, "client-key-data": KEY_DATA}
    del basic["clusters"][0]["cluster"]["proxy-url"]
    out["basic"] = basic
    other = copy.deepcopy(basic)
    other["users"][0]["user"] = {
        "token": TOKEN,
        "as": "jane",
        "as-groups": ["admins", "devs"],
        "as-user-extra": {"scopes": ["view"]},
        "auth-provider": {"name": "oidc", "config": {"id-token": "a.b.c", "refresh-token": "zq7-refresh", "client-id": "x"}},
    }
    out["impersonation-oidc"] = other
    return out


ODD_STRINGS = [
    "", " ", "~", "null", "yes", "0x1F", "1e3", "-", "\x00", "\x1b[31mred", "a\r\nb", "\u2028", "\u202etxt", "\ufeff",
    "é", "😀" * 3, "x" * 100_000, "https://[::1:443", "https://127.0.0.1:99999", "ftp://h", "http://", "socks5://127.0.0.1:1",
    "127.0.0.1:6443", "/nonexistent/file", "/", "/dev/null", "../../etc/passwd", "a/../b", "%00", "YWJj", "not*base64",
    "client.authentication.k8s.io/v1beta1", "IfAvailable", "fakeapi", "kind-kind", "minikube", "c", "cl", "u",
]  # fmt: skip
ODD_VALUES = st.one_of(
    st.sampled_from(ODD_STRINGS),
    st.text(max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.binary(max_size=8),
    st.just([]),
    st.just({}),
    st.lists(st.sampled_from(ODD_STRINGS[:20]), max_size=3),
    st.dictionaries(
        st.sampled_from(["name", "cluster", "user", "server", "command"]), st.sampled_from(ODD_STRINGS[:20]), max_size=2
    ),
)


def _mutate(doc: Any, data: st.DataObject) -> Any:
    """One change at a random place: a value replaced by one of another type, a key deleted, an entry doubled."""
    path: list[Any] = []
    node = doc
    while isinstance(node, (dict, list)) and node and data.draw(st.booleans(), label="deeper"):
        key = data.draw(st.sampled_from(sorted(node, key=str) if isinstance(node, dict) else list(range(len(node)))))
        path.append(key)
        node = node[key]
    action = data.draw(st.sampled_from(["replace", "replace", "delete", "duplicate"]), label="action")
    if not path:
        return data.draw(ODD_VALUES) if action == "replace" else doc
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if action == "replace":
        parent[last] = data.draw(ODD_VALUES, label="value")
    elif action == "delete":
        del parent[last]
    elif isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    return doc


def _text_of(doc: Any, data: st.DataObject) -> str:
    style = data.draw(st.sampled_from(["block", "flow", "indented", "json"]), label="style")
    if style == "json":
        import json

        text = json.dumps(doc, default=str)  # JSON is YAML: kubectl reads it too
    else:
        try:
            text = yaml.safe_dump(doc, default_flow_style=style == "flow", indent=4 if style == "indented" else 2, width=10**6)
        except yaml.YAMLError:
            text = yaml.dump(doc)
    extra = data.draw(st.sampled_from(["none", "none", "insert", "truncate", "alias-bomb", "document-marker", "tag"]))
    if extra == "insert":
        at = data.draw(st.integers(min_value=0, max_value=len(text)))
        text = (
            text[:at]
            + data.draw(st.sampled_from(["\t", "\r", "\x00", "\x85", "\u2028", "\ufeff", ": ", "- ", "&a ", "*a", "{", "'"]))
            + text[at:]
        )
    elif extra == "truncate":
        text = text[: data.draw(st.integers(min_value=0, max_value=len(text)))]
    elif extra == "alias-bomb":
        bomb = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        bomb += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
        text = "\n".join(bomb) + "\n" + text
    elif extra == "document-marker":
        text = "---\n" + text + "\n---\nmore: docs\n"
    elif extra == "tag":
        text = (
            "!!python/object:os.system\n" + text if data.draw(st.booleans()) else text.replace("server:", "server: !!binary", 1)
        )
    return text  # fmt: skip


def _exec_plugin(tmp_path: Path) -> str:
    import json

    plugin = tmp_path / "plugin"
    credential = {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential", "status": {"token": EXEC_TOKEN}}
    plugin.write_text(f"#!/bin/sh\necho '{json.dumps(credential)}'\n")
    plugin.chmod(0o755)
    return str(plugin)


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory) -> _Fuzz:
    from fakeapi.certs import generate_bundle, issue_client_certificate

    work = tmp_path_factory.mktemp("fuzz")
    bundle = generate_bundle(work / "pki")
    cert, key = issue_client_certificate(bundle, work / "pki", "jane")
    return _Fuzz(_closed_port(), _exec_plugin(work), work, bundle.ca_file, cert, key)


ALLOWED = {ExitCode.OK, ExitCode.USAGE, ExitCode.UNAVAILABLE, ExitCode.TEMPFAIL, ExitCode.NOPERM}


@settings(
    max_examples=int(os.environ.get("MESHCTL_FUZZ_EXAMPLES", "300")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_fuzzed_kubeconfigs_keep_the_contract(data: st.DataObject, fuzz_env: _Fuzz) -> None:
    """Whatever the kubeconfig: an allowed exit code, no traceback or internal error, one line, no secret."""
    bases = _bases(fuzz_env)
    doc: Any = copy.deepcopy(bases[data.draw(st.sampled_from(sorted(bases)), label="base")])
    for _ in range(data.draw(st.sampled_from([0, 1, 1, 2, 4]), label="mutations")):
        doc = _mutate(doc, data)
    kubeconfig = fuzz_env.work / "config"
    kubeconfig.write_text(_text_of(doc, data), encoding="utf-8", errors="surrogatepass")
    start = time.monotonic()
    result = _gateways(kubeconfig)
    spent = time.monotonic() - start
    output = result.stdout + result.stderr
    event(f"exit {result.code}")
    assert result.code in ALLOWED, output
    assert "Traceback" not in output and "internal error" not in output, output
    if result.code:
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("Error: "), result.stderr
    assert not _leaks(output) and not [k for k in fuzz_env.key_secrets if k in output], output
    assert spent < 15, f"{spent:.1f}s"


def test_a_server_without_a_scheme_gets_one_as_in_kubectl(fake_api: FakeApiServer, tmp_path: Path) -> None:
    """client-go's DefaultServerURL: HOST:PORT means https:// when the cluster has TLS settings."""
    kubeconfig = fake_api.write_kubeconfig(tmp_path / "kc")
    config = yaml.safe_load(kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"127.0.0.1:{fake_api.port}"
    kubeconfig.write_text(yaml.safe_dump(config))
    result = _gateways(kubeconfig)
    assert result.code == 0, result.stderr
    assert "gt-gateway" in result.stdout


def test_an_auth_providers_files_are_gone_when_its_token_is_handed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The official client writes the cluster's CA (and an OIDC provider's) to files while it reads an auth-provider's
    credentials: they go into a private directory removed before the token is handed over."""
    import json
    import tempfile

    from kubectl_meshctl.kube import connection

    def b64url(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    id_token = ".".join([b64url(b'{"alg":"none"}'), b64url(json.dumps({"exp": 4102444800}).encode()), "sig"])
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "cl", "cluster": {"server": "https://127.0.0.1:1", "certificate-authority-data": ca}}],
        "users": [{"name": "u", "user": {"auth-provider": {"name": "oidc", "config": {"id-token": id_token, "client-id": "x"}}}}],
        "contexts": [{"name": "c", "context": {"cluster": "cl", "user": "u"}}],
        "current-context": "c",
    }
    made: list[str] = []
    real_mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args: Any, **kwargs: Any) -> str:
        made.append(real_mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    user = config["users"][0]["user"]  # type: ignore[index]
    got = connection._auth_provider_credentials(config, "c", user)
    assert got["token"] == id_token
    assert made and not any(os.path.exists(path) for path in made)
