"""istioctl's ``proxy-config routes``: a config dump decoded and rendered byte-for-byte (pure).

Modules, one concern each: :mod:`.dump` (decoding a dump into typed views), :mod:`.table` (the
table), :mod:`.order` (istioctl's sort quirk), :mod:`.versions` (what a version string selects),
:mod:`.protojson` (jsonpb re-encoding, schema in ``protojson_schema.json``), :mod:`.output`
(``-o json/yaml``).  The names below are the CLI's surface, imported on first use so that
``import kubectl_meshctl.routes`` stays free.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .dump import RoutesError as RoutesError
    from .dump import load_route_dump as load_route_dump
    from .output import render_routes_json as render_routes_json
    from .output import render_routes_yaml as render_routes_yaml
    from .table import render_routes as render_routes
    from .versions import istio_minor as istio_minor

__all__ = ["RoutesError", "istio_minor", "load_route_dump", "render_routes", "render_routes_json", "render_routes_yaml"]

_HOMES: Final = {
    "RoutesError": "dump",
    "load_route_dump": "dump",
    "render_routes": "table",
    "render_routes_json": "output",
    "render_routes_yaml": "output",
    "istio_minor": "versions",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
