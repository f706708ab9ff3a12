"""Shared test helpers: running the CLI in-process exactly as the console script does."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from kubectl_meshctl import redact
from kubectl_meshctl.cli import main

# CI runs every property test with the same examples (a red run can be replayed; a green one is not luck);
# local runs stay random, which is how new counter-examples are found
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

pytest_plugins = ["fakeapi.fixtures"]  # fake_api, fake_api_factory, fake_kubeconfig

TESTS = Path(__file__).parent
REPO = TESTS.parent
SHARED = REPO.parent / "shared"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def run_cli(args: list[str], *, cwd: Path | None = None, stdin: str | bytes | None = None) -> Run:
    """Run ``kubectl-meshctl ARGS`` through :func:`main` (the real error boundary) in-process."""
    runner = CliRunner()
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    code = 0
    try:
        with runner.isolation(input=stdin) as streams:
            try:
                main(args)
            except SystemExit as exc:
                code = int(exc.code or 0)
            out = streams[0].getvalue().decode()
            err = streams[1].getvalue().decode()
    finally:
        os.chdir(old)
    return Run(code, out, err)


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """The redaction registry is process-wide: a secret one test registered must not mask another test's output."""
    yield
    redact.forget_all()


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not available (shared reference data missing)")
    return path
