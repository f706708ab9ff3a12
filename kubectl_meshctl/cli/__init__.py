"""The command line: one module per command (click), the one error boundary, the only place that prints or exits.

A new command is a module here plus one line in :data:`.root.COMMANDS`; what it does lives in ``app/``.  The names
below are imported when first used, so a module here that needs no click (``listing_run.py``, ``output.py``,
``boundary.py``) can be imported without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .boundary import PluginError
    from .completion import kubectl_complete
    from .root import cli, main

__all__ = ["PluginError", "cli", "kubectl_complete", "main"]
_HOMES = {"PluginError": "boundary", "kubectl_complete": "completion", "cli": "root", "main": "root"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
