"""Which gateway pod a command means: ``POD[.NS]``, ``deployment/NAME[.NS]``, ``gateway/NAME[.NS]`` (a Gateway API
Gateway's pod), a Gateway's selector, or the only one.

Why this module exists: ``routes`` (and later ``trace``) address a proxy the way kubectl addresses pods, and
``pods`` lists what a Gateway selects; resolving those names against the cluster is one job, done once here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..records import record
from .errors import NotFound, UsageProblem

if TYPE_CHECKING:
    from ..kube.api import Api
    from ..resources.model import Pod


@record
class Target:
    """A ``[TYPE/]NAME[.NS]`` argument, split."""

    type: str
    name: str
    namespace: str


@record
class ResolvedPod:
    pod: Pod
    note: str | None = None
    """Said when the pod was chosen for the user (the only one in reach)."""


def split_target(target: str, default_namespace: str) -> Target:
    """``pod[.ns]`` or ``type/name[.ns]``; namespaces cannot contain dots."""
    kind, _, rest = target.rpartition("/")
    name, dot, namespace = rest.rpartition(".")
    if not dot:
        name, namespace = rest, default_namespace
    return Target((kind.lower() or "pod"), name, namespace)


def resolve_pod(api: Api, pods: Sequence[Pod], target: str | None, *, default_namespace: str) -> ResolvedPod:
    """The gateway Pod to inspect: named, behind a deployment, or the only ingress gateway pod in reach."""
    from ..resources.model import labels_match

    if target is None:
        if len(pods) != 1:
            names = ", ".join(f"{p.meta.name}.{p.meta.namespace}" for p in pods) or "none"
            raise UsageProblem(f"give a pod: {len(pods)} ingress gateway pods in reach ({names})")
        pod = pods[0]
        return ResolvedPod(pod, f"Using the only ingress gateway pod in reach: {pod.meta.name}.{pod.meta.namespace}")
    wanted = split_target(target, default_namespace)
    if wanted.type in ("pod", "pods", "po"):
        found = next((p for p in pods if (p.meta.name, p.meta.namespace) == (wanted.name, wanted.namespace)), None)
        if found is None:
            raise NotFound(f'pods "{wanted.name}" not found in namespace {wanted.namespace}')
        return ResolvedPod(found)
    if wanted.type in ("deployment", "deployments", "deploy"):
        selector = deployment_selector(api, wanted.name, namespace=wanted.namespace)
        selected = [p for p in pods if p.meta.namespace == wanted.namespace and labels_match(selector, p.labels)]
        if not selected:
            raise NotFound(f"deployment {wanted.namespace}/{wanted.name} has no pods")
        return ResolvedPod(sorted(selected, key=lambda p: p.meta.name)[0])
    if wanted.type in ("gateway", "gateways", "gtw", "gw"):
        from ..istio.gateway_api import GATEWAY_NAME_LABEL, gateway_pods

        selected = gateway_pods(pods, namespace=wanted.namespace, name=wanted.name)
        if not selected:
            raise NotFound(f"gateway {wanted.namespace}/{wanted.name} has no pods (labelled {GATEWAY_NAME_LABEL}={wanted.name})")
        return ResolvedPod(sorted(selected, key=lambda p: p.meta.name)[0])
    raise UsageProblem(f"unsupported target type {wanted.type!r}: use pod/NAME, deployment/NAME or gateway/NAME")


def deployment_selector(api: Api, name: str, *, namespace: str) -> tuple[tuple[str, str], ...]:
    """The Deployment's ``matchLabels`` (NotFound when the API server has no such Deployment)."""
    from ..kube import errors as kube_errors
    from ..kube.transport import segment

    try:
        deployment = api.get(f"/apis/apps/v1/namespaces/{segment(namespace)}/deployments/{segment(name)}")
    except kube_errors.NotFound as exc:  # the user's object, not an API the cluster lacks
        raise NotFound(str(exc)) from None
    labels = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return tuple((str(k), str(v)) for k, v in labels.items()) if isinstance(labels, dict) else ()
