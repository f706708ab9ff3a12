"""One HTTP GET to a port of a pod, through the API server's port-forward subresource (WebSocket).

Why this module exists: ``routes POD`` reads the gateway's config dump from its admin port.  The
official client's port-forward follows a redirect of the upgrade (sending the bearer token to the
host the ``Location`` names, in clear text for ``ws://``), ignores the configured proxy and waits a
minute for an unanswered upgrade.  This one opens its connection through ``transport.py`` like every
other request: the same proxy, the same deadline, the same size limit, and any answer but ``101`` is
an error, never a redirect to follow.  It speaks the ``v4.channel.k8s.io`` channel protocol that
kube-apiserver and ``kubectl port-forward`` (WebSocket since 1.30) use.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from collections.abc import Iterator
from typing import Any

from .transport import MAX_BODY, PlainTransport, Stream, read_body, read_response_head, segment, transport_error

PROTOCOL = "v4.channel.k8s.io"
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_OP_CONTINUATION, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class PortForwardError(Exception):
    """The port-forward could not be used: one line (the Status message the API server sent, where it sent one)."""


def forward_get(transport: PlainTransport, *, namespace: str, pod: str, port: int, path: str) -> bytes:
    """The body of ``GET path`` on ``pod:port``; raises PortForwardError, or TransportError for network failures."""
    deadline = transport.deadline()
    try:
        stream = transport.endpoint.open(deadline)
    except BaseException as exc:
        raise transport_error(exc) from None
    stream.deadline = deadline
    try:
        return _exchange(stream, transport, namespace=namespace, pod=pod, port=port, path=path)
    except PortForwardError:
        raise
    except BaseException as exc:
        raise transport_error(exc) from None
    finally:
        stream.close()


def _exchange(stream: Stream, transport: PlainTransport, *, namespace: str, pod: str, port: int, path: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    target = transport.target(f"/api/v1/namespaces/{segment(namespace)}/pods/{segment(pod)}/portforward", {"ports": port})
    host = f"[{transport.endpoint.host}]" if ":" in transport.endpoint.host else transport.endpoint.host
    headers = [
        ("Host", f"{host}:{transport.endpoint.port}"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Protocol", PROTOCOL),
        *transport.headers,
    ]
    head = f"GET {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    stream.send(head.encode("latin-1"))
    status, fields, _ = read_response_head(stream)
    if status != 101:
        raise PortForwardError(_refusal(status, fields, stream))
    expected = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()
    if fields.get("sec-websocket-accept") != expected or fields.get("upgrade", "").lower() != "websocket":
        raise PortForwardError("the API server's answer to the port-forward upgrade is not a WebSocket handshake")
    request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAccept: application/json\r\n\r\n"
    stream.send(_client_frame(_OP_BINARY, b"\x00" + request.encode("latin-1")))
    answer = _read_channels(stream)
    return _http_body(answer)


def _refusal(status: int, fields: dict[str, str], stream: Stream) -> str:
    """Why the upgrade was not accepted: the Status message of the answer (its body read within bounds)."""
    if 300 <= status < 400:
        return f"the API server answered {status} to the port-forward upgrade (redirects are not followed)"
    body = b""
    length = fields.get("content-length", "")
    if length.isdigit() and int(length) <= 1 << 16:
        body = stream.read_exact(int(length))
    message = ""
    try:
        parsed: Any = json.loads(body) if body else None
        if isinstance(parsed, dict):
            message = str(parsed.get("message") or "")
    except ValueError:
        pass
    return f"{status}: {message}" if message else f"the API server answered {status} to the port-forward upgrade"


def _client_frame(opcode: int, payload: bytes) -> bytes:
    """One final frame, masked as RFC 6455 requires of clients."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    return header + mask + _masked(payload, mask)


def _masked(payload: bytes, mask: bytes) -> bytes:
    """``payload`` XOR the repeated 4-byte ``mask`` (RFC 6455 5.3; masking and unmasking are the same)."""
    length = len(payload)
    if not length:
        return b""
    repeated = (mask * (length // 4 + 1))[:length]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(length, "big")


def _frames(stream: Stream) -> Iterator[tuple[int, bytes]]:
    """``(opcode, payload)`` of each complete message until the connection ends; fragments joined, size bounded."""
    fragments: list[bytes] = []
    fragment_opcode = _OP_BINARY
    total = 0
    while True:
        if stream.at_end():  # the connection ended cleanly between frames
            return
        first = stream.read_exact(2)
        fin, opcode, length = first[0] & 0x80, first[0] & 0x0F, first[1] & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", stream.read_exact(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", stream.read_exact(8))
        total += length
        if total > MAX_BODY:
            raise PortForwardError(f"the port-forward answer is larger than {MAX_BODY >> 20} MiB")
        mask = stream.read_exact(4) if first[1] & 0x80 else b""
        payload = stream.read_exact(length)
        if mask:
            payload = _masked(payload, mask)
        if opcode >= 0x8:
            yield opcode, payload
            continue
        if opcode != _OP_CONTINUATION:
            fragment_opcode, fragments = opcode, []
        fragments.append(payload)
        if fin:
            yield fragment_opcode, b"".join(fragments)
            fragments = []


def _read_channels(stream: Stream) -> bytes:
    """Channel 0 (data) until the connection closes; channel 1 (error) text raises.  The first message on each
    channel is the port number the channel belongs to."""
    data: list[bytes] = []
    prefixed: set[int] = set()
    for opcode, payload in _frames(stream):
        if opcode == _OP_CLOSE:
            break
        if opcode == _OP_PING:
            stream.send(_client_frame(_OP_PONG, payload))
            continue
        if opcode not in (_OP_BINARY, _OP_TEXT) or not payload:
            continue
        channel, body = payload[0], payload[1:]
        if channel not in prefixed:  # the port this channel carries, little-endian
            prefixed.add(channel)
            body = body[2:]
        if channel == 0:
            data.append(body)
        elif channel == 1 and body:
            text = body.decode("utf-8", "replace").strip().splitlines()
            raise PortForwardError(text[0][:300] if text else "port-forward error")
    return b"".join(data)


class _Bytes:
    """A finished byte string read like a socket, so the HTTP reader can parse what came through the channel."""

    def __init__(self, data: bytes) -> None:
        self.view = memoryview(data)

    def settimeout(self, value: float | None) -> None:
        pass

    def recv(self, size: int) -> bytes:
        chunk = bytes(self.view[:size])
        self.view = self.view[size:]
        return chunk

    def recv_into(self, buffer: memoryview, size: int) -> int:
        chunk = self.recv(size)
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def sendall(self, data: bytes) -> None:
        raise OSError("read-only")

    def close(self) -> None:
        pass


def _http_body(raw: bytes) -> bytes:
    if not raw:
        raise PortForwardError("no HTTP response through the port-forward")
    stream = Stream(_Bytes(raw))
    try:
        status, fields, _ = read_response_head(stream)
        body, _ = read_body(stream, fields)
    except (OSError, ValueError) as exc:
        raise PortForwardError(f"the proxy admin's answer is not valid HTTP: {exc}") from None
    if status != 200:
        raise PortForwardError(f"the proxy admin answered {status}")
    return body
