"""The oracle's inputs: example and golden cases with Gateways, the proxies to predict for, and the shadow verdicts.

* :func:`oracle_cases` -- ``examples/seed.yaml`` and every ``tests/golden*/<case>/input.yaml`` that has a Gateway;
* :func:`oracle_proxies` -- the input's gateway pods when it has Pods, else one proxy per Gateway selector in
  ``istio-system`` with the selector as its labels (a concrete pod, unlike the analysis' hypothetical one);
* :func:`predict` -- ``routes_for_proxy`` for each of them, converted with :mod:`kubectl_meshctl.envoy.config`;
* :func:`shadow_verdicts` -- the MSH0101 / MSH0102 / IST0130 findings of ``analyze`` as (VirtualService, rule, match),
  for roots and delegates in the VirtualService istiod translates (the root merged with its delegates).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubectl_meshctl.analysis import analyze
from kubectl_meshctl.analysis.findings import Finding, rule_label
from kubectl_meshctl.analysis.istio_rules import istio_rule_findings
from kubectl_meshctl.analysis.reachability import gateway_proxies
from kubectl_meshctl.envoy.config import route_configuration_json
from kubectl_meshctl.istio.translation import GatewayProxy, ProxyRoutes, make_index, routes_for_proxy, vs_gateways
from kubectl_meshctl.resources.model import HTTPRule, Snapshot, VirtualService
from kubectl_meshctl.sources.files import FileSource

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
GATEWAY_NAMESPACE = "istio-system"
SHADOW_CODES = ("MSH0101", "MSH0102", "IST0130")


@dataclass(frozen=True)
class OracleCase:
    id: str
    paths: tuple[Path, ...]

    def snapshot(self) -> Snapshot:
        result = FileSource([str(p) for p in self.paths]).read()
        assert not result.errors, result.errors
        return result.snapshot


def oracle_cases() -> list[OracleCase]:
    """The seed example, then every golden case (``tests/golden``, ``tests/golden-istio``) with a Gateway."""
    cases = [OracleCase("examples/seed", (REPO / "examples" / "seed.yaml",))]
    for root in ("golden", "golden-istio"):
        base = TESTS / root
        if not base.is_dir():
            continue
        for case_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            inputs = tuple(sorted(case_dir.glob("input*.yaml")))
            if not inputs:
                continue
            case = OracleCase(f"{root}/{case_dir.name}", inputs)
            if case.snapshot().gateways:
                cases.append(case)
    return cases


def oracle_proxies(snapshot: Snapshot) -> list[GatewayProxy]:
    """Gateway pods of the input; for Gateways no pod selects, a pod in ``istio-system`` labelled with the selector."""
    out: list[GatewayProxy] = []
    for proxy in gateway_proxies(snapshot):
        if proxy.hypothetical:
            name = "ingressgateway-" + "-".join(v for _, v in proxy.labels) if proxy.labels else "ingressgateway"
            proxy = GatewayProxy(name, GATEWAY_NAMESPACE, proxy.labels)
        out.append(proxy)
    return out


@dataclass
class ProxyPrediction:
    proxy: GatewayProxy
    routes: ProxyRoutes
    configs: list[dict[str, Any]]


def predict(snapshot: Snapshot) -> list[ProxyPrediction]:
    """Predicted route configurations (as Envoy JSON) per proxy that gets any."""
    out = []
    for proxy in oracle_proxies(snapshot):
        routes = routes_for_proxy(snapshot, proxy)
        if routes.route_configurations:
            out.append(ProxyPrediction(proxy, routes, [route_configuration_json(rc) for rc in routes.route_configurations]))
    return out


@dataclass(frozen=True)
class Verdict:
    """A finding that says a rule (or one match of it) is never reached."""

    finding: Finding
    vs: VirtualService
    rule: HTTPRule
    match_index: int | None = None
    """Set for MSH0102 (one match of a rule that is reached otherwise)."""

    @property
    def label(self) -> str:
        where = f"{self.vs.meta.namespace}/{self.vs.meta.name} rule {rule_label(self.rule.name, self.rule.index)}"
        if self.match_index is not None:
            where += f" match #{self.match_index}"
        return f"{self.finding.code} {where}"


def shadow_verdicts(snapshot: Snapshot, findings: list[Finding] | None = None) -> list[Verdict]:
    """MSH0101, MSH0102 and (HTTP) IST0130 findings, resolved to the VirtualService rule they name."""
    found = analyze(snapshot) if findings is None else findings
    by_name = {(vs.meta.namespace, vs.meta.name): vs for vs in snapshot.virtual_services}
    out: list[Verdict] = []
    for f in found:
        if f.code not in SHADOW_CODES:
            continue
        vs = by_name[(f.namespace, f.name)]
        http_ist0130 = {i.rule_index for i in istio_rule_findings(vs) if i.code == "IST0130" and i.section == "http"}
        for rule in vs.http:
            head = f"VirtualService rule {rule_label(rule.name, rule.index)} "
            if not f.message.startswith(head):
                continue
            if f.code == "IST0130" and rule.index not in http_ist0130:
                continue
            if f.code == "MSH0102":
                rest = f.message[len(head) :]
                for mi, m in enumerate(rule.matches):
                    if rest.startswith(f"match {rule_label(m.name, mi)} "):
                        out.append(Verdict(f, vs, rule, mi))
                        break
            else:
                out.append(Verdict(f, vs, rule))
            break
    return as_translated(snapshot, out)


def as_translated(snapshot: Snapshot, verdicts: list[Verdict]) -> list[Verdict]:
    """Verdicts on the rules istiod translates: a root VirtualService's are renumbered in the root merged with its
    delegates, a delegate's become one verdict per root (bound to a gateway) it is merged into -- the coordinates
    the predicted routes' ``source`` has.  Verdicts on other VirtualServices are kept as they are."""
    merged = make_index(snapshot).delegation.merged
    involved = {(m.root.meta.namespace, m.root.meta.name) for m in merged}
    involved |= {(o.virtual_service.meta.namespace, o.virtual_service.meta.name) for m in merged for o in m.origins}
    out: list[Verdict] = []
    for verdict in verdicts:
        key = (verdict.vs.meta.namespace, verdict.vs.meta.name)
        if key not in involved:
            out.append(verdict)
            continue
        for m in merged:
            if all(g == "mesh" for g in vs_gateways(m.merged)):
                continue  # never at a gateway: no predicted route to check
            for position, origin in enumerate(m.origins):
                written = origin.virtual_service.meta
                written_here = (written.namespace, written.name) == key and origin.rule.index == verdict.rule.index
                root_rule = origin.delegated_by
                delegated_here = m.root is verdict.vs and root_rule is not None and root_rule.index == verdict.rule.index
                rule = m.merged.http[position]
                if verdict.match_index is None and (written_here or delegated_here):
                    out.append(Verdict(verdict.finding, m.merged, rule))
                elif written_here:  # (a match of a delegating root rule is not followed through the merge)
                    matches = [j for j, i in enumerate(origin.match_indexes) if i == verdict.match_index]
                    out += [Verdict(verdict.finding, m.merged, rule, j) for j in matches]
    return out


def case_envoy_dumps(paths: list[str] | tuple[str, ...]) -> dict[str, str]:
    """For YAML inputs: proxy name -> Envoy's own config dump (routes only, JSON text) of the predicted routes.

    Needs the ``envoy`` binary; raises :class:`~envoy_harness.gateway.EnvoyError` when Envoy rejects a prediction.
    """
    from kubectl_meshctl.envoy.config import static_backend_route_configs

    from .gateway import envoy_dump_route_configs

    snapshot = OracleCase("input", tuple(Path(p) for p in paths)).snapshot()
    return {p.proxy.name: envoy_dump_route_configs(p.configs, static_backend_route_configs()) for p in predict(snapshot)}
