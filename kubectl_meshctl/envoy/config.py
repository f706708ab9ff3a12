"""Predicted route configurations as the Envoy proto-JSON istiod would push to an ingress gateway.

Why this module exists: :mod:`~kubectl_meshctl.istio.translation` models istiod with plain dataclasses,
which is what the routes table and the reachability analysis need.  Turning them into
``envoy.config.route.v3.RouteConfiguration`` JSON lets a *real* Envoy judge the model: Envoy either
accepts the configuration or rejects it, and then routes requests by its own rules -- the oracle
``tests/test_envoy_oracle.py`` uses to confirm the analysis verdicts.  The output also has the
shape of ``istioctl proxy-config routes -o json`` / a config dump, so it can be fed to anything
that reads those.  Pure: no I/O.

Field names are snake_case, as in Envoy config dumps and the ``istioctl`` goldens (Envoy's JSON
parser accepts both spellings).  Fields follow spec/translation.md §5-§9 for istiod 1.24+:
``v1`` metadata paths, the default retry policy without ``retriable_status_codes``,
``max_direct_response_body_size_bytes`` and ``ignore_port_in_host_matching``.  Empty repeated
fields are omitted, as protobuf JSON does.

What the translation model does not carry yet, so is emitted as a minimal stand-in:

* ``redirect`` rules: ``redirect: {}`` (Envoy answers 301 to the same URL; istiod would fill in
  ``host_redirect``/``path_redirect``/``response_code``... from the VirtualService);
* ``direct_response`` rules: ``direct_response: {status: 200}`` (istiod uses the rule's status
  and body);
* ``retries``, header operations, rewrites, mirrors, fault and CORS policies: every routed rule gets
  istiod's default retry policy and nothing else;
* ``delegate`` actions never reach Envoy (istiod merges the delegate's rules): a
  :class:`ValueError` is raised for one.
"""

from __future__ import annotations

from typing import Any

from ..gocompat.duration import duration_nanos
from .route_model import HeaderMatcher, PathSpec, Route, RouteAction, RouteConfiguration, RouteMatch, ValueMatcher, VirtualHost

JSON = dict[str, Any]

MAX_DIRECT_RESPONSE_BODY_SIZE_BYTES = 1048576
ISTIO_CONFIG_PATH = "/apis/networking.istio.io/v1/namespaces/{namespace}/virtual-service/{name}"
DEFAULT_RETRY_ON = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
STATIC_BACKEND_ROUTES = (("/stats/prometheus", "prometheus_stats"), ("/healthz/ready", "agent"))
"""The bootstrap's two nameless route configurations (ports 15090 and 15021): (prefix, cluster)."""


def default_retry_policy() -> JSON:
    """istiod's default ``retry_policy`` (1.24+: no ``retriable_status_codes``)."""
    return {
        "retry_on": DEFAULT_RETRY_ON,
        "num_retries": 2,
        "retry_host_predicate": [
            {
                "name": "envoy.retry_host_predicates.previous_hosts",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
                },
            }
        ],
        "host_selection_retry_max_attempts": "5",
    }


# --------------------------------------------------------------------------- durations


def proto_duration(text: str) -> str:
    """A VirtualService duration (``10s``, ``1.5s``, ``500ms``, ``1m30s``) as protobuf JSON (``0.500s``).

    Raises :class:`ValueError` for text that is not a duration.
    """
    nanos = duration_nanos(text)
    seconds, rest = divmod(abs(nanos), 10**9)
    sign = "-" if nanos < 0 else ""
    if rest == 0:
        return f"{sign}{seconds}s"
    digits = f"{rest:09d}"
    if digits.endswith("000000"):
        digits = digits[:3]
    elif digits.endswith("000"):
        digits = digits[:6]
    return f"{sign}{seconds}.{digits}s"


# --------------------------------------------------------------------------- matches


def string_matcher_json(m: ValueMatcher) -> JSON:
    """``envoy.type.matcher.v3.StringMatcher`` for an exact/prefix/suffix/contains/regex matcher (``ignore_case``
    written only when set, so istiod's matchers keep their exact shape)."""
    if m.kind == "regex":
        return {"safe_regex": {"regex": m.value}}
    if m.kind in ("exact", "prefix", "suffix", "contains"):
        out: JSON = {m.kind: m.value}
        if m.ignore_case:
            out["ignore_case"] = True
        return out
    raise ValueError(f"a {m.kind!r} matcher is not a string matcher")


def path_specifier_json(path: PathSpec) -> JSON:
    """``prefix``/``path``/``path_separated_prefix``: the value; ``regex``: ``safe_regex``."""
    if path.kind == "regex":
        return {"safe_regex": {"regex": path.value}}
    return {path.kind: path.value}


def _header_matcher_json(h: HeaderMatcher) -> JSON:
    header: JSON = {"name": h.name}
    if h.matcher.kind == "present":
        header["present_match"] = True
    elif h.matcher.kind == "range":
        # Int64Range; int64 as protobuf JSON writes it (a string; Envoy's parser takes numbers too)
        start, end = h.matcher.bounds
        header["range_match"] = {"start": str(start), "end": str(end)}
    else:
        header["string_match"] = string_matcher_json(h.matcher)
    if h.invert:
        header["invert_match"] = True
    if h.treat_missing_as_empty:
        header["treat_missing_header_as_empty"] = True
    return header


def route_match_json(match: RouteMatch) -> JSON:
    """``envoy.config.route.v3.RouteMatch``, fields in the proto's order (as config dumps print them): the path
    specifier, ``case_sensitive``, ``headers``, ``query_parameters``, ``grpc``."""
    out = path_specifier_json(match.path)
    if match.path.case_sensitive is not None:
        out["case_sensitive"] = match.path.case_sensitive
    if match.headers:
        out["headers"] = [_header_matcher_json(h) for h in match.headers]
    if match.query:
        out["query_parameters"] = [
            {"name": q.name, "present_match": True}
            if q.matcher.kind == "present"
            else {"name": q.name, "string_match": string_matcher_json(q.matcher)}
            for q in match.query
        ]
    if match.grpc:
        out["grpc"] = {}
    return out


# --------------------------------------------------------------------------- routes


def _operation_path(path: PathSpec) -> str:
    return path.value + "*" if path.kind == "prefix" else path.value


def _cluster_host_port(cluster: str) -> tuple[str, str] | None:
    """``outbound|9000||bk.default.svc.cluster.local`` -> (host, port); ``None`` for other names."""
    parts = cluster.split("|")
    if len(parts) != 4 or parts[0] not in ("inbound", "outbound") or not parts[1].isdigit():
        return None
    return parts[3], parts[1]


def decorator_operation(route: Route, gateway_port: int) -> str:
    """istiod's ``getRouteOperation``: ``host:port<path>`` for one cluster, else ``vsName:gatewayPort<path>``."""
    path = _operation_path(route.match.path)
    action = route.action
    if action.kind == "route" and not action.weighted and len(action.clusters) == 1:
        parsed = _cluster_host_port(action.clusters[0][0])
        if parsed is not None:
            return f"{parsed[0]}:{parsed[1]}{path}"
    return f"{route.source.name}:{gateway_port}{path}"


def route_action_json(action: RouteAction) -> JSON:
    timeout = proto_duration(action.timeout or "0s")
    out: JSON = {}
    if not action.weighted and len(action.clusters) == 1:
        out["cluster"] = action.clusters[0][0]
    else:
        out["weighted_clusters"] = {"clusters": [{"name": name, "weight": weight} for name, weight in action.clusters]}
    out["timeout"] = timeout
    out["retry_policy"] = default_retry_policy()
    out["max_grpc_timeout"] = timeout
    return out


def route_json(route: Route, gateway_port: int) -> JSON:
    """One Envoy route; ``gateway_port`` is the Gateway port the route was built for (decorator)."""
    out: JSON = {"match": route_match_json(route.match)}
    kind = route.action.kind
    if kind == "route":
        out["route"] = route_action_json(route.action)
    elif kind == "redirect":
        out["redirect"] = {}
    elif kind == "direct_response":
        out["direct_response"] = {"status": 200}
    else:
        raise ValueError(f"a {kind} action never reaches Envoy (istiod merges delegate rules)")
    source = route.source
    out["metadata"] = {
        "filter_metadata": {"istio": {"config": ISTIO_CONFIG_PATH.format(namespace=source.namespace, name=source.name)}}
    }
    out["decorator"] = {"operation": decorator_operation(route, gateway_port)}
    if route.name:
        out["name"] = route.name
    return out


def _vhost_port(vh: VirtualHost) -> int:
    """The Gateway port a vhost was created for: the number after the last ``:`` of its name."""
    _, _, port = vh.name.rpartition(":")
    return int(port) if port.isdigit() else 0


def virtual_host_json(vh: VirtualHost) -> JSON:
    out: JSON = {"name": vh.name, "domains": list(vh.domains)}
    port = _vhost_port(vh)
    if vh.routes:
        out["routes"] = [route_json(r, port) for r in vh.routes]
    if vh.require_tls:
        out["require_tls"] = "ALL"
    if vh.include_request_attempt_count:
        out["include_request_attempt_count"] = True
    return out


def route_configuration_json(rc: RouteConfiguration) -> JSON:
    """The ``envoy.config.route.v3.RouteConfiguration`` istiod sends for ``rc`` (without ``@type``).

    Faithful also where Envoy will refuse it (an invalid RE2 regex, a rule whose destinations all have weight 0
    giving empty ``weighted_clusters``): istiod would push the same and Envoy would reject the update.  Raises
    :class:`ValueError` for a VirtualService ``timeout`` that is not a duration (the webhook refuses those).
    """
    return {
        "name": rc.name,
        "virtual_hosts": [virtual_host_json(vh) for vh in rc.virtual_hosts],
        "validate_clusters": False,
        "max_direct_response_body_size_bytes": MAX_DIRECT_RESPONSE_BODY_SIZE_BYTES,
        "ignore_port_in_host_matching": True,
    }


def static_backend_route_configs() -> list[JSON]:
    """The two nameless ``backend`` route configurations of Istio's bootstrap (spec §9), prometheus first."""
    return [
        {
            "virtual_hosts": [
                {"name": "backend", "domains": ["*"], "routes": [{"match": {"prefix": prefix}, "route": {"cluster": cluster}}]}
            ]
        }
        for prefix, cluster in STATIC_BACKEND_ROUTES
    ]
