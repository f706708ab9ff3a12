"""Benchmark of issue "Scale": cold cluster commands and offline commands at 0.25x, 1x and 4x a large cluster.

Not a unit test -- run it by hand on a quiet machine::

    python benchmarks/bench_scale.py                      # 0.25x/1x/4x, Istio and Gateway API, --predict-10k (~25 min)
    python benchmarks/bench_scale.py --quick              # 0.05x/0.1x/0.2x, 3 reps, no 10k predict (a smoke run)
    python benchmarks/bench_scale.py --skip-gateway-api --json /tmp/scale.json
    python benchmarks/bench_scale.py --release dist/kubectl-meshctl --python /usr/bin/python3   # as krew runs it

Istio path, 1x = the fake API server (tests/fakeapi, in a child process) holding the seed plus 2,000 Gateways,
5,000 VirtualServices x 10 rules and 50 pods; at other scales Gateways and VirtualServices scale, pods stay 50.
Gateway API path, 1x = the seed plus ``generate_gateway_api.generate(2000, 10, 1)`` (2,000 HTTPRoutes x 10 rules).
At each scale, interleaved, medians over ``--reps`` (wall time and each child's peak RSS, from ``os.wait4``):

* ``kubectl get gateways.networking.istio.io -A`` (Gateway API: ``httproutes...``) cold: no discovery cache;
* the floor (``floor.py``): the lists the plugin reads for a cold ``gateways -A`` -- found at start-up from the
  fake server's request log of one plugin run -- paged as the plugin pages them, over HTTPS, ``json.loads`` of
  every page, standard library only;
* for information, the floor with the cyclic GC disabled (``floor.py --no-gc``): at 4x the collector is most of
  the plain floor's time (it keeps every item, and each collection scans them);
* for information, kubectl reading the big list itself, cold: ``kubectl get virtualservices… -A -o json``
  (``httproutes…``): the same objects the plugin must read to count its warnings, where the baseline above gets a
  table of Gateways rendered by the server;
* ``kubectl-meshctl gateways -A --no-cache``, ``vs -A --no-cache`` (``httproutes -A --no-cache``), ``analyze -A``;
* offline: ``analyze -f FILE`` and ``routes -f FILE --predict`` on a YAML file of the same scenario's objects.

Every child runs with HOME and KUBECACHEDIR in a fresh empty directory (no kubectl discovery cache, no listing
cache); the real ~/.kube is never read.  Goals (exit status 1 when one is missed):

1. at 1x, cold ``gateways -A`` and ``analyze -A`` <= 3x kubectl cold and <= 2x the floor;
2. at 1x, the peak RSS of the cold cluster commands <= 2x the floor's;
3. fitted exponent (least-squares slope of log time over log scale) <= 1.1 for cold gateways -A, vs -A /
   httproutes -A, analyze -A, analyze -f and routes --predict;
4. ``--predict-10k``: ``routes -f --predict`` on 10,000 VirtualServices x 10 rules (2,000 Gateways) peaks
   at <= 500 MB RSS.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(BENCH))

ISTIO_1X = (2000, 5000, 50, 10)
ROUTES_1X = 2000
TIME_RATIO_KUBECTL = 3.0
TIME_RATIO_FLOOR = 2.0
RSS_RATIO_FLOOR = 2.0
EXPONENT_GOAL = 1.1
PREDICT_10K_RSS_MB = 500.0
ANALYZE_OK = (0, 79)  # README "Exit codes": 79 = a finding reached --failure-threshold

# what the plugin is expected to list (checked against the request log at start-up; a difference is printed)
EXPECTED_ISTIO_LISTS = {
    "/api/v1/services",
    "/api/v1/pods",
    "/apis/networking.istio.io/v1/gateways",
    "/apis/networking.istio.io/v1/virtualservices",
    "/apis/networking.istio.io/v1/destinationrules",
}
EXPECTED_GATEWAY_API_LISTS = EXPECTED_ISTIO_LISTS | {
    "/api/v1/namespaces",
    "/apis/gateway.networking.k8s.io/v1/gateways",
    "/apis/gateway.networking.k8s.io/v1/httproutes",
    "/apis/gateway.networking.k8s.io/v1/grpcroutes",
    "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
    "/apis/gateway.networking.k8s.io/v1beta1/referencegrants",
}


@dataclass
class Cmd:
    label: str
    argv: list[str]
    ok: tuple[int, ...] = (0,)
    times: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)

    @property
    def time(self) -> float:
        return statistics.median(self.times)

    @property
    def rss_mb(self) -> float:
        return statistics.median(self.rss_kb) / 1024


LAUNCHER = """
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["stderr"], "wb") as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(job["argv"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, env=job["env"])
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    print(json.dumps([wall, child.returncode, usage.ru_maxrss]), flush=True)
"""


class ChildFailed(Exception):
    pass


class Runner:
    """Runs the commands from a small launcher process (:data:`LAUNCHER`), started before this one grows.

    A child's ``ru_maxrss`` includes the memory of the process it was forked from (Linux records the old
    mm's high-water mark at exec, vfork included), so forking from this process -- which holds the generated
    scenarios -- would report its size for every small child.  The launcher is a bare ``python -S`` (about
    10 MB): a child's peak RSS is reported as the larger of its own and the launcher's.
    """

    def __init__(self, workdir: Path, base_env: dict[str, str]) -> None:
        self.workdir = workdir
        self.base_env = base_env
        self.n = 0
        self.failures: list[str] = []
        self.launcher = subprocess.Popen(
            [sys.executable, "-S", "-c", LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def run(self, cmd: Cmd, kubeconfig: Path | None, *, record: bool = True) -> tuple[float, int]:
        """One cold run: fresh HOME/KUBECACHEDIR, stdout discarded, stderr kept for a failure report."""
        self.n += 1
        home = self.workdir / f"home-{self.n}"
        home.mkdir()
        env = dict(self.base_env, HOME=str(home), KUBECACHEDIR=str(home / "kube-cache"))
        if kubeconfig is not None:
            env["KUBECONFIG"] = str(kubeconfig)
        stderr_path = self.workdir / "stderr.txt"
        assert self.launcher.stdin is not None and self.launcher.stdout is not None
        for attempt in range(2):  # the code under test may be mid-edit: one retry, the failure printed either way
            self.launcher.stdin.write(json.dumps({"argv": cmd.argv, "env": env, "stderr": str(stderr_path)}) + "\n")
            self.launcher.stdin.flush()
            wall, returncode, maxrss = json.loads(self.launcher.stdout.readline())
            if returncode in cmd.ok:
                break
            tail = stderr_path.read_text(errors="replace")[-1500:]
            failure = f"{cmd.label}: exit {returncode} ({' '.join(cmd.argv)[:300]})\n{tail}"
            self.failures.append(failure)
            if attempt:
                shutil.rmtree(home, ignore_errors=True)
                raise ChildFailed(failure)
            print(f"   warning: {failure.rstrip()}\n   (retrying once)", flush=True)
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir()
        shutil.rmtree(home, ignore_errors=True)
        if record:
            cmd.times.append(wall)
            cmd.rss_kb.append(maxrss)
        return wall, maxrss

    def close(self) -> None:
        assert self.launcher.stdin is not None
        self.launcher.stdin.close()
        self.launcher.wait(10)


def write_yaml(objects: list[dict[str, Any]], path: Path) -> None:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    with open(path, "w", encoding="utf-8") as fh:
        yaml.dump_all(objects, fh, Dumper=dumper, sort_keys=False)


def list_paths(requests: list[dict[str, Any]]) -> list[str]:
    """The lists read (GETs with a ``limit``), in first-seen order."""
    seen: dict[str, None] = {}
    for r in requests:
        if r["method"] == "GET" and "limit" in (r.get("query") or {}):
            seen.setdefault(r["path"], None)
    return list(seen)


def probe_lists(runner: Runner, meshctl: list[str], *, gateway_api: bool) -> list[str]:
    """The lists a cold ``kubectl-meshctl gateways -A --no-cache`` reads, from the fake server's request log."""
    from fakeapi.process import FakeApiProcess

    tag = "gateway-api" if gateway_api else "istio"
    kubeconfig = runner.workdir / f"kubeconfig-probe-{tag}"
    log = runner.workdir / f"requests-probe-{tag}.jsonl"
    if gateway_api:
        from generate_gateway_api import generate

        manifest = runner.workdir / "probe-gateway-api.yaml"
        manifest.write_text(generate(20, 10, 1))
        fake = FakeApiProcess(kubeconfig=kubeconfig, seed=True, yaml_files=(manifest,), gateway_api=True, request_log=log)
    else:
        fake = FakeApiProcess(kubeconfig=kubeconfig, seed=True, scale=(20, 50, 50, 10), request_log=log)
    with fake:
        runner.run(Cmd("probe", [*meshctl, "gateways", "-A", "--no-cache"]), kubeconfig, record=False)
    paths = list_paths(fake.requests())
    expected = EXPECTED_GATEWAY_API_LISTS if gateway_api else EXPECTED_ISTIO_LISTS
    if set(paths) != expected:
        print(
            f"note: the plugin's lists differ from those expected: extra {sorted(set(paths) - expected)}, "
            f"missing {sorted(expected - set(paths))}; the floor reads what the plugin reads"
        )
    return paths


def fit_exponent(scales: list[float], times: list[float]) -> float:
    xs = [math.log(s) for s in scales]
    ys = [math.log(t) for t in times]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


@dataclass
class Goal:
    name: str
    value: float
    limit: float
    unit: str = ""

    @property
    def met(self) -> bool:
        return self.value <= self.limit


def measure_scale(
    runner: Runner,
    *,
    gateway_api: bool,
    scale: float,
    reps: int,
    warm_all: bool,
    kubectl: str,
    meshctl: list[str],
    python: str,
    floor_paths: list[str],
) -> dict[str, Any]:
    from fakeapi.process import FakeApiProcess
    from fakeapi.scale import make_scale_scenario

    tag = "gateway-api" if gateway_api else "istio"
    kubeconfig = runner.workdir / f"kubeconfig-{tag}-{scale}"
    offline = runner.workdir / f"offline-{tag}-{scale}.yaml"
    started = time.perf_counter()
    if gateway_api:
        from generate_gateway_api import generate

        routes = max(1, round(ROUTES_1X * scale))
        offline.write_text(generate(routes, 10, 1))
        fake = FakeApiProcess(kubeconfig=kubeconfig, seed=True, yaml_files=(offline,), gateway_api=True, startup_timeout=600)
        what = f"{routes} HTTPRoutes x 10 rules (4 Gateways) + seed"
        native = [kubectl, "get", "httproutes.gateway.networking.k8s.io", "-A"]
        native_json = Cmd("kubectl get httproutes -A -o json", [*native, "-o", "json"])
        routes_cmd = Cmd("httproutes -A --no-cache", [*meshctl, "httproutes", "-A", "--no-cache"])
        predict_flags = ["--pod-labels", "gateway.networking.k8s.io/gateway-name=public", "--pod-namespace", "istio-system"]
    else:
        gateways, virtual_services = (max(1, round(n * scale)) for n in ISTIO_1X[:2])
        pods, rules = ISTIO_1X[2:]
        write_yaml(make_scale_scenario(gateways, virtual_services, pods, rules=rules), offline)
        fake = FakeApiProcess(
            kubeconfig=kubeconfig, seed=True, scale=(gateways, virtual_services, pods, rules), startup_timeout=600
        )
        what = f"{gateways} Gateways, {virtual_services} VirtualServices x {rules} rules, {pods} pods + seed"
        native = [kubectl, "get", "gateways.networking.istio.io", "-A"]
        native_json = Cmd(
            "kubectl get vs -A -o json", [kubectl, "get", "virtualservices.networking.istio.io", "-A", "-o", "json"]
        )
        routes_cmd = Cmd("vs -A --no-cache", [*meshctl, "vs", "-A", "--no-cache"])
        predict_flags = []
    print(f"\n== {tag} at {scale:g}x: {what}; offline file {offline.stat().st_size / 1e6:.1f} MB", flush=True)
    with fake:
        print(f"   fake API server up in {time.perf_counter() - started:.1f} s", flush=True)
        info = fake.info
        floor_args = ["--ca-file", info["ca_file"], *floor_paths]
        cmds = [
            Cmd(f"kubectl get {native[2].split('.')[0]} -A (cold)", native),
            Cmd(
                "floor (lists + json.loads)",
                [python, str(BENCH / "floor.py"), "--server", info["url"], "--token", info["token"], *floor_args],
            ),
            Cmd(
                "floor, GC off (information)",
                [
                    python,
                    str(BENCH / "floor.py"),
                    "--server",
                    info["url"],
                    "--token",
                    info["token"],
                    "--no-gc",
                    *floor_args,
                ],
            ),
            native_json,
            Cmd("gateways -A --no-cache", [*meshctl, "gateways", "-A", "--no-cache"]),
            routes_cmd,
            Cmd("analyze -A", [*meshctl, "analyze", "-A"], ok=ANALYZE_OK),
            Cmd("analyze -f FILE", [*meshctl, "analyze", "-f", str(offline)], ok=ANALYZE_OK),
            Cmd("routes -f FILE --predict", [*meshctl, "routes", "-f", str(offline), "--predict", *predict_flags]),
        ]
        # warm-up (not recorded): the server's pages (the floor reads every list) and, at the first scale, bytecode
        for cmd in cmds if warm_all else cmds[1:2]:
            runner.run(cmd, kubeconfig, record=False)
        for rep in range(reps):
            for cmd in cmds:
                runner.run(cmd, kubeconfig)
            print(f"   rep {rep + 1}/{reps} done ({time.perf_counter() - started:.0f} s)", flush=True)
    kube, floor = cmds[0], cmds[1]
    print(f"   {'command':34} {'median s':>9} {'/kubectl':>9} {'/floor':>7} {'RSS MB':>8} {'RSS/floor':>10}")
    for cmd in cmds:
        print(
            f"   {cmd.label:34} {cmd.time:9.3f} {cmd.time / kube.time:9.2f} {cmd.time / floor.time:7.2f} "
            f"{cmd.rss_mb:8.1f} {cmd.rss_mb / floor.rss_mb:10.2f}"
        )
    return {
        "scale": scale,
        "scenario": what,
        "offline_bytes": offline.stat().st_size,
        "floor_paths": floor_paths,
        "commands": {c.label: {**asdict(c), "median_s": c.time, "median_rss_mb": c.rss_mb} for c in cmds},
    }


def run_path(
    runner: Runner, args: argparse.Namespace, *, gateway_api: bool, kubectl: str, meshctl: list[str]
) -> tuple[dict, list[Goal]]:
    tag = "gateway-api" if gateway_api else "istio"
    floor_paths = probe_lists(runner, meshctl, gateway_api=gateway_api)
    print(f"\n{tag}: the floor reads {len(floor_paths)} lists: {' '.join(floor_paths)}")
    results = []
    for i, scale in enumerate(args.scales):
        reps = args.reps_large if scale > 1 else args.reps
        results.append(
            measure_scale(
                runner,
                gateway_api=gateway_api,
                scale=scale,
                reps=reps,
                warm_all=i == 0,
                kubectl=kubectl,
                meshctl=meshctl,
                python=args.python,
                floor_paths=floor_paths,
            )
        )
    goals: list[Goal] = []
    ref = min(results, key=lambda r: abs(math.log(r["scale"])))  # the scale nearest 1x (1x itself by default)
    c = ref["commands"]
    kube, floor = c[next(iter(c))], c["floor (lists + json.loads)"]
    at = f"{tag} {ref['scale']:g}x"
    for label in ("gateways -A --no-cache", "analyze -A"):
        goals.append(Goal(f"{at}: {label} / kubectl cold", c[label]["median_s"] / kube["median_s"], TIME_RATIO_KUBECTL, "x"))
        goals.append(Goal(f"{at}: {label} / floor", c[label]["median_s"] / floor["median_s"], TIME_RATIO_FLOOR, "x"))
    listing = "httproutes -A --no-cache" if gateway_api else "vs -A --no-cache"
    for label in ("gateways -A --no-cache", listing, "analyze -A"):
        goals.append(
            Goal(f"{at}: {label} peak RSS / floor", c[label]["median_rss_mb"] / floor["median_rss_mb"], RSS_RATIO_FLOOR, "x")
        )
    exponents = {}
    scales = [r["scale"] for r in results]
    if len(set(scales)) > 1:
        print(f"\n{tag}: fitted exponents (slope of log time over log scale, scales {', '.join(f'{s:g}' for s in scales)})")
    labels = [next(iter(c)), "floor (lists + json.loads)", "floor, GC off (information)", "gateways -A --no-cache", listing]
    labels += ["analyze -A", "analyze -f FILE", "routes -f FILE --predict"]
    for label in labels if len(set(scales)) > 1 else ():
        exponent = fit_exponent(scales, [r["commands"][label]["median_s"] for r in results])
        exponents[label] = exponent
        checked = label not in labels[:3]
        print(f"   {label:34} {exponent:6.2f}{f'   (goal <= {EXPONENT_GOAL})' if checked else ''}")
        if checked:
            goals.append(Goal(f"{tag}: exponent of {label}", exponent, EXPONENT_GOAL))
    return {"scales": results, "exponents": exponents}, goals


def predict_10k(runner: Runner, meshctl: list[str], reps: int) -> tuple[dict, list[Goal]]:
    from fakeapi.scale import make_scale_scenario

    path = runner.workdir / "predict-10k.yaml"
    write_yaml(make_scale_scenario(2000, 10000, 50, rules=10), path)
    cmd = Cmd("routes -f FILE --predict (10k VS)", [*meshctl, "routes", "-f", str(path), "--predict"])
    for _ in range(reps):
        runner.run(cmd, None)
    print(
        f"\npredict-10k: 2,000 Gateways, 10,000 VirtualServices x 10 rules ({path.stat().st_size / 1e6:.1f} MB YAML): "
        f"routes -f --predict {cmd.time:.2f} s, peak RSS {cmd.rss_mb:.0f} MB (goal <= {PREDICT_10K_RSS_MB:.0f} MB)"
    )
    return {"median_s": cmd.time, "median_rss_mb": cmd.rss_mb, "times": cmd.times, "rss_kb": cmd.rss_kb}, [
        Goal("predict-10k: routes -f --predict peak RSS", cmd.rss_mb, PREDICT_10K_RSS_MB, " MB")
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="scales 0.05/0.1/0.2, 3 reps, no --predict-10k")
    parser.add_argument("--scales", help="comma-separated multiples of 1x (default 0.25,1,4)")
    parser.add_argument("--reps", type=int, help="repetitions at scales <= 1x (default 7; quick 3)")
    parser.add_argument("--reps-large", type=int, help="repetitions at scales > 1x (default 3)")
    parser.add_argument("--skip-istio", action="store_true")
    parser.add_argument("--skip-gateway-api", action="store_true")
    parser.add_argument("--predict-10k", action=argparse.BooleanOptionalAction, default=None, help="default: on unless --quick")
    parser.add_argument("--predict-10k-reps", type=int, default=1)
    parser.add_argument("--json", help="save every figure here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (YAML files, kubeconfigs)")
    parser.add_argument(
        "--release",
        metavar="SCRIPT",
        help="run the plugin as krew installs it: SCRIPT (the release's kubectl-meshctl, from scripts/build-krew) under --python",
    )
    parser.add_argument(
        "--python", default=sys.executable, help="the interpreter of the floor (and of --release); default: this one"
    )
    args = parser.parse_args()
    args.scales = [float(s) for s in (args.scales or ("0.05,0.1,0.2" if args.quick else "0.25,1,4")).split(",")]
    args.reps = args.reps or (3 if args.quick else 7)
    args.reps_large = args.reps_large or 3
    if args.predict_10k is None:
        args.predict_10k = not args.quick

    from fakeapi.fixtures import find_kubectl

    kubectl = find_kubectl("1.32")
    installed = shutil.which("kubectl-meshctl")
    if kubectl is None or (installed is None and not args.release):
        print("needs kubectl and an installed kubectl-meshctl on PATH", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="meshctl-bench-scale-"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "KUBECONFIG", "KUBECACHEDIR")}
    if args.release:
        # as a krew user runs it: the release's script under python3, which unpacks itself once into a cache that
        # outlives the runs' fresh HOMEs (a user installs once); the floor runs under the same interpreter
        meshctl = [args.python, str(Path(args.release).resolve())]
        env["XDG_CACHE_HOME"] = str(workdir / "xdg-cache")
        subprocess.run(
            [*meshctl, "analyze", "-f", str(REPO / "examples" / "seed.yaml")], env=env, capture_output=True, check=False
        )
    else:
        assert installed is not None
        meshctl = [installed]
    runner = Runner(workdir, env)
    print(f"kubectl: {kubectl}\nkubectl-meshctl: {' '.join(meshctl)}\nfloor under: {args.python}\nwork dir: {workdir}")
    print(f"scales {args.scales}, reps {args.reps} (> 1x: {args.reps_large}), {os.cpu_count()} CPUs")
    started = time.perf_counter()
    figures: dict[str, Any] = {"args": {k: v for k, v in vars(args).items() if k != "json"}}
    goals: list[Goal] = []
    try:
        if not args.skip_istio:
            figures["istio"], more = run_path(runner, args, gateway_api=False, kubectl=kubectl, meshctl=meshctl)
            goals += more
        if not args.skip_gateway_api:
            figures["gateway_api"], more = run_path(runner, args, gateway_api=True, kubectl=kubectl, meshctl=meshctl)
            goals += more
        if args.predict_10k:
            figures["predict_10k"], more = predict_10k(runner, meshctl, args.predict_10k_reps)
            goals += more
    except ChildFailed as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        figures["failed"] = str(exc)
    finally:
        runner.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    figures["child_failures"] = runner.failures

    print("\ngoals:" if "failed" not in figures else "\ngoals (of the paths measured before the failure):")
    for goal in goals:
        print(
            f"   {'met   ' if goal.met else 'MISSED'}  {goal.name:62} {goal.value:8.2f}{goal.unit}  (<= {goal.limit:g}{goal.unit})"
        )
    figures["goals"] = [{**asdict(g), "met": g.met} for g in goals]
    figures["total_s"] = time.perf_counter() - started
    print(f"total {figures['total_s']:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
        print(f"figures saved to {args.json}")
    return 0 if all(g.met for g in goals) and "failed" not in figures else 1


if __name__ == "__main__":
    raise SystemExit(main())
