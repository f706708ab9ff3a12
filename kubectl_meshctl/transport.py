"""Plain HTTPS GETs to the API server for kubeconfigs that need no auth machinery.

Why this module exists: importing the official client (``kubernetes``) takes 0.2-0.35 s -- its
package imports every typed model -- which is longer than ``kubectl get`` takes for a whole listing.
Most kubeconfigs need nothing the client adds: a server, a CA, and a bearer token, a token file, a
client certificate or basic auth.  Those go through ``http.client`` + ``ssl`` here; everything else
(exec credential plugins, auth-provider, proxy-url, unknown auth fields) goes through the official
client, which ``cluster.py`` picks with :func:`plain_auth`.  Both paths return the same raw bytes
and raise the same :class:`TransportError` kinds, so the rest of the cluster Source cannot tell
them apart.
"""

from __future__ import annotations

import base64
import http.client
import os
import socket
import ssl
import tempfile
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

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
    {"server", "certificate-authority", "certificate-authority-data", "insecure-skip-tls-verify", "tls-server-name", "extensions"}
)


class TransportError(Exception):
    """``kind`` is ``tls``, ``unreachable`` or ``timeout``; HTTP errors are answers, not TransportErrors."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


def plain_auth(cluster: Mapping[str, Any], user: Mapping[str, Any]) -> bool:
    """Whether this transport can talk to ``cluster`` as ``user`` exactly as kubectl would."""
    if set(user) - _PLAIN_USER_KEYS or set(cluster) - _PLAIN_CLUSTER_KEYS:
        return False
    server = str(cluster.get("server") or "")
    return server.startswith("https://") or server.startswith("http://")


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
        context = ssl.create_default_context()
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
        with tempfile.TemporaryDirectory(prefix="kubectl-meshctl-") as tmp:
            cert_file = _pem_file(_decoded(cert, "client-certificate-data"), tmp, "client.crt") if cert else cert_file
            key_file = _pem_file(_decoded(key, "client-key-data"), tmp, "client.key") if key else key_file
            context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    elif cert_file:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return context


class _Connection(http.client.HTTPSConnection):
    """HTTPSConnection that verifies the certificate against ``tls-server-name`` when the kubeconfig sets one."""

    def __init__(self, host: str, port: int | None, *, context: ssl.SSLContext, server_name: str, timeout: float | None):
        super().__init__(host, port, context=context, timeout=timeout)
        self._server_name = server_name
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self._server_name or self.host)


class PlainTransport:
    """GET ``path?query`` -> (status, body bytes); one keep-alive connection per thread."""

    def __init__(
        self, cluster: Mapping[str, Any], user: Mapping[str, Any], *, timeout: float | None, token: str | None = None
    ) -> None:
        url = urlsplit(str(cluster["server"]))
        self.https = url.scheme == "https"
        self.host = url.hostname or "localhost"
        self.port = url.port
        self.base_path = url.path.rstrip("/")
        self.timeout = timeout
        self.server_name = str(cluster.get("tls-server-name") or "")
        self.context = tls_context(cluster, user) if self.https else None
        self.headers = {"Accept": "application/json", "User-Agent": "kubectl-meshctl"}
        if token is None and user.get("tokenFile"):
            with open(str(user["tokenFile"]), encoding="utf-8") as fh:
                token = fh.read().strip()
        if token is None and user.get("token"):
            token = str(user["token"])
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        elif user.get("username") is not None:
            basic = base64.b64encode(f"{user['username']}:{user.get('password') or ''}".encode()).decode()
            self.headers["Authorization"] = f"Basic {basic}"
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self.context is not None:
                conn = _Connection(self.host, self.port, context=self.context, server_name=self.server_name, timeout=self.timeout)
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def get(self, path: str, query: Mapping[str, str | int] | None = None) -> tuple[int, bytes]:
        target = self.base_path + path + ("?" + urlencode(list(query.items())) if query else "")
        for attempt in (0, 1):
            conn = self._connection()
            try:
                conn.request("GET", target, headers=self.headers)
                response = conn.getresponse()
                return response.status, response.read()
            except ssl.SSLError as exc:
                self.close()
                raise TransportError("tls", str(exc)) from None
            except TimeoutError as exc:
                self.close()
                raise TransportError("timeout", str(exc)) from None
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                # a keep-alive connection the server closed while idle: reconnect once
                self.close()
                if attempt:
                    raise TransportError("unreachable", str(exc)) from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise TransportError("unreachable", str(exc) or type(exc).__name__) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
