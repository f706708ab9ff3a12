"""Which istioctl (and Go toolchain) behaviour a version string selects.

Why this module exists: the routes table differs between istioctl releases (VirtualService paths,
``path_separated_prefix``) and between the Go releases that built them (pdqsort's xorshift shifts);
the renderers and the CLI's flag check must agree on what a version string means.  Pure.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final

__all__ = ["istio_minor", "uses_new_xorshift"]

_VERSION_RE: Final = re.compile(r"v?(\d+)\.(\d+)")
_GO_TOOLCHAIN_RE: Final = re.compile(r"(?:go)?1\.(\d+)")


@cache
def istio_minor(istio_version: str) -> int:
    """The minor release of ``"1.N"`` (``"v1.N.p"`` too); ValueError before 1.18 or outside 1.x."""
    m = _VERSION_RE.match(istio_version.strip())
    if m is None or m.group(1) != "1" or int(m.group(2)) < 18:
        raise ValueError(f"unsupported istio_version {istio_version!r} (expected 1.18 or later, e.g. '1.24')")
    return int(m.group(2))


@cache
def uses_new_xorshift(istio_version: str, go_toolchain: str | None) -> bool:
    """Whether Go's pdqsort uses golang/go#70144's generator (Go >= 1.24; istioctl 1.26+ requires Go 1.24)."""
    if go_toolchain is None:
        return istio_minor(istio_version) >= 26
    m = _GO_TOOLCHAIN_RE.match(go_toolchain.strip())
    if m is None:
        raise ValueError(f"unsupported go_toolchain {go_toolchain!r} (expected e.g. 'go1.23')")
    return int(m.group(1)) >= 24
