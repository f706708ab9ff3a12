"""The listing cache against a hostile file system: foreign, shared or symlinked directories and crafted entries.

Each case runs ``gateways -A`` against the fake API server: the output must be what a fresh read shows, a
cache that cannot be trusted must be a miss (the full lists are read again) and must not be written, and
nothing outside the cache's own files may ever be deleted.
"""

from __future__ import annotations

import marshal
import os
import re
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from fakeapi.server import FakeApiServer

from kubectl_meshctl.listing import cache as listing_cache

ENTRY = re.compile(r"[0-9a-f]{40}\.(gateways|virtualServices)")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KUBECACHEDIR", str(tmp_path / "cache"))


def _cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def _without_age(table: str) -> list[list[str]]:
    rows = [_cells(line) for line in table.splitlines()]
    age = rows[0].index("AGE")
    return [row[:age] + row[age + 1 :] for row in rows]


def _lists(fake_api: FakeApiServer) -> tuple[int, int]:
    """(full lists, metadata-only lists) read since the last clear."""
    lists = [r for r in fake_api.requests if r.path.endswith(("/gateways", "/virtualservices", "/pods", "/services"))]
    metadata = sum(1 for r in lists if "PartialObjectMetadataList" in (r.header("Accept") or ""))
    return len(lists) - metadata, metadata


class _Runner:
    def __init__(self, fake_api: FakeApiServer, kubeconfig: Path, cache: Path) -> None:
        self.fake_api, self.kubeconfig, self.cache = fake_api, kubeconfig, cache
        self.listings = cache / "meshctl" / "listings"
        self.fresh: Any = None

    def run(self) -> tuple[list[list[str]], str, tuple[int, int]]:
        """One ``gateways -A -o wide``: its table (without AGE), stderr, and (full, metadata) lists read."""
        self.fake_api.requests.clear()
        result = run_cli(["gateways", "-A", "-o", "wide", "--kubeconfig", str(self.kubeconfig)])
        assert result.code == 0, result.stderr
        return _without_age(result.stdout), result.stderr, _lists(self.fake_api)

    def assert_miss(self) -> None:
        table, stderr, lists = self.run()
        assert (table, stderr) == self.fresh
        assert lists == (4, 4), "the cache was used"

    def assert_hit(self) -> None:
        table, stderr, lists = self.run()
        assert (table, stderr) == self.fresh
        assert lists == (0, 4), "the cache was not used"

    def entries(self) -> list[Path]:
        return sorted(p for p in self.listings.iterdir() if ENTRY.fullmatch(p.name))


@pytest.fixture
def runner(fake_api: FakeApiServer, fake_kubeconfig: Path, tmp_path: Path) -> _Runner:
    runner = _Runner(fake_api, fake_kubeconfig, tmp_path / "cache")
    table, stderr, lists = runner.run()
    assert lists == (4, 4)
    runner.fresh = (table, stderr)
    assert "gt-gateway" in table[1]
    return runner


def test_a_private_cache_is_created_0700_and_hits(runner: _Runner) -> None:
    for directory in (runner.cache / "meshctl", runner.listings):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert len(runner.entries()) == 2 and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in runner.entries())
    runner.assert_hit()


def _victims(directory: Path) -> dict[str, bytes]:
    directory.mkdir(parents=True)
    files = {}
    for i in range(40):  # names like entries, like temporary files, and the user's own
        name = [f"{i:040x}.gateways", f"{i:040x}.virtualServices", f".tmp-{i:016x}", f"notes-{i}.txt"][i % 4]
        files[name] = f"user file {i}".encode()
        (directory / name).write_bytes(files[name])
        os.utime(directory / name, (1, 1))  # older than anything the cache writes: the first to be pruned
    return files


@pytest.mark.parametrize("link", ["listings", "meshctl"])
def test_a_symlinked_cache_directory_is_neither_used_nor_pruned(
    link: str, fake_api: FakeApiServer, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    files = _victims(victim / "listings" if link == "meshctl" else victim)
    (tmp_path / "cache" / "meshctl").mkdir(parents=True, mode=0o700)
    if link == "meshctl":
        (tmp_path / "cache" / "meshctl").rmdir()
        (tmp_path / "cache" / "meshctl").symlink_to(victim)
    else:
        (tmp_path / "cache" / "meshctl" / "listings").symlink_to(victim)
    runner = _Runner(fake_api, fake_kubeconfig, tmp_path / "cache")
    table, stderr, _ = runner.run()
    runner.fresh = (table, stderr)
    runner.assert_miss()
    target = victim / "listings" if link == "meshctl" else victim
    assert {p.name: p.read_bytes() for p in target.iterdir()} == files  # nothing deleted, nothing written


@pytest.mark.parametrize(("which", "mode"), [("listings", 0o770), ("listings", 0o707), ("meshctl", 0o777), ("meshctl", 0o1777)])
def test_a_group_or_world_writable_cache_is_neither_used_nor_written(which: str, mode: int, runner: _Runner) -> None:
    before = {p.name: p.read_bytes() for p in runner.entries()}
    for entry in runner.entries():
        entry.unlink()
    (runner.cache / "meshctl" if which == "meshctl" else runner.listings).chmod(mode)
    runner.assert_miss()
    runner.assert_miss()
    assert runner.entries() == []  # never written
    assert before  # (the first run had written two)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root")
@pytest.mark.parametrize("which", ["meshctl", "listings", "entry"])
def test_a_cache_owned_by_someone_else_is_neither_used_nor_written(which: str, runner: _Runner) -> None:
    entries = runner.entries()
    if which == "entry":
        for entry in entries:
            os.chown(entry, 12345, -1)
        runner.assert_miss()  # entries it wrote itself replace them: the next run hits
        runner.assert_hit()
        return
    for entry in entries:
        entry.unlink()
    os.chown(runner.cache / "meshctl" if which == "meshctl" else runner.listings, 12345, -1)
    runner.assert_miss()
    runner.assert_miss()
    assert runner.entries() == []


# ----------------------------------------------------------------------------- crafted entries

GATEWAY = {
    "name": "forged",
    "namespace": "default",
    "selector": "istio=ingressgateway",
    "servers": ["80/HTTP *"],
    "pods": {"ready": 1, "total": 1, "names": ["p.istio-system"]},
    "virtualServices": [],
    "creationTimestamp": "2024-01-01T00:00:00Z",
}
VS = {"name": "v", "namespace": "default", "gateways": [], "hosts": [], "rules": 1, "findings": [], "creationTimestamp": ""}


def _entry(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"items": [dict(GATEWAY)], "flags": [(1, "VirtualService", "default", "vs")], "errors": []}
    data.update(changes)
    return data


def _item(**changes: Any) -> dict[str, Any]:
    item = {**GATEWAY, **changes}
    return {k: v for k, v in item.items() if v is not _DROP}


_DROP = object()

WRONG_SHAPES: dict[str, Any] = {
    "a list": [],
    "None": None,
    "an int": 5,
    "a string": "items",
    "a code object": compile("1", "x", "eval"),
    "a key missing": {"items": [], "flags": []},
    "an extra key": {**_entry(), "more": 1},
    "items a tuple": _entry(items=(GATEWAY,)),
    "items a dict": _entry(items={"a": GATEWAY}),
    "an item a list": _entry(items=[list(GATEWAY.items())]),
    "an item without pods": _entry(items=[_item(pods=_DROP)]),
    "an item with an extra key": _entry(items=[_item(extra=1)]),
    "a name an int": _entry(items=[_item(name=1)]),
    "a selector None": _entry(items=[_item(selector=None)]),
    "servers a string": _entry(items=[_item(servers="80/HTTP *")]),
    "servers of ints": _entry(items=[_item(servers=[80])]),
    "pods a list": _entry(items=[_item(pods=[1, 1])]),
    "pods ready a string": _entry(items=[_item(pods={"ready": "1", "total": 1, "names": []})]),
    "pods ready a bool": _entry(items=[_item(pods={"ready": True, "total": 1, "names": []})]),
    "pods without names": _entry(items=[_item(pods={"ready": 1, "total": 1})]),
    "pod names a string": _entry(items=[_item(pods={"ready": 1, "total": 1, "names": "p"})]),
    "virtualServices of bytes": _entry(items=[_item(virtualServices=[b"default/vs"])]),
    "creationTimestamp a float": _entry(items=[_item(creationTimestamp=1.5)]),
    "a VirtualService in the gateways part": _entry(items=[VS]),
    "flags a dict": _entry(flags={}),
    "a flag a list": _entry(flags=[[1, "VirtualService", "default", "vs"]]),
    "a flag of three": _entry(flags=[(1, "VirtualService", "default")]),
    "a flag of five": _entry(flags=[(1, "VirtualService", "default", "vs", "x")]),
    "a flag level 7": _entry(flags=[(7, "VirtualService", "default", "vs")]),
    "a flag level -1": _entry(flags=[(-1, "VirtualService", "default", "vs")]),
    "a flag level a string": _entry(flags=[("1", "VirtualService", "default", "vs")]),
    "a flag level a bool": _entry(flags=[(True, "VirtualService", "default", "vs")]),
    "a flag name an int": _entry(flags=[(1, "VirtualService", "default", 5)]),
    "errors a string": _entry(errors="boom"),
    "errors of ints": _entry(errors=[1]),
    "errors a tuple": _entry(errors=("boom",)),
}


@pytest.mark.parametrize("shape", sorted(WRONG_SHAPES))
def test_an_entry_of_the_wrong_shape_is_a_miss(shape: str, runner: _Runner) -> None:
    for entry in runner.entries():
        entry.write_bytes(marshal.dumps(WRONG_SHAPES[shape]))
    runner.assert_miss()
    runner.assert_hit()  # the miss rewrote the entries


def test_the_well_formed_entry_those_shapes_break_is_a_hit(runner: _Runner) -> None:
    """The control for the cases above: a well-formed forged entry is served (which is why the directory must be private)."""
    for entry in runner.entries():
        if entry.name.endswith(".gateways"):
            entry.write_bytes(marshal.dumps(_entry()))
    table, _, lists = runner.run()
    assert lists == (0, 4) and table[1][:2] == ["default", "forged"]


CRAFTED = {
    # 20 bytes: a list that claims 2**31 - 1 items
    "huge list": b"[" + (2**31 - 1).to_bytes(4, "little") + b"N" * 15,
    "huge dict of huge lists": b"{" + b"[" + (2**31 - 1).to_bytes(4, "little") + b"N" * 14,
    "huge string": b"s" + (2**31 - 1).to_bytes(4, "little") + b"x" * 15,
    "bad type code": b"\xff" * 20,
    "empty": b"",
    "deep nesting": b"[\x01\x00\x00\x00" * 5000 + b"N",
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_bytes_are_a_miss(case: str, runner: _Runner) -> None:
    for entry in runner.entries():
        entry.write_bytes(CRAFTED[case])
    assert len(CRAFTED[case]) == 20 or case in ("empty", "deep nesting")
    runner.assert_miss()


def test_a_truncated_entry_is_a_miss(runner: _Runner) -> None:
    for entry in runner.entries():
        data = entry.read_bytes()
        entry.write_bytes(data[: len(data) // 2])
    runner.assert_miss()
    runner.assert_hit()


def test_an_entry_over_the_size_cap_is_never_read(runner: _Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing_cache, "MAX_ENTRY", 64)
    monkeypatch.setattr(listing_cache.marshal, "loads", _never)
    runner.assert_miss()


def _never(data: bytes) -> Any:
    raise AssertionError("an entry over the cap was read")


def test_an_entry_that_is_a_symlink_or_fifo_is_a_miss(runner: _Runner, tmp_path: Path) -> None:
    for entry in runner.entries():
        saved = tmp_path / entry.name
        saved.write_bytes(entry.read_bytes())
        entry.unlink()
        entry.symlink_to(saved)  # a valid entry, but through a link
    runner.assert_miss()
    for entry in runner.entries():
        entry.unlink()
        os.mkfifo(entry)  # opening it must not block
    start = time.monotonic()
    runner.assert_miss()
    assert time.monotonic() - start < 10


# ----------------------------------------------------------------------------- pruning


def test_pruning_removes_only_the_caches_own_regular_files(runner: _Runner, tmp_path: Path) -> None:
    written = runner.entries()
    outside = tmp_path / "outside.gateways"
    outside.write_text("keep me")
    old = (1, 1)
    planted = {}
    for i in range(40):  # old entries: beyond KEEP, the oldest are pruned
        path = runner.listings / f"{i:040x}.gateways"
        path.write_bytes(b"old")
        os.utime(path, old)
        planted[path.name] = path
    link = runner.listings / f"{'e' * 40}.gateways"
    link.symlink_to(outside)
    os.utime(link, old, follow_symlinks=False)
    directory = runner.listings / f"{'d' * 40}.virtualServices"
    directory.mkdir()
    other = runner.listings / "notes.txt"
    other.write_text("mine")
    os.utime(other, old)
    stale, fresh = runner.listings / f".tmp-{'1' * 16}", runner.listings / f".tmp-{'2' * 16}"
    stale.write_bytes(b"x")
    os.utime(stale, old)
    fresh.write_bytes(b"x")
    for entry in written:
        entry.write_bytes(b"corrupt")  # a miss: this run stores, then prunes
    runner.assert_miss()
    kept = [p for p in runner.entries() if p.is_file() and not p.is_symlink()]
    assert len(kept) == listing_cache.KEEP * len(listing_cache.PARTS)
    assert outside.read_text() == "keep me" and link.is_symlink() and directory.is_dir() and other.read_text() == "mine"
    assert not stale.exists() and fresh.exists()
    assert sum(1 for p in planted.values() if p.exists()) == len(kept) - 2  # the two fresh entries are kept first
