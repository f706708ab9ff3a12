"""What a Source hands over: one snapshot, the inputs it could not use, and where each field was written.

Why this module exists: every Source (files, a cluster, a test's fake) returns the same :class:`ReadResult`, and
errors are values in it, never exceptions, so one broken document never hides the others.  Tests substitute an
in-memory source (any object with ``read()``), as pip-tools does with its repository fakes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Protocol

from ..records import record
from ..resources.model import Origin, Snapshot

if TYPE_CHECKING:
    import yaml


@record
class InputError:
    """One input that could not be used.  ``unknown_kind`` errors can be waived with --ignore-unknown."""

    source: str
    message: str
    line: int | None = None
    unknown_kind: bool = False

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return _one_line(f"{where}: {self.message}")


# Line breaks, other control characters and lone surrogates, shown escaped so that one error stays one line.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _one_line(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)


class Document(NamedTuple):
    """A YAML document's text, kept to find a field's line in it later."""

    start: int
    """The 1-based line of the file the text starts at."""
    text: str


@dataclass
class ReadResult:
    snapshot: Snapshot
    errors: list[InputError] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)
    """Inputs that were used but deserve a note (an object defined twice); they do not change the exit code."""
    notes: list[str] = field(default_factory=list)
    """What was skipped on purpose (YAML met while walking a directory that is no Kubernetes object)."""
    _documents: dict[tuple[str, int], Document] = field(default_factory=dict)
    """By (source, index of the document in it)."""

    def keep_document(self, source: str, index: int, document: Document) -> None:
        """Remember a document's text, so a finding's field can be placed on its line later."""
        self._documents[(source, index)] = document

    def field_line(self, origin: Origin | None, path: str) -> int | None:
        """Line of ``path`` (``spec.gateways[0]``) in the document ``origin`` points at, if known."""
        if origin is None or origin.line is None:
            return None
        doc = self._documents.get((origin.source, origin.document))
        if doc is None or not path:
            return origin.line
        start, text = doc
        full = f"{origin.item}.{path}" if origin.item else path
        import yaml  # a cluster read never asks for a field line: no PyYAML import for it

        from .yaml_loader import YAML_LOADER

        try:
            node = yaml.compose(text, Loader=YAML_LOADER)
        except yaml.YAMLError:
            return origin.line
        found = _walk(node, full)
        return origin.line if found is None else start + found.start_mark.line


class Source(Protocol):
    def read(self) -> ReadResult: ...


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _walk(node: yaml.Node | None, path: str) -> yaml.Node | None:
    import yaml

    for name, index in _PATH_PART.findall(path):
        if node is None:
            return None
        if index:
            if not isinstance(node, yaml.SequenceNode) or int(index) >= len(node.value):
                return None
            node = node.value[int(index)]
        else:
            if not isinstance(node, yaml.MappingNode):
                return None
            node = next((v for k, v in node.value if getattr(k, "value", None) == name), None)
    return node
