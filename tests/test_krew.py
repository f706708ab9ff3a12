"""krew packaging: ``krew-manifest.yaml`` and the release archive obey krew's rules.

The validator below is test code, transcribed from kubernetes-sigs/krew:

* ``internal/index/validation/validate.go`` (``ValidatePlugin``, ``validatePlatform``,
  ``validateFiles``, ``validateSelector``, ``IsSafePluginName``),
* ``internal/installation/semver`` (versions need a leading ``v`` and must parse as semver),
* ``cmd/validate-krew-manifest/main.go`` (each platform matches a supported os/arch pair, no two
  platforms select the same pair, line lengths of shortDescription/description/caveats, a LICENSE
  file is installed),

plus krew-index review rules (naming guide: lowercase kebab-case, no ``kubectl`` in the name; an https
``uri``; a ``description``; the archive is tar.gz or zip holding only regular files and directories).
Every rule has a mutated manifest (or archive) that must fail.

The end of the file takes the path a krew user takes: the built archive (the script ``kubectl-meshctl``, its
payload ``kubectl_meshctl.zip`` and LICENSE) is checked against the manifest's sha256, unpacked, moved and linked
the way ``kubectl krew install`` does, and run as ``kubectl meshctl`` through the real kubectl with nothing on PATH
but the krew ``bin`` directory, the system ``python3`` and kubectl.
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import extract_release
from fakeapi.fixtures import find_kubectl
from fakeapi.server import FakeApiServer

from kubectl_meshctl import __version__
from kubectl_meshctl.krew_launcher import PAYLOAD
from kubectl_meshctl.routes.dump import load_route_dump
from kubectl_meshctl.routes.output import render_routes_json

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "krew-manifest.yaml"
BUILD = REPO / "scripts" / "build-krew"

# ---------------------------------------------------------------------------------------------
# the validator (krew's rules, in krew's order)
# ---------------------------------------------------------------------------------------------

API_VERSION = "krew.googlecontainertools.github.com/v1alpha2"
SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")  # Go's `^[\w-]+$` (\w is ASCII in RE2)
WINDOWS_FORBIDDEN = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SHA256 = re.compile(r"^[a-f0-9]{64}$")
# k8s.io/apimachinery/pkg/util/version.ParseSemantic, with krew's mandatory leading "v"
_NUM = r"(0|[1-9][0-9]*)"
_PRE_ID = r"(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
SEMVER = re.compile(rf"^v{_NUM}\.{_NUM}\.{_NUM}(-{_PRE_ID}(\.{_PRE_ID})*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")
# cmd/validate-krew-manifest allPlatforms()
ALL_PLATFORMS = [
    ("windows", "386"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
]
LICENSE_FILES = {"license", "license.txt", "license.md", "licenses", "licenses.txt", "licenses.md", "copying", "copying.txt"}


def _line_length_ok(text: str, max_len: int) -> bool:
    """validateLineLength: a longer line is allowed only if it is a single word."""
    return all(len(line) <= max_len or " " not in line.strip() for line in text.split("\n"))


def _selector_matches(sel: dict[str, Any], os_: str, arch: str) -> bool:
    """metav1.LabelSelectorAsSelector(sel).Matches({os, arch})."""
    labels = {"os": os_, "arch": arch}
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in sel.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _selector_errors(sel: Any) -> list[str]:
    if sel is None:
        return ["nil selector is not supported"]
    labels, exprs = sel.get("matchLabels"), sel.get("matchExpressions")
    if labels is None and not exprs:
        return ["empty selector is not supported"]
    keys = list(labels or {}) + [e.get("key") for e in exprs or []]
    for key in keys:
        if key not in ("os", "arch"):
            return [f"key {key!r} not supported"]
    if labels is not None and len(labels) == 0:
        return ["`matchLabels` specified but empty"]
    if exprs is not None and len(exprs) == 0:
        return ["`matchExpressions` specified but empty"]
    return []


def _platform_errors(i: int, p: dict[str, Any]) -> list[str]:
    errs: list[str] = []
    if not p.get("uri"):
        errs.append(f"platforms[{i}]: `uri` has to be set")
    elif not str(p["uri"]).startswith("https://"):
        errs.append(f"platforms[{i}]: `uri` must be https")
    if not p.get("sha256"):
        errs.append(f"platforms[{i}]: `sha256` sum has to be set")
    elif not SHA256.match(str(p["sha256"])):
        errs.append(f"platforms[{i}]: `sha256` value is not valid, must match {SHA256.pattern}")
    if not p.get("bin"):
        errs.append(f"platforms[{i}]: `bin` has to be set")
    files = p.get("files")
    if files is not None:
        if len(files) == 0:
            errs.append(f"platforms[{i}]: `files` has to be unspecified or non-empty")
        for op in files:
            if not op.get("from"):
                errs.append(f"platforms[{i}]: `from` field has to be set")
            elif not op.get("to"):
                errs.append(f"platforms[{i}]: `to` field has to be set")
        if not any(os.path.basename(str(op.get("from", ""))).lower() in LICENSE_FILES for op in files):
            errs.append(f"platforms[{i}]: no LICENSE (or alike) file is installed by `files`")
    errs += [f"platforms[{i}]: invalid platform selector: {e}" for e in _selector_errors(p.get("selector"))]
    return errs


def krew_errors(m: Any, name: str = "meshctl") -> list[str]:
    """All krew rule violations of manifest ``m`` as if stored as ``plugins/<name>.yaml`` in krew-index."""
    if not isinstance(m, dict):
        return ["manifest is not a mapping"]
    errs: list[str] = []
    if m.get("apiVersion") != API_VERSION:
        errs.append(f"apiVersion={m.get('apiVersion')!r} not supported")
    if m.get("kind") != "Plugin":
        errs.append(f"kind={m.get('kind')!r}, only 'Plugin' is supported")
    if not SAFE_NAME.match(name) or name.upper() in WINDOWS_FORBIDDEN:
        errs.append(f"plugin name {name!r} is not allowed")
    meta_name = (m.get("metadata") or {}).get("name")
    if meta_name != name:
        errs.append(f"plugin should be named {name!r}, not {meta_name!r}")
    if not isinstance(meta_name, str) or not KEBAB.match(meta_name):
        errs.append("naming guide: name must be lowercase kebab-case")
    elif "kubectl" in meta_name.split("-") or meta_name.startswith("kube"):
        errs.append("naming guide: name must not repeat kubectl (it is invoked as `kubectl <name>`)")
    spec = m.get("spec") or {}
    short = spec.get("shortDescription") or ""
    if not short:
        errs.append("should have a short description")
    elif re.search(r"[\r\n]", short):
        errs.append("should not have line breaks in short description")
    elif len(short) > 70:
        errs.append("shortDescription exceeds 70 characters")
    if not (spec.get("description") or "").strip():
        errs.append("should have a description")
    elif not _line_length_ok(spec["description"], 80):
        errs.append("line length in `description` exceeds 80 characters")
    if not _line_length_ok(spec.get("caveats") or "", 80):
        errs.append("line length in `caveats` exceeds 80 characters")
    platforms = spec.get("platforms") or []
    if not platforms:
        errs.append("should have a platform specified")
    version = spec.get("version") or ""
    if not version:
        errs.append("should have a version specified")
    elif not version.startswith("v"):
        errs.append(f"version string {version!r} not starting with 'v'")
    elif not SEMVER.match(version):
        errs.append(f"failed to parse plugin version {version!r}")
    for i, p in enumerate(platforms):
        errs += _platform_errors(i, p)
    if errs:
        return errs
    for i, p in enumerate(platforms):
        if not any(_selector_matches(p["selector"], o, a) for o, a in ALL_PLATFORMS):
            errs.append(f"spec.platform[{i}]'s selector doesn't match any supported platforms")
    for o, a in ALL_PLATFORMS:
        hits = [i for i, p in enumerate(platforms) if _selector_matches(p["selector"], o, a)]
        if len(hits) > 1:
            errs.append(f"multiple spec.platforms (at indexes {hits}) have overlapping selectors that select {o}/{a}")
    return errs


def archive_errors(data: bytes, platform: dict[str, Any] | None = None) -> list[str]:
    """krew-index review of a release archive: tar.gz or zip, only regular files and directories,
    a LICENSE, and (given a platform) every ``files[].from`` and the ``bin`` present."""
    entries: dict[str, str] = {}  # name -> "file" | "dir" | "other"
    if data[:2] == b"\x1f\x8b":
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
                for ti in tf.getmembers():
                    entries[ti.name.rstrip("/")] = "file" if ti.isreg() else "dir" if ti.isdir() else "other"
        except tarfile.TarError as exc:
            return [f"not a tar.gz: {exc}"]
    elif data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for zi in zf.infolist():
                mode = (zi.external_attr >> 16) & 0o170000
                kind = "dir" if zi.is_dir() else "file" if mode in (0, 0o100000) else "other"
                entries[zi.filename.rstrip("/")] = kind
    else:
        return ["archive is neither tar.gz nor zip"]
    errs = [f"{n}: not a regular file or directory" for n, k in sorted(entries.items()) if k == "other"]
    if not any(k == "file" and os.path.basename(n).lower() in LICENSE_FILES for n, k in entries.items()):
        errs.append("archive has no LICENSE (or alike) file")
    if platform is not None:
        for op in platform.get("files") or []:
            if entries.get(op["from"].rstrip("/")) is None:
                errs.append(f"files: {op['from']!r} not in archive")
        if entries.get(platform["bin"]) != "file":
            errs.append(f"bin {platform['bin']!r} is not a regular file in the archive")
    return errs


# ---------------------------------------------------------------------------------------------
# the real manifest
# ---------------------------------------------------------------------------------------------


def parse(text: str) -> Any:
    """Every scalar as a string, as krew's typed Go decoding reads them (a digits-only sha256 stays a string)."""
    return yaml.load(text, Loader=yaml.BaseLoader)


def load() -> dict[str, Any]:
    data = parse(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_manifest_passes_krew_validation() -> None:
    assert krew_errors(load()) == []


def test_manifest_version_is_package_version() -> None:
    assert load()["spec"]["version"] == f"v{__version__}"


def test_manifest_platforms_are_linux_darwin_amd64_arm64() -> None:
    selected = {(p["selector"]["matchLabels"]["os"], p["selector"]["matchLabels"]["arch"]) for p in load()["spec"]["platforms"]}
    assert selected == {(o, a) for o in ("linux", "darwin") for a in ("amd64", "arm64")}


def test_manifest_release_uri_and_python_caveat() -> None:
    m = load()
    v = m["spec"]["version"]
    for p in m["spec"]["platforms"]:
        assert p["uri"] == f"https://github.com/kubectl-meshctl/kubectl-meshctl/releases/download/{v}/kubectl-meshctl-{v}.tar.gz"
        assert p["bin"] == "kubectl-meshctl"
    assert "Python >= 3.10" in m["spec"]["caveats"]


def test_manifest_installs_the_script_beside_its_payload() -> None:
    """krew links only ``bin``; the script finds its payload beside its real path, so both land in the same place."""
    for p in load()["spec"]["platforms"]:
        assert sorted((op["from"], op["to"]) for op in p["files"]) == [("LICENSE", "."), ("kubectl-meshctl", "."), (PAYLOAD, ".")]


def test_license_is_apache_2() -> None:
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("Apache License\n                           Version 2.0, January 2004")
    assert "END OF TERMS AND CONDITIONS" in text
    assert hashlib.md5(text.encode()).hexdigest() == "3b83ef96387f14655fc854ddc3c6bd57"  # apache.org's LICENSE-2.0.txt


def test_changelog_has_the_release() -> None:
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{__version__}] - Unreleased" in text


# ---------------------------------------------------------------------------------------------
# every rule rejects a mutated manifest
# ---------------------------------------------------------------------------------------------


def _set(path: str, value: Any) -> Any:
    def mutate(m: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = m
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is _DELETE:
            del node[int(last) if isinstance(node, list) else last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


_DELETE = object()
_P0 = "spec.platforms.0"

MUTATIONS: dict[str, Any] = {
    "apiVersion": ("apiVersion=", _set("apiVersion", "krew.googlecontainertools.github.com/v1alpha1")),
    "kind": ("kind=", _set("kind", "Plugins")),
    "name differs from file name": ("should be named", _set("metadata.name", "mesh-ctl")),
    "name not lowercase kebab": ("kebab-case", _set("metadata.name", "MeshCtl")),
    "name repeats kubectl": ("repeat kubectl", _set("metadata.name", "kubectl-meshctl")),
    "no shortDescription": ("short description", _set("spec.shortDescription", _DELETE)),
    "multi-line shortDescription": ("line breaks", _set("spec.shortDescription", "Analyse Istio routing\nand more")),
    "long shortDescription": (
        "70 characters",
        _set("spec.shortDescription", "Analyse Istio ingress gateway routing and find the unreachable routing rules"),
    ),
    "no description": ("should have a description", _set("spec.description", "")),
    "description line too long": ("`description` exceeds", _set("spec.description", "word " * 20 + "\n")),
    "caveats line too long": ("`caveats` exceeds", _set("spec.caveats", "word " * 20 + "\n")),
    "no version": ("version specified", _set("spec.version", _DELETE)),
    "version without v": ("not starting with 'v'", _set("spec.version", "0.1.0")),
    "version not semver": ("failed to parse", _set("spec.version", "v0.1")),
    "version leading zero": ("failed to parse", _set("spec.version", "v0.01.0")),
    "no platforms": ("platform specified", _set("spec.platforms", [])),
    "no uri": ("`uri` has to be set", _set(f"{_P0}.uri", _DELETE)),
    "http uri": ("must be https", _set(f"{_P0}.uri", "http://example.com/kubectl-meshctl.tar.gz")),
    "no sha256": ("`sha256` sum", _set(f"{_P0}.sha256", _DELETE)),
    "uppercase sha256": ("not valid", _set(f"{_P0}.sha256", "A" * 64)),
    "short sha256": ("not valid", _set(f"{_P0}.sha256", "a" * 63)),
    "no bin": ("`bin`", _set(f"{_P0}.bin", _DELETE)),
    "empty files": ("unspecified or non-empty", _set(f"{_P0}.files", [])),
    "files without from": ("`from`", _set(f"{_P0}.files.0.from", "")),
    "files without to": ("`to`", _set(f"{_P0}.files.0.to", _DELETE)),
    "files without LICENSE": ("LICENSE", _set(f"{_P0}.files", [{"from": "kubectl-meshctl", "to": "."}])),
    "no selector": ("nil selector", _set(f"{_P0}.selector", _DELETE)),
    "empty selector": ("empty selector", _set(f"{_P0}.selector", {})),
    "empty matchLabels": (
        "`matchLabels` specified but empty",
        _set(f"{_P0}.selector", {"matchLabels": {}, "matchExpressions": [{"key": "os", "operator": "In", "values": ["linux"]}]}),
    ),
    "empty matchExpressions": (
        "`matchExpressions` specified but empty",
        _set(f"{_P0}.selector", {"matchLabels": {"os": "linux"}, "matchExpressions": []}),
    ),
    "unsupported selector key": ("not supported", _set(f"{_P0}.selector.matchLabels.distro", "debian")),
    "selector matches no platform": ("doesn't match any supported", _set(f"{_P0}.selector.matchLabels.arch", "riscv64")),
    "overlapping selectors": ("overlapping", _set(f"{_P0}.selector", {"matchLabels": {"os": "linux"}})),
    "overlapping via matchExpressions": (
        "overlapping",
        _set(f"{_P0}.selector", {"matchExpressions": [{"key": "os", "operator": "NotIn", "values": ["windows"]}]}),
    ),
}


@pytest.mark.parametrize("rule", sorted(MUTATIONS))
def test_every_rule_rejects_its_mutation(rule: str) -> None:
    expected, mutate = MUTATIONS[rule]
    m = copy.deepcopy(load())
    mutate(m)
    file_name = "meshctl" if rule == "name differs from file name" else m["metadata"]["name"]
    errs = krew_errors(m, name=file_name)
    assert any(expected in e for e in errs), (rule, errs)


@pytest.mark.parametrize("name", ["mesh ctl", "meshctl.exe", "CON", "lpt1"])
def test_unsafe_index_file_names_are_rejected(name: str) -> None:
    m = copy.deepcopy(load())
    m["metadata"]["name"] = name
    assert any("is not allowed" in e for e in krew_errors(m, name=name))


def test_distinct_matchexpressions_selectors_are_accepted() -> None:
    m = copy.deepcopy(load())
    m["spec"]["platforms"][0]["selector"] = {
        "matchExpressions": [
            {"key": "os", "operator": "In", "values": ["linux"]},
            {"key": "arch", "operator": "In", "values": ["amd64"]},
        ]
    }
    assert krew_errors(m) == []


# ---------------------------------------------------------------------------------------------
# archive rules
# ---------------------------------------------------------------------------------------------


def _tar(members: list[tuple[str, str]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, kind in members:
            ti = tarfile.TarInfo(name)
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                tf.addfile(ti)
            elif kind == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, "LICENSE"
                tf.addfile(ti)
            else:
                ti.size = 2
                tf.addfile(ti, io.BytesIO(b"x\n"))
    return buf.getvalue()


def _zip(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n in names:
            zf.writestr(n, "x\n")
    return buf.getvalue()


GOOD = [("LICENSE", "file"), ("kubectl-meshctl", "file"), (PAYLOAD, "file")]


def test_archive_rules_accept_good_archives() -> None:
    platform = load()["spec"]["platforms"][0]
    assert archive_errors(_tar(GOOD), platform) == []
    assert archive_errors(_tar([("docs", "dir"), ("docs/COPYING.txt", "file")])) == []
    assert archive_errors(_zip(["LICENSE", "kubectl-meshctl", PAYLOAD]), platform) == []


@pytest.mark.parametrize(
    ("case", "data"),
    [
        ("symlink", _tar([*GOOD, ("kubectl-meshctl-link", "symlink")])),
        ("no LICENSE", _tar([("kubectl-meshctl", "file"), (PAYLOAD, "file")])),
        ("not an archive", b"#!/usr/bin/env python3\n"),
        ("plain tar", b"ustar" + bytes(600)),
        ("missing bin", _tar([("LICENSE", "file"), (PAYLOAD, "file")])),
        ("bin is a directory", _tar([("LICENSE", "file"), ("kubectl-meshctl", "dir"), (PAYLOAD, "file")])),
        ("missing payload", _tar([("LICENSE", "file"), ("kubectl-meshctl", "file")])),
    ],
)
def test_archive_rules_reject(case: str, data: bytes) -> None:
    assert archive_errors(data, load()["spec"]["platforms"][0]) != [], case


# ---------------------------------------------------------------------------------------------
# the release build
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, float]:
    if os.environ.get("MESHCTL_SKIP_KREW_BUILD"):
        pytest.skip("MESHCTL_SKIP_KREW_BUILD is set: the build pip-installs kubernetes and its deps (~15-30 s)")
    tmp = tmp_path_factory.mktemp("krew")
    manifest = tmp / "krew-manifest.yaml"
    manifest.write_bytes(MANIFEST.read_bytes())
    version = f"v{__version__}"
    started = time.monotonic()
    cmd = [sys.executable, str(BUILD), version, "--manifest", str(manifest), "--dist", str(tmp / "dist")]
    subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, timeout=240)
    return tmp / "dist" / f"kubectl-meshctl-{version}.tar.gz", manifest, time.monotonic() - started


def test_build_writes_manifest_matching_archive(built: tuple[Path, Path, float]) -> None:
    archive, manifest, _ = built
    data = archive.read_bytes()
    m = parse(manifest.read_text(encoding="utf-8"))
    assert krew_errors(m) == []
    for p in m["spec"]["platforms"]:
        assert p["sha256"] == hashlib.sha256(data).hexdigest()
        assert archive_errors(data, p) == []
    # only version, uri and sha256 lines differ from the committed manifest
    changed = [b for a, b in zip(MANIFEST.read_text().splitlines(), manifest.read_text().splitlines(), strict=True) if a != b]
    assert all(re.match(r"\s*(version|uri|sha256):", line) for line in changed)


def test_build_archive_is_reproducible_and_runs(
    built: tuple[Path, Path, float], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, manifest, _ = built
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # where the script unpacks its payload: not the user's
    monkeypatch.delenv("KUBECTL_MESHCTL_NO_EXTRACT", raising=False)
    again = tmp_path / "dist"
    cmd = [sys.executable, str(BUILD), f"v{__version__}", "--manifest", str(tmp_path / "m.yaml"), "--dist", str(again)]
    (tmp_path / "m.yaml").write_bytes(manifest.read_bytes())
    subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, timeout=240)
    assert (again / archive.name).read_bytes() == archive.read_bytes()

    with tarfile.open(archive) as tf:
        names = sorted(tf.getnames())
        extract_release(tf, tmp_path / "x")
    assert names == ["LICENSE", "kubectl-meshctl", PAYLOAD]
    exe, payload = tmp_path / "x" / "kubectl-meshctl", tmp_path / "x" / PAYLOAD
    assert exe.read_bytes().startswith(b'#!/usr/bin/env python3\n"""')  # a plain script, the launcher's docstring first
    assert not zipfile.is_zipfile(exe)
    assert os.access(exe, os.X_OK)
    assert zipfile.is_zipfile(payload)
    assert stat.S_IMODE(payload.stat().st_mode) == 0o644  # read, never run
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout == f"kubectl-meshctl {__version__}\n"
    assert len(list((tmp_path / "cache" / "kubectl-meshctl").iterdir())) == 1  # unpacked there
    seed = REPO / "examples" / "seed.yaml"
    res = subprocess.run([str(exe), "analyze", "-f", str(seed)], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert "IST0130" in res.stdout, res.stderr
    # -o json needs the package data next to routes/protojson.py: from the unpacked copy, and from the zip itself
    dump = REPO / "tests" / "golden-routes" / "routes" / "istio-gateway-http-route-prefix" / "configdump.json"
    expected = render_routes_json(load_route_dump(dump.read_bytes()))
    for cache_off in ("0", "1"):
        res = subprocess.run(
            [str(exe), "routes", "-f", str(dump), "-o", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "KUBECTL_MESHCTL_NO_EXTRACT": cache_off},
        )
        assert res.returncode == 0, res.stderr
        assert res.stdout == expected
    # the vendored kubernetes client imports from the payload without compiled extensions
    code = "import kubernetes.client, yaml; assert not yaml.__with_libyaml__"
    subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(payload)!r}); {code}"], check=True, timeout=60)
    # kubectl's plugin completion: the same file under the name kubectl_complete-meshctl
    link = tmp_path / "x" / "kubectl_complete-meshctl"
    link.symlink_to("kubectl-meshctl")
    out = subprocess.run([str(link), "an"], capture_output=True, text=True, timeout=60)
    assert "analyze" in out.stdout


# ---------------------------------------------------------------------------------------------
# the path a krew user takes: `kubectl krew install`, then `kubectl meshctl …` with the system python3
# ---------------------------------------------------------------------------------------------
# krew's install, transcribed as test code from kubernetes-sigs/krew:
#   internal/installation/platform.go   GetMatchingPlatform: the first platform whose selector matches os/arch
#   internal/download/downloader.go     the archive is read whole and its sha256 verified; tar.gz entries with ".."
#                                       or a leading / or \ are refused, only directories and regular files are
#                                       written (with the header's mode), pax_global_header is skipped
#   internal/installation/install.go    applyDefaults (no `files` = [{from: "*", to: "."}]), the `bin` must stay in
#                                       the install dir, createOrUpdateLink/pluginNameToBin ("kubectl-" + name with
#                                       "-" → "_"): absolute symlinks in krew <= v0.4.5, relative ones since PR #894
#   internal/installation/move.go       findMoveTargets: `to` must be clean; an existing `from` moves directly
#                                       (to "." keeps its base name), else `from` is a glob moved into `to`; the
#                                       result is renamed to store/<name>/<version>


class KrewInstallError(Exception):
    pass


def _is_subpath(base: Path, path: Path) -> bool:
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(base))
    return rel != ".." and not rel.startswith(".." + os.sep)


def krew_platform(m: dict[str, Any], os_: str, arch: str) -> dict[str, Any]:
    for p in m["spec"]["platforms"]:
        if _selector_matches(p["selector"], os_, arch):
            return dict(p)
    raise KrewInstallError(f"plugin {m['metadata']['name']!r} does not offer installation for this platform")


def krew_extract(data: bytes, sha256: str, target: Path) -> None:
    if hashlib.sha256(data).hexdigest() != sha256:
        raise KrewInstallError(f"checksum does not match, want: {sha256}, got {hashlib.sha256(data).hexdigest()}")
    if data[:2] != b"\x1f\x8b":
        raise KrewInstallError("only the tar.gz extractor is transcribed (the release archive is tar.gz)")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
        for ti in tf:
            if ti.name == "pax_global_header":
                continue
            if ".." in ti.name or ti.name.startswith(("/", "\\")):
                raise KrewInstallError(f"refusing to unpack archive with suspicious entry {ti.name!r}")
            path = target / ti.name
            if ti.isdir():
                path.mkdir(mode=ti.mode, parents=True, exist_ok=True)
            elif ti.isreg():
                path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                fd = os.open(path, os.O_CREAT | os.O_WRONLY, ti.mode)  # the umask applies, as in Go's os.OpenFile
                src = tf.extractfile(ti)
                assert src is not None
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(src, out)
            else:
                raise KrewInstallError(f"unable to handle file type {ti.type!r} for {ti.name!r} in tar")


def _glob(base: Path, pattern: str) -> list[Path]:
    """Go's filepath.Glob: segment by segment, ``*`` also matching a leading dot."""
    found = [base]
    for segment in pattern.split("/"):
        if not any(c in segment for c in "*?["):
            found = [p / segment for p in found if (p / segment).exists()]
        else:
            found = [p / n for p in found if p.is_dir() for n in sorted(os.listdir(p)) if fnmatch.fnmatchcase(n, segment)]
    return found


def krew_move(staging: Path, tmp: Path, op: dict[str, str]) -> None:
    to = op["to"]
    if to != os.path.normpath(to):
        raise KrewInstallError(f"the provided path is not clean, {to!r} should be {os.path.normpath(to)!r}")
    direct = Path(os.path.normpath(staging / op["from"]))
    if direct.exists():
        moves = [(direct, tmp / (direct.name if to == "." else to))]
    else:
        matched = _glob(staging, op["from"])
        if not matched:
            raise KrewInstallError(f"no files in the plugin archive matched the glob pattern={op['from']}")
        moves = [(src, tmp / to / src.name) for src in matched]
    for src, dst in moves:
        if not (_is_subpath(staging, src) and _is_subpath(tmp, dst)):
            raise KrewInstallError(f"can't move, move target {dst} is out of bounds")
        dst.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        os.rename(src, dst)


def krew_install(archive: Path, m: dict[str, Any], root: Path, work: Path, *, relative_link: bool) -> Path:
    """``kubectl krew install --manifest=M --archive=A`` for linux/amd64 into KREW_ROOT ``root``; returns the bin link."""
    name, version = m["metadata"]["name"], m["spec"]["version"]
    platform = krew_platform(m, "linux", "amd64")
    staging, tmp = work / "krew-downloads", work / "krew-temp-move"
    staging.mkdir(parents=True)
    krew_extract(archive.read_bytes(), platform["sha256"], staging)
    files = platform.get("files")
    if files is None:
        files = [{"from": "*", "to": "."}]
    tmp.mkdir(mode=0o755, parents=True)
    for op in files:
        krew_move(staging, tmp, op)
    install_dir = root / "store" / name / version
    install_dir.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    os.rename(tmp, install_dir)
    binary = install_dir / platform["bin"]
    if not _is_subpath(install_dir, binary):
        raise KrewInstallError(f"the fullPath {binary} does not extend the sub-fullPath {install_dir}")
    if not binary.exists():
        raise KrewInstallError(f"can't create symbolic link, source binary ({binary}) cannot be found in extracted archive")
    bin_dir = root / "bin"
    bin_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
    link = bin_dir / ("kubectl-" + name.replace("-", "_"))
    link.symlink_to(os.path.relpath(binary, bin_dir) if relative_link else binary)
    return link


def test_krew_install_emulation_refuses_what_krew_refuses(tmp_path: Path) -> None:
    m = load()
    good = _tar(GOOD)
    cases = {
        "sha256": (good, {}, "checksum does not match"),
        "dot-dot entry": (_tar([*GOOD, ("../evil", "file")]), {}, "suspicious entry"),
        "symlink entry": (_tar([*GOOD, ("kubectl-meshctl-link", "symlink")]), {}, "unable to handle"),
        "unclean to": (good, {"files": [{"from": "LICENSE", "to": "./x/"}]}, "not clean"),
        "no glob match": (good, {"files": [{"from": "bin/*", "to": "."}]}, "matched the glob"),
        "to escapes": (good, {"files": [{"from": "LICENSE", "to": "../LICENSE"}]}, "out of bounds"),
        "bin escapes": (good, {"bin": "../../kubectl-meshctl"}, "does not extend"),
        "bin missing": (good, {"bin": "kubectl-mesh"}, "cannot be found"),
        "payload missing": (_tar([("LICENSE", "file"), ("kubectl-meshctl", "file")]), {}, f"pattern={PAYLOAD}"),
    }
    for case, (data, changes, expected) in cases.items():
        mm = copy.deepcopy(m)
        platform = mm["spec"]["platforms"][0]
        platform["sha256"] = hashlib.sha256(data).hexdigest() if case != "sha256" else "0" * 64
        platform.update(changes)
        (tmp_path / case).mkdir()
        archive = tmp_path / case / "a.tar.gz"
        archive.write_bytes(data)
        with pytest.raises(KrewInstallError, match=expected):
            krew_install(archive, mm, tmp_path / case / "root", tmp_path / case / "work", relative_link=True)
    # no `files`: krew installs everything; a glob moves into `to`
    mm = copy.deepcopy(m)
    platform = mm["spec"]["platforms"][0]
    platform["sha256"] = hashlib.sha256(good).hexdigest()
    platform["files"] = [{"from": "kubectl-*", "to": "."}, {"from": "LICEN?E", "to": "doc"}]
    (tmp_path / "glob.tar.gz").write_bytes(good)
    link = krew_install(tmp_path / "glob.tar.gz", mm, tmp_path / "g", tmp_path / "gw", relative_link=False)
    store = tmp_path / "g" / "store" / "meshctl" / mm["spec"]["version"]
    assert sorted(p.relative_to(store).as_posix() for p in store.rglob("*")) == ["doc", "doc/LICENSE", "kubectl-meshctl"]
    assert os.readlink(link) == str(store / "kubectl-meshctl")


def _system_python3() -> str:
    """``python3`` as a krew user has it: this PATH without pyenv (shims and versions) and virtualenvs."""
    venvs = [os.environ.get("VIRTUAL_ENV") or "", sys.prefix if sys.prefix != sys.base_prefix else "", str(REPO)]
    keep = []
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        parts = Path(entry).parts
        if not entry or ".pyenv" in parts or "shims" in parts:
            continue
        if any(venv and _is_subpath(Path(venv), Path(entry)) for venv in venvs):
            continue
        keep.append(entry)
    found = shutil.which("python3", path=os.pathsep.join(keep))
    if found is None:
        pytest.skip(f"no system python3 on PATH without pyenv/virtualenv entries ({os.pathsep.join(keep)})")
    version = subprocess.run([found, "-c", "import sys; print(sys.version_info >= (3, 10))"], capture_output=True, text=True)
    if version.stdout.strip() != "True":
        pytest.skip(f"the system python3 ({found}) is older than 3.10, which the plugin needs")
    return found


def _cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


SEED_IST0130 = "Warning [IST0130] (VirtualService default/vs-gateway {}:17) VirtualService rule #1 not used (all matches used by prior rules)."


@pytest.mark.parametrize("link_style", ["absolute", "relative"])
def test_krew_user_runs_the_plugin_through_kubectl(
    built: tuple[Path, Path, float], fake_api: FakeApiServer, fake_kubeconfig: Path, tmp_path: Path, link_style: str
) -> None:
    python3 = _system_python3()
    kubectl = find_kubectl("1.32")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    archive, manifest, _ = built
    m = parse(manifest.read_text(encoding="utf-8"))
    version = m["spec"]["version"]
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == krew_platform(m, "linux", "amd64")["sha256"]

    # kubectl krew install --manifest=krew-manifest.yaml --archive=dist/kubectl-meshctl-vX.Y.Z.tar.gz
    root = tmp_path / "krew"
    link = krew_install(archive, m, root, tmp_path / "work", relative_link=link_style == "relative")
    store = root / "store" / "meshctl" / version
    assert sorted(p.name for p in store.iterdir()) == ["LICENSE", "kubectl-meshctl", PAYLOAD]
    assert (store / "LICENSE").read_bytes() == (REPO / "LICENSE").read_bytes()
    assert os.access(store / "kubectl-meshctl", os.X_OK)
    assert not os.access(store / PAYLOAD, os.X_OK)
    assert link == root / "bin" / "kubectl-meshctl"
    target = f"../store/meshctl/{version}/kubectl-meshctl" if link_style == "relative" else str(store / "kubectl-meshctl")
    assert os.readlink(link) == target
    assert sorted(os.listdir(root / "bin")) == ["kubectl-meshctl"]

    # PATH: the krew bin directory, and a directory holding only the system python3 and the real kubectl
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "python3").symlink_to(python3)
    (tools / "kubectl").symlink_to(kubectl)
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    assert not _is_subpath(REPO, cwd)
    env = {"PATH": os.pathsep.join([str(root / "bin"), str(tools)]), "HOME": str(home), "KUBECONFIG": str(fake_kubeconfig)}

    def kubectl_run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(tools / "kubectl"), *args], capture_output=True, text=True, env={**env, **extra_env}, cwd=cwd, timeout=120
        )

    listed = kubectl_run("plugin", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[-1] == str(link), listed.stdout
    assert "warning" not in listed.stderr.lower(), listed.stderr

    done = kubectl_run("meshctl", "--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"kubectl-meshctl {__version__}\n", "")

    seed = REPO / "examples" / "seed.yaml"
    done = kubectl_run("meshctl", "analyze", "-f", str(seed))
    # README, Exit codes: 0 — findings below --failure-threshold (default Error) do not change it
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == SEED_IST0130.format(seed)
    assert "[IST0131]" in done.stdout.splitlines()[1]
    assert done.stderr == ""
    done = kubectl_run("meshctl", "analyze", "-f", str(seed), "--failure-threshold", "Warning")
    assert done.returncode == 79, done.stderr  # a finding reached --failure-threshold; kubectl passes the code on
    assert done.stdout.splitlines()[0] == SEED_IST0130.format(seed)

    done = kubectl_run("meshctl", "gateways", "-A")
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()
    assert _cells(header) == ["NAMESPACE", "NAME", "SELECTOR", "SERVERS", "PODS", "VIRTUALSERVICES", "AGE"]
    assert _cells(row)[:6] == ["default", "gt-gateway", "istio=ingressgateway", "80/HTTP *", "1/1", "1"]
    assert done.stderr.strip() == "1 warning in default/vs-gateway: run kubectl meshctl analyze -A"
    assert any(r.path.endswith("/gateways") for r in fake_api.requests)

    # shell completion as the caveats say: kubectl (>= 1.26) runs kubectl_complete-meshctl from PATH
    assert 'ln -s kubectl-meshctl "${KREW_ROOT:-$HOME/.krew}/bin/kubectl_complete-meshctl"' in m["spec"]["caveats"]
    (root / "bin" / "kubectl_complete-meshctl").symlink_to("kubectl-meshctl")
    done = kubectl_run("__complete", "meshctl", "an")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["analyze", ":4"]

    # an exec credential plugin sends the plugin through the vendored official client (kubernetes==35.0.0,
    # pure Python) under the system python3; every module the payload carries must come from the payload
    exec_kubeconfig = fake_api.write_kubeconfig(tmp_path / "kubeconfig-exec", exec_credential=True)
    done = kubectl_run("meshctl", "gateways", "-A", KUBECONFIG=str(exec_kubeconfig), PYTHONVERBOSE="1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert _cells(done.stdout.splitlines()[1])[:2] == ["default", "gt-gateway"]
    with zipfile.ZipFile(store / PAYLOAD) as zf:
        vendored = {n.split("/")[0].removesuffix(".py") for n in zf.namelist()}
    vendored = {n for n in vendored if n.isidentifier()}
    assert {"kubectl_meshctl", "kubernetes", "yaml", "click", "urllib3", "certifi"} <= vendored
    imports = re.findall(r"^import '([\w.]+)' # (.*)$", done.stderr, flags=re.MULTILINE)
    ours = [(mod, loader) for mod, loader in imports if mod.split(".")[0] in vendored]
    assert "kubectl_meshctl.cli" in {mod for mod, _ in ours}
    # the script runs from the copy of its payload it unpacked on its first run (kubectl_meshctl/krew_launcher.py),
    # with bytecode, and never opens the zip: zipimport would read its whole directory first
    (build,) = (home / ".cache" / "kubectl-meshctl").iterdir()
    assert not re.search(r"^# zipimport: found \d+ names in", done.stderr, flags=re.MULTILINE)
    file_loader = re.compile(r"^<_frozen_importlib_external\.SourceFileLoader object")
    six_moves = re.compile(r"^<six\._SixMetaPathImporter object")  # six.moves.*: aliases of the standard library
    assert [(mod, loader) for mod, loader in ours if not (file_loader.match(loader) or six_moves.match(loader))] == []
    code = re.findall(r"^# code object from '?(.*?)'?$", done.stderr, flags=re.MULTILINE)
    assert any(p.startswith(f"{build}/kubectl_meshctl/__pycache__/") for p in code)
    installed = re.compile(rf"/(site|dist)-packages/(__pycache__/)?({'|'.join(sorted(vendored))})[/.]")
    assert [p for p in code if installed.search(p)] == []  # no vendored module from an installed copy
    assert str(REPO) not in done.stderr

    # and the whole vendored client imports under the system python3 from the installed payload
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import kubernetes.client, kubernetes.config, kubernetes.stream, yaml; "
        "assert kubernetes.__file__.startswith(sys.argv[1]), kubernetes.__file__; assert not yaml.__with_libyaml__"
    )
    done = subprocess.run(
        [str(tools / "python3"), "-c", code, str(store / PAYLOAD)], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )
    assert done.returncode == 0, done.stderr
