"""The chat commands that call the tagging, publishing and QA services, end to end through
the entrypoint: real git on temporary bare remotes and the fake GitLab.

Those services are built on other branches; each test skips until its module is there.
"""

from __future__ import annotations

import pytest

from tests.conftest import RELEASE_TASKS
from tests.fake_gitlab import add_milestone, add_project


def test_tag_through_chat_tags_ee_and_ce_on_every_remote_and_replies_with_the_outcome(chat_job, request):
    pytest.importorskip("release_tools.tagging")
    repos = pytest.importorskip("tests.repos")
    remotes = request.getfixturevalue("remotes")

    result = chat_job("tag", "11.1.0", **remotes.env(), **repos.GIT_ENV)

    assert result.returncode == 0, result.output
    for project, tag in (("ee", "v11.1.0-ee"), ("ce", "v11.1.0")):
        for remote in ("dev", "gitlab"):
            assert tag in remotes(project, remote).tags(), f"{tag} missing on {project}/{remote}"
    assert result.reply and not result.reply[-1].startswith("Error")
    assert "git " not in "\n".join(result.reply)  # git chatter stays in the log


def test_tag_from_the_security_channel_pushes_to_dev_only(chat_job, request):
    pytest.importorskip("release_tools.tagging")
    repos = pytest.importorskip("tests.repos")
    remotes = request.getfixturevalue("remotes")
    public = {project: remotes(project, "gitlab").digest() for project in ("ce", "ee", "omnibus")}

    result = chat_job("tag", "11.1.0", channel="security-release", **remotes.env(), **repos.GIT_ENV)

    assert result.returncode == 0, result.output
    assert "v11.1.0-ee" in remotes("ee", "dev").tags()
    assert {project: remotes(project, "gitlab").digest() for project in public} == public


def test_tag_dry_run_through_chat_pushes_nothing(chat_job, request):
    pytest.importorskip("release_tools.tagging")
    repos = pytest.importorskip("tests.repos")
    remotes = request.getfixturevalue("remotes")
    before = remotes.digests()

    result = chat_job("tag", "11.1.0 --dry-run", **remotes.env(), **repos.GIT_ENV)

    assert result.returncode == 0, result.output
    assert remotes.digests() == before
    assert result.reply


def test_publish_through_chat_plays_the_release_jobs_and_replies_with_them(chat_job, fake_dev):
    pytest.importorskip("release_tools.publish")
    pipelines = pytest.importorskip("tests.fake_gitlab.pipelines")
    add_project(fake_dev, "gitlab/omnibus-gitlab")
    jobs = []
    for edition in ("ee", "ce"):
        pipeline = pipelines.add_pipeline(fake_dev, "gitlab/omnibus-gitlab", f"11.1.0+{edition}.0")
        jobs.append(pipelines.add_job(fake_dev, pipeline, "Ubuntu-16.04-release", "package-release"))

    result = chat_job("publish", "11.1.0")

    assert result.returncode == 0, result.output
    played = sorted(int(r.path.split("/jobs/")[1].split("/")[0]) for r in fake_dev.requests("POST", "/play"))
    assert played == sorted(job["id"] for job in jobs)
    assert result.reply[0] == "--> 11.1.0+ee.0"
    assert any("Ubuntu-16.04-release" in line for line in result.reply)


def test_publish_dry_run_through_chat_plays_nothing(chat_job, fake_dev):
    pytest.importorskip("release_tools.publish")
    pipelines = pytest.importorskip("tests.fake_gitlab.pipelines")
    add_project(fake_dev, "gitlab/omnibus-gitlab")
    for edition in ("ee", "ce"):
        pipeline = pipelines.add_pipeline(fake_dev, "gitlab/omnibus-gitlab", f"11.1.0+{edition}.0")
        pipelines.add_job(fake_dev, pipeline, "Ubuntu-16.04-release", "package-release")

    result = chat_job("publish", "11.1.0", TEST="true")

    assert result.returncode == 0, result.output
    assert fake_dev.mutations() == []
    assert any("Ubuntu-16.04-release" in line for line in result.reply)


def test_qa_issue_through_chat_creates_the_issue_listing_the_merge_requests(chat_job, fake_gitlab):
    pytest.importorskip("release_tools.qa")
    repository = pytest.importorskip("tests.fake_gitlab.repository")
    merge_requests = pytest.importorskip("tests.fake_gitlab.merge_requests")
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    ee = "gitlab-org/gitlab-ee"
    add_project(fake_gitlab, ee)
    repository.add_commit(fake_gitlab, ee, "Start")
    repository.add_tag(fake_gitlab, ee, "v11.1.0-rc1-ee")
    merge_requests.add_merge_request(fake_gitlab, ee, "Fix the pipeline graph", iid=12, labels=["frontend"])
    repository.add_commit(fake_gitlab, ee, "Merge branch 'fix-graph' into 'master'\n\nSee merge request gitlab-org/gitlab-ee!12")
    repository.add_tag(fake_gitlab, ee, "v11.1.0-rc2-ee")

    result = chat_job("qa_issue", "v11.1.0-rc1..v11.1.0-rc2")

    assert result.returncode == 0, result.output
    [issue] = fake_gitlab.table("issues")
    assert issue["title"] == "11.1.0-rc2 QA Issue"
    assert "Fix the pipeline graph" in issue["description"]
    assert result.reply == [f'--> Issue "{issue["title"]}" created with 1 merge request.', f"    {issue['web_url']}"]


def test_qa_issue_with_two_refs_works_like_the_range(chat_job, fake_gitlab):
    pytest.importorskip("release_tools.qa")
    repository = pytest.importorskip("tests.fake_gitlab.repository")
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    ee = "gitlab-org/gitlab-ee"
    add_project(fake_gitlab, ee)
    repository.add_commit(fake_gitlab, ee, "Start")
    repository.add_tag(fake_gitlab, ee, "v11.1.0-rc1-ee")
    repository.add_commit(fake_gitlab, ee, "Nothing to QA")
    repository.add_tag(fake_gitlab, ee, "v11.1.0-rc2-ee")

    result = chat_job("qa_issue", "v11.1.0-rc1 v11.1.0-rc2")

    assert result.returncode == 0, result.output
    assert [i["title"] for i in fake_gitlab.table("issues")] == ["11.1.0-rc2 QA Issue"]
