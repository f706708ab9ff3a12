"""Findings: the one result type every analyzer returns, and the catalogue of codes.

Why this module exists: Istio's codes (ISTxxxx) must keep Istio's exact levels and message
templates, the project's own codes (MSHxxxx) have their own; both are defined here once so that
analyzers only pick a code and fill in arguments, and renderers never guess a level or a URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ..records import record
from .levels import Level as Level  # re-exported: the analyzers and renderers take it from here

if TYPE_CHECKING:
    from ..resources.model import ObjectMeta, Origin

ISTIO_DOCS_VERSION = "1.24"
PROJECT_CODES_URL = "https://github.com/kubectl-meshctl/kubectl-meshctl/blob/main/docs/codes.md"


@record
class Code:
    code: str
    name: str
    level: Level
    template: str


_CATALOGUE = (
    Code("IST0101", "ReferencedResourceNotFound", Level.ERROR, "Referenced {} not found: {}"),
    Code(
        "IST0109",
        "ConflictingMeshGatewayVirtualServiceHosts",
        Level.ERROR,
        "The VirtualServices {} associated with mesh gateway define the same host {} which can lead to undefined"
        " behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.",
    ),
    Code(
        "IST0112",
        "VirtualServiceDestinationPortSelectorRequired",
        Level.ERROR,
        "This VirtualService routes to a service {} that exposes multiple ports {}. Specifying a port in the"
        " destination is required to disambiguate.",
    ),
    Code(
        "IST0140",
        "IngressRouteRulesNotAffected",
        Level.WARNING,
        "Subset in virtual service {} has no effect on ingress gateway {} requests",
    ),
    Code("IST0130", "VirtualServiceUnreachableRule", Level.WARNING, "VirtualService rule {} not used ({})."),
    Code(
        "IST0131",
        "VirtualServiceIneffectiveMatch",
        Level.INFO,
        "VirtualService rule {} match {} is not used (duplicate/overlapping match in rule {}).",
    ),
    Code(
        "IST0132",
        "VirtualServiceHostNotFoundInGateway",
        Level.WARNING,
        "one or more host {} defined in VirtualService {} not found in Gateway {}.",
    ),
    Code(
        "IST0145",
        "ConflictingGateways",
        Level.ERROR,
        "Conflict with gateways {} (workload selector {}, port {}, hosts {}).",
    ),
    Code(
        "IST0162",
        "GatewayPortNotDefinedOnService",
        Level.WARNING,
        "The gateway is listening on a target port (port {}) that is not defined in the Service associated with"
        " its workload instances (Pod selector {}). If you need to access the gateway port through the gateway"
        " Service, it will not be available.",
    ),
    Code(
        "IST0165",
        "ReferencedInternalGateway",
        Level.WARNING,
        "Gateway reference in VirtualService {} is to an implementation-generated internal Gateway: {}.",
    ),
    Code(
        "MSH0101",
        "UnreachableRule",
        Level.WARNING,
        "VirtualService rule {} is never reached: every request it matches is taken first by {}.",
    ),
    Code(
        "MSH0102",
        "UnreachableMatch",
        Level.INFO,
        "VirtualService rule {} match {} is never reached: every request it matches is taken first by {}.",
    ),
    Code(
        "MSH0103",
        "MatchAppliesToNoGateway",
        Level.WARNING,
        "VirtualService rule {} match {} applies to none of the VirtualService's gateways ({}).",
    ),
    Code(
        "MSH0104",
        "TLSMatchDroppedForRepeatedSNI",
        Level.WARNING,
        "VirtualService rule {} match {} is dropped at every gateway it applies to: its SNI host {} is already taken"
        " by {} on the same port, and istiod drops a TLS match that repeats an SNI host.",
    ),
    Code(
        "MSH0201",
        "GatewayServerWithoutRoutes",
        Level.INFO,
        "Gateway {} server port {} has no VirtualService bound: requests to hosts {} get 404.",
    ),
    Code(
        "MSH0206",
        "GatewayServerNeverServed",
        Level.WARNING,
        "Gateway {} server port {} is never served at the gateway pods it applies to: {}.",
    ),
    Code(
        "MSH0202",
        "VirtualServiceHiddenFromGateway",
        Level.WARNING,
        "VirtualService {} is bound to gateway {} but exportTo {} hides it from the gateway pods in namespace {}.",
    ),
    Code(
        "MSH0203",
        "VirtualServiceUnusedAtSidecars",
        Level.WARNING,
        "VirtualService {} is never used at sidecars: every sidecar that sees it gets VirtualService {} first for all"
        " its hosts {}, and istiod uses one VirtualService per host at sidecars.",
    ),
    Code(
        "MSH0204",
        "TLSCredentialWithoutMode",
        Level.WARNING,
        "Gateway {} server port {} ({}) names TLS credential {} but no TLS mode: istiod passes TLS through"
        " (PASSTHROUGH is the default mode), so the credential is not used and no HTTP route is served there.",
    ),
    Code(
        "MSH0205",
        "HTTPRulesWithoutHTTPServer",
        Level.WARNING,
        "VirtualService {} has http rules, but no server of its gateways is built from http rules ({}): istiod sends"
        " none of them.",
    ),
    Code(
        "MSH0301",
        "DelegateNotFound",
        Level.WARNING,
        "VirtualService rule {} delegates to VirtualService {}, {}: istiod drops the rule.",
    ),
    Code(
        "MSH0302",
        "DelegateNotExported",
        Level.WARNING,
        "VirtualService rule {} delegates to VirtualService {}, whose exportTo {} hides it from namespace {}: istiod"
        " drops the rule.",
    ),
    Code(
        "MSH0303",
        "DelegateRuleOutsideRoot",
        Level.WARNING,
        "VirtualService rule {} is left out where VirtualService {} rule {} delegates to it: its match {} lies within"
        " none of the root rule's matches ({}).",
    ),
    Code(
        "MSH0401",
        "RouteRuleUnreachable",
        Level.WARNING,
        "{} rule {} is never reached: every request it matches is taken first by {}, ordered first by {}.",
    ),
    Code(
        "MSH0402",
        "RouteMatchUnreachable",
        Level.INFO,
        "{} rule {} match {} is never reached: every request it matches is taken first by {}, ordered first by {}.",
    ),
    Code(
        "MSH0403",
        "RegexMatchBehindPrefix",
        Level.WARNING,
        "{} rule {} match {} (regex {}) is never reached: istiod orders every Exact and PathPrefix match before regular"
        " expressions, and {} takes every request it matches.",
    ),
    Code(
        "MSH0404",
        "ParentRefNotAttached",
        Level.WARNING,
        "{} parentRef {} ({}) attaches to no listener: {} ({}).",
    ),
    Code(
        "MSH0405",
        "ConflictingListeners",
        Level.WARNING,
        "Gateway listener {} conflicts with listener {} on port {}: {} ({}).",
    ),
    Code(
        "MSH0406",
        "BackendRefNotPermitted",
        Level.WARNING,
        "{} rule {} backendRef {} refers to {} in another namespace, and no ReferenceGrant in namespace {} lets {}s of"
        " namespace {} refer to it: istiod refuses the reference, and {} (routed to no backend).",
    ),
    Code(
        "MSH0407",
        "VirtualServiceSharesRouteHost",
        Level.WARNING,
        "This {} and {} both route host {} at route configuration {}: istiod merges them into one virtual host where"
        " Envoy tries {}'s routes first, and Istio's route precedence does not reorder across them.",
    ),
)

CODES: dict[str, Code] = {c.code: c for c in _CATALOGUE}


@record
class Witness:
    """A concrete HTTP request the finding's dead rule (or match) accepts, and the route that takes it instead."""

    method: str
    url: str
    """``scheme://host/path?query`` as sent (the Host header is the URL's host)."""
    headers: tuple[tuple[str, str], ...]
    taken_by: str
    """The route that takes it, as the finding's message names it."""

    def curl(self) -> str:
        """``curl -X GET 'http://host/path' -H 'name: value'`` (POSIX shell single quotes)."""
        parts = [f"curl -X {self.method} {shell_quote(self.url)}"]
        parts += [f"-H {shell_quote(f'{name}: {value}')}" for name, value in self.headers]
        return " ".join(parts)

    def command(self) -> str:
        return self.curl()

    def as_dict(self) -> dict[str, object]:
        return {"headers": dict(self.headers), "method": self.method, "takenBy": self.taken_by, "url": self.url}


@record
class ConnectionWitness:
    """A concrete connection a dead ``tcp``/``tls`` rule (or match) would take, and the rule that gets it instead.

    Why not a :class:`Witness`: at a gateway ``tcp`` and ``tls`` rules are listener filter chains, chosen by the
    port a client connects to and (``tls``) the SNI of its ClientHello; there is no request to send, and no name
    that reaches the gateway (as a URL's host does), so :meth:`command` connects to ``$GATEWAY``, the gateway's
    address, for the user to set.
    """

    protocol: Literal["tcp", "tls"]
    """``tcp``: a plain TCP connection; ``tls``: a TLS ClientHello (passed through, never terminated)."""
    port: int
    """The Gateway server's port (the port the gateway's Service exposes, which istiod maps to the listener)."""
    sni: str
    """``tls``: the server name sent; ``""`` for ``tcp``."""
    taken_by: str
    """The rule (and match) whose filter chain gets it, as the finding's message names it."""

    def command(self) -> str:
        """``openssl s_client -connect "$GATEWAY:443" -servername 'a.example.com'`` / ``nc "$GATEWAY" 31400``."""
        if self.protocol == "tls":
            return f'openssl s_client -connect "$GATEWAY:{self.port}" -servername {shell_quote(self.sni)}'
        return f'nc "$GATEWAY" {self.port}'

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"port": self.port, "protocol": self.protocol, "takenBy": self.taken_by}
        if self.protocol == "tls":
            out["sni"] = self.sni
        return out


AnyWitness = Witness | ConnectionWitness


def shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


@record
class Finding:
    code: str
    level: Level
    message: str
    kind: str
    namespace: str
    name: str
    origin: Origin | None = None
    field: str = ""
    """Dotted field path (``spec.gateways[0]``) whose line the reference should show; ``""`` = the document's first line."""
    line: int | None = None
    """Resolved by the shell from ``field`` for file inputs; ``None`` until then."""
    witness: AnyWitness | None = None
    """MSH0101/MSH0102/MSH0104, MSH0401-MSH0403, IST0130/IST0131 when proven: a request (or, for ``tcp``/``tls``, a
    connection) the dead rule or match accepts and the route that takes it instead (when one was built)."""

    @property
    def origin_text(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    @property
    def reference(self) -> str | None:
        if self.origin is None or self.origin.cluster:
            return None
        line = self.line if self.line is not None else self.origin.line
        return self.origin.source if line is None else f"{self.origin.source}:{line}"

    @property
    def documentation_url(self) -> str:
        if self.code.startswith("MSH"):
            return f"{PROJECT_CODES_URL}#{self.code.lower()}"
        return f"https://istio.io/v{ISTIO_DOCS_VERSION}/docs/reference/config/analysis/{self.code.lower()}/?ref=istioctl-analyze"

    def sort_key(self) -> tuple[int, str, str, str, str, str]:
        # istioctl: level (Error first), code, origin as Kind/name/namespace, then the message string.
        return (-int(self.level), self.code, self.kind, self.name, self.namespace, self.message)


def finding(code: str, meta: ObjectMeta, *args: object, field: str = "", witness: AnyWitness | None = None) -> Finding:
    spec = CODES[code]
    return Finding(
        code=code,
        level=spec.level,
        message=spec.template.format(*args),
        kind=meta.kind,
        namespace=meta.namespace,
        name=meta.name,
        origin=meta.origin,
        field=field,
        witness=witness,
    )


def go_quote(text: str) -> str:
    """Go's ``%q`` (strconv.Quote) for the strings Istio quotes in messages."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\v":
            out.append("\\v")
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def go_list(items: object) -> str:
    """Go's ``%v`` of a slice: ``[a b]``."""
    return "[" + " ".join(str(i) for i in items) + "]"  # type: ignore[attr-defined]


def rule_label(name: str, index: int) -> str:
    """Istio's rule/match naming: the quoted name, or ``#<index>``."""
    return go_quote(name) if name else f"#{index}"
