"""Gateway API objects (Gateway, HTTPRoute, GRPCRoute, ReferenceGrant, GatewayClass, Namespace) parsed once, at the edge.

Every input of Istio's 53 conversion cases is read without an error (the few objects upstream whitelists as invalid
are named), defaults are the API's, and a bad field is one error naming the file, line and field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kubectl_meshctl.istio.gateway_api import convert
from kubectl_meshctl.resources import model
from kubectl_meshctl.resources.parse import InvalidObject, parse_kube_route
from kubectl_meshctl.sources.files import FileSource
from kubectl_meshctl.sources.snapshot import snapshot_of

CONVERSION = Path(__file__).parent / "testdata" / "istio-gateway-api" / "conversion"
CASES = sorted(p for p in CONVERSION.glob("*.yaml") if not p.name.endswith(".golden"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_every_conversion_input_is_read(case: Path) -> None:
    result = FileSource([str(case)]).read()
    assert [str(e) for e in result.errors] == []


def test_routes_and_gateways_read_with_the_apis_defaults(tmp_path: Path) -> None:
    f = tmp_path / "r.yaml"
    f.write_text(
        """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: istio
  addresses: [{value: 1.2.3.4}]
  listeners:
  - name: web
    port: 80
    protocol: HTTP
  - name: secure
    port: 443
    protocol: HTTPS
    hostname: "*.example.com"
    tls: {certificateRefs: [{name: cert}]}
    allowedRoutes:
      namespaces:
        from: Selector
        selector:
          matchLabels: {team: a}
          matchExpressions: [{key: env, operator: In, values: [prod]}]
      kinds: [{kind: HTTPRoute}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: app}
spec:
  parentRefs: [{name: gw, namespace: infra, sectionName: web}]
  hostnames: [a.example.com]
  rules:
  - matches:
    - headers: [{name: x-v, value: "1"}]
    - path: {type: Exact, value: /x}
      method: POST
      queryParams: [{name: q, value: "^a+$", type: RegularExpression}]
    backendRefs: [{name: svc, port: 8080}, {name: other, port: 80, weight: 0}]
    timeouts: {request: 5s}
  - name: rest
    backendRefs: [{name: svc, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: app}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  rules:
  - matches: [{method: {service: foo.Foo, method: Bar}}]
    backendRefs: [{name: grpc, port: 9090}]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: allow, namespace: infra}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: app}]
  to: [{group: "", kind: Service}]
---
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {team: a}}
"""
    )
    result = FileSource([str(f)]).read()
    assert result.errors == []
    snap = result.snapshot
    [gw] = snap.kube_gateways
    web, secure = gw.listeners
    assert (web.allowed_from, web.tls_mode, web.hostname, web.allowed_kinds) == ("Same", "", "", ())
    assert secure.tls_mode == "Terminate" and secure.certificate_refs == (("", "Secret", "", "cert"),)
    assert secure.allowed_from == "Selector" and secure.allowed_selector == model.LabelSelector(
        (("team", "a"),), (("env", "In", ("prod",)),)
    )
    assert secure.allowed_kinds == (("gateway.networking.k8s.io", "HTTPRoute"),)
    assert gw.listener_hostnames == ("", "*.example.com") and gw.addresses == (("", "1.2.3.4"),)
    http, grpc = snap.kube_routes
    assert http.meta.kind == "HTTPRoute" and grpc.meta.kind == "GRPCRoute"
    assert http.parent_refs == (model.ParentRef("gw", "infra", section_name="web"),)
    first, second = http.rules
    by_header, exact = first.matches
    assert (by_header.path_type, by_header.path) == ("PathPrefix", "/")  # a match without path is PathPrefix /
    assert by_header.headers == (model.KubeValueMatch("x-v", "1"),)
    assert (exact.path_type, exact.path, exact.method) == ("Exact", "/x", "POST")
    assert exact.query_params == (model.KubeValueMatch("q", "^a+$", "RegularExpression"),)
    assert [(b.name, b.port, b.weight, b.kind) for b in first.backend_refs] == [
        ("svc", 8080, 1, "Service"),
        ("other", 80, 0, "Service"),
    ]
    assert first.timeouts == (("request", "5s"),) and second.name == "rest" and second.matches == ()
    [g] = grpc.rules[0].matches
    assert (g.grpc_type, g.grpc_service, g.grpc_method, g.path_type) == ("Exact", "foo.Foo", "Bar", "")
    [grant] = snap.reference_grants
    assert grant.from_ == (("gateway.networking.k8s.io", "HTTPRoute", "app"),) and grant.to == (("", "Service", ""),)
    [ns] = snap.namespaces
    assert ns.meta.namespace == "" and ns.meta.labels == (("team", "a"),)


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ("matches: [{path: {type: Glob, value: /x}}]", "spec.rules[0].matches[0].path.type"),
        ("matches: [{headers: [{name: a, value: b, type: Fuzzy}]}]", "spec.rules[0].matches[0].headers[0].type"),
        ("backendRefs: [{name: s, port: eighty}]", "spec.rules[0].backendRefs[0].port"),
        ("matches: {path: {value: /x}}", "spec.rules[0].matches"),
    ],
)
def test_a_bad_route_field_is_one_error_naming_file_line_and_field(tmp_path: Path, rule: str, field: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: ok}\n---\n"
        f"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: r}}\nspec:\n  rules:\n  - {rule}\n"
    )
    result = FileSource([str(f)]).read()
    [error] = result.errors
    assert error.line == 10 and field in str(error) and str(f) in str(error)  # the line of the field itself
    assert len(result.snapshot.services) == 1  # the rest is still read


_FILTER = "spec.rules[0].filters[0]"


@pytest.mark.parametrize(
    ("filter_", "field", "detail"),
    [
        ({"type": "RequestRedirect", "requestRedirect": {"statusCode": "abc"}}, "requestRedirect.statusCode", "an integer"),
        ({"type": "RequestRedirect", "requestRedirect": {"port": 1.5}}, "requestRedirect.port", "an integer"),
        ({"type": "RequestRedirect", "requestRedirect": {"hostname": []}}, "requestRedirect.hostname", "a string"),
        ({"type": "RequestRedirect", "requestRedirect": {"path": {"type": {}}}}, "requestRedirect.path.type", "a string"),
        ({"type": "RequestRedirect", "requestRedirect": []}, "requestRedirect", "an object"),
        (
            {"type": "URLRewrite", "urlRewrite": {"path": {"replacePrefixMatch": []}}},
            "urlRewrite.path.replacePrefixMatch",
            "string",
        ),
        ({"type": "URLRewrite", "urlRewrite": {"hostname": {}}}, "urlRewrite.hostname", "a string"),
        ({"type": "RequestMirror", "requestMirror": {"percent": "lots"}}, "requestMirror.percent", "an integer"),
        (
            {"type": "RequestMirror", "requestMirror": {"fraction": {"numerator": "a"}}},
            "requestMirror.fraction.numerator",
            "integer",
        ),
        ({"type": "RequestMirror", "requestMirror": {"backendRef": {"port": "x"}}}, "requestMirror.backendRef.port", "integer"),
        ({"type": "CORS", "cors": {"maxAge": "forever"}}, "cors.maxAge", "an integer"),
        ({"type": "CORS", "cors": {"allowCredentials": "yes"}}, "cors.allowCredentials", "true or false"),
        ({"type": "CORS", "cors": {"allowOrigins": "*"}}, "cors.allowOrigins", "a list"),
        (
            {"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": []}]}},
            "requestHeaderModifier.set[0].name",
            "string",
        ),
        (
            {"type": "ResponseHeaderModifier", "responseHeaderModifier": {"remove": "x-a"}},
            "responseHeaderModifier.remove",
            "a list",
        ),
        ({"type": ["RequestMirror"]}, "type", "a string"),
    ],
)
def test_a_bad_filter_field_is_named_by_its_path(filter_: dict[str, Any], field: str, detail: str) -> None:
    """What the conversion reads of a filter is checked where the route is read: an error naming the field (the API
    server's schema would refuse the object), not an internal error of the whole run when the route is converted."""
    raw = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"}}
    meta = model.ObjectMeta(kind="HTTPRoute", name="r", namespace="app", origin=model.Origin("test"))
    for path, spec in (
        (_FILTER, {"rules": [{"filters": [filter_]}]}),
        (
            "spec.rules[0].backendRefs[0].filters[0]",
            {"rules": [{"backendRefs": [{"name": "s", "port": 80, "filters": [filter_]}]}]},
        ),
    ):
        with pytest.raises(InvalidObject) as raised:
            parse_kube_route({**raw, "spec": spec}, meta)
        assert raised.value.path == f"{path}.{field}" and detail in raised.value.detail


@pytest.mark.parametrize(
    ("retry", "field"),
    [
        ({"attempts": "two"}, "attempts"),
        ({"codes": ["5xx"]}, "codes[0]"),
        ({"codes": 500}, "codes"),
        ({"backoff": []}, "backoff"),
    ],
)
def test_a_bad_retry_field_is_named_by_its_path(retry: dict[str, Any], field: str) -> None:
    raw = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"}}
    meta = model.ObjectMeta(kind="HTTPRoute", name="r", namespace="app", origin=model.Origin("test"))
    with pytest.raises(InvalidObject) as raised:
        parse_kube_route({**raw, "spec": {"rules": [{"retry": retry}]}}, meta)
    assert raised.value.path == f"spec.rules[0].retry.{field}"


def test_a_parsed_route_keeps_no_rule_as_written() -> None:
    # a cluster's decoded pages go once parsed: the model holds the retry (read by the conversion), never the whole
    # rule, whose JSON was a fifth of a Gateway API analysis's memory
    import sys

    rule = {"matches": [{"path": {"type": "PathPrefix", "value": "/a"}}], "backendRefs": [{"name": "s", "port": 80}]}
    rule["retry"] = {"attempts": 3, "codes": [503]}
    raw = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"}}
    meta = model.ObjectMeta(kind="HTTPRoute", name="r", namespace="app", origin=model.Origin("test"))
    before = sys.getrefcount(rule)
    route = parse_kube_route({**raw, "spec": {"rules": [rule]}}, meta)
    assert sys.getrefcount(rule) == before
    assert route.rules[0].retry == {"attempts": 3, "codes": [503]}


def test_a_file_with_a_bad_filter_reports_it_and_analyses_the_rest(tmp_path: Path) -> None:
    """Was: ``Error: internal error: ValueError: could not convert string to float: 'lots'`` and nothing analysed."""
    import subprocess
    import sys

    f = tmp_path / "routes.yaml"
    route = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: {name}, namespace: default}}\n"
    route += "spec:\n  parentRefs: [{{name: gw}}]\n  hostnames: [a.example.com]\n  rules:\n{rules}"
    f.write_text(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: default}\n"
        "spec:\n  gatewayClassName: istio\n  listeners:\n  - {name: http, port: 80, protocol: HTTP}\n---\n"
        + route.format(
            name="bad",
            rules="  - filters:\n    - type: RequestMirror\n      requestMirror: {backendRef: {name: s, port: 80}, percent: lots}\n",
        )
        + "---\n"
        + route.format(name="good", rules="  - backendRefs: [{name: s, port: 80}]\n  - backendRefs: [{name: t, port: 80}]\n")
    )
    done = subprocess.run(
        [sys.executable, "-m", "kubectl_meshctl", "analyze", "-f", str(f)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 65 and "Traceback" not in done.stderr and "internal error" not in done.stderr
    [error] = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert f"{f}:18: HTTPRoute default/bad: spec.rules[0].filters[0].requestMirror.percent: expected an integer" in error
    assert "default/good" in done.stdout  # the good route is still analysed: its second rule is never reached


_NESTED_KEYS = ["name", "value", "type", "port", "path", "numerator", "denominator", "replaceFullPath", "replacePrefixMatch"]
_ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 500)
    | st.floats(allow_nan=False, width=32)
    | st.sampled_from(["", "a", "7", "/x", "*"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_NESTED_KEYS), inner, max_size=3),
    max_leaves=6,
)
_FILTER_FIELDS = {
    "requestHeaderModifier": ["add", "set", "remove"],
    "responseHeaderModifier": ["add", "set", "remove"],
    "requestRedirect": ["statusCode", "hostname", "scheme", "port", "path"],
    "urlRewrite": ["hostname", "path"],
    "requestMirror": ["backendRef", "percent", "fraction"],
    "cors": ["allowOrigins", "allowCredentials", "allowMethods", "allowHeaders", "exposeHeaders", "maxAge"],
}
_TYPES = {
    "requestHeaderModifier": "RequestHeaderModifier",
    "responseHeaderModifier": "ResponseHeaderModifier",
    "requestRedirect": "RequestRedirect",
    "urlRewrite": "URLRewrite",
    "requestMirror": "RequestMirror",
    "cors": "CORS",
}


_NESTED = {
    "path": ("type", "replaceFullPath", "replacePrefixMatch"),
    "fraction": ("numerator", "denominator"),
    "backendRef": ("name", "port", "namespace", "kind"),
    "add": ("name", "value"),
    "set": ("name", "value"),
}


@st.composite
def _filters(draw: st.DrawFn) -> dict[str, Any]:
    key = draw(st.sampled_from(sorted(_FILTER_FIELDS)))
    body = draw(st.dictionaries(st.sampled_from(_FILTER_FIELDS[key]), _ANY_JSON, max_size=3))
    for field, nested in _NESTED.items():  # sometimes the field's own shape, with any values inside
        if field in _FILTER_FIELDS[key] and draw(st.booleans()):
            shaped = draw(st.fixed_dictionaries({}, optional={k: _ANY_JSON for k in nested}))
            body[field] = [shaped] if field in ("add", "set") else shaped
    if key == "requestMirror" and draw(st.booleans()):
        body["backendRef"] = {"name": "mirror", "port": 80}  # a usable mirror: its percentage is converted too
    return {"type": _TYPES[key], key: body}


_MIRROR = {"name": "m", "port": 80}


@settings(max_examples=500, deadline=None, derandomize=True, database=None)  # the same examples every run: CI never flakes
@example(filters=[{"type": "CORS", "cors": {"maxAge": "forever"}}], retry=None)  # each field the parser must check
@example(filters=[{"type": "RequestRedirect", "requestRedirect": {"statusCode": "abc", "port": "x"}}], retry=None)
@example(filters=[{"type": "RequestMirror", "requestMirror": {"backendRef": _MIRROR, "percent": "lots"}}], retry=None)
@example(
    filters=[{"type": "RequestMirror", "requestMirror": {"backendRef": _MIRROR, "fraction": {"numerator": None}}}], retry=None
)
@example(
    filters=[{"type": "RequestMirror", "requestMirror": {"backendRef": _MIRROR, "fraction": {"numerator": "a"}}}], retry=None
)
@example(filters=[{"type": "CORS", "cors": {}}], retry={"attempts": "two"})
@given(
    filters=st.lists(_filters(), min_size=1, max_size=3),
    retry=st.none() | st.dictionaries(st.sampled_from(["attempts", "codes", "backoff"]), _ANY_JSON),
)
def test_whatever_filters_the_parser_accepts_convert(filters: list[dict[str, Any]], retry: dict[str, Any] | None) -> None:
    """Either the route is refused where it is read (one error naming a field), or istiod's conversion of it runs:
    no value the parser lets through makes the conversion fail (its own refusals of a route aside)."""
    # a backend takes header modifiers only (istiod refuses the route for any other): those of the rule's, if any
    backend_filters = [f for f in filters if f["type"] in ("RequestHeaderModifier", "ResponseHeaderModifier")][:1]
    rule: dict[str, Any] = {"filters": filters, "backendRefs": [{"name": "s", "port": 80, "filters": backend_filters}]}
    if retry is not None:
        rule["retry"] = retry
    raw = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": "app"},
        "spec": {"parentRefs": [{"name": "gw"}], "rules": [rule]},
    }
    meta = model.ObjectMeta(kind="HTTPRoute", name="r", namespace="app", origin=model.Origin("test"))
    try:
        route = parse_kube_route(raw, meta)
    except InvalidObject:
        return
    gateway = model.KubeGateway(
        meta=model.ObjectMeta(kind="Gateway", name="gw", namespace="app", origin=model.Origin("test")),
        gateway_class="istio",
        listeners=(model.Listener(name="http", port=80, protocol="HTTP"),),
    )
    for vs in convert(snapshot_of([gateway, route])).virtual_services:
        for rule in vs.http:
            dict(rule.spec)  # the Istio JSON is built when read: read it, so its builders run too
