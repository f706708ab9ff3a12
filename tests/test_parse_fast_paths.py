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
