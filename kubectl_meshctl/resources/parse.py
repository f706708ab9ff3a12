"""Raw Kubernetes object dicts -> typed model objects, checked field by field.

Why this module exists: it is the single edge where untrusted shapes (YAML files, API responses)
become the typed snapshot.  Every shape error raises :class:`InvalidObject` naming the object and
the dotted field path, so the shell can print one precise line and go on with the other objects.
Which kinds are read, in which versions, by which parser is the kind registry's (``kinds.py``); here
are the parsers and the kinds that are known but skipped.  It does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import pairwise
from typing import Any

from .kinds import GATEWAY_API, ISTIO_NETWORKING, KINDS, Kind, by_api_version
from .model import (
    ContainerPort,
    Destination,
    DestinationRule,
    Gateway,
    HTTPMatch,
    HTTPRule,
    KubeGateway,
    L4Match,
    L4Rule,
    ObjectMeta,
    Origin,
    Pod,
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

Resource = Gateway | VirtualService | DestinationRule | ServiceEntry | Service | Pod | KubeGateway
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
            "Namespace",
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
            "GatewayClass",
            "HTTPRoute",
            "GRPCRoute",
            "TCPRoute",
            "TLSRoute",
            "UDPRoute",
            "ReferenceGrant",
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


def _string_match(value: object, path: str) -> StringMatch:
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


def _http_match(raw: object, path: str) -> HTTPMatch:
    # Most fields are absent: their paths (for error messages) are built only when a value is there to check,
    # which halves the cost of parsing thousands of VirtualServices.
    m = _map(raw, path)
    get = m.get
    return HTTPMatch(
        name="" if (v := get("name")) is None else _str(v, f"{path}.name"),
        uri=None if (v := get("uri")) is None else _string_match(v, f"{path}.uri"),
        scheme=None if (v := get("scheme")) is None else _string_match(v, f"{path}.scheme"),
        method=None if (v := get("method")) is None else _string_match(v, f"{path}.method"),
        authority=None if (v := get("authority")) is None else _string_match(v, f"{path}.authority"),
        headers=() if (v := get("headers")) is None else _string_match_map(v, f"{path}.headers"),
        without_headers=() if (v := get("withoutHeaders")) is None else _string_match_map(v, f"{path}.withoutHeaders"),
        query_params=() if (v := get("queryParams")) is None else _string_match_map(v, f"{path}.queryParams"),
        ignore_uri_case=False if (v := get("ignoreUriCase")) is None else _bool(v, f"{path}.ignoreUriCase"),
        port=0 if (v := get("port")) is None else _int(v, f"{path}.port"),
        gateways=() if (v := get("gateways")) is None else _str_list(v, f"{path}.gateways"),
        source_labels=() if (v := get("sourceLabels")) is None else _str_map(v, f"{path}.sourceLabels"),
        source_namespace="" if (v := get("sourceNamespace")) is None else _str(v, f"{path}.sourceNamespace"),
        stat_prefix="" if (v := get("statPrefix")) is None else _str(v, f"{path}.statPrefix"),
    )


def _destination(raw: object, path: str) -> Destination:
    d = _map(raw, path)
    port = _map(d.get("port"), f"{path}.port")
    return Destination(
        host=_str(d.get("host"), f"{path}.host"),
        subset=_str(d.get("subset"), f"{path}.subset"),
        port=_int(port.get("number"), f"{path}.port.number"),
    )


def _route_destinations(value: object, path: str) -> tuple[RouteDestination, ...]:
    out = []
    for i, raw in enumerate(_list(value, path)):
        p = f"{path}[{i}]"
        r = _map(raw, p)
        dest = r.get("destination")
        out.append(
            RouteDestination(
                destination=None if dest is None else _destination(dest, f"{p}.destination"),
                weight=_int(r.get("weight"), f"{p}.weight"),
                path=f"{p}.destination.host",
            )
        )
    return tuple(out)


def _http_rule(raw: object, index: int) -> HTTPRule:
    path = f"spec.http[{index}]"
    r = _map(raw, path)
    mirrors: list[RouteDestination] = []
    if r.get("mirror") is not None:
        mirrors.append(RouteDestination(_destination(r["mirror"], f"{path}.mirror"), path=f"{path}.mirror.host"))
    for i, m in enumerate(_list(r.get("mirrors"), f"{path}.mirrors")):
        mp = f"{path}.mirrors[{i}]"
        mm = _map(m, mp)
        mirrors.append(RouteDestination(_destination(mm.get("destination"), f"{mp}.destination"), path=f"{mp}.host"))
    delegate = None
    if r.get("delegate") is not None:
        d = _map(r["delegate"], f"{path}.delegate")
        delegate = (_str(d.get("name"), f"{path}.delegate.name"), _str(d.get("namespace"), f"{path}.delegate.namespace"))
    return HTTPRule(
        index=index,
        name=_str(r.get("name"), f"{path}.name"),
        matches=tuple(_http_match(m, f"{path}.match[{i}]") for i, m in enumerate(_list(r.get("match"), f"{path}.match"))),
        route=_route_destinations(r.get("route"), f"{path}.route"),
        mirrors=tuple(mirrors),
        redirect=r.get("redirect") is not None,
        direct_response=r.get("directResponse") is not None,
        delegate=delegate,
        timeout=_str(r.get("timeout"), f"{path}.timeout"),
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
                route=_route_destinations(r.get("route"), f"{path}.route"),
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


def parse_kube_gateway(raw: Mapping[str, Any], meta: ObjectMeta) -> KubeGateway:
    spec = _map(raw.get("spec"), "spec")
    hostnames = []
    for i, listener in enumerate(_list(spec.get("listeners"), "spec.listeners")):
        lm = _map(listener, f"spec.listeners[{i}]")
        hostnames.append(_str(lm.get("hostname"), f"spec.listeners[{i}].hostname"))
    return KubeGateway(meta=meta, listener_hostnames=tuple(hostnames))


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
