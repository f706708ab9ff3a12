"""Label and field selectors with kube-apiserver semantics (and its error messages)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class SelectorError(ValueError):
    """Raised for a selector the real server answers with 400 BadRequest; ``str()`` is the message."""


_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator in ("=", "in"):
            return present and value in self.values
        if self.operator in ("!=", "notin"):
            return not present or value not in self.values
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if not present:
            return False
        try:
            number = int(str(value))
        except ValueError:
            return False
        bound = int(self.values[0])
        return number > bound if self.operator == "gt" else number < bound


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _check_key(key: str, raw: str) -> None:
    if not key or len(key.split("/")[-1]) > 63 or not _KEY.match(key):
        raise SelectorError(
            f"unable to parse requirement: <nil>: Invalid value: {key!r}: name part must consist of alphanumeric "
            "characters, '-', '_' or '.', and must start and end with an alphanumeric character"
            if key
            else f"unable to parse requirement: found '{raw}', expected: identifier"
        )


def _check_value(value: str) -> None:
    if len(value) > 63 or not _VALUE.match(value):
        raise SelectorError(
            f'unable to parse requirement: values[0][]: Invalid value: "{value}": a valid label must be an empty string or '
            "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )


_SET = re.compile(r"^\s*(?P<key>[^\s!=<>()]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)\s*$")
_BINARY = re.compile(r"^\s*(?P<key>[^\s!=<>()]+)\s*(?P<op>==|=|!=|>|<)\s*(?P<value>[^\s!=<>(),]*)\s*$")
_UNARY = re.compile(r"^\s*(?P<neg>!?)\s*(?P<key>[^\s!=<>(),]+)\s*$")


def parse_label_selector(text: str | None) -> tuple[Requirement, ...]:
    """Parse ``labelSelector`` (equality- and set-based); empty selects everything."""
    if text is None or not text.strip():
        return ()
    requirements: list[Requirement] = []
    for raw in _split_top_level(text):
        if not raw.strip():
            raise SelectorError("found ',', expected: !, identifier, or 'end of string'")
        if match := _SET.match(raw):
            key = match["key"]
            _check_key(key, raw)
            values = tuple(v.strip() for v in match["values"].split(",")) if match["values"].strip() else ()
            if not values:
                raise SelectorError(
                    f"unable to parse requirement: for '{match['op']}', 'notin' operators, values set can't be empty"
                )
            for value in values:
                _check_value(value)
            requirements.append(Requirement(key, match["op"], tuple(sorted(set(values)))))
        elif match := _BINARY.match(raw):
            key, op, value = match["key"], match["op"], match["value"]
            _check_key(key, raw)
            if op in (">", "<"):
                if not re.fullmatch(r"-?\d+", value):
                    raise SelectorError(
                        f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer: {value}"
                    )
                requirements.append(Requirement(key, "gt" if op == ">" else "lt", (value,)))
            else:
                _check_value(value)
                requirements.append(Requirement(key, "!=" if op == "!=" else "=", (value,)))
        elif match := _UNARY.match(raw):
            key = match["key"]
            _check_key(key, raw)
            requirements.append(Requirement(key, "!" if match["neg"] else "exists"))
        else:
            raise SelectorError(f"unable to parse requirement: found '{raw.strip()}', expected: in, notin, =, ==, !=, gt, lt")
    return tuple(requirements)


def labels_match(requirements: tuple[Requirement, ...], labels: Mapping[str, str] | None) -> bool:
    labels = labels or {}
    return all(requirement.matches(labels) for requirement in requirements)


# ---- field selectors -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    negate: bool
    value: str


def parse_field_selector(text: str | None) -> tuple[FieldRequirement, ...]:
    """Parse ``fieldSelector`` (``a=b``, ``a==b``, ``a!=b``; comma = AND); escaping as in fields.ParseSelector."""
    if text is None or not text.strip():
        return ()
    result: list[FieldRequirement] = []
    for raw in _split_unescaped_commas(text):
        for op in ("!=", "==", "="):
            idx = raw.find(op)
            if idx > 0:
                field, value = raw[:idx].strip(), raw[idx + len(op) :].strip()
                result.append(
                    FieldRequirement(field, op == "!=", value.replace("\\,", ",").replace("\\=", "=").replace("\\\\", "\\"))
                )
                break
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{raw}'")
    return tuple(result)


def _split_unescaped_commas(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


FieldGetter = Callable[[dict[str, Any]], str]


def _path(*keys: str) -> FieldGetter:
    def get(obj: dict[str, Any]) -> str:
        node: Any = obj
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return ""
        if isinstance(node, bool):
            return "true" if node else "false"
        return str(node)

    return get


COMMON_FIELDS: dict[str, FieldGetter] = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}
POD_FIELDS: dict[str, FieldGetter] = {
    **COMMON_FIELDS,
    "spec.nodeName": _path("spec", "nodeName"),
    "spec.restartPolicy": _path("spec", "restartPolicy"),
    "spec.schedulerName": _path("spec", "schedulerName"),
    "spec.serviceAccountName": _path("spec", "serviceAccountName"),
    "spec.hostNetwork": lambda obj: "true" if (obj.get("spec") or {}).get("hostNetwork") else "false",
    "status.phase": _path("status", "phase"),
    "status.podIP": _path("status", "podIP"),
    "status.nominatedNodeName": _path("status", "nominatedNodeName"),
}
NAMESPACE_FIELDS: dict[str, FieldGetter] = {**COMMON_FIELDS, "status.phase": _path("status", "phase")}


def validate_fields(requirements: tuple[FieldRequirement, ...], supported: Mapping[str, FieldGetter]) -> None:
    for requirement in requirements:
        if requirement.field not in supported:
            raise SelectorError(f"field label not supported: {requirement.field}")


def fields_match(requirements: tuple[FieldRequirement, ...], supported: Mapping[str, FieldGetter], obj: dict[str, Any]) -> bool:
    for requirement in requirements:
        equal = supported[requirement.field](obj) == requirement.value
        if equal == requirement.negate:
            return False
    return True
