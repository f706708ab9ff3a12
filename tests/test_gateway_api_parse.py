"""Gateway API objects (Gateway, HTTPRoute, GRPCRoute, ReferenceGrant, GatewayClass, Namespace) parsed once, at the edge.

Every input of Istio's 53 conversion cases is read without an error (the few objects upstream whitelists as invalid
are named), defaults are the API's, and a bad field is one error naming the file, line and field.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kubectl_meshctl.resources import model
from kubectl_meshctl.sources.files import FileSource

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
