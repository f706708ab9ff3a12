"""Connecting to a cluster: the kubeconfig's context resolved into a Connection (transport, server, namespace).

Why this module exists: it is the only place that turns a kubeconfig into something requests can go
through.  ``kubeconfig.py`` resolves the context as kubectl does; every byte then goes through
``transport.py``; an exec plugin is run once for its credentials (``exec_credential.py``), and the official
client only obtains an auth-provider's.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import ConfigError, short_reason

if TYPE_CHECKING:
    from .transport import PlainTransport

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)?")


def parse_duration(text: str) -> float | None:
    """kubectl's --request-timeout: ``0`` (none), ``30``, ``5s``, ``1m``, ``1h``, ``250ms``, ``1m30s``."""
    text = text.strip()
    if text in ("", "0"):
        return None
    total = 0.0
    pos = 0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        value, unit = float(m.group(1)), m.group(2) or "s"
        total += value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
        pos = m.end()
    if pos != len(text) or total <= 0:
        raise ValueError(f"invalid --request-timeout {text!r}: use e.g. 5s, 1m or 0")
    return total


class Connection(NamedTuple):
    """Where requests go (a transport) and what kubectl would show as the target."""

    transport: PlainTransport
    server: str
    """The API server's URL as shown in messages (any user:password in it left out)."""
    namespace: str
    context: str
    timeout: float | None

    @property
    def timeout_note(self) -> str:
        """What a timeout message adds: the limit that ran out, when the user set one."""
        return f" after {self.timeout:g}s (--request-timeout)" if self.timeout else ""


def connect(*, kubeconfig: str | None, context: str | None, namespace: str | None, timeout: float | None) -> Connection:
    """Resolve the kubeconfig as kubectl does (``kubeconfig.py``) and open the transport to its API server.

    Every request goes through ``transport.py``; a user with an exec plugin first gets its token or key pair from
    the plugin (``exec_credential.py``), one with an auth-provider from the official client
    (:func:`_auth_provider_credentials`).
    """
    from .. import redact
    from .kubeconfig import resolve, secrets_of
    from .transport import PlainTransport, proxy_for

    resolved = resolve(kubeconfig=kubeconfig, context=context, namespace=namespace)  # a KubeconfigError is a ConfigError
    for secret in secrets_of(resolved):  # never printed from here on, whatever message carries it
        redact.register(secret)
    cluster, user, context_name = resolved.cluster, resolved.user, resolved.context
    obtained = True
    if "exec" in user and not _static_credentials(user):  # client-go runs no plugin for a user that has them
        from .exec_credential import exec_credentials

        user = {**{k: v for k, v in user.items() if k.startswith("as")}, **exec_credentials(user["exec"], cluster)}
    elif "auth-provider" in user:
        user = _auth_provider_credentials(resolved.client_config, context_name, user)
    else:
        obtained = False
    if obtained:  # what a plugin or provider handed over is as secret as what the kubeconfig holds
        for key in ("token", "password", "client-key-data"):
            if user.get(key):
                redact.register(str(user[key]), user=str(user.get("username")) if key == "password" else None)
        if user.get("client-key-data"):  # the key itself, each of its lines, not only its base64
            redact.register(base64.b64decode(str(user["client-key-data"])))
    server = str(cluster.get("server") or "")
    try:
        proxy = proxy_for(server, os.environ, proxy_url=str(cluster.get("proxy-url") or ""))
        chosen = PlainTransport(cluster, user, timeout=timeout, proxy=proxy)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: unreadable CA, key pair mismatch
        raise ConfigError(f"invalid kubeconfig: context {context_name}: {short_reason(exc)}") from None
    return Connection(chosen, display_url(server), resolved.namespace, context_name, timeout)


def display_url(url: str) -> str:
    """``url`` without the user:password part kubectl would never show."""
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if sep and "@" in authority:
        return f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"
    return url


def _static_credentials(user: Mapping[str, Any]) -> bool:
    """A token, a username, or a client certificate with its key: what client-go sends instead of running a plugin."""
    cert = user.get("client-certificate-data") or user.get("client-certificate")
    key = user.get("client-key-data") or user.get("client-key")
    return bool(user.get("token") or user.get("username") or (cert and key))


def _auth_provider_credentials(config_dict: dict[str, Any], context: str, user: Mapping[str, Any]) -> dict[str, Any]:
    """The token or client key pair the user's auth-provider yields, as plain kubeconfig user fields.

    The official client runs the machinery once; the files it writes (decoded certificates, the key) go into a
    private temporary directory that is removed before this returns, whatever happens.  (The client's only logged
    failures are an exec plugin's; a user with both is refused by ``kubeconfig.py``, as client-go refuses it.)
    """
    import shutil
    import tempfile

    from kubernetes import client, config

    configuration = client.Configuration()
    configuration.proxy = None  # nothing is sent through this client
    temp_dir = tempfile.mkdtemp(prefix="kubectl-meshctl-")
    try:
        try:
            config.load_kube_config_from_dict(
                config_dict, context=context, client_configuration=configuration, persist_config=False, temp_file_path=temp_dir
            )
        except config.ConfigException as exc:
            raise ConfigError(f"invalid kubeconfig: context {context}: {short_reason(exc)}") from None
        except Exception as exc:  # a provider that failed: the user's to fix
            raise ConfigError(
                f"invalid kubeconfig: context {context}: the user's auth-provider failed ({type(exc).__name__})"
            ) from None
        plain: dict[str, Any] = {k: v for k, v in user.items() if k.startswith("as")}
        scheme, _, value = str((configuration.api_key or {}).get("authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            plain["token"] = value.strip()
        elif scheme.lower() == "basic" and value.strip():
            username, _, password = base64.b64decode(value.strip()).decode("utf-8", "replace").partition(":")
            plain["username"], plain["password"] = username, password
        for field_name, path in (
            ("client-certificate-data", configuration.cert_file),
            ("client-key-data", configuration.key_file),
        ):
            if path:
                with open(path, "rb") as fh:
                    plain[field_name] = base64.b64encode(fh.read()).decode()
        return plain
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
