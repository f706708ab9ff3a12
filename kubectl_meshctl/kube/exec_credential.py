"""A kubeconfig's exec credential plugin, run as client-go runs it.

Why this module exists: most cloud clusters authenticate through an exec plugin (``aws eks get-token``,
``gke-gcloud-auth-plugin``, ``kubelogin``).  Running it through the official client meant ``import kubernetes`` on
every command -- 0.2 s from an installed package, over a second from the krew zipapp, which compiles what it
imports -- for a protocol that is one process, one environment variable and one JSON document
(client.authentication.k8s.io ``v1`` and ``v1beta1``).  So the plugin runs here: the same environment, the same
standard input rules (``interactiveMode``), the same checks of what it prints, in client-go's words; its standard
output is read up to a bound, its standard error goes to the user's terminal as kubectl lets it.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError

API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
"""The versions client-go accepts (v1alpha1 went in Kubernetes 1.24)."""
EXEC_INFO = "KUBERNETES_EXEC_INFO"
CLUSTER_CONFIG_EXTENSION = "client.authentication.k8s.io/exec"
"""The cluster extension client-go hands the plugin as ``spec.cluster.config``."""
OUTPUT_LIMIT = 1 << 20
"""Bytes of standard output read at most: an ExecCredential holds a token or a certificate and key (kilobytes)."""
CA_LIMIT = 16 << 20


class ExecPluginError(ConfigError):
    """The plugin could not be run, failed, or printed no usable credential: one line, in client-go's words."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"getting credentials: {reason}")


def exec_credentials(
    exec_config: Mapping[str, Any], cluster: Mapping[str, Any], *, stdin_is_terminal: bool | None = None
) -> dict[str, str]:
    """The kubeconfig user fields the plugin's credential amounts to: ``token``, and/or ``client-certificate-data``
    and ``client-key-data`` (base64, as a kubeconfig holds them).

    ``exec_config`` and ``cluster`` are the kubeconfig's entries, already checked by ``kubeconfig.py`` (types,
    ``command`` made absolute when it names a path relative to the kubeconfig).
    """
    import subprocess

    api_version = str(exec_config.get("apiVersion") or "")
    if api_version not in API_VERSIONS:
        raise ExecPluginError(f"exec plugin: invalid apiVersion {json.dumps(api_version)}")
    command = str(exec_config["command"])
    interactive = _interactive(exec_config, stdin_is_terminal=stdin_is_terminal)
    spec: dict[str, Any] = {"interactive": interactive}
    if exec_config.get("provideClusterInfo"):
        spec = {"cluster": _cluster_info(cluster), **spec}
    env = dict(os.environ)
    env.update({str(e["name"]): str(e["value"]) for e in exec_config.get("env") or ()})
    env[EXEC_INFO] = json.dumps({"kind": "ExecCredential", "apiVersion": api_version, "spec": spec}, separators=(",", ":"))
    argv = [command, *(str(a) for a in exec_config.get("args") or ())]
    try:
        process = subprocess.Popen(  # the user's own kubeconfig names the plugin, as for kubectl
            argv,
            stdin=None if interactive else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
    except FileNotFoundError:
        if os.sep in command:
            raise ExecPluginError(f"exec: fork/exec {command}: no such file or directory") from None
        hint = " ".join(str(exec_config.get("installHint") or "").split())
        raise ExecPluginError(f"exec: executable {command} not found" + (f" ({hint})" if hint else "")) from None
    except PermissionError:
        raise ExecPluginError(f"exec: fork/exec {command}: permission denied") from None
    except OSError as exc:
        raise ExecPluginError(f"exec: fork/exec {command}: {(exc.strerror or type(exc).__name__).lower()}") from None
    assert process.stdout is not None
    try:
        output = process.stdout.read(OUTPUT_LIMIT + 1)
        if len(output) > OUTPUT_LIMIT:
            process.kill()
            raise ExecPluginError(f"exec: executable {command} wrote more than {OUTPUT_LIMIT >> 20} MiB to its standard output")
        returncode = process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            process.wait()
        process.stdout.close()
    if returncode != 0:
        raise ExecPluginError(f"exec: executable {command} failed with exit code {returncode if returncode > 0 else -1}")
    return _credential_fields(output, api_version)


def _interactive(exec_config: Mapping[str, Any], *, stdin_is_terminal: bool | None) -> bool:
    """Whether the plugin gets the user's standard input (client-go's ``interactiveMode``)."""
    from .kubeconfig import exec_interactive_mode

    mode = exec_interactive_mode(exec_config)
    if stdin_is_terminal is None:
        stdin_is_terminal = _stdin_is_terminal()
    if mode == "Never":
        return False
    if mode == "IfAvailable":
        return stdin_is_terminal
    if mode == "Always":
        if not stdin_is_terminal:
            raise ExecPluginError("exec plugin cannot support interactive mode: standard input is not a terminal")
        return True
    raise ExecPluginError(f"exec plugin cannot support interactive mode: unknown interactiveMode: {json.dumps(mode)}")


def _stdin_is_terminal() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False


def _cluster_info(cluster: Mapping[str, Any]) -> dict[str, Any]:
    """``spec.cluster`` for a plugin that asks for it (``provideClusterInfo``): the fields client-go passes."""
    info: dict[str, Any] = {"server": str(cluster.get("server") or "")}
    if cluster.get("tls-server-name"):
        info["tls-server-name"] = str(cluster["tls-server-name"])
    if cluster.get("insecure-skip-tls-verify") is True:
        info["insecure-skip-tls-verify"] = True
    ca = _ca_bytes(cluster)
    if ca:
        info["certificate-authority-data"] = base64.b64encode(ca).decode("ascii")
    if cluster.get("proxy-url"):
        info["proxy-url"] = str(cluster["proxy-url"])
    if cluster.get("disable-compression") is True:
        info["disable-compression"] = True
    info["config"] = None  # client-go always sends it: null without the extension
    for extension in cluster.get("extensions") or ():
        if isinstance(extension, Mapping) and extension.get("name") == CLUSTER_CONFIG_EXTENSION:
            info["config"] = extension.get("extension")
    return info


def _ca_bytes(cluster: Mapping[str, Any]) -> bytes:
    data = cluster.get("certificate-authority-data")
    if data:
        return base64.b64decode(str(data).replace("\n", "").replace("\r", ""))
    path = cluster.get("certificate-authority")
    if not path:
        return b""
    from ..bounded_read import TooLarge, read_at_most

    try:
        with open(str(path), "rb") as fh:
            return read_at_most(fh, CA_LIMIT)
    except (OSError, TooLarge) as exc:
        raise ExecPluginError(f"exec plugin: reading certificate-authority {json.dumps(str(path))}: {exc}") from None


def _credential_fields(output: bytes, api_version: str) -> dict[str, str]:
    """The ExecCredential the plugin printed, checked as client-go checks it, as kubeconfig user fields."""
    try:
        credential = json.loads(output)
    except ValueError:
        credential = None
    if not isinstance(credential, dict) or not isinstance(credential.get("apiVersion", ""), str):
        raise ExecPluginError("decoding stdout: couldn't get version/kind; json parse error")
    returned = credential.get("apiVersion") or ""
    if returned != api_version:
        raise ExecPluginError(f"exec plugin is configured to use API version {api_version}, plugin returned version {returned}")
    kind = credential.get("kind")
    if kind not in (None, "", "ExecCredential"):
        raise ExecPluginError(
            f"decoding stdout: no kind {json.dumps(str(kind))} is registered for version {json.dumps(api_version)}"
        )
    status = credential.get("status")
    if status is None:
        raise ExecPluginError("exec plugin didn't return a status field")
    if not isinstance(status, dict):
        raise ExecPluginError("decoding stdout: status: expected an object")
    fields: dict[str, str] = {}
    for key in ("token", "clientCertificateData", "clientKeyData"):
        value = status.get(key)
        if value is not None and not isinstance(value, str):
            raise ExecPluginError(f"decoding stdout: status.{key}: expected a string")
        if value:
            fields[key] = value
    if not fields:
        raise ExecPluginError("exec plugin didn't return a token or cert/key pair")
    if ("clientCertificateData" in fields) != ("clientKeyData" in fields):
        raise ExecPluginError("exec plugin returned only certificate or key, not both")
    user: dict[str, str] = {}
    if "token" in fields:
        from .transport import header_safe

        if not header_safe(fields["token"]):
            raise ExecPluginError("exec plugin returned a token with characters not allowed in an HTTP header")
        user["token"] = fields["token"]
    if "clientCertificateData" in fields:
        user["client-certificate-data"] = base64.b64encode(fields["clientCertificateData"].encode()).decode("ascii")
        user["client-key-data"] = base64.b64encode(fields["clientKeyData"].encode()).decode("ascii")
    return user
