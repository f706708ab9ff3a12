"""Caps on untrusted YAML and JSON: alias expansion, nesting depth, lone surrogates.

Why this module exists: a few kilobytes of YAML aliases expand to millions of nodes, nesting a few
thousand levels deep crashes libyaml's recursive composer (a segfault) or Python's recursion limit,
and a JSON ``"\\ud800"`` escape decodes to a string that cannot be printed.  Each of these must
become one error line for its document, not a crash of the whole run.  The checks are cheap
enough to run on every input: normal files take the C loader directly after an O(n) scan of the
text in C, and only text that could hold an alias or deep nesting gets the careful event pass.
Pure: no I/O.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from typing import Any, Final

MAX_DEPTH: Final = 500
"""Nesting levels (mappings and sequences) a manifest may have; real ones have fewer than 30."""
ALIAS_FLOOR: Final = 10_000
ALIAS_RATIO: Final = 10
"""Aliases may add at most ``max(ALIAS_FLOOR, ALIAS_RATIO x written nodes)`` nodes to a document."""

_INDENT_RUN: Final = 100
# A block collection at nesting level d starts at column >= d/2 - 1, after a prefix of indentation
# and the indicators "- ", "? ", ": "; flow levels need one bracket each.  So a text with fewer
# than _FLOW_FAST brackets and no run of _INDENT_RUN prefix characters nests at most MAX_DEPTH deep.
_FLOW_FAST: Final = MAX_DEPTH - 2 * _INDENT_RUN - 2
_PREFIX_TO_SPACE: Final = str.maketrans({c: " " for c in "\t-?:"})
_LONG_PREFIX: Final = " " * _INDENT_RUN
# Characters after which a "*" starts an alias token (elsewhere it is part of a scalar).
_BEFORE_ALIAS: Final = frozenset(" \t\r\n\x85\u2028\u2029\ufeff,[]{}:")
_HUGE: Final = 1 << 62


class LimitExceeded(ValueError):
    """Input over one of the caps; ``line`` is 0-based within the text given, when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _may_alias(text: str) -> bool:
    i = text.find("*")
    while i != -1:
        if i == 0 or text[i - 1] in _BEFORE_ALIAS:
            return True
        i = text.find("*", i + 1)
    return False


def yaml_needs_check(text: str) -> bool:
    """Whether ``text`` could hold an alias or nest deeper than :data:`MAX_DEPTH` (cheap, in C)."""
    if text.count("[") + text.count("{") >= _FLOW_FAST:
        return True
    if _LONG_PREFIX in text.translate(_PREFIX_TO_SPACE):
        return True
    return "*" in text and _may_alias(text)


def check_yaml_events(text: str, *, loader: Any) -> None:
    """Walk the parser's events (no recursion, nothing built) and raise :class:`LimitExceeded` when
    the document nests deeper than :data:`MAX_DEPTH` or its aliases expand past the alias cap.

    Counts the nodes of the document with every alias expanded, as code walking the constructed
    document sees them.  Syntax errors are left to the loader, which reports them in its words.
    """
    import yaml

    sizes: dict[str, int] = {}
    heights: dict[str, int] = {}
    stack: list[list[Any]] = []  # per open collection: [anchor, size, height of children]
    open_anchors: set[str] = set()
    written = added = 0
    growth: list[int] = []  # nodes added by aliases so far, after each alias that adds some
    growth_lines: list[int] = []
    events: Iterator[Any] = yaml.parse(text, Loader=loader)
    try:
        for event in events:
            cls = event.__class__
            if cls is yaml.ScalarEvent or cls is yaml.AliasEvent:
                written += 1
                size, height = 1, 0
                if cls is yaml.AliasEvent:
                    name = event.anchor
                    if name in open_anchors:
                        raise LimitExceeded(f"alias *{name} refers to a node that contains it", event.start_mark.line)
                    size, height = sizes.get(name, 1), heights.get(name, 0)
                    if size > 1:
                        added = min(added + size - 1, _HUGE)
                        growth.append(added)
                        growth_lines.append(event.start_mark.line)
                    if len(stack) + height > MAX_DEPTH:
                        raise LimitExceeded(
                            f"alias *{name} nests the document more than {MAX_DEPTH} levels deep", event.start_mark.line
                        )
                elif event.anchor is not None:
                    sizes[event.anchor], heights[event.anchor] = 1, 0
                if stack:
                    top = stack[-1]
                    top[1] = min(top[1] + size, _HUGE)
                    top[2] = max(top[2], height)
            elif cls is yaml.SequenceStartEvent or cls is yaml.MappingStartEvent:
                written += 1
                if len(stack) >= MAX_DEPTH:
                    raise LimitExceeded(f"nested more than {MAX_DEPTH} levels deep", event.start_mark.line)
                stack.append([event.anchor, 1, 0])
                if event.anchor is not None:
                    open_anchors.add(event.anchor)
            elif cls is yaml.SequenceEndEvent or cls is yaml.MappingEndEvent:
                anchor, size, height = stack.pop()
                height += 1
                if anchor is not None:
                    sizes[anchor], heights[anchor] = size, height
                    open_anchors.discard(anchor)
                if stack:
                    top = stack[-1]
                    top[1] = min(top[1] + size, _HUGE)
                    top[2] = max(top[2], height)
    except yaml.MarkedYAMLError as exc:
        # libyaml >= 0.2.5 (PyYAML 6.0.4's wheels) stops deep nesting itself, in the scanner, before any event
        if "nesting depth" in str(exc.problem or ""):
            mark = exc.problem_mark or exc.context_mark
            raise LimitExceeded(f"nested more than {MAX_DEPTH} levels deep", mark.line if mark else None) from None
        return  # a syntax error: the loader reports it in its words
    except yaml.YAMLError:
        return
    cap = max(ALIAS_FLOOR, ALIAS_RATIO * written)
    if added > cap:
        shown = "more than 10**18" if added >= _HUGE else f"{added:,}"
        line = growth_lines[bisect.bisect_right(growth, cap)]  # the alias that crosses the cap
        raise LimitExceeded(f"aliases add {shown} nodes (at most {cap:,} allowed for {written:,} written): an alias bomb?", line)


def load_yaml(text: str, *, loader: Any) -> Any:
    """``yaml.load(text, Loader=loader)`` within the caps; raises :class:`LimitExceeded` or ``yaml.YAMLError``."""
    import yaml

    if yaml_needs_check(text):
        check_yaml_events(text, loader=loader)
    try:
        return yaml.load(text, Loader=loader)
    except RecursionError:  # e.g. a merge key chain; the depth itself was checked above
        raise LimitExceeded("nested too deeply to construct") from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer of more than 4300 digits
        raise LimitExceeded(short_reason(exc)) from None


def short_reason(exc: BaseException) -> str:
    """The first clause of an exception's text: no Python advice (``use sys.set_int_max_str_digits()``)."""
    return str(exc).split("\n", 1)[0].split(";", 1)[0]


# --- JSON ----------------------------------------------------------------------------------------

_KEEP_JSON: Final = b'"[]{}'
_DROP_ALL_BUT_STRUCTURE: Final = bytes(b for b in range(256) if b not in _KEEP_JSON)
_BRACES_TO_BRACKETS: Final = bytes.maketrans(b"{}", b"[]")
_QUOTED: Final = re.compile(rb'"[^"]*"')
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def json_depth_exceeds(data: bytes | str, limit: int) -> bool:
    """Whether the *valid* JSON text ``data`` nests arrays and objects more than ``limit`` deep.

    Runs in C-speed passes: drop escaped backslashes and quotes, keep only quotes and brackets,
    drop the quoted parts, then strip innermost ``[]`` pairs once per level.
    """
    if isinstance(data, str):
        if data.count("[") + data.count("{") <= limit:
            return False
        data = data.encode("utf-8", "surrogatepass")
    elif data.count(b"[") + data.count(b"{") <= limit:
        return False
    elif not json.detect_encoding(data).startswith("utf-8"):
        data = data.decode(json.detect_encoding(data), "surrogatepass").encode("utf-8", "surrogatepass")
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    shape = data.translate(_BRACES_TO_BRACKETS, _DROP_ALL_BUT_STRUCTURE).replace(b'""', b"")
    if b'"' in shape:
        shape = _QUOTED.sub(b"", shape)
    for _ in range(limit):
        if not shape:
            return False
        shape = shape.replace(b"[]", b"")
    return bool(shape)


def tree_depth_exceeds(value: object, limit: int) -> bool:
    """Whether an already decoded JSON tree nests dicts and lists more than ``limit`` deep (no recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def may_hold_surrogate(text: str) -> bool:
    """Whether the JSON text ``text`` could decode to a string with a lone surrogate (cheap)."""
    return "\\" in text and _SURROGATE_ESCAPE.search(text) is not None  # one-character search: memchr


def find_surrogate(value: object) -> str | None:
    """The first string (key or value) in a decoded JSON tree that holds a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def surrogate_message(text: str | None, found: str) -> tuple[str, int | None]:
    """One-line reason for a lone surrogate, and the 1-based line of its escape in ``text`` if found."""
    char = _SURROGATE.search(found)
    code = f"\\u{ord(char.group()):04x}" if char else "\\ud800"
    line = None
    if text is not None:
        for m in _SURROGATE_ESCAPE.finditer(text):
            if m.group().lower() == code:
                line = text.count("\n", 0, m.start()) + 1
                break
    return f"string holds a lone UTF-16 surrogate {code}, not a Unicode character", line
