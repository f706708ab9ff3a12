"""The warm path of the listings (a listing-cache hit): list envelopes of any JSON layout, servers without
metadata-only lists, the discovery cache, and kubeconfig scalars the subset reader keeps from PyYAML."""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from kubectl_meshctl.kube import api as kube_api
from kubectl_meshctl.kube import cluster_source, discovery_cache, kubeconfig_yaml
from kubectl_meshctl.kube.api import list_envelope, metadata_span

GATEWAY_API_GROUP = "/apis/gateway.networking.k8s.io"
ISTIO_GROUP = "/apis/networking.istio.io"


@pytest.fixture(autouse=True)
def _private_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBECACHEDIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


# ----------------------------------------------------------------------------- list envelopes in any layout


def _layouts(doc: dict[str, Any]) -> list[bytes]:
    """``doc`` as kube-apiserver and pretty-printing servers or proxies write it."""
    return [
        json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode(),
        json.dumps(doc, indent=2, ensure_ascii=False).encode(),
        json.dumps(doc, indent="\t").encode(),
        json.dumps(doc, separators=(", ", ": ")).encode(),
        (" \r\n" + json.dumps(doc, indent=4) + "\n\n").encode(),
    ]


def _list(order: str, list_rv: str, token: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    meta = {"resourceVersion": list_rv, "continue": token}
    parts = {"kind": "GatewayList", "apiVersion": "networking.istio.io/v1", "metadata": meta, "items": items}
    return {key: parts[key] for key in order.split(",")}


HOSTILE_ITEMS: list[dict[str, Any]] = [
    {"metadata": {"name": "a", "resourceVersion": "7"}, "spec": {"x": '}],"metadata":{"continue":"evil"}}'}},
    {"metadata": {"name": "é\u2028ü", "annotations": {'"metadata": {': '\\"metadata\\": {}}'}}, "spec": {}},
    {"kind": "X", "metadata": {"name": "last", "labels": {"metadata": "metadata"}}, "status": {"metadata": {}}},
]

ORDERS = [
    "kind,apiVersion,metadata,items",  # typed lists: struct order
    "apiVersion,items,kind,metadata",  # custom resources: keys sorted
    "metadata,items",
    "items,metadata",
    "apiVersion,items,metadata,kind",
]


@pytest.mark.parametrize("order", ORDERS)
def test_list_envelope_finds_the_list_metadata_whatever_the_whitespace(order: str) -> None:
    for layout in range(5):
        body = _layouts(_list(order, "100", "tok", HOSTILE_ITEMS))[layout]
        span = metadata_span(body)
        assert span is not None, (order, layout)  # found in place, no full parse
        assert span[0] == {"resourceVersion": "100", "continue": "tok"}
        metadata, key = list_envelope(body)
        assert metadata == {"resourceVersion": "100", "continue": "tok"}
        # a write elsewhere in the cluster (list resourceVersion, continue token): the same key
        other = _layouts(_list(order, "200", "another-token-that-is-longer", HOSTILE_ITEMS))[layout]
        assert list_envelope(other).rest == key
        # this object was written: another key
        changed = [{**HOSTILE_ITEMS[0], "metadata": {"name": "a", "resourceVersion": "8"}}, *HOSTILE_ITEMS[1:]]
        assert list_envelope(_layouts(_list(order, "100", "tok", changed))[layout]).rest != key


def test_odd_shapes_still_parse_in_full() -> None:
    # the metadata neither first (after kind/apiVersion) nor last: a full parse, the same answer
    body = json.dumps({"kind": "L", "items": [], "metadata": {"continue": "c"}, "extra": {"metadata": {"continue": "x"}}})
    assert metadata_span(body.encode()) is None
    assert list_envelope(body.encode()).metadata == {"continue": "c"}
    with pytest.raises(ValueError):
        list_envelope(b"[1, 2]")
    with pytest.raises(ValueError):
        list_envelope(b'{"items": [], "metadata": "not an object"}')


@pytest.mark.parametrize(
    "body",
    [
        # "metadata" as the key of the last item, the body ending right after it: not the list's
        b'{"items":[{"metadata":{"continue":"evil"}}]}',
        b'{"items": [ {"metadata": {"continue": "evil"}} ] }',
        # an escaped quote before it: inside a string, followed by a colon only inside that string's text
        b'{"items":[],"x":"a\\"metadata\\":{}}"}',
        b'{"items":[],"a\\"metadata":{"continue":"evil"}}',
        # metadata inside the list metadata's own value
        b'{"items":[],"metadata":{"annotations":{"metadata":{"continue":"evil"}}}}',
    ],
)
def test_a_metadata_that_is_not_the_lists_is_never_taken_for_it(body: bytes) -> None:
    expected = json.loads(body).get("metadata") or {}
    assert list_envelope(body).metadata == expected
    span = metadata_span(body)
    assert span is None or span[0] == expected


_hostile_text = st.lists(
    st.sampled_from([*'"\\{}[]:, \nmetadaécontinu\u2028', "metadata", '"metadata":', '\\"metadata\\":']), max_size=8
).map("".join)
_json_leaf = st.none() | st.booleans() | st.integers() | _hostile_text
_json = st.recursive(
    _json_leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_hostile_text, inner, max_size=3), max_leaves=12
)


@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(st.dictionaries(_hostile_text | st.just("metadata"), _json, max_size=4), max_size=3),
    meta=st.dictionaries(st.sampled_from(["continue", "resourceVersion", "remainingItemCount"]), _hostile_text, max_size=3),
    order=st.sampled_from(ORDERS),
    layout=st.integers(0, 4),
)
def test_the_list_metadata_is_what_a_full_parse_finds(
    items: list[dict[str, Any]], meta: dict[str, str], order: str, layout: int
) -> None:
    doc = _list(order, "1", "t", items)
    doc["metadata"] = meta
    body = _layouts(doc)[layout]
    assert list_envelope(body).metadata == meta
    span = metadata_span(body)
    if span is not None:  # the span is exactly the metadata's value
        _, start, end = span
        assert json.loads(body[:start] + b"null" + body[end:]) == {**doc, "metadata": None}


# ----------------------------------------------------------------------------- a pretty-printing server


def _lists(requests: list[Any]) -> tuple[int, int]:
    lists = [r for r in requests if r.path.endswith(("/gateways", "/virtualservices", "/pods", "/services"))]
    metadata = sum(1 for r in lists if "PartialObjectMetadataList" in (r.header("Accept") or ""))
    return len(lists) - metadata, metadata


def _no_full_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail when a list page's envelope is decoded and re-encoded in full (the slow fallback)."""

    def refuse(body: bytes) -> Any:
        raise AssertionError(f"full parse of a list page: {body[:80]!r}")

    monkeypatch.setattr(kube_api, "list_envelope", refuse)
    monkeypatch.setattr(cluster_source, "list_envelope", refuse)


@pytest.mark.parametrize("metadata_only_lists", [True, False])
def test_the_listing_cache_hits_on_a_pretty_printing_server(
    fake_api_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, metadata_only_lists: bool
) -> None:
    compact = fake_api_factory()
    pretty = fake_api_factory(pretty_json=True, metadata_only_lists=metadata_only_lists)
    args = ["gateways", "-A", "-o", "wide", "--kubeconfig"]
    reference = run_cli([*args, str(compact.write_kubeconfig(tmp_path / "compact")), "--no-cache"])
    kubeconfig = str(pretty.write_kubeconfig(tmp_path / "pretty"))
    _no_full_parse(monkeypatch)
    first = run_cli([*args, kubeconfig])
    assert (first.code, _without_age(first.stdout), first.stderr) == (0, _without_age(reference.stdout), reference.stderr)
    assert _lists(pretty.requests) == (4, 4)
    pretty.requests.clear()
    second = run_cli([*args, kubeconfig])
    assert (_without_age(second.stdout), second.stderr) == (_without_age(first.stdout), first.stderr)
    assert _lists(pretty.requests) == (0, 4)  # a hit: only the (metadata) lists were read
    # a changed object misses
    vs = next(v for v in pretty.objects("virtualservices.networking.istio.io") if v["metadata"]["name"] == "vs-gateway")
    pretty.add_object({**vs, "spec": {**vs["spec"], "gateways": ["nope"]}})
    pretty.requests.clear()
    third = run_cli([*args, kubeconfig])
    assert _lists(pretty.requests) == (4, 4)
    assert _without_age(third.stdout) != _without_age(second.stdout)


def test_pages_of_a_pretty_server_are_found_in_place(fake_api_factory: Any, tmp_path: Path) -> None:
    from kubectl_meshctl.kube.connection import connect

    for metadata_only_lists in (True, False):
        server = fake_api_factory(pretty_json=True, metadata_only_lists=metadata_only_lists)
        conn = connect(kubeconfig=str(server.write_kubeconfig(tmp_path / "kc")), context=None, namespace=None, timeout=10)
        api = kube_api.Api(conn)
        for group, version, plural in (("", "v1", "pods"), ("networking.istio.io", "v1", "virtualservices")):
            for metadata_only in (True, False):
                pages = kube_api.list_pages(api, group, version, plural, namespace=None, metadata_only=metadata_only)
                for page in pages:
                    assert b"\n  " in page or page.startswith(b'{"kind": "Table", ')  # indented; a Table only spaced
                    span = metadata_span(page)
                    assert span is not None and span[0] == json.loads(page)["metadata"]
                    kind = json.loads(page)["kind"]
                    expected = "Table" if not metadata_only_lists else "PartialObjectMetadataList"
                    assert (kind == expected) == metadata_only


def _tables_a_while_later(monkeypatch: pytest.MonkeyPatch, *, days: int) -> None:
    """The fake's clock for its Table cells (AGE) moved ``days`` on; nothing in the cluster changes."""
    from fakeapi import server as fake_server

    class Later(datetime.datetime):
        @classmethod
        def now(cls, tz: datetime.tzinfo | None = None) -> Later:  # type: ignore[override]
            return super().now(tz) + datetime.timedelta(days=days)

    monkeypatch.setattr(
        fake_server, "datetime", types.SimpleNamespace(datetime=Later, date=datetime.date, timezone=datetime.timezone)
    )


def _metadata_pages(server: Any, tmp_path: Path, plural: str = "virtualservices") -> list[bytes]:
    from kubectl_meshctl.kube.connection import connect

    conn = connect(kubeconfig=str(server.write_kubeconfig(tmp_path / "kc")), context=None, namespace=None, timeout=10)
    group = "" if plural in ("pods", "services") else "networking.istio.io"
    return kube_api.list_pages(kube_api.Api(conn), group, "v1", plural, namespace=None, metadata_only=True)


def test_a_table_keys_the_cache_without_its_cells(fake_api_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without metadata-only lists the cache key comes from the Table kubectl reads: its AGE cells tick, its rows'
    object metadata (every resourceVersion) does not -- unless an object changes."""
    server = fake_api_factory(metadata_only_lists=False)
    before = _metadata_pages(server, tmp_path)
    assert {json.loads(page)["kind"] for page in before} == {"Table"}
    _tables_a_while_later(monkeypatch, days=400)
    later = _metadata_pages(server, tmp_path)
    assert later != before  # the cells differ ...
    assert cluster_source.pages_digest(later) == cluster_source.pages_digest(before)  # ... the key does not
    assert [list_envelope(page).rest for page in later] == [list_envelope(page).rest for page in before]
    # keys sorted, as a re-encoding proxy might: the list metadata is neither first nor last, so it is parsed
    resorted = [[json.dumps(json.loads(page), sort_keys=True).encode() for page in pages] for pages in (before, later)]
    assert metadata_span(resorted[0][0]) is None and resorted[0] != resorted[1]
    assert cluster_source.pages_digest(resorted[0]) == cluster_source.pages_digest(resorted[1])
    vs = next(v for v in server.objects("virtualservices.networking.istio.io") if v["metadata"]["name"] == "vs-gateway")
    server.add_object({**vs, "spec": {**vs["spec"], "gateways": ["nope"]}})
    changed = _metadata_pages(server, tmp_path)
    assert cluster_source.pages_digest(changed) != cluster_source.pages_digest(later)
    assert [list_envelope(page).rest for page in changed] != [list_envelope(page).rest for page in later]


def test_the_listing_cache_hits_on_tables_a_day_later(
    fake_api_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake_api_factory(metadata_only_lists=False)
    kubeconfig = str(server.write_kubeconfig(tmp_path / "kc"))
    first = run_cli(["gateways", "-A", "--kubeconfig", kubeconfig])
    assert first.code == 0, first.stderr
    assert _lists(server.requests) == (4, 4)
    _tables_a_while_later(monkeypatch, days=1)
    server.requests.clear()
    second = run_cli(["gateways", "-A", "--kubeconfig", kubeconfig])
    assert (second.code, second.stderr) == (0, first.stderr)
    assert _lists(server.requests) == (0, 4)  # a hit: only the Tables were read


@pytest.mark.parametrize(
    ("page", "cut"),
    [
        (b'{"cells":["a",1,true,null,-2.5e3],"object":{}}', [b'"cells":["a",1,true,null,-2.5e3]']),
        (b'{"cells" : [ "x\\"]" , 2 ] }', [b'"cells" : [ "x\\"]" , 2 ]']),  # a bracket inside a string
        (b'{"cells":[]}', [b'"cells":[]']),
        (b'{"cells":[{"metadata":{"resourceVersion":"1"}}]}', []),  # never an object ...
        (b'{"cells":[[1]]}', []),  # ... nor an array
        (b'{"note":"\\"cells\\":[1]"}', []),  # nor inside a string
    ],
)
def test_table_cells_are_arrays_of_scalars(page: bytes, cut: list[bytes]) -> None:
    assert [page[start:end] for start, end in kube_api.table_cells_spans(page)] == cut


def test_a_table_without_its_objects_is_not_a_key(fake_api_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server whose Table rows carry no object metadata (as ``includeObject=None``) gets the full list asked for."""
    from fakeapi.server import FakeApiServer

    table = FakeApiServer._table

    def bare(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        answer = table(self, *args, **kwargs)
        answer = json.loads(answer) if isinstance(answer, bytes) else answer
        return {**answer, "rows": [{"cells": row["cells"]} for row in answer["rows"]]}

    monkeypatch.setattr(FakeApiServer, "_table", bare)
    server = fake_api_factory(metadata_only_lists=False)
    assert {json.loads(page)["kind"] for page in _metadata_pages(server, tmp_path)} == {"VirtualServiceList"}
    assert {json.loads(page)["kind"] for page in _metadata_pages(server, tmp_path, "pods")} == {"PodList"}


def test_a_server_without_metadata_lists_answers_406_when_nothing_else_is_acceptable(fake_api_factory: Any) -> None:
    import ssl
    import urllib.request

    server = fake_api_factory(metadata_only_lists=False)
    context = ssl.create_default_context(cafile=str(server.ca_file))
    partial = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
    accept = {
        partial: (406, None),
        f"{partial},application/json;q=0.9": (200, "PodList"),
        kube_api.METADATA_ONLY: (200, "Table"),  # the plugin's: kubectl's Table before the full list
    }
    for header, (status, kind) in accept.items():
        request = urllib.request.Request(
            f"{server.url}/api/v1/pods", headers={"Accept": header, "Authorization": f"Bearer {server.token}"}
        )
        try:
            with urllib.request.urlopen(request, context=context) as answer:
                assert (answer.status, json.loads(answer.read())["kind"]) == (status, kind)
        except urllib.error.HTTPError as exc:
            assert (exc.code, kind) == (status, None)


# ----------------------------------------------------------------------------- the discovery cache


def _without_age(stdout: str) -> list[list[str]]:
    """The table's cells without the AGE column (it ticks between two runs; with -o wide it is not the last)."""
    rows = [re.split(r"\s{2,}", line.strip()) for line in stdout.splitlines()]
    age = rows[0].index("AGE") if rows and "AGE" in rows[0] else None
    return [[cell for i, cell in enumerate(row) if i != age] for row in rows]


def _discovery(requests: list[Any]) -> list[str]:
    return [r.path for r in requests if r.path.startswith((GATEWAY_API_GROUP, ISTIO_GROUP)) and r.path.count("/") <= 3]


@pytest.mark.parametrize("gateway_api", [False, True])
def test_a_second_run_asks_no_discovery(fake_api_factory: Any, tmp_path: Path, gateway_api: bool) -> None:
    server = fake_api_factory(gateway_api=gateway_api)
    if gateway_api:
        server.load_gateway_api()
    kubeconfig = str(server.write_kubeconfig(tmp_path / "kc"))
    first = run_cli(["gateways", "-A", "--kubeconfig", kubeconfig])
    assert first.code == 0, first.stderr
    assert GATEWAY_API_GROUP in _discovery(server.requests) and ISTIO_GROUP in _discovery(server.requests)
    home = Path(os.environ["HOME"])
    cache = home / ".kube" / "cache" / "meshctl" / "discovery"
    assert oct(cache.stat().st_mode & 0o777) == "0o700" and len(list(cache.iterdir())) == 1
    for command in (["gateways", "-A"], ["vs", "-A"], ["analyze", "-A"]):
        server.requests.clear()
        again = run_cli([*command, "--kubeconfig", kubeconfig])
        assert again.code in (0, 1), again.stderr
        assert _discovery(server.requests) == [], command
    server.requests.clear()
    assert _without_age(run_cli(["gateways", "-A", "--kubeconfig", kubeconfig]).stdout) == _without_age(first.stdout)
    routes = run_cli(["hr", "-A", "--kubeconfig", kubeconfig])
    assert (routes.code == 0) is gateway_api
    # --no-cache asks again; a corrupt entry is a miss
    server.requests.clear()
    assert _without_age(run_cli(["gateways", "-A", "--no-cache", "--kubeconfig", kubeconfig]).stdout) == _without_age(
        first.stdout
    )
    assert GATEWAY_API_GROUP in _discovery(server.requests)
    for entry in cache.iterdir():
        entry.write_text("{not json")
    server.requests.clear()
    assert _without_age(run_cli(["gateways", "-A", "--kubeconfig", kubeconfig]).stdout) == _without_age(first.stdout)
    assert GATEWAY_API_GROUP in _discovery(server.requests)


def test_stale_discovery_is_discovered_again(fake_api_factory: Any, tmp_path: Path) -> None:
    server = fake_api_factory(gateway_api=True)
    server.load_gateway_api()
    kubeconfig = str(server.write_kubeconfig(tmp_path / "kc"))
    with_crds = run_cli(["gateways", "-A", "--kubeconfig", kubeconfig])
    assert "shop" in with_crds.stdout
    # the Gateway API's CRDs removed: the cached versions answer 404, discovered again once
    server.gateway_api = False
    server.requests.clear()
    without = run_cli(["gateways", "-A", "--kubeconfig", kubeconfig])
    assert without.code == 0, without.stderr
    assert "shop" not in without.stdout and _discovery(server.requests).count(GATEWAY_API_GROUP) == 1
    # installed again: hr needs them, so a cached "not served" is checked with the cluster
    server.gateway_api = True
    server.requests.clear()
    routes = run_cli(["hr", "-A", "--kubeconfig", kubeconfig])
    assert routes.code == 0 and " store " in routes.stdout, routes.stderr
    assert _discovery(server.requests).count(GATEWAY_API_GROUP) == 1


def test_discovery_cache_entries_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECACHEDIR", str(tmp_path / "c"))
    answers: dict[str, Any] = {"/apis/x": {"versions": []}, "/apis/y": None}
    discovery_cache.store("https://a", answers)
    loaded = discovery_cache.load("https://a")
    assert loaded is not None and loaded[0] == answers
    assert discovery_cache.load("https://b") is None  # keyed by server
    assert discovery_cache.load("https://a", now=loaded[1] + discovery_cache.TTL + 1) is None  # too old
    path = next((tmp_path / "c" / "meshctl" / "discovery").iterdir())
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    for bad in ("[]", '{"schema":1,"server":"https://a","time":1e18,"answers":{}}', json.dumps({"answers": 1})):
        path.write_text(bad)
        assert discovery_cache.load("https://a") is None
    entry = {"schema": 1, "server": "https://a", "time": loaded[1], "answers": {"/apis/x": [1]}}
    path.write_text(json.dumps(entry))
    assert discovery_cache.load("https://a") is None
    os.chmod(tmp_path / "c" / "meshctl", 0o777)  # someone else could write: not trusted
    path.write_text(json.dumps({**entry, "answers": answers}))
    assert discovery_cache.load("https://a") is None


# ----------------------------------------------------------------------------- kubeconfig scalars that start with a digit

SCALARS = [
    "0123abc", "0123", "0129", "09", "0", "-0", "+0", "123", "-123", "+123", "1_000", "0x1f", "0x1g", "0b101", "0b102",
    "0o17", "1e3", "1E3", "1e+3", "1.5", "1.", "1.e+3", "1.5e-3", "12:30", "1:2:3", "190:20:30.15", "12:70",
    "2024-01-02", "2024-1-2", "2024-01-02T10:00:00Z", "2024-01-02 10:00:00", "2024-01-02x", "1a2b3c4d",
    "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "1 2", "1,2", "1[2]", "1{x}", "123abc #comment", "0123abc#x", "1-", "1+",
    "-1abc", "+1abc", "-1.5", "-1:30", "8080", "99999999999999999999", "1__2", "0_7", "0_8", "00", "0.", "1_2.3_4",
    "123456789012345678901234567890abcdef", "7d0f5c2a-token", "1:", "1::2",
]  # fmt: skip


@pytest.mark.parametrize("scalar", SCALARS)
def test_digit_scalars_read_as_yaml_reads_them(scalar: str) -> None:
    for text in (f"token: {scalar}\n", f"args:\n- {scalar}\n- x\n"):
        try:
            expected = yaml.safe_load(text)
        except yaml.YAMLError:
            assert kubeconfig_yaml.load(text) is None
            continue
        got = kubeconfig_yaml.load(text)
        if got is not None:
            assert got == expected and repr(got) == repr(expected), text


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789_:.-+eExXobB aT#Z", min_size=1, max_size=12).filter(lambda t: t[0] in "0123456789-+"))
def test_generated_digit_scalars_agree_with_pyyaml(scalar: str) -> None:
    text = f"token: {scalar}\n"
    try:
        expected = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):  # PyYAML's int() fails on some (0b_): the subset reader must decline them
        assert kubeconfig_yaml.load(text) is None
        return
    got = kubeconfig_yaml.load(text)
    assert got is None or (got == expected and repr(got) == repr(expected)), text


def test_a_token_that_starts_with_a_digit_does_not_import_pyyaml(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n"
        "contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: 0123abcdef.x9\n"
    )
    code = (
        "import sys\nfrom kubectl_meshctl.kube.kubeconfig import resolve\n"
        f"r = resolve(kubeconfig={str(kubeconfig)!r}, context=None, namespace=None)\n"
        "print('yaml' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_cluster_commands_do_not_import_pyyaml(fake_api_factory: Any, tmp_path: Path) -> None:
    """A cluster read has no YAML in it: cold and warm listings and ``analyze -A`` start without PyYAML's import."""
    server = fake_api_factory()
    kubeconfig = str(server.write_kubeconfig(tmp_path / "kc"))
    code = (
        "import sys\nfrom kubectl_meshctl.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('yaml imported' if 'yaml' in sys.modules else '')\n"
    )
    for args in (["gateways", "-A", "--no-cache"], ["gateways", "-A"], ["vs", "-A"], ["analyze", "-A"]):
        done = subprocess.run(
            [sys.executable, "-c", code, *args, "--kubeconfig", kubeconfig],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
            timeout=60,
        )
        assert done.stdout.strip(), args
        assert "yaml imported" not in done.stderr, args


def test_a_warm_listing_imports_no_core(fake_api_factory: Any, tmp_path: Path) -> None:
    """A listing-cache hit renders the cached rows: the model, the translation, the findings, PyYAML and Python's
    ``dataclasses`` (4.5 ms to import with ``inspect``, half a millisecond a class) stay unimported: each costs
    milliseconds of a ~80 ms run kubectl is measured against."""
    server = fake_api_factory()
    kubeconfig = str(server.write_kubeconfig(tmp_path / "kc"))
    heavy = [
        "yaml",
        "kubectl_meshctl.resources.model",
        "kubectl_meshctl.istio",
        "kubectl_meshctl.analysis.findings",
        "dataclasses",
    ]
    code = (
        "import sys\nfrom kubectl_meshctl.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        f"sys.stderr.write('\\nimported:' + ' '.join(m for m in {heavy!r} if m in sys.modules))\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, "gateways", "-A", "--kubeconfig", kubeconfig],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
            timeout=60,
        )
        for _ in range(2)
    ]
    assert all(run.stdout.strip() for run in runs)
    imported = [run.stderr.rpartition("imported:")[2].split() for run in runs]
    assert set(imported[0]) >= set(heavy[1:])  # the first run (a miss) analyses: the test can tell
    assert imported[1] == []  # the second hits the cache


def test_a_killed_runs_temporary_discovery_file_goes_after_an_hour() -> None:
    """A run killed between writing and renaming leaves ``.tmp-*``; the next store removes it once it is an hour old
    (as the listing cache does), and leaves younger ones and other files alone."""
    discovery_cache.store("https://a", {"/apis/x": None})
    directory = discovery_cache.cache_dir()
    old, young = directory / ".tmp-0123456789abcdef", directory / ".tmp-fedcba9876543210"
    foreign = directory / "notes.txt"
    for path in (old, young, foreign):
        path.write_bytes(b"{")
    os.utime(old, (1, 1))
    os.utime(foreign, (1, 1))
    discovery_cache.store("https://b", {"/apis/y": None})
    assert not old.exists()
    assert young.exists() and foreign.exists()
    assert discovery_cache.load("https://a") is not None and discovery_cache.load("https://b") is not None
