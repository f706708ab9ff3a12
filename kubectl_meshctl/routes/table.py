"""``istioctl proxy-config routes`` (``pc routes``): the routes table of an Envoy config dump, byte-exact.

Why this module exists: ``istioctl pc routes`` is how people check what an ingress gateway or sidecar
actually routes, and its table has many quirks (a non-strict Go ``sort.Slice``, passthrough routes
hidden, zero-route virtual hosts printed as ``404``, un-expanded domains, tabwriter padding with
trailing spaces).  This module reproduces it from the dump bytes alone, and lets other code render
the same table from a *predicted* route configuration.  Pure: no I/O, no click, no Kubernetes
client; it takes bytes/str/dicts and returns strings, and raises :class:`RoutesError` (carrying
istioctl's message text) for dumps istioctl rejects.  Specification: ``shared/spec/routes-table.md``.

Public interface
================

Loading::

    load_route_dump(data: bytes | bytearray | str | dict) -> RouteDump

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

Rendering::

    render_routes(dump, *, name=None, verbose=True, istio_version="1.24", prefix="", go_toolchain=None) -> str
    render_routes_json(dump, *, name=None, istio_version="1.24", go_toolchain=None) -> str
    render_routes_yaml(dump, *, name=None, istio_version="1.24", go_toolchain=None) -> str

``render_routes`` returns exactly what ``istioctl pc routes -f dump.json [--name N] [--verbose=false]``
prints (``-o short``), final newline included.  ``prefix="route/"`` gives the ROUTE section of
``istioctl pc all`` (without the empty line ``pc all`` prints before it).  ``istio_version`` selects
the istioctl behaviour: ``"1.24"`` (default) stands for 1.24 and later; ``"1.21"``-``"1.23"`` only accept
``v1alpha3`` metadata paths in VIRTUAL SERVICE (``<unknown>`` otherwise); before ``"1.21"``
``path_separated_prefix`` prints nothing.  ``go_toolchain`` (e.g. ``"go1.23"``) names the Go release
that built the istioctl binary (``go version $(which istioctl)``); it only matters for more than 12
route configurations, where Go's pdqsort shuffles with a xorshift generator whose shifts changed
(golang/go#70144, assumed here to ship in Go 1.24).  By default it is inferred: istioctl 1.26+
requires Go 1.24 (its go.mod), older ones are taken as built with Go 1.23.

Rendering predicted configurations (no dump needed)::

    rows_for_route_configs(configs: Sequence[RouteConfigView], *, istio_version="1.24", name=None,
                           verbose=True, prefix="", sort=True, go_toolchain=None) -> str
    route_rows(configs, *, istio_version="1.24", name=None, sort=True, go_toolchain=None) -> list[RouteRow]

The views are small frozen dataclasses with exactly what the table needs::

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
* a ``VirtualHostView`` without routes prints one ``/*`` ... ``404`` row.

:class:`RouteRow` is the typed per-row intermediate (configuration name, vhost name, domains, MATCH
text, VirtualService metadata path, 404 flag); ``RouteRow.cells()`` gives the five table cells.
The cell functions :func:`describe_domains`, :func:`describe_match`, :func:`describe_virtual_service`
and the sort :func:`go_sort_route_configs` / :func:`go_sort_slice` are public as well.

What is byte-exact
==================

The table (``-o short``, verbose and ``--verbose=false``, ``--name``, ``route/`` prefix): every cell
rule of the spec, the Go ``sort.Slice`` quirk (a literal port of Go's pdqsort, swap for swap, for any
number of configurations), and Go ``text/tabwriter`` output (equal to
:func:`kubectl_meshctl.tabwriter.tabwrite` for printable cells).  Checked against every upstream golden.
Where istioctl would print a control character raw (a tab or newline splitting a row, an escape
sequence reaching the terminal), the cell is printed Go-``%q``-quoted instead.

How close ``-o json`` / ``-o yaml`` are, and why
================================================

istioctl re-serialises the decoded protobuf messages with golang/protobuf ``jsonpb`` (fields in
``.proto`` declaration order, lowerCamelCase names, zero values omitted, 64-bit integers as strings,
enums by name, normalised Durations, ``Any`` with ``@type`` first, map and Struct keys sorted), wraps
them in a list, re-indents with ``json.MarshalIndent`` (4 spaces, ``<``, ``>``, ``&``, U+2028/9
escaped) and for YAML converts with ``sigs.k8s.io/yaml`` (go-yaml v2: keys in go-yaml's "natural"
order, strings quoted when they would read as another type).  Doing this byte-exactly needs the Envoy
descriptors, so this module embeds a compact schema (``_SCHEMA``) generated from the descriptors of
``xds-protos`` 1.85.0 (grpc's build of envoyproxy/data-plane-api, October 2026) for
``RouteConfiguration`` and every message reachable from it, plus the few ``Any`` payloads Istio puts
in routes (previous-hosts retry predicate, fault, CORS, local rate limit, ``TypedStruct``).  Within
that schema the output follows jsonpb's rules exactly.  Known differences:

* messages outside the schema (VHDS ``ConfigSource``, xDS matcher trees, other ``Any`` payloads)
  are copied generically: keys in input order, ``snake_case`` keys converted to camelCase, values kept;
* fields unknown to the schema are dropped (as an istioctl built against the same Envoy API would);
  an istioctl built against an older Envoy API would drop more, a newer one keep more;
* istioctl fails with an error when a nested ``Any`` has a type it does not link; here it is copied;
* YAML uses PyYAML's emitter (a port of libyaml, as go-yaml's is) with go-yaml's quoting decisions;
  timestamps are recognised with a regular expression instead of Go's ``time.Parse``.

Performance: loading and rendering a 24 MB dump (17,000 routes) takes 1.2x (gateway-like) to 1.4x
(sidecar-like, 8 domains per virtual host) the time of a bare ``json.loads`` of it: the walk touches
only the fields the table needs, builds one small view per route, and pauses the cyclic garbage
collector while it builds (:func:`_gc_paused`), which otherwise re-scans the freshly decoded tree.

Not reproduced: istioctl decodes *every* section of a full dump, so a malformed cluster or listener
fails the command there; here only the route section is checked (and only the fields the table
uses).  The same field given twice (JSON duplicate keys, or both spellings) is an error in Go; here
the proto spelling wins.  istioctl 1.18-1.21 rejected unknown fields; this module is always lenient.
"""

from __future__ import annotations

import gc
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cmp_to_key
from json.encoder import encode_basestring
from typing import Any, Final, TypeVar

from ..gocompat.tabwriter import TabWriterConfig
from ..redact import quote
from ..resources.input_limits import (
    find_surrogate,
    may_hold_surrogate,
    short_reason,
    surrogate_message,
    tree_depth_exceeds,
)

__all__ = [
    "PASSTHROUGH_CLUSTER",
    "ROUTES_CONFIG_DUMP_TYPE",
    "ROUTES_TABWRITER",
    "ROUTE_CONFIGURATION_TYPE",
    "RouteConfigView",
    "RouteDump",
    "RouteRow",
    "RouteView",
    "RoutesError",
    "VirtualHostView",
    "describe_domains",
    "describe_match",
    "describe_virtual_service",
    "go_sort_route_configs",
    "go_sort_slice",
    "load_route_dump",
    "render_routes",
    "render_routes_json",
    "render_routes_yaml",
    "route_rows",
    "rows_for_route_configs",
]

ROUTES_CONFIG_DUMP_TYPE: Final = "type.googleapis.com/envoy.admin.v3.RoutesConfigDump"
ROUTE_CONFIGURATION_TYPE: Final = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
PASSTHROUGH_CLUSTER: Final = "PassthroughCluster"
ISTIO_METADATA_KEY: Final = "istio"
UNMARSHAL_ERROR_PREFIX: Final = "error unmarshalling config dump response from Envoy: "
NO_ROUTES_FOUND: Final = "no routes found"
MAX_DUMP_DEPTH: Final = 100
"""Nesting levels a dump may have (real ones have about 22); keeps the ``-o json/yaml`` renderers' recursion bounded."""
ROUTES_TABWRITER: Final = TabWriterConfig(minwidth=0, tabwidth=8, padding=5)
"""istioctl's ``tabwriter.NewWriter(out, 0, 8, 5, ' ', 0)``."""

VERBOSE_HEADER: Final = ("NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE")
SUMMARY_HEADER: Final = ("NAME", "VIRTUAL HOSTS")

_ROUTE_CONFIGURATION_NAME: Final = "envoy.config.route.v3.RouteConfiguration"
_VS_PREFIX_124: Final = "/apis/networking.istio.io/"
_VS_PREFIX_118: Final = "/apis/networking.istio.io/v1alpha3/namespaces/"


class RoutesError(Exception):
    """A dump istioctl rejects; ``message`` is the text istioctl prints after ``Error: ``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------------------------
# Views: what the table needs of a route configuration (from a dump, or predicted)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RouteView:
    """One Envoy route: its ``match`` (proto-JSON dict), Istio's VirtualService metadata path, its cluster."""

    match: Mapping[str, Any] | None = None
    vs_config: str | None = None
    cluster: str | None = None

    @property
    def passthrough(self) -> bool:
        """istioctl's ``isPassthrough``: a RouteAction whose ``cluster`` is ``PassthroughCluster``."""
        return self.cluster == PASSTHROUGH_CLUSTER


@dataclass(frozen=True, slots=True)
class VirtualHostView:
    name: str
    domains: tuple[str, ...] = ()
    routes: tuple[RouteView, ...] = ()


@dataclass(frozen=True, slots=True)
class RouteConfigView:
    name: str
    virtual_hosts: tuple[VirtualHostView, ...] = ()
    dynamic: bool = True
    """True for ``dynamic_route_configs`` (RDS), False for ``static_route_configs`` (inline)."""


@dataclass(frozen=True, slots=True)
class RouteDump:
    """A decoded route section: the views in collection order, and the raw route configurations."""

    route_configs: tuple[RouteConfigView, ...]
    raw: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class RouteRow:
    """One verbose table row before formatting.

    ``match`` is the MATCH text (``/*`` for a 404 row), ``vs_config`` the raw metadata path (``None``
    when the route carries none), ``not_found`` marks the row of a virtual host without routes.
    """

    route_config: str
    vhost: str
    domains: tuple[str, ...]
    match: str
    vs_config: str | None = None
    not_found: bool = False

    def cells(self, *, istio_version: str = "1.24", prefix: str = "") -> tuple[str, str, str, str, str]:
        vs = "404" if self.not_found else describe_virtual_service(self.vs_config, istio_version=istio_version)
        return (prefix + self.route_config, self.vhost, describe_domains(self.domains), self.match, vs)


# --------------------------------------------------------------------------------------------
# Versions
# --------------------------------------------------------------------------------------------

_VERSION_RE: Final = re.compile(r"v?(\d+)\.(\d+)")


@cache
def istio_minor(istio_version: str) -> int:
    m = _VERSION_RE.match(istio_version.strip())
    if m is None or m.group(1) != "1" or int(m.group(2)) < 18:
        raise ValueError(f"unsupported istio_version {istio_version!r} (expected 1.18 or later, e.g. '1.24')")
    return int(m.group(2))


@cache
def _new_xorshift(istio_version: str, go_toolchain: str | None) -> bool:
    if go_toolchain is None:
        return istio_minor(istio_version) >= 26
    m = re.match(r"(?:go)?1\.(\d+)", go_toolchain.strip())
    if m is None:
        raise ValueError(f"unsupported go_toolchain {go_toolchain!r} (expected e.g. 'go1.23')")
    return int(m.group(1)) >= 24


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building big acyclic trees (a decoded dump, its views, the rows).

    With the collector on, every few hundred allocations it re-scans the young objects and, as they
    are promoted, the whole multi-million-object JSON tree: that costs more than the parse itself.
    Nothing built here forms reference cycles (refcounting frees it), so pausing loses nothing; the
    previous state is restored on exit.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _unmarshal_error(reason: str) -> RoutesError:
    return RoutesError(UNMARSHAL_ERROR_PREFIX + reason)


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


def _type_error(where: str, expected: str, value: object) -> RoutesError:
    shown = json.dumps(value, ensure_ascii=False)[:60] if not isinstance(value, dict | list) else _json_kind(value)
    shown = _LINE_BREAKING.sub(lambda m: f"\\u{ord(m.group()):04x}", shown)
    return _unmarshal_error(f"{where}: expected a JSON {expected}, got {shown}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON literal {name}")


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
                raise _unmarshal_error(f"invalid {encoding.upper().removesuffix('-SIG')} at byte {e.start}") from None
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise _unmarshal_error(f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except ValueError as e:
        raise _unmarshal_error(short_reason(e)) from None
    except RecursionError:
        raise _unmarshal_error(f"JSON nested more than {MAX_DUMP_DEPTH} levels deep") from None
    if may_hold_surrogate(text):
        found = find_surrogate(doc)
        if found is not None:
            reason, line = surrogate_message(text, found)
            raise _unmarshal_error(reason if line is None else f"{reason} (line {line})")
    return doc


def _field(obj: Mapping[str, Any], proto: str, camel: str) -> Any:
    value = obj.get(proto)
    return obj.get(camel) if value is None else value


def load_route_dump(data: bytes | bytearray | str | Mapping[str, Any]) -> RouteDump:
    """Decode an Envoy config dump and collect its route configurations (see the module docstring)."""
    with _gc_paused():
        return _load(data)


def _load(data: bytes | bytearray | str | Mapping[str, Any]) -> RouteDump:
    if isinstance(data, Mapping):
        doc: Any = data
        found = find_surrogate(doc)
        if found is not None:
            raise _unmarshal_error(surrogate_message(None, found)[0])
    else:
        doc = _decode(data)
    if not isinstance(doc, dict):
        raise _type_error("config dump", "object", doc)
    configs = doc.get("configs")
    section: dict[str, Any] | None = None
    if configs is not None:
        if not isinstance(configs, list):
            raise _type_error("configs", "array", configs)
        for i, entry in enumerate(configs):
            if not isinstance(entry, dict):
                raise _type_error(f"configs[{i}]", "object", entry)
            type_url = entry.get("@type")
            if type_url is not None and not isinstance(type_url, str):
                raise _type_error(f"configs[{i}].@type", "string", type_url)
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
        entries = _field(section, proto, camel)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise _type_error(proto, "array", entries)
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise _type_error(f"{proto}[{i}]", "object", entry)
            rc = _field(entry, "route_config", "routeConfig")
            if rc is None:
                continue
            where = f"{proto}[{i}].route_config"
            if not isinstance(rc, dict):
                raise _type_error(where, "object", rc)
            type_url = rc.get("@type")
            if type_url is not None and not isinstance(type_url, str):
                raise _type_error(where + ".@type", "string", type_url)
            if type_url is None or type_url.rpartition("/")[2] != _ROUTE_CONFIGURATION_NAME:
                rc = {}  # an unknown (or missing) Any type decodes to an empty placeholder upstream
            views.append(_route_config_view(rc, dynamic, where))
            raws.append(rc)
    if not views:
        raise RoutesError(NO_ROUTES_FOUND)
    return RouteDump(tuple(views), tuple(raws))


def _string(value: Any, where: str) -> str:
    if value is None:
        return ""
    if value.__class__ is not str and not isinstance(value, str):
        raise _type_error(where, "string", value)
    return str(value)


def _route_config_view(rc: dict[str, Any], dynamic: bool, where: str) -> RouteConfigView:
    name = _string(rc.get("name"), where + ".name")
    vhosts = rc.get("virtual_hosts")
    if vhosts is None:
        vhosts = rc.get("virtualHosts")
        if vhosts is None:
            return RouteConfigView(name, (), dynamic)
    if vhosts.__class__ is not list:
        raise _type_error(where + ".virtual_hosts", "array", vhosts)
    out: list[VirtualHostView] = []
    append = out.append
    for j, vh in enumerate(vhosts):
        if vh.__class__ is not dict:
            raise _type_error(f"{where}.virtual_hosts[{j}]", "object", vh)
        vname = vh.get("name")
        if vname.__class__ is not str:
            vname = _string(vname, f"{where}.virtual_hosts[{j}].name")
        domains = vh.get("domains")
        if domains is None:
            dtuple: tuple[str, ...] = ()
        else:
            if domains.__class__ is not list:
                raise _type_error(f"{where}.virtual_hosts[{j}].domains", "array", domains)
            dtuple = tuple(domains)
            for k, d in enumerate(dtuple):
                if d.__class__ is not str:
                    raise _type_error(f"{where}.virtual_hosts[{j}].domains[{k}]", "string", d)
        routes = vh.get("routes")
        if routes is None:
            append(VirtualHostView(vname, dtuple, ()))
            continue
        if routes.__class__ is not list:
            raise _type_error(f"{where}.virtual_hosts[{j}].routes", "array", routes)
        append(VirtualHostView(vname, dtuple, _route_views(routes, f"{where}.virtual_hosts[{j}]")))
    return RouteConfigView(name, tuple(out), dynamic)


_MATCH_STRING_FIELDS: Final = frozenset({"prefix", "path", "path_separated_prefix", "pathSeparatedPrefix"})


def _route_views(routes: list[Any], where: str) -> tuple[RouteView, ...]:
    out: list[RouteView] = []
    append = out.append
    new = RouteView
    for k, r in enumerate(routes):
        if r.__class__ is not dict:
            raise _type_error(f"{where}.routes[{k}]", "object", r)
        match = r.get("match")
        if match is not None:
            if match.__class__ is not dict:
                raise _type_error(f"{where}.routes[{k}].match", "object", match)
            for key, value in match.items():
                if key in _MATCH_STRING_FIELDS:
                    if value is not None and value.__class__ is not str:
                        raise _type_error(f"{where}.routes[{k}].match.{key}", "string", value)
                elif (key == "safe_regex" or key == "safeRegex") and value is not None:
                    if value.__class__ is not dict:
                        raise _type_error(f"{where}.routes[{k}].match.{key}", "object", value)
                    regex = value.get("regex")
                    if regex is not None and regex.__class__ is not str:
                        raise _type_error(f"{where}.routes[{k}].match.{key}.regex", "string", regex)
        cluster = None
        action = r.get("route")
        if action is not None:
            if action.__class__ is not dict:
                raise _type_error(f"{where}.routes[{k}].route", "object", action)
            cluster = action.get("cluster")
            if cluster is not None and cluster.__class__ is not str:
                raise _type_error(f"{where}.routes[{k}].route.cluster", "string", cluster)
        vs = None
        metadata = r.get("metadata")
        if metadata is not None:
            vs = _vs_config(metadata, f"{where}.routes[{k}].metadata")
        append(new(match, vs, cluster))
    return tuple(out)


def _vs_config(metadata: Any, where: str) -> str | None:
    if metadata.__class__ is not dict:
        raise _type_error(where, "object", metadata)
    fm = metadata.get("filter_metadata")
    if fm is None:
        fm = metadata.get("filterMetadata")
        if fm is None:
            return None
    if fm.__class__ is not dict:
        raise _type_error(where + ".filter_metadata", "object", fm)
    if ISTIO_METADATA_KEY not in fm:
        return None
    istio = fm[ISTIO_METADATA_KEY]
    if istio.__class__ is not dict:  # a google.protobuf.Struct (null included) must be a JSON object
        raise _type_error(where + ".filter_metadata.istio", "object", istio)
    if "config" not in istio:
        return None
    config = istio["config"]
    return config if isinstance(config, str) else ""  # Value.GetStringValue() of a non-string is ""


# --------------------------------------------------------------------------------------------
# Go's sort.Slice (pdqsort, Go >= 1.19), ported literally
# --------------------------------------------------------------------------------------------

T = TypeVar("T")
_Less = Callable[[Any, Any], bool]
_MASK64: Final = (1 << 64) - 1
_UNKNOWN_HINT, _INCREASING_HINT, _DECREASING_HINT = 0, 1, 2


def go_sort_slice(items: list[T], less: Callable[[T, T], bool], *, new_xorshift: bool = False) -> None:
    """Sort ``items`` in place exactly as Go's ``sort.Slice(items, func(i, j) bool {...})`` does.

    ``less`` compares two elements (Go's index-based ``less`` always looks at the current elements,
    so this is equivalent).  The default is Go 1.19-1.23 (xorshift 13/17/5); ``new_xorshift``
    selects the generator of golang/go#70144 (13/7/17, taken to be Go >= 1.24).  The generator only
    matters when ``breakPatterns`` runs (more than 12 items, unbalanced partitions).
    """
    n = len(items)
    shifts = (13, 7, 17) if new_xorshift else (13, 17, 5)
    _pdqsort(items, 0, n, n.bit_length(), less, shifts)


def _insertion_sort(a: list[Any], lo: int, hi: int, less: _Less) -> None:
    for i in range(lo + 1, hi):
        j = i
        while j > lo and less(a[j], a[j - 1]):
            a[j], a[j - 1] = a[j - 1], a[j]
            j -= 1


def _sift_down(a: list[Any], lo: int, hi: int, first: int, less: _Less) -> None:
    root = lo
    while True:
        child = 2 * root + 1
        if child >= hi:
            return
        if child + 1 < hi and less(a[first + child], a[first + child + 1]):
            child += 1
        if not less(a[first + root], a[first + child]):
            return
        a[first + root], a[first + child] = a[first + child], a[first + root]
        root = child


def _heap_sort(a: list[Any], lo: int, hi: int, less: _Less) -> None:
    first = lo
    n = hi - lo
    for i in range((n - 1) // 2, -1, -1):
        _sift_down(a, i, n, first, less)
    for i in range(n - 1, -1, -1):
        a[first], a[first + i] = a[first + i], a[first]
        _sift_down(a, 0, i, first, less)


def _pdqsort(a: list[Any], lo: int, hi: int, limit: int, less: _Less, shifts: tuple[int, int, int]) -> None:
    max_insertion = 12
    was_balanced = True
    was_partitioned = True
    while True:
        length = hi - lo
        if length <= max_insertion:
            _insertion_sort(a, lo, hi, less)
            return
        if limit == 0:
            _heap_sort(a, lo, hi, less)
            return
        if not was_balanced:
            _break_patterns(a, lo, hi, shifts)
            limit -= 1
        pivot, hint = _choose_pivot(a, lo, hi, less)
        if hint == _DECREASING_HINT:
            _reverse_range(a, lo, hi)
            pivot = (hi - 1) - (pivot - lo)
            hint = _INCREASING_HINT
        if was_balanced and was_partitioned and hint == _INCREASING_HINT and _partial_insertion_sort(a, lo, hi, less):
            return
        if lo > 0 and not less(a[lo - 1], a[pivot]):
            lo = _partition_equal(a, lo, hi, pivot, less)
            continue
        mid, already_partitioned = _partition(a, lo, hi, pivot, less)
        was_partitioned = already_partitioned
        left_len, right_len = mid - lo, hi - mid
        balance_threshold = length // 8
        if left_len < right_len:
            was_balanced = left_len >= balance_threshold
            _pdqsort(a, lo, mid, limit, less, shifts)
            lo = mid + 1
        else:
            was_balanced = right_len >= balance_threshold
            _pdqsort(a, mid + 1, hi, limit, less, shifts)
            hi = mid


def _partition(a: list[Any], lo: int, hi: int, pivot: int, less: _Less) -> tuple[int, bool]:
    a[lo], a[pivot] = a[pivot], a[lo]
    i, j = lo + 1, hi - 1
    while i <= j and less(a[i], a[lo]):
        i += 1
    while i <= j and not less(a[j], a[lo]):
        j -= 1
    if i > j:
        a[j], a[lo] = a[lo], a[j]
        return j, True
    a[i], a[j] = a[j], a[i]
    i += 1
    j -= 1
    while True:
        while i <= j and less(a[i], a[lo]):
            i += 1
        while i <= j and not less(a[j], a[lo]):
            j -= 1
        if i > j:
            break
        a[i], a[j] = a[j], a[i]
        i += 1
        j -= 1
    a[j], a[lo] = a[lo], a[j]
    return j, False


def _partition_equal(a: list[Any], lo: int, hi: int, pivot: int, less: _Less) -> int:
    a[lo], a[pivot] = a[pivot], a[lo]
    i, j = lo + 1, hi - 1
    while True:
        while i <= j and not less(a[lo], a[i]):
            i += 1
        while i <= j and less(a[lo], a[j]):
            j -= 1
        if i > j:
            break
        a[i], a[j] = a[j], a[i]
        i += 1
        j -= 1
    return i


def _partial_insertion_sort(a: list[Any], lo: int, hi: int, less: _Less) -> bool:
    max_steps, shortest_shifting = 5, 50
    i = lo + 1
    for _ in range(max_steps):
        while i < hi and not less(a[i], a[i - 1]):
            i += 1
        if i == hi:
            return True
        if hi - lo < shortest_shifting:
            return False
        a[i], a[i - 1] = a[i - 1], a[i]
        if i - lo >= 2:
            for j in range(i - 1, 0, -1):  # Go: for j := i - 1; j >= 1; j-- (absolute 1, not lo+1)
                if not less(a[j], a[j - 1]):
                    break
                a[j], a[j - 1] = a[j - 1], a[j]
        if hi - i >= 2:
            for j in range(i + 1, hi):
                if not less(a[j], a[j - 1]):
                    break
                a[j], a[j - 1] = a[j - 1], a[j]
    return False


def _break_patterns(a: list[Any], lo: int, hi: int, shifts: tuple[int, int, int]) -> None:
    length = hi - lo
    if length >= 8:
        s1, s2, s3 = shifts
        r = length
        modulus = 1 << length.bit_length()
        start = lo + (length // 4) * 2 - 1
        for idx in range(start, start + 3):
            r ^= (r << s1) & _MASK64
            r ^= r >> s2
            r ^= (r << s3) & _MASK64
            other = r & (modulus - 1)
            if other >= length:
                other -= length
            a[idx], a[lo + other] = a[lo + other], a[idx]


def _choose_pivot(a: list[Any], lo: int, hi: int, less: _Less) -> tuple[int, int]:
    shortest_ninther, max_swaps = 50, 4 * 3
    n = hi - lo
    swaps = 0
    i = lo + n // 4 * 1
    j = lo + n // 4 * 2
    k = lo + n // 4 * 3

    def median(x: int, y: int, z: int) -> int:
        nonlocal swaps
        if less(a[y], a[x]):
            swaps += 1
            x, y = y, x
        if less(a[z], a[y]):
            swaps += 1
            y, z = z, y
        if less(a[y], a[x]):
            swaps += 1
            x, y = y, x
        return y

    if n >= 8:
        if n >= shortest_ninther:
            i = median(i - 1, i, i + 1)
            j = median(j - 1, j, j + 1)
            k = median(k - 1, k, k + 1)
        j = median(i, j, k)
    if swaps == 0:
        return j, _INCREASING_HINT
    if swaps == max_swaps:
        return j, _DECREASING_HINT
    return j, _UNKNOWN_HINT


def _reverse_range(a: list[Any], lo: int, hi: int) -> None:
    i, j = lo, hi - 1
    while i < j:
        a[i], a[j] = a[j], a[i]
        i += 1
        j -= 1


_ATOI_RE: Final = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _atoi(name: str) -> int | None:
    """Go's ``strconv.Atoi`` (64-bit int): the value, or None when it fails."""
    if _ATOI_RE.fullmatch(name) is None:
        return None
    value = int(name)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _numeric_less(x: tuple[int | None, int], y: tuple[int | None, int]) -> bool:
    a, b = x[0], y[0]
    return a is not None and b is not None and a < b


def go_sort_route_configs(names: Sequence[str], *, new_xorshift: bool = False) -> list[int]:
    """The permutation istioctl's ``sort.Slice`` applies to route configurations with these names.

    istioctl's comparator is ``Atoi(name_i) < Atoi(name_j)``, false as soon as either name is not an
    integer -- not a strict weak ordering, so the result is whatever Go's pdqsort makes of it.
    Returns the original indexes in their new order.
    """
    keys = [(_atoi(n), i) for i, n in enumerate(names)]
    numeric = [k for k, _ in keys if k is not None]
    if all(numeric[i] <= numeric[i + 1] for i in range(len(numeric) - 1)):
        return list(range(len(names)))  # Go never moves anything then (no `less` is ever true for a swap)
    go_sort_slice(keys, _numeric_less, new_xorshift=new_xorshift)
    return [i for _, i in keys]


# --------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------


def describe_domains(domains: Sequence[str]) -> str:
    """The DOMAINS cell (istioctl ``describeRouteDomains`` + ``unexpandDomains``)."""
    n = len(domains)
    if n == 0:
        return ""
    if n == 1:
        return domains[0]
    kept = [d for d in domains if ":" not in d or (d.count(":") > 2 and d.endswith("]"))]
    present = set(kept)
    drop = set()
    for h in kept:
        if h.endswith(".svc.cluster.local") and h[: -len(".svc.cluster.local")] in present:
            drop.add(h)
        if h.endswith(".svc") and h[: -len(".svc")] in present:
            drop.add(h)
    if drop:
        kept = [h for h in kept if h not in drop]
    if len(kept) > 2:
        return f"{kept[0]}, {kept[1]} + {len(kept) - 2} more..."
    return ", ".join(kept)


def describe_match(match: Mapping[str, Any] | None, *, istio_version: str = "1.24") -> str:
    """The MATCH cell (istioctl ``describeMatch``): path conditions only, headers etc. ignored."""
    if not match:
        return ""
    conds: list[str] = []
    prefix = match.get("prefix")
    if prefix:
        conds.append(prefix + "*")
    if istio_minor(istio_version) >= 21:
        psp = _field(match, "path_separated_prefix", "pathSeparatedPrefix")
        if psp:
            conds.append("PathPrefix:" + psp)
    path = match.get("path")
    if path:
        conds.append(path)
    regex = _field(match, "safe_regex", "safeRegex")
    if regex is not None:
        conds.append("regex " + (regex.get("regex") or ""))
    return " ".join(conds)


def describe_virtual_service(vs_config: str | None, *, istio_version: str = "1.24") -> str:
    """The VIRTUAL SERVICE cell (``describeManagement`` + ``renderConfig``) from the metadata path."""
    if vs_config is None:
        return ""
    prefix = _VS_PREFIX_124 if istio_minor(istio_version) >= 24 else _VS_PREFIX_118
    if vs_config.startswith(prefix):
        pieces = vs_config.split("/")
        if len(pieces) != 8:
            return ""
        return pieces[7] + "." + pieces[5]
    return "<unknown>"


# --------------------------------------------------------------------------------------------
# Rows and table
# --------------------------------------------------------------------------------------------


def _sorted_configs(configs: Sequence[RouteConfigView], sort: bool, istio_version: str, go_toolchain: str | None) -> list[int]:
    if not sort:
        return list(range(len(configs)))
    return go_sort_route_configs([c.name for c in configs], new_xorshift=_new_xorshift(istio_version, go_toolchain))


def route_rows(
    configs: Sequence[RouteConfigView],
    *,
    istio_version: str = "1.24",
    name: str | None = None,
    sort: bool = True,
    go_toolchain: str | None = None,
) -> list[RouteRow]:
    """The verbose rows istioctl prints for these configurations (sorted, filtered, passthrough skipped)."""
    rows: list[RouteRow] = []
    for index in _sorted_configs(configs, sort, istio_version, go_toolchain):
        rc = configs[index]
        if name and rc.name != name:
            continue
        for vh in rc.virtual_hosts:
            for r in vh.routes:
                if r.cluster != PASSTHROUGH_CLUSTER:
                    rows.append(
                        RouteRow(rc.name, vh.name, vh.domains, describe_match(r.match, istio_version=istio_version), r.vs_config)
                    )
            if not vh.routes:
                rows.append(RouteRow(rc.name, vh.name, vh.domains, "/*", None, True))
    return rows


def _verbose_cells(
    configs: Sequence[RouteConfigView], order: Iterable[int], name: str | None, istio_version: str, prefix: str
) -> list[tuple[str, ...]]:
    istio_minor(istio_version)  # validate once
    vs_cache: dict[str | None, str] = {None: ""}
    rows: list[tuple[str, ...]] = [VERBOSE_HEADER]
    append = rows.append
    for index in order:
        rc = configs[index]
        if name and rc.name != name:
            continue
        rc_cell = prefix + rc.name
        for vh in rc.virtual_hosts:
            domains = vh.domains
            dom_cell = domains[0] if len(domains) == 1 else describe_domains(domains)
            vname = vh.name
            routes = vh.routes
            if not routes:
                append((rc_cell, vname, dom_cell, "/*", "404"))
                continue
            for r in routes:
                if r.cluster == PASSTHROUGH_CLUSTER:
                    continue
                m = r.match
                if not m:
                    match_cell = ""
                elif m.keys() <= _PREFIX_ONLY_KEYS:  # the common case: a prefix and ignored fields
                    p = m.get("prefix")
                    match_cell = p + "*" if p else ""
                else:
                    match_cell = describe_match(m, istio_version=istio_version)
                vs = r.vs_config
                vs_cell = vs_cache.get(vs)
                if vs_cell is None:
                    vs_cell = vs_cache[vs] = describe_virtual_service(vs, istio_version=istio_version)
                append((rc_cell, vname, dom_cell, match_cell, vs_cell))
    return rows


_PREFIX_ONLY_KEYS: Final = frozenset(
    {"prefix", "case_sensitive", "caseSensitive", "headers", "query_parameters", "queryParameters", "grpc", "runtime_fraction"}
    | {"runtimeFraction", "tls_context", "tlsContext", "dynamic_metadata", "dynamicMetadata", "filter_state", "filterState"}
)
"""RouteMatch keys that cannot change the MATCH cell beyond ``prefix``."""


def _format_table(rows: list[tuple[str, ...]]) -> str:
    """Go ``text/tabwriter`` (minwidth 0, padding 5) for rows of equal length.

    A cell holding a control character (a tab or newline would shift columns or split a row; an escape sequence
    would reach the terminal) is printed Go-``%q``-quoted (``redact.quote``), so every row stays one line; other
    cells are printed as istioctl prints them.
    """
    distinct = [set(col) for col in zip(*rows, strict=True)]
    if not all(cell.isprintable() for cells in distinct for cell in cells):
        rows = [tuple(map(quote, r)) for r in rows]
        distinct = [set(col) for col in zip(*rows, strict=True)]
    padding = ROUTES_TABWRITER.padding
    widths = [max(ROUTES_TABWRITER.minwidth, max(map(len, cells)) + padding) for cells in distinct[:-1]]
    fmt = "".join(f"%-{w}s" for w in widths) + "%s\n"
    return "".join([fmt % r for r in rows])


def rows_for_route_configs(
    configs: Sequence[RouteConfigView],
    *,
    istio_version: str = "1.24",
    name: str | None = None,
    verbose: bool = True,
    prefix: str = "",
    sort: bool = True,
    go_toolchain: str | None = None,
) -> str:
    """The ``pc routes`` table for these route configurations (dump-derived or predicted)."""
    with _gc_paused():
        order = _sorted_configs(configs, sort, istio_version, go_toolchain)
        if verbose:
            rows = _verbose_cells(configs, order, name, istio_version, prefix)
        else:
            rows = [SUMMARY_HEADER]
            for index in order:
                rc = configs[index]
                if name and rc.name != name:
                    continue
                rows.append((prefix + rc.name, str(len(rc.virtual_hosts))))
        return _format_table(rows)


def render_routes(
    dump: RouteDump,
    *,
    name: str | None = None,
    verbose: bool = True,
    istio_version: str = "1.24",
    prefix: str = "",
    go_toolchain: str | None = None,
) -> str:
    """Exactly what ``istioctl proxy-config routes -f <dump>`` prints with these flags (``-o short``)."""
    return rows_for_route_configs(
        dump.route_configs, istio_version=istio_version, name=name, verbose=verbose, prefix=prefix, go_toolchain=go_toolchain
    )


# --------------------------------------------------------------------------------------------
# -o json / -o yaml
# --------------------------------------------------------------------------------------------


def _selected_raw(dump: RouteDump, name: str | None, istio_version: str, go_toolchain: str | None) -> list[Mapping[str, Any]]:
    order = _sorted_configs(dump.route_configs, True, istio_version, go_toolchain)
    selected = [dump.raw[i] for i in order if not name or dump.route_configs[i].name == name]
    # The JSON/YAML printers recurse: refuse what they could not print (the table reads fixed fields only, so a
    # deep dump renders as a table, as in istioctl).  A route configuration sits 5 levels below the dump's root.
    if any(tree_depth_exceeds(rc, MAX_DUMP_DEPTH - _ROUTE_CONFIG_LEVEL) for rc in selected):
        raise _unmarshal_error(f"JSON nested more than {MAX_DUMP_DEPTH} levels deep")
    return selected


_ROUTE_CONFIG_LEVEL: Final = 5
"""configs, [i], dynamic_route_configs, [j], route_config: the levels above a route configuration in a dump."""


def render_routes_json(
    dump: RouteDump, *, name: str | None = None, istio_version: str = "1.24", go_toolchain: str | None = None
) -> str:
    """``istioctl pc routes -o json``: the selected RouteConfigurations as jsonpb would print them."""
    converted = [_convert_message(rc, _ROUTE_CONFIGURATION_NAME) for rc in _selected_raw(dump, name, istio_version, go_toolchain)]
    return _go_json_text(converted) + "\n"


def render_routes_yaml(
    dump: RouteDump, *, name: str | None = None, istio_version: str = "1.24", go_toolchain: str | None = None
) -> str:
    """``istioctl pc routes -o yaml``: the JSON above through ``sigs.k8s.io/yaml.JSONToYAML``."""
    converted = [_convert_message(rc, _ROUTE_CONFIGURATION_NAME) for rc in _selected_raw(dump, name, istio_version, go_toolchain)]
    return _go_yaml_text(converted) + "\n"


# Compact schema of the Envoy messages reachable from RouteConfiguration, generated from the
# descriptors of xds-protos 1.85.0.  One message per line: ``<full name> <field>:<card><kind> ...`` in
# declaration order.  <card>: "" singular without presence (omitted at its zero value), "O" oneof
# member or explicit presence, "R" repeated, "M" map<string, kind>.  <kind>: s string, b bool,
# y bytes, i 32-bit integer, l 64-bit integer, f float/double, e<enum>, m<message>, A Any,
# S Struct, V Value, L ListValue, D Duration, T Timestamp, E Empty, F FieldMask, w* wrappers
# (wb bool, ws string, wy bytes, w32, w64, wf), ? a message copied generically.  JSON names are the
# standard lowerCamelCase of the proto names (no Envoy field overrides it).  Abbreviations:
# ~r. envoy.config.route.v3.  ~c. envoy.config.core.v3.  ~m. envoy.type.matcher.v3.
# ~t. envoy.type.v3.  ~h. envoy.extensions.filters.http.
_SCHEMA: Final = """
envoy.config.common.mutation_rules.v3.HeaderMutation remove:Os append:Om~c.HeaderValueOption remove_on_match:Omenvoy.config.common.mutation_rules.v3.HeaderMutation.RemoveOnMatch
envoy.config.common.mutation_rules.v3.HeaderMutation.RemoveOnMatch key_matcher:m~m.StringMatcher
~c.DataSource filename:Os inline_bytes:Oy inline_string:Os environment_variable:Os watched_directory:m~c.WatchedDirectory
~c.HeaderValue key:s value:s raw_value:y
~c.HeaderValueOption header:m~c.HeaderValue append:wb append_action:e~c.HeaderValueOption.HeaderAppendAction keep_empty_value:b
~c.JsonFormatOptions sort_properties:b
~c.Metadata filter_metadata:MS typed_filter_metadata:MA
~c.ProxyProtocolConfig version:e~c.ProxyProtocolConfig.Version pass_through_tlvs:m~c.ProxyProtocolPassThroughTLVs added_tlvs:Rm~c.TlvEntry
~c.ProxyProtocolPassThroughTLVs match_type:e~c.ProxyProtocolPassThroughTLVs.PassTLVsMatchType tlv_type:Ri
~c.RuntimeFractionalPercent default_value:m~t.FractionalPercent runtime_key:s
~c.SubstitutionFormatString text_format:Os json_format:OS text_format_source:Om~c.DataSource omit_empty_values:b content_type:s formatters:Rm~c.TypedExtensionConfig json_format_options:m~c.JsonFormatOptions
~c.TlvEntry type:i value:y format_string:m~c.SubstitutionFormatString
~c.TypedExtensionConfig name:s typed_config:A
~c.WatchedDirectory path:s
~r.ClusterSpecifierPlugin extension:m~c.TypedExtensionConfig is_optional:b
~r.CorsPolicy allow_origin_string_match:Rm~m.StringMatcher allow_methods:s allow_headers:s expose_headers:s max_age:s allow_credentials:wb filter_enabled:Om~c.RuntimeFractionalPercent shadow_enabled:m~c.RuntimeFractionalPercent allow_private_network_access:wb forward_not_matching_preflights:wb
~r.Decorator operation:s propagate:wb
~r.DirectResponseAction status:i body:m~c.DataSource body_format:m~c.SubstitutionFormatString
~r.FilterAction action:A
~r.FilterConfig config:A is_optional:b disabled:b
~r.HeaderMatcher name:s exact_match:Os safe_regex_match:Om~m.RegexMatcher range_match:Om~t.Int64Range present_match:Ob prefix_match:Os suffix_match:Os contains_match:Os string_match:Om~m.StringMatcher invert_match:b treat_missing_header_as_empty:b
~r.HedgePolicy initial_requests:w32 additional_request_chance:m~t.FractionalPercent hedge_on_per_try_timeout:b
~r.InternalRedirectPolicy max_internal_redirects:w32 redirect_response_codes:Ri predicates:Rm~c.TypedExtensionConfig allow_cross_scheme_redirect:b response_headers_to_copy:Rs
~r.NonForwardingAction
~r.QueryParameterMatcher name:s string_match:Om~m.StringMatcher present_match:Ob
~r.RateLimit stage:w32 disable_key:s actions:Rm~r.RateLimit.Action limit:m~r.RateLimit.Override hits_addend:m~r.RateLimit.HitsAddend apply_on_stream_done:b
~r.RateLimit.Action source_cluster:Om~r.RateLimit.Action.SourceCluster destination_cluster:Om~r.RateLimit.Action.DestinationCluster request_headers:Om~r.RateLimit.Action.RequestHeaders query_parameters:Om~r.RateLimit.Action.QueryParameters remote_address:Om~r.RateLimit.Action.RemoteAddress generic_key:Om~r.RateLimit.Action.GenericKey header_value_match:Om~r.RateLimit.Action.HeaderValueMatch dynamic_metadata:Om~r.RateLimit.Action.DynamicMetaData metadata:Om~r.RateLimit.Action.MetaData extension:Om~c.TypedExtensionConfig masked_remote_address:Om~r.RateLimit.Action.MaskedRemoteAddress query_parameter_value_match:Om~r.RateLimit.Action.QueryParameterValueMatch
~r.RateLimit.Action.DestinationCluster
~r.RateLimit.Action.DynamicMetaData descriptor_key:s metadata_key:menvoy.type.metadata.v3.MetadataKey default_value:s
~r.RateLimit.Action.GenericKey descriptor_value:s descriptor_key:s
~r.RateLimit.Action.HeaderValueMatch descriptor_key:s descriptor_value:s expect_match:wb headers:Rm~r.HeaderMatcher
~r.RateLimit.Action.MaskedRemoteAddress v4_prefix_mask_len:w32 v6_prefix_mask_len:w32
~r.RateLimit.Action.MetaData descriptor_key:s metadata_key:menvoy.type.metadata.v3.MetadataKey default_value:s source:e~r.RateLimit.Action.MetaData.Source skip_if_absent:b
~r.RateLimit.Action.QueryParameterValueMatch descriptor_key:s descriptor_value:s expect_match:wb query_parameters:Rm~r.QueryParameterMatcher
~r.RateLimit.Action.QueryParameters query_parameter_name:s descriptor_key:s skip_if_absent:b
~r.RateLimit.Action.RemoteAddress
~r.RateLimit.Action.RequestHeaders header_name:s descriptor_key:s skip_if_absent:b
~r.RateLimit.Action.SourceCluster
~r.RateLimit.HitsAddend number:w64 format:s
~r.RateLimit.Override dynamic_metadata:Om~r.RateLimit.Override.DynamicMetadata
~r.RateLimit.Override.DynamicMetadata metadata_key:menvoy.type.metadata.v3.MetadataKey
~r.RedirectAction https_redirect:Ob scheme_redirect:Os host_redirect:s port_redirect:i path_redirect:Os prefix_rewrite:Os regex_rewrite:Om~m.RegexMatchAndSubstitute response_code:e~r.RedirectAction.RedirectResponseCode strip_query:b
~r.RetryPolicy retry_on:s num_retries:w32 per_try_timeout:D per_try_idle_timeout:D retry_priority:m~r.RetryPolicy.RetryPriority retry_host_predicate:Rm~r.RetryPolicy.RetryHostPredicate retry_options_predicates:Rm~c.TypedExtensionConfig host_selection_retry_max_attempts:l retriable_status_codes:Ri retry_back_off:m~r.RetryPolicy.RetryBackOff rate_limited_retry_back_off:m~r.RetryPolicy.RateLimitedRetryBackOff retriable_headers:Rm~r.HeaderMatcher retriable_request_headers:Rm~r.HeaderMatcher
~r.RetryPolicy.RateLimitedRetryBackOff reset_headers:Rm~r.RetryPolicy.ResetHeader max_interval:D
~r.RetryPolicy.ResetHeader name:s format:e~r.RetryPolicy.ResetHeaderFormat
~r.RetryPolicy.RetryBackOff base_interval:D max_interval:D
~r.RetryPolicy.RetryHostPredicate name:s typed_config:OA
~r.RetryPolicy.RetryPriority name:s typed_config:OA
~r.Route name:s match:m~r.RouteMatch route:Om~r.RouteAction redirect:Om~r.RedirectAction direct_response:Om~r.DirectResponseAction filter_action:Om~r.FilterAction non_forwarding_action:Om~r.NonForwardingAction metadata:m~c.Metadata decorator:m~r.Decorator typed_per_filter_config:MA request_headers_to_add:Rm~c.HeaderValueOption request_headers_to_remove:Rs response_headers_to_add:Rm~c.HeaderValueOption response_headers_to_remove:Rs tracing:m~r.Tracing per_request_buffer_limit_bytes:w32 stat_prefix:s request_body_buffer_limit:w64
~r.RouteAction cluster:Os cluster_header:Os weighted_clusters:Om~r.WeightedCluster cluster_specifier_plugin:Os inline_cluster_specifier_plugin:Om~r.ClusterSpecifierPlugin cluster_not_found_response_code:e~r.RouteAction.ClusterNotFoundResponseCode metadata_match:m~c.Metadata prefix_rewrite:s regex_rewrite:m~m.RegexMatchAndSubstitute path_rewrite_policy:m~c.TypedExtensionConfig path_rewrite:s host_rewrite_literal:Os auto_host_rewrite:Owb host_rewrite_header:Os host_rewrite_path_regex:Om~m.RegexMatchAndSubstitute host_rewrite:Os append_x_forwarded_host:b timeout:D idle_timeout:D flush_timeout:D early_data_policy:m~c.TypedExtensionConfig retry_policy:m~r.RetryPolicy retry_policy_typed_config:A request_mirror_policies:Rm~r.RouteAction.RequestMirrorPolicy priority:e~c.RoutingPriority rate_limits:Rm~r.RateLimit include_vh_rate_limits:wb hash_policy:Rm~r.RouteAction.HashPolicy cors:m~r.CorsPolicy max_grpc_timeout:D grpc_timeout_offset:D upgrade_configs:Rm~r.RouteAction.UpgradeConfig internal_redirect_policy:m~r.InternalRedirectPolicy internal_redirect_action:e~r.RouteAction.InternalRedirectAction max_internal_redirects:w32 hedge_policy:m~r.HedgePolicy max_stream_duration:m~r.RouteAction.MaxStreamDuration
~r.RouteAction.HashPolicy header:Om~r.RouteAction.HashPolicy.Header cookie:Om~r.RouteAction.HashPolicy.Cookie connection_properties:Om~r.RouteAction.HashPolicy.ConnectionProperties query_parameter:Om~r.RouteAction.HashPolicy.QueryParameter filter_state:Om~r.RouteAction.HashPolicy.FilterState terminal:b
~r.RouteAction.HashPolicy.ConnectionProperties source_ip:b
~r.RouteAction.HashPolicy.Cookie name:s ttl:D path:s attributes:Rm~r.RouteAction.HashPolicy.CookieAttribute
~r.RouteAction.HashPolicy.CookieAttribute name:s value:s
~r.RouteAction.HashPolicy.FilterState key:s
~r.RouteAction.HashPolicy.Header header_name:s regex_rewrite:m~m.RegexMatchAndSubstitute
~r.RouteAction.HashPolicy.QueryParameter name:s
~r.RouteAction.MaxStreamDuration max_stream_duration:D grpc_timeout_header_max:D grpc_timeout_header_offset:D
~r.RouteAction.RequestMirrorPolicy cluster:s cluster_header:s runtime_fraction:m~c.RuntimeFractionalPercent trace_sampled:wb disable_shadow_host_suffix_append:b request_headers_mutations:Rmenvoy.config.common.mutation_rules.v3.HeaderMutation host_rewrite_literal:s
~r.RouteAction.UpgradeConfig upgrade_type:s enabled:wb connect_config:m~r.RouteAction.UpgradeConfig.ConnectConfig
~r.RouteAction.UpgradeConfig.ConnectConfig proxy_protocol_config:m~c.ProxyProtocolConfig allow_post:b
~r.RouteConfiguration name:s virtual_hosts:Rm~r.VirtualHost vhds:m~r.Vhds internal_only_headers:Rs response_headers_to_add:Rm~c.HeaderValueOption response_headers_to_remove:Rs request_headers_to_add:Rm~c.HeaderValueOption request_headers_to_remove:Rs most_specific_header_mutations_wins:b validate_clusters:wb max_direct_response_body_size_bytes:w32 cluster_specifier_plugins:Rm~r.ClusterSpecifierPlugin request_mirror_policies:Rm~r.RouteAction.RequestMirrorPolicy ignore_port_in_host_matching:b vhost_header:s ignore_path_parameters_in_path_matching:b typed_per_filter_config:MA metadata:m~c.Metadata
~r.RouteMatch prefix:Os path:Os safe_regex:Om~m.RegexMatcher connect_matcher:Om~r.RouteMatch.ConnectMatcher path_separated_prefix:Os path_match_policy:Om~c.TypedExtensionConfig case_sensitive:wb runtime_fraction:m~c.RuntimeFractionalPercent headers:Rm~r.HeaderMatcher query_parameters:Rm~r.QueryParameterMatcher grpc:m~r.RouteMatch.GrpcRouteMatchOptions tls_context:m~r.RouteMatch.TlsContextMatchOptions dynamic_metadata:Rm~m.MetadataMatcher filter_state:Rm~m.FilterStateMatcher
~r.RouteMatch.ConnectMatcher
~r.RouteMatch.GrpcRouteMatchOptions
~r.RouteMatch.TlsContextMatchOptions presented:wb validated:wb
~r.Tracing client_sampling:m~t.FractionalPercent random_sampling:m~t.FractionalPercent overall_sampling:m~t.FractionalPercent custom_tags:Rmenvoy.type.tracing.v3.CustomTag operation:s upstream_operation:s
~r.Vhds config_source:?
~r.VirtualCluster headers:Rm~r.HeaderMatcher name:s
~r.VirtualHost name:s domains:Rs routes:Rm~r.Route matcher:? require_tls:e~r.VirtualHost.TlsRequirementType virtual_clusters:Rm~r.VirtualCluster rate_limits:Rm~r.RateLimit request_headers_to_add:Rm~c.HeaderValueOption request_headers_to_remove:Rs response_headers_to_add:Rm~c.HeaderValueOption response_headers_to_remove:Rs cors:m~r.CorsPolicy typed_per_filter_config:MA include_request_attempt_count:b include_attempt_count_in_response:b retry_policy:m~r.RetryPolicy retry_policy_typed_config:A hedge_policy:m~r.HedgePolicy include_is_timeout_retry_header:b per_request_buffer_limit_bytes:w32 request_body_buffer_limit:w64 request_mirror_policies:Rm~r.RouteAction.RequestMirrorPolicy metadata:m~c.Metadata
~r.WeightedCluster clusters:Rm~r.WeightedCluster.ClusterWeight total_weight:w32 runtime_key_prefix:s header_name:Os use_hash_policy:Owb
~r.WeightedCluster.ClusterWeight name:s cluster_header:s weight:w32 metadata_match:m~c.Metadata request_headers_to_add:Rm~c.HeaderValueOption request_headers_to_remove:Rs response_headers_to_add:Rm~c.HeaderValueOption response_headers_to_remove:Rs typed_per_filter_config:MA host_rewrite_literal:Os
envoy.extensions.common.ratelimit.v3.LocalClusterRateLimit
envoy.extensions.common.ratelimit.v3.LocalRateLimitDescriptor entries:Rmenvoy.extensions.common.ratelimit.v3.RateLimitDescriptor.Entry token_bucket:m~t.TokenBucket
envoy.extensions.common.ratelimit.v3.RateLimitDescriptor.Entry key:s value:s
envoy.extensions.filters.common.fault.v3.FaultDelay fixed_delay:OD header_delay:Omenvoy.extensions.filters.common.fault.v3.FaultDelay.HeaderDelay percentage:m~t.FractionalPercent
envoy.extensions.filters.common.fault.v3.FaultDelay.HeaderDelay
envoy.extensions.filters.common.fault.v3.FaultRateLimit fixed_limit:Omenvoy.extensions.filters.common.fault.v3.FaultRateLimit.FixedLimit header_limit:Omenvoy.extensions.filters.common.fault.v3.FaultRateLimit.HeaderLimit percentage:m~t.FractionalPercent
envoy.extensions.filters.common.fault.v3.FaultRateLimit.FixedLimit limit_kbps:l
envoy.extensions.filters.common.fault.v3.FaultRateLimit.HeaderLimit
~h.cors.v3.Cors
~h.cors.v3.CorsPolicy allow_origin_string_match:Rm~m.StringMatcher allow_methods:s allow_headers:s expose_headers:s max_age:s allow_credentials:wb filter_enabled:m~c.RuntimeFractionalPercent shadow_enabled:m~c.RuntimeFractionalPercent allow_private_network_access:wb forward_not_matching_preflights:wb
~h.fault.v3.FaultAbort http_status:Oi grpc_status:Oi header_abort:Om~h.fault.v3.FaultAbort.HeaderAbort percentage:m~t.FractionalPercent
~h.fault.v3.FaultAbort.HeaderAbort
~h.fault.v3.HTTPFault delay:menvoy.extensions.filters.common.fault.v3.FaultDelay abort:m~h.fault.v3.FaultAbort upstream_cluster:s headers:Rm~r.HeaderMatcher downstream_nodes:Rs max_active_faults:w32 response_rate_limit:menvoy.extensions.filters.common.fault.v3.FaultRateLimit delay_percent_runtime:s abort_percent_runtime:s delay_duration_runtime:s abort_http_status_runtime:s max_active_faults_runtime:s response_rate_limit_percent_runtime:s abort_grpc_status_runtime:s disable_downstream_cluster_stats:b filter_metadata:S
~h.local_ratelimit.v3.LocalRateLimit stat_prefix:s status:m~t.HttpStatus token_bucket:m~t.TokenBucket filter_enabled:m~c.RuntimeFractionalPercent filter_enforced:m~c.RuntimeFractionalPercent request_headers_to_add_when_not_enforced:Rm~c.HeaderValueOption response_headers_to_add:Rm~c.HeaderValueOption descriptors:Rmenvoy.extensions.common.ratelimit.v3.LocalRateLimitDescriptor stage:i local_rate_limit_per_downstream_connection:b local_cluster_rate_limit:menvoy.extensions.common.ratelimit.v3.LocalClusterRateLimit enable_x_ratelimit_headers:eenvoy.extensions.common.ratelimit.v3.XRateLimitHeadersRFCVersion vh_rate_limits:eenvoy.extensions.common.ratelimit.v3.VhRateLimitsOptions always_consume_default_token_bucket:wb rate_limited_as_resource_exhausted:b rate_limits:Rm~r.RateLimit max_dynamic_descriptors:w32
envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate
envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig update_frequency:i
~m.AddressMatcher ranges:Rmxds.core.v3.CidrRange
~m.DoubleMatcher range:Om~t.DoubleRange exact:Of
~m.FilterStateMatcher key:s string_match:Om~m.StringMatcher address_match:Om~m.AddressMatcher
~m.ListMatcher one_of:Om~m.ValueMatcher
~m.MetadataMatcher filter:s path:Rm~m.MetadataMatcher.PathSegment value:m~m.ValueMatcher invert:b
~m.MetadataMatcher.PathSegment key:Os
~m.OrMatcher value_matchers:Rm~m.ValueMatcher
~m.RegexMatchAndSubstitute pattern:m~m.RegexMatcher substitution:s
~m.RegexMatcher google_re2:Om~m.RegexMatcher.GoogleRE2 regex:s
~m.RegexMatcher.GoogleRE2 max_program_size:w32
~m.StringMatcher exact:Os prefix:Os suffix:Os safe_regex:Om~m.RegexMatcher contains:Os custom:Omxds.core.v3.TypedExtensionConfig ignore_case:b
~m.ValueMatcher null_match:Om~m.ValueMatcher.NullMatch double_match:Om~m.DoubleMatcher string_match:Om~m.StringMatcher bool_match:Ob present_match:Ob list_match:Om~m.ListMatcher or_match:Om~m.OrMatcher
~m.ValueMatcher.NullMatch
envoy.type.metadata.v3.MetadataKey key:s path:Rmenvoy.type.metadata.v3.MetadataKey.PathSegment
envoy.type.metadata.v3.MetadataKey.PathSegment key:Os
envoy.type.metadata.v3.MetadataKind request:Omenvoy.type.metadata.v3.MetadataKind.Request route:Omenvoy.type.metadata.v3.MetadataKind.Route cluster:Omenvoy.type.metadata.v3.MetadataKind.Cluster host:Omenvoy.type.metadata.v3.MetadataKind.Host
envoy.type.metadata.v3.MetadataKind.Cluster
envoy.type.metadata.v3.MetadataKind.Host
envoy.type.metadata.v3.MetadataKind.Request
envoy.type.metadata.v3.MetadataKind.Route
envoy.type.tracing.v3.CustomTag tag:s literal:Omenvoy.type.tracing.v3.CustomTag.Literal environment:Omenvoy.type.tracing.v3.CustomTag.Environment request_header:Omenvoy.type.tracing.v3.CustomTag.Header metadata:Omenvoy.type.tracing.v3.CustomTag.Metadata value:Os
envoy.type.tracing.v3.CustomTag.Environment name:s default_value:s
envoy.type.tracing.v3.CustomTag.Header name:s default_value:s
envoy.type.tracing.v3.CustomTag.Literal value:s
envoy.type.tracing.v3.CustomTag.Metadata kind:menvoy.type.metadata.v3.MetadataKind metadata_key:menvoy.type.metadata.v3.MetadataKey default_value:s
~t.DoubleRange start:f end:f
~t.FractionalPercent numerator:i denominator:e~t.FractionalPercent.DenominatorType
~t.HttpStatus code:e~t.StatusCode
~t.Int64Range start:l end:l
~t.TokenBucket max_tokens:i tokens_per_fill:w32 fill_interval:D
udpa.type.v1.TypedStruct type_url:s value:S
xds.core.v3.CidrRange address_prefix:s prefix_len:w32
xds.core.v3.TypedExtensionConfig name:s typed_config:A
xds.type.v3.TypedStruct type_url:s value:S
enum ~c.HeaderValueOption.HeaderAppendAction 0=APPEND_IF_EXISTS_OR_ADD 1=ADD_IF_ABSENT 2=OVERWRITE_IF_EXISTS_OR_ADD 3=OVERWRITE_IF_EXISTS
enum ~c.ProxyProtocolConfig.Version 0=V1 1=V2
enum ~c.ProxyProtocolPassThroughTLVs.PassTLVsMatchType 0=INCLUDE_ALL 1=INCLUDE
enum ~c.RoutingPriority 0=DEFAULT 1=HIGH
enum ~r.RateLimit.Action.MetaData.Source 0=DYNAMIC 1=ROUTE_ENTRY
enum ~r.RedirectAction.RedirectResponseCode 0=MOVED_PERMANENTLY 1=FOUND 2=SEE_OTHER 3=TEMPORARY_REDIRECT 4=PERMANENT_REDIRECT
enum ~r.RetryPolicy.ResetHeaderFormat 0=SECONDS 1=UNIX_TIMESTAMP
enum ~r.RouteAction.ClusterNotFoundResponseCode 0=SERVICE_UNAVAILABLE 1=NOT_FOUND 2=INTERNAL_SERVER_ERROR
enum ~r.RouteAction.InternalRedirectAction 0=PASS_THROUGH_INTERNAL_REDIRECT 1=HANDLE_INTERNAL_REDIRECT
enum ~r.VirtualHost.TlsRequirementType 0=NONE 1=EXTERNAL_ONLY 2=ALL
enum envoy.extensions.common.ratelimit.v3.VhRateLimitsOptions 0=OVERRIDE 1=INCLUDE 2=IGNORE
enum envoy.extensions.common.ratelimit.v3.XRateLimitHeadersRFCVersion 0=OFF 1=DRAFT_VERSION_03
enum ~t.FractionalPercent.DenominatorType 0=HUNDRED 1=TEN_THOUSAND 2=MILLION
enum ~t.StatusCode 0=Empty 100=Continue 200=OK 201=Created 202=Accepted 203=NonAuthoritativeInformation 204=NoContent 205=ResetContent 206=PartialContent 207=MultiStatus 208=AlreadyReported 226=IMUsed 300=MultipleChoices 301=MovedPermanently 302=Found 303=SeeOther 304=NotModified 305=UseProxy 307=TemporaryRedirect 308=PermanentRedirect 400=BadRequest 401=Unauthorized 402=PaymentRequired 403=Forbidden 404=NotFound 405=MethodNotAllowed 406=NotAcceptable 407=ProxyAuthenticationRequired 408=RequestTimeout 409=Conflict 410=Gone 411=LengthRequired 412=PreconditionFailed 413=PayloadTooLarge 414=URITooLong 415=UnsupportedMediaType 416=RangeNotSatisfiable 417=ExpectationFailed 421=MisdirectedRequest 422=UnprocessableEntity 423=Locked 424=FailedDependency 426=UpgradeRequired 428=PreconditionRequired 429=TooManyRequests 431=RequestHeaderFieldsTooLarge 500=InternalServerError 501=NotImplemented 502=BadGateway 503=ServiceUnavailable 504=GatewayTimeout 505=HTTPVersionNotSupported 506=VariantAlsoNegotiates 507=InsufficientStorage 508=LoopDetected 510=NotExtended 511=NetworkAuthenticationRequired
"""

_ABBREVIATIONS: Final = (
    ("~r.", "envoy.config.route.v3."),
    ("~c.", "envoy.config.core.v3."),
    ("~m.", "envoy.type.matcher.v3."),
    ("~t.", "envoy.type.v3."),
    ("~h.", "envoy.extensions.filters.http."),
)

_Field = tuple[str, str, str, str]  # proto name, JSON name, cardinality, kind


def _camel(name: str) -> str:
    parts = name.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


@cache
def _schema() -> tuple[dict[str, tuple[_Field, ...]], dict[str, dict[int, str]]]:
    text = _SCHEMA
    for short, full in _ABBREVIATIONS:
        text = text.replace(short, full)
    messages: dict[str, tuple[_Field, ...]] = {}
    enums: dict[str, dict[int, str]] = {}
    for line in text.strip().splitlines():
        words = line.split()
        if words[0] == "enum":
            enums[words[1]] = {int(num): value for num, value in (w.split("=", 1) for w in words[2:])}
            continue
        fields: list[_Field] = []
        for word in words[1:]:
            proto, _, spec = word.partition(":")
            card = spec[0] if spec[:1] in ("O", "R", "M") else ""
            fields.append((proto, _camel(proto), card, spec[len(card) :]))
        messages[words[0]] = tuple(fields)
    return messages, enums


_WKT_ANY_KINDS: Final = {
    "google.protobuf.Struct": "S",
    "google.protobuf.Value": "V",
    "google.protobuf.ListValue": "L",
    "google.protobuf.Duration": "D",
    "google.protobuf.Timestamp": "T",
    "google.protobuf.Empty": "E",
    "google.protobuf.FieldMask": "F",
    "google.protobuf.Any": "A",
    "google.protobuf.BoolValue": "wb",
    "google.protobuf.StringValue": "ws",
    "google.protobuf.BytesValue": "wy",
    "google.protobuf.Int32Value": "w32",
    "google.protobuf.UInt32Value": "w32",
    "google.protobuf.Int64Value": "w64",
    "google.protobuf.UInt64Value": "w64",
    "google.protobuf.FloatValue": "wf",
    "google.protobuf.DoubleValue": "wf",
}


def _convert_message(obj: Any, type_name: str) -> Any:
    if not isinstance(obj, dict):
        return obj
    messages, _ = _schema()
    fields = messages.get(type_name)
    if fields is None:
        return _convert_generic(obj)
    out: dict[str, Any] = {}
    for proto, jname, card, kind in fields:
        value = obj.get(proto)
        if value is None and jname != proto:
            value = obj.get(jname)
        if value is None:
            continue
        if card == "R":
            if isinstance(value, list):
                if value:
                    out[jname] = [_convert_value(v, kind) for v in value]
            else:
                out[jname] = _convert_value(value, kind)
        elif card == "M":
            if isinstance(value, dict):
                if value:
                    out[jname] = {k: _convert_value(value[k], kind) for k in sorted(value)}
            else:
                out[jname] = value
        else:
            converted = _convert_value(value, kind)
            if card == "O" or not _is_zero(converted, kind):
                out[jname] = converted
    return out


def _is_zero(value: Any, kind: str) -> bool:
    if kind == "s" or kind == "y":
        return bool(value == "")
    if kind == "b":
        return value is False
    if kind == "i" or kind == "f":
        return not isinstance(value, bool) and isinstance(value, int | float) and value == 0 and math.copysign(1, value) > 0
    if kind == "l":
        return bool(value == "0")
    if kind.startswith("e"):
        _, enums = _schema()
        return bool(value == 0 or value == enums.get(kind[1:], {}).get(0))
    return False


def _convert_value(value: Any, kind: str) -> Any:
    first = kind[:1]
    if first == "m":
        return _convert_message(value, kind[1:])
    if kind in ("s", "b", "y", "T", "F", "ws", "wy", "wb"):
        return value
    if kind == "i" or kind == "w32":
        return _to_int(value)
    if kind == "l" or kind == "w64":
        number = _to_int(value)
        return str(number) if isinstance(number, int) and not isinstance(number, bool) else value
    if kind == "f" or kind == "wf":
        if isinstance(value, str) and value not in ("NaN", "Infinity", "-Infinity"):
            try:
                return float(value)
            except ValueError:
                return value
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if first == "e":
        if isinstance(value, int) and not isinstance(value, bool):
            _, enums = _schema()
            return enums.get(kind[1:], {}).get(value, value)
        return value
    if kind == "A":
        return _convert_any(value)
    if kind == "S":
        return _convert_struct(value)
    if kind == "V":
        return _convert_json_value(value)
    if kind == "L":
        return [_convert_json_value(v) for v in value] if isinstance(value, list) else value
    if kind == "D":
        return _convert_duration(value)
    if kind == "E":
        return {}
    return _convert_generic(value)


def _to_int(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                f = float(value)
            except ValueError:
                return value
            return int(f) if f.is_integer() else value
    return value


def _convert_struct(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {k: _convert_json_value(value[k]) for k in sorted(value)}


def _convert_json_value(value: Any) -> Any:
    """A ``google.protobuf.Value``: numbers are doubles, object keys sorted."""
    if isinstance(value, dict):
        return _convert_struct(value)
    if isinstance(value, list):
        return [_convert_json_value(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _convert_any(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    type_url = value.get("@type")
    if not isinstance(type_url, str) or not type_url:
        return {}
    type_name = type_url.rpartition("/")[2]
    out: dict[str, Any] = {"@type": type_url}
    wkt = _WKT_ANY_KINDS.get(type_name)
    if wkt is not None:
        if "value" in value:
            out["value"] = _convert_value(value["value"], wkt)
        elif wkt == "E":
            out["value"] = {}
        return out
    messages, _ = _schema()
    if type_name in messages:
        out.update(_convert_message(value, type_name))
    else:
        for k, v in value.items():
            if k != "@type":
                out[_generic_key(k)] = _convert_generic(v)
    return out


_SNAKE_RE: Final = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


def _generic_key(key: str) -> str:
    return _camel(key) if _SNAKE_RE.fullmatch(key) else key


def _convert_generic(value: Any) -> Any:
    if isinstance(value, dict):
        if "@type" in value:
            return _convert_any(value)
        return {_generic_key(k): _convert_generic(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_convert_generic(v) for v in value]
    return value


_DURATION_RE: Final = re.compile(r"(-)?([0-9]+)(?:\.([0-9]{1,9}))?s")


def _convert_duration(value: Any) -> Any:
    """jsonpb's Duration text: seconds with 0, 3, 6 or 9 fractional digits."""
    if not isinstance(value, str):
        return value
    m = _DURATION_RE.fullmatch(value)
    if m is None:
        return value
    seconds = int(m.group(2))
    nanos = int((m.group(3) or "").ljust(9, "0"))
    sign = "-" if m.group(1) and (seconds or nanos) else ""
    text = f"{sign}{seconds}.{nanos:09d}"
    for suffix in ("000", "000", ".000"):
        text = text.removesuffix(suffix)
    return text + "s"


# --- Go number formatting -------------------------------------------------------------------


def _shortest_digits(f: float) -> tuple[bool, str, int]:
    """(negative, shortest round-trip digits, decimal point) of ``f``: value = 0.DIGITS x 10**point."""
    sign, digit_tuple, exponent = Decimal(repr(f)).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    if not digits:
        return bool(sign), "0", 1
    return bool(sign), digits.rstrip("0"), len(digits) + exponent


def _fmt_e(neg: bool, digits: str, dp: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exp = dp - 1
    return ("-" if neg else "") + mantissa + ("e-" if exp < 0 else "e+") + f"{abs(exp):02d}"


def _fmt_f(neg: bool, digits: str, dp: int) -> str:
    if dp <= 0:
        text = "0." + "0" * (-dp) + digits
    elif dp >= len(digits):
        text = digits + "0" * (dp - len(digits))
    else:
        text = digits[:dp] + "." + digits[dp:]
    return ("-" if neg else "") + text


def _go_json_float(f: float) -> str:
    """Go ``encoding/json`` for a float64 (as jsonpb writes doubles and Struct numbers)."""
    if math.isnan(f):
        return '"NaN"'
    if math.isinf(f):
        return '"Infinity"' if f > 0 else '"-Infinity"'
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    neg, digits, dp = _shortest_digits(f)
    if abs(f) < 1e-6 or abs(f) >= 1e21:
        text = _fmt_e(neg, digits, dp)
        if text[-4] == "e" and text[-3] == "-" and text[-2] == "0":
            text = text[:-2] + text[-1]
        return text
    return _fmt_f(neg, digits, dp)


def _go_g_float(f: float) -> str:
    """Go ``strconv.FormatFloat(f, 'g', -1, 64)`` as go-yaml writes floats."""
    if math.isnan(f):
        return ".nan"
    if math.isinf(f):
        return ".inf" if f > 0 else "-.inf"
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    neg, digits, dp = _shortest_digits(f)
    exp = dp - 1
    if exp < -4 or exp >= 6:  # the shortest 'g' format switches at precision 6
        return _fmt_e(neg, digits, dp)
    return _fmt_f(neg, digits, dp)


# --- JSON text ------------------------------------------------------------------------------

_GO_JSON_ESCAPES: Final = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_GO_JSON_ESCAPE_RE: Final = re.compile("[<>&\u2028\u2029]")
_SURROGATE_RE: Final = re.compile("[\ud800-\udfff]")


def _go_json_text(value: Any) -> str:
    """``json.MarshalIndent(v, "", "    ")`` of jsonpb output: Go's layout and escaping."""
    out: list[str] = []
    _emit_json(value, 0, out)
    text = "".join(out)
    if not text.isascii():
        text = _SURROGATE_RE.sub("\ufffd", text)
    return _GO_JSON_ESCAPE_RE.sub(lambda m: _GO_JSON_ESCAPES[m.group()], text)


def _emit_json(value: Any, level: int, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_go_json_float(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = "\n" + "    " * (level + 1)
        out.append("{")
        first = True
        for k, v in value.items():
            out.append(inner if first else "," + inner)
            first = False
            out.append(encode_basestring(str(k)))
            out.append(": ")
            _emit_json(v, level + 1, out)
        out.append("\n" + "    " * level + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = "\n" + "    " * (level + 1)
        out.append("[")
        for i, v in enumerate(value):
            out.append(inner if i == 0 else "," + inner)
            _emit_json(v, level + 1, out)
        out.append("\n" + "    " * level + "]")
    else:
        out.append(encode_basestring(str(value)))


# --- YAML text (sigs.k8s.io/yaml JSONToYAML = go-yaml v2) -------------------------------------

_YAML_FLOAT_RE: Final = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_YAML_BASE60_RE: Final = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_YAML_TIMESTAMP_RE: Final = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:(?:[Tt][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2}))"
    r"|(?: [0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?))?"
)
_YAML_MAP_WORDS: Final = frozenset(
    "y Y yes Yes YES true True TRUE on On ON n N no No NO false False FALSE off Off OFF ~ null Null NULL "  # noqa: SIM905
    ".nan .NaN .NAN .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF".split()
)


def _go_parse_int(text: str) -> bool:
    """Whether Go's ``strconv.ParseInt/ParseUint(text, 0, 64)`` accepts ``text``."""
    m = re.fullmatch(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)", text)
    if m is None:
        return False
    body = m.group(2)
    if body[:2] in ("0x", "0X"):
        value = int(body[2:], 16)
    elif body[:2] in ("0o", "0O"):
        value = int(body[2:], 8)
    elif body[:2] in ("0b", "0B"):
        value = int(body[2:], 2)
    else:
        value = int(body, 8) if body.startswith("0") and len(body) > 1 else int(body)
    if m.group(1) == "-":
        return value <= 1 << 63
    return value < 1 << 64


def _yaml_resolves_non_string(s: str) -> bool:
    """go-yaml v2 ``resolve("", s)`` gives a tag other than !!str (or ``isBase60Float``)."""
    if s == "" or s in _YAML_MAP_WORDS:
        return True
    first = s[0]
    if first == ".":
        try:
            float(s)
        except ValueError:
            return False
        return True
    if first in "+-0123456789":
        if first.isdigit() and _YAML_TIMESTAMP_RE.fullmatch(s):
            return True
        plain = s.replace("_", "")
        if _go_parse_int(plain) or _YAML_FLOAT_RE.fullmatch(plain):
            return True
        if plain.startswith(("0b", "-0b")) and re.fullmatch(r"-?0b[01]+", plain):
            return True
    return bool(_YAML_BASE60_RE.fullmatch(s))


def _go_yaml_key_less(a: str, b: str) -> bool:
    """go-yaml v2 ``keyList.Less`` for two string keys (letters after non-letters, numbers by value)."""
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            continue
        al, bl = ca.isalpha(), cb.isalpha()
        if al and bl:
            return ca < cb
        if al or bl:
            return bl
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdecimal():
            an = an * 10 + ord(a[ai]) - 48
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdecimal():
            bn = bn * 10 + ord(b[bi]) - 48
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _go_yaml_key_cmp(a: str, b: str) -> int:
    return -1 if _go_yaml_key_less(a, b) else (1 if _go_yaml_key_less(b, a) else 0)


def _go_yaml_text(value: Any) -> str:
    import yaml  # PyYAML: a port of libyaml's emitter, as go-yaml v2's is

    str_tag = "tag:yaml.org,2002:str"

    def scalar(text: str, style: str | None) -> yaml.ScalarNode:
        return yaml.ScalarNode(str_tag, text, style=style)

    def node(v: Any) -> yaml.Node:
        if isinstance(v, dict):
            keys = sorted((str(k) for k in v), key=cmp_to_key(_go_yaml_key_cmp))
            return yaml.MappingNode("tag:yaml.org,2002:map", [(node(k), node(v[k])) for k in keys], flow_style=False)
        if isinstance(v, list | tuple):
            return yaml.SequenceNode("tag:yaml.org,2002:seq", [node(x) for x in v], flow_style=False)
        if v is None:
            return scalar("null", None)
        if v is True or v is False:
            return scalar("true" if v else "false", None)
        if isinstance(v, int):
            return scalar(str(v), None)
        if isinstance(v, float):
            token = _go_json_float(v)  # what the JSON text says, then read back by go-yaml
            if token.startswith('"'):
                text = token.strip('"')
                return scalar(text, '"' if _yaml_resolves_non_string(text) else None)
            if re.fullmatch(r"-?[0-9]+", token) and token != "-0":
                return scalar(str(int(token)), None)
            return scalar(_go_g_float(float(token)), None)
        text = str(v)
        if "\n" in text:
            return scalar(text, "|")
        return scalar(text, '"' if _yaml_resolves_non_string(text) else None)

    class _GoYamlDumper(yaml.SafeDumper):
        yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012  (every scalar is a plain !!str)

    return yaml.serialize(node(value), Dumper=_GoYamlDumper, allow_unicode=True, width=80, indent=2)
