"""A gateway proxy's admin interface: its config dump, through a port-forward or the API server's pod proxy.

Why this module exists: reading what Envoy really holds takes a second road when the first is closed
(port-forward needs ``pods/portforward``, the pod proxy ``pods/proxy``); one error names both causes.
"""

from __future__ import annotations

from typing import NamedTuple

from .api import Api
from .errors import KubeError, TimedOut, short_reason

CONFIG_DUMP_MASK = "dynamic_route_configs,static_route_configs"
CONFIG_DUMP_PATH = f"/config_dump?mask={CONFIG_DUMP_MASK}"


class ConfigDump(NamedTuple):
    """The proxy's route config dump as it sent it, and the road it came by."""

    dump: bytes
    how: str
    """``port-forward`` or ``pod proxy``."""


def fetch_config_dump(api: Api, pod: str, namespace: str, *, port: int = 15000) -> ConfigDump:
    """The proxy's route config dump via port-forward, else via the pod proxy subresource.

    One error naming both causes when both fail, of the pod proxy's error type (its status left out: it is not
    the whole story); :class:`TimedOut` at once when the port-forward used up the time.
    """
    from .portforward import PortForwardError, forward_get
    from .transport import TransportError, segment

    try:
        dump = forward_get(api.conn.transport, namespace=namespace, pod=pod, port=port, path=CONFIG_DUMP_PATH)
        return ConfigDump(dump, "port-forward")
    except PortForwardError as exc:
        forward_error = str(exc)
    except TransportError as exc:
        if exc.kind == "timeout":  # the deadline is spent: the pod proxy would only time out again
            raise TimedOut(f"port-forward to pod {namespace}/{pod} timed out{api.conn.timeout_note}") from None
        forward_error = short_reason(exc)
    try:
        where = f"/api/v1/namespaces/{segment(namespace)}/pods/{segment(pod)}:{port}/proxy/config_dump"
        body = api.get_raw(where, {"mask": CONFIG_DUMP_MASK})
        return ConfigDump(body, "pod proxy")
    except KubeError as exc:
        raise type(exc)(
            f"cannot read the config dump of pod {namespace}/{pod}: port-forward to {port} failed ({forward_error});"
            f" pod proxy failed ({exc})"
        ) from None
