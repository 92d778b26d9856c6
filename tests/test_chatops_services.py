"""The chat commands that call the tagging, publishing and QA services, end to end through
the entrypoint: real git on temporary bare remotes and the fake GitLab."""

from __future__ import annotations

from tests.chatops_support import EE, add_ee_range, add_release_pipelines
from tests.conftest import RELEASE_TASKS
from release_tools.sandbox import add_milestone, add_project
from release_tools.sandbox.merge_requests import add_merge_request
from tests.repos import GIT_ENV


def test_tag_through_chat_tags_ee_and_ce_on_every_remote_and_replies_with_the_outcome(chat_job, remotes):
    result = chat_job("tag", "11.1.0", **remotes.env(), **GIT_ENV)

    assert result.returncode == 0, result.output
    for project, tag in (("ee", "v11.1.0-ee"), ("ce", "v11.1.0"), ("omnibus", "11.1.0+ee.0"), ("omnibus", "11.1.0+ce.0")):
        for remote in ("dev", "gitlab"):
            assert tag in remotes(project, remote).tags(), f"{tag} missing on {project}/{remote}"
    # The reply is the plan's outcome: a line per step, and how it ended.
    pushed = [line.split(": ")[0] for line in result.reply if line.startswith("✓ push ")]
    assert pushed == [
        f"✓ push {what} to {remote}"
        for what in (
            "gitlab-ee 11-1-stable-ee, master, tag v11.1.0-ee",
            "omnibus-gitlab 11-1-stable-ee, tag 11.1.0+ee.0",
            "gitlab-ce 11-1-stable, master, tag v11.1.0, tag v11.2.0.pre",
            "omnibus-gitlab 11-1-stable, master, tag 11.1.0+ce.0",
        )
        for remote in ("dev", "gitlab")
    ]
    assert result.reply[-1] == "Done: 8 done, 2 skipped."
    assert "git " not in "\n".join(result.reply)  # git chatter stays in the log


def test_tag_from_the_security_channel_pushes_to_dev_only(chat_job, remotes):
    public = {project: remotes(project, "gitlab").digest() for project in ("ce", "ee", "omnibus")}

    result = chat_job("tag", "11.1.0", channel="security-release", **remotes.env(), **GIT_ENV)

    assert result.returncode == 0, result.output
    assert "v11.1.0-ee" in remotes("ee", "dev").tags()
    assert {project: remotes(project, "gitlab").digest() for project in public} == public
    assert any(line.startswith("✓ push gitlab-ee 11-1-stable-ee, master, tag v11.1.0-ee to dev: ") for line in result.reply)
    assert not any(" to gitlab" in line for line in result.reply)


def test_tag_dry_run_through_chat_pushes_nothing_and_replies_with_the_pushes_it_would_make(chat_job, remotes):
    before = remotes.digests()

    result = chat_job("tag", "11.1.0 --dry-run", **remotes.env(), **GIT_ENV)

    assert result.returncode == 0, result.output
    assert remotes.digests() == before
    assert "· push gitlab-ee 11-1-stable-ee, master, tag v11.1.0-ee to gitlab" in result.reply
    assert "· push gitlab-ce 11-1-stable, master, tag v11.1.0, tag v11.2.0.pre to dev" in result.reply
    assert result.reply[-1] == "Dry run: 8 steps would be carried out; nothing was changed."  # Slack: no URL


def test_publish_through_chat_plays_the_release_jobs_and_replies_with_them(chat_job, fake_dev):
    jobs = add_release_pipelines(fake_dev)

    result = chat_job("publish", "11.1.0")

    assert result.returncode == 0, result.output
    played = sorted(int(r.path.split("/jobs/")[1].split("/")[0]) for r in fake_dev.requests("POST", "/play"))
    assert played == sorted(job["id"] for job in jobs)
    assert [line for line in result.reply if "pipeline" not in line] == [
        f"✓ play Ubuntu-16.04-release of 11.1.0+ee.0: {jobs[0]['web_url']}",
        f"✓ play Ubuntu-16.04-release of 11.1.0+ce.0: {jobs[1]['web_url']}",
        "Done: 2 done.",
    ]


def test_publish_dry_run_through_chat_plays_nothing(chat_job, fake_dev):
    add_release_pipelines(fake_dev)

    result = chat_job("publish", "11.1.0", TEST="true")

    assert result.returncode == 0, result.output
    assert fake_dev.mutations() == []
    assert any("Ubuntu-16.04-release" in line for line in result.reply)


def test_qa_issue_through_chat_creates_the_issue_listing_the_merge_requests(chat_job, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    add_project(fake_gitlab, EE)
    add_merge_request(fake_gitlab, EE, "Fix the pipeline graph", iid=12, labels=["frontend"])
    add_ee_range(fake_gitlab, "Merge branch 'fix-graph' into 'master'\n\nSee merge request gitlab-org/gitlab-ee!12")

    result = chat_job("qa_issue", "v11.1.0-rc1..v11.1.0-rc2")

    assert result.returncode == 0, result.output
    [issue] = fake_gitlab.table("issues")
    assert issue["title"] == "11.1.0-rc2 QA Issue"
    assert "Fix the pipeline graph" in issue["description"]
    assert result.reply == [
        "1 merge request to check between v11.1.0-rc1 and v11.1.0-rc2.",  # the plan's note
        f'✓ create the QA issue "{issue["title"]}" in {RELEASE_TASKS}, listing 1 merge request: {issue["web_url"]}',
        "Done: 1 done.",
    ]


def test_qa_issue_with_two_refs_works_like_the_range(chat_job, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    add_project(fake_gitlab, EE)
    add_ee_range(fake_gitlab, "Nothing to QA")

    result = chat_job("qa_issue", "v11.1.0-rc1 v11.1.0-rc2")

    assert result.returncode == 0, result.output
    assert [i["title"] for i in fake_gitlab.table("issues")] == ["11.1.0-rc2 QA Issue"]


def test_slack_failures_of_a_chat_tag_are_warnings_on_stderr_and_the_tag_failure_is_in_the_reply(chat_job, remotes, slack):
    slack.fail(500, times=5)

    result = chat_job(
        "tag", "11.1.1", in_process=False, SLACK_TAG_URL=slack.url, SLACK_CHATOPS_URL=slack.url,
        CE="false", OG="false", **remotes.env(), **GIT_ENV,
    )

    assert result.returncode == 0, result.output
    refused = "Slack refused the message (500 Internal Server Error)"
    tag_warning = f"✗ announce 11.1.1-ee on Slack: {refused}: check SLACK_TAG_URL"
    assert tag_warning in result.reply  # the outcome chat hears
    assert result.reply[-1] == "Done: 2 done, 1 failed."  # a warning: the run goes on, exit status 0
    assert f"{tag_warning}\n" in result.stderr
    assert f"Warning: {refused}: check SLACK_CHATOPS_URL\n" in result.stderr  # the announcement of a long run
    assert "late results cannot reach chat" in result.stderr and "late results cannot reach chat" not in result.stdout
