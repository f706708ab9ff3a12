"""Shell completion: the ``completion`` command's scripts, and kubectl's plugin completion protocol."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

import click


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_command(shell: str) -> None:
    """Print the shell completion script for kubectl-meshctl.

    \b
    Examples:
      source <(kubectl-meshctl completion bash)
      kubectl-meshctl completion zsh > "${fpath[1]}/_kubectl-meshctl"
      kubectl-meshctl completion fish > ~/.config/fish/completions/kubectl-meshctl.fish

    `kubectl meshctl <TAB>` (kubectl 1.26+) uses the kubectl_complete-meshctl executable installed with the plugin.
    """
    from click.shell_completion import get_completion_class

    from .root import cli

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(cli, {}, "kubectl-meshctl", "_KUBECTL_MESHCTL_COMPLETE").source())


def kubectl_complete(argv: Sequence[str] | None = None) -> NoReturn:
    """``kubectl_complete-meshctl``: kubectl's plugin completion protocol (cobra's ``__complete``).

    kubectl runs it with the words typed after ``kubectl meshctl``, the last being the word to
    complete, and expects one candidate per line followed by ``:<directive>`` (4 = no file completion).
    """
    from click.shell_completion import ShellComplete

    from .root import cli

    words = list(sys.argv[1:] if argv is None else argv)
    incomplete = words.pop() if words else ""
    completer = ShellComplete(cli, {}, "kubectl-meshctl", "_KUBECTL_MESHCTL_COMPLETE")
    try:
        items = completer.get_completions(words, incomplete)
    except Exception:  # never print an error into the user's shell
        items = []
    for item in items:
        click.echo(item.value)
    click.echo(":4")
    sys.exit(0)
