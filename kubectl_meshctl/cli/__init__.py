"""The command line: click commands, the one error boundary, the only place that prints or exits."""

from .root import PluginError, cli, kubectl_complete, main

__all__ = ["PluginError", "cli", "kubectl_complete", "main"]
