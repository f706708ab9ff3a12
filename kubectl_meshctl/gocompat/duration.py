"""Durations as a VirtualService writes them (``10s``, ``1.5s``, ``500ms``, ``1m30s``), read to nanoseconds.

Why this module exists: the parser refuses a ``timeout`` that is no duration where it is written (file, line,
field), and the model of istiod renders the same text as protobuf JSON; both must agree on what a duration is.
Pure.
"""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_NANOS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def duration_nanos(text: str) -> int:
    """The duration in nanoseconds (negative for ``-``); :class:`ValueError` for text that is not a duration."""
    body = text.strip()
    if not body:
        raise ValueError("empty duration")
    negative = body.startswith("-")
    body = body.lstrip("+-")
    if body == "0":
        return 0
    nanos = 0
    pos = 0
    while pos < len(body):
        m = _PART.match(body, pos)
        if m is None:
            raise ValueError(f"not a duration: {text!r}")
        number, unit = m.groups()
        whole, _, frac = number.partition(".")
        scale = _NANOS[unit]
        nanos += int(whole or "0") * scale
        if frac:
            nanos += int(frac) * scale // 10 ** len(frac)
        pos = m.end()
    return -nanos if negative else nanos
