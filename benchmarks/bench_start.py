"""Everyday start-up: ``--version``, ``--help`` and ``analyze -f examples/seed.yaml``, the way users run them.

Why this script exists: most runs are small -- a CI job analysing a few manifests, a look at one gateway -- so what
they cost is the interpreter's start and the imports, not the analysis.  It times, interleaved, medians of
``--runs``, each command as:

- the installed console script (``kubectl-meshctl`` on ``PATH``: a ``pip install``);
- the krew release (``--release DIR``: ``dist/kubectl-meshctl-vX.Y.Z.tar.gz`` unpacked) under ``--python``, directly
  and through the real ``kubectl`` (plugin discovery, as ``kubectl meshctl …`` runs it);
- each ``--tree DIR``, a checkout imported ahead of any install (to compare two versions on one machine, in one run);

and the interpreters alone (``-c pass``) as the baseline.  ::

    python benchmarks/bench_start.py --release /tmp/rel --python /usr/bin/python3 [--tree /tmp/old --tree .]

Prints a Markdown table; exits 1 when a command fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMMANDS = {
    "`--version`": ["--version"],
    "`--help`": ["--help"],
    "`analyze -f examples/seed.yaml`": ["analyze", "-f", str(REPO / "examples" / "seed.yaml")],
}
TREE_MAIN = (
    "import sys; tree = sys.argv.pop(1); sys.path.insert(0, tree); "
    "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
    "sys.argv[0] = 'kubectl-meshctl'; from kubectl_meshctl.entry import main; main()"
)


def _time(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 79):  # 79: analyze found warnings in a file it was told to fail on
        sys.exit(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.decode(errors='replace')[-400:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", type=Path, help="the unpacked krew release (holds kubectl-meshctl)")
    parser.add_argument("--python", default="python3", help="the interpreter the release runs under")
    parser.add_argument("--tree", type=Path, action="append", default=[], help="a checkout to time (repeatable)")
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-start-"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # bytecode, as users have it
    env.update(HOME=str(work), XDG_CACHE_HOME=str(work / "cache"), KUBECONFIG=str(work / "none"))
    columns: dict[str, list[str]] = {}
    baselines: dict[str, list[str]] = {}
    installed = shutil.which("kubectl-meshctl")
    if installed:
        columns["console script"] = [installed]
        with open(installed, encoding="utf-8", errors="replace") as script:
            interpreter = script.readline().removeprefix("#!").strip()
        baselines["console script"] = [interpreter, "-c", "pass"]
    if args.release:
        python = shutil.which(args.python) or args.python
        columns["release"] = [python, str(args.release / "kubectl-meshctl")]
        baselines["release"] = [python, "-c", "pass"]
        kubectl = shutil.which("kubectl")
        if kubectl:
            # kubectl finds the plugin on PATH; its `#!/usr/bin/env python3` finds the chosen interpreter first
            bin_dir = work / "bin"
            bin_dir.mkdir()
            (bin_dir / "python3").symlink_to(python)
            (bin_dir / "kubectl-meshctl").symlink_to((args.release / "kubectl-meshctl").resolve())
            env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
            columns["`kubectl meshctl …` (release)"] = [kubectl, "meshctl"]
    for tree in args.tree:
        columns[f"tree {tree}"] = [sys.executable, "-c", TREE_MAIN, str(tree.resolve())]
        baselines[f"tree {tree}"] = [sys.executable, "-c", "pass"]
    if not columns:
        sys.exit("nothing to time: no kubectl-meshctl on PATH, no --release, no --tree")

    jobs = [(column, row, [*argv, *command]) for column, argv in columns.items() for row, command in COMMANDS.items()]
    jobs += [(column, "the interpreter alone (`-c pass`)", argv) for column, argv in baselines.items()]
    for _, _, argv in jobs:  # once untimed: the release unpacks itself, bytecode gets written
        _time(argv, env)
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.runs):
        for column, row, argv in jobs:
            times.setdefault((column, row), []).append(_time(argv, env))

    rows = [*COMMANDS, "the interpreter alone (`-c pass`)"]
    print(f"medians of {args.runs} interleaved runs; {sys.platform}, {os.cpu_count()} CPUs")
    print("| command | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for row in rows:
        cells = [f"{statistics.median(times[(c, row)]):.3f} s" if (c, row) in times else "" for c in columns]
        print(f"| {row} | " + " | ".join(cells) + " |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
