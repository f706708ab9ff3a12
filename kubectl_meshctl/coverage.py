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
from dataclasses import dataclass, field
from functools import lru_cache

from .translation import MATCH_ALL_REGEXES, HeaderMatcher, PathSpec, RouteMatch, ValueMatcher

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_PATH_MATCH_ALL = MATCH_ALL_REGEXES | {"/.*", "^/.*", "/.*$", "^/.*$"}


def ascii_lower(text: str) -> str:
    """Envoy compares case-insensitively on ASCII only."""
    return text.translate(_ASCII_LOWER)


def _has_ascii_letters(text: str) -> bool:
    return any(c.isascii() and c.isalpha() for c in text)


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str] | None:
    # Envoy uses RE2; only patterns without constructs whose meaning differs between the engines
    # are trusted (no backreferences, lookaround or possessive/atomic groups -- RE2 rejects them).
    if any(tok in pattern for tok in ("(?=", "(?!", "(?<", "(?>", "\\1", "\\2", "*+", "++", "?+", "\\Z", "\\z")):
        return None
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return None


def regex_fullmatch(pattern: str, text: str) -> bool | None:
    """``True``/``False`` as RE2 full-match would answer, ``None`` when it cannot be trusted."""
    compiled = _compile(pattern)
    if compiled is None:
        return None
    return compiled.fullmatch(text) is not None


# --------------------------------------------------------------------------- paths


def path_covers(a: PathSpec, b: PathSpec) -> bool:
    a_ci = a.case_sensitive is False
    b_ci = b.case_sensitive is False
    if a.kind == "regex":
        if a.value in _PATH_MATCH_ALL:
            return True
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


def _subset(b: ValueMatcher, a: ValueMatcher) -> bool:
    """Every value matched by ``b`` is matched by ``a`` (both for a present header)."""
    if a.kind == "present":
        return True
    if a.kind == "regex" and a.value in MATCH_ALL_REGEXES:
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


def header_implied(a: HeaderMatcher, b_headers: tuple[HeaderMatcher, ...]) -> bool:
    """Every request satisfying all of ``b_headers`` satisfies ``a``."""
    same = [h for h in b_headers if h.name == a.name]
    if not a.invert:
        return any(not h.invert and _subset(h.matcher, a.matcher) for h in same)
    if a.matcher.kind == "present":
        # a demands the header be absent: only b demanding the same guarantees it.
        return any(h.invert and h.matcher.kind == "present" for h in same)
    # a: value (missing counts as "") must not match a.matcher.
    for h in same:
        if h.invert:
            if h.matcher.kind == "present":
                if _matches_empty(a.matcher) is False:
                    return True
            elif h.treat_missing_as_empty == a.treat_missing_as_empty and _subset(a.matcher, h.matcher):
                return True
        elif _disjoint(h.matcher, a.matcher):
            return True
    return False


def covers(a: RouteMatch, b: RouteMatch) -> bool:
    """True only when every request that ``b`` matches is also matched by ``a``."""
    if not path_covers(a.path, b.path):
        return False
    if not all(header_implied(h, b.headers) for h in a.headers):
        return False
    for q in a.query:
        if not any(p.name == q.name and _subset(p.matcher, q.matcher) for p in b.query):
            return False
    return True


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
    """Envoy's route matching for the matchers istiod emits (used by tests as the definition)."""
    p = m.path
    path = request.path.split("?", 1)[0]
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
            result = value is not None
        elif value is None and not h.treat_missing_as_empty:
            result = False
        else:
            result = _value_matches(h.matcher, value or "")
        if result == h.invert:
            return False
    for q in m.query:
        if q.name not in request.query:
            return False
        if not _value_matches(q.matcher, request.query[q.name]):
            return False
    return True
