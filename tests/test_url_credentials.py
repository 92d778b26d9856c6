"""Credentials in URLs (`http://user:secret@host`) never show: not in errors, warnings
(python-gitlab's included), progress or chat replies, for GitLab instances, git remotes and
Slack webhooks alike. Instances get them as HTTP basic authentication instead."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest

from release_tools.config import Instance, split_userinfo
from release_tools.output import redact
from tests.chatops_support import minutes_ago
from tests.conftest import RELEASE_TASKS, ROOT
from release_tools.sandbox import add_milestone

#: The secret part of every credentialed URL below; no output may contain it.
SECRET = "s3cret-in-url-91c4"


def with_userinfo(url: str, user: str = "relay") -> str:
    return url.replace("://", f"://{user}:{SECRET}@", 1)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Error: http://user:pw@host/x failed", "Error: http://<hidden>@host/x failed"),
        ("fatal: 'https://oauth2:glpat-xyz@gitlab.com/a.git'", "fatal: 'https://<hidden>@gitlab.com/a.git'"),
        ("https://token@gitlab.com", "https://<hidden>@gitlab.com"),
        ("a password with an @: https://u:p@ss@host/", "a password with an @: https://<hidden>@host/"),
        ("git@gitlab.com:group/project.git", "git@gitlab.com:group/project.git"),
        ("https://gitlab.com/a/b?author=ada@example.com", "https://gitlab.com/a/b?author=ada@example.com"),
    ],
    ids=["user-password", "quoted-git", "token-only", "at-in-password", "scp-like", "at-in-query"],
)
def test_every_output_line_hides_the_userinfo_of_urls(text, expected):
    assert redact(text) == expected


def test_library_warnings_are_redacted_too():
    # As python-gitlab warns when GitLab's answers name another base URL than it was given.
    code = (
        "import warnings, release_tools.output\n"
        f"warnings.warn('base URL differs (http://user:{SECRET}@host -> http://host)', UserWarning)"
    )

    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert "UserWarning: base URL differs (http://<hidden>@host -> http://host)" in completed.stderr
    assert SECRET not in completed.stderr


def test_an_instance_keeps_its_url_without_the_credentials_and_carries_them_apart():
    instance = Instance("production", f"https://ci%40bot:{SECRET}@gitlab.example.com:8443", "TOKEN")

    assert instance.url == "https://gitlab.example.com:8443"
    assert instance.host == "gitlab.example.com:8443"
    assert instance.credentials == ("ci@bot", SECRET)
    assert SECRET not in repr(instance)
    assert split_userinfo("https://gitlab.com/x") == ("https://gitlab.com/x", None)


# -- the CLI, as a user runs it ----------------------------------------------------------------


def test_a_successful_run_against_an_instance_url_with_credentials_shows_none(invoke, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = invoke("monthly_issue", "11.1.0", env={"INVOKE_RELEASE_TOOLS_INSTANCES_PRODUCTION_URL": with_userinfo(fake_gitlab.url)})

    assert result.returncode == 0, result.stderr
    assert SECRET not in result.output and "relay" not in result.output
    assert "Warning" not in result.stderr  # python-gitlab was given the URL without them: nothing to warn about
    assert result.stdout.splitlines()[-3].endswith(f": {fake_gitlab.url}/{RELEASE_TASKS}/issues/1")
    # They reached GitLab the way a proxy in front of it expects them: as basic authentication.
    assert {r.basic_auth for r in fake_gitlab.log} == {("relay", SECRET)}


def test_a_refused_token_names_the_host_without_the_credentials(invoke, fake_gitlab):
    url = with_userinfo(fake_gitlab.url)

    result = invoke(
        "monthly_issue", "11.1.0", env={"INVOKE_RELEASE_TOOLS_INSTANCES_PRODUCTION_URL": url, "GITLAB_API_PRIVATE_TOKEN": "wrong"}
    )

    assert result.returncode == 1
    host = fake_gitlab.url.split("//")[1]
    assert result.stderr == (
        f"Error: {host} refused {RELEASE_TASKS} (401 Unauthorized) while searching for issue 'Release 11.1': "
        "check GITLAB_API_PRIVATE_TOKEN\n"
    )


def test_an_unreachable_instance_with_credentials_shows_none(invoke, closed_port):
    port = closed_port

    result = invoke("monthly_issue", "11.1.0", env={"INVOKE_RELEASE_TOOLS_INSTANCES_PRODUCTION_URL": with_userinfo(f"http://127.0.0.1:{port}")})

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"Error: cannot reach 127.0.0.1:{port} while searching for issue 'Release 11.1': connection refused"
    )
    assert SECRET not in result.output and "relay" not in result.output


def test_a_failing_git_remote_with_credentials_shows_none(invoke, remotes, closed_port):
    port = closed_port
    env = {**remotes.env(), "INVOKE_RELEASE_TOOLS_PROJECTS_CE_REMOTES_GITLAB": with_userinfo(f"http://127.0.0.1:{port}/ce.git")}

    result = invoke("sync", "--dry-run", env=env)

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("Error: git ls-remote failed: ")
    assert f"http://<hidden>@127.0.0.1:{port}/ce.git" in result.stdout  # the command, as echoed
    assert SECRET not in result.output


# -- Slack webhooks and chat replies --------------------------------------------------------------


def test_a_webhook_with_credentials_posts_with_basic_auth_and_shows_none(chat_job, fake_gitlab, slack):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = chat_job(
        "release_issue", "11.1.0", CI_PIPELINE_CREATED_AT=minutes_ago(40), SLACK_CHATOPS_URL=with_userinfo(slack.url, "hook")
    )

    assert result.returncode == 0, result.output
    assert len(slack.posts) == 1
    assert slack.authorizations == ["Basic " + base64.b64encode(f"hook:{SECRET}".encode()).decode()]
    assert result.reply[-1].endswith("the results were also posted to #g_delivery through Slack.")
    assert SECRET not in result.output


def test_a_failing_webhook_and_instance_with_credentials_show_none_in_the_chat_reply(chat_job, fake_gitlab, slack):
    slack.fail(500, times=5)
    fake_gitlab.fail(403, times=1, path="/issues")

    result = chat_job(
        "release_issue",
        "11.1.0",
        CI_PIPELINE_CREATED_AT=minutes_ago(40),
        SLACK_CHATOPS_URL=with_userinfo(slack.url, "hook"),
        INVOKE_RELEASE_TOOLS_INSTANCES_PRODUCTION_URL=with_userinfo(fake_gitlab.url),
    )

    assert result.returncode == 1
    host = fake_gitlab.url.split("//")[1]
    assert any(line.startswith(f"Error: {host} denied access to {RELEASE_TASKS} (403 Forbidden)") for line in result.reply)
    assert result.reply[-1].endswith("(Slack refused the message (500 Internal Server Error): check SLACK_CHATOPS_URL).")
    assert SECRET not in result.output and "relay:" not in result.output
