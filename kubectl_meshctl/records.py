"""``@record``: the package's frozen, slotted dataclass, cheaper to define and to build than the standard one.

Why this module exists: the typed objects of a snapshot (rules, matches, destinations, routes, their sources) are
built by the hundred thousand, and about a hundred such classes are defined on every start.  The standard
``@dataclass(frozen=True, slots=True)`` costs on both counts:

- *building*: its ``__init__`` sets each field with ``object.__setattr__(self, name, value)``, a name lookup through
  the class on every field (the class's own ``__setattr__`` refuses).  A record's ``__init__`` calls each slot's
  own setter instead -- a tenth of a cold ``gateways -A`` on a large mesh;
- *defining*: it compiles six functions per class (``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, and the
  refusing ``__setattr__``/``__delattr__``), ~0.8 ms a class, most of an everyday ``analyze -f``'s imports.  A
  record compiles only its ``__init__`` (the one that must be fast); equality, hashing and ``repr`` are built from
  :func:`operator.attrgetter` over its fields and the refusals are shared.

The result is what the standard decorator gives -- same fields, defaults, factories, keyword-only fields,
``dataclasses.fields``/``replace``, equality, hashing, ``repr``, ``FrozenInstanceError`` on assignment, copy and
pickle -- which ``tests/test_records.py`` checks for every record against a twin made by the standard decorator.
Type checkers see a frozen dataclass (``dataclass_transform``).  ``__post_init__`` and ``InitVar`` fields are
refused: no record needs them, and reproducing their call order is where a copy would go wrong.
"""

from __future__ import annotations

import dataclasses
import operator
import reprlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

T = TypeVar("T")

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform  # a stub mypy carries: nothing is imported at run time
else:

    def dataclass_transform(**_: Any) -> Callable[[T], T]:
        # only type checkers read it (``typing`` has it from Python 3.11 only)
        return lambda decorated: decorated


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen, slotted dataclass (see the module's docstring)."""
    own = vars(cls)
    # as the standard decorator decides: a class's own __eq__ and __repr__ are kept, and its own __hash__ unless it
    # is the None Python puts there for a class that defines __eq__ alone
    explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    keep_eq, keep_repr = "__eq__" in own, "__repr__" in own
    if "__post_init__" in own or any("InitVar" in str(a) for a in own.get("__annotations__", {}).values()):
        raise TypeError(f"record: {cls.__name__} has __post_init__ or InitVar fields")
    undocumented = not cls.__doc__
    if undocumented:
        cls.__doc__ = "-"  # else the decorator works out a signature from an __init__ not there yet
    made: Any = dataclasses.dataclass(cls, init=False, repr=False, eq=False, slots=True)
    fields = dataclasses.fields(made)
    if undocumented:  # the standard decorator's docstring, without its annotations
        made.__doc__ = f"{made.__name__}({', '.join(f.name for f in fields if f.init)})"
    made.__init__ = _init(made, fields)
    if not keep_repr:
        made.__repr__ = _repr(tuple(f.name for f in fields if f.repr))
    if not keep_eq:
        made.__eq__ = _eq(_values([f.name for f in fields if f.compare]))
    if not explicit_hash:
        made.__hash__ = _hash(_values([f.name for f in fields if (f.compare if f.hash is None else f.hash)]))
    made.__setattr__ = _refuse_assignment
    made.__delattr__ = _refuse_deletion
    made.__getstate__ = _getstate
    made.__setstate__ = _setstate
    made.__record__ = True  # for the test that finds every record
    return made  # type: ignore[no-any-return]


def _init(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> Callable[..., None]:
    """The compiled ``__init__``: the standard one's signature and defaults, each slot set through its own setter."""
    namespace: dict[str, Any] = {"_MISSING": dataclasses.MISSING}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for number, f in enumerate(fields):
        setter, value = f"_set{number}", f"_value{number}"
        namespace[setter] = _slot_setter(cls, f.name)
        if f.default is not dataclasses.MISSING:
            namespace[value] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            namespace[value] = f.default_factory
        if not f.init:
            if f.default is not dataclasses.MISSING:
                body.append(f"{setter}(self, {value})")
            elif f.default_factory is not dataclasses.MISSING:
                body.append(f"{setter}(self, {value}())")
            continue
        if f.default is not dataclasses.MISSING:
            parameter = f"{f.name}={value}"
        elif f.default_factory is not dataclasses.MISSING:
            parameter = f"{f.name}=_MISSING"
            body.append(f"if {f.name} is _MISSING: {f.name} = {value}()")
        else:
            parameter = f.name
        (keyword if f.kw_only else positional).append(parameter)
        body.append(f"{setter}(self, {f.name})")
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({signature}) -> None:\n" + "".join(f"    {line}\n" for line in body or ["pass"])
    exec(source, namespace)
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init


def _slot_setter(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        slot = vars(klass).get(name)
        if slot is not None and type(slot).__name__ == "member_descriptor":
            return slot.__set__
    raise TypeError(f"record: {cls.__name__}.{name} is not a slot")


def _values(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The named fields of an object as a tuple (what the standard ``__eq__`` and ``__hash__`` compare)."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    if names:
        one = operator.attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _eq(values: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any, Any], Any]:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    return __eq__


def _hash(values: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(values(self))

    return __hash__


def _repr(names: tuple[str, ...]) -> Callable[[Any], str]:
    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        shown = ", ".join([f"{name}={getattr(self, name)!r}" for name in names])
        return f"{self.__class__.__qualname__}({shown})"

    return __repr__


def _refuse_assignment(self: Any, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_deletion(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in dataclasses.fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    # copy and pickle restore through here: the refusing __setattr__ would stop them
    for f, value in zip(dataclasses.fields(self), state, strict=True):
        object.__setattr__(self, f.name, value)
