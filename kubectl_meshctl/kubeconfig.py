"""The kubeconfig as kubectl resolves it: which files, how they merge, which context, cluster and user.

Why this module exists: the Python client's own merge lets the *last* KUBECONFIG file pick the
current context and writes refreshed tokens back; kubectl lets the *first* file win and never
writes.  This module does kubectl's resolution, read-only, and hands ``cluster.py`` plain dicts
(:class:`Resolved`); it never opens a connection.  Every mistake in the file is a
:class:`KubeconfigError` (exit 64 in the CLI).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import kubeconfig_yaml

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class KubeconfigError(Exception):
    """A kubeconfig that cannot be used: one line, naming the file and field where known."""


@dataclass(frozen=True)
class Resolved:
    """The chosen context's cluster and user entries, and the whole config for the official client."""

    cluster: dict[str, Any]
    user: dict[str, Any]
    namespace: str
    context: str
    client_config: dict[str, Any] = field(repr=False)
    """A kubeconfig dict holding this context, for ``kubernetes.config.load_kube_config_from_dict``."""


_PATH_KEYS = {
    "cluster": ("certificate-authority",),
    "user": ("client-certificate", "client-key", "tokenFile"),
}


def _absolutise(entry: dict[str, Any], section: str, base: str) -> dict[str, Any]:
    body = dict(entry.get(section) or {})
    for key in _PATH_KEYS[section]:
        value = body.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            body[key] = os.path.join(base, value)
    return {**entry, section: body}


def merge_kubeconfigs(paths: Sequence[str]) -> dict[str, Any]:
    """kubectl's merge: the first file to set a value (or define a name) wins; relative paths made absolute."""
    merged: dict[str, Any] = {"clusters": [], "contexts": [], "users": []}
    seen: dict[str, set[str]] = {"clusters": set(), "contexts": set(), "users": set()}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError) as exc:
            raise KubeconfigError(f"cannot read kubeconfig {path}: {exc}") from None
        data = kubeconfig_yaml.load(text)
        if data is None:  # outside the subset kubeconfig writers use: PyYAML decides
            import yaml

            try:
                data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
            except yaml.YAMLError as exc:
                raise KubeconfigError(f"cannot read kubeconfig {path}: {exc}") from None
        if not isinstance(data, dict):
            raise KubeconfigError(f"kubeconfig {path} is not a kubeconfig object")
        base = os.path.dirname(os.path.abspath(path))
        if data.get("current-context") and not merged.get("current-context"):
            merged["current-context"] = data["current-context"]
        for section, inner in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            for entry in data.get(section) or []:
                if not isinstance(entry, dict) or entry.get("name") in seen[section]:
                    continue
                seen[section].add(str(entry.get("name")))
                merged[section].append(entry if inner == "context" else _absolutise(entry, inner, base))
    return merged


def kubeconfig_paths(explicit: str | None) -> list[str]:
    if explicit:
        return [explicit]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [p for p in env.split(os.pathsep) if p]
    return [os.path.expanduser("~/.kube/config")]


def _entry(merged: Mapping[str, Any], section: str, name: object, inner: str) -> dict[str, Any]:
    for entry in merged.get(section) or []:
        if entry.get("name") == name:
            body = entry.get(inner)
            return dict(body) if isinstance(body, dict) else {}
    return {"__missing__": name}  # not plain: the official client reports the broken reference


def resolve(*, kubeconfig: str | None, context: str | None, namespace: str | None) -> Resolved:
    """The context kubectl would use: ``--kubeconfig``, else KUBECONFIG, else ~/.kube/config, else in-cluster."""
    paths = kubeconfig_paths(kubeconfig)
    if kubeconfig and not os.path.exists(kubeconfig):
        raise KubeconfigError(f"kubeconfig {kubeconfig} does not exist")
    merged = merge_kubeconfigs(paths)
    if merged["contexts"] or merged["clusters"]:
        chosen = context or merged.get("current-context")
        if not chosen:
            raise KubeconfigError("no context: the kubeconfig sets no current-context (use --context)")
        ctx = next((c for c in merged["contexts"] if c.get("name") == chosen), None)
        if ctx is None:
            raise KubeconfigError(f'context "{chosen}" does not exist in the kubeconfig')
        ctx_body = ctx.get("context") or {}
        return Resolved(
            cluster=_entry(merged, "clusters", ctx_body.get("cluster"), "cluster"),
            user=_entry(merged, "users", ctx_body.get("user"), "user"),
            namespace=namespace or ctx_body.get("namespace") or "default",
            context=str(chosen),
            client_config=merged,
        )
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return _in_cluster(namespace)
    raise KubeconfigError("no kubeconfig found (looked at " + ", ".join(paths) + ") and not running in a cluster")


def _in_cluster(namespace: str | None) -> Resolved:
    host = os.environ["KUBERNETES_SERVICE_HOST"]
    port = os.environ.get("KUBERNETES_SERVICE_PORT") or "443"
    cluster = {
        "server": f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}",
        "certificate-authority": os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt"),
    }
    user = {"tokenFile": os.path.join(SERVICE_ACCOUNT_DIR, "token")}
    default_ns = "default"
    try:
        with open(os.path.join(SERVICE_ACCOUNT_DIR, "namespace"), encoding="utf-8") as fh:
            default_ns = fh.read().strip() or "default"
    except OSError:
        pass
    return Resolved(
        cluster=cluster,
        user=user,
        namespace=namespace or default_ns,
        context="in-cluster",
        client_config={
            "clusters": [{"name": "in-cluster", "cluster": cluster}],
            "users": [{"name": "in-cluster", "user": user}],
            "contexts": [{"name": "in-cluster", "context": {"cluster": "in-cluster", "user": "in-cluster"}}],
            "current-context": "in-cluster",
        },
    )
