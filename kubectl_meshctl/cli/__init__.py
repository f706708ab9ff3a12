"""The command line: click only. One module per command, the one error boundary, the only place that prints or exits.

A new command is a module here plus one line in :data:`.root.COMMANDS`; what it does lives in ``app/``.
"""

from .boundary import PluginError
from .completion import kubectl_complete
from .root import cli, main

__all__ = ["PluginError", "cli", "kubectl_complete", "main"]
