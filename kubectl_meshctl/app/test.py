"""``test``: route test files run against a route configuration, a config dump, a prediction or manifests.

Why this module exists: the command takes test files in two formats and routes from five places (``-c`` a
route configuration, ``-f`` a config dump, ``-f`` manifests predicted for ``--gateway``/``--pod-labels``, a pod's
own dump, a pod's prediction); this module reads them, picks the route configuration the tests run on, runs
each file with :mod:`kubectl_meshctl.routetests`, and returns plain results the shell prints.  Never prints,
never exits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..records import record
from .errors import BadInput, UsageProblem

if TYPE_CHECKING:
    from ..envoy.from_dump import DumpedRouteConfiguration
    from ..resources.model import Snapshot
    from ..routetests.results import CaseResult
    from ..routetests.router_check import Uncovered
    from ..sources.result import InputError

SuiteFormat = Literal["router_check", "istio-config-validator"]


@record
class RouteConfigs:
    """Route configurations a router_check file can run on, and where they came from."""

    label: str
    configurations: tuple[DumpedRouteConfiguration, ...]


@record
class Suite:
    """One test file's run."""

    source: str
    format: SuiteFormat
    results: tuple[CaseResult, ...]
    route_configuration: str = ""
    coverage: float | None = None
    uncovered: tuple[Uncovered, ...] = ()

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.results if r.verdict == verdict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.source, "format": self.format}
        if self.route_configuration:
            out["routeConfiguration"] = self.route_configuration
        out["passed"] = self.count("pass")
        out["failed"] = self.count("fail")
        out["notModelled"] = self.count("not_modelled")
        if self.coverage is not None:
            out["coverage"] = round(self.coverage, 4)
            out["uncovered"] = [
                {"virtualHost": u.virtual_host, "routeName": u.route_name, "match": u.match_text} for u in self.uncovered
            ]
        out["tests"] = [_case_dict(r) for r in self.results]
        return out


def _case_dict(r: CaseResult) -> dict[str, Any]:
    out: dict[str, Any] = {"name": r.name, "origin": r.origin, "verdict": r.verdict, "request": r.request}
    if r.route:
        out["route"] = r.route
    out["checks"] = [
        {
            "field": c.field,
            "expected": c.expected,
            "actual": c.actual,
            "passed": c.passed,
            **({"line": c.line} if not c.passed else {}),
        }
        for c in r.checks
    ]
    if r.not_modelled:
        out["notModelled"] = list(r.not_modelled)
    return out


@dataclass(slots=True)
class TestRun:
    suites: list[Suite] = field(default_factory=list)
    errors: list[InputError | str] = field(default_factory=list)
    """Test files (or documents) that could not be run; the others were."""
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- where the routes come from


def routes_of_dump(dump: bytes, *, label: str) -> RouteConfigs:
    """The route configurations of a config dump (a pod's or a saved one)."""
    from .routes import dumped_configurations

    return RouteConfigs(label, tuple(dumped_configurations(dump, prefix=f"{label}: ")))


def routes_of_prediction(snapshot: Snapshot, *, gateway: str | None, pod_labels: str | None, pod_namespace: str) -> RouteConfigs:
    """istiod's predicted route configurations for the proxy ``--gateway`` selects or ``--pod-labels`` describes."""
    from .routes import hypothetical_proxy, predicted_dump
    from .trace import proxies_for_gateway

    if gateway is not None:
        proxies = proxies_for_gateway(snapshot, gateway)
        if len(proxies) > 1:  # pods with different labels may get different routes (sourceLabels)
            raise UsageProblem(
                f"gateway {gateway} selects pods with different labels: choose one with --pod-labels instead of --gateway"
            )
        proxy, label = proxies[0], f"prediction for gateway {gateway}"
    else:
        proxy, label = hypothetical_proxy(pod_labels or "", namespace=pod_namespace), f"prediction for pods labelled {pod_labels}"
    return routes_of_dump(predicted_dump(snapshot, proxy), label=label)


def routes_of_file(data: bytes, *, label: str) -> RouteConfigs | None:
    """``-f FILE`` read as a config dump (a JSON object with ``configs``), decoded once, within the dump's caps;
    ``None`` for anything else: manifests, whose reader then says what is wrong with them."""
    from ..routes.dump import RoutesError, decode_dump
    from .routes import dumped_configurations

    if data.lstrip()[:1] != b"{":
        return None
    try:
        decoded = decode_dump(data)
    except RoutesError:
        return None
    if not (isinstance(decoded, dict) and "configs" in decoded):
        return None
    return RouteConfigs(label, tuple(dumped_configurations(decoded, prefix=f"{label}: ")))


def routes_of_route_configuration(path: str) -> RouteConfigs:
    """``-c FILE``: one ``RouteConfiguration`` in YAML or JSON (router_check_tool's ``-c``), loaded strictly."""
    from ..envoy.from_dump import DumpShapeError, dumped_route_configuration
    from ..routetests.router_check import TestFileError, check_route_configuration
    from ..sources.documents import read_documents

    read = read_documents([path])
    if read.errors:
        raise BadInput(str(read.errors[0]))
    if len(read.documents) != 1:
        raise BadInput(f"{path}: one RouteConfiguration expected, found {len(read.documents)} documents")
    raw = read.documents[0].data
    try:
        check_route_configuration(raw, source=path)
        return RouteConfigs(path, (dumped_route_configuration(raw),))
    except TestFileError as exc:
        raise BadInput(str(exc)) from None
    except DumpShapeError as exc:
        raise BadInput(f"{path}: {exc}") from None


def choose_configuration(routes: RouteConfigs, *, name: str | None, port: int | None) -> DumpedRouteConfiguration:
    """``--route NAME``; ``--port N``: ``http.N``; else the only named route configuration with virtual hosts (a
    proxy's unnamed ones are its bootstrap's: stats, health); else ``http.80``."""
    named = {c.configuration.name: c for c in routes.configurations}
    listed = ", ".join(sorted(n or "(unnamed)" for n in named)) or "none"
    if name is not None:
        if name not in named:
            raise UsageProblem(f"{routes.label}: no route configuration {name!r} (it has: {listed})")
        return named[name]
    if port is not None:
        if f"http.{port}" not in named:
            raise UsageProblem(
                f"{routes.label}: no route configuration http.{port}: choose one with --route NAME (it has: {listed})"
            )
        return named[f"http.{port}"]
    useful = [c for c in routes.configurations if c.configuration.virtual_hosts and c.configuration.name]
    if len(useful) == 1:
        return useful[0]
    if len(routes.configurations) == 1:
        return routes.configurations[0]
    if "http.80" in named:
        return named["http.80"]
    raise UsageProblem(f"{routes.label}: which route configuration? choose one with --route NAME (it has: {listed})")


# --------------------------------------------------------------------------- running the files


def run_test_files(
    test_files: Sequence[str],
    *,
    routes: RouteConfigs | None,
    snapshot: Snapshot | None,
    gateway: str | None,
    route_name: str | None,
    port: int | None,
    comprehensive: bool,
) -> TestRun:
    """Every test file; a bad file is an error in the run and the others still run."""
    from ..routetests import router_check, validator
    from ..sources.documents import read_documents
    from .trace import gateway_name

    out = TestRun()
    read = read_documents(test_files)
    out.errors.extend(read.errors)
    by_file: dict[str, list[Any]] = {}
    for doc in read.documents:
        by_file.setdefault(doc.source, []).append(doc)
    for source, docs in by_file.items():
        try:
            if all(router_check.is_router_check_document(d.data) for d in docs):
                if routes is None:
                    raise UsageProblem(
                        f"{source}: router_check tests need routes: -c ROUTE_CONFIG, -f DUMP, a pod, or -f MANIFESTS with"
                        " --gateway/--pod-labels"
                    )
                config = choose_configuration(routes, name=route_name, port=port)
                tests = [t for d in docs for t in router_check.parse_tests(d.data, source=source, line=d.line)]
                ran = router_check.run(config, tests, comprehensive=comprehensive)
                out.suites.append(
                    Suite(source, "router_check", ran.results, config.configuration.name, ran.coverage, ran.uncovered)
                )
            elif all(validator.is_validator_document(d.data) for d in docs):
                if snapshot is None:
                    raise UsageProblem(f"{source}: istio-config-validator test cases need the manifests: -f FILE|DIR")
                cases = [c for d in docs for c in validator.parse_cases(d.data, source=source, line=d.line)]
                where = None if gateway is None else gateway_name(gateway)
                out.suites.append(
                    Suite(source, "istio-config-validator", tuple(validator.run_cases(snapshot, cases, gateway=where)))
                )
            else:
                out.errors.append(
                    f"{source}: not a route test file (router_check_tool's `tests:` or istio-config-validator's `testCases:`)"
                )
        except (router_check.TestFileError, validator.TestFileError) as exc:
            out.errors.append(str(exc))
    return out
