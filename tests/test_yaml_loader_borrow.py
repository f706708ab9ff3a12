"""A pure-Python PyYAML (the krew release's) borrows libyaml from another PyYAML of its version line on the path.

Each case runs in a child process: it builds a pure copy of PyYAML (the C extension left out, as the release
carries it) and, for the lender, a copy with it, then imports the plugin's YAML loader with both on the path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

SOURCE = Path(yaml.__file__).parent
EXTENSIONS = [p for p in SOURCE.iterdir() if p.name.startswith("_yaml.") and p.suffix in (".so", ".pyd")]

PROBE = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
from kubectl_meshctl.sources import yaml_loader
import yaml
documents = list(yaml.load_all(open(sys.argv[2]).read(), Loader=yaml_loader.YAML_LOADER))
print(json.dumps({"loader": yaml_loader._SAFE_LOADER.__name__, "yaml": yaml.__file__, "documents": documents}))
"""


def _copy(target: Path, *, with_extension: bool, version: str | None = None) -> Path:
    package = target / "yaml"
    shutil.copytree(SOURCE, package, ignore=shutil.ignore_patterns("__pycache__", *([] if with_extension else ["_yaml.*"])))
    if version is not None:
        init = package / "__init__.py"
        init.write_text(init.read_text().replace(f"__version__ = '{yaml.__version__}'", f"__version__ = '{version}'"))
    return target


def _probe(path: list[Path]) -> dict[str, object]:
    sample = REPO / "examples" / "seed.yaml"
    code = [sys.executable, "-S", "-c", PROBE, json.dumps([str(p) for p in path]), str(sample)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # -S: no site-packages, whose PyYAML would lend
    done = subprocess.run(code, capture_output=True, text=True, timeout=60, check=True, env=env, cwd=REPO)
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.skipif(not EXTENSIONS, reason="this PyYAML has no C extension to lend")
def test_a_pure_pyyaml_borrows_libyaml_from_its_version_line(tmp_path: Path) -> None:
    pure = _copy(tmp_path / "pure", with_extension=False)
    alone = _probe([pure])
    assert alone["loader"] == "SafeLoader" and str(alone["yaml"]).startswith(str(pure))
    lender = _copy(tmp_path / "lender", with_extension=True, version=".".join(yaml.__version__.split(".")[:2]))
    helped = _probe([pure, lender])
    assert helped["loader"] == "CSafeLoader" and str(helped["yaml"]).startswith(str(pure))
    assert helped["documents"] == alone["documents"]  # the same objects, read by libyaml


@pytest.mark.skipif(not EXTENSIONS, reason="this PyYAML has no C extension to lend")
@pytest.mark.parametrize("version", ["5.4.1", "7.0", "not a version"])
def test_another_version_line_lends_nothing(version: str, tmp_path: Path) -> None:
    pure = _copy(tmp_path / "pure", with_extension=False)
    other = _copy(tmp_path / "other", with_extension=True, version=version)
    assert _probe([pure, other])["loader"] == "SafeLoader"


@pytest.mark.skipif(not EXTENSIONS, reason="this PyYAML has no C extension to lend")
def test_an_extension_that_does_not_load_lends_nothing(tmp_path: Path) -> None:
    pure = _copy(tmp_path / "pure", with_extension=False)
    broken = _copy(tmp_path / "broken", with_extension=True)
    for extension in (broken / "yaml").glob("_yaml.*"):
        extension.write_bytes(b"not a shared object")
    assert _probe([pure, broken])["loader"] == "SafeLoader"
