"""The istiod model against upstream's own expectations (spec/translation.md §13, §14)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from manifests import destination, exact, gateway, http_rule, prefix, to_yaml, virtual_service

from kubectl_meshctl.istio.hosts import host_subset_of, intersect_hosts
from kubectl_meshctl.istio.translation import GatewayProxy, kept_servers, routes_for_proxy
from kubectl_meshctl.resources.model import Snapshot
from kubectl_meshctl.sources.files import FileSource

PROXY = GatewayProxy("gw-pod", "not-default", (("istio", "ingressgateway"),))

GATEWAYS = {
    "gateway-redirect": "hosts: [example.org]\n    port: {name: http, number: 80, protocol: HTTP}\n    tls: {httpsRedirect: true}",
    "gateway-redirect-noroutes": "hosts: [example.org]\n    port: {name: http, number: 80, protocol: HTTP}\n    tls: {httpsRedirect: true}",
    "gateway": "hosts: [example.org]\n    port: {name: http, number: 80, protocol: HTTP}",
    "case-insensitive-gateway": "hosts: [Example.org]\n    port: {name: http, number: 80, protocol: HTTP}",
}
VIRTUAL_SERVICES = {
    "virtual-service": ("[example.org]", "[gateway, gateway-redirect]"),
    "virtual-service-copy": ("[example.org]", "[gateway, gateway-redirect]"),
    "virtual-service-case-insensitive": ("[Example.org]", "[case-insensitive-gateway, gateway-redirect]"),
    "virtual-service-wildcard": ('["*.org"]', "[gateway, gateway-redirect]"),
}


def _snapshot(tmp_path, gateways: list[str], virtual_services: list[str], extra: str = "") -> Snapshot:  # type: ignore[no-untyped-def]
    docs = []
    for i, name in enumerate(gateways):
        docs.append(
            f"apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {{name: {name}, namespace: default, "
            f"creationTimestamp: '2020-01-01T00:00:0{i}Z'}}\nspec:\n  selector: {{istio: ingressgateway}}\n  servers:\n  - "
            + GATEWAYS[name]
        )
    for i, name in enumerate(virtual_services):
        hosts, gws = VIRTUAL_SERVICES[name]
        docs.append(
            f"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: {name}, namespace: default, "
            f"creationTimestamp: '2020-01-01T00:00:0{i}Z'}}\nspec:\n  hosts: {hosts}\n  gateways: {gws}\n"
            "  http:\n  - route:\n    - destination: {host: example.org, port: {number: 80}}"
        )
    path = tmp_path / "in.yaml"
    path.write_text("\n---\n".join(docs) + ("\n---\n" + textwrap.dedent(extra) if extra else ""))
    result = FileSource([str(path)]).read()
    assert not result.errors, result.errors
    return result.snapshot


# (gateways, virtual services, vhost name, domains, number of routes, require_tls) from TestGatewayHTTPRouteConfig
CASES = [
    (["gateway"], [], "blackhole:80", ["*"], 0, False),
    (["gateway-redirect-noroutes"], ["virtual-service"], "example.org:80", ["example.org"], 0, True),
    (["gateway-redirect"], ["virtual-service"], "example.org:80", ["example.org"], 1, True),
    (["gateway-redirect", "gateway"], ["virtual-service", "virtual-service-copy"], "example.org:80", ["example.org"], 4, True),
    (["gateway", "gateway-redirect"], ["virtual-service", "virtual-service-copy"], "example.org:80", ["example.org"], 4, True),
    (
        ["gateway", "gateway-redirect-noroutes"],
        ["virtual-service", "virtual-service-copy"],
        "example.org:80",
        ["example.org"],
        2,
        True,
    ),
    (
        ["gateway-redirect-noroutes", "gateway"],
        ["virtual-service", "virtual-service-copy"],
        "example.org:80",
        ["example.org"],
        2,
        True,
    ),
    (["gateway"], ["virtual-service"], "example.org:80", ["example.org"], 1, False),
    (["gateway"], ["virtual-service", "virtual-service-copy"], "example.org:80", ["example.org"], 2, False),
    (
        ["gateway", "case-insensitive-gateway"],
        ["virtual-service", "virtual-service-case-insensitive"],
        "example.org:80",
        ["example.org"],
        2,
        False,
    ),
    (["gateway"], ["virtual-service", "virtual-service-wildcard"], "example.org:80", ["example.org"], 2, False),
]


@pytest.mark.parametrize(("gateways", "vss", "vhost", "domains", "routes", "tls"), CASES)
def test_gateway_http_route_config(tmp_path, gateways, vss, vhost, domains, routes, tls) -> None:  # type: ignore[no-untyped-def]
    result = routes_for_proxy(_snapshot(tmp_path, gateways, vss), PROXY)
    assert [rc.name for rc in result.route_configurations] == ["http.80"]
    (vh,) = result.route_configurations[0].virtual_hosts
    assert (vh.name, vh.domains, len(vh.routes), vh.require_tls) == (vhost, domains, routes, tls)


def test_port_translation_and_seed_truncation() -> None:
    seed = FileSource(["examples/seed.yaml"]).read().snapshot
    service = FileSource(["-"], stdin=_Stdin(DEFAULT_PROFILE_SERVICE)).read().snapshot
    snapshot = Snapshot(gateways=seed.gateways, virtual_services=seed.virtual_services, services=service.services)
    proxy = GatewayProxy("istio-ingressgateway-1", "istio-system", (("app", "istio-ingressgateway"), ("istio", "ingressgateway")))
    result = routes_for_proxy(snapshot, proxy)
    (rc,) = result.route_configurations
    assert rc.name == "http.8080"
    (vh,) = rc.virtual_hosts
    assert (vh.name, vh.domains) == ("*:80", ["*"])
    assert [r.action.clusters for r in vh.routes] == [(("outbound|9000||bk-gateway.default.svc.cluster.local", 0),)]
    assert [(t.source.rule_index, t.by.source.rule_index) for t in result.truncations] == [(1, 0)]


def test_catch_all_of_older_vs_moves_behind_newer_routes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "merge.yaml"
    path.write_text(MERGE)
    snapshot = FileSource([str(path)]).read().snapshot
    result = routes_for_proxy(snapshot, GatewayProxy("p", "istio-system", (("istio", "ingressgateway"),)))
    names = {rc.name: [r.match.describe() for vh in rc.virtual_hosts for r in vh.routes] for rc in result.route_configurations}
    assert names == {
        "http.80": ["exact /hello", "prefix /"],
        "https.443.https.web-api-gateway.istio-system": ["exact /hello", "prefix /"],
    }


def test_export_to_dot_hides_vs_from_gateway_pod_namespace(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "merge.yaml"
    older_only = MERGE.split("---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: helloworld")[0]
    path.write_text(
        older_only.replace(
            "  hosts: [istioinaction.io]\n  gateways: [istio-system/web-api-gateway]\n  http:\n  - route",
            "  hosts: [istioinaction.io]\n  gateways: [istio-system/web-api-gateway]\n  exportTo: ['.']\n  http:\n  - route",
        )
    )
    snapshot = FileSource([str(path)]).read().snapshot
    result = routes_for_proxy(snapshot, GatewayProxy("p", "istio-system", (("istio", "ingressgateway"),)))
    vhosts = {rc.name: [(vh.name, len(vh.routes)) for vh in rc.virtual_hosts] for rc in result.route_configurations}
    assert vhosts == {"http.80": [("blackhole:80", 0)], "https.443.https.web-api-gateway.istio-system": [("blackhole:443", 0)]}


class _Stdin:
    def __init__(self, text: str) -> None:
        self.text = text

    def read(self) -> str:
        return self.text


DEFAULT_PROFILE_SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  selector: {app: istio-ingressgateway, istio: ingressgateway}
  ports:
  - {name: status-port, port: 15021, targetPort: 15021, protocol: TCP}
  - {name: http2, port: 80, targetPort: 8080, protocol: TCP}
  - {name: https, port: 443, targetPort: 8443, protocol: TCP}
"""

MERGE = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web-api-gateway, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [istioinaction.io]
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: cert}
    hosts: [istioinaction.io]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web-api-gw-vs, namespace: istioinaction, creationTimestamp: "2024-01-01T00:00:00Z"}
spec:
  hosts: [istioinaction.io]
  gateways: [istio-system/web-api-gateway]
  http:
  - route:
    - destination: {host: web-api.istioinaction.svc.cluster.local, port: {number: 80}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: helloworld, namespace: istioinaction, creationTimestamp: "2024-01-02T00:00:00Z"}
spec:
  hosts: [istioinaction.io]
  gateways: [istio-system/web-api-gateway]
  http:
  - match: [{uri: {exact: /hello}}]
    route:
    - destination: {host: helloworld, port: {number: 5000}}
"""


def _pod(name: str, labels: str) -> str:
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: istio-system, labels: {{{labels}}}}}\n"
        "spec: {containers: [{name: istio-proxy}]}\nstatus: {phase: Running}\n"
    )


def _gateway_and_vs(source_labels: dict[str, str]) -> str:
    rules = [http_rule({"sourceLabels": source_labels})]
    return to_yaml(gateway(namespace="istio-system"), virtual_service(namespace="istio-system", http=rules))


@pytest.mark.parametrize(
    ("source_labels", "proxies"),
    [
        ({"version": "v1"}, 1),  # the pods differ only in pod-template-hash: istiod sends both the same routes
        ({"pod-template-hash": "aaa"}, 2),  # a sourceLabels match looks at it: two configurations
    ],
)
def test_gateway_pods_differing_only_in_unselected_labels_are_one_proxy(tmp_path, source_labels, proxies) -> None:  # type: ignore[no-untyped-def]
    from kubectl_meshctl.analysis.reachability import gateway_proxies

    path = tmp_path / "in.yaml"
    pods = [
        _pod("gw-a", "istio: ingressgateway, pod-template-hash: aaa"),
        _pod("gw-b", "istio: ingressgateway, pod-template-hash: bbb"),
    ]
    path.write_text("---\n".join([_gateway_and_vs(source_labels), *pods]))
    found = gateway_proxies(FileSource([str(path)]).read().snapshot)
    assert len(found) == proxies
    assert found[0].name == "gw-a"


def test_a_match_for_another_port_is_dropped_from_the_route_configuration(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """istiod keeps a match only where its ``port`` is the port of the server being built (translation.md §6.1)."""
    path = tmp_path / "port.yaml"
    rules = [http_rule({"port": 8443, "uri": {"prefix": "/"}}, exact("/kept"), to="a"), http_rule(to="b")]
    path.write_text(to_yaml(gateway(), virtual_service(http=rules)))
    snapshot = FileSource([str(path)]).read().snapshot
    result = routes_for_proxy(snapshot, PROXY)
    names = {rc.name: [r.match.describe() for vh in rc.virtual_hosts for r in vh.routes] for rc in result.route_configurations}
    assert names == {"http.80": ["exact /kept", "prefix /"]}


@pytest.mark.parametrize(
    ("tls", "route_configurations"),
    [
        ({"mode": "SIMPLE", "credentialName": "cert"}, ["http.80", "https.443.https.gw.default"]),
        ({"mode": "MUTUAL", "credentialName": "cert"}, ["http.80", "https.443.https.gw.default"]),
        # no mode: PASSTHROUGH, the API's default -- istiod builds no HTTPS route configuration (istio#40511)
        ({"credentialName": "cert"}, ["http.80"]),
        ({"mode": "PASSTHROUGH"}, ["http.80"]),
    ],
    ids=["simple", "mutual", "no-mode", "passthrough"],
)
def test_an_https_server_terminates_only_with_a_terminating_mode(tmp_path, tls, route_configurations) -> None:  # type: ignore[no-untyped-def]
    servers = [
        {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]},
        {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["*"], "tls": tls},
    ]
    path = tmp_path / "https.yaml"
    path.write_text(to_yaml(gateway(servers=servers), virtual_service(http=[http_rule(to="a")])))
    result = routes_for_proxy(FileSource([str(path)]).read().snapshot, PROXY)
    assert [rc.name for rc in result.route_configurations] == route_configurations


@pytest.mark.parametrize(
    ("narrowing", "kept"),
    [  # what in a match says where it applies (translation.md §6.1); PROXY runs in not-default, labelled istio=ingressgateway
        ({"sourceNamespace": "elsewhere"}, False),
        ({"sourceNamespace": "not-default"}, True),
        ({"sourceLabels": {"istio": "other"}}, False),
        ({"sourceLabels": {"istio": "ingressgateway"}}, True),
        ({"gateways": ["default/other-gateway"]}, False),
        ({"gateways": ["gw"]}, True),
        ({"port": 8443}, False),
        ({"port": 80}, True),
    ],
)
def test_a_match_is_kept_only_where_what_it_names_holds(tmp_path, narrowing, kept) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "narrowed.yaml"
    rules = [http_rule({**narrowing, "uri": {"exact": "/narrowed"}}, to="a"), http_rule(to="b")]
    path.write_text(to_yaml(gateway(), virtual_service(http=rules)))
    snapshot = FileSource([str(path)]).read().snapshot
    result = routes_for_proxy(snapshot, PROXY)
    paths = [r.match.describe() for rc in result.route_configurations for vh in rc.virtual_hosts for r in vh.routes]
    assert paths == (["exact /narrowed", "prefix /"] if kept else ["prefix /"])


@pytest.mark.parametrize(
    ("server_hosts", "vs_hosts", "expected"),
    [  # the examples of Istio's host.Names.Intersection
        (("foo.com", "bar.com"), ("*.com",), ["foo.com", "bar.com"]),
        (("foo.com", "*.net"), ("*.com", "bar.net"), ["foo.com", "bar.net"]),
        (("foo.com", "*.net"), ("*.bar.net",), ["*.bar.net"]),
        (("foo.com",), ("bar.com",), []),
        ((), ("bar.com",), []),
    ],
)
def test_server_and_virtual_service_hosts_intersect_as_istio(
    server_hosts: tuple[str, ...], vs_hosts: tuple[str, ...], expected: list[str]
) -> None:
    assert intersect_hosts(server_hosts, vs_hosts) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("a.foo.com", "*.foo.com", True),
        ("*.a.foo.com", "*.foo.com", True),
        ("*.foo.com", "*.a.foo.com", False),
        ("foo.com", "*.foo.com", False),
        ("a.com", "*", True),
        ("*", "a.com", False),
        ("a.com", "a.com", True),
        ("*.com", "a.com", False),
    ],
)
def test_host_subset_of(a: str, b: str, expected: bool) -> None:
    assert host_subset_of(a, b) is expected


def test_a_virtual_service_generated_from_the_gateway_api_gets_path_separated_prefixes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """istiod's ``TranslateRouteMatch``: with ``internal.istio.io/route-semantics: gateway`` a prefix other than ``/``
    becomes ``path_separated_prefix`` without its trailing ``/`` (the golden dump
    testdata/istio/routes/k8s-gateway-http-route-path-prefix has ``path_separated_prefix: /get``)."""
    rules = [http_rule(prefix("/get/"), to="a"), http_rule(prefix("/"), to="b")]
    generated = virtual_service("g", http=rules, annotations={"internal.istio.io/route-semantics": "gateway"})
    plain = virtual_service("p", hosts=["plain.example"], http=rules)
    path = tmp_path / "vs.yaml"
    path.write_text(to_yaml(gateway(), generated, plain))
    snapshot = FileSource([str(path)]).read().snapshot
    (rc,) = routes_for_proxy(snapshot, GatewayProxy("p", "istio-system", (("istio", "ingressgateway"),))).route_configurations
    by_vhost = {
        vh.name: [(r.match.path.kind, r.match.path.value, r.match.path.case_sensitive) for r in vh.routes]
        for vh in rc.virtual_hosts
    }
    assert by_vhost["*:80"] == [("path_separated_prefix", "/get", True), ("prefix", "/", True)]
    assert by_vhost["plain.example:80"] == [("prefix", "/get/", True), ("prefix", "/", True)]


def test_rules_share_an_action_only_when_it_is_the_same(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Route actions are shared by content: the same clusters with another timeout, or split over two destinations
    (istiod writes weighted_clusters then, even with one weight at 0), are other actions."""
    from manifests import destination

    rules = [
        http_rule(exact("/a"), to="a"),
        http_rule(exact("/b"), to="a"),
        http_rule(exact("/slow"), to="a", timeout="5s"),
        http_rule(exact("/split"), to=[destination("a", weight=100), destination("b", weight=0)]),
        http_rule(exact("/alone"), to=[destination("a", weight=100)]),
    ]
    path = tmp_path / "actions.yaml"
    path.write_text(to_yaml(gateway(), virtual_service(http=rules)))
    [rc] = routes_for_proxy(FileSource([str(path)]).read().snapshot, PROXY).route_configurations
    actions = {r.match.describe(): r.action for vh in rc.virtual_hosts for r in vh.routes}
    cluster = "outbound|80||a.default.svc.cluster.local"
    assert actions["exact /a"] is actions["exact /b"]  # one object for one action
    assert (actions["exact /a"].clusters, actions["exact /a"].timeout, actions["exact /a"].weighted) == (
        ((cluster, 0),),
        "0s",
        False,
    )
    assert (actions["exact /slow"].timeout, actions["exact /slow"].clusters) == ("5s", actions["exact /a"].clusters)
    assert actions["exact /split"].weighted and actions["exact /split"].clusters == ((cluster, 100),)
    assert not actions["exact /alone"].weighted and actions["exact /alone"].clusters == ((cluster, 100),)


def _verdicts(snapshot: Snapshot, *, actions: bool) -> tuple[object, ...]:
    from kubectl_meshctl.analysis.reachability import compute_reachability
    from kubectl_meshctl.istio.translation import written_at

    reach = compute_reachability(snapshot, witnesses=True, actions=actions)
    o = reach.outcomes
    killers = {key: (written_at(killer), killer.match, killer.certain) for key, killer in o.dead.items()}
    return o.alive, killers, o.witnesses, reach.served, reach.shared_hosts


_ACTION_BLIND_INPUTS = sorted(
    [
        *Path(__file__).parent.joinpath("realworld").glob("*.yaml"),
        *Path(__file__).parent.joinpath("golden").glob("*/input.yaml"),
        Path(__file__).parent.parent / "examples" / "seed.yaml",
    ]
)


@pytest.mark.parametrize("path", _ACTION_BLIND_INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_analysis_verdicts_do_not_depend_on_where_routes_send_requests(path: Path) -> None:
    # The analysis builds its routes without their actions (NOT_WORKED_OUT): every verdict, killer and witness must
    # be what the routes with their real actions give.
    from kubectl_meshctl.istio.gateway_api import with_gateway_api

    snapshot = with_gateway_api(FileSource([str(path)]).read().snapshot)
    assert _verdicts(snapshot, actions=False) == _verdicts(snapshot, actions=True)


# --------------------------------------------------------------------------- mergeGateways (translation.md §3)


def _https(name: str, *hosts: str) -> dict[str, object]:
    tls = {"mode": "SIMPLE", "credentialName": "cert"}
    return {"port": {"number": 443, "name": name, "protocol": "HTTPS"}, "hosts": list(hosts), "tls": tls}


def _route_configurations(tmp_path: Path, *docs: object, proxy: GatewayProxy = PROXY, extra: str = "") -> list[str]:
    path = tmp_path / "merge.yaml"
    path.write_text(to_yaml(*docs) + extra)
    result = FileSource([str(path)]).read()
    assert not result.errors, result.errors
    return [rc.name for rc in routes_for_proxy(result.snapshot, proxy).route_configurations]


def test_a_tls_server_repeating_a_host_of_an_earlier_one_on_the_port_is_dropped_whole(tmp_path: Path) -> None:
    names = _route_configurations(
        tmp_path,
        gateway("gw-a", servers=[_https("https", "shop.example.com")]),
        gateway("gw-b", servers=[_https("https", "extra.example.com", "shop.example.com")]),  # one host repeated: all gone
        gateway("gw-c", servers=[_https("https", "other.example.com")]),
        virtual_service(hosts=["*"], gateways=["gw-a", "gw-b", "gw-c"], http=[http_rule(to="a")]),
    )
    assert names == ["https.443.https.gw-a.default", "https.443.https.gw-c.default"]


def test_a_route_configuration_name_already_used_keeps_its_first_server(tmp_path: Path) -> None:
    """Port names are unique within a Gateway (validation), so only a file can hold this: the second server is
    dropped, its host with it."""
    servers = [_https("https", "a.example.com"), _https("https", "b.example.com")]
    path = tmp_path / "same-name.yaml"
    path.write_text(to_yaml(gateway("gw", servers=servers), virtual_service(hosts=["*"], http=[http_rule(to="a")])))
    result = routes_for_proxy(FileSource([str(path)]).read().snapshot, PROXY)
    assert [(rc.name, [vh.domains for vh in rc.virtual_hosts]) for rc in result.route_configurations] == [
        ("https.443.https.gw.default", [["a.example.com"]])
    ]


GATEWAY_SERVICE = """
---
apiVersion: v1
kind: Service
metadata: {{name: ingress, namespace: not-default{labels}}}
spec:
  selector: {{istio: ingressgateway}}
  ports: [{{name: http, port: 80, targetPort: 8080}}]
"""


@pytest.mark.parametrize(
    ("labels", "names"),
    [
        ("", ["http.8080", "http.8081"]),  # the Service sends port 80 to 8080: the listener is 8080
        # translation switched off by the label too (not only the annotation): 80 stays 80, which an unprivileged
        # proxy cannot bind
        (", labels: {experimental.istio.io/disable-gateway-port-translation: 'true'}", ["http.8081"]),
    ],
)
def test_an_unprivileged_proxy_keeps_only_servers_it_can_listen_for(tmp_path: Path, labels: str, names: list[str]) -> None:
    http = [{"port": {"number": n, "name": f"http-{n}", "protocol": "HTTP"}, "hosts": ["*"]} for n in (80, 8081)]
    unprivileged = GatewayProxy(PROXY.name, PROXY.namespace, PROXY.labels, unprivileged=True)
    docs = (gateway("gw", servers=http), virtual_service(hosts=["*"], http=[http_rule(to="a")]))
    assert _route_configurations(tmp_path, *docs, proxy=unprivileged, extra=GATEWAY_SERVICE.format(labels=labels)) == names


def _service(name: str, ports: str, *, labels: str = "", ts: str = "2020-01-01T00:00:00Z") -> str:
    return f"""
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: not-default, creationTimestamp: '{ts}'{labels}}}
spec:
  selector: {{istio: ingressgateway}}
  ports: {ports}
"""


@pytest.mark.parametrize("labelled_first", [True, False])
def test_disable_port_translation(tmp_path: Path, labelled_first: bool) -> None:
    """Istio's TestDisablePortTranslation (translation.md §13): the labelled Service's 80 -> 8081 is not read, the
    other's 80 -> 8080 is, whichever was created first."""
    off = ", labels: {experimental.istio.io/disable-gateway-port-translation: 'true'}"
    first, second = "2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z"
    labelled = _service("labelled", "[{port: 80, targetPort: 8081}]", labels=off, ts=first if labelled_first else second)
    plain = _service("plain", "[{port: 80, targetPort: 8080}]", ts=second if labelled_first else first)
    servers = {80: "gateway80", 8081: "gateway8081"}
    docs = [
        gateway(name, servers=[{"port": {"number": n, "name": "http", "protocol": "HTTP"}, "hosts": ["example.com"]}])
        for n, name in servers.items()
    ]
    docs += [
        virtual_service(
            name, hosts=["example.com"], gateways=list(servers.values()), http=[http_rule(to=[destination(name, port=port)])]
        )
        for name, port in (("a", 80), ("b", 8081))
    ]
    path = tmp_path / "disable.yaml"
    path.write_text(to_yaml(*docs) + labelled + plain)
    result = routes_for_proxy(FileSource([str(path)]).read().snapshot, PROXY)
    found = {
        rc.name: [(vh.name, vh.routes[0].action.clusters[0][0]) for vh in rc.virtual_hosts] for rc in result.route_configurations
    }
    assert found == {
        "http.8080": [("example.com:80", "outbound|80||a.default.svc.cluster.local")],
        "http.8081": [("example.com:8081", "outbound|80||a.default.svc.cluster.local")],
    }


def test_the_first_service_port_naming_the_gateway_port_decides_the_listener(tmp_path: Path) -> None:
    ports = "[{name: tcp, port: 80, targetPort: 8080}, {name: udp, port: 80, protocol: UDP, targetPort: 9090}]"
    http = [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]
    docs = (gateway("gw", servers=http), virtual_service(hosts=["*"], http=[http_rule(to="a")]))
    assert _route_configurations(tmp_path, *docs, extra=_service("ingress", ports)) == ["http.8080"]


def _kept(tmp_path: Path, *docs: object) -> list[tuple[str, tuple[str, ...]]]:
    path = tmp_path / "kept.yaml"
    path.write_text(to_yaml(*docs))
    snapshot = FileSource([str(path)]).read().snapshot
    gateways = sorted(snapshot.gateways, key=lambda g: g.meta.name)  # creation order: no timestamps, so by name
    return [(k.gateway.meta.name, k.hosts) for k in kept_servers(snapshot, PROXY, gateways=gateways)]


def test_a_server_with_a_taken_https_route_name_is_dropped_whole(tmp_path: Path) -> None:
    """Not only from the route configuration: istiod skips the server, so no filter chain serves its hosts."""
    servers = [_https("https", "a.example.com"), _https("https", "b.example.com")]
    assert _kept(tmp_path, gateway("gw", servers=servers)) == [("gw", ("a.example.com",))]


def test_tls_hosts_count_as_known_even_for_a_server_dropped_for_its_protocol(tmp_path: Path) -> None:
    """istiod checks a TLS-bearing server's hosts before its protocol: a TLS server dropped from an HTTP port still
    makes a later server repeating its host a duplicate."""
    http = {"port": {"number": 443, "name": "http", "protocol": "HTTP"}, "hosts": ["a.example.com"]}
    tls = {"port": {"number": 443, "name": "tls", "protocol": "TLS"}, "hosts": ["x.example.com"], "tls": {"mode": "PASSTHROUGH"}}
    redirect = {
        "port": {"number": 443, "name": "http", "protocol": "HTTP"},
        "hosts": ["x.example.com"],
        "tls": {"httpsRedirect": True},
    }
    docs = (gateway("gw-a", servers=[http]), gateway("gw-b", servers=[tls]), gateway("gw-c", servers=[redirect]))
    assert _kept(tmp_path, *docs) == [("gw-a", ("a.example.com",))]


def test_a_bound_server_gets_its_bind_in_the_route_configuration_name(tmp_path: Path) -> None:
    """translation.md §2.2: ``"." + bind`` is appended to either form."""
    http = {"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": ["*"], "bind": "10.0.0.1"}
    https = dict(_https("https", "a.example.com"), bind="10.0.0.1")
    docs = (gateway("gw", servers=[http, https]), virtual_service(hosts=["*"], http=[http_rule(to="a")]))
    assert _route_configurations(tmp_path, *docs) == ["http.8080.10.0.0.1", "https.443.https.gw.default.10.0.0.1"]


# istiod's mergeGateways on ports whose servers differ in protocol or bind (pilot/pkg/model/gateway.go): the first
# server on a listener port -- whatever its bind -- decides how every later one is merged.


def _server(port: int, protocol: str, *hosts: str, bind: str = "", tls: dict[str, object] | None = None) -> dict[str, object]:
    out: dict[str, object] = {"port": {"number": port, "name": protocol.lower(), "protocol": protocol}, "hosts": list(hosts)}
    if bind:
        out["bind"] = bind
    if tls is not None:
        out["tls"] = tls
    return out


def _configurations(tmp_path: Path, *docs: dict[str, object]) -> list[tuple[str, list[tuple[str, int]]]]:
    """Each predicted route configuration: its name, and its virtual hosts with their route counts."""
    path = tmp_path / "configs.yaml"
    path.write_text(to_yaml(*docs))
    configs = routes_for_proxy(FileSource([str(path)]).read().snapshot, PROXY).route_configurations
    return [(rc.name, [(vh.name, len(vh.routes)) for vh in rc.virtual_hosts]) for rc in configs]


def test_an_http_server_on_a_port_whose_first_server_is_tls_asks_for_an_unnamed_route_configuration(tmp_path: Path) -> None:
    """Kept on its own bind, but in a merged entry istiod gives no name: its chain asks for route configuration "",
    which no server is filed under, so istiod answers it without a virtual host (404 for every request)."""
    http = _server(443, "HTTP", "*", bind="10.0.0.1")
    docs = (
        gateway("gw-a", servers=[_https("https", "a.example.com")]),
        gateway("gw-b", servers=[http]),
        virtual_service(hosts=["*"], gateways=["gw-b"], http=[http_rule(to="a")]),
    )
    assert _configurations(tmp_path, *docs) == [("https.443.https.gw-a.default", [("blackhole:443", 0)]), ("", [])]
    assert _kept(tmp_path, *docs) == [("gw-a", ("a.example.com",)), ("gw-b", ("*",))]


def test_the_unnamed_route_configuration_is_built_from_the_servers_filed_under_it(tmp_path: Path) -> None:
    """A TCP server on another bind than the first (plaintext) server of its port is filed under "" in istiod's
    ServersByRouteName; a chain asking for "" then gets the http routes bound to that server's Gateway."""
    docs = (
        gateway("gw-a", servers=[_server(80, "HTTP", "*")]),
        gateway("gw-b", servers=[_server(80, "TCP", "shop.example.com", bind="10.0.0.1")]),
        gateway("gw-c", servers=[_https("https", "a.example.com")]),
        gateway("gw-d", servers=[_server(443, "HTTP", "*")]),
        virtual_service(hosts=["shop.example.com"], gateways=["gw-b"], http=[http_rule(to="a")]),
    )
    assert _configurations(tmp_path, *docs) == [
        ("http.80", [("blackhole:80", 0)]),
        ("https.443.https.gw-c.default", [("blackhole:443", 0)]),
        ("", [("shop.example.com:80", 1)]),
    ]


@pytest.mark.parametrize(
    ("later", "kept"),
    [
        # a server without TLS settings is kept on the TLS side only while its bind is new there
        ([_server(443, "TCP", "*")], ["gw-a", "gw-b"]),
        ([_https("https", "b.example.com"), _server(443, "TCP", "*")], ["gw-a", "gw-b"]),
        ([_https("https", "b.example.com"), _server(443, "TCP", "*", bind="10.0.0.1")], ["gw-a", "gw-b", "gw-c"]),
        ([_server(443, "HTTP", "*")], ["gw-a", "gw-b"]),
        ([_https("https", "b.example.com"), _server(443, "HTTP", "*")], ["gw-a", "gw-b"]),
    ],
)
def test_later_servers_on_a_port_whose_first_server_is_tls(
    tmp_path: Path, later: list[dict[str, object]], kept: list[str]
) -> None:
    docs = [gateway("gw-a", servers=[_https("https", "a.example.com")])]
    docs += [gateway(f"gw-{chr(ord('b') + i)}", servers=[s]) for i, s in enumerate(later)]
    assert [name for name, _ in _kept(tmp_path, *docs)] == kept


def _taken_route_name() -> tuple[dict[str, object], ...]:
    """HTTPS gw-a and gw-b on 443, then HTTP gw-c (no TLS settings) and gw-d (an HTTPS redirect) on 443 too."""
    redirect = _server(443, "HTTP", "d.example.com", tls={"httpsRedirect": True})
    return (
        gateway("gw-a", servers=[_https("https", "a.example.com")]),
        gateway("gw-b", servers=[_https("https", "b.example.com")]),
        gateway("gw-c", servers=[_server(443, "HTTP", "c.example.com")]),
        gateway("gw-d", servers=[redirect]),
    )


def test_a_route_name_taken_by_a_dropped_server_drops_a_later_one(tmp_path: Path) -> None:
    """HTTP gw-c is dropped (no TLS settings, bind already used on the TLS side) after it took http.443: the redirect
    server of gw-d, which has TLS settings and would pass the bind check, is dropped for the name."""
    docs = _taken_route_name()
    assert [name for name, _ in _kept(tmp_path, *docs)] == ["gw-a", "gw-b"]
    without_c = (docs[0], docs[1], docs[3])
    assert [name for name, _ in _kept(tmp_path, *without_c)] == ["gw-a", "gw-b", "gw-d"]


def test_servers_on_another_bind_than_a_plaintext_first_server_are_not_compared(tmp_path: Path) -> None:
    """istiod compares a later server with the port's first server only when their binds are equal: on 10.0.0.1 an
    HTTP server and then a TLS one are both kept (their listener: an SNI chain and a plain HTTP chain)."""
    tls = _server(80, "TLS", "t.example.com", bind="10.0.0.1", tls={"mode": "PASSTHROUGH"})
    docs = (
        gateway("gw-a", servers=[_server(80, "HTTP", "*")]),
        gateway("gw-b", servers=[_server(80, "HTTP", "*", bind="10.0.0.1")]),
        gateway("gw-c", servers=[tls]),
        gateway("gw-d", servers=[_server(80, "TCP", "*")]),  # the first's bind: compared, and dropped
    )
    assert [name for name, _ in _kept(tmp_path, *docs)] == ["gw-a", "gw-b", "gw-c"]


def test_a_tcp_server_read_for_the_unnamed_route_configuration_is_no_unserved_http_server(tmp_path: Path) -> None:
    """MSH0201 is about HTTP servers: the TCP server istiod files under "" gets no finding when nothing routes there."""
    from kubectl_meshctl.analysis import analyze

    docs = (
        gateway("gw-a", servers=[_server(80, "HTTP", "*")]),
        gateway("gw-b", servers=[_server(80, "TCP", "shop.example.com", bind="10.0.0.1")]),
        gateway("gw-c", servers=[_https("https", "a.example.com")]),
        gateway("gw-d", servers=[_server(443, "HTTP", "*")]),
    )
    path = tmp_path / "unserved.yaml"
    path.write_text(to_yaml(*docs))
    unserved = sorted(f.name for f in analyze(FileSource([str(path)]).read().snapshot) if f.code == "MSH0201")
    assert unserved == ["gw-a", "gw-c"]


# MSH0206: what the merge loses, reported where it is lost at every pod


def _ingress_pod(name: str, **labels: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "istio-system", "labels": {"istio": "ingressgateway", **labels}},
        "spec": {"containers": [{"name": "istio-proxy"}]},
    }


def _msh0206(tmp_path: Path, *docs: dict[str, object]) -> list[str]:
    from kubectl_meshctl.analysis import analyze

    path = tmp_path / "lost.yaml"
    path.write_text(to_yaml(*docs))
    result = FileSource([str(path)]).read()
    assert not result.errors, result.errors
    return sorted(f"{f.name}: {f.message}" for f in analyze(result.snapshot) if f.code == "MSH0206")


def test_msh0206_is_what_docs_codes_md_shows(tmp_path: Path) -> None:
    doc = (Path(__file__).parent.parent / "docs" / "codes.md").read_text()
    section = doc.split("## MSH0206", 1)[1].split("\n## ", 1)[0]
    example, printed = section.split("```yaml\n", 1)[1].split("\n```\n\n```\n", 1)
    expected = printed.split("\n```", 1)[0].splitlines()
    (tmp_path / "msh0206.yaml").write_text(example + "\n")
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "kubectl_meshctl", "analyze", "-f", "msh0206.yaml"], capture_output=True, text=True, cwd=tmp_path
    )
    assert [line for line in done.stdout.splitlines() if "MSH0206" in line] == expected


def test_a_server_lost_at_one_pod_but_kept_at_another_is_served(tmp_path: Path) -> None:
    """web-gw (first by name) selects only zone-a pods; legacy-gw's TCP server loses port 80 there, not at zone b."""
    web = gateway("a-web", selector={"istio": "ingressgateway", "zone": "a"}, servers=[_server(80, "HTTP", "*")])
    legacy = gateway("b-legacy", servers=[_server(80, "TCP", "*")])
    lost = (
        "b-legacy: Gateway default/b-legacy server port 80 (TCP) is never served at the gateway pods it applies to:"
        " default/a-web server port 80 (HTTP) comes first on listener port 80, and istiod keeps one protocol on an address."
    )
    assert _msh0206(tmp_path, web, legacy, _ingress_pod("zone-a", zone="a")) == [lost]
    assert _msh0206(tmp_path, web, legacy, _ingress_pod("zone-a", zone="a"), _ingress_pod("zone-b", zone="b")) == []
    assert _msh0206(tmp_path, web, legacy) == []  # without pods: a made-up proxy per selector, legacy-gw's alone


def test_msh0206_reasons_besides_the_protocol(tmp_path: Path) -> None:
    repeated = gateway("gw-e", servers=[_https("https", "a.example.com")])  # a repeated TLS host: IST0145's, not this
    docs = (*_taken_route_name(), repeated)
    first = "default/gw-a server port 443 (HTTPS) comes first on listener port 443"
    assert _msh0206(tmp_path, *docs) == [
        f"gw-c: Gateway default/gw-c server port 443 (HTTP) is never served at the gateway pods it applies to: {first},"
        " and istiod drops a later server without TLS settings on an address its TLS servers use.",
        "gw-d: Gateway default/gw-d server port 443 (HTTP) is never served at the gateway pods it applies to: its route"
        " configuration name is taken by an earlier server.",
    ]
    unnamed = (gateway("gw-a", servers=[_https("https", "a.example.com")]), gateway("gw-c", servers=[_server(443, "HTTP", "*")]))
    assert _msh0206(tmp_path, *unnamed) == [
        f"gw-c: Gateway default/gw-c server port 443 (HTTP) is never served at the gateway pods it applies to: {first}, so"
        ' istiod gives this HTTP server a route configuration named "" that holds none of its routes.'
    ]
