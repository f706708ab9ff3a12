"""What may reach a terminal: secrets redacted, control characters escaped.

Why this module exists: the plugin prints text it did not write -- object names, hosts and file
names from the input, messages of exceptions raised by the Kubernetes client, server URLs from a
kubeconfig.  Two things must never get through: a credential (a bearer token, a password in a
server URL, a client key) and a control character (a newline that splits one error into two or
forges an output line, an escape sequence that recolours or rewrites the terminal).  Both rules
live here, once; ``cli.py`` passes every stderr line through :func:`redact` then :func:`escape`,
and the human outputs (analyze's log lines, the listing tables) quote names with :func:`quote`.

Escaping follows Go's ``strconv.Quote`` (``%q``), which kubectl and istioctl use for names: a string
that Go (and Python: ``str.isprintable``) deems printable is shown unchanged, so ordinary output is
byte-identical; any other string -- one holding a C0 or C1 control character, DEL, ESC, a line or
paragraph separator, a format character such as a bidi override -- is shown double-quoted with
``\\n``, ``\\t``, ``\\x1b``, ``\\u2028``-style escapes.  Free text (error messages, sentences holding
several names) is escaped in place, without the quotes.  kubectl's own table printer only turns
ESC into ``^[`` and CR into ``\\r``; quoting is reversible and keeps every record on one line.

The secret registry is process-wide: the code that loads credentials calls :func:`register` with
each secret (``register(password, user=username)`` also covers its Basic-auth header form).  Only
``re`` is imported, so the module costs nothing on the ``--help`` path.
"""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"

_SHORT = 8  # secrets shorter than this are only redacted as whole words (a 4-letter password inside "passwords")

_secrets: set[str] = set()
_secret_re: re.Pattern[str] | None = None

# patterns as text: ``re`` compiles (and caches) them on the first error printed, not at every start
_PEM_KEY = r"(?s)(-----BEGIN ([A-Z0-9 ]*?)PRIVATE KEY-----).*?(-----END \2PRIVATE KEY-----|\Z)"
_USERINFO = r"\b([A-Za-z][A-Za-z0-9+.\-]*://)[^\s/?#]*@"
# the value after an optional scheme word; a value already redacted stays as it is
_AUTH_HEADER = r"""(?i)(\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?![a-z]+\s+\[REDACTED\])(?:[a-z]+\s+)?)(?!\[REDACTED\])[^\s"',;}\]]+"""
_AUTH_SCHEME = r"(?i:\b(bearer|basic))(\s+)([A-Za-z0-9\-._~+/]+=*)"
_PLAIN_WORD = r"[A-Z]?[a-z]{1,19}"


def register(secret: str | bytes, *, user: str | None = None) -> None:
    """Never print ``secret``: as given, stripped, base64-encoded, and each line of a multi-line one (a PEM key).

    With ``user``, the Basic-auth credential ``base64(user:secret)`` too.  Empty secrets are ignored.
    """
    import base64

    text = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret
    found = {text, text.strip()}
    found.update(line.strip() for line in text.splitlines() if len(line.strip()) >= _SHORT and "-----" not in line)
    if text.strip():
        found.add(base64.b64encode(text.encode()).decode())
        found.add(base64.b64encode(text.strip().encode()).decode())
        if user is not None:
            found.add(base64.b64encode(f"{user}:{text}".encode()).decode())
    new = {s for s in found if s.strip()} - _secrets
    if new:
        _secrets.update(new)
        _rebuild()


def forget_all() -> None:
    """Empty the registry (tests)."""
    _secrets.clear()
    _rebuild()


def _rebuild() -> None:
    global _secret_re
    parts = []
    for s in sorted(_secrets, key=len, reverse=True):  # longest first: a secret containing another goes whole
        escaped = re.escape(s)
        parts.append(escaped if len(s) >= _SHORT else rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])")
    _secret_re = re.compile("|".join(parts)) if parts else None


def _scheme_value(m: re.Match[str]) -> str:
    if re.fullmatch(_PLAIN_WORD, m.group(3)):  # prose ("Basic auth", "Bearer token"), not a credential
        return m.group(0)
    return f"{m.group(1)}{m.group(2)}{REDACTED}"


def redact(text: str) -> str:
    """``text`` with every registered secret, PEM private key block, URL userinfo and Authorization value masked."""
    text = re.sub(_PEM_KEY, rf"\1{REDACTED}\3", text)  # a truncated block: to the end
    if _secret_re is not None:
        text = _secret_re.sub(REDACTED, text)
    text = re.sub(_AUTH_HEADER, rf"\1{REDACTED}", text)
    text = re.sub(_AUTH_SCHEME, _scheme_value, text)
    return re.sub(_USERINFO, rf"\1{REDACTED}@", text)


_NAMED = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _escape_char(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape): Go shows the byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape(text: str) -> str:
    """Free text on one line: every non-printable character escaped in place (``\\n``, ``\\x1b``, ``\\u2028``)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape_char(ch) for ch in text)


def quote(text: str) -> str:
    """A name as a terminal may show it: unchanged when printable, else Go's ``%q`` (quoted, escaped)."""
    if text.isprintable():
        return text
    return '"' + "".join(_quoted_char(ch) for ch in text) + '"'


def _quoted_char(ch: str) -> str:
    if ch in '"\\':
        return "\\" + ch
    return ch if ch.isprintable() else _escape_char(ch)
