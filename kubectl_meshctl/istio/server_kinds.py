"""Which rules of a VirtualService istiod builds a gateway server from: its protocol and TLS mode decide.

Why this module exists: the analyses of ``http`` rules (MSH0103, MSH0205) and of ``tcp``/``tls`` rules
(``analysis/l4.py``) ask the same question of a server -- an HTTP server and an HTTPS server that terminates TLS are
built from ``http`` rules, a PASSTHROUGH server from ``tls`` rules (SNI), a TCP server or a TLS server that terminates
TLS from ``tcp`` rules, an AUTO_PASSTHROUGH server from none -- and this is the one place that answers it.
"""

from __future__ import annotations

from typing import Literal

from ..resources.model import Server
from .translation import HTTP_PROTOCOLS, tls_mode_of

ServerKind = Literal["http", "tcp", "tls", "none", "unknown"]
"""Which rules of a VirtualService a gateway server uses (``none``: AUTO_PASSTHROUGH; ``unknown``: not decidable)."""

PLAINTEXT_TCP_PROTOCOLS = frozenset({"TCP", "MONGO", "MYSQL", "REDIS"})
TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})
"""The protocols whose servers read their ``tls`` settings (a plaintext server ignores them)."""
TERMINATING_TLS_MODES = frozenset({"SIMPLE", "MUTUAL", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"})


def server_kind(server: Server) -> ServerKind:
    """The rules a server uses, as istiod picks them from its protocol and TLS mode (a ``tls`` block without
    ``mode`` is PASSTHROUGH, the API's default, as the translation reads it: :func:`.translation.tls_mode_of`)."""
    if server.port is None:
        return "unknown"
    protocol = server.port.protocol.upper()
    if protocol in HTTP_PROTOCOLS:
        return "http"
    if server.tls is None:
        return "tcp" if protocol in PLAINTEXT_TCP_PROTOCOLS else "unknown"
    mode = tls_mode_of(server)
    if mode == "PASSTHROUGH":
        return "tls"
    if mode == "AUTO_PASSTHROUGH":
        return "none"
    if mode in TERMINATING_TLS_MODES:
        if protocol == "HTTPS":
            return "http"
        return "tcp" if protocol in PLAINTEXT_TCP_PROTOCOLS | {"TLS"} else "unknown"
    return "unknown"


def server_text(server: Server) -> str:
    """``HTTPS PASSTHROUGH``: the protocol and the TLS mode istiod reads."""
    assert server.port is not None
    return f"{server.port.protocol.upper()} {tls_mode_of(server)}".strip()


_USES = {
    "http": "http routes",
    "tcp": "tcp routes",
    "tls": "tls routes",
    "none": "no routes",
    "unknown": "routes of no known kind",
}


def server_uses(server: Server) -> str:
    """``HTTPS PASSTHROUGH uses tls routes``: a server's protocol and TLS mode, and the rules istiod builds it from."""
    return f"{server_text(server)} uses {_USES[server_kind(server)]}"
