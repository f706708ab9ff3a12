"""An Envoy config dump decoded into the typed views the ``pc routes`` renderers need.

Why this module exists: ``istioctl proxy-config routes -f dump.json`` starts by decoding the dump,
and which dumps it accepts, and with which message, is part of its output.  This module checks and
reads only the route section, building one small frozen view per route (the table never looks at
the raw JSON again), and keeps the raw route configurations for ``-o json/yaml``.  Predicted
configurations are built as the same views, so one renderer serves both.  Pure: bytes/str/dicts in,
views out; :class:`RoutesError` (carrying istioctl's message text) for dumps istioctl rejects.
Specification: ``shared/spec/routes-table.md``.

Loading::

    load_route_dump(data: bytes | bytearray | str | Mapping) -> RouteDump

``data`` is a full ``/config_dump`` or one fetched with ``?mask=dynamic_route_configs,static_route_configs``
(bytes in UTF-8/16/32 as ``json.loads`` detects them, a str, or an already-decoded dict).  Decoding
is lenient like istioctl 1.22+: unknown ``@type`` entries and unknown fields are ignored, every field
may be spelled with its proto name (``virtual_hosts``) or its lowerCamelCase JSON name
(``virtualHosts``), JSON ``null`` means unset.  The *last* ``RoutesConfigDump`` entry is used;
``dynamic_route_configs`` are collected before ``static_route_configs``; an entry without
``route_config`` is skipped; a ``route_config`` whose ``@type`` is not
``envoy.config.route.v3.RouteConfiguration`` becomes an empty configuration (istioctl decodes it
into a placeholder).  Errors (``RoutesError.message`` is exactly what istioctl prints after
``Error: ``):

* not JSON / truncated / a field of the wrong JSON type -> ``error unmarshalling config dump
  response from Envoy: <reason>`` (the reason is this module's own one-line text);
* the same for what could not be printed: a lone UTF-16 surrogate (``"\\ud800"``; Go would print
  U+FFFD instead), checked at load, and -- for ``-o json|yaml``, whose printers recurse -- a selected
  route configuration nesting the dump deeper than ``MAX_DUMP_DEPTH`` (100) levels (real dumps have
  about 22; the table reads fixed fields only and renders any depth the JSON decoder accepts);
* no ``RoutesConfigDump`` -> ``config dump has no configuration type
  type.googleapis.com/envoy.admin.v3.RoutesConfigDump``;
* no route configuration at all -> ``no routes found``.

``RouteDump.route_configs`` are :class:`RouteConfigView` in collection order (not yet sorted);
``RouteDump.raw`` are the decoded ``route_config`` objects (same order) for ``-o json/yaml``.

The views carry exactly what the table needs::

    RouteConfigView(name: str, virtual_hosts: tuple[VirtualHostView, ...] = (), dynamic: bool = True)
    VirtualHostView(name: str, domains: tuple[str, ...] = (), routes: tuple[RouteView, ...] = ())
    RouteView(match: Mapping | None = None, vs_config: str | None = None, cluster: str | None = None)

* ``RouteView.match`` is the Envoy ``RouteMatch`` in proto-JSON shape, e.g. ``{"prefix": "/"}``,
  ``{"path": "/login"}``, ``{"safe_regex": {"regex": "/a.*"}}``, ``{"path_separated_prefix": "/get"}``
  (camelCase spellings accepted too; other keys are ignored as istioctl ignores them).
* ``RouteView.vs_config`` is ``metadata.filter_metadata["istio"]["config"]`` (e.g.
  ``/apis/networking.istio.io/v1/namespaces/default/virtual-service/httpbin``); ``None`` when the route
  carries no such metadata (empty VIRTUAL SERVICE cell); ``""`` stands for a non-string value.
* ``RouteView.cluster`` is the ``route.cluster`` of a RouteAction (``None`` for redirects, direct
  responses, weighted clusters, ...): a route whose cluster is ``PassthroughCluster`` is not printed.

Performance: loading and rendering a 24 MB dump (17,000 routes) takes 1.2x (gateway-like) to 1.4x
(sidecar-like, 8 domains per virtual host) the time of a bare ``json.loads`` of it: the walk touches
only the fields the table needs, builds one small view per route, and pauses the cyclic garbage
collector while it builds (:func:`kubectl_meshctl.gcpause.paused_gc`), which otherwise re-scans the
freshly decoded tree.

Not reproduced: istioctl decodes *every* section of a full dump, so a malformed cluster or listener
fails the command there; here only the route section is checked (and only the fields the table
uses).  The same field given twice (JSON duplicate keys, or both spellings) is an error in Go; here
the proto spelling wins.  istioctl 1.18-1.21 rejected unknown fields; this module is always lenient.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final, NoReturn

from ..envoy.type_urls import ROUTES_CONFIG_DUMP_TYPE
from ..gcpause import paused_gc
from ..records import record
from ..resources.input_limits import find_surrogate, may_hold_surrogate, short_reason, surrogate_message

__all__ = [
    "MAX_DUMP_DEPTH",
    "NO_ROUTES_FOUND",
    "PASSTHROUGH_CLUSTER",
    "ROUTE_CONFIGURATION_NAME",
    "UNMARSHAL_ERROR_PREFIX",
    "RouteConfigView",
    "RouteDump",
    "RouteView",
    "RoutesError",
    "VirtualHostView",
    "field_value",
    "load_route_dump",
    "unmarshal_error",
]

PASSTHROUGH_CLUSTER: Final = "PassthroughCluster"
ISTIO_METADATA_KEY: Final = "istio"
UNMARSHAL_ERROR_PREFIX: Final = "error unmarshalling config dump response from Envoy: "
NO_ROUTES_FOUND: Final = "no routes found"
MAX_DUMP_DEPTH: Final = 100
"""Nesting levels a dump may have (real ones have about 22); keeps the ``-o json/yaml`` renderers' recursion bounded."""
ROUTE_CONFIGURATION_NAME: Final = "envoy.config.route.v3.RouteConfiguration"
"""The message name ending a route configuration's type URL (any host part is accepted, as Go's Any resolver does)."""


class RoutesError(Exception):
    """A dump istioctl rejects; ``message`` is the text istioctl prints after ``Error: ``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@record
class RouteView:
    """One Envoy route: its ``match`` (proto-JSON dict), Istio's VirtualService metadata path, its cluster."""

    match: Mapping[str, Any] | None = None
    vs_config: str | None = None
    cluster: str | None = None

    @property
    def passthrough(self) -> bool:
        """istioctl's ``isPassthrough``: a RouteAction whose ``cluster`` is ``PassthroughCluster``."""
        return self.cluster == PASSTHROUGH_CLUSTER


@record
class VirtualHostView:
    name: str
    domains: tuple[str, ...] = ()
    routes: tuple[RouteView, ...] = ()


@record
class RouteConfigView:
    name: str
    virtual_hosts: tuple[VirtualHostView, ...] = ()
    dynamic: bool = True
    """True for ``dynamic_route_configs`` (RDS), False for ``static_route_configs`` (inline)."""


@record
class RouteDump:
    """A decoded route section: the views in collection order, and the raw route configurations."""

    route_configs: tuple[RouteConfigView, ...]
    raw: tuple[Mapping[str, Any], ...]


def load_route_dump(data: bytes | bytearray | str | Mapping[str, Any]) -> RouteDump:
    """Decode an Envoy config dump and collect its route configurations (see the module docstring)."""
    with paused_gc():
        return _load(data)


def unmarshal_error(reason: str) -> RoutesError:
    """istioctl's error for a dump it cannot decode, with this module's one-line ``reason``."""
    return RoutesError(UNMARSHAL_ERROR_PREFIX + reason)


def field_value(obj: Mapping[str, Any], proto: str, camel: str) -> Any:
    """A field given with its proto name or its JSON name (the proto spelling wins); None when unset."""
    value = obj.get(proto)
    return obj.get(camel) if value is None else value


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_LINE_BREAKING: Final = re.compile("[\x7f-\x9f\u2028\u2029]")  # json.dumps leaves these as they are


def _type_error(where: str, expected: str, *, got: object) -> RoutesError:
    shown = json.dumps(got, ensure_ascii=False)[:60] if not isinstance(got, dict | list) else _json_kind(got)
    shown = _LINE_BREAKING.sub(lambda m: f"\\u{ord(m.group()):04x}", shown)
    return unmarshal_error(f"{where}: expected a JSON {expected}, got {shown}")


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"invalid JSON literal {name}")


def decode_dump(data: bytes | bytearray | str) -> Any:
    """A config dump's JSON decoded within the caps (``RoutesError`` otherwise), to look at before loading it."""
    return _decode(data)


def _decode(data: bytes | bytearray | str) -> Any:
    """``json.loads`` that refuses what the renderers cannot print: lone surrogates, nesting past MAX_DUMP_DEPTH."""
    try:
        if isinstance(data, str):
            text = data
        else:
            encoding = json.detect_encoding(data)
            try:  # strict, unlike json.loads: an encoded lone surrogate is not text
                text = bytes(data).decode(encoding)
            except UnicodeDecodeError as e:
                raise unmarshal_error(f"invalid {encoding.upper().removesuffix('-SIG')} at byte {e.start}") from None
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise unmarshal_error(f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except ValueError as e:
        raise unmarshal_error(short_reason(e)) from None
    except RecursionError:
        raise unmarshal_error(f"JSON nested more than {MAX_DUMP_DEPTH} levels deep") from None
    if may_hold_surrogate(text):
        found = find_surrogate(doc)
        if found is not None:
            reason, line = surrogate_message(text, found)
            raise unmarshal_error(reason if line is None else f"{reason} (line {line})")
    return doc


def _load(data: bytes | bytearray | str | Mapping[str, Any]) -> RouteDump:
    if isinstance(data, Mapping):
        doc: Any = data
        found = find_surrogate(doc)
        if found is not None:
            raise unmarshal_error(surrogate_message(None, found)[0])
    else:
        doc = _decode(data)
    if not isinstance(doc, dict):
        raise _type_error("config dump", "object", got=doc)
    configs = doc.get("configs")
    section: dict[str, Any] | None = None
    if configs is not None:
        if not isinstance(configs, list):
            raise _type_error("configs", "array", got=configs)
        for i, entry in enumerate(configs):
            if not isinstance(entry, dict):
                raise _type_error(f"configs[{i}]", "object", got=entry)
            type_url = entry.get("@type")
            if type_url is not None and not isinstance(type_url, str):
                raise _type_error(f"configs[{i}].@type", "string", got=type_url)
            if type_url == ROUTES_CONFIG_DUMP_TYPE:
                section = entry
    if section is None:
        raise RoutesError(f"config dump has no configuration type {ROUTES_CONFIG_DUMP_TYPE}")

    views: list[RouteConfigView] = []
    raws: list[Mapping[str, Any]] = []
    for dynamic, proto, camel in (
        (True, "dynamic_route_configs", "dynamicRouteConfigs"),
        (False, "static_route_configs", "staticRouteConfigs"),
    ):
        entries = field_value(section, proto, camel)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise _type_error(proto, "array", got=entries)
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise _type_error(f"{proto}[{i}]", "object", got=entry)
            rc = field_value(entry, "route_config", "routeConfig")
            if rc is None:
                continue
            where = f"{proto}[{i}].route_config"
            if not isinstance(rc, dict):
                raise _type_error(where, "object", got=rc)
            type_url = rc.get("@type")
            if type_url is not None and not isinstance(type_url, str):
                raise _type_error(where + ".@type", "string", got=type_url)
            if type_url is None or type_url.rpartition("/")[2] != ROUTE_CONFIGURATION_NAME:
                rc = {}  # an unknown (or missing) Any type decodes to an empty placeholder upstream
            views.append(route_config_view(rc, where, dynamic=dynamic))
            raws.append(rc)
    if not views:
        raise RoutesError(NO_ROUTES_FOUND)
    return RouteDump(tuple(views), tuple(raws))


def _string(value: Any, where: str) -> str:
    if value is None:
        return ""
    if value.__class__ is not str and not isinstance(value, str):
        raise _type_error(where, "string", got=value)
    return str(value)


# The walk below is the hot path (one pass per route of a multi-megabyte dump): exact class checks
# and bound `append`s are deliberate.


def route_config_view(rc: dict[str, Any], where: str, *, dynamic: bool) -> RouteConfigView:
    name = _string(rc.get("name"), where + ".name")
    vhosts = rc.get("virtual_hosts")
    if vhosts is None:
        vhosts = rc.get("virtualHosts")
        if vhosts is None:
            return RouteConfigView(name, (), dynamic)
    if vhosts.__class__ is not list:
        raise _type_error(where + ".virtual_hosts", "array", got=vhosts)
    return RouteConfigView(
        name, tuple([virtual_host_view(vh, f"{where}.virtual_hosts[{j}]") for j, vh in enumerate(vhosts)]), dynamic
    )


def virtual_host_view(vh: object, where: str) -> VirtualHostView:
    """One ``virtual_hosts`` entry of a route configuration as the table reads it (``where``: its place, for errors).

    Also how a predicted route configuration reaches the table, one virtual host at a time, so that a prediction for
    thousands of VirtualServices never holds its whole config dump at once."""
    if not isinstance(vh, dict) or vh.__class__ is not dict:
        raise _type_error(where, "object", got=vh)
    vname = vh.get("name")
    if vname.__class__ is not str:
        vname = _string(vname, f"{where}.name")
    domains = vh.get("domains")
    if domains is None:
        dtuple: tuple[str, ...] = ()
    else:
        if domains.__class__ is not list:
            raise _type_error(f"{where}.domains", "array", got=domains)
        dtuple = tuple(domains)
        for k, d in enumerate(dtuple):
            if d.__class__ is not str:
                raise _type_error(f"{where}.domains[{k}]", "string", got=d)
    routes = vh.get("routes")
    if routes is None:
        return VirtualHostView(vname, dtuple, ())
    if routes.__class__ is not list:
        raise _type_error(f"{where}.routes", "array", got=routes)
    return VirtualHostView(vname, dtuple, _route_views(routes, where))


_MATCH_STRING_FIELDS: Final = frozenset({"prefix", "path", "path_separated_prefix", "pathSeparatedPrefix"})


def _route_views(routes: list[Any], where: str) -> tuple[RouteView, ...]:
    out: list[RouteView] = []
    append = out.append
    new = RouteView
    for k, r in enumerate(routes):
        if r.__class__ is not dict:
            raise _type_error(f"{where}.routes[{k}]", "object", got=r)
        match = r.get("match")
        if match is not None:
            if match.__class__ is not dict:
                raise _type_error(f"{where}.routes[{k}].match", "object", got=match)
            for key, value in match.items():
                if key in _MATCH_STRING_FIELDS:
                    if value is not None and value.__class__ is not str:
                        raise _type_error(f"{where}.routes[{k}].match.{key}", "string", got=value)
                elif (key == "safe_regex" or key == "safeRegex") and value is not None:
                    if value.__class__ is not dict:
                        raise _type_error(f"{where}.routes[{k}].match.{key}", "object", got=value)
                    regex = value.get("regex")
                    if regex is not None and regex.__class__ is not str:
                        raise _type_error(f"{where}.routes[{k}].match.{key}.regex", "string", got=regex)
        cluster = None
        action = r.get("route")
        if action is not None:
            if action.__class__ is not dict:
                raise _type_error(f"{where}.routes[{k}].route", "object", got=action)
            cluster = action.get("cluster")
            if cluster is not None and cluster.__class__ is not str:
                raise _type_error(f"{where}.routes[{k}].route.cluster", "string", got=cluster)
        vs = None
        metadata = r.get("metadata")
        if metadata is not None:
            vs = _vs_config(metadata, f"{where}.routes[{k}].metadata")
        append(new(match, vs, cluster))
    return tuple(out)


def _vs_config(metadata: Any, where: str) -> str | None:
    if metadata.__class__ is not dict:
        raise _type_error(where, "object", got=metadata)
    fm = metadata.get("filter_metadata")
    if fm is None:
        fm = metadata.get("filterMetadata")
        if fm is None:
            return None
    if fm.__class__ is not dict:
        raise _type_error(where + ".filter_metadata", "object", got=fm)
    if ISTIO_METADATA_KEY not in fm:
        return None
    istio = fm[ISTIO_METADATA_KEY]
    if istio.__class__ is not dict:  # a google.protobuf.Struct (null included) must be a JSON object
        raise _type_error(where + ".filter_metadata.istio", "object", got=istio)
    if "config" not in istio:
        return None
    config = istio["config"]
    return config if isinstance(config, str) else ""  # Value.GetStringValue() of a non-string is ""
