"""``gcpause.keep``: objects are left to the OS only in a process that ends without teardown (the console script)."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

_PROBE = """
import weakref
from kubectl_meshctl import gcpause

class Big:
    pass

def made_and_dropped():
    big = Big()
    gcpause.keep(big)
    return weakref.ref(big)

before = made_and_dropped()
gcpause.end_without_teardown()
after = made_and_dropped()
print(before() is None, after() is None)
"""


def test_keep_holds_on_only_once_the_process_ends_without_teardown() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, cwd=REPO, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]  # freed in a process that goes on; kept in one that ends with _exit


def test_the_console_script_ends_without_teardown() -> None:
    code = (
        "import sys\nfrom kubectl_meshctl import gcpause, entry\n"
        "sys.argv = ['kubectl-meshctl', 'analyze', '-f', 'examples/seed.yaml']\n"
        "import os\nreal_exit = os._exit\n"
        "def report(code):\n    sys.stdout.write(f'kept {gcpause._kept_for_exit is not None and len(gcpause._kept_for_exit) > 0}\\n')\n"
        "    sys.stdout.flush()\n    real_exit(code)\n"
        "os._exit = report\nentry.main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False, timeout=60)
    assert "kept True" in done.stdout, (done.stdout, done.stderr)
