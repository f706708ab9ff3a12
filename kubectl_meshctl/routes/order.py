"""The order istioctl prints route configurations in: its ``Atoi`` comparator through Go's ``sort.Slice``.

Why this module exists: istioctl sorts by ``Atoi(name_i) < Atoi(name_j)``, which is false as soon
as either name is not an integer -- not a strict weak ordering -- so the printed order is whatever
Go's pdqsort makes of the collection order, and it depends on the Go release that built istioctl.
The table and ``-o json/yaml`` must print the same order.  Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..gocompat.gosort import go_sort_slice
from ..gocompat.strconv import atoi
from .dump import RouteConfigView
from .versions import uses_new_xorshift

__all__ = ["go_sort_route_configs", "route_config_order", "route_config_order_of_names"]


def _numeric_less(x: tuple[int | None, int], y: tuple[int | None, int]) -> bool:
    a, b = x[0], y[0]
    return a is not None and b is not None and a < b


def go_sort_route_configs(names: Sequence[str], *, new_xorshift: bool = False) -> list[int]:
    """The permutation istioctl's ``sort.Slice`` applies to route configurations with these names.

    Returns the original indexes in their new order.  ``new_xorshift`` as in
    :func:`kubectl_meshctl.gocompat.gosort.go_sort_slice`.
    """
    keys = [(atoi(n), i) for i, n in enumerate(names)]  # (Atoi value or None, original index)
    numeric = [k for k, _ in keys if k is not None]
    if all(numeric[i] <= numeric[i + 1] for i in range(len(numeric) - 1)):
        return list(range(len(names)))  # Go never moves anything then (no `less` is ever true for a swap)
    go_sort_slice(keys, _numeric_less, new_xorshift=new_xorshift)
    return [i for _, i in keys]


def route_config_order(
    configs: Sequence[RouteConfigView], *, istio_version: str, go_toolchain: str | None, sort: bool = True
) -> list[int]:
    """Indexes of ``configs`` in istioctl's printing order (collection order when ``sort`` is False).

    ``go_toolchain`` (e.g. ``"go1.23"``) names the Go release that built istioctl; None infers it
    from ``istio_version`` (see :func:`kubectl_meshctl.routes.versions.uses_new_xorshift`).
    """
    return route_config_order_of_names(
        [c.name for c in configs], istio_version=istio_version, go_toolchain=go_toolchain, sort=sort
    )


def route_config_order_of_names(
    names: Sequence[str], *, istio_version: str, go_toolchain: str | None, sort: bool = True
) -> list[int]:
    """:func:`route_config_order` from the configurations' names alone (all the order depends on)."""
    if not sort:
        return list(range(len(names)))
    return go_sort_route_configs(list(names), new_xorshift=uses_new_xorshift(istio_version, go_toolchain))
