"""`invoke status VERSION` as a user runs it: plain lines on a pipe, a table on a terminal
(coloured unless NO_COLOR), `--json`, exit statuses 0, 3, 2 and 1, and nothing changed."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest

from tests.conftest import DEV_TOKEN, PRODUCTION_TOKEN, ROOT
from tests.release_world import World
from tests.repos import GIT_ENV
from tests.test_status import MONTHLY, PATCH, advance


@pytest.fixture
def world(remotes, fake_gitlab, fake_dev, tmp_path):
    return World(remotes, fake_gitlab, fake_dev, tmp_path / "scratch")


def test_a_done_release_is_plain_lines_on_stdout_and_exit_status_0(invoke, config, world, fake_gitlab, fake_dev, remotes):
    advance(world, MONTHLY, "everything")
    digests = remotes.digests()
    fake_gitlab.clear_log()
    fake_dev.clear_log()

    result = invoke("-f", config, "status", "11.2.0")

    assert result.returncode == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Status of 11.2.0 (monthly release)"
    assert [line.split(":", 1)[0] for line in lines[1:-1]] == [
        "issue", "stable branches", "tags", "QA issue", "packages", "chart"
    ]
    assert all(": done" in line for line in lines[1:-1])
    assert lines[-1] == "Next: nothing, every phase is done."
    assert "git ls-remote" in result.stderr and "git ls-remote" not in result.stdout  # progress on stderr
    assert "\033[" not in result.output
    assert fake_gitlab.mutations() == [] and fake_dev.mutations() == []
    assert remotes.digests() == digests


def test_json_is_the_one_document_on_stdout_and_a_problem_exits_3(invoke, config, world, remotes, tmp_path):
    advance(world, PATCH, "tagged_on_dev")  # gitlab's stable branches are behind dev's

    result = invoke("-f", config, "status", "10.8.7", "--json")

    assert result.returncode == 3, result.output
    document = json.loads(result.stdout)
    assert (document["schema"], document["task"], document["version"], document["kind"]) == (1, "status", "10.8.7", "patch")
    assert document["exit_status"] == 3
    stable = next(phase for phase in document["phases"] if phase["name"] == "stable_branches")
    assert stable["state"] == "problem" and "gitlab-ce 10-8-stable: gitlab is 1 commit behind dev" in stable["problems"]
    assert set(stable) == {"name", "title", "state", "facts", "problems", "unreadable", "urls", "data"}
    assert document["next"] == {
        "phase": "stable_branches",
        "action": "bring the stable branches in line and tag the release",
        "command": "invoke tag 10.8.7",
        "chat": "/chatops run tag 10.8.7",
        "urls": [],
    }
    assert "Status of 10.8.7" in result.stderr  # the report itself goes to stderr with --json


def test_what_cannot_be_read_exits_2_and_the_rest_is_reported(invoke, config, world, fake_gitlab):
    advance(world, MONTHLY, "published")

    result = invoke("-f", config, "status", "11.2.0", "--json", env={"DEV_API_PRIVATE_TOKEN": "not-the-token"})

    assert result.returncode == 2, result.output
    document = json.loads(result.stdout)
    by_name = {phase["name"]: phase for phase in document["phases"]}
    assert by_name["packages"]["unreadable"] and by_name["packages"]["state"] == "problem"
    assert by_name["issue"]["state"] == by_name["tags"]["state"] == by_name["qa_issue"]["state"] == "done"
    assert "not-the-token" not in result.output


def test_a_security_release_reads_the_dev_remotes_only(invoke, config, world, remotes):
    advance(world, PATCH, "issue")
    world.release_issue("10.8.7", security=True)
    world.tag("10.8.7", to=("dev",))

    result = invoke("-f", config, "status", "--security", "10.8.7")

    assert result.stdout.splitlines()[0] == "Status of 10.8.7 (security release: dev remotes only)"
    for project in ("gitlab-ce", "gitlab-ee", "omnibus-gitlab"):
        assert f"/{project}/dev.git" in result.stderr and f"/{project}/gitlab.git" not in result.stderr
    assert any(line.startswith("tags: done: on dev, same commit everywhere") for line in result.stdout.splitlines())


def test_a_bad_version_is_one_line_before_any_request(invoke, fake_gitlab, fake_dev):
    result = invoke("status", "v11.1")

    assert result.returncode == 1
    assert result.stderr.strip() == "Error: Version number must be in the following format: X.Y.Z-rc1 or X.Y.Z (got 'v11.1')"
    assert result.stdout == ""
    assert fake_gitlab.log == [] and fake_dev.log == []


def on_a_terminal(args, fake_gitlab, fake_dev, tmp_path, **extra) -> str:
    """Run `invoke ARGS` with a pseudo-terminal as its stdout; what it wrote there."""
    home = tmp_path / "tty-home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "INVOKE_RELEASE_TOOLS_INSTANCES_PRODUCTION_URL": fake_gitlab.url,
        "INVOKE_RELEASE_TOOLS_INSTANCES_DEV_URL": fake_dev.url,
        "GITLAB_API_PRIVATE_TOKEN": PRODUCTION_TOKEN,
        "DEV_API_PRIVATE_TOKEN": DEV_TOKEN,
        **GIT_ENV,
        **extra,
    }
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", "--search-root", str(ROOT), *args],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=follower, stderr=subprocess.PIPE,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_a_terminal_gets_a_table_coloured_unless_no_color(config, world, fake_gitlab, fake_dev, tmp_path):
    advance(world, MONTHLY, "tagged_everywhere")

    coloured = on_a_terminal(["-f", config, "status", "11.2.0"], fake_gitlab, fake_dev, tmp_path)
    plain = on_a_terminal(["-f", config, "status", "11.2.0"], fake_gitlab, fake_dev, tmp_path, NO_COLOR="1")

    assert "\033[32mdone" in coloured and "\033[" in coloured
    assert "\033[" not in plain
    rows = plain.splitlines()
    assert rows[0] == "Status of 11.2.0 (monthly release)"
    assert rows[1].split() [:2] == ["issue", "done"] and rows[1].startswith("  issue ")
    assert any(row.startswith("  stable branches  done ") for row in rows)
    assert any(row.startswith("  QA issue         not started ") for row in rows)
    assert rows[-1] == "Next: QA issue: create the QA issue: invoke qa_issue v11.1.0 v11.2.0 (chat: /chatops run qa_issue v11.1.0..v11.2.0)"
