"""The names the cluster access had when it was one module, kept importable while callers move to its rooms.

Why this module exists: ``connection.py`` (kubeconfig to Connection), ``api.py`` (requests and lists),
``cluster_source.py`` (the Source), ``proxy_admin.py`` (the config dump) and ``errors.py`` replaced it;
code outside ``kube/`` that still imports from here keeps working until it imports from those.
"""

from __future__ import annotations

from .api import (
    MAX_PAGES,
    METADATA_ONLY,
    METADATA_PAGE_SIZE,
    PAGE_SIZE,
    Api,
    list_envelope,
    list_pages,
    page_items,
)
from .cluster_source import ISTIO_GROUP, ISTIO_RESOURCES, ClusterSource, RawRead, istio_version, pages_digest
from .connection import AUTH_MACHINERY, Connection, connect, display_url, parse_duration
from .errors import ClusterError
from .proxy_admin import CONFIG_DUMP_MASK, CONFIG_DUMP_PATH, fetch_config_dump

__all__ = [
    "AUTH_MACHINERY",
    "CONFIG_DUMP_MASK",
    "CONFIG_DUMP_PATH",
    "ISTIO_GROUP",
    "ISTIO_RESOURCES",
    "MAX_PAGES",
    "METADATA_ONLY",
    "METADATA_PAGE_SIZE",
    "PAGE_SIZE",
    "Api",
    "ClusterError",
    "ClusterSource",
    "Connection",
    "RawRead",
    "connect",
    "display_url",
    "fetch_config_dump",
    "istio_version",
    "list_envelope",
    "list_pages",
    "page_items",
    "pages_digest",
    "parse_duration",
]
