"""The sandbox as part of the product: it imports without the test dependencies, and it
seeds a release world (both instances on one server, the projects, users, groups and
milestones, and bare git remotes) that the tasks run against for real."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_the_sandbox_imports_without_pytest():
    # An installed release-tools has no pytest: importing it must not need it.
    code = "import sys; sys.modules['pytest'] = None; import release_tools.sandbox; print('ok')"
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "ok\n"
