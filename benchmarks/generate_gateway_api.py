"""Deterministic generator of a large Gateway API ingress configuration (multi-document YAML).

The Gateway API twin of ``generate.py``, for ``bench_analyze.py --gateway-api``::

    python benchmarks/generate_gateway_api.py 2000 > /tmp/routes.yaml       # 2,000 HTTPRoutes x 10 rules

What it produces (one seeded ``random.Random``: the same arguments give the same bytes):

* four Gateways (class ``istio``) in ``istio-system``: HTTP on 80 and HTTPS on 443 with wildcard and exact listener
  hostnames, routes allowed from every namespace;
* ``n_routes`` HTTPRoutes (about 5% GRPCRoutes) over eight namespaces, each with 1-2 hostnames -- one of its own
  and, for a third of them, a shared one (``api.example.com`` ...) so that many routes merge into one generated
  VirtualService, as in clusters that spread routing over many HTTPRoutes (the API caps a route at 16 rules);
* ``rules`` rules per route: PathPrefix / Exact / RegularExpression paths, header, method and query matches,
  rules with two matches, weighted backends, redirects, URL rewrites, header modifiers, timeouts;
* a few rules that can never be reached (a longer prefix of the same route after a shorter one is still reached,
  Istio sorts it first; so the shadowed ones are exact duplicates and regexes behind a ``/`` prefix).
"""

from __future__ import annotations

import argparse
import random
import sys
from typing import Any

from generate import to_yaml

NAMESPACES = ("payments", "catalog", "search", "accounts", "shipping", "media", "partners", "platform")
APPS = ("orders", "payments", "catalog", "search", "accounts", "profile", "cart", "checkout", "inventory", "pricing")
SHARED_HOSTS = ("api.example.com", "www.example.com", "shop.example.org", "partners.example.net")
GATEWAYS = (
    ("public", ("*.example.com", "www.example.com")),
    ("shop", ("*.example.org",)),
    ("partners", ("*.example.net",)),
    ("internal", ("*.internal.example.com",)),
)


def _gateways() -> list[dict[str, Any]]:
    out = []
    for name, hostnames in GATEWAYS:
        listeners: list[dict[str, Any]] = []
        for i, host in enumerate(hostnames):
            allowed = {"namespaces": {"from": "All"}}
            listeners.append({"name": f"http-{i}", "port": 80, "protocol": "HTTP", "hostname": host, "allowedRoutes": allowed})
            listeners.append(
                {
                    "name": f"https-{i}",
                    "port": 443,
                    "protocol": "HTTPS",
                    "hostname": host,
                    "tls": {"mode": "Terminate", "certificateRefs": [{"name": f"{name}-cert"}]},
                    "allowedRoutes": allowed,
                }
            )
        out.append(
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "Gateway",
                "metadata": {"name": name, "namespace": "istio-system"},
                "spec": {"gatewayClassName": "istio", "listeners": listeners},
            }
        )
    return out


def _zone_of(host: str) -> str:
    for name, hostnames in GATEWAYS:
        if any(host == h or (h.startswith("*.") and host.endswith(h[1:])) for h in hostnames):
            return name
    return "public"


def _rule(rng: random.Random, base: str, i: int, ns: str, *, grpc: bool) -> dict[str, Any]:
    backend: dict[str, Any] = {"name": rng.choice(APPS), "namespace": ns, "port": rng.choice((80, 8080, 9090))}
    if grpc:
        match: dict[str, Any] = {"method": {"service": f"{base.strip('/').replace('/', '.')}.Svc{i}", "method": f"Call{i}"}}
        return {"matches": [match], "backendRefs": [{k: v for k, v in backend.items() if k != "namespace"}]}
    path = f"{base}/r{i}"
    roll = rng.random()
    if roll < 0.55:
        match = {"path": {"type": "PathPrefix", "value": path}}
    elif roll < 0.85:
        match = {"path": {"type": "Exact", "value": path + "/x"}}
    else:
        match = {"path": {"type": "RegularExpression", "value": path + r"/[0-9]+"}}
    if rng.random() < 0.25:
        match["headers"] = [{"name": "x-api-version", "value": rng.choice(("1", "2"))}]
    if rng.random() < 0.15:
        match["method"] = rng.choice(("GET", "POST"))
    if rng.random() < 0.1:
        match["queryParams"] = [{"name": "debug", "value": "1"}]
    rule: dict[str, Any] = {"matches": [match]}
    if rng.random() < 0.1:
        rule["matches"].append({"path": {"type": "PathPrefix", "value": path + "-legacy"}})
    roll = rng.random()
    if roll < 0.05:
        rule["filters"] = [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]
        return rule
    if roll < 0.15:
        rule["filters"] = [
            {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}
        ]
    elif roll < 0.25:
        rule["filters"] = [
            {"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": "x-route", "value": path}]}}
        ]
    if rng.random() < 0.2:
        rule["backendRefs"] = [{**backend, "weight": 90}, {**backend, "name": backend["name"] + "-canary", "weight": 10}]
    else:
        rule["backendRefs"] = [backend]
    if rng.random() < 0.1:
        rule["timeouts"] = {"request": "15s"}
    return rule


def generate(n_routes: int, rules: int = 10, seed: int = 1) -> str:
    rng = random.Random(seed)
    docs: list[dict[str, Any]] = _gateways()
    for n in range(n_routes):
        ns = NAMESPACES[n % len(NAMESPACES)]
        app = rng.choice(APPS)
        own = f"{app}-{n}.{rng.choice(('example.com', 'example.org', 'example.net', 'internal.example.com'))}"
        hostnames = [own]
        if rng.random() < 0.33:
            hostnames.append(rng.choice(SHARED_HOSTS))
        grpc = rng.random() < 0.05
        base = f"/{app}/v{n}"
        body = [_rule(rng, base, i, ns, grpc=grpc) for i in range(rules)]
        if not grpc and n % 50 == 7 and len(body) > 1:
            body[-1] = {**body[0]}  # an exact duplicate of the first rule: never reached
        if not grpc and n % 50 == 13:
            body.append(
                {
                    "matches": [{"path": {"type": "RegularExpression", "value": base + "/.*"}}],
                    "backendRefs": [{"name": app, "port": 80}],
                }
            )
            body.insert(
                0, {"matches": [{"path": {"type": "PathPrefix", "value": base}}], "backendRefs": [{"name": app, "port": 80}]}
            )
        docs.append(
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "GRPCRoute" if grpc else "HTTPRoute",
                "metadata": {"name": f"{app}-{n}", "namespace": ns},
                "spec": {
                    "parentRefs": [{"name": _zone_of(own), "namespace": "istio-system"}],
                    "hostnames": hostnames,
                    "rules": body[:16],
                },
            }
        )
    return "".join(f"---\n{to_yaml(d)}" for d in docs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("routes", type=int)
    p.add_argument("--rules", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-o", "--output")
    args = p.parse_args(argv)
    text = generate(args.routes, args.rules, args.seed)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
