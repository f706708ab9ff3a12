"""A real Envoy as a test oracle for the predicted ingress-gateway route configurations.

``gateway``: Envoy shaped like an Istio ingress gateway (RDS from files, echo backends per cluster, admin helpers);
``traffic``: requests (:class:`kubectl_meshctl.envoy.matching.Request`) built from route matches and the outcomes
to expect; ``cases``: the example and golden inputs, the proxies to predict for and the analysis' shadow verdicts;
``runs``: a case's predictions loaded into running Envoys.
What the project's model predicts for a request comes from :mod:`kubectl_meshctl.envoy.matching` itself.  Used by
``tests/test_envoy_oracle.py``; the lead can render :func:`envoy_dump_route_configs` (Envoy's own config dump of
the predicted routes) with the routes table.
"""

from __future__ import annotations

from .cases import (
    OracleCase,
    ProxyPrediction,
    Verdict,
    case_envoy_dumps,
    oracle_cases,
    oracle_proxies,
    predict,
    shadow_verdicts,
)
from .gateway import (
    Answer,
    EchoBackends,
    EnvoyError,
    EnvoyGateway,
    envoy_binary,
    envoy_dump_route_configs,
    route_config_clusters,
    static_cluster,
)
from .runs import Run, case_run
from .traffic import (
    expected_outcomes,
    hosts_for,
    outcome_of,
    redirects_everything,
    regex_samples,
    satisfying_requests,
    scheme_of,
    selecting,
    send,
)

__all__ = [
    "Answer",
    "EchoBackends",
    "EnvoyError",
    "EnvoyGateway",
    "OracleCase",
    "ProxyPrediction",
    "Run",
    "Verdict",
    "case_envoy_dumps",
    "case_run",
    "envoy_binary",
    "envoy_dump_route_configs",
    "expected_outcomes",
    "hosts_for",
    "oracle_cases",
    "oracle_proxies",
    "outcome_of",
    "predict",
    "redirects_everything",
    "regex_samples",
    "route_config_clusters",
    "satisfying_requests",
    "scheme_of",
    "selecting",
    "send",
    "shadow_verdicts",
    "static_cluster",
]
