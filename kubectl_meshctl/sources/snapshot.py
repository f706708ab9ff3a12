"""Parsed objects into one immutable :class:`Snapshot`, and the overlay of one snapshot on another.

Why this module exists: files and the cluster build snapshots the same way (grouped by the kind registry, an
object defined twice read once with a warning), and ``analyze -k`` overlays the files on the cluster as istioctl
does; both Sources share this code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ..resources import model
from ..resources.kinds import KINDS
from ..resources.model import Origin, Snapshot
from ..resources.parse import InvalidObject, Resource, UnknownKind, describe_object, parse_object
from .result import InputError, ReadResult


class SnapshotBuilder:
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
        return snapshot_of(self.objects)


def _place(origin: Origin | None) -> str:
    if origin is None:
        return "?"
    where = origin.source if origin.line is None else f"{origin.source}:{origin.line}"
    return f"{where} {origin.item}" if origin.item else where


_FIELD_OF_MODEL: dict[type, str] = {getattr(model, k.model): k.snapshot_field for k in KINDS}
"""Each registered kind's model class -> its Snapshot field."""


def snapshot_of(objects: Iterable[Resource], *, complete: Iterable[str] = ()) -> Snapshot:
    """Group parsed objects by kind into a snapshot; ``complete``: kinds read in full even where none exist."""
    buckets: dict[str, list[Resource]] = {k.snapshot_field: [] for k in KINDS}
    for obj in objects:
        buckets[_FIELD_OF_MODEL[type(obj)]].append(obj)
    groups: dict[str, Any] = {name: tuple(objs) for name, objs in buckets.items()}
    present = {k.name for k in KINDS if groups[k.snapshot_field]}
    return Snapshot(**groups, complete=frozenset(present.union(complete)))


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
        complete=base.complete | top.complete,
    )
