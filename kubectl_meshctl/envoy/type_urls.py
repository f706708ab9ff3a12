"""Envoy's protobuf type URLs, written once: the prediction, the dump decoder and the test harness all name them."""

from __future__ import annotations

from typing import Final

ROUTE_CONFIGURATION_TYPE: Final = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
ROUTES_CONFIG_DUMP_TYPE: Final = "type.googleapis.com/envoy.admin.v3.RoutesConfigDump"
