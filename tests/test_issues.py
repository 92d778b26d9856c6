"""Release task issues against the fake GitLab over HTTP: find-or-create, milestones,
labels, confidentiality, retries and error messages."""

from __future__ import annotations

import pytest

from release_tools import issues
from release_tools.output import collect_results
from release_tools.errors import GitLabAccessError, GitLabNotFoundError, MilestoneNotFoundError, MissingTokenError
from release_tools.gitlab import GitLab
from release_tools.version import Version
from tests.conftest import PRODUCTION_TOKEN, RELEASE_TASKS
from release_tools.sandbox import add_issue, add_milestone


def issues_in(fake):
    return [i for i in fake.table("issues")]


def test_monthly_issue_is_created_in_the_project_milestone_assigned_and_labelled(settings, fake_gitlab, capsys):
    milestone = add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    issues.ensure_issue(settings, issues.monthly_issue(settings, Version.parse("11.1.0")))

    [created] = issues_in(fake_gitlab)
    assert created["title"] == "Release 11.1"
    assert created["labels"] == ["Release"]
    assert created["milestone"]["id"] == milestone["id"]
    assert [a["username"] for a in created["assignees"]] == ["release-manager"]
    assert created["confidential"] is False
    assert "## Kick-off" in created["description"]
    out = capsys.readouterr().out
    assert f'✓ create the monthly release issue "Release 11.1" in {RELEASE_TASKS}: {created["web_url"]}\n' in out
    assert out.endswith("Done: 1 done.\n")


def test_rerun_finds_existing_issue_instead_of_creating_another(settings, fake_gitlab, capsys):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    spec = issues.monthly_issue(settings, Version.parse("11.1.0"))
    issues.ensure_issue(settings, spec)
    capsys.readouterr()

    plan = issues.ensure_issue(settings, spec)

    assert len(issues_in(fake_gitlab)) == 1
    [issue] = issues_in(fake_gitlab)
    out = capsys.readouterr().out
    assert f'✓ create the monthly release issue "Release 11.1" in {RELEASE_TASKS}: already done; {issue["web_url"]}' in out
    assert out.endswith("Nothing to do: every step is done already.\n")
    assert plan.steps[0].urls == (issue["web_url"],) and plan.exit_status == 0
    assert len(fake_gitlab.requests("POST")) == 1


def test_existing_issue_is_found_beyond_the_first_page(settings, fake_gitlab, capsys):
    milestone = add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    # The original read only the first 20 results; a title that sorts last must still be found.
    target = add_issue(fake_gitlab, RELEASE_TASKS, "Release 11.1", labels=["Release"], milestone=milestone)
    for number in range(150):
        add_issue(fake_gitlab, RELEASE_TASKS, f"Release 11.1 regression {number}", labels=["Release"], milestone=milestone)

    issues.ensure_issue(settings, issues.monthly_issue(settings, Version.parse("11.1.0")))

    assert f'already done; {target["web_url"]}\n' in capsys.readouterr().out
    assert fake_gitlab.mutations() == []
    pages = fake_gitlab.requests("GET", "/issues")
    assert len(pages) == 2 and all(p.query["per_page"] == ["100"] for p in pages)


def test_security_issue_is_confidential_with_both_labels(settings, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    issues.ensure_issue(settings, issues.security_patch_issue(settings, Version.parse("11.1.2")))

    [created] = issues_in(fake_gitlab)
    assert created["title"] == "Release 11.1.2"
    assert created["confidential"] is True
    assert created["labels"] == ["Release", "security"]
    assert "## Ground rules" in created["description"]


def test_patch_issue_is_not_mistaken_for_the_security_issue_of_the_same_version(settings, fake_gitlab, capsys):
    milestone = add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    add_issue(fake_gitlab, RELEASE_TASKS, "Release 11.1.2", labels=["Release", "security"], milestone=milestone, confidential=True)

    issues.ensure_issue(settings, issues.patch_issue(settings, Version.parse("11.1.2")))

    created = issues_in(fake_gitlab)[-1]
    assert f'✓ create the patch release issue "Release 11.1.2" in {RELEASE_TASKS}: {created["web_url"]}' in capsys.readouterr().out
    assert (created["labels"], created["confidential"]) == (["Release"], False)


def test_rc_version_uses_the_release_candidate_template(settings, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    issues.ensure_issue(settings, issues.patch_issue(settings, Version.parse("11.1.0-rc5")))

    [created] = issues_in(fake_gitlab)
    assert created["title"] == "Release 11.1.0-rc5"
    assert "bin/takeoff-deploy -v 11.1.0-rc5.ee.0 -w" in created["description"]
    assert "packages.gitlab.com/gitlab/unstable" in created["description"]
    assert "/milestone" not in created["description"]


def test_ee_version_names_the_ce_release(settings, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    issues.ensure_issue(settings, issues.patch_issue(settings, Version.parse("11.1.3-ee")))

    assert issues_in(fake_gitlab)[0]["title"] == "Release 11.1.3"


def test_milestone_lookup_falls_back_to_the_group(settings, fake_gitlab):
    group_milestone = add_milestone(fake_gitlab, "gitlab-org", "11.1", group=True)
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.0")

    issues.ensure_issue(settings, issues.monthly_issue(settings, Version.parse("11.1.0")))

    [created] = issues_in(fake_gitlab)
    assert created["milestone"]["id"] == group_milestone["id"]
    assert created["milestone"]["group_id"] is not None
    looked_up = [r.path for r in fake_gitlab.requests("GET", "/milestones")]
    assert looked_up == [f"/projects/{RELEASE_TASKS}/milestones", "/groups/gitlab-org/milestones"]


def test_missing_milestone_is_a_clear_error_and_nothing_is_created(settings, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.0")

    with pytest.raises(MilestoneNotFoundError) as error:
        issues.ensure_issue(settings, issues.monthly_issue(settings, Version.parse("11.1.0")))

    assert str(error.value) == (
        f"Milestone 11.1 not found in {RELEASE_TASKS} or in group gitlab-org on {settings.instance('production').host}: "
        "create it first"
    )
    assert fake_gitlab.mutations() == []


@pytest.mark.parametrize(
    "build, version, where",
    [
        ("monthly_issue", "11.1.0", 'monthly release issue "Release 11.1" would be created in gitlab-org/release/tasks '
         "(public; label Release; milestone 11.1)"),
        ("patch_issue", "11.1.1", 'patch release issue "Release 11.1.1" would be created in gitlab-org/release/tasks '
         "(public; label Release; milestone 11.1)"),
        ("patch_issue", "11.1.0-rc2", 'release candidate issue "Release 11.1.0-rc2" would be created in '
         "gitlab-org/release/tasks (public; label Release; milestone 11.1)"),
        ("security_patch_issue", "11.1.1", 'confidential security release issue "Release 11.1.1" would be created in '
         "gitlab-org/release/tasks (confidential; labels Release, security; milestone 11.1)"),
    ],
    ids=["monthly", "patch", "release candidate", "security"],
)
def test_dry_run_makes_zero_requests_and_says_what_and_where_then_prints_the_issue(
    settings, fake_gitlab, capsys, build, version, where
):
    dry = settings.with_changes(dry_run=True, _secrets={})  # no token either
    spec = getattr(issues, build)(dry, Version.parse(version))

    with collect_results() as lines:
        plan = issues.ensure_issue(dry, spec)

    assert fake_gitlab.log == []
    assert lines == ["Dry run: 1 step would be carried out; nothing was changed."]  # what ChatOps replies with
    what, _, place = where.partition(" would be created in ")
    assert plan.steps[0].summary == f"create the {what} in {place.split(' (')[0]}"
    out = capsys.readouterr().out
    assert f"  ? create the {what} in {place.split(' (')[0]}: not looked up\n      {place.split(' (')[1].rstrip(')')}\n" in out
    assert f"\n# {spec.title}\n\n{spec.description(dry)}" in out


def test_two_transient_502s_are_retried(settings, fake_gitlab, capsys):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    fake_gitlab.fail(502, times=2, method="POST")

    issues.ensure_issue(settings, issues.monthly_issue(settings, Version.parse("11.1.0")))

    assert [r.status for r in fake_gitlab.requests("POST")] == [502, 502, 201]
    assert len(issues_in(fake_gitlab)) == 1
    assert "✓ create the monthly release issue" in capsys.readouterr().out


def test_wrong_token_gives_one_line_401_message_without_the_token(settings, fake_gitlab):
    wrong = settings.with_changes(_secrets={"GITLAB_API_PRIVATE_TOKEN": "wrong-" + PRODUCTION_TOKEN})

    with pytest.raises(GitLabAccessError) as error:
        issues.ensure_issue(wrong, issues.monthly_issue(wrong, Version.parse("11.1.0")))

    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{wrong.instance('production').host} refused {RELEASE_TASKS} (401 Unauthorized)")
    assert message.endswith("check GITLAB_API_PRIVATE_TOKEN")
    assert PRODUCTION_TOKEN not in message


def test_forbidden_project_names_the_instance_project_and_variable(settings, fake_gitlab):
    fake_gitlab.fail(403, times=1, path="/issues")

    with pytest.raises(GitLabAccessError, match=rf"denied access to {RELEASE_TASKS} \(403 Forbidden\).*GITLAB_API_PRIVATE_TOKEN"):
        issues.ensure_issue(settings, issues.monthly_issue(settings, Version.parse("11.1.0")))


def test_unknown_project_is_a_clear_404(settings, fake_gitlab):
    moved = settings.with_changes(
        projects={**settings.projects, "release_tasks": settings.project("release_tasks").__class__("release_tasks", "gitlab-org/nowhere", "", ())}
    )

    with pytest.raises(GitLabNotFoundError) as error:
        issues.ensure_issue(moved, issues.monthly_issue(moved, Version.parse("11.1.0")))

    # GitLab answers 404 for a project the token's user may not see, too: name the variable.
    message = str(error.value)
    assert "\n" not in message and PRODUCTION_TOKEN not in message
    assert message.startswith(f"{moved.instance('production').host}: gitlab-org/nowhere not found (404 Project Not Found)")
    assert message.endswith("check the path, and that the user of GITLAB_API_PRIVATE_TOKEN can see it")


def test_missing_token_fails_before_any_request(settings, fake_gitlab):
    tokenless = settings.with_changes(_secrets={})

    with pytest.raises(MissingTokenError, match="GITLAB_API_PRIVATE_TOKEN is not set"):
        issues.ensure_issue(tokenless, issues.monthly_issue(tokenless, Version.parse("11.1.0")))

    assert fake_gitlab.log == []


@pytest.mark.parametrize(
    "version, security, kind, title",
    [
        ("11.1.0", False, "monthly", "Release 11.1"),
        ("11.1.2", False, "patch", "Release 11.1.2"),
        ("11.1.0-rc3", False, "release_candidate", "Release 11.1.0-rc3"),
        ("11.1.2", True, "security_patch", "Release 11.1.2"),
        ("11.1.0", True, "security_patch", "Release 11.1.0"),
    ],
)
def test_release_issue_picks_the_kind_from_version_and_flag(settings, version, security, kind, title):
    spec = issues.release_issue(settings, Version.parse(version), security=security)
    assert (spec.kind, spec.title) == (kind, title)


def test_current_user_is_looked_up_once(settings, fake_gitlab):
    gitlab = GitLab(settings)
    assert gitlab.current_user() == gitlab.current_user()
    assert len(fake_gitlab.requests("GET", "/user")) == 1


def test_outcome_lines_are_collected_for_chat_replies_and_progress_is_not(settings, fake_gitlab, capsys):
    from release_tools.output import collect_results

    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    with collect_results() as lines:
        issues.ensure_issue(settings, issues.monthly_issue(settings, Version.parse("11.1.0")))

    url = fake_gitlab.table("issues")[0]["web_url"]
    assert lines == [f'✓ create the monthly release issue "Release 11.1" in {RELEASE_TASKS}: {url}', "Done: 1 done."]
    out = capsys.readouterr().out
    assert "Plan for monthly_issue 11.1.0:" in out and "Plan for" not in "\n".join(lines)


def test_a_create_whose_answer_is_lost_is_found_not_repeated(settings, fake_gitlab, capsys):
    # GitLab created the issue, but a proxy answered 502: sending the POST again (as
    # python-gitlab's transient retry would) makes a second task issue.
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    fake_gitlab.fail(502, times=1, method="POST", path="/issues", after=True)

    issues.ensure_issue(settings, issues.monthly_issue(settings, Version.parse("11.1.0")))

    [created] = issues_in(fake_gitlab)
    assert [r.status for r in fake_gitlab.requests("POST")] == [502]
    assert f': {created["web_url"]}\nRead back 1 change.\nDone: 1 done.\n' in capsys.readouterr().out


def test_a_lost_create_is_not_confused_with_the_security_issue_of_the_same_title(settings, fake_gitlab):
    milestone = add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    add_issue(fake_gitlab, RELEASE_TASKS, "Release 11.1.2", labels=["Release", "security"], milestone=milestone, confidential=True)
    fake_gitlab.fail(502, times=1, method="POST", path="/issues")

    issues.ensure_issue(settings, issues.patch_issue(settings, Version.parse("11.1.2")))

    assert [(i["labels"], i["confidential"]) for i in issues_in(fake_gitlab)] == [
        (["Release", "security"], True),
        (["Release"], False),
    ]


def test_gitlab_failing_every_create_is_one_line_and_leaves_no_issue(settings, fake_gitlab, capsys):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    fake_gitlab.fail(503, times=10, method="POST", path="/issues")
    patient = settings.with_changes(api_max_wait=2)  # 0.5 s, then 1 s; a third wait (2 s) would pass 2 s

    plan = issues.ensure_issue(patient, issues.monthly_issue(patient, Version.parse("11.1.0")))

    assert plan.exit_status == 1 and plan.steps[0].state.value == "failed"
    assert "\n" not in plan.steps[0].reason and "503" in plan.steps[0].reason
    assert issues_in(fake_gitlab) == []
    assert len(fake_gitlab.requests("POST")) == 3
    # Before each new POST the issue was looked for, in case the 503 hid a created one.
    assert [r.method for r in fake_gitlab.log if "/issues" in r.path][-5:] == ["POST", "GET", "POST", "GET", "POST"]
    retries = capsys.readouterr().err.splitlines()
    assert [line.rsplit("; ", 1)[1] for line in retries] == [
        "retrying in 0.5 s unless it took effect (1 of 5)",
        "retrying in 1 s unless it took effect (2 of 5)",
    ]
