"""The kubeconfig as kubectl resolves it: which files, how they merge, which context, cluster and user.

Why this module exists: the Python client's own merge lets the *last* KUBECONFIG file pick the
current context and writes refreshed tokens back; kubectl lets the *first* file win and never
writes.  This module does kubectl's resolution, read-only, and hands ``connection.py`` plain dicts
(:class:`Resolved`); it never opens a connection.

A kubeconfig is input, often written by other tools and sometimes by strangers, so every mistake in
it is a :class:`KubeconfigError` (a ``ConfigError``: exit 64 in the CLI), never a crash further down: :func:`resolve`
checks the shape of every file (as kubectl's decoder does) and everything about the chosen context
that the transport and the official client rely on -- types, base64, URLs, readable files, header-safe
tokens -- so ``connection.py`` and ``transport.py`` can trust what they get.  Messages follow kubectl's
wording (``error loading config file "F": ...``, ``invalid configuration: ...``), name the file and
field, and never contain a secret value; :func:`secrets_of` lists those values so output can be
redacted.  A ``tokenFile`` is read here (trimmed, as client-go does) and handed on as ``token``.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import SplitResult, unquote, urlsplit

from ..bounded_read import TooLarge, read_at_most
from . import kubeconfig_yaml
from .errors import ConfigError
from .transport import header_safe

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
KUBECONFIG_LIMIT = 64 << 20
"""Characters read from a kubeconfig at most (``--kubeconfig /dev/zero`` must not eat the memory)."""
TOKEN_FILE_LIMIT = 1 << 20
"""Bytes read from a ``tokenFile`` at most (service account tokens are ~1 KB; ``/dev/zero`` is endless)."""

_SECTIONS = (("clusters", "cluster"), ("users", "user"), ("contexts", "context"))
_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?\Z")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#]*@")


class KubeconfigError(ConfigError):
    """A kubeconfig that cannot be used: one line, naming the file and field where known, never a secret."""


class Resolved(NamedTuple):
    """The chosen context's cluster and user entries, and a config holding only them for the official client."""

    cluster: dict[str, Any]
    user: dict[str, Any]
    """``tokenFile`` already read: its trimmed content is ``token``."""
    namespace: str
    context: str
    client_config: dict[str, Any]
    """A kubeconfig dict holding this context, for ``kubernetes.config.load_kube_config_from_dict``."""

    def __repr__(self) -> str:  # the entries hold credentials: none of them in a repr
        return f"Resolved(context={self.context!r}, namespace={self.namespace!r})"


class _Origin(NamedTuple):
    """Where an entry was read: file and position, for messages."""

    path: str
    field: str
    """``clusters[2].cluster``: the entry's body as kubectl's decoder would name it (with the index)."""


_PATH_KEYS = {
    "cluster": ("certificate-authority",),
    "user": ("client-certificate", "client-key", "tokenFile"),
}


# --------------------------------------------------------------------------- messages


def _q(text: object) -> str:
    """Go's ``%q`` (strconv.Quote): quoted, one line, non-printable characters escaped; long values cut."""
    s = str(text)
    if len(s) > 200:
        s = s[:200] + "..."
    if s.isprintable() and '"' not in s and "\\" not in s:
        return f'"{s}"'
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


_SHORT_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _type(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "map", list: "list", str: "string", bool: "bool", int: "int", float: "float"}.get(
        type(value), type(value).__name__
    )


def _load_error(path: str, where: str, *, problem: str) -> KubeconfigError:
    return KubeconfigError(f"error loading config file {_q(path)}: {where}: {problem}")


def _invalid(problem: str) -> KubeconfigError:
    return KubeconfigError(f"invalid configuration: {problem}")


def _redacted_url(url: str) -> str:
    """The URL without its userinfo (``https://user:password@host`` -> ``https://REDACTED@host``)."""
    return _USERINFO.sub(r"\1REDACTED@", url)


# --------------------------------------------------------------------------- files and merge


def _read(path: str) -> dict[str, Any] | None:
    """One kubeconfig file as a mapping (None when it does not exist), its shape checked as kubectl's decoder does."""
    try:
        with open(path, "rb") as fh:  # bounded reads: read(64 MiB) would allocate 64 MiB for a 2 KB file
            text = read_at_most(fh, KUBECONFIG_LIMIT).decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise KubeconfigError(f"error loading config file {_q(path)}: not UTF-8 text") from None
    except TooLarge:
        raise KubeconfigError(f"error loading config file {_q(path)}: larger than {KUBECONFIG_LIMIT >> 20} MiB") from None
    except OSError as exc:
        raise KubeconfigError(f"error loading config file {_q(path)}: {exc.strerror or type(exc).__name__}") from None
    data: Any = kubeconfig_yaml.load(text)
    if data is None:  # outside the subset kubeconfig writers use: PyYAML decides
        import yaml

        try:
            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            raise KubeconfigError(f"error loading config file {_q(path)}: {_yaml_problem(exc)}") from None
        except RecursionError:
            raise KubeconfigError(f"error loading config file {_q(path)}: yaml: nested too deeply") from None
        except (ValueError, OverflowError):  # PyYAML's own int()/float() of a scalar it took for a number (0b_, 0x)
            # never its text: the scalar may be a token
            raise KubeconfigError(
                f"error loading config file {_q(path)}: yaml: a value that YAML 1.1 reads as a number is not one (quote it)"
            ) from None
    if data is None:
        return {}  # an empty file: an empty config, as for kubectl
    if not isinstance(data, dict):
        raise _load_error(path, "top level", problem=f"expected a map, got {_type(data)}")
    current = data.get("current-context")
    if current is not None and not isinstance(current, str):
        raise _load_error(path, "current-context", problem=f"expected a string, got {_type(current)}")
    for section, inner in _SECTIONS:
        entries = data.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise _load_error(path, section, problem=f"expected a list, got {_type(entries)}")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise _load_error(path, f"{section}[{i}]", problem=f"expected a map, got {_type(entry)}")
            name = entry.get("name")
            if name is not None and not isinstance(name, str):
                raise _load_error(path, f"{section}[{i}].name", problem=f"expected a string, got {_type(name)}")
            body = entry.get(inner)
            if body is not None and not isinstance(body, dict):
                raise _load_error(path, f"{section}[{i}].{inner}", problem=f"expected a map, got {_type(body)}")
    return data


def _yaml_problem(exc: Exception) -> str:
    """PyYAML's error in one line without the snippet of the file it quotes (which may hold a secret)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is not None and problem:
        return f"yaml: line {mark.line + 1}, column {mark.column + 1}: {_q(problem)[1:-1]}"
    if problem:
        return f"yaml: {_q(problem)[1:-1]}"
    return "yaml: " + _q(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[1:-1]


def _absolutise(entry: dict[str, Any], section: str, *, base: str) -> dict[str, Any]:
    body = dict(entry.get(section) or {})
    for key in _PATH_KEYS[section]:
        value = body.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            body[key] = os.path.join(base, value)
    plugin = body.get("exec")
    if isinstance(plugin, dict):
        command = plugin.get("command")
        # as client-go: a command naming a path (./bin/token) is the kubeconfig's; a bare name is looked up on PATH
        if isinstance(command, str) and os.sep in command and not os.path.isabs(command):
            body["exec"] = {**plugin, "command": os.path.join(base, command)}
    return {**entry, section: body}


def _merge(paths: Sequence[str]) -> tuple[dict[str, Any], dict[tuple[str, str], _Origin], list[str]]:
    """The merged config, where each entry came from, and the files that exist."""
    read: list[str] = []
    merged: dict[str, Any] = {"clusters": [], "contexts": [], "users": []}
    origins: dict[tuple[str, str], _Origin] = {}
    for path in paths:
        data = _read(path)
        if data is None:
            continue
        read.append(path)
        base = os.path.dirname(os.path.abspath(path))
        if data.get("current-context") and not merged.get("current-context"):
            merged["current-context"] = data["current-context"]
        for section, inner in _SECTIONS:
            for i, entry in enumerate(data.get(section) or ()):
                name = entry.get("name")
                if name is None or (section, name) in origins:
                    continue
                origins[(section, name)] = _Origin(path, f"{section}[{i}].{inner}")
                merged[section].append(entry if inner == "context" else _absolutise(entry, inner, base=base))
    return merged, origins, read


def merge_kubeconfigs(paths: Sequence[str]) -> dict[str, Any]:
    """kubectl's merge: the first file to set a value (or define a name) wins; relative paths made absolute."""
    return _merge(paths)[0]


def kubeconfig_paths(explicit: str | None) -> list[str]:
    if explicit:
        return [explicit]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [p for p in env.split(os.pathsep) if p]
    return [os.path.expanduser("~/.kube/config")]


def _body(merged: Mapping[str, Any], section: str, *, name: str, inner: str) -> dict[str, Any] | None:
    for entry in merged[section]:
        if entry.get("name") == name:
            return dict(entry.get(inner) or {})
    return None


# --------------------------------------------------------------------------- resolve


def resolve(*, kubeconfig: str | None, context: str | None, namespace: str | None) -> Resolved:
    """The context kubectl would use: ``--kubeconfig``, else KUBECONFIG, else ~/.kube/config, else in-cluster."""
    paths = kubeconfig_paths(kubeconfig)
    if kubeconfig and not os.path.exists(kubeconfig):
        raise KubeconfigError(f"kubeconfig {_q(kubeconfig)[1:-1]} does not exist")
    merged, origins, read = _merge(paths)
    if not (merged["contexts"] or merged["clusters"]):
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            return _in_cluster(namespace)
        if read:
            raise _invalid(f"no configuration has been provided (no context or cluster in {', '.join(map(_q, read))})")
        looked = ", ".join(_q(p)[1:-1] for p in paths)
        raise KubeconfigError(f"no kubeconfig found (looked at {looked}) and not running in a cluster")
    chosen = context or merged.get("current-context")
    if not chosen:
        raise KubeconfigError("no context: the kubeconfig sets no current-context (use --context)")
    ctx_body = _body(merged, "contexts", name=chosen, inner="context")
    if ctx_body is None:
        # kubectl's words; the second half is what this plugin always said
        raise _invalid(
            f"context was not found for specified context: {_q(chosen)[1:-1]}"
            f" (context {_q(chosen)} does not exist in {_q(os.pathsep.join(paths))})"
        )
    where = origins[("contexts", chosen)]
    for key in ("cluster", "user", "namespace"):
        value = ctx_body.get(key)
        if value is not None and not isinstance(value, str):
            raise _load_error(where.path, f"{where.field}.{key}", problem=f"expected a string, got {_type(value)}")
    cluster_name, user_name = ctx_body.get("cluster") or "", ctx_body.get("user") or ""
    if not cluster_name:
        raise _invalid(f"cluster was not specified for context {_q(chosen)}")
    cluster = _body(merged, "clusters", name=cluster_name, inner="cluster")
    if cluster is None:
        raise _invalid(f"cluster {_q(cluster_name)} was not found for context {_q(chosen)}")
    _check_cluster(cluster, cluster_name, where=origins[("clusters", cluster_name)])
    user: dict[str, Any] = {}
    if user_name:  # no user at all: anonymous, as in kubectl
        found = _body(merged, "users", name=user_name, inner="user")
        if found is None:
            raise _invalid(f"user {_q(user_name)} was not found for context {_q(chosen)}")
        user = _check_user(found, user_name, where=origins[("users", user_name)])
    chosen_ns = _check_namespace(namespace, ctx_body.get("namespace") or None, context=chosen)
    context_entry = {"cluster": cluster_name, **({"user": user_name} if user_name else {}), "namespace": chosen_ns}
    return Resolved(
        cluster=cluster,
        user=user,
        namespace=chosen_ns,
        context=chosen,
        client_config={
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster_name, "cluster": cluster}],
            "users": [{"name": user_name, "user": user}] if user_name else [],
            "contexts": [{"name": chosen, "context": context_entry}],
            "current-context": chosen,
        },
    )


def _check_namespace(flag: str | None, configured: str | None, *, context: str) -> str:
    """The namespace in effect; it goes into request paths, so it must be a DNS label (as the API server requires)."""
    if flag:
        if not _DNS_LABEL.match(flag):
            raise KubeconfigError(f"invalid namespace {_q(flag)}: a namespace must be a lowercase RFC 1123 label")
        return flag
    if configured is None:
        return "default"
    if not _DNS_LABEL.match(configured):
        raise _invalid(f"namespace {_q(configured)} for context {_q(context)} does not conform to the kubernetes DNS_LABEL rules")
    return configured


def _string(body: Mapping[str, Any], key: str, *, where: _Origin) -> str:
    """``body[key]`` as a string ("" when absent or null); any other type is kubectl's decoding error."""
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _load_error(where.path, f"{where.field}.{key}", problem=f"expected a string, got {_type(value)}")
    return value


def _base64(body: Mapping[str, Any], key: str, *, where: _Origin) -> bytes:
    """A ``*-data`` field decoded as Go's StdEncoding decodes it (line breaks ignored); the value is never shown."""
    value = _string(body, key, where=where)
    if not value:
        return b""
    try:
        return base64.b64decode(value.replace("\n", "").replace("\r", ""), validate=True)
    except ValueError:  # binascii.Error, or characters outside ASCII
        raise _load_error(where.path, f"{where.field}.{key}", problem="illegal base64 data") from None


def _readable(body: Mapping[str, Any], key: str, *, where: _Origin, owner: str) -> None:
    """A file the kubeconfig names must exist and not be a directory (kubectl: ``unable to read ...``)."""
    path = _string(body, key, where=where)
    if not path:
        return
    import stat

    try:
        is_dir = stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or "not a usable path"
        raise _invalid(f"unable to read {key} {_q(path)} for {owner}: {reason}") from None
    if is_dir:
        raise _invalid(f"unable to read {key} {_q(path)} for {owner}: Is a directory")


def _parse_url(url: str) -> tuple[SplitResult | None, str]:
    """``urlsplit`` with the port checked: the parts, or None and why not."""
    if not url.isprintable() or " " in url:
        return None, "it contains whitespace or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises on a bad port
    except ValueError as exc:
        return None, str(exc).split("\n")[0]
    return parts, ""


def _check_cluster(cluster: dict[str, Any], name: str, *, where: _Origin) -> None:
    owner = f"cluster {_q(name)}"
    server = _string(cluster, "server", where=where)
    if not server:
        raise _invalid(f"no server found for {owner}")
    url, why = _parse_url(server)
    if url is not None and not url.netloc:
        # client-go's DefaultServerURL: "HOST:PORT" gets https:// when TLS is configured, else http://
        tls = (
            cluster.get("certificate-authority-data")
            or cluster.get("certificate-authority")
            or cluster.get("insecure-skip-tls-verify")
        )
        server = ("https://" if tls else "http://") + server
        cluster["server"] = server
        url, why = _parse_url(server)
    if url is None:
        raise _invalid(f"server {_q(_redacted_url(server))} of {owner} is not a URL: {why}")
    if url.scheme.lower() not in ("http", "https"):
        scheme = f"unsupported protocol scheme {_q(url.scheme)}" if url.netloc else "no scheme"
        raise _invalid(f"server {_q(_redacted_url(server))} of {owner}: {scheme} (use https://HOST:PORT)")
    if not url.hostname:
        raise _invalid(f"server {_q(_redacted_url(server))} of {owner} has no host")
    _base64(cluster, "certificate-authority-data", where=where)
    _readable(cluster, "certificate-authority", where=where, owner=owner)
    _string(cluster, "tls-server-name", where=where)
    insecure = cluster.get("insecure-skip-tls-verify")
    if insecure is not None and not isinstance(insecure, bool):
        raise _load_error(
            where.path, f"{where.field}.insecure-skip-tls-verify", problem=f"expected a bool, got {_type(insecure)}"
        )
    proxy = _string(cluster, "proxy-url", where=where)
    if proxy:
        parsed, why = _parse_url(proxy)
        if parsed is None:
            raise _invalid(f"invalid 'proxy-url' {_q(_redacted_url(proxy))} for {owner}: could not parse: {why}")
        if parsed.scheme.lower() not in ("http", "https", "socks5"):
            raise _invalid(
                f"invalid 'proxy-url' {_q(_redacted_url(proxy))} for {owner}:"
                f" unsupported scheme {_q(parsed.scheme)}, must be http, https, or socks5"
            )
        if not parsed.hostname:
            raise _invalid(f"invalid 'proxy-url' {_q(_redacted_url(proxy))} for {owner}: no host")
    extensions = cluster.get("extensions")
    if extensions is not None and not (isinstance(extensions, list) and all(isinstance(e, dict) for e in extensions)):
        raise _load_error(where.path, f"{where.field}.extensions", problem="expected a list of maps")


def _check_user(user: dict[str, Any], name: str, *, where: _Origin) -> dict[str, Any]:
    """The user entry checked, with ``tokenFile`` read into ``token``."""
    owner = f"user {_q(name)}"
    token = _string(user, "token", where=where)
    if token and not header_safe(token):
        raise _invalid(f"the token of {owner} contains characters not allowed in an HTTP header")
    token_file = _string(user, "tokenFile", where=where)
    if token_file:
        user["token"] = _read_token_file(token_file, owner)
        del user["tokenFile"]
    for key in ("username", "password"):
        _string(user, key, where=where)
    _base64(user, "client-certificate-data", where=where)
    _base64(user, "client-key-data", where=where)
    _readable(user, "client-certificate", where=where, owner=owner)
    _readable(user, "client-key", where=where, owner=owner)
    _check_impersonation(user, owner, where=where)
    exec_config = user.get("exec")
    if exec_config is not None:
        _check_exec(exec_config, owner, where=_Origin(where.path, f"{where.field}.exec"))
    provider = user.get("auth-provider")
    if provider is not None:
        at = f"{where.field}.auth-provider"
        if not isinstance(provider, dict):
            raise _load_error(where.path, at, problem=f"expected a map, got {_type(provider)}")
        if not isinstance(provider.get("name"), str):
            raise _load_error(where.path, f"{at}.name", problem=f"expected a string, got {_type(provider.get('name'))}")
        config = provider.get("config")
        if config is not None and not (isinstance(config, dict) and all(isinstance(v, str) for v in config.values())):
            raise _load_error(where.path, f"{at}.config", problem="expected a map of strings")
        if exec_config is not None:  # client-go's validation: one or the other
            raise _invalid(f"authProvider cannot be provided in combination with an exec plugin for {owner}")
    return user


def _check_impersonation(user: Mapping[str, Any], owner: str, *, where: _Origin) -> None:
    """``as``, ``as-uid``, ``as-groups``, ``as-user-extra``: each value becomes an ``Impersonate-*`` header."""
    values = [_string(user, "as", where=where), _string(user, "as-uid", where=where)]
    groups = user.get("as-groups")
    if groups is not None:
        if not (isinstance(groups, list) and all(isinstance(g, str) for g in groups)):
            raise _load_error(where.path, f"{where.field}.as-groups", problem="expected a list of strings")
        values += groups
    extra = user.get("as-user-extra")
    if extra is not None:
        if not isinstance(extra, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(s, str) for s in v) for k, v in extra.items()
        ):
            raise _load_error(where.path, f"{where.field}.as-user-extra", problem="expected a map of lists of strings")
        values += [s for v in extra.values() for s in v]
    if not all(v.isprintable() for v in values):
        raise _invalid(f"the impersonation settings of {owner} contain characters not allowed in an HTTP header")


def _check_exec(exec_config: object, owner: str, *, where: _Origin) -> None:
    """What client-go requires of an exec plugin, and the types the official client relies on."""
    if not isinstance(exec_config, dict):
        raise _load_error(where.path, where.field, problem=f"expected a map, got {_type(exec_config)}")
    if not _string(exec_config, "command", where=where):
        raise _invalid(f"command must be specified for {owner} to use exec authentication plugin")
    if not _string(exec_config, "apiVersion", where=where):
        raise _invalid(f"apiVersion must be specified for {owner} to use exec authentication plugin")
    args = exec_config.get("args")
    if args is not None and not (isinstance(args, list) and all(isinstance(a, str) for a in args)):
        raise _load_error(where.path, f"{where.field}.args", problem="expected a list of strings")
    env = exec_config.get("env")
    if env is not None:
        if not isinstance(env, list):
            raise _load_error(where.path, f"{where.field}.env", problem=f"expected a list, got {_type(env)}")
        for i, item in enumerate(env):
            at = _Origin(where.path, f"{where.field}.env[{i}]")
            if not isinstance(item, dict):
                raise _load_error(where.path, at.field, problem=f"expected a map, got {_type(item)}")
            if not _string(item, "name", where=at):
                raise _invalid(f"env variable name must be specified for {owner} to use exec authentication plugin")
            if not isinstance(item.get("value"), str):
                raise _load_error(where.path, f"{at.field}.value", problem=f"expected a string, got {_type(item.get('value'))}")
    _string(exec_config, "installHint", where=where)
    _string(exec_config, "interactiveMode", where=where)
    mode = exec_interactive_mode(exec_config)
    if not mode:
        raise _invalid(f"interactiveMode must be specified for {owner} to use exec authentication plugin")
    if mode not in ("Never", "IfAvailable", "Always"):
        raise _invalid(f"invalid interactiveMode for {owner}: {_q(mode)}")
    provide = exec_config.get("provideClusterInfo")
    if provide is not None and not isinstance(provide, bool):
        raise _load_error(where.path, f"{where.field}.provideClusterInfo", problem=f"expected a bool, got {_type(provide)}")


def exec_interactive_mode(exec_config: Mapping[str, Any]) -> str:
    """An exec plugin's ``interactiveMode`` as client-go reads it: ``IfAvailable`` when a v1beta1 (or v1alpha1) plugin
    sets none; "" for a v1 plugin that sets none (which client-go refuses)."""
    mode = exec_config.get("interactiveMode") or ""
    if not mode and exec_config.get("apiVersion") in (
        "client.authentication.k8s.io/v1beta1",
        "client.authentication.k8s.io/v1alpha1",
    ):
        return "IfAvailable"
    return str(mode)


def _read_token_file(path: str, owner: str) -> str:
    """The token in ``path``, trimmed as client-go trims it; errors name the path, never the content."""
    import stat

    def failed(reason: str) -> KubeconfigError:
        return _invalid(f"unable to read tokenFile {_q(path)} for {owner}: {reason}")

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError) as exc:
        raise failed(getattr(exc, "strerror", None) or "not a usable path") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise failed("Is a directory")
        if stat.S_ISFIFO(mode):
            os.set_blocking(fd, True)  # a pipe (<(cmd)): wait for its writer, as kubectl does
        data = read_at_most(fd, TOKEN_FILE_LIMIT)
    except TooLarge:
        raise failed(f"larger than {TOKEN_FILE_LIMIT} bytes") from None
    except OSError as exc:
        raise failed(exc.strerror or type(exc).__name__) from None
    finally:
        os.close(fd)
    try:
        token = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise failed("not UTF-8 text") from None
    if token and not header_safe(token):
        raise failed("the token contains characters not allowed in an HTTP header")
    return token


def _in_cluster(namespace: str | None) -> Resolved:
    host = os.environ["KUBERNETES_SERVICE_HOST"]
    port = os.environ.get("KUBERNETES_SERVICE_PORT") or "443"
    cluster = {
        "server": f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}",
        "certificate-authority": os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt"),
    }
    where = _Origin("in-cluster config", "cluster")
    _check_cluster(cluster, "in-cluster", where=where)
    user = _check_user({"tokenFile": os.path.join(SERVICE_ACCOUNT_DIR, "token")}, "in-cluster", where=where)
    default_ns = None
    try:
        with open(os.path.join(SERVICE_ACCOUNT_DIR, "namespace"), encoding="utf-8") as fh:
            default_ns = fh.read(256).strip() or None
    except (OSError, UnicodeDecodeError):
        pass
    chosen_ns = _check_namespace(namespace, default_ns, context="in-cluster")
    return Resolved(
        cluster=cluster,
        user=user,
        namespace=chosen_ns,
        context="in-cluster",
        client_config={
            "clusters": [{"name": "in-cluster", "cluster": cluster}],
            "users": [{"name": "in-cluster", "user": user}],
            "contexts": [{"name": "in-cluster", "context": {"cluster": "in-cluster", "user": "in-cluster"}}],
            "current-context": "in-cluster",
        },
    )


# --------------------------------------------------------------------------- secrets


_SECRET_PROVIDER_KEYS = ("access-token", "id-token", "refresh-token", "client-secret")


def secrets_of(resolved: Resolved, *, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every secret string of the chosen user and cluster, longest first, for redacting output.

    The token (a ``tokenFile``'s content included), the password and its ``Authorization: Basic`` value, the
    client key (base64 and PEM) and certificate data, auth-provider tokens, and the userinfo of the server and
    proxy URLs (the cluster's ``proxy-url`` and the ``HTTPS_PROXY``/``HTTP_PROXY`` environment, ``os.environ`` by
    default) as written, percent-decoded and as the ``Proxy-Authorization`` value.
    """
    user, cluster = resolved.user, resolved.cluster
    found: list[str] = []

    def add(*values: object) -> None:
        found.extend(v for v in values if isinstance(v, str) and v)

    add(user.get("token"), user.get("password"), user.get("client-key-data"), user.get("client-certificate-data"))
    username, password = user.get("username"), user.get("password")
    if isinstance(password, str) and password:
        basic = f"{username if isinstance(username, str) else ''}:{password}"
        add(basic, base64.b64encode(basic.encode()).decode())
    key_data = user.get("client-key-data")
    if isinstance(key_data, str) and key_data:
        try:
            pem = base64.b64decode(key_data.replace("\n", "").replace("\r", ""), validate=True).decode("utf-8", "replace")
        except ValueError:
            pem = ""
        add(pem, pem.strip())
        add(*(line.strip() for line in pem.splitlines() if len(line.strip()) >= 16 and not line.startswith("-----")))
    provider = user.get("auth-provider")
    if isinstance(provider, dict) and isinstance(provider.get("config"), dict):
        add(*(provider["config"].get(k) for k in _SECRET_PROVIDER_KEYS))
    env = os.environ if environ is None else environ
    urls = [cluster.get("server"), cluster.get("proxy-url")]
    urls += [env.get(n) for n in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")]
    for url in urls:
        if not isinstance(url, str) or "@" not in url:
            continue
        try:
            parts = urlsplit(url if "://" in url else f"http://{url}")
        except ValueError:
            continue
        userinfo = parts.netloc.rpartition("@")[0]
        name, _, secret = userinfo.partition(":")
        add(userinfo, secret, unquote(secret))
        if not secret:
            add(name, unquote(name))  # https://TOKEN@host: the user name is the secret
        credentials = f"{unquote(name)}:{unquote(secret)}"
        add(base64.b64encode(credentials.encode()).decode())
    return sorted(set(found), key=lambda s: (-len(s), s))
