"""Docs tied to the code: the README's exit-code table and the codes documented in docs/codes.md."""

from __future__ import annotations

import re
from pathlib import Path

from kubectl_meshctl.analysis.findings import CODES
from kubectl_meshctl.exitcodes import MEANINGS

REPO = Path(__file__).parent.parent


def test_readme_exit_codes_match_the_enum() -> None:
    readme = (REPO / "README.md").read_text()
    rows = dict(re.findall(r"^\| (\d+) \| (.+) \|$", readme, flags=re.MULTILINE))
    assert {int(k): v for k, v in rows.items()} == {int(c): m for c, m in MEANINGS.items()}


def test_every_code_is_documented() -> None:
    doc = (REPO / "docs" / "codes.md").read_text()
    headings = set(re.findall(r"^## (\w+\d{4})", doc, flags=re.MULTILINE))
    assert set(CODES) <= headings
    for code, spec in CODES.items():
        section = doc.split(f"## {code}", 1)[1].split("\n## ", 1)[0]
        assert spec.level.word in section, code


def test_fast_root_help_is_what_click_renders() -> None:
    import runpy

    from kubectl_meshctl._help import ROOT_HELP

    render = runpy.run_path(str(REPO / "scripts" / "render-help"), run_name="render_help")["render"]
    assert render() == ROOT_HELP, "the root help changed: run scripts/render-help"


def test_entry_point_fast_paths() -> None:
    import subprocess
    import sys

    code = "import sys; sys.argv[1:] = {args!r}\nfrom kubectl_meshctl.entry import main\ntry:\n    main()\nexcept SystemExit:\n    pass\nassert 'click' not in sys.modules"
    for args in (["--help"], ["--version"]):
        done = subprocess.run([sys.executable, "-c", code.format(args=args)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    assert (
        "Usage: kubectl meshctl"
        in subprocess.run([sys.executable, "-m", "kubectl_meshctl", "--help"], capture_output=True, text=True, check=False).stdout
    )
