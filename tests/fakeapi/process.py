"""The fake API server in a child process (``python -m fakeapi``), for benchmarks that must not share a GIL with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

TESTS_DIR = Path(__file__).resolve().parent.parent


class FakeApiProcess:
    """``with FakeApiProcess(kubeconfig=tmp/"kc", scale=(2000, 5000, 50)) as fake: ... fake.url, fake.kubeconfig``.

    Knobs of :class:`FakeApiServer` are not reachable across the process boundary; the request log is available after
    exit via :meth:`requests` when ``request_log`` is given.
    """

    def __init__(
        self,
        *,
        kubeconfig: str | os.PathLike[str],
        seed: bool = True,
        scale: tuple[int, ...] | None = None,
        yaml_files: tuple[str | os.PathLike[str], ...] = (),
        istio_versions: tuple[str, ...] = ("v1", "v1beta1", "v1alpha3"),
        legacy_discovery: bool = False,
        gateway_api: bool = False,
        pretty_json: bool = False,
        metadata_only_lists: bool = True,
        request_log: str | os.PathLike[str] | None = None,
        startup_timeout: float = 60,
    ) -> None:
        self.command = [
            sys.executable,
            "-m",
            "fakeapi",
            "--kubeconfig",
            str(kubeconfig),
            "--istio-versions",
            ",".join(istio_versions),
        ]
        if seed:
            self.command.append("--seed")
        if scale:
            self.command += ["--scale", ",".join(str(n) for n in scale)]
        for path in yaml_files:
            self.command += ["--yaml", str(path)]
        if legacy_discovery:
            self.command.append("--legacy-discovery")
        if gateway_api:
            self.command.append("--gateway-api")
        if pretty_json:
            self.command.append("--pretty-json")
        if not metadata_only_lists:
            self.command.append("--no-metadata-lists")
        if request_log:
            self.command += ["--request-log", str(request_log)]
        self.request_log = Path(request_log) if request_log else None
        self.startup_timeout = startup_timeout
        self.info: dict[str, Any] = {}
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> FakeApiProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=TESTS_DIR
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(self.startup_timeout)
            raise RuntimeError(f"python -m fakeapi exited with {self._process.returncode} before serving")
        self.info = json.loads(line)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process is None:
            return
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.terminate()
            self._process.wait(10)
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None

    @property
    def url(self) -> str:
        return str(self.info["url"])

    @property
    def kubeconfig(self) -> Path:
        return Path(self.info["kubeconfig"])

    def requests(self) -> list[dict[str, Any]]:
        """The child's request log (JSON lines), available once the context has exited."""
        if self.request_log is None or not self.request_log.exists():
            return []
        return [json.loads(line) for line in self.request_log.read_text().splitlines() if line]
