"""The cluster Source: reads Istio and Kubernetes objects from the API server, read-only.

Why this module exists: it is the only place that decides what to ask a cluster.  With the context
``kubeconfig.py`` resolved, it finds which networking.istio.io version is served, lists with paging
and server-side selectors, fetches independent lists concurrently, and hands raw JSON straight to
``parse.py``: the client's typed models are never built (they cost more than the listing itself).
Every byte goes through ``transport.py`` (and ``portforward.py``); the official client only runs an
exec plugin or auth-provider once, for its credentials.  Every failure becomes a
:class:`ClusterError` with one line of text and an exit code; an answer that is not what the API
promises (items that are not a list, a continue token that repeats) is a failure too.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import ISTIO_VERSIONS
from ..exitcodes import ExitCode

if TYPE_CHECKING:
    from ..resources.parse import Resource
    from ..sources.files import InputError, ReadResult
    from .transport import PlainTransport

# parse.py, model.py and sources.py are imported where objects are parsed: a listing served from the
# listing cache never needs them (their dataclasses cost ~30 ms to create)

ISTIO_GROUP = "networking.istio.io"
PAGE_SIZE = 500
MAX_PAGES = 20_000
"""More pages than any real list has (10 million objects): a server that keeps sending continue tokens is lying."""
METADATA_PAGE_SIZE = 5000
"""Metadata-only pages are a tenth of the bytes per object: fewer, larger pages (kubectl pages full objects by 500)."""
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;q=0.9"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)?")


class ClusterError(Exception):
    """One line for the user, the exit code, and the HTTP status when the API server answered."""

    def __init__(self, message: str, code: ExitCode, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def parse_duration(text: str) -> float | None:
    """kubectl's --request-timeout: ``0`` (none), ``30``, ``5s``, ``1m``, ``1h``, ``250ms``, ``1m30s``."""
    text = text.strip()
    if text in ("", "0"):
        return None
    total = 0.0
    pos = 0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        value, unit = float(m.group(1)), m.group(2) or "s"
        total += value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
        pos = m.end()
    if pos != len(text) or total <= 0:
        raise ValueError(f"invalid --request-timeout {text!r}: use e.g. 5s, 1m or 0")
    return total


@dataclass
class Connection:
    """Where requests go (a transport) and what kubectl would show as the target."""

    transport: PlainTransport
    server: str
    """The API server's URL as shown in messages (any user:password in it left out)."""
    namespace: str
    context: str
    timeout: float | None

    @property
    def timeout_note(self) -> str:
        """What a timeout message adds: the limit that ran out, when the user set one."""
        return f" after {self.timeout:g}s (--request-timeout)" if self.timeout else ""


AUTH_MACHINERY = ("exec", "auth-provider")
"""User fields whose credentials only the official client can obtain (it runs the plugin or provider once)."""


def connect(*, kubeconfig: str | None, context: str | None, namespace: str | None, timeout: float | None) -> Connection:
    """Resolve the kubeconfig as kubectl does (``kubeconfig.py``) and open the transport to its API server.

    Every request goes through ``transport.py``; a user with an exec plugin or auth-provider first gets its
    token or key pair from the official client (:func:`_machinery_credentials`).
    """
    from .. import redact
    from .kubeconfig import KubeconfigError, resolve, secrets_of
    from .transport import PlainTransport, proxy_for

    try:
        resolved = resolve(kubeconfig=kubeconfig, context=context, namespace=namespace)
    except KubeconfigError as exc:
        raise ClusterError(str(exc), ExitCode.USAGE) from None
    for secret in secrets_of(resolved):  # never printed from here on, whatever message carries it
        redact.register(secret)
    cluster, user, context_name = resolved.cluster, resolved.user, resolved.context
    if any(key in user for key in AUTH_MACHINERY):
        user = _machinery_credentials(resolved.client_config, context_name, user)
        for key in ("token", "password", "client-key-data"):
            if user.get(key):
                redact.register(str(user[key]), user=str(user.get("username")) if key == "password" else None)
    server = str(cluster.get("server") or "")
    try:
        proxy = proxy_for(server, os.environ, proxy_url=str(cluster.get("proxy-url") or ""))
        chosen = PlainTransport(cluster, user, timeout=timeout, proxy=proxy)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: unreadable CA, key pair mismatch
        raise ClusterError(f"invalid kubeconfig: context {context_name}: {_short(exc)}", ExitCode.USAGE) from None
    return Connection(chosen, display_url(server), resolved.namespace, context_name, timeout)


def display_url(url: str) -> str:
    """``url`` without the user:password part kubectl would never show."""
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if sep and "@" in authority:
        return f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"
    return url


def _machinery_credentials(config_dict: dict[str, Any], context: str, user: Mapping[str, Any]) -> dict[str, Any]:
    """The token or client key pair the user's exec plugin or auth-provider yields, as plain kubeconfig user fields.

    The official client runs the machinery once; the files it writes (decoded certificates, the key) go into a
    private temporary directory that is removed before this returns, whatever happens.
    """
    import logging  # ~4 ms: only where a credential plugin runs
    import shutil
    import tempfile

    from kubernetes import client, config

    configuration = client.Configuration()
    configuration.proxy = None  # nothing is sent through this client
    temp_dir = tempfile.mkdtemp(prefix="kubectl-meshctl-")

    # the client logs a failed exec plugin (logging.error) and carries on without credentials: keep the message
    class Collector(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.ERROR)
            self.messages: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.messages.append(record.getMessage())

    failures = Collector()
    root = logging.getLogger()
    root.addHandler(failures)
    propagate, root.propagate = root.propagate, False
    try:
        try:
            config.load_kube_config_from_dict(
                config_dict, context=context, client_configuration=configuration, persist_config=False, temp_file_path=temp_dir
            )
        except config.ConfigException as exc:
            raise ClusterError(f"invalid kubeconfig: context {context}: {_short(exc)}", ExitCode.USAGE) from None
        except Exception as exc:  # a plugin that printed garbage, a provider that failed: the user's to fix
            raise ClusterError(
                f"invalid kubeconfig: context {context}: the user's credential plugin failed ({type(exc).__name__})",
                ExitCode.USAGE,
            ) from None
        finally:
            root.removeHandler(failures)
            root.propagate = propagate
        if failures.messages and not (configuration.api_key or {}).get("authorization") and not configuration.cert_file:
            plugin = user.get("exec") if isinstance(user.get("exec"), dict) else {}
            what = f"exec plugin {plugin.get('command')}" if plugin else "auth-provider"
            reason = _short(failures.messages[0]).removeprefix("exec: ")
            raise ClusterError(f"getting credentials: {what}: {reason}", ExitCode.USAGE)
        plain: dict[str, Any] = {k: v for k, v in user.items() if k.startswith("as")}
        scheme, _, value = str((configuration.api_key or {}).get("authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            plain["token"] = value.strip()
        elif scheme.lower() == "basic" and value.strip():
            username, _, password = base64.b64decode(value.strip()).decode("utf-8", "replace").partition(":")
            plain["username"], plain["password"] = username, password
        for field_name, path in (
            ("client-certificate-data", configuration.cert_file),
            ("client-key-data", configuration.key_file),
        ):
            if path:
                with open(path, "rb") as fh:
                    plain[field_name] = base64.b64encode(fh.read()).decode()
        return plain
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)


# --------------------------------------------------------------------------- requests


@dataclass
class Api:
    """Raw GETs through the connection's transport: JSON in, dicts out, errors as ClusterError."""

    conn: Connection
    requests: int = field(default=0)

    def get(self, path: str, query: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        data = self.get_raw(path, query)
        try:
            body = json.loads(data)
        except ValueError:
            raise ClusterError(f"the API server answered {path} with something that is not JSON", ExitCode.UNAVAILABLE) from None
        if not isinstance(body, dict):
            raise ClusterError(f"the API server answered {path} with a JSON {type(body).__name__}", ExitCode.UNAVAILABLE)
        return body

    def get_raw(self, path: str, query: Mapping[str, str | int] | None = None, *, accept: str = "application/json") -> bytes:
        from .transport import TransportError

        self.requests += 1
        server = self.conn.server
        try:
            status, body = self.conn.transport.get(path, query, accept=accept)
        except TransportError as exc:
            if exc.kind == "timeout":
                raise ClusterError(f"request to {server} timed out{self.conn.timeout_note}", ExitCode.TEMPFAIL) from None
            if exc.kind == "tls":
                raise ClusterError(f"TLS with {server} failed: {_short(exc)}", ExitCode.UNAVAILABLE) from None
            if exc.kind == "too-large":
                raise ClusterError(f"the API server's answer to {path} is too large: {exc}", ExitCode.UNAVAILABLE) from None
            raise ClusterError(f"cannot reach the API server {server}: {_short(exc)}", ExitCode.UNAVAILABLE) from None
        if status != 200:
            raise _status_error(status, body, path, self.conn)
        return bytes(body)


def _short(exc: object) -> str:
    text = str(exc)
    for marker in ("Connection refused", "certificate verify failed", "Name or service not known", "timed out"):
        if marker in text:
            tail = text[text.index(marker) :].split("'")[0]
            return re.sub(r"\s*\(_ssl\.c:\d+\)?.*$", "", tail).rstrip(")")
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _status_error(status: int, body: object, path: str, conn: Connection) -> ClusterError:
    message = ""
    try:
        parsed = json.loads(body) if isinstance(body, (str, bytes)) else None
        if isinstance(parsed, dict):
            message = str(parsed.get("message") or "")
    except ValueError:
        pass
    if status == 401:
        text = f"the API server {conn.server} rejected the credentials of context {conn.context} (401 Unauthorized)"
        return ClusterError(text, ExitCode.NOPERM, status)
    if status == 403:
        need = _permission_for(path)
        return ClusterError(f"{message or 'forbidden'} (needs RBAC permission: {need})", ExitCode.NOPERM, status)
    if status == 404:
        return ClusterError(message or f"not found: {path}", ExitCode.UNAVAILABLE, status)
    if status == 410:
        return ClusterError(message or "list expired (410 Gone)", ExitCode.UNAVAILABLE, status)
    text = f"the API server answered {status} for {path}: {message or 'no message'}"
    return ClusterError(text, ExitCode.UNAVAILABLE, status)


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


# --------------------------------------------------------------------------- lists


_LIST_HEAD = re.compile(rb'\{(?:"(?:kind|apiVersion)":"[^"\\]*",)*"metadata":')
_DECODER = json.JSONDecoder()
_ITEMS = re.compile(rb'"items"\s*:\s*(?:\[|null)')


def list_envelope(body: bytes) -> tuple[dict[str, Any], bytes]:
    """A list response's ``metadata`` (continue, resourceVersion) and the body without it, found without parsing the items.

    kube-apiserver writes the list metadata first for built-in kinds (``{"kind":..,"apiVersion":..,"metadata":{..},
    "items":[..]}``) and last for custom resources (keys sorted: ``..,"kind":..,"metadata":{..}}``).  The body
    without the metadata is what a cache can key on: the list's resourceVersion changes with every write anywhere in
    the cluster.  Anything else falls back to a full parse.
    """
    head = _LIST_HEAD.match(body)
    try:
        if head:
            window = body[head.end() : head.end() + 65536].decode("utf-8", "replace")
            metadata, end = _DECODER.raw_decode(window)
            if window[:end].isascii():  # characters are bytes up to the end of the metadata
                return _checked(metadata), body[: head.end()] + body[head.end() + end :]
        tail = body.rfind(b',"metadata":')
        if tail >= 0:
            rest = body[tail + len(b',"metadata":') :].decode("utf-8")
            metadata, end = _DECODER.raw_decode(rest)
            if rest[end:].strip() == "}":
                return _checked(metadata), body[:tail] + b"}"
    except (ValueError, UnicodeDecodeError):
        pass
    parsed = json.loads(body)
    if not isinstance(parsed, dict):
        raise ValueError("not a JSON object")
    metadata = parsed.pop("metadata", None) or {}
    return _checked(metadata), json.dumps(parsed, sort_keys=True).encode()


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
    a cache key needs, at a fraction of the bytes.  A server that cannot answers with the full list.
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
                    raise ClusterError(
                        f"the API server answered {path} with more than {MAX_PAGES} pages: the list never ends",
                        ExitCode.UNAVAILABLE,
                    )
                query: dict[str, str | int] = {"limit": METADATA_PAGE_SIZE if metadata_only else PAGE_SIZE}
                if token:
                    query["continue"] = token
                if label_selector:
                    query["labelSelector"] = label_selector
                if field_selector:
                    query["fieldSelector"] = field_selector
                page = api.get_raw(path, query, accept=accept)
                try:
                    metadata, _ = list_envelope(page)
                except ValueError:
                    raise ClusterError(
                        f"the API server answered {path} with something that is not a JSON list", ExitCode.UNAVAILABLE
                    ) from None
                if not _ITEMS.search(page):  # checked in full by page_items; a cheap first look here
                    raise ClusterError(
                        f"the API server answered {path} with a list whose items are not a list of objects", ExitCode.UNAVAILABLE
                    )
                pages.append(page)
                token = str(metadata.get("continue") or "")
                if not token:
                    break
                if token in seen:
                    raise ClusterError(
                        f"the API server answered {path} with a continue token it sent before: the list never ends",
                        ExitCode.UNAVAILABLE,
                    )
                seen.add(token)
        except ClusterError as exc:
            if exc.status == 410 and attempt < 2:
                continue  # the snapshot expired while paging: list again from the start
            raise
        return pages
    raise AssertionError("unreachable")  # pragma: no cover


def page_items(pages: Sequence[bytes]) -> Iterator[dict[str, Any]]:
    """The items of raw list pages, each with the kind and apiVersion the list items omit on the wire."""
    for data in pages:
        try:
            page = json.loads(data)
        except (ValueError, RecursionError):
            raise ClusterError("the API server answered a list with something that is not JSON", ExitCode.UNAVAILABLE) from None
        items = page.get("items", ()) if isinstance(page, dict) else None
        items = [] if items is None else items  # Go's encoding of an empty slice that was never made
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            kind = page.get("kind") if isinstance(page, dict) else None
            raise ClusterError(
                f"the API server answered a list ({kind or 'no kind'}) whose items are not a list of objects",
                ExitCode.UNAVAILABLE,
            )
        kind = str(page.get("kind", ""))
        api_version = str(page.get("apiVersion", ""))
        for item in items:
            item.setdefault("kind", kind[:-4] if kind.endswith("List") else kind)
            item.setdefault("apiVersion", api_version)
            yield item


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


# --------------------------------------------------------------------------- proxy admin


CONFIG_DUMP_MASK = "dynamic_route_configs,static_route_configs"
CONFIG_DUMP_PATH = f"/config_dump?mask={CONFIG_DUMP_MASK}"


def fetch_config_dump(api: Api, pod: str, namespace: str, *, port: int = 15000) -> tuple[bytes, str]:
    """The proxy's route config dump via port-forward, else via the pod proxy subresource.

    Returns the dump and how it was fetched; one ClusterError naming both causes when both fail.
    """
    from .portforward import PortForwardError, forward_get
    from .transport import TransportError, segment

    try:
        dump = forward_get(api.conn.transport, namespace=namespace, pod=pod, port=port, path=CONFIG_DUMP_PATH)
        return dump, "port-forward"
    except PortForwardError as exc:
        forward_error = str(exc)
    except TransportError as exc:
        if exc.kind == "timeout":  # the deadline is spent: the pod proxy would only time out again
            raise ClusterError(
                f"port-forward to pod {namespace}/{pod} timed out{api.conn.timeout_note}", ExitCode.TEMPFAIL
            ) from None
        forward_error = _short(exc)
    try:
        where = f"/api/v1/namespaces/{segment(namespace)}/pods/{segment(pod)}:{port}/proxy/config_dump"
        body = api.get_raw(where, {"mask": CONFIG_DUMP_MASK})
        return body, "pod proxy"
    except ClusterError as exc:
        raise ClusterError(
            f"cannot read the config dump of pod {namespace}/{pod}: port-forward to {port} failed ({forward_error});"
            f" pod proxy failed ({exc})",
            exc.code,
        ) from None
