"""The plugin's private directories under ``$KUBECACHEDIR/meshctl/``: opened, written and pruned as only their owner could.

Why this module exists: the listing cache (:mod:`kubectl_meshctl.listing.cache`) and the discovery cache
(:mod:`kubectl_meshctl.kube.discovery_cache`) keep files beside kubectl's cache, and whoever can write there decides
what the next run believes.  One implementation of the rules both follow: ``meshctl/`` and ``meshctl/<name>/`` are
used only when they are directories (never symlinks) of this user that nobody else can write to (created 0700),
held open by descriptor so they cannot be swapped between the check and the use; files are written to a fresh
temporary name and renamed; a temporary file left by a killed run is removed after an hour.  The base
(``$KUBECACHEDIR``, default ``~/.kube/cache``) is the user's choice and may be a symlink.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import time
from pathlib import Path

from .bounded_read import TooLarge, read_at_most

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | CLOEXEC
TEMP = re.compile(r"\.tmp-[0-9a-f]{16}\Z")
"""The names :func:`write_atomically` writes before renaming."""
STALE_TEMP = 3600
"""Seconds after which a temporary file left by a killed run is removed."""


def cache_base() -> Path:
    return Path(os.environ.get("KUBECACHEDIR") or os.path.join(os.path.expanduser("~"), ".kube", "cache"))


def _private(fd: int) -> bool:
    st = os.fstat(fd)
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022


def open_private_dir(name: str, *, create: bool) -> int | None:
    """A descriptor of ``meshctl/<name>`` when it and ``meshctl`` are this user's private directories, else None."""
    if os.open not in os.supports_dir_fd or not NOFOLLOW or not hasattr(os, "geteuid"):
        return None  # no way to hold the directory by descriptor: no cache
    base = cache_base()
    fd = -1
    try:
        if create:
            base.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(base, _DIR_FLAGS)
        for part in ("meshctl", name):
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=fd)
            child = os.open(part, _DIR_FLAGS | NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = child
            if not _private(fd):
                os.close(fd)
                return None
        return fd
    except (OSError, ValueError):
        if fd >= 0:
            os.close(fd)
        return None


def read_own_file(name: str, *, dir_fd: int, limit: int, touch: bool = False) -> bytes | None:
    """``name`` in the directory when it is this user's regular file of at most ``limit`` bytes (opened without
    following a symlink or waiting on a FIFO), else None; ``touch``: mark it recently used.  OSError passes on."""
    fd = os.open(name, os.O_RDONLY | NOFOLLOW | CLOEXEC | getattr(os, "O_NONBLOCK", 0), dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_size > limit:
            return None
        try:
            data = read_at_most(fd, limit)
        except TooLarge:
            return None
        if touch:
            os.utime(fd)
        return data
    finally:
        os.close(fd)


def write_atomically(name: str, data: bytes, *, dir_fd: int) -> None:
    """``name`` replaced atomically: written to a new temporary file (never an existing path), then renamed."""
    temp = f".tmp-{os.urandom(8).hex()}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | CLOEXEC, 0o600, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        unlink(temp, dir_fd=dir_fd)
        raise


def own_files(dir_fd: int, names: re.Pattern[str]) -> list[tuple[os.stat_result, str]]:
    """This user's regular files in the directory whose names match ``names`` (temporary files' too), unfollowed."""
    uid = os.geteuid()
    found = []
    for name in os.listdir(dir_fd):
        if not names.match(name) and not TEMP.match(name):
            continue
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_uid == uid:
            found.append((st, name))
    return found


def is_stale_temp(name: str, st: os.stat_result) -> bool:
    return TEMP.match(name) is not None and st.st_mtime < time.time() - STALE_TEMP


def unlink(name: str, *, dir_fd: int) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=dir_fd)
