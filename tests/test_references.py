"""Tests of ``kubectl_meshctl.analysis.references`` -- Istio's reference analyzers.

Part 1 replays Istio's own analyzer tests (``pkg/config/analysis/analyzers/analyzers_test.go``) on
copies of their input files (``testdata/istio-analyzers/``, see PROVENANCE.md there) with the
expectations of the shared ``EXPECTED-ANALYZE.md``, compared as sets of (code, origin, message).
Like the upstream harness, files are read with an EMPTY default namespace and Istio's default
resources (the ingress gateway Pod and Service in ``istio-system``) are added.

Each upstream test case runs ONE analyzer, while ``analyze_references`` runs all five.  So each case
names its analyzer and the result is filtered to what that analyzer emits: its codes, and for the
shared IST0101 its reference types (``Referenced gateway …``, ``Referenced host …``, …).

Part 2 replays the ``istioctl analyze`` integration tests (``tests/integration/pilot/analyze_test.go``)
unfiltered, including the field lines.  Part 3 covers edge cases and the module's deliberate
deviations from Istio.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from manifests import gateway, server, to_yaml, virtual_service

from kubectl_meshctl.analysis.analyzers import analyze_references
from kubectl_meshctl.analysis.findings import Finding, Level
from kubectl_meshctl.analysis.references import (
    is_internal_gateway_reference,
    resolve_gateway_reference,
)
from kubectl_meshctl.istio.hosts import (
    convert_host_to_fqdn,
    host_matches,
    names_for_namespace,
    names_for_namespace_split_once,
    resolve_shortname_to_fqdn,
    resource_name_from_host,
    sanitize_server_host_namespace,
    sanitize_server_hosts_split_once,
)
from kubectl_meshctl.sources.files import FileSource
from kubectl_meshctl.sources.result import ReadResult

DATA = Path(__file__).parent / "testdata" / "istio-analyzers"

# Istio's analyzer test harness loads these next to every input (EXPECTED-ANALYZE.md, "How to read").
ISTIO_DEFAULT_RESOURCES = """\
apiVersion: v1
kind: Pod
metadata:
  name: istio-ingressgateway-dummypod
  namespace: istio-system
  labels:
    istio: ingressgateway
spec:
  containers:
  - name: istio-proxy
---
apiVersion: v1
kind: Service
metadata:
  name: istio-ingressgateway
  namespace: istio-system
spec:
  selector:
    istio: ingressgateway
  ports:
  - name: http2
    port: 80
    targetPort: 80
    protocol: TCP
  - name: https
    port: 443
    targetPort: 443
    protocol: TCP
  - name: tcp
    port: 31400
    targetPort: 31400
    protocol: TCP
  - name: tls
    port: 15443
    targetPort: 15443
    protocol: TCP
"""

Triple = tuple[str, str, str]


def _ist0101(*reftypes: str) -> Callable[[Finding], bool]:
    prefixes = tuple(f"Referenced {r} not found: " for r in reftypes)
    return lambda f: f.code == "IST0101" and f.message.startswith(prefixes)


_GATEWAY_REF = _ist0101("gateway")
_HOST_REF = _ist0101("host", "mirror host", "host:port")
_SUBSET_REF = _ist0101("host+subset in destinationrule", "mirror+subset in destinationrule")
_SELECTOR_REF = _ist0101("selector")

# What each upstream analyzer can emit.
ANALYZERS: dict[str, Callable[[Finding], bool]] = {
    "GatewayAnalyzer": lambda f: f.code in ("IST0132", "IST0165") or _GATEWAY_REF(f),
    "DestinationHostAnalyzer": lambda f: f.code in ("IST0112", "IST0140") or _HOST_REF(f),
    "DestinationRuleAnalyzer": _SUBSET_REF,
    "IngressGatewayPortAnalyzer": lambda f: f.code == "IST0162" or _SELECTOR_REF(f),
    "ConflictingGatewayAnalyzer": lambda f: f.code == "IST0145" or _SELECTOR_REF(f),
}


def _read(paths: list[Path], *, default_namespace: str) -> ReadResult:
    result = FileSource([str(p) for p in paths], default_namespace=default_namespace).read()
    assert result.errors == []
    return result


def _upstream_run(tmp_path: Path, name: str) -> tuple[ReadResult, list[Finding]]:
    defaults = tmp_path / "istio-defaults.yaml"
    defaults.write_text(ISTIO_DEFAULT_RESOURCES)
    result = _read([DATA / name, defaults], default_namespace="")
    return result, analyze_references(result.snapshot)


def _triples(findings: list[Finding]) -> set[Triple]:
    return {(f.code, f.origin_text, f.message) for f in findings}


def _ist0132(vs: str, hosts: str, gateway: str) -> Triple:
    return (
        "IST0132",
        f"VirtualService {vs}",
        f"one or more host {hosts} defined in VirtualService {vs} not found in Gateway {gateway}.",
    )


def _ist0162(gateway: str, port: int, selector: str) -> Triple:
    return (
        "IST0162",
        f"Gateway {gateway}",
        f"The gateway is listening on a target port (port {port}) that is not defined in the Service associated with"
        f" its workload instances (Pod selector {selector}). If you need to access the gateway port through the"
        " gateway Service, it will not be available.",
    )


def _ist0145(gateway: str, others: str, selector: str, port: int, hosts: str) -> Triple:
    return (
        "IST0145",
        f"Gateway {gateway}",
        f"Conflict with gateways {others} (workload selector {selector}, port {port}, hosts {hosts}).",
    )


_HOST_NOT_FOUND_GATEWAY = {
    _ist0132("default/testing-service-02-test-01", "[wrong-01.com]", "istio-system/testing-gateway-01-test-01"),
    _ist0132("default/testing-service-02-test-02", "[web.wrong.com]", "istio-system/testing-gateway-01-test-02"),
    _ist0132("default/testing-service-02-test-03", "[user.api.testing-03.com]", "istio-system/testing-gateway-02-test-03"),
    _ist0132(
        "default/testing-service-03-test-04",
        "[user.testing-02-04.com users.testing-02-04.com]",
        "istio-system/testing-gateway-01-test-04",
    ),
}
_HOST_NOT_FOUND_GATEWAY_NS_PREFIX = {
    _ist0132("default/testing-service-01-test-01", "[testing-01.com]", "istio-system/testing-gateway"),
}
_BADPORT = {_ist0162("httpbin-gateway", 8004, "myapp=private-ingressgateway")}

# file -> (upstream analyzer, expected (code, origin, message)), from EXPECTED-ANALYZE.md.
UPSTREAM_CASES: dict[str, tuple[str, set[Triple]]] = {
    "virtualservice_gateways.yaml": (
        "GatewayAnalyzer",
        {
            ("IST0101", "VirtualService httpbin-bogus", 'Referenced gateway not found: "httpbin-gateway-bogus"'),
            _ist0132("httpbin-bogus", "[*]", "httpbin-gateway-bogus"),
            _ist0132("httpbin", "[*]", "httpbin-gateway"),
            _ist0132("default/cross-test", "[*]", "another/crossnamespace-gw"),
        },
    ),
    "virtualservice_kubernetes_gateways.yaml": (
        "GatewayAnalyzer",
        {_ist0132("default/my-vs-host-mismatch", "[wrong.example.com]", "default/my-gateway")},
    ),
    "virtualservice_internal_gateway_ref.yaml": (
        "GatewayAnalyzer",
        {
            (
                "IST0165",
                "VirtualService httpbin",
                "Gateway reference in VirtualService httpbin is to an implementation-generated internal Gateway:"
                " istio-ingress/gateway~istio-autogenerated-k8s-gateway~foo.",
            )
        },
    ),
    "virtualservice_host_not_found_gateway.yaml": ("GatewayAnalyzer", _HOST_NOT_FOUND_GATEWAY),
    "virtualservice_host_not_found_gateway_beta.yaml": ("GatewayAnalyzer", _HOST_NOT_FOUND_GATEWAY),
    "virtualservice_host_not_found_gateway_with_ns_prefix.yaml": ("GatewayAnalyzer", _HOST_NOT_FOUND_GATEWAY_NS_PREFIX),
    "virtualservice_host_not_found_gateway_with_ns_prefix_beta.yaml": ("GatewayAnalyzer", _HOST_NOT_FOUND_GATEWAY_NS_PREFIX),
    "virtualservice_destinationrules.yaml": (
        "DestinationRuleAnalyzer",
        {
            (
                "IST0101",
                "VirtualService default/reviews-bogussubset",
                'Referenced host+subset in destinationrule not found: "reviews+bogus"',
            ),
            (
                "IST0101",
                "VirtualService default/reviews-mirror-bogussubset",
                'Referenced mirror+subset in destinationrule not found: "reviews+bogus"',
            ),
        },
    ),
    "virtualservice_destinationhosts.yaml": (
        "DestinationHostAnalyzer",
        {
            ("IST0101", "VirtualService default/reviews-bogushost", 'Referenced host not found: ""'),
            ("IST0101", "VirtualService default/reviews-bogushost", 'Referenced host not found: "reviews-bogus"'),
            ("IST0101", "VirtualService default/reviews-bookinfo-other", 'Referenced host not found: "other.bookinfo.com"'),
            ("IST0101", "VirtualService default/reviews-mirror-bogushost", 'Referenced mirror host not found: "reviews-bogus"'),
            ("IST0101", "VirtualService default/reviews-bogusport", 'Referenced host:port not found: "reviews:999"'),
            (
                "IST0112",
                "VirtualService default/reviews-2port-missing",
                'This VirtualService routes to a service "reviews-2port" that exposes multiple ports [80 443]. Specifying'
                " a port in the destination is required to disambiguate.",
            ),
            (
                "IST0101",
                "VirtualService istio-system/cross-namespace-details",
                'Referenced host not found: "details.default.svc.cluster.local"',
            ),
            (
                "IST0101",
                "VirtualService hello/hello-export-to-bogus",
                'Referenced host not found: "hello.hello.svc.cluster.local"',
            ),
        },
    ),
    "virtualservice_route_rule_no_effects_ingress.yaml": (
        "DestinationHostAnalyzer",
        {
            (
                "IST0140",
                "VirtualService default/testing-service-01-test-01",
                "Subset in virtual service default/ratings-01 has no effect on ingress gateway"
                " default/testing-service-01-test-01 requests",
            )
        },
    ),
    "gateway-no-workload.yaml": (
        "IngressGatewayPortAnalyzer",
        {("IST0101", "Gateway httpbin-gateway", 'Referenced selector not found: "istio=ingresstypo"')},
    ),
    "gateway-no-port.yaml": ("IngressGatewayPortAnalyzer", {_ist0162("httpbin-gateway", 8004, "istio=ingressgateway")}),
    "gateway-correct-port.yaml": ("IngressGatewayPortAnalyzer", set()),
    "gateway-custom-ingressgateway.yaml": ("IngressGatewayPortAnalyzer", set()),
    "gateway-custom-ingressgateway-translation.yaml": ("IngressGatewayPortAnalyzer", set()),
    "gateway-custom-ingressgateway-badport.yaml": ("IngressGatewayPortAnalyzer", _BADPORT),
    "gateway-custom-ingressgateway-badport-notarget.yaml": ("IngressGatewayPortAnalyzer", _BADPORT),
    "gateway-custom-ingressgateway-svcselector.yaml": (
        "IngressGatewayPortAnalyzer",
        {_ist0162("httpbin8002-gateway", 8002, "myapp=ingressgateway-8001")},
    ),
    "conflicting-gateways.yaml": (
        "ConflictingGatewayAnalyzer",
        {
            _ist0145("alpha", "beta", "istio=ingressgateway", 80, "foo.bar"),
            _ist0145("beta", "alpha", "istio=ingressgateway", 80, "foo.bar"),
        },
    ),
    "conflicting-gateways-multiple-ports.yaml": (
        "ConflictingGatewayAnalyzer",
        {
            _ist0145("alpha", "beta", "istio=ingressgateway", 90, "foo.bar"),
            _ist0145("beta", "alpha", "istio=ingressgateway", 90, "foo.bar"),
        },
    ),
    "conflicting-gateways-subSelector.yaml": (
        "ConflictingGatewayAnalyzer",
        {
            _ist0145("alpha", "beta", "cusKey=cusValue,istio=ingressgateway", 80, "foo.bar"),
            _ist0145("beta", "alpha", "app=istio-ingressgateway,cusKey=cusValue,istio=ingressgateway", 80, "foo.bar"),
        },
    ),
    "conflicting-gateways-invalid-port.yaml": ("ConflictingGatewayAnalyzer", set()),
    "gateway-different-port.yaml": ("ConflictingGatewayAnalyzer", set()),
    "analyze-list-type.yaml": (
        "ConflictingGatewayAnalyzer",
        {
            _ist0145("alpha", "alpha-l,beta-l", "istio=ingressgateway", 80, "foo.bar"),
            _ist0145("alpha-l", "alpha,beta-l", "istio=ingressgateway", 80, "foo.bar"),
            _ist0145("beta-l", "alpha,alpha-l", "istio=ingressgateway", 80, "foo.bar"),
        },
    ),
}


# --------------------------------------------------------------------------------------------
# Part 1: Istio's analyzer unit tests


@pytest.mark.parametrize("name", sorted(UPSTREAM_CASES))
def test_upstream_analyzer_case(tmp_path: Path, name: str) -> None:
    analyzer, expected = UPSTREAM_CASES[name]
    _, findings = _upstream_run(tmp_path, name)
    got = [f for f in findings if ANALYZERS[analyzer](f)]
    assert _triples(got) == expected
    assert len(got) == len(expected)  # no duplicates hidden by the set comparison


def test_upstream_levels_and_field_lines(tmp_path: Path) -> None:
    result, findings = _upstream_run(tmp_path, "virtualservice_gateways.yaml")
    bogus = sorted((f for f in findings if f.name == "httpbin-bogus"), key=lambda f: f.code)
    assert [(f.code, f.level, f.field) for f in bogus] == [
        ("IST0101", Level.ERROR, "spec.gateways[0]"),
        ("IST0132", Level.WARNING, "spec.gateways[0]"),
    ]
    lines = (DATA / "virtualservice_gateways.yaml").read_text().splitlines()
    for f in bogus:
        line = result.field_line(f.origin, f.field)
        assert line is not None
        assert "- httpbin-gateway-bogus" in lines[line - 1]


def test_upstream_destination_field_paths(tmp_path: Path) -> None:
    _, findings = _upstream_run(tmp_path, "virtualservice_destinationhosts.yaml")
    fields = {(f.name, f.message): f.field for f in findings if ANALYZERS["DestinationHostAnalyzer"](f)}
    assert fields[("reviews-bogushost", 'Referenced host not found: ""')] == "spec.http[0].route[0].destination.host"
    assert fields[("reviews-bogushost", 'Referenced host not found: "reviews-bogus"')] == "spec.http[0].route[1].destination.host"
    assert fields[("reviews-mirror-bogushost", 'Referenced mirror host not found: "reviews-bogus"')] == "spec.http[0].mirror.host"


def test_copied_inputs_match_provenance_blob_ids() -> None:
    provenance = (DATA / "PROVENANCE.md").read_text()
    rows = dict(re.findall(r"^\| `([^`]+)` \| `istio/istio` \| `[^`]+` \| blob `([0-9a-f]{40})`", provenance, re.MULTILINE))
    files = sorted(p.relative_to(DATA).as_posix() for p in DATA.rglob("*.yaml"))
    assert sorted(rows) == files
    for name, blob in rows.items():
        data = (DATA / name).read_bytes()
        assert hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == blob, name


def test_every_upstream_input_has_a_case() -> None:
    top_level = {p.name for p in DATA.glob("*.yaml")}
    assert top_level == set(UPSTREAM_CASES)


# --------------------------------------------------------------------------------------------
# Part 2: the `istioctl analyze` integration tests (all findings, unfiltered)

_SUBSET_V1 = ("IST0101", "VirtualService default/reviews", 'Referenced host+subset in destinationrule not found: "reviews+v1"')
_TYPO = ("IST0101", "Gateway default/httpbin-gateway-bogus", 'Referenced selector not found: "istio=ingresstypo"')


def _lines(result: ReadResult, findings: list[Finding]) -> set[str | None]:
    return {f"{Path(f.origin.source).name}:{result.field_line(f.origin, f.field)}" if f.origin else None for f in findings}


def test_integration_file_only_virtualservice(tmp_path: Path) -> None:
    # TestFileOnly: the Service in the file resolves the host.  istioctl also reports the subset as missing, though
    # the file holds no DestinationRule at all; the plugin checks subsets only when DestinationRules were given
    # (docs/codes.md, partial input).  With one DestinationRule for another host, the subset error is true.
    result = _read([DATA / "integration" / "virtualservice.yaml"], default_namespace="default")
    assert analyze_references(result.snapshot) == []
    other = tmp_path / "other-dr.yaml"
    other.write_text(
        to_yaml(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "DestinationRule",
                "metadata": {"name": "other", "namespace": "default"},
                "spec": {"host": "other"},
            }
        )
    )
    result = _read([DATA / "integration" / "virtualservice.yaml", other], default_namespace="default")
    findings = analyze_references(result.snapshot)
    assert _triples(findings) == {_SUBSET_V1}
    assert _lines(result, findings) == {"virtualservice.yaml:11"}


def test_integration_file_only_destinationrule() -> None:
    result = _read([DATA / "integration" / "destinationrule.yaml"], default_namespace="default")
    assert analyze_references(result.snapshot) == []


def test_integration_combined_files_are_clean() -> None:
    # TestFileAndKubeCombined: the DestinationRule defines the subset.
    paths = [DATA / "integration" / "virtualservice.yaml", DATA / "integration" / "destinationrule.yaml"]
    assert analyze_references(_read(paths, default_namespace="default").snapshot) == []


def test_integration_kube_only_gateway(tmp_path: Path) -> None:
    # TestKubeOnly: one IST0101 (both gateway analyzers report it; istioctl de-duplicates).
    defaults = tmp_path / "istio-defaults.yaml"
    defaults.write_text(ISTIO_DEFAULT_RESOURCES)
    result = _read([DATA / "integration" / "gateway.yaml", defaults], default_namespace="default")
    findings = analyze_references(result.snapshot)
    assert _triples(findings) == {_TYPO}
    assert len(findings) == 1


def test_integration_error_lines(tmp_path: Path) -> None:
    # TestErrorLine: gateway.yaml:9 (the selector label) and virtualservice.yaml:11 (destination.host).
    defaults = tmp_path / "istio-defaults.yaml"
    defaults.write_text(ISTIO_DEFAULT_RESOURCES)
    paths = [DATA / "integration" / "gateway.yaml", DATA / "integration" / "virtualservice.yaml", defaults]
    result = _read(paths, default_namespace="default")
    findings = analyze_references(result.snapshot)
    assert _triples(findings) == {_TYPO}  # the subset line only with DestinationRules in the input (see above)
    assert _lines(result, findings) == {"gateway.yaml:9"}


# --------------------------------------------------------------------------------------------
# Part 3: edge cases and deliberate deviations


def _run(tmp_path: Path, text: str, *, defaults: bool = False, namespace: str = "default") -> list[Finding]:
    path = tmp_path / "input.yaml"
    path.write_text(text)
    paths = [path]
    if defaults:
        (tmp_path / "istio-defaults.yaml").write_text(ISTIO_DEFAULT_RESOURCES)
        paths.append(tmp_path / "istio-defaults.yaml")
    return analyze_references(_read(paths, default_namespace=namespace).snapshot)


def _messages(findings: list[Finding], code: str | None = None) -> list[str]:
    return sorted(f"{f.name}: {f.message}" for f in findings if code is None or f.code == code)


def _gateway(
    name: str, namespace: str, hosts: list[str], *, port: int = 80, bind: str = "", selector: str = "istio: ingressgateway"
) -> str:
    listener = server(port, hosts=hosts, name=f"p{port}")
    if bind:
        listener["bind"] = bind
    return to_yaml(gateway(name, namespace=namespace, selector=yaml.safe_load(selector), servers=[listener])) + "---\n"


def _vs(name: str, namespace: str, hosts: list[str], gateways: list[str], *, extra: str = "") -> str:
    """``extra``: more of the spec, as YAML indented under it."""
    return (
        to_yaml(virtual_service(name, namespace=namespace, hosts=hosts, gateways=gateways, **(yaml.safe_load(extra) or {})))
        + "---\n"
    )


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("foo.com", "foo.com", True),
        ("foo.com", "bar.com", False),
        ("*.com", "foo.com", True),
        ("foo.com", "*.com", True),
        ("*.foo.com", "foo.com", False),
        ("*", "foo.com", True),
        ("*", "*.com", True),
        ("*.com", "*", True),
        ("*.a.com", "*.b.a.com", True),
        ("*.b.a.com", "*.a.com", True),
        ("*.a.com", "*.b.com", False),
        ("Foo.com", "foo.com", False),
    ],
)
def test_host_matches(a: str, b: str, expected: bool) -> None:
    assert host_matches(a, b) is expected
    assert host_matches(b, a) is expected  # symmetric


def test_name_helpers() -> None:
    assert resolve_gateway_reference("ns", "gw") == ("ns", "gw")
    assert resolve_gateway_reference("ns", "other/gw") == ("other", "gw")
    # istiod's resolution (Istio's analyzer misreads these two and reports a false IST0101)
    assert resolve_gateway_reference("ns", "./gw") == ("ns", "gw")
    assert resolve_gateway_reference("ns", "gw.other.svc.cluster.local") == ("other", "gw")
    assert resolve_gateway_reference("ns", "gw.other") == ("other", "gw")
    assert is_internal_gateway_reference("gw~istio-autogenerated-k8s-gateway~l")
    assert is_internal_gateway_reference("ns/gw~istio-autogenerated-k8s-gateway~l")
    assert not is_internal_gateway_reference("~istio-autogenerated-k8s-gateway~/gw")
    assert convert_host_to_fqdn("ns", "reviews") == "reviews.ns.svc.cluster.local"
    assert convert_host_to_fqdn("ns", "reviews.other") == "reviews.other"
    assert convert_host_to_fqdn("ns", "*") == "*"
    assert resource_name_from_host("ns", "reviews") == ("ns", "reviews")
    assert resource_name_from_host("ns", "reviews.other.svc.cluster.local") == ("other", "reviews")
    assert resource_name_from_host("ns", "a.b.c.svc.cluster.local") == ("c", "a.b")
    assert resource_name_from_host("ns", "reviews.other.svc.cluster.local\n") == ("ns", "reviews.other.svc.cluster.local\n")


def test_istiod_and_analyzer_short_name_expansions_differ() -> None:
    # istiod's ResolveShortnameToFQDN and the analyzers' ConvertHostToFQDN agree on ordinary names...
    for host in ("reviews", "reviews.other", "*", "*.example.com", "10.0.0.1"):
        assert resolve_shortname_to_fqdn(host, "ns") == convert_host_to_fqdn("ns", host)
    # ...and differ on the empty name, a dot-less wildcard and IPv6 addresses.
    assert (resolve_shortname_to_fqdn("", "ns"), convert_host_to_fqdn("ns", "")) == ("", ".ns.svc.cluster.local")
    assert (resolve_shortname_to_fqdn("*foo", "ns"), convert_host_to_fqdn("ns", "*foo")) == ("*foo.ns.svc.cluster.local", "*foo")
    assert (resolve_shortname_to_fqdn("::1", "ns"), convert_host_to_fqdn("ns", "::1")) == ("::1", "::1.ns.svc.cluster.local")


def test_server_host_splitting_differs_only_past_a_second_slash() -> None:
    hosts = ("./a.com", "*/b.com", "ns/c.com", "other/d.com", "e.com")
    assert sanitize_server_host_namespace(hosts, "gw") == list(sanitize_server_hosts_split_once(hosts, "gw"))
    assert (
        sanitize_server_host_namespace(("x.com", "*/*"), "gw")
        == ["*"]
        == list(sanitize_server_hosts_split_once(("x.com", "*/*"), "gw"))
    )
    assert names_for_namespace(list(hosts), "ns") == list(names_for_namespace_split_once(hosts, "ns"))
    # Istio splits at every "/" and keeps one part; the model of istiod splits once and keeps the rest.
    assert sanitize_server_host_namespace(("./a/b",), "gw") == ["gw/a"]
    assert sanitize_server_hosts_split_once(("./a/b",), "gw") == ("gw/a/b",)
    assert names_for_namespace(["ns/a/b"], "ns") == ["a"]
    assert names_for_namespace_split_once(("ns/a/b",), "ns") == ("a/b",)


def test_short_and_namespaced_gateway_references(tmp_path: Path) -> None:
    text = (
        _gateway("gw", "edge", ["*"])
        + _vs("short", "apps", ["a.com"], ["gw"])
        + _vs("qualified", "apps", ["a.com"], ["edge/gw"])
        + _vs("local", "edge", ["a.com"], ["gw"])
        + _vs("legacy", "apps", ["a.com"], ["gw.edge.svc.cluster.local"])
        + _vs("dot", "edge", ["a.com"], ["./gw"])
        + _vs("meshonly", "apps", ["a.com"], ["mesh"])
    )
    findings = _run(tmp_path, text)
    # "legacy" and "dot" resolve to edge/gw as istiod resolves them: no finding (Istio reports IST0101 + IST0132).
    assert _messages(findings, "IST0101") == ['short: Referenced gateway not found: "gw"']
    assert _messages(findings, "IST0132") == [
        "short: one or more host [a.com] defined in VirtualService apps/short not found in Gateway apps/gw.",
    ]


def test_gateway_host_namespace_prefixes(tmp_path: Path) -> None:
    text = (
        _gateway("dot", "edge", ["./a.com"])
        + _gateway("star", "edge", ["*/a.com"])
        + _gateway("apps", "edge", ["apps/a.com"])
        + _gateway("all", "edge", ["other.com", "*/*"])
    )
    for ns in ("edge", "apps", "other"):
        text += _vs(f"vs-{ns}", ns, ["a.com"], ["edge/dot", "edge/star", "edge/apps", "edge/all"])
    findings = _run(tmp_path, text)
    assert _messages(findings) == [
        "vs-apps: one or more host [a.com] defined in VirtualService apps/vs-apps not found in Gateway edge/dot.",
        "vs-edge: one or more host [a.com] defined in VirtualService edge/vs-edge not found in Gateway edge/apps.",
        "vs-other: one or more host [a.com] defined in VirtualService other/vs-other not found in Gateway edge/apps.",
        "vs-other: one or more host [a.com] defined in VirtualService other/vs-other not found in Gateway edge/dot.",
    ]
    assert {f.field for f in findings if f.name == "vs-other"} == {"spec.gateways[0]", "spec.gateways[2]"}


def test_wildcard_hosts_match_both_ways(tmp_path: Path) -> None:
    text = (
        _gateway("wild", "edge", ["*.example.com"])
        + _gateway("exact", "edge", ["a.example.com"])
        + _vs("vs-exact", "edge", ["a.example.com"], ["wild"])
        + _vs("vs-wild", "edge", ["*.example.com"], ["exact"])
        + _vs("vs-apex", "edge", ["example.com"], ["wild"])
        + _vs("vs-one-of-two", "edge", ["nope.org", "b.example.com"], ["wild"])
    )
    assert _messages(_run(tmp_path, text)) == [
        "vs-apex: one or more host [example.com] defined in VirtualService edge/vs-apex not found in Gateway edge/wild.",
    ]


def test_kubernetes_gateway_listeners(tmp_path: Path) -> None:
    text = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: open, namespace: edge}
spec:
  gatewayClassName: istio
  listeners:
  - {name: a, hostname: a.com, port: 80, protocol: HTTP}
  - {name: any, port: 8080, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: named, namespace: edge}
spec:
  gatewayClassName: istio
  listeners:
  - {name: a, hostname: "*.a.com", port: 80, protocol: HTTP}
---
""" + (
        _vs("any-host", "edge", ["z.org"], ["open"])
        + _vs("wild", "edge", ["x.a.com"], ["named"])
        + _vs("miss", "edge", ["a.com"], ["named"])
        + _vs("internal", "edge", ["a.com"], ["edge/named~istio-autogenerated-k8s-gateway~a"])
    )
    findings = _run(tmp_path, text)
    assert _messages(findings) == [
        "internal: Gateway reference in VirtualService edge/internal is to an implementation-generated internal"
        " Gateway: edge/named~istio-autogenerated-k8s-gateway~a.",
        "miss: one or more host [a.com] defined in VirtualService edge/miss not found in Gateway edge/named.",
    ]
    assert [f.level for f in findings if f.code == "IST0165"] == [Level.WARNING]


_SERVICES = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  ports: [{port: 443, name: https}, {port: 80, name: http}]
---
apiVersion: v1
kind: Service
metadata:
  name: local
  namespace: shop
  annotations: {networking.istio.io/exportTo: "."}
spec:
  ports: [{port: 9080, name: http}]
---
apiVersion: v1
kind: Service
metadata:
  name: spaced
  namespace: shop
  annotations: {networking.istio.io/exportTo: "shop, front"}
spec:
  ports: [{port: 9080, name: http}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: shop}
spec:
  hosts: ["*.example.org"]
  exportTo: ["front"]
  ports: [{number: 8443, name: https, protocol: HTTPS}]
---
"""


def _routes(*destinations: str) -> str:
    return "  http:\n  - route:\n" + "".join(f"    - destination: {d}\n" for d in destinations)


def test_service_export_to_and_ports(tmp_path: Path) -> None:
    text = _SERVICES + (
        _vs(
            "in-shop",
            "shop",
            ["x"],
            ["mesh"],
            extra=_routes("{host: web}", "{host: web, port: {number: 80}}", "{host: local}", "{host: spaced, port: {number: 1}}"),
        )
        + _vs(
            "in-front",
            "front",
            ["x"],
            ["mesh"],
            extra=_routes(
                "{host: web.shop.svc.cluster.local, port: {number: 443}}",
                "{host: local.shop.svc.cluster.local}",
                "{host: spaced.shop.svc.cluster.local}",
                "{host: api.example.org}",
                "{host: api.example.org, port: {number: 8443}}",
            ),
        )
        + _vs("in-other", "other", ["x"], ["mesh"], extra=_routes("{host: api.example.org}"))
    )
    findings = _run(tmp_path, text, namespace="shop")
    assert _messages(findings) == [
        'in-front: Referenced host not found: "local.shop.svc.cluster.local"',
        'in-other: Referenced host not found: "api.example.org"',
        'in-shop: Referenced host:port not found: "spaced:1"',
        'in-shop: This VirtualService routes to a service "web" that exposes multiple ports [443 80]. Specifying a port'
        " in the destination is required to disambiguate.",
    ]
    assert {f.field for f in findings if f.name == "in-shop"} == {
        "spec.http[0].route[0].destination.host",
        "spec.http[0].route[3].destination.host",
    }


def test_mirror_hosts_and_subsets(tmp_path: Path) -> None:
    text = (
        _SERVICES
        + """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec:
  host: web.shop.svc.cluster.local
  subsets: [{name: v1, labels: {version: v1}}]
---
"""
        + _vs(
            "m",
            "shop",
            ["x"],
            ["mesh"],
            extra="""\
  http:
  - route:
    - destination: {host: web, port: {number: 80}, subset: v1}
    mirror: {host: nowhere, subset: v1}
    mirrors:
    - destination: {host: web, port: {number: 80}, subset: v2}
""",
        )
    )
    findings = _run(tmp_path, text, namespace="shop")
    assert sorted((f.message, f.field) for f in findings) == [
        ('Referenced mirror host not found: "nowhere"', "spec.http[0].mirror.host"),
        ('Referenced mirror+subset in destinationrule not found: "nowhere+v1"', "spec.http[0].mirror.host"),
        ('Referenced mirror+subset in destinationrule not found: "web+v2"', "spec.http[0].mirrors[0].host"),
    ]


def test_without_services_hosts_are_not_checked(tmp_path: Path) -> None:
    # A file without Services cannot prove that a host does not exist, nor one without DestinationRules a subset.
    text = _vs("vs", "shop", ["x"], ["mesh"], extra=_routes("{host: ghost, subset: v1}"))
    assert _messages(_run(tmp_path, text)) == []
    dr = to_yaml(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": {"name": "dr", "namespace": "shop"},
            "spec": {"host": "other"},
        }
    )
    assert _messages(_run(tmp_path, text + dr)) == ['vs: Referenced host+subset in destinationrule not found: "ghost+v1"']


def test_gateway_port_check_needs_services_in_the_input(tmp_path: Path) -> None:
    """IST0162 says no Service exposes the port: only true when the Services were read."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "gw", "namespace": "edge", "labels": {"istio": "ingressgateway"}},
        "spec": {"containers": [{"name": "istio-proxy"}]},
    }
    text = _gateway("gw", "edge", ["*"], port=8080) + to_yaml(pod)
    assert [f for f in _run(tmp_path, text) if f.code == "IST0162"] == []
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "gw", "namespace": "edge"},
        "spec": {"selector": {"istio": "ingressgateway"}, "ports": [{"name": "http", "port": 80}]},
    }
    assert [f.code for f in _run(tmp_path, text + "---\n" + to_yaml(service)) if f.code == "IST0162"] == ["IST0162"]


def test_wildcard_destination_rule_supplies_subsets(tmp_path: Path) -> None:
    # Deviation 4: istiod applies a wildcard DestinationRule when no exact one exists for the host.
    text = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: all, namespace: shop}
spec:
  host: "*.shop.svc.cluster.local"
  subsets: [{name: v1}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: exact, namespace: shop}
spec:
  host: pinned
  subsets: [{name: v2}]
---
""" + _vs(
        "vs",
        "shop",
        ["x"],
        ["mesh"],
        extra=_routes("{host: web, subset: v1}", "{host: pinned, subset: v1}", "{host: web, subset: v3}"),
    )
    assert _messages(_run(tmp_path, text)) == [
        'vs: Referenced host+subset in destinationrule not found: "pinned+v1"',
        'vs: Referenced host+subset in destinationrule not found: "web+v3"',
    ]


_WORKLOAD = """\
apiVersion: v1
kind: Pod
metadata: {name: gw-pod, namespace: edge, labels: {app: gw, tier: edge}}
---
apiVersion: v1
kind: Service
metadata: {name: gw, namespace: edge}
spec:
  selector: {app: gw}
  ports:
  - {name: a, port: 80, targetPort: 8080}
  - {name: b, port: 443, targetPort: https}
  - {name: c, port: 53, protocol: UDP}
  - {name: d, port: 9000, targetPort: 9001, protocol: TCP}
---
apiVersion: v1
kind: Service
metadata: {name: other-namespace, namespace: elsewhere}
spec:
  ports: [{name: a, port: 7000, protocol: TCP}]
---
"""


def test_gateway_ports_against_service(tmp_path: Path) -> None:
    text = _WORKLOAD
    for port in (80, 8080, 443, 53, 9000, 9001, 7000):
        text += _gateway(f"gw{port}", "edge", ["*"], port=port, selector="{app: gw, tier: edge}")
    findings = [f for f in _run(tmp_path, text) if f.code == "IST0162"]
    # 80/8080: no protocol = TCP (deviation 1); 443: named targetPort; 53: UDP; 7000: other namespace.
    assert sorted(f.name for f in findings) == ["gw53", "gw7000"]
    assert {f.message.split("(Pod selector ")[1].split(")")[0] for f in findings} == {"app=gw,tier=edge"}
    assert {f.field for f in findings} == {"spec.selector.app"}


def test_gateway_selector_without_pods(tmp_path: Path) -> None:
    text = _WORKLOAD + _gateway("lost", "edge", ["*"], selector="{tier: edge, app: nope}")
    findings = _run(tmp_path, text)
    assert [(f.code, f.message, f.field) for f in findings] == [
        ("IST0101", 'Referenced selector not found: "app=nope,tier=edge"', "spec.selector.app"),
    ]


def test_workload_checks_need_pods(tmp_path: Path) -> None:
    assert _run(tmp_path, _gateway("gw", "edge", ["*"], port=12345, selector="{app: none}")) == []


def test_conflicting_gateways_bind_and_ports(tmp_path: Path) -> None:
    text = (
        _gateway("a", "edge", ["x.com", "y.com"])
        + _gateway("b", "edge", ["y.com"])
        + _gateway("c", "other", ["y.com"], bind="10.0.0.1")
        + _gateway("d", "other", ["y.com"], port=8080)
        + _gateway("e", "other", ["*.com"])
        + _gateway("f", "other", ["y.com"], selector="{istio: other}")
    )
    findings = _run(tmp_path, text, defaults=True)
    assert _messages(findings, "IST0145") == [
        "a: Conflict with gateways edge/b (workload selector istio=ingressgateway, port 80, hosts x.com,y.com).",
        "b: Conflict with gateways edge/a (workload selector istio=ingressgateway, port 80, hosts y.com).",
    ]
    assert {f.level for f in findings if f.code == "IST0145"} == {Level.ERROR}


def test_conflicting_gateways_on_one_workload_by_sub_selector(tmp_path: Path) -> None:
    """Other selectors are the same workload when one selector's text holds the other's and a pod matches both:
    ``app=gw`` and ``app=gw,tier=edge`` (one pod), not ``version=v1`` (the same pod, but neither text holds the
    other) nor ``app=gwx`` (its text holds ``app=gw``, but no pod of it matches both)."""
    pods = """\
apiVersion: v1
kind: Pod
metadata: {name: gw-pod, namespace: edge, labels: {app: gw, tier: edge, version: v1}}
---
apiVersion: v1
kind: Pod
metadata: {name: gwx-pod, namespace: edge, labels: {app: gwx}}
---
"""
    text = (
        pods
        + _gateway("a", "edge", ["y.com"], selector="{app: gw}")
        + _gateway("b", "edge", ["y.com"], selector="{app: gw, tier: edge}")
        + _gateway("c", "edge", ["y.com"], selector="{version: v1}")
        + _gateway("d", "edge", ["y.com"], selector="{app: gwx}")
    )
    assert _messages(_run(tmp_path, text), "IST0145") == [
        "a: Conflict with gateways edge/b (workload selector app=gw, port 80, hosts y.com).",
        "b: Conflict with gateways edge/a (workload selector app=gw,tier=edge, port 80, hosts y.com).",
    ]


def test_conflict_check_has_no_side_effects(tmp_path: Path) -> None:
    # Deviation 2: upstream would add x.com to b's table while checking a, and then report c vs b.
    text = _gateway("a", "edge", ["x.com"]) + _gateway("b", "edge", ["y.com"]) + _gateway("c", "edge", ["x.com"])
    assert _messages(_run(tmp_path, text, defaults=True), "IST0145") == [
        "a: Conflict with gateways edge/c (workload selector istio=ingressgateway, port 80, hosts x.com).",
        "c: Conflict with gateways edge/a (workload selector istio=ingressgateway, port 80, hosts x.com).",
    ]


def test_gateway_without_servers_selector_message(tmp_path: Path) -> None:
    # Deviation 3: ConflictingGatewayAnalyzer's own IST0101 only when no pod matches the selector.
    bare = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bare, namespace: edge}
spec:
  selector: {istio: ingressgateway}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: lost, namespace: edge}
spec:
  selector: {istio: lost}
---
"""
    findings = _run(tmp_path, bare, defaults=True)
    assert [(f.name, f.message) for f in findings] == [("lost", 'Referenced selector not found: "istio=lost"')]
    assert _run(tmp_path, bare) == []  # no Pods read: nothing to say about selectors


# --------------------------------------------------------------------------------------------
# Istio's IST0131 prefix overlap, and when the plugin confirms it (mutants the core run left alive)


def _prefix_rules(first: dict[str, object], second: dict[str, object]) -> str:
    rules = [
        {"match": [first], "route": [{"destination": {"host": "a"}}]},
        {"match": [second], "route": [{"destination": {"host": "b"}}]},
    ]
    return to_yaml(gateway("gw", namespace="edge"), virtual_service("vs", namespace="edge", gateways=["gw"], http=rules))


def _ist0131(tmp_path: Path, text: str) -> list[str]:
    from kubectl_meshctl.analysis import analyze

    path = tmp_path / "in.yaml"
    path.write_text(text)
    return [f.message for f in analyze(_read([path], default_namespace="edge").snapshot) if f.code == "IST0131"]


def test_istio_prefix_overlap_needs_the_same_port(tmp_path: Path) -> None:
    """Istio compares prefixes only between matches of one port: a port-less /a before /a/b on 8080 is no IST0131."""
    assert _ist0131(tmp_path, _prefix_rules({"uri": {"prefix": "/a"}}, {"uri": {"prefix": "/a/b"}, "port": 8080})) == []
    same_port = _prefix_rules({"uri": {"prefix": "/a"}, "port": 8080}, {"uri": {"prefix": "/a/b"}, "port": 8080})
    assert len(_ist0131(tmp_path, same_port)) == 1


def test_a_match_for_one_port_does_not_cover_one_for_another() -> None:
    from kubectl_meshctl.analysis.istio_rules import truly_covers
    from kubectl_meshctl.resources.model import HTTPMatch, StringMatch

    prefix = StringMatch("prefix", "/")
    assert not truly_covers(HTTPMatch(uri=prefix, port=80), HTTPMatch(uri=prefix, port=8080), "edge")
    assert truly_covers(HTTPMatch(uri=prefix), HTTPMatch(uri=prefix, port=8080), "edge")  # port-less: kept everywhere


def test_a_match_for_some_source_pods_does_not_cover_one_for_all() -> None:
    from kubectl_meshctl.analysis.istio_rules import truly_covers
    from kubectl_meshctl.resources.model import HTTPMatch, StringMatch

    prefix = StringMatch("prefix", "/")
    canary = HTTPMatch(uri=prefix, source_labels=(("app", "canary"),))
    assert not truly_covers(canary, HTTPMatch(uri=prefix), "edge")
    assert truly_covers(canary, HTTPMatch(uri=prefix, source_labels=(("app", "canary"), ("v", "2"))), "edge")


def test_export_to_tilde_hides_a_virtual_service_from_every_proxy() -> None:
    """``exportTo: ["~"]``: visible nowhere, also from a gateway whose namespace is unknown (no pods in the input)."""
    from kubectl_meshctl.istio.translation import vs_visibility
    from kubectl_meshctl.resources.model import Origin, VirtualService
    from kubectl_meshctl.resources.parse import parse_object

    vs = parse_object(virtual_service("vs", namespace="edge", exportTo=["~"]), origin=Origin("in.yaml"), default_namespace="edge")
    assert isinstance(vs, VirtualService)
    assert vs_visibility(vs, None) == "hidden"
    assert vs_visibility(vs, "edge") == "hidden"


def _source_labels_case(*pods_labels: dict[str, str]) -> str:
    rules = [
        {"match": [{"uri": {"prefix": "/api"}, "sourceLabels": {"app": "x"}}], "route": [{"destination": {"host": "a"}}]},
        {"match": [{"uri": {"prefix": "/api/users"}}], "route": [{"destination": {"host": "b"}}]},
    ]
    docs = [gateway("gw", namespace="edge"), virtual_service("vs", namespace="edge", gateways=["gw"], http=rules)]
    for i, labels in enumerate(pods_labels):
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"gw-{i}", "namespace": "istio-system", "labels": labels},
                "spec": {"containers": [{"name": "istio-proxy"}]},
            }
        )
    return to_yaml(*docs)


def test_ist0131_behind_source_labels_is_kept_when_every_gateway_pod_carries_them(tmp_path: Path) -> None:
    """Istio's overlap check ignores sourceLabels; its IST0131 is true when every pod the routes are built for
    carries them (the plugin's MSH0101 says the same rule is dead), and untrue otherwise."""
    carried = _ist0131(tmp_path, _source_labels_case({"istio": "ingressgateway", "app": "x"}))
    assert carried == [
        "VirtualService rule #1 match #0 of prefix /api/users is not used (duplicate/overlapping match in rule #0 of"
        " prefix /api on #0)."
    ]
    # a second gateway pod without the label: rule #1 still takes /api/users there
    assert _ist0131(tmp_path, _source_labels_case({"istio": "ingressgateway", "app": "x"}, {"istio": "ingressgateway"})) == []
    assert _ist0131(tmp_path, _source_labels_case()) == []  # no pods: which pods carry it is unknown


_RATINGS_SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec:
  ports: [{port: 80, name: http}]
"""


def _ist0140(tmp_path: Path, *objects: dict) -> list[Finding]:
    path = tmp_path / "ist0140.yaml"
    path.write_text(to_yaml(*objects) + "---\n" + _RATINGS_SERVICE)
    return [f for f in analyze_references(_read([path], default_namespace="default").snapshot) if f.code == "IST0140"]


def _to(host: str, subset: str = "") -> dict:
    return {"destination": {"host": host, **({"subset": subset} if subset else {})}}


_MESH_SPLIT = virtual_service(
    "ratings-split", hosts=("ratings",), gateways=None, http=[{"route": [_to("ratings", "v1"), _to("ratings", "v2")]}]
)


def test_ist0140_once_per_destination_at_its_host_line(tmp_path: Path) -> None:
    ingress = virtual_service(
        "front", hosts=("ratings.example.com",), http=[{"route": [_to("other")]}, {"route": [_to("ratings")]}]
    )
    found = _ist0140(tmp_path, gateway(), ingress, _MESH_SPLIT)
    # two subset destinations of ratings-split: the same message twice upstream, once after istioctl's de-duplication
    assert [(f.name, f.message, f.field) for f in found] == [
        (
            "front",
            "Subset in virtual service default/ratings-split has no effect on ingress gateway default/front requests",
            "spec.http[1].route[0].destination.host",
        )
    ]


@pytest.mark.parametrize(
    ("ingress", "split"),
    [
        # the gateway's VirtualService picks a subset itself: its requests do go to that subset
        (virtual_service("front", http=[{"route": [_to("ratings", "v1")]}]), _MESH_SPLIT),
        # deviation 6: bound to the mesh alone, it serves no ingress gateway
        (virtual_service("front", gateways=("mesh",), http=[{"route": [_to("ratings")]}]), _MESH_SPLIT),
        # not bound at all (gateways omitted means the mesh)
        (virtual_service("front", gateways=None, http=[{"route": [_to("ratings")]}]), _MESH_SPLIT),
        # raw strings as upstream: the split's own host is written as an FQDN, its destination is not
        (
            virtual_service("front", http=[{"route": [_to("ratings")]}]),
            virtual_service(
                "ratings-split",
                hosts=("ratings.default.svc.cluster.local",),
                gateways=None,
                http=[{"route": [_to("ratings", "v1")]}],
            ),
        ),
    ],
    ids=["subset-at-the-gateway", "mesh-only", "no-gateways", "fqdn-host"],
)
def test_ist0140_not_reported(tmp_path: Path, ingress: dict, split: dict) -> None:
    assert _ist0140(tmp_path, gateway(), ingress, split) == []


def test_ist0140_bound_to_a_gateway_and_the_mesh(tmp_path: Path) -> None:
    ingress = virtual_service("front", gateways=("mesh", "gw"), http=[{"route": [_to("ratings")]}])
    assert [f.name for f in _ist0140(tmp_path, gateway(), ingress, _MESH_SPLIT)] == ["front"]
