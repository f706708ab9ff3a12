"""Analysis: every finding the plugin reports, as a pure function of a snapshot.

Why this package exists: it is the functional core of ``analyze`` -- Istio parity checks
(``istio_rules``, ``references``) and the project's own reachability rules (``reachability``),
all computed from one :class:`~kubectl_meshctl.model.Snapshot` through one model of istiod.
Nothing here reads files, talks to a cluster, prints or exits.
"""

from __future__ import annotations

from ..gcpause import paused_gc
from ..resources.model import Snapshot
from .findings import Finding, finding
from .istio_rules import IstioRuleFinding, istio_rule_findings
from .reachability import (
    compute_reachability,
    hidden_binding_findings,
    inapplicable_match_findings,
    unreachable_rule_findings,
    unserved_server_findings,
)
from .references import analyze_references


def analyze(snapshot: Snapshot) -> list[Finding]:
    """All findings for ``snapshot``, unsorted (see :func:`kubectl_meshctl.report.arrange`)."""
    with paused_gc():
        return _analyze(snapshot)


def _analyze(snapshot: Snapshot) -> list[Finding]:
    findings: list[Finding] = []
    istio: dict[tuple[str, str], list[IstioRuleFinding]] = {}
    for vs in snapshot.virtual_services:
        found = istio_rule_findings(vs)
        if found:
            istio[(vs.meta.namespace, vs.meta.name)] = found
            findings.extend(finding(f.code, vs.meta, *f.args) for f in found)
    findings.extend(analyze_references(snapshot))
    reach = compute_reachability(snapshot)
    findings.extend(unreachable_rule_findings(snapshot, reach, istio))
    findings.extend(inapplicable_match_findings(snapshot))
    findings.extend(unserved_server_findings(snapshot, reach))
    findings.extend(hidden_binding_findings(snapshot))
    return findings
