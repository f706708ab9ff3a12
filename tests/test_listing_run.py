"""The listing command lines read without click (``cli/listing_run.py``) mean exactly what click reads in them.

For every command line :func:`recognize` accepts, the click command (through the same option decorators a user's run
goes through) must call the listing with the same values; what it does not accept is click's to read.  Then the
console script, which takes that path, must answer as the click path does (output, errors, exit codes) and import no
click.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from conftest import REPO
from fakeapi.server import FakeApiServer
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kubectl_meshctl.app.cluster_access import KubeOptions
from kubectl_meshctl.cli.listing_run import LISTING_COMMANDS, ListingArgs, recognize
from kubectl_meshctl.cli.root import cli


def _as_click_reads(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> ListingArgs | None:
    """What the click command calls the listing with, or None when click refuses the command line or shows help."""
    seen: list[ListingArgs] = []

    def record(kind: Any, *, name: str | None, selector: str, output: str | None, use_cache: bool, kube: KubeOptions) -> None:
        command = {"gateways": "gateways", "virtualServices": "virtualservices", "routes": "httproutes"}[kind.part]
        seen.append(ListingArgs(command, name, selector, output, use_cache, kube, "--debug" in argv))

    monkeypatch.setattr("kubectl_meshctl.cli.listings.show_listing", record)
    try:
        cli.main(args=list(argv), prog_name="kubectl meshctl", standalone_mode=False)
    except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        return None
    return seen[0] if seen else None


VALUES = st.sampled_from(
    ["", "-x", "--all-namespaces", "a=b", "wide", "json", "yaml", "name", "bogus", "istio-system", "5s", "x y"]
)
TOKENS = st.one_of(
    st.sampled_from(["-A", "--all-namespaces", "--cache", "--no-cache", "--debug", "gt-gateway", "web", "-Ao", "-owide",
                     "--help", "-h", "--", "--namespace", "--nonsense", "-z", "--all-namespaces=true"]).map(lambda t: [t]),
    st.tuples(st.sampled_from(["-l", "--selector", "-o", "--output", "-n", "--namespace", "--kubeconfig", "--context",
                               "--request-timeout"]), VALUES).map(list),
    st.tuples(st.sampled_from(["--selector", "--output", "--namespace", "--kubeconfig", "--context", "--request-timeout"]),
              VALUES).map(lambda pair: ["=".join(pair)]),
)  # fmt: skip


@settings(max_examples=400, derandomize=True, deadline=None)
@given(st.sampled_from(sorted(LISTING_COMMANDS)), st.lists(TOKENS, max_size=6))
@example("gateways", [["-A"]])
@example("gw", [["gt-gateway"], ["-n", "istio-system"], ["-o", "wide"]])
@example("vs", [["--namespace=default"], ["--output=json"], ["--no-cache"], ["--request-timeout", "5s"]])
@example("hr", [["--kubeconfig", "/tmp/kc"], ["--context=ctx"], ["--selector", "app=web"], ["--debug"], ["-l", "a=b"]])
@example("gateways", [["-o", "bogus"]])
@example("gateways", [["a"], ["b"]])
@example("gateways", [["-n"], ["-A"]])
@example("gateways", [["-n", "x"], ["-n", "y"], ["--namespace=z"]])
def test_what_is_read_without_click_is_what_click_reads(command: str, tokens: list[list[str]]) -> None:
    argv = [command, *(t for group in tokens for t in group)]
    ours = recognize(argv)
    if ours is None:
        return  # click's to read, whatever it makes of it
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert _as_click_reads(argv, monkeypatch) == ours, argv


@pytest.mark.parametrize(
    "argv",
    [
        ["gateways", "-A"],
        ["gw", "-n", "istio-system", "-o", "wide"],
        ["vs", "-A", "--kubeconfig", "/tmp/kc"],
        ["virtualservices", "web", "--namespace=shop", "-o", "yaml"],
        ["hr", "-A", "--no-cache", "--request-timeout=10s"],
        ["httproutes", "--context", "prod", "-l", "app=web", "--debug"],
    ],
)
def test_the_usual_command_lines_are_read_without_click(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ours = recognize(argv)
    assert ours is not None
    assert _as_click_reads(argv, monkeypatch) == ours


@pytest.mark.parametrize(
    "argv",
    [["gateways", "--help"], ["gw", "-Ao", "wide"], ["vs", "-n"], ["vs", "a", "b"], ["gw", "-o", "table"], ["pods"], []],
)
def test_other_command_lines_are_left_to_click(argv: list[str]) -> None:
    assert recognize(argv) is None


# ----------------------------------------------------------------------------- the console script on that path


def _run(how: str, argv: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "KUBECACHEDIR": str(home / "cache")}
    env.pop("KUBECONFIG", None)
    if how == "click":
        cmd = [sys.executable, "-m", "kubectl_meshctl", *argv]
    else:  # the console script's entry point, with -X importtime to see what it imports
        cmd = [sys.executable, "-X", "importtime", "-c", "from kubectl_meshctl.entry import main; main()", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=120, check=False)


def _ageless(table: str) -> str:
    """The table with the fake's young objects' AGE (seconds, ticking between the two runs) left out."""
    return re.sub(r"\b\d+s(?=\s|$)", "<age>", table)


def _without_import_times(stderr: str) -> str:
    return "".join(line for line in stderr.splitlines(keepends=True) if not line.startswith("import time:"))


def test_the_console_script_lists_without_click_and_answers_as_click_does(
    fake_api: FakeApiServer, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    kc = str(fake_kubeconfig)
    cases = [
        ["gateways", "-A", "--kubeconfig", kc],
        ["gateways", "-A", "--kubeconfig", kc],  # the listing cache's hit
        ["vs", "-A", "-o", "wide", "--kubeconfig", kc],
        ["gw", "gt-gateway", "-n", "default", "-o", "name", "--kubeconfig", kc],
        ["gw", "nope", "-n", "default", "--kubeconfig", kc],
        ["vs", "-n", "empty-namespace", "--kubeconfig", kc],
        ["gw", "-A", "--kubeconfig", str(tmp_path / "missing")],
        ["gw", "-A", "--request-timeout=soon", "--kubeconfig", kc],
        ["hr", "-A", "--kubeconfig", kc],
    ]
    for argv in cases:
        by_click = _run("click", argv, tmp_path / "home-click")
        direct = _run("entry", argv, tmp_path / "home-entry")
        assert recognize(argv) is not None
        assert not [line for line in direct.stderr.splitlines() if line.startswith("import time:") and " click" in line], argv
        assert (direct.returncode, _ageless(direct.stdout)) == (by_click.returncode, _ageless(by_click.stdout)), argv
        assert _without_import_times(direct.stderr) == by_click.stderr, argv
    # --debug: the traceback through the same redaction, the same exit code, the same last line
    argv = ["gw", "-A", "--debug", "--kubeconfig", str(tmp_path / "missing")]
    by_click, direct = _run("click", argv, tmp_path / "home-click"), _run("entry", argv, tmp_path / "home-entry")
    assert direct.returncode == by_click.returncode == 64
    assert _without_import_times(direct.stderr).splitlines()[-1] == by_click.stderr.splitlines()[-1]
    assert "Traceback (most recent call last):" in direct.stderr
