"""Fixtures for the ChatOps tests: the environment GitLab gives a chat job, a runner for
the real entrypoint, the reply it posts, and a local receiver standing in for Slack.

`tests/conftest.py` registers this module as a pytest plugin, so every test can use them.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEV_TOKEN, PRODUCTION_TOKEN, Result
from release_tools.sandbox import add_chat_job, add_chat_pipeline, add_project, add_user
from release_tools.sandbox.pipelines import add_job, add_pipeline
from release_tools.sandbox.repository import add_commit, add_tag
from tests.slack_receiver import WEBHOOK_PATH

#: The part of every test webhook URL that is secret.
SLACK_SECRET = WEBHOOK_PATH.rsplit("/", 1)[1]

RELEASE_TOOLS = "gitlab-org/release-tools"

#: The release managers file the tests use: Rita is one, Dave the developer is not.
RELEASE_MANAGERS = """\
Rita Release:
  gitlab.com: release-manager
  gitlab.org: rita
Other Manager:
  gitlab.com: other-manager
"""

REPLY = re.compile(
    r"section_start:(?P<start>\d+):chat_reply\r\x1b\[0K\n(?P<body>.*?)\nsection_end:(?P<end>\d+):chat_reply\r\x1b\[0K",
    re.DOTALL,
)


class ChatResult(Result):
    """A job's result, read the way GitLab reads it for chat."""

    @property
    def reply(self) -> list[str]:
        """The lines GitLab would post to chat: the one chat_reply section, exactly."""
        sections = list(REPLY.finditer(self.stdout))
        assert len(sections) == 1, f"expected one chat_reply section in:\n{self.stdout}"
        return sections[0]["body"].split("\n")

    @property
    def log(self) -> str:
        """The job log outside the reply section."""
        return REPLY.sub("", self.stdout)


@dataclass
class ChatJob:
    """Builds the environment GitLab gives a chat job and runs the entrypoint in it."""

    fake: Any
    dev: Any
    home: Path
    workdir: Path
    project: dict[str, Any]
    managers_file: Path
    extra: dict[str, str] = field(default_factory=dict)

    def pipeline(self, user: str = "release-manager", **kwargs: Any) -> dict[str, Any]:
        return add_chat_pipeline(self.fake, RELEASE_TOOLS, user, **kwargs)

    def environ(
        self,
        chat_input: str | None,
        *,
        user: str = "release-manager",
        pipeline_user: str | None = None,
        channel: str = "g_delivery",
        source: str = "chat",
        status: str = "running",
        **extra: str,
    ) -> dict[str, str]:
        """What GitLab sets for `/chatops run <job> <chat_input>` typed by `user`
        (`pipeline_user` differs when a variable was overridden): the variables of a job of
        a new pipeline, running unless the pipeline's `status` is over, with its own token."""
        pipeline = self.pipeline(pipeline_user or user, source=source, status=status)
        job = add_chat_job(self.fake, pipeline, status="running" if status == "running" else status)
        return self.job_environ(job, chat_input, user=user, channel=channel, source=source, **extra)

    def job_environ(
        self,
        job: dict[str, Any],
        chat_input: str | None,
        *,
        user: str = "release-manager",
        channel: str = "g_delivery",
        source: str = "chat",
        **extra: str,
    ) -> dict[str, str]:
        """The variables GitLab gives `job` (a job of the fake, on this project unless
        `extra` says otherwise), with its CI_JOB_TOKEN."""
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_JOB_ID": str(job["id"]),
            "CI_JOB_TOKEN": job["token"],
            "CI_JOB_URL": job["web_url"],
            "CI_PIPELINE_ID": str(job["pipeline"]["id"]),
            "CI_PIPELINE_SOURCE": source,
            "CI_PIPELINE_CREATED_AT": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "CI_PROJECT_ID": str(job["project_id"]),
            "CI_API_V4_URL": f"{self.fake.url}/api/v4",
            "CI_SERVER_URL": self.fake.url,
            "GITLAB_USER_LOGIN": user,
            "CHAT_CHANNEL": channel,
            "CHAT_USER_ID": "U0RITA",
            "RELEASE_BOT_PRODUCTION_TOKEN": PRODUCTION_TOKEN,
            "RELEASE_BOT_DEV_TOKEN": DEV_TOKEN,
            "INVOKE_RELEASE_TOOLS_INSTANCES_PRODUCTION_URL": self.fake.url,
            "INVOKE_RELEASE_TOOLS_INSTANCES_DEV_URL": self.dev.url,
            "INVOKE_RELEASE_TOOLS_RELEASE_MANAGERS_FILE": str(self.managers_file),
            "INVOKE_RELEASE_TOOLS_ENV_FILE": str(self.workdir / "no.env"),
        }
        if chat_input is not None:
            environ["CHAT_INPUT"] = chat_input
        environ.update(self.extra)
        environ.update(extra)
        return environ

    def run(self, *argv: str, environ: dict[str, str], in_process: bool = False, commands: Any = None) -> ChatResult:
        """`python -m release_tools.chatops ARGV` as the CI job runs it, or (faster, for
        tests about behaviour rather than the process) `chatops.main(ARGV, environ)`, over
        the chat `commands` of a test collection if given."""
        assert in_process or commands is None, "a subprocess runs the real collection"
        if in_process:
            from release_tools.chatops import main

            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                returncode = main(list(argv), environ, commands=commands)
            result = ChatResult(returncode, out.getvalue(), err.getvalue())
        else:
            completed = subprocess.run(
                [sys.executable, "-m", "release_tools.chatops", *argv],
                cwd=self.workdir,
                env=environ,
                capture_output=True,
                timeout=120,
            )
            # Bytes, not text=True: universal newlines would turn the markers' \r into \n.
            result = ChatResult(completed.returncode, completed.stdout.decode(), completed.stderr.decode())
        for secret in (PRODUCTION_TOKEN, DEV_TOKEN, SLACK_SECRET, *self.fake.job_tokens, *self.dev.job_tokens):
            assert secret not in result.output, "a token or webhook leaked into the output"
        return result

    def __call__(self, command: str, chat_input: str | None, *, in_process: bool = True, **kwargs: Any) -> ChatResult:
        """Run the chat job `command` with CHAT_INPUT `chat_input` (see `environ`)."""
        return self.run(command, environ=self.environ(chat_input, **kwargs), in_process=in_process)


@pytest.fixture
def chat_job(fake_gitlab, fake_dev, tmp_path):
    """`chat_job("release_issue", "11.1.0")` runs the release_issue chat job for Rita."""
    home = tmp_path / "home"
    home.mkdir()
    workdir = tmp_path / "job"
    workdir.mkdir()
    managers = tmp_path / "release_managers.yml"
    managers.write_text(RELEASE_MANAGERS)
    add_user(fake_gitlab, "developer", "Dave Developer")
    add_user(fake_gitlab, "other-manager", "Other Manager")
    add_user(fake_gitlab, "chatops-bot", "ChatOps Bot")
    project = add_project(fake_gitlab, RELEASE_TOOLS)
    return ChatJob(fake_gitlab, fake_dev, home, workdir, project, managers)


#: The project QA issues read by default.
EE = "gitlab-org/gitlab-ee"


def add_release_pipelines(fake_dev, version="11.1.0"):
    """The EE and CE omnibus tag pipelines of `version` on dev, one manual release job each."""
    add_project(fake_dev, "gitlab/omnibus-gitlab")
    jobs = []
    for edition in ("ee", "ce"):
        pipeline = add_pipeline(fake_dev, "gitlab/omnibus-gitlab", f"{version}+{edition}.0")
        jobs.append(add_job(fake_dev, pipeline, "Ubuntu-16.04-release", "package-release"))
    return jobs


def add_ee_range(fake, *merge_commit_messages):
    """EE tags v11.1.0-rc1-ee and v11.1.0-rc2-ee with the given commits between them."""
    add_commit(fake, EE, "Start")
    add_tag(fake, EE, "v11.1.0-rc1-ee")
    for message in merge_commit_messages:
        add_commit(fake, EE, message)
    add_tag(fake, EE, "v11.1.0-rc2-ee")


def minutes_ago(minutes: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["EE", "REPLY", "ChatJob", "ChatResult", "add_ee_range", "add_release_pipelines", "chat_job", "minutes_ago"]
