"""``kubectl meshctl routes``: istioctl's ``proxy-config routes`` from a pod, a file, or the prediction."""

from __future__ import annotations

import click

from ..app.cluster_access import KubeOptions
from ..exitcodes import ExitCode
from .boundary import CommandExit, PluginError
from .options import istio_version as istio_version_callback
from .options import kubectl_options
from .output import echo, echo_chunks, say, say_all


@click.command("routes")
@click.argument("target", required=False, metavar="[POD[.NS] | TYPE/NAME[.NS]]")
@click.option("-f", "--file", "input_file", metavar="FILE|-", help="An Envoy config dump (with --predict: Istio resources).")
@click.option("--name", "route_name", default=None, help="Only route configurations with this name.")
@click.option(
    "--verbose", type=click.BOOL, default=True, is_flag=False, flag_value=True, help="--verbose=false: one line per route config."
)
@click.option("-o", "--output", type=click.Choice(["short", "json", "yaml"]), default="short", show_default=True)
@click.option(
    "--istio-version",
    default="1.24",
    show_default=True,
    callback=istio_version_callback,
    help="Render as this istioctl (1.23 shows the older VIRTUAL SERVICE column).",
)
@click.option("--proxy-admin-port", default=15000, show_default=True, type=int)
@click.option(
    "--predict", is_flag=True, help="Compute what istiod would send the pod from the resources instead of asking the proxy."
)
@click.option("--diff", is_flag=True, help="Rows where the proxy's routes and the prediction differ (exit 0 when they agree).")
@click.option(
    "--pod-labels", default="istio=ingressgateway", show_default=True, help="With -f --predict: the gateway pod's labels."
)
@click.option(
    "--pod-namespace", default="istio-system", show_default=True, help="With -f --predict: the gateway pod's namespace."
)
@kubectl_options
def routes_command(
    target: str | None,
    input_file: str | None,
    *,
    route_name: str | None,
    verbose: bool,
    output: str,
    istio_version: str,
    proxy_admin_port: int,
    predict: bool,
    diff: bool,
    pod_labels: str,
    pod_namespace: str,
    kube: KubeOptions,
) -> None:
    """istioctl's `proxy-config routes` table, from a gateway pod, from a file, or predicted from the resources.

    \b
    Examples:
      kubectl meshctl routes istio-ingressgateway-5d7f9b8c4-x2x7q.istio-system
      kubectl meshctl routes deployment/istio-ingressgateway.istio-system --name http.8080
      kubectl meshctl routes gateway/web.shop --predict          # a Gateway API Gateway's pod
      kubectl meshctl routes -f config_dump.json
      kubectl meshctl routes istio-ingressgateway-5d7f9b8c4-x2x7q.istio-system --predict
      kubectl meshctl routes -f resources.yaml --predict --pod-labels istio=ingressgateway --pod-namespace istio-system
      kubectl meshctl routes istio-ingressgateway-5d7f9b8c4-x2x7q.istio-system --diff
    """
    from ..app import routes as app

    style = app.RenderOptions(name=route_name, verbose=verbose, output=output, istio_version=istio_version)
    if input_file is not None and not predict:
        if diff:
            raise PluginError("--diff compares a pod with its prediction: give a pod, not -f", ExitCode.USAGE)
        echo(app.render(app.read_dump_file(input_file), style), newline=False)
        return
    if input_file is not None:  # offline prediction from resource files
        result = app.read_resources([input_file], default_namespace=kube.namespace or "default")
        say_all(result.notes, prefix="Note: ")
        say_all(map(str, result.errors), prefix="Error: ")
        say_all(map(str, result.warnings), prefix="Warning: ")
        proxy = app.hypothetical_proxy(pod_labels, namespace=pod_namespace)
        table = app.render_predicted(result.snapshot, proxy, style)
        failed = bool(result.errors)
        del result  # the resources are in the prediction now: printing 300,000 rows needs the memory
        echo_chunks(table)
        if failed:
            raise CommandExit(ExitCode.DATA)
        return
    candidates = app.read_candidates(kube, target, with_resources=predict or diff)
    say_all(candidates.notes, prefix="Note: ")
    found = app.choose_proxy(candidates, target)
    if found.note:
        say(found.note)
    if predict and not diff:
        table = app.render_predicted(found.snapshot, found.proxy, style)
        del found, candidates  # as for -f: the resources are in the prediction now
        echo_chunks(table)
        return
    real, how = app.fetch_dump(found, admin_port=proxy_admin_port)
    if not diff:
        echo(app.render(real, style), newline=False)
        return
    compared = app.diff_tables(app.render(real, style), "".join(app.render_predicted(found.snapshot, found.proxy, style)))
    name = f"{found.pod.meta.name}.{found.pod.meta.namespace}"
    if compared.agree:
        say(f"The routes of {name} ({how}) agree with the prediction.")
        return
    # the table quotes any cell with a control character, so every line printed here is one printable row
    for line in compared.header:
        echo(f"  {line}")
    for line in compared.only_proxy:
        echo(f"- {line}")
    for line in compared.only_predicted:
        echo(f"+ {line}")
    say("- only in the proxy (stale or extra config), + only in the prediction (rejected or not yet pushed)")
    raise CommandExit(ExitCode.DRIFT)
