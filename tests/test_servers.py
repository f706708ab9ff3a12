"""MSH0204: a Gateway server that names a TLS credential but no mode (istiod reads PASSTHROUGH, the enum's default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from manifests import gateway, http_rule, to_yaml, virtual_service

from kubectl_meshctl.analysis import analyze
from kubectl_meshctl.istio.translation import GatewayProxy, routes_for_proxy
from kubectl_meshctl.sources.files import FileSource

PROXY = GatewayProxy("gw-pod", "default", (("istio", "ingressgateway"),))


def _server(protocol: str, tls: dict[str, Any] | None) -> dict[str, Any]:
    server: dict[str, Any] = {"port": {"number": 443, "name": "p", "protocol": protocol}, "hosts": ["shop.example.com"]}
    if tls is not None:
        server["tls"] = tls
    return server


def _read(tmp_path: Path, server: dict[str, Any]) -> Any:
    path = tmp_path / "gw.yaml"
    http = [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]
    path.write_text(
        to_yaml(gateway(servers=[*http, server]), virtual_service(hosts=("shop.example.com",), http=[http_rule(to="shop")]))
    )
    return FileSource([str(path)]).read()


def test_a_credential_without_mode_is_reported_at_the_tls_block(tmp_path: Path) -> None:
    result = _read(tmp_path, _server("HTTPS", {"credentialName": "shop-cert"}))
    found = [f for f in analyze(result.snapshot) if f.code == "MSH0204"]
    assert [(f.name, f.field, f.message) for f in found] == [
        (
            "gw",
            "spec.servers[1].tls",
            "Gateway default/gw server port 443 (HTTPS) names TLS credential shop-cert but no TLS mode: istiod passes TLS"
            " through (PASSTHROUGH is the default mode), so the credential is not used and no HTTP route is served there.",
        )
    ]
    line = result.field_line(found[0].origin, found[0].field)
    assert "credentialName: shop-cert" in (tmp_path / "gw.yaml").read_text().splitlines()[line - 1]
    # what the finding claims, in the one model of istiod: the server gets no HTTPS route configuration
    names = [rc.name for rc in routes_for_proxy(result.snapshot, PROXY).route_configurations]
    assert names == ["http.80"]


@pytest.mark.parametrize(
    ("protocol", "tls", "reported"),
    [
        ("TLS", {"credentialName": "shop-cert"}, True),
        ("https", {"credentialName": "shop-cert"}, True),
        ("HTTPS", {"credentialName": "shop-cert", "mode": "SIMPLE"}, False),
        ("HTTPS", {"credentialName": "shop-cert", "mode": "PASSTHROUGH"}, False),  # said so: meant
        ("HTTPS", {}, False),  # no credential: nothing suggests termination was meant
        ("HTTP", {"credentialName": "shop-cert"}, False),  # plaintext: TLS settings play no part
        ("HTTPS", None, False),
    ],
)
def test_reported_only_where_a_credential_goes_unused(tmp_path: Path, protocol: str, tls: Any, reported: bool) -> None:
    result = _read(tmp_path, _server(protocol, tls))
    assert any(f.code == "MSH0204" for f in analyze(result.snapshot)) is reported


def _bound(tmp_path: Path, servers: list[dict[str, Any]], *, gateways: tuple[str, ...] = ("gw",), http: bool = True) -> Any:
    path = tmp_path / "bound.yaml"
    vs = virtual_service(hosts=("shop.example.com",), gateways=gateways, http=[http_rule(to="shop")] if http else ())
    if not http:
        vs["spec"]["tls"] = [{"match": [{"sniHosts": ["shop.example.com"]}], "route": [{"destination": {"host": "shop"}}]}]
    path.write_text(to_yaml(gateway(servers=servers), vs))
    return FileSource([str(path)]).read()


def _port(number: int, protocol: str, tls: dict[str, Any] | None = None) -> dict[str, Any]:
    server: dict[str, Any] = {"port": {"number": number, "name": f"p{number}", "protocol": protocol}, "hosts": ["*"]}
    if tls is not None:
        server["tls"] = tls
    return server


def test_http_rules_bound_only_to_a_passthrough_server(tmp_path: Path) -> None:
    result = _bound(tmp_path, [_port(443, "HTTPS", {"mode": "PASSTHROUGH"}), _port(9000, "TCP")])
    found = [f for f in analyze(result.snapshot) if f.code == "MSH0205"]
    assert [(f.name, f.field, f.message) for f in found] == [
        (
            "vs",
            "spec.http",
            "VirtualService default/vs has http rules, but no server of its gateways is built from http rules"
            " (default/gw port 443: HTTPS PASSTHROUGH uses tls routes, default/gw port 9000: TCP uses tcp routes):"
            " istiod sends none of them.",
        )
    ]
    # the claim, in the one model of istiod: no route configuration holds a route of it
    routes = [
        r for rc in routes_for_proxy(result.snapshot, PROXY).route_configurations for vh in rc.virtual_hosts for r in vh.routes
    ]
    assert not [r for r in routes if r.source.name == "vs"]


@pytest.mark.parametrize(
    ("servers", "gateways", "reported"),
    [
        ([_port(443, "TLS", {"mode": "SIMPLE", "credentialName": "c"})], ("gw",), True),  # TLS terminated for tcp rules
        ([_port(443, "TLS", {"mode": "AUTO_PASSTHROUGH"})], ("gw",), True),
        ([_port(443, "HTTPS", {"credentialName": "c"})], ("gw",), True),  # no mode: PASSTHROUGH
        ([_port(443, "HTTPS", {"mode": "PASSTHROUGH"}), _port(80, "HTTP")], ("gw",), False),
        ([_port(443, "HTTPS", {"mode": "SIMPLE", "credentialName": "c"})], ("gw",), False),
        ([_port(443, "HTTPS", {"mode": "PASSTHROUGH"})], ("gw", "mesh"), False),  # sidecars use them
        ([_port(443, "HTTPS", {"mode": "PASSTHROUGH"})], ("gw", "other"), False),  # other: not in the input
        ([_port(5000, "UDP")], ("gw",), False),  # a protocol istiod builds nothing known from: no verdict
    ],
    ids=["tls-simple", "auto-passthrough", "no-mode", "with-http", "https-simple", "mesh", "unknown-gateway", "udp"],
)
def test_http_rules_without_http_server_only_when_certain(
    tmp_path: Path, servers: list[dict[str, Any]], gateways: tuple[str, ...], reported: bool
) -> None:
    result = _bound(tmp_path, servers, gateways=gateways)
    assert any(f.code == "MSH0205" for f in analyze(result.snapshot)) is reported


def test_tls_rules_at_a_passthrough_server_are_no_http_rules(tmp_path: Path) -> None:
    result = _bound(tmp_path, [_port(443, "HTTPS", {"mode": "PASSTHROUGH"})], http=False)
    assert not any(f.code == "MSH0205" for f in analyze(result.snapshot))


def _msh0103_and_0205(tmp_path: Path, servers: list[dict[str, Any]]) -> list[tuple[str, str]]:
    path = tmp_path / "port.yaml"
    rules = [http_rule({"port": 443, "uri": {"prefix": "/v1"}}, to="v1"), http_rule(to="api")]
    path.write_text(to_yaml(gateway(servers=servers), virtual_service(hosts=("api.example.com",), http=rules)))
    found = analyze(FileSource([str(path)]).read().snapshot)
    return [(f.code, f.message) for f in found if f.code in ("MSH0103", "MSH0205")]


def test_a_match_bound_by_port_to_a_passthrough_server_applies_nowhere(tmp_path: Path) -> None:
    found = _msh0103_and_0205(tmp_path, [_port(80, "HTTP"), _port(443, "HTTPS", {"mode": "PASSTHROUGH"})])
    assert found == [
        (
            "MSH0103",
            "VirtualService rule #0 match #0 applies to none of the VirtualService's gateways (no server of default/gw on"
            " port 443 uses http routes: HTTPS PASSTHROUGH uses tls routes).",
        )
    ]


def test_a_match_bound_by_port_to_a_terminating_server_applies(tmp_path: Path) -> None:
    assert _msh0103_and_0205(tmp_path, [_port(80, "HTTP"), _port(443, "HTTPS", {"mode": "SIMPLE", "credentialName": "c"})]) == []


def test_without_any_http_server_the_virtual_service_is_reported_once(tmp_path: Path) -> None:
    found = _msh0103_and_0205(tmp_path, [_port(443, "HTTPS", {"mode": "PASSTHROUGH"})])
    assert [code for code, _ in found] == ["MSH0205"]


def test_msh0103_speaks_for_the_match_whenever_msh0205_does_not(tmp_path: Path) -> None:
    # bound to a Gateway the input does not hold too: MSH0205 cannot judge the VirtualService, so the match is judged
    path = tmp_path / "partly-known.yaml"
    rules = [http_rule({"port": 443, "gateways": ["gw"], "uri": {"prefix": "/v1"}}, to="v1"), http_rule(to="api")]
    vs = virtual_service(hosts=("api.example.com",), gateways=("gw", "elsewhere"), http=rules)
    path.write_text(to_yaml(gateway(servers=[_port(443, "HTTPS", {"mode": "PASSTHROUGH"})]), vs))
    found = analyze(FileSource([str(path)]).read().snapshot)
    assert [f.code for f in found if f.code in ("MSH0103", "MSH0205")] == ["MSH0103"]


def test_a_server_without_port_changes_neither_verdict(tmp_path: Path) -> None:
    portless = {"hosts": ["*"]}  # istiod builds nothing from it
    found = _msh0103_and_0205(tmp_path, [_port(443, "HTTPS", {"mode": "PASSTHROUGH"}), portless])
    assert [code for code, _ in found] == ["MSH0205"]


def _hosted(number: int, protocol: str, hosts: list[str], tls: dict[str, Any] | None = None) -> dict[str, Any]:
    return {**_port(number, protocol, tls), "hosts": hosts}


@pytest.mark.parametrize(
    ("servers", "codes"),
    [
        # the HTTP server is for other hosts: istiod binds by host, so the rules of shop.example.com reach no proxy
        (
            [_hosted(80, "HTTP", ["other.example.com"]), _hosted(443, "HTTPS", ["shop.example.com"], {"mode": "PASSTHROUGH"})],
            ["MSH0205"],
        ),
        ([_hosted(80, "HTTP", ["*.example.com"]), _hosted(443, "HTTPS", ["shop.example.com"], {"mode": "PASSTHROUGH"})], []),
        ([_hosted(80, "HTTP", ["default/shop.example.com"]), _hosted(443, "HTTPS", ["*"], {"mode": "PASSTHROUGH"})], []),
        # a namespaced host for another namespace serves nothing of it
        ([_hosted(80, "HTTP", ["team/shop.example.com"]), _hosted(443, "HTTPS", ["*"], {"mode": "PASSTHROUGH"})], ["MSH0205"]),
        # no server serves its hosts at all: Istio's IST0132 says so, not MSH0205
        ([_hosted(443, "HTTPS", ["other.example.com"], {"mode": "PASSTHROUGH"})], ["IST0132"]),
    ],
    ids=["http-for-other-hosts", "http-wildcard", "http-namespaced-own", "http-namespaced-other", "no-server-for-hosts"],
)
def test_only_the_servers_of_the_virtual_services_hosts_count(
    tmp_path: Path, servers: list[dict[str, Any]], codes: list[str]
) -> None:
    result = _bound(tmp_path, servers)
    found = analyze(result.snapshot)
    assert [f.code for f in found if f.code in ("MSH0205", "IST0132")] == codes
    # the verdict, in the one model of istiod: routes of the VirtualService exactly where MSH0205 is not reported
    routes = [
        r for rc in routes_for_proxy(result.snapshot, PROXY).route_configurations for vh in rc.virtual_hosts for r in vh.routes
    ]
    assert any(r.source.name == "vs" for r in routes) is (codes == [])


@pytest.mark.parametrize(
    ("servers", "reason"),
    [
        # the only server on 443 is for other hosts: istiod never builds api.example.com's routes there
        (
            [
                _hosted(80, "HTTP", ["api.example.com"]),
                _hosted(443, "HTTPS", ["other.example.com"], {"mode": "SIMPLE", "credentialName": "c"}),
            ],
            "the servers of default/gw on port 443 serve none of its hosts",
        ),
        (
            [
                _hosted(80, "HTTP", ["api.example.com"]),
                _hosted(443, "HTTPS", ["*.example.com"], {"mode": "SIMPLE", "credentialName": "c"}),
            ],
            None,
        ),
        # no server serves its hosts at all: IST0132's to say, not a reason per match
        ([_hosted(80, "HTTP", ["other.example.com"]), _hosted(443, "HTTP", ["other.example.com"])], None),
    ],
    ids=["port-for-other-hosts", "port-for-its-hosts", "no-server-for-its-hosts"],
)
def test_a_port_match_counts_only_the_servers_of_its_hosts(
    tmp_path: Path, servers: list[dict[str, Any]], reason: str | None
) -> None:
    found = _msh0103_and_0205(tmp_path, servers)
    assert [message for code, message in found if code == "MSH0103"] == (
        []
        if reason is None
        else [f"VirtualService rule #0 match #0 applies to none of the VirtualService's gateways ({reason})."]
    )
    # the model of istiod agrees: the port match is in a route configuration exactly when no reason is given
    routes = [
        r
        for rc in routes_for_proxy(FileSource([str(tmp_path / "port.yaml")]).read().snapshot, PROXY).route_configurations
        for vh in rc.virtual_hosts
        for r in vh.routes
    ]
    has_match = any(r.source.name == "vs" and r.source.match_index == 0 and r.source.rule_index == 0 for r in routes)
    assert has_match is (reason is None and servers[0]["hosts"] == ["api.example.com"])
