"""Benchmark: the analysis on meshes shaped to find all-pairs loops, at three sizes, with the fitted exponent.

Not a unit test -- run it by hand::

    python benchmarks/bench_pathological.py            # 1,000, 2,000 and 4,000 of each shape
    python benchmarks/bench_pathological.py --quick    # 200, 400, 800

Each shape grows one dimension that an all-pairs loop would square (the scale scenario of ``bench_scale.py`` keeps
one selector, one Gateway per namespace and no ReferenceGrant, so it cannot show them):

* ``tenants``: N namespaces, each with its own ingress pod, Service, Gateway selecting only that pod (by
  ``istio=ingressgateway`` and ``app=gw-N``), and two VirtualServices routing to hosts that do not exist;
* ``one-gateway``: one Gateway with an HTTP server for ``*`` and an HTTPS server per tenant host (each with its own
  certificate), and a VirtualService per tenant host bound to it;
* ``grants``: N HTTPRoutes on one Gateway, each in its own namespace, whose rules refer to Services in other
  namespaces, half of them let by a ReferenceGrant there;
* ``mesh``: N mesh VirtualServices (for sidecars) in one namespace, every tenth for the host of the one before it;
* ``listeners``: one Gateway API Gateway with an HTTP listener for ``*.example.com`` and an HTTPS listener per
  tenant host, and an HTTPRoute per host.

"Analysis" is ``analysis.analyze`` on the snapshot read from the generated file (the read is not timed), the median
of ``--reps`` runs (7) with the cyclic collector paused (as the console script runs); a shape's three sizes are timed
in turn within each repetition, so that a slow spell of a shared machine falls on all of them, not on one size
(timed one size after another, the same shape's exponent moved by 0.3 between runs on a noisy VM).  Goal: every fitted exponent <= 1.1 (exit
status 1 otherwise).  Before the indexes that made them linear, the exponents were 2.0-2.2 (tenants), 1.9-2.0
(one-gateway), 1.8-2.2 (grants), 1.6-1.7 (mesh) and 1.6-1.7 (listeners): 26.6 s, 8.3 s, 1.2 s, 0.17 s and 0.46 s
at 2,000.
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]


def tenants(n: int) -> list[Doc]:
    docs: list[Doc] = []
    for i in range(n):
        ns, labels = f"t{i}", {"istio": "ingressgateway", "app": f"gw-{i}"}
        docs += [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"gw-{i}-0", "namespace": ns, "labels": labels},
                "spec": {"containers": [{"name": "istio-proxy", "ports": [{"containerPort": 8080, "name": "http2"}]}]},
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"gw-{i}", "namespace": ns},
                "spec": {"selector": {"app": f"gw-{i}"}, "ports": [{"name": "http2", "port": 80, "targetPort": 8080}]},
            },
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "Gateway",
                "metadata": {"name": "gw", "namespace": ns},
                "spec": {
                    "selector": labels,
                    "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": [f"*.t{i}.example.com"]}],
                },
            },
        ]
        docs += [_virtual_service(f"vs-{j}", ns, f"a{j}.t{i}.example.com", "gw") for j in range(2)]
    return docs


def one_gateway(n: int) -> list[Doc]:
    servers = [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"], "tls": {"httpsRedirect": True}}]
    servers += [
        {
            "port": {"number": 443, "name": f"https-{i}", "protocol": "HTTPS"},
            "hosts": [f"app{i}.example.com"],
            "tls": {"mode": "SIMPLE", "credentialName": f"cert-{i}"},
        }
        for i in range(n)
    ]
    gateway = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "istio-system"},
        "spec": {"selector": {"istio": "ingressgateway"}, "servers": servers},
    }
    return [gateway] + [_virtual_service(f"vs-{i}", "apps", f"app{i}.example.com", "istio-system/gw") for i in range(n)]


def grants(n: int) -> list[Doc]:
    listener = {"name": "http", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}}
    docs: list[Doc] = [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "gw", "namespace": "istio-system"},
            "spec": {"gatewayClassName": "istio", "listeners": [listener]},
        }
    ]
    for i in range(n):
        docs.append(
            {
                "apiVersion": "gateway.networking.k8s.io/v1beta1",
                "kind": "ReferenceGrant",
                "metadata": {"name": "grant", "namespace": f"b{i}"},
                "spec": {
                    "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": f"r{i}"}],
                    "to": [{"group": "", "kind": "Service"}],
                },
            }
        )
        rules = [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": f"/p{j}"}}],
                "backendRefs": [{"name": f"s{j}", "namespace": f"b{i}" if j % 2 else f"b{(i + 1) % n}", "port": 80}],
            }
            for j in range(10)
        ]
        docs.append(
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": {"name": "r", "namespace": f"r{i}"},
                "spec": {
                    "parentRefs": [{"name": "gw", "namespace": "istio-system"}],
                    "hostnames": [f"h{i}.example.com"],
                    "rules": rules,
                },
            }
        )
    return docs


def _virtual_service(name: str, namespace: str, host: str, gateway: str) -> Doc:
    http = [{"match": [{"uri": {"prefix": f"/p{k}"}}], "route": [{"destination": {"host": f"s{k}"}}]} for k in range(5)]
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"hosts": [host], "gateways": [gateway], "http": http},
    }


def mesh(n: int) -> list[Doc]:
    docs = []
    for i in range(n):
        host = f"svc{i - 1 if i % 10 == 9 else i}"
        http = [{"match": [{"uri": {"prefix": f"/p{k}"}}], "route": [{"destination": {"host": host}}]} for k in range(3)]
        http.append({"route": [{"destination": {"host": host}}]})
        docs.append(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "VirtualService",
                "metadata": {"name": f"vs-{i}", "namespace": "apps"},
                "spec": {"hosts": [host], "http": http},
            }
        )
    return docs


def listeners(n: int) -> list[Doc]:
    allowed = {"namespaces": {"from": "All"}}
    spec_listeners = [{"name": "http", "port": 80, "protocol": "HTTP", "hostname": "*.example.com", "allowedRoutes": allowed}]
    spec_listeners += [
        {
            "name": f"https-{i}",
            "port": 443,
            "protocol": "HTTPS",
            "hostname": f"app{i}.example.com",
            "tls": {"mode": "Terminate", "certificateRefs": [{"name": f"cert-{i}"}]},
            "allowedRoutes": allowed,
        }
        for i in range(n)
    ]
    docs: list[Doc] = [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "gw", "namespace": "istio-system"},
            "spec": {"gatewayClassName": "istio", "listeners": spec_listeners},
        }
    ]
    for i in range(n):
        rules = [
            {"matches": [{"path": {"type": "PathPrefix", "value": f"/p{k}"}}], "backendRefs": [{"name": f"s{k}", "port": 80}]}
            for k in range(3)
        ]
        docs.append(
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": {"name": f"r{i}", "namespace": "apps"},
                "spec": {
                    "parentRefs": [{"name": "gw", "namespace": "istio-system"}],
                    "hostnames": [f"app{i}.example.com"],
                    "rules": rules,
                },
            }
        )
    return docs


SHAPES: dict[str, Callable[[int], list[Doc]]] = {
    "tenants": tenants,
    "one-gateway": one_gateway,
    "grants": grants,
    "mesh": mesh,
    "listeners": listeners,
}


def analysis_seconds(paths: list[Path], *, reps: int) -> list[tuple[float, int]]:
    """Per file: the median time of the analysis and its number of findings, the files timed in turn each repetition."""
    from kubectl_meshctl.analysis import analyze
    from kubectl_meshctl.istio import gateway_api
    from kubectl_meshctl.sources.files import FileSource

    snapshots = [FileSource([str(path)]).read().snapshot for path in paths]
    times: list[list[float]] = [[] for _ in paths]
    counts = [0] * len(paths)
    for _ in range(reps):
        for i, snapshot in enumerate(snapshots):
            gateway_api._LAST.clear()  # the conversion is cached by snapshot: time it every run
            gc.disable()
            start = time.perf_counter()
            counts[i] = len(analyze(snapshot, witnesses=False))
            times[i].append(time.perf_counter() - start)
            gc.enable()
    return [(statistics.median(t), c) for t, c in zip(times, counts, strict=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200, 400 and 800 of each shape")
    parser.add_argument("--reps", type=int, default=7, help="timed runs per size (median)")
    args = parser.parse_args(argv)
    sizes = (200, 400, 800) if args.quick else (1000, 2000, 4000)
    failed = False
    with tempfile.TemporaryDirectory(prefix="meshctl-bench-pathological-") as tmp:
        print(f"{'shape':12} {'size':>6} {'analysis s':>11} {'findings':>9}")
        for shape, make in SHAPES.items():
            paths = []
            for n in sizes:
                path = Path(tmp) / f"{shape}-{n}.yaml"
                path.write_text(yaml.safe_dump_all(make(n)))
                paths.append(path)
            points = []
            for n, (seconds, count) in zip(sizes, analysis_seconds(paths, reps=args.reps), strict=True):
                points.append((n, seconds))
                print(f"{shape:12} {n:6} {seconds:11.3f} {count:9}")
            xs = [math.log(n) for n, _ in points]
            ys = [math.log(s) for _, s in points]
            mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
            exponent = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)
            ok = exponent <= 1.1
            failed |= not ok
            print(f"{shape:12} fitted exponent {exponent:.2f} (goal <= 1.1: {'met' if ok else 'MISSED'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
