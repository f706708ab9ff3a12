"""Benchmark: ``analyze`` on a large generated configuration vs. PyYAML's C loader parsing the same text.

Not a unit test -- run it by hand (or from a manual CI job)::

    python benchmarks/bench_analyze.py            # 1,000 and 10,000 VirtualServices x 10 rules
    python benchmarks/bench_analyze.py --quick    # 200 and 2,000 (a smoke run, same goals)

Goals (checked on the large input; exit status 1 if one is missed, 0 otherwise):

1. analysis time <= 2.0 x the parse-only baseline, where the baseline is
   ``list(yaml.load_all(text, Loader=yaml.CSafeLoader))`` on the same text, measured in the same run;
2. scaling: analysis time(large) / analysis time(small) <= 12 for 10x the input.

"Analysis" is what ``kubectl-meshctl analyze -f FILE`` does, in-process: ``FileSource([path]).read()``,
``analysis.analyze``, suppression (none given), ``report.arrange``, the per-finding line lookup and
``render_log``.  Times are medians (default: 5 repetitions for the small input, 3 for the large),
baseline and analysis alternating so that drift hits both.  The end-to-end CLI
(``kubectl-meshctl analyze -f FILE -o json >/dev/null``) is timed once per input for information, and
the peak RSS of this process and of the CLI children is printed (information only).
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import generate

RATIO_GOAL = 2.0
SCALING_GOAL = 12.0


def parse_only(text: str) -> int:
    """The baseline: PyYAML's C loader, every document fully constructed."""
    return len(list(yaml.load_all(text, Loader=yaml.CSafeLoader)))


def analyze_like_cli(path: str) -> tuple[int, Counter[str], str]:
    """``kubectl-meshctl analyze -f path`` (log output) without the process and click around it."""
    from kubectl_meshctl import cli
    from kubectl_meshctl.analysis import analyze
    from kubectl_meshctl.analysis.report import annotation_suppressions, arrange, render_log, suppress
    from kubectl_meshctl.sources.files import FileSource

    result = FileSource([path]).read()
    findings = suppress(analyze(result.snapshot), [], annotation_suppressions(result.snapshot))
    findings = arrange(findings)
    with_line: Callable[[Any, Any], Any] | None = getattr(cli, "_with_line", None)
    shown = [with_line(f, result) for f in findings] if with_line else findings
    text = render_log(shown)
    return len(result.errors), Counter(f.code for f in findings), text


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


@dataclass
class Case:
    label: str
    n_vs: int
    reps: int
    path: str = ""
    text: str = ""
    size_mb: float = 0.0
    docs: int = 0
    baseline: list[float] = field(default_factory=list)
    analysis: list[float] = field(default_factory=list)
    cli_s: float | None = None
    cli_rc: int | None = None
    errors: int = 0
    findings: Counter[str] = field(default_factory=Counter)

    @property
    def base_med(self) -> float:
        return statistics.median(self.baseline)

    @property
    def ana_med(self) -> float:
        return statistics.median(self.analysis)

    @property
    def ratio(self) -> float:
        return self.ana_med / self.base_med


def cli_command() -> list[str]:
    exe = shutil.which("kubectl-meshctl")
    return [exe] if exe else [sys.executable, "-m", "kubectl_meshctl"]


def run_case(case: Case, *, verbose: bool) -> None:
    for rep in range(case.reps):
        tb, docs = timed(lambda: parse_only(case.text))
        ta, (errors, codes, _out) = timed(lambda: analyze_like_cli(case.path))
        case.baseline.append(tb)
        case.analysis.append(ta)
        case.docs, case.errors, case.findings = docs, errors, codes
        if verbose:
            print(f"  {case.label} rep {rep + 1}/{case.reps}: baseline {tb:.3f}s  analyze {ta:.3f}s", flush=True)


def run_cli(case: Case) -> None:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*cli_command(), "analyze", "-f", case.path, "-o", "json"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    case.cli_s = time.perf_counter() - t0
    case.cli_rc = proc.returncode


def peak_rss_mb(who: int) -> float:
    kb = resource.getrusage(who).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / (1024 * 1024)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="analyze vs. yaml.CSafeLoader on generated Istio configuration")
    p.add_argument("--quick", action="store_true", help="smaller run: 200 and 2,000 VirtualServices, 3/2 repetitions")
    p.add_argument("--small", type=int, help="VirtualServices in the small input (default 1000; quick 200)")
    p.add_argument("--large", type=int, help="VirtualServices in the large input (default 10000; quick 2000)")
    p.add_argument("--rules", type=int, default=10, help="HTTP rules per VirtualService (default 10)")
    p.add_argument("--reps-small", type=int, help="repetitions for the small input (default 5; quick 3)")
    p.add_argument("--reps-large", type=int, help="repetitions for the large input (default 3; quick 2)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI timing")
    p.add_argument("--keep", metavar="DIR", help="write the inputs to DIR and keep them (default: a temp dir, removed)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every repetition")
    p.add_argument(
        "--gateway-api",
        action="store_true",
        help="HTTPRoutes instead of VirtualServices (generate_gateway_api.py; default 200 and 2,000 routes)",
    )
    args = p.parse_args(argv)
    make = generate
    if args.gateway_api:
        from generate_gateway_api import generate as make

        args.small = args.small or 200
        args.large = args.large or 2000

    if not getattr(yaml, "__with_libyaml__", False):
        print("PyYAML is built without libyaml: the CSafeLoader baseline is not available.", file=sys.stderr)
        return 2
    small = args.small or (200 if args.quick else 1000)
    large = args.large or (2000 if args.quick else 10000)
    cases = [
        Case("small", small, args.reps_small or (3 if args.quick else 5)),
        Case("large", large, args.reps_large or (2 if args.quick else 3)),
    ]

    workdir = args.keep or tempfile.mkdtemp(prefix="meshctl-bench-")
    os.makedirs(workdir, exist_ok=True)
    try:
        for case in cases:
            case.text = make(case.n_vs, args.rules, args.seed)
            case.path = os.path.join(workdir, f"vs-{case.n_vs}x{args.rules}.yaml")
            with open(case.path, "w", encoding="utf-8") as fh:
                fh.write(case.text)
            case.size_mb = len(case.text.encode()) / 1e6
            print(f"generated {case.path}: {case.n_vs} VirtualServices x {args.rules} rules, {case.size_mb:.1f} MB", flush=True)

        analyze_like_cli(cases[0].path)  # warm-up: imports, regex caches
        for case in cases:
            run_case(case, verbose=args.verbose)
        if not args.no_cli:
            for case in cases:
                run_cli(case)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    s, lg = cases
    scaling = lg.ana_med / s.ana_med
    base_scaling = lg.base_med / s.base_med
    print()
    print(f"Python {sys.version.split()[0]}, PyYAML {yaml.__version__} (libyaml), {os.cpu_count()} CPUs")
    header = f"{'input':<7} {'VS x rules':>12} {'MB':>6} {'docs':>6} {'reps':>4} {'baseline s':>11} {'analyze s':>10} {'ratio':>6} {'CLI s':>7}"
    print(header)
    print("-" * len(header))
    for c in cases:
        cli_s = f"{c.cli_s:7.2f}" if c.cli_s is not None else f"{'-':>7}"
        print(
            f"{c.label:<7} {f'{c.n_vs} x {args.rules}':>12} {c.size_mb:6.1f} {c.docs:6d} {c.reps:4d}"
            f" {c.base_med:11.3f} {c.ana_med:10.3f} {c.ratio:6.2f} {cli_s}"
        )
    print()
    for c in cases:
        codes = ", ".join(f"{k} x{v}" for k, v in sorted(c.findings.items())) or "none"
        rc = f", CLI exit {c.cli_rc}" if c.cli_rc is not None else ""
        print(f"{c.label}: findings {codes}; input errors {c.errors}{rc}")
    print(
        f"peak RSS: this process {peak_rss_mb(resource.RUSAGE_SELF):.0f} MB, largest CLI child {peak_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB"
    )
    print()
    ok_ratio = lg.ratio <= RATIO_GOAL
    ok_scaling = scaling <= SCALING_GOAL
    factor = lg.n_vs / s.n_vs
    print(f"goal 1: analyze / parse-only ({lg.label}) = {lg.ratio:.2f}  (goal <= {RATIO_GOAL})  {'OK' if ok_ratio else 'MISSED'}")
    print(
        f"goal 2: analyze {lg.label}/{s.label} ({factor:g}x input) = {scaling:.2f}  (goal <= {SCALING_GOAL:g})"
        f"  {'OK' if ok_scaling else 'MISSED'}   [parse-only scales {base_scaling:.2f}]"
    )
    return 0 if ok_ratio and ok_scaling else 1


if __name__ == "__main__":
    sys.exit(main())
