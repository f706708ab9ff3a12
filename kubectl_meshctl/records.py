"""A faster ``__init__`` for the frozen, slotted dataclasses built by the hundred thousand.

Why this module exists: a frozen dataclass's generated ``__init__`` sets each field with
``object.__setattr__(self, name, value)`` -- a name lookup through the class on every field, since the class's own
``__setattr__`` refuses.  A cold ``gateways -A`` on a large mesh builds about half a million such objects (rules,
matches, destinations, routes, their sources), so that lookup is a tenth of the run.  :func:`quick_init` replaces the
generated ``__init__`` with one that calls each slot's own setter directly: same signature, same defaults, same
object; the instances stay frozen (assignment still raises ``FrozenInstanceError``), equality and hashing are the
dataclass's own.  ``tests/test_records.py`` checks every decorated class against the ``__init__`` it replaced.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    """Give a ``@dataclass(frozen=True, slots=True)`` class an ``__init__`` that sets its slots directly.

    Put it above the ``@dataclass`` decorator.  Classes with ``__post_init__`` or ``InitVar`` fields are refused: the
    generated code would have to reproduce their call order, and none of the hot classes needs them.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"quick_init: {cls.__name__} is not a frozen, slotted dataclass")
    generated = cls.__init__.__code__
    parameters = generated.co_varnames[1 : generated.co_argcount + generated.co_kwonlyargcount]
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if hasattr(cls, "__post_init__") or set(parameters) != {f.name for f in fields if f.init}:
        raise TypeError(f"quick_init: {cls.__name__} has __post_init__ or InitVar fields")
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
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    init.__replaced__ = cls.__init__  # for the test that compares the two
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def _slot_setter(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        slot = klass.__dict__.get(name)
        if slot is not None and type(slot).__name__ == "member_descriptor":
            return slot.__set__
    raise TypeError(f"quick_init: {cls.__name__}.{name} is not a slot")
