"""pytest fixtures for the fake API server (import them from conftest.py: ``from fakeapi.fixtures import *``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .server import FakeApiServer

__all__ = ["fake_api", "fake_api_factory", "fake_kubeconfig", "find_kubectl"]


@pytest.fixture
def fake_api() -> Iterator[FakeApiServer]:
    """A started server holding the bundled seed scenario (all three networking.istio.io versions served)."""
    with FakeApiServer() as server:
        server.load_seed()
        yield server


@pytest.fixture
def fake_api_factory() -> Iterator[Callable[..., FakeApiServer]]:
    """Start servers with custom settings: ``fake_api_factory(istio_versions=("v1beta1",), seed=False)``."""
    servers: list[FakeApiServer] = []

    def make(*, seed: bool = True, **kwargs: Any) -> FakeApiServer:
        server = FakeApiServer(**kwargs).start()
        servers.append(server)
        if seed:
            server.load_seed()
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def fake_kubeconfig(fake_api: FakeApiServer, tmp_path: Path) -> Path:
    """A kubeconfig for ``fake_api`` (context ``fakeapi``, namespace ``default``, the accepted token)."""
    return fake_api.write_kubeconfig(tmp_path / "kubeconfig")


def find_kubectl(version: str | None = "1.32") -> str | None:
    """The real kubectl: the versioned binary beside the google-cloud-cli dispatcher if present, else ``kubectl``."""
    dispatcher = shutil.which("kubectl")
    if dispatcher is None:
        return None
    if version:
        candidate = Path(os.path.realpath(dispatcher)).parent / f"kubectl.{version}"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return dispatcher
