"""Turning findings into what istioctl prints: order, de-duplication, suppression, log/JSON/YAML.

Why this module exists: byte-compatibility with ``istioctl analyze`` output is a feature; the
rules for it (spec/analysis.md A6) live here as pure string-building functions, so the CLI only
chooses a format and writes the result.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping

from ..records import record
from ..redact import escape, quote
from ..resources.kinds import KINDS
from ..resources.model import ObjectMeta, Snapshot
from .findings import CODES, Finding, Level

SUPPRESS_ANNOTATION = "galley.istio.io/analyze-suppress"


@record
class Suppression:
    code: str
    pattern: str

    @classmethod
    def parse(cls, text: str) -> Suppression:
        if text.count("=") != 1:
            raise ValueError(f"{text} is not a valid suppression value. See kubectl meshctl analyze --help")
        code, pattern = text.split("=")
        return cls(code.strip(), pattern.strip())

    @property
    def known(self) -> bool:
        return self.code in CODES

    def applies(self, f: Finding) -> bool:
        return f.code == self.code and fnmatch.fnmatchcase(f.origin_text, self.pattern)


def annotation_suppressions(snapshot: Snapshot) -> dict[tuple[str, str, str], frozenset[str]]:
    """(kind, namespace, name) -> codes suppressed by ``galley.istio.io/analyze-suppress``, for the suppressible kinds."""
    out: dict[tuple[str, str, str], frozenset[str]] = {}
    for kind in KINDS:
        if not kind.suppressible:
            continue
        for obj in getattr(snapshot, kind.snapshot_field):
            meta: ObjectMeta = obj.meta
            value = meta.annotation(SUPPRESS_ANNOTATION)
            if value:
                out[(meta.kind, meta.namespace, meta.name)] = frozenset(value.split(","))
    return out


def suppress(
    findings: Iterable[Finding],
    rules: Iterable[Suppression],
    annotations: Mapping[tuple[str, str, str], frozenset[str]],
) -> list[Finding]:
    rule_list = list(rules)
    kept = []
    for f in findings:
        codes = annotations.get((f.kind, f.namespace, f.name))
        if codes is not None and ("*" in codes or f.code in codes):
            continue
        if any(r.applies(f) for r in rule_list):
            continue
        kept.append(f)
    return kept


def _istioctl_line(f: Finding) -> str:
    """The line istioctl prints, level word aside (names as they are)."""
    ref = f.reference
    origin = f"{f.origin_text} {ref}" if ref else f.origin_text
    return f"[{f.code}] ({origin}) {f.message}"


def log_line(f: Finding, *, color: bool = False) -> str:
    """istioctl's line, safe for a terminal: a name, namespace or file name holding a control character is quoted
    (``redact.quote``, Go's ``%q``) and the message escaped in place, so a finding is always one line."""
    level = f.level.word
    if color and f.level is Level.ERROR:
        level = f"\x1b[1;31m{level}\x1b[0m"
    elif color and f.level is Level.WARNING:
        level = f"\x1b[33m{level}\x1b[0m"
    text = _istioctl_line(f)
    if not text.isprintable():
        origin = f"{quote(f.kind)} {quote(f.namespace)}/{quote(f.name)}" if f.namespace else f"{quote(f.kind)} {quote(f.name)}"
        ref = f.reference
        text = f"[{f.code}] ({origin} {quote(ref)}) {escape(f.message)}" if ref else f"[{f.code}] ({origin}) {escape(f.message)}"
    return f"{level} {text}"


def arrange(findings: Iterable[Finding]) -> list[Finding]:
    """istioctl's order (level, code, origin, message), then identical log lines removed."""
    out: list[Finding] = []
    seen: set[str] = set()
    for f in sorted(findings, key=Finding.sort_key):
        text = f"{f.level.word} {_istioctl_line(f)}"
        if text not in seen:
            seen.add(text)
            out.append(f)
    return out


def _as_dict(f: Finding) -> dict[str, object]:
    d: dict[str, object] = {
        "code": f.code,
        "documentationUrl": f.documentation_url,
        "level": f.level.word,
        "message": f.message,
        "origin": f.origin_text,
    }
    if f.reference:
        d["reference"] = f.reference
    if f.witness is not None:
        d["witness"] = f.witness.as_dict()
    return d


def witness_line(f: Finding) -> str | None:
    """``--explain``'s line under a finding with a witness: ``  witness: curl -X GET 'http://h/p' -> taken by ...``
    (for ``tcp``/``tls``: ``  witness: openssl s_client -connect "$GATEWAY:443" -servername 'h' -> taken by ...``)."""
    if f.witness is None:
        return None
    text = f"witness: {f.witness.command()} -> taken by {f.witness.taken_by}"
    return f"  {text if text.isprintable() else escape(text)}"


def render_log(findings: list[Finding], *, color: bool = False, explain: bool = False) -> str:
    """istioctl's ``fmt.Fprintln`` of the joined lines (so a single newline when there is nothing); ``explain``: each
    finding with a witness followed by its :func:`witness_line`."""
    lines: list[str] = []
    for f in findings:
        lines.append(log_line(f, color=color))
        extra = witness_line(f) if explain else None
        if extra is not None:
            lines.append(extra)
    return "\n".join(lines) + "\n"


def render_json(findings: list[Finding]) -> str:
    text = json.dumps([_as_dict(f) for f in findings], indent="\t", ensure_ascii=False)
    # Go's encoding/json escapes these (HTML safety); istioctl's output carries the escapes.
    for ch, esc in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text + "\n"


def render_yaml(findings: list[Finding]) -> str:
    if not findings:
        return "[]\n\n"
    import yaml  # only for -o yaml: the listings and the log lines need it not (7 ms of every run's start)

    body = yaml.safe_dump([_as_dict(f) for f in findings], sort_keys=True, allow_unicode=True, width=1 << 30)
    return body + "\n"
