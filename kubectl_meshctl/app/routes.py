"""``routes``: istioctl's ``pc routes`` output from a saved dump, a live proxy, or istiod's predicted answer.

Why this module exists: the five ways to ask (a file, a file of resources to predict from, a pod's proxy, a pod's
prediction, the two compared) share one renderer and one prediction; the shell picks the mode from the flags and
prints what comes back.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..records import record
from ..resources.kinds import GATEWAY_API_KINDS, LISTED_KINDS, POD
from .cluster_access import KubeOptions, connect, read_cluster
from .errors import BadInput
from .targets import resolve_pod

if TYPE_CHECKING:
    from ..envoy.from_dump import DumpedRouteConfiguration
    from ..envoy.route_model import RouteConfiguration
    from ..istio.translation import GatewayProxy
    from ..kube.api import Api
    from ..resources.model import Pod, Snapshot
    from ..sources.result import ReadResult


@record
class RenderOptions:
    """How to print a route dump: istioctl's flags."""

    name: str | None
    verbose: bool
    output: str
    """short, json or yaml."""
    istio_version: str


def render(dump: bytes, options: RenderOptions) -> str:
    """The dump as ``istioctl proxy-config routes`` prints it (BadInput when it is no config dump)."""
    from ..routes import RoutesError, load_route_dump, render_routes, render_routes_json, render_routes_yaml

    try:
        loaded = load_route_dump(dump)
        if options.output == "json":
            return render_routes_json(loaded, name=options.name)
        if options.output == "yaml":
            return render_routes_yaml(loaded, name=options.name)
    except RoutesError as exc:
        raise BadInput(str(exc)) from None
    return render_routes(loaded, name=options.name, verbose=options.verbose, istio_version=options.istio_version)


def dumped_configurations(dump: bytes | Mapping[str, Any], *, prefix: str = "") -> list[DumpedRouteConfiguration]:
    """A config dump's route configurations as the Envoy model (decoded as ``routes -f`` decodes it); BadInput,
    its message after ``prefix``, when it is no config dump."""
    from ..envoy.from_dump import DumpShapeError, dumped_route_configurations
    from ..routes import RoutesError, load_route_dump

    try:
        return dumped_route_configurations(load_route_dump(dump).raw)
    except RoutesError as exc:
        raise BadInput(f"{prefix}{exc}") from None
    except DumpShapeError as exc:
        raise BadInput(f"{prefix}config dump: {exc}") from None


def read_dump_file(path: str) -> bytes:
    """A config dump from ``path`` or stdin (``-``), at most MAX_INPUT bytes."""
    from ..bounded_read import MAX_INPUT, TooLarge, read_at_most

    try:
        if path == "-":
            return read_at_most(sys.stdin.buffer, MAX_INPUT)
        with open(path, "rb") as fh:
            return read_at_most(fh, MAX_INPUT)
    except TooLarge as exc:
        raise BadInput(f"{path}: {exc}") from None
    except OSError as exc:
        raise BadInput(f"{path}: {exc.strerror or exc}") from None


def predicted_dump(snapshot: Snapshot, proxy: GatewayProxy) -> bytes:
    """The config dump istiod's predicted RouteConfigurations would show (the same renderer as the proxy's)."""
    import json

    from ..envoy.config import route_configuration_json, static_backend_route_configs
    from ..envoy.type_urls import ROUTE_CONFIGURATION_TYPE, ROUTES_CONFIG_DUMP_TYPE
    from ..gcpause import paused_gc
    from ..istio.translation import routes_for_proxy

    with paused_gc():  # hundreds of thousands of acyclic objects: the collector would only rescan them
        predicted = routes_for_proxy(snapshot, proxy)
        typed = {"@type": ROUTE_CONFIGURATION_TYPE}
        dump = {
            "configs": [
                {
                    "@type": ROUTES_CONFIG_DUMP_TYPE,
                    "static_route_configs": [{"route_config": {**typed, **rc}} for rc in static_backend_route_configs()],
                    "dynamic_route_configs": [
                        {"route_config": {**typed, **route_configuration_json(rc)}} for rc in predicted.route_configurations
                    ],
                }
            ]
        }
        return json.dumps(dump).encode()


def render_predicted(snapshot: Snapshot, proxy: GatewayProxy, options: RenderOptions) -> Iterator[str]:
    """What :func:`render` prints for :func:`predicted_dump`, in chunks, without the dump.

    The prediction is made now; the text as it is printed: each route configuration's view is read from its virtual
    hosts' JSON when its rows are made, and its routes let go.  So a prediction for 10,000 VirtualServices never
    holds its config dump (as text and decoded) nor its table at once, and the caller can let the snapshot go before
    printing.  ``-o json|yaml`` print the dump itself and still make it."""
    if options.output in ("json", "yaml"):
        return iter([render(predicted_dump(snapshot, proxy), options)])
    from ..gcpause import paused_gc
    from ..istio.translation import routes_for_proxy

    with paused_gc():
        configurations = routes_for_proxy(snapshot, proxy).route_configurations
    return _predicted_table(configurations, options)


def _predicted_table(configurations: list[RouteConfiguration], options: RenderOptions) -> Iterator[str]:
    from ..envoy.config import static_backend_route_configs, virtual_host_json
    from ..routes.dump import RouteConfigView, RoutesError, route_config_view, virtual_host_view
    from ..routes.table import table_chunks

    static = [
        route_config_view(rc, f"static_route_configs[{i}].route_config", dynamic=False)
        for i, rc in enumerate(static_backend_route_configs())
    ]
    names = [rc.name for rc in configurations] + [view.name for view in static]
    dynamic: list[RouteConfiguration | None] = list(configurations)
    del configurations

    def config_at(index: int) -> RouteConfigView:
        if index >= len(dynamic):
            return static[index - len(dynamic)]
        rc, dynamic[index] = dynamic[index], None  # asked once: its routes can go once its rows are made
        assert rc is not None
        where = f"dynamic_route_configs[{index}].route_config.virtual_hosts"
        return RouteConfigView(
            rc.name, tuple(virtual_host_view(virtual_host_json(vh), f"{where}[{j}]") for j, vh in enumerate(rc.virtual_hosts))
        )

    try:
        yield from table_chunks(names, config_at, name=options.name, verbose=options.verbose, istio_version=options.istio_version)
    except RoutesError as exc:
        raise BadInput(str(exc)) from None


def proxy_of(pod: Pod) -> GatewayProxy:
    """The gateway proxy istiod sees for ``pod``."""
    from ..istio.translation import GatewayProxy

    named_ports = tuple((p.name, p.container_port) for p in pod.container_ports if p.name)
    return GatewayProxy(pod.meta.name, pod.meta.namespace, pod.labels, unprivileged=pod.unprivileged, container_ports=named_ports)


def hypothetical_proxy(pod_labels: str, *, namespace: str) -> GatewayProxy:
    """A proxy made up from ``--pod-labels K=V[,K=V]`` and ``--pod-namespace`` (offline prediction)."""
    from ..istio.translation import GatewayProxy

    pairs = (kv.partition("=") for kv in pod_labels.split(",") if kv)
    labels = tuple(sorted((key, value) for key, _, value in pairs))
    return GatewayProxy("<predicted>", namespace, labels)


def read_resources(paths: Sequence[str], *, default_namespace: str) -> ReadResult:
    """The resources of ``-f`` files for a prediction (errors are values in the result, the rest is still read)."""
    from ..istio.gateway_api import with_gateway_api
    from ..sources.files import FileSource

    result = FileSource(list(paths), default_namespace=default_namespace).read()
    result.snapshot = with_gateway_api(result.snapshot)  # HTTPRoutes take part as istiod's VirtualServices
    return result


@record
class ProxyCandidates:
    """The gateway pods a target may name, with the resources read beside them."""

    pods: list[Pod]
    snapshot: Snapshot
    """The resources read (Pods only unless a prediction needs the rest)."""
    api: Api
    default_namespace: str
    notes: tuple[str, ...]


@record
class ProxyTarget:
    """A gateway pod in the cluster, as istiod sees it."""

    pod: Pod
    proxy: GatewayProxy
    snapshot: Snapshot
    api: Api
    note: str | None
    """Said when the pod was chosen for the user."""


INGRESS_GATEWAY_LABEL = ("istio", "ingressgateway")


def read_candidates(kube: KubeOptions, target: str | None, *, with_resources: bool) -> ProxyCandidates:
    """Every pod (only the ingress gateway pods without a target), and the resources when a prediction needs them."""
    from ..kube.api import Api

    conn = connect(kube)
    kinds: Sequence[str] = LISTED_KINDS if with_resources else (POD.name,)
    selectors = {} if target else {POD.name: "=".join(INGRESS_GATEWAY_LABEL)}
    optional = GATEWAY_API_KINDS if with_resources else ()
    read = read_cluster(conn, all_namespaces=True, kinds=kinds, selectors=selectors, optional=optional)
    snapshot = read.result.snapshot
    if with_resources:
        from ..istio.gateway_api import with_gateway_api

        snapshot = with_gateway_api(snapshot)
    pods = list(snapshot.pods) if target else [p for p in snapshot.pods if INGRESS_GATEWAY_LABEL in p.labels]
    return ProxyCandidates(pods, snapshot, Api(conn), conn.namespace, read.notes)


def choose_proxy(candidates: ProxyCandidates, target: str | None) -> ProxyTarget:
    resolved = resolve_pod(candidates.api, candidates.pods, target, default_namespace=candidates.default_namespace)
    return ProxyTarget(resolved.pod, proxy_of(resolved.pod), candidates.snapshot, candidates.api, resolved.note)


def fetch_dump(found: ProxyTarget, *, admin_port: int) -> tuple[bytes, str]:
    """The proxy's own config dump and how it was reached (port-forward or the pod proxy)."""
    from ..kube.proxy_admin import fetch_config_dump

    return fetch_config_dump(found.api, found.pod.meta.name, found.pod.meta.namespace, port=admin_port)


@record
class RoutesDiff:
    header: list[str]
    only_proxy: list[str]
    only_predicted: list[str]

    @property
    def agree(self) -> bool:
        return not self.only_proxy and not self.only_predicted


def diff_tables(actual: str, expected: str) -> RoutesDiff:
    """Rows of the proxy's table missing from the prediction's and back (the header kept for context)."""
    actual_lines = actual.removesuffix("\n").split("\n")
    expected_lines = expected.removesuffix("\n").split("\n")
    return RoutesDiff(
        header=actual_lines[:1],
        only_proxy=[line for line in actual_lines[1:] if line not in expected_lines[1:]],
        only_predicted=[line for line in expected_lines[1:] if line not in actual_lines[1:]],
    )
