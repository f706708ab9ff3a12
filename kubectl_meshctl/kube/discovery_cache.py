"""The discovery cache: which API groups and versions a server serves, remembered for a few minutes.

Why this module exists: every listing asks the API server which versions of the Istio and Gateway API groups it
serves before listing them -- a request (or two) a run, a tenth of a warm ``gateways -A``, on a cluster that
changes its CRDs perhaps once a month.  kubectl keeps the same answers in ``~/.kube/cache/discovery`` for six hours;
these are kept beside the listing cache, in ``$KUBECACHEDIR/meshctl/discovery/`` (default ``~/.kube/cache``), one
JSON file per API server URL, for :data:`TTL` seconds.  An answer that turns out stale is noticed by the caller (a
list answered 404, a kind the cache says is not served but the command needs) and discovered afresh once.

Best-effort and private, as the listing cache: used only when ``meshctl/`` and ``meshctl/discovery/`` are directories
(never symlinks) of this user that nobody else can write to (created 0700), held by descriptor; files are opened
without following symlinks and must be this user's regular files; anything unreadable, corrupt, foreign, too large
or too old is a miss, never an error.  Entries are JSON checked for shape (a path to an object, or ``None`` for a
404), so a hostile file can at worst name versions that the next list then finds missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from ..private_cache import cache_base, is_stale_temp, open_private_dir, own_files, read_own_file, unlink, write_atomically

TTL = 300.0
"""Seconds an entry is trusted (kubectl: six hours; CRDs installed meanwhile show up after at most this long)."""
MAX_FILE = 1 << 20
"""Bytes an entry may have (a few discovery documents are a few KB)."""
SCHEMA = 1


Answers = dict[str, "dict[str, Any] | None"]
"""Discovery answers by request path: the JSON object served, or None for a 404 (the group or version not served)."""


def cache_dir() -> Path:
    return cache_base() / "meshctl" / "discovery"


_ENTRY = re.compile(r"[0-9a-f]{40}\.json\Z")


def _name(server: str) -> str:
    return hashlib.sha256(f"{SCHEMA}\0{server}".encode()).hexdigest()[:40] + ".json"


def _open_dir(*, create: bool) -> int | None:
    """A descriptor of ``meshctl/discovery`` when it and ``meshctl`` are this user's private directories, else None."""
    return open_private_dir("discovery", create=create)


def load(server: str, *, now: float | None = None) -> tuple[Answers, float] | None:
    """The answers cached for ``server`` and when they were asked, or None (no entry, too old, or not trustworthy)."""
    dir_fd = _open_dir(create=False)
    if dir_fd is None:
        return None
    try:
        data = read_own_file(_name(server), dir_fd=dir_fd, limit=MAX_FILE)
        if data is None:
            return None
        entry = json.loads(data)
    except (OSError, ValueError, RecursionError):
        return None
    finally:
        os.close(dir_fd)
    if type(entry) is not dict or entry.get("server") != server or entry.get("schema") != SCHEMA:
        return None
    asked, answers = entry.get("time"), entry.get("answers")
    if not isinstance(asked, (int, float)) or isinstance(asked, bool) or type(answers) is not dict:
        return None
    age = (time.time() if now is None else now) - asked
    if not 0 <= age <= TTL:
        return None
    if not all(type(path) is str and path.startswith("/api") and (v is None or type(v) is dict) for path, v in answers.items()):
        return None
    return answers, float(asked)


def store(server: str, answers: Answers, *, asked: float | None = None) -> None:
    """Keep ``answers`` for ``server`` (``asked``: when the oldest of them was asked; now by default)."""
    dir_fd = _open_dir(create=True)
    if dir_fd is None:
        return
    try:
        entry = {"schema": SCHEMA, "server": server, "time": time.time() if asked is None else asked, "answers": answers}
        data = json.dumps(entry, separators=(",", ":")).encode()
        if len(data) > MAX_FILE:
            return
        write_atomically(_name(server), data, dir_fd=dir_fd)
        for st, name in own_files(dir_fd, _ENTRY):  # a killed run's temporary files go after an hour
            if is_stale_temp(name, st):
                unlink(name, dir_fd=dir_fd)
    except (OSError, ValueError, TypeError):
        pass
    finally:
        os.close(dir_fd)


def forget(server: str) -> None:
    """Drop ``server``'s entry (it was found stale)."""
    dir_fd = _open_dir(create=False)
    if dir_fd is None:
        return
    try:
        unlink(_name(server), dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
