"""The cluster Source: reads Istio and Kubernetes objects from the API server, read-only.

Why this module exists: it is the only place that decides what to ask a cluster.  It finds which
networking.istio.io version is served, lists with paging and server-side selectors, fetches
independent lists concurrently, and hands raw JSON straight to ``parse.py``: the client's typed models
are never built (they cost more than the listing itself).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import ISTIO_VERSIONS
from ..exitcodes import ExitCode
from .api import Api, list_envelope, list_pages, page_items
from .errors import ClusterError

if TYPE_CHECKING:
    from ..resources.parse import Resource
    from ..sources.files import InputError, ReadResult

# parse.py, model.py and sources.py are imported where objects are parsed: a listing served from the
# listing cache never needs them (their dataclasses cost ~30 ms to create)

ISTIO_GROUP = "networking.istio.io"


def istio_version(api: Api) -> str:
    """The networking.istio.io version to read: v1, then v1beta1, then v1alpha3."""
    try:
        group = api.get(f"/apis/{ISTIO_GROUP}")
    except ClusterError as exc:
        if exc.status == 404:
            raise ClusterError(
                f"Istio CRDs not found: the API server {api.conn.server} does not serve {ISTIO_GROUP} (is Istio installed?)",
                ExitCode.UNAVAILABLE,
            ) from None
        raise
    served = {str(v.get("version")) for v in group.get("versions") or [] if isinstance(v, dict)}
    for version in ISTIO_VERSIONS:
        if version in served:
            return version
    raise ClusterError(
        f"Istio CRDs not found: {ISTIO_GROUP} serves {', '.join(sorted(served)) or 'no version'}, none of {', '.join(ISTIO_VERSIONS)}",
        ExitCode.UNAVAILABLE,
    )


ISTIO_RESOURCES = {"Gateway": "gateways", "VirtualService": "virtualservices", "DestinationRule": "destinationrules"}


@dataclass(frozen=True)
class RawRead:
    """The list pages of each kind exactly as the API server sent them, before any parsing."""

    pages: tuple[tuple[str, tuple[bytes, ...]], ...]
    """``(kind, pages)`` in the order the kinds were asked for."""
    kinds: tuple[str, ...]
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

        digests = self.digests or tuple(pages_digest(pages) for _, pages in self.pages)
        h = hashlib.sha256(repr((self.kinds, self.namespace, self.metadata_only)).encode())
        for (kind, _), kind_digest in zip(self.pages, digests, strict=True):
            h.update(f"\0{kind}\0{kind_digest}".encode())
        return h.hexdigest()


def pages_digest(pages: Sequence[bytes]) -> str:
    import hashlib

    h = hashlib.sha256()
    for page in pages:
        _, without_metadata = list_envelope(page)
        h.update(len(without_metadata).to_bytes(8, "big"))
        h.update(without_metadata)
    return h.hexdigest()


class ClusterSource:
    """Reads the kinds asked for, concurrently, into one snapshot (origin ``cluster``).

    :meth:`read` is :meth:`fetch` (raw pages) then :meth:`parse`; the listing commands key a cache on a
    metadata-only fetch first and fetch and parse the full lists only when the cache misses.
    """

    def __init__(
        self,
        api: Api,
        *,
        namespace: str | None,
        kinds: Sequence[str] = ("Gateway", "VirtualService", "DestinationRule", "Service", "Pod"),
        selectors: Mapping[str, str] | None = None,
    ) -> None:
        self.api = api
        self.namespace = namespace
        """Where to fall back to when RBAC forbids listing cluster-wide (``None`` with -A)."""
        self.kinds = list(kinds)
        self.selectors = dict(selectors or {})
        self.notes: list[str] = []
        self._istio_version: str | None = None

    def read(self) -> ReadResult:
        return self.parse(self.fetch())

    def fetch(self, *, metadata_only: bool = False) -> RawRead:
        import threading

        istio_kinds = [k for k in self.kinds if k in ISTIO_RESOURCES]
        # the Istio version is asked for while the core kinds are already being listed (see the lanes below)
        jobs: list[tuple[str, str, str, str]] = [(k, ISTIO_GROUP, "", ISTIO_RESOURCES[k]) for k in istio_kinds]
        if "Service" in self.kinds:
            jobs.append(("Service", "", "v1", "services"))
        if "Pod" in self.kinds:
            jobs.append(("Pod", "", "v1", "pods"))
        results: list[tuple[str, tuple[bytes, ...], str] | BaseException | None] = [None] * len(jobs)

        def fetch(index: int) -> None:
            kind, group, version, resource = jobs[index]
            version = version or self._istio_version or ""
            selector = self.selectors.get(kind, "")

            def listed(scope: str | None) -> list[bytes]:
                return list_pages(
                    self.api, group, version, resource, namespace=scope, label_selector=selector, metadata_only=metadata_only
                )

            try:
                # Cluster-wide, as istiod sees it: Gateways select pods in every namespace and VirtualServices
                # bind Gateways of other namespaces.  Narrowed to the namespace only when RBAC says no.
                try:
                    pages = listed(None)
                except ClusterError as exc:
                    if exc.status != 403 or self.namespace is None:
                        raise
                    note = f"cannot list {resource} cluster-wide; reading namespace {self.namespace} only"
                    if note not in self.notes:
                        self.notes.append(note)
                    pages = listed(self.namespace)
                # a metadata-only fetch is the cache key: hash it here, where hashing overlaps the other lists
                results[index] = (kind, tuple(pages), pages_digest(pages) if metadata_only else "")
            except BaseException as exc:  # handed to the caller below
                results[index] = exc

        # Three lanes, each one connection: VirtualServices (usually the longest list), the core kinds, and the
        # other Istio kinds on the connection that asked for the Istio version.  Plain threads, not
        # concurrent.futures: its import (logging and friends) costs 4 ms of a 100 ms listing.
        lanes: list[list[int]] = [[], [], []]
        for index, (kind, group, _, _) in enumerate(jobs):
            lanes[1 if kind == "VirtualService" else 2 if not group else 0].append(index)

        def run(lane: list[int]) -> None:
            for index in lane:
                fetch(index)

        threads = [threading.Thread(target=run, args=(lane,), daemon=True) for lane in lanes[1:]]
        threads[1].start()  # the core kinds need no Istio version
        try:
            if istio_kinds and self._istio_version is None:
                self._istio_version = istio_version(self.api)
            threads[0].start()
            run(lanes[0])
        finally:
            for thread in threads:
                if thread.ident is not None:
                    thread.join()
        done: list[tuple[str, tuple[bytes, ...], str]] = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            assert result is not None
            done.append(result)
        return RawRead(
            tuple((kind, pages) for kind, pages, _ in done),
            tuple(self.kinds),
            self.namespace,
            metadata_only=metadata_only,
            digests=tuple(d for _, _, d in done) if metadata_only else (),
        )

    def parse(self, raw: RawRead) -> ReadResult:
        from ..gcpause import paused_gc
        from ..resources.model import Origin
        from ..resources.parse import InvalidObject, UnknownKind, describe_object, parse_object
        from ..sources.files import InputError, ReadResult, snapshot_of

        objects: list[Resource] = []
        errors: list[InputError] = []
        order = 0
        origin = Origin("cluster")
        with paused_gc():  # thousands of acyclic objects: the cyclic collector would only rescan them
            for _, pages in raw.pages:
                for item in page_items(pages):
                    order += 1
                    try:
                        obj = parse_object(item, origin=origin, default_namespace="default", order=order)
                    except (InvalidObject, UnknownKind) as exc:
                        errors.append(InputError("cluster", f"{describe_object(item)}: {exc}"))
                        continue
                    if obj is not None:
                        objects.append(obj)
        snapshot = snapshot_of(
            objects,
            default_namespace=self.namespace or "default",
            has_pods="Pod" in self.kinds,
            has_services="Service" in self.kinds,
        )
        return ReadResult(snapshot=snapshot, errors=errors, sources=["cluster"])
