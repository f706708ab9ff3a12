"""Go's ``sort.Slice`` (pattern-defeating quicksort, Go >= 1.19), ported swap for swap.

Why this module exists: istioctl sorts route configurations with a comparator that is not a strict
weak ordering, so the order it prints is whatever Go's pdqsort happens to make of the input.  Only a
literal port -- same pivots, same swaps, same pseudo-random shuffles -- gives the same order.  The
helpers keep Go's ``(data, a, b, ...)`` argument order so each can be read side by side with Go's
``zsortfunc.go``.  Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, NamedTuple, TypeVar

__all__ = ["XORSHIFT_GO119", "XORSHIFT_GO124", "XorShift", "go_sort_slice"]

T = TypeVar("T")


class XorShift(NamedTuple):
    """The shifts of ``breakPatterns``' xorshift generator: ``r ^= r << left; r ^= r >> right; r ^= r << last``."""

    left: int
    right: int
    last: int


XORSHIFT_GO119: Final = XorShift(13, 17, 5)
"""Go 1.19-1.23."""
XORSHIFT_GO124: Final = XorShift(13, 7, 17)
"""golang/go#70144, taken to ship in Go 1.24."""

_MASK64: Final = (1 << 64) - 1
_UNKNOWN_HINT, _INCREASING_HINT, _DECREASING_HINT = 0, 1, 2


def go_sort_slice(items: list[T], less: Callable[[T, T], bool], *, new_xorshift: bool = False) -> None:
    """Sort ``items`` in place exactly as Go's ``sort.Slice(items, func(i, j) bool {...})`` does.

    ``less`` compares two elements (Go's index-based ``less`` always looks at the current elements,
    so this is equivalent).  The default is Go 1.19-1.23 (:data:`XORSHIFT_GO119`); ``new_xorshift``
    selects :data:`XORSHIFT_GO124`.  The generator only matters when ``breakPatterns`` runs (more
    than 12 items, unbalanced partitions).
    """
    n = len(items)
    _pdqsort(items, 0, n, n.bit_length(), less, XORSHIFT_GO124 if new_xorshift else XORSHIFT_GO119)


def _insertion_sort(a: list[T], lo: int, hi: int, less: Callable[[T, T], bool]) -> None:
    for i in range(lo + 1, hi):
        j = i
        while j > lo and less(a[j], a[j - 1]):
            a[j], a[j - 1] = a[j - 1], a[j]
            j -= 1


def _sift_down(a: list[T], lo: int, hi: int, first: int, less: Callable[[T, T], bool]) -> None:
    root = lo
    while True:
        child = 2 * root + 1
        if child >= hi:
            return
        if child + 1 < hi and less(a[first + child], a[first + child + 1]):
            child += 1
        if not less(a[first + root], a[first + child]):
            return
        a[first + root], a[first + child] = a[first + child], a[first + root]
        root = child


def _heap_sort(a: list[T], lo: int, hi: int, less: Callable[[T, T], bool]) -> None:
    first = lo
    n = hi - lo
    for i in range((n - 1) // 2, -1, -1):
        _sift_down(a, i, n, first, less)
    for i in range(n - 1, -1, -1):
        a[first], a[first + i] = a[first + i], a[first]
        _sift_down(a, 0, i, first, less)


def _pdqsort(a: list[T], lo: int, hi: int, limit: int, less: Callable[[T, T], bool], shifts: XorShift) -> None:
    max_insertion = 12
    was_balanced = True
    was_partitioned = True
    while True:
        length = hi - lo
        if length <= max_insertion:
            _insertion_sort(a, lo, hi, less)
            return
        if limit == 0:
            _heap_sort(a, lo, hi, less)
            return
        if not was_balanced:
            _break_patterns(a, lo, hi, shifts)
            limit -= 1
        pivot, hint = _choose_pivot(a, lo, hi, less)
        if hint == _DECREASING_HINT:
            _reverse_range(a, lo, hi)
            pivot = (hi - 1) - (pivot - lo)
            hint = _INCREASING_HINT
        if was_balanced and was_partitioned and hint == _INCREASING_HINT and _partial_insertion_sort(a, lo, hi, less):
            return
        if lo > 0 and not less(a[lo - 1], a[pivot]):
            lo = _partition_equal(a, lo, hi, pivot, less)
            continue
        mid, already_partitioned = _partition(a, lo, hi, pivot, less)
        was_partitioned = already_partitioned
        left_len, right_len = mid - lo, hi - mid
        balance_threshold = length // 8
        if left_len < right_len:
            was_balanced = left_len >= balance_threshold
            _pdqsort(a, lo, mid, limit, less, shifts)
            lo = mid + 1
        else:
            was_balanced = right_len >= balance_threshold
            _pdqsort(a, mid + 1, hi, limit, less, shifts)
            hi = mid


def _partition(a: list[T], lo: int, hi: int, pivot: int, less: Callable[[T, T], bool]) -> tuple[int, bool]:
    a[lo], a[pivot] = a[pivot], a[lo]
    i, j = lo + 1, hi - 1
    while i <= j and less(a[i], a[lo]):
        i += 1
    while i <= j and not less(a[j], a[lo]):
        j -= 1
    if i > j:
        a[j], a[lo] = a[lo], a[j]
        return j, True
    a[i], a[j] = a[j], a[i]
    i += 1
    j -= 1
    while True:
        while i <= j and less(a[i], a[lo]):
            i += 1
        while i <= j and not less(a[j], a[lo]):
            j -= 1
        if i > j:
            break
        a[i], a[j] = a[j], a[i]
        i += 1
        j -= 1
    a[j], a[lo] = a[lo], a[j]
    return j, False


def _partition_equal(a: list[T], lo: int, hi: int, pivot: int, less: Callable[[T, T], bool]) -> int:
    a[lo], a[pivot] = a[pivot], a[lo]
    i, j = lo + 1, hi - 1
    while True:
        while i <= j and not less(a[lo], a[i]):
            i += 1
        while i <= j and less(a[lo], a[j]):
            j -= 1
        if i > j:
            break
        a[i], a[j] = a[j], a[i]
        i += 1
        j -= 1
    return i


def _partial_insertion_sort(a: list[T], lo: int, hi: int, less: Callable[[T, T], bool]) -> bool:
    max_steps, shortest_shifting = 5, 50
    i = lo + 1
    for _ in range(max_steps):
        while i < hi and not less(a[i], a[i - 1]):
            i += 1
        if i == hi:
            return True
        if hi - lo < shortest_shifting:
            return False
        a[i], a[i - 1] = a[i - 1], a[i]
        if i - lo >= 2:
            for j in range(i - 1, 0, -1):  # Go: for j := i - 1; j >= 1; j-- (absolute 1, not lo+1)
                if not less(a[j], a[j - 1]):
                    break
                a[j], a[j - 1] = a[j - 1], a[j]
        if hi - i >= 2:
            for j in range(i + 1, hi):
                if not less(a[j], a[j - 1]):
                    break
                a[j], a[j - 1] = a[j - 1], a[j]
    return False


def _break_patterns(a: list[T], lo: int, hi: int, shifts: XorShift) -> None:
    length = hi - lo
    if length >= 8:
        s1, s2, s3 = shifts
        r = length
        modulus = 1 << length.bit_length()
        start = lo + (length // 4) * 2 - 1
        for idx in range(start, start + 3):
            r ^= (r << s1) & _MASK64
            r ^= r >> s2
            r ^= (r << s3) & _MASK64
            other = r & (modulus - 1)
            if other >= length:
                other -= length
            a[idx], a[lo + other] = a[lo + other], a[idx]


def _choose_pivot(a: list[T], lo: int, hi: int, less: Callable[[T, T], bool]) -> tuple[int, int]:
    shortest_ninther, max_swaps = 50, 4 * 3
    n = hi - lo
    swaps = 0
    i = lo + n // 4 * 1
    j = lo + n // 4 * 2
    k = lo + n // 4 * 3

    def median(x: int, y: int, z: int) -> int:
        nonlocal swaps
        if less(a[y], a[x]):
            swaps += 1
            x, y = y, x
        if less(a[z], a[y]):
            swaps += 1
            y, z = z, y
        if less(a[y], a[x]):
            swaps += 1
            x, y = y, x
        return y

    if n >= 8:
        if n >= shortest_ninther:
            i = median(i - 1, i, i + 1)
            j = median(j - 1, j, j + 1)
            k = median(k - 1, k, k + 1)
        j = median(i, j, k)
    if swaps == 0:
        return j, _INCREASING_HINT
    if swaps == max_swaps:
        return j, _DECREASING_HINT
    return j, _UNKNOWN_HINT


def _reverse_range(a: list[T], lo: int, hi: int) -> None:
    i, j = lo, hi - 1
    while i < j:
        a[i], a[j] = a[j], a[i]
        i += 1
        j -= 1
