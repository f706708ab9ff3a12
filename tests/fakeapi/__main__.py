"""Run the fake API server in its own process (benchmarks: no GIL or GC shared with the client under test).

    python -m fakeapi [--seed] [--scale GATEWAYS,VIRTUALSERVICES,PODS] [--yaml FILE]... [--istio-versions v1,v1beta1]
                      [--legacy-discovery] [--gateway-api] [--pretty-json] [--no-metadata-lists]
                      [--kubeconfig PATH] [--request-log PATH]

Prints one JSON line (url, port, token, ca_file, kubeconfig, pid) once serving, then serves until stdin reaches EOF or
SIGTERM/SIGINT; ``--request-log`` receives the request log as JSON lines on exit.  Run with ``tests/`` on sys.path.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from .scale import make_scale_scenario
from .server import FakeApiServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fakeapi", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", action="store_true", help="load scenarios/seed.yaml")
    parser.add_argument("--scale", help="GATEWAYS,VIRTUALSERVICES,PODS[,RULES] for make_scale_scenario")
    parser.add_argument("--yaml", action="append", default=[], help="a YAML file of objects to load (repeatable)")
    parser.add_argument(
        "--istio-versions", default="v1,v1beta1,v1alpha3", help="served networking.istio.io versions ('' for none)"
    )
    parser.add_argument("--legacy-discovery", action="store_true", help="refuse aggregated discovery (pre-1.26 servers)")
    parser.add_argument("--kubeconfig", help="write a kubeconfig here")
    parser.add_argument("--request-log", help="write the request log (JSON lines) here on exit")
    parser.add_argument("--gateway-api", action="store_true", help="serve the Gateway API's CRDs too")
    parser.add_argument("--pretty-json", action="store_true", help="answer pretty-printed JSON (indented list pages)")
    parser.add_argument(
        "--no-metadata-lists", action="store_true", help="refuse as=PartialObjectMetadataList (full lists or 406 instead)"
    )
    args = parser.parse_args(argv)

    versions = tuple(v for v in args.istio_versions.split(",") if v)
    server = FakeApiServer(
        istio_versions=versions,
        aggregated_discovery=not args.legacy_discovery,
        gateway_api=args.gateway_api,
        pretty_json=args.pretty_json,
        metadata_only_lists=not args.no_metadata_lists,
    ).start()
    if args.seed:
        server.load_seed()
    for path in args.yaml:
        server.load_yaml(Path(path))
    if args.scale:
        gateways, virtual_services, pods, *rules = (int(n) for n in args.scale.split(","))
        server.add_objects(
            make_scale_scenario(gateways=gateways, virtual_services=virtual_services, pods=pods, rules=rules[0] if rules else 3)
        )
    server.warm(freeze_gc=True)
    kubeconfig = str(server.write_kubeconfig(args.kubeconfig)) if args.kubeconfig else None

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    info = {
        "url": server.url,
        "port": server.port,
        "token": server.token,
        "ca_file": str(server.ca_file),
        "kubeconfig": kubeconfig,
        "pid": os.getpid(),
    }
    print(json.dumps(info), flush=True)
    while not done.wait(0.2):
        pass
    server.stop()
    if args.request_log:
        with open(args.request_log, "w") as log:
            for r in server.requests:
                log.write(
                    json.dumps({"method": r.method, "path": r.path, "query": r.query, "status": r.status, "user": r.user}) + "\n"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
