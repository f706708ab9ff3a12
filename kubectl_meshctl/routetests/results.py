"""What a route test run reports, whatever the test file's format.

Why this module exists: the two formats (:mod:`.router_check`, :mod:`.validator`) differ in what they assert,
but the command renders, counts and exits on one shape.  A case is ``pass``, ``fail`` or ``not_modelled`` --
the last when the answer depends on something the model does not cover (it is said, never guessed).
"""

from __future__ import annotations

from typing import Literal

from ..records import record

Verdict = Literal["pass", "fail", "not_modelled"]


@record
class Check:
    """One compared field: ``expected: [..], actual: [..], test type: <field>`` in router_check's words."""

    field: str
    expected: str
    actual: str
    passed: bool
    line: str = ""
    """The failure line exactly as the upstream tool prints it (empty: built from the three fields)."""


@record
class CaseResult:
    name: str
    origin: str
    """``file:line`` of the case (or ``file`` alone)."""
    verdict: Verdict
    request: str
    """The request as one line: ``GET http://example.com/users``."""
    checks: tuple[Check, ...] = ()
    not_modelled: tuple[str, ...] = ()
    """Why the verdict could not be decided (``not_modelled`` only)."""
    route: str = ""
    """The route that took the request as the model sees it (``vs-gateway rule #0 match #1`` / a route name), or ``""``."""
