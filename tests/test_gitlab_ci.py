"""The project's `.gitlab-ci.yml`, run by a real GitLab CI emulator (gitlab-ci-local, shell
executor) on a copy of this checkout: which jobs each kind of pipeline gets, and each chat
job run as GitLab would run it, in dry-run mode, against the fake GitLab.

`.ci/install-tools` installs gitlab-ci-local and rsync (`.ci/run` calls it). Without them
these tests skip, except in CI (`CI` set), where they fail instead: CI must run them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from release_tools.chatops.commands import Commands
from tests.chatops_support import EE, REPLY, ChatJob, add_ee_range, add_release_pipelines
from tests.test_chatops import ci_file
from tests.conftest import DEV_TOKEN, PRODUCTION_TOKEN, RELEASE_TASKS, ROOT
from release_tools.sandbox import add_group, add_member, add_milestone, add_project, add_user
from release_tools.sandbox.members import OWNER
from tests.repos import GIT_ENV

pytestmark = pytest.mark.ci_emulator

EMULATOR = ROOT / ".ci" / "cache" / "gitlab-ci-local" / "node_modules" / ".bin" / "gitlab-ci-local"
CHAT_JOBS = ["cherry_pick", "publish", "qa_issue", "release_issue", "status", "tag"]


def _emulator() -> str:
    found = os.environ.get("GITLAB_CI_LOCAL") or (str(EMULATOR) if EMULATOR.exists() else shutil.which("gitlab-ci-local"))
    missing = [name for name, path in (("gitlab-ci-local", found), ("rsync", shutil.which("rsync"))) if not path]
    if missing:
        message = f"{' and '.join(missing)} not installed: run .ci/install-tools"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(found)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A git repository holding this checkout's files as they are now (committed or not)."""
    _emulator()
    root = tmp_path_factory.mktemp("checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "init", "--quiet", "--initial-branch=master"], cwd=root, check=True)
    subprocess.run(["git", "add", "--all"], cwd=root, check=True)
    subprocess.run(["git", *identity, "commit", "--quiet", "--message", "checkout"], cwd=root, check=True)
    return root


@dataclass
class EmulatorRun:
    returncode: int
    output: str

    def job_output(self, job: str) -> str:
        """What the job printed, without the emulator's `<job> > ` prefixes."""
        prefix = re.compile(rf"^{re.escape(job)}\s*> ?")
        return "\n".join(prefix.sub("", line) for line in self.output.split("\n") if prefix.match(line))

    def reply(self, job: str) -> list[str]:
        sections = list(REPLY.finditer(self.job_output(job)))
        assert len(sections) == 1, f"expected one chat_reply section from {job} in:\n{self.output}"
        return sections[0]["body"].split("\n")


def emulate(checkout: Path, *args: str, variables: dict[str, str], env: dict[str, str] | None = None) -> EmulatorRun:
    """Run jobs of the checkout's CI file; `variables` go on the command line, as GitLab
    sets them (CI_JOB_TOKEN of a running job of the fake among them, for chat jobs)."""
    home = checkout.parent / f"{checkout.name}-home"
    home.mkdir(exist_ok=True)
    argv = [_emulator(), "--home", str(home), "--force-shell-executor", "--no-color"]
    argv += ["--concurrency", "1", *args]
    for name, value in variables.items():
        argv += ["--variable", f"{name}={value}"]
    # The job sees the test's variables only, not whatever this shell happens to have set.
    leaky = ("CI_", "GITLAB_", "CHAT_", "RELEASE_", "INVOKE_", "TEST", "SECURITY", "SLACK_")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(leaky)}
    environment.update(HOME=str(home), **(env or {}))
    completed = subprocess.run(argv, cwd=checkout, env=environment, capture_output=True, timeout=300)
    run = EmulatorRun(completed.returncode, (completed.stdout + completed.stderr).decode())
    for token in (PRODUCTION_TOKEN, DEV_TOKEN, variables.get("CI_JOB_TOKEN") or PRODUCTION_TOKEN):
        assert token not in run.output, "a token leaked into the job log"
    return run


def listed_jobs(checkout: Path, **variables: str) -> set[str]:
    home = checkout.parent / f"{checkout.name}-home"
    home.mkdir(exist_ok=True)
    argv = [_emulator(), "--home", str(home), "--list-json"]
    for name, value in variables.items():
        argv += ["--variable", f"{name}={value}"]
    completed = subprocess.run(argv, cwd=checkout, capture_output=True, text=True, timeout=120, check=True)
    listing = completed.stdout[completed.stdout.index("[\n") :]  # after the emulator's warnings
    return {job["name"] for job in json.loads(listing) if job["when"] != "never"}


def test_the_jobs_run_the_installed_commands_and_those_that_change_a_release_never_run_at_once():
    jobs = {name: job for name, job in ci_file().items() if isinstance(job, dict) and "script" in job}
    commands = {name: job["script"][-1] for name, job in jobs.items() if not name.startswith(".") and name != "test"}

    assert ci_file()[".install"]["before_script"][-1] == ".venv/bin/pip install --quiet ."
    assert all(command.startswith((".venv/bin/release-tools ", ".venv/bin/release-tools-chatops")) for command in commands.values())
    assert commands["chatops"] == ".venv/bin/release-tools-chatops"
    # GitLab runs the jobs of one resource group one at a time, across pipelines.
    assert jobs["tag"]["resource_group"] == jobs["chatops"]["resource_group"] != ""
    assert [name for name, job in jobs.items() if "resource_group" in job] == ["tag", "cherry_pick", "chatops"]


def test_chat_jobs_run_only_in_chat_pipelines_and_the_tests_only_for_pushes(checkout):
    assert listed_jobs(checkout, CI_PIPELINE_SOURCE="chat") == set(CHAT_JOBS)
    assert listed_jobs(checkout, CI_PIPELINE_SOURCE="push") == {"test"}
    assert listed_jobs(checkout, CI_PIPELINE_SOURCE="merge_request_event") == {"test"}
    assert listed_jobs(checkout, CI_PIPELINE_SOURCE="trigger", TASK="tag") == {"chatops"}
    assert listed_jobs(checkout, CI_PIPELINE_SOURCE="schedule") == set()


@pytest.mark.parametrize(
    "task, job",
    [("upstream_merge", "scheduled-upstream-merge"), ("release_managers.sync", "scheduled-release-managers-sync")],
)
def test_a_schedule_runs_only_the_task_it_names(checkout, task, job):
    # The original ran both scheduled jobs on every schedule.
    assert listed_jobs(checkout, CI_PIPELINE_SOURCE="schedule", SCHEDULED_TASK=task) == {job}
    assert listed_jobs(checkout, CI_PIPELINE_SOURCE="push", SCHEDULED_TASK=task) == {"test"}


def test_scheduled_release_managers_sync_dry_run(checkout, chat_job, fake_gitlab, fake_dev):
    for fake, group in ((fake_gitlab, "gitlab-org/release/managers"), (fake_dev, "gitlab/release/managers")):
        add_group(fake, group)
        add_member(fake, group, fake.release_manager, OWNER)
    add_user(fake_dev, "rita")
    add_user(fake_dev, "other-manager")
    variables = {"CI_PIPELINE_SOURCE": "schedule", "SCHEDULED_TASK": "release_managers.sync", "TEST": "true"}
    env = {
        "GITLAB_API_PRIVATE_TOKEN": PRODUCTION_TOKEN,
        "DEV_API_PRIVATE_TOKEN": DEV_TOKEN,
        "INVOKE_RELEASE_TOOLS_INSTANCES_PRODUCTION_URL": fake_gitlab.url,
        "INVOKE_RELEASE_TOOLS_INSTANCES_DEV_URL": fake_dev.url,
        "INVOKE_RELEASE_TOOLS_RELEASE_MANAGERS_FILE": str(chat_job.managers_file),
    }

    run = emulate(checkout, "scheduled-release-managers-sync", variables=variables, env=env)

    assert run.returncode == 0, run.output
    output = run.job_output("scheduled-release-managers-sync")
    assert "Plan for release_managers.sync:" in output
    assert "· add rita to gitlab/release/managers on dev" in output
    assert fake_gitlab.mutations() == [] and fake_dev.mutations() == []


def chat_variables(chat_job: ChatJob, chat_input: str, **overrides: str) -> tuple[dict[str, str], dict[str, str]]:
    """(--variable values, process environment) for a chat job: GitLab's variables go on the
    command line like GitLab sets them; tokens and configuration come from the environment,
    as CI/CD settings would provide them."""
    environ = chat_job.environ(chat_input, **overrides)
    names = [name for name in environ if name.startswith(("CI_", "GITLAB_", "CHAT_"))] + ["TEST"]
    variables = {name: environ[name] for name in names if name in environ and name not in ("CI", "GITLAB_CI")}
    variables["CI_PIPELINE_SOURCE"] = "chat"
    secrets = {name: value for name, value in environ.items() if name.startswith(("RELEASE_BOT_", "INVOKE_RELEASE_TOOLS_"))}
    return variables, secrets


def test_help_of_every_chat_job_is_its_reply_and_makes_no_request(checkout, chat_job, fake_gitlab):
    variables, env = chat_variables(chat_job, "--help")

    run = emulate(checkout, *CHAT_JOBS, variables=variables, env=env)

    assert run.returncode == 0, run.output
    for job in CHAT_JOBS:
        reply = run.reply(job)
        assert reply[0] == Commands.default().synopsis(job)
        assert "Options:" in reply
    assert fake_gitlab.log == []


def test_release_issue_job_dry_run_replies_with_the_outcome_and_changes_nothing(checkout, chat_job, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    variables, env = chat_variables(chat_job, "11.1.0", TEST="true")

    run = emulate(checkout, "release_issue", variables=variables, env=env)

    assert run.returncode == 0, run.output
    assert run.reply("release_issue") == [
        f'· create the monthly release issue "Release 11.1" in {RELEASE_TASKS}',
        "Dry run: 1 step would be carried out; nothing was changed.",
    ]
    assert "# Release 11.1" in run.job_output("release_issue")  # the issue itself, in the log
    assert fake_gitlab.log[0].path == "/job"  # the job, by its own token, first
    assert fake_gitlab.mutations() == []


def test_chat_job_without_a_job_token_is_refused_before_any_request(checkout, chat_job, fake_gitlab):
    variables, env = chat_variables(chat_job, "11.1.0", TEST="true")
    del variables["CI_JOB_TOKEN"]  # gitlab-ci-local sets none of its own

    run = emulate(checkout, "release_issue", variables=variables, env=env)

    assert run.returncode != 0
    assert run.reply("release_issue") == [
        "Error: Refusing to run: CI_JOB_TOKEN is missing or empty, so the job running this cannot be identified"
    ]
    assert fake_gitlab.log == []


def test_release_issue_job_keeps_shell_metacharacters_inert(checkout, chat_job, fake_gitlab, tmp_path):
    marker = tmp_path / "pwned"
    variables, env = chat_variables(chat_job, f"11.1.0 $(touch {marker}); touch {marker}", TEST="true")

    run = emulate(checkout, "release_issue", variables=variables, env=env)

    assert not marker.exists()
    assert run.reply("release_issue") == [
        "Error: Usage: release_issue VERSION [--security] [--dry-run] (see `release_issue --help`)"
    ]
    assert fake_gitlab.mutations() == []


def test_publish_job_dry_run(checkout, chat_job, fake_dev):
    add_release_pipelines(fake_dev)
    variables, env = chat_variables(chat_job, "11.1.0", TEST="true")

    run = emulate(checkout, "publish", variables=variables, env=env)

    assert run.returncode == 0, run.output
    reply = run.reply("publish")
    assert reply[0].startswith("11.1.0+ee.0: pipeline ")  # the plan's notes come first
    assert any(line.startswith("· play Ubuntu-16.04-release of 11.1.0+ee.0: ") for line in reply)
    assert fake_dev.mutations() == []


def test_qa_issue_job_dry_run(checkout, chat_job, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    add_project(fake_gitlab, EE)
    add_ee_range(fake_gitlab, "More")
    variables, env = chat_variables(chat_job, "v11.1.0-rc1..v11.1.0-rc2", TEST="true")

    run = emulate(checkout, "qa_issue", variables=variables, env=env)

    assert run.returncode == 0, run.output
    assert "11.1.0-rc2 QA Issue" in "\n".join(run.reply("qa_issue"))
    assert fake_gitlab.mutations() == []


def test_tag_job_dry_run(checkout, chat_job, remotes):
    before = remotes.digests()
    variables, env = chat_variables(chat_job, "11.1.0", TEST="true")

    run = emulate(checkout, "tag", variables=variables, env={**env, **remotes.env(), **GIT_ENV})

    assert run.returncode == 0, run.output
    assert "· push gitlab-ee 11-1-stable-ee, master, tag v11.1.0-ee to gitlab" in run.reply("tag")
    assert remotes.digests() == before
