"""TRANSITIONAL: the names the cluster access had when it was one module, kept importable while callers move.

Why this module exists: ``connection.py`` (kubeconfig to Connection), ``api.py`` (requests and lists),
``cluster_source.py`` (the Source), ``proxy_admin.py`` (the config dump) and ``errors.py`` replaced it;
code outside ``kube/`` that still imports from here keeps working until it imports from those, and then
this module goes.  ``ClusterError`` is :class:`~kubectl_meshctl.kube.errors.KubeError` under its old name.
"""

from __future__ import annotations

from .api import MAX_PAGES, METADATA_ONLY, METADATA_PAGE_SIZE, PAGE_SIZE, Api, list_envelope, list_pages, page_items
from .cluster_source import ClusterSource, RawRead, pages_digest
from .connection import AUTH_MACHINERY, Connection, connect, display_url, parse_duration
from .errors import KubeError
from .proxy_admin import CONFIG_DUMP_MASK, CONFIG_DUMP_PATH, fetch_config_dump

ClusterError = KubeError

__all__ = [
    "AUTH_MACHINERY",
    "CONFIG_DUMP_MASK",
    "CONFIG_DUMP_PATH",
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
    "list_envelope",
    "list_pages",
    "page_items",
    "pages_digest",
    "parse_duration",
]
