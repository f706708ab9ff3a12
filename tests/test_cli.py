"""The analyze command end to end: formats, thresholds, suppression, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_cli
from manifests import gateway, shadowed_pair, to_list_json, to_yaml

from kubectl_meshctl.exitcodes import ExitCode

SEED = REPO / "examples" / "seed.yaml"
SEED_IST0130 = "Warning [IST0130] (VirtualService default/vs-gateway {}:17) VirtualService rule #1 not used (all matches used by prior rules)."

SHADOWED = to_yaml(gateway(), shadowed_pair())


def test_seed_log_matches_istioctl() -> None:
    result = run_cli(["analyze", "-f", str(SEED)])
    assert result.code == ExitCode.OK
    assert result.stdout.splitlines()[0] == SEED_IST0130.format(SEED)
    assert result.stderr == ""


def test_failure_threshold_gives_79_in_every_format() -> None:
    for fmt in ("log", "json", "yaml"):
        result = run_cli(["analyze", "-f", str(SEED), "--failure-threshold", "Warning", "-o", fmt])
        assert result.code == ExitCode.FINDINGS, fmt
        assert "Analyzers found issues when analyzing namespace: default." in result.stderr


def test_output_threshold_filters_but_failure_uses_all() -> None:
    result = run_cli(["analyze", "-f", str(SEED), "--output-threshold", "Error", "--failure-threshold", "Warning"])
    assert result.stdout == "\n"
    assert result.code == ExitCode.FINDINGS


def test_json_and_yaml_carry_the_same_findings() -> None:
    as_json = json.loads(run_cli(["analyze", "-f", str(SEED), "-o", "json"]).stdout)
    as_yaml = yaml.safe_load(run_cli(["analyze", "-f", str(SEED), "-o", "yaml"]).stdout)
    assert as_json == as_yaml
    assert [f["code"] for f in as_json] == ["IST0130", "IST0131"]
    assert as_json[0]["reference"] == f"{SEED}:17"


def test_project_rule_and_documentation_url(tmp_path: Path) -> None:
    (tmp_path / "vs.yaml").write_text(SHADOWED)
    result = run_cli(["analyze", "-f", "vs.yaml", "-o", "json"], cwd=tmp_path)
    found = json.loads(result.stdout)
    assert [f["code"] for f in found] == ["MSH0101"]
    assert found[0]["message"] == (
        "VirtualService rule #1 is never reached: every request it matches is taken first by rule #0 match #0 (prefix /api)."
    )
    assert found[0]["documentationUrl"].endswith("docs/codes.md#msh0101")


def test_suppress_flag_and_annotation(tmp_path: Path) -> None:
    (tmp_path / "vs.yaml").write_text(SHADOWED)
    flag = run_cli(["analyze", "-f", "vs.yaml", "-S", "MSH0101=VirtualService default/*"], cwd=tmp_path)
    assert flag.stdout == "\n"
    assert "No validation issues found when analyzing vs.yaml." in flag.stderr
    annotated = shadowed_pair()
    annotated["metadata"]["annotations"] = {"galley.istio.io/analyze-suppress": "MSH0101"}
    (tmp_path / "vs.yaml").write_text(to_yaml(gateway(), annotated))
    assert run_cli(["analyze", "-f", "vs.yaml"], cwd=tmp_path).stdout == "\n"


def test_bad_suppression_is_a_usage_error() -> None:
    result = run_cli(["analyze", "-f", str(SEED), "-S", "IST0130"])
    assert result.code == ExitCode.USAGE
    assert "is not a valid suppression value" in result.stderr


def test_unknown_suppression_code_warns() -> None:
    result = run_cli(["analyze", "-f", str(SEED), "-S", "XYZ0001=*"])
    assert "Supplied message code 'XYZ0001' is an unknown message code" in result.stderr


def test_namespace_flag_fills_missing_namespaces(tmp_path: Path) -> None:
    (tmp_path / "vs.yaml").write_text(to_yaml(gateway(namespace=None), shadowed_pair(namespace=None)))
    result = run_cli(["analyze", "-n", "shop", "-f", "vs.yaml"], cwd=tmp_path)
    assert "(VirtualService shop/vs vs.yaml:" in result.stdout


def test_usage_errors_exit_64() -> None:
    assert run_cli(["analyze"]).code == ExitCode.USAGE
    assert run_cli(["analyze", "-f", str(SEED), "-o", "xml"]).code == ExitCode.USAGE
    assert run_cli(["nosuchcommand"]).code == ExitCode.USAGE
    assert run_cli(["analyze", "-f", str(SEED), "--failure-threshold", "Fatal"]).code == ExitCode.USAGE


def test_version_and_help() -> None:
    from kubectl_meshctl import __version__

    assert run_cli(["--version"]).stdout.strip() == f"kubectl-meshctl {__version__}"
    helped = run_cli(["analyze", "--help"])
    assert helped.code == 0
    assert "--failure-threshold" in helped.stdout and "79" in helped.stdout


def test_listing_commands_and_their_aliases_share_one_command() -> None:
    from kubectl_meshctl.cli.root import COMMANDS

    for name, alias in (("gateways", "gw"), ("virtualservices", "vs"), ("httproutes", "hr")):
        assert COMMANDS[name] == COMMANDS[alias] == ("listings", f"{name}_command")
    helped = run_cli(["hr", "--help"])
    assert helped.code == 0
    assert "List HTTPRoutes and GRPCRoutes" in helped.stdout and "kubectl meshctl hr web -n shop -o wide" in helped.stdout
    assert "hr  " in run_cli(["--help"]).stdout and "httproutes  " in run_cli(["--help"]).stdout
    gateways = run_cli(["gateways", "--help"]).stdout
    assert "gateway.networking.k8s.io/gateway-name" in gateways and "kubectl meshctl gateways -A" in gateways


def test_stdin_input() -> None:
    result = run_cli(["analyze", "-f", "-"], stdin=SEED.read_text())
    assert result.stdout.splitlines()[0] == SEED_IST0130.format("-")


def test_directory_recursion_and_json_and_list(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    (nested / "list.json").write_text(to_list_json(gateway(), shadowed_pair()))
    (tmp_path / "ignored.txt").write_text("not yaml: [")
    result = run_cli(["analyze", "-f", str(tmp_path)])
    assert "[MSH0101] (VirtualService default/vs " + str(nested / "list.json") + ")" in result.stdout
    assert result.code == ExitCode.OK


# ----------------------------------------------------------------------------- bad input


BAD_INPUTS = {
    "broken.yaml": ("apiVersion: v1\nkind: Service\nmetadata:\n  name: [unclosed\n", "broken.yaml:4: invalid YAML"),
    "empty.yaml": ("", "empty.yaml: empty file"),
    "garbage.yaml": (b"\x89PNG\r\n\x1a\n\x00\x00binary", "garbage.yaml: binary data"),
    "unknown.yaml": (
        "apiVersion: networking.istio.io/v1\nkind: VirtualSerivce\nmetadata: {name: w}\n",
        "unknown.yaml:1: unknown kind VirtualSerivce (networking.istio.io/v1); did you mean VirtualService?",
    ),
    "wrongtype.yaml": (
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec:\n  hosts: [a]\n  http:\n  - match: {uri: 3}\n",
        "wrongtype.yaml:7: VirtualService v: spec.http[0].match: expected a list, got object",
    ),
    "noname.yaml": ("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {}\n", "Gateway: metadata.name: missing"),
    "bad.json": ('{"apiVersion": "v1", "kind": ', "bad.json:1: invalid JSON"),
    "notobject.yaml": ("- just\n- a list\n", "expected a Kubernetes object, got list"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_exit_65_and_others_still_analysed(tmp_path: Path, name: str) -> None:
    content, wanted = BAD_INPUTS[name]
    bad = tmp_path / name
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run_cli(["analyze", "-f", str(bad), "-f", str(SEED)])
    assert result.code == ExitCode.DATA
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert wanted in errors[0]
    assert "Traceback" not in result.stderr
    assert SEED_IST0130.format(SEED) in result.stdout


def test_findings_at_the_threshold_win_over_unparsed_input(tmp_path: Path) -> None:
    """Exit 79 when a finding reaches --failure-threshold, even if some input was also bad (65): README's rule."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n")
    result = run_cli(["analyze", "-f", str(bad), "-f", str(SEED), "--failure-threshold", "Warning"])
    assert result.code == ExitCode.FINDINGS
    assert SEED_IST0130.format(SEED) in result.stdout
    assert sum(line.startswith("Error: ") and "bad.yaml" in line for line in result.stderr.splitlines()) == 1


def test_bad_document_does_not_hide_the_next_one(tmp_path: Path) -> None:
    (tmp_path / "mixed.yaml").write_text("a: [\n---\n" + SHADOWED)
    result = run_cli(["analyze", "-f", "mixed.yaml"], cwd=tmp_path)
    assert result.code == ExitCode.DATA
    assert "MSH0101" in result.stdout
    assert "mixed.yaml:1" in result.stderr or "mixed.yaml:2" in result.stderr


def test_ignore_unknown(tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text("apiVersion: networking.istio.io/v1\nkind: Gatway\nmetadata: {name: w}\n")
    assert run_cli(["analyze", "-f", str(tmp_path / "w.yaml")]).code == ExitCode.DATA
    result = run_cli(["analyze", "--ignore-unknown", "-f", str(tmp_path / "w.yaml")])
    assert result.code == ExitCode.OK


OTHER_GROUPS = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
---
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [vs.yaml]
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: c}
---
apiVersion: extensions/v1beta1
kind: Deployment
metadata: {name: old}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: s}
"""


def test_objects_of_groups_the_plugin_does_not_read_are_skipped_as_istioctl_skips_them(tmp_path: Path) -> None:
    (tmp_path / "mixed.yaml").write_text(OTHER_GROUPS + "---\n" + SHADOWED)
    result = run_cli(["analyze", "-f", str(tmp_path / "mixed.yaml")])
    assert result.code == ExitCode.OK, result.stderr
    assert result.stderr == "" and "MSH0101" in result.stdout


def test_yaml_that_is_no_kubernetes_object_is_skipped_in_a_directory_and_refused_when_named(tmp_path: Path) -> None:
    (tmp_path / "chart").mkdir()
    (tmp_path / "chart" / "values.yaml").write_text("replicaCount: 2\nimage: {repository: nginx, tag: stable}\n")
    (tmp_path / "ci.yml").write_text("on: [push]\njobs:\n  test: {runs-on: ubuntu-latest}\n---\nname: second\n")
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "vs.yaml").write_text(SHADOWED)
    walked = run_cli(["analyze", "-f", str(tmp_path)])
    assert walked.code == ExitCode.OK, walked.stderr
    assert "MSH0101" in walked.stdout
    assert walked.stderr.splitlines() == [
        f"Note: {tmp_path / 'ci.yml'}: 2 documents: not a Kubernetes object (no apiVersion, no kind): skipped",
        f"Note: {tmp_path / 'empty.yaml'}: empty file: skipped",
        f"Note: {tmp_path / 'chart' / 'values.yaml'}: not a Kubernetes object (no apiVersion, no kind): skipped",
    ]
    named = run_cli(["analyze", "-f", str(tmp_path / "chart" / "values.yaml"), "-f", str(tmp_path / "vs.yaml")])
    assert named.code == ExitCode.DATA
    assert named.stderr.splitlines() == [
        f"Error: {tmp_path / 'chart' / 'values.yaml'}:1: not a Kubernetes object (no apiVersion, no kind)"
    ]


def test_missing_file() -> None:
    result = run_cli(["analyze", "-f", "/nonexistent/x.yaml"])
    assert result.code == ExitCode.DATA
    assert "Error: /nonexistent/x.yaml: No such file or directory" in result.stderr


def test_known_but_unread_kinds_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n---\n" + SHADOWED)
    result = run_cli(["analyze", "-f", str(tmp_path / "d.yaml")])
    assert result.code == ExitCode.OK
    assert "MSH0101" in result.stdout


def test_identical_log_lines_are_printed_once() -> None:
    """istioctl prints each distinct line once; findings that differ only where the line does not show stay one."""
    from kubectl_meshctl.analysis.findings import Finding, Level
    from kubectl_meshctl.analysis.report import arrange, render_log

    one = Finding("IST0130", Level.WARNING, "VirtualService rule #1 not used.", "VirtualService", "default", "vs")
    other = Finding("IST0130", Level.WARNING, "VirtualService rule #1 not used.", "VirtualService", "default", "vs", field="spec")
    assert arrange([one, other, one]) == [one]
    assert render_log(arrange([one, other]), color=False).count("IST0130") == 1
