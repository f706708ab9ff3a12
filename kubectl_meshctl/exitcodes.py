"""The plugin's exit codes: one enum, documented in the README and in ``--help``.

Why this module exists: CI pipelines branch on these numbers, so they are fixed in one place
(values follow istioctl and BSD sysexits where those define one) and only ``cli.py`` uses them.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    DRIFT = 3
    TEST_FAILED = 4
    USAGE = 64
    DATA = 65
    NOT_FOUND = 66
    UNAVAILABLE = 69
    TEMPFAIL = 75
    NOPERM = 77
    FINDINGS = 79


MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success; findings below --failure-threshold do not change it",
    ExitCode.ERROR: "unexpected error (run again with --debug and report it)",
    ExitCode.DRIFT: "routes --diff: the proxy's routes differ from the prediction",
    ExitCode.TEST_FAILED: "test: a route test failed or was not modelled (see --allow-not-modelled), or coverage is below --fail-under",
    ExitCode.USAGE: "bad flags, arguments or kubeconfig (EX_USAGE)",
    ExitCode.DATA: "some input could not be parsed or has an unknown kind; the rest was still analysed (EX_DATAERR)",
    ExitCode.NOT_FOUND: "the named object does not exist (EX_NOINPUT)",
    ExitCode.UNAVAILABLE: "the API server, or the Istio or Gateway API CRDs a command needs, could not be reached, or answered malformed data (EX_UNAVAILABLE)",
    ExitCode.TEMPFAIL: "a request, or the run's requests, outlived --request-timeout (EX_TEMPFAIL)",
    ExitCode.NOPERM: "credentials refused or RBAC denied a read (EX_NOPERM)",
    ExitCode.FINDINGS: "a finding reached --failure-threshold, in every output format (istioctl: only with -o log)",
}


def describe_exit_codes() -> str:
    """The table shown in ``--help`` and copied into the README."""
    return "\n".join(f"{int(c):>3}  {MEANINGS[c]}" for c in ExitCode)
