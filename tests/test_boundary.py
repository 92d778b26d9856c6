"""The task boundary every task runs through (release_tools/cli.py), with the real `invoke`:
`--json`, asking first on a terminal (answered through a pseudo-terminal), `-R`."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from tests.conftest import DEV_TOKEN, PRODUCTION_TOKEN, RELEASE_TASKS, ROOT
from release_tools.sandbox import add_milestone

STEP = 'create the monthly release issue "Release 11.1" in gitlab-org/release/tasks'


def test_json_of_a_dry_run_is_the_only_thing_on_stdout(invoke, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = invoke("monthly_issue", "--dry-run", "--json", "11.1.0")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["schema"], document["task"], document["status"], document["dry_run"]) == (1, "monthly_issue", "dry_run", True)
    assert [(s["kind"], s["summary"], s["state"]) for s in document["steps"]] == [("issue.create", STEP, "to_do")]
    assert document["steps"][0]["target"] == {"project": RELEASE_TASKS, "instance": "production", "issue": "Release 11.1"}
    assert "Plan for monthly_issue 11.1.0:" in result.stderr  # progress and the plan go to stderr
    assert fake_gitlab.mutations() == []


def test_json_of_a_real_run_and_of_the_rerun(invoke, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    first = json.loads(invoke("monthly_issue", "--json", "11.1.0").stdout)
    mutations = len(fake_gitlab.mutations())
    second = json.loads(invoke("monthly_issue", "--json", "11.1.0").stdout)

    url = fake_gitlab.table("issues")[0]["web_url"]
    assert (first["status"], first["steps"][0]["state"], first["steps"][0]["urls"]) == ("done", "done", [url])
    assert (second["status"], second["steps"][0]["state"], second["steps"][0]["urls"]) == ("nothing_to_do", "already_done", [url])
    assert len(fake_gitlab.mutations()) == mutations == 1


def test_json_variable_does_what_the_flag_does(invoke, fake_gitlab):
    result = invoke("monthly_issue", "11.1.0", env={"RELEASE_TOOLS_JSON": "1", "TEST": "1"}, tokens=False)

    assert json.loads(result.stdout)["status"] == "dry_run"


def test_a_failed_step_is_in_the_json_document_with_its_reason_and_exit_1(invoke, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    fake_gitlab.fail(500, times=20, method="POST", path="/issues")

    result = invoke("monthly_issue", "--json", "11.1.0", env={"INVOKE_RELEASE_TOOLS_API_MAX_WAIT": "1"})

    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["status"] == "failed" and document["exit_status"] == 1
    [step] = document["steps"]
    assert step["state"] == "failed" and "500" in step["reason"]
    assert f"✗ {STEP}: " in result.stderr
    assert fake_gitlab.table("issues") == []


def test_an_error_before_the_plan_is_a_json_document_and_one_line(invoke, fake_gitlab):
    result = invoke("monthly_issue", "--json", "11.1.0")  # no milestone: the plan cannot be made

    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert (document["status"], document["steps"], document["exit_status"]) == ("error", [], 1)
    assert document["error"].startswith("Milestone 11.1 not found")
    assert result.stderr.splitlines()[-1] == "Error: " + document["error"]


def test_bad_input_in_json_mode_is_an_error_document_before_any_request(invoke, fake_gitlab):
    result = invoke("monthly_issue", "--json", "1１.1.0")

    assert result.returncode == 1
    assert json.loads(result.stdout)["status"] == "error"
    assert fake_gitlab.log == []


# -- asking first, on a terminal --------------------------------------------------------------


def run_on_terminal(args: list[str], answer: bytes | None, env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Run the real `invoke` with its stdin and stdout on a pseudo-terminal; type `answer`
    (None: close the terminal's input, as Ctrl-D does) once it asks. Returns (status, what it printed)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", "--search-root", str(ROOT), *args],
        stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True,
    )
    os.close(follower)
    seen = b""
    answered = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(leader, answer if answer is not None else b"\x04")
            answered = True
        if process.poll() is not None and not ready:
            break
    process.wait(timeout=10)
    os.close(leader)
    return process.returncode, seen.decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.fixture
def terminal_env(tmp_path, fake_gitlab, fake_dev):
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "INVOKE_RELEASE_TOOLS_INSTANCES_PRODUCTION_URL": fake_gitlab.url,
        "INVOKE_RELEASE_TOOLS_INSTANCES_DEV_URL": fake_dev.url,
        "INVOKE_RELEASE_TOOLS_ENV_FILE": str(tmp_path / "no.env"),
        "GITLAB_API_PRIVATE_TOKEN": PRODUCTION_TOKEN,
        "DEV_API_PRIVATE_TOKEN": DEV_TOKEN,
    }


@pytest.mark.parametrize("answer, created", [(b"y\n", True), (b"yes\n", True), (b"n\n", False), (b"\n", False), (None, False)],
                         ids=["y", "yes", "n", "enter", "end-of-input"])
def test_a_terminal_is_asked_first_and_only_yes_changes_anything(fake_gitlab, terminal_env, answer, created):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    status, printed = run_on_terminal(["monthly_issue", "11.1.0"], answer, terminal_env)

    assert "Create 1 issue on production? [y/N]" in printed
    assert bool(fake_gitlab.table("issues")) is created
    assert status == (0 if created else 1)
    if not created:
        assert "Not confirmed: nothing was changed." in printed
        assert fake_gitlab.mutations() == []


@pytest.mark.parametrize("env, args", [({"CI": "true"}, []), ({}, ["--yes"]), ({}, ["-y"]),
                                       ({"INVOKE_RELEASE_TOOLS_ASSUME_YES": "1"}, [])],
                         ids=["CI", "--yes", "-y", "assume_yes"])
def test_ci_and_yes_never_ask(fake_gitlab, terminal_env, env, args):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    status, printed = run_on_terminal(["monthly_issue", *args, "11.1.0"], b"n\n", {**terminal_env, **env})

    assert "[y/N]" not in printed
    assert status == 0 and len(fake_gitlab.table("issues")) == 1


def test_a_standard_input_that_is_not_a_terminal_is_never_asked(invoke, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = invoke("monthly_issue", "11.1.0")  # stdin and stdout are pipes

    assert result.returncode == 0 and "[y/N]" not in result.output
    assert len(fake_gitlab.table("issues")) == 1


@pytest.mark.parametrize(
    "task, version, title",
    [
        ("monthly_issue", "11.1.0", "Release 11.1"),
        ("release_issue", "11.1.0", "Release 11.1"),
        ("release_issue", "11.1.0-rc2", "Release 11.1.0-rc2"),
        ("patch_issue", "11.1.2", "Release 11.1.2"),
        ("security_patch_issue", "11.1.2", "Release 11.1.2"),
    ],
)
def test_every_issue_task_in_json_dry_real_and_again(invoke, fake_gitlab, task, version, title):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    dry = json.loads(invoke(task, "--dry-run", "--json", version).stdout)
    assert fake_gitlab.mutations() == []
    real = json.loads(invoke(task, "--json", version).stdout)
    again = json.loads(invoke(task, "--json", version).stdout)

    [issue] = fake_gitlab.table("issues")
    assert (issue["title"], issue["confidential"]) == (title, task == "security_patch_issue")
    assert [(d["task"], d["status"], [s["state"] for s in d["steps"]]) for d in (dry, real, again)] == [
        (task, "dry_run", ["to_do"]),
        (task, "done", ["done"]),
        (task, "nothing_to_do", ["already_done"]),
    ]
    assert all(d["steps"][0]["kind"] == "issue.create" and d["steps"][0]["target"]["issue"] == title for d in (dry, real, again))
    assert real["steps"][0]["urls"] == again["steps"][0]["urls"] == [issue["web_url"]]
    assert len(fake_gitlab.mutations()) == 1
