"""Golden cases: one directory per case with input.yaml, expected.log and optionally expected.json / args.

``golden-istio/`` holds upstream inputs whose upstream-asserted findings are re-checked below;
``golden/`` holds the project's own rules (each README says why every line is true).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SHARED, TESTS, run_cli

CASES = sorted(p for root in ("golden-istio", "golden") for p in (TESTS / root).glob("*/") if (p / "expected.log").exists())


def _args(case: Path) -> list[str]:
    extra = case / "args"
    return extra.read_text().split() if extra.exists() else ["analyze", "-f", "input.yaml"]


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_log_output(case: Path) -> None:
    result = run_cli(_args(case), cwd=case)
    assert "Traceback" not in result.stderr
    assert result.stdout == (case / "expected.log").read_text()


@pytest.mark.parametrize("case", [c for c in CASES if (c / "expected.json").exists()], ids=lambda p: p.name)
def test_json_output(case: Path) -> None:
    result = run_cli([*_args(case), "-o", "json"], cwd=case)
    assert result.stdout == (case / "expected.json").read_text()


def test_upstream_assertions_are_in_goldens() -> None:
    expected = SHARED / "testdata" / "EXPECTED-ANALYZE.md"
    if not expected.exists():
        pytest.skip("shared/testdata not available")
    text = expected.read_text()
    for case, header in (
        ("dupmatches", "virtualservice_dupmatches.yaml`\n"),
        ("overlappingmatches", "virtualservice_overlappingmatches.yaml` (prefix"),
    ):
        section = text[text.index(header) :]
        section = section[: section.index("\n#")]
        rows = re.findall(r"\| (IST\d+) \| VirtualService (\S+) \| yes \| `(.*)` \|", section)
        assert rows, case
        log = (TESTS / "golden-istio" / case / "expected.log").read_text().splitlines()
        for code, origin, message in rows:
            origin = origin if "/" in origin else f"default/{origin}"
            wanted = f"[{code}] (VirtualService {origin} "
            assert any(wanted in line and line.endswith(message) for line in log), (case, code, origin)


KIALI = sorted((TESTS / "testdata" / "kiali").glob("*.yaml"))
LOG_LINE = re.compile(r"^(Error|Warning|Info) \[(IST|MSH)\d{4}\] \((\w+) [\w.-]+/[\w.-]+ [\w.-]+\.yaml:\d+\) .+$")


@pytest.mark.parametrize("path", KIALI, ids=lambda p: p.name)
def test_kiali_fixtures_do_not_crash(path: Path) -> None:
    result = run_cli(["analyze", "-f", path.name], cwd=path.parent)
    assert result.code in (0, 79), result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    for line in result.stdout.splitlines():
        assert line == "" or LOG_LINE.match(line), line
