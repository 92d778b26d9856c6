"""`invoke upstream_merge`, run as the scheduled CI job runs it, legacy switches included."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from release_tools.sandbox import add_merge_request
from tests.repos import BareRemote
from tests.test_upstream_merge import EE, FALLBACK, seed


@pytest.fixture
def upstream(upstream_template, tmp_path, fake_gitlab):
    root = tmp_path / "upstream"
    shutil.copytree(upstream_template, root)
    seed(fake_gitlab, release_manager=False)
    config = tmp_path / "upstream.yaml"
    projects = {key: {"remotes": {"dev": "", "gitlab": (root / f"{key}.git").as_uri()}} for key in ("ce", "ee")}
    config.write_text(
        yaml.safe_dump({"release_tools": {"projects": projects, "upstream_merge": {"fallback_assignees": FALLBACK}}})
    )
    return str(config), BareRemote(root / "ee.git")


def test_dry_run_with_the_legacy_switches_mentions_nobody_and_changes_nothing(invoke, upstream, fake_gitlab):
    config, ee = upstream
    before = ee.digest()

    result = invoke("-f", config, "upstream_merge", env={"TEST": "true", "NO_MENTION": "1"})

    assert result.returncode == 0, result.stderr
    assert "- [ ] `carl` [(`UU`) `lib/gitlab.rb`]" in result.stdout and "@carl" not in result.stdout
    assert "SLACK_UPSTREAM_MERGE_URL" not in result.stderr  # a dry run posts nothing, so it needs no URL
    assert ee.digest() == before and fake_gitlab.mutations() == []


def test_pending_merge_request_stops_the_job_and_force_goes_on(invoke, upstream, fake_gitlab):
    config, ee = upstream
    mr = add_merge_request(fake_gitlab, EE, "CE upstream - earlier", labels=["CE upstream"], state="opened")

    stopped = invoke("-f", config, "upstream_merge")
    forced = invoke("-f", config, "upstream_merge", env={"FORCE": "yes"})

    assert stopped.returncode == 0, stopped.stderr
    assert f"\n  An upstream merge request already exists: {mr['web_url']}\n" in stopped.stdout
    assert f"\n  ✓ open an upstream merge request in {EE}: already done; {mr['web_url']}\n" in stopped.stdout
    assert stopped.stdout.endswith("Nothing to do: every step is done already.\n")
    assert forced.returncode == 0, forced.stderr
    assert "SLACK_UPSTREAM_MERGE_URL is not set" in forced.stderr
    created = fake_gitlab.table("merge_requests")[-1]
    assert f'\n✓ open the merge request "{created["title"]}" from ' in forced.stdout
    assert f" into master in {EE}: {created['web_url']}\n" in forced.stdout
    assert forced.stdout.endswith("Done: 2 done, 1 skipped.\n")
    assert created["source_branch"] in ee.branches()


def test_security_mode_is_refused_in_one_line_before_any_request(invoke, upstream, fake_gitlab):
    config, ee = upstream
    before = ee.digest()

    result = invoke("-f", config, "upstream_merge", env={"SECURITY": "true"})

    assert result.returncode == 1
    assert result.stderr.startswith("Error: the upstream merge works on the public projects")
    assert result.stderr.count("\n") == 1
    assert ee.digest() == before and fake_gitlab.log == []


# -- the date it is dated by (release_tools.date, SOURCE_DATE_EPOCH) ------------------------------


@pytest.mark.parametrize(
    "env, branch, title",
    [
        ({"SOURCE_DATE_EPOCH": "1532100600"}, "ce-to-ee-2018-07-20", "CE upstream - 2018-07-20 15:30 UTC"),
        ({"INVOKE_RELEASE_TOOLS_DATE": "2018-07-21"}, "ce-to-ee-2018-07-21", "CE upstream - 2018-07-21 "),
    ],
    ids=["SOURCE_DATE_EPOCH", "release_tools.date"],
)
def test_branch_title_and_milestone_follow_the_date_that_was_set(invoke, upstream, fake_gitlab, env, branch, title):
    config, ee = upstream

    result = invoke("-f", config, "upstream_merge", env=env)

    assert result.returncode == 0, result.stderr
    [mr] = fake_gitlab.table("merge_requests")
    assert mr["source_branch"] == branch and branch in ee.branches()
    assert mr["title"].startswith(title)
    # Of the seed's milestones, 11.1 and 11.2 run on that day, 11.2 is due last; today none runs.
    assert mr["milestone"]["title"] == "11.2"


@pytest.mark.parametrize("day", ["2018-07-20", "2018-07-21"])
def test_the_fallback_assignee_rotates_with_the_date_that_was_set(invoke, upstream, fake_gitlab, day):
    import datetime

    config, ee = upstream
    ee_master = ee.sha("master")
    ce = BareRemote(ee.path.parent / "ce.git")
    ce.git("update-ref", "refs/heads/master", "refs/heads/clean")  # no conflicts: nobody to assign but a fallback

    result = invoke("-f", config, "upstream_merge", env={"INVOKE_RELEASE_TOOLS_DATE": day})

    assert result.returncode == 0, result.stderr
    [mr] = fake_gitlab.table("merge_requests")
    expected = FALLBACK[datetime.date.fromisoformat(day).toordinal() % len(FALLBACK)]
    assert [assignee["username"] for assignee in mr["assignees"]] == [expected]
    assert ee.sha("master") == ee_master


def test_a_malformed_date_is_one_line_before_any_request_or_clone(invoke, upstream, fake_gitlab):
    config, ee = upstream
    before = ee.digest()

    result = invoke("-f", config, "upstream_merge", env={"SOURCE_DATE_EPOCH": "1532100600 UTC"})

    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: SOURCE_DATE_EPOCH must be a whole number") and result.stderr.count("\n") == 1
    assert ee.digest() == before and fake_gitlab.log == []


def test_a_failed_slack_post_is_a_warning_on_stderr(invoke, upstream, fake_gitlab, slack):
    config, ee = upstream
    slack.fail(500)

    result = invoke("-f", config, "upstream_merge", env={"SLACK_UPSTREAM_MERGE_URL": slack.url})

    assert result.returncode == 0, result.stderr
    warning = "✗ tell Slack about the merge request: Slack refused the message (500 Internal Server Error): check SLACK_UPSTREAM_MERGE_URL\n"
    assert warning in result.stderr
    assert result.stdout.endswith("Done: 2 done, 1 failed.\n")  # a warning: the exit status is 0
    assert len(fake_gitlab.table("merge_requests")) == 1


# -- the plan as JSON, a failure mid-plan, the re-run ---------------------------------------------


def steps(document):
    return [(step["kind"], step["state"]) for step in document["steps"]]


def test_json_of_a_dry_run_a_real_run_and_a_rerun(invoke, upstream, fake_gitlab):
    config, ee = upstream
    before = ee.digest()

    dry = json.loads(invoke("-f", config, "upstream_merge", "--json", "--dry-run").stdout)
    assert ee.digest() == before and fake_gitlab.mutations() == []
    first = json.loads(invoke("-f", config, "upstream_merge", "--json").stdout)
    after_first, mutations = ee.digest(), len(fake_gitlab.mutations())
    second = json.loads(invoke("-f", config, "upstream_merge", "--json").stdout)

    assert (dry["status"], steps(dry)) == (
        "dry_run", [("git.push", "to_do"), ("merge_request.create", "to_do"), ("slack.post", "skipped")]
    )
    assert dry["steps"][0]["target"]["refs"] == [f"refs/heads/{dry['steps'][1]['target']['refs'][0]}"]
    [created] = fake_gitlab.table("merge_requests")
    assert (first["status"], steps(first)) == (
        "done", [("git.push", "done"), ("merge_request.create", "done"), ("slack.post", "skipped")]
    )
    assert first["steps"][1]["urls"] == [created["web_url"]]
    # The open merge request is what the task makes: the re-run finds it and changes nothing.
    assert (second["status"], steps(second)) == ("nothing_to_do", [("merge_request.create", "already_done"), ("slack.post", "skipped")])
    assert second["steps"][0]["urls"] == [created["web_url"]]
    assert ee.digest() == after_first and len(fake_gitlab.mutations()) == mutations


def test_a_refused_push_fails_the_plan_before_the_merge_request_and_slack_hears_of_it(invoke, upstream, fake_gitlab, slack):
    config, ee = upstream
    ee.refuse_next_push("pushes are frozen")

    result = invoke("-f", config, "upstream_merge", "--json", env={"SLACK_UPSTREAM_MERGE_URL": slack.url})

    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert (document["status"], steps(document)) == (
        "failed", [("git.push", "failed"), ("merge_request.create", "not_reached"), ("slack.post", "not_reached")]
    )
    assert document["steps"][0]["reason"].startswith("git push to origin failed: ")
    assert fake_gitlab.mutations() == [] and fake_gitlab.table("merge_requests") == []
    assert [p["text"] for p in slack.posts] == [
        "The latest upstream merge MR could not be created! Please have a look at the job log. :boom:"
    ]
