"""The YAML loader every file is read with: PyYAML's safe loader (libyaml's when built), interning short strings.

Why this module exists: PyYAML costs 7 ms to import, and a cluster command reads no YAML at all; the modules a cluster
read goes through (``result.py``) import this one only when a file's field line is looked up.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

try:  # the C loader is what makes reading 100k rules fast; fall back where libyaml is missing
    _SAFE_LOADER: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _SAFE_LOADER = yaml.SafeLoader

_INTERNED_UP_TO = 64
"""Longer strings (certificates, embedded JSON) are seldom repeated: not worth a place in the interned table."""


class _InterningLoader(_SAFE_LOADER):  # type: ignore[misc]
    """The safe loader, with each short string shared by every place it is written.

    Why: every key (``match``, ``destination``, ``host``...) and common value of a document is otherwise a string of
    its own; 10,000 VirtualServices hold millions of them, and the model keeps the documents it was read from.
    Interning them cut the retained documents by a third; the values are the same strings either way.
    """


def _construct_str(loader: Any, node: Any) -> str:
    text: str = loader.construct_scalar(node)
    return sys.intern(text) if len(text) <= _INTERNED_UP_TO else text


_InterningLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)
YAML_LOADER: Any = _InterningLoader
