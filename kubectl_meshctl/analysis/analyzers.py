"""The registry of analyzers: every check ``analyze`` runs, what it reads, and the order findings come out in.

Why this module exists: a new finding is a check in this package plus one :class:`Analyzer` entry here.  Each
entry declares the kinds it reads and the kinds whose absence from the input would make its verdicts guesses
(``requires``: a file without Services cannot prove that a host does not exist), so partial input is handled by
one rule instead of a check in each analyzer.  Facts several analyzers share (istiod's routes for every gateway
proxy, istioctl's own rule checks) are computed once per run by :class:`Analysis`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import cached_property
from typing import Literal

from ..gcpause import paused_gc
from ..istio.gateway_api import Conversion, convert
from ..istio.translation import vs_gateways
from ..records import record
from ..resources.kinds import (
    DESTINATION_RULE,
    GATEWAY,
    GATEWAY_CLASS,
    GRPC_ROUTE,
    HTTP_ROUTE,
    KUBE_GATEWAY,
    NAMESPACE,
    POD,
    REFERENCE_GRANT,
    SERVICE,
    SERVICE_ENTRY,
    VIRTUAL_SERVICE,
)
from ..resources.model import Pod, Snapshot, VirtualService
from . import gateway_api, l4, references, servers, sidecars
from .delegation import delegation_findings
from .findings import AnyWitness, Finding, finding
from .istio_rules import IstioRuleFinding, istio_rule_findings
from .reachability import (
    Reachability,
    compute_reachability,
    hidden_binding_findings,
    inapplicable_match_findings,
    istio_rule_witness,
    never_served_server_findings,
    unreachable_rule_findings,
    unserved_server_findings,
)


class Analysis:
    """One run over one snapshot: the facts analyzers share, each computed at most once.

    ``snapshot`` is the input as written: every VirtualService and Gateway rule reads it, so none reports on the
    objects istiod generates from the Gateway API.  Only the reachability reads :attr:`routed`, the snapshot with
    those generated objects added, because routes and VirtualServices merged at one host shadow each other.
    """

    def __init__(self, snapshot: Snapshot, *, witnesses: bool = True) -> None:
        self.snapshot = snapshot
        self.witnesses = witnesses
        """Whether findings carry witnesses (requests replayed through the model: a tenth of a big run); the
        listings show counts and messages only, which are the same either way."""

    @cached_property
    def conversion(self) -> Conversion:
        """istiod's conversion of the input's Gateway API objects (nothing when it has none)."""
        if not self.snapshot.kube_routes and not self.snapshot.kube_gateways:
            return Conversion()
        return convert(self.snapshot)

    @cached_property
    def routed(self) -> Snapshot:
        """What istiod routes: the input plus the Istio Gateways and VirtualServices it generates."""
        c = self.conversion
        if not c.gateways and not c.virtual_services:
            return self.snapshot
        return replace(
            self.snapshot,
            gateways=self.snapshot.gateways + c.gateways,
            virtual_services=self.snapshot.virtual_services + c.virtual_services,
        )

    @cached_property
    def istio_rules(self) -> dict[tuple[str, str], list[IstioRuleFinding]]:
        """istioctl's own rule checks (IST0130/IST0131) per VirtualService ``(namespace, name)``."""
        found = {}
        for vs in self.snapshot.virtual_services:
            rules = istio_rule_findings(vs, proxies=self.gateway_pods_of(vs))
            if rules:
                found[(vs.meta.namespace, vs.meta.name)] = rules
        return found

    def gateway_pods_of(self, vs: VirtualService) -> list[Pod] | None:
        """The gateway pods istiod builds ``vs``'s routes for; None when the input cannot say (no Pods, or ``mesh``:
        sidecars are not in the input)."""
        names = vs_gateways(vs)
        if not self.snapshot.has_pods or "mesh" in names:
            return None
        pods = {id(p): p for name in names for p in self._pods_of_gateway.get(name, ())}
        return list(pods.values()) or None

    @cached_property
    def _pods_of_gateway(self) -> dict[str, list[Pod]]:
        by_selector: dict[tuple[tuple[str, str], ...], list[Pod]] = {}
        out = {}
        for gw in self.snapshot.gateways:
            if gw.selector not in by_selector:
                by_selector[gw.selector] = self.snapshot.pods_selected_by(gw.selector)
            out[gw.meta.full_name] = by_selector[gw.selector]
        return out

    @cached_property
    def reachability(self) -> Reachability:
        """Per rule and match: taken by some request at some proxy, or always taken first by another route
        (VirtualServices and Gateway API routes alike)."""
        return compute_reachability(self.routed, witnesses=self.witnesses)

    @cached_property
    def gateway_servers(self) -> servers.GatewayServers:
        """The input's Gateways, and each one's servers by host, for the checks that ask which servers serve a
        VirtualService's hosts (MSH0103 for every kind of rule, MSH0205): the by-host indexes are built once."""
        return servers.GatewayServers({g.meta.full_name: g for g in self.snapshot.gateways})

    @cached_property
    def l4_outcomes(self) -> l4.L4Outcomes:
        """The same for ``tcp`` and ``tls`` rules: used at some gateway server, or always taken by another rule."""
        return l4.compute_l4_outcomes(self.snapshot)

    def istio_witness(self, vs: VirtualService, found: IstioRuleFinding) -> AnyWitness | None:
        """A witness for Istio's IST0130/IST0131 where the plugin's own model proves it (see
        :func:`.reachability.istio_rule_witness`, :func:`.l4.istio_l4_witness`)."""
        rule, match = found.rule_index, found.match_index
        if not self.witnesses:
            return None
        if found.section == "http":
            return istio_rule_witness(self.reachability, vs, rule_index=rule, match_index=match)
        section: l4.Section = "tcp" if found.section == "tcp" else "tls"
        return l4.istio_l4_witness(self.l4_outcomes, vs, section=section, rule_index=rule, match_index=match)


@record
class Analyzer:
    name: str
    """Istio's analyzer name for parity checks; the plugin's own otherwise."""
    origin: Literal["istio", "meshctl"]
    reads: frozenset[str]
    """The kinds (registry names) whose objects it looks at."""
    requires: frozenset[str]
    """Kinds that must be part of the input for its verdicts to be true; it is skipped without them."""
    run: Callable[[Analysis], Iterable[Finding]]
    merge_identical: bool = False
    """istioctl reports a message once when two of its analyzers emit the same one (two can emit the same IST0101)."""


def _istio_rule_findings(run: Analysis) -> Iterable[Finding]:
    for vs in run.snapshot.virtual_services:
        for found in run.istio_rules.get((vs.meta.namespace, vs.meta.name), ()):
            yield finding(found.code, vs.meta, *found.args, witness=run.istio_witness(vs, found))


def _kinds(*kinds: str) -> frozenset[str]:
    return frozenset(kinds)


_ISTIO_CONFIG = (GATEWAY.name, VIRTUAL_SERVICE.name)
_GATEWAY_API = (KUBE_GATEWAY.name, HTTP_ROUTE.name, GRPC_ROUTE.name, GATEWAY_CLASS.name)

ANALYZERS: tuple[Analyzer, ...] = (
    Analyzer(
        "VirtualServiceAnalyzer (conditions)",
        "istio",
        _kinds(*_ISTIO_CONFIG, SERVICE.name, POD.name),  # the others only for witnesses, as UnreachableRules reads them
        _kinds(),
        _istio_rule_findings,
    ),
    Analyzer(
        "GatewayAnalyzer",
        "istio",
        _kinds(*_ISTIO_CONFIG, KUBE_GATEWAY.name),
        _kinds(),
        lambda run: references.gateway_analyzer(run.snapshot),
        merge_identical=True,
    ),
    Analyzer(
        "DestinationHostAnalyzer",
        "istio",
        _kinds(VIRTUAL_SERVICE.name, SERVICE.name, SERVICE_ENTRY.name),
        _kinds(SERVICE.name),
        lambda run: references.destination_host_analyzer(run.snapshot),
        merge_identical=True,
    ),
    Analyzer(
        # istioctl runs it on files without any DestinationRule too (its TestFileOnly expects "reviews+v1" not
        # found): a subset cannot be proven missing when no DestinationRule was given, so the plugin does not
        "DestinationRuleAnalyzer",
        "istio",
        _kinds(VIRTUAL_SERVICE.name, DESTINATION_RULE.name),
        _kinds(DESTINATION_RULE.name),
        lambda run: references.destination_rule_analyzer(run.snapshot),
        merge_identical=True,
    ),
    Analyzer(
        "IngressGatewayPortAnalyzer",
        "istio",
        _kinds(GATEWAY.name, POD.name, SERVICE.name),
        _kinds(POD.name, SERVICE.name),  # a port is "not exposed" only if the Services that could expose it were read
        lambda run: references.ingress_gateway_port_analyzer(run.snapshot),
        merge_identical=True,
    ),
    Analyzer(
        "ConflictingGatewayAnalyzer",
        "istio",
        _kinds(GATEWAY.name, POD.name),
        _kinds(),
        lambda run: references.conflicting_gateway_analyzer(run.snapshot),
        merge_identical=True,
    ),
    Analyzer(
        "ConflictingMeshGatewayHostsAnalyzer",
        "istio",
        _kinds(VIRTUAL_SERVICE.name),
        _kinds(),
        lambda run: sidecars.conflicting_mesh_gateway_hosts(run.snapshot),
    ),
    Analyzer(
        "UnreachableRules",
        "meshctl",
        _kinds(*_ISTIO_CONFIG, SERVICE.name, POD.name),
        _kinds(),
        lambda run: unreachable_rule_findings(run.snapshot, run.reachability, run.istio_rules),
    ),
    Analyzer(
        "InapplicableMatches",
        "meshctl",
        _kinds(*_ISTIO_CONFIG),
        _kinds(),
        lambda run: inapplicable_match_findings(run.snapshot, servers=run.gateway_servers),
    ),
    Analyzer(
        "UnservedServers",
        "meshctl",
        _kinds(*_ISTIO_CONFIG, SERVICE.name, POD.name),
        _kinds(),
        lambda run: unserved_server_findings(run.snapshot, run.reachability),
    ),
    Analyzer(
        "NeverServedServers",
        "meshctl",
        _kinds(*_ISTIO_CONFIG, SERVICE.name, POD.name),
        _kinds(),
        lambda run: never_served_server_findings(run.snapshot, run.reachability),
    ),
    Analyzer(
        "HiddenBindings",
        "meshctl",
        _kinds(*_ISTIO_CONFIG, POD.name),
        _kinds(POD.name),
        lambda run: hidden_binding_findings(run.snapshot),
    ),
    Analyzer(
        "TLSCredentialWithoutMode",
        "meshctl",
        _kinds(GATEWAY.name),
        _kinds(),
        lambda run: servers.credential_without_mode_findings(run.snapshot),
    ),
    Analyzer(
        "HTTPRulesWithoutHTTPServer",
        "meshctl",
        _kinds(*_ISTIO_CONFIG),
        _kinds(),
        lambda run: servers.http_rules_without_http_server_findings(run.snapshot, gateways=run.gateway_servers),
    ),
    Analyzer(
        "UnusedAtSidecars",
        "meshctl",
        _kinds(VIRTUAL_SERVICE.name),
        _kinds(),
        lambda run: sidecars.unused_at_sidecars_findings(run.snapshot),
    ),
    Analyzer(
        "InapplicableL4Matches",
        "meshctl",
        _kinds(*_ISTIO_CONFIG),
        _kinds(),
        lambda run: l4.inapplicable_l4_match_findings(run.snapshot, servers=run.gateway_servers),
    ),
    Analyzer(
        "UnreachableL4Rules",
        "meshctl",
        _kinds(*_ISTIO_CONFIG, SERVICE.name, POD.name),
        _kinds(),
        lambda run: l4.unreachable_l4_rule_findings(run.snapshot, run.istio_rules, outcomes=run.l4_outcomes),
    ),
    Analyzer(
        "Delegation",
        "meshctl",
        _kinds(VIRTUAL_SERVICE.name),
        _kinds(),
        lambda run: delegation_findings(run.snapshot),
    ),
    Analyzer(
        "UnreachableRouteRules",
        "meshctl",
        _kinds(*_ISTIO_CONFIG, *_GATEWAY_API, REFERENCE_GRANT.name, NAMESPACE.name, SERVICE.name, POD.name),
        _kinds(),
        lambda run: gateway_api.unreachable_route_findings(run.snapshot, run.reachability),
    ),
    Analyzer(
        "UnattachedParentRefs",
        "meshctl",
        _kinds(*_GATEWAY_API, NAMESPACE.name),
        _kinds(KUBE_GATEWAY.name),  # a Gateway is "not found" only if the Gateways that could be it were read
        lambda run: gateway_api.unattached_parent_findings(run.snapshot, run.conversion),
    ),
    Analyzer(
        "ConflictingListeners",
        "meshctl",
        _kinds(KUBE_GATEWAY.name),
        _kinds(),
        lambda run: gateway_api.listener_conflict_findings(run.snapshot),
    ),
    Analyzer(
        "UngrantedBackendRefs",
        "meshctl",
        _kinds(HTTP_ROUTE.name, GRPC_ROUTE.name, REFERENCE_GRANT.name),
        _kinds(REFERENCE_GRANT.name),  # a grant is missing only if the ReferenceGrants that could permit it were read
        lambda run: gateway_api.ungranted_backend_findings(run.snapshot),
    ),
    Analyzer(
        "VirtualServiceRouteSharedHosts",
        "meshctl",
        _kinds(*_ISTIO_CONFIG, *_GATEWAY_API, POD.name),
        _kinds(),
        lambda run: gateway_api.shared_host_findings(run.snapshot, run.reachability),
    ),
)


def run_analyzers(snapshot: Snapshot, analyzers: Sequence[Analyzer] = ANALYZERS, *, witnesses: bool = True) -> list[Finding]:
    """The findings of ``analyzers`` over ``snapshot`` in registry order, unsorted (see ``report.arrange``);
    ``witnesses=False``: the same findings without their witnesses (see :attr:`Analysis.witnesses`)."""
    run = Analysis(snapshot, witnesses=witnesses)
    findings: list[Finding] = []
    merged: set[Finding] = set()
    with paused_gc():
        for analyzer in analyzers:
            if not analyzer.requires <= snapshot.complete:
                continue
            for found in analyzer.run(run):
                if analyzer.merge_identical:
                    if found in merged:
                        continue
                    merged.add(found)
                findings.append(found)
    if not witnesses:  # the few a cheap model still made (tcp/tls connections): none, as asked
        findings = [f if f.witness is None else replace(f, witness=None) for f in findings]
    return findings


def analyze_references(snapshot: Snapshot) -> list[Finding]:
    """Istio's five reference analyzers alone (what their upstream tests run)."""
    return run_analyzers(snapshot, [a for a in ANALYZERS if a.merge_identical])
