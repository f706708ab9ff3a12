"""The one error boundary: every error of a run becomes one ``Error: …`` line and one :class:`ExitCode`.

Why this module exists: CI branches on exit codes, so which failure means which code is decided in one table
(:func:`exit_code_for`) instead of at each place an error is caught; ``--debug`` adds the traceback, printed
through the same redaction, and never changes the code.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from ..app import errors as app_errors
from ..exitcodes import ExitCode
from ..kube import errors as kube_errors
from .output import say

if TYPE_CHECKING:
    import click


class PluginError(Exception):
    """An error the shell itself raises: printed as one line, exits with ``code``."""

    def __init__(self, message: str, code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.code = code


class CommandExit(Exception):
    """A command's verdict without a message of its own (findings reached the threshold, some input unreadable)."""

    def __init__(self, code: ExitCode) -> None:
        self.code = code


EXIT_CODES: tuple[tuple[type[Exception], ExitCode], ...] = (
    (app_errors.UsageProblem, ExitCode.USAGE),
    (app_errors.NotFound, ExitCode.NOT_FOUND),
    (app_errors.BadInput, ExitCode.DATA),
    (kube_errors.ConfigError, ExitCode.USAGE),  # the kubeconfig, its context, the credentials
    (kube_errors.TimedOut, ExitCode.TEMPFAIL),
    (kube_errors.Denied, ExitCode.NOPERM),  # before ApiStatus: a Denied is one
    (kube_errors.Unreachable, ExitCode.UNAVAILABLE),
    (kube_errors.BadAnswer, ExitCode.UNAVAILABLE),
    (kube_errors.NotServed, ExitCode.UNAVAILABLE),
    (kube_errors.ApiStatus, ExitCode.UNAVAILABLE),  # a list's 404 means the API is not there: not the user's object
    (kube_errors.KubeError, ExitCode.ERROR),
)
"""The one table of which error means which exit code, most specific first."""


def exit_code_for(exc: BaseException) -> ExitCode | None:
    """The exit code of an error the user can act on; None for a bug (an internal error)."""
    if isinstance(exc, PluginError):
        return exc.code
    return next((code for kind, code in EXIT_CODES if isinstance(exc, kind)), None)


def run(group: click.Group, argv: Sequence[str] | None = None) -> NoReturn:
    """Run ``group`` with ``argv``; every outcome ends in ``sys.exit`` with an :class:`ExitCode`."""
    import click

    args = list(sys.argv[1:] if argv is None else argv)

    def run_group() -> None:
        try:
            group.main(args=args, prog_name="kubectl meshctl", standalone_mode=False)
        except click.exceptions.Abort:
            say("Aborted.")
            raise CommandExit(ExitCode.ERROR) from None
        except click.ClickException as exc:
            _show_usage_error(exc)
            raise CommandExit(ExitCode.USAGE) from None

    guarded(run_group, debug="--debug" in (args[: args.index("--")] if "--" in args else args))


def guarded(command: Callable[[], None], *, debug: bool) -> NoReturn:
    """Run ``command`` inside the boundary: its errors become one line and an exit code (``--debug``: the traceback
    too).  The click group goes through here, and so does a listing run without click (``entry.py``)."""
    try:
        command()
    except CommandExit as done:
        sys.exit(int(done.code))
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(int(ExitCode.OK))
    except Exception as exc:
        code = exit_code_for(exc)
        if code is None:
            _fail(f"Error: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", exc, debug=debug)
            sys.exit(int(ExitCode.ERROR))
        _fail(f"Error: {exc}", exc, debug=debug)
        sys.exit(int(code))
    sys.exit(int(ExitCode.OK))


def _fail(line: str, exc: BaseException, *, debug: bool) -> None:
    if debug:
        for tb_line in _traceback_lines(exc):
            say(tb_line)
    say(line)


def _traceback_lines(exc: BaseException) -> list[str]:
    """Python's traceback of ``exc`` and its chain, each exception's own text on one line (it may hold input)."""
    import traceback

    chain: list[tuple[BaseException, str]] = []  # each exception, and the words leading from it to the one before
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, "The above exception was the direct cause of the following exception:"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, "During handling of the above exception, another exception occurred:"
        else:
            current = None
    lines: list[str] = []
    for item, words in reversed(chain):
        if item.__traceback__ is not None:
            lines.append("Traceback (most recent call last):")
            for frame in traceback.format_tb(item.__traceback__):
                lines.extend(frame.rstrip("\n").split("\n"))
        lines.append("".join(traceback.format_exception_only(type(item), item)).rstrip("\n"))
        if words:
            lines += ["", words, ""]
    return lines


def _show_usage_error(exc: click.ClickException) -> None:
    """click's ``exc.show()`` (usage, hint, ``Error: …``), one :func:`say` per line."""
    import click

    ctx = exc.ctx if isinstance(exc, click.UsageError) else None
    if ctx is not None:
        for line in ctx.get_usage().split("\n"):
            say(line)
        if ctx.command.get_help_option(ctx) is not None:
            say(f"Try '{ctx.command_path} {max(ctx.command.get_help_option_names(ctx), key=len)}' for help.")
        say("")
    say(f"Error: {exc.format_message()}")
