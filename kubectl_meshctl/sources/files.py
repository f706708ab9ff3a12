"""Sources: where resources come from.  Each reads once and returns one immutable snapshot.

Why this module exists: the core never reads a file or talks to a server; a Source does that and
hands over a :class:`~kubectl_meshctl.model.Snapshot` plus the per-input errors it met.  Errors
never abort the read: a broken document is reported and every other document is still used.
Tests substitute an in-memory source (any object with ``read()``), as pip-tools does with its
repository fakes.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, Protocol

import yaml

from ..bounded_read import MAX_INPUT, TooLarge, read_at_most
from ..gcpause import paused_gc
from ..resources import model
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
from ..resources.kinds import KINDS, POD, SERVICE
from ..resources.model import Origin, Pod, Service, Snapshot
from ..resources.parse import InvalidObject, Resource, UnknownKind, describe_object, parse_object

try:  # the C loader is what makes reading 100k rules fast; fall back where libyaml is missing
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

YAML_SUFFIXES = (".yaml", ".yml", ".json")
_DOC_START = re.compile(r"^---(?:[ \t].*)?$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
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


class _Document(NamedTuple):
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
    _documents: dict[tuple[str, int], _Document] = field(default_factory=dict)
    """By (source, index of the document in it)."""

    def field_line(self, origin: Origin | None, path: str) -> int | None:
        """Line of ``path`` (``spec.gateways[0]``) in the document ``origin`` points at, if known."""
        if origin is None or origin.line is None:
            return None
        doc = self._documents.get((origin.source, origin.document))
        if doc is None or not path:
            return origin.line
        start, text = doc
        full = f"{origin.item}.{path}" if origin.item else path
        try:
            node = yaml.compose(text, Loader=_Loader)
        except yaml.YAMLError:
            return origin.line
        found = _walk(node, full)
        return origin.line if found is None else start + found.start_mark.line


class Source(Protocol):
    def read(self) -> ReadResult: ...


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _walk(node: yaml.Node | None, path: str) -> yaml.Node | None:
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


def split_documents(text: str) -> Iterator[_Document]:
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
        yield _Document(line, text[begin:end] if begin <= end else "")


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
        builder = _SnapshotBuilder(self.default_namespace, warnings=result.warnings)
        for arg in self.paths:
            for found in self._inputs(arg):
                if found.error is not None:
                    result.errors.append(InputError(found.name, found.error))
                    continue
                assert found.text is not None
                self._read_text(found.name, found.text, builder, result)
        result.snapshot = builder.build()
        return result

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
                        yield from self._file(os.path.join(root, f))
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

    def _read_text(self, name: str, text: str, builder: _SnapshotBuilder, result: ReadResult) -> None:
        if not text.strip():
            result.errors.append(InputError(name, "empty file: no Kubernetes objects"))
            return
        if name.endswith(".json"):
            loaded = _load_json(name, text)
            if isinstance(loaded, InputError):
                result.errors.append(loaded)
                return
            builder.add_raw(loaded[0], Origin(name, None, 0), result.errors)
            return
        for index, (start, chunk) in enumerate(split_documents(text)):
            if not chunk.strip():
                continue
            try:
                data = load_yaml(chunk, loader=_Loader)
            except LimitExceeded as exc:
                line = _first_content_line(chunk, start) if exc.line is None else start + exc.line
                result.errors.append(InputError(name, f"refused: {exc.message}", line))
                continue
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark or exc.context_mark
                last = chunk.rstrip("\n").count("\n")  # libyaml reports end-of-input one line past the text
                line = start + min(mark.line, last) if mark is not None else start
                result.errors.append(InputError(name, f"invalid YAML: {exc.problem or exc.context}", line))
                continue
            except yaml.YAMLError as exc:
                result.errors.append(InputError(name, f"invalid YAML: {exc}", start))
                continue
            if data is None:
                continue
            result._documents[(name, index)] = _Document(start, chunk)
            builder.add_raw(data, Origin(name, _first_content_line(chunk, start), index), result.errors, result)


def _load_json(name: str, text: str) -> tuple[Any] | InputError:
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


class _SnapshotBuilder:
    """Collects parsed objects; an object defined again (same kind, namespace and name) replaces the earlier one.

    The last definition wins, as ``kubectl apply`` of the inputs in order would leave it in the cluster;
    it keeps the earlier one's position.  Each repeat adds a warning naming both places.  A dict keyed by
    identity keeps this linear, and the analysis never sees the same object twice.
    """

    def __init__(self, default_namespace: str, *, warnings: list[InputError] | None = None) -> None:
        self.default_namespace = default_namespace
        self.objects: list[Resource] = []
        self.positions: dict[tuple[type, str, str], int] = {}
        self.warnings: list[InputError] = [] if warnings is None else warnings
        self.seen_pods = False
        self.seen_services = False

    def add_raw(self, data: object, origin: Origin, errors: list[InputError], result: ReadResult | None = None) -> None:
        if isinstance(data, dict) and data.get("kind") == "List" and isinstance(data.get("items"), list):
            for i, item in enumerate(data["items"]):
                item_origin = Origin(origin.source, origin.line, origin.document, f"items[{i}]")
                self._add(item, item_origin, errors, result)
            return
        if isinstance(data, list) and origin.line is None:  # a JSON array of objects
            for i, item in enumerate(data):
                self._add(item, origin, errors, result, what=f"item {i}")
            return
        self._add(data, origin, errors, result)

    def _add(self, data: object, origin: Origin, errors: list[InputError], result: ReadResult | None, what: str = "") -> None:
        try:
            obj = parse_object(data, origin=origin, default_namespace=self.default_namespace, order=len(self.objects))
        except UnknownKind as exc:
            errors.append(InputError(origin.source, f"{exc}", origin.line, unknown_kind=True))
            return
        except InvalidObject as exc:
            label = describe_object(data) or what or "document"
            line = result.field_line(origin, exc.path) if result is not None else origin.line
            errors.append(InputError(origin.source, f"{label}: {exc}", line))
            return
        if obj is None:
            return
        if isinstance(obj, Pod):
            self.seen_pods = True
        elif isinstance(obj, Service):
            self.seen_services = True
        key = (type(obj), obj.meta.namespace, obj.meta.name)
        position = self.positions.get(key)
        if position is None:
            self.positions[key] = len(self.objects)
            self.objects.append(obj)
            return
        earlier = self.objects[position]
        self.objects[position] = replace(obj, meta=replace(obj.meta, order=earlier.meta.order))
        label = f"{obj.meta.kind} {obj.meta.namespace}/{obj.meta.name}"  # every kind read here is namespaced
        self.warnings.append(
            InputError(
                origin.source,
                f"{label} is defined again (first at {_place(earlier.meta.origin)}): this later definition is used,"
                " as kubectl apply of both would leave it",
                origin.line,
            )
        )

    def build(self) -> Snapshot:
        return snapshot_of(self.objects, has_pods=self.seen_pods, has_services=self.seen_services)


def _place(origin: Origin | None) -> str:
    if origin is None:
        return "?"
    where = origin.source if origin.line is None else f"{origin.source}:{origin.line}"
    return f"{where} {origin.item}" if origin.item else where


_FIELD_OF_MODEL: dict[type, str] = {getattr(model, k.model): k.snapshot_field for k in KINDS}
"""Each registered kind's model class -> its Snapshot field."""


def snapshot_of(objects: Iterable[Resource], *, has_pods: bool = False, has_services: bool = False) -> Snapshot:
    """Group parsed objects by kind into a snapshot."""
    buckets: dict[str, list[Resource]] = {k.snapshot_field: [] for k in KINDS}
    for obj in objects:
        buckets[_FIELD_OF_MODEL[type(obj)]].append(obj)
    groups: dict[str, Any] = {name: tuple(objs) for name, objs in buckets.items()}
    return Snapshot(
        **groups,
        has_pods=has_pods or bool(groups[POD.snapshot_field]),
        has_services=has_services or bool(groups[SERVICE.snapshot_field]),
    )


def overlay(base: Snapshot, top: Snapshot) -> Snapshot:
    """``base`` with every object of ``top`` added, replacing base objects of the same kind, namespace and name.

    As istioctl does when files are analysed together with the cluster: the files win.
    """
    tops: list[tuple[Resource, ...]] = [getattr(top, k.snapshot_field) for k in KINDS]
    # keyed by the objects' kind field, so a Gateway API Gateway in the files also replaces an Istio Gateway of the
    # same namespace and name (as it always has; keying on the registry's Kind would tell the two apart)
    replaced = {(obj.meta.kind, obj.meta.namespace, obj.meta.name) for group in tops for obj in group}
    objects: list[Resource] = []
    for kind, group_top in zip(KINDS, tops, strict=True):
        group_base: tuple[Resource, ...] = getattr(base, kind.snapshot_field)
        objects.extend(o for o in group_base if (o.meta.kind, o.meta.namespace, o.meta.name) not in replaced)
        objects.extend(group_top)
    return snapshot_of(
        objects,
        has_pods=base.has_pods or top.has_pods,
        has_services=base.has_services or top.has_services,
    )
