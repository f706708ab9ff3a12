"""``records.record``: every record behaves as the standard ``@dataclass(frozen=True, slots=True)`` would.

Each record of the package is compared with a twin the standard decorator makes from the same fields and the
class's own methods: the same ``__init__`` signature and defaults, the same object built, the same equality, hash,
``repr``, ``__match_args__``, refusals on assignment, and copy/pickle/``replace`` round trips.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import pickle
import pkgutil
from dataclasses import InitVar, dataclass, field
from typing import Any

import pytest

import kubectl_meshctl
from kubectl_meshctl.records import record


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
RECORDS = [c for c in CLASSES if vars(c).get("__record__")]
_GENERATED = {"__init__", "__setattr__", "__delattr__", "__getstate__", "__setstate__", "__record__", "__match_args__"}
_DATACLASS = {"__slots__", "__dict__", "__weakref__", "__dataclass_fields__", "__dataclass_params__", "__doc__"}


def _twin(cls: type) -> Any:
    """What ``@dataclass(frozen=True, slots=True)`` makes of ``cls``'s fields and own methods."""
    fields = dataclasses.fields(cls)
    names = {f.name for f in fields}
    namespace: dict[str, Any] = {
        name: value
        for name, value in vars(cls).items()
        if name not in names | _GENERATED | _DATACLASS and getattr(value, "__module__", None) != "kubectl_meshctl.records"
    }
    namespace["__annotations__"] = {f.name: f.type for f in fields}
    for f in fields:
        namespace[f.name] = field(
            default=f.default,
            default_factory=f.default_factory,
            init=f.init,
            repr=f.repr,
            hash=f.hash,
            compare=f.compare,
            kw_only=f.kw_only,
        )
    twin = dataclass(frozen=True, slots=True)(type(cls.__name__, cls.__bases__, namespace))
    twin.__qualname__ = cls.__qualname__
    return twin


def _comparable(sig: inspect.Signature) -> list[tuple[str, object, object]]:
    out = []
    for p in list(sig.parameters.values())[1:]:
        default = p.default
        if repr(default) == "<factory>" or default is dataclasses.MISSING:
            default = "<factory>"
        out.append((p.name, p.kind, default))
    return out


def _build(cls: Any, values: dict[str, Any]) -> Any:
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    args = [values[p.name] for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    kwargs = {p.name: values[p.name] for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
    return cls(*args, **kwargs)


def test_the_package_has_them():
    assert len(RECORDS) > 80
    names = {c.__name__ for c in RECORDS}
    assert {"HTTPRule", "HTTPMatch", "StringMatch", "RouteSource", "RouteMatch", "KubeRouteRule", "Finding"} <= names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_no_standard_frozen_dataclass_is_left(cls):
    # one kind of record throughout: a class written with the standard decorator would be the slow one nobody notices
    assert not cls.__dataclass_params__.frozen, f"{cls.__name__}: use @record"


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_a_record_is_what_the_standard_decorator_makes(cls):
    twin = _twin(cls)
    assert _comparable(inspect.signature(cls.__init__)) == _comparable(inspect.signature(twin.__init__))
    assert cls.__match_args__ == twin.__match_args__
    assert [f.name for f in dataclasses.fields(cls)] == [f.name for f in dataclasses.fields(twin)]
    init = [f.name for f in dataclasses.fields(cls) if f.init]
    # distinct objects: the very values given must be the ones kept
    given = {name: object() for name in init}
    ours, theirs = _build(cls, given), _build(twin, given)
    for f in dataclasses.fields(cls):
        a, b = getattr(ours, f.name), getattr(theirs, f.name)
        assert a is b or (a == b and type(a) is type(b)), f"{cls.__name__}.{f.name}: {a!r} != {b!r}"
    # only the required arguments: defaults, and factories called once per object as the standard one calls them
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    required = {p.name: number for number, p in enumerate(params) if p.default is p.empty}
    ours, again, theirs, theirs_again = cls(**required), cls(**required), twin(**required), twin(**required)
    for f in dataclasses.fields(cls):
        a, b = getattr(ours, f.name), getattr(theirs, f.name)
        assert a == b and type(a) is type(b), f"{cls.__name__}.{f.name}"
        assert (getattr(again, f.name) is a) is (getattr(theirs_again, f.name) is b), f"{cls.__name__}.{f.name}"
    # equality, hashing and repr, on values whose repr is stable
    values = {name: number for number, name in enumerate(init)}
    ours, theirs = _build(cls, values), _build(twin, values)
    assert repr(ours) == repr(theirs)
    assert ours == _build(cls, values) and hash(ours) == hash(_build(cls, values))
    assert ours != theirs and (ours == theirs) is (theirs == ours)  # another class: never equal, either way round
    for name in init:
        changed = {**values, name: -1}
        assert (ours == _build(cls, changed)) is (theirs == _build(twin, changed)), f"{cls.__name__}: change {name}"
        assert (ours != _build(cls, changed)) is (theirs != _build(twin, changed))
        if ours == _build(cls, changed):  # a field not compared: not hashed either
            assert hash(ours) == hash(_build(cls, changed))


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_a_record_is_frozen_and_survives_copy_pickle_and_replace(cls):
    init = [f.name for f in dataclasses.fields(cls) if f.init]
    obj = _build(cls, {name: number for number, name in enumerate(init)})
    name = dataclasses.fields(cls)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, name, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(obj, name)
    with pytest.raises(AttributeError):
        obj.not_a_field = 1  # slotted: no place for it either
    for again in (copy.copy(obj), copy.deepcopy(obj), pickle.loads(pickle.dumps(obj))):
        assert again == obj and again is not obj and type(again) is cls
    if init:
        changed = dataclasses.replace(obj, **{init[0]: -1})
        assert getattr(changed, init[0]) == -1 and all(getattr(changed, n) == getattr(obj, n) for n in init[1:])


def test_defaults_factories_keywords_and_fields_outside_init():
    @record
    class Sample:
        a: int
        b: tuple[int, ...] = ()
        c: list[int] = field(default_factory=list)
        d: int = field(default=3, init=False)
        e: str = field(default="x", kw_only=True)
        f: int = field(default=0, compare=False)

    one, two = Sample(1), Sample(1)
    assert one == Sample(1, (), [], e="x") and one.d == 3
    assert one.c is not two.c  # a factory per object, as the standard one does
    assert Sample(1, (2,), [3], e="y") == Sample(a=1, b=(2,), c=[3], e="y")
    assert Sample(1, f=1) == Sample(1, f=2)  # f is not compared
    assert Sample.__doc__ == "Sample(a, b, c, e, f)"  # the standard docstring, for a class without one

    @record
    class Hashing:
        a: int
        b: int = field(default=0, hash=False)

    assert Hashing(1, 1) != Hashing(1, 2) and hash(Hashing(1, 1)) == hash(Hashing(1, 2))
    assert hash(Hashing(1)) != hash(Hashing(2))
    assert (
        repr(Sample(1))
        == "test_defaults_factories_keywords_and_fields_outside_init.<locals>.Sample(a=1, b=(), c=[], d=3, e='x', f=0)"
    )
    with pytest.raises(TypeError):
        Sample()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Sample(1, (), [], 0, "y")  # type: ignore[misc]  # e is keyword-only


def test_own_methods_are_kept_and_a_bare_eq_gets_the_generated_hash():
    @record
    class OwnHash:
        a: int

        def __hash__(self) -> int:
            return 7

    @record
    class OwnEq:
        a: int

        def __eq__(self, other: object) -> bool:
            return True

        def __repr__(self) -> str:
            return "mine"

    assert hash(OwnHash(1)) == 7 and OwnHash(1) != OwnHash(2)
    assert OwnEq(1) == OwnEq(2) and repr(OwnEq(1)) == "mine"
    # as the standard decorator does for frozen classes: __eq__ alone leaves Python's None, replaced by the fields' hash
    assert hash(OwnEq(1)) == hash(OwnEq(1)) and hash(OwnEq(1)) != hash(OwnEq(2))


def test_refuses_what_it_cannot_reproduce():
    with pytest.raises(TypeError, match="record: PostInit"):

        @record
        class PostInit:
            a: int

            def __post_init__(self) -> None:
                pass

    with pytest.raises(TypeError, match="record: WithInitVar"):

        @record
        class WithInitVar:
            a: int
            b: InitVar[int] = 0
