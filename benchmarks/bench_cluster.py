"""Benchmark: live-cluster listing against the fake API server (tests/fakeapi) vs the real kubectl.

Not a unit test -- run it by hand::

    python benchmarks/bench_cluster.py            # 2,000 Gateways, 5,000 VirtualServices, 50 pods
    python benchmarks/bench_cluster.py --quick    # 200 / 500 / 50

It also runs the warm listing (goal 1) against a server that pretty-prints its JSON and one that serves no
metadata-only lists (``--skip-server-variants`` leaves them out).  ``--release`` adds the path every krew user
takes to each warm comparison: the release (its ``kubectl-meshctl`` script and ``kubectl_meshctl.zip``), built now
by ``scripts/build-krew``, under the system ``/usr/bin/python3``, run from the copy it unpacks into
``$XDG_CACHE_HOME/kubectl-meshctl/`` (a temporary directory, warmed by the untimed first run like everything else).

Goals (issue "Live cluster"), medians over interleaved repetitions, baselines measured in the same run:

1. ``kubectl-meshctl gateways -A`` takes no longer than ``kubectl get gateways.networking.istio.io -A``
   against the same server (ratio <= 1.0).  Both run warm, as a user re-running them does: kubectl with
   its discovery cache, the plugin with its listing cache (the server unchanged, so every object's
   resourceVersion is too).  The first run after any change (``--no-cache`` forces it) reads, parses and
   analyses everything; it is reported beside the goal.
2. ``kubectl-meshctl --help`` is within 2x of ``python -c pass``.

Children run without PYTHONDONTWRITEBYTECODE, so Python keeps its bytecode cache as on a user's machine.
It also measures, in-process, what building the Kubernetes client's typed models would cost on the
same lists (``ApiClient.deserialize`` into ``V1PodList``) compared with the raw-JSON path the plugin
uses, and how long importing the client takes.  Exit status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))


def _median_runs(commands: list[list[str]], env: dict[str, str], reps: int) -> list[float]:
    """Median wall time of each command, the commands interleaved so that drift in the machine hits all alike."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(reps):
        for command, spent in zip(commands, times, strict=True):
            start = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, check=False)
            spent.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()[-500:]}")
    return [statistics.median(t) for t in times]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument(
        "--skip-server-variants",
        action="store_true",
        help="leave out the warm listing against a pretty-printing server and one without metadata-only lists",
    )
    parser.add_argument(
        "--gateway-api",
        action="store_true",
        help="also a Gateway API cluster: 2,000 HTTPRoutes x 10 rules (quick: 200) from generate_gateway_api.py",
    )
    parser.add_argument(
        "--release",
        action="store_true",
        help="also the krew release (built now) under /usr/bin/python3, warm: unpacked, with its bytecode",
    )
    args = parser.parse_args()
    scale = (200, 500, 50) if args.quick else (2000, 5000, 50)

    from fakeapi.fixtures import find_kubectl
    from fakeapi.process import FakeApiProcess

    kubectl = find_kubectl("1.32")
    meshctl = shutil.which("kubectl-meshctl")
    if kubectl is None or meshctl is None:
        print("needs kubectl and an installed kubectl-meshctl on PATH", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="meshctl-bench-cluster-"))
    kubeconfig = workdir / "kubeconfig"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(KUBECONFIG=str(kubeconfig), HOME=str(workdir))
    failed = False
    native_cmd = [kubectl, "get", "gateways.networking.istio.io", "-A"]
    warm_cmd = [meshctl, "gateways", "-A"]
    cold_cmd = [meshctl, "gateways", "-A", "--no-cache"]
    release: list[str] | None = None
    if args.release:
        release = _build_release(workdir)
        if release is not None:
            env["XDG_CACHE_HOME"] = str(workdir / "xdg-cache")  # where the release unpacks itself
    release_cmds = [[*release, "gateways", "-A"]] if release else []
    with FakeApiProcess(kubeconfig=kubeconfig, seed=True, scale=scale):
        # warm: kubectl's discovery cache, the plugin's bytecode and listing cache, the server's serialised pages
        # (and the release's unpacked copy with its bytecode)
        _median_runs([native_cmd, warm_cmd, cold_cmd, *release_cmds], env, 1)
        native, ours, *released = _median_runs([native_cmd, warm_cmd, *release_cmds], env, args.reps)
        (cold,) = _median_runs([cold_cmd], env, max(3, args.reps // 3))
        ratio = ours / native
        print(f"scale: {scale[0]} Gateways, {scale[1]} VirtualServices, {scale[2]} pods")
        print(f"kubectl get gateways.networking.istio.io -A     {native:7.3f} s")
        print(f"kubectl-meshctl gateways -A (listing cached)    {ours:7.3f} s   ratio {ratio:.2f} (goal <= 1.0)")
        print(
            f"kubectl-meshctl gateways -A --no-cache          {cold:7.3f} s   ratio {cold / native:.2f} (first run after a change)"
        )
        failed |= ratio > 1.0
        for spent in released:
            print(
                f"krew release gateways -A (/usr/bin/python3)     {spent:7.3f} s   ratio {spent / native:.2f} {_unpacked(workdir)}"
            )
            failed |= spent / native > 1.0

        sys.path.insert(0, str(REPO))
        from kubectl_meshctl.kube.api import Api, list_pages, page_items
        from kubectl_meshctl.kube.connection import connect

        start = time.perf_counter()
        import kubernetes.client
        import kubernetes.config  # what a cluster command would pay on the official client alone

        print(f"import kubernetes (client and all typed models)  {time.perf_counter() - start:7.3f} s")
        conn = connect(kubeconfig=str(kubeconfig), context=None, namespace=None, timeout=None)
        api = Api(conn)
        typed_client = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
        raw: list[float] = []
        typed: list[float] = []
        for _ in range(3):
            start = time.perf_counter()
            items = list(page_items(list_pages(api, "", "v1", "pods", namespace=None)))
            raw.append(time.perf_counter() - start)
            start = time.perf_counter()
            response = typed_client.call_api(
                "/api/v1/pods", "GET", auth_settings=["BearerToken"], response_type="V1PodList", _return_http_data_only=True
            )
            typed.append(time.perf_counter() - start)
        print(f"list pods, raw JSON (plugin)  {statistics.median(raw):7.3f} s for {len(items)} pods")
        print(f"list pods, typed V1PodList    {statistics.median(typed):7.3f} s for {len(response.items)} pods")

    if not args.skip_server_variants:
        for variant in ({"pretty_json": True}, {"metadata_only_lists": False}):
            failed |= _server_variant(
                workdir, env, variant, kubectl=kubectl, meshctl=meshctl, release=release, scale=scale, reps=args.reps
            )

    if args.gateway_api:
        failed |= _gateway_api(
            workdir, env, kubectl=kubectl, meshctl=meshctl, release=release, routes=200 if args.quick else 2000, reps=args.reps
        )

    python = sys.executable
    base, helped = _median_runs([[python, "-c", "pass"], [meshctl, "--help"]], env, args.reps * 2)
    print(f"python -c pass                 {base:7.3f} s")
    print(f"kubectl-meshctl --help         {helped:7.3f} s   ratio {helped / base:.2f} (goal <= 2.0)")
    failed |= helped / base > 2.0
    if release:
        base, helped = _median_runs([[release[0], "-c", "pass"], [*release, "--help"]], env, args.reps * 2)
        print(f"{release[0]} -c pass      {base:7.3f} s")
        print(f"krew release --help            {helped:7.3f} s   ratio {helped / base:.2f} (goal <= 2.0)")
        failed |= helped / base > 2.0
    return 1 if failed else 0


def _build_release(workdir: Path) -> list[str] | None:
    """``[system python3, the release's kubectl-meshctl script]`` (its payload beside it), built by scripts/build-krew
    into ``workdir``; None, saying why, without a /usr/bin/python3 (a krew user runs it with the python3 on PATH, not
    a virtualenv's)."""
    python3 = "/usr/bin/python3"
    if not os.access(python3, os.X_OK):
        print(f"--release: skipped, no {python3}")
        return None
    init = (REPO / "kubectl_meshctl" / "__init__.py").read_text(encoding="utf-8")
    version = "v" + init.split('__version__ = "', 1)[1].split('"', 1)[0]
    manifest = workdir / "krew-manifest.yaml"  # build-krew rewrites it: never the repository's
    shutil.copyfile(REPO / "krew-manifest.yaml", manifest)
    build = [sys.executable, str(REPO / "scripts" / "build-krew"), version, "--manifest", str(manifest), "--dist", str(workdir)]
    subprocess.run(build, check=True, capture_output=True)
    with tarfile.open(workdir / f"kubectl-meshctl-{version}.tar.gz") as tf:
        tf.extractall(workdir / "krew", filter="data")  # the script and its payload, side by side as krew puts them
    return [python3, str(workdir / "krew" / "kubectl-meshctl")]


def _unpacked(workdir: Path) -> str:
    if any((workdir / "xdg-cache" / "kubectl-meshctl").glob("*/.complete")):
        return "(run from its unpacked copy)"
    return "(NOT unpacked: ran from the zip)"


def _server_variant(
    workdir: Path,
    env: dict[str, str],
    variant: dict[str, bool],
    *,
    kubectl: str,
    meshctl: str,
    release: list[str] | None,
    scale: tuple[int, ...],
    reps: int,
) -> bool:
    """The warm listing against a server that pretty-prints its JSON, or serves no metadata-only lists (the plugin
    then keys its cache on the Table kubectl reads), against kubectl on the same server."""
    from fakeapi.process import FakeApiProcess

    kubeconfig = workdir / f"kubeconfig-{'-'.join(variant)}"
    env = {**env, "KUBECONFIG": str(kubeconfig), "HOME": str(workdir / "-".join(variant))}
    native_cmd = [kubectl, "get", "gateways.networking.istio.io", "-A"]
    warm_cmd = [meshctl, "gateways", "-A"]
    release_cmds = [[*release, "gateways", "-A"]] if release else []
    with FakeApiProcess(kubeconfig=kubeconfig, seed=True, scale=scale, **variant):
        _median_runs([native_cmd, warm_cmd, *release_cmds], env, 1)
        native, ours, *released = _median_runs([native_cmd, warm_cmd, *release_cmds], env, reps)
    label = ", ".join(f"{k}={v}" for k, v in variant.items())
    print(f"server {label}: kubectl {native:7.3f} s, kubectl-meshctl gateways -A (listing cached) {ours:7.3f} s", end="")
    print(f"   ratio {ours / native:.2f} (goal <= 1.0)")
    for spent in released:
        print(f"server {label}: krew release gateways -A {spent:7.3f} s   ratio {spent / native:.2f} {_unpacked(workdir)}")
    return any(spent / native > 1.0 for spent in (ours, *released))


def _gateway_api(
    workdir: Path, env: dict[str, str], *, kubectl: str, meshctl: str, release: list[str] | None, routes: int, reps: int
) -> bool:
    """The listings on a cluster that routes with HTTPRoutes, against kubectl listing the same HTTPRoutes."""
    from fakeapi.process import FakeApiProcess
    from generate_gateway_api import generate

    manifests = workdir / "gateway-api.yaml"
    manifests.write_text(generate(routes, 10, 1))
    kubeconfig = workdir / "kubeconfig-gateway-api"
    env = {**env, "KUBECONFIG": str(kubeconfig)}
    native_cmd = [kubectl, "get", "httproutes.gateway.networking.k8s.io", "-A"]
    warm_cmd = [meshctl, "httproutes", "-A"]
    cold_cmds = [[meshctl, "gateways", "-A", "--no-cache"], [meshctl, "httproutes", "-A", "--no-cache"]]
    release_cmds = [[*release, "httproutes", "-A"]] if release else []
    with FakeApiProcess(kubeconfig=kubeconfig, seed=True, yaml_files=(manifests,), gateway_api=True):
        _median_runs([native_cmd, warm_cmd, *cold_cmds, *release_cmds], env, 1)
        native, ours, *released = _median_runs([native_cmd, warm_cmd, *release_cmds], env, reps)
        cold_gw, cold_hr = _median_runs(cold_cmds, env, max(3, reps // 3))
    print(f"scale: {routes} HTTPRoutes x 10 rules (4 Gateway API Gateways)")
    print(f"kubectl get httproutes.gateway.networking.k8s.io -A  {native:7.3f} s")
    print(f"kubectl-meshctl httproutes -A (listing cached)       {ours:7.3f} s   ratio {ours / native:.2f} (goal <= 1.0)")
    print(f"kubectl-meshctl gateways -A --no-cache               {cold_gw:7.3f} s   ratio {cold_gw / native:.2f}")
    print(f"kubectl-meshctl httproutes -A --no-cache             {cold_hr:7.3f} s   ratio {cold_hr / native:.2f}")
    for spent in released:
        print(
            f"krew release httproutes -A (/usr/bin/python3)        {spent:7.3f} s   ratio {spent / native:.2f} {_unpacked(workdir)}"
        )
    return any(spent / native > 1.0 for spent in (ours, *released))


if __name__ == "__main__":
    raise SystemExit(main())
