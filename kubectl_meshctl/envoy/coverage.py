"""Does one Envoy route take every request another one matches?

Why this module exists: unreachable-rule findings must be true, so "A covers B" is decided here
once, per match dimension (path with case sensitivity, headers and their inversions, pseudo-headers
for method/authority/scheme, query parameters), on the Envoy matchers istiod actually builds.  It
answers ``True`` only when it can prove it; anything in doubt (an unprovable regex, a
Python/RE2 difference) is ``False``.  :func:`request_matches` is the executable definition of
Envoy's matching that the property tests check :func:`covers` against.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache

from ..istio.translation import MATCH_ALL_REGEXES, HeaderMatcher, PathSpec, RouteMatch, ValueMatcher

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_PATH_MATCH_ALL = MATCH_ALL_REGEXES | {"/.*", "^/.*", "/.*$", "^/.*$"}


def ascii_lower(text: str) -> str:
    """Envoy compares case-insensitively on ASCII only."""
    return text.translate(_ASCII_LOWER)


def _has_ascii_letters(text: str) -> bool:
    return any(c.isascii() and c.isalpha() for c in text)


# Constructs Python's ``re`` accepts but RE2 rejects or reads differently: lookaround, atomic and
# possessive groups, backreferences (also named and conditional), comments, ``\Z``/``\z``, Python's
# ``{,n}`` (a literal in RE2), POSIX classes (a nested set to Python) and Python-only escapes.
_RE2_DIFFERENT = re.compile(r"\(\?[=!<>#(]|\(\?P=|\\[0-9zZuUN]|[*+?}]\+|\{,|\[:")
_INLINE_IGNORECASE = re.compile(r"\(\?[a-zA-Z]*i")


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str] | None:
    # Envoy uses RE2; only patterns without constructs whose meaning differs between the engines
    # are trusted.  re.ASCII: RE2's \d, \w, \s and \b are ASCII-only.
    if _RE2_DIFFERENT.search(pattern):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return re.compile(pattern, re.ASCII)
    except (re.error, RecursionError, OverflowError):
        return None


def regex_fullmatch(pattern: str, text: str) -> bool | None:
    """``True``/``False`` as RE2 full-match would answer, ``None`` when it cannot be trusted."""
    compiled = _compile(pattern)
    if compiled is None:
        return None
    if "\n" in text and "$" in pattern:
        return None  # Python's $ also matches before a final newline, RE2's does not
    if "\x0b" in text and ("\\s" in pattern or "\\S" in pattern):
        return None  # RE2's \s has no vertical tab
    if not (pattern.isascii() and text.isascii()) and _INLINE_IGNORECASE.search(pattern):
        return None  # RE2 folds Unicode case, re.ASCII only ASCII
    return compiled.fullmatch(text) is not None


# --------------------------------------------------------------------------- paths


def path_covers(a: PathSpec, b: PathSpec) -> bool:
    """Every request path ``b`` matches, ``a`` matches (Envoy ignores ``case_sensitive`` for regexes)."""
    a_ci = a.case_sensitive is False
    b_ci = b.case_sensitive is False
    if a.kind == "regex":
        if a.value in _PATH_MATCH_ALL:
            return True
        if b.kind == "regex":
            return a.value == b.value
        if b.kind != "path" or (b_ci and _has_ascii_letters(b.value)):
            return False
        return regex_fullmatch(a.value, b.value) is True
    if b.kind == "regex":
        # Every request path Envoy routes starts with "/", so only "/" (or "") covers a regex.
        return a.kind == "prefix" and a.value in ("", "/")
    if a.kind == "path" and b.kind == "prefix":
        return False
    av, bv = a.value, b.value
    if a_ci:
        av, bv = ascii_lower(av), ascii_lower(bv)
        return bv == av if a.kind == "path" else bv.startswith(av)
    if b_ci:
        # b matches every ASCII casing of its value: a must accept them all.
        if a.kind == "path":
            return bv == av and not _has_ascii_letters(bv)
        return bv.startswith(av) and not _has_ascii_letters(av)
    return bv == av if a.kind == "path" else bv.startswith(av)


# --------------------------------------------------------------------------- values


def _universal(m: ValueMatcher, *, newlines: bool = False) -> bool:
    """``m`` matches every value.  ``newlines``: values may contain a line feed (decoded query
    parameters can; header values cannot), which ``.`` does not match without ``(?s)``."""
    if m.kind == "present" or (m.kind == "prefix" and m.value == ""):
        return True
    return m.kind == "regex" and m.value in MATCH_ALL_REGEXES and (not newlines or m.value.startswith("(?s)"))


def _subset(b: ValueMatcher, a: ValueMatcher, *, newlines: bool = False) -> bool:
    """Every value matched by ``b`` is matched by ``a`` (both for a present header or parameter)."""
    if _universal(a, newlines=newlines):
        return True
    if b.kind == "present":
        return False
    if a.kind == "exact":
        return b.kind == "exact" and b.value == a.value
    if a.kind == "prefix":
        return b.kind in ("exact", "prefix") and b.value.startswith(a.value)
    # a is an arbitrary regex
    if b.kind == "exact":
        return regex_fullmatch(a.value, b.value) is True
    return b.kind == "regex" and b.value == a.value


def _disjoint(b: ValueMatcher, a: ValueMatcher) -> bool:
    """No value matched by ``b`` is matched by ``a``."""
    if a.kind == "present" or b.kind == "present":
        return False
    if b.kind == "exact":
        if a.kind == "exact":
            return a.value != b.value
        if a.kind == "prefix":
            return not b.value.startswith(a.value)
        return regex_fullmatch(a.value, b.value) is False
    if b.kind == "prefix":
        if a.kind == "exact":
            return not a.value.startswith(b.value)
        if a.kind == "prefix":
            return not a.value.startswith(b.value) and not b.value.startswith(a.value)
    return False


def _matches_empty(m: ValueMatcher) -> bool | None:
    if m.kind == "present":
        return True
    if m.kind == "exact":
        return m.value == ""
    if m.kind == "prefix":
        return m.value == ""
    return regex_fullmatch(m.value, "")


# --------------------------------------------------------------------------- headers
#
# Envoy's HeaderUtility::matchHeaders: a present_match answers whether the header is there
# (inverted: absent).  Any other matcher on a *missing* header answers false -- inverted or not --
# unless treat_missing_header_as_empty, when the value is "" and invert_match flips the result.
# So one header matcher is two independent parts: its answer for a missing header, and the set of
# present values it accepts (the matcher's values, or their complement when inverted).


def _on_missing(h: HeaderMatcher) -> bool | None:
    """``h``'s answer for a request without the header; ``None`` when it cannot be told."""
    if h.matcher.kind == "present":
        return None if h.treat_missing_as_empty else h.invert
    if not h.treat_missing_as_empty:
        return False
    empty = _matches_empty(h.matcher)
    return None if empty is None else empty != h.invert


def _values_within(h: HeaderMatcher, a: HeaderMatcher) -> bool:
    """Every value of a present header that ``h`` accepts, ``a`` accepts."""
    hm, am = h.matcher, a.matcher
    if h.invert and _universal(hm):
        return True  # h accepts no present value at all
    if not a.invert and _universal(am):
        return True
    if not h.invert:
        return _disjoint(hm, am) if a.invert else _subset(hm, am)
    # h accepts the complement of hm: a must accept it as well.
    return a.invert and _subset(am, hm)


def header_implied(a: HeaderMatcher, b_headers: tuple[HeaderMatcher, ...]) -> bool:
    """Every request satisfying all of ``b_headers`` satisfies ``a``."""
    same = [h for h in b_headers if h.name == a.name]
    if a in same:
        return True
    # Requests without the header: a accepts them, or b rejects them.
    missing_ok = _on_missing(a) is True or any(_on_missing(h) is False for h in same)
    # Requests with the header: every value b accepts, a accepts.
    return missing_ok and any(_values_within(h, a) for h in same)


def covers(a: RouteMatch, b: RouteMatch) -> bool:
    """True only when every request that ``b`` matches is also matched by ``a``."""
    if not path_covers(a.path, b.path):
        return False
    if not all(header_implied(h, b.headers) for h in a.headers):
        return False
    # A query parameter matcher requires the parameter; decoded values may hold a line feed.
    return all(any(p.name == q.name and _subset(p.matcher, q.matcher, newlines=True) for p in b.query) for q in a.query)


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Request:
    """An HTTP request as Envoy's router sees it (header names lower-case, pseudo-headers included)."""

    path: str
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)


def _value_matches(m: ValueMatcher, value: str) -> bool:
    if m.kind == "present":
        return True
    if m.kind == "exact":
        return value == m.value
    if m.kind == "prefix":
        return value.startswith(m.value)
    return regex_fullmatch(m.value, value) is True


def request_matches(m: RouteMatch, request: Request) -> bool:
    """Envoy's route matching for the matchers istiod emits (used by tests as the definition).

    Path matchers see the path without query string and fragment (Envoy's ``PathMatcher``); a
    case-insensitive ``prefix``/``path`` compares ASCII letters without case; a regex ignores
    ``case_sensitive``.  Header matchers follow ``HeaderUtility::matchHeaders`` (see above); a query
    parameter matcher requires the parameter.
    """
    p = m.path
    path = re.split(r"[?#]", request.path, maxsplit=1)[0]
    if p.kind == "regex":
        if regex_fullmatch(p.value, path) is not True:
            return False
    else:
        value, want = path, p.value
        if p.case_sensitive is False:
            value, want = ascii_lower(value), ascii_lower(want)
        if not (value == want if p.kind == "path" else value.startswith(want)):
            return False
    for h in m.headers:
        value = request.headers.get(h.name)
        if h.matcher.kind == "present":
            ok = (value is not None) != h.invert
        elif value is None and not h.treat_missing_as_empty:
            ok = False  # not inverted: Envoy answers false for a missing header either way
        else:
            ok = _value_matches(h.matcher, value or "") != h.invert
        if not ok:
            return False
    for q in m.query:
        if q.name not in request.query:
            return False
        if not _value_matches(q.matcher, request.query[q.name]):
            return False
    return True
