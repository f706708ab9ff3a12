"""``gateways`` and ``vs``: the listing of a cluster's Gateways and VirtualServices, cached while nothing changed.

Why this module exists: both listings join the same objects (Gateways, VirtualServices, the pods they select,
the analysis' findings) and share one cache keyed on every object's resourceVersion; a listing differs from the
other only in which rows it picks and which findings its summary counts (:class:`ListingKind`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from ..resources.kinds import ANALYSED_KINDS, GATEWAY, VIRTUAL_SERVICE, Kind
from .cluster_access import KubeOptions, cluster_source, connect
from .errors import NotFound

if TYPE_CHECKING:
    from ..listing.views import Flag, Listing

ListingItem = dict[str, Any]
"""One row of a Listing: plain data, because the listing cache stores it with marshal."""


class ListingKind(NamedTuple):
    """What differs between the listing commands."""

    kind: Kind
    """The kind listed (its selector is sent to the API server)."""
    part: str
    """The Listing's field holding the rows, also the cache entry read."""
    flags_shown: Callable[[list[ListingItem], tuple[Flag, ...]], list[Flag]]
    """The findings the summary line counts for the rows shown."""

    @property
    def resource(self) -> str:
        """kubectl's name for the resource (``gateways.networking.istio.io``), in "not found" messages."""
        return f"{self.kind.plural}.{self.kind.group}"

    @property
    def type_name(self) -> str:
        """What ``-o name`` prints before the slash (``gateway.networking.istio.io``)."""
        return f"{self.kind.kind.lower()}.{self.kind.group}"


def _gateway_flags(items: list[ListingItem], flags: tuple[Flag, ...]) -> list[Flag]:
    """A Gateway's summary counts its own findings and those of the VirtualServices bound to it."""
    wanted = {f"{g['namespace']}/{g['name']}" for g in items}
    wanted.update(vs for g in items for vs in g["virtualServices"])
    return [f for f in flags if f"{f.namespace}/{f.name}" in wanted]


def _virtual_service_flags(items: list[ListingItem], flags: tuple[Flag, ...]) -> list[Flag]:
    shown = {(v["namespace"], v["name"]) for v in items}
    return [f for f in flags if f.kind == VIRTUAL_SERVICE.kind and (f.namespace, f.name) in shown]


GATEWAYS = ListingKind(GATEWAY, "gateways", _gateway_flags)
VIRTUAL_SERVICES = ListingKind(VIRTUAL_SERVICE, "virtualServices", _virtual_service_flags)


class ListingOutcome(NamedTuple):
    items: list[ListingItem]
    flags: list[Flag]
    """The findings on what is shown, for the summary line."""
    namespace: str | None
    """The namespace listed; None with -A."""


class ListingRead(NamedTuple):
    listing: Listing
    namespace: str | None
    notes: tuple[str, ...]


def read_listing(kube: KubeOptions, *, kind: ListingKind, selector: str, use_cache: bool) -> ListingRead:
    """The Listing of everything the listing commands join and analyse, plus the namespace shown.

    The lists' metadata is always read from the API server (every object's resourceVersion); the full lists, their
    parsing and the analysis are skipped when the listing cache holds the result for exactly these objects.
    """
    from ..listing import cache as listing_cache

    conn = connect(kube)
    source = cluster_source(conn, all_namespaces=kube.all_namespaces, kinds=ANALYSED_KINDS, selectors={kind.kind.name: selector})
    key = listing_cache.key_for(source.fetch(metadata_only=True).digest()) if use_cache else None
    listing = listing_cache.load(key, part=kind.part) if key else None
    if listing is None:
        raw = source.fetch()
        from ..analysis import analyze as run_analysis  # the analysis only on a miss: its import alone is 40 ms
        from ..analysis.report import arrange
        from ..gcpause import paused_gc
        from ..listing.views import listing_of

        result = source.parse(raw)
        errors = tuple(str(e) for e in result.errors)
        findings = arrange(run_analysis(result.snapshot))
        with paused_gc():
            listing = listing_of(result.snapshot, findings, errors=errors)
        if key:
            listing_cache.store(key, listing)
    return ListingRead(listing, None if kube.all_namespaces else conn.namespace, tuple(source.notes))


def rows_shown(read: ListingRead, *, kind: ListingKind, name: str | None) -> ListingOutcome:
    """The rows of ``kind`` in reach (one when ``name`` is given: NotFound when it does not exist)."""
    rows = read.listing.gateways if kind is GATEWAYS else read.listing.virtual_services
    namespace = read.namespace
    items = [i for i in rows if (namespace is None or i["namespace"] == namespace) and (name is None or i["name"] == name)]
    if name is not None and not items:
        raise NotFound(f'{kind.resource} "{name}" not found')
    return ListingOutcome(items=items, flags=kind.flags_shown(items, read.listing.flags), namespace=namespace)
