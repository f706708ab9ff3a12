"""Envoy's ``router_check_tool`` test files, run on the product's model of Envoy's routing -- no Envoy build needed.

Why this module exists: ``router_check_tool`` is the route-test format Envoy users already write, but it ships
only from a Bazel build of Envoy.  This module reads its test files (``tests[].test_name``, ``input``,
``validate``; JSON or YAML, decoded by the caller) and answers each test as the tool does -- route with
:mod:`kubectl_meshctl.envoy.matching`, finalize with :mod:`kubectl_meshctl.envoy.finalize`, compare in the
tool's order, print the tool's failure lines -- and computes its route coverage (basic, ``--covall``,
``--detailed-coverage``).  A test whose answer depends on something the model does not cover (a regex RE2 reads
differently, a header value from a formatter, a metadata value matcher it lacks) is ``not_modelled``, never
guessed.

The tool's own environment is reproduced where tests depend on it: ``ssl`` sets ``x-forwarded-proto``,
``internal`` sets ``x-envoy-internal: true``, a route's ``runtime_fraction`` is enabled only when the test's
``runtime`` names its key and ``random_value`` falls inside the fraction (a numerator of 0 counts as 1),
weighted clusters are picked by ``random_value``, and ``dynamic_metadata`` is the stream's only metadata (so a
route's ``dynamic_metadata`` matchers are decided: string, bool and presence value matchers).  Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ..envoy.finalize import FinalizeError, Outcome, RequestFacts, duration_ms, finalize, get_all, headers_match
from ..envoy.from_dump import RUNTIME_FRACTION, DumpedRouteConfiguration, DumpShapeError, header_matcher
from ..envoy.matching import Header, Request, evaluate, select_virtual_host, undecidable
from ..envoy.route_model import Route, VirtualHost
from ..records import record
from .results import CaseResult, Check, Verdict


class TestFileError(ValueError):
    """A test file (or route configuration) the tool would refuse; the message names the field."""


# --------------------------------------------------------------------------- the test file

_INPUT_FIELDS: Final = {
    "authority",
    "path",
    "method",
    "ssl",
    "internal",
    "random_value",
    "runtime",
    "additional_request_headers",
    "additional_response_headers",
    "dynamic_metadata",
}
_SCALAR_CHECKS: Final = (
    "cluster_name",
    "virtual_cluster_name",
    "virtual_host_name",
    "path_rewrite",
    "host_rewrite",
    "path_redirect",
    "code_redirect",
)
"""Compared in this order (``RouterCheckTool::compareEntries``), then the header checks, then the timeout."""
_VALIDATE_FIELDS: Final = {
    *_SCALAR_CHECKS,
    "request_header_matches",
    "response_header_matches",
    "request_header_fields",
    "response_header_fields",
    "timeout",
}
_ROUTE_ENTRY_FIELDS: Final = ("cluster_name", "virtual_cluster_name", "virtual_host_name", "path_rewrite", "host_rewrite")
_REDIRECT_FIELDS: Final = ("path_redirect", "code_redirect")


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _fields(obj: Any, *, known: set[str] | frozenset[str], where: str) -> dict[str, Any]:
    """A message's fields by their proto names (protobuf JSON accepts both spellings); unknown ones refused."""
    if not isinstance(obj, Mapping):
        raise TestFileError(f"{where}: expected an object, got {type(obj).__name__}")
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = _snake(str(key))
        if name not in known:
            raise TestFileError(f"{where}: unknown field {key!r}")
        if value is not None:
            out[name] = value
    return out


@record
class RouterTest:
    name: str
    origin: str
    authority: str
    path: str
    method: str
    ssl: bool = False
    internal: bool = False
    random_value: int = 0
    runtime: str = ""
    request_headers: tuple[Header, ...] = ()
    response_headers: tuple[Header, ...] = ()
    dynamic_metadata: tuple[tuple[str, Any, bool], ...] = ()
    """``set_metadata`` entries: (namespace, value, allow_overwrite); a ``typed_value`` is kept as ``None``."""
    validate: Mapping[str, Any] = field(default_factory=dict)

    def request_line(self) -> str:
        return f"{self.method} {'https' if self.ssl else 'http'}://{self.authority}{self.path}"


def is_router_check_document(document: Any) -> bool:
    return isinstance(document, Mapping) and "tests" in document


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise TestFileError(f"{where}: expected a string, got {type(value).__name__}")
    return value


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, Mapping):
        value = value.get("value", False)
    if not isinstance(value, bool):
        raise TestFileError(f"{where}: expected true or false")
    return value


def _uint64(value: Any, where: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
        raise TestFileError(f"{where}: expected an unsigned integer")
    return value


def _header_pairs(value: Any, where: str) -> tuple[Header, ...]:
    if not isinstance(value, list):
        raise TestFileError(f"{where}: expected a list")
    out = []
    for i, item in enumerate(value):
        pair = _fields(item, known={"key", "value"}, where=f"{where}[{i}]")
        out.append(
            Header(_str(pair.get("key", ""), f"{where}[{i}].key").lower(), _str(pair.get("value", ""), f"{where}[{i}].value"))
        )
    return tuple(out)


def _metadata_entries(value: Any, where: str) -> tuple[tuple[str, Any, bool], ...]:
    if not isinstance(value, list):
        raise TestFileError(f"{where}: expected a list")
    out = []
    for i, item in enumerate(value):
        entry = _fields(item, known={"metadata_namespace", "value", "typed_value", "allow_overwrite"}, where=f"{where}[{i}]")
        namespace = _str(entry.get("metadata_namespace", ""), f"{where}[{i}].metadata_namespace")
        data = entry.get("value")
        if data is not None and not isinstance(data, Mapping):
            raise TestFileError(f"{where}[{i}].value: expected an object")
        allow = _bool(entry.get("allow_overwrite", False), f"{where}[{i}].allow_overwrite")
        out.append((namespace, None if "typed_value" in entry else dict(data or {}), allow))
    return tuple(out)


def parse_tests(document: Any, *, source: str, line: int | None = None) -> list[RouterTest]:
    """The tests of one test file (``envoy.RouterCheckToolSchema.Validation``), checked as the tool checks them."""
    origin = f"{source}:{line}" if line else source
    top = _fields(document, known={"tests"}, where=origin)
    tests = top.get("tests")
    if not isinstance(tests, list) or not tests:
        raise TestFileError(f"{origin}: tests: at least one test is required")
    out = []
    for i, raw in enumerate(tests):
        where = f"{origin}: tests[{i}]"
        test = _fields(raw, known={"test_name", "input", "validate"}, where=where)
        name = test.get("test_name", "")
        if not isinstance(name, str) or not name:
            raise TestFileError(f"{where}.test_name: a non-empty name is required")
        if "input" not in test or "validate" not in test:
            raise TestFileError(f"{where}: input and validate are required")
        given = _fields(test["input"], known=_INPUT_FIELDS, where=f"{where}.input")
        validate = _fields(test["validate"], known=_VALIDATE_FIELDS, where=f"{where}.validate")
        authority = _str(given.get("authority", ""), f"{where}.input.authority")
        path = _str(given.get("path", ""), f"{where}.input.path")
        method = _str(given.get("method", ""), f"{where}.input.method")
        if not authority or not path:
            raise TestFileError(f"{where}.input: authority and path must not be empty")
        if len(method) < 3:
            raise TestFileError(f"{where}.input.method: at least 3 characters")
        for key in ("request_header_matches", "response_header_matches"):
            for j, matcher in enumerate(validate.get(key, [])):
                if not isinstance(matcher, Mapping):
                    raise TestFileError(f"{where}.validate.{key}[{j}]: expected an object")
        out.append(
            RouterTest(
                name=name,
                origin=origin,
                authority=authority,
                path=path,
                method=method,
                ssl=_bool(given.get("ssl", False), f"{where}.input.ssl"),
                internal=_bool(given.get("internal", False), f"{where}.input.internal"),
                random_value=_uint64(given.get("random_value", 0), f"{where}.input.random_value"),
                runtime=_str(given.get("runtime", ""), f"{where}.input.runtime"),
                request_headers=_header_pairs(
                    given.get("additional_request_headers", []), f"{where}.input.additional_request_headers"
                ),
                response_headers=_header_pairs(
                    given.get("additional_response_headers", []), f"{where}.input.additional_response_headers"
                ),
                dynamic_metadata=_metadata_entries(given.get("dynamic_metadata", []), f"{where}.input.dynamic_metadata"),
                validate=validate,
            )
        )
    return out


# --------------------------------------------------------------------------- the route configuration (strict, as the tool loads it)

_KNOWN: Final[dict[str, frozenset[str]]] = {
    "RouteConfiguration": frozenset(
        [
            "name",
            "virtual_hosts",
            "vhds",
            "internal_only_headers",
            "response_headers_to_add",
            "response_headers_to_remove",
            "request_headers_to_add",
            "request_headers_to_remove",
            "most_specific_header_mutations_wins",
            "validate_clusters",
            "max_direct_response_body_size_bytes",
            "cluster_specifier_plugins",
            "request_mirror_policies",
            "ignore_port_in_host_matching",
            "ignore_path_parameters_in_path_matching",
            "typed_per_filter_config",
            "metadata",
        ]
    ),
    "VirtualHost": frozenset(
        [
            "name",
            "domains",
            "routes",
            "matcher",
            "require_tls",
            "virtual_clusters",
            "rate_limits",
            "request_headers_to_add",
            "request_headers_to_remove",
            "response_headers_to_add",
            "response_headers_to_remove",
            "cors",
            "typed_per_filter_config",
            "include_request_attempt_count",
            "include_attempt_count_in_response",
            "retry_policy",
            "retry_policy_typed_config",
            "hedge_policy",
            "include_is_timeout_retry_header",
            "per_request_buffer_limit_bytes",
            "request_body_buffer_limit",
            "request_mirror_policies",
            "metadata",
        ]
    ),
    "Route": frozenset(
        [
            "name",
            "match",
            "route",
            "redirect",
            "direct_response",
            "filter_action",
            "non_forwarding_action",
            "metadata",
            "decorator",
            "typed_per_filter_config",
            "request_headers_to_add",
            "request_headers_to_remove",
            "response_headers_to_add",
            "response_headers_to_remove",
            "tracing",
            "per_request_buffer_limit_bytes",
            "request_body_buffer_limit",
            "stat_prefix",
        ]
    ),
}


def _check_known(obj: Any, message: str, where: str) -> None:
    if not isinstance(obj, Mapping):
        raise TestFileError(f"{where}: expected an object, got {type(obj).__name__}")
    for key in obj:
        if _snake(str(key)) not in _KNOWN[message]:
            raise TestFileError(f"{where}: envoy.config.route.v3.{message}: unknown field {key!r}")


def check_route_configuration(raw: Any, *, source: str) -> None:
    """Refuse fields a ``RouteConfiguration`` (its virtual hosts and routes) does not have, as the tool's strict
    loading does -- a test file given as the route configuration fails here, not silently."""
    _check_known(raw, "RouteConfiguration", source)
    for i, vh in enumerate(raw.get("virtual_hosts") or raw.get("virtualHosts") or []):
        _check_known(vh, "VirtualHost", f"{source}: virtual_hosts[{i}]")
        for j, r in enumerate(vh.get("routes") or []):
            _check_known(r, "Route", f"{source}: virtual_hosts[{i}].routes[{j}]")


# --------------------------------------------------------------------------- running a test


@record
class _Routed:
    outcome: Outcome | None
    route: Route | None
    virtual_host: VirtualHost | None
    not_modelled: tuple[str, ...]
    request_headers: tuple[Header, ...]


def _request_headers(test: RouterTest) -> tuple[Header, ...]:
    headers = [
        Header(":authority", test.authority),
        Header(":path", test.path),
        Header(":method", test.method),
        Header("x-forwarded-proto", "https" if test.ssl else "http"),
        Header(":scheme", "https" if test.ssl else "http"),
    ]
    if test.internal:
        headers.append(Header("x-envoy-internal", "true"))
    return (*headers, *test.request_headers)


def _metadata(test: RouterTest) -> tuple[dict[str, Any], str]:
    """The stream's dynamic metadata as the tool sets it (a namespace already set is replaced only with
    ``allow_overwrite``, key by key), and what the model could not set."""
    out: dict[str, Any] = {}
    for namespace, value, allow in test.dynamic_metadata:
        if value is None:
            return out, "dynamic_metadata typed_value"
        if namespace not in out:
            out[namespace] = dict(value)
        elif allow:
            out[namespace].update(value)
    return out, ""


def _metadata_value(metadata: Mapping[str, Any], matcher: Mapping[str, Any]) -> tuple[bool, Any]:
    """(found, value) at the matcher's filter and key path."""
    node: Any = metadata.get(str(matcher.get("filter", "")), _MISSING)
    for step in matcher.get("path") or []:
        key = step.get("key") if isinstance(step, Mapping) else None
        if not isinstance(node, Mapping) or key not in node:
            return False, None
        node = node[key]
    return node is not _MISSING and node is not None, node


_MISSING: Final = object()
_METADATA_STRING_KINDS: Final[tuple[Literal["exact", "prefix", "suffix", "contains"], ...]] = (
    "exact",
    "prefix",
    "suffix",
    "contains",
)


def _metadata_matches(matchers: Any, metadata: Mapping[str, Any]) -> bool | None:
    """``MetadataMatcher`` for each entry (all must hold); ``None`` when one uses a value matcher the model lacks."""
    from ..envoy.matching import value_matches
    from ..envoy.route_model import ValueMatcher

    for m in matchers if isinstance(matchers, list) else []:
        if not isinstance(m, Mapping):
            return None
        found, value = _metadata_value(metadata, m)
        spec = m.get("value") or {}
        invert = bool(m.get("invert", False))
        if "present_match" in spec or "presentMatch" in spec:
            result = found
        elif "string_match" in spec or "stringMatch" in spec:
            sm = spec.get("string_match", spec.get("stringMatch"))
            if not isinstance(sm, Mapping):
                return None
            kind = next((k for k in _METADATA_STRING_KINDS if k in sm), None)
            if kind is None:
                return None
            ignore_case = bool(sm.get("ignore_case", sm.get("ignoreCase", False)))
            matcher = ValueMatcher(kind, str(sm[kind]), ignore_case=ignore_case)
            result = found and isinstance(value, str) and value_matches(matcher, value)
        elif "bool_match" in spec or "boolMatch" in spec:
            result = found and value is spec.get("bool_match", spec.get("boolMatch"))
        else:
            return None
        if result == invert:
            return False
    return True


def _runtime_enabled(test: RouterTest, key: str, numerator: int, denominator: int) -> bool:
    # The tool enables only the runtime key the test names; it raises a 0 numerator to 1.
    return test.runtime == key and test.random_value % denominator < max(numerator, 1)


def _route(config: DumpedRouteConfiguration, test: RouterTest) -> _Routed:
    headers = _request_headers(test)
    metadata, why = _metadata(test)
    lacking: list[str] = [why] if why else []
    others = tuple(h for h in headers if not h.name.startswith(":"))
    request = Request(test.method, test.path, test.authority, others, scheme="https" if test.ssl else "http")
    choice = select_virtual_host(config.configuration.virtual_hosts, test.authority)
    vhost = choice.virtual_host if choice is not None else None
    chosen: Route | None = None
    if vhost is not None:
        matched_on = request.match_input()
        for route in vhost.routes:
            detail = config.detail(route)
            if detail.runtime is not None and not _runtime_enabled(
                test, detail.runtime.key, detail.runtime.numerator, detail.runtime.denominator
            ):
                continue
            result = evaluate(route.match, matched_on)
            doubt = undecidable(route.match, matched_on)
            if doubt:
                lacking.append(f"{doubt} (RE2 and Python may disagree on this request)")
                break
            if not result.matched:
                continue  # a modelled condition fails: the route surely does not match
            unknown = [c for c in detail.not_modelled if c not in (RUNTIME_FRACTION, "dynamic_metadata")]
            if not unknown and "dynamic_metadata" in detail.not_modelled:
                # the tool's stream carries only the test's metadata: the condition is decided
                holds = _metadata_matches((detail.raw.get("match") or {}).get("dynamic_metadata"), metadata)
                if holds is None:
                    unknown = ["a dynamic_metadata value matcher the model lacks"]
                elif not holds:
                    continue
            if unknown:
                lacking.append(f"route {route.name or '(unnamed)'}: {'; '.join(unknown)}")
                break
            chosen = route
            break
    raw_route = config.detail(chosen).raw if chosen is not None else {}
    raw_vhost = config.raw_virtual_hosts.get(id(vhost), {}) if vhost is not None else {}
    try:
        outcome = finalize(
            chosen,
            virtual_host=vhost,
            raw_route=raw_route,
            raw_virtual_host=raw_vhost,
            raw_configuration=config.raw,
            request=RequestFacts(headers, test.random_value),
            response=test.response_headers,
        )
    except (FinalizeError, DumpShapeError) as err:
        raise TestFileError(f"route configuration {config.configuration.name or '(unnamed)'}: {err}") from None
    if outcome is not None:
        lacking += outcome.not_modelled
    return _Routed(outcome, chosen, vhost, tuple(lacking), headers)


def _actual(outcome: Outcome | None, key: str) -> str | int:
    entry = outcome is not None and outcome.kind == "route"
    local = outcome is not None and outcome.kind != "route"
    if key == "code_redirect":
        return outcome.status if local and outcome is not None else 0
    if key == "path_redirect":
        return outcome.redirect_url if local and outcome is not None else ""
    if not entry or outcome is None:
        return ""
    return {
        "cluster_name": outcome.cluster,
        "virtual_cluster_name": outcome.virtual_cluster,
        "virtual_host_name": outcome.virtual_host,
        "path_rewrite": outcome.path,
        "host_rewrite": outcome.host,
    }[key]


def _matcher_kind(raw: Mapping[str, Any]) -> str:
    """The test type's suffix: ``string_match.exact``, ``present_match``, ``range_match``, ``exact_match`` ..."""
    sm = raw.get("string_match", raw.get("stringMatch"))
    if isinstance(sm, Mapping):
        kind = next((k for k in ("exact", "prefix", "suffix", "safe_regex", "safeRegex", "contains") if k in sm), "")
        return f"string_match.{_snake(kind)}"
    for key in raw:
        name = _snake(str(key))
        if name.endswith("_match") and name != "invert_match":
            return name
    return "present_match"


def _header_checks(
    kind: str, matchers: Sequence[Any], headers: Sequence[Header], uncertain: frozenset[str], where: str
) -> tuple[list[Check], list[str]]:
    checks: list[Check] = []
    lacking: list[str] = []
    for i, raw in enumerate(matchers):
        matcher, why = header_matcher(raw, f"{where}[{i}]")
        name = str(raw.get("name", ""))
        if matcher is None:
            lacking.append(f"{kind}[{i}]: {why}")
            continue
        if matcher.name in uncertain:
            lacking.append(f"{kind}[{i}]: header {matcher.name} is set from a formatter the model does not evaluate")
            continue
        if headers_match(matcher, headers):
            checks.append(Check(f"{kind}.{_matcher_kind(raw)}", "", "", True))
            continue
        actual = get_all(headers, matcher.name)
        test_type = f"{kind}.{_matcher_kind(raw)}"
        shown = "NULL" if actual is None else actual
        if matcher.matcher.kind == "present":
            want = matcher.invert is False
            line = f"expected: [has({name}):{str(want).lower()}], actual: [has({name}):{str(actual is not None).lower()}], test type: {test_type}"
        elif matcher.matcher.kind == "exact" and test_type.endswith("exact"):
            negated = "NOT " if matcher.invert else ""
            line = f"expected: [{name}: {matcher.matcher.value}], actual: {negated}[{name}: {shown}], test type: {test_type}"
        else:
            line = f"actual: [{name}: {shown}], test type: {test_type}"
        checks.append(Check(test_type, json.dumps(raw, sort_keys=True), shown, False, line=line))
    return checks, lacking


def _field_checks(kind: str, pairs: Any, headers: Sequence[Header], where: str) -> list[Check]:
    checks = []
    for key, value in _header_pairs(pairs, where):
        actual = get_all(headers, key)
        ok = actual == value
        line = (
            ""
            if ok
            else f"expected: [{key}: {value}], actual: [{key}: {'NULL' if actual is None else actual}], test type: {kind}"
        )
        checks.append(Check(kind, value, actual or "", ok, line=line))
    return checks


@dataclass(slots=True)
class _Coverage:
    """Which (route, weighted cluster) pairs a passed check touched, and which fields of each."""

    fields: dict[tuple[int, str], set[str]] = field(default_factory=dict)

    def mark(self, route: Route | None, cluster: str, key: str) -> None:
        if route is not None:
            self.fields.setdefault((id(route), cluster), set()).add(key)


def run_test(config: DumpedRouteConfiguration, test: RouterTest, *, coverage: _Coverage | None = None) -> CaseResult:
    routed = _route(config, test)
    outcome = routed.outcome
    checks: list[Check] = []
    lacking = list(routed.not_modelled)
    weighted_key = outcome.cluster if outcome is not None and routed.route is not None and routed.route.action.weighted else ""
    for key in _SCALAR_CHECKS:
        if key not in test.validate:
            continue
        want = test.validate[key]
        if isinstance(want, Mapping):
            want = want.get("value", "" if key != "code_redirect" else 0)
        actual = _actual(outcome, key)
        expected: str | int = (
            _uint64(want, f"{test.origin}: {test.name}: validate.{key}") if key == "code_redirect" else str(want)
        )
        ok = expected == actual
        checks.append(
            Check(key, str(expected), str(actual), ok, line=f"expected: [{expected}], actual: [{actual}], test type: {key}")
        )
        if ok and coverage is not None and outcome is not None and outcome.kind in ("route", "redirect", "direct_response"):
            coverage.mark(routed.route, weighted_key, key)
    request_headers = outcome.request_headers if outcome is not None and outcome.kind == "route" else routed.request_headers
    response_headers = outcome.response_headers if outcome is not None else test.response_headers
    uncertain = outcome.uncertain_headers if outcome is not None else frozenset()
    where = f"{test.origin}: {test.name}: validate"
    for kind, headers in (("request_header_matches", request_headers), ("response_header_matches", response_headers)):
        if kind in test.validate:
            more, why = _header_checks(kind, test.validate[kind], headers, uncertain, f"{where}.{kind}")
            checks += more
            lacking += why
    for kind, headers in (("request_header_fields", request_headers), ("response_header_fields", response_headers)):
        if kind in test.validate:
            checks += _field_checks(kind, test.validate[kind], headers, f"{where}.{kind}")
    if "timeout" in test.validate:
        try:
            want_ms = duration_ms(test.validate["timeout"], f"{where}.timeout")
        except FinalizeError as err:
            raise TestFileError(str(err)) from None
        actual_ms = outcome.timeout_ms if outcome is not None else None
        ok = actual_ms == want_ms
        shown = "none" if actual_ms is None else _seconds(actual_ms)
        checks.append(
            Check(
                "timeout",
                _seconds(want_ms),
                shown,
                ok,
                line=f"expected: [{_seconds(want_ms)}], actual: [{shown}], test type: timeout",
            )
        )
    verdict: Verdict = "not_modelled" if lacking else ("pass" if all(c.passed for c in checks) else "fail")
    route = ""
    if routed.route is not None:
        route = routed.route.name or routed.route.match.describe()
    return CaseResult(
        name=test.name,
        origin=test.origin,
        verdict=verdict,
        request=test.request_line(),
        checks=tuple(checks),
        not_modelled=tuple(dict.fromkeys(lacking)),
        route=route,
    )


def _seconds(ms: int) -> str:
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms / 1000:g}s"


# --------------------------------------------------------------------------- a run and its coverage


@record
class Uncovered:
    virtual_host: str
    route_name: str
    match_text: str
    """The route's match in protobuf text format, as the tool prints it (``prefix: "/"``)."""


@record
class RouterCheckRun:
    results: tuple[CaseResult, ...]
    coverage: float
    """Percent, basic or comprehensive (``--covall``) as asked."""
    uncovered: tuple[Uncovered, ...]


def run(config: DumpedRouteConfiguration, tests: Sequence[RouterTest], *, comprehensive: bool = False) -> RouterCheckRun:
    """Every test, in order, and the route coverage they reach."""
    coverage = _Coverage()
    results = tuple(run_test(config, t, coverage=coverage) for t in tests)
    total = 0.0
    units = 0
    uncovered: list[Uncovered] = []
    for vh in config.configuration.virtual_hosts:
        for route in vh.routes:
            detail = config.detail(route)
            keys = [name for name, _ in route.action.clusters] if route.action.weighted else [""]
            local = detail.redirect is not None or detail.direct_response is not None
            fields = _REDIRECT_FIELDS if local else _ROUTE_ENTRY_FIELDS
            touched = False
            for key in keys:
                units += 1
                seen = coverage.fields.get((id(route), key), set()) & set(fields)
                if seen:
                    touched = True
                    total += len(seen) / len(fields) if comprehensive else 1.0
            if not touched:
                uncovered.append(Uncovered(vh.name, route.name, match_text(detail.raw.get("match") or {})))
    percent = 100.0 * total / units if units else 100.0
    return RouterCheckRun(results, percent, tuple(uncovered))


# Field numbers of envoy.config.route.v3.RouteMatch: text format prints fields in this order.
_MATCH_ORDER: Final = [
    "prefix",
    "path",
    "case_sensitive",
    "headers",
    "query_parameters",
    "grpc",
    "runtime_fraction",
    "safe_regex",
    "tls_context",
    "connect_matcher",
    "dynamic_metadata",
    "path_separated_prefix",
    "path_match_policy",
    "filter_state",
]
_WRAPPED: Final = {"case_sensitive"}
_ENUMS: Final = {"denominator"}


def match_text(match: Mapping[str, Any]) -> str:
    """A ``RouteMatch`` in protobuf text format on one line (``prefix: "/api" case_sensitive { value: false }``)."""
    named = {_snake(str(k)): v for k, v in match.items()}
    order = [k for k in _MATCH_ORDER if k in named] + sorted(k for k in named if k not in _MATCH_ORDER)
    return " ".join(_text_field(k, named[k]) for k in order)


def _text_field(name: str, value: Any) -> str:
    if name in _WRAPPED and not isinstance(value, Mapping):
        return f"{name} {{ value: {_text_scalar(name, value)} }}"
    if isinstance(value, list):
        return " ".join(_text_field(name, v) for v in value)
    if isinstance(value, Mapping):
        inner = " ".join(_text_field(_snake(str(k)), v) for k, v in value.items())
        return f"{name} {{ {inner} }}" if inner else f"{name} {{ }}"
    return f"{name}: {_text_scalar(name, value)}"


def _text_scalar(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if name in _ENUMS:
        return str(value)
    text = str(value).encode("utf-8")
    escaped = "".join(
        {0x22: '\\"', 0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x27: "\\'"}.get(
            b, chr(b) if 0x20 <= b < 0x7F else f"\\{b:03o}"
        )
        for b in text
    )
    return f'"{escaped}"'
