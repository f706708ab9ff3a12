"""``kubectl meshctl test``: route test files in CI -- Envoy's router_check_tool files and istio-config-validator's
test cases -- run on the model, no Envoy binary needed.

Why this module exists: the flags (``-t`` test files; routes from ``-c``, ``-f``, a pod; router_check's
``--details``, ``--only-show-failures``, ``--fail-under``, ``--covall``, ``--detailed-coverage``) and how a run is
printed: router_check's own lines for its files, one line per case for istio-config-validator's, a document
for ``-o json|yaml``.  The work is ``app/test.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..app.cluster_access import KubeOptions
from ..exitcodes import ExitCode
from ..redact import escape
from .boundary import CommandExit, PluginError
from .options import kubectl_options
from .output import echo, say, say_all

if TYPE_CHECKING:
    from ..app.test import RouteConfigs, Suite, TestRun


@click.command("test")
@click.argument("target", required=False, metavar="[POD[.NS] | deployment/NAME[.NS] | gateway/NAME[.NS]]")
@click.option("-t", "--tests", "test_files", multiple=True, required=True, metavar="FILE|DIR", help="A test file (repeatable).")
@click.option("-c", "--route-config", metavar="FILE", help="A RouteConfiguration in YAML or JSON (router_check_tool's -c).")
@click.option("-f", "--file", "files", multiple=True, metavar="FILE|DIR", help="A config dump, or manifests (repeatable).")
@click.option("--gateway", metavar="NS/NAME", help="With -f MANIFESTS: the routes this Gateway's proxies get.")
@click.option("--pod-labels", metavar="K=V[,K=V]", help="With -f MANIFESTS: the routes a pod with these labels gets.")
@click.option("--pod-namespace", default="istio-system", show_default=True, help="With --pod-labels: the pod's namespace.")
@click.option("--predict", is_flag=True, help="With a pod: test what istiod would send it, not its own routes.")
@click.option("--proxy-admin-port", default=15000, show_default=True, type=int, help="With a pod: Envoy's admin port.")
@click.option("--route", "route_name", metavar="NAME", help="The route configuration router_check tests run on.")
@click.option("--port", type=click.IntRange(1, 65535), help="Without --route: run on http.PORT [default: the only one, else 80].")
@click.option("-d", "--details", is_flag=True, help="Print every test's name (router_check_tool's --details).")
@click.option("--only-show-failures", is_flag=True, help="Print only failing tests.")
@click.option("--fail-under", type=click.FloatRange(0, 100), metavar="PCT", help="Fail when route coverage is below PCT.")
@click.option("--covall", is_flag=True, help="Comprehensive coverage: every checked field counts; list untested routes.")
@click.option("--detailed-coverage", is_flag=True, help="List the names of untested routes.")
@click.option("--allow-not-modelled", is_flag=True, help="Do not fail on tests the model cannot decide (they are still listed).")
@click.option("-o", "--output", type=click.Choice(["human", "json", "yaml"]), default="human", show_default=True)
@kubectl_options
def test_command(
    target: str | None,
    *,
    test_files: tuple[str, ...],
    route_config: str | None,
    files: tuple[str, ...],
    gateway: str | None,
    pod_labels: str | None,
    pod_namespace: str,
    predict: bool,
    proxy_admin_port: int,
    route_name: str | None,
    port: int | None,
    details: bool,
    only_show_failures: bool,
    fail_under: float | None,
    covall: bool,
    detailed_coverage: bool,
    allow_not_modelled: bool,
    output: str,
    kube: KubeOptions,
) -> None:
    """Run route tests: which route each request must take, and what it must do there.

    \b
    Test files (-t), recognised by their content:
      router_check_tool  tests: [{test_name, input: {authority, path, method, ssl, internal, random_value,
                         runtime, additional_request_headers}, validate: {cluster_name, virtual_host_name,
                         path_rewrite, host_rewrite, path_redirect, code_redirect, ..._header_matches, timeout}}]
                         run on -c ROUTE_CONFIG, -f DUMP, a pod, or -f MANIFESTS with --gateway/--pod-labels
      istio-config-      testCases: [{description, wantMatch, request: {authority, method, uri, headers},
      validator          route | redirect | rewrite | fault | headers | delegate}]   run on -f MANIFESTS

    \b
    A test whose answer depends on something the model does not cover is reported "not modelled", never guessed;
    it fails the run unless --allow-not-modelled.  Exit 4 when a test fails or coverage is below --fail-under.

    \b
    Examples:
      kubectl meshctl test -t tests.yaml -c route-config.yaml --details
      kubectl meshctl test -t tests.yaml -f config_dump.json --route http.8080 --fail-under 90
      kubectl meshctl test -t tests.yaml -f manifests/ --gateway istio-system/public-gateway -o json
      kubectl meshctl test -t cases.yml -f manifests/
      kubectl meshctl test -t tests.yaml istio-ingressgateway-5d7f9b8c4-x2x7q.istio-system
    """
    from ..app import test as app

    sources = sum(x for x in (target is not None, route_config is not None, bool(files)))
    if sources > 1:
        raise PluginError("give one of a pod, -c or -f", ExitCode.USAGE)
    if gateway is not None and pod_labels is not None:
        raise PluginError("--gateway and --pod-labels choose the proxy two ways: give one", ExitCode.USAGE)
    if (gateway is not None or pod_labels is not None) and not files:
        raise PluginError("--gateway and --pod-labels predict from manifests: give them with -f", ExitCode.USAGE)
    if predict and target is None:
        raise PluginError("--predict tests a pod's prediction: give a pod (or -f MANIFESTS with --gateway)", ExitCode.USAGE)
    routes: RouteConfigs | None = None
    snapshot = None
    unreadable = False
    if route_config is not None:
        routes = app.routes_of_route_configuration(route_config)
    elif target is not None:
        from ..app import routes as app_routes

        candidates = app_routes.read_candidates(kube, target, with_resources=predict)
        say_all(candidates.notes, prefix="Note: ")
        found = app_routes.choose_proxy(candidates, target)
        if found.note:
            say(found.note)
        label = f"{found.pod.meta.name}.{found.pod.meta.namespace}"
        if predict:
            dump = app_routes.predicted_dump(found.snapshot, found.proxy)
        else:
            dump, _how = app_routes.fetch_dump(found, admin_port=proxy_admin_port)
        routes = app.routes_of_dump(dump, label=label)
    elif files:
        from ..app.routes import read_dump_file, read_resources

        single = len(files) == 1 and files[0] != "-" and not _is_dir(files[0]) and gateway is None and pod_labels is None
        routes = app.routes_of_file(read_dump_file(files[0]), label=files[0]) if single else None
        if routes is None:
            result = read_resources(files, default_namespace=kube.namespace or "default")
            say_all(result.notes, prefix="Note: ")
            say_all(map(str, result.errors), prefix="Error: ")
            say_all(map(str, result.warnings), prefix="Warning: ")
            unreadable = bool(result.errors)
            snapshot = result.snapshot
            if gateway is not None or pod_labels is not None:
                routes = app.routes_of_prediction(snapshot, gateway=gateway, pod_labels=pod_labels, pod_namespace=pod_namespace)
    run = app.run_test_files(
        test_files, routes=routes, snapshot=snapshot, gateway=gateway, route_name=route_name, port=port, comprehensive=covall
    )
    say_all(map(str, run.errors), prefix="Error: ")
    below = _print(
        run,
        output=output,
        details=details,
        only_failures=only_show_failures,
        fail_under=fail_under,
        missing="route" if covall else "route name" if detailed_coverage else "",
    )
    failed = any(s.count("fail") for s in run.suites) or below
    undecided = any(s.count("not_modelled") for s in run.suites) and not allow_not_modelled
    if run.errors or unreadable:
        raise CommandExit(ExitCode.DATA)
    if failed or undecided:
        raise CommandExit(ExitCode.TEST_FAILED)


def _is_dir(path: str) -> bool:
    import os

    return os.path.isdir(path)


def _print(run: TestRun, *, output: str, details: bool, only_failures: bool, fail_under: float | None, missing: str) -> bool:
    """Print the run; ``True`` when a router_check file's coverage is below ``fail_under``."""
    below = False
    for suite in run.suites:
        if suite.coverage is not None and fail_under is not None and suite.coverage < fail_under:
            below = True
    if output != "human":
        import json

        import yaml

        doc = {
            "passed": not below and all(s.count("fail") == 0 for s in run.suites),
            "suites": [s.as_dict() for s in run.suites],
        }
        if fail_under is not None:
            doc["failUnder"] = fail_under
        if output == "json":
            echo(json.dumps(doc, indent=2))
        else:
            echo(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), newline=False)
        return below
    several = len(run.suites) > 1
    for suite in run.suites:
        if several:
            echo(escape(f"# {suite.source}"))
        if suite.format == "router_check":
            _router_check_lines(suite, details=details, only_failures=only_failures, fail_under=fail_under, missing=missing)
        else:
            _validator_lines(suite, only_failures=only_failures)
    return below


def _router_check_lines(suite: Suite, *, details: bool, only_failures: bool, fail_under: float | None, missing: str) -> None:
    """``missing``: ``route`` (--covall: each untested route's match) or ``route name`` (--detailed-coverage)."""
    # router_check_tool's own output: passing names on stdout (with --details), failing tests and their
    # lines on stderr; ours adds failures without a flag (a CI log without them helps nobody).
    for r in suite.results:
        if r.verdict == "pass":
            if details and not only_failures:
                echo(escape(r.name))
        elif r.verdict == "fail":
            say(escape(r.name))
            for c in r.checks:
                if not c.passed:
                    say(escape(c.line or f"expected: [{c.expected}], actual: [{c.actual}], test type: {c.field}"))
        else:
            say(escape(f"{r.name}: not modelled: {'; '.join(r.not_modelled)}"))
    if suite.count("fail") or suite.coverage is None:
        return
    for u in suite.uncovered if missing else ():
        echo(
            escape(f"Missing test for host: {u.virtual_host}, {missing}: {u.match_text if missing == 'route' else u.route_name}")
        )
    echo(f"Current route coverage: {suite.coverage:g}%")
    if fail_under is not None and suite.coverage < fail_under:
        say(f"Failed to meet coverage requirement: {fail_under:g}%")


def _validator_lines(suite: Suite, *, only_failures: bool) -> None:
    for r in suite.results:
        if r.verdict == "pass":
            if not only_failures:
                echo(escape(f"PASS {r.name}"))
        elif r.verdict == "fail":
            echo(escape(f"FAIL {r.name} ({r.origin})"))
            for c in r.checks:
                if not c.passed:
                    echo(escape(f"  {c.line or f'{c.field}: expected {c.expected}, got {c.actual}'}"))
        else:
            echo(escape(f"NOT MODELLED {r.name} ({r.origin}): {'; '.join(r.not_modelled)}"))
    echo(f"{suite.count('pass')} passed, {suite.count('fail')} failed, {suite.count('not_modelled')} not modelled")
