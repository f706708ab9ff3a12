"""istio-config-validator ``testCases`` files run on the product's model of istiod and Envoy (routetests/validator.py).

The upstream examples (tests/testdata/istio-config-validator, byte-identical copies) come first: every case of
``virtualservice_test.yml`` passes as upstream's CI says; the three of ``virtualservice_delegate_test.yml`` fail,
because istiod drops what they test (the analysis says so too: MSH0301, MSH0303) -- and pass once the delegates are
written the way istiod merges them.  Then the cases where the runner differs from upstream on purpose (hosts as
Envoy picks them, gateways, VirtualService merging, query strings, protobuf equality), the failures a test must
report, what the model leaves undecided, and the file errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from manifests import Obj, destination, gateway, http_rule, prefix, server, to_yaml, virtual_service

from kubectl_meshctl.analysis import analyze
from kubectl_meshctl.resources.model import Snapshot
from kubectl_meshctl.routetests import validator
from kubectl_meshctl.routetests.results import CaseResult
from kubectl_meshctl.sources.files import FileSource, split_documents

UPSTREAM = Path(__file__).parent / "testdata" / "istio-config-validator"
MANIFESTS = ("virtualservice.yml", "multidocument_virtualservice.yml", "destination.yml", "delegate_virtualservice.yml")


def read_snapshot(*paths: Path) -> Snapshot:
    result = FileSource([str(p) for p in paths]).read()
    assert not result.errors, result.errors
    return result.snapshot


def snapshot_of(tmp_path: Path, *objects: Obj) -> Snapshot:
    path = tmp_path / "input.yaml"
    path.write_text(to_yaml(*objects))
    return read_snapshot(path)


def cases_in(path: Path) -> list[validator.ValidatorCase]:
    """Every case of a test file, each document decoded on its own as the command does."""
    out: list[validator.ValidatorCase] = []
    for doc in split_documents(path.read_text()):
        data = yaml.safe_load(doc.text)
        if validator.is_validator_document(data):
            out.extend(validator.parse_cases(data, source=path.name, line=doc.start))
    return out


def cases(*entries: Obj) -> list[validator.ValidatorCase]:
    return validator.parse_cases({"testCases": list(entries)}, source="cases.yaml", line=1)


def case(*, want: bool = True, authority: str = "shop.example.com", uri: str = "/", method: str = "GET", **fields: Any) -> Obj:
    return {
        "description": "t",
        "wantMatch": want,
        "request": {"authority": [authority], "method": [method], "uri": [uri]},
        **fields,
    }


def run(snapshot: Snapshot, *entries: Obj, gateway: tuple[str, str] | None = None) -> list[CaseResult]:
    return validator.run_cases(snapshot, cases(*entries), gateway=gateway)


def only(results: list[CaseResult]) -> CaseResult:
    assert len(results) == 1
    return results[0]


def route_to(host: str, port: int | None = None) -> list[Obj]:
    return [destination(host, port=port)]


# --------------------------------------------------------------------------- upstream's examples


def test_the_copies_are_the_upstream_examples() -> None:
    names = sorted(p.name for p in UPSTREAM.iterdir())
    assert names == sorted([*MANIFESTS, "virtualservice_test.yml", "virtualservice_delegate_test.yml", "PROVENANCE.md"])


def test_every_case_of_the_upstream_virtualservice_tests_passes() -> None:
    snapshot = read_snapshot(*(UPSTREAM / m for m in MANIFESTS))
    results = validator.run_cases(snapshot, cases_in(UPSTREAM / "virtualservice_test.yml"))
    assert [(r.name, r.verdict) for r in results] == [
        ("happy path users", "pass"),
        ("Partner service only accepts GET or OPTIONS", "pass"),
        ("Redirect /home to /", "pass"),
        ("Reseller is rewritten as partner", "pass"),
        ("Reseller doesn't match rewritten as catalog", "pass"),
        ("Return 403 for bot traffic", "pass"),
    ]
    happy = results[0]
    assert happy.origin == "virtualservice_test.yml:1"
    assert happy.request == "GET www.example.com/users x-user-id: abc123"
    assert happy.route == "example/example rule #1 match #0"
    assert [c.field for c in happy.checks] == ["route", "headers"]
    assert results[2].origin == "virtualservice_test.yml:29"  # the second document starts after the "---" of line 28
    assert results[1].route == "example/example rule #5"  # PUT /partners falls through to the catch-all
    assert results[5].checks[1].actual == '{"abort":{"httpStatus":403,"percentage":{"value":100}}}'


def test_the_upstream_delegate_cases_fail_where_istiod_drops_what_they_test() -> None:
    # Upstream finds the delegate by name and matches inside it without merging.  istiod merges, and a regex on
    # either side of a root/delegate match pair is a conflict (stringMatchConflict), so it leaves merchants-delegate
    # and product-delegate out; seller-delegate does not exist, so the root rule itself is dropped.  In a cluster
    # all three requests get a 404 -- which is what the analysis reports of the same files.
    snapshot = read_snapshot(*(UPSTREAM / m for m in MANIFESTS))
    results = validator.run_cases(snapshot, cases_in(UPSTREAM / "virtualservice_delegate_test.yml"))
    assert [(r.name, r.verdict, r.request) for r in results] == [
        ("Delegate to merchants", "fail", "GET example.org/merchants"),
        ("Delegate to seller", "fail", "GET example.org/seller"),
        ("Delegate to product", "fail", "GET example.org/product"),
    ]
    assert results[0].checks[0].line == (
        'GET example.org/merchants: expected route [{"destination":{"host":"merchants.merchants.svc.cluster.local",'
        '"port":{"number":80}}}] got no route (404); istiod leaves example/merchants-delegate rule #0 out of '
        "example/merchants rule #0: uri regex /merchants(/.*)? is not within regex /merchants(/.*)?"
    )
    assert (
        results[1]
        .checks[0]
        .line.endswith("istiod drops example/merchants rule #1: its delegate example/seller-delegate does not exist")
    )
    assert "istiod leaves example/product-delegate rule #0 out of example/merchants rule #2" in results[2].checks[0].line
    codes = {f.code for f in analyze(snapshot)}
    assert {"MSH0301", "MSH0303"} <= codes


def test_the_upstream_delegate_cases_pass_once_the_delegates_merge(tmp_path: Path) -> None:
    # The same intent written the way istiod merges it: prefixes within the root's, and seller-delegate present.
    root = virtual_service(
        "merchants",
        namespace="example",
        hosts=["www.example.org", "example.org"],
        gateways=None,
        http=[
            {"match": [prefix("/merchants")], "delegate": {"name": "merchants-delegate"}},
            {"match": [prefix("/seller")], "delegate": {"name": "seller-delegate"}},
            {"match": [prefix("/product")], "delegate": {"name": "product-delegate"}},
        ],
    )
    set_header = {"request": {"set": {"x-custom-header": "ok"}}}
    merchants = delegate_vs(
        "merchants-delegate", http_rule(prefix("/merchants"), to="merchants.merchants.svc.cluster.local", headers=set_header)
    )
    merchants["spec"]["http"][0]["route"] = route_to("merchants.merchants.svc.cluster.local", 80)
    seller = delegate_vs("seller-delegate", http_rule(to="seller.seller.svc.cluster.local"))
    product = delegate_vs("product-delegate", http_rule(prefix("/product"), headers=set_header, rewrite={"uri": "/product"}))
    product["spec"]["http"][0]["route"] = route_to("product.product.svc.cluster.local", 80)
    snapshot = snapshot_of(tmp_path, root, merchants, seller, product)
    results = validator.run_cases(snapshot, cases_in(UPSTREAM / "virtualservice_delegate_test.yml"))
    assert [r.verdict for r in results] == ["pass", "pass", "pass"]
    assert results[0].route == "example/merchants-delegate rule #0 match #0 (delegated by example/merchants rule #0)"


def delegate_vs(name: str, *rules: Obj) -> Obj:
    vs = virtual_service(name, namespace="example", hosts=(), gateways=None, http=list(rules))
    del vs["spec"]["hosts"]
    return vs


# --------------------------------------------------------------------------- failures a test must report


def test_a_wrong_destination_fails_with_the_request_and_both_values(tmp_path: Path) -> None:
    snapshot = snapshot_of(tmp_path, virtual_service(hosts=["shop.example.com"], http=[http_rule(prefix("/api"), to="api")]))
    result = only(run(snapshot, case(uri="/api/x", route=route_to("web"))))
    assert result.verdict == "fail"
    assert result.route == "default/vs rule #0 match #0"
    (check,) = result.checks
    assert (check.field, check.passed) == ("route", False)
    assert check.line == (
        'GET shop.example.com/api/x: expected route [{"destination":{"host":"web"}}] '
        'got [{"destination":{"host":"api"}}] (from default/vs rule #0 match #0)'
    )


def test_want_match_false_fails_when_the_rule_is_the_one_named(tmp_path: Path) -> None:
    snapshot = snapshot_of(tmp_path, virtual_service(hosts=["shop.example.com"], http=[http_rule(to="api")]))
    result = only(run(snapshot, case(want=False, route=route_to("api"))))
    assert result.verdict == "fail"
    assert result.checks[0].line.startswith(
        'GET shop.example.com/: expected route other than [{"destination":{"host":"api"}}] got'
    )


def test_the_first_failing_request_is_the_one_reported(tmp_path: Path) -> None:
    vs = virtual_service(hosts=["shop.example.com"], http=[http_rule(prefix("/api"), to="api"), http_rule(to="web")])
    entry = case(route=route_to("api"))
    entry["request"]["uri"] = ["/api", "/web", "/other"]
    result = only(run(snapshot_of(tmp_path, vs), entry))
    assert (result.verdict, result.request, result.route) == ("fail", "GET shop.example.com/web", "default/vs rule #1")


def test_no_virtual_service_for_the_host_is_a_404(tmp_path: Path) -> None:
    snapshot = snapshot_of(tmp_path, virtual_service(hosts=["shop.example.com"], http=[http_rule(to="api")]))
    assert only(run(snapshot, case(authority="other.example.com", route=route_to("api")))).verdict == "fail"
    assert only(run(snapshot, case(want=False, authority="other.example.com", route=route_to("api")))).verdict == "pass"


# --------------------------------------------------------------------------- where upstream is wrong


def test_hosts_are_chosen_as_envoy_does(tmp_path: Path) -> None:
    # Upstream compares the authority with each host as a string: "*.example.com" never matches there.
    snapshot = snapshot_of(
        tmp_path,
        virtual_service("wild", hosts=["*.example.com"], http=[http_rule(to="wild")]),
        virtual_service("exact", hosts=["api.example.com"], http=[http_rule(to="exact")]),
    )
    assert only(run(snapshot, case(authority="Shop.Example.COM:8080", route=route_to("wild")))).verdict == "pass"
    assert only(run(snapshot, case(authority="api.example.com", route=route_to("exact")))).verdict == "pass"
    assert only(run(snapshot, case(authority="example.com", route=route_to("wild")))).verdict == "fail"  # * needs a label


def test_a_host_bound_to_two_gateways_needs_the_gateway_named(tmp_path: Path) -> None:
    # Upstream ignores gateways and answers with whichever VirtualService comes first.
    snapshot = snapshot_of(
        tmp_path,
        gateway("gw-a", servers=[server(hosts=["*"])]),
        gateway("gw-b", servers=[server(hosts=["*"])]),
        virtual_service("a", hosts=["shop.example.com"], gateways=["gw-a"], http=[http_rule(to="a")]),
        virtual_service("b", hosts=["shop.example.com"], gateways=["gw-b"], http=[http_rule(to="b")]),
    )
    undecided = only(run(snapshot, case(route=route_to("a"))))
    assert undecided.verdict == "not_modelled"
    assert undecided.not_modelled == (
        "GET shop.example.com/: the rule depends on the gateway (default/gw-a: default/a rule #0; "
        "default/gw-b: default/b rule #0): name the gateway",
    )
    assert only(run(snapshot, case(route=route_to("a")), gateway=("default", "gw-a"))).verdict == "pass"
    assert only(run(snapshot, case(route=route_to("a")), gateway=("default", "gw-b"))).verdict == "fail"
    missing = only(run(snapshot, case(route=route_to("a")), gateway=("default", "gw-c")))
    assert missing.checks[0].line.endswith(
        "got no route (404); no VirtualService bound to default/gw-c has host shop.example.com"
    )


def test_virtual_services_sharing_a_host_on_a_gateway_are_merged_catch_all_last(tmp_path: Path) -> None:
    # istiod concatenates them into one virtual host and moves catch-all routes to the end; upstream would stop at
    # the first VirtualService's catch-all.
    snapshot = snapshot_of(
        tmp_path,
        virtual_service("a-site", hosts=["shop.example.com"], http=[http_rule(to="site")]),
        virtual_service("b-api", hosts=["shop.example.com"], http=[http_rule(prefix("/api"), to="api")]),
    )
    result = only(run(snapshot, case(uri="/api/v1", route=route_to("api"))))
    assert (result.verdict, result.route) == ("pass", "default/b-api rule #0 match #0")
    assert only(run(snapshot, case(uri="/home", route=route_to("site")))).verdict == "pass"


def test_the_query_string_reaches_query_parameter_matches(tmp_path: Path) -> None:
    # Upstream keeps only the URI's path, so a queryParams match can never be tested there.
    rule = http_rule({"queryParams": {"debug": {"exact": "1"}}}, to="debug")
    snapshot = snapshot_of(tmp_path, virtual_service(hosts=["shop.example.com"], http=[rule, http_rule(to="web")]))
    assert only(run(snapshot, case(uri="/search?debug=1", route=route_to("debug")))).verdict == "pass"
    assert only(run(snapshot, case(uri="/search", route=route_to("web")))).verdict == "pass"


def test_a_delegated_rule_takes_rewrite_from_the_root_and_delegate_is_the_root_rules(tmp_path: Path) -> None:
    root = virtual_service(
        "root",
        hosts=["shop.example.com"],
        http=[{"match": [prefix("/api")], "delegate": {"name": "leaf"}, "rewrite": {"uri": "/"}}, http_rule(to="web")],
    )
    leaf = virtual_service("leaf", hosts=(), gateways=None, http=[http_rule(prefix("/api/v1"), to="v1")])
    del leaf["spec"]["hosts"]
    snapshot = snapshot_of(tmp_path, root, leaf)
    result = only(run(snapshot, case(uri="/api/v1/x", route=route_to("v1"), rewrite={"uri": "/"}, delegate={"name": "leaf"})))
    assert result.verdict == "pass", result.checks
    assert result.route == "default/leaf rule #0 match #0 (delegated by default/root rule #0)"
    # /api/v2 is the root's, but no delegate rule takes it: it falls through to the next root rule
    fell = only(run(snapshot, case(uri="/api/v2", delegate={"name": "leaf"})))
    assert fell.verdict == "fail"
    assert fell.checks[0].actual == "none"


# --------------------------------------------------------------------------- protobuf equality


def test_fields_compare_as_protobuf_messages(tmp_path: Path) -> None:
    rule = http_rule(
        to=[{"destination": {"port": {"number": 80}, "host": "api"}, "weight": 100}],
        fault={
            "abort": {"httpStatus": 503, "percentage": {"value": 50}},
            "delay": {"fixedDelay": "5s", "percentage": {"value": 1.5}},
        },
    )
    snapshot = snapshot_of(tmp_path, virtual_service(hosts=["shop.example.com"], http=[rule]))
    same = case(
        route=[{"weight": 100.0, "destination": {"host": "api", "port": {"number": 80.0}, "subset": ""}}],
        fault={
            "delay": {"fixed_delay": "5.000s", "percentage": {"value": 1.5}},
            "abort": {"http_status": 503, "percentage": {"value": 50.0}},
        },
    )
    assert only(run(snapshot, same)).verdict == "pass"
    other_weight = case(route=[{"weight": 50, "destination": {"host": "api", "port": {"number": 80}}}])
    assert only(run(snapshot, other_weight)).verdict == "fail"
    assert only(run(snapshot, case(route=[{"destination": {"host": "api"}}]))).verdict == "fail"  # the port is part of it


def test_an_empty_message_is_not_an_absent_one(tmp_path: Path) -> None:
    snapshot = snapshot_of(tmp_path, virtual_service(hosts=["shop.example.com"], http=[http_rule(to="api")]))
    result = only(run(snapshot, case(rewrite={})))
    assert result.verdict == "fail"
    assert (result.checks[0].expected, result.checks[0].actual) == ("{}", "none")


def test_proto_value_drops_proto3_defaults_but_keeps_map_entries() -> None:
    value = {"request": {"set": {"x_a": "", "X-B": "1"}, "remove": []}, "response": {"add": {}}}
    assert validator.proto_value(value, field_name="headers") == {"request": {"set": {"x_a": "", "X-B": "1"}}, "response": {}}


# --------------------------------------------------------------------------- what the model does not decide


def test_a_regex_re2_may_read_differently_is_not_modelled(tmp_path: Path) -> None:
    rule = http_rule({"uri": {"regex": "/(?=api).*"}}, to="api")
    snapshot = snapshot_of(tmp_path, virtual_service(hosts=["shop.example.com"], http=[rule, http_rule(to="web")]))
    result = only(run(snapshot, case(uri="/api", route=route_to("api"))))
    assert result.verdict == "not_modelled"
    assert result.not_modelled == (
        "GET shop.example.com/api: default/vs rule #0 match #0: regex /(?=api).* may read differently in Envoy's RE2",
    )


def test_a_route_that_depends_on_the_proxy_is_not_modelled(tmp_path: Path) -> None:
    rule = http_rule({"sourceLabels": {"app": "a"}}, to="api")
    snapshot = snapshot_of(tmp_path, virtual_service(hosts=["shop.example.com"], http=[rule, http_rule(to="web")]))
    result = only(run(snapshot, case(route=route_to("web"))))
    assert result.verdict == "not_modelled"
    assert "depends on the proxy" in result.not_modelled[0]


def test_a_virtual_service_exported_to_some_namespaces_is_not_modelled(tmp_path: Path) -> None:
    # Whether the gateway's proxy sees it depends on the namespace the proxy runs in, which a test file does not say.
    vs = virtual_service(hosts=["shop.example.com"], http=[http_rule(to="api")], exportTo=["."])
    result = only(run(snapshot_of(tmp_path, vs), case(route=route_to("api"))))
    assert result.verdict == "not_modelled"
    assert "depends on the proxy" in result.not_modelled[0]


def test_a_host_in_several_mesh_virtual_services_is_not_modelled(tmp_path: Path) -> None:
    snapshot = snapshot_of(
        tmp_path,
        virtual_service("a", hosts=["shop.example.com"], gateways=None, http=[http_rule(prefix("/a"), to="a")]),
        virtual_service("b", hosts=["shop.example.com"], gateways=None, http=[http_rule(to="b")]),
    )
    result = only(run(snapshot, case(uri="/a", route=route_to("a"))))
    assert result.verdict == "not_modelled"
    assert "several VirtualServices bound to the mesh (default/a, default/b)" in result.not_modelled[0]


def test_a_port_condition_needs_the_port_in_the_authority(tmp_path: Path) -> None:
    rules = [http_rule({"port": 8080}, to="alt"), http_rule(to="web")]
    snapshot = snapshot_of(tmp_path, virtual_service(hosts=["shop.example.com"], http=rules))
    assert only(run(snapshot, case(route=route_to("alt")))).verdict == "not_modelled"
    assert only(run(snapshot, case(authority="shop.example.com:8080", route=route_to("alt")))).verdict == "pass"
    assert only(run(snapshot, case(authority="shop.example.com:80", route=route_to("web")))).verdict == "pass"


def test_a_decided_failure_wins_over_an_undecided_request(tmp_path: Path) -> None:
    rules = [http_rule({"port": 8080}, to="alt"), http_rule(to="web")]
    snapshot = snapshot_of(tmp_path, virtual_service(hosts=["shop.example.com"], http=rules))
    entry = case(route=route_to("alt"))
    entry["request"]["authority"] = ["shop.example.com", "shop.example.com:80"]
    result = only(run(snapshot, entry))
    assert (result.verdict, result.request) == ("fail", "GET shop.example.com:80/")


# --------------------------------------------------------------------------- the file


def test_requests_are_every_uri_authority_and_method_in_upstreams_order() -> None:
    (parsed,) = cases(
        {
            "wantMatch": True,
            "request": {"authority": ["a", "b"], "method": ["GET", "PUT"], "uri": ["/x", "/y"], "headers": {"h": "1"}},
            "route": [],
        }
    )
    assert [r.describe() for r in parsed.request.variants()][:3] == ["GET a/x h: 1", "PUT a/x h: 1", "GET b/x h: 1"]
    assert len(parsed.request.variants()) == 8
    assert (parsed.name, parsed.origin, parsed.want_match) == ("testCases[0]", "cases.yaml:1", True)


def test_want_match_defaults_to_false_as_upstream() -> None:
    (parsed,) = cases({"request": {"authority": ["a"], "method": ["GET"], "uri": ["/"]}, "route": []})
    assert parsed.want_match is False


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "t.yaml:4: expected an object, got a list"),
        ({"testCases": {}}, "t.yaml:4: testCases: expected a list of test cases, got an object"),
        ({"testCases": [], "x": 1}, "t.yaml:4: x: unknown field (expected one of testCases)"),
        ({"testCases": ["x"]}, "t.yaml:4: testCases[0]: expected an object, got a string"),
        (
            {"testCases": [{"wantmatch": True}]},
            "t.yaml:4: testCases[0].wantmatch: unknown field (expected one of delegate, description, fault, headers, "
            "redirect, request, rewrite, route, wantMatch)",
        ),
        ({"testCases": [{"wantMatch": "yes"}]}, "t.yaml:4: testCases[0].wantMatch: expected true or false, got a string"),
        ({"testCases": [{"route": []}]}, "t.yaml:4: testCases[0].request: missing (authority, method and uri lists)"),
        (
            {"testCases": [{"request": {"authority": ["a"], "method": ["GET"], "uri": "/"}, "route": []}]},
            "t.yaml:4: testCases[0].request.uri: expected a non-empty list of strings, got a string",
        ),
        (
            {"testCases": [{"request": {"authority": [], "method": ["GET"], "uri": ["/"]}, "route": []}]},
            "t.yaml:4: testCases[0].request.authority: expected a non-empty list of strings",
        ),
        (
            {"testCases": [{"request": {"authority": ["a"], "method": [1], "uri": ["/"]}, "route": []}]},
            "t.yaml:4: testCases[0].request.method[0]: expected a string, got a number",
        ),
        (
            {"testCases": [{"request": {"authority": ["a"], "method": ["GET"], "uri": ["x"]}, "route": []}]},
            "t.yaml:4: testCases[0].request.uri[0]: expected a path starting with /",
        ),
        (
            {"testCases": [{"request": {"authority": ["a"], "method": ["GET"], "uri": ["/"], "headers": {"h": 1}}, "route": []}]},
            "t.yaml:4: testCases[0].request.headers.h: expected a string, got a number",
        ),
        (
            {"testCases": [{"request": {"authority": ["a"], "method": ["GET"], "uri": ["/"]}, "route": {"host": "a"}}]},
            "t.yaml:4: testCases[0].route: expected a list of route destinations, got an object",
        ),
        (
            {"testCases": [{"request": {"authority": ["a"], "method": ["GET"], "uri": ["/"]}, "rewrite": "/x"}]},
            "t.yaml:4: testCases[0].rewrite: expected an object, got a string",
        ),
        (
            {"testCases": [{"request": {"authority": ["a"], "method": ["GET"], "uri": ["/"]}}]},
            "t.yaml:4: testCases[0]: nothing to check: give at least one of route, redirect, rewrite, fault, headers, delegate",
        ),
    ],
)
def test_a_malformed_file_is_one_line_naming_the_file_line_and_field(document: object, message: str) -> None:
    with pytest.raises(validator.TestFileError) as raised:
        validator.parse_cases(document, source="t.yaml", line=4)
    assert str(raised.value) == message
    assert "\n" not in str(raised.value)


def test_without_a_line_the_error_names_the_file() -> None:
    with pytest.raises(validator.TestFileError, match=r"^t\.json: testCases: expected a list"):
        validator.parse_cases({"testCases": None}, source="t.json", line=None)


def test_only_documents_with_test_cases_are_test_files() -> None:
    assert validator.is_validator_document({"testCases": []})
    assert not validator.is_validator_document({"kind": "VirtualService"})
    assert not validator.is_validator_document(["testCases"])
