"""Requests that must not happen twice, when GitLab carries them out but the answer is lost
(the fake's `after=True` faults: a proxy answering 502 while GitLab did the work). The GitLab
adapter looks before it sends again, so nothing is done twice and nothing done is reported
as failed."""

from __future__ import annotations

import pytest

from release_tools.gitlab import GitLab
from release_tools.plan import State
from release_tools.publish import publish
from release_tools.version import Version
from tests.conftest import RELEASE_TASKS
from release_tools.sandbox import add_branch, add_commit, add_group, add_issue, add_job, add_member, add_pipeline, add_project, add_user
from release_tools.sandbox.members import MAINTAINER, OWNER, members_of

OMNIBUS = "gitlab/omnibus-gitlab"
CE = "gitlab-org/gitlab-ce"
GROUP = "gitlab-org/release/managers"


def retry_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if "retrying in" in line]


# -- playing jobs ----------------------------------------------------------------------------------


@pytest.fixture
def release_jobs(fake_dev):
    """One manual release job in each of the EE and CE tag pipelines of 11.1.2 on dev."""
    add_project(fake_dev, OMNIBUS)
    jobs = []
    for edition in ("ee", "ce"):
        pipeline = add_pipeline(fake_dev, OMNIBUS, f"11.1.2+{edition}.0")
        jobs.append(add_job(fake_dev, pipeline, "Ubuntu-16.04-release", "package-release"))
    return jobs


def test_a_play_whose_answer_was_lost_is_reported_as_started(settings, fake_dev, release_jobs, capsys):
    ee_job, ce_job = release_jobs
    fake_dev.fail(502, method="POST", path=f"/jobs/{ee_job['id']}/play", after=True)

    plan = publish(settings, Version.parse("11.1.2"))

    assert plan.exit_status == 0 and [step.state for step in plan.steps] == [State.DONE, State.DONE]
    assert ee_job["status"] == ce_job["status"] == "pending"
    # The job was read again instead of being played again (which GitLab refuses with 400).
    assert [r.status for r in fake_dev.requests("POST", f"/jobs/{ee_job['id']}/play")] == [502]
    assert [r.status for r in fake_dev.requests("GET", f"/jobs/{ee_job['id']}")] == [200]
    out, err = capsys.readouterr()
    assert f"✓ play Ubuntu-16.04-release of 11.1.2+ee.0: {ee_job['web_url']}\n" in out and "✗" not in out
    assert err.count("retrying in 0.5 s unless it took effect (1 of 5)") == 1


def test_a_refused_play_of_a_job_someone_else_started_is_no_failure(settings, fake_dev, release_jobs):
    ee_job, _ = release_jobs
    # The job starts as the play arrives (someone played it by hand meanwhile), and GitLab
    # refuses the play of a job that is no longer manual: "400 Bad request - Unplayable Job".
    fake_dev.fail(400, method="POST", path=f"/jobs/{ee_job['id']}/play", after=True)

    plan = publish(settings, Version.parse("11.1.2"))

    assert plan.exit_status == 0 and plan.steps[0].state is State.DONE
    assert ee_job["status"] == "pending"
    assert [r.status for r in fake_dev.requests("POST", f"/jobs/{ee_job['id']}/play")] == [400]
    assert [r.status for r in fake_dev.requests("GET", f"/jobs/{ee_job['id']}")] == [200]


def test_a_refused_play_of_a_job_still_waiting_is_reported_as_not_started(settings, fake_dev, release_jobs):
    ee_job, _ = release_jobs
    fake_dev.fail(400, method="POST", path=f"/jobs/{ee_job['id']}/play")

    plan = publish(settings, Version.parse("11.1.2"))

    assert plan.exit_status == 1
    assert [step.state for step in plan.steps] == [State.FAILED, State.DONE]  # CE still went out
    assert "400 injected fault" in plan.steps[0].reason
    assert ee_job["status"] == "manual"


# -- issue comments and descriptions ------------------------------------------------------------------


def test_a_comment_whose_answer_was_lost_is_not_posted_twice(settings, fake_gitlab, capsys):
    issue = add_issue(fake_gitlab, RELEASE_TASKS, "11.1.0 QA Issue")
    add_issue(fake_gitlab, RELEASE_TASKS, "Other")  # notes of other issues do not count
    fake_gitlab.fail(502, method="POST", path="/notes", after=True)

    GitLab(settings).add_issue_note(RELEASE_TASKS, issue["iid"], "New merge requests: !1, !2")

    assert [n["body"] for n in fake_gitlab.table("notes")] == ["New merge requests: !1, !2"]
    assert [r.status for r in fake_gitlab.requests("POST", "/notes")] == [502]
    assert len(retry_lines(capsys)) == 1


def test_a_lost_comment_is_sent_again_when_it_was_not_posted(settings, fake_gitlab):
    issue = add_issue(fake_gitlab, RELEASE_TASKS, "11.1.0 QA Issue")
    fake_gitlab.fail(502, method="POST", path="/notes")  # refused before anything was posted

    GitLab(settings).add_issue_note(RELEASE_TASKS, issue["iid"], "New merge requests: !1")

    assert [n["body"] for n in fake_gitlab.table("notes")] == ["New merge requests: !1"]
    assert [r.status for r in fake_gitlab.requests("POST", "/notes")] == [502, 201]


def test_a_description_update_whose_answer_was_lost_is_sent_again_and_ends_the_same(settings, fake_gitlab):
    # A PUT sets the same description however often it is sent: retrying it is safe.
    issue = add_issue(fake_gitlab, RELEASE_TASKS, "11.1.0 QA Issue", description="old")
    fake_gitlab.fail(502, method="PUT", after=True)

    updated = GitLab(settings).update_issue_description(RELEASE_TASKS, issue["iid"], "new")

    assert updated.description == "new" == issue["description"]
    assert [r.status for r in fake_gitlab.requests("PUT")] == [502, 200]


# -- branches and merge requests -----------------------------------------------------------------------


@pytest.fixture
def ce(fake_gitlab):
    add_project(fake_gitlab, CE)
    add_commit(fake_gitlab, CE, "Initial commit")
    add_branch(fake_gitlab, CE, "11-1-stable")
    return fake_gitlab


def test_a_branch_whose_answer_was_lost_counts_as_created(settings, ce):
    ce.fail(502, method="POST", path="/repository/branches", after=True)

    created = GitLab(settings).create_branch(CE, "11-1-stable-patch-2", "11-1-stable")

    assert created is True  # not "it existed already", which the retry's 400 would have said
    assert [r.status for r in ce.requests("POST", "/repository/branches")] == [502]


def test_a_merge_request_whose_answer_was_lost_is_found_not_opened_twice(settings, ce):
    add_branch(ce, CE, "11-1-stable-patch-2", "11-1-stable")
    ce.fail(502, method="POST", path="/merge_requests", after=True)

    created = GitLab(settings).create_merge_request(
        CE,
        title="WIP: Prepare 11.1.2 release",
        description="",
        source_branch="11-1-stable-patch-2",
        target_branch="11-1-stable",
        labels=("Release",),
        milestone_id=None,
        assignee_id=None,
    )

    [stored] = ce.table("merge_requests")
    assert (created.iid, created.title) == (stored["iid"], "WIP: Prepare 11.1.2 release")
    assert [r.status for r in ce.requests("POST", "/merge_requests")] == [502]  # no 409 from a second POST


# -- group members -------------------------------------------------------------------------------------


@pytest.fixture
def group(fake_gitlab):
    add_member(fake_gitlab, "gitlab-org", fake_gitlab.release_manager, OWNER)
    add_group(fake_gitlab, GROUP)
    return fake_gitlab


def members(fake) -> set[int]:
    return {m["user_id"] for m in members_of(fake, "group", fake.find_group(GROUP)["id"])}


def test_a_member_whose_addition_lost_its_answer_counts_as_added(settings, group):
    ada = add_user(group, "ada")
    group.fail(502, method="POST", path="/members", after=True)

    added = GitLab(settings).add_group_member(GROUP, ada["id"], MAINTAINER)

    assert added is True  # not "a member already", which the retry's 409 would have said
    assert members(group) == {ada["id"]}
    assert [r.status for r in group.requests("POST", "/members")] == [502]


def test_a_member_whose_removal_lost_its_answer_counts_as_removed(settings, group):
    old = add_user(group, "old-dev")
    add_member(group, GROUP, old, MAINTAINER)
    group.fail(502, method="DELETE", path="/members", after=True)

    removed = GitLab(settings).remove_group_member(GROUP, old["id"])

    assert removed is True  # not "no longer a member", which the retry's 404 would have said
    assert members(group) == set()
    assert [r.status for r in group.requests("DELETE", "/members")] == [502]
