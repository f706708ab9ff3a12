"""Every byte to and from the API server: HTTP/1.1 GETs and the port-forward stream, under one deadline.

Why this module exists: the plugin holds people's credentials and reads answers from servers and
proxies it cannot trust.  Everything that crosses the network goes through this one small client on
``socket`` + ``ssl`` (importing the official client alone took 0.2-0.35 s, longer than ``kubectl get``
takes for a whole listing), so the rules live in one place:

* a request ends by its :class:`Deadline` (``--request-timeout``: connect, TLS, headers and the whole
  body, or the port-forward upgrade and the proxied exchange), whatever the server drips;
* a body is at most :data:`MAX_BODY` bytes, with or without a length;
* redirects are never followed (a 3xx is an answer, so the credentials never go to another host);
* the only peers are the API server and the proxy kubectl would use (``proxy-url``, else
  HTTPS_PROXY/NO_PROXY): HTTP proxies by CONNECT, HTTPS proxies by CONNECT inside TLS, SOCKS5.

Credentials that need the official client's machinery (exec plugins, auth-provider) are obtained
once by ``connection.py`` and handed here as a plain token or key pair.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote, unquote, urlencode, urlsplit

MAX_BODY = 256 << 20
"""Bytes one response body may have: a list page of 500 objects is a few MB, a route config dump tens of MB."""
MAX_HEADER_LINE = 65536
CONNECT_TIMEOUT = 30.0
"""kubectl's dialer timeout: a connection attempt never waits longer, even without --request-timeout."""
TLS_HANDSHAKE_TIMEOUT = 10.0
"""Go's http.DefaultTransport TLSHandshakeTimeout, which kubectl keeps."""
RUN_TIMEOUT_FACTOR = 10
"""With --request-timeout T, every request of a run ends within RUN_TIMEOUT_FACTOR * T of its start."""
IMPERSONATION = {"as": "Impersonate-User", "as-uid": "Impersonate-Uid"}


class TransportError(Exception):
    """``kind`` is ``tls``, ``unreachable``, ``timeout`` or ``too-large``; HTTP errors are answers."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


class Deadline:
    """The instant by which a request must be done (``None``: none); each blocking step waits at most what is left."""

    __slots__ = ("at",)

    def __init__(self, at: float | None) -> None:
        self.at = at

    @classmethod
    def after(cls, seconds: float | None, *, within: Deadline | None = None) -> Deadline:
        at = None if seconds is None else time.monotonic() + seconds
        if within is not None and within.at is not None:
            at = within.at if at is None else min(at, within.at)
        return cls(at)

    def remaining(self, cap: float | None = None) -> float | None:
        """Seconds left (at most ``cap``); raises TimeoutError once the instant has passed."""
        if self.at is None:
            return cap
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left if cap is None else min(left, cap)


class _Socket(Protocol):
    def settimeout(self, value: float | None, /) -> None: ...
    def recv(self, size: int, /) -> bytes: ...
    def recv_into(self, buffer: memoryview, size: int, /) -> int: ...
    def sendall(self, data: bytes, /) -> None: ...
    def close(self) -> None: ...


class _Closed(ConnectionError):
    """The server closed a connection mid-exchange."""


class _TooLarge(Exception):
    pass


class Stream:
    """A connected socket read through one buffer; every send and receive is bounded by :attr:`deadline`."""

    def __init__(self, sock: _Socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.deadline = Deadline(None)

    def _wait(self) -> None:
        self.sock.settimeout(self.deadline.remaining())

    def send(self, data: bytes) -> None:
        self._wait()
        self.sock.sendall(data)

    def at_end(self) -> bool:
        """Whether the peer closed with nothing left to read (one receive when nothing is buffered)."""
        if not self.buffer:
            self._wait()
            self.buffer += self.sock.recv(1 << 16)
        return not self.buffer

    def readline(self, limit: int = MAX_HEADER_LINE) -> bytes:
        scanned = 0
        while True:
            end = self.buffer.find(b"\n", scanned)
            if end >= 0:
                line = bytes(self.buffer[: end + 1])
                del self.buffer[: end + 1]
                return line
            if len(self.buffer) > limit:
                raise ValueError("HTTP header line too long")
            scanned = len(self.buffer)
            self._wait()
            data = self.sock.recv(1 << 16)
            if not data:
                line = bytes(self.buffer)
                self.buffer.clear()
                return line
            self.buffer += data

    def read_exact(self, size: int) -> bytes:
        if size > MAX_BODY:
            raise _TooLarge(size)
        out = bytearray(size)
        view = memoryview(out)
        have = min(len(self.buffer), size)
        view[:have] = self.buffer[:have]
        del self.buffer[:have]
        while have < size:
            self._wait()
            got = self.sock.recv_into(view[have:], min(size - have, 1 << 20))
            if not got:
                raise _Closed(f"the body ended after {have} of {size} bytes")
            have += got
        return bytes(out)

    def read_to_close(self) -> bytes:
        chunks = [bytes(self.buffer)]
        total = len(self.buffer)
        self.buffer.clear()
        while True:
            self._wait()
            data = self.sock.recv(1 << 16)
            if not data:
                return b"".join(chunks)
            total += len(data)
            if total > MAX_BODY:
                raise _TooLarge(total)
            chunks.append(data)

    def read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.readline(1024)
            if not line.endswith(b"\n"):
                raise _Closed("the chunked body ended early")
            size_text = line.split(b";", 1)[0].strip()
            if not size_text or len(size_text) > 16 or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
                raise ValueError(f"bad chunked encoding: chunk size {size_text[:20]!r}")
            size = int(size_text, 16)
            if size == 0:
                while self.readline(MAX_HEADER_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise _TooLarge(total)
            chunks.append(self.read_exact(size))
            if self.readline(8) not in (b"\r\n", b"\n"):
                raise ValueError("bad chunked encoding: no CRLF after a chunk")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class _TlsInTls:
    """TLS with the API server inside the TLS connection to an HTTPS proxy (``ssl`` cannot wrap an SSLSocket twice)."""

    def __init__(self, outer: ssl.SSLSocket, context: ssl.SSLContext, server_hostname: str) -> None:
        self.outer = outer
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname=server_hostname)
        self._run(self.tls.do_handshake)

    def _run(self, operation: Any, *args: Any) -> Any:
        while True:
            try:
                result = operation(*args)
            except ssl.SSLWantReadError:
                self._flush()
                data = self.outer.recv(1 << 16)
                if data:
                    self.incoming.write(data)
                else:
                    self.incoming.write_eof()
                continue
            self._flush()
            return result

    def _flush(self) -> None:
        data = self.outgoing.read()
        if data:
            self.outer.sendall(data)

    def settimeout(self, value: float | None) -> None:
        self.outer.settimeout(value)

    def recv(self, size: int) -> bytes:
        try:
            data: bytes = self._run(self.tls.read, size)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""
        return data

    def recv_into(self, buffer: memoryview, size: int) -> int:
        data = self.recv(size)
        buffer[: len(data)] = data
        return len(data)

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            sent: int = self._run(self.tls.write, view)
            view = view[sent:]

    def close(self) -> None:
        self.outer.close()


def _dial(host: str, port: int, deadline: Deadline) -> socket.socket:
    # an ASCII host as bytes: a str would make getaddrinfo load the idna codec (1 ms)
    name: Any = host.encode("ascii") if host.isascii() else host
    sock = socket.create_connection((name, port), deadline.remaining(CONNECT_TIMEOUT))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _handshake(sock: socket.socket, context: ssl.SSLContext, server_hostname: str, deadline: Deadline) -> ssl.SSLSocket:
    sock.settimeout(deadline.remaining(TLS_HANDSHAKE_TIMEOUT))
    return context.wrap_socket(sock, server_hostname=server_hostname)


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Endpoint:
    """How to reach the API server: its address and TLS settings, and the proxy in between (``""`` for none)."""

    def __init__(self, *, host: str, port: int, context: ssl.SSLContext | None, server_name: str, proxy: str) -> None:
        self.host, self.port, self.context, self.server_name, self.proxy = host, port, context, server_name, proxy

    def open(self, deadline: Deadline) -> Stream:
        """A new connection to the API server (TLS done when the server is https), through the proxy if any."""
        sock: Any
        if not self.proxy:
            sock = _dial(self.host, self.port, deadline)
        else:
            sock = self._tunnel(deadline)
        if self.context is not None:
            hostname = self.server_name or self.host
            if isinstance(sock, ssl.SSLSocket):  # the tunnel itself is TLS (an https proxy)
                sock.settimeout(deadline.remaining(TLS_HANDSHAKE_TIMEOUT))
                sock = _TlsInTls(sock, self.context, hostname)
            else:
                sock = _handshake(sock, self.context, hostname, deadline)
        return Stream(sock)

    def _tunnel(self, deadline: Deadline) -> Any:
        proxy = urlsplit(self.proxy)
        scheme = proxy.scheme.lower()
        proxy_host = proxy.hostname or ""
        if scheme in ("socks5", "socks5h"):
            return _socks5(proxy, self.host, self.port, deadline)
        sock: Any = _dial(proxy_host, proxy.port or (443 if scheme == "https" else 80), deadline)
        if scheme == "https":  # the proxy's certificate is checked against the system's roots, as kubectl does
            sock = _handshake(sock, ssl.create_default_context(), proxy_host, deadline)
        stream = Stream(sock)
        stream.deadline = deadline
        target = _authority(self.host, self.port)
        head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
        if proxy.username is not None:
            credentials = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}"
            head += f"Proxy-Authorization: Basic {base64.b64encode(credentials.encode()).decode()}\r\n"
        try:
            stream.send((head + "\r\n").encode("latin-1"))
            status = stream.readline()
            while stream.readline() not in (b"\r\n", b"\n", b""):
                pass
        except BaseException:
            stream.close()
            raise
        parts = status.split(None, 2)
        if not status or stream.buffer or len(parts) < 2 or not parts[1].startswith(b"2"):
            stream.close()
            said = status.decode("latin-1").strip()[:100] if status else "nothing"
            raise ConnectionRefusedError(f"the proxy {proxy_host} answered {said!r} to CONNECT {target}")
        return sock


_SOCKS_REPLIES = {
    1: "general failure",
    2: "connection not allowed by ruleset",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported",
}


def _socks5(proxy: Any, host: str, port: int, deadline: Deadline) -> socket.socket:
    """A connection to ``host:port`` through a SOCKS5 proxy (RFC 1928; user/password per RFC 1929), names resolved
    by the proxy as kubectl's dialer does."""
    name = proxy.hostname or ""
    sock = _dial(name, proxy.port or 1080, deadline)
    stream = Stream(sock)  # read_exact never reads past what it is asked for: nothing of the tunnel is consumed
    stream.deadline = deadline
    try:
        methods = b"\x00\x02" if proxy.username is not None else b"\x00"
        stream.send(b"\x05" + bytes((len(methods),)) + methods)
        version, method = stream.read_exact(2)
        if version != 5:
            raise ConnectionRefusedError(f"the proxy {name} does not speak SOCKS5")
        if method == 2:
            user = unquote(proxy.username or "").encode()[:255]
            password = unquote(proxy.password or "").encode()[:255]
            stream.send(b"\x01" + bytes((len(user),)) + user + bytes((len(password),)) + password)
            if stream.read_exact(2)[1] != 0:
                raise ConnectionRefusedError(f"the SOCKS5 proxy {name} refused the credentials")
        elif method != 0:
            raise ConnectionRefusedError(f"the SOCKS5 proxy {name} accepts none of our authentication methods")
        import ipaddress

        try:
            address = ipaddress.ip_address(host)
            target = (b"\x01" if address.version == 4 else b"\x04") + address.packed
        except ValueError:
            encoded = host.encode("idna")[:255]
            target = b"\x03" + bytes((len(encoded),)) + encoded
        stream.send(b"\x05\x01\x00" + target + struct.pack("!H", port))
        _, reply, _, kind = stream.read_exact(4)
        if reply != 0:
            raise ConnectionRefusedError(
                f"the SOCKS5 proxy {name} could not connect to {_authority(host, port)}: {_SOCKS_REPLIES.get(reply, reply)}"
            )
        bound = {1: 4, 4: 16}.get(kind)
        stream.read_exact((bound if bound is not None else stream.read_exact(1)[0]) + 2)
    except _Closed:
        sock.close()
        raise _Closed("the SOCKS proxy closed the connection") from None
    except BaseException:
        sock.close()
        raise
    return sock


def proxy_for(server: str, environ: Mapping[str, str], *, proxy_url: str = "") -> str:
    """The proxy kubectl would use for ``server`` ("" for none): the cluster's ``proxy-url``, else Go's
    ``http.ProxyFromEnvironment`` -- HTTPS_PROXY (HTTP_PROXY for http servers), never for localhost or a
    loopback address, not for hosts NO_PROXY names (``*``, IPs, CIDRs, domains and their subdomains, ``.domain``
    for subdomains only, optionally ``:port``)."""
    if proxy_url:
        return proxy_url
    url = urlsplit(server)
    https = url.scheme == "https"
    names = ("HTTPS_PROXY", "https_proxy") if https else ("HTTP_PROXY", "http_proxy")
    proxy = next((environ[n] for n in names if environ.get(n)), "")
    if not proxy:
        return ""
    host = (url.hostname or "").lower()
    if host == "localhost" or _is_loopback(host):
        return ""
    no_proxy = environ.get("NO_PROXY") or environ.get("no_proxy") or ""
    if no_proxy and _bypassed(host, url.port or (443 if https else 80), no_proxy):
        return ""
    return proxy if "://" in proxy else f"http://{proxy}"


def _is_loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bypassed(host: str, port: int, no_proxy: str) -> bool:
    import ipaddress

    try:
        host_ip: Any = ipaddress.ip_address(host)
    except ValueError:
        host_ip = None
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry:  # a CIDR
            try:
                if host_ip is not None and host_ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name, entry_port = entry, ""
        if entry.startswith("["):  # [v6]:port
            name, _, rest = entry[1:].partition("]")
            entry_port = rest.lstrip(":")
        elif entry.count(":") == 1:
            name, entry_port = entry.split(":")
        if entry_port and entry_port != str(port):
            continue
        try:
            entry_ip: Any = ipaddress.ip_address(name)
        except ValueError:
            entry_ip = None
        if entry_ip is not None:  # an IP entry matches that IP only
            if entry_ip == host_ip:
                return True
            continue
        if name.startswith("*."):
            name = name[1:]
        if name.startswith("."):
            if host.endswith(name):
                return True
        elif host == name or host.endswith("." + name):
            return True
    return False


@contextlib.contextmanager
def _secret_file(data: bytes) -> Iterator[str]:
    """A path that holds ``data`` only while the block runs (``ssl`` loads key pairs from files only).

    On Linux the file is anonymous memory (memfd): the key never reaches a disk, even if the process is
    killed.  Elsewhere: a 0600 file in a private directory, deleted when the block ends.
    """
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fd = os.memfd_create("kubectl-meshctl-key", os.MFD_CLOEXEC)
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    import tempfile  # ~7 ms to import: only where a temporary file is made

    with tempfile.TemporaryDirectory(prefix="kubectl-meshctl-") as tmp:
        path = os.path.join(tmp, "secret.pem")
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
            fh.write(data)
        yield path


def _decoded(value: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=False)
    except ValueError:
        raise ValueError(f"{what} is not base64") from None


def tls_context(cluster: Mapping[str, Any], user: Mapping[str, Any]) -> ssl.SSLContext:
    """The TLS settings of a kubeconfig cluster + user: CA (file or data), insecure, client certificate."""
    if cluster.get("insecure-skip-tls-verify") is True:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # not create_default_context: no trust store to load
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif cluster.get("certificate-authority-data"):
        pem = _decoded(cluster["certificate-authority-data"], "certificate-authority-data").decode("ascii", "replace")
        context = ssl.create_default_context(cadata=pem)
    elif cluster.get("certificate-authority"):
        context = ssl.create_default_context(cafile=str(cluster["certificate-authority"]))
    else:
        context = ssl.create_default_context()
    cert, key = user.get("client-certificate-data"), user.get("client-key-data")
    cert_file, key_file = user.get("client-certificate"), user.get("client-key")
    with contextlib.ExitStack() as files:
        if cert:
            cert_file = files.enter_context(_secret_file(_decoded(cert, "client-certificate-data")))
        if key:
            key_file = files.enter_context(_secret_file(_decoded(key, "client-key-data")))
        if cert_file:
            context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return context


def header_safe(value: str) -> bool:
    """Whether ``value`` can be an HTTP header value as it is (no line break, no control or non-ASCII character)."""
    return value.isascii() and value.isprintable()


def _header_value(value: str, what: str) -> str:
    """A header value as a server would read it, or a ValueError that names ``what`` -- never the value."""
    if not header_safe(value):
        raise ValueError(f"{what} contains characters that cannot be sent in an HTTP header")
    return value


def segment(name: str) -> str:
    """``name`` as one path segment of a request: a name a server or a user gave cannot reach another path."""
    return quote(name, safe="")


def credential_headers(user: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The Authorization and Impersonate-* headers kubectl sends for a kubeconfig user."""
    headers: list[tuple[str, str]] = []
    token = str(user.get("token") or "")  # a tokenFile was read (and trimmed) by kubeconfig.resolve
    if token:
        headers.append(("Authorization", "Bearer " + _header_value(token, "the user's token")))
    elif user.get("username") is not None:
        basic = f"{user['username']}:{user.get('password') or ''}".encode()
        headers.append(("Authorization", "Basic " + base64.b64encode(basic).decode()))
    for key, header in IMPERSONATION.items():
        if user.get(key):
            headers.append((header, _header_value(str(user[key]), f"the user's {key}")))
    groups = user.get("as-groups") or []
    for group in groups if isinstance(groups, list) else [groups]:
        headers.append(("Impersonate-Group", _header_value(str(group), "the user's as-groups")))
    extra = user.get("as-user-extra") or {}
    if isinstance(extra, Mapping):
        for key, values in extra.items():
            for value in values if isinstance(values, list) else [values]:
                headers.append((f"Impersonate-Extra-{quote(str(key), safe='')}", _header_value(str(value), "as-user-extra")))
    return headers


class _HttpConnection:
    """One keep-alive HTTP/1.1 connection: GET only, Content-Length, chunked or read-to-close bodies."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.stream: Stream | None = None

    @property
    def is_open(self) -> bool:
        return self.stream is not None

    def get(self, target: str, headers: list[tuple[str, str]], deadline: Deadline) -> Answer:
        if self.stream is None:
            self.stream = self.endpoint.open(deadline)
        stream = self.stream
        stream.deadline = deadline
        host = _authority(self.endpoint.host, self.endpoint.port)
        head = f"GET {target} HTTP/1.1\r\nHost: {host}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        stream.send(head.encode("latin-1"))
        status, fields, version = read_response_head(stream)
        body, closed = read_body(stream, fields)
        if closed or fields.get("connection", "").lower() == "close" or version == b"HTTP/1.0":
            self.close()
        return Answer(status, body)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None


class Answer(NamedTuple):
    """An HTTP answer: any status is an answer (errors are the caller's to judge), the body read in full."""

    status: int
    body: bytes


class ResponseHead(NamedTuple):
    status: int
    fields: dict[str, str]
    """Header fields by lower-case name."""
    version: bytes
    """``HTTP/1.1``."""


class Body(NamedTuple):
    data: bytes
    closed: bool
    """It ended with the connection (no length given): the connection cannot be used again."""


def read_response_head(stream: Stream) -> ResponseHead:
    """Status, header fields (lower-case names) and HTTP version of the response starting on ``stream``."""
    status_line = stream.readline()
    if not status_line:
        raise _Closed("the server closed the connection")
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit() or len(parts[1]) != 3:
        raise ValueError(f"not an HTTP response: {status_line[:80]!r}")
    fields: dict[str, str] = {}
    for _ in range(1000):
        line = stream.readline()
        if line in (b"\r\n", b"\n"):
            return ResponseHead(int(parts[1]), fields, parts[0])
        if not line:
            raise _Closed("the server closed the connection in the response headers")
        name, _, value = line.decode("latin-1").partition(":")
        fields[name.strip().lower()] = value.strip()
    raise ValueError("too many HTTP header fields")


def read_body(stream: Stream, fields: Mapping[str, str]) -> Body:
    """The body after a response head with these ``fields`` (chunked, Content-Length, or up to the close), and
    whether it ended with the connection."""
    if "chunked" in fields.get("transfer-encoding", "").lower():
        return Body(stream.read_chunked(), False)
    if "content-length" in fields:
        length = fields["content-length"]
        if not length.isdigit():
            raise ValueError(f"bad Content-Length {length[:20]!r}")
        return Body(stream.read_exact(int(length)), False)
    return Body(stream.read_to_close(), True)


class PlainTransport:
    """GET ``path?query`` -> :class:`Answer`; one keep-alive connection per thread.

    With ``timeout`` (``--request-timeout``) every request ends within it, and every request of this
    transport's life within :data:`RUN_TIMEOUT_FACTOR` times it.
    """

    def __init__(self, cluster: Mapping[str, Any], user: Mapping[str, Any], *, timeout: float | None, proxy: str = "") -> None:
        url = urlsplit(str(cluster["server"]))
        https = url.scheme == "https"
        host = url.hostname or "localhost"
        port = url.port or (443 if https else 80)
        self.base_path = url.path.rstrip("/")
        self.timeout = timeout
        self.run_deadline = Deadline.after(None if timeout is None else timeout * RUN_TIMEOUT_FACTOR)
        context = tls_context(cluster, user) if https else None
        server_name = str(cluster.get("tls-server-name") or "")
        self.endpoint = Endpoint(host=host, port=port, context=context, server_name=server_name, proxy=proxy)
        self.headers = [("User-Agent", "kubectl-meshctl"), *credential_headers(user)]
        self._local = threading.local()

    def deadline(self) -> Deadline:
        """The deadline of a request starting now."""
        return Deadline.after(self.timeout, within=self.run_deadline)

    def _connection(self) -> _HttpConnection:
        conn: _HttpConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _HttpConnection(self.endpoint)
            self._local.conn = conn
        return conn

    def target(self, path: str, query: Mapping[str, str | int] | None = None) -> str:
        return self.base_path + path + ("?" + urlencode(list(query.items())) if query else "")

    def get(self, path: str, query: Mapping[str, str | int] | None = None, *, accept: str = "application/json") -> Answer:
        target = self.target(path, query)
        headers = [("Accept", accept), *self.headers]
        deadline = self.deadline()
        for attempt in (0, 1):
            conn = self._connection()
            reused = conn.is_open
            try:
                return conn.get(target, headers, deadline)
            except BaseException as exc:
                conn.close()
                retry = isinstance(exc, (_Closed, ConnectionResetError, BrokenPipeError)) and reused and not attempt
                if not retry:  # else a keep-alive connection the server closed while idle: one retry on a new one
                    raise transport_error(exc) from None
        raise AssertionError("unreachable")  # pragma: no cover


def transport_error(exc: BaseException) -> BaseException:
    """The TransportError for a failed exchange (anything else, KeyboardInterrupt say, is passed on)."""
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, ssl.SSLError) and not isinstance(exc, (ssl.SSLZeroReturnError, ssl.SSLEOFError)):
        return TransportError("tls", str(exc))
    if isinstance(exc, TimeoutError):
        return TransportError("timeout", str(exc) or "timed out")
    if isinstance(exc, _TooLarge):
        return TransportError("too-large", f"the answer is larger than {MAX_BODY >> 20} MiB")
    if isinstance(exc, (OSError, ValueError)):
        return TransportError("unreachable", str(exc) or type(exc).__name__)
    return exc
