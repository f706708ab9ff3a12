"""``kubectl meshctl trace``: one request through a gateway proxy's routes, from a config dump or the prediction.

Why this module exists: the flags of ``trace`` (a URL, curl's ``-X``/``-H``, where the routes come from) and how a
trace is printed -- one block per proxy for people, a list for ``-o json|yaml``; the work is ``app/trace.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..app.cluster_access import KubeOptions
from ..exitcodes import ExitCode
from ..redact import escape
from .boundary import CommandExit, PluginError
from .options import kubectl_options
from .output import echo, say, say_all

if TYPE_CHECKING:
    from ..app.trace import RouteFacts, Trace, TraceQuery


@click.command("trace")
@click.argument("url")
@click.argument("target", required=False, metavar="[POD[.NS] | deployment/NAME[.NS] | gateway/NAME[.NS]]")
@click.option("-X", "--request", "method", default="GET", show_default=True, help="The request method.")
@click.option("-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="A request header (repeatable).")
@click.option(
    "-f", "--file", "files", multiple=True, metavar="FILE|-", help="A config dump (with --pod-labels/--gateway: resources)."
)
@click.option("--gateway", metavar="NS/NAME", help="With -f RESOURCES: trace at the proxies this Gateway selects.")
@click.option("--pod-labels", metavar="K=V[,K=V]", help="With -f RESOURCES: the gateway pod's labels (as routes --predict).")
@click.option("--pod-namespace", default="istio-system", show_default=True, help="With --pod-labels: the pod's namespace.")
@click.option(
    "--predict", is_flag=True, help="With a pod: trace what istiod would send it (from the cluster), not its own routes."
)
@click.option("--proxy-admin-port", default=15000, show_default=True, type=int, help="With a pod: Envoy's admin port.")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="The gateway port the request arrives on [default: the URL's, else 80/443]."
)
@click.option("-o", "--output", type=click.Choice(["human", "json", "yaml"]), default="human", show_default=True)
@kubectl_options
def trace_command(
    url: str,
    target: str | None,
    *,
    method: str,
    headers: tuple[str, ...],
    files: tuple[str, ...],
    gateway: str | None,
    pod_labels: str | None,
    pod_namespace: str,
    predict: bool,
    proxy_admin_port: int,
    port: int | None,
    output: str,
    kube: KubeOptions,
) -> None:
    """Which route one request takes at a gateway, and why each earlier route did not take it.

    \b
    Examples:
      kubectl meshctl trace http://example.com/ -f examples/seed.yaml --gateway default/gt-gateway
      kubectl meshctl trace http://example.com/api -X POST -H 'x-user: jane' -f config_dump.json
      kubectl meshctl trace https://shop.example.com/cart -f resources.yaml --pod-labels istio=ingressgateway
      kubectl meshctl trace http://example.com/ istio-ingressgateway-5d7f9b8c4-x2x7q.istio-system
      kubectl meshctl trace http://example.com/ deployment/istio-ingressgateway.istio-system --predict
    """
    from ..app import trace as app

    query = app.parse_query(url, method=method, headers=headers, port=port)
    if target is not None and files:
        raise PluginError("give a pod or -f, not both", ExitCode.USAGE)
    if target is not None or not files:  # a pod of the cluster (or the only ingress gateway pod in reach)
        from ..app import routes as app_routes

        candidates = app_routes.read_candidates(kube, target, with_resources=predict)
        say_all(candidates.notes, prefix="Note: ")
        found = app_routes.choose_proxy(candidates, target)
        if found.note:
            say(found.note)
        if predict:
            views = [app.predicted_view(found.snapshot, found.proxy)]
        else:
            dump, _how = app_routes.fetch_dump(found, admin_port=proxy_admin_port)
            views = [app.dump_view(dump, proxy=f"{found.pod.meta.name}.{found.pod.meta.namespace}")]
        _print(app.trace_views(views, query), query=query, output=output)
        return
    if predict:
        raise PluginError("--predict traces a pod's prediction: with -f, use --gateway or --pod-labels", ExitCode.USAGE)
    predict = gateway is not None or pod_labels is not None
    if gateway is not None and pod_labels is not None:
        raise PluginError("--gateway and --pod-labels choose the proxy two ways: give one", ExitCode.USAGE)
    unreadable = False
    if not predict:
        if len(files) != 1:
            raise PluginError("a config dump is one file: give one -f (or --gateway/--pod-labels for resources)", ExitCode.USAGE)
        from ..app.routes import read_dump_file

        views = [app.dump_view(read_dump_file(files[0]), proxy=files[0])]
    else:
        from ..app.routes import hypothetical_proxy, read_resources

        result = read_resources(files, default_namespace=kube.namespace or "default")
        say_all(result.notes, prefix="Note: ")
        say_all(map(str, result.errors), prefix="Error: ")
        say_all(map(str, result.warnings), prefix="Warning: ")
        unreadable = bool(result.errors)
        if gateway is not None:
            proxies = app.proxies_for_gateway(result.snapshot, gateway)
        else:
            proxies = [hypothetical_proxy(pod_labels or "", namespace=pod_namespace)]
        views = [app.predicted_view(result.snapshot, p) for p in proxies]
    _print(app.trace_views(views, query), query=query, output=output)
    if unreadable:
        raise CommandExit(ExitCode.DATA)


def _print(traces: list[Trace], *, query: TraceQuery, output: str) -> None:
    if output == "human":
        # names come from the dump or the resources: any control character is shown escaped, one line stays one line
        echo(escape(f"{query.request.describe()} (port {query.port})"))
        for t in traces:
            echo("\n".join(map(escape, _human(t))))
    else:
        import json

        import yaml

        doc = [t.as_dict() for t in traces]
        if output == "json":
            echo(json.dumps(doc, indent=2))
        else:
            echo(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), newline=False)


def _origin(r: RouteFacts) -> str:
    if r.route_kind:  # generated by istiod from a Gateway API route: name the route the user wrote
        where = f"{r.route_kind} {r.route_name} rule #{r.rule}"
        return where + ("" if r.match_index is None else f" match #{r.match_index}")
    if r.virtual_service is None:
        return "no VirtualService"
    if r.rule is None:
        return f"VirtualService {r.virtual_service}" + (f", rule {r.name}" if r.name else "")
    where = f"VirtualService {r.virtual_service} rule #{r.rule}"
    return where + ("" if r.match_index is None else f" match #{r.match_index}")


def _action(r: RouteFacts) -> str:
    if r.redirect is not None:
        return f"redirect {dict(r.redirect)}"
    if r.direct_response is not None:
        return f"direct response {dict(r.direct_response)}"
    if r.action_not_modelled:
        return f"not modelled ({r.action_not_modelled})"
    parts = [
        f"{d.host}{'' if d.port is None else f':{d.port}'}{f' subset {d.subset}' if d.subset else ''} weight {d.weight}"
        for d in r.destinations
    ]
    return "route to " + (", ".join(parts) if parts else "no destination")


def _human(t: Trace) -> list[str]:
    lines = [f"proxy {t.proxy}" + (f" ({','.join(f'{k}={v}' for k, v in t.source_labels.items())})" if t.source_labels else "")]
    lines.append(f"  route configuration: {t.route_configuration_reason}")
    if t.virtual_host is not None:
        from ..app.trace import virtual_host_reason

        lines.append(f"  virtual host: {t.virtual_host.virtual_host.name} ({virtual_host_reason(t.virtual_host)})")
    for i, tried in enumerate(t.tried):
        lines.append(f"  route {i} [{tried.route.match}] from {_origin(tried.route)}: no, {tried.failed}")
    if t.route is not None:
        r = t.route
        lines.append(f"  route {len(t.tried)} [{r.match}] from {_origin(r)}: TAKES IT")
        lines.append(f"  action: {_action(r)}")
    else:
        lines.append(f"  {t.verdict}: {t.reason}")
    lines.extend(f"  note: {n}" for n in t.not_emitted)
    return lines
