"""The listing cache: ``gateways`` and ``virtualservices`` results keyed by what the API server sent.

Why this module exists: a listing is a pure function of the list responses (the snapshot, the whole
analysis for the findings column and the summary line), and on a cluster with thousands of
VirtualServices parsing and analysing them takes about a second -- ten times ``kubectl get``.  Gateways
and VirtualServices change rarely, so the listing is stored under a digest of a metadata-only listing
of every kind read (each object's name and resourceVersion, which changes with every write to it; the
lists' own resourceVersion, which moves with every write anywhere, is left out: see ``RawRead.digest``)
and of this program's code.  Any write to any object read misses the cache.  Like kubectl's
discovery cache it lives under ``$KUBECACHEDIR`` (default ``~/.kube/cache``), here in ``meshctl/``.
It is best-effort: an unreadable, corrupt or unwritable cache is a miss, never an error.  Entries are
``marshal`` files (the fastest stdlib format to load; the key includes the Python version) in a 0700
directory, as private as kubectl's own cache.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from pathlib import Path

from . import __version__
from .views import Flag, Listing

SCHEMA = 1
KEEP = 16
"""Entries kept: enough for a few contexts and namespaces, small enough to never matter on disk."""


def cache_dir() -> Path:
    base = os.environ.get("KUBECACHEDIR") or os.path.join(os.path.expanduser("~"), ".kube", "cache")
    return Path(base) / "meshctl" / "listings"


def code_fingerprint() -> str:
    """This program's version and the size/mtime of its code, so a changed analysis never reads old results."""
    package = Path(__file__).resolve().parent
    parts = [__version__, str(SCHEMA), sys.version]
    try:
        if package.is_dir():
            for path in sorted(package.rglob("*.py")):
                st = path.stat()
                parts.append(f"{path.name}:{st.st_size}:{st.st_mtime_ns}")
        else:  # inside a zipapp: the archive stands for its contents
            st = package.parent.stat()
            parts.append(f"{package.parent}:{st.st_size}:{st.st_mtime_ns}")
    except OSError:
        parts.append("unknown")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def key_for(responses_digest: str) -> str:
    return hashlib.sha256(f"{code_fingerprint()}\0{responses_digest}".encode()).hexdigest()[:40]


PARTS = ("gateways", "virtualServices")
"""Each command reads only its part: the Gateways or the VirtualServices, and the flags for its summary line."""


def load(key: str, *, part: str) -> Listing | None:
    """The cached Listing with ``part`` filled in (the other part empty), or None."""
    path = cache_dir() / f"{key}.{part}"
    try:
        data = marshal.loads(path.read_bytes())
        os.utime(path)  # recently used: kept longest
        items = tuple(data["items"])
        return Listing(
            gateways=items if part == "gateways" else (),
            virtual_services=items if part == "virtualServices" else (),
            flags=tuple(Flag._make(f) for f in data["flags"]),
            errors=tuple(data["errors"]),
        )
    except (OSError, ValueError, EOFError, KeyError, TypeError):
        return None


def store(key: str, listing: Listing) -> None:
    import tempfile  # ~7 ms to import: only where a temporary file is made

    flags = [tuple(f) for f in listing.flags]
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for part, items in zip(PARTS, (listing.gateways, listing.virtual_services), strict=True):
            data = {"items": list(items), "flags": flags, "errors": list(listing.errors)}
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                marshal.dump(data, fh)
            os.replace(tmp, directory / f"{key}.{part}")
        entries = sorted(directory.glob("*.*"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[KEEP * len(PARTS) :]:
            old.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass
