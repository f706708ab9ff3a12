"""The problems a use case reports to the shell, by meaning; the shell maps each type to an exit code."""

from __future__ import annotations


class AppError(Exception):
    """A problem the user can act on, told in one line."""


class UsageProblem(AppError):
    """The flags or arguments cannot work together (or name something malformed)."""


class NotFound(AppError):
    """The object the user named does not exist."""


class BadInput(AppError):
    """An input (a file, a config dump) could not be read or parsed."""
