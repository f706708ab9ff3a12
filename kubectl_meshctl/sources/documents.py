"""Files of YAML or JSON documents that are not Kubernetes objects -- route test files, route configurations.

Why this module exists: ``test`` reads files users wrote for other tools (Envoy's ``router_check_tool``,
istio-config-validator) with the same care as manifests: size caps, YAML alias and depth limits, UTF-8 only,
and one error per bad document naming the file and line, while the other documents are still read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..records import record
from .files import FileSource, load_document, load_json_text, split_documents
from .result import InputError


@record
class LoadedDocument:
    source: str
    line: int | None
    data: Any


@dataclass(slots=True)
class DocumentsRead:
    documents: list[LoadedDocument] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)


def read_documents(paths: Sequence[str], *, stdin: Any = None) -> DocumentsRead:
    """Every non-empty document of ``paths`` (files, directories walked, ``-``), in order."""
    out = DocumentsRead()
    for name, text, error in FileSource(paths, stdin=stdin).texts():
        if text is None:
            out.errors.append(InputError(name, error or "unreadable"))
            continue
        if not text.strip():
            out.errors.append(InputError(name, "empty file"))
            continue
        if name.endswith(".json"):
            loaded = load_json_text(name, text)
            if not isinstance(loaded, InputError):
                out.documents.append(LoadedDocument(name, None, loaded[0]))
                continue
            # protobuf's JSON parser (router_check_tool's) accepts a trailing comma; YAML does too
            if not _read_yaml(name, text, out, json_error=loaded):
                out.errors.append(loaded)
            continue
        _read_yaml(name, text, out)
    return out


def _read_yaml(name: str, text: str, out: DocumentsRead, *, json_error: InputError | None = None) -> bool:
    found: list[LoadedDocument] = []
    errors: list[InputError] = []
    for start, chunk in split_documents(text):
        if not chunk.strip():
            continue
        data = load_document(name, start, chunk)
        if isinstance(data, InputError):
            errors.append(data)
            continue
        if data is not None:
            found.append(LoadedDocument(name, start, data))
    if json_error is not None and errors:
        return False  # neither JSON nor YAML: the JSON error says more
    out.documents += found
    out.errors += errors
    return True
