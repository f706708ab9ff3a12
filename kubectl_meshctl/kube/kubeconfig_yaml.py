"""A strict reader for the block-YAML subset kubeconfig files are written in; PyYAML reads everything else.

Why this module exists: every cluster command reads the kubeconfig first, and importing PyYAML costs
10 ms (its reader compiles large regexes at import) -- a tenth of a whole ``gateways`` listing -- while
the krew zipapp has only PyYAML's pure-Python parser, which is slow on kubeconfigs full of base64
certificates.  kubectl, gcloud, kind, aws and friends write kubeconfigs as plain block YAML: mappings,
sequences (indented or not), plain or quoted one-line scalars, ``{}``/``[]`` and comments.  That
subset is read here; anything else (anchors, tags, block scalars, flow collections, multi-line or
ambiguous scalars, duplicate keys, tabs) makes :func:`load` return ``None`` so the caller falls back to
PyYAML.  Whatever this module returns equals what ``yaml.safe_load`` returns for the same text; the
tests check that on generated and real kubeconfigs.
"""

from __future__ import annotations

import functools
import re
from typing import Any

_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_.\-/]*):(?:[ ]+(.*))?$")
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)$")
# PyYAML's (YAML 1.1) implicit int, float and timestamp patterns, the only ones it tries on a plain scalar that starts
# with a digit or a sign: a scalar matching none of them is a string ("0123abc", "1e3", "0o17"), one matching them
# other than as a plain decimal int (octal "0123", "1_000", "0x1f", sexagesimal "12:30", "1.5", dates) goes to PyYAML
_YAML11_NUMBER = re.compile(
    r"""(?:[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+
    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
    |[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
     (?:[Tt]|[ \t]+)[0-9][0-9]?
     :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
     (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
    re.X,
)
_DIGITS = frozenset("0123456789")
_BOOLS = {
    **dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "/": "/"}
# characters PyYAML refuses (C0/C1 controls, DEL, surrogates, U+FFFE/F) or reads as line breaks or a BOM
# (NEL, U+2028, U+2029, U+FEFF), and tabs and CRs: any of them sends the text to PyYAML
_OUTSIDE_ASCII = re.compile("[^\n\x20-\x7e]")


@functools.cache
def _outside() -> re.Pattern[str]:
    # compiling the full set costs ~4 ms, more than the rest of the reader: only for the rare non-ASCII kubeconfig
    return re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")


class _Unsupported(Exception):
    """The text leaves the subset: let PyYAML read it."""


def load(text: str) -> dict[str, Any] | None:
    """The kubeconfig mapping, or ``None`` when the text is not in the subset (or not a mapping)."""
    if (_OUTSIDE_ASCII if text.isascii() else _outside()).search(text):
        return None
    lines: list[tuple[int, str]] = []
    for raw in text.split("\n"):
        content = raw.strip(" ")
        if not content or content.startswith("#"):
            continue
        lines.append((len(raw) - len(raw.lstrip(" ")), raw.rstrip(" ")[len(raw) - len(raw.lstrip(" ")) :]))
    if not lines or lines[0][0] != 0:
        return None
    try:
        value, end = _block(lines, 0, 0)
    except (_Unsupported, RecursionError):  # RecursionError: thousands of nesting levels
        return None
    if end != len(lines) or not isinstance(value, dict):
        return None
    return value


def _is_item(content: str) -> bool:
    return content == "-" or content.startswith("- ")


def _block(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[Any, int]:
    if _is_item(lines[i][1]):
        return _sequence(lines, i, indent)
    return _mapping(lines, i, indent)


def _mapping(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    while i < len(lines) and lines[i][0] == indent and not _is_item(lines[i][1]):
        match = _KEY.match(lines[i][1])
        if match is None or match.group(1) in out or match.group(1) in _BOOLS or match.group(1) in _NULLS:
            raise _Unsupported
        key, rest = match.group(1), _strip_comment(match.group(2) or "")
        i += 1
        if rest:
            out[key] = _scalar(rest)
        elif i < len(lines) and (lines[i][0] > indent or (lines[i][0] == indent and _is_item(lines[i][1]))):
            out[key], i = _block(lines, i, lines[i][0])
        else:
            out[key] = None
    if i < len(lines) and lines[i][0] > indent:
        raise _Unsupported  # a continuation line or odd indentation
    return out, i


def _sequence(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[list[Any], int]:
    out: list[Any] = []
    while i < len(lines) and lines[i][0] == indent and _is_item(lines[i][1]):
        content = lines[i][1]
        item = content[1:].lstrip(" ")
        if not item or item.startswith("#"):
            i += 1
            if i < len(lines) and lines[i][0] > indent:
                value, i = _block(lines, i, lines[i][0])
                out.append(value)
            else:
                out.append(None)
        elif _KEY.match(item) or _is_item(item):
            # "- key: value" opens a mapping whose keys line up with "key"
            lines[i] = (indent + len(content) - len(item), item)
            value, i = _block(lines, i, lines[i][0])
            out.append(value)
        else:
            out.append(_scalar(_strip_comment(item)))
            i += 1
    if i < len(lines) and lines[i][0] > indent:
        raise _Unsupported
    return out, i


def _strip_comment(text: str) -> str:
    if text.startswith(("'", '"')):
        return text  # the quoted scalar decides where it ends
    cut = text.find(" #")
    return (text if cut < 0 else text[:cut]).rstrip(" ")


def _scalar(text: str) -> Any:
    first = text[0]
    if first == "'":
        return _single_quoted(text)
    if first == '"':
        return _double_quoted(text)
    if text == "{}":
        return {}
    if text == "[]":
        return []
    if (first in _DIGITS or (first in "-+" and text[1:2] in _DIGITS)) and ": " not in text and not text.endswith(":"):
        # a token or name that starts with a digit ("0123abc"): a string unless YAML 1.1 reads it as a number or date
        if _INT.match(text):
            return int(text)
        if _YAML11_NUMBER.match(text) or not text.isprintable():
            raise _Unsupported
        return text
    flag = first in "-+" and len(text) > 1 and not (text[1].isdigit() or text[1] in ". ")  # "--cluster-name", "+x"
    if (not flag and (first in "{[&*!|>%@`?,\\-+.:" or first.isdigit())) or ": " in text or text.endswith(":"):
        if _INT.match(text):
            return int(text)
        raise _Unsupported  # flow collections, anchors, tags, block scalars, numbers other than plain ints...
    if text in _BOOLS:
        return _BOOLS[text]
    if text in _NULLS:
        return None
    if text in ("=", "<<") or not text.isprintable():
        raise _Unsupported
    return text


def _single_quoted(text: str) -> str:
    body = text[1:]
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "'":
            if body[i + 1 : i + 2] == "'":
                out.append("'")
                i += 2
                continue
            if _strip_comment(body[i + 1 :]).strip(" "):
                raise _Unsupported
            return "".join(out)
        out.append(ch)
        i += 1
    raise _Unsupported  # continues on the next line


def _double_quoted(text: str) -> str:
    body = text[1:]
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            escaped = _ESCAPES.get(body[i + 1 : i + 2])
            if escaped is None:
                raise _Unsupported
            out.append(escaped)
            i += 2
            continue
        if ch == '"':
            if _strip_comment(body[i + 1 :]).strip(" "):
                raise _Unsupported
            return "".join(out)
        out.append(ch)
        i += 1
    raise _Unsupported
