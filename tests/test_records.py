"""``records.quick_init``: the faster ``__init__`` builds the very object the dataclass's own would, and stays frozen."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from dataclasses import InitVar, dataclass, field

import pytest

import kubectl_meshctl
from kubectl_meshctl.records import quick_init


def _package_classes() -> list[type]:
    found = []
    for info in pkgutil.walk_packages(kubectl_meshctl.__path__, "kubectl_meshctl."):
        if info.name.endswith("__main__"):  # importing it runs the command line
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == info.name and dataclasses.is_dataclass(value):
                found.append(value)
    return found


CLASSES = _package_classes()
FROZEN_SLOTTED = [c for c in CLASSES if c.__dataclass_params__.frozen and "__slots__" in c.__dict__]  # type: ignore[attr-defined]


def test_the_package_has_them():
    assert len(FROZEN_SLOTTED) > 50
    names = {c.__name__ for c in FROZEN_SLOTTED}
    assert {"HTTPRule", "HTTPMatch", "StringMatch", "RouteSource", "RouteMatch", "KubeRouteRule"} <= names


@pytest.mark.parametrize("cls", FROZEN_SLOTTED, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_frozen_slotted_dataclass_has_the_quick_init(cls):
    # one kind of record throughout: a new class written without it would be the slow one nobody notices
    assert hasattr(cls.__init__, "__replaced__"), f"{cls.__name__}: put @quick_init above its @dataclass"


def _comparable(sig: inspect.Signature) -> list[tuple[str, object, object]]:
    out = []
    for p in list(sig.parameters.values())[1:]:
        default = p.default
        if repr(default) in ("<factory>",) or default is dataclasses.MISSING:
            default = "<factory>"
        out.append((p.name, p.kind, default))
    return out


@pytest.mark.parametrize("cls", FROZEN_SLOTTED, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_same_signature_and_same_object_as_the_dataclass_init(cls):
    replaced = cls.__init__.__replaced__
    assert _comparable(inspect.signature(cls.__init__)) == _comparable(inspect.signature(replaced))
    names = [f.name for f in dataclasses.fields(cls)]
    params = list(inspect.signature(replaced).parameters.values())[1:]
    required = {p.name: object() for p in params if p.default is inspect.Parameter.empty}
    everything = {p.name: object() for p in params}
    for kwargs in (required, everything):
        ours = cls(**kwargs)
        theirs = object.__new__(cls)
        replaced(theirs, **kwargs)
        for name in names:
            a, b = getattr(ours, name), getattr(theirs, name)
            assert a is b or (a == b and type(a) is type(b)), f"{cls.__name__}.{name}: {a!r} != {b!r}"
    positional = [p for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    args = [everything[p.name] for p in positional]
    rest = {p.name: everything[p.name] for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert all(getattr(cls(*args, **rest), name) is value for name, value in everything.items() if name in names)


@pytest.mark.parametrize("cls", FROZEN_SLOTTED[:10], ids=lambda c: c.__name__)
def test_still_frozen(cls):
    params = list(inspect.signature(cls.__init__.__replaced__).parameters.values())[1:]
    obj = cls(**{p.name: 0 for p in params if p.default is inspect.Parameter.empty})
    with pytest.raises(dataclasses.FrozenInstanceError):
        obj.__setattr__(dataclasses.fields(cls)[0].name, 1)


def test_defaults_factories_and_fields_outside_init():
    @quick_init
    @dataclass(frozen=True, slots=True)
    class Sample:
        a: int
        b: tuple[int, ...] = ()
        c: list[int] = field(default_factory=list)
        d: int = field(default=3, init=False)
        e: str = field(default="x", kw_only=True)

    one, two = Sample(1), Sample(1)
    assert one == Sample(1, (), [], e="x") and one.d == 3
    assert one.c is not two.c  # a factory per object, as the dataclass does
    assert Sample(1, (2,), [3], e="y") == Sample(a=1, b=(2,), c=[3], e="y")
    with pytest.raises(TypeError):
        Sample()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Sample(1, (), [], "y")  # type: ignore[misc]  # e is keyword-only


def test_refuses_what_it_cannot_reproduce():
    @dataclass(slots=True)
    class Mutable:
        a: int

    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True, slots=True)
    class WithInitVar:
        a: int
        b: InitVar[int] = 0

    for cls in (Mutable, NoSlots, PostInit, WithInitVar):
        with pytest.raises(TypeError, match="quick_init"):
            quick_init(cls)
