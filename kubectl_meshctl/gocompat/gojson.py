"""Go's ``encoding/json`` text: float64 formatting and ``json.MarshalIndent`` layout and escaping.

Why this module exists: istioctl prints ``-o json`` by re-indenting protojson output with
``json.MarshalIndent(v, "", "    ")``, and Python's ``json.dumps`` differs from it in float text (Go
writes ``10000000000000000`` and ``1e-7`` where Python writes ``1e+16`` and ``1e-07``), in what it
escapes (Go escapes ``<``, ``>``, ``&``, U+2028 and U+2029) and in what it does with lone surrogates
(Go prints U+FFFD).  Pure.
"""

from __future__ import annotations

import math
import re
from json.encoder import encode_basestring
from typing import Final, TypeAlias

from .strconv import format_e, format_f, shortest_digits

__all__ = ["JSONValue", "format_float", "marshal_indent"]

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | tuple[JSONValue, ...] | dict[str, JSONValue] | None"
"""A JSON document as Python holds it (tuples print as arrays)."""


def format_float(f: float) -> str:
    """Go ``encoding/json`` for a float64 (as protojson writes doubles and Struct numbers); NaN/Inf as protojson's strings."""
    if math.isnan(f):
        return '"NaN"'
    if math.isinf(f):
        return '"Infinity"' if f > 0 else '"-Infinity"'
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    d = shortest_digits(f)
    if abs(f) < 1e-6 or abs(f) >= 1e21:
        text = format_e(d)
        if text[-4] == "e" and text[-3] == "-" and text[-2] == "0":  # encoding/json trims e-07 to e-7
            text = text[:-2] + text[-1]
        return text
    return format_f(d)


_GO_JSON_ESCAPES: Final = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_GO_JSON_ESCAPE_RE: Final = re.compile("[<>&\u2028\u2029]")
_SURROGATE_RE: Final = re.compile("[\ud800-\udfff]")


def marshal_indent(value: JSONValue) -> str:
    """``json.MarshalIndent(v, "", "    ")`` of ``value``: Go's layout and escaping (no final newline)."""
    out: list[str] = []
    _emit(value, 0, out)
    text = "".join(out)
    if not text.isascii():
        text = _SURROGATE_RE.sub("\ufffd", text)
    return _GO_JSON_ESCAPE_RE.sub(lambda m: _GO_JSON_ESCAPES[m.group()], text)


def _emit(value: object, level: int, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(format_float(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = "\n" + "    " * (level + 1)
        out.append("{")
        first = True
        for k, v in value.items():
            out.append(inner if first else "," + inner)
            first = False
            out.append(encode_basestring(str(k)))
            out.append(": ")
            _emit(v, level + 1, out)
        out.append("\n" + "    " * level + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = "\n" + "    " * (level + 1)
        out.append("[")
        for i, v in enumerate(value):
            out.append(inner if i == 0 else "," + inner)
            _emit(v, level + 1, out)
        out.append("\n" + "    " * level + "]")
    else:
        out.append(encode_basestring(str(value)))
