"""Raw Kubernetes object dicts -> typed model objects, checked field by field.

Why this module exists: it is the single edge where untrusted shapes (YAML files, API responses)
become the typed snapshot.  Every shape error raises :class:`InvalidObject` naming the object and
the dotted field path, so the shell can print one precise line and go on with the other objects.
Which kinds are read, in which versions, by which parser is the kind registry's (``kinds.py``); here
are the parsers and the kinds that are known but skipped.  It does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from itertools import pairwise
from typing import Any

from ..gocompat.duration import duration_nanos
from .kinds import GATEWAY_API, ISTIO_NETWORKING, KINDS, Kind, by_api_version
from .model import (
    BackendRef,
    ContainerPort,
    Destination,
    DestinationRule,
    Gateway,
    GatewayClass,
    HTTPMatch,
    HTTPRule,
    KubeGateway,
    KubeRoute,
    KubeRouteMatch,
    KubeRouteRule,
    KubeValueMatch,
    L4Match,
    L4Rule,
    LabelSelector,
    Listener,
    Namespace,
    ObjectMeta,
    Origin,
    ParentRef,
    Pod,
    ReferenceGrant,
    RouteDestination,
    Server,
    ServerPort,
    ServerTLS,
    Service,
    ServiceEntry,
    ServicePort,
    StringMatch,
    Subset,
    VirtualService,
)

Resource = (
    Gateway
    | VirtualService
    | DestinationRule
    | ServiceEntry
    | Service
    | Pod
    | KubeGateway
    | KubeRoute
    | ReferenceGrant
    | GatewayClass
    | Namespace
)
"""Any model a parser returns: one member per registered kind (tests/test_kinds.py holds them equal)."""


class InvalidObject(ValueError):
    """An object whose shape does not fit its kind.  ``path`` is the dotted field path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.detail = message


class UnknownKind(ValueError):
    """A well-formed object of a kind the plugin does not know at all."""


# Kinds that exist in the API groups the plugin reads but carry nothing it needs: skipped, as objects of every other
# group are.  A kind in these groups that is neither read nor listed here is a typo (or a kind that does not exist).
_UNREAD_KINDS: dict[str, frozenset[str]] = {
    "": frozenset(
        (
            "Binding",
            "ComponentStatus",
            "ConfigMap",
            "Endpoints",
            "Event",
            "LimitRange",
            "Node",
            "PersistentVolume",
            "PersistentVolumeClaim",
            "PodTemplate",
            "ReplicationController",
            "ResourceQuota",
            "Secret",
            "ServiceAccount",
        )
    ),
    ISTIO_NETWORKING: frozenset(("Sidecar", "EnvoyFilter", "WorkloadEntry", "WorkloadGroup", "ProxyConfig")),
    GATEWAY_API: frozenset(
        (
            "TCPRoute",
            "TLSRoute",
            "UDPRoute",
            "BackendTLSPolicy",
            "BackendLBPolicy",
            "ListenerSet",
        )
    ),
}
_READ_GROUPS = frozenset(k.group for k in KINDS)


def _kinds_of_group(group: str) -> list[str]:
    return sorted({k.kind for k in KINDS if k.group == group} | _UNREAD_KINDS.get(group, frozenset()))


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _map(value: object, path: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidObject(path, f"expected an object, got {_type_name(value)}")
    return value


def _list(value: object, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidObject(path, f"expected a list, got {_type_name(value)}")
    return value


def _str(value: object, path: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidObject(path, f"expected a string, got {_type_name(value)}")
    return value if isinstance(value, str) else str(value)


def _int(value: object, path: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
            return int(value)
        raise InvalidObject(path, f"expected an integer, got {_type_name(value)}")
    return value


def _duration(value: object, path: str) -> str:
    """A duration as written (``1.5s``, ``500ms``); istiod's webhook refuses anything else, so the object is refused."""
    text = _str(value, path)
    try:
        duration_nanos(text)
    except ValueError:
        raise InvalidObject(path, f"not a duration: {text!r} (e.g. 10s, 1.5s, 500ms)") from None
    return text


def _bool(value: object, path: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidObject(path, f"expected true or false, got {_type_name(value)}")
    return value


def _str_list(value: object, path: str) -> tuple[str, ...]:
    return tuple(_str(v, f"{path}[{i}]") for i, v in enumerate(_list(value, path)))


def _sorted_by_key(items: list[tuple[str, Any]], path: str) -> tuple[tuple[str, Any], ...]:
    items.sort(key=_first)
    for (a, _), (b, _) in pairwise(items):  # 1 and "1" are one key once in JSON
        if a == b:
            raise InvalidObject(f"{path}.{a}", "key given twice")
    return tuple(items)


def _first(item: tuple[str, Any]) -> str:
    return item[0]


def _str_map(value: object, path: str) -> tuple[tuple[str, str], ...]:
    m = _map(value, path)
    return _sorted_by_key([(str(k), _str(v, f"{path}.{k}")) for k, v in m.items()], path)


_STRING_MATCH_KINDS = frozenset(("exact", "prefix", "regex"))


def _plain_string_match(value: object) -> StringMatch | None:
    """The usual ``{prefix: /a}`` in one look, without a path for errors (``None``: anything else)."""
    if type(value) is dict and len(value) == 1:
        for kind, text in value.items():
            if type(text) is str and kind in _STRING_MATCH_KINDS:
                return StringMatch(kind, text)
    return None


def _string_match(value: object, path: str) -> StringMatch:
    plain = _plain_string_match(value)
    if plain is not None:
        return plain
    m = _map(value, path)
    kinds = [k for k in ("exact", "prefix", "regex") if k in m]
    if len(kinds) > 1:
        raise InvalidObject(path, f"only one of exact, prefix, regex may be set, got {', '.join(kinds)}")
    if not kinds:
        return StringMatch("")
    kind = kinds[0]
    return StringMatch(kind, _str(m[kind], f"{path}.{kind}"))  # type: ignore[arg-type]


def _string_match_map(value: object, path: str) -> tuple[tuple[str, StringMatch], ...]:
    m = _map(value, path)
    return _sorted_by_key([(str(k), _string_match(v, f"{path}.{k}")) for k, v in m.items()], path)


def parse_meta(raw: Mapping[str, Any], *, kind: str, origin: Origin, default_namespace: str, order: int) -> ObjectMeta:
    md = _map(raw.get("metadata"), "metadata")
    name = _str(md.get("name"), "metadata.name")
    if not name:
        raise InvalidObject("metadata.name", "missing")
    ts = md.get("creationTimestamp")
    if isinstance(ts, (dict, list)):
        raise InvalidObject("metadata.creationTimestamp", f"expected a timestamp, got {_type_name(ts)}")
    return ObjectMeta(
        kind=kind,
        name=name,
        namespace=_str(md.get("namespace"), "metadata.namespace") or default_namespace,
        origin=origin,
        api_version=_str(raw.get("apiVersion"), "apiVersion"),
        creation_timestamp="" if ts is None else str(ts),
        labels=_str_map(md.get("labels"), "metadata.labels"),
        annotations=_str_map(md.get("annotations"), "metadata.annotations"),
        order=order,
    )


_MATCH_FIELDS: Mapping[str, tuple[str, Callable[[object, str], object]]] = {
    "name": ("name", _str),
    "uri": ("uri", _string_match),
    "scheme": ("scheme", _string_match),
    "method": ("method", _string_match),
    "authority": ("authority", _string_match),
    "headers": ("headers", _string_match_map),
    "withoutHeaders": ("without_headers", _string_match_map),
    "queryParams": ("query_params", _string_match_map),
    "ignoreUriCase": ("ignore_uri_case", _bool),
    "port": ("port", _int),
    "gateways": ("gateways", _str_list),
    "sourceLabels": ("source_labels", _str_map),
    "sourceNamespace": ("source_namespace", _str),
    "statPrefix": ("stat_prefix", _str),
}
"""HTTPMatchRequest's fields: (the model's field, its parser); other keys are not routing and are left alone."""


def _http_match(raw: object, rule_path: str, index: int) -> HTTPMatch:
    # Only the keys written are looked at (most matches hold one or two of the fourteen), and a path (for error
    # messages) is built only when a value needs more than a look: the hot path of parsing thousands of rules.
    fields: dict[str, Any] = {}
    for key, value in (raw if type(raw) is dict else _map(raw, f"{rule_path}.match[{index}]")).items():
        known = _MATCH_FIELDS.get(key)
        if known is None or value is None:
            continue
        name, parse_field = known
        if parse_field is _string_match and (plain := _plain_string_match(value)) is not None:
            fields[name] = plain
        else:
            fields[name] = parse_field(value, f"{rule_path}.match[{index}].{key}")
    return HTTPMatch(**fields)


def _destination(raw: object, path: str) -> Destination:
    d = raw if type(raw) is dict else _map(raw, path)
    get = d.get  # paths for errors are built only when a value is there to check (the hot path of a big read)
    port = get("port")
    number = None if port is None else (port if type(port) is dict else _map(port, f"{path}.port")).get("number")
    host, subset = get("host"), get("subset")
    return Destination(
        host=host if type(host) is str else "" if host is None else _str(host, f"{path}.host"),
        subset=subset if type(subset) is str else "" if subset is None else _str(subset, f"{path}.subset"),
        port=0 if number is None else number if type(number) is int else _int(number, f"{path}.port.number"),
    )


def _route_destinations(value: object, rule_path: str) -> tuple[RouteDestination, ...]:
    """A rule's ``route`` (``rule_path``: the rule's own path, ``spec.http[0]``)."""
    if value is None:
        return ()
    out = []
    for i, raw in enumerate(value if type(value) is list else _list(value, f"{rule_path}.route")):
        r = raw if type(raw) is dict else _map(raw, f"{rule_path}.route[{i}]")
        dest = r.get("destination")
        weight = r.get("weight")
        dest_path = f"{rule_path}.route[{i}].destination"
        out.append(
            RouteDestination(
                destination=None if dest is None else _destination(dest, dest_path),
                weight=weight if type(weight) is int else 0 if weight is None else _int(weight, f"{rule_path}.route[{i}].weight"),
                path=dest_path + ".host",  # kept: findings about the host point at its line
            )
        )
    return tuple(out)


def _http_rule(raw: object, index: int) -> HTTPRule:
    path = f"spec.http[{index}]"
    r = raw if type(raw) is dict else _map(raw, path)
    get = r.get
    mirrors: list[RouteDestination] = []
    if (mirror := get("mirror")) is not None:
        mirrors.append(RouteDestination(_destination(mirror, f"{path}.mirror"), path=f"{path}.mirror.host"))
    if (more := get("mirrors")) is not None:
        for i, m in enumerate(_list(more, f"{path}.mirrors")):
            mp = f"{path}.mirrors[{i}]"
            mm = _map(m, mp)
            mirrors.append(RouteDestination(_destination(mm.get("destination"), f"{mp}.destination"), path=f"{mp}.host"))
    delegate = None
    if (d := get("delegate")) is not None:
        d = _map(d, f"{path}.delegate")
        delegate = (_str(d.get("name"), f"{path}.delegate.name"), _str(d.get("namespace"), f"{path}.delegate.namespace"))
    matches = get("match")
    name = get("name")
    return HTTPRule(
        index=index,
        name=name if type(name) is str else "" if name is None else _str(name, f"{path}.name"),
        matches=()
        if matches is None
        else tuple(
            _http_match(m, path, i) for i, m in enumerate(matches if type(matches) is list else _list(matches, f"{path}.match"))
        ),
        route=_route_destinations(get("route"), path),
        mirrors=tuple(mirrors),
        redirect=get("redirect") is not None,
        direct_response=get("directResponse") is not None,
        delegate=delegate,
        timeout="" if (t := get("timeout")) is None else _duration(t, f"{path}.timeout"),
        spec=r,
    )


def _l4_match(raw: object, path: str) -> L4Match:
    m = _map(raw, path)
    return L4Match(
        port=_int(m.get("port"), f"{path}.port"),
        gateways=_str_list(m.get("gateways"), f"{path}.gateways"),
        sni_hosts=_str_list(m.get("sniHosts"), f"{path}.sniHosts"),
        destination_subnets=_str_list(m.get("destinationSubnets"), f"{path}.destinationSubnets"),
        source_labels=_str_map(m.get("sourceLabels"), f"{path}.sourceLabels"),
        source_namespace=_str(m.get("sourceNamespace"), f"{path}.sourceNamespace"),
    )


def _l4_rules(value: object, section: str) -> tuple[L4Rule, ...]:
    rules = []
    for index, raw in enumerate(_list(value, f"spec.{section}")):
        path = f"spec.{section}[{index}]"
        r = _map(raw, path)
        rules.append(
            L4Rule(
                index=index,
                matches=tuple(_l4_match(m, f"{path}.match[{i}]") for i, m in enumerate(_list(r.get("match"), f"{path}.match"))),
                route=_route_destinations(r.get("route"), path),
            )
        )
    return tuple(rules)


def parse_virtual_service(raw: Mapping[str, Any], meta: ObjectMeta) -> VirtualService:
    spec = _map(raw.get("spec"), "spec")
    return VirtualService(
        meta=meta,
        hosts=_str_list(spec.get("hosts"), "spec.hosts"),
        gateways=_str_list(spec.get("gateways"), "spec.gateways"),
        export_to=_str_list(spec.get("exportTo"), "spec.exportTo"),
        http=tuple(_http_rule(r, i) for i, r in enumerate(_list(spec.get("http"), "spec.http"))),
        tcp=_l4_rules(spec.get("tcp"), "tcp"),
        tls=_l4_rules(spec.get("tls"), "tls"),
    )


def _server(raw: object, index: int) -> Server:
    path = f"spec.servers[{index}]"
    s = _map(raw, path)
    port = None
    if s.get("port") is not None:
        p = _map(s["port"], f"{path}.port")
        port = ServerPort(
            number=_int(p.get("number"), f"{path}.port.number"),
            name=_str(p.get("name"), f"{path}.port.name"),
            protocol=_str(p.get("protocol"), f"{path}.port.protocol"),
            target_port=_int(p.get("targetPort"), f"{path}.port.targetPort"),
        )
    tls = None
    if s.get("tls") is not None:
        t = _map(s["tls"], f"{path}.tls")
        tls = ServerTLS(
            mode=_str(t.get("mode"), f"{path}.tls.mode"),
            credential_name=_str(t.get("credentialName"), f"{path}.tls.credentialName"),
            https_redirect=_bool(t.get("httpsRedirect"), f"{path}.tls.httpsRedirect"),
        )
    return Server(
        index=index,
        port=port,
        hosts=_str_list(s.get("hosts"), f"{path}.hosts"),
        bind=_str(s.get("bind"), f"{path}.bind"),
        name=_str(s.get("name"), f"{path}.name"),
        tls=tls,
    )


def parse_gateway(raw: Mapping[str, Any], meta: ObjectMeta) -> Gateway:
    spec = _map(raw.get("spec"), "spec")
    return Gateway(
        meta=meta,
        selector=_str_map(spec.get("selector"), "spec.selector"),
        servers=tuple(_server(s, i) for i, s in enumerate(_list(spec.get("servers"), "spec.servers"))),
    )


def parse_destination_rule(raw: Mapping[str, Any], meta: ObjectMeta) -> DestinationRule:
    spec = _map(raw.get("spec"), "spec")
    subsets = []
    for i, s in enumerate(_list(spec.get("subsets"), "spec.subsets")):
        sm = _map(s, f"spec.subsets[{i}]")
        subsets.append(
            Subset(_str(sm.get("name"), f"spec.subsets[{i}].name"), _str_map(sm.get("labels"), f"spec.subsets[{i}].labels"))
        )
    return DestinationRule(
        meta=meta,
        host=_str(spec.get("host"), "spec.host"),
        subsets=tuple(subsets),
        export_to=_str_list(spec.get("exportTo"), "spec.exportTo"),
    )


def _service_ports(value: object, path: str, *, target_key: str) -> tuple[ServicePort, ...]:
    ports = []
    for i, p in enumerate(_list(value, path)):
        pp = f"{path}[{i}]"
        pm = _map(p, pp)
        target = pm.get(target_key)
        if isinstance(target, str) and not target.isdigit():
            target_port: int | str = target
        else:
            target_port = _int(target, f"{pp}.{target_key}")
        ports.append(
            ServicePort(
                port=_int(pm.get("port") if "port" in pm else pm.get("number"), f"{pp}.port"),
                name=_str(pm.get("name"), f"{pp}.name"),
                protocol=_str(pm.get("protocol"), f"{pp}.protocol"),
                target_port=target_port,
            )
        )
    return tuple(ports)


def parse_service_entry(raw: Mapping[str, Any], meta: ObjectMeta) -> ServiceEntry:
    spec = _map(raw.get("spec"), "spec")
    return ServiceEntry(
        meta=meta,
        hosts=_str_list(spec.get("hosts"), "spec.hosts"),
        export_to=_str_list(spec.get("exportTo"), "spec.exportTo"),
        ports=_service_ports(spec.get("ports"), "spec.ports", target_key="targetPort"),
    )


def parse_service(raw: Mapping[str, Any], meta: ObjectMeta) -> Service:
    spec = _map(raw.get("spec"), "spec")
    selector = spec.get("selector")
    return Service(
        meta=meta,
        selector=None if selector is None else _str_map(selector, "spec.selector"),
        ports=_service_ports(spec.get("ports"), "spec.ports", target_key="targetPort"),
        type=_str(spec.get("type"), "spec.type"),
        external_name=_str(spec.get("externalName"), "spec.externalName"),
    )


def parse_pod(raw: Mapping[str, Any], meta: ObjectMeta) -> Pod:
    spec = _map(raw.get("spec"), "spec")
    status = _map(raw.get("status"), "status")
    ports: list[ContainerPort] = []
    unprivileged = False
    containers = _list(spec.get("containers"), "spec.containers")
    for ci, c in enumerate(containers):
        cp = f"spec.containers[{ci}]"
        cm = _map(c, cp)
        for pi, p in enumerate(_list(cm.get("ports"), f"{cp}.ports")):
            pm = _map(p, f"{cp}.ports[{pi}]")
            ports.append(
                ContainerPort(
                    _int(pm.get("containerPort"), f"{cp}.ports[{pi}].containerPort"),
                    _str(pm.get("name"), f"{cp}.ports[{pi}].name"),
                    _str(pm.get("protocol"), f"{cp}.ports[{pi}].protocol"),
                )
            )
        for ei, e in enumerate(_list(cm.get("env"), f"{cp}.env")):
            em = _map(e, f"{cp}.env[{ei}]")
            if em.get("name") == "ISTIO_META_UNPRIVILEGED_POD" and str(em.get("value", "")).lower() == "true":
                unprivileged = True
    statuses = _list(status.get("containerStatuses"), "status.containerStatuses")
    ready = sum(1 for s in statuses if isinstance(s, dict) and s.get("ready") is True)
    return Pod(
        meta=meta,
        container_ports=tuple(ports),
        phase=_str(status.get("phase"), "status.phase"),
        ready_containers=ready,
        total_containers=len(containers),
        pod_ip=_str(status.get("podIP"), "status.podIP"),
        node_name=_str(spec.get("nodeName"), "spec.nodeName"),
        unprivileged=unprivileged,
    )


def _label_selector(value: object, path: str) -> LabelSelector:
    sm = _map(value, path)
    expressions = []
    for i, e in enumerate(_list(sm.get("matchExpressions"), f"{path}.matchExpressions")):
        em = _map(e, f"{path}.matchExpressions[{i}]")
        operator = _str(em.get("operator"), f"{path}.matchExpressions[{i}].operator")
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise InvalidObject(f"{path}.matchExpressions[{i}].operator", f"unknown operator {operator!r}")
        values = _str_list(em.get("values"), f"{path}.matchExpressions[{i}].values")
        expressions.append((_str(em.get("key"), f"{path}.matchExpressions[{i}].key"), operator, values))
    return LabelSelector(_str_map(sm.get("matchLabels"), f"{path}.matchLabels"), tuple(expressions))


def _listener(raw: object, index: int) -> Listener:
    path = f"spec.listeners[{index}]"
    lm = _map(raw, path)
    tls = lm.get("tls")
    tls_mode, refs = "", []
    if tls is not None:
        tm = _map(tls, f"{path}.tls")
        tls_mode = _str(tm.get("mode"), f"{path}.tls.mode") or "Terminate"
        for i, ref in enumerate(_list(tm.get("certificateRefs"), f"{path}.tls.certificateRefs")):
            rp = f"{path}.tls.certificateRefs[{i}]"
            rm = _map(ref, rp)
            refs.append(
                (
                    _str(rm.get("group"), f"{rp}.group"),
                    _str(rm.get("kind"), f"{rp}.kind") or "Secret",
                    _str(rm.get("namespace"), f"{rp}.namespace"),
                    _str(rm.get("name"), f"{rp}.name"),
                )
            )
    allowed = _map(lm.get("allowedRoutes"), f"{path}.allowedRoutes")
    namespaces = _map(allowed.get("namespaces"), f"{path}.allowedRoutes.namespaces")
    allowed_from = _str(namespaces.get("from"), f"{path}.allowedRoutes.namespaces.from") or "Same"
    if allowed_from not in ("Same", "All", "Selector"):
        raise InvalidObject(f"{path}.allowedRoutes.namespaces.from", f"unknown value {allowed_from!r}")
    selector = namespaces.get("selector")
    kinds = []
    for i, k in enumerate(_list(allowed.get("kinds"), f"{path}.allowedRoutes.kinds")):
        km = _map(k, f"{path}.allowedRoutes.kinds[{i}]")
        group = km.get("group")
        kinds.append(
            (
                GATEWAY_API if group is None else _str(group, f"{path}.allowedRoutes.kinds[{i}].group"),
                _str(km.get("kind"), f"{path}.allowedRoutes.kinds[{i}].kind"),
            )
        )
    return Listener(
        name=_str(lm.get("name"), f"{path}.name"),
        port=_int(lm.get("port"), f"{path}.port"),
        protocol=_str(lm.get("protocol"), f"{path}.protocol"),
        hostname=_str(lm.get("hostname"), f"{path}.hostname"),
        tls_mode=tls_mode,
        certificate_refs=tuple(refs),
        allowed_from=allowed_from,  # type: ignore[arg-type]
        allowed_selector=None if selector is None else _label_selector(selector, f"{path}.allowedRoutes.namespaces.selector"),
        allowed_kinds=tuple(kinds),
    )


def parse_kube_gateway(raw: Mapping[str, Any], meta: ObjectMeta) -> KubeGateway:
    spec = _map(raw.get("spec"), "spec")
    addresses = []
    for i, a in enumerate(_list(spec.get("addresses"), "spec.addresses")):
        am = _map(a, f"spec.addresses[{i}]")
        addresses.append((_str(am.get("type"), f"spec.addresses[{i}].type"), _str(am.get("value"), f"spec.addresses[{i}].value")))
    return KubeGateway(
        meta=meta,
        gateway_class=_str(spec.get("gatewayClassName"), "spec.gatewayClassName"),
        listeners=tuple(_listener(x, i) for i, x in enumerate(_list(spec.get("listeners"), "spec.listeners"))),
        addresses=tuple(addresses),
    )


def _parent_ref(raw: object, path: str) -> ParentRef:
    pm = _map(raw, path)
    get = pm.get  # paths for errors are built only when a value is there to check (the hot path of a big read)
    return ParentRef(
        name="" if (v := get("name")) is None else v if type(v) is str else _str(v, f"{path}.name"),
        namespace="" if (v := get("namespace")) is None else v if type(v) is str else _str(v, f"{path}.namespace"),
        group=GATEWAY_API if (v := get("group")) is None else v if type(v) is str else _str(v, f"{path}.group"),
        kind=("" if (v := get("kind")) is None else v if type(v) is str else _str(v, f"{path}.kind")) or "Gateway",
        section_name="" if (v := get("sectionName")) is None else v if type(v) is str else _str(v, f"{path}.sectionName"),
        port=0 if (v := get("port")) is None else v if type(v) is int else _int(v, f"{path}.port"),
    )


def _value_matches(value: object, path: str) -> tuple[KubeValueMatch, ...]:
    if value is None:
        return ()
    out = []
    for i, m in enumerate(_list(value, path)):
        mm = _map(m, f"{path}[{i}]")
        get = mm.get
        kind = ("" if (v := get("type")) is None else v if type(v) is str else _str(v, f"{path}[{i}].type")) or "Exact"
        if kind not in ("Exact", "RegularExpression"):
            raise InvalidObject(f"{path}[{i}].type", f"unknown match type {kind!r}")
        out.append(
            KubeValueMatch(
                "" if (v := get("name")) is None else v if type(v) is str else _str(v, f"{path}[{i}].name"),
                "" if (v := get("value")) is None else v if type(v) is str else _str(v, f"{path}[{i}].value"),
                kind,  # type: ignore[arg-type]
            )
        )
    return tuple(out)


def _route_match(raw: object, path: str, *, grpc: bool) -> KubeRouteMatch:
    # As in _http_match, paths for error messages are built only when a value is there to check -- and here (the
    # hot path of a big read of routes) only when it is not already what it must be: a str (an int) as is.
    mm = _map(raw, path)
    get = mm.get
    headers = () if (v := get("headers")) is None else _value_matches(v, f"{path}.headers")
    if grpc:
        method = get("method")
        kind, service, name = "", "", ""
        if method is not None:
            me = _map(method, f"{path}.method")
            kind = _str(me.get("type"), f"{path}.method.type") or "Exact"
            if kind not in ("Exact", "RegularExpression"):
                raise InvalidObject(f"{path}.method.type", f"unknown match type {kind!r}")
            service = _str(me.get("service"), f"{path}.method.service")
            name = _str(me.get("method"), f"{path}.method.method")
        return KubeRouteMatch(headers=headers, grpc_type=kind, grpc_service=service, grpc_method=name)  # type: ignore[arg-type]
    path_type, value = "PathPrefix", "/"  # the API's default for a match without path
    if (raw_path := get("path")) is not None:
        pm = _map(raw_path, f"{path}.path")
        path_type = (
            "" if (v := pm.get("type")) is None else v if type(v) is str else _str(v, f"{path}.path.type")
        ) or "PathPrefix"
        if path_type not in ("Exact", "PathPrefix", "RegularExpression"):
            raise InvalidObject(f"{path}.path.type", f"unknown path type {path_type!r}")
        value = (v if type(v) is str else _str(v, f"{path}.path.value")) if (v := pm.get("value")) is not None else "/"
    return KubeRouteMatch(
        path_type=path_type,  # type: ignore[arg-type]
        path=value,
        headers=headers,
        query_params=() if (v := get("queryParams")) is None else _value_matches(v, f"{path}.queryParams"),
        method="" if (v := get("method")) is None else v if type(v) is str else _str(v, f"{path}.method"),
    )


def _backend_ref(raw: object, path: str) -> BackendRef:
    bm = _map(raw, path)
    get = bm.get  # paths for errors are built only when a value is there to check (the hot path of a big read)
    filters = get("filters")
    return BackendRef(
        name="" if (v := get("name")) is None else v if type(v) is str else _str(v, f"{path}.name"),
        namespace="" if (v := get("namespace")) is None else v if type(v) is str else _str(v, f"{path}.namespace"),
        group="" if (v := get("group")) is None else v if type(v) is str else _str(v, f"{path}.group"),
        kind=("" if (v := get("kind")) is None else v if type(v) is str else _str(v, f"{path}.kind")) or "Service",
        port=0 if (v := get("port")) is None else v if type(v) is int else _int(v, f"{path}.port"),
        weight=1 if (v := get("weight")) is None else v if type(v) is int else _int(v, f"{path}.weight"),
        filters=() if filters is None else _route_filters(filters, f"{path}.filters"),
    )


def _header_modifier(raw: object, path: str) -> None:
    hm = _map(raw, path)
    for key in ("add", "set"):
        for j, entry in enumerate(_list(hm.get(key), f"{path}.{key}")):
            em = _map(entry, f"{path}.{key}[{j}]")
            _str(em.get("name"), f"{path}.{key}[{j}].name")
            _str(em.get("value"), f"{path}.{key}[{j}].value")
    _str_list(hm.get("remove"), f"{path}.remove")


def _path_modifier(raw: object, path: str) -> None:
    pm = _map(raw, path)
    for key in ("type", "replaceFullPath", "replacePrefixMatch"):
        _str(pm.get(key), f"{path}.{key}")


def _route_filter(raw: object, path: str) -> Mapping[str, Any]:
    """A filter as written, every field the Gateway API conversion reads checked for its type here, at the edge: the
    API server's schema refuses the object otherwise, and the conversion then trusts what it reads."""
    fm = _map(raw, path)
    _str(fm.get("type"), f"{path}.type")
    for key in ("requestHeaderModifier", "responseHeaderModifier"):
        if (v := fm.get(key)) is not None:
            _header_modifier(v, f"{path}.{key}")
    if (v := fm.get("requestRedirect")) is not None:
        rm = _map(v, f"{path}.requestRedirect")
        for key, check in (("statusCode", _int), ("hostname", _str), ("scheme", _str), ("port", _int)):
            check(rm.get(key), f"{path}.requestRedirect.{key}")
        _path_modifier(rm.get("path"), f"{path}.requestRedirect.path")
    if (v := fm.get("urlRewrite")) is not None:
        um = _map(v, f"{path}.urlRewrite")
        _str(um.get("hostname"), f"{path}.urlRewrite.hostname")
        _path_modifier(um.get("path"), f"{path}.urlRewrite.path")
    if (v := fm.get("requestMirror")) is not None:
        mm = _map(v, f"{path}.requestMirror")
        _backend_ref(mm.get("backendRef"), f"{path}.requestMirror.backendRef")
        _int(mm.get("percent"), f"{path}.requestMirror.percent")
        fraction = _map(mm.get("fraction"), f"{path}.requestMirror.fraction")
        for key in ("numerator", "denominator"):
            _int(fraction.get(key), f"{path}.requestMirror.fraction.{key}")
    if (v := fm.get("cors")) is not None:
        cm = _map(v, f"{path}.cors")
        for key in ("allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders"):
            _str_list(cm.get(key), f"{path}.cors.{key}")
        _bool(cm.get("allowCredentials"), f"{path}.cors.allowCredentials")
        _int(cm.get("maxAge"), f"{path}.cors.maxAge")
    return fm


def _route_filters(raw: object, path: str) -> tuple[Mapping[str, Any], ...]:
    return tuple(_route_filter(f, f"{path}[{i}]") for i, f in enumerate(_list(raw, path)))


def _retry(raw: object, path: str) -> None:
    rm = _map(raw, path)
    _int(rm.get("attempts"), f"{path}.attempts")
    for j, code in enumerate(_list(rm.get("codes"), f"{path}.codes")):
        _int(code, f"{path}.codes[{j}]")
    _str(rm.get("backoff"), f"{path}.backoff")


def _kube_route_rule(r: object, i: int, *, grpc: bool) -> KubeRouteRule:
    path = f"spec.rules[{i}]"
    rm = _map(r, path)
    get = rm.get  # paths for errors are built only when a value is there to check (the hot path of a big read)
    raw_timeouts = get("timeouts")
    timeouts = {} if raw_timeouts is None else _map(raw_timeouts, f"{path}.timeouts")
    if (raw_retry := get("retry")) is not None:
        _retry(raw_retry, f"{path}.retry")
    matches = get("matches")
    backends = get("backendRefs")
    filters = get("filters")
    return KubeRouteRule(
        index=i,
        name="" if (v := get("name")) is None else v if type(v) is str else _str(v, f"{path}.name"),
        matches=()
        if matches is None
        else tuple(_route_match(m, f"{path}.matches[{j}]", grpc=grpc) for j, m in enumerate(_list(matches, f"{path}.matches"))),
        backend_refs=()
        if backends is None
        else tuple(_backend_ref(b, f"{path}.backendRefs[{j}]") for j, b in enumerate(_list(backends, f"{path}.backendRefs"))),
        filters=() if filters is None else _route_filters(filters, f"{path}.filters"),
        timeouts=tuple((k, _duration(v, f"{path}.timeouts.{k}")) for k, v in sorted(timeouts.items())) if timeouts else (),
        retry=raw_retry,
    )


def parse_kube_route(raw: Mapping[str, Any], meta: ObjectMeta) -> KubeRoute:
    """An HTTPRoute or a GRPCRoute."""
    spec = _map(raw.get("spec"), "spec")
    grpc = meta.kind == "GRPCRoute"
    rules = tuple(_kube_route_rule(r, i, grpc=grpc) for i, r in enumerate(_list(spec.get("rules"), "spec.rules")))
    return KubeRoute(
        meta=meta,
        parent_refs=tuple(
            _parent_ref(p, f"spec.parentRefs[{i}]") for i, p in enumerate(_list(spec.get("parentRefs"), "spec.parentRefs"))
        ),
        hostnames=_str_list(spec.get("hostnames"), "spec.hostnames"),
        rules=rules,
    )


def parse_reference_grant(raw: Mapping[str, Any], meta: ObjectMeta) -> ReferenceGrant:
    spec = _map(raw.get("spec"), "spec")
    froms, tos = [], []
    for i, f in enumerate(_list(spec.get("from"), "spec.from")):
        fm = _map(f, f"spec.from[{i}]")
        froms.append(
            (
                _str(fm.get("group"), f"spec.from[{i}].group"),
                _str(fm.get("kind"), f"spec.from[{i}].kind"),
                _str(fm.get("namespace"), f"spec.from[{i}].namespace"),
            )
        )
    for i, t in enumerate(_list(spec.get("to"), "spec.to")):
        tm = _map(t, f"spec.to[{i}]")
        tos.append(
            (
                _str(tm.get("group"), f"spec.to[{i}].group"),
                _str(tm.get("kind"), f"spec.to[{i}].kind"),
                _str(tm.get("name"), f"spec.to[{i}].name"),
            )
        )
    return ReferenceGrant(meta=meta, from_=tuple(froms), to=tuple(tos))


def parse_gateway_class(raw: Mapping[str, Any], meta: ObjectMeta) -> GatewayClass:
    spec = _map(raw.get("spec"), "spec")
    return GatewayClass(meta=meta, controller_name=_str(spec.get("controllerName"), "spec.controllerName"))


def parse_namespace(raw: Mapping[str, Any], meta: ObjectMeta) -> Namespace:
    return Namespace(meta=meta)


_ParseFn = Callable[[Mapping[str, Any], ObjectMeta], Resource]

_PARSERS: dict[str, _ParseFn] = {k.name: globals()[k.parser] for k in KINDS}
"""Each registered kind's parser by :attr:`Kind.name`; a parser ``kinds.py`` names that is not here fails the import."""


def kind_of(api_version: str, kind: str) -> Kind | None:
    """The registered kind of ``apiVersion``/``kind``; ``None`` for objects the plugin does not read.

    Objects of API groups the plugin does not read (a Kustomization, an Argo Rollout, an ``extensions/v1beta1``
    Deployment) are skipped, as istioctl skips them, and so are the kinds of its own groups it has no use for.
    Raises :class:`UnknownKind` for a kind its groups do not have (a typo: the nearest kind is named) and for a
    registered kind in a version it refuses.
    """
    registered = by_api_version(api_version, kind)
    group, _, version = api_version.rpartition("/")
    if registered is not None:
        if registered.reads(version):
            return registered
        if registered.other_versions == "refused":
            served = ", ".join(registered.versions)
            raise UnknownKind(f"unsupported apiVersion {api_version} for {kind} (served: {served})")
        raise UnknownKind(f"unknown kind {kind} ({api_version})")
    if group not in _READ_GROUPS or kind in _UNREAD_KINDS.get(group, frozenset()):
        return None
    from difflib import get_close_matches  # only on this error path

    nearest = get_close_matches(kind, _kinds_of_group(group), n=1, cutoff=0.6)
    hint = f"; did you mean {nearest[0]}?" if nearest else ""
    raise UnknownKind(f"unknown kind {kind} ({api_version}){hint}")


def parse_object(raw: object, *, origin: Origin, default_namespace: str, order: int = 0) -> Resource | None:
    """Parse one object; ``None`` for a known kind the plugin does not read.

    Raises :class:`InvalidObject` or :class:`UnknownKind`.
    """
    if not isinstance(raw, dict):
        raise InvalidObject("", f"expected a Kubernetes object, got {_type_name(raw)}")
    kind = raw.get("kind")
    api_version = raw.get("apiVersion")
    if not isinstance(kind, str) or not kind:
        raise InvalidObject("kind", "missing")
    if not isinstance(api_version, str) or not api_version:
        raise InvalidObject("apiVersion", "missing")
    registered = kind_of(api_version, kind)
    if registered is None:
        return None
    namespace = default_namespace if registered.namespaced else ""
    meta = parse_meta(raw, kind=kind, origin=origin, default_namespace=namespace, order=order)
    if not registered.namespaced and meta.namespace:
        meta = replace(meta, namespace="")  # a cluster-scoped object's namespace means nothing (kubectl drops it)
    return _PARSERS[registered.name](raw, meta)


def describe_object(raw: object) -> str:
    """``Kind namespace/name`` of a raw object as far as it can be read, for error lines."""
    if not isinstance(raw, dict):
        return ""
    kind = raw.get("kind") if isinstance(raw.get("kind"), str) else "object"
    md_raw = raw.get("metadata")
    md: dict[str, Any] = md_raw if isinstance(md_raw, dict) else {}
    name = md.get("name") if isinstance(md.get("name"), str) else ""
    ns = md.get("namespace") if isinstance(md.get("namespace"), str) else ""
    if not name:
        return str(kind)
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"
