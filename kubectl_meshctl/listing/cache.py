"""The listing cache: ``gateways``, ``virtualservices`` and ``httproutes`` results keyed by what the API server sent.

Why this module exists: a listing is a pure function of the list responses (the snapshot, the whole
analysis for the findings column and the summary line), and on a cluster with thousands of
VirtualServices parsing and analysing them takes about a second -- ten times ``kubectl get``.  Gateways
and VirtualServices change rarely, so the listing is stored under a digest of a metadata-only listing
of every kind read (each object's name and resourceVersion, which changes with every write to it; the
lists' own resourceVersion, which moves with every write anywhere, is left out: see ``RawRead.digest``)
and of this program's code.  Any write to any object read misses the cache.  Like kubectl's
discovery cache it lives under ``$KUBECACHEDIR`` (default ``~/.kube/cache``), here in ``meshctl/listings``.
It is best-effort: an unreadable, corrupt, foreign or unwritable cache is a miss, never an error.

Trust: whoever can write an entry decides what the next listing shows, and entries are ``marshal``
files (the fastest stdlib format to load; the key includes the Python version), a format that is
not meant for untrusted data -- hostile bytes can make it allocate without bound or build odd
objects.  So the cache is used only when ``meshctl/`` and ``meshctl/listings/`` are directories
(never symlinks) owned by this user that nobody else can write to (created 0700), held open by
file descriptor so they cannot be swapped between the check and the use; entries are opened without
following symlinks and must be regular files of this user.  Inside that private directory a
size cap (:data:`MAX_ENTRY`) and a full check of the loaded shape are enough: anything unexpected
is a miss.  Pruning only ever removes this module's own regular files (entry and temporary-file
names) in that directory.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import sys
from collections.abc import Iterable, KeysView
from itertools import chain, repeat
from operator import eq, itemgetter
from pathlib import Path
from typing import Any

from .. import __version__
from ..private_cache import (
    cache_base,
    is_stale_temp,
    open_private_dir,
    own_files,
    read_own_file,
    unlink,
    write_atomically,
)
from .views import Flag, Listing

SCHEMA = 1
KEEP = 16
"""Entries kept: enough for a few contexts and namespaces, small enough to never matter on disk."""
MAX_ENTRY = 64 << 20
"""Bytes an entry may have (10,000 VirtualServices are ~5 MB); a bigger file is a miss, never read."""

PARTS = ("gateways", "virtualServices")
"""Each command reads only its part: the Gateways or the VirtualServices, and the flags for its summary line.  The
Gateway API's routes are kept in the VirtualServices' part, under their own key (``httproutes`` reads that part), so
an entry is still two files."""
ROUTES = "routes"
"""What ``httproutes`` asks :func:`load` for: the routes of the VirtualServices' part."""

_KEY = re.compile(r"[0-9a-f]{40}\Z")
_ENTRY = re.compile(r"[0-9a-f]{40}\.(?:gateways|virtualServices)\Z")


def cache_dir() -> Path:
    return cache_base() / "meshctl" / "listings"


def code_fingerprint() -> str:
    """This program's version and the size/mtime of its code, so a changed analysis never reads old results."""
    package = Path(__file__).resolve().parents[1]  # the whole kubectl_meshctl package
    parts = [__version__, str(SCHEMA), sys.version]
    try:
        if package.is_dir():
            for path in sorted(package.rglob("*.py")):
                st = path.stat()
                parts.append(f"{path.relative_to(package)}:{st.st_size}:{st.st_mtime_ns}")
        else:  # inside a zipapp: the archive stands for its contents
            st = package.parent.stat()
            parts.append(f"{package.parent}:{st.st_size}:{st.st_mtime_ns}")
    except OSError:
        parts.append("unknown")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def key_for(responses_digest: str) -> str:
    return hashlib.sha256(f"{code_fingerprint()}\0{responses_digest}".encode()).hexdigest()[:40]


# --------------------------------------------------------------------------- the private directory


def _open_dir(*, create: bool) -> int | None:
    """A descriptor of ``meshctl/listings`` when it and ``meshctl`` are this user's private directories, else None."""
    return open_private_dir("listings", create=create)


# --------------------------------------------------------------------------- load and store


def load(key: str, *, part: str) -> Listing | None:
    """The cached Listing with ``part`` filled in (the others empty), or None.  ``part`` is one of :data:`PARTS` or
    :data:`ROUTES`."""
    if (part not in PARTS and part != ROUTES) or not _KEY.match(key):
        return None
    dir_fd = _open_dir(create=False)
    if dir_fd is None:
        return None
    try:
        name = f"{key}.{'virtualServices' if part == ROUTES else part}"
        raw = read_own_file(name, dir_fd=dir_fd, limit=MAX_ENTRY, touch=True)  # touched: recently used, kept longest
        return None if raw is None else _listing(marshal.loads(raw), part)
    except (OSError, ValueError, EOFError, TypeError, MemoryError, RecursionError):
        return None
    finally:
        os.close(dir_fd)


# The shape checks run on every cache hit (thousands of items): column-wise, with C-level map/set/chain, a few
# milliseconds less than item by item.


def _all(values: Iterable[Any], kind: type) -> bool:
    """Every value is exactly of type ``kind`` (bool is not an int here)."""
    return set(map(type, values)) <= {kind}


def _records(rows: Iterable[Any], keys: KeysView[str]) -> bool:
    """``rows`` is a list of dicts with exactly ``keys``."""
    return type(rows) is list and _all(rows, dict) and all(map(eq, repeat(keys), map(dict.keys, rows)))


def _column(rows: list[dict[str, Any]], key: str) -> list[Any]:
    return list(map(itemgetter(key), rows))


def _string_lists(lists: list[Any]) -> bool:
    return _all(lists, list) and _all(chain.from_iterable(lists), str)


_GATEWAY_KEYS = dict.fromkeys(("name", "namespace", "selector", "servers", "pods", "virtualServices", "creationTimestamp")).keys()
_KUBE_GATEWAY_KEYS = dict.fromkeys(
    ("name", "namespace", "apiVersion", "gatewayClass", "selector", "servers", "addresses", "pods", "routes", "creationTimestamp")
).keys()
_PODS_KEYS = dict.fromkeys(("ready", "total", "names")).keys()
_VS_KEYS = dict.fromkeys(("name", "namespace", "gateways", "hosts", "rules", "findings", "creationTimestamp")).keys()
_ROUTE_KEYS = dict.fromkeys(
    ("kind", "apiVersion", "name", "namespace", "hostnames", "parents", "rules", "findings", "creationTimestamp")
).keys()
_PARENT_KEYS = dict.fromkeys(("parentRef", "accepted", "reason", "message", "listeners")).keys()
_FINDING_KEYS = dict.fromkeys(("code", "level", "message")).keys()
_LEVELS = frozenset(("Info", "Warning", "Error"))
_ROUTE_KINDS = frozenset(("HTTPRoute", "GRPCRoute"))


def _gateways(items: list[Any]) -> bool:
    if type(items) is not list or not _all(items, dict):
        return False
    istio = [g for g in items if g.keys() == _GATEWAY_KEYS]
    kube = [g for g in items if g.keys() == _KUBE_GATEWAY_KEYS]
    if len(istio) + len(kube) != len(items):
        return False
    pods = _column(items, "pods")
    return (
        _all(chain.from_iterable(map(itemgetter("name", "namespace", "selector", "creationTimestamp"), items)), str)
        and _string_lists(_column(items, "servers"))
        and _string_lists(_column(istio, "virtualServices"))
        and _all(chain.from_iterable(map(itemgetter("apiVersion", "gatewayClass"), kube)), str)
        and _string_lists(list(chain.from_iterable(map(itemgetter("addresses", "routes"), kube))))
        and _records(pods, _PODS_KEYS)
        and _all(chain.from_iterable(map(itemgetter("ready", "total"), pods)), int)
        and _string_lists(_column(pods, "names"))
    )


def _findings(items: list[dict[str, Any]]) -> bool:
    """Every item's ``findings`` is a list of ``{code, level, message}``."""
    findings = _column(items, "findings")
    if not _all(findings, list):
        return False
    flat = list(chain.from_iterable(findings))
    return (
        _records(flat, _FINDING_KEYS)
        and _all(chain.from_iterable(map(itemgetter("code", "message", "level"), flat)), str)
        and set(_column(flat, "level")) <= _LEVELS
    )


def _virtual_services(items: list[Any]) -> bool:
    return (
        _records(items, _VS_KEYS)
        and _all(chain.from_iterable(map(itemgetter("name", "namespace", "creationTimestamp"), items)), str)
        and _all(_column(items, "rules"), int)
        and _string_lists(list(chain.from_iterable(map(itemgetter("gateways", "hosts"), items))))
        and _findings(items)
    )


def _routes(items: list[Any]) -> bool:
    if not _records(items, _ROUTE_KEYS):
        return False
    parents = _column(items, "parents")
    if not _all(parents, list):
        return False
    flat = list(chain.from_iterable(parents))
    return (
        _all(chain.from_iterable(map(itemgetter("kind", "apiVersion", "name", "namespace", "creationTimestamp"), items)), str)
        and set(_column(items, "kind")) <= _ROUTE_KINDS
        and _all(_column(items, "rules"), int)
        and _string_lists(_column(items, "hostnames"))
        and _records(flat, _PARENT_KEYS)
        and _all(chain.from_iterable(map(itemgetter("parentRef", "reason", "message"), flat)), str)
        and _all(_column(flat, "accepted"), bool)
        and _string_lists(_column(flat, "listeners"))
        and _findings(items)
    )


def _flags(flags: list[Any]) -> bool:
    """Tuples ``(level, kind, namespace, name)`` with a findings.Level value."""
    if not _all(flags, tuple) or not set(map(len, flags)) <= {4}:
        return False
    if not flags:
        return True
    levels, *names = zip(*flags, strict=True)
    return _all(levels, int) and set(levels) <= {0, 1, 2} and _all(chain.from_iterable(names), str)


def _listing(data: Any, part: str) -> Listing | None:
    """The Listing an entry holds when it has exactly the shape :func:`store` writes, else None.

    The VirtualServices' part holds the routes beside its items: ``part`` :data:`ROUTES` checks and returns only
    those, ``virtualServices`` only the VirtualServices."""
    expected = {"items", "flags", "errors"} if part == "gateways" else {"items", "flags", "errors", ROUTES}
    if type(data) is not dict or data.keys() != expected:
        return None
    items, flags, errors = data[ROUTES if part == ROUTES else "items"], data["flags"], data["errors"]
    valid = _gateways if part == "gateways" else _routes if part == ROUTES else _virtual_services
    if type(flags) is not list or type(errors) is not list or not _all(errors, str) or not _flags(flags) or not valid(items):
        return None
    return Listing(
        gateways=tuple(items) if part == "gateways" else (),
        virtual_services=tuple(items) if part == "virtualServices" else (),
        flags=tuple(map(Flag._make, flags)),
        errors=tuple(errors),
        routes=tuple(items) if part == ROUTES else (),
    )


def store(key: str, listing: Listing) -> None:
    if not _KEY.match(key):
        return
    dir_fd = _open_dir(create=True)
    if dir_fd is None:
        return
    flags = [tuple(f) for f in listing.flags]
    try:
        for part, items in zip(PARTS, (listing.gateways, listing.virtual_services), strict=True):
            entry = {"items": list(items), "flags": flags, "errors": list(listing.errors)}
            if part == "virtualServices":
                entry[ROUTES] = list(listing.routes)
            data = marshal.dumps(entry)
            if len(data) > MAX_ENTRY:
                continue  # would be a miss anyway
            write_atomically(f"{key}.{part}", data, dir_fd=dir_fd)
        _prune(dir_fd)
    except (OSError, ValueError):
        pass
    finally:
        os.close(dir_fd)


def _prune(dir_fd: int) -> None:
    """Keep the newest entries; remove only this module's own regular files, by name, in this directory."""
    entries: list[tuple[int, str]] = []
    for st, name in own_files(dir_fd, _ENTRY):
        if _ENTRY.match(name):
            entries.append((st.st_mtime_ns, name))
        elif is_stale_temp(name, st):
            unlink(name, dir_fd=dir_fd)
    entries.sort(reverse=True)
    for _, name in entries[KEEP * len(PARTS) :]:
        unlink(name, dir_fd=dir_fd)
