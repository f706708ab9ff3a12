"""Generated large scenarios for benchmarks: deterministic, plain dicts (feed them to ``server.add_objects``)."""

from __future__ import annotations

from typing import Any

CREATED = "2024-01-01T00:00:00Z"


def make_scale_scenario(
    gateways: int = 2000,
    virtual_services: int = 5000,
    pods: int = 50,
    *,
    namespaces: int = 20,
    destination_rules: int = 0,
    ingress_replicas: int = 3,
    rules: int = 3,
    api_version: str = "networking.istio.io/v1",
) -> list[dict[str, Any]]:
    """A cluster with ``gateways`` Gateways and ``virtual_services`` VirtualServices spread over ``namespaces`` namespaces.

    Every Gateway selects ``istio=ingressgateway`` and serves ``gw-<i>.example.com`` on port 80 (every tenth also 443
    with TLS); VirtualService ``vs-<j>`` binds gateway ``gw-<j mod gateways>`` (namespace-qualified), hosts that
    gateway's host, and routes ``rules`` rules (prefixes, the last one ``/``) to ``svc-<k>`` backends.  ``pods`` pods: the first ``ingress_replicas``
    are istio-ingressgateway replicas in istio-system (Running, Ready), the rest are application pods.  The
    istio-system/istio-ingressgateway Service and one Service per backend are included.
    """
    namespaces = max(1, namespaces)
    ns_names = [f"tenant-{n:03d}" for n in range(namespaces)]
    objects: list[dict[str, Any]] = [_namespace("istio-system"), *(_namespace(n) for n in ns_names)]
    backends: set[tuple[str, str]] = set()

    for i in range(gateways):
        ns = ns_names[i % namespaces]
        servers: list[dict[str, Any]] = [
            {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": [f"gw-{i}.example.com"]},
        ]
        if i % 10 == 0:
            servers.append(
                {
                    "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                    "hosts": [f"gw-{i}.example.com"],
                    "tls": {"mode": "SIMPLE", "credentialName": f"gw-{i}-cert"},
                }
            )
        objects.append(
            {
                "apiVersion": api_version,
                "kind": "Gateway",
                "metadata": {"name": f"gw-{i}", "namespace": ns, "creationTimestamp": CREATED},
                "spec": {"selector": {"istio": "ingressgateway"}, "servers": servers},
            }
        )

    for j in range(virtual_services):
        ns = ns_names[j % namespaces]
        target = j % gateways if gateways else None
        http = []
        for r in range(rules):
            svc = f"svc-{(j + r) % 97}"
            backends.add((ns, svc))
            http.append(
                {
                    "name": f"r{r}",
                    "match": [{"uri": {"prefix": f"/app{j}/r{r}"}}] if r < rules - 1 else [{"uri": {"prefix": "/"}}],
                    "route": [{"destination": {"host": f"{svc}.{ns}.svc.cluster.local", "port": {"number": 8080}}}],
                }
            )
        spec: dict[str, Any] = {
            "hosts": [f"gw-{target}.example.com"] if target is not None else [f"vs-{j}.example.com"],
            "http": http,
        }
        if target is not None:
            spec["gateways"] = [f"{ns_names[target % namespaces]}/gw-{target}"]
        objects.append(
            {
                "apiVersion": api_version,
                "kind": "VirtualService",
                "metadata": {"name": f"vs-{j}", "namespace": ns, "creationTimestamp": CREATED},
                "spec": spec,
            }
        )

    for d in range(destination_rules):
        ns = ns_names[d % namespaces]
        objects.append(
            {
                "apiVersion": api_version,
                "kind": "DestinationRule",
                "metadata": {"name": f"dr-{d}", "namespace": ns, "creationTimestamp": CREATED},
                "spec": {"host": f"svc-{d % 97}.{ns}.svc.cluster.local", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}},
            }
        )

    for p in range(pods):
        if p < ingress_replicas:
            objects.append(ingress_pod(f"istio-ingressgateway-7f8c9d6b5-{p:05d}", f"10.244.{p // 250}.{p % 250 + 2}"))
        else:
            ns = ns_names[p % namespaces]
            objects.append(app_pod(ns, f"app-{p}-6c7d8e9f0-abcde", f"10.245.{p // 250}.{p % 250 + 2}", f"svc-{p % 97}"))

    objects.append(ingress_service())
    for ns, svc in sorted(backends):
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": svc, "namespace": ns, "creationTimestamp": CREATED},
                "spec": {
                    "type": "ClusterIP",
                    "selector": {"app": svc},
                    "ports": [{"name": "http", "port": 8080, "targetPort": 8080, "protocol": "TCP"}],
                },
            }
        )
    return objects


def _namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "creationTimestamp": CREATED}}


def _running_status(ip: str, container: str, image: str) -> dict[str, Any]:
    return {
        "phase": "Running",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "hostIP": "172.18.0.2",
        "conditions": [{"type": t, "status": "True"} for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
        "containerStatuses": [
            {
                "name": container,
                "image": image,
                "imageID": f"{image.split(':')[0]}@sha256:{'0' * 64}",
                "containerID": f"containerd://{'1' * 64}",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": CREATED}},
            }
        ],
    }


def ingress_pod(name: str, ip: str, namespace: str = "istio-system") -> dict[str, Any]:
    """An istio-ingressgateway replica shaped like the seed's (ports 15021/8080/8443, unprivileged)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": CREATED,
            "labels": {"app": "istio-ingressgateway", "istio": "ingressgateway"},
        },
        "spec": {
            "nodeName": "fake-node-1",
            "containers": [
                {
                    "name": "istio-proxy",
                    "image": "docker.io/istio/proxyv2:1.22.0",
                    "ports": [
                        {"containerPort": 15021, "name": "status-port", "protocol": "TCP"},
                        {"containerPort": 8080, "name": "http2", "protocol": "TCP"},
                        {"containerPort": 8443, "name": "https", "protocol": "TCP"},
                    ],
                    "env": [{"name": "ISTIO_META_UNPRIVILEGED_POD", "value": "true"}],
                }
            ],
        },
        "status": _running_status(ip, "istio-proxy", "docker.io/istio/proxyv2:1.22.0"),
    }


def app_pod(namespace: str, name: str, ip: str, app: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": CREATED, "labels": {"app": app}},
        "spec": {
            "nodeName": "fake-node-1",
            "containers": [{"name": "app", "image": "example/app:1", "ports": [{"containerPort": 8080, "protocol": "TCP"}]}],
        },
        "status": _running_status(ip, "app", "example/app:1"),
    }


def ingress_service(namespace: str = "istio-system") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "istio-ingressgateway",
            "namespace": namespace,
            "creationTimestamp": CREATED,
            "labels": {"app": "istio-ingressgateway", "istio": "ingressgateway"},
        },
        "spec": {
            "type": "LoadBalancer",
            "clusterIP": "10.96.120.15",
            "selector": {"app": "istio-ingressgateway", "istio": "ingressgateway"},
            "ports": [
                {"name": "status-port", "port": 15021, "targetPort": 15021, "nodePort": 31021, "protocol": "TCP"},
                {"name": "http2", "port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"},
                {"name": "https", "port": 443, "targetPort": 8443, "nodePort": 30443, "protocol": "TCP"},
            ],
        },
        "status": {"loadBalancer": {}},
    }
