"""``istioctl proxy-config routes`` (``pc routes``): the routes table, byte-exact.

Why this module exists: ``istioctl pc routes`` is how people check what an ingress gateway or sidecar
actually routes, and its table has many quirks (a non-strict Go ``sort.Slice``, passthrough routes
hidden, zero-route virtual hosts printed as ``404``, un-expanded domains, tabwriter padding with
trailing spaces).  This module renders it from the views of a dump (:mod:`.dump`) or of a
*predicted* route configuration.  Pure: views in, strings out.  Specification:
``shared/spec/routes-table.md``.

Rendering::

    render_routes(dump, *, name=None, verbose=True, istio_version="1.24", prefix="", go_toolchain=None) -> str
    rows_for_route_configs(configs: Sequence[RouteConfigView], *, istio_version="1.24", name=None,
                           verbose=True, prefix="", sort=True, go_toolchain=None) -> str
    route_rows(configs, *, istio_version="1.24", name=None, sort=True, go_toolchain=None) -> list[RouteRow]

``render_routes`` returns exactly what ``istioctl pc routes -f dump.json [--name N] [--verbose=false]``
prints (``-o short``), final newline included.  ``prefix="route/"`` gives the ROUTE section of
``istioctl pc all`` (without the empty line ``pc all`` prints before it).  ``istio_version`` selects
the istioctl behaviour: ``"1.24"`` (default) stands for 1.24 and later; ``"1.21"``-``"1.23"`` only accept
``v1alpha3`` metadata paths in VIRTUAL SERVICE (``<unknown>`` otherwise); before ``"1.21"``
``path_separated_prefix`` prints nothing.  ``go_toolchain`` (e.g. ``"go1.23"``) names the Go release
that built the istioctl binary (``go version $(which istioctl)``); it only matters for more than 12
route configurations, where Go's pdqsort shuffles with a xorshift generator whose shifts changed
(golang/go#70144, assumed here to ship in Go 1.24).  By default it is inferred: istioctl 1.26+
requires Go 1.24 (its go.mod), older ones are taken as built with Go 1.23.  ``-o json/yaml`` live in
:mod:`.output`.

:class:`RouteRow` is the typed per-row intermediate (configuration name, vhost name, domains, MATCH
text, VirtualService metadata path, 404 flag); ``RouteRow.cells()`` gives the five table cells.
The cell functions :func:`describe_domains`, :func:`describe_match` and :func:`describe_virtual_service`
are public as well; a ``VirtualHostView`` without routes prints one ``/*`` ... ``404`` row.

What is byte-exact: every cell rule of the spec, the Go ``sort.Slice`` quirk (:mod:`.order`), and
Go ``text/tabwriter`` output (equal to :func:`kubectl_meshctl.gocompat.tabwriter.tabwrite` for
printable cells).  Checked against every upstream golden.  Where istioctl would print a control
character raw (a tab or newline splitting a row, an escape sequence reaching the terminal), the
cell is printed Go-``%q``-quoted instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

from ..gcpause import paused_gc
from ..gocompat.tabwriter import TabWriterConfig
from ..records import record
from ..redact import quote
from .dump import PASSTHROUGH_CLUSTER, RouteConfigView, RouteDump, field_value
from .order import route_config_order, route_config_order_of_names
from .versions import istio_minor as istio_minor  # `as`: also re-exported, transitional (see the end)

__all__ = [
    "ROUTES_TABWRITER",
    "SUMMARY_HEADER",
    "VERBOSE_HEADER",
    "RouteRow",
    "describe_domains",
    "describe_match",
    "describe_virtual_service",
    "render_routes",
    "route_rows",
    "rows_for_route_configs",
]

ROUTES_TABWRITER: Final = TabWriterConfig(minwidth=0, tabwidth=8, padding=5)
"""istioctl's ``tabwriter.NewWriter(out, 0, 8, 5, ' ', 0)``."""

VERBOSE_HEADER: Final = ("NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE")
SUMMARY_HEADER: Final = ("NAME", "VIRTUAL HOSTS")

_VS_PREFIX_124: Final = "/apis/networking.istio.io/"
_VS_PREFIX_118: Final = "/apis/networking.istio.io/v1alpha3/namespaces/"


@record
class RouteRow:
    """One verbose table row before formatting.

    ``match`` is the MATCH text (``/*`` for a 404 row), ``vs_config`` the raw metadata path (``None``
    when the route carries none), ``not_found`` marks the row of a virtual host without routes.
    """

    route_config: str
    vhost: str
    domains: tuple[str, ...]
    match: str
    vs_config: str | None = None
    not_found: bool = False

    def cells(self, *, istio_version: str = "1.24", prefix: str = "") -> tuple[str, str, str, str, str]:
        vs = "404" if self.not_found else describe_virtual_service(self.vs_config, istio_version=istio_version)
        return (prefix + self.route_config, self.vhost, describe_domains(self.domains), self.match, vs)


# --------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------


def describe_domains(domains: Sequence[str]) -> str:
    """The DOMAINS cell (istioctl ``describeRouteDomains`` + ``unexpandDomains``)."""
    n = len(domains)
    if n == 0:
        return ""
    if n == 1:
        return domains[0]
    kept = [d for d in domains if ":" not in d or (d.count(":") > 2 and d.endswith("]"))]
    present = set(kept)
    drop = set()
    for h in kept:
        if h.endswith(".svc.cluster.local") and h[: -len(".svc.cluster.local")] in present:
            drop.add(h)
        if h.endswith(".svc") and h[: -len(".svc")] in present:
            drop.add(h)
    if drop:
        kept = [h for h in kept if h not in drop]
    if len(kept) > 2:
        return f"{kept[0]}, {kept[1]} + {len(kept) - 2} more..."
    return ", ".join(kept)


def describe_match(match: Mapping[str, Any] | None, *, istio_version: str = "1.24") -> str:
    """The MATCH cell (istioctl ``describeMatch``): path conditions only, headers etc. ignored."""
    if not match:
        return ""
    conds: list[str] = []
    prefix = match.get("prefix")
    if prefix:
        conds.append(prefix + "*")
    if istio_minor(istio_version) >= 21:
        psp = field_value(match, "path_separated_prefix", "pathSeparatedPrefix")
        if psp:
            conds.append("PathPrefix:" + psp)
    path = match.get("path")
    if path:
        conds.append(path)
    regex = field_value(match, "safe_regex", "safeRegex")
    if regex is not None:
        conds.append("regex " + (regex.get("regex") or ""))
    return " ".join(conds)


def describe_virtual_service(vs_config: str | None, *, istio_version: str = "1.24") -> str:
    """The VIRTUAL SERVICE cell (``describeManagement`` + ``renderConfig``) from the metadata path."""
    if vs_config is None:
        return ""
    prefix = _VS_PREFIX_124 if istio_minor(istio_version) >= 24 else _VS_PREFIX_118
    if vs_config.startswith(prefix):
        pieces = vs_config.split("/")
        if len(pieces) != 8:
            return ""
        return pieces[7] + "." + pieces[5]
    return "<unknown>"


# --------------------------------------------------------------------------------------------
# Rows and table
# --------------------------------------------------------------------------------------------


def route_rows(
    configs: Sequence[RouteConfigView],
    *,
    istio_version: str = "1.24",
    name: str | None = None,
    sort: bool = True,
    go_toolchain: str | None = None,
) -> list[RouteRow]:
    """The verbose rows istioctl prints for these configurations (sorted, filtered, passthrough skipped)."""
    rows: list[RouteRow] = []
    for index in route_config_order(configs, istio_version=istio_version, go_toolchain=go_toolchain, sort=sort):
        rc = configs[index]
        if name and rc.name != name:
            continue
        for vh in rc.virtual_hosts:
            for r in vh.routes:
                if r.cluster != PASSTHROUGH_CLUSTER:
                    rows.append(
                        RouteRow(rc.name, vh.name, vh.domains, describe_match(r.match, istio_version=istio_version), r.vs_config)
                    )
            if not vh.routes:
                rows.append(RouteRow(rc.name, vh.name, vh.domains, "/*", None, True))
    return rows


def _verbose_cells(
    rc: RouteConfigView, rows: list[tuple[str, ...]], *, istio_version: str, rc_cell: str, vs_cache: dict[str | None, str]
) -> None:
    """The verbose table's cells of one route configuration; the hot path of a big dump (one tuple per route)."""
    append = rows.append
    for vh in rc.virtual_hosts:
        domains = vh.domains
        dom_cell = domains[0] if len(domains) == 1 else describe_domains(domains)
        vname = vh.name
        routes = vh.routes
        if not routes:
            append((rc_cell, vname, dom_cell, "/*", "404"))
            continue
        for r in routes:
            if r.cluster == PASSTHROUGH_CLUSTER:
                continue
            m = r.match
            if not m:
                match_cell = ""
            elif m.keys() <= _PREFIX_ONLY_KEYS:  # the common case: a prefix and ignored fields
                p = m.get("prefix")
                match_cell = p + "*" if p else ""
            else:
                match_cell = describe_match(m, istio_version=istio_version)
            vs = r.vs_config
            vs_cell = vs_cache.get(vs)
            if vs_cell is None:
                vs_cell = vs_cache[vs] = describe_virtual_service(vs, istio_version=istio_version)
            append((rc_cell, vname, dom_cell, match_cell, vs_cell))


_PREFIX_ONLY_KEYS: Final = frozenset(
    {"prefix", "case_sensitive", "caseSensitive", "headers", "query_parameters", "queryParameters", "grpc", "runtime_fraction"}
    | {"runtimeFraction", "tls_context", "tlsContext", "dynamic_metadata", "dynamicMetadata", "filter_state", "filterState"}
)
"""RouteMatch keys that cannot change the MATCH cell beyond ``prefix``."""


def _format_table(rows: list[tuple[str, ...]], *, lines_per_chunk: int = 8192) -> Iterator[str]:
    """Go ``text/tabwriter`` (minwidth 0, padding 5) for rows of equal length, in chunks of lines (a table of 300,000
    routes is printed as it is formatted, never held as one string).

    A cell holding a control character (a tab or newline would shift columns or split a row; an escape sequence
    would reach the terminal) is printed Go-``%q``-quoted (``redact.quote``), so every row stays one line; other
    cells are printed as istioctl prints them.
    """
    distinct = [set(col) for col in zip(*rows, strict=True)]
    if not all(cell.isprintable() for cells in distinct for cell in cells):
        rows = [tuple(map(quote, r)) for r in rows]
        distinct = [set(col) for col in zip(*rows, strict=True)]
    padding = ROUTES_TABWRITER.padding
    widths = [max(ROUTES_TABWRITER.minwidth, max(map(len, cells)) + padding) for cells in distinct[:-1]]
    del distinct
    fmt = "".join(f"%-{w}s" for w in widths) + "%s\n"
    for at in range(0, len(rows), lines_per_chunk):
        yield "".join([fmt % r for r in rows[at : at + lines_per_chunk]])


def table_chunks(
    names: Sequence[str],
    config_at: Callable[[int], RouteConfigView],
    *,
    istio_version: str = "1.24",
    name: str | None = None,
    verbose: bool = True,
    prefix: str = "",
    sort: bool = True,
    go_toolchain: str | None = None,
) -> Iterator[str]:
    """The ``pc routes`` table of the route configurations called ``names``, in chunks of text; ``config_at(i)`` makes
    the i-th configuration's view, asked once and only when its rows are printed (so a caller can build the views
    one at a time and let each go)."""
    with paused_gc():
        if verbose:
            istio_minor(istio_version)  # validate once (the summary does not depend on the version)
        order = route_config_order_of_names(names, istio_version=istio_version, go_toolchain=go_toolchain, sort=sort)
        rows: list[tuple[str, ...]] = [VERBOSE_HEADER if verbose else SUMMARY_HEADER]
        vs_cache: dict[str | None, str] = {None: ""}
        for index in order:
            if name and names[index] != name:
                continue
            rc = config_at(index)
            if verbose:
                _verbose_cells(rc, rows, istio_version=istio_version, rc_cell=prefix + rc.name, vs_cache=vs_cache)
            else:
                rows.append((prefix + rc.name, str(len(rc.virtual_hosts))))
    yield from _format_table(rows)


def rows_for_route_configs(
    configs: Sequence[RouteConfigView],
    *,
    istio_version: str = "1.24",
    name: str | None = None,
    verbose: bool = True,
    prefix: str = "",
    sort: bool = True,
    go_toolchain: str | None = None,
) -> str:
    """The ``pc routes`` table for these route configurations (dump-derived or predicted)."""
    chunks = table_chunks(
        [c.name for c in configs],
        configs.__getitem__,
        istio_version=istio_version,
        name=name,
        verbose=verbose,
        prefix=prefix,
        sort=sort,
        go_toolchain=go_toolchain,
    )
    return "".join(chunks)


def render_routes(
    dump: RouteDump,
    *,
    name: str | None = None,
    verbose: bool = True,
    istio_version: str = "1.24",
    prefix: str = "",
    go_toolchain: str | None = None,
) -> str:
    """Exactly what ``istioctl proxy-config routes -f <dump>`` prints with these flags (``-o short``)."""
    return rows_for_route_configs(
        dump.route_configs, istio_version=istio_version, name=name, verbose=verbose, prefix=prefix, go_toolchain=go_toolchain
    )
