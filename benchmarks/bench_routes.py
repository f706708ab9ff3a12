"""Benchmark: ``routes -f`` on a generated ~20 MB Envoy config dump vs ``json.loads`` of the same bytes.

Not a unit test -- run by hand: ``python benchmarks/bench_routes.py [--mb 20] [--reps 7]``.
Goal (issue "routes"): load + render <= 1.5x ``json.loads``, medians, measured in the same run.
Also times the CLI end to end once.  Exit status 1 when the goal is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubectl_meshctl.routes.dump import load_route_dump
from kubectl_meshctl.routes.table import render_routes

META = "/apis/networking.istio.io/v1/namespaces/{ns}/virtual-service/{vs}"


def generate(target_mb: float) -> bytes:
    """An ingress-gateway-shaped dump: a few http/https route configs, many vhosts, istiod-like routes."""
    vhosts_per_rc, routes_per_vhost = 400, 8
    dynamic = []
    n = 0
    while True:
        vhosts = []
        for v in range(vhosts_per_rc):
            host = f"svc-{n}-{v}.example.com"
            routes = []
            for r in range(routes_per_vhost):
                ns, vs = f"team-{v % 17}", f"vs-{n}-{v}"
                match = (
                    {"prefix": f"/api/v{r}/items", "case_sensitive": True}
                    if r % 3
                    else {"path": f"/exact/{r}", "case_sensitive": True}
                )
                routes.append(
                    {
                        "match": match,
                        "route": {
                            "cluster": f"outbound|8080||backend-{r}.{ns}.svc.cluster.local",
                            "timeout": "0s",
                            "retry_policy": {
                                "retry_on": "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
                                "num_retries": 2,
                            },
                            "max_grpc_timeout": "0s",
                        },
                        "metadata": {"filter_metadata": {"istio": {"config": META.format(ns=ns, vs=vs)}}},
                        "decorator": {"operation": f"backend-{r}.{ns}.svc.cluster.local:8080/api/v{r}/items*"},
                    }
                )
            vhosts.append({"name": f"{host}:443", "domains": [host], "routes": routes, "include_request_attempt_count": True})
        rc = {
            "@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
            "name": f"https.443.https-{n}.gw-{n}.istio-system",
            "virtual_hosts": vhosts,
            "validate_clusters": False,
        }
        dynamic.append({"version_info": "2026-11-25T00:00:00Z/1", "route_config": rc, "last_updated": "2026-11-25T00:00:00Z"})
        n += 1
        data = json.dumps(
            {"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.RoutesConfigDump", "dynamic_route_configs": dynamic}]},
            indent=1,
        ).encode()
        if len(data) >= target_mb * 1e6:
            return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=20)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    data = generate(args.mb)
    baseline, ours = [], []
    for _ in range(args.reps):  # alternate so drift hits both
        start = time.perf_counter()
        json.loads(data)
        baseline.append(time.perf_counter() - start)
        start = time.perf_counter()
        render_routes(load_route_dump(data))
        ours.append(time.perf_counter() - start)
    b, o = statistics.median(baseline), statistics.median(ours)
    path = Path(tempfile.mkdtemp()) / "dump.json"
    path.write_bytes(data)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kubectl_meshctl", "routes", "-f", str(path)], stdout=subprocess.DEVNULL, check=True)
    cli = time.perf_counter() - start
    os.unlink(path)
    print(
        f"dump {len(data) / 1e6:.1f} MB; json.loads median {b:.3f} s; load + render median {o:.3f} s; ratio {o / b:.2f} (goal <= 1.5)"
    )
    print(f"CLI end to end once: {cli:.3f} s")
    return 0 if o / b <= 1.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
