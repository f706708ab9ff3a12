"""Builders for the Kubernetes objects tests feed the plugin, so a test states only what matters to it.

Each builder returns the object as a plain dict (what the API server or a YAML file holds); ``to_yaml`` and
``to_list_json`` write them as files do.  Defaults are the smallest valid object: a Gateway ``gw`` in ``default``
selecting ``istio: ingressgateway`` with one HTTP server on port 80 for ``*``; a VirtualService ``vs`` for ``*``
bound to ``gw``.  Pass ``namespace=None`` to leave the namespace out (the reader's default applies).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

Obj = dict[str, Any]
INGRESS = {"istio": "ingressgateway"}
ISTIO_API = "networking.istio.io/v1"


def _meta(name: str, namespace: str | None, **extra: Mapping[str, str] | None) -> Obj:
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta.update({key: dict(value) for key, value in extra.items() if value is not None})
    return meta


def server(
    port: int = 80, *, hosts: Sequence[str] = ("*",), protocol: str = "HTTP", name: str | None = None, tls: Obj | None = None
) -> Obj:
    out: Obj = {"port": {"number": port, "name": name or protocol.lower(), "protocol": protocol}, "hosts": list(hosts)}
    if tls is not None:
        out["tls"] = tls
    return out


def gateway(
    name: str = "gw",
    *,
    namespace: str | None = "default",
    selector: Mapping[str, str] = INGRESS,
    servers: Sequence[Obj] | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> Obj:
    return {
        "apiVersion": ISTIO_API,
        "kind": "Gateway",
        "metadata": _meta(name, namespace, labels=labels, annotations=annotations),
        "spec": {"selector": dict(selector), "servers": list(servers) if servers is not None else [server()]},
    }


def prefix(path: str) -> Obj:
    """A match on a URI prefix."""
    return {"uri": {"prefix": path}}


def exact(path: str) -> Obj:
    """A match on an exact URI."""
    return {"uri": {"exact": path}}


def destination(host: str, *, port: int | None = None, subset: str | None = None, weight: int | None = None) -> Obj:
    dest: Obj = {"host": host}
    if port is not None:
        dest["port"] = {"number": port}
    if subset is not None:
        dest["subset"] = subset
    out: Obj = {"destination": dest}
    if weight is not None:
        out["weight"] = weight
    return out


def http_rule(*matches: Obj, to: str | Sequence[Obj] = "a", **fields: Any) -> Obj:
    """An HTTP rule: its matches (none: match everything), routed ``to`` a host (or a list of ``destination``s)."""
    rule: Obj = {}
    if matches:
        rule["match"] = list(matches)
    rule["route"] = [destination(to)] if isinstance(to, str) else list(to)
    rule.update(fields)
    return rule


def virtual_service(
    name: str = "vs",
    *,
    namespace: str | None = "default",
    hosts: Sequence[str] = ("*",),
    gateways: Sequence[str] | None = ("gw",),
    http: Sequence[Obj] = (),
    annotations: Mapping[str, str] | None = None,
    **spec: Any,
) -> Obj:
    body: Obj = {"hosts": list(hosts)}
    if gateways is not None:
        body["gateways"] = list(gateways)
    if http:
        body["http"] = list(http)
    body.update(spec)
    return {
        "apiVersion": ISTIO_API,
        "kind": "VirtualService",
        "metadata": _meta(name, namespace, annotations=annotations),
        "spec": body,
    }


def shadowed_pair(name: str = "vs", *, namespace: str | None = "default", gateways: Sequence[str] = ("gw",)) -> Obj:
    """The smallest true MSH0101: ``prefix /api`` before ``exact /api/users``, so the second rule is never used."""
    rules = [http_rule(prefix("/api"), to="a"), http_rule(exact("/api/users"), to="b")]
    return virtual_service(name, namespace=namespace, gateways=gateways, http=rules)


def to_yaml(*objects: Obj) -> str:
    """The objects as one multi-document YAML file, keys in the order given."""
    return "---\n".join(yaml.safe_dump(obj, sort_keys=False) for obj in objects)


def to_list_json(*objects: Obj) -> str:
    """The objects as a ``v1/List`` in JSON (the shape ``kubectl get -o json`` writes)."""
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
