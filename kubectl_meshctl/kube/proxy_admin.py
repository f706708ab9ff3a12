"""A gateway proxy's admin interface: its config dump, through a port-forward or the API server's pod proxy.

Why this module exists: reading what Envoy really holds takes a second road when the first is closed
(port-forward needs ``pods/portforward``, the pod proxy ``pods/proxy``); one error names both causes.
"""

from __future__ import annotations

from ..exitcodes import ExitCode
from .api import Api
from .errors import ClusterError, _short

CONFIG_DUMP_MASK = "dynamic_route_configs,static_route_configs"
CONFIG_DUMP_PATH = f"/config_dump?mask={CONFIG_DUMP_MASK}"


def fetch_config_dump(api: Api, pod: str, namespace: str, *, port: int = 15000) -> tuple[bytes, str]:
    """The proxy's route config dump via port-forward, else via the pod proxy subresource.

    Returns the dump and how it was fetched; one ClusterError naming both causes when both fail.
    """
    from .portforward import PortForwardError, forward_get
    from .transport import TransportError, segment

    try:
        dump = forward_get(api.conn.transport, namespace=namespace, pod=pod, port=port, path=CONFIG_DUMP_PATH)
        return dump, "port-forward"
    except PortForwardError as exc:
        forward_error = str(exc)
    except TransportError as exc:
        if exc.kind == "timeout":  # the deadline is spent: the pod proxy would only time out again
            raise ClusterError(
                f"port-forward to pod {namespace}/{pod} timed out{api.conn.timeout_note}", ExitCode.TEMPFAIL
            ) from None
        forward_error = _short(exc)
    try:
        where = f"/api/v1/namespaces/{segment(namespace)}/pods/{segment(pod)}:{port}/proxy/config_dump"
        body = api.get_raw(where, {"mask": CONFIG_DUMP_MASK})
        return body, "pod proxy"
    except ClusterError as exc:
        raise ClusterError(
            f"cannot read the config dump of pod {namespace}/{pod}: port-forward to {port} failed ({forward_error});"
            f" pod proxy failed ({exc})",
            exc.code,
        ) from None
