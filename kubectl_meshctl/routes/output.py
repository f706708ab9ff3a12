"""``istioctl pc routes -o json`` and ``-o yaml``: the selected route configurations, printed as istioctl prints them.

Why this module exists: it ties the three pieces together -- which configurations are printed, in
istioctl's order (:mod:`.order`); how each is re-encoded (:mod:`.protojson`); and the Go text layout
(``json.MarshalIndent`` with 4 spaces, then ``sigs.k8s.io/yaml`` for YAML; :mod:`kubectl_meshctl.gocompat`).
Kept apart from the table so the table's import never loads the schema or PyYAML.  Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ..gocompat.gojson import JSONValue, marshal_indent
from ..gocompat.goyaml import json_to_yaml
from ..resources.input_limits import tree_depth_exceeds
from .dump import MAX_DUMP_DEPTH, RouteDump, unmarshal_error
from .order import route_config_order
from .protojson import convert_route_configuration

__all__ = ["render_routes_json", "render_routes_yaml"]

_ROUTE_CONFIG_LEVEL: Final = 5
"""configs, [i], dynamic_route_configs, [j], route_config: the levels above a route configuration in a dump."""


def _converted(dump: RouteDump, *, name: str | None, istio_version: str, go_toolchain: str | None) -> list[JSONValue]:
    order = route_config_order(dump.route_configs, istio_version=istio_version, go_toolchain=go_toolchain)
    selected: list[Mapping[str, Any]] = [dump.raw[i] for i in order if not name or dump.route_configs[i].name == name]
    # The JSON/YAML printers recurse: refuse what they could not print (the table reads fixed fields only, so a
    # deep dump renders as a table, as in istioctl).
    if any(tree_depth_exceeds(rc, MAX_DUMP_DEPTH - _ROUTE_CONFIG_LEVEL) for rc in selected):
        raise unmarshal_error(f"JSON nested more than {MAX_DUMP_DEPTH} levels deep")
    return [convert_route_configuration(rc) for rc in selected]


def render_routes_json(
    dump: RouteDump, *, name: str | None = None, istio_version: str = "1.24", go_toolchain: str | None = None
) -> str:
    """``istioctl pc routes -o json``: the selected RouteConfigurations as jsonpb would print them."""
    return marshal_indent(_converted(dump, name=name, istio_version=istio_version, go_toolchain=go_toolchain)) + "\n"


def render_routes_yaml(
    dump: RouteDump, *, name: str | None = None, istio_version: str = "1.24", go_toolchain: str | None = None
) -> str:
    """``istioctl pc routes -o yaml``: the JSON above through ``sigs.k8s.io/yaml.JSONToYAML``."""
    return json_to_yaml(_converted(dump, name=name, istio_version=istio_version, go_toolchain=go_toolchain)) + "\n"
