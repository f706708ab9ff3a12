"""Analysis: every finding the plugin reports, as a pure function of a snapshot.

Why this package exists: it is the functional core of ``analyze`` -- Istio parity checks
(``istio_rules``, ``references``) and the project's own reachability rules (``reachability``),
all computed from one :class:`~kubectl_meshctl.resources.model.Snapshot` through one model of istiod,
run in the order ``analyzers.ANALYZERS`` registers them.  Nothing here reads files, talks to a cluster,
prints or exits.  Importing the package is cheap (the listings need only ``findings``); the rules load
when :func:`analyze` first runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..resources.model import Snapshot
    from .findings import Finding


def analyze(snapshot: Snapshot, *, witnesses: bool = True) -> list[Finding]:
    """All findings for ``snapshot``, unsorted (see :func:`kubectl_meshctl.analysis.report.arrange`); without their
    witnesses when ``witnesses`` is False (the listings: the same findings and messages, a tenth faster)."""
    from .analyzers import run_analyzers

    return run_analyzers(snapshot, witnesses=witnesses)
