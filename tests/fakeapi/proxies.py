"""Proxies for tests: HTTP CONNECT (plain or TLS, optionally with a password) and SOCKS5, plus a listener that
records whatever reaches it.  Each proxy resolves every target host to 127.0.0.1 (the fake's hostnames are not in
DNS) and records the targets, so a test can prove which way a client's bytes went.  Test fixtures, never product.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import struct
import threading
from pathlib import Path


def _pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def _splice(client: socket.socket, port: int) -> None:
    upstream = socket.create_connection(("127.0.0.1", port))
    threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
    _pipe(client, upstream)


def _server_context(tls: tuple[Path, Path] | None) -> ssl.SSLContext | None:
    """The server side of TLS with ``tls`` = (certificate file, key file); None for plain TCP."""
    if tls is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tls[0]), str(tls[1]))
    return context


class _Listener:
    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._guarded, args=(client,), daemon=True).start()

    def _guarded(self, client: socket.socket) -> None:
        try:
            self._handle(client)
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                client.close()

    def _handle(self, client: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        # shutdown first: on Linux a thread blocked in accept() is not woken by close(), and would later accept
        # from whatever listener reuses the file descriptor number
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()

    def __enter__(self) -> _Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ConnectProxy(_Listener):
    """An HTTP CONNECT proxy; with ``tls`` (cert and key files) clients speak TLS to it first (an https:// proxy)."""

    def __init__(self, *, password: str | None = None, tls: tuple[Path, Path] | None = None) -> None:
        self.password = password
        self.connects: list[tuple[str, str | None]] = []
        self.context = _server_context(tls)
        super().__init__()

    def _handle(self, client: socket.socket) -> None:
        if self.context is not None:
            client = self.context.wrap_socket(client, server_side=True)
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            chunk = client.recv(1)
            if not chunk:
                client.close()
                return
            head += chunk
        lines = head.decode().split("\r\n")
        target = lines[0].split()[1]
        auth = next((line.split(": ", 1)[1] for line in lines if line.lower().startswith("proxy-authorization:")), None)
        self.connects.append((target, auth))
        if self.password is not None and auth != "Basic " + base64.b64encode(f"u:{self.password}".encode()).decode():
            client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            client.close()
            return
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        _splice(client, int(target.rsplit(":", 1)[1]))


class Socks5Proxy(_Listener):
    """A SOCKS5 proxy (RFC 1928, no authentication or user/password) that records ``host:port`` targets."""

    def __init__(self, *, password: str | None = None) -> None:
        self.password = password
        self.connects: list[str] = []
        super().__init__()

    @staticmethod
    def _exact(sock: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            more = sock.recv(size - len(data))
            if not more:
                raise ValueError("closed")
            data += more
        return data

    def _handle(self, client: socket.socket) -> None:
        _, count = self._exact(client, 2)
        methods = self._exact(client, count)
        wanted = 2 if self.password is not None else 0
        if wanted not in methods:
            client.sendall(b"\x05\xff")
            client.close()
            return
        client.sendall(bytes((5, wanted)))
        if wanted == 2:
            _, ulen = self._exact(client, 2)
            self._exact(client, ulen)
            (plen,) = self._exact(client, 1)
            ok = self._exact(client, plen).decode() == self.password
            client.sendall(b"\x01\x00" if ok else b"\x01\x01")
            if not ok:
                client.close()
                return
        _, _command, _, kind = self._exact(client, 4)
        if kind == 1:
            host = socket.inet_ntop(socket.AF_INET, self._exact(client, 4))
        elif kind == 4:
            host = socket.inet_ntop(socket.AF_INET6, self._exact(client, 16))
        else:
            (length,) = self._exact(client, 1)
            host = self._exact(client, length).decode()
        (port,) = struct.unpack("!H", self._exact(client, 2))
        self.connects.append(f"{host}:{port}")
        client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", port))
        _splice(client, port)


class Recorder(_Listener):
    """A server nobody should talk to: it records every byte it receives and answers nothing."""

    def __init__(self, *, tls: tuple[Path, Path] | None = None) -> None:
        self.received: list[bytes] = []
        self.context = _server_context(tls)
        super().__init__()

    def _handle(self, client: socket.socket) -> None:
        self.received.append(b"<connected>")
        if self.context is not None:
            client = self.context.wrap_socket(client, server_side=True)
        client.settimeout(10)
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                self.received.append(data)
        client.close()
