"""The krew release's script unpacks its payload zip once into a private cache and runs from there
(``kubectl_meshctl/krew_launcher.py``).

Why these tests exist: the plugin holds cluster credentials, and the directory the script imports from decides what
code runs next.  So every case runs the real release (``kubectl-meshctl`` and ``kubectl_meshctl.zip``, built by
``scripts/build-krew``) in real processes, with HOME and XDG_CACHE_HOME in temporary directories: the first run
unpacks, the next imports the unpacked copy with its bytecode and never opens the zip, and every directory that
cannot be trusted (a symlink, another owner, writable by others, never finished) or cannot be written is passed
over for the zip -- a planted ``kubectl_meshctl/__init__.py`` there would write a sentinel file if it ever ran.  The
output must always be what the zip alone prints.
"""

from __future__ import annotations

import ast
import functools
import glob
import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import extract_release
from test_krew import _system_python3

from kubectl_meshctl import __version__, krew_launcher

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "scripts" / "build-krew"
SEED = REPO / "examples" / "seed.yaml"
SCRIPT = "kubectl-meshctl"
PAYLOAD = krew_launcher.PAYLOAD
OTHER_UID = 65534  # nobody: the owner of the directories that are not ours, and the user the unwritable case runs as
RUN_LINE = re.compile(r"\nrun\('([0-9a-f]{32})', __file__\)\n\Z")
ZIP_READ = re.compile(r"^# zipimport: found \d+ names in", re.MULTILINE)
"""PYTHONVERBOSE's line when zipimport reads a zip's directory, which is what a run from the cache must never do."""
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# ---------------------------------------------------------------------------------------------
# the pure helpers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["kubectl_meshctl/__init__.py", "certifi/cacert.pem", "tzdata/zoneinfo/", "a", "a.b/c..d/...e", "x/y/z.py"],
)
def test_a_plain_member_name_is_unpacked_inside_the_directory(name: str, tmp_path: Path) -> None:
    assert krew_launcher.safe_member_name(name)
    target = krew_launcher.member_target(str(tmp_path), name)
    assert target.startswith(str(tmp_path) + os.sep)
    assert os.path.normpath(target) == target


@pytest.mark.parametrize(
    "name",
    [
        "",
        "/etc/passwd",
        "//host/x",
        "..",
        "../x",
        "a/../../x",
        "a/..",
        ".",
        "./a",
        "a/./b",
        "a//b",
        "/",
        "a\\..\\b",
        "C:/x",
        "a\0b",
    ],
)
def test_a_member_name_that_could_leave_the_directory_is_refused(name: str, tmp_path: Path) -> None:
    assert not krew_launcher.safe_member_name(name)
    with pytest.raises(ValueError, match="unsafe zip member"):
        krew_launcher.member_target(str(tmp_path), name)


def test_the_cache_root_is_xdg_cache_home_else_home_dot_cache() -> None:
    assert krew_launcher.cache_root("/x", "/h") == "/x/kubectl-meshctl"
    assert krew_launcher.cache_root("", "/h") == "/h/.cache/kubectl-meshctl"
    assert krew_launcher.cache_root("relative", "/h") == "/h/.cache/kubectl-meshctl"  # the XDG spec ignores it
    assert krew_launcher.cache_root("", "") == ""
    assert krew_launcher.cache_root("", "relative") == ""


def test_build_ids_and_temporary_names_are_recognised() -> None:
    assert krew_launcher.looks_like_build_id("0123456789abcdef" * 2)
    assert not krew_launcher.looks_like_build_id("0123456789ABCDEF" * 2)
    assert not krew_launcher.looks_like_build_id("0123456789abcdef")
    assert not krew_launcher.looks_like_build_id("notes")
    assert krew_launcher.looks_like_temp(".tmp-0123456789abcdef")
    assert not krew_launcher.looks_like_temp(".tmp-0123456789abcdeg")
    assert not krew_launcher.looks_like_temp(".tmp-")


def test_only_a_real_directory_of_ours_that_nobody_else_writes_is_private(tmp_path: Path) -> None:
    def private(path: Path) -> bool:
        return krew_launcher.is_private_dir(os.lstat(path))

    (tmp_path / "ours").mkdir(mode=0o700)
    assert private(tmp_path / "ours")
    for mode in (0o720, 0o702, 0o777):
        (tmp_path / oct(mode)).mkdir()
        (tmp_path / oct(mode)).chmod(mode)
        assert not private(tmp_path / oct(mode)), oct(mode)
    (tmp_path / "link").symlink_to(tmp_path / "ours")
    assert not private(tmp_path / "link")
    (tmp_path / "file").write_text("")
    (tmp_path / "file").chmod(0o600)
    assert not private(tmp_path / "file")
    if IS_ROOT:
        (tmp_path / "theirs").mkdir(mode=0o700)
        os.chown(tmp_path / "theirs", OTHER_UID, OTHER_UID)
        assert not private(tmp_path / "theirs")


def test_the_roots_parent_must_keep_others_from_swapping_the_root(tmp_path: Path) -> None:
    for mode, keeps in ((0o755, True), (0o775, True), (0o777, False), (0o1777, True), (0o700, True)):
        (tmp_path / oct(mode)).mkdir()
        (tmp_path / oct(mode)).chmod(mode)
        assert krew_launcher.parent_keeps_root(os.stat(tmp_path / oct(mode))) is keeps, oct(mode)


def test_the_chosen_path_takes_the_place_of_the_scripts_own_directory(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (tmp_path / "link").symlink_to(store)
    for first in (str(store), str(tmp_path / "link")):  # Python may leave a linked directory unresolved
        entries = [first, "/usr/lib/python3.11"]
        krew_launcher.put_first(entries, "/cache/build", script_dir=str(store))
        assert entries == ["/cache/build", "/usr/lib/python3.11"]
    for entries in (["/usr/lib/python311.zip", "/usr/lib/python3.11"], []):  # python3 -I or -P: no such entry
        before = list(entries)
        krew_launcher.put_first(entries, "/cache/build", script_dir=str(store))
        assert entries == ["/cache/build", *before]


def test_the_start_up_module_imports_only_the_standard_library_and_defines_on_any_python3() -> None:
    """Nothing of the package may be imported before the path is chosen, and an old python3 must get as far as the
    version check: no __future__ import, and annotations that evaluate on any Python 3."""
    tree = ast.parse(Path(krew_launcher.__file__).read_text(encoding="utf-8"))
    top_level = [alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names]
    assert set(top_level) <= {"os", "stat", "sys", "time"}
    assert not [node for node in tree.body if isinstance(node, ast.ImportFrom)]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            for annotation in [node.returns, *(a.annotation for a in arguments)]:
                if annotation is not None:  # a name, a dotted name, None or a string: no `X | None`, no `list[str]`
                    assert isinstance(annotation, (ast.Name, ast.Attribute, ast.Constant)), ast.unparse(annotation)


# ---------------------------------------------------------------------------------------------
# the release, run
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release archive, built now."""
    if os.environ.get("MESHCTL_SKIP_KREW_BUILD"):
        pytest.skip("MESHCTL_SKIP_KREW_BUILD is set: the build pip-installs kubernetes and its deps (~15-30 s)")
    tmp = tmp_path_factory.mktemp("krew-build")
    manifest = tmp / "krew-manifest.yaml"
    manifest.write_bytes((REPO / "krew-manifest.yaml").read_bytes())
    version = f"v{__version__}"
    cmd = [sys.executable, str(BUILD), version, "--manifest", str(manifest), "--dist", str(tmp / "dist")]
    subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, timeout=240)
    return tmp / "dist" / f"kubectl-meshctl-{version}.tar.gz"


def _unpack_release(archive: Path, into: Path) -> Path:
    """The script and its payload in ``into``, as krew's store holds them; returns the script."""
    with tarfile.open(archive) as tf:
        extract_release(tf, into, [SCRIPT, PAYLOAD])
    return into / SCRIPT


@pytest.fixture(scope="module")
def script(built: Path) -> Iterator[Path]:
    """The release's script beside its payload, in a directory any user may read (one case runs as another user)."""
    shared = Path(tempfile.mkdtemp(prefix="meshctl-release-"))
    shared.chmod(0o755)
    shutil.copyfile(SEED, shared / SEED.name)  # read as another user too: the checkout may be private (mktemp -d)
    (shared / SEED.name).chmod(0o644)
    yield _unpack_release(built, shared)
    shutil.rmtree(shared)


@pytest.fixture
def own_release(built: Path, tmp_path: Path) -> Path:
    """A copy of the release for one test to change."""
    (tmp_path / "store").mkdir()
    shutil.copyfile(SEED, tmp_path / "store" / SEED.name)
    return _unpack_release(built, tmp_path / "store")


@pytest.fixture(scope="module")
def build_id(script: Path) -> str:
    match = RUN_LINE.search(script.read_text(encoding="utf-8"))
    assert match is not None
    return match.group(1)


def _env(home: Path, cache: Path | None, **extra: str) -> dict[str, str]:
    """A user's environment: no PYTHONDONTWRITEBYTECODE (Python keeps bytecode as on a user's machine)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **extra}
    if cache is not None:
        env["XDG_CACHE_HOME"] = str(cache)
    return env


def _run(python: str, script: Path, *args: str, env: dict[str, str], user: int | None = None) -> subprocess.CompletedProcess[str]:
    as_user = {"user": user, "group": user, "extra_groups": []} if user is not None else {}
    return subprocess.run(
        [python, str(script), *args], capture_output=True, text=True, env=env, cwd=script.parent, timeout=120, **as_user
    )


COMMANDS = (("--version",), ("analyze", "-f", SEED.name))
"""Run in the script's directory, where the ``script`` fixture puts a copy of the seed example."""


@pytest.fixture(scope="module")
def reference(script: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, ...], tuple[int, str, str]]:
    """What the release prints when it runs from the zip (the opt-out), per command: (exit code, stdout, stderr).
    The opt-out leaves the cache alone."""
    tmp = tmp_path_factory.mktemp("reference")
    env = _env(tmp, tmp / "cache", KUBECTL_MESHCTL_NO_EXTRACT="1")
    found = {}
    for command in COMMANDS:
        done = _run(sys.executable, script, *command, env=env)
        found[command] = (done.returncode, done.stdout, done.stderr)
    assert found[("--version",)] == (0, f"kubectl-meshctl {__version__}\n", "")
    assert found[COMMANDS[1]][0] == 0 and "IST0130" in found[COMMANDS[1]][1]
    assert not (tmp / "cache").exists()
    return found


def _assert_like_the_zip(
    python: str,
    script: Path,
    reference: dict[tuple[str, ...], tuple[int, str, str]],
    *,
    env: dict[str, str],
    user: int | None = None,
) -> None:
    for command in COMMANDS:
        done = _run(python, script, *command, env=env, user=user)
        assert (done.returncode, done.stdout, done.stderr) == reference[command], done.stderr[-2000:]


def _imports(stderr: str) -> dict[str, str]:
    """Module -> loader of the package and two vendored modules, from PYTHONVERBOSE's output."""
    found = re.findall(r"^import '([\w.]+)' # (.*)$", stderr, flags=re.MULTILINE)
    return {mod: loader for mod, loader in found if mod.split(".")[0] in ("kubectl_meshctl", "click", "yaml")}


@pytest.fixture(params=["sys.executable", "system python3"])
def python(request: pytest.FixtureRequest) -> str:
    return sys.executable if request.param == "sys.executable" else _system_python3()


def test_the_first_run_unpacks_and_the_next_runs_import_the_copy_with_its_bytecode(
    python: str, script: Path, build_id: str, reference: dict[tuple[str, ...], tuple[int, str, str]], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"  # does not exist yet, as on a fresh account
    env = _env(tmp_path, cache)
    _assert_like_the_zip(python, script, reference, env=env)

    root, build = cache / "kubectl-meshctl", cache / "kubectl-meshctl" / build_id
    assert stat.S_IMODE(root.lstat().st_mode) == 0o700
    assert stat.S_IMODE(build.lstat().st_mode) == 0o700
    assert (build / ".complete").read_text() == build_id + "\n"
    assert sorted(os.listdir(root)) == [build_id]  # no temporary directory left behind
    with zipfile.ZipFile(script.parent / PAYLOAD) as zf:
        members = {n for n in zf.namelist() if not n.endswith("/")}
        unpacked = {p.relative_to(build).as_posix() for p in build.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
        assert unpacked == members | {".complete"}
        assert (build / "kubectl_meshctl" / "cli" / "__init__.py").read_bytes() == zf.read("kubectl_meshctl/cli/__init__.py")
    assert list((build / "kubectl_meshctl" / "__pycache__").glob("entry.*.pyc"))
    assert list((build / "click" / "__pycache__").glob("core.*.pyc"))

    # the next run imports every module of the package (and the vendored ones) from the copy's bytecode
    done = _run(python, script, *COMMANDS[1], env={**env, "PYTHONVERBOSE": "1"})
    assert (done.returncode, done.stdout) == reference[COMMANDS[1]][:2]
    loaded = _imports(done.stderr)
    assert {"kubectl_meshctl", "kubectl_meshctl.entry", "kubectl_meshctl.cli", "click", "yaml"} <= set(loaded)
    assert [mod for mod, loader in loaded.items() if "SourceFileLoader" not in loader] == []
    code_objects = re.findall(r"^# code object from '?(.*?)'?$", done.stderr, flags=re.MULTILINE)
    ours = [path for path in code_objects if path.startswith(str(build) + os.sep)]
    assert any(re.search(r"/kubectl_meshctl/__pycache__/entry\.[\w-]+\.pyc$", path) for path in ours), ours[:5]
    assert [path for path in ours if not path.endswith(".pyc")] == []  # nothing compiled again


def test_a_run_from_the_cache_never_opens_the_payload(
    own_release: Path, reference: dict[tuple[str, ...], tuple[int, str, str]], tmp_path: Path
) -> None:
    """Why the release is two files: zipimport reads the whole directory of a zip on the path (3.4 ms for the
    payload's 1,901 members, and more around it) before it imports anything from it."""
    env = _env(tmp_path, tmp_path / "cache")
    _assert_like_the_zip(sys.executable, own_release, reference, env=env)  # unpacked now
    for command in COMMANDS:
        done = _run(sys.executable, own_release, *command, env={**env, "PYTHONVERBOSE": "1"})
        assert (done.returncode, done.stdout) == reference[command][:2]
        assert not ZIP_READ.search(done.stderr), ZIP_READ.findall(done.stderr)
        assert "zipimporter" not in done.stderr
    payload = own_release.parent / PAYLOAD
    if not IS_ROOT:  # root reads a file of mode 000 anyway
        payload.chmod(0o000)
        _assert_like_the_zip(sys.executable, own_release, reference, env=env)
        payload.chmod(0o644)
    payload.rename(tmp_path / "elsewhere.zip")  # whoever could still read it, nobody can open it now
    _assert_like_the_zip(sys.executable, own_release, reference, env=env)


def test_a_missing_payload_is_said_plainly(own_release: Path, tmp_path: Path) -> None:
    (own_release.parent / PAYLOAD).unlink()
    for extra in ({}, {"KUBECTL_MESHCTL_NO_EXTRACT": "1"}):
        done = _run(sys.executable, own_release, "--version", env=_env(tmp_path, tmp_path / "cache", **extra))
        assert done.returncode == 1
        expected = f"{own_release.parent / PAYLOAD} is missing; reinstall the plugin (kubectl krew reinstall meshctl)"
        assert done.stderr == f"kubectl-meshctl: {expected}\n"
    assert os.listdir(tmp_path / "cache" / "kubectl-meshctl") == []


def test_the_payload_is_found_beside_the_scripts_real_path_and_shadows_nothing(
    own_release: Path, build_id: str, tmp_path: Path
) -> None:
    """As krew links it (absolutely, or relatively since krew's PR #894) and as the caveats link the completion name
    (a link to that link); a stray ``typing.py`` beside the script is never imported in place of the standard one
    (the runs use ``-S``: a ``.pth`` file of this environment may import typing before the script starts)."""
    sentinel = tmp_path / "sentinel"
    (own_release.parent / "typing.py").write_text(f"open({str(sentinel)!r}, 'w').write('ran')\n")
    bins = {"absolute": tmp_path / "bin-absolute", "relative": tmp_path / "bin-relative"}
    for style, bin_dir in bins.items():
        bin_dir.mkdir()
        target = os.path.relpath(own_release, bin_dir) if style == "relative" else str(own_release)
        (bin_dir / SCRIPT).symlink_to(target)
        (bin_dir / "kubectl_complete-meshctl").symlink_to(SCRIPT)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    for cache_off in ("0", "1"):
        env = _env(tmp_path, tmp_path / "cache", KUBECTL_MESHCTL_NO_EXTRACT=cache_off)
        for bin_dir in bins.values():
            done = subprocess.run(
                [sys.executable, "-S", str(bin_dir / SCRIPT), "--version"], capture_output=True, text=True, env=env, cwd=elsewhere
            )
            assert (done.returncode, done.stdout, done.stderr) == (0, f"kubectl-meshctl {__version__}\n", "")
            done = subprocess.run(
                [sys.executable, "-S", str(bin_dir / "kubectl_complete-meshctl"), "an"], capture_output=True, text=True, env=env
            )
            assert (done.returncode, done.stdout.splitlines()) == (0, ["analyze", ":4"]), done.stderr
    assert not sentinel.exists()
    assert os.listdir(tmp_path / "cache" / "kubectl-meshctl") == [build_id]


def test_the_opt_out_runs_from_the_zip_even_with_a_build_in_the_cache(
    script: Path, reference: dict[tuple[str, ...], tuple[int, str, str]], tmp_path: Path
) -> None:
    env = _env(tmp_path, tmp_path / "cache")
    assert _run(sys.executable, script, "--version", env=env).returncode == 0  # unpacked now
    done = _run(sys.executable, script, *COMMANDS[1], env={**env, "PYTHONVERBOSE": "1", "KUBECTL_MESHCTL_NO_EXTRACT": "1"})
    assert (done.returncode, done.stdout) == reference[COMMANDS[1]][:2]
    loaded = _imports(done.stderr)
    payload = script.parent / PAYLOAD
    assert loaded and all(loader.startswith(f'<zipimporter object "{payload}/') for loader in loaded.values()), loaded


def _plant(build: Path, sentinel: Path, build_id: str, *, marker: bool = True) -> None:
    """A build directory whose package, if ever imported, writes ``sentinel``."""
    (build / "kubectl_meshctl").mkdir(parents=True)
    (build / "kubectl_meshctl" / "__init__.py").write_text(f"open({str(sentinel)!r}, 'w').write('ran')\n")
    if marker:
        (build / ".complete").write_text(build_id + "\n")


def _symlinked_root(cache: Path, evil: Path, build_id: str, sentinel: Path) -> None:
    _plant(evil / build_id, sentinel, build_id)
    cache.mkdir(mode=0o700)
    (cache / "kubectl-meshctl").symlink_to(evil)


def _writable_root(mode: int) -> Callable[[Path, Path, str, Path], None]:
    def setup(cache: Path, evil: Path, build_id: str, sentinel: Path) -> None:
        _plant(cache / "kubectl-meshctl" / build_id, sentinel, build_id)
        (cache / "kubectl-meshctl").chmod(mode)

    return setup


def _writable_build(cache: Path, evil: Path, build_id: str, sentinel: Path) -> None:
    _plant(cache / "kubectl-meshctl" / build_id, sentinel, build_id)
    (cache / "kubectl-meshctl").chmod(0o700)
    (cache / "kubectl-meshctl" / build_id).chmod(0o777)


def _symlinked_build(cache: Path, evil: Path, build_id: str, sentinel: Path) -> None:
    _plant(evil / build_id, sentinel, build_id)
    (cache / "kubectl-meshctl").mkdir(mode=0o700, parents=True)
    (cache / "kubectl-meshctl" / build_id).symlink_to(evil / build_id)


def _symlinked_marker(cache: Path, evil: Path, build_id: str, sentinel: Path) -> None:
    build = cache / "kubectl-meshctl" / build_id
    _plant(build, sentinel, build_id, marker=False)
    (cache / "kubectl-meshctl").chmod(0o700)
    build.chmod(0o700)
    evil.mkdir()
    (evil / "marker").write_text(build_id + "\n")
    (build / ".complete").symlink_to(evil / "marker")


def _open_parent(cache: Path, evil: Path, build_id: str, sentinel: Path) -> None:
    _plant(cache / "kubectl-meshctl" / build_id, sentinel, build_id)
    (cache / "kubectl-meshctl").chmod(0o700)
    cache.chmod(0o777)  # anyone could swap the root for their own directory


def _foreign(level: str) -> Callable[[Path, Path, str, Path], None]:
    def setup(cache: Path, evil: Path, build_id: str, sentinel: Path) -> None:
        if not IS_ROOT:
            pytest.skip("needs root to give a directory to another user (chown)")
        _plant(cache / "kubectl-meshctl" / build_id, sentinel, build_id)
        for path in (cache / "kubectl-meshctl", cache / "kubectl-meshctl" / build_id):
            path.chmod(0o700)
        given = cache / "kubectl-meshctl" / build_id if level == "build" else cache / "kubectl-meshctl"
        os.chown(given, OTHER_UID, OTHER_UID)

    return setup


UNTRUSTED = {
    "root is a symlink": _symlinked_root,
    "root is group-writable": _writable_root(0o770),
    "root is world-writable": _writable_root(0o777),
    "root belongs to another user": _foreign("root"),
    "build is world-writable": _writable_build,
    "build is a symlink": _symlinked_build,
    "build belongs to another user": _foreign("build"),
    "marker is a symlink": _symlinked_marker,
    "parent is world-writable, not sticky": _open_parent,
}


@pytest.mark.parametrize("case", sorted(UNTRUSTED))
def test_an_untrusted_cache_is_never_imported_and_the_zip_runs(
    case: str, script: Path, build_id: str, reference: dict[tuple[str, ...], tuple[int, str, str]], tmp_path: Path
) -> None:
    cache, evil, sentinel = tmp_path / "cache", tmp_path / "evil", tmp_path / "sentinel"
    UNTRUSTED[case](cache, evil, build_id, sentinel)
    before = sorted(str(p) for p in tmp_path.rglob("*") if p != sentinel)
    _assert_like_the_zip(sys.executable, script, reference, env=_env(tmp_path / "home", cache))
    assert not sentinel.exists()
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before  # nothing unpacked, no bytecode written there


def test_an_unfinished_build_of_ours_is_replaced_never_imported(
    script: Path, build_id: str, reference: dict[tuple[str, ...], tuple[int, str, str]], tmp_path: Path
) -> None:
    cache, sentinel = tmp_path / "cache", tmp_path / "sentinel"
    root = cache / "kubectl-meshctl"
    _plant(root / build_id, sentinel, build_id, marker=False)
    for path in (root, root / build_id):
        path.chmod(0o700)
    _assert_like_the_zip(sys.executable, script, reference, env=_env(tmp_path, cache))
    assert not sentinel.exists()
    assert (root / build_id / ".complete").is_file()
    with zipfile.ZipFile(script.parent / PAYLOAD) as zf:
        assert (root / build_id / "kubectl_meshctl" / "__init__.py").read_bytes() == zf.read("kubectl_meshctl/__init__.py")
    assert sorted(os.listdir(root)) == [build_id]


def _shared_dir() -> Path:
    shared = Path(tempfile.mkdtemp(prefix="meshctl-release-other-"))
    shared.chmod(0o755)
    return shared


@pytest.mark.parametrize("where", ["cache parent 0500", "cache root 0500"])
def test_an_unwritable_cache_runs_from_the_zip(
    where: str, script: Path, reference: dict[tuple[str, ...], tuple[int, str, str]], tmp_path: Path
) -> None:
    """As another user when this is root, whom permissions do not stop."""
    python, user = sys.executable, None
    base = tmp_path
    if IS_ROOT:
        python, user, base = _system_python3(), OTHER_UID, _shared_dir()
    try:
        cache = base / "cache"
        target = cache / "kubectl-meshctl" if where == "cache root 0500" else cache
        target.mkdir(parents=True)
        if user is not None:
            for path in (cache, target):
                os.chown(path, user, user)
        target.chmod(0o500)
        _assert_like_the_zip(python, script, reference, env=_env(base, cache), user=user)
        assert sorted(os.listdir(target)) == []
    finally:
        target.chmod(0o700)
        if base != tmp_path:
            shutil.rmtree(base)


def test_a_sticky_world_writable_parent_as_tmp_is_still_used(script: Path, build_id: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o1777)
    assert _run(sys.executable, script, "--version", env=_env(tmp_path, cache)).returncode == 0
    assert (cache / "kubectl-meshctl" / build_id / ".complete").is_file()


def test_no_home_and_no_xdg_cache_home_runs_from_the_zip(
    script: Path, reference: dict[tuple[str, ...], tuple[int, str, str]], tmp_path: Path
) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    _assert_like_the_zip(sys.executable, script, reference, env=env)


def _member_data_offset(payload: Path, name: str) -> int:
    with zipfile.ZipFile(payload) as zf:
        info = zf.getinfo(name)
    with payload.open("rb") as fh:
        fh.seek(info.header_offset + 26)
        header = fh.read(4)
    return info.header_offset + 30 + int.from_bytes(header[:2], "little") + int.from_bytes(header[2:], "little")


def test_a_corrupt_member_or_an_unsafe_member_name_runs_from_the_zip(
    script: Path, reference: dict[tuple[str, ...], tuple[int, str, str]], tmp_path: Path
) -> None:
    """A member --version never reads is corrupt (its CRC fails when unpacked), or one more member named ``../…``:
    nothing is unpacked, no temporary directory stays, and the zip still runs."""
    payload = script.parent / PAYLOAD
    releases = {}
    for case in ("corrupt", "escaping"):
        (tmp_path / case).mkdir()
        shutil.copyfile(script, tmp_path / case / SCRIPT)
        releases[case] = tmp_path / case / SCRIPT
    data = bytearray(payload.read_bytes())
    offset = _member_data_offset(payload, "tzdata/zoneinfo/Europe/Paris")
    data[offset + 20] ^= 0xFF
    (tmp_path / "corrupt" / PAYLOAD).write_bytes(bytes(data))
    shutil.copyfile(payload, tmp_path / "escaping" / PAYLOAD)
    with zipfile.ZipFile(tmp_path / "escaping" / PAYLOAD, "a") as zf:
        zf.writestr("../../escaped.py", "open('/dev/null')\n")
    for release in releases.values():
        cache = release.parent / "cache"
        done = _run(sys.executable, release, "--version", env=_env(tmp_path, cache))
        assert (done.returncode, done.stdout, done.stderr) == reference[("--version",)]
        assert os.listdir(cache / "kubectl-meshctl") == []
    assert not list(tmp_path.rglob("escaped.py"))


def test_concurrent_first_runs_all_succeed_and_leave_one_build(
    script: Path, build_id: str, reference: dict[tuple[str, ...], tuple[int, str, str]], tmp_path: Path
) -> None:
    env = _env(tmp_path, tmp_path / "cache")
    command = [sys.executable, str(script), *COMMANDS[1]]
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=script.parent)
        for _ in range(4)
    ]
    for started in runs:
        stdout, stderr = started.communicate(timeout=120)
        assert (started.returncode, stdout, stderr) == reference[COMMANDS[1]]
    root = tmp_path / "cache" / "kubectl-meshctl"
    assert sorted(os.listdir(root)) == [build_id]
    assert (root / build_id / ".complete").is_file()


def test_a_run_that_loses_the_race_uses_the_winners_build_and_removes_its_own(
    script: Path, build_id: str, tmp_path: Path
) -> None:
    """The race above, made certain: a second unpacking finds the name taken by a complete build."""
    root = tmp_path / "kubectl-meshctl"
    root.mkdir(mode=0o700)
    payload = str(script.parent / PAYLOAD)
    first = krew_launcher.unpack(payload, str(root), build_id=build_id)
    winner = os.lstat(first).st_ino
    second = krew_launcher.unpack(payload, str(root), build_id=build_id)
    assert first == second == str(root / build_id)
    assert os.lstat(second).st_ino == winner  # used as it is, not replaced under a running process
    assert sorted(os.listdir(root)) == [build_id]


def test_other_builds_unused_for_a_day_and_stale_temporary_directories_are_pruned(
    script: Path, build_id: str, tmp_path: Path
) -> None:
    root = tmp_path / "cache" / "kubectl-meshctl"
    root.mkdir(parents=True, mode=0o700)
    now = time.time()
    old_build, fresh_build, unfinished = "a" * 32, "b" * 32, "c" * 32
    old_temp, fresh_temp = ".tmp-" + "1" * 16, ".tmp-" + "2" * 16
    for name in (old_build, fresh_build, unfinished, old_temp, fresh_temp, "notes"):
        (root / name).mkdir(mode=0o700)
        (root / name / "file").write_text("x")
    for name in (old_build, fresh_build):
        (root / name / ".complete").write_text(name + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (elsewhere / ".complete").write_text("")
    (root / ("d" * 32)).symlink_to(elsewhere)  # a link is never followed, never removed
    two_days, two_hours = now - 2 * 86400, now - 2 * 3600
    os.utime(root / old_build / ".complete", (two_days, two_days))
    os.utime(root / fresh_build, (two_days, two_days))  # its marker is fresh: in use
    for name in (unfinished, "notes", "d" * 32):
        os.utime(root / name, (two_days, two_days), follow_symlinks=False)
    os.utime(root / old_temp, (two_hours, two_hours))
    os.utime(elsewhere / ".complete", (two_days, two_days))

    done = _run(sys.executable, script, "--version", env=_env(tmp_path, tmp_path / "cache"))
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(root)) == sorted([build_id, fresh_build, fresh_temp, "notes", "d" * 32])
    assert (elsewhere / ".complete").exists()

    # a build in use has its marker touched (at most hourly), so that another build's pruning spares it
    marker = root / build_id / ".complete"
    os.utime(marker, (two_hours, two_hours))
    assert _run(sys.executable, script, "--version", env=_env(tmp_path, tmp_path / "cache")).returncode == 0
    assert marker.stat().st_mtime > now - 60


def test_the_already_unpacked_path_costs_well_under_a_millisecond(
    script: Path, build_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    assert _run(sys.executable, script, "--version", env=_env(tmp_path, cache)).returncode == 0
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("KUBECTL_MESHCTL_NO_EXTRACT", raising=False)
    build = str(cache / "kubectl-meshctl" / build_id)
    spent = []
    for _ in range(200):
        start = time.perf_counter()
        chosen = krew_launcher.choose_path(str(script.parent / PAYLOAD), build_id)
        spent.append(time.perf_counter() - start)
        assert chosen == build
    assert sorted(spent)[len(spent) // 2] < 0.0005


def test_the_build_writes_the_launcher_as_the_script_with_the_payloads_digest(built: Path, build_id: str) -> None:
    with tarfile.open(built) as tf:
        members = {info.name: info for info in tf.getmembers()}
        assert sorted(members) == ["LICENSE", SCRIPT, PAYLOAD]
        assert (members[SCRIPT].mode, members[PAYLOAD].mode, members["LICENSE"].mode) == (0o755, 0o644, 0o644)
        script_file, payload_file = tf.extractfile(SCRIPT), tf.extractfile(PAYLOAD)
        assert script_file is not None and payload_file is not None
        script, payload = script_file.read().decode(), payload_file.read()
    launcher = Path(krew_launcher.__file__).read_text(encoding="utf-8")
    assert script == f"#!/usr/bin/env python3\n{launcher}\nrun({build_id!r}, __file__)\n"
    assert hashlib.sha256(payload).hexdigest()[:32] == build_id
    assert payload[:4] == b"PK\x03\x04"  # a plain zip: nothing before it
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
    assert "__main__.py" not in names  # the script is the only way in: it checks the Python version
    expected = {"kubectl_meshctl/entry.py", "kubectl_meshctl/cli/__init__.py", "click/core.py", "kubernetes/__init__.py"}
    assert expected <= set(names)
    assert [n for n in names if not krew_launcher.safe_member_name(n)] == []  # else the cache would never be used


@functools.cache
def _pyenv_pythons() -> list[tuple[tuple[int, int], str]]:
    """The interpreters pyenv has installed here, by version (asked once: two tests read them)."""
    roots = {os.environ.get("PYENV_ROOT") or "", os.path.expanduser("~/.pyenv")} - {""}
    found = []
    for root in sorted(roots):
        for python in glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3")):
            done = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True)
            if done.returncode == 0:
                major, minor = map(int, done.stdout.split())
                found.append(((major, minor), python))
    return sorted(found)


def _old_pythons() -> list[str]:
    """Interpreters older than 3.10 that pyenv has installed here (the oldest and the newest of them)."""
    found = [python for version, python in _pyenv_pythons() if version < (3, 10)]
    return sorted({found[0], found[-1]}) if found else []


def test_every_python_the_release_supports_runs_it_alike(
    script: Path, reference: dict[tuple[str, ...], tuple[int, str, str]], tmp_path: Path
) -> None:
    # a krew user's python3 is any 3.10 or later; the records lean on the standard library's dataclasses
    # (records.py), whose insides differ from version to version
    pythons = {version: python for version, python in _pyenv_pythons() if version >= (3, 10)}
    if not pythons:
        pytest.skip("no python3 of 3.10 or later installed by pyenv")
    for (major, minor), python in sorted(pythons.items()):
        home = tmp_path / f"{major}.{minor}"
        _assert_like_the_zip(python, script, reference, env=_env(home, home / "cache"))


def test_an_old_python3_gets_the_version_message_and_no_cache(script: Path, tmp_path: Path) -> None:
    pythons = _old_pythons()
    if not pythons:
        pytest.skip("no python3 older than 3.10 installed (pyenv)")
    for python in pythons:
        done = _run(python, script, "--version", env=_env(tmp_path, tmp_path / "cache"))
        found = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True)
        assert done.returncode == 1
        assert done.stderr == f"kubectl-meshctl needs Python >= 3.10 as python3, found {found.stdout.strip()}\n"
        assert not (tmp_path / "cache").exists()
