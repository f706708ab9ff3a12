"""Reaching the cluster with kubectl's flags: one Connection, and resources read into a snapshot.

Why this module exists: every cluster-reading command connects the same way (kubeconfig, context, namespace,
per-request timeout) and reads lists the same way (the current namespace unless ``-A``); the notes the API
server's answers warrant (an older Istio API version, an RBAC fallback) are handed back for the shell to print.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from .errors import UsageProblem

if TYPE_CHECKING:
    from ..kube.cluster_source import ClusterSource
    from ..kube.connection import Connection
    from ..sources.result import ReadResult


class KubeOptions(NamedTuple):
    """kubectl's connection flags, as every cluster-reading command accepts them."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    all_namespaces: bool = False
    request_timeout: str = "0"


class ClusterRead(NamedTuple):
    """Resources read from the cluster, and the notes about how they were read."""

    result: ReadResult
    notes: tuple[str, ...]


def connect(options: KubeOptions, *, timeout: float | None = None) -> Connection:
    """A Connection from the flags; ``timeout`` overrides ``--request-timeout`` (shell completion's short one)."""
    from ..kube.connection import connect as kube_connect
    from ..kube.connection import parse_duration

    if timeout is None:
        try:
            timeout = parse_duration(options.request_timeout)
        except ValueError as exc:
            raise UsageProblem(str(exc)) from None
    return kube_connect(kubeconfig=options.kubeconfig, context=options.context, namespace=options.namespace, timeout=timeout)


def cluster_source(
    conn: Connection,
    *,
    all_namespaces: bool,
    kinds: Sequence[str],
    selectors: Mapping[str, str] | None = None,
    optional: Sequence[str] = (),
) -> ClusterSource:
    from ..kube.api import Api
    from ..kube.cluster_source import ClusterSource

    namespace = None if all_namespaces else conn.namespace
    return ClusterSource(
        Api(conn), namespace=namespace, kinds=kinds, selectors=dict(selectors or {}), optional=optional, discovery_cache=True
    )


def read_cluster(
    conn: Connection,
    *,
    all_namespaces: bool,
    kinds: Sequence[str],
    selectors: Mapping[str, str] | None = None,
    optional: Sequence[str] = (),
) -> ClusterRead:
    """The kinds' objects; ``optional`` kinds (the Gateway API's) are left out when the cluster does not serve them."""
    return start_cluster_read(conn, all_namespaces=all_namespaces, kinds=kinds, selectors=selectors, optional=optional)()


def start_cluster_read(
    conn: Connection,
    *,
    all_namespaces: bool,
    kinds: Sequence[str],
    selectors: Mapping[str, str] | None = None,
    optional: Sequence[str] = (),
) -> Callable[[], ClusterRead]:
    """:func:`read_cluster` started: the lists are fetched in a thread while the caller imports what it needs; the
    function returned waits for them and parses them."""
    source = cluster_source(conn, all_namespaces=all_namespaces, kinds=kinds, selectors=selectors, optional=optional)
    finish = source.start_reading()
    return lambda: ClusterRead(finish(), tuple(source.notes))
