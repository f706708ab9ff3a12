"""The parser's and the translation's fast paths give what the general path gives (scripts/mutate fast-paths)."""

from __future__ import annotations

from typing import Any

import pytest

from kubectl_meshctl.istio.translation import translate_match
from kubectl_meshctl.resources.model import HTTPMatch, Origin, StringMatch, VirtualService
from kubectl_meshctl.resources.parse import InvalidObject, parse_object


def _vs(http: list[dict[str, Any]]) -> VirtualService:
    raw = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "vs", "namespace": "default"},
        "spec": {"hosts": ["a.example.com"], "http": http},
    }
    vs = parse_object(raw, origin=Origin("test"), default_namespace="default", order=0)
    assert isinstance(vs, VirtualService)
    return vs


def _match(raw: dict[str, Any]) -> HTTPMatch:
    return _vs([{"match": [raw], "route": [{"destination": {"host": "b"}}]}]).http[0].matches[0]


@pytest.mark.parametrize("field", ["uri", "scheme", "method", "authority", "headers", "queryParams", "name", "port"])
def test_a_null_field_is_an_absent_one(field: str) -> None:
    # method: null must not become a present-but-empty StringMatch (which would add a ":method present" matcher)
    base = {"uri": {"prefix": "/a"}} if field != "uri" else {"method": {"exact": "GET"}}
    assert _match({**base, field: None}) == _match(base)


def test_a_string_match_with_only_an_unknown_key_is_an_empty_one() -> None:
    assert _match({"uri": {"suffix": "/a"}}).uri == _match({"uri": {}}).uri == StringMatch("")
    assert _match({"uri": {"exact": 7}}).uri == StringMatch("exact", "7")  # a number read as YAML wrote it


@pytest.mark.parametrize("weight", [True, "heavy", 1.5])
def test_a_weight_that_is_no_integer_is_refused_at_its_path(weight: object) -> None:
    with pytest.raises(InvalidObject) as refused:
        _vs([{"route": [{"destination": {"host": "b"}, "weight": weight}]}])
    assert refused.value.path == "spec.http[0].route[0].weight"


@pytest.mark.parametrize(
    ("section", "rule", "path"),
    [
        ("http", {"match": [{"uri": 5}]}, "spec.http[0].match[0].uri"),
        ("http", {"match": [{"uri": {"prefix": "/a", "exact": "/a"}}]}, "spec.http[0].match[0].uri"),
        ("http", {"match": [{"method": {"exact": []}}]}, "spec.http[0].match[0].method.exact"),
        ("http", {"match": [{"headers": {"x": 5}}]}, "spec.http[0].match[0].headers.x"),
        ("http", {"match": [{"uri": {"prefix": "/a"}}, {"port": "http"}]}, "spec.http[0].match[1].port"),
        ("http", {"match": [7]}, "spec.http[0].match[0]"),
        ("http", {"match": {"uri": {"prefix": "/a"}}}, "spec.http[0].match"),
        ("http", {"route": 5}, "spec.http[0].route"),
        ("http", {"route": [5]}, "spec.http[0].route[0]"),
        ("http", {"route": [{"destination": 5}]}, "spec.http[0].route[0].destination"),
        ("http", {"route": [{"destination": {"host": ["b"]}}]}, "spec.http[0].route[0].destination.host"),
        ("http", {"route": [{"destination": {"host": "b", "port": 80}}]}, "spec.http[0].route[0].destination.port"),
        (
            "http",
            {"route": [{"destination": {"host": "b", "port": {"number": True}}}]},
            "spec.http[0].route[0].destination.port.number",
        ),
        (
            "http",
            {"route": [{"destination": {"host": "b", "port": {"number": 8.5}}}]},
            "spec.http[0].route[0].destination.port.number",
        ),
        ("http", {"mirror": {"host": "b", "port": {"number": "x"}}}, "spec.http[0].mirror.port.number"),
        ("http", 5, "spec.http[0]"),
        (
            "tcp",
            {"route": [{"destination": {"host": "b", "port": {"number": "x"}}}]},
            "spec.tcp[0].route[0].destination.port.number",
        ),
        ("tls", {"route": "b"}, "spec.tls[0].route"),
    ],
)
def test_a_refused_value_is_named_by_its_path(section: str, rule: object, path: str) -> None:
    # the fast paths build no path until a value needs one: each refusal still names where it is written
    raw = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "vs", "namespace": "default"},
        "spec": {"hosts": ["a.example.com"], section: [rule]},
    }
    with pytest.raises(InvalidObject) as refused:
        parse_object(raw, origin=Origin("test"), default_namespace="default", order=0)
    assert refused.value.path == path


def test_a_port_number_written_as_digits_is_read_as_its_number() -> None:
    rule = _vs([{"route": [{"destination": {"host": "b", "port": {"number": "8080"}}}]}]).http[0]
    assert rule.route[0].destination is not None and rule.route[0].destination.port == 8080
    assert rule.route[0].path == "spec.http[0].route[0].destination.host"


@pytest.mark.parametrize(
    "narrowing",
    [
        {"headers": (("x-user", StringMatch("exact", "a")),)},
        {"without_headers": (("x-user", StringMatch("exact", "a")),)},
        {"method": StringMatch("exact", "GET")},
        {"authority": StringMatch("prefix", "a.")},
        {"scheme": StringMatch("exact", "https")},
        {"query_params": (("v", StringMatch("exact", "1")),)},
    ],
    ids=lambda n: next(iter(n)),
)
def test_every_condition_besides_the_path_reaches_the_route_match(narrowing: dict[str, Any]) -> None:
    plain = translate_match(HTTPMatch(uri=StringMatch("prefix", "/a")))
    narrowed = translate_match(HTTPMatch(uri=StringMatch("prefix", "/a"), **narrowing))
    assert narrowed.path == plain.path and narrowed != plain
    assert len(narrowed.headers) + len(narrowed.query) == 1
