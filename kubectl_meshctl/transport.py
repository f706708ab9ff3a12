"""Plain HTTPS GETs to the API server for kubeconfigs that need no auth machinery.

Why this module exists: importing the official client (``kubernetes``) takes 0.2-0.35 s -- its
package imports every typed model -- which is longer than ``kubectl get`` takes for a whole listing.
Most kubeconfigs need nothing the client adds: a server, a CA, and a bearer token, a token file, a
client certificate or basic auth, perhaps behind an HTTP proxy.  Those go through a small HTTP/1.1
client on ``socket`` + ``ssl`` here; everything else (exec credential plugins, auth-provider, other
proxies, unknown fields) goes through the official client, which ``cluster.py`` picks with
:func:`plain_auth`.  Both paths return the same raw bytes and raise the same :class:`TransportError`
kinds, so the rest of the cluster Source cannot tell them apart.
"""

from __future__ import annotations

import base64
import os
import socket
import ssl
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

# the user and cluster fields this transport understands; any other field sends the kubeconfig to the client
_PLAIN_USER_KEYS = frozenset(
    {
        "token",
        "tokenFile",
        "client-certificate",
        "client-certificate-data",
        "client-key",
        "client-key-data",
        "username",
        "password",
    }
)
_PLAIN_CLUSTER_KEYS = frozenset(
    {
        "server",
        "certificate-authority",
        "certificate-authority-data",
        "insecure-skip-tls-verify",
        "tls-server-name",
        "proxy-url",
        "extensions",
    }
)


class TransportError(Exception):
    """``kind`` is ``tls``, ``unreachable`` or ``timeout``; HTTP errors are answers, not TransportErrors."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


def plain_auth(cluster: Mapping[str, Any], user: Mapping[str, Any], *, proxy: str) -> bool:
    """Whether this transport can talk to ``cluster`` as ``user`` through ``proxy`` (see :func:`proxy_for`) exactly
    as kubectl would."""
    if set(user) - _PLAIN_USER_KEYS or set(cluster) - _PLAIN_CLUSTER_KEYS:
        return False
    server = str(cluster.get("server") or "")
    if not server.startswith(("https://", "http://")):
        return False
    # an HTTP proxy is tunnelled through (CONNECT); https/socks5 proxies and plain-HTTP servers behind a
    # proxy are left to the official client
    return not proxy or (proxy.startswith("http://") and server.startswith("https://"))


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


def _pem_file(data: str | bytes, directory: str, name: str) -> str:
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data if isinstance(data, bytes) else data.encode())
    return path


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
    if cert or key:
        # ssl loads key pairs from files only: write them 0600 into a private directory, load, delete
        import tempfile  # ~7 ms to import: only where a temporary file is made

        with tempfile.TemporaryDirectory(prefix="kubectl-meshctl-") as tmp:
            cert_file = _pem_file(_decoded(cert, "client-certificate-data"), tmp, "client.crt") if cert else cert_file
            key_file = _pem_file(_decoded(key, "client-key-data"), tmp, "client.key") if key else key_file
            context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    elif cert_file:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return context


class _HttpConnection:
    """One keep-alive HTTP/1.1 connection: GET only, Content-Length, chunked or read-to-close bodies.

    ``http.client`` would do, but it imports the ``email`` package (~10 ms, a tenth of a whole listing).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        context: ssl.SSLContext | None,
        server_name: str,
        timeout: float | None,
        proxy: str = "",
    ):
        self.host, self.port, self.context, self.server_name, self.timeout = host, port, context, server_name, timeout
        self.proxy = proxy
        self._sock: socket.socket | None = None
        self._reader: Any = None

    def _open(self) -> None:
        if self.proxy:
            sock = self._tunnel()
        else:
            # an ASCII host as bytes: a str would make getaddrinfo load the idna codec (1 ms)
            host: str | bytes = self.host.encode("ascii") if self.host.isascii() else self.host
            sock = socket.create_connection((host, self.port), self.timeout)  # type: ignore[arg-type]
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_hostname=self.server_name or self.host)
        self._sock = sock
        self._reader = sock.makefile("rb", buffering=1 << 16)

    def _tunnel(self) -> socket.socket:
        """A connection to the API server through the HTTP proxy's CONNECT, as kubectl makes it."""
        proxy = urlsplit(self.proxy)
        sock = socket.create_connection((proxy.hostname or "", proxy.port or 80), self.timeout)
        target = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
        if proxy.username is not None:
            credentials = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}"
            head += f"Proxy-Authorization: Basic {base64.b64encode(credentials.encode()).decode()}\r\n"
        sock.sendall((head + "\r\n").encode("latin-1"))
        answer = b""
        while not answer.endswith(b"\r\n\r\n"):  # byte by byte: nothing of the tunnel may be read ahead
            byte = sock.recv(1)
            if not byte or len(answer) > 65536:
                sock.close()
                raise _Closed(f"the proxy {proxy.hostname} closed the connection")
            answer += byte
        status = answer.split(b"\r\n", 1)[0].decode("latin-1")
        parts = status.split(None, 2)
        if len(parts) < 2 or not parts[1].startswith("2"):
            sock.close()
            raise ConnectionRefusedError(f"the proxy {proxy.hostname} answered {status!r} to CONNECT {target}")
        return sock

    @property
    def is_open(self) -> bool:
        return self._sock is not None

    def get(self, target: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
        if self._sock is None:
            self._open()
        assert self._sock is not None
        host = f"[{self.host}]" if ":" in self.host else self.host
        head = f"GET {target} HTTP/1.1\r\nHost: {host}:{self.port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self._sock.sendall(head.encode("latin-1"))
        status_line = self._line()
        if not status_line:
            raise _Closed("the server closed the connection")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise ValueError(f"not an HTTP response: {status_line[:80]!r}")
        fields: dict[str, str] = {}
        while True:
            line = self._line()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            fields[name.strip().lower()] = value.strip()
        if "chunked" in fields.get("transfer-encoding", "").lower():
            body = self._chunked()
        elif "content-length" in fields:
            body = self._exactly(int(fields["content-length"]))
        else:
            body = self._reader.read()
            fields["connection"] = "close"
        if fields.get("connection", "").lower() == "close" or parts[0] == b"HTTP/1.0":
            self.close()
        return int(parts[1]), body

    def _line(self) -> bytes:
        line: bytes = self._reader.readline(65537)
        if len(line) > 65536:
            raise ValueError("HTTP header line too long")
        return line

    def _exactly(self, size: int) -> bytes:
        data: bytes = self._reader.read(size)
        if len(data) != size:
            raise _Closed(f"the body ended after {len(data)} of {size} bytes")
        return data

    def _chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self._line().split(b";", 1)[0].strip() or b"x", 16)
            if size == 0:
                while self._line() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self._exactly(size))
            self._line()

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._reader.close()
                self._sock.close()
            finally:
                self._sock = None
                self._reader = None


class _Closed(ConnectionError):
    """The server closed a connection mid-exchange."""


class PlainTransport:
    """GET ``path?query`` -> (status, body bytes); one keep-alive connection per thread."""

    def __init__(
        self,
        cluster: Mapping[str, Any],
        user: Mapping[str, Any],
        *,
        timeout: float | None,
        proxy: str = "",
    ) -> None:
        url = urlsplit(str(cluster["server"]))
        self.https = url.scheme == "https"
        self.host = url.hostname or "localhost"
        self.port = url.port or (443 if self.https else 80)
        self.base_path = url.path.rstrip("/")
        self.timeout = timeout
        self.server_name = str(cluster.get("tls-server-name") or "")
        self.proxy = proxy
        self.context = tls_context(cluster, user) if self.https else None
        self.headers = {"Accept": "application/json", "User-Agent": "kubectl-meshctl"}
        token = str(user.get("token") or "")
        if user.get("tokenFile"):
            with open(str(user["tokenFile"]), encoding="utf-8") as fh:
                token = fh.read().strip()
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        elif user.get("username") is not None:
            basic = base64.b64encode(f"{user['username']}:{user.get('password') or ''}".encode()).decode()
            self.headers["Authorization"] = f"Basic {basic}"
        self._local = threading.local()

    def _connection(self) -> _HttpConnection:
        conn: _HttpConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _HttpConnection(
                self.host, self.port, context=self.context, server_name=self.server_name, timeout=self.timeout, proxy=self.proxy
            )
            self._local.conn = conn
        return conn

    def get(
        self, path: str, query: Mapping[str, str | int] | None = None, *, accept: str = "application/json"
    ) -> tuple[int, bytes]:
        target = self.base_path + path + ("?" + urlencode(list(query.items())) if query else "")
        headers = {**self.headers, "Accept": accept}
        for attempt in (0, 1):
            conn = self._connection()
            reused = conn.is_open
            try:
                return conn.get(target, headers)
            except ssl.SSLError as exc:
                conn.close()
                raise TransportError("tls", str(exc)) from None
            except TimeoutError as exc:
                conn.close()
                raise TransportError("timeout", str(exc) or "timed out") from None
            except (_Closed, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                if not reused or attempt:
                    raise TransportError("unreachable", str(exc)) from None
                # a keep-alive connection the server closed while idle: one retry on a new connection
            except (OSError, ValueError) as exc:
                conn.close()
                raise TransportError("unreachable", str(exc) or type(exc).__name__) from None
        raise AssertionError("unreachable")  # pragma: no cover
