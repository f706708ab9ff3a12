"""The cluster Source: reads Istio and Kubernetes objects from the API server, read-only.

Why this module exists: it is the only place that decides what to ask a cluster.  What to list for each
kind (group, versions, plural) comes from the kind registry (``resources/kinds.py``); it finds which
version of a CRD group is served, lists with paging and server-side selectors, fetches independent lists
concurrently, and hands raw JSON straight to ``parse.py``: the client's typed models are never built
(they cost more than the listing itself).  It reads through one Connection, so through one kubeconfig
context, and its objects' origin names that context.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, NamedTuple

from ..resources.kinds import ANALYSED_KINDS, KINDS, VIRTUAL_SERVICE, Kind, by_name
from .api import Api, keyed_segments, list_envelope, list_pages, metadata_span, page_items
from .errors import Denied, NotFound, NotServed

if TYPE_CHECKING:
    from ..resources.parse import Resource
    from ..sources.result import InputError, ReadResult

# parse.py, model.py and sources.py are imported where objects are parsed: a listing served from the
# listing cache never needs them (creating their dataclasses costs ~10 ms)


def served_version(
    api: Api, kind: Kind, *, discovery: dict[str, Any] | None = None, lock: AbstractContextManager[Any] | None = None
) -> str:
    """The version of ``kind`` to read: the first of its versions the cluster serves.

    For a kind whose group serves its kinds in different versions (:attr:`Kind.per_resource`: the Gateway API's
    ReferenceGrant is still v1beta1 where HTTPRoute is v1), the first of those versions whose resource list holds
    the kind.  ``discovery`` keeps the discovery answers across kinds (by path; ``None`` for a 404), and may come
    from the discovery cache; ``lock``, held while asking, lets concurrent lanes share one answer)."""
    cache: dict[str, Any] = {} if discovery is None else discovery

    def get(path: str) -> Any:
        with lock or nullcontext():
            if path not in cache:
                try:
                    cache[path] = api.get(path)
                except NotFound:
                    cache[path] = None
                    raise
        answer = cache[path]
        if answer is None:
            raise NotFound(f"not found: {path}", 404)
        return answer

    group = kind.group
    try:
        served_group = get(f"/apis/{group}")
    except NotFound:
        raise NotServed(
            f"{kind.installed_by} CRDs not found: the API server {api.conn.server} does not serve {group}"
            f" (is {kind.installed_by} installed?)"
        ) from None
    served = {str(v.get("version")) for v in served_group.get("versions") or [] if isinstance(v, dict)}
    candidates = [v for v in kind.versions if v in served]
    if not candidates:
        raise NotServed(
            f"{kind.installed_by} CRDs not found: {group} serves {', '.join(sorted(served)) or 'no version'},"
            f" none of {', '.join(kind.versions)}"
        )
    if not kind.per_resource or len(candidates) == 1:
        return candidates[0]
    for version in candidates:
        try:
            listed = get(f"/apis/{group}/{version}")
        except NotFound:
            continue
        resources = listed.get("resources") or [] if isinstance(listed, dict) else []
        if any(isinstance(r, dict) and r.get("name") == kind.plural for r in resources):
            return version
    raise NotServed(f"{kind.installed_by} CRDs: {group} does not serve {kind.plural} in {', '.join(candidates)}")


class KindPages(NamedTuple):
    """One kind's list, page by page, as the API server sent it."""

    kind: str
    """The kind's registry name."""
    pages: tuple[bytes, ...]


class RawRead(NamedTuple):
    """The list pages of each kind exactly as the API server sent them, before any parsing."""

    pages: tuple[KindPages, ...]
    """In the registry's order of the kinds."""
    kinds: tuple[str, ...]
    """The kinds read: those asked for, less the optional ones left out (:attr:`ClusterSource.absent`)."""
    namespace: str | None
    metadata_only: bool = False
    digests: tuple[str, ...] = ()
    """:func:`pages_digest` of each kind's pages when :meth:`digest` was foreseen (metadata-only fetches, the cache
    key): computed while the other lists were still arriving.  Empty otherwise: :meth:`digest` computes them."""

    def digest(self) -> str:
        """A key for everything derived from these lists: their content without the lists' own metadata.

        The list resourceVersion and continue tokens change with any write in the cluster, so they are left out;
        each object's own resourceVersion (which changes with every write to that object) and content stay in.
        """
        import hashlib

        digests = self.digests or tuple(pages_digest(listed.pages) for listed in self.pages)
        h = hashlib.sha256(repr((self.kinds, self.namespace, self.metadata_only)).encode())
        for listed, kind_digest in zip(self.pages, digests, strict=True):
            h.update(f"\0{listed.kind}\0{kind_digest}".encode())
        return h.hexdigest()


def pages_digest(pages: Sequence[bytes]) -> str:
    import hashlib

    h = hashlib.sha256()
    for page in pages:
        span = metadata_span(page)
        if span is None:  # an odd shape: the parsed page without its metadata, re-encoded
            without_metadata = list_envelope(page).rest
            h.update(b"\1" + len(without_metadata).to_bytes(8, "big"))
            h.update(without_metadata)
            continue
        _, start, end = span  # the page as sent, less the metadata's value (and a Table's cells): hashed in place
        segments = keyed_segments(page, start, end)
        view = memoryview(page)
        h.update(b"\0" + sum(b - a for a, b in segments).to_bytes(8, "big"))
        for a, b in segments:
            h.update(view[a:b])
    return h.hexdigest()


class _Listed(NamedTuple):
    kind: str
    pages: tuple[bytes, ...]
    digest: str
    """:func:`pages_digest` of the pages for a metadata-only fetch, else ``""``."""


class ClusterSource:
    """Reads the kinds asked for (registry names), concurrently, into one snapshot.

    :meth:`read` is :meth:`fetch` (raw pages) then :meth:`parse`; the listing commands key a cache on a
    metadata-only fetch first and fetch and parse the full lists only when the cache misses.
    """

    def __init__(
        self,
        api: Api,
        *,
        namespace: str | None,
        kinds: Sequence[str] = ANALYSED_KINDS,
        selectors: Mapping[str, str] | None = None,
        optional: Collection[str] = (),
        discovery_cache: bool = False,
    ) -> None:
        self.api = api
        self.namespace = namespace
        """Where to fall back to when RBAC forbids listing cluster-wide (``None`` with -A)."""
        self.kinds = list(kinds)
        wanted = {by_name(name) for name in self.kinds}  # KeyError for a kind the registry does not hold
        self._lists = [kind for kind in KINDS if kind in wanted]
        """What is listed, in the registry's order."""
        self.optional = frozenset(optional)
        """Kinds read only when the cluster serves them and RBAC lets them be listed (the Gateway API's), else left
        out without an error; a built-in kind among them is read only when one of the CRD kinds among them is (the
        Namespaces the Gateway API's ``allowedRoutes`` selectors read serve nothing else)."""
        for name in self.optional:
            by_name(name)
        self.absent: dict[str, str] = {}
        """The optional kinds left out, by registry name: why (decided by the first fetch, kept by the next ones, so a
        metadata-only fetch and the full one read the same kinds)."""
        self.selectors = dict(selectors or {})
        """Label selectors by kind name."""
        self.notes: list[str] = []
        self._versions: dict[str, str] = {}
        """The version served of each CRD kind read, by registry name (discovered once)."""
        self._discovery: dict[str, Any] = {}
        """Discovery answers by path (asked once a run, or read from the discovery cache); ``None`` for a 404."""
        self._use_discovery_cache = discovery_cache
        """Read and keep discovery answers in the discovery cache (``discovery_cache.py``), as kubectl does: the
        commands opt in (``app/``); a Source built without it asks every run."""
        self._cached: tuple[frozenset[str], float] | None = None
        """The paths of :attr:`_discovery` that came from the discovery cache, and when they were asked."""
        self._confirmed = False
        """A fetch succeeded: the discovery answers it used are the cluster's (a later 404 is the cluster changing)."""

    @property
    def context(self) -> str:
        """The kubeconfig context read through."""
        return self.api.conn.context

    def read(self) -> ReadResult:
        return self.parse(self.fetch())

    def start_reading(self) -> Callable[[], ReadResult]:
        """Start fetching now, in a thread; the function returned waits for the lists and parses them.

        For a caller with imports to do meanwhile: a cold command's core imports take about as long as its fetch
        spends waiting on the API server (30 ms each at 5,000 VirtualServices), and a thread waiting on a socket
        leaves the interpreter to the imports.  Whatever the fetch raised is raised by the function returned.
        """
        import threading

        outcome: list[RawRead] = []
        failure: list[BaseException] = []

        def fetch() -> None:
            try:
                outcome.append(self.fetch())
            except BaseException as exc:  # handed to whoever finishes the read
                failure.append(exc)

        thread = threading.Thread(target=fetch, daemon=True)
        thread.start()

        def finish() -> ReadResult:
            thread.join()
            if failure:
                raise failure.pop()
            return self.parse(outcome.pop())  # no other reference: the pages go once parsed, not with this function

        return finish

    def fetch(self, *, metadata_only: bool = False) -> RawRead:
        """Every kind's list pages (``metadata_only``: PartialObjectMetadataLists, when the server can).

        The first fetch takes the served versions from the discovery cache when it holds them; when they prove stale
        (a list answered 404, or the cached answers say a kind the command needs is not served), the cache entry is
        dropped and the fetch made again, discovering afresh."""
        import time

        from . import discovery_cache

        server = self.api.conn.server
        if self._use_discovery_cache and not self._confirmed and self._cached is None and not self._discovery:
            loaded = discovery_cache.load(server)
            if loaded is not None:
                self._discovery.update(loaded[0])
                self._cached = (frozenset(loaded[0]), loaded[1])
        try:
            raw = self._fetch(metadata_only)
        except (NotFound, NotServed):
            if self._cached is None or self._confirmed:
                raise
            discovery_cache.forget(server)  # stale: discover again, once
            self._cached = None
            self._discovery.clear()
            self._versions.clear()
            self.absent.clear()
            self.notes.clear()
            raw = self._fetch(metadata_only)
        self._confirmed = True
        if self._use_discovery_cache:
            cached_paths, asked = self._cached or (frozenset(), None)
            if set(self._discovery) - cached_paths:  # something was asked: keep it (with what was cached)
                discovery_cache.store(server, dict(self._discovery), asked=asked)
                self._cached = (frozenset(self._discovery), asked if asked is not None else time.time())
        return raw

    def _fetch(self, metadata_only: bool) -> RawRead:
        import threading

        jobs = self._lists
        results: list[_Listed | BaseException | None] = [None] * len(jobs)
        lock = threading.Lock()  # one discovery request a path, whichever lane asks first
        optional = self.optional

        def fetch(index: int) -> None:
            kind = jobs[index]
            version = self._versions[kind.name] if kind.discovered else kind.versions[0]
            selector = self.selectors.get(kind.name, "")

            def listed(scope: str | None) -> list[bytes]:
                return list_pages(
                    self.api,
                    kind.group,
                    version,
                    kind.plural,
                    namespace=scope,
                    label_selector=selector,
                    metadata_only=metadata_only,
                )

            try:
                # Cluster-wide, as istiod sees it: Gateways select pods in every namespace and VirtualServices
                # bind Gateways of other namespaces.  Narrowed to the namespace only when RBAC says no.
                try:
                    pages = listed(None)
                except Denied as exc:
                    if exc.status != 403 or self.namespace is None or not kind.namespaced:
                        raise
                    note = f"cannot list {kind.plural} cluster-wide; reading namespace {self.namespace} only"
                    if note not in self.notes:
                        self.notes.append(note)
                    pages = listed(self.namespace)
                # a metadata-only fetch is the cache key: hash it here, where hashing overlaps the other lists
                results[index] = _Listed(kind.name, tuple(pages), pages_digest(pages) if metadata_only else "")
            except Denied as exc:
                if exc.status != 403 or kind.name not in optional:
                    results[index] = exc
                    return
                note = f"cannot list {kind.plural}; listing without them"
                self.absent[kind.name] = note
                if note not in self.notes:
                    self.notes.append(note)
            except BaseException as exc:  # handed to the caller below
                results[index] = exc

        # Three lanes, each one connection: VirtualServices (usually the longest list), the built-in kinds, and
        # the other CRD kinds on the connection that asked which versions are served (the built-in kinds are
        # already being listed meanwhile); the optional kinds, when asked for, in a fourth that asks for their
        # versions itself, so finding out whether the cluster serves them delays no other lane.
        # Plain threads, not concurrent.futures: its import (logging and friends) costs 4 ms of a 100 ms listing.
        lanes: list[list[int]] = [[], [], [], []]
        for index, kind in enumerate(jobs):
            if kind.name in self.absent:
                continue
            lanes[3 if kind.name in optional else 1 if kind is VIRTUAL_SERVICE else 2 if not kind.discovered else 0].append(index)

        def run(lane: list[int]) -> None:
            for index in lane:
                fetch(index)

        def run_optional(lane: list[int]) -> None:
            unserved: dict[str, str] = {}
            """Groups the cluster does not serve at all: asked once, not once per kind."""
            try:
                for index in lane:
                    kind = jobs[index]
                    if kind.discovered and kind.name not in self._versions:
                        if kind.group in unserved:
                            self.absent[kind.name] = unserved[kind.group]
                            continue
                        try:
                            self._versions[kind.name] = served_version(self.api, kind, discovery=self._discovery, lock=lock)
                        except NotServed as exc:
                            self.absent[kind.name] = str(exc)
                            if self._discovery.get(f"/apis/{kind.group}") is None:  # the group itself is not served
                                unserved[kind.group] = str(exc)
                        except Denied as exc:
                            if exc.status != 403:
                                raise
                            self.absent[kind.name] = unserved[kind.group] = str(exc)
                crds = any(jobs[i].discovered and jobs[i].name not in self.absent for i in lane)
                for index in lane:
                    kind = jobs[index]
                    if not kind.discovered and not crds:
                        self.absent[kind.name] = f"{kind.plural} are read only with the kinds they serve"
                    if kind.name not in self.absent:
                        fetch(index)
            except BaseException as exc:  # discovery failed otherwise: handed to the caller below
                results[lane[0]] = exc

        threads = [
            threading.Thread(target=run, args=(lanes[1],), daemon=True),
            threading.Thread(target=run, args=(lanes[2],), daemon=True),
            threading.Thread(target=run_optional, args=(lanes[3],), daemon=True),
        ]
        threads[1].start()  # the built-in kinds need no discovery
        if lanes[3]:
            threads[2].start()
        try:
            for kind in jobs:
                if kind.discovered and kind.name not in optional and kind.name not in self._versions:
                    self._versions[kind.name] = served_version(self.api, kind, discovery=self._discovery, lock=lock)
            threads[0].start()
            run(lanes[0])
        finally:
            for thread in threads:
                if thread.ident is not None:
                    thread.join()
        done: list[_Listed] = []
        for kind, result in zip(jobs, results, strict=True):
            if isinstance(result, BaseException):
                raise result
            if kind.name in self.absent:
                continue
            assert result is not None
            done.append(result)
        return RawRead(
            tuple(KindPages(listed.kind, listed.pages) for listed in done),
            tuple(name for name in self.kinds if name not in self.absent),
            self.namespace,
            metadata_only=metadata_only,
            digests=tuple(listed.digest for listed in done) if metadata_only else (),
        )

    def parse(self, raw: RawRead) -> ReadResult:
        from ..gcpause import paused_gc
        from ..resources.model import Origin
        from ..resources.parse import InvalidObject, UnknownKind, describe_object, parse_object
        from ..sources.result import InputError, ReadResult
        from ..sources.snapshot import snapshot_of

        objects: list[Resource] = []
        errors: list[InputError] = []
        order = 0
        origin = Origin(self.context, cluster=True)
        with paused_gc():  # thousands of acyclic objects: the cyclic collector would only rescan them
            for listed in raw.pages:
                for item in page_items(listed.pages):
                    order += 1
                    try:
                        obj = parse_object(item, origin=origin, default_namespace="default", order=order)
                    except (InvalidObject, UnknownKind) as exc:
                        errors.append(InputError("cluster", f"{describe_object(item)}: {exc}"))
                        continue
                    if obj is not None:
                        objects.append(obj)
        snapshot = snapshot_of(objects, complete=raw.kinds)  # a cluster's lists are complete: absence is a fact
        return ReadResult(snapshot=snapshot, errors=errors)
