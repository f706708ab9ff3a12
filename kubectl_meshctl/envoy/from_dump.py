"""A config dump's route configurations read back into the Envoy route model, with what the model cannot say.

Why this module exists: tracing a request through a *real* proxy's routes must use the same matcher
(:mod:`.matching`) as tracing the prediction, so the dump's ``envoy.config.route.v3.RouteConfiguration``
JSON is turned into :mod:`.route_model` objects.  The model covers what istiod emits for gateway
routes and the request conditions Envoy decides from the request alone (``path_separated_prefix``,
``suffix``/``contains``/``ignore_case`` string matchers, range matchers, ``grpc``); everything else a
dump may hold (runtime fractions, TLS context, dynamic metadata, ``present_match: false`` ...) is
*not guessed*: the route keeps the conditions the model does cover, and the
condition it cannot judge is listed in :attr:`DumpedRoute.not_modelled`.  Dropping a condition only
widens what a route accepts, so a route that fails a modelled condition surely fails; one that
passes them all cannot be decided, and a trace must say so.

Input: the raw ``route_config`` objects :func:`kubectl_meshctl.routes.dump.load_route_dump` keeps
(``RouteDump.raw``: the dump already decoded, its size, depth and the table's fields checked).  Both
spellings of a field are read (proto ``virtual_hosts`` and JSON ``virtualHosts``, the proto one
winning).  A field of the wrong JSON type raises :class:`DumpShapeError`.  Pure: no I/O.

Not in a dump: the VirtualService *rule index* (istiod writes the VirtualService into the route's
``metadata.filter_metadata.istio.config`` and the rule's name -- ``rule`` or ``rule.match`` -- into
its ``name``, never the index), so a dumped route's :class:`~.route_model.RouteSource` has
``rule_index`` :data:`UNKNOWN_RULE`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ..records import record
from .route_model import (
    HeaderMatcher,
    PathSpec,
    QueryMatcher,
    Route,
    RouteAction,
    RouteConfiguration,
    RouteMatch,
    RouteSource,
    ValueMatcher,
    VirtualHost,
)

UNKNOWN_RULE: Final = -1
"""``RouteSource.rule_index`` of a route read from a dump (dumps do not carry it)."""

_VS_CONFIG = re.compile(r"^/apis/networking\.istio\.io/[^/]+/namespaces/([^/]+)/virtual-service/([^/]+)$")

_PATH_KEYS: Final = (
    ("prefix", "prefix"),
    ("path", "path"),
    ("safe_regex", "safeRegex"),
    ("path_separated_prefix", "pathSeparatedPrefix"),
)
_UNMODELLED_PATH_KEYS: Final = (
    ("path_match_policy", "pathMatchPolicy"),
    ("connect_matcher", "connectMatcher"),
)
RUNTIME_FRACTION: Final = "runtime_fraction"
"""How a route's runtime fraction is listed in :attr:`DumpedRoute.not_modelled` (a route test decides it:
:attr:`DumpedRoute.runtime`)."""
_UNMODELLED_MATCH_KEYS: Final = (
    (RUNTIME_FRACTION, "runtimeFraction"),
    ("tls_context", "tlsContext"),
    ("dynamic_metadata", "dynamicMetadata"),
    ("filter_state", "filterState"),
)
_LEGACY_HEADER_KEYS: Final = (
    ("exact_match", "exactMatch", "exact"),
    ("prefix_match", "prefixMatch", "prefix"),
    ("suffix_match", "suffixMatch", "suffix"),
    ("contains_match", "containsMatch", "contains"),
    ("safe_regex_match", "safeRegexMatch", "safe_regex"),
)
_UNMODELLED_ACTIONS: Final = (
    ("filter_action", "filterAction"),
    ("non_forwarding_action", "nonForwardingAction"),
)


class DumpShapeError(ValueError):
    """A route field of the wrong JSON type; the message says where."""


@record
class DumpedRoute:
    """What a dump says about one route beyond the model."""

    virtual_service: tuple[str, str] | None
    """(namespace, name) from ``metadata.filter_metadata.istio.config``; ``None`` when absent."""
    not_modelled: tuple[str, ...] = ()
    """Match conditions the model cannot judge (left out of the route's match): ``path_separated_prefix /a`` ..."""
    action_not_modelled: str = ""
    """Set when the action is one the model cannot describe (``cluster_header``, ``filter_action`` ...)."""
    redirect: Mapping[str, Any] | None = None
    direct_response: Mapping[str, Any] | None = None
    runtime: RuntimeFraction | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The route's JSON (its action, header mutations ... for :mod:`.finalize`)."""


@record
class RuntimeFraction:
    """``match.runtime_fraction``: the route is enabled for ``numerator`` in ``denominator`` of requests, unless the
    runtime key says otherwise."""

    key: str
    numerator: int
    denominator: int


@dataclass(slots=True)
class DumpedRouteConfiguration:
    configuration: RouteConfiguration
    details: dict[int, DumpedRoute] = field(default_factory=dict)
    """``id(route)`` -> what the dump says beyond the model."""
    require_tls: dict[int, str] = field(default_factory=dict)
    """``id(virtual host)`` -> its ``require_tls`` (``ALL``/``EXTERNAL_ONLY``) when set."""
    raw: Mapping[str, Any] = field(default_factory=dict)
    """The route configuration's JSON."""
    raw_virtual_hosts: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    """``id(virtual host)`` -> its JSON (virtual clusters, header mutations)."""

    def detail(self, route: Route) -> DumpedRoute:
        return self.details[id(route)]


def _get(obj: Mapping[str, Any], proto: str, camel: str) -> Any:
    value = obj.get(proto)
    return obj.get(camel) if value is None else value


def _expect(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    kinds = _as_tuple(kind)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = "/".join(k.__name__ for k in kinds)
        raise DumpShapeError(f"{where}: expected {names}, got {type(value).__name__}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _str(obj: Mapping[str, Any], proto: str, camel: str, where: str) -> str:
    value = _get(obj, proto, camel)
    return "" if value is None else str(_expect(value, str, f"{where}.{proto}"))


def _bool(obj: Mapping[str, Any], proto: str, camel: str, where: str) -> bool | None:
    value = _get(obj, proto, camel)
    if isinstance(value, Mapping):  # google.protobuf.BoolValue written as a message
        value = value.get("value", False)
    return None if value is None else bool(_expect(value, bool, f"{where}.{proto}"))


def _list(obj: Mapping[str, Any], proto: str, camel: str, where: str) -> list[Any]:
    value = _get(obj, proto, camel)
    return [] if value is None else list(_expect(value, list, f"{where}.{proto}"))


def _dict(value: Any, where: str) -> Mapping[str, Any]:
    return _expect(value, dict, where)  # type: ignore[no-any-return]


def _string_matcher(sm: Mapping[str, Any], where: str) -> tuple[ValueMatcher | None, str]:
    """A ``StringMatcher`` as the model's ValueMatcher, or (None, what the model lacks)."""
    ignore_case = bool(_bool(sm, "ignore_case", "ignoreCase", where))
    for key in ("exact", "prefix", "suffix", "contains"):
        value = sm.get(key)
        if value is not None:
            return ValueMatcher(key, _expect(value, str, f"{where}.{key}"), ignore_case=ignore_case), ""
    regex = _get(sm, "safe_regex", "safeRegex")
    if regex is not None:
        pattern = _dict(regex, f"{where}.safe_regex").get("regex")
        return ValueMatcher("regex", _expect(pattern if pattern is not None else "", str, f"{where}.safe_regex.regex")), ""
    return None, "a string matcher of an unknown kind"


def _int64(value: Any, where: str) -> int:
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,19}", value):
        return int(value)  # protobuf JSON writes int64 as a string
    return int(_expect(value, int, where))


def _header(h: Mapping[str, Any], where: str) -> tuple[HeaderMatcher | None, str]:
    name = _str(h, "name", "name", where).lower()
    invert = bool(_bool(h, "invert_match", "invertMatch", where))
    missing_empty = bool(_bool(h, "treat_missing_header_as_empty", "treatMissingHeaderAsEmpty", where))
    label = f"header {name}{' (inverted)' if invert else ''}"
    present = _bool(h, "present_match", "presentMatch", where)
    matcher: ValueMatcher | None
    if present is not None:
        if not present:
            return None, f"{label}: present_match false"
        matcher, lacking = ValueMatcher("present"), ""
    elif _get(h, "string_match", "stringMatch") is not None:
        matcher, lacking = _string_matcher(_dict(_get(h, "string_match", "stringMatch"), f"{where}.string_match"), where)
    elif _get(h, "range_match", "rangeMatch") is not None:
        bounds = _dict(_get(h, "range_match", "rangeMatch"), f"{where}.range_match")
        start = _int64(bounds.get("start", 0), f"{where}.range_match.start")
        end = _int64(bounds.get("end", 0), f"{where}.range_match.end")
        matcher, lacking = ValueMatcher("range", bounds=(start, end)), ""
    else:
        legacy = next(
            ((proto, camel, kind) for proto, camel, kind in _LEGACY_HEADER_KEYS if _get(h, proto, camel) is not None), None
        )
        if legacy is None:  # no specifier at all: Envoy matches on presence
            return HeaderMatcher(name, ValueMatcher("present"), invert=invert, treat_missing_as_empty=missing_empty), ""
        proto, camel, kind = legacy
        value = _get(h, proto, camel)
        spec: dict[str, Any] = {kind: value}
        matcher, lacking = _string_matcher(spec, f"{where}.{proto}")
    if matcher is None:
        return None, f"{label}: {lacking}"
    return HeaderMatcher(name, matcher, invert=invert, treat_missing_as_empty=missing_empty), ""


def header_matcher(h: Mapping[str, Any], where: str) -> tuple[HeaderMatcher | None, str]:
    """An ``envoy.config.route.v3.HeaderMatcher`` JSON object as the model's, or (None, what the model lacks)."""
    return _header(h, where)


def _query(q: Mapping[str, Any], where: str) -> tuple[QueryMatcher | None, str]:
    name = _str(q, "name", "name", where)
    if _bool(q, "present_match", "presentMatch", where):
        return QueryMatcher(name, ValueMatcher("present")), ""
    sm = _get(q, "string_match", "stringMatch")
    if sm is None:
        return None, f"query {name}: no match specifier"
    matcher, lacking = _string_matcher(_dict(sm, f"{where}.string_match"), where)
    return (QueryMatcher(name, matcher), "") if matcher is not None else (None, f"query {name}: {lacking}")


def _match(m: Mapping[str, Any], where: str) -> tuple[RouteMatch, list[str]]:
    lacking: list[str] = []
    path: PathSpec | None = None
    case = _bool(m, "case_sensitive", "caseSensitive", where)
    for proto, camel in _PATH_KEYS:
        value = _get(m, proto, camel)
        if value is None:
            continue
        if proto == "safe_regex":
            regex = _dict(value, f"{where}.safe_regex").get("regex")
            path = PathSpec("regex", _expect(regex if regex is not None else "", str, f"{where}.safe_regex.regex"), case)
        else:
            path = PathSpec(proto, _expect(value, str, f"{where}.{proto}"), case)  # type: ignore[arg-type]
        break
    if path is None:
        for proto, camel in _UNMODELLED_PATH_KEYS:
            value = _get(m, proto, camel)
            if value is not None:
                lacking.append(f"{proto} {value}" if isinstance(value, str) else proto)
                break
        else:
            lacking.append("a route match without a path specifier")
        path = PathSpec("prefix", "")  # accepts every path: the condition itself is listed as not modelled
    headers: list[HeaderMatcher] = []
    for i, h in enumerate(_list(m, "headers", "headers", where)):
        hm, why = _header(_dict(h, f"{where}.headers[{i}]"), f"{where}.headers[{i}]")
        if hm is None:
            lacking.append(why)
        else:
            headers.append(hm)
    query: list[QueryMatcher] = []
    for i, q in enumerate(_list(m, "query_parameters", "queryParameters", where)):
        qm, why = _query(_dict(q, f"{where}.query_parameters[{i}]"), f"{where}.query_parameters[{i}]")
        if qm is None:
            lacking.append(why)
        else:
            query.append(qm)
    lacking.extend(proto for proto, camel in _UNMODELLED_MATCH_KEYS if _get(m, proto, camel) is not None)
    return RouteMatch(path, tuple(headers), tuple(query), grpc=m.get("grpc") is not None), lacking


_DENOMINATORS: Final = {"HUNDRED": 100, "TEN_THOUSAND": 10_000, "MILLION": 1_000_000, 0: 100, 1: 10_000, 2: 1_000_000}


def _runtime_fraction(m: Mapping[str, Any], where: str) -> RuntimeFraction | None:
    fraction = _get(m, "runtime_fraction", "runtimeFraction")
    if fraction is None:
        return None
    fraction = _dict(fraction, f"{where}.runtime_fraction")
    default = _dict(_get(fraction, "default_value", "defaultValue") or {}, f"{where}.runtime_fraction.default_value")
    numerator = _weight(default.get("numerator"), f"{where}.runtime_fraction.default_value.numerator")
    denominator = _DENOMINATORS.get(default.get("denominator", "HUNDRED"))
    if denominator is None:
        raise DumpShapeError(f"{where}.runtime_fraction.default_value.denominator: not HUNDRED, TEN_THOUSAND or MILLION")
    return RuntimeFraction(_str(fraction, "runtime_key", "runtimeKey", where), numerator, denominator)


def _weight(value: Any, where: str) -> int:
    if isinstance(value, Mapping):  # UInt32Value written as a message
        value = value.get("value", 0)
    if value is None:
        return 0
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return int(_expect(value, int, where))


def _action(r: Mapping[str, Any], where: str) -> tuple[RouteAction, str, Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """(action, what the model lacks, redirect, direct_response)."""
    redirect = r.get("redirect")
    if redirect is not None:
        return RouteAction("redirect"), "", _dict(redirect, f"{where}.redirect"), None
    direct = _get(r, "direct_response", "directResponse")
    if direct is not None:
        return RouteAction("direct_response"), "", None, _dict(direct, f"{where}.direct_response")
    action = r.get("route")
    if action is None:
        kind = next((proto for proto, camel in _UNMODELLED_ACTIONS if _get(r, proto, camel) is not None), "no action")
        return RouteAction("route"), kind, None, None
    action = _dict(action, f"{where}.route")
    timeout = _get(action, "timeout", "timeout")
    timeout_text = timeout if isinstance(timeout, str) else "0s"
    cluster = action.get("cluster")
    if cluster is not None:
        return RouteAction("route", ((_expect(cluster, str, f"{where}.route.cluster"), 0),), timeout_text), "", None, None
    weighted = _get(action, "weighted_clusters", "weightedClusters")
    if weighted is not None:
        clusters = []
        entries = _list(_dict(weighted, f"{where}.route.weighted_clusters"), "clusters", "clusters", where)
        for i, c in enumerate(entries):
            c = _dict(c, f"{where}.route.weighted_clusters.clusters[{i}]")
            name = _str(c, "name", "name", f"{where}.route.weighted_clusters.clusters[{i}]")
            clusters.append((name, _weight(c.get("weight"), f"{where}.route.weighted_clusters.clusters[{i}].weight")))
        return RouteAction("route", tuple(clusters), timeout_text, weighted=True), "", None, None
    kind = next(
        (
            k
            for k in ("cluster_header", "clusterHeader", "cluster_specifier_plugin", "inline_cluster_specifier_plugin")
            if k in action
        ),
        "",
    )
    return RouteAction("route", (), timeout_text), kind or "a route action without a cluster", None, None


def _virtual_service(r: Mapping[str, Any], where: str) -> tuple[str, str] | None:
    metadata = r.get("metadata")
    if metadata is None:
        return None
    fm = _get(_dict(metadata, f"{where}.metadata"), "filter_metadata", "filterMetadata")
    if not isinstance(fm, Mapping):
        return None
    istio = fm.get("istio")
    config = istio.get("config") if isinstance(istio, Mapping) else None
    found = _VS_CONFIG.match(config) if isinstance(config, str) else None
    return None if found is None else (found.group(1), found.group(2))


def dumped_route_configuration(rc: Mapping[str, Any]) -> DumpedRouteConfiguration:
    """One ``RouteConfiguration`` JSON object as the model (see the module docstring)."""
    name = _str(rc, "name", "name", "route_config")
    out = DumpedRouteConfiguration(RouteConfiguration(name), raw=rc)
    for j, vh in enumerate(_list(rc, "virtual_hosts", "virtualHosts", name)):
        vwhere = f"{name}.virtual_hosts[{j}]"
        vh = _dict(vh, vwhere)
        domains = [_expect(d, str, f"{vwhere}.domains") for d in _list(vh, "domains", "domains", vwhere)]
        require_tls = _get(vh, "require_tls", "requireTls")
        vhost = VirtualHost(_str(vh, "name", "name", vwhere), domains, require_tls=require_tls in ("ALL", "EXTERNAL_ONLY", 1, 2))
        if vhost.require_tls:
            out.require_tls[id(vhost)] = str({1: "EXTERNAL_ONLY", 2: "ALL"}.get(require_tls, require_tls))
        out.raw_virtual_hosts[id(vhost)] = vh
        for k, r in enumerate(_list(vh, "routes", "routes", vwhere)):
            where = f"{vwhere}.routes[{k}]"
            r = _dict(r, where)
            raw_match = _dict(r.get("match") or {}, f"{where}.match")
            match, lacking = _match(raw_match, f"{where}.match")
            action, action_lacking, redirect, direct = _action(r, where)
            vs = _virtual_service(r, where)
            route_name = _str(r, "name", "name", where)
            source = RouteSource(vs[0] if vs else "", vs[1] if vs else "", UNKNOWN_RULE, route_name)
            route = Route(match, source, "", action, name=route_name)
            vhost.routes.append(route)
            runtime = _runtime_fraction(raw_match, f"{where}.match")
            out.details[id(route)] = DumpedRoute(vs, tuple(lacking), action_lacking, redirect, direct, runtime, r)
        out.configuration.virtual_hosts.append(vhost)
    return out


def dumped_route_configurations(raw: Sequence[Mapping[str, Any]]) -> list[DumpedRouteConfiguration]:
    """Every route configuration of a decoded dump (``RouteDump.raw``), in the dump's order."""
    return [dumped_route_configuration(rc) for rc in raw]
