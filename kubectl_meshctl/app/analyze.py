"""``analyze``: files and/or the cluster read into one snapshot, analysed, findings filtered and placed.

Why this module exists: which inputs to read (files, the cluster, both with files winning), which findings
count (suppressions, the namespace istioctl limits them to, the thresholds) and what the run means for its
exit code are decisions about the domain, not about flags; the shell only renders the outcome.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..records import record
from ..resources.kinds import GATEWAY_API_KINDS, LISTED_KINDS
from .cluster_access import KubeOptions, connect, start_cluster_read

if TYPE_CHECKING:
    from ..analysis.findings import Finding, Level
    from ..analysis.report import Suppression
    from ..sources.result import InputError, ReadResult


@record
class AnalyzeRequest:
    files: tuple[str, ...]
    suppressions: tuple[Suppression, ...]
    failure_threshold: Level
    output_threshold: Level
    ignore_unknown: bool
    use_kube: bool | None
    """None: read the cluster only when no file is given."""
    kube: KubeOptions
    witnesses: bool = True
    """Prove each dead rule with a request (shown by --explain, -o json and -o yaml); the findings are the same without."""


@record
class AnalyzeOutcome:
    shown: tuple[Finding, ...]
    """The findings at --output-threshold or above, in istioctl's order, each with its field's line."""
    failed: bool
    """A finding reached --failure-threshold."""
    errors: tuple[InputError, ...]
    """Inputs that could not be read (they make the run exit 65 unless findings failed it)."""
    warnings: tuple[InputError, ...]
    notes: tuple[str, ...]
    target: str
    """What istioctl names in its summary: ``namespace: NS`` or ``all namespaces``."""
    files: tuple[str, ...]
    """The file arguments named in the success line (none when the cluster was read)."""


def analyze(request: AnalyzeRequest) -> AnalyzeOutcome:
    files = request.files
    use_kube = request.use_kube if request.use_kube is not None else not files
    notes: tuple[str, ...] = ()
    cluster: ReadResult | None = None
    finish_reading = None
    if use_kube:
        conn = connect(request.kube)
        namespace = conn.namespace
        finish_reading = start_cluster_read(
            conn, all_namespaces=request.kube.all_namespaces, kinds=LISTED_KINDS, optional=GATEWAY_API_KINDS
        )  # HTTPRoutes too, where the cluster serves the Gateway API
    else:
        namespace = request.kube.namespace or "default"
    # imported while the lists arrive
    from ..analysis import analyze as run_analysis
    from ..analysis.report import annotation_suppressions, arrange, suppress
    from ..gcpause import keep
    from ..sources.snapshot import overlay

    if finish_reading is not None:
        read = finish_reading()
        cluster, notes = read.result, read.notes
    from_files = None
    if files:
        from ..sources.files import FileSource  # PyYAML with it: not for a cluster alone

        from_files = FileSource(list(files), default_namespace=namespace).read()
    if cluster is not None and from_files is not None:  # as istioctl: the files win over the cluster's objects
        snapshot = overlay(cluster.snapshot, from_files.snapshot)
        all_errors = [*cluster.errors, *from_files.errors]
    else:
        only = cluster if cluster is not None else from_files
        assert only is not None
        snapshot, all_errors = only.snapshot, list(only.errors)
    keep(cluster)  # freed by the OS when the command ends, not object by object on return
    keep(from_files)
    lines_from = from_files if from_files is not None else cluster
    assert lines_from is not None
    errors = tuple(e for e in all_errors if not (request.ignore_unknown and e.unknown_kind))
    findings = suppress(
        run_analysis(snapshot, witnesses=request.witnesses), list(request.suppressions), annotation_suppressions(snapshot)
    )
    if use_kube and not request.kube.all_namespaces:
        # as istioctl: findings on resources outside the selected namespace are dropped unless -A
        findings = [f for f in findings if f.namespace in (namespace, "")]
    findings = arrange(findings)
    shown = []
    for f in findings:
        if f.level >= request.output_threshold:
            if f.field and f.origin is not None and f.origin.line is not None:
                f = replace(f, line=lines_from.field_line(f.origin, f.field))
            shown.append(f)
    return AnalyzeOutcome(
        shown=tuple(shown),
        failed=any(f.level >= request.failure_threshold for f in findings),
        errors=errors,
        warnings=tuple(lines_from.warnings),
        notes=(*notes, *(from_files.notes if from_files is not None else ())),
        target="all namespaces" if request.kube.all_namespaces else f"namespace: {namespace}",
        files=() if use_kube else files,
    )


def success_lines(outcome: AnalyzeOutcome) -> list[str]:
    """istioctl's summary when nothing is shown."""
    target, files = outcome.target, outcome.files
    if outcome.errors:
        return [f"No validation issues found when analyzing {target} (but {len(outcome.errors)} file(s) could not be parsed)."]
    if not files:
        return [f"\u2714 No validation issues found when analyzing {target}."]
    if len(files) == 1:
        return [f"\u2714 No validation issues found when analyzing {files[0]}."]
    return ["\u2714 No validation issues found when analyzing:", *(f"  - {f}" for f in files)]


def failure_lines(outcome: AnalyzeOutcome, *, docs: str) -> list[str]:
    return [
        f"Error: Analyzers found issues when analyzing {outcome.target}.",
        f"See {docs} for more information about causes and resolutions.",
    ]
