"""Hostile inputs: every bad file gets its one error line, in bounded time and memory, and the rest is analysed.

Alias bombs, nesting thousands of levels deep (a segfault in libyaml's composer, a RecursionError in
``json``), lone UTF-16 surrogates, numbers too long to convert, the same object defined many times:
each must end as ``Error: FILE[:LINE]: reason`` (exit 65) while ``examples/seed.yaml`` given next to it
is still analysed.  The property-based tests at the end mutate real manifests and config dumps and
check that contract on every input, through the CLI's own error boundary (``run_cli``).
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO, TESTS, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubectl_meshctl.envoy.type_urls import ROUTES_CONFIG_DUMP_TYPE
from kubectl_meshctl.exitcodes import ExitCode
from kubectl_meshctl.resources.input_limits import MAX_DEPTH, json_depth_exceeds, tree_depth_exceeds
from kubectl_meshctl.routes.dump import MAX_DUMP_DEPTH, RoutesError, load_route_dump
from kubectl_meshctl.routes.output import render_routes_json, render_routes_yaml
from kubectl_meshctl.routes.table import render_routes
from kubectl_meshctl.sources.files import FileSource
from kubectl_meshctl.sources.result import InputError

SEED = "examples/seed.yaml"
SEED_FINDING = "IST0130] (VirtualService default/vs-gateway examples/seed.yaml:17)"
DUMP = TESTS / "golden-routes" / "routes" / "istio-gateway-http-route-prefix" / "configdump.json"
VS_HEAD = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: {name}\n  namespace: default\n"
# Characters that start a new line in a terminal or in str.splitlines(), besides "\n" itself.
LINE_BREAKERS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def analyze(bad: Path, *more: str, stdin: str | None = None) -> tuple[int, str, str]:
    done = run_cli(["analyze", "-f", str(bad), *more, "-f", SEED], cwd=REPO, stdin=stdin)
    return done.code, done.stdout, done.stderr


def assert_contract(code: int, out: str, err: str, *, allowed: set[int]) -> None:
    """Exit code in the documented set, no traceback, stderr made of single lines, seed analysed."""
    assert code in allowed, (code, err)
    assert "Traceback" not in err and "internal error" not in err, err
    assert not any(c in err for c in LINE_BREAKERS), repr(err)
    for line in err.splitlines():
        assert line.startswith(("Error: ", "Warning: ", "See ", "\u2714 ", "No validation issues", "  - ")), repr(line)
    assert SEED_FINDING in out, out  # the seed comes last: nothing in the other file replaces or hides it


def error_lines(err: str, name: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(f"Error: {name}")]


def run_bounded(args: list[str], *, seconds: float, memory_mb: int = 1024) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process with a wall-clock and an address-space limit (a segfault stays there)."""

    def limit() -> None:  # pragma: no cover - runs in the child
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))

    code = "import sys\nfrom kubectl_meshctl.cli import main\nmain(sys.argv[1:])\n"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=seconds,
        preexec_fn=limit,
        check=False,
    )


# --- alias bombs ----------------------------------------------------------------------------------


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = [VS_HEAD.format(name="lol"), "spec:\n  hosts: [a]\n", f"  x0: &a0 [{', '.join(['lol'] * width)}]\n"]
    for i in range(1, levels):
        lines.append(f"  x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]\n")
    return "".join(lines)


def rules_bomb(k: int) -> str:
    """k rules sharing one rule, each with k matches sharing one match: k*k matches from O(k) text."""
    return (
        VS_HEAD.format(name="bomb")
        + "m0: &m {uri: {prefix: /a}, headers: {x: {exact: y}}}\n"
        + "r0: &r {match: ["
        + ", ".join(["*m"] * k)
        + "], route: [{destination: {host: a}}]}\n"
        + "spec:\n  hosts: [a]\n  http: ["
        + ", ".join(["*r"] * k)
        + "]\n"
    )


def test_billion_laughs_is_one_error_line(tmp_path: Path) -> None:
    bad = tmp_path / "lol.yaml"
    bad.write_text(billion_laughs())
    t0 = time.perf_counter()
    code, out, err = analyze(bad)
    assert time.perf_counter() - t0 < 5
    assert code == 65
    assert error_lines(err, str(bad)) == [
        f"Error: {bad}:12: refused: aliases add 490,328,964 nodes (at most 10,000 allowed for 115 written): an alias bomb?"
    ]
    assert_contract(code, out, err, allowed={65})


def test_aliases_shared_across_rules_are_capped(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(rules_bomb(1000))  # 8 KB; a million matches once expanded
    done = run_bounded(["analyze", "-f", str(bad), "-f", SEED], seconds=20, memory_mb=1024)
    assert done.returncode == 65, done.stderr
    assert error_lines(done.stderr, str(bad))[0].startswith(f"Error: {bad}:10: refused: aliases add 11,019,000 nodes")
    assert SEED_FINDING in done.stdout


def test_moderate_aliasing_is_still_read(tmp_path: Path) -> None:
    good = tmp_path / "anchors.yaml"
    good.write_text(rules_bomb(20))  # 20 x 20 matches: well inside the cap, a normal use of anchors
    result = FileSource([str(good)]).read()
    assert result.errors == []
    (vs,) = result.snapshot.virtual_services
    assert len(vs.http) == 20 and all(len(rule.matches) == 20 for rule in vs.http)


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "loop.yaml"
    bad.write_text(VS_HEAD.format(name="loop") + "spec:\n  hosts: [a]\n  http: &h [*h]\n")
    code, out, err = analyze(bad)
    assert error_lines(err, str(bad)) == [f"Error: {bad}:8: refused: alias *h refers to a node that contains it"]
    assert_contract(code, out, err, allowed={65})


# --- nesting -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ("  creationTimestamp: " + "[" * 2000 + "]" * 2000 + "\n", 5),  # flow
        ("  creationTimestamp:\n" + "".join("  " * i + "    - \n" for i in range(600)), 504),  # block, indented
        ("  creationTimestamp:\n  " + "- " * 1200 + "x\n", 6),  # block, compact on one line
    ],
    ids=["flow", "block", "compact"],
)
def test_deep_yaml_is_one_error_line(tmp_path: Path, body: str, line: int) -> None:
    bad = tmp_path / "deep.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: deep\n" + body)
    code, out, err = analyze(bad)
    assert error_lines(err, str(bad)) == [f"Error: {bad}:{line}: refused: nested more than {MAX_DEPTH} levels deep"]
    assert_contract(code, out, err, allowed={65})


def test_yaml_at_the_depth_cap_is_read(tmp_path: Path) -> None:
    ok = tmp_path / "deep.yaml"
    ok.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: deep\n  x: " + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2))
    result = FileSource([str(ok)]).read()
    assert result.errors == [] and len(result.snapshot.pods) == 1


def test_deep_yaml_does_not_crash_the_process(tmp_path: Path) -> None:
    """100,000 levels overflowed libyaml's recursive composer: the process died of SIGSEGV."""
    bad = tmp_path / "deep.yaml"
    bad.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    done = run_bounded(["analyze", "-f", str(bad), "-f", SEED], seconds=20)
    assert done.returncode == 65, (done.returncode, done.stderr[-300:])
    assert error_lines(done.stderr, str(bad)) == [f"Error: {bad}:1: refused: nested more than {MAX_DEPTH} levels deep"]
    assert SEED_FINDING in done.stdout


def test_deep_yaml_on_stdin() -> None:
    code, out, err = analyze(Path("-"), stdin="a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert error_lines(err, "-") == [f"Error: -:1: refused: nested more than {MAX_DEPTH} levels deep"]
    assert_contract(code, out, err, allowed={65})


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
def test_deep_json_is_one_error_line(tmp_path: Path, depth: int) -> None:
    bad = tmp_path / "deep.json"
    bad.write_text('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "x": ' + "[" * depth + "]" * depth + "}}")
    code, out, err = analyze(bad)
    assert error_lines(err, str(bad)) == [f"Error: {bad}: invalid JSON: nested more than {MAX_DEPTH} levels deep"]
    assert_contract(code, out, err, allowed={65})


def test_json_depth_count_ignores_brackets_in_strings() -> None:
    tricky = json.dumps({"a": ["]" * 50, "[" * 50, '\\"[', {"b": [[["x"]]]}]})
    assert not json_depth_exceeds(tricky, 6)
    assert json_depth_exceeds(tricky, 5)
    nested = "[" * 20 + '"]]]]"' + "]" * 20
    assert json_depth_exceeds(nested, 19) and not json_depth_exceeds(nested, 20)
    assert json_depth_exceeds(("[" * 30 + "]" * 30).encode("utf-16"), 29)
    value = json.loads(tricky)
    assert not tree_depth_exceeds(value, 6) and tree_depth_exceeds(value, 5)


# --- text that is not Unicode ---------------------------------------------------------------------


def test_lone_surrogate_in_json_is_one_error_line(tmp_path: Path) -> None:
    bad = tmp_path / "s.json"
    vs = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "a"},
        "spec": {"hosts": ["x"], "gateways": ["nope"]},
    }
    bad.write_text(json.dumps(vs, indent=1).replace('"a"', '"a\\ud800"'))
    code, out, err = analyze(bad)
    assert error_lines(err, str(bad)) == [
        f"Error: {bad}:5: invalid JSON: string holds a lone UTF-16 surrogate \\ud800, not a Unicode character"
    ]
    assert_contract(code, out, err, allowed={65})


def test_surrogate_pairs_are_fine(tmp_path: Path) -> None:
    ok = tmp_path / "emoji.json"
    ok.write_text('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "labels": {"x": "\\ud83d\\ude00"}}}')
    result = FileSource([str(ok)]).read()
    assert result.errors == [] and result.snapshot.pods[0].meta.labels == (("x", "\U0001f600"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("spec:\n  hosts: [a]\n  x: " + "9" * 5000 + "\n", "refused: Exceeds the limit (4300 digits)"),
        ("spec:\n  hosts: [a]\n  http:\n  - match:\n    - port: '\u00b2'\n", "spec.http[0].match[0].port: expected an integer"),
        ("spec:\n  http:\n  - match:\n    - headers: {1: {exact: a}, '1': {prefix: b}}\n", "headers.1: key given twice"),
        ("  creationTimestamp: {a: b}\n", "metadata.creationTimestamp: expected a timestamp, got object"),
    ],
    ids=["huge-int", "unicode-digit", "duplicate-key", "timestamp-object"],
)
def test_odd_values_are_one_error_line(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "odd.yaml"
    bad.write_text(VS_HEAD.format(name="odd") + text)
    code, out, err = analyze(bad)
    (line,) = error_lines(err, str(bad))
    assert message in line
    assert_contract(code, out, err, allowed={65})


def test_huge_json_number_is_one_error_line(tmp_path: Path) -> None:
    bad = tmp_path / "n.json"
    bad.write_text('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "x": ' + "9" * 5000 + "}")
    code, out, err = analyze(bad)
    (line,) = error_lines(err, str(bad))
    assert line.startswith(f"Error: {bad}: invalid JSON: Exceeds the limit (4300 digits)")
    assert_contract(code, out, err, allowed={65})


def test_control_characters_in_names_stay_on_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "ctl.json"
    bad.write_text(json.dumps({"apiVersion": "v1", "kind": "X\nY\u2028Z\x1b[31m", "metadata": {"name": "a"}}))
    code, out, err = analyze(bad)
    assert error_lines(err, str(bad)) == [f"Error: {bad}: unknown kind X\\nY\\u2028Z\\x1b[31m (v1)"]
    assert_contract(code, out, err, allowed={65})


def test_input_error_is_one_line_whoever_prints_it() -> None:
    error = InputError("a\nb.json", "unknown kind X\u2028Y\x85\ud800 (v1)", 3)
    assert str(error) == "a\\nb.json:3: unknown kind X\\u2028Y\\x85\\ud800 (v1)"


def test_routes_type_error_is_one_line() -> None:
    with pytest.raises(RoutesError) as caught:
        load_route_dump(json.dumps({"configs": [{"@type": ROUTES_CONFIG_DUMP_TYPE, "dynamic_route_configs": "a\u2028b\x85"}]}))
    assert caught.value.message.endswith('dynamic_route_configs: expected a JSON array, got "a\\u2028b\\u0085"')


# --- the same object defined again ---------------------------------------------------------------


def test_repeated_objects_are_read_once_and_the_last_wins(tmp_path: Path) -> None:
    seed = (REPO / SEED).read_text()
    (tmp_path / "a-base.yaml").write_text(seed)
    (tmp_path / "b-overlay.yaml").write_text(seed.replace("number: 9000", "number: 9001"))
    result = FileSource([str(tmp_path)]).read()
    assert result.errors == []
    (gw,) = result.snapshot.gateways
    (vs,) = result.snapshot.virtual_services
    assert vs.http[0].route[0].destination is not None and vs.http[0].route[0].destination.port == 9001
    assert vs.meta.origin is not None and vs.meta.origin.source == str(tmp_path / "b-overlay.yaml")
    assert (gw.meta.order, vs.meta.order) == (0, 1)  # the first definition's place
    base, overlay = tmp_path / "a-base.yaml", tmp_path / "b-overlay.yaml"
    assert [str(w) for w in result.warnings] == [
        f"{overlay}:1: Gateway default/gt-gateway is defined again (first at {base}:1): this later definition is used,"
        " as kubectl apply of both would leave it",
        f"{overlay}:17: VirtualService default/vs-gateway is defined again (first at {base}:17): this later definition"
        " is used, as kubectl apply of both would leave it",
    ]


def test_same_name_in_different_kinds_or_namespaces_is_not_a_repeat(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g}\n---\n"
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\n---\n"
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g, namespace: other}\n"
    )
    result = FileSource([str(tmp_path)]).read()
    assert result.warnings == [] and len(result.snapshot.gateways) == 2 and len(result.snapshot.kube_gateways) == 1


def test_many_copies_take_linear_time(tmp_path: Path) -> None:
    seed = (REPO / SEED).read_text()
    for i in range(200):
        (tmp_path / f"copy{i:03}.yaml").write_text(seed)
    t0 = time.perf_counter()
    done = run_cli(["analyze", "-f", str(tmp_path)])
    elapsed = time.perf_counter() - t0
    assert done.code == 0, done.stderr
    assert done.stdout.count("IST0130") == 1
    repeats = [line for line in done.stderr.splitlines() if line.startswith("Warning: ") and "is defined again" in line]
    assert len(repeats) == 2 * 199  # the Gateway and the VirtualService of every copy after the first
    assert elapsed < 5, elapsed  # was 3.3 s for 100 copies and about 8x that per doubling


# --- routes -f on hostile dumps ------------------------------------------------------------------


def _nested_dump(depth: int) -> bytes:
    """The golden dump with its first route's metadata nested so that the whole dump is ``depth`` levels deep."""
    dump = json.loads(DUMP.read_bytes())
    route = dump["configs"][-1]["dynamic_route_configs"][0]["route_config"]["virtual_hosts"][0]["routes"][0]
    deep: object = "leaf"
    for _ in range(depth - 12):  # the dump, configs, [i], dynamic_route_configs, ..., metadata, filter_metadata
        deep = {"k": deep}
    route.setdefault("metadata", {}).setdefault("filter_metadata", {})["deep"] = deep
    assert not tree_depth_exceeds(dump, depth) and tree_depth_exceeds(dump, depth - 1)
    return json.dumps(dump).encode()


@pytest.mark.parametrize("output", ["short", "json", "yaml"])
def test_deep_dump_is_one_error_line_where_it_cannot_be_printed(tmp_path: Path, output: str) -> None:
    bad = tmp_path / "dump.json"
    bad.write_bytes(_nested_dump(600))
    done = run_cli(["routes", "-f", str(bad), "-o", output])
    if output == "short":  # the table reads fixed fields: the deep metadata is never walked (istioctl prints it too)
        assert done.code == 0, done.stderr
        assert done.stdout == run_cli(["routes", "-f", str(DUMP)]).stdout
        return
    assert done.code == 65
    assert done.stderr == (
        f"Error: error unmarshalling config dump response from Envoy: JSON nested more than {MAX_DUMP_DEPTH} levels deep\n"
    )


@pytest.mark.parametrize("output", ["short", "json", "yaml"])
def test_dump_at_the_depth_cap_renders(tmp_path: Path, output: str) -> None:
    ok = tmp_path / "dump.json"
    ok.write_bytes(_nested_dump(MAX_DUMP_DEPTH))
    done = run_cli(["routes", "-f", str(ok), "-o", output])
    assert done.code == 0, done.stderr
    for deeper in (_nested_dump(MAX_DUMP_DEPTH + 1), json.loads(_nested_dump(MAX_DUMP_DEPTH + 1))):
        dump = load_route_dump(deeper)
        render_routes(dump)
        for render in (render_routes_json, render_routes_yaml):
            with pytest.raises(RoutesError, match="nested more than"):
                render(dump)


@pytest.mark.parametrize("output", ["short", "json", "yaml"])
def test_surrogate_in_dump_is_one_error_line(tmp_path: Path, output: str) -> None:
    bad = tmp_path / "dump.json"
    text = DUMP.read_text()
    name = json.loads(text)["configs"][-1]["dynamic_route_configs"][0]["route_config"]["name"]
    bad.write_text(text.replace(json.dumps(name), json.dumps(name)[:-1] + '\\udc00"', 1))
    done = run_cli(["routes", "-f", str(bad), "-o", output])
    assert done.code == 65
    assert done.stderr.startswith(
        "Error: error unmarshalling config dump response from Envoy: string holds a lone UTF-16 surrogate \\udc00,"
    )
    assert done.stderr.count("\n") == 1
    with pytest.raises(RoutesError, match="surrogate"):
        load_route_dump(json.loads(bad.read_text()))


def test_invalid_utf8_surrogate_bytes_in_dump(tmp_path: Path) -> None:
    with pytest.raises(RoutesError, match="invalid UTF-8 at byte"):
        load_route_dump(b'{"configs": [{"name": "\xed\xa0\x80"}]}')


# --- property-based: mutated manifests and dumps through the real CLI --------------------------------

MANIFESTS = sorted([REPO / SEED, *TESTS.glob("golden/*/input.yaml"), *TESTS.glob("golden-istio/*/input.yaml")], key=str)
GATEWAY_API_MANIFESTS = sorted(
    (p for p in TESTS.glob("testdata/istio-gateway-api/conversion/*.yaml") if not p.name.endswith(".golden")), key=str
)
DUMPS = sorted(TESTS.glob("golden-routes/**/configdump.json"), key=str)
# Written where a value starts (after ": ", "- ", "[" or at a line start); a few are only hostile in JSON.
VALUES = [
    "9" * 5000,
    "-" + "9" * 400,
    "1e999",
    "-0",
    "0x1F",
    ".nan",
    "'\u00b2'",
    "2026-13-45T99:99:99Z",
    "null",
    "[]",
    "{}",
    "&a [x, y]",
    "*a",
    "&a [*a]",
    "!!binary aGk=",
    "!!python/object/apply:os.system [true]",
    '"\\ud800"',
    '"\\udfff\\ud800x"',
    '"\\ud83d\\ude00"',
    '"a\\u2028b\\u0085c\\u001b[2J"',
    '"\\u0000"',
]
ODD = [
    "\x00",
    "\x07",
    "\x1b[2J",
    "\r",
    "\x85",
    "\u2028",
    "\ufeff",
    "\U0001f600",
    "\ud800",
    "\t",
    "'",
    '"',
    "\\",
    "{",
    "]",
    "---\n",
]
_VALUE_START = re.compile(r"(?<=: )|(?<=- )|(?<=\[)|^", re.MULTILINE)


def _bomb(levels: int, width: int) -> str:
    parts = [f"&b0 [{', '.join(['x'] * width)}]"]
    parts.extend(f"&b{i} [{', '.join([f'*b{i - 1}'] * width)}]" for i in range(1, levels))
    return "[" + ", ".join(parts) + "]"


def _nest(depth: int, style: str) -> str:
    if style == "flow":
        return "[" * depth + "x" + "]" * depth
    if style == "map":
        return '{"a": ' * depth + "1" + "}" * depth
    if style == "block":  # indented: quadratic in size, so at most MAX_DEPTH + 1 levels
        return "\n" + "".join("  " * i + "- \n" for i in range(min(depth, MAX_DEPTH + 1)))
    return "- " * depth + "x"


def _mutate(text: str, data: st.DataObject) -> str:
    """1-4 mutations; where they land comes from one drawn seed (hypothesis' small integers would all hit the start)."""
    rng = random.Random(data.draw(st.integers(0, 2**32), label="seed"))
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        starts = [m.start() for m in _VALUE_START.finditer(text)] or [0]
        at = rng.choice(starts)
        end = min((i for i in (text.find("\n", at), text.find(",", at)) if i != -1), default=len(text))
        anywhere = rng.randrange(len(text) + 1)
        kind = data.draw(st.sampled_from(["value", "nest", "bomb", "flip", "truncate", "dup", "drop", "odd"]), label="kind")
        if kind == "value":
            text = text[:at] + data.draw(st.sampled_from(VALUES), label="value") + text[end:]
        elif kind == "nest":
            depth = data.draw(st.sampled_from([10, MAX_DEPTH - 4, MAX_DEPTH + 1, 3000, 60_000]), label="depth")
            text = text[:at] + _nest(depth, data.draw(st.sampled_from(["flow", "map", "block", "compact"]))) + text[end:]
        elif kind == "bomb":
            text = text[:at] + _bomb(data.draw(st.integers(2, 9), label="levels"), data.draw(st.integers(2, 30))) + text[end:]
        elif kind == "flip":
            text = text[:anywhere] + data.draw(st.characters(codec="utf-8"), label="char") + text[anywhere + 1 :]
        elif kind == "truncate":
            text = text[:anywhere]
        elif kind in ("dup", "drop"):
            lines = text.split("\n")
            i = rng.randrange(len(lines))
            lines[i:i] = [lines[i]] * rng.randint(1, 50) if kind == "dup" else []
            if kind == "drop":
                del lines[i]
            text = "\n".join(lines)
        else:
            text = text[:anywhere] + data.draw(st.sampled_from(ODD), label="odd") + text[anywhere:]
    return text


HOSTILE_JSON: list[object] = [
    "\ud800",
    "x\udfff",
    "a\u2028b\x85c\x1b[2J\nd\re",
    "\x00",
    "HUGE",  # replaced by 5000 digits in the text
    float("inf"),
    -0.0,
    1 << 70,
    True,
    None,
    [],
    {},
    "2026-13-45T99:99:99Z",
    "\u00b2",
]


def _deep(depth: int, *, as_list: bool) -> str:
    """A placeholder for a value nested ``depth`` deep, written into the text by :func:`_expand` (json.dumps would recurse)."""
    return f"DEEP:{depth}:{'list' if as_list else 'dict'}"


def _expand(text: str) -> str:
    def deep(m: re.Match[str]) -> str:
        depth, shape = int(m.group(1)), m.group(2)
        return "[" * depth + '"leaf"' + "]" * depth if shape == "list" else '{"a": ' * depth + '"leaf"' + "}" * depth

    return re.sub(r'"DEEP:(\d+):(list|dict)"', deep, text.replace('"HUGE"', "9" * 5000))


def _mutate_json(value: object, data: st.DataObject) -> str:
    """Replace 1-3 values anywhere in a decoded JSON tree with hostile ones, and return the text."""
    rng = random.Random(data.draw(st.integers(0, 2**32), label="seed"))
    for _ in range(data.draw(st.sampled_from([1, 1, 2, 3]), label="mutations")):
        slots: list[tuple[Any, Any]] = []
        routed: list[tuple[Any, Any]] = []  # inside a dump's route configurations, which -o json/yaml print
        stack: list[tuple[Any, bool]] = [(value, False)]
        while stack:
            item, in_route = stack.pop()
            keys = list(item) if isinstance(item, dict) else range(len(item)) if isinstance(item, list) else ()
            for key in keys:
                (routed if in_route else slots).append((item, key))
                stack.append((item[key], in_route or key in ("route_config", "routeConfig")))
        if not slots and not routed:
            break
        container, key = rng.choice(routed if routed and rng.random() < 0.75 else slots or routed)
        kind = data.draw(st.sampled_from(["value", "nest", "swap"]), label="kind")
        if kind == "value":
            new = data.draw(st.sampled_from(HOSTILE_JSON), label="value")
        elif kind == "nest":
            depth = data.draw(st.sampled_from([5, MAX_DUMP_DEPTH - 15, MAX_DUMP_DEPTH + 1, MAX_DEPTH + 1, 3000]), label="depth")
            new = _deep(depth, as_list=data.draw(st.booleans(), label="as_list"))
        else:
            new = container[key]
            new = [new] if not isinstance(new, list) else {"x": new}
        container[key] = new
    # default=str: YAML's unquoted timestamps (creationTimestamp) load as datetimes; as JSON they are strings again
    return _expand(json.dumps(value, indent=data.draw(st.sampled_from([None, 1]), label="indent"), default=str))


def _deep_metadata(dump: Any, data: st.DataObject) -> str:
    """A route's, virtual host's or configuration's Metadata with a Struct nested deep: -o json/yaml print all of it."""
    sections = [c for c in dump["configs"] if str(c.get("@type", "")).endswith(".RoutesConfigDump")]  # not listeners'
    owners, stack = [], [(section, False) for section in sections]
    while stack:
        item, in_route = stack.pop()
        if isinstance(item, dict):
            if in_route and {"match", "domains", "virtual_hosts"} & item.keys():
                owners.append(item)
            stack.extend((v, in_route or k == "route_config") for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, in_route) for v in item)
    # hypothesis raises the recursion limit by 2000 frames while a test runs: 1500 levels still overflow it
    depth = data.draw(st.sampled_from([1500, MAX_DEPTH + 1, MAX_DUMP_DEPTH + 1, MAX_DUMP_DEPTH - 20, 3000]), label="depth")
    owner = data.draw(st.sampled_from(owners), label="owner")
    owner["metadata"] = {"filter_metadata": {"f": _deep(depth, as_list=data.draw(st.booleans(), label="as_list"))}}
    return _expand(json.dumps(dump))


class _Budget:
    """Time and Python-heap peak of one CLI run (tracemalloc is started by the ``traced`` fixture)."""

    def __enter__(self) -> _Budget:
        tracemalloc.reset_peak()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
        self.peak_mb = tracemalloc.get_traced_memory()[1] / 1e6


@pytest.fixture(scope="module")
def traced() -> Iterator[None]:
    tracemalloc.start()
    yield
    tracemalloc.stop()


FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,  # each example checks its own time bound
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(data=st.data())
def test_fuzz_analyze_keeps_the_contract(data: st.DataObject, tmp_path: Path, traced: None) -> None:
    _fuzz_analyze(data, tmp_path, MANIFESTS)


@FUZZ
@given(data=st.data())
def test_fuzz_analyze_gateway_api_keeps_the_contract(data: st.DataObject, tmp_path: Path, traced: None) -> None:
    """The same on Istio's Gateway API conversion inputs: Gateways, HTTPRoutes, GRPCRoutes, ReferenceGrants."""
    _fuzz_analyze(data, tmp_path, GATEWAY_API_MANIFESTS)


def _fuzz_analyze(data: st.DataObject, tmp_path: Path, manifests: list[Path]) -> None:
    source = data.draw(st.sampled_from(manifests), label="manifest")
    form = data.draw(st.sampled_from([".yaml", ".json", "-"]), label="as")
    text = source.read_text()
    if form == ".json":  # the same objects as a JSON array, which the reader accepts
        text = _mutate_json([d for d in yaml.safe_load_all(text) if d], data)
        if data.draw(st.booleans(), label="and text"):
            text = _mutate(text, data)
    else:
        text = _mutate(text, data)
    raw = text.encode("utf-8", "surrogatepass")
    if form == "-":
        bad, stdin = Path("-"), raw.decode("utf-8", "replace")
    else:
        bad, stdin = tmp_path / f"bad{form}", None
        bad.write_bytes(raw)
    with _Budget() as spent:
        code, out, err = analyze(bad, stdin=stdin)
    assert spent.seconds < 5, spent.seconds
    assert spent.peak_mb < 300, spent.peak_mb
    assert_contract(code, out, err, allowed={0, 65, 79})


@FUZZ
@given(data=st.data())
def test_fuzz_routes_file_keeps_the_contract(data: st.DataObject, tmp_path: Path, traced: None) -> None:
    dump_tree = json.loads(data.draw(st.sampled_from(DUMPS), label="dump").read_bytes())
    if data.draw(st.booleans(), label="only deep metadata"):  # else other mutations would mostly reject the dump first
        text = _deep_metadata(dump_tree, data)
    else:
        text = _mutate_json(dump_tree, data)
        if data.draw(st.integers(0, 3), label="and text") == 0:
            text = _mutate(text, data)
    dump = tmp_path / "dump.json"
    dump.write_bytes(text.encode("utf-8", "surrogatepass"))
    output = data.draw(st.sampled_from(["short", "json", "yaml"]), label="output")
    with _Budget() as spent:
        done = run_cli(["routes", "-f", str(dump), "-o", output])
    assert spent.seconds < 5, spent.seconds
    assert spent.peak_mb < 300, spent.peak_mb
    assert done.code in {0, 65}, done.stderr
    if done.code == 0:  # a terminal's stdout is strict UTF-8 (the test runner's is not)
        render = {"short": render_routes, "json": render_routes_json, "yaml": render_routes_yaml}[output]
        render(load_route_dump(dump.read_bytes())).encode("utf-8")
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    if done.code == 65:
        assert done.stderr.startswith("Error: ") and done.stderr.count("\n") == 1, repr(done.stderr)
        assert not any(c in done.stderr for c in LINE_BREAKERS), repr(done.stderr)


# --- inputs without end ---------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
def test_an_endless_input_is_one_error_line_and_the_rest_is_analysed() -> None:
    from kubectl_meshctl.bounded_read import MAX_INPUT

    done = run_cli(["analyze", "-f", "/dev/zero", "-f", SEED], cwd=REPO)
    assert done.code == 65
    assert "IST0130" in done.stdout  # the seed beside it is still analysed
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert error == f"Error: /dev/zero: larger than {MAX_INPUT >> 20} MiB"
    dump = run_cli(["routes", "-f", "/dev/zero"])
    assert (dump.code, dump.stderr) == (65, f"Error: /dev/zero: larger than {MAX_INPUT >> 20} MiB\n")


def test_read_at_most_stops_at_the_cap() -> None:
    import io

    from kubectl_meshctl.bounded_read import TooLarge, read_at_most

    assert read_at_most(io.BytesIO(b"x" * 10), 10) == b"x" * 10
    with pytest.raises(TooLarge):
        read_at_most(io.BytesIO(b"x" * 11), 10)


def test_read_at_most_asks_small_first_and_reads_everything() -> None:
    """A kubeconfig or token file is a few hundred bytes: the first read asks 64 KiB, not the 16 MiB a big manifest
    is read by (os.read allocates what it is asked for); chunks grow and all bytes come back in order."""
    import io

    from kubectl_meshctl.bounded_read import read_at_most

    class Recorded(io.BytesIO):
        def __init__(self, data: bytes) -> None:
            super().__init__(data)
            self.asked: list[int] = []

        def read(self, size: int | None = -1) -> bytes:
            self.asked.append(-1 if size is None else size)
            return super().read(size)

    small = Recorded(b"token")
    assert read_at_most(small, 1 << 30) == b"token" and small.asked[0] == 1 << 16
    data = bytes(range(256)) * (5 << 12)  # 5 MiB
    big = Recorded(data)
    assert read_at_most(big, 1 << 30) == data
    assert big.asked[:4] == [1 << 16, 1 << 17, 1 << 18, 1 << 19] and max(big.asked) <= 1 << 24


def test_read_at_most_reads_a_regular_file_at_once(tmp_path: Path) -> None:
    """A listing-cache entry or a manifest is a regular file: its size is known, so one read (and one to see the end)."""
    from kubectl_meshctl.bounded_read import read_at_most

    data = bytes(range(256)) * (5 << 12)  # 5 MiB
    path = tmp_path / "entry"
    path.write_bytes(data)
    asked: list[int] = []
    with path.open("rb", buffering=0) as raw:

        class Recorded:
            def fileno(self) -> int:
                return raw.fileno()

            def read(self, size: int) -> bytes:
                asked.append(size)
                return raw.read(size)

        assert read_at_most(Recorded(), 1 << 30) == data  # type: ignore[arg-type]
    assert asked[0] == len(data) + 1 and len(asked) == 2


@pytest.mark.parametrize(
    ("field", "spec_rule"),
    [
        ("spec.http[0].timeout", "http: [{timeout: banana, route: [{destination: {host: x}}]}]"),
        ("spec.http[0].timeout", "http: [{timeout: 10, route: [{destination: {host: x}}]}]"),
    ],
)
def test_a_timeout_that_is_no_duration_is_refused_where_it_is_written(tmp_path: Path, field: str, spec_rule: str) -> None:
    """istiod's webhook refuses it; the prediction used to end in an internal error (exit 1) when rendering it."""
    manifest = tmp_path / "vs.yaml"
    manifest.write_text(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g, namespace: default}\n"
        "spec:\n  selector: {istio: ingressgateway}\n"
        "  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}]\n"
        "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v, namespace: default}\n"
        f"spec:\n  hosts: ['*']\n  gateways: [g]\n  {spec_rule}\n"
    )
    for args in (["routes", "-f", str(manifest), "--predict"], ["analyze", "-f", str(manifest)]):
        result = run_cli(args)
        assert result.code == ExitCode.DATA, result.stderr
        assert f"vs.yaml:14: VirtualService default/v: {field}: not a duration" in result.stderr
        assert "internal error" not in result.stderr
