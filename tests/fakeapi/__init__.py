"""A fake Kubernetes API server for tests (HTTP-level faithful for kubectl and the Python client); never product code.

    with FakeApiServer() as server:            # https://127.0.0.1:<port>, session CA, bearer token
        server.load_seed()                     # scenarios/seed.yaml
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        server.deny("list", "gateways")        # 403 like RBAC
        ...
        assert all(r.method == "GET" for r in server.requests)

Fixtures (``fakeapi.fixtures``): ``fake_api`` (seeded), ``fake_api_factory(**kwargs)``, ``fake_kubeconfig``; helper
``find_kubectl()``.  Big scenarios: ``make_scale_scenario``; out-of-process serving: ``fakeapi.process.FakeApiProcess``.
"""

from __future__ import annotations

from .resources import ISTIO_GROUP, ISTIO_VERSIONS
from .scale import make_scale_scenario
from .server import DEFAULT_TOKEN, DEFAULT_USER, SEED_SCENARIO, ApiError, FakeApiServer, RecordedRequest

__all__ = [
    "DEFAULT_TOKEN",
    "DEFAULT_USER",
    "ISTIO_GROUP",
    "ISTIO_VERSIONS",
    "SEED_SCENARIO",
    "ApiError",
    "FakeApiServer",
    "RecordedRequest",
    "make_scale_scenario",
]
