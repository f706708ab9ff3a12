"""The file Source: files, directories (recursively) and stdin, read once into one snapshot.

Why this module exists: the core never reads a file; this does, with every hostile-input limit applied, and
reports each document it cannot use as one :class:`~.result.InputError` (file and line) while every other
document is still read.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import yaml

from ..bounded_read import MAX_INPUT, TooLarge, read_at_most
from ..gcpause import paused_gc
from ..resources.input_limits import (
    MAX_DEPTH,
    LimitExceeded,
    find_surrogate,
    json_depth_exceeds,
    load_yaml,
    may_hold_surrogate,
    short_reason,
    surrogate_message,
)
from ..resources.model import Origin, Snapshot
from .result import Document, InputError, ReadResult
from .snapshot import SnapshotBuilder
from .yaml_loader import YAML_LOADER

YAML_SUFFIXES = (".yaml", ".yml", ".json")
_DOC_START = re.compile(r"^---(?:[ \t].*)?$", re.MULTILINE)


def split_documents(text: str) -> Iterator[Document]:
    """Yield each ``---``-separated document: its first line number and its text.

    A ``---`` at the start of a line is always a document marker in YAML, so splitting here lets
    every document parse (and fail) on its own.
    """
    starts = [0]
    starts.extend(m.end() + 1 for m in _DOC_START.finditer(text))
    line = 1
    previous = 0
    for begin, end in zip(starts, [m.start() for m in _DOC_START.finditer(text)] + [len(text)], strict=True):
        line += text.count("\n", previous, begin)
        previous = begin
        yield Document(line, text[begin:end] if begin <= end else "")


def load_document(name: str, start: int, chunk: str) -> Any:
    """One YAML document (``chunk``, starting at line ``start`` of file ``name``) within the input caps, or the
    one InputError that says why not, at its line."""
    try:
        return load_yaml(chunk, loader=YAML_LOADER)
    except LimitExceeded as exc:
        line = _first_content_line(chunk, start) if exc.line is None else start + exc.line
        return InputError(name, f"refused: {exc.message}", line)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        last = chunk.rstrip("\n").count("\n")  # libyaml reports end-of-input one line past the text
        line = start + min(mark.line, last) if mark is not None else start
        return InputError(name, f"invalid YAML: {exc.problem or exc.context}", line)
    except yaml.YAMLError as exc:
        return InputError(name, f"invalid YAML: {exc}", start)


def _first_content_line(chunk: str, start: int) -> int:
    for offset, line in enumerate(chunk.split("\n", 64)):
        if line.strip():
            return start + offset
    return start


class FileSource:
    """Reads files, directories (recursively, .yaml/.yml/.json) and ``-`` (stdin)."""

    def __init__(self, paths: Iterable[str], *, default_namespace: str = "default", stdin: Any = None) -> None:
        self.paths = list(paths)
        self.default_namespace = default_namespace
        self.stdin = stdin if stdin is not None else sys.stdin

    def read(self) -> ReadResult:
        with paused_gc():
            return self._read()

    def _read(self) -> ReadResult:
        result = ReadResult(snapshot=Snapshot())
        builder = SnapshotBuilder(self.default_namespace, warnings=result.warnings)
        for arg in self.paths:
            for found in self._inputs(arg):
                if found.error is not None:
                    result.errors.append(InputError(found.name, found.error))
                    continue
                assert found.text is not None
                self._read_text(found.name, found.text, builder, result, walked=found.walked)
        result.snapshot = builder.build()
        return result

    def texts(self) -> Iterator[tuple[str, str | None, str | None]]:
        """Every input's (name, text, why there is none), directories walked, each read with the same caps."""
        for arg in self.paths:
            for found in self._inputs(arg):
                yield found.name, found.text, found.error

    def _inputs(self, arg: str) -> Iterator[_Input]:
        if arg == "-":
            try:
                data = read_at_most(self.stdin.buffer, MAX_INPUT) if hasattr(self.stdin, "buffer") else self.stdin.read()
            except TooLarge as exc:
                yield _Input("-", None, str(exc))
                return
            yield _decode("-", data)
            return
        if os.path.isdir(arg):
            found = False
            for root, dirs, files in os.walk(arg):
                dirs.sort()
                for f in sorted(files):
                    if f.endswith(YAML_SUFFIXES):
                        found = True
                        yield from (i._replace(walked=True) for i in self._file(os.path.join(root, f)))
            if not found:
                yield _Input(arg, None, "no .yaml, .yml or .json files in this directory")
            return
        yield from self._file(arg)

    @staticmethod
    def _file(path: str) -> Iterator[_Input]:
        try:
            with open(path, "rb") as fh:
                data = read_at_most(fh, MAX_INPUT)
        except TooLarge as exc:
            yield _Input(path, None, str(exc))
            return
        except OSError as exc:
            yield _Input(path, None, exc.strerror or str(exc))
            return
        yield _decode(path, data)

    def _read_text(self, name: str, text: str, builder: SnapshotBuilder, result: ReadResult, *, walked: bool) -> None:
        if not text.strip():
            if walked:
                result.notes.append(f"{name}: empty file: skipped")
            else:
                result.errors.append(InputError(name, "empty file: no Kubernetes objects"))
            return
        if name.endswith(".json"):
            loaded = load_json_text(name, text)
            if isinstance(loaded, InputError):
                result.errors.append(loaded)
                return
            if walked and not _is_kubernetes(loaded[0]):
                result.notes.append(f"{name}: {_NOT_KUBERNETES}: skipped")
                return
            builder.add_raw(loaded[0], Origin(name, None, 0), result.errors)
            return
        foreign = 0
        for index, (start, chunk) in enumerate(split_documents(text)):
            if not chunk.strip():
                continue
            data = load_document(name, start, chunk)
            if isinstance(data, InputError):
                result.errors.append(data)
                continue
            if data is None:
                continue
            if not _is_kubernetes(data):
                if walked:
                    foreign += 1
                    continue
                if isinstance(data, dict):  # named by the user: say why it cannot be used
                    result.errors.append(InputError(name, _NOT_KUBERNETES, _first_content_line(chunk, start)))
                    continue
            result.keep_document(name, index, Document(start, chunk))
            builder.add_raw(data, Origin(name, _first_content_line(chunk, start), index), result.errors, result)
        if foreign:
            what = _NOT_KUBERNETES if foreign == 1 else f"{foreign} documents: {_NOT_KUBERNETES}"
            result.notes.append(f"{name}: {what}: skipped")


_NOT_KUBERNETES = "not a Kubernetes object (no apiVersion, no kind)"


def _is_kubernetes(data: object) -> bool:
    """Whether a document is meant as Kubernetes objects; a Helm values file or a CI config is not."""
    if isinstance(data, list):  # a JSON array of objects
        return any(_is_kubernetes(item) for item in data)
    return isinstance(data, dict) and ("apiVersion" in data or "kind" in data)


def load_json_text(name: str, text: str) -> tuple[Any] | InputError:
    """The decoded JSON text as a 1-tuple, or the one error that says why it cannot be used."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return InputError(name, f"invalid JSON: {exc.msg}", exc.lineno)
    except RecursionError:
        return InputError(name, f"invalid JSON: nested more than {MAX_DEPTH} levels deep")
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        return InputError(name, f"invalid JSON: {short_reason(exc)}")
    if json_depth_exceeds(text, MAX_DEPTH):
        return InputError(name, f"invalid JSON: nested more than {MAX_DEPTH} levels deep")
    if may_hold_surrogate(text):
        found = find_surrogate(data)
        if found is not None:
            reason, line = surrogate_message(text, found)
            return InputError(name, f"invalid JSON: {reason}", line)
    return (data,)


class _Input(NamedTuple):
    """One input's text, or why it has none."""

    name: str
    """The path (``-`` for stdin), as errors name it."""
    text: str | None
    error: str | None
    walked: bool = False
    """Found while walking a directory (not named by the user): YAML that is no Kubernetes object is skipped."""


def _decode(name: str, data: bytes | str) -> _Input:
    if isinstance(data, str):  # a text stream: it may hold what no UTF-8 file can
        if not data.isascii():
            try:
                data.encode("utf-8")
            except UnicodeEncodeError as exc:
                return _Input(name, None, f"not UTF-8 text (character {exc.start})")
        return _Input(name, data, None)
    if b"\x00" in data:
        return _Input(name, None, "binary data, not YAML or JSON")
    try:
        return _Input(name, data.decode("utf-8-sig"), None)
    except UnicodeDecodeError as exc:
        return _Input(name, None, f"not UTF-8 text (byte {exc.start})")
