"""Requests to the API server: raw GETs, Status answers as errors, lists read page by page.

Why this module exists: what an answer may look like is decided here once -- JSON that is an object,
a Status turned into one line (with the RBAC permission a 403 needs), list pages whose items are a
list and whose continue tokens do not repeat -- so nothing past it re-checks a response's shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from .connection import Connection
from .errors import ApiStatus, BadAnswer, Denied, NotFound, TimedOut, Unreachable, short_reason

PAGE_SIZE = 500
MAX_PAGES = 20_000
"""More pages than any real list has (10 million objects): a server that keeps sending continue tokens is lying."""
METADATA_PAGE_SIZE = 5000
"""Metadata-only pages are a tenth of the bytes per object: fewer, larger pages (kubectl pages full objects by 500)."""
METADATA_ONLY = (
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"
    "application/json;as=Table;g=meta.k8s.io;v=v1;q=0.95,"
    "application/json;q=0.9"
)
"""Each object's metadata (resourceVersion included), the first the server can: a PartialObjectMetadataList; else
the Table kubectl reads (its rows carry each object's metadata); else the full list."""


class Api:
    """Raw GETs through the connection's transport: JSON in, dicts out, errors as :class:`KubeError` by meaning.

    A plain class, as the other records of the listing-cache path (docs/architecture.md): no ``dataclasses``."""

    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, path: str, query: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        data = self.get_raw(path, query)
        try:
            body = json.loads(data)
        except ValueError:
            raise BadAnswer(f"the API server answered {path} with something that is not JSON") from None
        if not isinstance(body, dict):
            raise BadAnswer(f"the API server answered {path} with a JSON {type(body).__name__}")
        return body

    def get_raw(self, path: str, query: Mapping[str, str | int] | None = None, *, accept: str = "application/json") -> bytes:
        from .transport import TransportError

        server = self.conn.server
        try:
            status, body = self.conn.transport.get(path, query, accept=accept)
        except TransportError as exc:
            if exc.kind == "timeout":
                raise TimedOut(f"request to {server} timed out{self.conn.timeout_note}") from None
            if exc.kind == "tls":
                raise Unreachable(f"TLS with {server} failed: {short_reason(exc)}") from None
            if exc.kind == "too-large":
                raise BadAnswer(f"the API server's answer to {path} is too large: {exc}") from None
            raise Unreachable(f"cannot reach the API server {server}: {short_reason(exc)}") from None
        if status != 200:
            raise _status_error(status, body, path, self.conn)
        return bytes(body)


def _status_error(status: int, body: object, path: str, conn: Connection) -> ApiStatus:
    message = ""
    try:
        parsed = json.loads(body) if isinstance(body, (str, bytes)) else None
        if isinstance(parsed, dict):
            message = str(parsed.get("message") or "")
    except ValueError:
        pass
    if status == 401:
        text = f"the API server {conn.server} rejected the credentials of context {conn.context} (401 Unauthorized)"
        return Denied(text, status)
    if status == 403:
        need = _permission_for(path)
        return Denied(f"{message or 'forbidden'} (needs RBAC permission: {need})", status)
    if status == 404:
        return NotFound(message or f"not found: {path}", status)
    if status == 410:
        return ApiStatus(message or "list expired (410 Gone)", status)
    text = f"the API server answered {status} for {path}: {message or 'no message'}"
    return ApiStatus(text, status)


def _permission_for(path: str) -> str:
    parts = path.strip("/").split("/")
    group = "" if parts[0] == "api" else parts[1]
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    resource = rest[0] if rest else "namespaces"
    verb = "get" if len(rest) >= 2 else "list"
    where = f" in namespace {namespace}" if namespace else " cluster-wide"
    full = f"{resource}.{group}" if group else resource
    return f"{verb} {full}{where}"


_WS = rb"[ \t\n\r]*"
"""JSON's whitespace (and only it: ``\\s`` also takes form feeds and vertical tabs)."""
_SIMPLE_PAIR = rb'"(?:kind|apiVersion)"' + _WS + rb":" + _WS + rb'"[^"\\]*"'
_LIST_HEAD = re.compile(
    _WS + rb"\{" + _WS + rb"(?:" + _SIMPLE_PAIR + _WS + rb"," + _WS + rb")*" + rb'"metadata"' + _WS + rb":" + _WS
)
"""The list's own ``metadata`` first, after at most its kind and apiVersion: every token before it is known."""
_TAIL_KEY = re.compile(rb'"metadata"' + _WS + rb":" + _WS)
_TAIL_END = re.compile(rb"(?:" + _WS + rb"," + _WS + _SIMPLE_PAIR + rb")*" + _WS + rb"\}" + _WS + rb"\Z")
"""What may follow the list's own ``metadata`` when it comes last: at most its kind and apiVersion, then the end."""
_TAIL_TRIES = 4
_WINDOW = 65536
"""Bytes the list metadata may take (a continue token is ~100): more falls back to a full parse."""
_DECODER = json.JSONDecoder()
_ITEMS = re.compile(rb'"items"\s*:\s*(?:\[|null)')
_ROWS = re.compile(rb'"rows"\s*:\s*(?:\[|null)')
_JSON_SCALAR = rb'(?:"[^"\\]*(?:\\.[^"\\]*)*"|[-+.0-9A-Za-z]+)'
_SCALARS = _JSON_SCALAR + rb"(?:" + _WS + rb"," + _WS + _JSON_SCALAR + rb")*"
_TABLE_CELLS = re.compile(rb'"cells"' + _WS + rb":" + _WS + rb"\[" + _WS + rb"(?:" + _SCALARS + _WS + rb")?\]")
"""A Table row's ``"cells": [...]`` member when every cell is a string, number, boolean or null (as kube-apiserver
renders them).  Whatever it matches is an array of scalars, so taking it out never takes an object's metadata (and
its resourceVersion) with it; unambiguous, so linear on any input (no possessive quantifiers before Python 3.11)."""


def table_cells_spans(body: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """The byte spans of the ``"cells"`` members of Table rows in ``body[start:end]``.

    Why: a cache key of a Table must not hold its cells -- the AGE cell changes while nothing in the cluster does.
    Leaving them out keeps every row's object metadata, and with it each object's resourceVersion."""
    if _ITEMS.search(body) or b'"cells"' not in body:  # a list, not a Table ("items" comes early: a quick look)
        return
    for match in _TABLE_CELLS.finditer(body, start, len(body) if end is None else end):
        yield match.span()


def keyed_segments(body: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """The byte spans of a list page a cache keys on, in order: all of it but its own metadata's value (``start`` to
    ``end``: the list's resourceVersion and continue token change with any write anywhere) and a Table's cells."""
    segments, kept = [], 0
    for cut_start, cut_end in (*table_cells_spans(body, 0, start), (start, end), *table_cells_spans(body, end)):
        segments.append((kept, cut_start))
        kept = cut_end
    segments.append((kept, len(body)))
    return segments


class ListEnvelope(NamedTuple):
    metadata: dict[str, Any]
    """The list's own metadata: ``continue``, ``resourceVersion``."""
    rest: bytes
    """The body without it (and without a Table's cells): what a cache can key on."""


def list_envelope(body: bytes) -> ListEnvelope:
    """A list response's ``metadata`` (continue, resourceVersion) and the body without it, found without parsing the items.

    kube-apiserver writes the list metadata first for built-in kinds (``{"kind":..,"apiVersion":..,"metadata":{..},
    "items":[..]}``) and last for custom resources (keys sorted: ``..,"kind":..,"metadata":{..}}``), compact or
    pretty-printed (any whitespace between tokens).  The body without the metadata's value is what a cache can key
    on: the list's resourceVersion changes with every write anywhere in the cluster.  Anything else falls back to a
    full parse.
    """
    span = metadata_span(body)
    if span is not None:
        metadata, start, end = span
        return ListEnvelope(metadata, b"".join(body[a:b] for a, b in keyed_segments(body, start, end)))
    parsed = json.loads(body)
    if not isinstance(parsed, dict):
        raise ValueError("not a JSON object")
    metadata = parsed.pop("metadata", None) or {}
    rows = parsed.get("rows") if parsed.get("kind") == "Table" else None
    if isinstance(rows, list):  # as table_cells_spans: a Table's cells tick with time, its rows' objects do not
        parsed["rows"] = [{k: v for k, v in row.items() if k != "cells"} if isinstance(row, dict) else row for row in rows]
    return ListEnvelope(_checked(metadata), json.dumps(parsed, sort_keys=True).encode())


def metadata_span(body: bytes) -> tuple[dict[str, Any], int, int] | None:
    """The list's own metadata and the byte span of its value in ``body``, or None when it is not where
    kube-apiserver puts it (first, after at most kind and apiVersion; or last, followed by at most those).

    Only tokens known to be at the top level are trusted: the head is matched from the first byte; a candidate at
    the tail must be a real string (its opening quote not escaped), be followed by a colon, a JSON value and then
    only the closing brace of the whole body (plus kind/apiVersion), so it is a key of the outermost object.  A
    ``"metadata"`` inside an item or inside a string is never taken for it."""
    try:
        head = _LIST_HEAD.match(body)
        if head:
            metadata, end = _value_at(body, head.end())
            return _checked(metadata), head.end(), end
        position = len(body)
        for _ in range(_TAIL_TRIES):
            position = body.rfind(b'"metadata"', max(0, len(body) - _WINDOW * 2), position)
            if position < 0:
                break
            slashes = 0
            while position > slashes and body[position - slashes - 1] == 0x5C:  # backslashes before the quote
                slashes += 1
            key = _TAIL_KEY.match(body, position) if slashes % 2 == 0 else None  # odd: an escaped quote in a string
            if key is None:
                continue
            try:
                metadata, end = _value_at(body, key.end())
            except ValueError:
                continue
            if _TAIL_END.match(body, end):
                return _checked(metadata), key.end(), end
    except ValueError:  # UnicodeDecodeError included
        pass
    return None


def _value_at(body: bytes, start: int) -> tuple[Any, int]:
    """The JSON value starting at byte ``start`` and the byte offset just after it."""
    text = body[start : start + _WINDOW].decode("utf-8", "surrogateescape")
    value, end = _DECODER.raw_decode(text)
    consumed = text[:end]
    if consumed.isascii():
        return value, start + end
    raw = consumed.encode("utf-8", "surrogateescape")
    raw.decode("utf-8")  # bytes that are not UTF-8 inside the metadata: ValueError
    return value, start + len(raw)


def _checked(metadata: object) -> dict[str, Any]:
    if not isinstance(metadata, dict):
        raise ValueError("list metadata is not an object")
    return metadata


def list_pages(
    api: Api,
    group: str,
    version: str,
    resource: str,
    *,
    namespace: str | None,
    label_selector: str = "",
    field_selector: str = "",
    metadata_only: bool = False,
) -> list[bytes]:
    """Every page of a list as the API server sent it; a 410 while paging restarts the list once from the start.

    ``metadata_only`` asks for a PartialObjectMetadataList (each object's metadata, resourceVersion included): all
    a cache key needs, at a fraction of the bytes.  A server that cannot answers with a Table (``rows`` instead of
    ``items``: :func:`~.cluster_source.pages_digest` leaves out its cells) or else with the full list.
    """
    accept = METADATA_ONLY if metadata_only else "application/json"
    prefix = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    path = f"{prefix}/namespaces/{namespace}/{resource}" if namespace else f"{prefix}/{resource}"
    for attempt in range(3):
        pages: list[bytes] = []
        token = ""
        seen: set[str] = set()
        try:
            while True:
                if len(pages) >= MAX_PAGES:
                    raise BadAnswer(f"the API server answered {path} with more than {MAX_PAGES} pages: the list never ends")
                query: dict[str, str | int] = {"limit": METADATA_PAGE_SIZE if metadata_only else PAGE_SIZE}
                if token:
                    query["continue"] = token
                if label_selector:
                    query["labelSelector"] = label_selector
                if field_selector:
                    query["fieldSelector"] = field_selector
                page = api.get_raw(path, query, accept=accept)
                try:
                    span = metadata_span(page)
                    metadata = span[0] if span is not None else list_envelope(page).metadata
                except ValueError:
                    raise BadAnswer(f"the API server answered {path} with something that is not a JSON list") from None
                if not _ITEMS.search(page):  # a first look (page_items checks the items in full)
                    if not (metadata_only and _ROWS.search(page)):
                        raise BadAnswer(f"the API server answered {path} with a list whose items are not a list of objects")
                    if not _rows_carry_metadata(page, span):  # a Table without its objects cannot key a cache
                        return list_pages(
                            api, group, version, resource, namespace=namespace, label_selector=label_selector,
                            field_selector=field_selector,
                        )  # fmt: skip
                pages.append(page)
                token = str(metadata.get("continue") or "")
                if not token:
                    break
                if token in seen:
                    raise BadAnswer(f"the API server answered {path} with a continue token it sent before: the list never ends")
                seen.add(token)
        except ApiStatus as exc:
            if exc.status == 410 and attempt < 2:
                continue  # the snapshot expired while paging: list again from the start
            raise
        return pages
    raise AssertionError("unreachable")  # pragma: no cover


def _rows_carry_metadata(page: bytes, span: tuple[dict[str, Any], int, int] | None) -> bool:
    """Whether every row of a Table page carries a resourceVersion (its object's metadata, kube-apiserver's default
    ``includeObject=Metadata``): counted, not parsed -- one ``"cells"`` a row, one ``"resourceVersion"`` an object."""
    versions = page.count(b'"resourceVersion"')
    if span is not None:
        versions -= page.count(b'"resourceVersion"', span[1], span[2])
    elif "resourceVersion" in list_envelope(page).metadata:
        versions -= 1
    return page.count(b'"cells"') <= versions


def page_items(pages: Sequence[bytes]) -> Iterator[dict[str, Any]]:
    """The items of raw list pages, each with the kind and apiVersion the list items omit on the wire."""
    for data in pages:
        try:
            page = json.loads(data)
        except (ValueError, RecursionError):
            raise BadAnswer("the API server answered a list with something that is not JSON") from None
        items = page.get("items", ()) if isinstance(page, dict) else None
        items = [] if items is None else items  # Go's encoding of an empty slice that was never made
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            kind = page.get("kind") if isinstance(page, dict) else None
            raise BadAnswer(f"the API server answered a list ({kind or 'no kind'}) whose items are not a list of objects")
        kind = str(page.get("kind", ""))
        api_version = str(page.get("apiVersion", ""))
        for item in items:
            item.setdefault("kind", kind[:-4] if kind.endswith("List") else kind)
            item.setdefault("apiVersion", api_version)
            yield item
