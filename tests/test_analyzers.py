"""The analyzer registry: order, declared inputs, the partial-input rule and istioctl's merging of identical messages."""

from __future__ import annotations

from pathlib import Path

from manifests import destination, gateway, http_rule, to_yaml, virtual_service

from kubectl_meshctl.analysis.analyzers import ANALYZERS, Analysis, Analyzer, run_analyzers
from kubectl_meshctl.analysis.findings import finding
from kubectl_meshctl.resources.kinds import KINDS
from kubectl_meshctl.resources.model import ObjectMeta, Origin, Snapshot
from kubectl_meshctl.sources.files import FileSource


def _snapshot(tmp_path: Path, text: str) -> Snapshot:
    path = tmp_path / "in.yaml"
    path.write_text(text)
    result = FileSource([str(path)]).read()
    assert not result.errors, result.errors
    return result.snapshot


def test_registry_names_are_unique_and_inputs_are_registered_kinds() -> None:
    names = [a.name for a in ANALYZERS]
    assert len(names) == len(set(names))
    known = {k.name for k in KINDS}
    for analyzer in ANALYZERS:
        assert analyzer.reads <= known, analyzer.name
        assert analyzer.requires <= analyzer.reads, f"{analyzer.name} requires a kind it does not read"


def test_a_check_that_needs_services_is_skipped_when_none_were_read(tmp_path: Path) -> None:
    """A file without Services cannot prove a destination host does not exist: no IST0101 for it."""
    vs = virtual_service(hosts=["shop.example.com"], http=[http_rule(to=[destination("ghost", port=80)])])
    without = _snapshot(tmp_path, to_yaml(gateway(), vs))
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "real", "namespace": "default"}, "spec": {}}
    with_services = _snapshot(tmp_path, to_yaml(gateway(), vs, service))
    host_missing = [f for f in run_analyzers(with_services) if f.code == "IST0101" and "ghost" in f.message]
    assert host_missing, "the check runs when Services were read"
    assert not [f for f in run_analyzers(without) if f.code == "IST0101" and "ghost" in f.message]


def test_identical_messages_of_istio_analyzers_are_merged_and_others_kept(tmp_path: Path) -> None:
    snapshot = _snapshot(tmp_path, to_yaml(gateway()))
    meta = ObjectMeta("VirtualService", "vs", "default", Origin("in.yaml"))
    same = finding("IST0101", meta, "gateway", "x")

    def analyzer(name: str, *, merge: bool) -> Analyzer:
        return Analyzer(name, "istio", frozenset(), frozenset(), lambda _run: [same], merge_identical=merge)

    assert run_analyzers(snapshot, [analyzer("a", merge=True), analyzer("b", merge=True)]) == [same]
    assert run_analyzers(snapshot, [analyzer("a", merge=False), analyzer("b", merge=False)]) == [same, same]


def test_shared_facts_are_computed_once_per_run(tmp_path: Path) -> None:
    run = Analysis(_snapshot(tmp_path, to_yaml(gateway(), virtual_service(http=[http_rule()]))))
    assert run.reachability is run.reachability
    assert run.istio_rules is run.istio_rules


def test_findings_come_out_in_registry_order(tmp_path: Path) -> None:
    snapshot = _snapshot(tmp_path, to_yaml(gateway()))
    meta = ObjectMeta("VirtualService", "vs", "default", Origin("in.yaml"))
    first, second = finding("MSH0101", meta, "#1", "x"), finding("IST0130", meta, "#1", "x")
    order = [
        Analyzer("one", "meshctl", frozenset(), frozenset(), lambda _run: [first]),
        Analyzer("two", "istio", frozenset(), frozenset(), lambda _run: [second]),
    ]
    assert run_analyzers(snapshot, order) == [first, second]
    assert run_analyzers(snapshot, order[::-1]) == [second, first]


def test_a_kind_read_from_a_cluster_is_complete_even_when_empty(tmp_path: Path) -> None:
    """The one partial-input rule: files prove absence only for kinds they hold; a cluster's lists always do."""
    from kubectl_meshctl.sources.snapshot import snapshot_of

    vs = virtual_service(hosts=["shop.example.com"], http=[http_rule(to=[destination("reviews", subset="v1")])])
    from_files = _snapshot(tmp_path, to_yaml(gateway(), vs))
    assert "DestinationRule" not in from_files.complete
    assert not [f for f in run_analyzers(from_files) if "subset" in f.message]
    objects = [*from_files.gateways, *from_files.virtual_services]
    from_cluster = snapshot_of(objects, complete=["Gateway", "VirtualService", "DestinationRule", "Service", "Pod"])
    assert [f.message for f in run_analyzers(from_cluster) if "subset" in f.message] == [
        'Referenced host+subset in destinationrule not found: "reviews+v1"'
    ]


def test_a_prefix_does_not_shadow_a_regex_with_an_alternation(tmp_path: Path) -> None:
    # ``/a/x|/b`` also matches /b, which prefix /a never takes: an alternation has no literal prefix to compare
    # (a prefix of one branch is not a prefix of the regex); ``/a/x`` alone is taken by /a
    regexes = [{"uri": {"regex": "/a/x|/b"}}, {"uri": {"regex": "/a/x"}}]
    vs = virtual_service(http=[http_rule({"uri": {"prefix": "/a"}}), *(http_rule(r) for r in regexes)])
    found = run_analyzers(_snapshot(tmp_path, to_yaml(gateway(), vs)), witnesses=False)
    dead = sorted(f.message for f in found if f.code == "MSH0101")
    assert len(dead) == 1 and "rule #2 is never reached" in dead[0], dead
