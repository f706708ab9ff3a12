"""``gateways``, ``vs`` and ``httproutes``: the listing of a cluster's gateways and routes, cached while nothing changed.

Why this module exists: the listings join the same objects (Istio's Gateways and VirtualServices, the Gateway API's
Gateways and routes, the pods they select, the analysis' findings) and share one cache keyed on every object's
resourceVersion; a listing differs from the others only in which rows it picks and which findings its summary counts
(:class:`ListingKind`).  The Gateway API's kinds are read when the cluster serves them: a cluster without their CRDs
is listed as it always was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from ..resources.kinds import (
    GATEWAY,
    GATEWAY_API_KINDS,
    GRPC_ROUTE,
    HTTP_ROUTE,
    KUBE_GATEWAY,
    LISTED_KINDS,
    VIRTUAL_SERVICE,
    Kind,
)
from .cluster_access import KubeOptions, connect
from .errors import NotFound

if TYPE_CHECKING:
    from ..listing.views import Flag, Listing

ListingItem = dict[str, Any]
"""One row of a Listing: plain data, because the listing cache stores it with marshal."""


class ListingKind(NamedTuple):
    """What differs between the listing commands."""

    kind: Kind
    """The kind listed (named in "not found" messages)."""
    part: str
    """The Listing's rows (``gateways``, ``virtualServices``, ``routes``), also the cache entry read."""
    flags_shown: Callable[[list[ListingItem], tuple[Flag, ...]], list[Flag]]
    """The findings the summary line counts for the rows shown."""
    listed: tuple[Kind, ...] = ()
    """Every kind whose objects are rows (the label selector is sent for each); ``(kind,)`` when empty."""
    required: tuple[str, ...] = ()
    """Gateway API kinds this listing cannot do without: read as the Istio kinds are (an error when not served)."""

    @property
    def resource(self) -> str:
        """kubectl's name for the resource (``gateways.networking.istio.io``), in "not found" messages."""
        return f"{self.kind.plural}.{self.kind.group}"

    def type_name(self, item: ListingItem) -> str:
        """What ``-o name`` prints before the slash (``gateway.networking.istio.io``, ``httproute.gateway.networking.k8s.io``)."""
        api_version = item.get("apiVersion")
        group = api_version.rpartition("/")[0] if isinstance(api_version, str) else self.kind.group
        return f"{str(item.get('kind') or self.kind.kind).lower()}.{group}"


def _gateway_flags(items: list[ListingItem], flags: tuple[Flag, ...]) -> list[Flag]:
    """A Gateway's summary counts its own findings and those of the VirtualServices bound (routes attached) to it."""
    wanted = {f"{g['namespace']}/{g['name']}" for g in items}
    wanted.update(vs for g in items for vs in g.get("virtualServices", ()))
    wanted.update(route.partition("/")[2] for g in items for route in g.get("routes", ()))  # HTTPRoute/ns/name
    return [f for f in flags if f"{f.namespace}/{f.name}" in wanted]


def _virtual_service_flags(items: list[ListingItem], flags: tuple[Flag, ...]) -> list[Flag]:
    shown = {(v["namespace"], v["name"]) for v in items}
    return [f for f in flags if f.kind == VIRTUAL_SERVICE.kind and (f.namespace, f.name) in shown]


def _route_flags(items: list[ListingItem], flags: tuple[Flag, ...]) -> list[Flag]:
    shown = {(r["kind"], r["namespace"], r["name"]) for r in items}
    return [f for f in flags if (f.kind, f.namespace, f.name) in shown]


GATEWAYS = ListingKind(GATEWAY, "gateways", _gateway_flags, listed=(GATEWAY, KUBE_GATEWAY))
VIRTUAL_SERVICES = ListingKind(VIRTUAL_SERVICE, "virtualServices", _virtual_service_flags)
ROUTES = ListingKind(HTTP_ROUTE, "routes", _route_flags, listed=(HTTP_ROUTE, GRPC_ROUTE), required=(HTTP_ROUTE.name,))


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
    parsing and the analysis are skipped when the listing cache holds the result for exactly these objects.  The
    Gateway API's kinds are left out when the cluster does not serve them (or RBAC forbids listing them: a note
    says so), except those ``kind`` requires.
    """
    from ..kube.api import Api
    from ..kube.cluster_source import ClusterSource
    from ..listing import cache as listing_cache

    conn = connect(kube)
    source = ClusterSource(
        Api(conn),
        namespace=None if kube.all_namespaces else conn.namespace,
        kinds=LISTED_KINDS,
        selectors={k.name: selector for k in kind.listed or (kind.kind,)},
        optional=[name for name in GATEWAY_API_KINDS if name not in kind.required],
        discovery_cache=use_cache,
    )
    key = listing_cache.key_for(source.fetch(metadata_only=True).digest()) if use_cache else None
    listing = listing_cache.load(key, part=kind.part) if key else None
    if listing is None:
        finish_reading = source.start_reading()  # the lists arrive while the core is imported
        from ..analysis import analyze as run_analysis  # the analysis only on a miss: its import alone is 40 ms
        from ..analysis.report import arrange
        from ..gcpause import keep, paused_gc
        from ..listing.views import listing_of

        result = finish_reading()  # the pages as sent are let go once parsed: not held through the analysis
        keep(result)  # freed by the OS when the command ends, not object by object on return
        errors = tuple(str(e) for e in result.errors)
        findings = arrange(run_analysis(result.snapshot, witnesses=False))  # a listing shows no witness
        with paused_gc():
            listing = listing_of(result.snapshot, findings, errors=errors)
        if key:
            listing_cache.store(key, listing)
    return ListingRead(listing, None if kube.all_namespaces else conn.namespace, tuple(source.notes))


def rows_shown(read: ListingRead, *, kind: ListingKind, name: str | None) -> ListingOutcome:
    """The rows of ``kind`` in reach (those named ``name`` when given: NotFound when none exists)."""
    rows = {"gateways": read.listing.gateways, "virtualServices": read.listing.virtual_services, "routes": read.listing.routes}
    namespace = read.namespace
    items = [
        i for i in rows[kind.part] if (namespace is None or i["namespace"] == namespace) and (name is None or i["name"] == name)
    ]
    if name is not None and not items:
        raise NotFound(f'{kind.resource} "{name}" not found')
    return ListingOutcome(items=items, flags=kind.flags_shown(items, read.listing.flags), namespace=namespace)
