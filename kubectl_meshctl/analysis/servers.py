"""Findings about a Gateway server's own settings, as istiod reads them.

Why this module exists: some Gateway mistakes need no VirtualService to show -- the server itself says something
istiod will not do.  The first: a ``tls`` block that names a credential but no ``mode``.  The mode's zero value is
PASSTHROUGH, so istiod neither terminates TLS there nor uses the credential (istio#40511), and the HTTP routes bound to
that server's hosts are never sent to it (``translation.tls_mode_of``).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..resources.model import Snapshot
from .findings import Finding, finding

_TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})


def credential_without_mode_findings(snapshot: Snapshot) -> Iterator[Finding]:
    """MSH0204: an HTTPS or TLS server whose ``tls`` names ``credentialName`` but no ``mode``."""
    for gw in snapshot.gateways:
        for server in gw.servers:
            tls = server.tls
            if server.port is None or tls is None or tls.mode or not tls.credential_name:
                continue
            if server.port.protocol.upper() not in _TLS_PROTOCOLS:
                continue  # a plaintext server ignores TLS settings whatever their mode
            yield finding(
                "MSH0204",
                gw.meta,
                gw.meta.full_name,
                server.port.number,
                server.port.protocol.upper(),
                tls.credential_name,
                field=f"spec.servers[{server.index}].tls",
            )
