"""One running Envoy per predicted proxy of an oracle case (what the oracle's tests share a case's run through)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from kubectl_meshctl.envoy.config import static_backend_route_configs
from kubectl_meshctl.resources.model import Snapshot

from .cases import OracleCase, ProxyPrediction, Verdict, predict, shadow_verdicts
from .gateway import EnvoyGateway


@dataclass
class Run:
    case: OracleCase
    snapshot: Snapshot
    predictions: list[ProxyPrediction]
    envoys: list[EnvoyGateway]
    verdicts: list[Verdict] = field(default_factory=list)

    def pairs(self) -> Iterator[tuple[ProxyPrediction, EnvoyGateway]]:
        yield from zip(self.predictions, self.envoys, strict=True)


@contextmanager
def case_run(case: OracleCase) -> Iterator[Run]:
    """``case``'s predictions, each loaded into its own Envoy (stopped on exit), with the case's shadow verdicts."""
    snapshot = case.snapshot()
    predictions = predict(snapshot)
    with ExitStack() as stack:
        envoys = [stack.enter_context(EnvoyGateway(p.configs, static_backend_route_configs())) for p in predictions]
        yield Run(case, snapshot, predictions, envoys, shadow_verdicts(snapshot))
