"""Go's ``strconv`` where its text differs from Python's: shortest float formatting, ``Atoi``, ``ParseInt``.

Why this module exists: Go and Python agree on the shortest round-trip digits of a float64 but not on
how they are laid out (Go's shortest ``'g'`` writes ``1.2345675e+06`` where Python's ``repr`` writes
``1234567.5``), and Go's integer parsers accept a different set of strings than ``int()``.  istioctl's
sort, JSON and YAML output all go through these rules.  Pure.
"""

from __future__ import annotations

import math
import re
from typing import Final, NamedTuple

__all__ = ["ShortestDigits", "atoi", "format_e", "format_f", "format_float_g", "parses_as_int", "shortest_digits"]


class ShortestDigits(NamedTuple):
    """A float64 as ``0.DIGITS x 10**point`` with the fewest digits that read back to it."""

    negative: bool
    digits: str
    point: int


def shortest_digits(f: float) -> ShortestDigits:
    """The shortest round-trip digits of a finite ``f`` (``repr`` finds the same ones Go's ``-1`` precision does)."""
    from decimal import Decimal  # here: the sort imports this module for atoi alone

    sign, digit_tuple, exponent = Decimal(repr(f)).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    if not digits:
        return ShortestDigits(bool(sign), "0", 1)
    return ShortestDigits(bool(sign), digits.rstrip("0"), len(digits) + exponent)


def format_e(d: ShortestDigits) -> str:
    """``FormatFloat(f, 'e', -1, 64)``: at least two exponent digits, always signed."""
    neg, digits, dp = d
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exp = dp - 1
    return ("-" if neg else "") + mantissa + ("e-" if exp < 0 else "e+") + f"{abs(exp):02d}"


def format_f(d: ShortestDigits) -> str:
    """``FormatFloat(f, 'f', -1, 64)``."""
    neg, digits, dp = d
    if dp <= 0:
        text = "0." + "0" * (-dp) + digits
    elif dp >= len(digits):
        text = digits + "0" * (dp - len(digits))
    else:
        text = digits[:dp] + "." + digits[dp:]
    return ("-" if neg else "") + text


def format_float_g(f: float) -> str:
    """``FormatFloat(f, 'g', -1, 64)`` of a finite ``f``."""
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    d = shortest_digits(f)
    exp = d.point - 1
    if exp < -4 or exp >= 6:  # the shortest 'g' format switches at precision 6
        return format_e(d)
    return format_f(d)


_ATOI_RE: Final = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def atoi(text: str) -> int | None:
    """``strconv.Atoi`` on a 64-bit platform: the value, or None where Go returns an error."""
    if _ATOI_RE.fullmatch(text) is None:
        return None
    value = int(text)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


_BASE0_INT_RE: Final = re.compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")


def parses_as_int(text: str) -> bool:
    """Whether ``strconv.ParseInt(text, 0, 64)`` or ``ParseUint(text, 0, 64)`` accepts ``text``."""
    m = _BASE0_INT_RE.fullmatch(text)
    if m is None:
        return False
    body = m.group(2)
    if body[:2] in ("0x", "0X"):
        value = int(body[2:], 16)
    elif body[:2] in ("0o", "0O"):
        value = int(body[2:], 8)
    elif body[:2] in ("0b", "0B"):
        value = int(body[2:], 2)
    else:
        value = int(body, 8) if body.startswith("0") and len(body) > 1 else int(body)
    if m.group(1) == "-":
        return value <= 1 << 63
    return value < 1 << 64
