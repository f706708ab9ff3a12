"""What can go wrong reaching a cluster, by meaning: one line for the user, the HTTP status when the API server answered.

Why this module exists: every room of the cluster access (connection, requests and lists, the Source, the proxy
admin) fails in the same few ways, and what a failure means to the user (which exit code) is the shell's to
decide: an error here carries its type, its line and the status, never an exit code.  The rule that shortens a
library's exception text to one line lives here too, for all of them.
"""

from __future__ import annotations

import re


class KubeError(Exception):
    """One line for the user; ``status`` is the HTTP status of the API server's answer, when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ConfigError(KubeError):
    """The kubeconfig, its context or the user's credentials cannot be used: the user's to fix."""


class Unreachable(KubeError):
    """The API server could not be reached, or TLS with it failed."""


class TimedOut(KubeError):
    """A request, or a port-forward, outlived ``--request-timeout``."""


class BadAnswer(KubeError):
    """The API server answered something the API does not promise: not JSON, too large, a list that never ends."""


class NotServed(KubeError):
    """The cluster does not serve an API group the kinds asked for need (their CRDs are not installed)."""


class ApiStatus(KubeError):
    """The API server answered with a Status (any answer but 200); ``status`` is always set."""


class Denied(ApiStatus):
    """401 (the credentials were refused) or 403 (RBAC forbids the request)."""


class NotFound(ApiStatus):
    """404: nothing at that path."""


def short_reason(exc: object) -> str:
    """A library's exception text cut to the one line a user needs (``Connection refused``, not the whole chain)."""
    text = str(exc)
    for marker in ("Connection refused", "certificate verify failed", "Name or service not known", "timed out"):
        if marker in text:
            tail = text[text.index(marker) :].split("'")[0]
            return re.sub(r"\s*\(_ssl\.c:\d+\)?.*$", "", tail).rstrip(")")
    return text.splitlines()[0][:200] if text else type(exc).__name__
