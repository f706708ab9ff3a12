"""The listing rows (listing/views.py): what `gateways`, `vs` and `httproutes` print for each object, and the shapes
the listing cache keeps of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def test_vs_listing_shows_a_delegate_bound_through_its_root() -> None:
    """A hostless VirtualService is a delegate: not bound to mesh, but wherever its roots are."""
    from datetime import datetime, timezone

    from kubectl_meshctl.listing.views import virtual_service_rows

    row = {"name": "d", "namespace": "n", "gateways": [], "hosts": [], "rules": 1, "findings": [], "creationTimestamp": ""}
    mesh = {**row, "name": "m", "hosts": ["m.n.svc.cluster.local"]}
    rows = virtual_service_rows([row, mesh], now=datetime.now(timezone.utc), all_namespaces=False, wide=False)
    assert [r[:3] for r in rows[1:]] == [["d", "<root's>", "<delegate>"], ["m", "mesh", "m.n.svc.cluster.local"]]


# ----------------------------------------------------------------------------- the Gateway API

SCENARIOS = Path(__file__).parent / "fakeapi" / "scenarios"


def _listing(*texts: str, paths: tuple[Path, ...] = (SCENARIOS / "seed.yaml", SCENARIOS / "gateway-api.yaml")) -> Any:
    """The Listing of the fake API server's seed and Gateway API scenarios (as files) plus ``texts``."""
    import tempfile

    from kubectl_meshctl.listing.views import listing_of
    from kubectl_meshctl.sources.files import FileSource

    with tempfile.TemporaryDirectory() as tmp:
        extra = []
        for i, text in enumerate(texts):
            extra.append(Path(tmp) / f"extra-{i}.yaml")
            extra[-1].write_text(text)
        result = FileSource([str(p) for p in (*paths, *extra)]).read()
    assert result.errors == []
    return listing_of(result.snapshot, [])


def test_the_listing_repeats_istios_gateway_name_label_and_group() -> None:
    """views.py repeats them so that rendering a cached listing imports no model: they must stay equal."""
    from kubectl_meshctl.istio import gateway_api
    from kubectl_meshctl.listing import views
    from kubectl_meshctl.resources import kinds

    assert views.GATEWAY_NAME_LABEL == gateway_api.GATEWAY_NAME_LABEL
    assert views.GATEWAY_API == kinds.GATEWAY_API == gateway_api.GATEWAY_API_GROUP


def test_gateway_api_gateways_join_istios_with_their_pods_and_attached_routes() -> None:
    elsewhere = """
apiVersion: v1
kind: Pod
metadata:
  name: web-elsewhere
  namespace: other
  labels:
    gateway.networking.k8s.io/gateway-name: web
status:
  phase: Running
  containerStatuses:
  - name: istio-proxy
    ready: true
"""
    listing = _listing(elsewhere)
    istio, web = listing.gateways
    assert (istio["name"], "apiVersion" in istio) == ("gt-gateway", False)
    assert web == {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "name": "web",
        "namespace": "shop",
        "gatewayClass": "istio",
        "selector": "gateway.networking.k8s.io/gateway-name=web",
        "servers": ["80/HTTP *.example.com", "443/HTTPS shop.example.com (tls Terminate, certificate web-cert)"],
        "addresses": [],
        "pods": {"ready": 1, "total": 1, "names": ["web-istio-7c9d8b6f5-abcde.shop"]},  # not the one in "other"
        "routes": ["GRPCRoute/shop/grpc", "HTTPRoute/shop/store"],
        "creationTimestamp": "",
    }
    assert [(r["kind"], r["namespace"], r["name"]) for r in listing.routes] == [
        ("HTTPRoute", "other", "intruder"),
        ("GRPCRoute", "shop", "grpc"),
        ("HTTPRoute", "shop", "store"),
        ("HTTPRoute", "shop", "typo"),
    ]
    parents = {
        r["name"]: [(p["parentRef"], p["accepted"], p["reason"], p["listeners"]) for p in r["parents"]] for r in listing.routes
    }
    assert parents == {
        "intruder": [("shop/web", False, "NotAllowedByListeners", [])],
        "grpc": [("shop/web/http", True, "Accepted", ["shop/web/http"])],
        "store": [("shop/web", True, "Accepted", ["shop/web/http", "shop/web/https"])],
        "typo": [("shop/web/admin", False, "NoMatchingParent", [])],
    }


def test_a_gateway_of_either_api_sorts_by_namespace_and_name_istios_first() -> None:
    same_name = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gt-gateway
  namespace: default
spec:
  gatewayClassName: other-vendor
  listeners:
  - name: http
    port: 8080
    protocol: HTTP
  addresses:
  - value: 10.0.0.1
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: a-first
  namespace: shop
spec:
  gatewayClassName: istio
"""
    gateways = _listing(same_name).gateways
    assert [(g["namespace"], g["name"], "apiVersion" in g) for g in gateways] == [
        ("default", "gt-gateway", False),
        ("default", "gt-gateway", True),
        ("shop", "a-first", True),
        ("shop", "web", True),
    ]
    vendor = gateways[1]
    assert (vendor["gatewayClass"], vendor["addresses"], vendor["servers"], vendor["routes"]) == (
        "other-vendor",
        ["10.0.0.1"],
        ["8080/HTTP *"],
        [],
    )


def test_without_gateway_api_objects_the_listing_is_what_it_was() -> None:
    listing = _listing(paths=(SCENARIOS / "seed.yaml",))
    assert [sorted(g) for g in listing.gateways] == [
        sorted(("name", "namespace", "selector", "servers", "pods", "virtualServices", "creationTimestamp"))
    ]
    assert listing.routes == ()


def _route(**changes: Any) -> dict[str, Any]:
    route: dict[str, Any] = {
        "kind": "HTTPRoute",
        "apiVersion": "gateway.networking.k8s.io/v1",
        "name": "r",
        "namespace": "n",
        "hostnames": [],
        "parents": [],
        "rules": 1,
        "findings": [{"code": "MSH0000", "level": "Info", "message": "m"}],
        "creationTimestamp": "",
    }
    return {**route, **changes}


def test_route_rows_say_where_each_parent_attached() -> None:
    from datetime import datetime, timezone

    from kubectl_meshctl.listing.views import route_rows

    attached = {"parentRef": "n/gw/http", "accepted": True, "reason": "Accepted", "message": "", "listeners": ["n/gw/http"]}
    refused = {"parentRef": "n/gw:8080", "accepted": False, "reason": "NoMatchingParent", "message": "", "listeners": []}
    items = [
        _route(),
        _route(name="g", kind="GRPCRoute", hostnames=["a.example.com", "b.example.com"], parents=[attached, refused]),
    ]
    now = datetime.now(timezone.utc)
    narrow = route_rows(items, now=now, all_namespaces=True, wide=False)
    assert narrow == [
        ["NAMESPACE", "NAME", "HOSTNAMES", "PARENTS", "RULES", "FINDINGS", "AGE"],
        ["n", "r", "*", "<none>", "1", "none", "<unknown>"],
        ["n", "g", "a.example.com,b.example.com", "n/gw/http Accepted, n/gw:8080 NoMatchingParent", "1", "none", "<unknown>"],
    ]
    wide = route_rows(items, now=now, all_namespaces=False, wide=True)
    assert wide[0] == ["NAME", "HOSTNAMES", "PARENTS", "RULES", "FINDINGS", "AGE", "KIND", "LISTENERS"]
    assert wide[1][4:] == ["1 info", "<unknown>", "HTTPRoute", "<none>"]  # wide: findings of every level
    assert wide[2][-2:] == ["GRPCRoute", "n/gw/http"]


def test_gateway_rows_name_the_routes_column_only_when_a_gateway_api_gateway_is_shown() -> None:
    from datetime import datetime, timezone

    from kubectl_meshctl.listing.views import gateway_rows

    listing = _listing()
    now = datetime.now(timezone.utc)
    istio_only = gateway_rows(list(listing.gateways[:1]), now=now, all_namespaces=False, wide=True)
    assert istio_only[0] == [
        "NAME",
        "SELECTOR",
        "SERVERS",
        "PODS",
        "VIRTUALSERVICES",
        "AGE",
        "POD NAMES",
        "BOUND VIRTUALSERVICES",
    ]
    both = gateway_rows(list(listing.gateways), now=now, all_namespaces=False, wide=True)
    assert both[0] == ["NAME", "SELECTOR", "SERVERS", "PODS", "ROUTES", "AGE", "POD NAMES", "BOUND ROUTES", "CLASS", "ADDRESSES"]
    assert both[1][4] == "1" and both[1][-2:] == ["<none>", "<none>"]
    assert both[2][4] == "2" and both[2][-3:] == ["GRPCRoute/shop/grpc,HTTPRoute/shop/store", "istio", "<none>"]


@pytest.mark.parametrize(
    ("listener", "text"),
    [
        ({"port": 80, "protocol": "HTTP"}, "80/HTTP *"),
        (
            {"port": 443, "protocol": "TLS", "hostname": "a.example.com", "tls_mode": "Passthrough"},
            "443/TLS a.example.com (tls Passthrough)",
        ),
        (
            {
                "port": 443,
                "protocol": "HTTPS",
                "tls_mode": "Terminate",
                "certificate_refs": (("", "Secret", "certs", "c"), ("", "Secret", "", "d")),
            },
            "443/HTTPS * (tls Terminate, certificate certs/c,d)",
        ),
    ],
)
def test_a_listener_reads_as_a_server(listener: dict[str, Any], text: str) -> None:
    from kubectl_meshctl.listing.views import describe_listener
    from kubectl_meshctl.resources.model import Listener

    assert describe_listener(Listener(name="l", **listener)) == text


def test_a_parent_ref_names_its_namespace_section_port_and_any_other_kind() -> None:
    from kubectl_meshctl.listing.views import describe_parent
    from kubectl_meshctl.resources.model import ParentRef

    assert describe_parent(ParentRef("gw"), route_namespace="n") == "n/gw"
    assert describe_parent(ParentRef("gw", namespace="o", section_name="s", port=8080), route_namespace="n") == "o/gw/s:8080"
    assert describe_parent(ParentRef("svc", group="", kind="Service"), route_namespace="n") == "Service/n/svc"


# ----------------------------------------------------------------------------- the cache's shapes


def test_the_cache_keeps_routes_and_gateway_api_gateways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kubectl_meshctl.listing import cache

    monkeypatch.setenv("KUBECACHEDIR", str(tmp_path))
    listing = _listing()
    key = "a" * 40
    cache.store(key, listing)
    assert sorted(p.name for p in cache.cache_dir().iterdir()) == [f"{key}.gateways", f"{key}.virtualServices"]
    assert cache.load(key, part="gateways") == type(listing)(listing.gateways, (), listing.flags, listing.errors)
    assert cache.load(key, part="virtualServices") == type(listing)((), listing.virtual_services, listing.flags, listing.errors)
    assert cache.load(key, part="routes") == type(listing)((), (), listing.flags, listing.errors, listing.routes)
    assert cache.load(key, part="nope") is None


_PARENT = {"parentRef": "n/gw", "accepted": True, "reason": "Accepted", "message": "", "listeners": ["n/gw/l"]}
_KUBE_GATEWAY = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "name": "g",
    "namespace": "n",
    "gatewayClass": "istio",
    "selector": "gateway.networking.k8s.io/gateway-name=g",
    "servers": ["80/HTTP *"],
    "addresses": [],
    "pods": {"ready": 0, "total": 0, "names": []},
    "routes": ["HTTPRoute/n/r"],
    "creationTimestamp": "",
}


@pytest.mark.parametrize(
    ("part", "items", "valid"),
    [
        ("routes", [_route(parents=[_PARENT])], True),
        ("routes", [_route(kind="TCPRoute")], False),
        ("routes", [_route(parents=[{**_PARENT, "accepted": 1}])], False),
        ("routes", [_route(parents=[{k: v for k, v in _PARENT.items() if k != "reason"}])], False),
        ("routes", [_route(parents=[{**_PARENT, "listeners": "n/gw/l"}])], False),
        ("routes", [_route(hostnames=[1])], False),
        ("routes", [_route(rules=True)], False),
        ("routes", [_route(findings=[{"code": "X", "level": "Fatal", "message": ""}])], False),
        ("routes", [{**_route(), "extra": 1}], False),
        ("gateways", [_KUBE_GATEWAY], True),
        ("gateways", [{**_KUBE_GATEWAY, "virtualServices": []}], False),
        ("gateways", [{**_KUBE_GATEWAY, "routes": [5]}], False),
        ("gateways", [{**_KUBE_GATEWAY, "addresses": "10.0.0.1"}], False),
        ("gateways", [{**_KUBE_GATEWAY, "gatewayClass": None}], False),
        ("gateways", [{**_KUBE_GATEWAY, "servers": "80/HTTP *"}], False),
        ("gateways", [{**_KUBE_GATEWAY, "pods": {"ready": 0, "total": 0}}], False),
    ],
)
def test_the_cache_checks_the_shape_of_routes_and_gateway_api_gateways(part: str, items: list[Any], valid: bool) -> None:
    from kubectl_meshctl.listing.cache import _listing as shaped

    entry: dict[str, Any] = {"items": items, "flags": [], "errors": []}
    if part == "routes":
        entry = {"items": [], "flags": [], "errors": [], "routes": items}
    assert (shaped(entry, part) is not None) is valid
    if part == "routes":
        assert shaped({k: v for k, v in entry.items() if k != "routes"}, "routes") is None
        assert shaped(entry, "virtualServices") is not None  # the VirtualServices' part does not read the routes


_CORPUS = Path(__file__).resolve().parent / "realworld"
_GOLDEN = Path(__file__).resolve().parent / "golden"


def test_listings_analyse_without_witnesses_and_show_the_same() -> None:
    """The listings skip witnesses (a tenth of a cold run): the findings, their order and messages, and so every
    listing, are those of the full analysis -- only the witnesses are missing."""
    from dataclasses import replace

    from kubectl_meshctl.analysis import analyze
    from kubectl_meshctl.analysis.report import arrange
    from kubectl_meshctl.listing.views import listing_of
    from kubectl_meshctl.sources.files import FileSource

    inputs = sorted(_CORPUS.glob("*.yaml")) + sorted(_GOLDEN.glob("*/input.yaml"))
    witnessed = 0
    for path in inputs:
        snapshot = FileSource([str(path)]).read().snapshot
        full = arrange(analyze(snapshot))
        lean = arrange(analyze(snapshot, witnesses=False))
        witnessed += sum(f.witness is not None for f in full)
        assert all(f.witness is None for f in lean), path
        assert lean == [replace(f, witness=None) for f in full], path
        assert listing_of(snapshot, lean) == listing_of(snapshot, full), path
    assert witnessed > 20  # the corpus has shadowed rules with witnesses: the comparison means something


@pytest.mark.parametrize(
    ("protocol", "tls", "text"),
    [
        ("HTTPS", {"mode": "SIMPLE", "credential_name": "web"}, "443/HTTPS a.example.com (tls SIMPLE, credential web)"),
        # the API's default mode: istiod passes TLS through whatever certificate is named
        ("HTTPS", {"credential_name": "web"}, "443/HTTPS a.example.com (tls PASSTHROUGH, no mode set, credential web)"),
        ("TLS", {}, "443/TLS a.example.com (tls PASSTHROUGH, no mode set)"),
        ("HTTP", {"https_redirect": True}, "443/HTTP a.example.com (https redirect)"),  # a redirect needs no mode
    ],
)
def test_a_server_is_described_with_the_tls_mode_istiod_uses(protocol: str, tls: dict[str, Any], text: str) -> None:
    from kubectl_meshctl.listing.views import describe_server
    from kubectl_meshctl.resources.model import Server, ServerPort, ServerTLS

    server = Server(0, ServerPort(443, "p", protocol), ("a.example.com",), tls=ServerTLS(**tls))
    assert describe_server(server) == text
