"""The listing commands' body, and their usual command lines read without click.

Why this module exists: a re-run of ``kubectl meshctl gateways -A`` is a listing-cache hit measured against kubectl's
whole ``get`` (80 ms); importing click (and what it imports) is a tenth of that.  So :func:`recognize` reads the
command lines people type -- a listing command, its flags as ``-n NS``/``--namespace NS``/``--namespace=NS``, at
most one NAME -- and ``entry.py`` runs :func:`show_listing` with them inside the same error boundary; anything else
(help, a typo, a combined ``-Ao``, a value that starts with ``-``) returns None and goes to click, which then decides
exactly as before.  ``tests/test_listing_run.py`` checks that for every command line it accepts, click's parse gives
the same values.  Nothing here imports click.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from ..app.cluster_access import KubeOptions
from .output import emit_objects, not_found, now, print_table, say, say_all

if TYPE_CHECKING:
    from ..app.listings import ListingKind

LISTING_COMMANDS = {
    "gateways": "gateways",
    "gw": "gateways",
    "virtualservices": "virtualservices",
    "vs": "virtualservices",
    "httproutes": "httproutes",
    "hr": "httproutes",
}
"""Each listing command's name and alias -> the command (as in ``root.COMMANDS``)."""
OUTPUTS = ("wide", "json", "yaml", "name")
_VALUE_OPTIONS = {
    "-l": "selector",
    "--selector": "selector",
    "-o": "output",
    "--output": "output",
    "-n": "namespace",
    "--namespace": "namespace",
    "--kubeconfig": "kubeconfig",
    "--context": "context",
    "--request-timeout": "request_timeout",
}
_FLAGS = {
    "-A": ("all_namespaces", True),
    "--all-namespaces": ("all_namespaces", True),
    "--cache": ("use_cache", True),
    "--no-cache": ("use_cache", False),
    "--debug": ("debug", True),
}


class ListingArgs(NamedTuple):
    """What a listing command line asks for: the click command's parameters."""

    command: str
    """``gateways``, ``virtualservices`` or ``httproutes``."""
    name: str | None
    selector: str
    output: str | None
    use_cache: bool
    kube: KubeOptions
    debug: bool


def recognize(argv: Sequence[str]) -> ListingArgs | None:
    """The listing command line ``argv`` (without the program name), or None for click to read."""
    if not argv or argv[0] not in LISTING_COMMANDS:
        return None
    values: dict[str, str] = {"selector": "", "request_timeout": "0"}
    flags: dict[str, bool] = {"all_namespaces": False, "use_cache": True, "debug": False}
    names: list[str] = []
    rest = iter(argv[1:])
    for token in rest:
        if token in _FLAGS:
            key, setting = _FLAGS[token]
            flags[key] = setting
            continue
        option, equals, value = token.partition("=") if token.startswith("--") else (token, "", "")
        if option in _VALUE_OPTIONS:
            if not equals:
                value = next(rest, "")
            if not value or value.startswith("-"):  # a missing value, or one click might read otherwise: click's
                return None
            values[_VALUE_OPTIONS[option]] = value
            continue
        if token.startswith("-"):
            return None
        names.append(token)
    output = values.get("output")
    if len(names) > 1 or (output is not None and output not in OUTPUTS):
        return None
    kube = KubeOptions(
        kubeconfig=values.get("kubeconfig"),
        context=values.get("context"),
        namespace=values.get("namespace"),
        all_namespaces=flags["all_namespaces"],
        request_timeout=values["request_timeout"],
    )
    return ListingArgs(
        command=LISTING_COMMANDS[argv[0]],
        name=names[0] if names else None,
        selector=values["selector"],
        output=output,
        use_cache=flags["use_cache"],
        kube=kube,
        debug=flags["debug"],
    )


def run_listing(args: ListingArgs) -> None:
    """The command ``args`` names, as its click command runs it."""
    from ..app.listings import GATEWAYS, ROUTES, VIRTUAL_SERVICES

    kind = {"gateways": GATEWAYS, "virtualservices": VIRTUAL_SERVICES, "httproutes": ROUTES}[args.command]
    show_listing(kind, name=args.name, selector=args.selector, output=args.output, use_cache=args.use_cache, kube=args.kube)


def show_listing(
    kind: ListingKind, *, name: str | None, selector: str, output: str | None, use_cache: bool, kube: KubeOptions
) -> None:
    """Read the listing (from its cache when nothing changed) and print the rows of ``kind`` as ``output`` asks."""
    from ..app.listings import GATEWAYS, VIRTUAL_SERVICES, read_listing, rows_shown
    from ..listing.views import gateway_rows, route_rows, summary_line, virtual_service_rows

    read = read_listing(kube, kind=kind, selector=selector, use_cache=use_cache)
    say_all(read.notes, prefix="Note: ")
    say_all(read.listing.errors, prefix="Warning: ")
    shown = rows_shown(read, kind=kind, name=name)
    namespace = shown.namespace
    if output == "name":
        for item in shown.items:  # Istio's Gateways and the Gateway API's, HTTPRoutes and GRPCRoutes: each its own type
            emit_objects(kind.kind.kind, kind.type_name(item), [item], output)
    elif output in ("json", "yaml"):
        emit_objects(kind.kind.kind, "", shown.items, output)
    elif not shown.items:
        not_found(kind.kind.plural, namespace)
    else:
        rows = gateway_rows if kind is GATEWAYS else virtual_service_rows if kind is VIRTUAL_SERVICES else route_rows
        print_table(rows(shown.items, now=now(), all_namespaces=namespace is None, wide=output == "wide"))
    line = summary_line(shown.flags, all_namespaces=namespace is None)
    if line:
        say(line)
