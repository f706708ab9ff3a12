"""How the shell writes: stdout for results, :func:`say` for every line on stderr.

Why this module exists: everything a user sees on stderr may carry input or a secret, so it all goes through one
function that redacts registered secrets and escapes control characters, one line per call; results go to stdout
in kubectl's shapes (tables, ``List`` documents, ``type/name``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..redact import escape, quote, redact


def say(text: str) -> None:
    """Write one line to stderr, the only way anything reaches it: secrets redacted, newlines and escapes escaped.

    Not through click: a listing run without click (``listing_run.py``) writes here too, and the line holds no
    escape sequence click would strip."""
    stream = sys.stderr
    stream.write(escape(redact(text)) + "\n")
    stream.flush()


def say_all(lines: Iterable[str], *, prefix: str = "") -> None:
    for line in lines:
        say(f"{prefix}{line}")


def echo(text: str, *, newline: bool = True) -> None:
    import click

    click.echo(text, nl=newline)


def echo_chunks(chunks: Iterable[str]) -> None:
    """Text made in chunks (a routes table of 300,000 lines), printed as each comes; like :func:`print_table`, not
    through click.echo, which would scan every chunk for ANSI codes (the cells that could hold one are quoted)."""
    for chunk in chunks:
        sys.stdout.write(chunk)
    sys.stdout.flush()


def print_table(rows: list[list[str]]) -> None:
    """kubectl's table (Go's tabwriter); nothing when there is only the header."""
    from ..gocompat.tabwriter import table

    if len(rows) == 1:
        return
    # not click.echo: off a terminal it scans the text for ANSI codes to strip (3 ms on 2,000 rows); cells have none
    sys.stdout.write(table(rows))
    sys.stdout.flush()


def emit_objects(kind: str, plural: str, items: Iterable[Mapping[str, Any]], output: str) -> None:
    """``-o name|json|yaml`` as kubectl prints a List (``Any``: listing rows are plain data of mixed types).

    Straight to stdout (a listing may run without click): names are quoted, JSON and YAML escape control characters."""
    import json

    out = sys.stdout
    if output == "name":
        for item in items:
            out.write(f"{plural}/{quote(item['name'])}\n")
    else:
        doc = {"apiVersion": "v1", "kind": "List", "items": [{"kind": kind, **i} for i in items]}
        if output == "json":
            out.write(json.dumps(doc, indent=4) + "\n")
        else:
            import yaml

            out.write(yaml.safe_dump(doc, sort_keys=False))
    out.flush()


def not_found(what: str, namespace: str | None) -> None:
    where = f" in {namespace} namespace" if namespace else ""
    say(f"No {what} found{where}.")


def now() -> datetime:
    from datetime import timezone

    return datetime.now(timezone.utc)
