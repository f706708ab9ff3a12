"""The krew release's start-up script: run the plugin from a private unpacked copy of its payload zip.

Why this module exists: the krew release is two files, ``kubectl-meshctl`` (this module as a plain script, then a
line calling :func:`run` with the build id, written by ``scripts/build-krew``) and ``kubectl_meshctl.zip`` beside
it (the package and its vendored dependencies, about 1,900 members).  Python keeps no bytecode for modules imported
from a zip, so every run from the zip compiled everything it imported (warm ``gateways -A`` on 2,000 Gateways under
the system python3: 0.17 s from the zip, 0.09 s unpacked; kubectl 0.09-0.11 s).  And merely having a zip that size
on the path costs every run, for zipimport reads its whole directory first (``--version`` under the system python3:
23 ms from one zipapp that unpacked itself, 17 ms from this script; ``python3 -c pass``: 9 ms).  So the first run
unpacks the payload into ``$XDG_CACHE_HOME/kubectl-meshctl/<build id>/`` (``~/.cache`` without it): into a fresh
temporary directory, a marker written last, then one rename.  Later runs find the marker with four ``stat`` calls
and import from there, where Python keeps its ``__pycache__``, without opening the zip at all.

The plugin holds cluster credentials, and whoever can write that directory decides what code runs next: the cache
root and the build directory are used only when they are real directories (never symlinks) of this user that
nobody else can write to, in a parent others cannot write to (unless sticky, as /tmp is).  Anything else --
``KUBECTL_MESHCTL_NO_EXTRACT=1``, no HOME, a read-only or full disk, another owner, a symlink, a corrupt zip, an
unsafe member name -- imports from the payload zip itself: the cache may make the plugin faster, never make it fail.

The payload is found beside the script's real path: krew links ``~/.krew/bin/kubectl-meshctl`` to its store
(absolutely or relatively), and ``kubectl_complete-meshctl`` is a link to that link.

Three constraints shape the code.  It imports only the standard library at module level (``zipfile`` and
``shutil`` only when unpacking): nothing of the package can be imported before the path is chosen.  It must define
its functions on any Python 3, so an old one reaches the version check in :func:`run`: no ``from __future__``
import, no annotation that needs 3.10 when evaluated, no syntax beyond Python 3.0's.  And Python keeps no bytecode
for a script, so every run compiles this one (about 1 ms): it stays small.
"""

import os
import stat
import sys
import time

PAYLOAD = "kubectl_meshctl.zip"
"""The payload's name beside the script: not ``kubectl-…``, which kubectl would take for a plugin on PATH."""
OPT_OUT = "KUBECTL_MESHCTL_NO_EXTRACT"
CACHE_NAME = "kubectl-meshctl"
MARKER = ".complete"
"""Written last into a build directory: without it the directory is not a build."""
TEMP_PREFIX = ".tmp-"
BUILD_ID_LENGTH = 32
STALE_BUILD = 24 * 3600
"""Seconds after which another build's directory is removed (its marker is touched when used, see REFRESH)."""
STALE_TEMP = 3600
"""Seconds after which a temporary directory left by a killed unpacking is removed."""
REFRESH = 3600
"""A used build's marker is touched at most this often, so that pruning spares builds in use."""
HEX = "0123456789abcdef"
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def looks_like_build_id(name: str) -> bool:
    return len(name) == BUILD_ID_LENGTH and all(char in HEX for char in name)


def looks_like_temp(name: str) -> bool:
    return (
        name.startswith(TEMP_PREFIX)
        and len(name) == len(TEMP_PREFIX) + 16
        and all(char in HEX for char in name[len(TEMP_PREFIX) :])
    )


def safe_member_name(name: str) -> bool:
    """Whether zip member ``name`` stays inside the directory it is unpacked into: relative, no ``..``, ``.`` or
    empty part, and no backslash, colon or NUL (read as separators, drives or terminators by other tools)."""
    if not name or name.startswith("/") or any(char in name for char in "\\:\0"):
        return False
    parts = (name[:-1] if name.endswith("/") else name).split("/")
    return all(part not in ("", ".", "..") for part in parts)


def cache_root(xdg_cache_home: str, home: str) -> str:
    """``$XDG_CACHE_HOME/kubectl-meshctl``, else ``$HOME/.cache/kubectl-meshctl``; "" when neither is an absolute
    path (the XDG spec says to ignore a relative one)."""
    if os.path.isabs(xdg_cache_home):
        return os.path.join(xdg_cache_home, CACHE_NAME)
    if os.path.isabs(home):
        return os.path.join(home, ".cache", CACHE_NAME)
    return ""


def is_private_dir(st: os.stat_result) -> bool:
    """A directory (from ``lstat``: a symlink is not one) of this user that nobody else may write to."""
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022


def parent_keeps_root(st: os.stat_result) -> bool:
    """Whether the root's parent (the user's choice, so followed if a link) keeps others from swapping the root for
    their own directory: not writable by others, unless sticky as /tmp is."""
    return not st.st_mode & 0o002 or bool(st.st_mode & stat.S_ISVTX)


def choose_path(payload: str, build_id: str) -> str:
    """Where to import the package from: the private unpacked copy of ``payload`` (unpacked now if need be), or
    ``payload`` itself when the cache is off or anything about it is not as it must be."""
    if os.environ.get(OPT_OUT, "") not in ("", "0"):
        return payload
    try:
        root = cache_root(os.environ.get("XDG_CACHE_HOME", ""), os.environ.get("HOME", ""))
        if not root or not looks_like_build_id(build_id) or not hasattr(os, "geteuid"):
            return payload
        return _cached_build(payload, root, build_id=build_id) or payload
    except Exception:  # whatever went wrong, the zip still runs
        return payload


def _cached_build(payload: str, root: str, *, build_id: str) -> str:
    """The build directory when it is (or has now been made) complete and private, else ""."""
    try:
        root_st = os.lstat(root)
    except FileNotFoundError:
        os.makedirs(root, 0o700, exist_ok=True)  # a fresh account may have no ~/.cache; a concurrent run may win
        root_st = os.lstat(root)
    if not is_private_dir(root_st) or not parent_keeps_root(os.stat(os.path.dirname(root))):
        return ""
    build_dir = os.path.join(root, build_id)
    try:
        build_st = os.lstat(build_dir)
    except FileNotFoundError:
        return unpack(payload, root, build_id=build_id)
    if not is_private_dir(build_st):
        return ""
    try:
        marker_st = os.lstat(os.path.join(build_dir, MARKER))
    except FileNotFoundError:
        return unpack(payload, root, build_id=build_id)  # ours but never finished: replaced
    if not stat.S_ISREG(marker_st.st_mode):
        return ""
    if marker_st.st_mtime < time.time() - REFRESH:
        try:  # noqa: SIM105 (contextlib would be one more import on every run)
            os.utime(os.path.join(build_dir, MARKER))
        except OSError:  # a read-only cache still serves
            pass
    return build_dir


def unpack(payload: str, root: str, *, build_id: str) -> str:
    """Unpack the zip ``payload`` into the private ``root`` as ``root/build_id``: a fresh 0700 temporary directory
    first, the marker last, then one rename.  Returns the build directory, or "" when it cannot be used; raises on a
    failure, leaving no temporary directory behind (unless killed)."""
    import shutil
    import zipfile

    temp = os.path.join(root, TEMP_PREFIX + os.urandom(8).hex())
    aside = os.path.join(root, TEMP_PREFIX + os.urandom(8).hex())
    os.mkdir(temp, 0o700)
    try:
        with zipfile.ZipFile(payload) as zf:
            for info in zf.infolist():
                target = member_target(temp, info.filename)
                if info.filename.endswith("/"):
                    os.makedirs(target, 0o700, exist_ok=True)
                else:
                    os.makedirs(os.path.dirname(target), 0o700, exist_ok=True)
                    _write_new(target, zf.read(info))  # read checks the CRC: a corrupt zip raises
        _write_new(os.path.join(temp, MARKER), build_id.encode() + b"\n")
        prune(root, keep=build_id, now=time.time())
        return _move_into_place(temp, os.path.join(root, build_id), aside=aside)
    finally:
        for leftover in (temp, aside):  # temp is gone when it was renamed into place
            shutil.rmtree(leftover, ignore_errors=True)


def member_target(temp: str, name: str) -> str:
    """The path zip member ``name`` is unpacked to under ``temp``; ValueError when the name is unsafe."""
    if not safe_member_name(name):
        raise ValueError("unsafe zip member " + repr(name))
    target = os.path.join(temp, *name.rstrip("/").split("/"))
    if not os.path.normpath(target).startswith(temp + os.sep):
        raise ValueError("zip member outside the build " + repr(name))
    return target


def _write_new(path: str, data: bytes) -> None:
    """A new file (never an existing path or a symlink), readable by this user only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _move_into_place(temp: str, build_dir: str, *, aside: str) -> str:
    """Rename the finished ``temp`` to ``build_dir``.  When that name is taken: a concurrent run's complete build is
    used as it is; an incomplete one (ours: nobody else can write the private root) is renamed to ``aside``, for the
    caller to remove, and replaced."""
    try:
        os.rename(temp, build_dir)
        return build_dir
    except OSError:
        pass
    if not is_private_dir(os.lstat(build_dir)):
        return ""
    try:
        os.lstat(os.path.join(build_dir, MARKER))
        return build_dir  # another run won the race
    except FileNotFoundError:
        pass
    os.rename(build_dir, aside)
    os.rename(temp, build_dir)
    return build_dir


def prune(root: str, *, keep: str, now: float) -> None:
    """Remove other builds unused for :data:`STALE_BUILD` and temporary directories older than :data:`STALE_TEMP`:
    only this user's real directories, with names this module gives."""
    import shutil

    for name in os.listdir(root):
        if looks_like_build_id(name) and name != keep:
            limit = STALE_BUILD
        elif looks_like_temp(name):
            limit = STALE_TEMP
        else:
            continue
        path = os.path.join(root, name)
        if _last_touched(path) < now - limit:
            shutil.rmtree(path, ignore_errors=True)


def _last_touched(path: str) -> float:
    """When a private directory's marker (or, without one, the directory) was last written; infinity, so never
    stale, for anything that is not this user's private directory."""
    try:
        st = os.lstat(path)
        if not is_private_dir(st):
            return float("inf")
        try:
            return os.lstat(os.path.join(path, MARKER)).st_mtime
        except FileNotFoundError:
            return st.st_mtime
    except OSError:
        return float("inf")


def put_first(entries: "list[str]", chosen: str, *, script_dir: str) -> None:
    """Put ``chosen`` first on the import path ``entries``, in place of the script's own directory (Python's
    ``sys.path[0]``), which holds no module of ours and could shadow the standard library with a stray ``.py``."""
    first = entries[0] if entries else ""
    if first and os.path.realpath(first) == script_dir:
        entries[0] = chosen
    else:
        entries.insert(0, chosen)


def run(build_id: str, script: str) -> None:
    """The script's body: the version check, the import path, then the plugin.  ``script`` is the script's
    ``__file__``, maybe a link (or a link to a link) to it."""
    if sys.version_info < (3, 10):  # noqa: UP036 (this check is for the interpreters the package does not support)
        sys.exit("kubectl-meshctl needs Python >= 3.10 as python3, found " + sys.version.split()[0])
    script_dir = os.path.dirname(os.path.realpath(script))
    payload = os.path.join(script_dir, PAYLOAD)
    chosen = choose_path(payload, build_id)
    if chosen == payload and not os.path.isfile(payload):  # checked here only: the cached path never needs it
        sys.exit("kubectl-meshctl: " + payload + " is missing; reinstall the plugin (kubectl krew reinstall meshctl)")
    put_first(sys.path, chosen, script_dir=script_dir)
    if os.path.basename(sys.argv[0]).startswith("kubectl_complete-"):
        from kubectl_meshctl.cli import kubectl_complete

        kubectl_complete()
    from kubectl_meshctl.entry import main

    main()
