"""A decoded RouteConfiguration re-encoded as golang/protobuf ``jsonpb`` prints it (for ``-o json/yaml``).

Why this module exists: istioctl does not echo the dump; it decodes the protobuf messages and
re-serialises them with ``jsonpb``: fields in ``.proto`` declaration order, lowerCamelCase names,
zero values omitted, 64-bit integers as strings, enums by name, normalised Durations, ``Any`` with
``@type`` first, map and Struct keys sorted, Struct numbers as doubles.  Doing this needs the Envoy
descriptors: ``protojson_schema.json`` (next to this module, read once on first use) holds a compact
schema generated from the descriptors of ``xds-protos`` 1.85.0 (grpc's build of
envoyproxy/data-plane-api, October 2026) for ``RouteConfiguration`` and every message reachable from
it, plus the few ``Any`` payloads Istio puts in routes (previous-hosts retry predicate, fault, CORS,
local rate limit, ``TypedStruct``).  Its ``legend`` explains the field codes.  Within that schema
the output follows jsonpb's rules exactly.  Known differences:

* messages outside the schema (VHDS ``ConfigSource``, xDS matcher trees, other ``Any`` payloads)
  are copied generically: keys in input order, ``snake_case`` keys converted to camelCase, values kept;
* fields unknown to the schema are dropped (as an istioctl built against the same Envoy API would);
  an istioctl built against an older Envoy API would drop more, a newer one keep more;
* istioctl fails with an error when a nested ``Any`` has a type it does not link; here it is copied.

Pure (the schema is package data, read through the import system, so it works from a zipapp too).
The text layout is :mod:`kubectl_meshctl.gocompat.gojson` / :mod:`~kubectl_meshctl.gocompat.goyaml`'s.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from functools import cache
from typing import Final, NamedTuple

from ..gocompat.gojson import JSONValue
from .dump import ROUTE_CONFIGURATION_NAME

__all__ = ["SCHEMA_RESOURCE", "Schema", "SchemaField", "convert_route_configuration", "schema"]

SCHEMA_RESOURCE: Final = "protojson_schema.json"


class SchemaField(NamedTuple):
    proto_name: str
    json_name: str
    cardinality: str
    """"" singular without presence (omitted at its zero value), "O" oneof/explicit presence, "R" repeated, "M" map."""
    kind: str
    """s string, b bool, y bytes, i int32, l int64, f float/double, e<enum>, m<message>, A Any, S Struct, ... (see the JSON's legend)."""


class Schema(NamedTuple):
    messages: dict[str, tuple[SchemaField, ...]]
    """Full message name -> its fields in declaration order."""
    enums: dict[str, dict[int, str]]
    """Full enum name -> number -> value name."""


def _camel(name: str) -> str:
    parts = name.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


@cache
def schema() -> Schema:
    """The schema of ``protojson_schema.json``, read and indexed once."""
    import pkgutil  # cheap; reads package data from a directory or a zipapp alike

    data = pkgutil.get_data(__name__.rpartition(".")[0], SCHEMA_RESOURCE)
    if data is None:
        raise LookupError(f"{SCHEMA_RESOURCE} is not readable through {__name__}'s loader")
    doc = json.loads(data)
    messages = {
        name: tuple(SchemaField(proto, _camel(proto), card, kind) for proto, card, kind in fields)
        for name, fields in doc["messages"].items()
    }
    enums = {name: {int(number): value for number, value in values.items()} for name, values in doc["enums"].items()}
    return Schema(messages, enums)


def convert_route_configuration(rc: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
    """``rc`` (a decoded ``envoy.config.route.v3.RouteConfiguration``, either field spelling) as jsonpb prints it."""
    return _convert_fields(rc, schema().messages[ROUTE_CONFIGURATION_NAME])


_WKT_ANY_KINDS: Final = {
    "google.protobuf.Struct": "S",
    "google.protobuf.Value": "V",
    "google.protobuf.ListValue": "L",
    "google.protobuf.Duration": "D",
    "google.protobuf.Timestamp": "T",
    "google.protobuf.Empty": "E",
    "google.protobuf.FieldMask": "F",
    "google.protobuf.Any": "A",
    "google.protobuf.BoolValue": "wb",
    "google.protobuf.StringValue": "ws",
    "google.protobuf.BytesValue": "wy",
    "google.protobuf.Int32Value": "w32",
    "google.protobuf.UInt32Value": "w32",
    "google.protobuf.Int64Value": "w64",
    "google.protobuf.UInt64Value": "w64",
    "google.protobuf.FloatValue": "wf",
    "google.protobuf.DoubleValue": "wf",
}
"""Well-known types an ``Any`` may carry, as schema kinds (their JSON sits under ``"value"``)."""


def _convert_message(obj: JSONValue, type_name: str) -> JSONValue:
    if not isinstance(obj, dict):
        return obj
    fields = schema().messages.get(type_name)
    if fields is None:
        return _convert_generic(obj)
    return _convert_fields(obj, fields)


def _convert_fields(obj: Mapping[str, JSONValue], fields: tuple[SchemaField, ...]) -> dict[str, JSONValue]:
    out: dict[str, JSONValue] = {}
    for proto, jname, card, kind in fields:
        value = obj.get(proto)
        if value is None and jname != proto:
            value = obj.get(jname)
        if value is None:
            continue
        if card == "R":
            if isinstance(value, list):
                if value:
                    out[jname] = [_convert_value(v, kind) for v in value]
            else:
                out[jname] = _convert_value(value, kind)
        elif card == "M":
            if isinstance(value, dict):
                if value:
                    out[jname] = {k: _convert_value(value[k], kind) for k in sorted(value)}
            else:
                out[jname] = value
        else:
            converted = _convert_value(value, kind)
            if card == "O" or not _is_zero(converted, kind):
                out[jname] = converted
    return out


def _is_zero(value: JSONValue, kind: str) -> bool:
    if kind == "s" or kind == "y":
        return bool(value == "")
    if kind == "b":
        return value is False
    if kind == "i" or kind == "f":
        return not isinstance(value, bool) and isinstance(value, int | float) and value == 0 and math.copysign(1, value) > 0
    if kind == "l":
        return bool(value == "0")
    if kind.startswith("e"):
        return bool(value == 0 or value == schema().enums.get(kind[1:], {}).get(0))
    return False


def _convert_value(value: JSONValue, kind: str) -> JSONValue:
    first = kind[:1]
    if first == "m":
        return _convert_message(value, kind[1:])
    if kind in ("s", "b", "y", "T", "F", "ws", "wy", "wb"):
        return value
    if kind == "i" or kind == "w32":
        return _to_int(value)
    if kind == "l" or kind == "w64":
        number = _to_int(value)
        return str(number) if isinstance(number, int) and not isinstance(number, bool) else number
    if kind == "f" or kind == "wf":
        if isinstance(value, str) and value not in ("NaN", "Infinity", "-Infinity"):
            try:
                return float(value)
            except ValueError:
                return value
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if first == "e":
        if isinstance(value, int) and not isinstance(value, bool):
            return schema().enums.get(kind[1:], {}).get(value, value)
        return value
    if kind == "A":
        return _convert_any(value)
    if kind == "S":
        return _convert_struct(value)
    if kind == "V":
        return _convert_json_value(value)
    if kind == "L":
        return [_convert_json_value(v) for v in value] if isinstance(value, list) else value
    if kind == "D":
        return _convert_duration(value)
    if kind == "E":
        return {}
    return _convert_generic(value)


def _to_int(value: JSONValue) -> JSONValue:
    """An integer field's value as an int when protojson would read it as one (else unchanged)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                f = float(value)
            except ValueError:
                return value
            return int(f) if f.is_integer() else value
    return value


def _convert_struct(value: JSONValue) -> JSONValue:
    if not isinstance(value, dict):
        return value
    return {k: _convert_json_value(value[k]) for k in sorted(value)}


def _convert_json_value(value: JSONValue) -> JSONValue:
    """A ``google.protobuf.Value``: numbers are doubles, object keys sorted."""
    if isinstance(value, dict):
        return _convert_struct(value)
    if isinstance(value, list):
        return [_convert_json_value(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _convert_any(value: JSONValue) -> JSONValue:
    if not isinstance(value, dict):
        return value
    type_url = value.get("@type")
    if not isinstance(type_url, str) or not type_url:
        return {}
    type_name = type_url.rpartition("/")[2]
    out: dict[str, JSONValue] = {"@type": type_url}
    wkt = _WKT_ANY_KINDS.get(type_name)
    if wkt is not None:
        if "value" in value:
            out["value"] = _convert_value(value["value"], wkt)
        elif wkt == "E":
            out["value"] = {}
        return out
    fields = schema().messages.get(type_name)
    if fields is not None:
        out.update(_convert_fields(value, fields))
    else:
        for k, v in value.items():
            if k != "@type":
                out[_generic_key(k)] = _convert_generic(v)
    return out


_SNAKE_RE: Final = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


def _generic_key(key: str) -> str:
    return _camel(key) if _SNAKE_RE.fullmatch(key) else key


def _convert_generic(value: JSONValue) -> JSONValue:
    """A message outside the schema: keys camelCased, values kept (nested ``Any`` still converted)."""
    if isinstance(value, dict):
        if "@type" in value:
            return _convert_any(value)
        return {_generic_key(k): _convert_generic(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_convert_generic(v) for v in value]
    return value


_DURATION_RE: Final = re.compile(r"(-)?([0-9]+)(?:\.([0-9]{1,9}))?s")


def _convert_duration(value: JSONValue) -> JSONValue:
    """jsonpb's Duration text: seconds with 0, 3, 6 or 9 fractional digits."""
    if not isinstance(value, str):
        return value
    m = _DURATION_RE.fullmatch(value)
    if m is None:
        return value
    seconds = int(m.group(2))
    nanos = int((m.group(3) or "").ljust(9, "0"))
    sign = "-" if m.group(1) and (seconds or nanos) else ""
    text = f"{sign}{seconds}.{nanos:09d}"
    for suffix in ("000", "000", ".000"):
        text = text.removesuffix(suffix)
    return text + "s"
