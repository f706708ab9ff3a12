"""A fake Kubernetes API server, faithful at the HTTP level, for tests (never part of the product).

It speaks HTTPS on 127.0.0.1 with a throw-away CA, authenticates bearer tokens, serves legacy and aggregated
discovery, lists/gets Istio networking CRDs (and, when asked to, the Gateway API's standard-channel CRDs, each kind in
its own versions) and core pods/services/namespaces with label/field selectors, paging
(``limit``/``continue``, 410 Expired), server-side Table output for ``kubectl get``, RBAC-style denials, pod proxy and
WebSocket port-forward (``v4.channel.k8s.io``) to local backends.  Every request is recorded in ``server.requests``;
write verbs are answered 405 so tests can assert that a client only reads.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import collections
import contextlib
import datetime
import gc
import http.client
import json
import os
import select
import socket
import ssl
import threading
import time
import traceback
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from . import websocket as ws
from .certs import CertBundle, session_bundle
from .resources import (
    GATEWAY_API_GROUP,
    GATEWAY_API_VERSIONS,
    ISTIO_GROUP,
    ISTIO_VERSIONS,
    ResourceType,
    age,
    core_types,
    format_timestamp,
    gateway_api_types,
    human_duration,
    istio_types,
    parse_timestamp,
)
from .selectors import SelectorError, fields_match, labels_match, parse_field_selector, parse_label_selector, validate_fields

DEFAULT_TOKEN = "fakeapi-token-0123456789"
DEFAULT_USER = "system:serviceaccount:default:meshctl"
SEED_SCENARIO = Path(__file__).parent / "scenarios" / "seed.yaml"
GATEWAY_API_SCENARIO = Path(__file__).parent / "scenarios" / "gateway-api.yaml"

JSON = "application/json"
AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
INCONSISTENT_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new list without "
    "the continue parameter, or use the continue token in this response to retrieve the remainder of the results. "
    "Continuing with the provided token results in an inconsistent list - objects that were created, modified, or "
    "deleted between the time the first chunk was returned and now may show up in the list."
)
SPDY_UNSUPPORTED = (
    "fakeapi: SPDY port-forward (SPDY/3.1, or SPDY/3.1+portforward.k8s.io tunnelled over WebSocket as kubectl "
    "port-forward does) is not supported; use the WebSocket channel protocol v4.channel.k8s.io "
    "(kubernetes.stream.portforward)"
)
NOT_FOUND_RESOURCE = "the server could not find the requested resource"
WRITE_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
PORTFORWARD_PROTOCOLS = ("v4.channel.k8s.io", "v4.base64.channel.k8s.io")
_FLOWSCHEMA_UID = str(uuid.uuid4())
_PRIORITY_UID = str(uuid.uuid4())
_LIST_CACHE_SIZE = 1024
_PAGE_CACHE_SIZE = 512


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _pretty(value: Any) -> bytes:
    """``value`` indented by two spaces, one token a line, as a pretty-printing server (or ``?pretty=true``) writes it."""
    return json.dumps(value, indent=2, ensure_ascii=False).encode()


def go_quote(text: str) -> str:
    """Go's ``%q`` for the plain strings Kubernetes names are."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---- errors as metav1.Status ------------------------------------------------------------------------------------


class ApiError(Exception):
    """A ``metav1.Status`` failure answer; ``details=None`` omits the field, ``{}`` keeps it empty (as the server does)."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        continue_token: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.continue_token = continue_token

    def status(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {}
        if self.continue_token:
            metadata["continue"] = self.continue_token
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": metadata,
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = {k: v for k, v in self.details.items() if v}
        body["code"] = self.code
        return body

    def response(self) -> Response:
        return Response(self.code, [("Content-Type", JSON)], _dumps(self.status()))


def _details(rtype: ResourceType, name: str = "") -> dict[str, Any]:
    return {"name": name, "group": rtype.group, "kind": rtype.resource}


def not_found(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f"{rtype.qualified} {go_quote(name)} not found", _details(rtype, name))


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class _PlainNotFound(Exception):
    """Go's ``http.NotFound`` (paths outside any served group/version)."""


# ---- the request log --------------------------------------------------------------------------------------------


def _partial(entry: Any, meta_version: str) -> dict[str, Any]:
    """``?as=PartialObjectMetadata``: the object's metadata only."""
    return {"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{meta_version}", "metadata": entry.obj["metadata"]}


def _peer_common_name(sock: object) -> str | None:
    getpeercert = getattr(sock, "getpeercert", None)
    peer = getpeercert() if getpeercert else None
    for rdn in (peer or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


@dataclass
class RecordedRequest:
    """One request as received: ``path`` is decoded, ``query`` maps each parameter to all its values."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw_query: str = ""
    body: bytes = b""
    user: str | None = None
    status: int | None = None
    client_cn: str | None = None
    """The common name of a verified TLS client certificate."""
    time: float = field(default_factory=time.time)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    @property
    def url(self) -> str:
        return f"{self.path}?{self.raw_query}" if self.raw_query else self.path


# ---- stored objects ---------------------------------------------------------------------------------------------


class _Entry:
    """An admitted object and its serialisations (built once, reused for every list page)."""

    __slots__ = ("_json", "_row", "key", "name", "namespace", "obj", "rtype")

    def __init__(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        self.rtype = rtype
        self.obj = obj
        meta = obj["metadata"]
        self.name: str = meta["name"]
        self.namespace: str | None = meta.get("namespace")
        self.key = f"{self.namespace}/{self.name}" if rtype.namespaced else self.name
        self._json: dict[tuple[str, bool], bytes] = {}
        self._row: dict[str, tuple[list[bytes], datetime.datetime | None] | None] = {}

    def view(self, version: str, in_list: bool = False) -> dict[str, Any]:
        """The object as served at ``version``; typed (core) list items carry no apiVersion/kind, like the real server."""
        if self.rtype.custom:
            out = {"apiVersion": self.rtype.api_version(version)}
            out.update((k, v) for k, v in self.obj.items() if k != "apiVersion")
            return out
        if in_list:
            return {k: v for k, v in self.obj.items() if k not in ("apiVersion", "kind")}
        return self.obj

    def table_row(self, table_version: str, now: datetime.datetime, ages: dict[Any, bytes]) -> bytes | None:
        """This object's Table row (``includeObject=Metadata``) in compact JSON, its AGE cell as of ``now``: the other
        cells and the metadata are encoded once, as the list pages are.  None when a date cell is not the object's age
        (the caller then builds the row in full)."""
        if table_version not in self._row:
            self._row[table_version] = self._row_pieces(table_version)
        cached = self._row[table_version]
        if cached is None:
            return None
        pieces, created = cached
        cell = ages.get(created)  # ``ages``: the encoded age cells of this answer, by creation time
        if cell is None:
            cell = ages[created] = _dumps("<unknown>" if created is None else human_duration((now - created).total_seconds()))
        return cell.join(pieces)

    def _row_pieces(self, table_version: str) -> tuple[list[bytes], datetime.datetime | None] | None:
        then, later = (datetime.datetime(year, 1, 1, tzinfo=datetime.timezone.utc) for year in (2000, 2100))
        cells, cells_later = self.rtype.row(self.obj, then), self.rtype.row(self.obj, later)
        dates = [i for i, (cell, cell_later) in enumerate(zip(cells, cells_later, strict=True)) if cell != cell_later]
        if any((cells[i], cells_later[i]) != (age(self.obj, then), age(self.obj, later)) for i in dates):
            return None  # a cell that changes with time other than the age
        marker = "\x00age\x00"
        obj = {"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{table_version}", "metadata": self.obj["metadata"]}
        row = _dumps({"cells": [marker if i in dates else cell for i, cell in enumerate(cells)], "object": obj})
        created = parse_timestamp(self.obj["metadata"].get("creationTimestamp"))
        return row.split(_dumps(marker)), created

    def json(self, version: str, in_list: bool = False) -> bytes:
        cache_key = (version, in_list)
        data = self._json.get(cache_key)
        if data is None:
            data = self._json[cache_key] = _dumps(self.view(version, in_list))
        return data


def _normalise(value: Any) -> Any:
    """YAML's implicit timestamps back to RFC 3339 strings; everything else JSON-ready."""
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, datetime.datetime):
        return format_timestamp(value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc))
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class _Listing:
    rv: int
    keys: list[str]
    entries: list[_Entry]


def _encode_continue(rv: int, start_key: str) -> str:
    raw = _dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start_key})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise bad_request(f"invalid continue token: continue key is not valid: {error}") from error
    if not isinstance(data, dict) or data.get("v") != "meta.k8s.io/v1":
        raise bad_request("invalid continue token: continue key is not valid: server does not recognize this encoded key")
    rv, start = data.get("rv"), data.get("start")
    if not isinstance(rv, int) or rv == 0 or rv < -1:
        raise bad_request(
            "invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        )
    if not isinstance(start, str) or not start:
        raise bad_request("invalid continue token: continue key is not valid: encoded start key empty")
    return rv, start


def _is_file(text: str) -> bool:
    if "\n" in text or len(text) > 4096:
        return False
    try:
        return Path(text).is_file()
    except OSError:
        return False


def _parse_accept(header: str | None) -> list[tuple[str, dict[str, str]]]:
    """Media ranges in preference order (q-values honoured, ties keep the client's order)."""
    ranges: list[tuple[float, int, str, dict[str, str]]] = []
    for index, part in enumerate((header or "").split(",")):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        params: dict[str, str] = {}
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            params[key.strip().lower()] = value.strip()
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 1.0
        ranges.append((-q, index, pieces[0].lower(), params))
    ranges.sort(key=lambda item: (item[0], item[1]))
    return [(media, params) for _, _, media, params in ranges]


def _is_json(media: str) -> bool:
    return media in ("application/json", "application/*", "*/*")


# ---- the server -------------------------------------------------------------------------------------------------


class FakeApiServer:
    """An in-process kube-apiserver look-alike on ``https://127.0.0.1:<random port>``.

    Use as a context manager (``with FakeApiServer() as server:``) or ``start()``/``stop()``.  Knobs are plain
    attributes/methods and take effect on the next request.
    """

    def __init__(
        self,
        *,
        istio_versions: Iterable[str] | None = ISTIO_VERSIONS,
        aggregated_discovery: bool = True,
        gateway_api: bool = False,
        token: str = DEFAULT_TOKEN,
        user: str = DEFAULT_USER,
        kubernetes_version: str = "v1.32.0",
        certs: CertBundle | None = None,
        pretty_json: bool = False,
        metadata_only_lists: bool = True,
    ) -> None:
        wanted = set(ISTIO_VERSIONS if istio_versions is None else istio_versions)
        versions = tuple(v for v in ISTIO_VERSIONS if v in wanted)
        unknown = wanted - set(ISTIO_VERSIONS)
        if unknown:
            raise ValueError(f"unknown networking.istio.io versions {sorted(unknown)}; known: {ISTIO_VERSIONS}")
        self.istio_versions: tuple[str, ...] = versions
        self.gateway_api = gateway_api
        """Serve the Gateway API's CRDs (gateway.networking.k8s.io); off by default, as on a cluster without them."""
        self.aggregated_discovery = aggregated_discovery
        self.kubernetes_version = kubernetes_version
        self.token = token
        self.user = user
        self.tokens: dict[str, str] = {token: user}
        self.certs = certs or session_bundle()

        # knobs
        self.pretty_json = pretty_json
        """Answer resources pretty-printed (newlines, two-space indents) instead of compact JSON.  List pages are
        indented once and cached; a Table (built per request, for kubectl) gets spaces after ``,`` and ``:`` only, so
        the fake's pure-Python indenting never slows kubectl down in a benchmark."""
        self.metadata_only_lists = metadata_only_lists
        """Serve ``as=PartialObjectMetadata[List]``.  Off: the media range is not acceptable, as on a server (an
        aggregated API server) that cannot convert: the next acceptable range in Accept is used (the full list,
        when the client offered ``application/json`` too), else 406 Not Acceptable."""
        self.latency: float = 0.0
        self.refuse_port_forward = False
        self._answering = threading.Event()
        self._answering.set()
        self._expire_next_continue = False
        self.faults: list[Fault] = []
        """Scripted misbehaviours (see :class:`Fault`), tried in order before a request is answered."""

        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []  # tracebacks of unexpected handler failures (a fake bug, not a client's)

        self._all_types = {t.key: t for t in (*core_types(), *istio_types(ISTIO_VERSIONS), *gateway_api_types())}
        self._kinds = {(t.group, t.kind): t for t in self._all_types.values()}
        self._lock = threading.RLock()
        self._data: dict[tuple[str, str], dict[str, _Entry]] = {key: {} for key in self._all_types}
        self._rv = 1
        self._compacted_rv = 0
        self._listings: collections.OrderedDict[tuple[Any, ...], _Listing] = collections.OrderedDict()
        self._pages: collections.OrderedDict[tuple[Any, ...], bytes] = collections.OrderedDict()
        self._denials: set[tuple[str, str, str, str | None]] = set()
        self._backends: dict[tuple[str, str, int], tuple[str, int]] = {}

        self._httpd: _TLSServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._connections: set[socket.socket] = set()

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> FakeApiServer:
        if self._httpd is not None:
            return self
        self._stopped.clear()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.certs.cert_file), str(self.certs.key_file))
        # x509 client authentication as kube-apiserver's --client-ca-file: optional, the CN names the user
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(str(self.certs.ca_file))
        context.set_alpn_protocols(["http/1.1"])
        self._httpd = _TLSServer(("127.0.0.1", 0), _Handler, context, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fakeapi:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopped.set()
        self._answering.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> FakeApiServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeApiServer is not started")
        return int(self._httpd.server_address[1])

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def ca_file(self) -> Path:
        return self.certs.ca_file

    # -- clients' configuration ---------------------------------------------------------------------------------

    def add_token(self, token: str, user: str) -> None:
        """Accept another bearer token, authenticated as ``user``."""
        self.tokens[token] = user

    def write_kubeconfig(
        self,
        path: str | os.PathLike[str],
        *,
        token: str | None = None,
        namespace: str | None = "default",
        context: str = "fakeapi",
        user: str = "fakeapi-user",
        cluster: str = "fakeapi",
        exec_credential: bool = False,
    ) -> Path:
        """Write a kubeconfig (CA data inline, bearer token user) selecting ``context``; returns the path.

        ``token`` defaults to the server's accepted token; pass any other string to get 401s.  ``exec_credential``
        gives the user an exec credential plugin instead (``<path>.cred``, a shell script printing an ExecCredential
        with the token), which only the official Kubernetes client and kubectl know how to run.
        """
        context_body: dict[str, Any] = {"cluster": cluster, "user": user}
        if namespace:
            context_body["namespace"] = namespace
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [
                {
                    "name": cluster,
                    "cluster": {
                        "server": self.url,
                        "certificate-authority-data": base64.b64encode(self.certs.ca_pem).decode(),
                    },
                }
            ],
            "users": [{"name": user, "user": {"token": self.token if token is None else token}}],
            "contexts": [{"name": context, "context": context_body}],
            "current-context": context,
        }
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if exec_credential:
            api_version = "client.authentication.k8s.io/v1beta1"
            credential = {
                "apiVersion": api_version,
                "kind": "ExecCredential",
                "status": {"token": config["users"][0]["user"]["token"]},
            }
            plugin = target.with_name(target.name + ".cred")
            plugin.write_text(f"#!/bin/sh\necho '{json.dumps(credential)}'\n")
            plugin.chmod(0o755)
            config["users"][0]["user"] = {"exec": {"apiVersion": api_version, "command": str(plugin), "interactiveMode": "Never"}}
        target.write_text(yaml.safe_dump(config, sort_keys=False))
        return target

    # -- data -------------------------------------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._rv

    def load_yaml(self, source: str | os.PathLike[str]) -> list[dict[str, Any]]:
        """Add every object of a (multi-document) YAML text or file; ``kind: List`` is expanded. Returns them as stored."""
        if isinstance(source, os.PathLike) or _is_file(source):
            text = Path(source).read_text()
        else:
            text = str(source)
        objects: list[dict[str, Any]] = []
        for document in yaml.safe_load_all(text):
            if document is None:
                continue
            if not isinstance(document, dict):
                raise ValueError(f"not a Kubernetes object: {document!r:.80}")
            if str(document.get("kind", "")).endswith("List") and isinstance(document.get("items"), list):
                objects.extend(document["items"])
            else:
                objects.append(document)
        return self.add_objects(objects)

    def load_seed(self) -> list[dict[str, Any]]:
        """The bundled ``scenarios/seed.yaml`` (the project's seed example plus the ingress gateway pod/services)."""
        return self.load_yaml(SEED_SCENARIO)

    def load_gateway_api(self) -> list[dict[str, Any]]:
        """The bundled ``scenarios/gateway-api.yaml`` (a Gateway API Gateway, its pod and routes; needs ``gateway_api``)."""
        return self.load_yaml(GATEWAY_API_SCENARIO)

    def add_object(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        return self.add_objects([obj])[0]

    def add_objects(self, objects: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Admit objects (create or replace), creating their namespaces implicitly. Returns them as stored."""
        now = format_timestamp(datetime.datetime.now(datetime.timezone.utc))
        stored: list[dict[str, Any]] = []
        with self._lock:
            for raw in objects:
                rtype, obj = self._admit(_normalise(dict(raw)), now)
                entry = _Entry(rtype, obj)
                self._data[rtype.key][entry.key] = entry
                stored.append(obj)
                if rtype.namespaced and entry.namespace not in self._data[("", "namespaces")]:
                    ns_type = self._all_types[("", "namespaces")]
                    _, ns_obj = self._admit({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": entry.namespace}}, now)
                    ns_entry = _Entry(ns_type, ns_obj)
                    self._data[ns_type.key][ns_entry.key] = ns_entry
        return stored

    def delete_object(self, resource: str, namespace: str | None, name: str) -> bool:
        """Remove an object (``resource`` as for :meth:`deny`); True if it existed."""
        rtype = self._resolve_resource(resource)
        key = f"{namespace}/{name}" if rtype.namespaced else name
        with self._lock:
            removed = self._data[rtype.key].pop(key, None) is not None
            if removed:
                self._rv += 1
        return removed

    def clear(self) -> None:
        """Remove every object (resource versions keep increasing)."""
        with self._lock:
            for entries in self._data.values():
                entries.clear()
            self._rv += 1

    def objects(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Stored objects of a resource (``gateways``, ``pods``, ``virtualservices.networking.istio.io``...), key order."""
        rtype = self._resolve_resource(resource)
        with self._lock:
            entries = sorted(self._data[rtype.key].values(), key=lambda e: e.key)
        return [e.obj for e in entries if namespace is None or e.namespace == namespace]

    def warm(self, *, freeze_gc: bool = False) -> None:
        """Pre-serialise every object at every served version (what a benchmark wants before timing).

        ``freeze_gc=True`` then moves everything alive into the GC's permanent generation (``gc.freeze()``), so a client
        benchmarked in the same process does not pay for the collector scanning the fake's objects.  For full isolation
        (no GIL sharing either) run the server in its own process: :class:`fakeapi.process.FakeApiProcess`.
        """
        with self._lock:
            entries = [(t, list(self._data[t.key].values())) for t in self._served_types()]
        for rtype, items in entries:
            for version in self._served_versions(rtype.group):
                for entry in items:
                    entry.json(version, in_list=True)
                    entry.json(version)
        if freeze_gc:
            gc.collect()
            gc.freeze()

    def _admit(self, obj: dict[str, Any], now: str) -> tuple[ResourceType, dict[str, Any]]:
        api_version = str(obj.get("apiVersion") or "")
        kind = str(obj.get("kind") or "")
        group, _, version = api_version.rpartition("/")
        rtype = self._kinds.get((group, kind))
        if rtype is None or version not in rtype.versions:
            raise ValueError(f"the fake API server does not serve {kind or '<no kind>'} {api_version or '<no apiVersion>'}")
        given = dict(obj.get("metadata") or {})
        name = given.get("name")
        if not name:
            raise ValueError(f"{kind} without metadata.name")
        self._rv += 1
        meta: dict[str, Any] = {"name": name}
        if rtype.namespaced:
            meta["namespace"] = given.get("namespace") or "default"
        meta["uid"] = given.get("uid") or str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"fakeapi/{rtype.qualified}/{meta.get('namespace', '')}/{name}")
        )
        meta["resourceVersion"] = str(self._rv)  # every write gets a new one, as etcd's modification revision
        if rtype.custom:
            meta["generation"] = given.get("generation") or 1
        meta["creationTimestamp"] = given.get("creationTimestamp") or now
        for key, value in given.items():
            if key not in meta and key != "namespace":
                meta[key] = value
        if kind == "Namespace":
            meta["labels"] = {"kubernetes.io/metadata.name": name, **(meta.get("labels") or {})}
        head = {"apiVersion": api_version, "kind": kind} if rtype.custom else {"kind": kind, "apiVersion": api_version}
        out: dict[str, Any] = {**head, "metadata": meta}
        for key, value in obj.items():
            if key not in ("apiVersion", "kind", "metadata"):
                out[key] = value
        if kind == "Namespace":
            out.setdefault("spec", {"finalizers": ["kubernetes"]})
            out.setdefault("status", {"phase": "Active"})
        return rtype, out

    # -- knobs ------------------------------------------------------------------------------------------------------

    def deny(self, verb: str, resource: str, namespace: str | None = None) -> None:
        """RBAC-deny ``verb`` (``get``/``list``/``watch``/``create``... or ``*``) on ``resource`` for every token.

        ``resource`` is ``gateways``, ``gateways.networking.istio.io``, ``pods/proxy``, ``pods/portforward`` or ``*``.
        A namespaced denial also denies the cluster-scope (all-namespaces) request, as RBAC would: a grant broad
        enough for the whole cluster would also cover that namespace.
        """
        group, plural = self._split_resource(resource)
        self._denials.add((verb, group, plural, namespace))

    def allow_all(self) -> None:
        """Drop every :meth:`deny` rule."""
        self._denials.clear()

    def set_pod_backend(self, namespace: str, pod: str, port: int, host: str, backend_port: int) -> None:
        """Route pod proxy and port-forward traffic for ``namespace/pod:port`` to ``host:backend_port``."""
        self._backends[(namespace, pod, int(port))] = (host, int(backend_port))

    def clear_pod_backends(self) -> None:
        self._backends.clear()

    @property
    def hang(self) -> bool:
        """True while the server reads requests but never answers them (until resumed or stopped)."""
        return not self._answering.is_set()

    @hang.setter
    def hang(self, value: bool) -> None:
        if value:
            self._answering.clear()
        else:
            self._answering.set()

    def stop_answering(self) -> None:
        self.hang = True

    def resume_answering(self) -> None:
        self.hang = False

    def expire_next_continue(self) -> None:
        """The next request carrying a ``continue`` token is answered 410 Expired (one shot)."""
        self._expire_next_continue = True

    def expire_continue_tokens(self) -> None:
        """Compact: every continue token issued so far is too old (410 Expired), as after an etcd compaction."""
        with self._lock:
            self._compacted_rv = self._rv
            self._rv += 1
            self._listings.clear()
            self._pages.clear()

    def clear_requests(self) -> None:
        self.requests.clear()

    def requests_to(self, path_prefix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    # -- resource lookup ------------------------------------------------------------------------------------------

    def _served_versions(self, group: str) -> tuple[str, ...]:
        if group == "":
            return ("v1",)
        if group == ISTIO_GROUP:
            return self.istio_versions
        if group == GATEWAY_API_GROUP and self.gateway_api:
            return GATEWAY_API_VERSIONS
        return ()

    def _served_types(self) -> list[ResourceType]:
        return [t for t in self._all_types.values() if self._served_versions(t.group)]

    def _served_in(self, rtype: ResourceType, version: str) -> bool:
        """The group serves ``version`` and the kind exists in it (the Gateway API's kinds differ in their versions)."""
        return version in self._served_versions(rtype.group) and version in rtype.versions

    def _served_type(self, group: str, version: str, resource: str) -> ResourceType | None:
        rtype = self._all_types.get((group, resource))
        if rtype is None or not self._served_in(rtype, version):
            return None
        return rtype

    def _split_resource(self, resource: str) -> tuple[str, str]:
        if resource == "*":
            return ("*", "*")
        plural, dot, group = resource.partition(".")
        base = plural.split("/")[0]
        if dot:
            return group, plural
        candidates = [t for t in self._all_types.values() if t.resource == base]
        if not candidates:
            raise ValueError(f"unknown resource {resource!r}")
        return candidates[0].group, plural

    def _resolve_resource(self, resource: str) -> ResourceType:
        group, plural = self._split_resource(resource)
        rtype = self._all_types.get((group, plural))
        if rtype is None:
            raise ValueError(f"unknown resource {resource!r}")
        return rtype

    # -- request processing -----------------------------------------------------------------------------------

    def _wait_to_answer(self) -> bool:
        if self.latency > 0 and self._stopped.wait(self.latency):
            return False
        while not self._answering.wait(0.05):
            if self._stopped.is_set():
                return False
        return not self._stopped.is_set()

    def _authenticate(self, request: RecordedRequest) -> str:
        header = request.header("Authorization") or ""
        scheme, _, token = header.partition(" ")
        user = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if user is None and not header and request.client_cn:
            user = request.client_cn
        if user is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        return user

    def _authorize(self, user: str, verb: str, rtype: ResourceType, resource: str, namespace: str | None, name: str) -> None:
        for d_verb, d_group, d_resource, d_namespace in self._denials:
            if d_verb not in ("*", verb) or d_group not in ("*", rtype.group) or d_resource not in ("*", resource):
                continue
            if d_namespace is not None and namespace is not None and d_namespace != namespace:
                continue
            raise self.forbidden(user, verb, rtype, resource, namespace, name)

    @staticmethod
    def forbidden(user: str, verb: str, rtype: ResourceType, resource: str, namespace: str | None, name: str = "") -> ApiError:
        """``responsewriters.ForbiddenStatusError`` for an RBAC denial."""
        if namespace:
            why = f"User {go_quote(user)} cannot {verb} resource {go_quote(resource)} in API group {go_quote(rtype.group)} in the namespace {go_quote(namespace)}"
        else:
            why = f"User {go_quote(user)} cannot {verb} resource {go_quote(resource)} in API group {go_quote(rtype.group)} at the cluster scope"
        subject = f"{rtype.qualified} {go_quote(name)}" if name else rtype.qualified
        return ApiError(403, "Forbidden", f"{subject} is forbidden: {why}", _details(rtype, name))

    def _respond(self, handler: _Handler, request: RecordedRequest) -> Response | None:
        user = self._authenticate(request)
        request.user = user
        path = request.path
        reading = request.method in ("GET", "HEAD")
        try:
            if path.rstrip("/") in ("/healthz", "/livez", "/readyz") or path.startswith(("/healthz/", "/livez/", "/readyz/")):
                if not reading:
                    raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})
                return Response(
                    200, [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")], b"ok"
                )
            if path.rstrip("/") == "/version":
                return self._json_response(self._version_info())
            parts = [p for p in path.split("/") if p]
            if not parts or parts[0] not in ("api", "apis"):
                raise _PlainNotFound()
            if not reading and len(parts) <= 3:
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})
            if parts[0] == "api":
                if len(parts) == 1:
                    return self._discovery_root(request, core=True)
                if parts[1] != "v1":
                    raise _PlainNotFound()
                group, version, rest = "", "v1", parts[2:]
            else:
                if len(parts) == 1:
                    return self._discovery_root(request, core=False)
                group = parts[1]
                if not self._served_versions(group):
                    raise _PlainNotFound()
                if len(parts) == 2:
                    return self._json_response(self._api_group(group))
                version = parts[2]
                if version not in self._served_versions(group):
                    raise _PlainNotFound()
                rest = parts[3:]
            if not rest:
                return self._json_response(self._resource_list_doc(group, version))
            return self._resource_request(handler, request, user, group, version, rest)
        except _PlainNotFound:
            return Response(
                404,
                [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")],
                b"404 page not found\n",
            )

    def _json_response(self, body: Any, content_type: str = JSON, status: int = 200) -> Response:
        if self.pretty_json:
            if isinstance(body, bytes):
                body = json.loads(body)
            if isinstance(body, dict) and body.get("kind") == "Table":
                data = json.dumps(body, separators=(", ", ": "), ensure_ascii=False).encode()
            else:
                data = _pretty(body)
            return Response(status, [("Content-Type", content_type)], data)
        return Response(status, [("Content-Type", content_type)], body if isinstance(body, bytes) else _dumps(body))

    # -- discovery ------------------------------------------------------------------------------------------------

    def _version_info(self) -> dict[str, Any]:
        major, minor, *_ = self.kubernetes_version.lstrip("v").split(".")
        return {
            "major": major,
            "minor": minor,
            "gitVersion": self.kubernetes_version,
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2024-12-11T00:00:00Z",
            "goVersion": "go1.23.3",
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    def _discovery_root(self, request: RecordedRequest, *, core: bool) -> Response:
        for media, params in _parse_accept(request.header("Accept")):
            if not _is_json(media):
                continue
            if params.get("as") == "APIGroupDiscoveryList" and params.get("g") == "apidiscovery.k8s.io":
                if self.aggregated_discovery and params.get("v") in ("v2", "v2beta1"):
                    version = params["v"]
                    body = self._aggregated(core, version)
                    content_type = AGGREGATED_V2 if version == "v2" else AGGREGATED_V2BETA1
                    return Response(200, [("Content-Type", content_type), ("Vary", "Accept")], _dumps(body))
                continue
            if "as" in params:
                continue
            return Response(200, [("Content-Type", JSON), ("Vary", "Accept")], _dumps(self._legacy_root(core)))
        if not request.header("Accept"):
            return Response(200, [("Content-Type", JSON), ("Vary", "Accept")], _dumps(self._legacy_root(core)))
        raise ApiError(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
        )

    def _legacy_root(self, core: bool) -> dict[str, Any]:
        if core:
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self.host}:{self.port}"}],
            }
        groups = [self._api_group(group, embedded=True) for group in self._groups()]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def _groups(self) -> list[str]:
        return [group for group in (ISTIO_GROUP, GATEWAY_API_GROUP) if self._served_versions(group)]

    def _api_group(self, group: str, embedded: bool = False) -> dict[str, Any]:
        versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in self._served_versions(group)]
        doc: dict[str, Any] = {} if embedded else {"kind": "APIGroup", "apiVersion": "v1"}
        doc.update({"name": group, "versions": versions, "preferredVersion": versions[0]})
        return doc

    def _resource_list_doc(self, group: str, version: str) -> dict[str, Any]:
        resources: list[dict[str, Any]] = []
        for rtype in sorted(self._served_types(), key=lambda t: t.resource):
            if rtype.group == group and self._served_in(rtype, version):
                resources.extend(rtype.legacy_resources(version))
        doc: dict[str, Any] = {"kind": "APIResourceList"}
        if group:
            doc["apiVersion"] = "v1"
        doc.update({"groupVersion": f"{group}/{version}" if group else version, "resources": resources})
        return doc

    def _aggregated(self, core: bool, api_version: str) -> dict[str, Any]:
        items = []
        groups = [""] if core else self._groups()
        for group in groups:
            versions = []
            for version in self._served_versions(group):
                resources = [
                    t.aggregated_resource(version)
                    for t in sorted(self._served_types(), key=lambda t: t.resource)
                    if t.group == group and self._served_in(t, version)
                ]
                versions.append({"version": version, "resources": resources, "freshness": "Current"})
            metadata: dict[str, Any] = {"creationTimestamp": None}
            if group:
                metadata = {"name": group, "creationTimestamp": None}
            items.append({"metadata": metadata, "versions": versions})
        return {
            "kind": "APIGroupDiscoveryList",
            "apiVersion": f"apidiscovery.k8s.io/{api_version}",
            "metadata": {},
            "items": items,
        }

    # -- resources ------------------------------------------------------------------------------------------------

    def _resource_request(
        self, handler: _Handler, request: RecordedRequest, user: str, group: str, version: str, rest: list[str]
    ) -> Response | None:
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
            namespace, rest = rest[1], rest[2:]
        resource = rest[0]
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        subpath = rest[3:]
        rtype = self._served_type(group, version, resource)
        if rtype is None or (rtype.namespaced and name is not None and namespace is None):
            raise ApiError(404, "NotFound", NOT_FOUND_RESOURCE, {})
        if not rtype.namespaced and namespace is not None:
            raise ApiError(404, "NotFound", NOT_FOUND_RESOURCE, {})
        if sub is not None and sub not in dict(rtype.subresources):
            raise ApiError(404, "NotFound", NOT_FOUND_RESOURCE, {})
        if subpath and sub != "proxy":
            raise ApiError(404, "NotFound", NOT_FOUND_RESOURCE, {})
        if sub == "portforward" and self._is_spdy(request):
            raise bad_request(SPDY_UNSUPPORTED)
        reading = request.method in ("GET", "HEAD")
        watching = (request.param("watch") or "").lower() in ("1", "true")
        if reading:
            verb = ("watch" if watching else "list") if name is None else ("create" if sub == "portforward" else "get")
        else:
            verb = WRITE_VERBS.get(request.method, request.method.lower())
            if verb == "delete" and name is None:
                verb = "deletecollection"
        attr_namespace = name if rtype.resource == "namespaces" else namespace
        attr_resource = f"{rtype.resource}/{sub}" if sub else rtype.resource
        if sub == "portforward":
            self._authorize(user, "get", rtype, attr_resource, attr_namespace, name or "")
        self._authorize(user, verb, rtype, attr_resource, attr_namespace, name or "")
        if not reading:
            raise ApiError(
                405,
                "MethodNotAllowed",
                f"{verb} is not supported on resources of kind {go_quote(rtype.qualified)}",
                _details(rtype),
            )
        if watching:
            raise ApiError(
                405,
                "MethodNotAllowed",
                f"watch is not supported on resources of kind {go_quote(rtype.qualified)} (fakeapi: watch is not implemented)",
                _details(rtype),
            )
        if name is None:
            return self._list(request, rtype, version, namespace)
        if sub == "proxy":
            return self._proxy(request, rtype, namespace or "", name, subpath)
        if sub == "portforward":
            if self.refuse_port_forward:
                raise self.forbidden(user, "create", rtype, attr_resource, attr_namespace, name)
            return self._port_forward(handler, request, namespace or "", name)
        if sub not in (None, "status"):
            raise ApiError(404, "NotFound", f"{NOT_FOUND_RESOURCE} (fakeapi: subresource {sub!r} is not implemented)", {})
        return self._get(request, rtype, version, namespace, name)

    def _lookup(self, rtype: ResourceType, namespace: str | None, name: str) -> _Entry:
        key = f"{namespace}/{name}" if rtype.namespaced else name
        entry = self._data[rtype.key].get(key)
        if entry is None:
            raise not_found(rtype, name)
        return entry

    def _negotiate(self, request: RecordedRequest) -> tuple[str, str]:
        """``("json", "")``, ``("table", v)`` or ``("partial", v)`` (metadata only); 406 when nothing acceptable is offered."""
        accept = request.header("Accept")
        if not accept:
            return ("json", "")
        for media, params in _parse_accept(accept):
            if not _is_json(media):
                continue
            if params.get("as") == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
                return ("table", params["v"])
            if (
                params.get("as") in ("PartialObjectMetadata", "PartialObjectMetadataList")
                and params.get("g") == "meta.k8s.io"
                and params.get("v") in ("v1", "v1beta1")
            ):
                if not self.metadata_only_lists:
                    continue  # not servable here: the next range the client accepts, else 406
                return ("partial", params["v"])
            if "as" not in params:
                return ("json", "")
        raise ApiError(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
        )

    def _get(self, request: RecordedRequest, rtype: ResourceType, version: str, namespace: str | None, name: str) -> Response:
        fmt, table_version = self._negotiate(request)
        with self._lock:
            entry = self._lookup(rtype, namespace, name)
            rv = self._rv
        if fmt == "table":
            return self._json_response(self._table(request, rtype, version, [entry], {"resourceVersion": str(rv)}, table_version))
        if fmt == "partial":
            return self._json_response(_partial(entry, table_version))
        return self._json_response(entry.json(version))

    def _listing(self, rtype: ResourceType, namespace: str | None, label: str, fieldsel: str, rv: int | None) -> _Listing | None:
        """The filtered, key-ordered result at ``rv`` (None = now); None when that snapshot is gone (compacted)."""
        with self._lock:
            current = self._rv
            wanted = current if rv is None or rv == -1 else rv
            cache_key = (rtype.key, namespace, label, fieldsel, wanted)
            listing = self._listings.get(cache_key)
            if listing is not None:
                self._listings.move_to_end(cache_key)
                return listing
            if wanted != current:
                return None
            labels = parse_label_selector(label)
            fields = parse_field_selector(fieldsel)
            validate_fields(fields, rtype.fields)
            entries = sorted(
                (
                    e
                    for e in self._data[rtype.key].values()
                    if (namespace is None or e.namespace == namespace)
                    and (not labels or labels_match(labels, e.obj["metadata"].get("labels")))
                    and (not fields or fields_match(fields, rtype.fields, e.obj))
                ),
                key=lambda e: e.key,
            )
            listing = _Listing(current, [e.key for e in entries], entries)
            self._listings[cache_key] = listing
            while len(self._listings) > _LIST_CACHE_SIZE:
                self._listings.popitem(last=False)
            return listing

    def _list(self, request: RecordedRequest, rtype: ResourceType, version: str, namespace: str | None) -> Response:
        fmt, table_version = self._negotiate(request)
        label = request.param("labelSelector") or ""
        fieldsel = request.param("fieldSelector") or ""
        try:
            limit = int(request.param("limit") or 0)
        except ValueError as error:
            raise bad_request(f"limit: Invalid value: {request.param('limit')!r}: must be an integer") from error
        token = request.param("continue") or ""
        token_rv: int | None = None
        start_key = ""
        if token:
            if request.param("resourceVersion"):
                raise bad_request("specifying resource version is not allowed when using continue")
            token_rv, start_key = _decode_continue(token)
            if self._expire_next_continue or (token_rv != -1 and token_rv <= self._compacted_rv):
                self._expire_next_continue = False
                raise ApiError(410, "Expired", INCONSISTENT_CONTINUE, continue_token=_encode_continue(-1, start_key))
        try:
            listing = self._listing(rtype, namespace, label, fieldsel, token_rv)
        except SelectorError as error:
            raise bad_request(str(error)) from error
        if listing is None:
            raise ApiError(410, "Expired", INCONSISTENT_CONTINUE, continue_token=_encode_continue(-1, start_key))
        start = 0
        if start_key:
            start = bisect.bisect_left(listing.keys, start_key)
        end = len(listing.entries) if limit <= 0 else min(len(listing.entries), start + limit)
        meta: dict[str, Any] = {"resourceVersion": str(listing.rv)}
        if end < len(listing.entries):
            meta["continue"] = _encode_continue(listing.rv, listing.keys[end - 1] + "\x00")
            if not label and not fieldsel:
                meta["remainingItemCount"] = len(listing.entries) - end
        page = listing.entries[start:end]
        if fmt == "table":
            return self._json_response(self._table(request, rtype, version, page, meta, table_version))
        page_key = (rtype.key, namespace, label, fieldsel, listing.rv, start, end, version, fmt, self.pretty_json)
        body = self._pages.get(page_key)
        if body is None and fmt == "partial":
            # metav1.PartialObjectMetadataList: a typed list (struct field order), items keep their kind
            items = b",".join(_dumps(_partial(e, table_version)) for e in page)
            body = (
                b'{"kind":"PartialObjectMetadataList","apiVersion":' + _dumps(f"meta.k8s.io/{table_version}")
                + b',"metadata":' + _dumps(meta) + b',"items":[' + items + b"]}"
            )  # fmt: skip
            if self.pretty_json:
                body = _pretty(json.loads(body))
            with self._lock:
                self._pages[page_key] = body
        if body is None:
            items = b",".join(e.json(version, in_list=True) for e in page)
            list_kind = f"{rtype.kind}List"
            if rtype.custom:  # unstructured: keys sorted, like encoding/json of a map
                ordered_meta = {k: meta[k] for k in sorted(meta)}
                body = (
                    b'{"apiVersion":' + _dumps(rtype.api_version(version)) + b',"items":[' + items + b'],"kind":' + _dumps(list_kind)
                    + b',"metadata":' + _dumps(ordered_meta) + b"}"
                )  # fmt: skip
            else:
                body = (
                    b'{"kind":' + _dumps(list_kind) + b',"apiVersion":' + _dumps(rtype.api_version(version)) + b',"metadata":'
                    + _dumps(meta) + b',"items":[' + items + b"]}"
                )  # fmt: skip
            if self.pretty_json:
                body = _pretty(json.loads(body))
            with self._lock:
                self._pages[page_key] = body
                while len(self._pages) > _PAGE_CACHE_SIZE:
                    self._pages.popitem(last=False)
        return Response(200, [("Content-Type", JSON)], body)  # already in the shape asked for (pretty or not)

    def _table(
        self,
        request: RecordedRequest,
        rtype: ResourceType,
        version: str,
        entries: list[_Entry],
        meta: dict[str, Any],
        table_version: str,
    ) -> dict[str, Any] | bytes:
        include = request.param("includeObject") or "Metadata"
        now = datetime.datetime.now(datetime.timezone.utc)
        if include == "Metadata" and not self.pretty_json:
            ages: dict[Any, bytes] = {}
            encoded = [entry.table_row(table_version, now, ages) for entry in entries]
            if all(row is not None for row in encoded):
                return (
                    b'{"kind":"Table","apiVersion":' + _dumps(f"meta.k8s.io/{table_version}") + b',"metadata":' + _dumps(meta)
                    + b',"columnDefinitions":' + _dumps([c.definition() for c in rtype.columns])
                    + b',"rows":[' + b",".join(row for row in encoded if row is not None) + b"]}"
                )  # fmt: skip
        rows = []
        for entry in entries:
            row: dict[str, Any] = {"cells": rtype.row(entry.obj, now)}
            if include == "Object":
                row["object"] = entry.view(version)
            elif include != "None":
                row["object"] = {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": f"meta.k8s.io/{table_version}",
                    "metadata": entry.obj["metadata"],
                }
            rows.append(row)
        return {
            "kind": "Table",
            "apiVersion": f"meta.k8s.io/{table_version}",
            "metadata": meta,
            "columnDefinitions": [c.definition() for c in rtype.columns],
            "rows": rows,
        }

    # -- pod proxy ------------------------------------------------------------------------------------------------

    @staticmethod
    def _split_proxy_name(name: str) -> tuple[str, str, str]:
        """``[scheme:]name[:port]`` as the apiserver's proxy REST parses it."""
        parts = name.split(":")
        if len(parts) == 3:
            return parts[0], parts[1], parts[2]
        if len(parts) == 2:
            return "", parts[0], parts[1]
        return "", name, ""

    def _pod_port(self, port_text: str) -> int:
        try:
            return int(port_text) if port_text else 80
        except ValueError as error:
            raise bad_request(f"invalid port {port_text!r}: named pod ports are not supported by the fake") from error

    def _proxy(
        self, request: RecordedRequest, rtype: ResourceType, namespace: str, raw_name: str, subpath: list[str]
    ) -> Response:
        _scheme, pod_name, port_text = self._split_proxy_name(raw_name)
        with self._lock:
            pod = self._lookup(rtype, namespace, pod_name).obj
        port = self._pod_port(port_text)
        pod_ip = (pod.get("status") or {}).get("podIP") or ""
        backend = self._backends.get((namespace, pod_name, port))
        if backend is None:
            raise ApiError(
                503, "ServiceUnavailable", f"error trying to reach service: dial tcp {pod_ip}:{port}: connect: connection refused"
            )
        trailing = "/" if request.path.endswith("/") and subpath else ""
        target = "/" + "/".join(subpath) + trailing
        if request.raw_query:
            target += "?" + request.raw_query
        forward = {k: v for k, v in request.headers.items() if k.lower() in ("accept", "user-agent", "content-type")}
        forward["X-Forwarded-For"] = "127.0.0.1"
        try:
            conn = http.client.HTTPConnection(backend[0], backend[1], timeout=30)
            conn.request(request.method, target, headers=forward)
            answer = conn.getresponse()
            body = answer.read()
            headers = [
                (k, v)
                for k, v in answer.getheaders()
                if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length", "date")
            ]
            conn.close()
        except OSError as error:
            raise ApiError(
                503, "ServiceUnavailable", f"error trying to reach service: dial tcp {pod_ip}:{port}: {error}"
            ) from error
        return Response(answer.status, headers, body)

    # -- port-forward (WebSocket, v4.channel.k8s.io) ----------------------------------------------------------------

    @staticmethod
    def _is_spdy(request: RecordedRequest) -> bool:
        upgrade = (request.header("Upgrade") or "").lower()
        protocols = request.header("Sec-WebSocket-Protocol") or ""
        return upgrade.startswith("spdy") or "SPDY/" in protocols or bool(request.header("X-Stream-Protocol-Version"))

    def _port_forward(self, handler: _Handler, request: RecordedRequest, namespace: str, pod_name: str) -> Response | None:
        with self._lock:
            pod_type = self._all_types[("", "pods")]
            pod = self._lookup(pod_type, namespace, pod_name).obj
        upgrade = (request.header("Upgrade") or "").lower()
        protocols = [p.strip() for p in (request.header("Sec-WebSocket-Protocol") or "").split(",") if p.strip()]
        if upgrade != "websocket" or not request.header("Sec-WebSocket-Key"):
            raise bad_request("Upgrade request required")
        ports: list[int] = []
        for value in request.query.get("ports", []):
            for item in value.split(","):
                try:
                    ports.append(int(item))
                except ValueError as error:
                    raise bad_request(f'invalid port "{item}"') from error
        if not ports:
            raise bad_request('query parameter "port" is required')
        chosen = ""
        if protocols:
            chosen = next((p for p in protocols if p in PORTFORWARD_PROTOCOLS), "")
            if not chosen:
                raise bad_request(
                    f"unable to upgrade: requested protocol(s) are not supported: {protocols}; supports {list(PORTFORWARD_PROTOCOLS)}"
                )
        lines = [
            "HTTP/1.1 101 Switching Protocols",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Accept: {ws.accept_key(request.header('Sec-WebSocket-Key') or '')}",
        ]
        if chosen:
            lines.append(f"Sec-WebSocket-Protocol: {chosen}")
        handler.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        handler.wfile.flush()
        request.status = 101
        _PortForwardSession(
            self, handler.connection, namespace, pod, ports, base64_mode=chosen.endswith("base64.channel.k8s.io")
        ).run()
        return None


class _PortForwardSession:
    """One upgraded port-forward connection: a single thread multiplexing the WebSocket and the backend sockets."""

    def __init__(
        self,
        fake: FakeApiServer,
        conn: socket.socket,
        namespace: str,
        pod: dict[str, Any],
        ports: list[int],
        *,
        base64_mode: bool,
    ) -> None:
        self.fake = fake
        self.conn = conn
        self.namespace = namespace
        self.pod = pod
        self.ports = ports
        self.base64_mode = base64_mode
        self.parser = ws.FrameParser()
        self.backends: dict[socket.socket, int] = {}
        self.by_index: dict[int, socket.socket] = {}

    def _send(self, channel: int, data: bytes) -> None:
        if self.base64_mode:
            frame = ws.encode_frame(ws.OP_TEXT, str(channel).encode() + base64.b64encode(data))
        else:
            frame = ws.encode_frame(ws.OP_BINARY, bytes((channel,)) + data)
        self.conn.sendall(frame)

    def _connect_backends(self) -> None:
        meta = self.pod["metadata"]
        for index, port in enumerate(self.ports):
            backend = self.fake._backends.get((self.namespace, meta["name"], port))
            error = ""
            if backend is None:
                error = "connect: connection refused"
            else:
                try:
                    sock = socket.create_connection(backend, timeout=10)
                    sock.settimeout(None)
                    self.backends[sock] = index
                    self.by_index[index] = sock
                except OSError as exc:
                    error = str(exc)
            if error:
                sandbox = meta.get("uid", "")
                message = (
                    f"error forwarding port {port} to pod {sandbox}, uid : failed to execute portforward in network namespace "
                    f'"/var/run/netns/cni-{sandbox}": failed to connect to localhost:{port} inside namespace "{sandbox}", '
                    f"IPv4: dial tcp4 127.0.0.1:{port}: {error} IPv6 dial tcp6 [::1]:{port}: connect: connection refused "
                )
                self._send(2 * index + 1, message.encode())

    def run(self) -> None:
        try:
            for index, port in enumerate(self.ports):
                prefix = int(port).to_bytes(2, "little")
                self._send(2 * index, prefix)
                self._send(2 * index + 1, prefix)
            self._connect_backends()
            self._loop()
        except OSError:
            pass
        finally:
            for sock in list(self.backends):
                sock.close()
            with contextlib.suppress(OSError):
                self.conn.shutdown(socket.SHUT_RDWR)

    def _loop(self) -> None:
        closing_at: float | None = None if self.backends else time.monotonic() + 0.1
        while not self.fake._stopped.is_set():
            if closing_at is not None and time.monotonic() >= closing_at:
                # every backend is done: linger briefly so the client flushes what it got, then close like the kubelet
                self.conn.sendall(ws.close_frame(1000))
                self._drain_until_close(deadline=time.monotonic() + 2)
                return
            pending = isinstance(self.conn, ssl.SSLSocket) and self.conn.pending() > 0
            readable = [self.conn] if pending else select.select([self.conn, *self.backends], [], [], 0.05)[0]
            for sock in readable:
                if sock is self.conn:
                    data = self.conn.recv(65536)
                    if not data:
                        return
                    for opcode, payload in self.parser.feed(data):
                        if not self._on_message(opcode, payload):
                            return
                else:
                    index = self.backends[sock]
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if data:
                        self._send(2 * index, data)
                    else:
                        del self.backends[sock]
                        self.by_index.pop(index, None)
                        sock.close()
                        if not self.backends:
                            closing_at = time.monotonic() + 0.1

    def _on_message(self, opcode: int, payload: bytes) -> bool:
        if opcode == ws.OP_CLOSE:
            self.conn.sendall(ws.close_frame(1000))
            return False
        if opcode == ws.OP_PING:
            self.conn.sendall(ws.encode_frame(ws.OP_PONG, payload))
            return True
        if opcode not in (ws.OP_BINARY, ws.OP_TEXT) or not payload:
            return True
        if self.base64_mode:
            channel, data = int(chr(payload[0])), base64.b64decode(payload[1:])
        else:
            channel, data = payload[0], payload[1:]
        if channel % 2 == 0 and data:
            sock = self.by_index.get(channel // 2)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.sendall(data)
        return True

    def _drain_until_close(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            pending = isinstance(self.conn, ssl.SSLSocket) and self.conn.pending() > 0
            if not pending and not select.select([self.conn], [], [], 0.05)[0]:
                continue
            data = self.conn.recv(65536)
            if not data:
                return
            if any(opcode == ws.OP_CLOSE for opcode, _ in self.parser.feed(data)):
                return


# ---- faults -----------------------------------------------------------------------------------------------------


FAULT_KINDS = (
    "drip",  # a 200 whose body (valid JSON, Content-Length given) arrives one byte every `interval` seconds
    "endless",  # a 200 without length whose body never ends
    "loop-continue",  # a valid, empty list page whose continue token is always the same
    "fresh-continue",  # a valid, empty list page with a new continue token every time
    "items-not-list",  # a list whose items is an object
    "truncated",  # Content-Length promises more than is sent, then the connection closes
    "bad-chunked",  # a chunked body with a chunk size that is not hex
    "redirect",  # 302 to `location` (for the port-forward upgrade: ws:// or wss:// elsewhere)
    "silent",  # reads the request and never answers
)


@dataclass
class Fault:
    """One scripted misbehaviour: requests whose path starts with ``path`` get ``kind`` (see FAULT_KINDS).

    Faults model hostile or broken servers and proxies; :attr:`FakeApiServer.requests` still records every request
    (with its headers), so tests can prove what a client sent where.
    """

    path: str
    kind: str
    interval: float = 1.0
    location: str = ""
    upgrade_only: bool = False
    """Only WebSocket upgrades (port-forward) get the fault; other requests are answered as usual."""

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; known: {FAULT_KINDS}")

    def applies(self, request: RecordedRequest) -> bool:
        if self.upgrade_only and (request.header("Upgrade") or "").lower() != "websocket":
            return False
        return request.path.startswith(self.path)

    def act(self, handler: _Handler, request: RecordedRequest, stopped: threading.Event) -> None:
        out = handler.wfile
        request.status = {"redirect": 302, "silent": None}.get(self.kind, 200)

        def head(*fields: str) -> bytes:
            status = "302 Found" if self.kind == "redirect" else "200 OK"
            return ("\r\n".join([f"HTTP/1.1 {status}", "Content-Type: application/json", *fields]) + "\r\n\r\n").encode()

        page = b'{"kind":"GatewayList","apiVersion":"networking.istio.io/v1","metadata":{"resourceVersion":"1"%s},"items":%s}'
        if self.kind == "drip":
            body = page % (b"", b"[]")
            out.write(head(f"Content-Length: {len(body)}"))
            out.flush()
            for byte in body:
                if stopped.wait(self.interval):
                    return
                out.write(bytes((byte,)))
                out.flush()
        elif self.kind == "endless":
            out.write(head() + b'{"kind":"GatewayList","items":["')
            filler = b"x" * 65536
            while not stopped.is_set():
                out.write(filler)
        elif self.kind in ("loop-continue", "fresh-continue"):
            token = "same" if self.kind == "loop-continue" else uuid.uuid4().hex
            body = page % (b',"continue":"' + token.encode() + b'"', b"[]")
            out.write(head(f"Content-Length: {len(body)}") + body)
        elif self.kind == "items-not-list":
            body = page % (b"", b'{"metadata":{"name":"x"}}')
            out.write(head(f"Content-Length: {len(body)}") + body)
        elif self.kind == "truncated":
            out.write(head("Content-Length: 100000") + b'{"kind":"GatewayList","items":[')
        elif self.kind == "bad-chunked":
            out.write(head("Transfer-Encoding: chunked") + b'5\r\n{"a":\r\nzz\r\n1}\r\n0\r\n\r\n')
        elif self.kind == "redirect":
            out.write(head(f"Location: {self.location}", "Content-Length: 0"))
        elif self.kind == "silent":
            stopped.wait(120)
        out.flush()


# ---- HTTP plumbing ----------------------------------------------------------------------------------------------


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext, fake: FakeApiServer
    ) -> None:
        self.ssl_context = context
        self.fake = fake
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # the TLS handshake happens in the connection's own thread (Handler.setup), never in the accept loop
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up, failed handshakes: not the fake's business


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120
    server: _TLSServer

    def setup(self) -> None:
        super().setup()
        self.connection.do_handshake()  # type: ignore[attr-defined]

    def handle(self) -> None:
        fake = self.server.fake
        with fake._lock:
            fake._connections.add(self.connection)
        try:
            super().handle()
        except (OSError, ssl.SSLError):
            pass
        finally:
            with fake._lock:
                fake._connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        fake = self.server.fake
        split = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=unquote(split.path),
            query=parse_qs(split.query, keep_blank_values=True),
            headers=dict(self.headers.items()),
            raw_query=split.query,
            body=self._read_body(),
            client_cn=_peer_common_name(self.connection),
        )
        fake.requests.append(request)
        fault = next((f for f in fake.faults if f.applies(request)), None)
        if fault is not None:
            with contextlib.suppress(OSError, ssl.SSLError):
                fault.act(self, request, fake._stopped)
            self.close_connection = True
            return
        if not fake._wait_to_answer():
            self.close_connection = True
            return
        try:
            response = fake._respond(self, request)
        except ApiError as error:
            response = error.response()
        except Exception as error:  # a bug in the fake: answer 500 and keep the traceback for the test to show
            fake.errors.append(traceback.format_exc())
            response = ApiError(500, "InternalError", f"fakeapi internal error: {error!r}", {}).response()
        if response is None:  # the connection was upgraded and has been served
            self.close_connection = True
            return
        request.status = response.status
        lines = [
            f"HTTP/1.1 {response.status} {http.client.responses.get(response.status, '')}",
            f"Date: {self.date_time_string()}",
        ]
        lines.append(f"Audit-Id: {uuid.uuid4()}")
        lines.append("Cache-Control: no-cache, private")
        lines.extend(f"{key}: {value}" for key, value in response.headers)
        if request.path.startswith("/api"):
            lines.append(f"X-Kubernetes-Pf-Flowschema-Uid: {_FLOWSCHEMA_UID}")
            lines.append(f"X-Kubernetes-Pf-Prioritylevel-Uid: {_PRIORITY_UID}")
        lines.append(f"Content-Length: {len(response.body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        # one write: headers and body in the same TLS record(s), no Nagle/delayed-ACK stall between them
        self.wfile.write(head if self.command == "HEAD" else head + response.body)

    do_GET = _serve
    do_HEAD = _serve
    do_POST = _serve
    do_PUT = _serve
    do_PATCH = _serve
    do_DELETE = _serve
    do_OPTIONS = _serve


def iter_paths(requests: Iterable[RecordedRequest]) -> Iterator[str]:
    """``METHOD url`` lines, handy in assertion messages."""
    for request in requests:
        yield f"{request.method} {request.url} -> {request.status}"
