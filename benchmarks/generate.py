"""Deterministic generator of a realistic, large Istio ingress configuration (multi-document YAML).

Used by ``benchmarks/bench_analyze.py``; also runnable on its own::

    python benchmarks/generate.py 10000 > /tmp/big.yaml          # 10,000 VirtualServices x 10 rules
    python benchmarks/generate.py 1000 --rules 10 --seed 1 -o /tmp/small.yaml

What it produces (all from one seeded ``random.Random``, so the same arguments give the same bytes):

* five Gateways in ``istio-system``, all with ``selector: {istio: ingressgateway}`` (so they land on
  one proxy and merge), each with an HTTP server on port 80 and an HTTPS (SIMPLE TLS) server on port
  443 -- except ``internal-gateway`` (port 8080 only) -- with wildcard, exact and
  namespace-scoped (``team-partners/*.partner.example.net``) hosts;
* ``n_vs`` VirtualServices spread over eight namespaces, each with 1-3 hosts: one unique host
  (``<name>.example.com`` ...), in about a third of them a *shared* host (``api.example.com``,
  ``www.example.com``, ``*.example.com``, ``shop.example.org`` ...) so that many VirtualServices merge
  into one virtual host at the gateway, sometimes an alias host or the in-mesh service FQDN (those
  VirtualServices are also bound to ``mesh``);
* ``rules`` HTTP rules per VirtualService: uri prefix / exact / regex matches, header matches
  (exact, prefix, regex), method, queryParams, ``ignoreUriCase``, rules with two matches (OR),
  canary pairs (header rule before the plain rule), redirects, direct responses, weighted routes
  to destinations with ports, timeouts and retries; unique-host VirtualServices usually end with a
  rule without ``match`` (the default route);
* a few genuinely unreachable rules (proportional to ``n_vs``): a prefix rule hidden by an earlier
  shorter prefix of the same VirtualService, an exact duplicate match, and pairs of VirtualServices
  on the shared ``www.example.com`` whose second one's rule is covered by the first one's.

Everything else is written so that it is *not* shadowed (each rule of a VirtualService owns its own
path; VirtualServices sharing a host each live under their own path prefix).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from typing import Any

__all__ = ["GATEWAY_NAMES", "NAMESPACES", "generate"]

NAMESPACES = (
    "team-payments",
    "team-catalog",
    "team-search",
    "team-accounts",
    "team-shipping",
    "team-media",
    "team-partners",
    "team-platform",
)
APPS = (
    "orders", "payments", "catalog", "search", "accounts", "profile", "cart", "checkout", "inventory",
    "pricing", "reviews", "shipping", "media", "images", "notify", "auth", "billing", "reports",
    "graphql", "gateway-api", "recommend", "wishlist", "loyalty", "returns",
)  # fmt: skip
RESOURCES = (
    "users", "orders", "items", "products", "carts", "sessions", "tokens", "invoices", "payments",
    "refunds", "reviews", "ratings", "images", "thumbnails", "videos", "search", "suggest", "feeds",
    "events", "metrics", "reports", "exports", "imports", "webhooks", "settings", "profiles",
    "addresses", "coupons", "stock", "prices", "shipments", "labels", "tracking", "files", "tags",
    "categories", "brands", "sellers", "messages", "notifications",
)  # fmt: skip

GATEWAY_NAMES = ("public-gateway", "api-gateway", "shop-gateway", "partner-gateway", "internal-gateway")

# zone -> (gateway, domain for unique hosts, shared hosts of that zone, weight)
_ZONES: dict[str, tuple[str, str, tuple[str, ...], int]] = {
    "public": ("public-gateway", "example.com", ("api.example.com", "www.example.com", "*.example.com"), 55),
    "shop": ("shop-gateway", "shop.example.org", ("shop.example.org", "checkout.shop.example.org"), 20),
    "api": ("api-gateway", "api.example.org", ("api.example.org",), 12),
    "internal": ("internal-gateway", "internal.example.com", ("tools.internal.example.com",), 8),
    "partner": ("partner-gateway", "partner.example.net", ("www.partner.example.net",), 5),
}
_HEADER_MATCHES: tuple[tuple[str, dict[str, str]], ...] = (
    ("x-api-version", {"exact": "2"}),
    ("x-canary", {"exact": "true"}),
    ("user-agent", {"regex": ".*(Android|iPhone|iPad).*"}),
    ("cookie", {"regex": "^(.*?;)?(beta=1)(;.*)?$"}),
    ("authorization", {"prefix": "Bearer "}),
    ("x-tenant", {"exact": "acme"}),
    ("accept", {"prefix": "application/vnd.example"}),
)
_QUERY_MATCHES: tuple[tuple[str, dict[str, str]], ...] = (
    ("version", {"exact": "v2"}),
    ("debug", {"exact": "true"}),
    ("format", {"regex": "^(json|csv)$"}),
    ("preview", {"exact": "1"}),
)
_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
_PORTS = (8080, 8080, 8080, 9000, 80, 8443, 3000)


# --------------------------------------------------------------------------- a tiny YAML emitter

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_SPECIAL = frozenset(["y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"])


def _scalar(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    s = str(v)
    if _PLAIN.match(s) and s.lower() not in _SPECIAL:
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _emit(obj: Any, indent: int, out: list[str]) -> None:
    """Block-style YAML as kubectl prints it (lists at the indentation of their key)."""
    pad = " " * indent
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, dict):
                if v:
                    out.append(f"{pad}{k}:")
                    _emit(v, indent + 2, out)
                else:
                    out.append(f"{pad}{k}: {{}}")
            elif isinstance(v, list):
                if v:
                    out.append(f"{pad}{k}:")
                    _emit(v, indent, out)
                else:
                    out.append(f"{pad}{k}: []")
            else:
                out.append(f"{pad}{k}: {_scalar(v)}")
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, dict):
                sub: list[str] = []
                _emit(item, indent + 2, sub)
                sub[0] = f"{pad}- {sub[0][indent + 2 :]}"
                out.extend(sub)
            else:
                out.append(f"{pad}- {_scalar(item)}")
    else:
        out.append(f"{pad}{_scalar(obj)}")


def to_yaml(doc: dict[str, Any]) -> str:
    lines: list[str] = []
    _emit(doc, 0, lines)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- Gateways


def _gateways() -> list[dict[str, Any]]:
    def server(port: int, hosts: list[str], gw: str, https: bool) -> dict[str, Any]:
        s: dict[str, Any] = {
            "port": {
                "number": port,
                "name": f"{'https' if https else 'http'}-{port}-{gw}",
                "protocol": "HTTPS" if https else "HTTP",
            },
            "hosts": hosts,
        }
        if https:
            s["tls"] = {"mode": "SIMPLE", "credentialName": f"{gw}-cert"}
        return s

    specs = {
        "public-gateway": (["*.example.com"], True, 80),
        "api-gateway": (["api.example.org", "*.api.example.org"], True, 80),
        "shop-gateway": (["shop.example.org", "*.shop.example.org"], True, 80),
        "partner-gateway": (["team-partners/*.partner.example.net", "team-platform/*.partner.example.net"], True, 80),
        "internal-gateway": (["*.internal.example.com"], False, 8080),
    }
    docs = []
    for name, (hosts, https, port) in specs.items():
        servers = [server(port, hosts, name, False)]
        if https:
            servers.append(server(443, hosts, name, True))
        docs.append(
            {
                "apiVersion": "networking.istio.io/v1beta1",
                "kind": "Gateway",
                "metadata": {"name": name, "namespace": "istio-system", "labels": {"app.kubernetes.io/part-of": "ingress"}},
                "spec": {"selector": {"istio": "ingressgateway"}, "servers": servers},
            }
        )
    return docs


# --------------------------------------------------------------------------- VirtualServices


def _destination(host: str, port: int, weight: int | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"destination": {"host": host, "port": {"number": port}}}
    if weight is not None:
        d["weight"] = weight
    return d


def _uri(rng: random.Random, path: str) -> dict[str, Any]:
    """A uri match on ``path`` (a path this rule owns): prefix ``path/``, exact ``path`` or a regex under it."""
    kind = rng.choices(("prefix", "exact", "regex"), (6, 3, 2))[0]
    if kind == "prefix":
        return {"uri": {"prefix": f"{path}/"}}
    if kind == "exact":
        return {"uri": {"exact": path}}
    return {"uri": {"regex": f"{path}/[0-9]+(/.*)?"}}


class _VS:
    def __init__(self, rng: random.Random, i: int, n_vs: int, rules: int) -> None:
        self.rng = rng
        self.i = i
        self.rules = rules
        self.namespace = NAMESPACES[i % len(NAMESPACES)]
        self.app = APPS[rng.randrange(len(APPS))]
        self.name = f"{self.app}-{i:05d}"
        self.service = f"{self.name}.{self.namespace}.svc.cluster.local"
        self.canary = f"{self.name}-canary.{self.namespace}.svc.cluster.local"
        self.port = rng.choice(_PORTS)

    # -- the cases with a genuinely unreachable rule (a few per 1,000 VirtualServices)
    @property
    def prefix_shadow(self) -> bool:
        return self.i % 400 == 17

    @property
    def duplicate_match(self) -> bool:
        return self.i % 400 == 203

    @property
    def cross_pair(self) -> int:
        """0: no; 1: first of a pair on www.example.com (owns /promo/N/); 2: second (shadowed by the first)."""
        return {399: 1, 400: 2}.get(self.i % 800, 0)

    def document(self) -> dict[str, Any]:
        rng = self.rng
        gateways: list[str]
        if self.cross_pair:
            self.app, ns = "promo", "team-media"
            self.namespace = ns
            # names sort by (creation time, name): promo-<pair>-a before promo-<pair>-b
            self.name = f"promo-{self.i // 800:03d}-{'ab'[self.cross_pair - 1]}"
            self.service = f"{self.name}.{ns}.svc.cluster.local"
            hosts = ["www.example.com"]
            gateways = ["istio-system/public-gateway"]
            shared = True
        else:
            zone = "partner" if self.namespace in ("team-partners", "team-platform") and rng.random() < 0.35 else None
            if zone is None:
                zone = rng.choices(
                    [z for z in _ZONES if z != "partner"], [w for z, (_, _, _, w) in _ZONES.items() if z != "partner"]
                )[0]
            gw, domain, shared_hosts, _ = _ZONES[zone]
            hosts = [f"{self.name}.{domain}"]
            shared = rng.random() < 0.35
            if shared:
                hosts.append(rng.choice(shared_hosts))
            if rng.random() < 0.12:
                hosts.append(f"{self.name}-v2.{domain}")
            gateways = [f"istio-system/{gw}"]
            if not shared and len(hosts) < 3 and rng.random() < 0.08:
                hosts.append(self.service)  # also routed inside the mesh
                gateways.append("mesh")
            # cross-gateway: the same VS also exposed via the API gateway
            if zone == "public" and rng.random() < 0.15 and not any(h.startswith("api.") for h in hosts) and len(hosts) < 3:
                hosts.append(f"{self.name}.api.example.org")
                gateways.append("istio-system/api-gateway")
        # a VirtualService whose host is shared lives under its own path prefix
        base = f"/{self.name}" if shared else rng.choice(("", "/api", "/v1", f"/{self.app}"))
        doc: dict[str, Any] = {
            "apiVersion": rng.choice(("networking.istio.io/v1beta1", "networking.istio.io/v1", "networking.istio.io/v1alpha3")),
            "kind": "VirtualService",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {"app": self.app, "team": self.namespace.removeprefix("team-")},
            },
            "spec": {"hosts": hosts, "gateways": gateways, "http": self._http(base, shared)},
        }
        if rng.random() < 0.05:
            doc["metadata"]["annotations"] = {"meta.helm.sh/release-name": self.name}
        return doc

    def _http(self, base: str, shared: bool) -> list[dict[str, Any]]:
        rng = self.rng
        n = self.rules
        if self.cross_pair == 1:
            # the first of the pair: /promo/<pair>/ routed as a whole (certain, not a catch-all)
            return self._pair_rules(first=True)
        if self.cross_pair == 2:
            return self._pair_rules(first=False)
        pool = RESOURCES if n <= len(RESOURCES) else RESOURCES + tuple(f"res{k}" for k in range(n - len(RESOURCES)))
        resources = rng.sample(pool, n)
        default_route = not shared and rng.random() < 0.65
        out: list[dict[str, Any]] = []
        j = 0
        while len(out) < n:
            last = len(out) == n - 1
            res = resources[j]
            path = f"{base}/{res}"
            j += 1
            if last and default_route:
                out.append({"name": "default", "route": [_destination(self.service, self.port)], "timeout": "15s"})
                continue
            if last and shared:
                # everything else under this VirtualService's own prefix
                out.append(
                    {"name": "rest", "match": [{"uri": {"prefix": f"{base}/"}}], "route": [_destination(self.service, self.port)]}
                )
                continue
            kind = rng.choices(
                ("plain", "headers", "method", "query", "two", "canary", "redirect", "direct"), (5, 3, 2, 2, 2, 2, 1, 1)
            )[0]
            if kind == "canary" and len(out) <= n - 3:
                header, value = _HEADER_MATCHES[1]
                out.append(
                    {
                        "name": f"{res}-canary",
                        "match": [{"uri": {"prefix": f"{path}/"}, "headers": {header: value}}],
                        "route": [_destination(self.canary, self.port)],
                    }
                )
                out.append(
                    {
                        "name": res,
                        "match": [{"uri": {"prefix": f"{path}/"}}],
                        "route": [_destination(self.service, self.port, 90), _destination(self.canary, self.port, 10)],
                        "timeout": "5s",
                    }
                )
                continue
            match: list[dict[str, Any]]
            rule: dict[str, Any] = {"name": res}
            if kind == "headers":
                m = _uri(rng, path)
                for header, value in rng.sample(_HEADER_MATCHES, rng.choice((1, 1, 2))):
                    m.setdefault("headers", {})[header] = dict(value)
                match = [m]
            elif kind == "method":
                m = {**_uri(rng, path), "method": {"exact": rng.choice(_METHODS)}}
                match = [m]
            elif kind == "query":
                m = _uri(rng, path)
                name, value = rng.choice(_QUERY_MATCHES)
                m["queryParams"] = {name: dict(value)}
                match = [m]
            elif kind == "two":
                match = [{"name": "exact", "uri": {"exact": path}}, {"name": "subtree", "uri": {"prefix": f"{path}/"}}]
            else:
                m = _uri(rng, path)
                if rng.random() < 0.1 and "prefix" in m["uri"]:
                    m["ignoreUriCase"] = True
                match = [m]
            rule["match"] = match
            if kind == "redirect":
                rule["match"] = [{"uri": {"exact": f"{path}/old"}}]
                rule["redirect"] = {"uri": f"{path}/", "redirectCode": 301}
            elif kind == "direct":
                rule["match"] = [{"uri": {"exact": f"{path}/ping"}}]
                rule["directResponse"] = {"status": 200, "body": {"string": "pong"}}
            elif rng.random() < 0.2:
                rule["route"] = [_destination(self.service, self.port, 80), _destination(self.canary, self.port, 20)]
            else:
                rule["route"] = [_destination(self.service, self.port)]
            if "route" in rule and rng.random() < 0.3:
                rule["timeout"] = rng.choice(("2s", "5s", "30s"))
                rule["retries"] = {"attempts": 3, "perTryTimeout": "2s", "retryOn": "gateway-error,connect-failure"}
            out.append(rule)
        if self.prefix_shadow and n >= 7:
            # rule 2 covers everything under <base>/legacy/; rule 6 asks for a deeper prefix -> unreachable
            out[2] = {
                "name": "legacy",
                "match": [{"uri": {"prefix": f"{base}/legacy/"}}],
                "route": [_destination(self.service, self.port)],
            }
            out[6] = {
                "name": "legacy-special",
                "match": [{"uri": {"prefix": f"{base}/legacy/special/"}}],
                "route": [_destination(self.canary, self.port)],
            }
        if self.duplicate_match and n >= 5:
            out[4] = {
                "name": f"{out[4]['name']}-dup",
                "match": [dict(m) for m in out[1].get("match", [])] or [{"uri": {"exact": "/dup"}}],
            }
            out[4]["route"] = [_destination(self.canary, self.port)]
        return out

    def _pair_rules(self, *, first: bool) -> list[dict[str, Any]]:
        pair = self.i // 800
        promo = f"/promo/{pair}"
        out: list[dict[str, Any]] = []
        if first:
            out.append(
                {"name": "promo", "match": [{"uri": {"prefix": f"{promo}/"}}], "route": [_destination(self.service, self.port)]}
            )
        for j, res in enumerate(RESOURCES[: self.rules - len(out)]):
            p = f"/{self.name}/{res}"
            if not first and j == 3:
                p = f"{promo}/summer"  # covered by the first VirtualService's /promo/<pair>/ at www.example.com
                out.append(
                    {"name": "summer", "match": [{"uri": {"prefix": f"{p}/"}}], "route": [_destination(self.service, self.port)]}
                )
                continue
            out.append({"name": res, "match": [{"uri": {"prefix": f"{p}/"}}], "route": [_destination(self.service, self.port)]})
        return out


def generate(n_vs: int, rules: int = 10, seed: int = 1) -> str:
    """Multi-document YAML with the Gateways and ``n_vs`` VirtualServices of ``rules`` HTTP rules each."""
    if rules < 2:
        raise ValueError("rules must be at least 2")
    rng = random.Random(seed)
    docs = [to_yaml(d) for d in _gateways()]
    for i in range(n_vs):
        docs.append(to_yaml(_VS(rng, i, n_vs, rules).document()))
    return "---\n".join(docs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("n_vs", type=int, help="number of VirtualServices")
    p.add_argument("--rules", type=int, default=10, help="HTTP rules per VirtualService (default 10)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-o", "--output", help="file to write (default: stdout)")
    args = p.parse_args(argv)
    text = generate(args.n_vs, args.rules, args.seed)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
