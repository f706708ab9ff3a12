"""The kind registry (resources/kinds.py) is the one list of kinds: parsing, snapshots, cluster reads derive from it.

The expectations here are written out by hand (the API paths Kubernetes and Istio really serve, the kinds a
snapshot holds), not computed from the registry, so a registry entry that is dropped or wrong fails them.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from fakeapi.server import FakeApiServer

from kubectl_meshctl.analysis.findings import finding
from kubectl_meshctl.analysis.report import annotation_suppressions
from kubectl_meshctl.kube.api import Api
from kubectl_meshctl.kube.cluster_source import ClusterSource
from kubectl_meshctl.kube.connection import connect
from kubectl_meshctl.kube.errors import NotFound, NotServed
from kubectl_meshctl.resources import model, parse
from kubectl_meshctl.resources.kinds import ANALYSED_KINDS, KINDS, by_api_version, by_name
from kubectl_meshctl.resources.model import Origin, Snapshot
from kubectl_meshctl.resources.parse import UnknownKind, parse_object
from kubectl_meshctl.sources.snapshot import overlay, snapshot_of

LIST_PATHS = {
    "Gateway": "/apis/networking.istio.io/v1/gateways",
    "VirtualService": "/apis/networking.istio.io/v1/virtualservices",
    "DestinationRule": "/apis/networking.istio.io/v1/destinationrules",
    "ServiceEntry": "/apis/networking.istio.io/v1/serviceentries",
    "Service": "/api/v1/services",
    "Pod": "/api/v1/pods",
    "KubeGateway": "/apis/gateway.networking.k8s.io/v1/gateways",
    "HTTPRoute": "/apis/gateway.networking.k8s.io/v1/httproutes",
    "GRPCRoute": "/apis/gateway.networking.k8s.io/v1/grpcroutes",
    "ReferenceGrant": "/apis/gateway.networking.k8s.io/v1/referencegrants",
    "GatewayClass": "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
    "Namespace": "/api/v1/namespaces",
}
"""Where each kind the plugin reads is listed cluster-wide, in its preferred version."""
API_VERSIONS = {
    "Gateway": ("Gateway", ["networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"]),
    "VirtualService": ("VirtualService", ["networking.istio.io/v1", "networking.istio.io/v1alpha3"]),
    "DestinationRule": ("DestinationRule", ["networking.istio.io/v1beta1"]),
    "ServiceEntry": ("ServiceEntry", ["networking.istio.io/v1"]),
    "Service": ("Service", ["v1"]),
    "Pod": ("Pod", ["v1"]),
    "KubeGateway": ("Gateway", ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]),
    "HTTPRoute": ("HTTPRoute", ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]),
    "GRPCRoute": ("GRPCRoute", ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1alpha2"]),
    "ReferenceGrant": ("ReferenceGrant", ["gateway.networking.k8s.io/v1beta1", "gateway.networking.k8s.io/v1alpha2"]),
    "GatewayClass": ("GatewayClass", ["gateway.networking.k8s.io/v1"]),
    "Namespace": ("Namespace", ["v1"]),
}
SNAPSHOT_FIELDS = {
    "Gateway": "gateways",
    "VirtualService": "virtual_services",
    "DestinationRule": "destination_rules",
    "ServiceEntry": "service_entries",
    "Service": "services",
    "Pod": "pods",
    "KubeGateway": "kube_gateways",
    "HTTPRoute": "kube_routes",
    "GRPCRoute": "kube_routes",
    "ReferenceGrant": "reference_grants",
    "GatewayClass": "gateway_classes",
    "Namespace": "namespaces",
}


def _raw(api_version: str, kind: str, name: str = "a", namespace: str = "ns", **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace, **metadata}}


def _one_of_each(**metadata: Any) -> list[parse.Resource]:
    """One object of each kind, named after the registry name of its kind."""
    objects = []
    for kind in KINDS:
        api_version = f"{kind.group}/{kind.versions[0]}" if kind.group else kind.versions[0]
        raw = _raw(api_version, kind.kind, kind.name.lower(), **metadata)
        obj = parse_object(raw, origin=Origin("f.yaml"), default_namespace="default")
        assert obj is not None
        objects.append(obj)
    return objects


# ----------------------------------------------------------------------------- the registry itself


def test_the_registry_holds_exactly_the_kinds_read() -> None:
    assert [k.name for k in KINDS] == list(LIST_PATHS)
    assert ANALYSED_KINDS == ("Gateway", "VirtualService", "DestinationRule", "Service", "Pod")
    assert len({(k.group, k.kind) for k in KINDS}) == len(KINDS)
    for kind in KINDS:
        assert by_name(kind.name) is kind
    with pytest.raises(KeyError, match="TCPRoute"):
        by_name("TCPRoute")


def test_each_kind_names_its_parser_model_and_snapshot_field() -> None:
    hints = typing.get_type_hints(Snapshot)
    tuple_fields = {f.name for f in dataclasses.fields(Snapshot) if typing.get_origin(hints[f.name]) is tuple}
    assert {k.snapshot_field for k in KINDS} == tuple_fields == set(SNAPSHOT_FIELDS.values())
    assert set(typing.get_args(parse.Resource)) == {getattr(model, k.model) for k in KINDS}
    for kind in KINDS:
        assert SNAPSHOT_FIELDS[kind.name] == kind.snapshot_field
        model_class = getattr(model, kind.model)
        assert typing.get_type_hints(getattr(parse, kind.parser))["return"] is model_class
        assert typing.get_args(hints[kind.snapshot_field]) == (model_class, ...)


def test_kinds_of_one_group_agree_on_its_versions() -> None:
    groups: dict[str, tuple[tuple[str, ...], str]] = {}
    for kind in KINDS:
        versions = () if kind.per_resource else kind.versions  # the Gateway API serves its kinds in different versions
        assert groups.setdefault(kind.group, (versions, kind.installed_by)) == (versions, kind.installed_by)
        assert kind.discovered == (kind.group != "")


def test_the_registry_imports_nothing_heavy() -> None:
    """The cluster's list requests are built from it before anything is parsed: no model classes on that path."""
    code = (
        "import sys; import kubectl_meshctl.resources.kinds, kubectl_meshctl.kube.cluster_source;"
        "import json; print(json.dumps(sorted(m for m in sys.modules if m.startswith('kubectl_meshctl'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    loaded = set(json.loads(done.stdout))
    assert not loaded & {"kubectl_meshctl.resources.model", "kubectl_meshctl.resources.parse", "kubectl_meshctl.sources.files"}


# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize("name", list(API_VERSIONS))
def test_every_registered_kind_is_parsed_in_every_version_it_reads(name: str) -> None:
    kind_field, api_versions = API_VERSIONS[name]
    registered = by_name(name)
    for api_version in api_versions:
        assert by_api_version(api_version, kind_field) is registered
        obj = parse_object(_raw(api_version, kind_field), origin=Origin("f.yaml"), default_namespace="default")
        assert type(obj) is getattr(model, registered.model)
        assert obj.meta.kind == kind_field
        assert obj.meta.namespace == ("ns" if registered.namespaced else "")
    raw = _raw(api_versions[0], kind_field)
    del raw["metadata"]["namespace"]
    obj = parse_object(raw, origin=Origin("f.yaml"), default_namespace="default")
    assert obj is not None and obj.meta.namespace == ("default" if registered.namespaced else "")


def test_every_kind_the_parser_accepts_is_in_the_registry() -> None:
    groups = ["", "v1", "apps", "networking.istio.io", "security.istio.io", "gateway.networking.k8s.io", "example.com"]
    names = {"Gateway", "VirtualService", "DestinationRule", "ServiceEntry", "Sidecar", "Service", "Pod", "Deployment"}
    names |= {"HTTPRoute", "GRPCRoute", "ConfigMap", "Namespace", "AuthorizationPolicy", "WorkloadEntry", "Widget"}
    names |= {"ReferenceGrant", "GatewayClass", "TCPRoute"}
    accepted = set()
    for group in groups:
        for version in ("v1", "v1beta1", "v1alpha3", "v2"):
            api_version = f"{group}/{version}" if group not in ("", "v1") else version
            for name in names:
                try:
                    obj = parse_object(_raw(api_version, name), origin=Origin("f.yaml"), default_namespace="default")
                except UnknownKind:
                    continue
                if obj is not None:
                    registered = by_api_version(api_version, name)
                    assert registered is not None and type(obj) is getattr(model, registered.model), (api_version, name)
                    accepted.add(registered.name)
    assert accepted == set(LIST_PATHS)


def test_a_kind_absent_from_the_registry_is_not_read() -> None:
    """TCPRoute is known to be Gateway API's, so skipped: no parser, no list, no field."""
    raw = _raw("gateway.networking.k8s.io/v1alpha2", "TCPRoute")
    assert by_api_version("gateway.networking.k8s.io/v1alpha2", "TCPRoute") is None
    assert parse_object(raw, origin=Origin("f.yaml"), default_namespace="default") is None
    assert not hasattr(Snapshot(), "tcp_routes")
    with pytest.raises(KeyError, match="TCPRoute"):
        ClusterSource(_StubApi(), namespace=None, kinds=["Gateway", "TCPRoute"])


def test_versions_not_read_are_refused_or_unknown_as_the_kind_says() -> None:
    origin = Origin("f.yaml")
    with pytest.raises(UnknownKind, match=r"unsupported apiVersion networking.istio.io/v2 for Gateway \(served: v1, v1beta1"):
        parse_object(_raw("networking.istio.io/v2", "Gateway"), origin=origin, default_namespace="d")
    for core in ("Pod", "Service"):
        with pytest.raises(UnknownKind, match=rf"^unknown kind {core} \(v2\)$"):
            parse_object(_raw("v2", core), origin=origin, default_namespace="d")
    read = parse_object(_raw("gateway.networking.k8s.io/v1alpha2", "Gateway"), origin=origin, default_namespace="d")
    assert isinstance(read, model.KubeGateway)


# ----------------------------------------------------------------------------- snapshots


def test_snapshot_of_puts_each_kind_in_its_field_and_overlay_replaces_by_kind_namespace_name() -> None:
    objects = _one_of_each()
    snapshot = snapshot_of(objects)
    for kind in KINDS:  # HTTPRoutes and GRPCRoutes share a field
        expected = tuple(o for o, k in zip(objects, KINDS, strict=True) if k.snapshot_field == kind.snapshot_field)
        assert getattr(snapshot, SNAPSHOT_FIELDS[kind.name]) == expected
    assert snapshot.has_pods and snapshot.has_services
    newer = _one_of_each(labels={"new": "yes"})
    merged = overlay(snapshot, snapshot_of([*newer[:2], *newer[3:]]))  # every kind but DestinationRule
    for kind in KINDS:
        for obj in getattr(merged, SNAPSHOT_FIELDS[kind.name]):
            assert obj.meta.labels == (() if kind.name == "DestinationRule" else (("new", "yes"),)), kind.name


def test_annotation_suppressions_cover_the_suppressible_kinds() -> None:
    snapshot = snapshot_of(_one_of_each(annotations={"galley.istio.io/analyze-suppress": "IST0101"}))
    keys = set(annotation_suppressions(snapshot))
    expected = {"Gateway", "VirtualService", "DestinationRule", "Service", "Pod"}  # not a Gateway API Gateway:
    assert keys == {(name, "ns", name.lower()) for name in expected}  # its key would be an Istio Gateway's


# ----------------------------------------------------------------------------- cluster reads


PLURALS = {
    "gateways": "Gateway",
    "virtualservices": "VirtualService",
    "destinationrules": "DestinationRule",
    "serviceentries": "ServiceEntry",
    "services": "Service",
    "pods": "Pod",
    "httproutes": "HTTPRoute",
    "grpcroutes": "GRPCRoute",
    "referencegrants": "ReferenceGrant",
    "gatewayclasses": "GatewayClass",
    "namespaces": "Namespace",
}


class _StubConn:
    server = "https://stub"
    context = "stub-context"
    timeout_note = ""


class _StubApi:
    """Answers discovery with the served versions and every list with one object; records what was asked."""

    def __init__(self, served: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self.conn = _StubConn()
        if served is None:
            served = {}
            for k in KINDS:
                if k.group:
                    served[k.group] = tuple(dict.fromkeys((*served.get(k.group, ()), *k.versions)))
        self.served = dict(served)
        self.paths: list[str] = []

    def get(self, path: str, query: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        self.paths.append(path)
        group, _, version = path.removeprefix("/apis/").partition("/")
        if group not in self.served or (version and version not in self.served[group]):
            raise NotFound(f"not found: {path}", 404)
        if version:  # a group version's resources: the kinds registered in that version
            names = [k.plural for k in KINDS if k.group == group and version in k.versions]
            return {"kind": "APIResourceList", "resources": [{"name": n} for n in names]}
        return {"kind": "APIGroup", "versions": [{"version": v} for v in self.served[group]]}

    def get_raw(self, path: str, query: Mapping[str, str | int] | None = None, *, accept: str = "") -> bytes:
        self.paths.append(path)
        prefix, _, plural = path.rpartition("/")
        api_version = prefix.removeprefix("/apis/").removeprefix("/api/")
        kind = PLURALS[plural]
        item = {"metadata": {"name": "a", "namespace": "ns", "resourceVersion": "1"}}
        page = {"kind": f"{kind}List", "apiVersion": api_version, "metadata": {}, "items": [item]}
        return json.dumps(page, separators=(",", ":")).encode()


def test_cluster_lists_are_derived_from_the_registry() -> None:
    api = _StubApi()
    source = ClusterSource(api, namespace=None, kinds=[k.name for k in KINDS])  # type: ignore[arg-type]
    result = source.read()
    lists = [p for p in api.paths if p.rpartition("/")[2] in PLURALS]
    assert sorted(lists) == sorted(LIST_PATHS.values())
    discovery = ["/apis/gateway.networking.k8s.io", "/apis/gateway.networking.k8s.io/v1", "/apis/networking.istio.io"]
    assert sorted(p for p in api.paths if p not in lists) == discovery  # each asked once
    assert result.errors == []
    for name, field in SNAPSHOT_FIELDS.items():
        for obj in getattr(result.snapshot, field):
            assert obj.meta.origin == Origin("stub-context", cluster=True), name  # the context read through
    for name, path in LIST_PATHS.items():  # each kind alone: its own list, in the version served
        alone = _StubApi()
        ClusterSource(alone, namespace=None, kinds=[name]).fetch()  # type: ignore[arg-type]
        assert [p for p in alone.paths if p.rpartition("/")[2] in PLURALS] == [path]
    gateway = result.snapshot.gateways[0]
    assert finding("MSH0201", gateway.meta, "ns/a", 80, "*").reference is None


def test_cluster_reads_the_first_version_served_and_only_the_kinds_asked_for() -> None:
    api = _StubApi({"networking.istio.io": ("v1alpha3", "v1beta1")})
    ClusterSource(api, namespace=None, kinds=["Pod", "VirtualService"]).read()  # type: ignore[arg-type]
    assert sorted(api.paths) == ["/api/v1/pods", "/apis/networking.istio.io", "/apis/networking.istio.io/v1beta1/virtualservices"]
    missing = _StubApi({})
    with pytest.raises(NotServed, match=r"^Gateway API CRDs not found: the API server https://stub does not serve gateway"):
        ClusterSource(missing, namespace=None, kinds=["KubeGateway"]).read()  # type: ignore[arg-type]


def test_cluster_lists_against_the_fake_api_server(fake_api: FakeApiServer, fake_kubeconfig: Path) -> None:
    conn = connect(kubeconfig=str(fake_kubeconfig), context=None, namespace=None, timeout=None)
    fake_api.requests.clear()
    result = ClusterSource(Api(conn), namespace=None).read()  # ANALYSED_KINDS
    listed = {r.path for r in fake_api.requests if r.path.count("/") > 2}
    assert listed == {LIST_PATHS[name] for name in ANALYSED_KINDS}
    assert result.snapshot.gateways and result.snapshot.virtual_services and result.snapshot.pods
    assert {o.meta.origin.source for o in result.snapshot.pods} == {conn.context}


def test_a_gateway_api_kind_is_read_in_the_first_version_that_serves_it() -> None:
    """Gateway API CRDs serve their kinds in different versions (ReferenceGrant stayed v1beta1 after HTTPRoute went
    v1): the version comes from the group version's resource list, not from the group alone."""

    class OlderGatewayApi(_StubApi):
        def get(self, path: str, query: Mapping[str, str | int] | None = None) -> dict[str, Any]:
            if path == "/apis/gateway.networking.k8s.io/v1":
                self.paths.append(path)
                return {"kind": "APIResourceList", "resources": [{"name": "httproutes"}, {"name": "gateways"}]}
            return super().get(path, query)

    api = OlderGatewayApi({"gateway.networking.k8s.io": ("v1", "v1beta1")})
    ClusterSource(api, namespace=None, kinds=["HTTPRoute", "ReferenceGrant"]).fetch()  # type: ignore[arg-type]
    lists = sorted(p for p in api.paths if p.rpartition("/")[2] in PLURALS)
    assert lists == ["/apis/gateway.networking.k8s.io/v1/httproutes", "/apis/gateway.networking.k8s.io/v1beta1/referencegrants"]
    assert api.paths.count("/apis/gateway.networking.k8s.io/v1") == 1  # discovery asked once for both kinds
