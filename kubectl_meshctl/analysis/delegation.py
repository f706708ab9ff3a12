"""Delegation that silently does nothing: root rules whose delegate istiod cannot use, delegate rules it leaves out.

Why this module exists: istiod merges a root VirtualService's ``delegate:`` rules with the delegate's rules before
translating them (:mod:`kubectl_meshctl.istio.delegation`), and everything that goes wrong there only shows in
istiod's debug log: a delegate that does not exist (or has hosts, so is no delegate) or that its ``exportTo``
hides from the root's namespace drops the root rule (MSH0301, MSH0302); a delegate rule with a match that lies
within none of the root rule's matches is left out of that root (MSH0303).  Istio's analyzers check none of this.
Shadowing among the merged routes is found with every other route, by :mod:`.reachability` (MSH0101/MSH0102
name the delegate's rule).  Pure: no I/O.
"""

from __future__ import annotations

from ..istio.delegation import merge_delegates
from ..istio.translation import in_istiod_order
from ..resources.model import Snapshot
from .findings import Finding, finding, go_list, rule_label

_WHY_NOT_USABLE = {
    "missing": "which does not exist",
    "has hosts": "which has hosts (a VirtualService with hosts is never a delegate)",
}


def delegation_findings(snapshot: Snapshot) -> list[Finding]:
    """MSH0301, MSH0302 (on the root rule's ``delegate``) and MSH0303 (on the delegate match that conflicts)."""
    delegation = merge_delegates(in_istiod_order(snapshot.virtual_services))
    out: list[Finding] = []
    for unusable in delegation.unresolved:
        root, rule = unusable.root, unusable.rule
        target = f"{unusable.namespace}/{unusable.name}"
        where = f"spec.http[{rule.index}].delegate"
        label = rule_label(rule.name, rule.index)
        if unusable.problem == "not exported" and unusable.found is not None:
            export_to = go_list(unusable.found.export_to)
            out.append(finding("MSH0302", root.meta, label, target, export_to, root.meta.namespace, field=where))
        else:
            out.append(finding("MSH0301", root.meta, label, target, _WHY_NOT_USABLE[unusable.problem], field=where))
    for dropped in delegation.dropped:
        rule, root_rule = dropped.rule, dropped.root_rule
        match = rule.matches[dropped.match_index]
        if len(dropped.reasons) == 1:
            reasons = dropped.reasons[0]
        else:
            root_matches = root_rule.matches
            reasons = "; ".join(f"match {rule_label(root_matches[i].name, i)}: {why}" for i, why in enumerate(dropped.reasons))
        out.append(
            finding(
                "MSH0303",
                dropped.delegate.meta,
                rule_label(rule.name, rule.index),
                dropped.root.meta.full_name,
                rule_label(root_rule.name, root_rule.index),
                rule_label(match.name, dropped.match_index),
                reasons,
                field=f"spec.http[{rule.index}].match[{dropped.match_index}]",
            )
        )
    return out
