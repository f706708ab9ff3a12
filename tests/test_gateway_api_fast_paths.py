"""The hot paths of reading and converting many Gateway API routes keep their meaning.

Route parsing builds a field's path (for the error message) only when the field is there and not already of its
type; the conversion sorts each route's rules by precedence once and shares them between the VirtualServices of
the listeners and hostnames the route alone serves.  These pin what must not change: each bad field is named by its
full path, the first bad field (in the order the parser checks them) is the one reported, numbers stand for strings
as before, and every generated VirtualService has its rules in precedence order, indexed from 0.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubectl_meshctl.istio.gateway_api import convert, precedence_key
from kubectl_meshctl.resources import model
from kubectl_meshctl.resources.parse import InvalidObject, parse_kube_route
from kubectl_meshctl.sources.result import InputError
from kubectl_meshctl.sources.snapshot import SnapshotBuilder


def _meta(kind: str = "HTTPRoute") -> model.ObjectMeta:
    return model.ObjectMeta(kind=kind, name="r", namespace="app", origin=model.Origin("test"))


def _route(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"}, "spec": spec}


@pytest.mark.parametrize(
    ("spec", "path", "detail"),
    [
        ({"parentRefs": [{"name": ["gw"]}]}, "spec.parentRefs[0].name", "expected a string, got list"),
        ({"parentRefs": [{"name": "gw", "namespace": True}]}, "spec.parentRefs[0].namespace", "expected a string, got boolean"),
        ({"parentRefs": [{"name": "gw", "group": {}}]}, "spec.parentRefs[0].group", "expected a string, got object"),
        ({"parentRefs": [{"name": "gw", "kind": []}]}, "spec.parentRefs[0].kind", "expected a string, got list"),
        ({"parentRefs": [{"name": "gw", "sectionName": {}}]}, "spec.parentRefs[0].sectionName", "expected a string, got object"),
        ({"parentRefs": [{"name": "gw", "port": "eighty"}]}, "spec.parentRefs[0].port", "expected an integer, got string"),
        ({"rules": [{"name": []}]}, "spec.rules[0].name", "expected a string, got list"),
        ({"rules": [{"timeouts": []}]}, "spec.rules[0].timeouts", "expected an object, got list"),
        ({"rules": [{"timeouts": {"request": "soon"}}]}, "spec.rules[0].timeouts.request", "not a duration: 'soon'"),
        ({"rules": [{"filters": ["x"]}]}, "spec.rules[0].filters[0]", "expected an object, got string"),
        ({"rules": [{"matches": [{"method": 1.5}, {"method": []}]}]}, "spec.rules[0].matches[1].method", "got list"),
        ({"rules": [{"matches": [{"path": {"value": False}}]}]}, "spec.rules[0].matches[0].path.value", "got boolean"),
        ({"rules": [{"matches": [{"path": {"type": 3}}]}]}, "spec.rules[0].matches[0].path.type", "unknown path type '3'"),
        ({"rules": [{"matches": [{"path": []}]}]}, "spec.rules[0].matches[0].path", "expected an object, got list"),
        (
            {"rules": [{"matches": [{"queryParams": [{"name": {}}]}]}]},
            "spec.rules[0].matches[0].queryParams[0].name",
            "got object",
        ),
        (
            {"rules": [{"matches": [{"headers": [{"name": "a", "value": []}]}]}]},
            "spec.rules[0].matches[0].headers[0].value",
            "list",
        ),
        ({"rules": [{"matches": [{"headers": {}}]}]}, "spec.rules[0].matches[0].headers", "expected a list, got object"),
        ({"rules": [{"backendRefs": [{"name": None, "namespace": []}]}]}, "spec.rules[0].backendRefs[0].namespace", "got list"),
        ({"rules": [{"backendRefs": [{"name": "s", "group": 1.5, "kind": []}]}]}, "spec.rules[0].backendRefs[0].kind", "list"),
        ({"rules": [{"backendRefs": [{"name": "s", "port": True}]}]}, "spec.rules[0].backendRefs[0].port", "got boolean"),
        ({"rules": [{"backendRefs": [{"name": "s", "weight": "1.5"}]}]}, "spec.rules[0].backendRefs[0].weight", "got string"),
        ({"rules": [{"backendRefs": [{"name": "s", "filters": [1]}]}]}, "spec.rules[0].backendRefs[0].filters[0]", "number"),
        # the rules are checked before the parentRefs and the hostnames
        ({"parentRefs": [{"name": []}], "hostnames": [{}], "rules": [{"name": {}}]}, "spec.rules[0].name", "got object"),
        ({"parentRefs": [{"name": []}], "hostnames": [{}]}, "spec.parentRefs[0].name", "got list"),
    ],
)
def test_a_bad_route_field_is_named_by_its_full_path(spec: dict[str, Any], path: str, detail: str) -> None:
    with pytest.raises(InvalidObject) as raised:
        parse_kube_route(_route(**spec), _meta())
    assert raised.value.path == path and detail in raised.value.detail


def test_numbers_stand_for_strings_and_digit_strings_for_integers() -> None:
    spec = {
        "parentRefs": [{"name": 7, "port": "443", "sectionName": 1}],
        "rules": [
            {
                "name": 3,
                "matches": [{"path": {"value": 5}, "method": 1, "headers": [{"name": 1, "value": 2.5}]}, {"path": {}}],
                "backendRefs": [{"name": 12, "port": "8080", "weight": "0", "kind": ""}],
            }
        ],
    }
    route = parse_kube_route(_route(**spec), _meta())
    assert route.parent_refs == (model.ParentRef("7", port=443, section_name="1"),)
    [rule] = route.rules
    assert rule.name == "3"
    assert rule.matches == (
        model.KubeRouteMatch("PathPrefix", "5", headers=(model.KubeValueMatch("1", "2.5"),), method="1"),
        model.KubeRouteMatch("PathPrefix", "/"),
    )
    assert rule.backend_refs == (model.BackendRef("12", port=8080, weight=0, kind="Service"),)


def test_every_generated_virtual_service_has_its_rules_in_precedence_order() -> None:
    def route(name: str, stamp: str, hosts: list[str], paths: list[tuple[str, str]]) -> dict[str, Any]:
        return {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": "app", "creationTimestamp": stamp},
            "spec": {
                "parentRefs": [{"name": "gw", "namespace": "infra"}],
                "hostnames": hosts,
                "rules": [
                    {"matches": [{"path": {"type": t, "value": v}}], "backendRefs": [{"name": "s", "port": 80}]} for t, v in paths
                ]
                + [{"backendRefs": [{"name": "s", "port": 80}]}],
            },
        }

    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "infra"},
        "spec": {
            "gatewayClassName": "istio",
            "listeners": [
                {"name": "a", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}},
                {"name": "b", "port": 8080, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}},
            ],
        },
    }
    builder, errors = SnapshotBuilder("default"), list[InputError]()
    for i, raw in enumerate(
        [
            gateway,
            route("old", "2020-01-01T00:00:00Z", ["a.example", "shared.example"], [("PathPrefix", "/a"), ("Exact", "/a/x")]),
            route("new", "2021-01-01T00:00:00Z", ["shared.example"], [("RegularExpression", "/b.*"), ("PathPrefix", "/a")]),
        ]
    ):
        builder.add_raw(raw, model.Origin("test", document=i), errors)
    assert errors == []
    conversion = convert(builder.build())
    by_host: dict[str, list[model.VirtualService]] = {}
    for vs in conversion.virtual_services:
        by_host.setdefault(vs.hosts[0], []).append(vs)
    assert sorted(by_host) == ["a.example", "shared.example"] and all(len(v) == 2 for v in by_host.values())
    for vs in conversion.virtual_services:
        assert [r.index for r in vs.http] == list(range(len(vs.http)))
        assert [precedence_key(r) for r in vs.http] == sorted(precedence_key(r) for r in vs.http)
    shared = by_host["shared.example"][0]
    # equal precedence: the older route's rule first; rules without matches last, in merge order
    assert [(r.generated_from.name, r.generated_from.rule) for r in shared.http if r.generated_from] == [
        ("old", 1),
        ("old", 0),
        ("new", 1),
        ("new", 0),
        ("old", 2),
        ("new", 2),
    ]
    alone = by_host["a.example"][0]
    assert [r.spec["match"][0]["uri"] for r in alone.http[:2]] == [{"exact": "/a/x"}, {"prefix": "/a"}]


def _converted(*rules: dict[str, Any]) -> list[model.HTTPRule]:
    """The rules istiod generates from one HTTPRoute (``rules`` as written) on an HTTP listener."""
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "app"},
        "spec": {"gatewayClassName": "istio", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]},
    }
    route = {
        **_route(parentRefs=[{"name": "gw"}], hostnames=["a.example"], rules=list(rules)),
        "metadata": {"name": "r", "namespace": "app"},
    }
    builder, errors = SnapshotBuilder("default"), list[InputError]()
    for i, raw in enumerate([gateway, route]):
        builder.add_raw(raw, model.Origin("test", document=i), errors)
    assert errors == []
    return [rule for vs in convert(builder.build()).virtual_services for rule in vs.http]


def test_a_generated_rules_spec_is_built_when_read_and_its_typed_fields_without_it() -> None:
    """The Istio JSON of a generated rule is deferred (only the route tests read it); the typed fields the
    translation and the analysis read -- mirrors, redirect, direct response, destinations, timeout -- are not."""
    mirror = {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "m", "port": 90}, "percent": 5}}
    cors = {"type": "CORS", "cors": {"allowOrigins": ["https://*.example"], "maxAge": 60}}
    [mirrored, redirected, empty] = _converted(
        {
            "matches": [{"path": {"type": "Exact", "value": "/m"}}],
            "filters": [mirror, cors],
            "backendRefs": [{"name": "s", "port": 80}],
            "timeouts": {"request": "3s"},
        },
        {
            "matches": [{"path": {"type": "Exact", "value": "/r"}}],
            "filters": [{"type": "RequestRedirect", "requestRedirect": {}}],
        },
        {"matches": [{"path": {"type": "Exact", "value": "/e"}}]},
    )
    assert [m.destination.host for m in mirrored.mirrors] == ["m.app.svc.cluster.local"]
    assert [d.destination.host for d in mirrored.route] == ["s.app.svc.cluster.local"] and mirrored.timeout == "3s"
    assert (redirected.redirect, redirected.direct_response) == (True, False)
    assert (empty.redirect, empty.direct_response) == (False, True)
    assert not isinstance(mirrored.spec, dict)  # deferred ...
    assert mirrored.spec["mirrors"] == [
        {"destination": {"host": "m.app.svc.cluster.local", "port": {"number": 90}}, "percentage": {"value": 5}}
    ]
    assert mirrored.spec["corsPolicy"]["maxAge"] == "60s" and mirrored.spec["timeout"] == "3s"  # ... and whole once read
    assert redirected.spec["redirect"] == {"derivePort": "FROM_REQUEST_PORT"} and empty.spec["directResponse"] == {"status": 500}


@pytest.mark.parametrize(
    "rule",
    [
        {"backendRefs": [{"name": "s", "port": 80, "filters": [{"type": "URLRewrite", "urlRewrite": {}}]}]},
        {"filters": [{"type": "ExtensionRef"}], "backendRefs": [{"name": "s", "port": 80}]},
        {"backendRefs": [{"name": "s.other.svc", "port": 80}]},
    ],
    ids=["backend filter istiod does not support", "unsupported filter", "a host name for a Service"],
)
def test_what_refuses_a_route_still_refuses_it_without_the_spec(rule: dict[str, Any]) -> None:
    assert (
        _converted({"matches": [{"path": {"type": "Exact", "value": "/ok"}}], "backendRefs": [{"name": "s", "port": 80}]}, rule)
        == []
    )


def test_a_mirror_fraction_without_numerator_mirrors_nothing() -> None:
    """``numerator: null`` is Go's zero: 0 of the denominator (was a TypeError that ended the whole run)."""
    mirror = {
        "type": "RequestMirror",
        "requestMirror": {"backendRef": {"name": "m", "port": 90}, "fraction": {"numerator": None}},
    }
    [rule] = _converted({"filters": [mirror], "backendRefs": [{"name": "s", "port": 80}]})
    assert rule.spec["mirrors"][0]["percentage"] == {"value": 0}
