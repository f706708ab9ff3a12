"""The YAML loader every file is read with: PyYAML's safe loader (libyaml's when built), interning short strings.

Why this module exists: PyYAML costs 7 ms to import, and a cluster command reads no YAML at all; the modules a cluster
read goes through (``result.py``) import this one only when a file's field line is looked up.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import yaml


def borrowed_c_loader(search_path: list[str], *, own_package: str, version: str) -> Any | None:
    """libyaml's safe loader from another PyYAML of the same version line on ``search_path``, when this one has none.

    Why: the krew release carries PyYAML as pure Python (one archive for every platform), and its loader reads a
    manifest five times slower than libyaml's (an 11 MB file: 18.7 s against 4.0 s).  A distribution's PyYAML
    (Debian's python3-yaml, on the system python3's path) usually has the C extension: it is loaded as this PyYAML's
    ``_yaml``, only from a ``yaml`` package of the same major.minor version, built for this interpreter.  Anything
    unexpected: None, and the pure loader reads as before.
    """
    import importlib.machinery
    import importlib.util
    import re

    wanted = ".".join(version.split(".")[:2])
    for entry in search_path:
        package = os.path.join(entry or ".", "yaml")
        try:
            if os.path.realpath(package) == os.path.realpath(own_package):
                continue
            names = os.listdir(package)
            with open(os.path.join(package, "__init__.py"), encoding="utf-8") as fh:
                found = re.search(r"""^__version__ = ['"]([0-9.]+)['"]""", fh.read(65536), re.M)
        except (OSError, ValueError):
            continue
        if found is None or ".".join(found.group(1).split(".")[:2]) != wanted:
            continue
        for name in names:
            if name.startswith("_yaml.") and name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
                try:
                    spec = importlib.util.spec_from_file_location("yaml._yaml", os.path.join(package, name))
                    if spec is None or spec.loader is None:
                        continue
                    module = importlib.util.module_from_spec(spec)
                    sys.modules["yaml._yaml"] = module
                    spec.loader.exec_module(module)
                    from yaml import cyaml

                    return cyaml.CSafeLoader
                except Exception:  # an extension that does not load here: the pure loader it is
                    sys.modules.pop("yaml._yaml", None)
                    sys.modules.pop("yaml.cyaml", None)
    return None


_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", None)  # the C loader is what makes reading 100k rules fast
if _SAFE_LOADER is None:
    _SAFE_LOADER = (
        borrowed_c_loader(sys.path, own_package=os.path.dirname(yaml.__file__ or ""), version=yaml.__version__) or yaml.SafeLoader
    )

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
