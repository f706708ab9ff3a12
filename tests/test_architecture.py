"""Layer contracts (as kopf states its own): which room may import which, the core is pure, the shell is the only I/O.

The package's folders are its layers (docs/architecture.md draws them):

    cli -> app -> sources / kube -> listing / analysis / routes / routetests -> istio -> envoy -> resources -> gocompat

A module may import its own room and the rooms :data:`ALLOWED` lists for it; the small top-level modules
(:data:`LEAVES`) are shared by all and import nothing above themselves.  Everything in :data:`PURE` imports no
I/O machinery and calls no print/open/exit.  Checked statically on the source (every import, also those inside
functions), so a violation fails even on a code path no test executes.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "kubectl_meshctl"
ROOMS = (
    "cli",
    "app",
    "sources",
    "kube",
    "listing",
    "analysis",
    "routes",
    "routetests",
    "istio",
    "envoy",
    "resources",
    "gocompat",
)
ALLOWED: dict[str, set[str]] = {
    "cli": {"app", "sources", "kube", "listing", "analysis", "routes", "routetests", "istio", "envoy", "resources", "gocompat"},
    "app": {"sources", "kube", "listing", "analysis", "routes", "routetests", "istio", "envoy", "resources", "gocompat"},
    "kube": {"sources", "resources", "gocompat"},
    "sources": {"resources", "gocompat"},
    "listing": {"analysis", "istio", "envoy", "resources", "gocompat"},
    "analysis": {"istio", "envoy", "resources", "gocompat"},
    "routes": {"envoy", "resources", "gocompat"},  # never analysis: the renderer shows what a proxy has, not findings
    "routetests": {"istio", "envoy", "resources", "gocompat"},  # route test files: run on the models, never render
    "istio": {"envoy", "resources", "gocompat"},
    "envoy": {"resources", "gocompat"},
    "resources": {"gocompat"},
    "gocompat": set(),
}
LEAVES = {"__init__", "redact", "bounded_read", "gcpause", "exitcodes", "private_cache", "records"}
"""Top-level modules any room may use; they import only each other."""
FILE_SYSTEM_LEAVES = {"private_cache"}
"""Leaves that touch the file system: never from a pure room."""
SHELL_ONLY = {"exitcodes"}
"""Exit codes are the shell's business: only cli (and the console entry point) name them."""
FRONT_DOOR = {"entry", "__main__", "_help", "krew_launcher"}
"""The console script's fast path and the krew release's start-up script (standard library only until it hands over):
they may import cli."""
PURE = ("istio", "envoy", "analysis", "routes", "routetests", "resources", "gocompat")
FORBIDDEN_IMPORTS = {
    "click",
    "kubernetes",
    "urllib3",
    "requests",
    "socket",
    "subprocess",
    "http",
    "os",
    "sys",
    "io",
    "pathlib",
    "shutil",
}
FORBIDDEN_CALLS = {"print", "open", "exit", "quit", "input", "breakpoint"}


def _module_parts(path: Path) -> list[str]:
    rel = path.relative_to(PACKAGE).with_suffix("")
    return list(rel.parts)


def _imported(path: Path, tree: ast.AST) -> list[tuple[int, list[str]]]:
    """(line, module path inside the package) of every import of our own package in ``tree``."""
    parts = _module_parts(path)
    here = parts[:-1]  # the package the module lives in (for __init__, its own package)
    found: list[tuple[int, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
                target = base + (node.module.split(".") if node.module else [])
                if node.module is None or not target:
                    found += [(node.lineno, [*target, alias.name]) for alias in node.names]
                else:
                    found.append((node.lineno, target))
            elif (node.module or "").split(".")[0] == "kubectl_meshctl":
                found.append((node.lineno, (node.module or "").split(".")[1:] or ["__init__"]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "kubectl_meshctl":
                    found.append((node.lineno, alias.name.split(".")[1:] or ["__init__"]))
    return found


def layer_violations(path: Path, source: str) -> list[str]:
    """What ``source`` (the text of ``path``) imports against the rooms' contract."""
    tree = ast.parse(source)
    parts = _module_parts(path)
    room = parts[0] if len(parts) > 1 else None
    problems: list[str] = []
    for line, target in _imported(path, tree):
        first = target[0] if target else "__init__"
        where = f"{'/'.join(parts)}.py:{line} imports {'.'.join(target) or 'kubectl_meshctl'}"
        if first in LEAVES or (first not in ROOMS and first not in FRONT_DOOR):
            if first in SHELL_ONLY and room != "cli" and parts[-1] not in FRONT_DOOR:
                problems.append(f"{where}: only cli uses exit codes")
            if first in FILE_SYSTEM_LEAVES and room in PURE:
                problems.append(f"{where}: a pure room touches no file system")
            continue
        if room is None:
            if parts[-1] in FRONT_DOOR and first in ("cli", *FRONT_DOOR):
                continue
            problems.append(f"{where}: a top-level module imports a room")
        elif first != room and first not in ALLOWED[room]:
            problems.append(f"{where}: {room} may not import {first}")
    if room in PURE:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                problems += [f"{path.name} imports {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_IMPORTS]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                if (node.module or "").split(".")[0] in FORBIDDEN_IMPORTS:
                    problems.append(f"{path.name} imports {node.module}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
                problems.append(f"{path.name} calls {node.func.id}()")
    return problems


def _package_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_room_is_a_known_layer() -> None:
    rooms = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert rooms == set(ROOMS), "a new folder needs its place in ALLOWED (and in docs/architecture.md)"
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top <= LEAVES | FRONT_DOOR, f"top-level modules outside the contract: {top - LEAVES - FRONT_DOOR}"


@pytest.mark.parametrize("path", _package_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_keeps_the_layer_contract(path: Path) -> None:
    assert layer_violations(path, path.read_text()) == []


@pytest.mark.parametrize(
    ("where", "source", "expected"),
    [
        ("routes/x.py", "from ..analysis import findings\n", "routes may not import analysis"),
        ("analysis/x.py", "def f():\n    from ..routes.table import render_routes\n", "analysis may not import routes"),
        ("envoy/x.py", "from ..istio.translation import Route\n", "envoy may not import istio"),
        ("resources/x.py", "from kubectl_meshctl.sources.files import FileSource\n", "resources may not import sources"),
        ("app/x.py", "from ..exitcodes import ExitCode\n", "only cli uses exit codes"),
        ("app/x.py", "from ..cli.output import say\n", "app may not import cli"),
        ("redact.py", "from .kube import transport\n", "a top-level module imports a room"),
        ("istio/x.py", "import os\n", "imports os"),
        ("analysis/x.py", "from ..private_cache import open_private_dir\n", "a pure room touches no file system"),
        ("gocompat/x.py", "def f():\n    print(1)\n", "calls print()"),
    ],
)
def test_the_contract_check_catches_a_violation(where: str, source: str, expected: str) -> None:
    problems = layer_violations(PACKAGE / where, source)
    assert any(expected in p for p in problems), problems


def test_only_cli_exits_or_prints() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "cli" or path.name in ("entry.py", "__main__.py", "krew_launcher.py"):  # the shell's front doors
            continue
        text = path.read_text()
        assert "sys.exit(" not in text, path
        assert "click.echo(" not in text, path
        for node in ast.walk(ast.parse(text)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            assert not any(n.split(".")[0] == "click" for n in names), f"{path}: click belongs to cli/"


def test_help_and_offline_analyze_do_not_import_kubernetes() -> None:
    code = (
        "import sys\n"
        "from kubectl_meshctl.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "assert 'kubernetes' not in sys.modules, 'kubernetes imported'\n"
    )
    seed = Path(__file__).parent.parent / "examples" / "seed.yaml"
    for args in (["--help"], ["analyze", "--help"], ["analyze", "-f", str(seed)]):
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
