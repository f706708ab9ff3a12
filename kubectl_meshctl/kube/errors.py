"""Errors of the cluster access: one line for the user, the exit code, the HTTP status when the API server answered.

Why this module exists: every room of the cluster access (connection, requests, lists, the Source, the
proxy admin) fails the same way, so the error type and the rule that shortens a library's exception
text to one line live apart from all of them.
"""

from __future__ import annotations

import re

from ..exitcodes import ExitCode


class ClusterError(Exception):
    """One line for the user, the exit code, and the HTTP status when the API server answered."""

    def __init__(self, message: str, code: ExitCode, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def _short(exc: object) -> str:
    text = str(exc)
    for marker in ("Connection refused", "certificate verify failed", "Name or service not known", "timed out"):
        if marker in text:
            tail = text[text.index(marker) :].split("'")[0]
            return re.sub(r"\s*\(_ssl\.c:\d+\)?.*$", "", tail).rstrip(")")
    return text.splitlines()[0][:200] if text else type(exc).__name__
