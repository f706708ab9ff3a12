"""The console-script entry point: answers ``--help`` and ``--version`` before importing anything.

Why this module exists: ``kubectl meshctl --help`` should cost little more than starting Python.
The root help text is rendered by click at build time into ``_help.py`` (``scripts/render-help``;
``tests/test_docs.py`` fails when it differs from what click renders now), so these two answers
need neither click nor the rest of the package.  The usual listing command lines (``gateways -A``, ``vs -n NS -o
wide``) run without click too (``cli/listing_run.py``), inside the same error boundary.  Everything else goes to
:func:`cli.main`.
"""

from __future__ import annotations

import gc
import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing is 4 ms of a 16 ms --version
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn


def main() -> NoReturn:
    args = sys.argv[1:]
    if args in (["--help"], ["-h"]):
        from ._help import ROOT_HELP

        sys.stdout.write(ROOT_HELP)
        sys.exit(0)
    if args == ["--version"]:
        from . import __version__

        sys.stdout.write(f"kubectl-meshctl {__version__}\n")
        sys.exit(0)
    # One command, then _exit_now: the cyclic collector would only rescan the hundreds of thousands of acyclic objects
    # a listing builds (each full collection walks all of them, so the runs grew faster than the input); reference
    # counting still frees everything that is let go.
    gc.disable()
    try:
        from .gcpause import end_without_teardown

        end_without_teardown()  # big reads are left for the OS to reclaim at _exit_now
        listing = _listing_without_click(args)
        if listing is not None:
            listing()  # the same boundary as the click path: it ends the run with SystemExit
        from .cli import main as cli_main

        cli_main(args)  # the error boundary: it ends every run with SystemExit, --debug or not
    except SystemExit as done:
        _exit_now(done.code)
    except KeyboardInterrupt:  # during the imports above
        _exit_now(130)


def _listing_without_click(args: list[str]) -> Callable[[], NoReturn] | None:
    """A ``gateways``/``vs``/``httproutes`` command line as people type it, run without importing click (a tenth of a
    listing-cache hit); None for anything else, and under shell completion, which is click's."""
    if not args or any(name.startswith("_KUBECTL_MESHCTL_COMPLETE") for name in os.environ):
        return None
    from .cli.listing_run import LISTING_COMMANDS

    if args[0] not in LISTING_COMMANDS:
        return None
    from .cli.boundary import guarded
    from .cli.listing_run import recognize, run_listing

    recognized = recognize(args)
    if recognized is None:
        return None
    return lambda: guarded(lambda: run_listing(recognized), debug=recognized.debug)


def _exit_now(code: object) -> NoReturn:
    """Exit without the interpreter's teardown (freeing every object of a large listing costs ~10 ms).

    The output is flushed first; nothing else runs at exit in this program (no atexit work, fetch threads joined).
    """
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 (contextlib would be one more import)
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``| head``): the reader has what it wanted
            pass
    if code is None:
        os._exit(0)
    if isinstance(code, int):
        os._exit(code)
    from .redact import escape, redact

    sys.stderr.write(f"{escape(redact(str(code)))}\n")
    sys.stderr.flush()
    os._exit(1)
