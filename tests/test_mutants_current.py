"""Every by-hand mutant in ``scripts/mutate`` still names code that exists, exactly once.

Why: a mutant whose text the code no longer holds is skipped as STALE when the sets are run, so it silently stops
testing anything (four had, before this test); here it fails at once, in the change that moved the code.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SETS = runpy.run_path(str(REPO / "scripts" / "mutate"), run_name="mutate_sets")["SETS"]
MUTANTS = [(name, path, old) for name, (_, mutants) in SETS.items() for path, old, _ in mutants]


@pytest.mark.parametrize(("name", "path", "old"), MUTANTS, ids=[f"{n}:{p}:{i}" for i, (n, p, _) in enumerate(MUTANTS)])
def test_each_mutant_names_code_that_is_there_once(name: str, path: str, old: str) -> None:
    assert (REPO / path).read_text().count(old) == 1, f"{name}: stale mutant in {path}: {old.strip()[:80]!r}"


def test_each_sets_tests_exist() -> None:
    for name, (tests, _) in SETS.items():
        assert tests and all((REPO / t).exists() for t in tests), name
