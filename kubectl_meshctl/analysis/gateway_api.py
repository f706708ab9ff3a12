"""Findings on the Gateway API objects users write: HTTPRoute/GRPCRoute rules and matches never reached, parentRefs
that attach nowhere, conflicting listeners, cross-namespace backends without a ReferenceGrant, and hosts a
VirtualService and a route both claim at one gateway proxy (MSH0401-MSH0407).

Why this module exists: istiod never routes an HTTPRoute directly.  It converts the routes into internal
VirtualServices (:mod:`kubectl_meshctl.istio.gateway_api`), one per listener and hostname with every attached route
merged and sorted by Istio's precedence, and builds those like any other.  The reachability verdicts on them
(:mod:`.reachability`) are true, but a finding on a VirtualService nobody wrote helps nobody: here each verdict is
mapped back, through each generated rule's ``generated_from``, onto the route rule and match as written, with the
tie-break that put the other route first.  The VirtualService and Gateway rules never see the generated objects
(:class:`.analyzers.Analysis` hands them the snapshot as written); only the reachability sees them, because a route
and a VirtualService merged at one host shadow each other for real.  Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from ..envoy.route_model import Route
from ..istio.gateway_api import (
    ACCEPTED,
    BUILTIN_CLASSES,
    ISTIO_CONTROLLER,
    NO_MATCHING_PARENT,
    NOT_ALLOWED,
    UNSUPPORTED,
    Conversion,
    ReferenceGrants,
    backend_granted,
    precedence_key,
)
from ..istio.translation import written_at
from ..resources.kinds import NAMESPACE
from ..resources.model import (
    GeneratedFrom,
    HTTPRule,
    KubeGateway,
    KubeRoute,
    Listener,
    ParentRef,
    Snapshot,
    VirtualService,
)
from .findings import Finding, finding, rule_label
from .reachability import GeneratedRules, Reachability, route_text, witness_of

_PATH_KIND = {"exact": "Exact", "prefix": "PathPrefix", "regex": "RegularExpression"}


class _Placed(NamedTuple):
    """One route rule and match (``match`` ``None``: a rule without matches) as istiod generated it somewhere."""

    vs: VirtualService
    rule: HTTPRule
    key: tuple[str, str, int, int | None]
    """The reachability key of the generated rule."""


_Origin = tuple[str, str, str, int, int | None]
"""A :class:`GeneratedFrom`'s fields (kind, namespace, name, rule, match): a plain tuple hashes in C, a dataclass not."""


def _verdicts(generated: GeneratedRules, reach: Reachability) -> tuple[set[_Origin], dict[_Origin, _Placed]]:
    """Over every place istiod put each route rule and match (one per listener and hostname it serves): the rules
    and matches reached at some place, and for the others the first place where they are dead."""
    alive: set[_Origin] = set()
    dead: dict[_Origin, _Placed] = {}
    o_alive, o_dead = reach.outcomes.alive, reach.outcomes.dead
    for vs in generated.virtual_services.values():
        namespace, name = vs.meta.namespace, vs.meta.name
        for rule in vs.http:
            g = rule.generated_from
            if g is None:
                continue
            key = (namespace, name, rule.index, 0 if rule.matches else None)
            if key in o_alive:
                alive.add((g.kind, g.namespace, g.name, g.rule, g.match))
            elif key in o_dead:
                dead.setdefault((g.kind, g.namespace, g.name, g.rule, g.match), _Placed(vs, rule, key))
    return alive, dead


def _path_kind(rule: HTTPRule) -> str:
    uri = rule.matches[0].uri if rule.matches else None
    return uri.kind if uri is not None else ""


def _order_reason(
    killer: Route, victim: _Placed, *, generated: GeneratedRules, routes: Mapping[tuple[str, str, str], KubeRoute]
) -> str:
    """Why Envoy tries ``killer`` before ``victim``: Istio's precedence, or the tie-break of the merge."""
    src = written_at(killer)
    if (src.namespace, src.name) != (victim.vs.meta.namespace, victim.vs.meta.name):
        # another VirtualService (written, or generated for another listener) merged into the same virtual host
        return "merge order at the virtual host (its VirtualService is merged first)"
    killer_rule = victim.vs.http[src.rule_index]
    ours, theirs = precedence_key(killer_rule), precedence_key(victim.rule)
    if ours != theirs:
        step = next(i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b)
        why = {
            0: "a rule with matches before one without",
            1: f"{_PATH_KIND.get(_path_kind(killer_rule), 'a path')} before {_PATH_KIND.get(_path_kind(victim.rule), 'no path')}",
            2: "the longer path first",
            3: "a method match first",
            4: "more header matches first",
            5: "more query parameter matches first",
        }[step]
        return f"Istio's precedence ({why})"
    mine, other = killer_rule.generated_from, victim.rule.generated_from
    assert mine is not None and other is not None
    if (mine.kind, mine.namespace, mine.name) == (other.kind, other.namespace, other.name):
        return "the order of rules and matches in the route"
    a, b = routes[(mine.kind, mine.namespace, mine.name)].meta, routes[(other.kind, other.namespace, other.name)].meta
    # istiod merges equal-precedence rules in route creation order, then namespace, then name
    if a.creation_timestamp != b.creation_timestamp:
        return f"creation time ({a.creation_timestamp or 'none'} before {b.creation_timestamp or 'none'})"
    if a.namespace != b.namespace:
        return f"namespace, at equal creation time ({a.namespace} before {b.namespace})"
    return f"name, at equal creation time ({a.name} before {b.name})"


def _killer_text(killer: Route, victim: GeneratedFrom, generated: GeneratedRules) -> str:
    owner, text = route_text(killer, generated)
    return text if owner == f"{victim.kind} {victim.full_name}" else f"{owner} {text}"


def _regex_behind_prefix(killer: Route, victim: _Placed) -> bool:
    """The victim's regex path lost to an Exact or PathPrefix match only because istiod ranks regexes last."""
    src = written_at(killer)
    if (src.namespace, src.name) != (victim.vs.meta.namespace, victim.vs.meta.name) or _path_kind(victim.rule) != "regex":
        return False
    return _path_kind(victim.vs.http[src.rule_index]) in ("exact", "prefix")


def unreachable_route_findings(snapshot: Snapshot, reach: Reachability) -> list[Finding]:
    """MSH0401 (a route rule), MSH0402 (one match of a rule reached otherwise), MSH0403 (a regex match behind an
    Exact/PathPrefix one): never reached at any proxy where istiod builds them."""
    generated = reach.generated
    o = reach.outcomes
    reached, first_dead = _verdicts(generated, reach)
    routes = {(r.meta.kind, r.meta.namespace, r.meta.name): r for r in snapshot.kube_routes}
    out: list[Finding] = []
    for route in snapshot.kube_routes:
        meta = route.meta
        kind, namespace, name = meta.kind, meta.namespace, meta.name
        for rule in route.rules:
            indexes: list[int | None] = list(range(len(rule.matches))) or [None]
            alive: set[int | None] = set()
            dead: dict[int | None, _Placed] = {}
            for mi in indexes:
                written = (kind, namespace, name, rule.index, mi)
                if written in reached:
                    alive.add(mi)
                elif (victim := first_dead.get(written)) is not None:
                    dead[mi] = victim
            if not dead:
                continue  # every match reached (or never placed): nothing to report
            label = rule_label(rule.name, rule.index)
            regex: list[int | None] = [mi for mi, p in dead.items() if _regex_behind_prefix(o.dead[p.key], p)]
            for mi in regex:
                p = dead[mi]
                killer = o.dead[p.key]
                taken_by = _killer_text(killer, GeneratedFrom(meta.kind, meta.namespace, meta.name, rule.index, mi), generated)
                uri = p.rule.matches[0].uri
                out.append(
                    finding(
                        "MSH0403",
                        meta,
                        meta.kind,
                        label,
                        f"#{mi}",
                        uri.value if uri is not None else "",
                        taken_by,
                        field=f"spec.rules[{rule.index}].matches[{mi}]",
                        witness=witness_of(reach, p.key, taken_by),
                    )
                )
            others = [mi for mi in dead if mi not in regex]
            if not others:
                continue
            if not alive and len(dead) == len(indexes):
                first = dead[others[0]]
                killer = o.dead[first.key]
                origin = GeneratedFrom(meta.kind, meta.namespace, meta.name, rule.index, others[0])
                taken_by = _killer_text(killer, origin, generated)
                witness = witness_of(reach, first.key, taken_by)
                if witness is None:  # another match may have one (it names its own killer)
                    for mi in others[1:]:
                        k = o.dead[dead[mi].key]
                        origin = GeneratedFrom(meta.kind, meta.namespace, meta.name, rule.index, mi)
                        if (witness := witness_of(reach, dead[mi].key, _killer_text(k, origin, generated))) is not None:
                            break
                reason = _order_reason(killer, first, generated=generated, routes=routes)
                out.append(
                    finding(
                        "MSH0401", meta, meta.kind, label, taken_by, reason, field=f"spec.rules[{rule.index}]", witness=witness
                    )
                )
                continue
            for mi in others:
                p = dead[mi]
                killer = o.dead[p.key]
                taken_by = _killer_text(killer, GeneratedFrom(meta.kind, meta.namespace, meta.name, rule.index, mi), generated)
                out.append(
                    finding(
                        "MSH0402",
                        meta,
                        meta.kind,
                        label,
                        f"#{mi}",
                        taken_by,
                        _order_reason(killer, p, generated=generated, routes=routes),
                        field=f"spec.rules[{rule.index}].matches[{mi}]",
                        witness=witness_of(reach, p.key, taken_by),
                    )
                )
    return out


# --------------------------------------------------------------------------- attachment


def _istio_controlled(snapshot: Snapshot, gateway: KubeGateway) -> bool:
    controllers = dict(BUILTIN_CLASSES)
    controllers.update({c.meta.name: c.controller_name for c in snapshot.gateway_classes})
    return controllers.get(gateway.gateway_class) == ISTIO_CONTROLLER


def _parent_text(ref: ParentRef, route_namespace: str) -> str:
    text = f"{ref.kind} {ref.namespace or route_namespace}/{ref.name}"
    if ref.section_name:
        text += f", sectionName {ref.section_name}"
    if ref.port:
        text += f", port {ref.port}"
    return text


def unattached_parent_findings(snapshot: Snapshot, conversion: Conversion) -> list[Finding]:
    """MSH0404: a parentRef through which the route attaches to no listener, with Gateway API's reason."""
    by_route: dict[int, list[int]] = {}
    out: list[Finding] = []
    namespaces_known = NAMESPACE.name in snapshot.complete
    for attachment in conversion.attachments:
        route = attachment.route
        position = by_route.setdefault(id(route), [0])
        index = position[0]
        position[0] += 1
        if attachment.accepted or attachment.reason in (ACCEPTED, UNSUPPORTED):
            continue  # mesh (GAMMA) and ListenerSet parents are not modelled: no verdict
        gateway = attachment.gateway
        message = "; ".join(dict.fromkeys(attachment.message.split("; ")))  # one reason per listener, often alike
        if gateway is None:
            message = "no Gateway of that name in the input"
        elif not _istio_controlled(snapshot, gateway):
            continue  # another controller's Gateway: istiod's verdict says nothing about it
        elif (
            attachment.reason == NOT_ALLOWED
            and not namespaces_known
            and any(listener.allowed_from == "Selector" for listener in gateway.listeners)
        ):
            continue  # a namespace selector cannot be evaluated without the Namespaces' labels
        out.append(
            finding(
                "MSH0404",
                route.meta,
                route.meta.kind,
                f"#{index}",
                _parent_text(attachment.parent, route.meta.namespace),
                attachment.reason or NO_MATCHING_PARENT,
                message,
                field=f"spec.parentRefs[{index}]",
            )
        )
    return out


# --------------------------------------------------------------------------- listeners


_FAMILY = {"HTTP": "http", "HTTPS": "tls", "TLS": "tls"}
"""Gateway API's compatible protocols: listeners of one family share a port, told apart by hostname (or SNI)."""


def _conflict(a: Listener, b: Listener) -> tuple[str, str] | None:
    """Gateway API's listener conflict between two listeners of one Gateway (``None``: they can share the port)."""
    if a.port != b.port:
        return None
    pa, pb = a.protocol.upper(), b.protocol.upper()
    fa, fb = _FAMILY.get(pa, pa), _FAMILY.get(pb, pb)
    if fa != fb:
        if {fa, fb} == {"TCP", "UDP"}:
            return None  # one port number, two transports
        return "ProtocolConflict", f"protocols {pa} and {pb}"
    if fa not in ("http", "tls"):
        return "ProtocolConflict", f"both {pa}, which has no hostname to tell them apart"
    if a.hostname == b.hostname:
        where = f'hostname "{a.hostname}"' if a.hostname else "no hostname (every host)"
        return "HostnameConflict", f"both {pa if pa == pb else f'{pa} and {pb}'} with {where}"
    return None


def listener_conflict_findings(snapshot: Snapshot) -> list[Finding]:
    """MSH0405: two listeners of one Gateway on the same port that Gateway API says conflict."""
    out = []
    for gateway in snapshot.kube_gateways:
        listeners = gateway.listeners
        first_of_family: dict[int, dict[str, int]] = {}
        """port -> family -> the first listener of that family on the port."""
        first_of_host: dict[tuple[int, str, str], int] = {}
        """(port, family, hostname) -> the first such listener (http and tls: told apart by hostname)."""
        for j, later in enumerate(listeners):
            port, family = later.port, _family(later)
            on_port = first_of_family.setdefault(port, {})
            # the earliest listener it conflicts with, from the first of each kind of conflict (a Gateway with a
            # listener per tenant host compared each with every other)
            firsts = [i for f, i in on_port.items() if f != family and {f, family} != {"TCP", "UDP"}]
            if family not in ("http", "tls") and family in on_port:
                firsts.append(on_port[family])
            if (port, family, later.hostname) in first_of_host:
                firsts.append(first_of_host[(port, family, later.hostname)])
            on_port.setdefault(family, j)
            first_of_host.setdefault((port, family, later.hostname), j)
            if not firsts:
                continue
            earlier = listeners[min(firsts)]
            conflict = _conflict(earlier, later)
            assert conflict is not None
            reason, detail = conflict
            out.append(
                finding(
                    "MSH0405", gateway.meta, later.name, earlier.name, later.port, reason, detail, field=f"spec.listeners[{j}]"
                )
            )  # one finding per listener, naming the first it conflicts with
    return out


def _family(listener: Listener) -> str:
    protocol = listener.protocol.upper()
    return _FAMILY.get(protocol, protocol)


# --------------------------------------------------------------------------- backends


def ungranted_backend_findings(snapshot: Snapshot) -> list[Finding]:
    """MSH0406: a backendRef to another namespace no ReferenceGrant permits (istiod routes it to no backend)."""
    grants = ReferenceGrants(snapshot.reference_grants)
    out = []
    for route in snapshot.kube_routes:
        for rule in route.rules:
            weighted = [b for b in rule.backend_refs if b.weight != 0]
            refused = [(j, b) for j, b in enumerate(rule.backend_refs) if not backend_granted(grants, route, backend=b)]
            everything = bool(weighted) and all(any(b is r for _, r in refused) for b in weighted)
            share = "every request the rule takes fails" if everything else "the requests weighted to it fail"
            for j, backend in refused:
                out.append(
                    finding(
                        "MSH0406",
                        route.meta,
                        route.meta.kind,
                        rule_label(rule.name, rule.index),
                        f"#{j}",
                        f"{backend.kind or 'Service'} {backend.namespace}/{backend.name}",
                        backend.namespace,
                        route.meta.kind,
                        route.meta.namespace,
                        share,
                        field=f"spec.rules[{rule.index}].backendRefs[{j}]",
                    )
                )
    return out


# --------------------------------------------------------------------------- hosts shared with VirtualServices


def shared_host_findings(snapshot: Snapshot, reach: Reachability) -> list[Finding]:
    """MSH0407: a route and a VirtualService merged into one virtual host at a gateway proxy."""
    routes = {f"{r.meta.kind} {r.meta.namespace}/{r.meta.name}": r for r in snapshot.kube_routes}
    seen: set[tuple[str, str, str]] = set()
    out = []
    for shared in reach.shared_hosts:
        host = shared.domains[0] if shared.domains else "*"
        for owner in shared.owners:
            route = routes.get(owner)
            if route is None:
                continue
            for other in shared.owners:
                if not other.startswith("VirtualService ") or (owner, other, host) in seen:
                    continue
                seen.add((owner, other, host))
                first = min((owner, other), key=shared.owners.index)
                out.append(finding("MSH0407", route.meta, route.meta.kind, other, host, shared.route_configuration, first))
    return out
