"""Requests built from predicted route matches, and the expected outcome of a route.

The oracle needs requests that a given route's match accepts: :func:`satisfying_requests` builds them
from the path specifier, header (``:method``/``:authority`` included) and query matchers, varying every
dimension the match leaves open over the values the *other* routes of the vhost look at, so that requests
both inside and outside those routes are tried.  The product's model of Envoy's matching
(:mod:`kubectl_meshctl.envoy.matching`) picks candidates (e.g. requests no earlier route takes) and states
what the model predicts; the verdict always comes from Envoy.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from kubectl_meshctl.envoy.matching import Header, Request, accepts, header_matches, select_virtual_host, value_matches
from kubectl_meshctl.envoy.route_model import RouteConfiguration, RouteMatch, ValueMatcher, VirtualHost

from .gateway import Answer, EnvoyGateway

try:  # Python 3.11+
    import re._constants as sre_constants  # type: ignore[import-not-found]
    import re._parser as sre_parse  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

FILLER = "zz-meshctl"
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
"""Methods Envoy's HTTP/1 codec accepts (an unknown method is a 400 before routing)."""
PATH_SAFE = frozenset(string.ascii_letters + string.digits + "/-._~!$&'()*+,;=:@%")
HEADER_SAFE = frozenset(string.printable) - frozenset("\r\n\t\x0b\x0c")


# --------------------------------------------------------------------------- regex samples


def _sample(tokens: Iterable[tuple[object, object]], variant: int) -> str:
    out: list[str] = []
    for op, av in tokens:
        if op is sre_constants.LITERAL:
            out.append(chr(av))  # type: ignore[arg-type]
        elif op is sre_constants.NOT_LITERAL:
            out.append("a" if chr(av) != "a" else "b")  # type: ignore[arg-type]
        elif op is sre_constants.ANY:
            out.append("a" if variant % 2 == 0 else "7")
        elif op is sre_constants.IN:
            out.append(_in_char(av, variant))  # type: ignore[arg-type]
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, getattr(sre_constants, "POSSESSIVE_REPEAT", None)):
            low, high, sub = av  # type: ignore[misc]
            high = 3 if high is sre_constants.MAXREPEAT else high
            count = [low, max(low, 1), min(max(low, 2), high)][variant % 3]
            out.extend(_sample(sub, variant) for _ in range(count))
        elif op is sre_constants.SUBPATTERN:
            out.append(_sample(av[-1], variant))  # type: ignore[index]
        elif op is sre_constants.BRANCH:
            branches = av[1]  # type: ignore[index]
            out.append(_sample(branches[variant % len(branches)], variant))
        elif op is sre_constants.AT:
            continue
        elif op is sre_constants.CATEGORY:
            out.append(_category_char(av))
        else:
            raise ValueError(f"unsupported regex construct {op}")
    return "".join(out)


def _category_char(category: object) -> str:
    name = str(category)
    if "NOT_DIGIT" in name or "NOT_SPACE" in name:
        return "a"
    if "DIGIT" in name:
        return "7"
    if "NOT_WORD" in name:
        return "-"
    if "WORD" in name:
        return "a"
    return " "


def _in_char(items: list[tuple[object, object]], variant: int) -> str:
    negate = any(op is sre_constants.NEGATE for op, _ in items)
    chars: list[str] = []
    for op, av in items:
        if op is sre_constants.LITERAL:
            chars.append(chr(av))  # type: ignore[arg-type]
        elif op is sre_constants.RANGE:
            lo, hi = av  # type: ignore[misc]
            chars.extend([chr(lo), chr(hi)])
        elif op is sre_constants.CATEGORY:
            chars.append(_category_char(av))
    if negate:
        return next(c for c in "abz7-_/XQ" if c not in chars)
    return chars[variant % len(chars)] if chars else "a"


def regex_samples(pattern: str, count: int = 3) -> list[str]:
    """A few distinct strings Python's ``re`` fully matches with ``pattern`` ([] when none could be built)."""
    try:
        parsed = sre_parse.parse(pattern)
        compiled = re.compile(pattern)
    except (re.error, ValueError, TypeError):
        return []
    found: list[str] = []
    for variant in range(count * 2):
        try:
            text = _sample(list(parsed), variant)
        except (ValueError, IndexError, StopIteration):
            continue
        if compiled.fullmatch(text) and text not in found:
            found.append(text)
        if len(found) >= count:
            break
    return found


# --------------------------------------------------------------------------- hosts


def hosts_for(vhost: VirtualHost, vhosts: Sequence[VirtualHost]) -> list[str]:
    """Host headers that make Envoy pick ``vhost`` among ``vhosts`` (one per domain, when possible)."""
    out: list[str] = []
    for d in vhost.domains:
        if d == "*":
            host = f"{FILLER}.invalid"
        elif d.startswith("*"):
            host = FILLER + d[1:]
        elif d.endswith("*"):
            host = d[:-1] + FILLER
        else:
            host = d
        choice = select_virtual_host(vhosts, host)
        if choice is not None and choice.virtual_host is vhost and host not in out:
            out.append(host)
    return out


# --------------------------------------------------------------------------- candidates


def _satisfying(m: ValueMatcher, invert: bool, treat_missing: bool, safe: frozenset[str]) -> list[str | None]:
    """Header/query values (``None`` = absent) accepted by a matcher."""
    if m.kind == "present":
        return [None] if invert else ["1"]
    if m.kind == "exact":
        positive = [m.value]
    elif m.kind == "prefix":
        positive = [m.value, m.value + "x"]
    else:
        positive = regex_samples(m.value)
    positive = [v for v in positive if set(v) <= safe and v == v.strip()]  # HTTP trims surrounding whitespace
    if not invert:
        return list(dict.fromkeys(positive))
    out: list[str | None] = [None] if treat_missing else []
    out += [v for v in ("zz", FILLER, "") if not value_matches(m, v)]
    return out


def _interesting(m: ValueMatcher) -> list[str]:
    if m.kind == "present":
        return ["1"]
    if m.kind == "exact":
        return [m.value, m.value + "x"]
    if m.kind == "prefix":
        return [m.value, m.value + "x"]
    return regex_samples(m.value, 2)


def _paths(match: RouteMatch, context: Sequence[RouteMatch]) -> list[str]:
    spec = match.path
    if spec.kind == "regex":
        found = [s for s in regex_samples(spec.value, 4) if s.startswith("/")]
    elif spec.kind == "path":
        found = [spec.value] if spec.value.startswith("/") else []
        if spec.case_sensitive is False:
            found.append(spec.value.swapcase())
    else:
        base = spec.value or "/"
        if not base.startswith("/"):
            return []  # :path always starts with "/"
        found = [base, base + "x" if base.endswith("/") else base + "/x"]
        if spec.case_sensitive is False:
            found.append(base.swapcase())
        for other in context:  # longer paths other routes look at, inside this prefix
            o = other.path
            if o.kind in ("prefix", "path") and o.value != spec.value:
                inside = (
                    o.value.startswith(spec.value)
                    if spec.case_sensitive is not False
                    else o.value.lower().startswith(spec.value.lower())
                )
                if inside:
                    found.append(o.value)
            elif o.kind == "regex":
                found.extend(s for s in regex_samples(o.value, 2) if s.startswith("/"))
    return [p for p in dict.fromkeys(found) if set(p) <= PATH_SAFE]


def satisfying_requests(
    match: RouteMatch,
    hosts: Sequence[str],
    *,
    context: Sequence[RouteMatch] = (),
    avoid: Sequence[RouteMatch] = (),
    limit: int = 24,
    selects: Callable[[str], bool] | None = None,
    scheme: str = "http",
) -> list[Request]:
    """Up to ``limit`` distinct requests ``match`` accepts, none of which an ``avoid`` match accepts (per the model).

    ``hosts`` are Host headers that select the route's vhost (``selects`` tells whether another one, named by an
    ``:authority`` matcher, does too); ``context`` are the other matches of that vhost, whose paths, methods,
    header and query values are mixed in; ``scheme`` is the listener's.  Empty when no such request could be
    built (e.g. a ``:scheme`` other than ``scheme``, a regex the sampler cannot invert).
    """
    paths = _paths(match, context)
    if not paths or not hosts:
        return []
    lowered = {h.lower() for h in hosts}
    selects = selects or (lambda host: host.lower() in lowered)
    qsafe = PATH_SAFE - frozenset("&=?#")
    seen: dict[str, list[str]] = {}  # header name or "?query" -> values other routes look at
    method_options = ["GET", "POST"]
    for other in context:
        for h in other.headers:
            if h.name == ":method":
                method_options += [m for m in METHODS if m not in method_options and header_matches(h, m)][:1]
                method_options += [m for m in METHODS if m not in method_options and not header_matches(h, m)][:1]
            elif not h.name.startswith(":"):
                seen.setdefault(h.name, []).extend(_interesting(h.matcher))
        for q in other.query:
            seen.setdefault("?" + q.name, []).extend(_interesting(q.matcher))
    host_options: list[str] = list(hosts)
    dims: dict[str, list[str | None]] = {}
    for h in match.headers:
        values = _satisfying(h.matcher, h.invert, h.treat_missing_as_empty, HEADER_SAFE)
        if h.name == ":method":
            known = [*METHODS, h.matcher.value] if h.matcher.kind == "exact" and h.matcher.value.isalpha() else METHODS
            method_options = [m for m in dict.fromkeys(known) if header_matches(h, m)]
        elif h.name == ":authority":
            host_options = [v for v in values if v and not any(c in v for c in "/ ") and selects(v)]
        elif h.name == ":scheme":
            if scheme not in values:
                return []
        else:
            values += [v for v in seen.get(h.name, ()) if set(v) <= HEADER_SAFE and header_matches(h, v)]
            dims[h.name] = list(dict.fromkeys(values))
    for q in match.query:
        values = _satisfying(q.matcher, False, False, qsafe)
        values += [v for v in seen.get("?" + q.name, ()) if set(v) <= qsafe and value_matches(q.matcher, v)]
        dims["?" + q.name] = list(dict.fromkeys(values))
    for name, extra in seen.items():
        if name not in dims:
            safe = qsafe if name.startswith("?") else HEADER_SAFE
            dims[name] = [None, *dict.fromkeys(v for v in extra if set(v) <= safe)]
    if any(not d for d in dims.values()) or not method_options or not host_options:
        return []
    names = list(dims)
    out: list[Request] = []
    product: Iterator[tuple[Any, ...]] = itertools.product(paths, method_options, host_options, *dims.values())
    for path, method, host, *values in itertools.islice(product, 20000):
        pairs = [(n, v) for n, v in zip(names, values, strict=True) if v is not None]
        headers = tuple(Header(n, v) for n, v in pairs if not n.startswith("?"))
        query = "&".join(f"{n[1:]}={v}" for n, v in pairs if n.startswith("?"))
        full = f"{path}{'&' if '?' in path else '?'}{query}" if query else path
        req = Request(method, full, host, headers, scheme)
        if req in out:
            continue
        model_input = req.match_input()
        if not accepts(match, model_input) or any(accepts(a, model_input) for a in avoid):
            continue
        out.append(req)
        if len(out) >= limit:
            break
    return out


# --------------------------------------------------------------------------- outcomes


def outcome_of(answer: Answer) -> str:
    """``cluster:<name>``, ``redirect``, ``direct:<status>`` or ``404-NR``."""
    if answer.cluster is not None:
        return f"cluster:{answer.cluster}"
    if answer.status in (301, 302, 303, 307, 308):
        return "redirect"
    if answer.status == 404 and not answer.body:
        return "404-NR"
    return f"direct:{answer.status}"


def expected_outcomes(kind: str, clusters: Iterable[tuple[str, int]]) -> set[str]:
    """What Envoy answers for a route with this action (any of several weighted clusters)."""
    if kind == "route":
        return {f"cluster:{name}" for name, _ in clusters}
    if kind == "redirect":
        return {"redirect"}
    if kind == "direct_response":
        return {"direct:200"}
    return set()


# --------------------------------------------------------------------------- route configurations and sending


def redirects_everything(rc: RouteConfiguration, vh: VirtualHost) -> bool:
    """``require_tls: ALL`` on a plaintext ``http.*`` listener: Envoy answers every request with a redirect."""
    return vh.require_tls and rc.name.startswith("http.")


def selecting(rc: RouteConfiguration, vh: VirtualHost) -> Callable[[str], bool]:
    """Whether a Host header makes Envoy pick ``vh`` among the vhosts of ``rc``."""

    def selects(host: str) -> bool:
        choice = select_virtual_host(rc.virtual_hosts, host)
        return choice is not None and choice.virtual_host is vh

    return selects


def scheme_of(rc: RouteConfiguration) -> str:
    """``https`` for the route configurations of TLS servers (the harness marks their requests so)."""
    return "https" if rc.name.startswith("https.") else "http"


def send(envoy: EnvoyGateway, rc: RouteConfiguration, req: Request) -> str:
    answer = envoy.request(req.method, req.path, host=req.host, headers=req.headers, route_config=rc.name)
    return outcome_of(answer)
