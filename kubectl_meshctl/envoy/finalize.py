"""What Envoy does with a request once a route took it: the cluster, the rewritten path and host, the redirect,
the direct response, and the headers it adds and removes.

Why this module exists: route tests (Envoy's ``router_check_tool`` files, :mod:`kubectl_meshctl.routetests`) check
more than *which* route matches -- the cluster a weighted route picks for a random value, the URL a redirect
sends, the ``:path`` after ``prefix_rewrite``, the virtual cluster, the response headers of a direct response.
This is the one place those semantics live; matching stays in :mod:`.matching`.  The input is the JSON the
route came from (:class:`~.from_dump.DumpedRouteConfiguration` keeps it).

Modelled (``RouteEntryImplBase``/``DirectResponseEntry`` in Envoy's ``router/config_impl.cc``):

* ``require_tls`` on the virtual host: ``ALL`` redirects every request whose ``x-forwarded-proto`` is not
  ``https``; ``EXTERNAL_ONLY`` only those without ``x-envoy-internal: true`` -- to ``https://`` the same host and
  path, 301;
* clusters: ``cluster``, ``cluster_header`` (the header's value, ``""`` when absent), ``weighted_clusters``
  walked by ``random_value % total weight`` (runtime weight overrides are not set in a test, so the defaults);
* redirects: scheme (``scheme_redirect``, ``https_redirect``, else the request's ``x-forwarded-proto``), host
  (``host_redirect``, ``port_redirect``), path (``path_redirect`` keeping the query unless it has its own,
  ``prefix_rewrite``, ``regex_rewrite``, ``strip_query``), and the code (301 unless ``response_code``);
* direct responses: the status, a body's ``content-type: text/plain`` and ``content-length``, set before the
  route's response headers as ``router_check_tool`` does (Envoy itself adds the route's headers first and sets
  ``text/plain`` only when no content-type is there: an *appended* content-type differs, nothing else);
* rewrites of a route entry: ``prefix_rewrite`` (the matched prefix; the whole path for ``path`` and regex
  routes), ``regex_rewrite``, ``host_rewrite_literal``, ``host_rewrite_header``; the query string is kept;
* header mutations, route then virtual host then route configuration (reversed with
  ``most_specific_header_mutations_wins``), each level's removals before its additions, ``append_action`` and
  the older ``append``, ``keep_empty_value``;
* virtual clusters: the first whose header matchers all hold, ``other`` when none does;
* the timeout: the route's, else 15 s.

Not modelled, and said so (:attr:`Outcome.not_modelled`): header values with substitution formatters other
than ``%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%`` (router_check_tool's downstream address is ``127.0.0.1``), a
regex the model cannot trust, ``auto_host_rewrite``/``host_rewrite_path_regex`` (they depend on the upstream),
cluster specifier plugins, a body read from a file, ``path_rewrite_policy`` extensions.  Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ..records import record
from .from_dump import header_matcher
from .matching import Header, compile_re2, header_matches
from .route_model import HeaderMatcher, PathSpec, Route, VirtualHost

DEFAULT_TIMEOUT_MS: Final = 15_000
DOWNSTREAM_ADDRESS: Final = "127.0.0.1"
"""The downstream address ``router_check_tool`` gives every request (its ``TestRoutes`` case asserts it)."""

_REDIRECT_CODES: Final = {
    "MOVED_PERMANENTLY": 301,
    "FOUND": 302,
    "SEE_OTHER": 303,
    "TEMPORARY_REDIRECT": 307,
    "PERMANENT_REDIRECT": 308,
    0: 301,
    1: 302,
    2: 303,
    3: 307,
    4: 308,
}
_FORMATTER = re.compile(r"%([A-Z_0-9]+(?:\([^)]*\))?(?::[0-9]+)?)%")

OutcomeKind = Literal["route", "redirect", "direct_response", "tls_redirect"]


class FinalizeError(ValueError):
    """A route's action JSON of the wrong shape; the message says where."""


@record
class Outcome:
    """What Envoy does with the request, in the fields router_check_tool compares."""

    kind: OutcomeKind
    cluster: str = ""
    virtual_cluster: str = ""
    virtual_host: str = ""
    path: str = ""
    """``:path`` after the route's rewrites (a route entry only)."""
    host: str = ""
    """``:authority`` after the route's rewrites (a route entry only)."""
    redirect_url: str = ""
    """Redirects and direct responses: ``scheme://host/path`` the response points at."""
    status: int = 0
    timeout_ms: int | None = None
    request_headers: tuple[Header, ...] = ()
    response_headers: tuple[Header, ...] = ()
    not_modelled: tuple[str, ...] = ()
    uncertain_headers: frozenset[str] = field(default_factory=frozenset)
    """Lower-case names of headers whose value the model could not compute (a check on them is not decided)."""


@record
class RequestFacts:
    """The request as router_check_tool builds it."""

    headers: tuple[Header, ...]
    """Every request header in order, pseudo-headers included (lower-case names)."""
    random_value: int = 0


# --------------------------------------------------------------------------- small helpers


def _get(obj: Mapping[str, Any], proto: str, camel: str) -> Any:
    value = obj.get(proto)
    return obj.get(camel) if value is None else value


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FinalizeError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FinalizeError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FinalizeError(f"{where}: expected a string, got {type(value).__name__}")
    return value


def _uint(value: Any, where: str) -> int:
    if isinstance(value, Mapping):
        value = value.get("value", 0)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FinalizeError(f"{where}: expected a non-negative integer")
    return value


def duration_ms(value: Any, where: str) -> int:
    """A ``google.protobuf.Duration`` (``"1.5s"`` or ``{seconds, nanos}``) in milliseconds."""
    if isinstance(value, str):
        found = re.fullmatch(r"(-?[0-9]+)(?:\.([0-9]{1,9}))?s", value)
        if found is None:
            raise FinalizeError(f"{where}: not a duration: {value!r}")
        fraction = (found.group(2) or "").ljust(9, "0")
        return int(found.group(1)) * 1000 + int(fraction) // 1_000_000
    obj = _mapping(value, where)
    return _uint(obj.get("seconds", 0), f"{where}.seconds") * 1000 + _uint(obj.get("nanos", 0), f"{where}.nanos") // 1_000_000


def get_all(headers: Sequence[Header], name: str) -> str | None:
    """``HeaderUtility::getAllOfHeaderAsString``: every value of ``name`` joined with ``,``; ``None`` when absent."""
    values = [v for k, v in headers if k == name]
    return ",".join(values) if values else None


def headers_match(matcher: HeaderMatcher, headers: Sequence[Header]) -> bool:
    values = tuple(v for k, v in headers if k == matcher.name.lower())
    joined = ",".join(values) if values else None
    return header_matches(matcher, joined, values=values if len(values) > 1 else ())


# --------------------------------------------------------------------------- header mutations


@dataclass(slots=True)
class _Headers:
    entries: list[Header]
    uncertain: set[str] = field(default_factory=set)
    not_modelled: list[str] = field(default_factory=list)

    def remove(self, name: str) -> None:
        self.entries = [h for h in self.entries if h.name != name]

    def _append(self, name: str, value: str) -> None:
        # One entry holding both values, joined with "," (how header matchers then read it: router_check's
        # DirectResponse case expects "text/plain,application/json").
        for i in range(len(self.entries) - 1, -1, -1):
            if self.entries[i].name == name:
                self.entries[i] = Header(name, f"{self.entries[i].value},{value}")
                return
        self.entries.append(Header(name, value))

    def apply(self, spec: Mapping[str, Any], *, to_add: str, to_remove: str, where: str) -> None:
        for name in _list(_get(spec, to_remove, _camel(to_remove)), f"{where}.{to_remove}"):
            self.remove(_text(name, f"{where}.{to_remove}").lower())
        for i, option in enumerate(_list(_get(spec, to_add, _camel(to_add)), f"{where}.{to_add}")):
            self._add(_mapping(option, f"{where}.{to_add}[{i}]"), f"{where}.{to_add}[{i}]")

    def _add(self, option: Mapping[str, Any], where: str) -> None:
        header = _mapping(option.get("header"), f"{where}.header")
        name = _text(header.get("key"), f"{where}.header.key").lower()
        value, known = _substitute(_text(header.get("value"), f"{where}.header.value"))
        if not known:
            self.uncertain.add(name)
        if value == "" and not option.get("keep_empty_value", option.get("keepEmptyValue", False)):
            return
        action = _get(option, "append_action", "appendAction")
        if action is None:
            append = option.get("append")
            if isinstance(append, Mapping):
                append = append.get("value", True)
            action = "APPEND_IF_EXISTS_OR_ADD" if append is None or append else "OVERWRITE_IF_EXISTS_OR_ADD"
        action = {
            0: "APPEND_IF_EXISTS_OR_ADD",
            1: "ADD_IF_ABSENT",
            2: "OVERWRITE_IF_EXISTS_OR_ADD",
            3: "OVERWRITE_IF_EXISTS",
        }.get(action, action)
        present = any(h.name == name for h in self.entries)
        if action == "APPEND_IF_EXISTS_OR_ADD":
            self._append(name, value)
        elif action == "ADD_IF_ABSENT":
            if not present:
                self.entries.append(Header(name, value))
        elif action in ("OVERWRITE_IF_EXISTS_OR_ADD", "OVERWRITE_IF_EXISTS"):
            if present or action == "OVERWRITE_IF_EXISTS_OR_ADD":
                self.remove(name)
                self.entries.append(Header(name, value))
        else:
            raise FinalizeError(f"{where}.append_action: unknown action {action!r}")


def _camel(proto: str) -> str:
    head, *rest = proto.split("_")
    return head + "".join(p.title() for p in rest)


def _substitute(value: str) -> tuple[str, bool]:
    """The header value with Envoy's ``%...%`` formatters substituted; ``False`` when one is not modelled."""
    known = True

    def one(found: re.Match[str]) -> str:
        nonlocal known
        if found.group(1) == "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":
            return DOWNSTREAM_ADDRESS
        known = False
        return found.group(0)

    out = _FORMATTER.sub(one, value.replace("%%", "\0"))
    return out.replace("\0", "%"), known


def _mutation_levels(
    route: Mapping[str, Any], vhost: Mapping[str, Any], config: Mapping[str, Any]
) -> list[tuple[Mapping[str, Any], str]]:
    levels = [(route, "route"), (vhost, "virtual_host"), (config, "route_configuration")]
    if _get(config, "most_specific_header_mutations_wins", "mostSpecificHeaderMutationsWins"):
        levels.reverse()
    return levels


# --------------------------------------------------------------------------- paths and hosts


def _split_query(path: str) -> tuple[str, str]:
    at = path.find("?")
    return (path, "") if at < 0 else (path[:at], path[at:])


def _re2_substitution(template: str) -> str:
    # RE2 writes groups as \1 and a literal backslash as \\; Python's re.sub reads \g<1>.
    return re.sub(
        r"\\(\d|\\)", lambda m: "\\\\" if m.group(1) == "\\" else f"\\g<{m.group(1)}>", template.replace("\\g", "\\\\g")
    )


def _rewritten_path(
    spec: Mapping[str, Any], matched: PathSpec, path: str, *, where: str, drop_query: bool = False
) -> tuple[str, str]:
    """(the path after ``prefix_rewrite``/``regex_rewrite``, what the model could not do or "")."""
    base, query = _split_query(path)
    if drop_query:
        query = ""
    prefix = _get(spec, "prefix_rewrite", "prefixRewrite")
    regex = _get(spec, "regex_rewrite", "regexRewrite")
    if _get(spec, "path_rewrite_policy", "pathRewritePolicy") is not None:
        return path, "path_rewrite_policy"
    if prefix is not None:
        prefix = _text(prefix, f"{where}.prefix_rewrite")
        if matched.kind in ("prefix", "path_separated_prefix"):
            return prefix + base[len(matched.value) :] + query, ""
        return prefix + query, ""  # exact and regex routes: the whole path
    if regex is not None:
        regex = _mapping(regex, f"{where}.regex_rewrite")
        pattern = _text(_mapping(regex.get("pattern"), f"{where}.regex_rewrite.pattern").get("regex"), f"{where}.regex_rewrite")
        compiled = compile_re2(pattern)
        if compiled is None:
            return path, f"regex_rewrite {pattern}"
        substitution = _text(regex.get("substitution"), f"{where}.regex_rewrite.substitution")
        try:
            return compiled.sub(_re2_substitution(substitution), base) + query, ""
        except (re.error, IndexError):
            return path, f"regex_rewrite {pattern}"
    return base + query, ""


def _host_and_port(authority: str) -> tuple[str, str]:
    colon = authority.rfind(":")
    if colon != -1 and authority.rfind("]") < colon:
        return authority[:colon], authority[colon + 1 :]
    return authority, ""


# --------------------------------------------------------------------------- the outcome


def _virtual_cluster(vhost: Mapping[str, Any], headers: Sequence[Header], *, where: str) -> str:
    clusters = _list(_get(vhost, "virtual_clusters", "virtualClusters"), f"{where}.virtual_clusters")
    if not clusters:
        return ""
    for i, vc in enumerate(clusters):
        vc = _mapping(vc, f"{where}.virtual_clusters[{i}]")
        ok = True
        for j, h in enumerate(_list(vc.get("headers"), f"{where}.virtual_clusters[{i}].headers")):
            matcher, _lacking = header_matcher(_mapping(h, f"{where}.virtual_clusters[{i}].headers[{j}]"), where)
            if matcher is None or not headers_match(matcher, headers):
                ok = False
                break
        if ok:
            return _text(vc.get("name"), f"{where}.virtual_clusters[{i}].name")
    return "other"


def _pick_cluster(action: Mapping[str, Any], request: RequestFacts, *, where: str) -> tuple[str, str]:
    """(cluster name, what the model lacks)."""
    if "cluster" in action:
        return _text(action["cluster"], f"{where}.cluster"), ""
    header = _get(action, "cluster_header", "clusterHeader")
    if header is not None:
        return get_all(request.headers, _text(header, f"{where}.cluster_header").lower()) or "", ""
    weighted = _get(action, "weighted_clusters", "weightedClusters")
    if weighted is not None:
        entries = [
            _mapping(c, f"{where}.weighted_clusters.clusters[{i}]")
            for i, c in enumerate(_list(_mapping(weighted, where).get("clusters"), f"{where}.weighted_clusters.clusters"))
        ]
        weights = [_uint(c.get("weight"), f"{where}.weighted_clusters.clusters[{i}].weight") for i, c in enumerate(entries)]
        total = sum(weights)
        if total == 0:
            return "", ""
        point, upto = request.random_value % total, 0
        for entry, weight in zip(entries, weights, strict=True):
            upto += weight
            if point < upto:
                if _get(entry, "cluster_header", "clusterHeader"):
                    return "", "a weighted cluster_header"
                return _text(entry.get("name"), f"{where}.weighted_clusters.clusters.name"), ""
    for kind in ("cluster_specifier_plugin", "inline_cluster_specifier_plugin"):
        if _get(action, kind, _camel(kind)) is not None:
            return "", kind
    return "", "a route action without a cluster"


def _local_reply(
    kind: OutcomeKind,
    *,
    status: int,
    url: str,
    body: str | None,
    levels: list[tuple[Mapping[str, Any], str]],
    response: Sequence[Header],
    lacking: list[str],
) -> Outcome:
    headers = _Headers([Header(":status", str(status)), *response])
    if body:
        headers.entries += [Header("content-type", "text/plain"), Header("content-length", str(len(body.encode())))]
    for spec, where in levels:
        headers.apply(spec, to_add="response_headers_to_add", to_remove="response_headers_to_remove", where=where)
    return Outcome(
        kind,
        redirect_url=url,
        status=status,
        response_headers=tuple(headers.entries),
        not_modelled=tuple(lacking),
        uncertain_headers=frozenset(headers.uncertain),
    )


def _body(direct: Mapping[str, Any], where: str) -> tuple[str | None, str]:
    body = _mapping(direct.get("body"), f"{where}.body")
    if "inline_string" in body or "inlineString" in body:
        return _text(_get(body, "inline_string", "inlineString"), f"{where}.body.inline_string"), ""
    if "inline_bytes" in body or "inlineBytes" in body:
        try:
            return base64.b64decode(_text(_get(body, "inline_bytes", "inlineBytes"), where)).decode("latin-1"), ""
        except (binascii.Error, ValueError):
            raise FinalizeError(f"{where}.body.inline_bytes: not base64") from None
    if body:
        return None, "a direct response body read from a file"
    return "", ""


def finalize(
    route: Route | None,
    *,
    virtual_host: VirtualHost | None,
    raw_route: Mapping[str, Any],
    raw_virtual_host: Mapping[str, Any],
    raw_configuration: Mapping[str, Any],
    request: RequestFacts,
    response: Sequence[Header] = (),
) -> Outcome | None:
    """The outcome of the request (``None``: no virtual host or no route: a 404).

    ``route`` is the route :mod:`.matching` chose; ``request`` holds the headers it was matched on.
    """
    headers = request.headers
    proto = get_all(headers, "x-forwarded-proto") or "http"
    authority = get_all(headers, ":authority") or ""
    path = get_all(headers, ":path") or ""
    if virtual_host is not None:
        tls = _get(raw_virtual_host, "require_tls", "requireTls")
        tls = {1: "EXTERNAL_ONLY", 2: "ALL"}.get(tls, tls)
        internal = get_all(headers, "x-envoy-internal") == "true"
        if proto != "https" and (tls == "ALL" or (tls == "EXTERNAL_ONLY" and not internal)):
            return _local_reply(
                "tls_redirect", status=301, url=f"https://{authority}{path}", body="", levels=[], response=response, lacking=[]
            )
    if route is None or virtual_host is None:
        return None
    levels = _mutation_levels(raw_route, raw_virtual_host, raw_configuration)
    where = f"route {route.name or '(unnamed)'}"
    redirect = raw_route.get("redirect")
    if redirect is not None:
        return _redirect(
            _mapping(redirect, f"{where}.redirect"),
            route,
            proto=proto,
            authority=authority,
            path=path,
            levels=levels,
            response=response,
            where=f"{where}.redirect",
        )
    direct = _get(raw_route, "direct_response", "directResponse")
    if direct is not None:
        direct = _mapping(direct, f"{where}.direct_response")
        body, lacking = _body(direct, f"{where}.direct_response")
        return _local_reply(
            "direct_response",
            status=_uint(direct.get("status"), f"{where}.direct_response.status"),
            url=f"{proto}://{authority}{path}",
            body=body,
            levels=levels,
            response=response,
            lacking=[lacking] if lacking else [],
        )
    action = raw_route.get("route")
    if action is None:
        return Outcome("route", not_modelled=("a route without a route, redirect or direct_response action",))
    action = _mapping(action, f"{where}.route")
    return _route_entry(
        action,
        route,
        virtual_host,
        levels=levels,
        request=request,
        response=response,
        where=f"{where}.route",
        raw_virtual_host=raw_virtual_host,
    )


def _redirect(
    redirect: Mapping[str, Any],
    route: Route,
    *,
    proto: str,
    authority: str,
    path: str,
    levels: list[tuple[Mapping[str, Any], str]],
    response: Sequence[Header],
    where: str,
) -> Outcome:
    lacking: list[str] = []
    scheme = proto
    if _get(redirect, "https_redirect", "httpsRedirect"):
        scheme = "https"
    scheme = _text(_get(redirect, "scheme_redirect", "schemeRedirect"), f"{where}.scheme_redirect") or scheme
    host, port = _host_and_port(authority)
    new_host = _text(_get(redirect, "host_redirect", "hostRedirect"), f"{where}.host_redirect")
    if new_host:
        host, port = _host_and_port(new_host)
    port_redirect = _uint(_get(redirect, "port_redirect", "portRedirect"), f"{where}.port_redirect")
    if port_redirect:
        port = str(port_redirect)
    elif scheme != proto and port in ("80", "443"):
        port = ""  # the old scheme's port does not follow the new scheme
    strip = bool(_get(redirect, "strip_query", "stripQuery"))
    path_redirect = _get(redirect, "path_redirect", "pathRedirect")
    if path_redirect is not None:
        path_redirect = _text(path_redirect, f"{where}.path_redirect")
        new_path = path_redirect if "?" in path_redirect else path_redirect + ("" if strip else _split_query(path)[1])
    else:
        new_path, why = _rewritten_path(redirect, route.match.path, path, where=where, drop_query=strip)
        if why:
            lacking.append(why)
    code = _REDIRECT_CODES.get(_get(redirect, "response_code", "responseCode") or 0)
    if code is None:
        raise FinalizeError(f"{where}.response_code: unknown code")
    url = f"{scheme}://{host}{':' + port if port else ''}{new_path}"
    return _local_reply("redirect", status=code, url=url, body="", levels=levels, response=response, lacking=lacking)


def _route_entry(
    action: Mapping[str, Any],
    route: Route,
    virtual_host: VirtualHost,
    *,
    levels: list[tuple[Mapping[str, Any], str]],
    request: RequestFacts,
    response: Sequence[Header],
    where: str,
    raw_virtual_host: Mapping[str, Any],
) -> Outcome:
    lacking: list[str] = []
    cluster, why = _pick_cluster(action, request, where=where)
    if why:
        lacking.append(why)
    request_headers = _Headers(list(request.headers))
    response_headers = _Headers(list(response))
    for spec, level in levels:
        request_headers.apply(spec, to_add="request_headers_to_add", to_remove="request_headers_to_remove", where=level)
    path = get_all(request_headers.entries, ":path") or ""
    new_path, why = _rewritten_path(action, route.match.path, path, where=where)
    if why:
        lacking.append(why)
    request_headers.remove(":path")
    request_headers.entries.append(Header(":path", new_path))
    literal = _get(action, "host_rewrite_literal", "hostRewriteLiteral")
    from_header = _get(action, "host_rewrite_header", "hostRewriteHeader")
    if literal is not None or from_header is not None:
        new_host = (
            _text(literal, f"{where}.host_rewrite_literal")
            if literal is not None
            else get_all(request_headers.entries, _text(from_header, f"{where}.host_rewrite_header").lower())
        )
        if new_host:
            request_headers.remove(":authority")
            request_headers.entries.append(Header(":authority", new_host))
    for kind in ("auto_host_rewrite", "host_rewrite_path_regex"):
        if _get(action, kind, _camel(kind)):
            lacking.append(kind)
            request_headers.uncertain.add(":authority")
    for spec, level in levels:
        response_headers.apply(spec, to_add="response_headers_to_add", to_remove="response_headers_to_remove", where=level)
    timeout = action.get("timeout")
    vhost_where = f"virtual host {virtual_host.name}"
    before = _virtual_cluster(raw_virtual_host, request.headers, where=vhost_where)
    after = _virtual_cluster(raw_virtual_host, request_headers.entries, where=vhost_where)
    if before != after:
        lacking.append("a virtual cluster that differs before and after the route's rewrites")
    return Outcome(
        "route",
        cluster=cluster,
        virtual_cluster=before,
        virtual_host=virtual_host.name,
        path=get_all(request_headers.entries, ":path") or "",
        host=get_all(request_headers.entries, ":authority") or "",
        timeout_ms=DEFAULT_TIMEOUT_MS if timeout is None else duration_ms(timeout, f"{where}.timeout"),
        request_headers=tuple(request_headers.entries),
        response_headers=tuple(response_headers.entries),
        not_modelled=tuple(lacking),
        uncertain_headers=frozenset(request_headers.uncertain | response_headers.uncertain),
    )
