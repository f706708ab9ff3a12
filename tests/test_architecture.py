"""Layer contracts (as kopf states its own): the core is pure, the shell is the only I/O.

The pure core -- model, parse, translation, coverage, analysis, findings, report -- must not import
click, the Kubernetes client, subprocess/socket/http machinery or the sources/cli modules, and must
not call print/open/exit.  Checked statically on the source (imports and calls), so a violation
fails even on a code path no test executes.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "kubectl_meshctl"
CORE = [
    "resources/model.py",
    "resources/parse.py",
    "istio",
    "envoy",
    "analysis",
    "listing/views.py",
    "gocompat",
    "redact.py",
]
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
FORBIDDEN_LOCAL = {"cli", "sources", "kube", "exitcodes"}
FORBIDDEN_CALLS = {"print", "open", "exit", "quit", "input", "breakpoint"}


def _core_files() -> list[Path]:
    files: list[Path] = []
    for entry in CORE:
        path = PACKAGE / entry
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_module_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] not in FORBIDDEN_IMPORTS, f"{path.name} imports {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                assert (node.module or "").split(".")[0] not in FORBIDDEN_IMPORTS, f"{path.name} imports {node.module}"
            else:
                first = (node.module or "").split(".")[0]
                assert first not in FORBIDDEN_LOCAL, f"{path.name} imports the shell module {node.module}"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in FORBIDDEN_CALLS, f"{path.name} calls {node.func.id}()"


def test_only_cli_exits_or_prints() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "cli" or path.name in ("entry.py", "__main__.py"):  # the shell: entry.py is its fast front door
            continue
        text = path.read_text()
        assert "sys.exit(" not in text, path
        assert "click.echo(" not in text, path


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
