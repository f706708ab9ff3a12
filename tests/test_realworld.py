"""The real-world corpus: 58 configuration sets from public repositories nobody here wrote (tests/realworld/,
byte for byte, provenance in its PROVENANCE.md), analysed as a new user would run them.

No set may be rejected (exit 65, an ``Error:`` line about the input) and none may crash.  Every finding is
reviewed: ``tests/realworld/expected/<set>.txt`` holds each finding line exactly as printed (run from the repository
root with the set's path as ``tests/realworld/<set>.yaml``), each followed by a line ``    why: <reason it is true>``
(or ``    FALSE: <why not>``).  A set without an expected file must print no finding at all.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO, TESTS, run_cli

CORPUS = TESTS / "realworld"
SETS = sorted(CORPUS.glob("*.yaml"))
EXPECTED = CORPUS / "expected"
REVIEW = re.compile(r"    (why|FALSE): \S")


def _run_with(name: str) -> list[str]:
    """The extra flags PROVENANCE.md's "run with" column gives a set (kustomize namespaces)."""
    for row in (CORPUS / "PROVENANCE.md").read_text().splitlines():
        if row.startswith(f"| {name} |"):
            flags = row.rstrip(" |").rsplit("|", 1)[1].strip()
            found = re.match(r"`([^`]*)`", flags)
            return [] if found is None or found.group(1) == "-" else found.group(1).split()
    raise AssertionError(f"{name} is not in PROVENANCE.md")


def test_the_corpus_is_complete_and_each_set_has_its_provenance() -> None:
    assert len(SETS) == 58  # 01-57 from the issue, 58 added by this project (PROVENANCE.md says why)
    for path in SETS:
        _run_with(path.name)


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_no_real_world_set_is_rejected(path: Path) -> None:
    result = run_cli(["analyze", *_run_with(path.name), "-f", str(path)])
    assert result.code in (0, 79), result.stderr
    problems = [
        line
        for line in result.stderr.splitlines()
        if line.startswith("Error:") and not line.startswith("Error: Analyzers found issues")
    ]
    assert problems == []
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def _expected(path: Path) -> list[str]:
    """The finding lines of the set's expected file (every one checked to carry a non-empty review line)."""
    file = EXPECTED / f"{path.stem}.txt"
    if not file.exists():
        return []
    lines = file.read_text().splitlines()
    findings = [line for line in lines if not line.startswith("    ")]
    for i, line in enumerate(lines):
        if not line.startswith("    "):
            assert line, f"{file.name}:{i + 1}: empty line"
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            assert REVIEW.match(nxt), f"{file.name}:{i + 2}: finding without a 'why:' / 'FALSE:' line"
    return findings


def test_every_expected_file_belongs_to_a_set() -> None:
    assert {f.name for f in EXPECTED.iterdir()} <= {f"{p.stem}.txt" for p in SETS}


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_real_world_findings_are_the_reviewed_ones(path: Path) -> None:
    args = ["analyze", *_run_with(path.name), "-f", f"tests/realworld/{path.name}"]
    result = run_cli(args, cwd=REPO)
    assert result.code in (0, 79), result.stderr
    printed = [line for line in result.stdout.splitlines() if line.strip()]
    assert printed == _expected(path)
