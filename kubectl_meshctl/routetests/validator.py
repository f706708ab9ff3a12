"""istio-config-validator's ``testCases`` files, run against manifests with the product's model of istiod and Envoy.

Why this module exists: teams keep route tests in getyourguide/istio-config-validator's format (a ``testCases``
list: a request spread over authorities x methods x URIs, the ``route``/``redirect``/``rewrite``/``fault``/
``headers``/``delegate`` the matched rule must carry, ``wantMatch``).  That tool matches on its own: hosts by exact
string, every VirtualService's rules one after the other whatever their gateways, delegates looked up by name
without istiod's merge.  Here the same files are answered by what istiod would build (:mod:`..istio.translation`,
:mod:`..istio.delegation`) and how Envoy would route it (:mod:`..envoy.matching`) -- the model ``trace``,
``routes --predict`` and the analysis share.  Pure: documents arrive decoded, nothing is read or printed here.

Semantics, and where they differ from the upstream tool:

* **request**: every URI x authority x method (upstream's order), each with all ``headers``; a case passes only
  when every such request passes, and reports the first one that fails.  The URI is sent as ``:path`` as written,
  query string included (upstream keeps only the path, so query-parameter matches never matched there).
* **hosts**: the authority chooses a virtual host as Envoy does -- port dropped, case ignored, an exact host
  before the longest ``*.suffix`` wildcard before ``*``; upstream compares the strings exactly.  Short hosts are
  resolved in the VirtualService's namespace, as istiod does.  A ``host:port`` authority also gives the port for
  ``match.port`` conditions; without it a VirtualService that matches on a port cannot be answered.
* **gateways**: with ``gateway=(namespace, name)`` (``("", "mesh")`` for the mesh) only the VirtualServices bound
  to that gateway answer, including the match-level ``gateways`` conditions; the Gateway's servers are not
  consulted (hosts and ports of listeners are ``trace``'s business).  Without it -- upstream's behaviour, which
  ignores ``gateways`` -- every gateway a VirtualService is bound to is tried, and the case is decided only
  where they all give the same rule (else ``not_modelled``: name the gateway).  Within one gateway the
  VirtualServices sharing a host are concatenated as istiod merges them, catch-all routes last; on the mesh
  istiod's sidecar handling of a host in several VirtualServices is not modelled.  Two VirtualServices' rules are
  never interleaved otherwise.
* **delegates**: a root is merged with its delegates exactly as istiod does.  Where istiod drops a rule (the
  delegate is missing, has hosts, or is not exported) or leaves a delegate rule out (its match does not lie
  within the root's -- any ``regex`` on either side conflicts), the request goes where istiod sends it, and a
  failing check says what istiod dropped.  Upstream checks ``delegate`` against the root rule and then matches
  the request again inside the delegate without merging, so it passes cases that 404 in a cluster.
  ``delegate`` is compared with the root rule that brought the taken rule in (absent for a root's own rule:
  upstream skips the check then); ``rewrite``, ``fault`` and ``headers`` come from the delegate rule, else from
  the root rule (istiod's ``mergeHTTPRoute``).
* **comparison**: each expected field against the taken rule's own field, as protobuf equality would: key order,
  ``snake_case`` vs ``lowerCamel`` keys, ``100`` vs ``100.0``, ``5s`` vs ``5.0s`` do not matter; a scalar at its
  proto3 default and an empty list or map are the same as absent; an empty message (``rewrite: {}``) is not.
  Hosts are compared as written (no short-name resolution).  ``wantMatch: true``: every request must give an
  equal field; ``false`` (also when omitted, as upstream): every request must give a different one, field by field.
  A request no route takes has no field at all.
* **not modelled**: a route whose existence depends on the proxy (``sourceLabels``, ``sourceNamespace``, an
  ``exportTo`` limited to namespaces), a regex RE2 may read differently from Python's, a port condition without a
  port: the case is ``not_modelled`` with the reason, never guessed.  A decided failing request still fails it.
* **file shape**: stricter than upstream's default.  Unknown keys (``wantmatch``, ``rewrites``) are errors -- a typo
  would otherwise silently test nothing -- and so is a case with nothing to check.  Inside the expected fields only
  the shape (object / list of objects) is checked; their content is Istio's and compared as given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..envoy.matching import Header, MatchInput, Request, Routing, accepts, route_request, undecidable
from ..envoy.route_model import Route, VirtualHost
from ..istio.translation import (
    GatewayProxy,
    build_vs_routes,
    catch_alls_last,
    make_index,
    translate_match,
    vhost_name,
    vs_visibility,
    written_at,
)
from ..records import record
from ..resources.model import HTTPRule, Snapshot, VirtualService
from .results import CaseResult, Check, Verdict

CHECKED_FIELDS = ("route", "redirect", "rewrite", "fault", "headers", "delegate")
"""The rule fields a case may assert (upstream's TestCase), in the order checks are reported."""
_CASE_KEYS = frozenset({"description", "wantMatch", "request", *CHECKED_FIELDS})
_REQUEST_KEYS = frozenset({"authority", "method", "uri", "headers"})
_FROM_ROOT_WHEN_UNSET = frozenset({"rewrite", "fault", "headers"})
"""Fields a merged delegate rule takes from the root rule when it has none (istiod's ``mergeHTTPRoute``)."""
_MAP_FIELDS = frozenset({"set", "add"})
"""``Headers.HeaderOperations`` maps: their keys are header names, kept as written."""
_DURATION_FIELDS = frozenset({"fixedDelay", "exponentialDelay"})
_DURATION = re.compile(r"(-?)([0-9]+)(?:\.([0-9]{1,9}))?s")
_MESH = "mesh"
_PROXY = GatewayProxy("<test request>", None, (), hypothetical=True)
"""No pod is known: conditions on the proxy's labels or namespace make a route uncertain, never assumed."""


class TestFileError(ValueError):
    """A test document that is not a well-formed ``testCases`` file: one line naming the file, line and field."""

    __test__ = False  # not a pytest class, whatever its name

    def __init__(self, message: str, *, source: str, line: int | None, path: str) -> None:
        where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where}: {path}: {message}" if path else f"{where}: {message}")
        self.source = source
        self.line = line
        self.path = path


@record
class ValidatorRequest:
    """The requests of one case: every URI x authority x method, each with all the headers."""

    authorities: tuple[str, ...]
    methods: tuple[str, ...]
    uris: tuple[str, ...]
    headers: tuple[tuple[str, str], ...] = ()

    def variants(self) -> list[Request]:
        sent = tuple(Header(name, value) for name, value in self.headers)
        return [
            Request(method, uri, authority, sent)
            for uri in self.uris
            for authority in self.authorities
            for method in self.methods
        ]


@record
class ValidatorCase:
    name: str
    """The case's ``description`` (``testCases[i]`` when it has none)."""
    origin: str
    """``file:line`` of the document holding the case."""
    want_match: bool
    request: ValidatorRequest
    expected: tuple[tuple[str, object], ...]
    """(field, value in the canonical form of :func:`proto_value`) for each field the case asserts."""


# --------------------------------------------------------------------------- the file


def is_validator_document(document: object) -> bool:
    """Whether a decoded document is an istio-config-validator test file (it has ``testCases``)."""
    return isinstance(document, Mapping) and "testCases" in document


def _kind_of(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


class _Reader:
    """Reads one document, raising :class:`TestFileError` with the field path of the first problem."""

    def __init__(self, *, source: str, line: int | None) -> None:
        self.source = source
        self.line = line

    def fail(self, path: str, message: str) -> TestFileError:
        return TestFileError(message, source=self.source, line=self.line, path=path)

    def mapping(self, value: object, path: str, *, allowed: frozenset[str] | None = None) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"expected an object, got {_kind_of(value)}")
        if allowed is not None:
            unknown = sorted(str(k) for k in value if k not in allowed)
            if unknown:
                raise self.fail(
                    f"{path}.{unknown[0]}" if path else unknown[0],
                    f"unknown field (expected one of {', '.join(sorted(allowed))})",
                )
        return value

    def strings(self, value: object, path: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(
                path, "expected a non-empty list of strings" + ("" if isinstance(value, list) else f", got {_kind_of(value)}")
            )
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail(f"{path}[{i}]", f"expected a string, got {_kind_of(item)}")
        return tuple(value)

    def request(self, value: object, path: str) -> ValidatorRequest:
        raw = self.mapping(value, path, allowed=_REQUEST_KEYS)
        for key in ("authority", "method", "uri"):
            if raw.get(key) is None:
                raise self.fail(f"{path}.{key}", "missing (a non-empty list of strings)")
        uris = self.strings(raw["uri"], f"{path}.uri")
        for i, uri in enumerate(uris):
            if not uri.startswith("/"):
                raise self.fail(f"{path}.uri[{i}]", "expected a path starting with /")
        headers: list[tuple[str, str]] = []
        if raw.get("headers") is not None:
            for name, header_value in self.mapping(raw["headers"], f"{path}.headers").items():
                if not isinstance(name, str) or not isinstance(header_value, str):
                    shown = name if isinstance(name, str) else repr(name)
                    raise self.fail(f"{path}.headers.{shown}", f"expected a string, got {_kind_of(header_value)}")
                headers.append((name, header_value))
        return ValidatorRequest(
            self.strings(raw["authority"], f"{path}.authority"),
            self.strings(raw["method"], f"{path}.method"),
            uris,
            tuple(headers),
        )

    def expected(self, raw: Mapping[str, Any], path: str) -> tuple[tuple[str, object], ...]:
        out: list[tuple[str, object]] = []
        for name in CHECKED_FIELDS:
            value = raw.get(name)
            if value is None:
                continue
            if name == "route":
                if not isinstance(value, list):
                    raise self.fail(f"{path}.route", f"expected a list of route destinations, got {_kind_of(value)}")
                for i, item in enumerate(value):
                    self.mapping(item, f"{path}.route[{i}]")
            else:
                self.mapping(value, f"{path}.{name}")
            out.append((name, proto_value(value, field_name=name)))
        return tuple(out)

    def case(self, value: object, index: int) -> ValidatorCase:
        path = f"testCases[{index}]"
        raw = self.mapping(value, path, allowed=_CASE_KEYS)
        description = raw.get("description")
        if description is not None and not isinstance(description, str):
            raise self.fail(f"{path}.description", f"expected a string, got {_kind_of(description)}")
        want = raw.get("wantMatch")
        if want is not None and not isinstance(want, bool):
            raise self.fail(f"{path}.wantMatch", f"expected true or false, got {_kind_of(want)}")
        if raw.get("request") is None:
            raise self.fail(f"{path}.request", "missing (authority, method and uri lists)")
        request = self.request(raw["request"], f"{path}.request")
        expected = self.expected(raw, path)
        if not expected:
            raise self.fail(path, f"nothing to check: give at least one of {', '.join(CHECKED_FIELDS)}")
        origin = self.source if self.line is None else f"{self.source}:{self.line}"
        return ValidatorCase(description or path, origin, bool(want), request, expected)


def parse_cases(document: object, *, source: str, line: int | None) -> list[ValidatorCase]:
    """The cases of one decoded ``testCases`` document (``line``: the document's first line in ``source``)."""
    reader = _Reader(source=source, line=line)
    raw = reader.mapping(document, "", allowed=frozenset({"testCases"}))
    cases = raw.get("testCases")
    if not isinstance(cases, list):
        raise reader.fail("testCases", f"expected a list of test cases, got {_kind_of(cases)}")
    return [reader.case(value, i) for i, value in enumerate(cases)]


# --------------------------------------------------------------------------- protobuf-like values


def _lower_camel(key: str) -> str:
    # protojson accepts a field's proto name (``http_status``) and its JSON name (``httpStatus``) alike.
    if "_" not in key:
        return key
    first, *rest = key.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _duration(text: str) -> str:
    """``google.protobuf.Duration`` in one spelling (``5.0s`` and ``5s`` are the same value); other text as is."""
    m = _DURATION.fullmatch(text)
    if m is None:
        return text
    sign, seconds, fraction = m.group(1), int(m.group(2)), (m.group(3) or "").rstrip("0")
    if seconds == 0 and not fraction:
        sign = ""
    return f"{sign}{seconds}.{fraction}s" if fraction else f"{sign}{seconds}s"


def _unset(value: object, *, field_name: str) -> bool:
    # proto3: a scalar at its default, an empty repeated field or map is not set; a message is set even when empty.
    if value is None:
        return True
    if isinstance(value, bool):
        return value is False
    if isinstance(value, (int, float)):
        return value == 0
    if isinstance(value, (str, list)):
        return len(value) == 0
    if isinstance(value, dict):
        return field_name in _MAP_FIELDS and not value
    return False


def proto_value(value: object, *, field_name: str) -> object:
    """``value`` (decoded YAML/JSON of an Istio message) in a form where ``==`` is protobuf equality."""
    if isinstance(value, Mapping):
        if field_name in _MAP_FIELDS:
            return {str(k): proto_value(v, field_name="") for k, v in value.items()}
        out: dict[str, object] = {}
        for key, item in value.items():
            name = _lower_camel(str(key))
            canonical = proto_value(item, field_name=name)
            if not _unset(canonical, field_name=name):
                out[name] = canonical
        return out
    if isinstance(value, list):
        return [proto_value(item, field_name=field_name) for item in value]
    if isinstance(value, str) and field_name in _DURATION_FIELDS:
        return _duration(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 100 and 100.0 are one double; shown without the fraction
    return value


def _shown(value: object) -> str:
    if value is None:
        return "none"
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


# --------------------------------------------------------------------------- the model


@dataclass(slots=True)
class _Served:
    """What one gateway serves: a virtual host per host, and the VirtualServices behind each."""

    virtual_hosts: list[VirtualHost]
    behind: dict[int, tuple[VirtualService, ...]]
    """By ``id`` of the virtual host."""


@record
class _Taken:
    """The rule a request takes: its fields as the case compares them, and where it is written."""

    fields: dict[str, object]
    label: str


@record
class _Outcome:
    """What one request gets: a rule (or none, a 404), or why the model cannot say."""

    taken: _Taken | None
    undecided: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    """What istiod dropped on the way, said when a check fails."""


def _port_of(authority: str) -> int | None:
    colon = authority.rfind(":")
    if colon == -1 or authority.rfind("]") > colon:
        return None
    port = authority[colon + 1 :]
    return int(port) if port.isdigit() and len(port) <= 5 else None


def _has_port_match(vs: VirtualService) -> bool:
    return any(m.port for rule in vs.http for m in rule.matches)


def _rule_accepts(rule: HTTPRule, request: MatchInput) -> bool:
    return not rule.matches or any(accepts(translate_match(m), request) for m in rule.matches)


class _Model:
    """istiod's output for the snapshot, built once per run and per (gateway, port) on first use."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.index = make_index(snapshot)
        self.by_name = {(vs.meta.namespace, vs.meta.name): vs for vs in self.index.virtual_services}
        self._served: dict[tuple[str, int], _Served] = {}

    def gateways(self) -> list[str]:
        return sorted(self.index.by_gateway)

    def served(self, gateway: str, port: int) -> _Served:
        key = (gateway, port)
        found = self._served.get(key)
        if found is not None:
            return found
        by_host: dict[str, list[VirtualService]] = {}
        built: dict[int, list[Route]] = {}
        for vs in self.index.by_gateway.get(gateway, ()):
            visibility = vs_visibility(vs, None)
            if visibility == "hidden":
                continue
            # exportTo limited to namespaces: whether the proxy sees the VirtualService depends on where it runs
            sure = visibility == "public"
            built[id(vs)] = build_vs_routes(self.index, vs, gateway=gateway, port=port, proxy=_PROXY, certain=sure).routes
            for host in dict.fromkeys(h.lower() for h in self.index.resolved_hosts[id(vs)]):
                by_host.setdefault(host, []).append(vs)
        virtual_hosts: list[VirtualHost] = []
        behind: dict[int, tuple[VirtualService, ...]] = {}
        for host, virtual_services in by_host.items():
            routes = [route for vs in virtual_services for route in built[id(vs)]]
            vh = VirtualHost(vhost_name(host, port), [host], catch_alls_last(routes))
            virtual_hosts.append(vh)
            behind[id(vh)] = tuple(virtual_services)
        found = self._served[key] = _Served(virtual_hosts, behind)
        return found

    def taken(self, route: Route) -> _Taken:
        src = route.source
        vs = self.by_name[(src.namespace, src.name)]
        rule = vs.http[src.rule_index]
        origins = self.index.origins.get(id(vs))
        root_rule = origins[src.rule_index].delegated_by if origins is not None else None
        fields: dict[str, object] = {}
        for name in CHECKED_FIELDS:
            if name == "delegate":
                raw = (root_rule.spec if root_rule is not None else rule.spec).get("delegate")
            else:
                raw = rule.spec.get(name)
                if raw is None and root_rule is not None and name in _FROM_ROOT_WHEN_UNSET:
                    raw = root_rule.spec.get(name)
            fields[name] = proto_value(raw if raw is not None else ([] if name == "route" else None), field_name=name)
        written = written_at(route)
        label = f"{written.namespace}/{written.name} rule #{written.rule_index}"
        if written.match_index is not None:
            label += f" match #{written.match_index}"
        if root_rule is not None:
            label += f" (delegated by {src.namespace}/{src.name} rule #{root_rule.index})"
        return _Taken(fields, label)

    def dropped_on_the_way(self, virtual_services: Sequence[VirtualService], request: MatchInput) -> list[str]:
        """What istiod left out of these VirtualServices that would have accepted the request."""
        roots = {(vs.meta.namespace, vs.meta.name) for vs in virtual_services}
        notes: list[str] = []
        problems = {"missing": "does not exist", "has hosts": "has hosts", "not exported": "is not exported to it"}
        for u in self.index.delegation.unresolved:
            if (u.root.meta.namespace, u.root.meta.name) in roots and _rule_accepts(u.rule, request):
                notes.append(
                    f"istiod drops {u.root.meta.full_name} rule #{u.rule.index}: "
                    f"its delegate {u.namespace}/{u.name} {problems[u.problem]}"
                )
        for d in self.index.delegation.dropped:
            if (d.root.meta.namespace, d.root.meta.name) in roots and _rule_accepts(d.root_rule, request):
                notes.append(
                    f"istiod leaves {d.delegate.meta.full_name} rule #{d.rule.index} out of {d.root.meta.full_name} "
                    f"rule #{d.root_rule.index}: {d.reasons[0]}"
                )
        return notes

    def route(self, request: Request, *, gateway: str | None) -> _Outcome:
        port = _port_of(request.host)
        answers: list[tuple[str, Routing, tuple[VirtualService, ...]]] = []
        for name in [gateway] if gateway is not None else self.gateways():
            served = self.served(name, port or 0)
            routing = route_request(served.virtual_hosts, request)
            if routing.virtual_host is not None:
                answers.append((name, routing, served.behind[id(routing.virtual_host.virtual_host)]))
        if not answers:
            bound = f" bound to {gateway}" if gateway is not None else ""
            return _Outcome(None, notes=(f"no VirtualService{bound} has host {request.host}",))
        seen = request.match_input()
        undecided: list[str] = []
        notes: list[str] = []
        for name, routing, virtual_services in answers:
            if name == _MESH and len(virtual_services) > 1:
                names = ", ".join(vs.meta.full_name for vs in virtual_services)
                undecided.append(
                    f"the host is in several VirtualServices bound to the mesh ({names}): istiod's sidecar merge is not modelled"
                )
            if port is None and any(_has_port_match(vs) for vs in virtual_services):
                undecided.append("a VirtualService for this host matches on port: write the authority as host:port")
            for attempt in routing.attempts:
                if not attempt.route.certain:
                    undecided.append(
                        f"{self.taken(attempt.route).label}: whether istiod emits it depends on the proxy "
                        "(sourceLabels, sourceNamespace, exportTo) or on a delegate's own delegate"
                    )
                why = undecidable(attempt.route.match, seen)
                if why:
                    undecided.append(f"{self.taken(attempt.route).label}: {why} may read differently in Envoy's RE2")
            notes.extend(self.dropped_on_the_way(virtual_services, seen))
        taken = {name: (None if r.route is None else self.taken(r.route)) for name, r, _ in answers}
        labels = {name: ("no route" if t is None else t.label) for name, t in taken.items()}
        if len(set(labels.values())) > 1:
            shown = "; ".join(f"{name}: {label}" for name, label in labels.items())
            undecided.append(f"the rule depends on the gateway ({shown}): name the gateway")
        return _Outcome(next(iter(taken.values())), tuple(dict.fromkeys(undecided)), tuple(dict.fromkeys(notes)))


# --------------------------------------------------------------------------- the run


@record
class _Checked:
    check: Check
    request: Request
    outcome: _Outcome


def _check(case: ValidatorCase, field_name: str, expected: object, runs: Sequence[tuple[Request, _Outcome]]) -> _Checked | None:
    """One field over every decided request: the first request that fails it, else the first one."""
    chosen: tuple[Request, _Outcome, object, bool] | None = None
    for request, outcome in runs:
        if outcome.undecided:
            continue
        actual = outcome.taken.fields[field_name] if outcome.taken is not None else None
        passed = (actual == expected) == case.want_match
        if chosen is None or not passed:
            chosen = (request, outcome, actual, passed)
        if not passed:
            break
    if chosen is None:
        return None
    request, outcome, actual, passed = chosen
    got = "no route (404)" if outcome.taken is None else _shown(actual)
    wanted = _shown(expected) if case.want_match else f"other than {_shown(expected)}"
    line = f"{request.describe()}: expected {field_name} {wanted} got {got}"
    if outcome.taken is not None:
        line += f" (from {outcome.taken.label})"
    if not passed and outcome.notes:
        line += "; " + "; ".join(outcome.notes)
    return _Checked(Check(field_name, _shown(expected), got, passed, line), request, outcome)


def _run_case(model: _Model, case: ValidatorCase, *, gateway: str | None) -> CaseResult:
    runs = [(request, model.route(request, gateway=gateway)) for request in case.request.variants()]
    checked = [c for field_name, expected in case.expected if (c := _check(case, field_name, expected, runs)) is not None]
    undecided = tuple(dict.fromkeys(f"{request.describe()}: {why}" for request, outcome in runs for why in outcome.undecided))
    failed = [c for c in checked if not c.check.passed]
    verdict: Verdict = "fail" if failed else "not_modelled" if undecided else "pass"
    shown_request, shown_outcome = runs[0]
    if failed:
        shown_request, shown_outcome = failed[0].request, failed[0].outcome
    elif undecided:
        shown_request, shown_outcome = next((r, o) for r, o in runs if o.undecided)
    return CaseResult(
        name=case.name,
        origin=case.origin,
        verdict=verdict,
        request=shown_request.describe(),
        checks=tuple(c.check for c in checked),
        not_modelled=undecided if verdict == "not_modelled" else (),
        route="" if shown_outcome.taken is None else shown_outcome.taken.label,
    )


def run_cases(snapshot: Snapshot, cases: Sequence[ValidatorCase], *, gateway: tuple[str, str] | None = None) -> list[CaseResult]:
    """One result per case, in order.  ``gateway``: ``(namespace, name)`` of the Gateway whose VirtualServices
    answer (``("", "mesh")``: the mesh); ``None``: every gateway, decided only where they agree (module docstring)."""
    model = _Model(snapshot)
    bound = None if gateway is None else (_MESH if gateway == ("", _MESH) else f"{gateway[0]}/{gateway[1]}")
    return [_run_case(model, case, gateway=bound) for case in cases]
