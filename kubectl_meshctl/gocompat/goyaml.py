"""``sigs.k8s.io/yaml.JSONToYAML`` (go-yaml v2): its key order, its quoting and its number text.

Why this module exists: istioctl prints ``-o yaml`` by converting its JSON output with go-yaml v2,
which sorts mapping keys in a "natural" order (letters after other characters, digit runs by value),
quotes exactly the strings that would read back as another type, and writes floats with Go's
``'g'`` format.  PyYAML's emitter (a port of libyaml, as go-yaml's is) lays the text out; this module
decides what it is given.  Timestamps are recognised with a regular expression, not Go's
``time.Parse``.  Pure.
"""

from __future__ import annotations

import math
import re
from functools import cmp_to_key
from typing import Final

from .gojson import JSONValue, format_float
from .strconv import format_float_g, parses_as_int

__all__ = ["json_to_yaml", "key_less", "resolves_non_string"]

_FLOAT_RE: Final = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_BASE60_RE: Final = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_TIMESTAMP_RE: Final = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:(?:[Tt][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2}))"
    r"|(?: [0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?))?"
)
_BINARY_RE: Final = re.compile(r"-?0b[01]+")
_INTEGER_TOKEN_RE: Final = re.compile(r"-?[0-9]+")
_MAP_WORDS: Final = frozenset(
    "y Y yes Yes YES true True TRUE on On ON n N no No NO false False FALSE off Off OFF ~ null Null NULL "  # noqa: SIM905
    ".nan .NaN .NAN .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF".split()
)


def resolves_non_string(s: str) -> bool:
    """go-yaml v2 ``resolve("", s)`` gives a tag other than !!str (or ``isBase60Float``): ``s`` must be quoted."""
    if s == "" or s in _MAP_WORDS:
        return True
    first = s[0]
    if first == ".":
        try:
            float(s)
        except ValueError:
            return False
        return True
    if first in "+-0123456789":
        if first.isdigit() and _TIMESTAMP_RE.fullmatch(s):
            return True
        plain = s.replace("_", "")
        if parses_as_int(plain) or _FLOAT_RE.fullmatch(plain):
            return True
        if plain.startswith(("0b", "-0b")) and _BINARY_RE.fullmatch(plain):
            return True
    return bool(_BASE60_RE.fullmatch(s))


def key_less(a: str, b: str) -> bool:
    """go-yaml v2 ``keyList.Less`` for two string keys (letters after non-letters, numbers by value)."""
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            continue
        al, bl = ca.isalpha(), cb.isalpha()
        if al and bl:
            return ca < cb
        if al or bl:
            return bl
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdecimal():
            an = an * 10 + ord(a[ai]) - 48
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdecimal():
            bn = bn * 10 + ord(b[bi]) - 48
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _key_cmp(a: str, b: str) -> int:
    return -1 if key_less(a, b) else (1 if key_less(b, a) else 0)


def _float_text(f: float) -> str:
    """``FormatFloat(f, 'g', -1, 64)`` with YAML's spellings of NaN and the infinities."""
    if math.isnan(f):
        return ".nan"
    if math.isinf(f):
        return ".inf" if f > 0 else "-.inf"
    return format_float_g(f)


def json_to_yaml(value: JSONValue) -> str:
    """What ``JSONToYAML(json.Marshal(value))`` prints, without the final newline go-yaml adds."""
    import yaml  # PyYAML: imported only when YAML is printed

    str_tag = "tag:yaml.org,2002:str"

    def scalar(text: str, style: str | None) -> yaml.ScalarNode:
        return yaml.ScalarNode(str_tag, text, style=style)

    def node(v: object) -> yaml.Node:
        if isinstance(v, dict):
            keys = sorted((str(k) for k in v), key=cmp_to_key(_key_cmp))
            return yaml.MappingNode("tag:yaml.org,2002:map", [(node(k), node(v[k])) for k in keys], flow_style=False)
        if isinstance(v, list | tuple):
            return yaml.SequenceNode("tag:yaml.org,2002:seq", [node(x) for x in v], flow_style=False)
        if v is None:
            return scalar("null", None)
        if v is True or v is False:
            return scalar("true" if v else "false", None)
        if isinstance(v, int):
            return scalar(str(v), None)
        if isinstance(v, float):
            token = format_float(v)  # what the JSON text says, then read back by go-yaml
            if token.startswith('"'):
                text = token.strip('"')
                return scalar(text, '"' if resolves_non_string(text) else None)
            if _INTEGER_TOKEN_RE.fullmatch(token) and token != "-0":
                return scalar(str(int(token)), None)
            return scalar(_float_text(float(token)), None)
        text = str(v)
        if "\n" in text:
            return scalar(text, "|")
        return scalar(text, '"' if resolves_non_string(text) else None)

    class _GoYamlDumper(yaml.SafeDumper):
        yaml_implicit_resolvers: dict[str, object] = {}  # noqa: RUF012  (every scalar is a plain !!str)

    return yaml.serialize(node(value), Dumper=_GoYamlDumper, allow_unicode=True, width=80, indent=2)
