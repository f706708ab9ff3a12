"""istiod's Gateway API conversion (:mod:`kubectl_meshctl.istio.gateway_api`) against Istio's own 53 conversion goldens.

Each case's input is read as the plugin reads files, the namespaces upstream's harness adds are added, and the
generated Istio Gateways and VirtualServices are compared with ``<case>.yaml.golden`` as normalized dicts built from
both sides: names, servers, hosts, gateways, the merged parents, and every http route in order (name, match,
destinations, redirect/direct response), plus the whole rule in Istio JSON shape (``HTTPRule.spec``).  What the
conversion leaves out on purpose is in :data:`OUT_OF_SCOPE` -- nothing else is skipped.
"""

from __future__ import annotations

import dataclasses
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubectl_meshctl.istio.gateway_api import Conversion, convert, precedence_key
from kubectl_meshctl.resources import model
from kubectl_meshctl.sources.files import FileSource

CONVERSION = Path(__file__).parent / "testdata" / "istio-gateway-api" / "conversion"
CASES = sorted(p.name.removesuffix(".yaml") for p in CONVERSION.glob("*.yaml") if (CONVERSION / f"{p.name}.golden").exists())
DOMAIN = "domain.suffix"

_LISTENER_SETS = "ListenerSets are not converted yet"
_MESH = "mesh (GAMMA) parents are not converted"
_L4 = "TCPRoute/TLSRoute are not converted"
_SECRETS = "Secret contents are not in the model: an invalid or missing Secret is trusted"
_FRONTEND = "frontend TLS validation (CA ConfigMaps/Secrets, mode MUTUAL) is not in the model"
_POLICIES = "backend policies (BackendTLSPolicy, XBackendTrafficPolicy, XBackend) -> DestinationRules"
_AUTO_PASSTHROUGH = "east-west cross-network listeners (AUTO_PASSTHROUGH)"
_INFERENCE = "InferencePool backends"
OUT_OF_SCOPE: dict[str, str] = {
    # whole cases
    "listenerset": _LISTENER_SETS,
    "listenerset-cross-namespace": _LISTENER_SETS,
    "listenerset-empty-listeners": _LISTENER_SETS,
    "listenerset-hostname-conflict": _LISTENER_SETS,
    "listenerset-https-missing-tls": f"{_LISTENER_SETS}; {_SECRETS}",
    "listenerset-invalid": _LISTENER_SETS,
    "listenerset-overlapping-port": _LISTENER_SETS,
    "listenerset-protocol-conflict": _LISTENER_SETS,
    "listenerset-same-name-different-ns": _LISTENER_SETS,
    # parts of cases: "<case>#<Kind>/<name glob>"
    "backend-lb-policy#DestinationRule/*": _POLICIES,
    "backend-tls-policy#DestinationRule/*": _POLICIES,
    "backend-tls-policy-ignored#DestinationRule/*": _POLICIES,
    "backend-traffic-policy-ignored#DestinationRule/*": _POLICIES,
    "mix-backend-policy#DestinationRule/*": _POLICIES,
    "east-west-ambient#Gateway/*": "the istio-east-west class",
    "eastwest#VirtualService/*~tls~*": _L4,
    "eastwest#Gateway/*~cross-network": _AUTO_PASSTHROUGH,
    "eastwest-labelport#VirtualService/*~tls~*": _L4,
    "eastwest-labelport#Gateway/*~cross-network": _AUTO_PASSTHROUGH,
    "eastwest-tlsoption#VirtualService/*~tls~*": _L4,
    "eastwest-tlsoption#Gateway/*~cross-network": _AUTO_PASSTHROUGH,
    "frontend-tls-invalid#Gateway/invalid-frontend-*": _FRONTEND,
    "frontend-tls-refgrant#Gateway/cacert-*": _FRONTEND,
    "http#VirtualService/*infpool*": _INFERENCE,
    "invalid#VirtualService/default~*": _MESH,
    "invalid#Gateway/invalid-cert-notfound~*": _SECRETS,
    "invalid#Gateway/invalid-cert-malformed~*": _SECRETS,
    "invalid#Gateway/invalid-frontendvalidation-*": _FRONTEND,
    "mcs#VirtualService/*~tcp~*": _L4,
    "mesh#VirtualService/default~*": _MESH,
    "mesh#VirtualService/*~tcp~*": _L4,
    "mesh#VirtualService/*~tls~*": _L4,
    "reference-policy-tcp#VirtualService/*~tcp~*": _L4,
    "reference-policy-tls#Gateway/gateway~*": "Gateway spec.tls.frontend validation (mode MUTUAL) is not in the model",
    "route-precedence#VirtualService/*.svc.domain.suffix": _MESH,
    "serviceentry#VirtualService/default~*": _MESH,
    "serviceentry#VirtualService/*~tcp~*": _L4,
    "serviceentry#VirtualService/*~tls~*": _L4,
    "tcp#VirtualService/*~tcp~*": _L4,
    "tls#VirtualService/*~tls~*": _L4,
    "tls#Gateway/gateway~*~terminate*": "listener tls.options (tls-terminate-mode), frontend validation and two certificates "
    "(credentialNames) are not in the model",
    "tls-terminate#VirtualService/*~tls~*": _L4,
    "valid-invalid-parent-ref#VirtualService/default~*": _MESH,
    "weighted#VirtualService/*~tcp~*": _L4,
    "xbackend#VirtualService/*~tcp~*": _L4,
    "xbackend#VirtualService/*": "XBackend backends",
    "xbackend#DestinationRule/*": _POLICIES,
    "zero#VirtualService/*~tcp~*": _L4,
}


def _whole_case_reason(case: str) -> str | None:
    return OUT_OF_SCOPE.get(case)


def _out_of_scope(case: str, kind: str, name: str) -> bool:
    return any(key.startswith(f"{case}#") and fnmatchcase(f"{kind}/{name}", key.split("#", 1)[1]) for key in OUT_OF_SCOPE)


# --------------------------------------------------------------------------- input as upstream's harness sees it


def _harness_namespaces(case: str) -> tuple[model.Namespace, ...]:
    """A Namespace for every namespace an input object uses, labelled ``istio.io/test-name-part`` (up to the first '-')."""
    names = set()
    for doc in yaml.safe_load_all((CONVERSION / f"{case}.yaml").read_text()):
        if isinstance(doc, dict) and doc.get("kind") not in ("GatewayClass", "Namespace"):
            names.add((doc.get("metadata") or {}).get("namespace") or "default")
    origin = model.Origin("harness")
    return tuple(
        model.Namespace(model.ObjectMeta("Namespace", n, "", origin, labels=(("istio.io/test-name-part", n.split("-")[0]),)))
        for n in sorted(names)
    )


def _conversion(case: str) -> Conversion:
    result = FileSource([str(CONVERSION / f"{case}.yaml")]).read()
    assert [str(e) for e in result.errors] == []
    snapshot = dataclasses.replace(result.snapshot, namespaces=_harness_namespaces(case))
    return convert(snapshot, domain_suffix=DOMAIN)


# --------------------------------------------------------------------------- both sides normalized


def _golden(case: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((CONVERSION / f"{case}.yaml.golden").read_text()) if d]


def _golden_string_match(sm: dict[str, str]) -> tuple[str, str]:
    [(kind, value)] = sm.items()
    return (kind, value)


def _golden_rule(rule: dict[str, Any]) -> dict[str, Any]:
    [match] = rule.get("match") or [None]
    return {
        "name": rule.get("name", ""),
        "match": None
        if match is None
        else {
            "uri": _golden_string_match(match["uri"]) if "uri" in match else None,
            "headers": sorted((k, *_golden_string_match(v)) for k, v in (match.get("headers") or {}).items()),
            "query": sorted((k, *_golden_string_match(v)) for k, v in (match.get("queryParams") or {}).items()),
            "method": _golden_string_match(match["method"]) if "method" in match else None,
        },
        "destinations": [
            (d["destination"].get("host", ""), (d["destination"].get("port") or {}).get("number", 0), d.get("weight", 0))
            for d in rule.get("route") or ()
        ],
        "redirect": "redirect" in rule,
        "direct_response": "directResponse" in rule,
    }


def _our_string_match(sm: model.StringMatch | None) -> tuple[str, str] | None:
    return None if sm is None else (sm.kind, sm.value)


def _our_rule(rule: model.HTTPRule) -> dict[str, Any]:
    [match] = rule.matches or (None,)
    return {
        "name": rule.name,
        "match": None
        if match is None
        else {
            "uri": _our_string_match(match.uri),
            "headers": sorted((k, v.kind, v.value) for k, v in match.headers),
            "query": sorted((k, v.kind, v.value) for k, v in match.query_params),
            "method": _our_string_match(match.method),
        },
        "destinations": [
            (d.destination.host, d.destination.port, d.weight) if d.destination else ("", 0, d.weight) for d in rule.route
        ],
        "redirect": rule.redirect,
        "direct_response": rule.direct_response,
    }


def _golden_objects(case: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, list[Any]]]:
    gateways: dict[str, Any] = {}
    virtual_services: dict[str, Any] = {}
    specs: dict[str, list[Any]] = {}
    for doc in _golden(case):
        kind, meta, spec = doc["kind"], doc["metadata"], doc["spec"]
        if _out_of_scope(case, kind, meta["name"]):
            continue
        assert kind in ("Gateway", "VirtualService"), f"{kind}/{meta['name']} is neither compared nor out of scope"
        if kind == "Gateway":
            gateways[meta["name"]] = {
                "namespace": meta["namespace"],
                "servers": [
                    (
                        tuple(s["hosts"]),
                        s["port"]["number"],
                        s["port"]["protocol"],
                        # PASSTHROUGH is the enum's zero value: protobuf leaves it out ("tls: {}")
                        (s["tls"].get("mode", "PASSTHROUGH") if "tls" in s else None),
                        (s.get("tls") or {}).get("credentialName", ""),
                    )
                    for s in spec["servers"]
                ],
            }
        else:
            virtual_services[meta["name"]] = {
                "namespace": meta["namespace"],
                "hosts": spec["hosts"],
                "gateways": spec["gateways"],
                "parents": meta["annotations"]["internal.istio.io/parents"],
                "semantics": meta["annotations"]["internal.istio.io/route-semantics"],
                "http": [_golden_rule(r) for r in spec.get("http") or ()],
            }
            specs[meta["name"]] = spec.get("http") or []
    return gateways, virtual_services, specs


def _our_objects(case: str, conversion: Conversion) -> tuple[dict[str, Any], dict[str, Any], dict[str, list[Any]]]:
    gateways = {
        g.meta.name: {
            "namespace": g.meta.namespace,
            "servers": [
                (
                    s.hosts,
                    s.port.number if s.port else 0,
                    s.port.protocol if s.port else "",
                    s.tls.mode if s.tls else None,
                    s.tls.credential_name if s.tls else "",
                )
                for s in g.servers
            ],
        }
        for g in conversion.gateways
        if not _out_of_scope(case, "Gateway", g.meta.name)
    }
    virtual_services = {
        vs.meta.name: {
            "namespace": vs.meta.namespace,
            "hosts": list(vs.hosts),
            "gateways": list(vs.gateways),
            "parents": vs.meta.annotation("internal.istio.io/parents"),
            "semantics": vs.meta.annotation("internal.istio.io/route-semantics"),
            "http": [_our_rule(r) for r in vs.http],
        }
        for vs in conversion.virtual_services
        if not _out_of_scope(case, "VirtualService", vs.meta.name)
    }
    specs = {
        vs.meta.name: [dict(r.spec) for r in vs.http]
        for vs in conversion.virtual_services
        if not _out_of_scope(case, "VirtualService", vs.meta.name)
    }
    return gateways, virtual_services, specs


@pytest.mark.parametrize("case", CASES)
def test_conversion_matches_istios_golden(case: str) -> None:
    if (reason := _whole_case_reason(case)) is not None:
        pytest.skip(f"out of scope: {reason}")
    conversion = _conversion(case)
    want_gateways, want_vs, want_specs = _golden_objects(case)
    got_gateways, got_vs, got_specs = _our_objects(case, conversion)
    assert sorted(got_gateways) == sorted(want_gateways)
    assert got_gateways == want_gateways
    assert sorted(got_vs) == sorted(want_vs)
    for name, want in want_vs.items():
        assert got_vs[name] == want, name
    for name, want_http in want_specs.items():
        assert got_specs[name] == want_http, name


def test_every_case_is_compared_or_named_out_of_scope() -> None:
    assert len(CASES) == 53
    assert {k.split("#")[0] for k in OUT_OF_SCOPE} <= set(CASES)
    for key in (k for k in OUT_OF_SCOPE if "#" in k):
        case, pattern = key.split("#", 1)
        ours = _conversion(case)
        names = [f"{d['kind']}/{d['metadata']['name']}" for d in _golden(case)]
        names += [f"Gateway/{g.meta.name}" for g in ours.gateways] + [
            f"VirtualService/{v.meta.name}" for v in ours.virtual_services
        ]
        assert any(fnmatchcase(name, pattern) for name in names), f"{key} names nothing in the golden or the conversion"


# --------------------------------------------------------------------------- attachment reasons as the status goldens say


def _golden_route_parents(case: str) -> dict[tuple[str, str, str], list[tuple[tuple[tuple[str, Any], ...], str]]]:
    """(kind, namespace, name) of each route -> [(parentRef items, Accepted reason)] from the status golden."""
    out: dict[tuple[str, str, str], list[tuple[tuple[tuple[str, Any], ...], str]]] = {}
    for doc in yaml.safe_load_all((CONVERSION / f"{case}.status.yaml.golden").read_text()):
        if not doc or doc["kind"] not in ("HTTPRoute", "GRPCRoute"):
            continue
        entries = []
        for parent in (doc.get("status") or {}).get("parents") or ():
            if parent.get("controllerName") != "istio.io/gateway-controller":
                continue
            [accepted] = [c for c in parent["conditions"] if c["type"] == "Accepted"]
            ref = dict(parent["parentRef"])
            if (
                ref.get("kind", "Gateway") == "Gateway"
                and ref.get("group", "gateway.networking.k8s.io") == "gateway.networking.k8s.io"
            ):
                ref.pop("kind", None), ref.pop("group", None)  # written or defaulted: the parser cannot tell
            entries.append((tuple(sorted(ref.items())), accepted["reason"]))
        out[(doc["kind"], doc["metadata"]["namespace"], doc["metadata"]["name"])] = entries
    return out


def _parent_ref_items(ref: model.ParentRef) -> tuple[tuple[str, Any], ...]:
    items: dict[str, Any] = {"name": ref.name}
    if ref.namespace:
        items["namespace"] = ref.namespace
    if ref.section_name:
        items["sectionName"] = ref.section_name
    if ref.port:
        items["port"] = ref.port
    if ref.kind != "Gateway":
        items["kind"] = ref.kind
    if ref.group != "gateway.networking.k8s.io" or ref.kind != "Gateway":
        items["group"] = ref.group
    return tuple(sorted(items.items()))


@pytest.mark.parametrize(
    "case", ["route-binding", "valid-invalid-parent-ref", "isolation", "route-precedence", "invalid", "http"]
)
def test_gateway_parent_reasons_match_the_status_golden(case: str) -> None:
    conversion = _conversion(case)
    want = _golden_route_parents(case)
    checked = 0
    for attachment in conversion.attachments:
        if attachment.parent.kind != "Gateway":
            continue  # mesh parents are out of scope
        route = attachment.route.meta
        entries = dict(want[(route.kind, route.namespace, route.name)])
        reason = entries.get(_parent_ref_items(attachment.parent))
        assert reason == attachment.reason, (route.name, attachment.parent, attachment.message)
        checked += 1
    assert checked


def test_route_binding_reasons_name_the_listener() -> None:
    by_route = {
        (a.route.meta.namespace, a.route.meta.name, a.parent.section_name): a for a in _conversion("route-binding").attachments
    }
    mismatch = by_route[("default", "host-mismatch", "foobar")]
    assert (mismatch.accepted, mismatch.reason) == (False, "NoMatchingListenerHostname")
    assert '"*.foobar.example"' in mismatch.message
    denied = by_route[("default", "invalid-bind-cross-namespace", "slctr-labels")]
    assert (denied.reason, denied.listeners) == ("NotAllowedByListeners", ())
    bind_all = by_route[("default", "bind-all", "")]
    assert bind_all.accepted and set(bind_all.listeners) == {
        "default",
        "foobar",
        "slctr-expr-notin-yes",
        "slctr-expr-notin-no",
        "slctr-expr-exists-yes",
        "slctr-expr-dne-yes",
    }


# --------------------------------------------------------------------------- the rest of the contract


def test_generated_objects_carry_the_gateway_selector_and_route_semantics() -> None:
    conversion = _conversion("http")
    [gateway] = conversion.gateways
    assert gateway.selector == (("gateway.networking.k8s.io/gateway-name", "gateway"),)
    assert all(vs.meta.annotation("internal.istio.io/route-semantics") == "gateway" for vs in conversion.virtual_services)
    assert all(
        vs.meta.kind == "VirtualService" and vs.meta.api_version == "networking.istio.io/v1" for vs in conversion.virtual_services
    )
    assert [r.index for r in conversion.virtual_services[0].http] == list(range(len(conversion.virtual_services[0].http)))


def test_precedence_is_exact_then_prefix_then_regex_then_catch_all() -> None:
    def rule(uri: model.StringMatch | None) -> model.HTTPRule:
        return model.HTTPRule(index=0, matches=() if uri is None else (model.HTTPMatch(uri=uri),))

    rules = [
        rule(None),
        rule(model.StringMatch("regex", "/a.*long")),
        rule(model.StringMatch("prefix", "/a")),
        rule(model.StringMatch("exact", "/")),
    ]
    ordered = sorted(rules, key=precedence_key)
    assert [r.matches[0].uri.kind if r.matches and r.matches[0].uri else None for r in ordered] == [
        "exact",
        "prefix",
        "regex",
        None,
    ]


def test_unsupported_inputs_do_not_crash() -> None:
    for case in CASES:
        _conversion(case)


# --------------------------------------------------------------------------- what the goldens leave untested

_GATEWAY = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: istio
  listeners: [{name: web, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
"""


def _route(name: str, namespace: str, *, created: str = "", path: str = "/") -> str:
    stamp = f", creationTimestamp: '{created}'" if created else ""
    return f"""\
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: {namespace}{stamp}}}
spec:
  parentRefs: [{{name: gw, namespace: infra}}]
  hostnames: [shop.example.com]
  rules: [{{matches: [{{path: {{type: PathPrefix, value: "{path}"}}}}], backendRefs: [{{name: {name}, port: 80}}]}}]
"""


def _convert_text(tmp_path: Path, text: str) -> Conversion:
    f = tmp_path / "in.yaml"
    f.write_text(text)
    result = FileSource([str(f)]).read()
    assert result.errors == []
    return convert(result.snapshot, domain_suffix=DOMAIN)


def test_merge_order_is_creation_time_then_namespace_then_name(tmp_path: Path) -> None:
    text = _GATEWAY + _route("aaa", "aaa", created="2021-01-01T00:00:00Z") + _route("zzz", "zzz", created="2020-01-01T00:00:00Z")
    [vs] = _convert_text(tmp_path, text).virtual_services
    assert vs.meta.namespace == "zzz"  # the oldest route's namespace, whatever the names say
    assert vs.meta.annotation("internal.istio.io/parents") == "HTTPRoute/zzz.zzz,HTTPRoute/aaa.aaa"
    assert [r.name for r in vs.http] == ["zzz.zzz.0", "aaa.aaa.0"]  # equal precedence: merge order decides


def test_merge_order_compares_names_with_istios_suffix(tmp_path: Path) -> None:
    # istiod compares the per-route names "<route>~<n>~istio-autogenerated-k8s-gateway": "http2~" sorts before "http~"
    [vs] = _convert_text(tmp_path, _GATEWAY + _route("http", "default") + _route("http2", "default")).virtual_services
    assert [r.name for r in vs.http] == ["default.http2.0", "default.http.0"]


def test_a_path_prefix_loses_its_trailing_slash_but_slash_stays(tmp_path: Path) -> None:
    text = _GATEWAY + _route("a", "default", path="/shop/") + _route("b", "default", path="/")
    [vs] = _convert_text(tmp_path, text).virtual_services
    assert [(r.matches[0].uri.kind, r.matches[0].uri.value) for r in vs.http if r.matches[0].uri] == [
        ("prefix", "/shop"),
        ("prefix", "/"),
    ]
