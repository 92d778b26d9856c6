"""The README's quick start is true: two command lines, and CI runs the second one."""

from __future__ import annotations

import re
from pathlib import Path

from release_tools import git
from tests.conftest import ROOT


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL)]


def test_quick_start_has_exactly_two_one_line_commands():
    commands = quick_start_commands()

    assert len(commands) == 2
    assert all("\n" not in command for command in commands)
    assert commands[0].endswith("release-tools rehearse 11.1.0") and "pip install" in commands[0]
    assert commands[1].endswith("python -m pytest")


def test_ci_runs_the_readmes_test_command():
    script = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]

    assert script[-1] == quick_start_commands()[1]


def test_tests_run_as_on_a_fresh_machine_without_the_runners_git_identity_or_home(fresh_machine):
    assert Path.home() == fresh_machine
    assert git.identity() is None
