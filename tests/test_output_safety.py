"""What reaches the terminal: --debug never changes an exit code, no secret reaches stderr, no control character
from the input reaches any human output raw, every Error/Warning/Note line is one line, no traceback without --debug.
"""

from __future__ import annotations

import ast
import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, TESTS, run_cli
from fakeapi.server import FakeApiServer
from manifests import gateway, http_rule, server, shadowed_pair, virtual_service

from kubectl_meshctl import redact
from kubectl_meshctl.cli import PluginError
from kubectl_meshctl.exitcodes import ExitCode

SEED = REPO / "examples" / "seed.yaml"
DUMP = TESTS / "golden-routes" / "routes" / "istio-gateway-http-route-prefix" / "configdump.json"
HOSTILE = ["a\nError: forged", "x\x1b[31mred", "c\rd", "e\u2028f", "g\th"]
FORGE = "\nError: FORGED\x1b[2K\r"
TOKEN = "tok-9f8e7d6c5b4a3210"
PASSWORD = "s3cret-Passw0rd"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1secretkeymaterial0123456789abcdef\nAnotherLineOfKeyMaterial9876543210zyxwvu\n-----END RSA PRIVATE KEY-----"
LEVELS = ("Error [", "Warning [", "Info [")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    yield
    redact.forget_all()


def _printable_lines(text: str) -> list[str]:
    """The lines of ``text``, asserting that none holds a control character (ESC, CR, tab, U+2028…)."""
    lines = text.split("\n")
    for line in lines:
        assert line.isprintable(), repr(line)
    return lines


def _raise_internal(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    def boom(*_args: Any, **_kwargs: Any) -> str:
        raise exc

    monkeypatch.setattr("kubectl_meshctl.analysis.report.render_log", boom)


# ----------------------------------------------------------------------------- 1. --debug keeps the exit code

DEBUG_CASES: dict[str, tuple[list[str], int, str | None]] = {
    "plugin-error": (["routes", "-f", "/nonexistent/dump.json"], ExitCode.DATA, None),
    "plugin-usage-error": (["analyze", "-f", str(SEED), "-S", "IST0130"], ExitCode.USAGE, None),
    "exit-findings": (["analyze", "-f", str(SEED), "--failure-threshold", "Warning"], ExitCode.FINDINGS, None),
    "exit-bad-input": (["analyze", "-f", "-"], ExitCode.DATA, "a: [\n"),
    "click-bad-choice": (["analyze", "-f", str(SEED), "-o", "xml"], ExitCode.USAGE, None),
    "click-no-command": (["nosuchcommand"], ExitCode.USAGE, None),
    "bad-istio-version": (["routes", "-f", str(DUMP), "--istio-version", "BAD"], ExitCode.USAGE, None),
    "internal-error": (["analyze", "-f", str(SEED)], ExitCode.ERROR, None),
}


@pytest.mark.parametrize("case", sorted(DEBUG_CASES))
def test_debug_adds_a_traceback_and_changes_nothing_else(monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    args, code, stdin = DEBUG_CASES[case]
    if case == "internal-error":
        _raise_internal(monkeypatch, RuntimeError("boom"))
    plain = run_cli(args, stdin=stdin)
    assert plain.code == code, plain.stderr
    assert "Traceback" not in plain.stderr
    for debug_args in (["--debug", *args], [*args, "--debug"]):  # at the root and on the command
        debug = run_cli(debug_args, stdin=stdin)
        assert debug.code == code, (debug_args, debug.stderr)
        assert debug.stdout == plain.stdout
        assert debug.stderr.endswith(plain.stderr), debug.stderr
        extra = debug.stderr[: len(debug.stderr) - len(plain.stderr)]
        if case in ("plugin-error", "plugin-usage-error", "internal-error"):
            assert extra.startswith("Traceback (most recent call last):\n"), debug.stderr
            assert not any(line.startswith("Error:") for line in extra.splitlines())
        else:
            assert extra == "", debug.stderr


def test_debug_through_the_console_script_keeps_the_exit_code() -> None:
    # entry.main, as installed: it used to let the re-raised PluginError escape, and Python exited 1
    code = "import sys\nfrom kubectl_meshctl.entry import main\nsys.argv[1:] = sys.argv[2:]\nmain()\n"
    for extra in ([], ["--debug"]):
        args = [*extra, "routes", "-f", "/nonexistent/dump.json"]
        done = subprocess.run([sys.executable, "-c", code, "x", *args], capture_output=True, text=True, check=False)
        assert done.returncode == ExitCode.DATA, done.stderr
        assert done.stderr.splitlines()[-1] == "Error: /nonexistent/dump.json: No such file or directory"
        assert ("Traceback" in done.stderr) == bool(extra)


def test_console_script_exit_message_is_redacted_and_one_line() -> None:
    # SystemExit("text") reaching entry._exit_now: printed through the same redaction and escaping as cli._say
    code = f"from kubectl_meshctl import redact\nfrom kubectl_meshctl.entry import _exit_now\nredact.register({TOKEN!r})\n_exit_now({FORGE + TOKEN!r})\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr == "\\nError: FORGED\\x1b[2K\\r[REDACTED]\n"


def test_debug_keeps_the_exit_code_of_a_cluster_error(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    for extra in ([], ["--debug"]):
        result = run_cli([*extra, "gateways", "nope", "--kubeconfig", str(fake_kubeconfig)])
        assert result.code == ExitCode.NOT_FOUND, result.stderr
        assert result.stderr.splitlines()[-1] == 'Error: gateways.networking.istio.io "nope" not found'


# ----------------------------------------------------------------------------- 2. secrets never reach stderr


def _nested_secret_error() -> Exception:
    """A RuntimeError whose context, cause and messages hold the registered secrets at three depths."""
    try:
        try:
            raise ValueError(f"depth 3: {PEM}")
        except ValueError as inner:
            basic = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
            raise KeyError(f"depth 2: headers {{'Authorization': 'Basic {basic}'}}") from inner
    except KeyError:
        try:
            raise RuntimeError(f"depth 1: token {TOKEN}")  # its __context__: the KeyError
        except RuntimeError as outer:
            return outer


def _assert_no_secret(text: str) -> None:
    assert TOKEN not in text
    assert PASSWORD not in text
    assert base64.b64encode(f"admin:{PASSWORD}".encode()).decode() not in text
    for line in PEM.splitlines()[1:-1]:
        assert line not in text
    assert "[REDACTED]" in text


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_registered_secrets_never_reach_stderr_from_an_internal_error(monkeypatch: pytest.MonkeyPatch, debug: bool) -> None:
    redact.register(TOKEN)
    redact.register(PASSWORD, user="admin")
    _raise_internal(monkeypatch, _nested_secret_error())
    result = run_cli([*(["--debug"] if debug else []), "analyze", "-f", str(SEED)])
    assert result.code == ExitCode.ERROR
    _assert_no_secret(result.stderr)
    lines = _printable_lines(result.stderr.rstrip("\n"))
    assert lines[-1].startswith("Error: internal error: RuntimeError: depth 1: token [REDACTED]")
    if debug:  # the whole chain is shown, each exception's text redacted
        assert "depth 3" in result.stderr and "depth 2" in result.stderr
        assert "The above exception was the direct cause" in result.stderr and "During handling" in result.stderr


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_registered_secrets_never_reach_stderr_from_a_plugin_error(monkeypatch: pytest.MonkeyPatch, debug: bool) -> None:
    redact.register(TOKEN)
    redact.register(PEM)

    def read(path: str) -> bytes:
        try:
            raise OSError(f"key {PEM.splitlines()[1]} and Bearer {TOKEN}")
        except OSError as exc:
            raise PluginError(f"{path}: Authorization: Bearer {TOKEN}", ExitCode.DATA) from exc

    monkeypatch.setattr("kubectl_meshctl.app.routes.read_dump_file", read)
    result = run_cli([*(["--debug"] if debug else []), "routes", "-f", "dump.json"])
    assert result.code == ExitCode.DATA
    assert TOKEN not in result.stderr and PEM.splitlines()[1] not in result.stderr
    assert result.stderr.splitlines()[-1] == "Error: dump.json: Authorization: Bearer [REDACTED]"


def test_userinfo_of_a_url_in_an_error_is_stripped(monkeypatch: pytest.MonkeyPatch) -> None:
    def read(_path: str) -> bytes:
        raise PluginError(
            f"cannot reach the API server https://admin:{PASSWORD}@127.0.0.1:1: Connection refused", ExitCode.UNAVAILABLE
        )

    monkeypatch.setattr("kubectl_meshctl.app.routes.read_dump_file", read)
    result = run_cli(["routes", "-f", "dump.json"])
    assert result.stderr == "Error: cannot reach the API server https://[REDACTED]@127.0.0.1:1: Connection refused\n"


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_password_of_the_kubeconfig_server_url_is_not_printed(tmp_path: Path, debug: bool) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"https://admin:{PASSWORD}@127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": TOKEN}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "default"}}],
                "current-context": "x",
            }
        )
    )
    result = run_cli([*(["--debug"] if debug else []), "gateways", "-A", "--no-cache", "--kubeconfig", str(kubeconfig)])
    assert result.code == ExitCode.UNAVAILABLE, result.stderr
    assert PASSWORD not in result.stderr and TOKEN not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "127.0.0.1:1" in errors[0], result.stderr


def test_redact_masks_registered_secrets_and_what_looks_like_one() -> None:
    assert redact.redact("nothing secret here: Basic auth, a Bearer token") == "nothing secret here: Basic auth, a Bearer token"
    redact.register(TOKEN)
    redact.register("pass", user="user")
    redact.register(PEM)
    assert redact.redact(f"x{TOKEN}y") == "x[REDACTED]y"  # a long secret anywhere
    assert redact.redact("pass passwords") == "[REDACTED] passwords"  # a short one as a word only
    assert redact.redact("Basic dXNlcjpwYXNz") == "Basic [REDACTED]"
    assert redact.redact(base64.b64encode(TOKEN.encode()).decode()) == "[REDACTED]"
    assert redact.redact(PEM.splitlines()[2]) == "[REDACTED]"
    assert redact.redact("https://u:p@h:1/x and ftp://only-user@h") == "https://[REDACTED]@h:1/x and ftp://[REDACTED]@h"
    assert redact.redact("https://h:1/path@x") == "https://h:1/path@x"
    assert redact.redact("{'authorization': 'Bearer abc.def-ghi'}") == "{'authorization': 'Bearer [REDACTED]'}"
    assert redact.redact("Proxy-Authorization: Negotiate YIIabc==") == "Proxy-Authorization: Negotiate [REDACTED]"
    assert redact.redact("Bearer eyJhbGciOi.x") == "Bearer [REDACTED]"
    key = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----"
    assert redact.redact(f"a {key} b") == "a -----BEGIN EC PRIVATE KEY-----[REDACTED]-----END EC PRIVATE KEY----- b"
    assert redact.redact("cut -----BEGIN PRIVATE KEY-----\\nMIIE") == "cut -----BEGIN PRIVATE KEY-----[REDACTED]"
    cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
    assert redact.redact(cert) == cert


# ----------------------------------------------------------------------------- 3. control characters are escaped


def test_quote_and_escape_are_go_percent_q() -> None:
    assert [redact.quote(s) for s in ("plain", 'q"\\', "日本", "")] == ["plain", 'q"\\', "日本", ""]  # printable: as is
    assert redact.quote("a\nb") == '"a\\nb"'
    assert redact.quote('x\x1b[31m"\\') == '"x\\x1b[31m\\"\\\\"'
    assert redact.quote("\r\t\x00\x7f\x85\u2028\u202e\U000e0001") == '"\\r\\t\\x00\\x7f\\u0085\\u2028\\u202e\\U000e0001"'
    assert redact.escape('say "a\nb"') == 'say "a\\nb"'


def _hostile_resources() -> list[dict[str, Any]]:
    """For each hostile string: a VirtualService named so and one in a namespace named so, each with a shadowed rule,
    and one shadowing rule in a VirtualService whose name is then part of another's message."""
    out: list[dict[str, Any]] = [gateway(servers=[server(hosts=["*/*"])])]
    for i, text in enumerate(HOSTILE):
        for name, namespace in ((text, "default"), (f"vs-{i}", text)):
            vs = shadowed_pair(name, namespace=namespace, gateways=["default/gw"])
            vs["spec"]["hosts"] = [f"h{i}{text}.example.com"]
            out.append(vs)
    return out


def test_analyze_log_lines_escape_names_and_json_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "in\x1b[31m\nput.json"  # the file name is printed too
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": _hostile_resources()}))
    log = run_cli(["analyze", "-f", str(path)])
    as_json = json.loads(run_cli(["analyze", "-f", str(path), "-o", "json"]).stdout)
    lines = _printable_lines(log.stdout.rstrip("\n"))
    assert len(lines) == len(as_json) >= 2 * len(HOSTILE)  # one line per finding
    assert all(line.startswith(LEVELS) for line in lines)
    origins = {f["origin"] for f in as_json}
    for i, text in enumerate(HOSTILE):  # -o json: the exact names, as Go's encoding/json writes them
        assert f"VirtualService default/{text}" in origins
        assert f"VirtualService {text}/vs-{i}" in origins
        assert f"(VirtualService default/{redact.quote(text)} " in log.stdout  # log: quoted as Go's %q
        assert f"(VirtualService {redact.quote(text)}/vs-{i} " in log.stdout
    assert f" {redact.quote(str(path))}) " in log.stdout  # the file name too (a List: no line numbers)
    assert {f["reference"] for f in as_json} == {str(path)}
    _printable_lines(log.stderr)


@pytest.fixture
def hostile_cluster(fake_api: FakeApiServer) -> FakeApiServer:
    (pod,) = fake_api.objects("pods", "istio-system")
    for i, text in enumerate(HOSTILE):
        hosts = [f"h{text}.example.com"]
        fake_api.add_object(gateway(f"gw{text}", labels={"app": "x"}, servers=[server(80 + i, hosts=hosts)]))
        rules = [http_rule(to=f"d{text}"), http_rule(to="x")]
        fake_api.add_object(virtual_service(f"vs{text}", hosts=hosts, gateways=[f"gw{text}"], http=rules))
        copy = json.loads(json.dumps(pod))
        copy["metadata"] = {**pod["metadata"], "name": f"istio-ingressgateway-{text}"}
        copy["metadata"].pop("uid", None)
        copy["metadata"].pop("resourceVersion", None)
        fake_api.add_object(copy)
    return fake_api


@pytest.mark.parametrize(
    "command",
    [
        ["gateways", "-A"],
        ["gateways", "-A", "-o", "wide"],
        ["vs", "-A"],
        ["vs", "-A", "-o", "wide"],
        ["pods"],
        ["pods", "-o", "wide"],
    ],
    ids=" ".join,
)
def test_listing_tables_quote_names_one_row_each(
    hostile_cluster: FakeApiServer, fake_kubeconfig: Path, command: list[str]
) -> None:
    base = (
        [command[0], *command[1:2], "--kubeconfig", str(fake_kubeconfig)]
        if "-A" in command
        else [command[0], "--kubeconfig", str(fake_kubeconfig)]
    )
    table = run_cli([*command, "--kubeconfig", str(fake_kubeconfig)])
    assert table.code == 0, table.stderr
    items = json.loads(run_cli([*base, "-o", "json"]).stdout)["items"]
    rows = _printable_lines(table.stdout.rstrip("\n"))
    assert len(rows) == 1 + len(items)  # the header, then one line per object
    names = {i["name"] for i in items}
    prefix = {"gateways": "gw", "vs": "vs", "pods": "istio-ingressgateway-"}[command[0]]
    for text in HOSTILE:
        assert f"{prefix}{text}" in names  # -o json: exact
        assert redact.quote(f"{prefix}{text}") in table.stdout
    stderr = _printable_lines(table.stderr.rstrip("\n"))
    assert not any(line.startswith("Error: forged") for line in stderr)
    named = run_cli([*base, "-o", "name"])
    assert len(_printable_lines(named.stdout.rstrip("\n"))) == len(items)


def _hostile_dump() -> bytes:
    dump = json.loads(DUMP.read_text())
    dynamic = dump["configs"][0]["dynamic_route_configs"][0]["route_config"]
    dynamic["name"] = "http.8080\x1b[31m"
    vhost = dynamic["virtual_hosts"][0]
    vhost["name"] = "vh\rost\u2028:80"
    vhost["domains"] = ["dom\x1b]0;title\x07ain"]
    return json.dumps(dump).encode()


def test_routes_table_from_a_dump_has_no_raw_control_characters(tmp_path: Path) -> None:
    (tmp_path / "dump.json").write_bytes(_hostile_dump())
    result = run_cli(["routes", "-f", str(tmp_path / "dump.json")])
    assert result.code == 0, result.stderr
    lines = _printable_lines(result.stdout.rstrip("\n"))
    assert len(lines) == len(DUMP.with_name("output.txt").read_text().splitlines())
    assert "http.8080\\x1b[31m" in result.stdout
    as_json = json.loads(run_cli(["routes", "-f", str(tmp_path / "dump.json"), "-o", "json"]).stdout)
    assert "http.8080\x1b[31m" in {rc.get("name") for rc in as_json}


def test_routes_diff_lines_have_no_raw_control_characters(
    fake_api: FakeApiServer, fake_kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kubectl_meshctl.kube.proxy_admin.fetch_config_dump", lambda *_a, **_k: (_hostile_dump(), "test"))
    result = run_cli(["routes", "--diff", "--kubeconfig", str(fake_kubeconfig)])
    assert result.code == ExitCode.DRIFT, result.stderr
    lines = _printable_lines(result.stdout.rstrip("\n"))
    assert all(line.startswith(("  ", "- ", "+ ")) for line in lines)
    assert any(line.startswith('- "http.8080\\x1b[31m') for line in lines)  # the cell quoted (%q)
    _printable_lines(result.stderr)


# ----------------------------------------------------------------------------- 4. --istio-version is a usage error


@pytest.mark.parametrize("version", ["BAD", "1.17", "2.0", "", "1", "01.24", f"x{FORGE}"])
def test_bad_istio_version_is_a_one_line_usage_error(version: str) -> None:
    for args in (["routes", "-f", str(DUMP)], ["routes", "-f", str(SEED), "--predict"]):
        result = run_cli([*args, "--istio-version", version])
        assert result.code == ExitCode.USAGE, result.stderr
        assert result.stdout == ""
        errors = [line for line in _printable_lines(result.stderr) if line.startswith("Error:")]
        assert len(errors) == 1 and "--istio-version" in errors[0], result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("version", ["1.18", "v1.24", "1.24.3", " 1.26 ", "1.23"])
def test_istio_versions_the_renderer_accepts_are_accepted(version: str) -> None:
    result = run_cli(["routes", "-f", str(DUMP), "--istio-version", version])
    assert result.code == 0, result.stderr


# ----------------------------------------------------------------------------- 5. one line each, no traceback


def test_every_stderr_write_of_the_shell_goes_through_say() -> None:
    """Statically: in cli/ only ``output.say`` writes to stderr, so every line is redacted, escaped and one line."""
    writers = 0
    for path in sorted((REPO / "kubectl_meshctl" / "cli").glob("*.py")):
        tree = ast.parse(path.read_text())
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

        def function_of(node: ast.AST, parents: dict[ast.AST, ast.AST] = parents) -> str:
            while node in parents:
                node = parents[node]
                if isinstance(node, ast.FunctionDef):
                    return node.name
            return "<module>"

        for node in ast.walk(tree):
            where = f"cli/{path.name} line {getattr(node, 'lineno', '?')}"
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "stderr"
                and (path.name, function_of(node)) == ("output.py", "say")
            ):
                writers += 1  # the one writer
                continue
            if isinstance(node, ast.Attribute) and node.attr in ("stderr", "show", "print_exc", "print_exception", "print_tb"):
                raise AssertionError(f"{where}: {node.attr} bypasses say")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                raise AssertionError(f"{where}: print()")
            if isinstance(node, ast.Call) and any(k.arg == "err" for k in node.keywords):
                raise AssertionError(f"{where} writes to stderr outside say")
    assert writers == 1  # the one writer exists (the check above is not vacuous)


def _scenarios(tmp_path: Path) -> dict[str, tuple[list[str], str, int]]:
    """name -> (args, the prefix of the lines that carry FORGE, how many such lines)."""
    bad = tmp_path / f"bad{FORGE}.yaml"
    bad.write_text("a: [\n")
    quiet = tmp_path / f"quiet{FORGE}.yaml"
    quiet.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n")
    unnamed = tmp_path / "unnamed.yaml"
    unnamed.write_text(f"apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {{name: {json.dumps(FORGE)}}}\nspec: [1]\n")
    return {
        "file-error": (["analyze", "-f", str(bad), "-f", str(SEED)], "Error:", 1),
        "object-error": (["analyze", "-f", str(unnamed)], "Error:", 1),
        "warning": (["analyze", "-f", str(SEED), "-S", f"X{FORGE}=*"], "Warning:", 1),
        "plugin-error": (["routes", "-f", f"/nonexistent/{FORGE}"], "Error:", 1),
        "click-bad-value": (["analyze", "-f", str(SEED), "-o", f"x{FORGE}"], "Error:", 1),
        "click-no-command": ([f"no{FORGE}"], "Error:", 1),
        "internal-error": (["analyze", "-f", str(SEED)], "Error: internal error", 1),
        "success-line": (["analyze", "-f", str(quiet)], "\u2714 No validation issues", 1),
    }


@pytest.mark.parametrize(
    "name",
    [
        "file-error",
        "object-error",
        "warning",
        "plugin-error",
        "click-bad-value",
        "click-no-command",
        "internal-error",
        "success-line",
    ],
)
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_error_warning_note_lines_are_one_line_and_tracebacks_need_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, debug: bool
) -> None:
    args, prefix, count = _scenarios(tmp_path)[name]
    if name == "internal-error":
        _raise_internal(monkeypatch, ValueError(f"bad{FORGE}"))
    result = run_cli([*(["--debug"] if debug else []), *args])
    lines = _printable_lines(result.stderr.rstrip("\n"))
    forged = [line for line in lines if "FORGED" in line]
    assert not any(line.startswith(("Error: FORGED", "FORGED")) for line in lines), result.stderr
    carriers = [line for line in forged if line.startswith(prefix)]
    assert len(carriers) == count, result.stderr
    assert all("\\nError: FORGED\\x1b[2K" in line for line in carriers)
    assert ("Traceback" in result.stderr) == (debug and name in ("plugin-error", "internal-error")), result.stderr
    _printable_lines(result.stdout)


def test_cluster_warnings_and_summary_are_one_line(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    fake_api.add_object(virtual_service(f"broken{FORGE}", hosts=["a"], gateways=None, http=[{"match": {"uri": 3}}]))
    result = run_cli(["vs", "-A", "--kubeconfig", str(fake_kubeconfig)])
    lines = _printable_lines(result.stderr.rstrip("\n"))
    warnings = [line for line in lines if line.startswith("Warning:")]
    assert len(warnings) == 1 and "broken\\nError: FORGED" in warnings[0], result.stderr
    assert not any(line.startswith("Error:") for line in lines)
