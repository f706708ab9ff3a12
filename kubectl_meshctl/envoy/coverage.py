"""Does one Envoy route take every request another one matches?

Why this module exists: unreachable-rule findings must be true, so "A covers B" is decided here
once, per match dimension (path with case sensitivity, headers and their inversions, pseudo-headers
for method/authority/scheme, query parameters), on the Envoy matchers istiod actually builds.  It
answers ``True`` only when it can prove it; anything in doubt (an unprovable regex, a
Python/RE2 difference) is ``False``.  The property tests check :func:`covers` against
:func:`.matching.accepts`, the executable definition of Envoy's matching.
"""

from __future__ import annotations

from .matching import ascii_lower, regex_fullmatch
from .route_model import HeaderMatcher, PathSpec, RouteMatch, ValueMatcher

MATCH_ALL_REGEXES = frozenset({".*", "^.*$", "^.*", ".*$", "(.*)", "^(.*)$", "(?s).*"})
"""Regexes that fully match every value without a line feed (``(?s).*``: every value)."""
PATH_MATCH_ALL_REGEXES = MATCH_ALL_REGEXES | {"/.*", "^/.*", "/.*$", "^/.*$"}
"""Regexes that fully match every request path (paths start with ``/`` and hold no line feed)."""


def _has_ascii_letters(text: str) -> bool:
    return any(c.isascii() and c.isalpha() for c in text)


# --------------------------------------------------------------------------- paths


def path_covers(a: PathSpec, b: PathSpec) -> bool:
    """Every request path ``b`` matches, ``a`` matches (Envoy ignores ``case_sensitive`` for regexes)."""
    a_ci = a.case_sensitive is False
    b_ci = b.case_sensitive is False
    if "path_separated_prefix" in (a.kind, b.kind) and "regex" not in (a.kind, b.kind):
        return _separated_covers(a, b)
    if a.kind == "regex":
        if a.value in PATH_MATCH_ALL_REGEXES:
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


def _separated_covers(a: PathSpec, b: PathSpec) -> bool:
    """``path_covers`` when either side is a ``path_separated_prefix`` (istiod writes one for a Gateway API
    PathPrefix): it takes its value and every path continuing it with ``/``."""
    av, bv = a.value, b.value
    if a.case_sensitive is False:
        av, bv = ascii_lower(av), ascii_lower(bv)
    elif b.case_sensitive is False:
        if _has_ascii_letters(av):
            return False  # b takes every casing of its letters, a only one
        bv = ascii_lower(bv)
    if a.kind == "path_separated_prefix":
        if b.kind == "prefix":
            return bv.startswith(av + "/")  # b also takes av + "x", which a refuses
        return bv == av or bv.startswith(av + "/")
    if a.kind == "prefix":
        return bv.startswith(av)
    return False  # an exact path never covers the many paths of b


# --------------------------------------------------------------------------- values


def _istiod_kind(m: ValueMatcher) -> bool:
    """The matchers istiod emits; the others (from dumps) are never judged here: the safe answer is returned."""
    return m.kind in ("exact", "prefix", "regex", "present") and not m.ignore_case


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
    if b.kind == "present" or not (_istiod_kind(a) and _istiod_kind(b)):
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
    if a.kind == "present" or b.kind == "present" or not (_istiod_kind(a) and _istiod_kind(b)):
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
    if not _istiod_kind(m):
        return None
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
