"""The installed executable and kubectl's plugin discovery (the way users run it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent
SEED = REPO / "examples" / "seed.yaml"
EXPECTED_FIRST = "Warning [IST0130] (VirtualService default/vs-gateway {}:17) VirtualService rule #1 not used (all matches used by prior rules)."


def _executable() -> str:
    exe = shutil.which("kubectl-meshctl")
    if exe is None:
        pytest.skip("kubectl-meshctl is not installed on PATH (pip install . first)")
    return exe


def test_installed_executable() -> None:
    done = subprocess.run([_executable(), "analyze", "-f", str(SEED)], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert done.stdout.splitlines()[0] == EXPECTED_FIRST.format(SEED)


def test_installed_executable_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [\n")
    done = subprocess.run([_executable(), "analyze", "-f", str(bad)], capture_output=True, text=True, check=False)
    assert done.returncode == 65
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "bad.yaml:1: invalid YAML" in errors[0]
    assert "Traceback" not in done.stderr


def _kubectl() -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on PATH")
    return kubectl


def test_kubectl_discovers_the_plugin(tmp_path: Path) -> None:
    exe = _executable()
    kubectl = _kubectl()
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "none")}
    listed = subprocess.run([kubectl, "plugin", "list"], capture_output=True, text=True, env=env, check=False, timeout=60)
    assert os.path.basename(exe) in listed.stdout
    done = subprocess.run(
        [kubectl, "meshctl", "analyze", "-f", str(SEED), "--failure-threshold", "Warning"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert done.returncode == 79, done.stderr
    assert done.stdout.splitlines()[0] == EXPECTED_FIRST.format(SEED)
    version = subprocess.run([kubectl, "meshctl", "--version"], capture_output=True, text=True, env=env, check=False, timeout=60)
    assert version.stdout.startswith("kubectl-meshctl ")
