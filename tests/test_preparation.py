"""Preparation merge requests: branches off the CE and EE stable branches and merge
requests back into them, found or created, linking the release's own issue; against the
fake GitLab over HTTP."""

from __future__ import annotations

import pytest

from release_tools.errors import GitLabError, InvalidRefError, ReleaseIssueNotFoundError
from release_tools.preparation import ensure_preparation_merge_requests, preparation_merge_request
from release_tools.version import Version
from tests.conftest import RELEASE_TASKS
from tests.fake_gitlab import add_branch, add_commit, add_issue, add_merge_request, add_milestone, add_project

CE, EE = "gitlab-org/gitlab-ce", "gitlab-org/gitlab-ee"


@pytest.mark.parametrize(
    "version, title, source, target",
    [
        ("9.4.1", "WIP: Prepare 9.4.1 release", "9-4-stable-patch-1", "9-4-stable"),
        ("9.4.1-ee", "WIP: Prepare 9.4.1-ee release", "9-4-stable-ee-patch-1", "9-4-stable-ee"),
        ("11.1.0-rc2", "WIP: Prepare 11.1 RC2 release", "11-1-stable-prepare-rc2", "11-1-stable"),
        ("11.1.0-rc2-ee", "WIP: Prepare 11.1 RC2 EE release", "11-1-stable-ee-prepare-rc2", "11-1-stable-ee"),
    ],
    ids=repr,
)
def test_names_follow_the_original(settings, version, title, source, target):
    spec = preparation_merge_request(settings, Version.parse(version))

    assert (spec.title, spec.source_branch, spec.target_branch) == (title, source, target)
    assert spec.project == (EE if version.endswith("-ee") else CE)
    assert (spec.labels, spec.milestone) == (("Release",), version[: version.index(".", 3)])


@pytest.fixture
def repos(fake_gitlab):
    """CE and EE with their 11-1 stable branches, the 11.1 milestone and the release issues."""
    com = fake_gitlab
    for path, stable in ((CE, "11-1-stable"), (EE, "11-1-stable-ee")):
        add_project(com, path)
        add_commit(com, path, "Initial")
        add_branch(com, path, stable)
    milestone = add_milestone(com, "gitlab-org", "11.1", group=True)
    com.issues = {
        title: add_issue(com, RELEASE_TASKS, title, labels=["Release"], milestone=milestone)
        for title in ("Release 11.1", "Release 11.1.2", "Release 11.1.0-rc2")
    }
    com.clear_log()
    return com


def mrs(fake):
    return fake.table("merge_requests")


def test_patch_creates_both_branches_and_merge_requests(settings, repos, capsys):
    ensure_preparation_merge_requests(settings, Version.parse("11.1.2"))

    ce, ee = mrs(repos)
    assert (ce["title"], ce["source_branch"], ce["target_branch"]) == ("WIP: Prepare 11.1.2 release", "11-1-stable-patch-2", "11-1-stable")
    assert (ee["title"], ee["source_branch"], ee["target_branch"]) == ("WIP: Prepare 11.1.2-ee release", "11-1-stable-ee-patch-2", "11-1-stable-ee")
    issue_url = repos.issues["Release 11.1.2"]["web_url"]
    for mr in (ce, ee):
        assert mr["labels"] == ["Release"]
        assert mr["milestone"]["title"] == "11.1"
        assert mr["assignee"]["username"] == "release-manager"
        assert mr["force_remove_source_branch"] is True
        assert mr["description"].startswith(f"Main release issue: {issue_url}\n")
        assert f"`{mr['source_branch']}` is merged into `{mr['target_branch']}`" in mr["description"]
    assert "label_name%5B%5D=Pick+into+11.1&scope=all&state=merged" in ce["description"]
    assert "Merge the CE preparation branch into this one" in ee["description"]
    assert "Merge the CE preparation branch" not in ce["description"]
    branches = {(b["project_id"], b["name"]) for b in repos.table("branches")}
    assert {b for _, b in branches} >= {"11-1-stable-patch-2", "11-1-stable-ee-patch-2"}
    out = capsys.readouterr().out
    assert f'--> Merge Request "WIP: Prepare 11.1.2 release" created.\n    {ce["web_url"]}\n' in out
    assert f'--> Merge Request "WIP: Prepare 11.1.2-ee release" created.\n    {ee["web_url"]}\n' in out


def test_no_request_is_sent_twice(settings, repos):
    # CE and EE both fall back to the same group milestone: it is read once.
    ensure_preparation_merge_requests(settings, Version.parse("11.1.2"))

    sent = [(r.method, r.path, sorted(r.query.items())) for r in repos.log]
    assert [r for r in sent if sent.count(r) > 1] == []
    assert len(repos.requests("GET", "/groups/gitlab-org/milestones")) == 1


def test_rc_merge_requests_link_the_rc_issue_not_the_monthly_one(settings, repos):
    ensure_preparation_merge_requests(settings, Version.parse("11.1.0-rc2"))

    titles = [mr["title"] for mr in mrs(repos)]
    assert titles == ["WIP: Prepare 11.1 RC2 release", "WIP: Prepare 11.1 RC2 EE release"]
    rc_issue = repos.issues["Release 11.1.0-rc2"]["web_url"]
    assert all(mr["description"].startswith(f"Main release issue: {rc_issue}\n") for mr in mrs(repos))
    assert "(RC2)" in mrs(repos)[0]["description"]


def test_an_existing_branch_is_fine(settings, repos):
    add_branch(repos, CE, "11-1-stable-patch-2", "11-1-stable")

    ensure_preparation_merge_requests(settings, Version.parse("11.1.2"))

    assert len(mrs(repos)) == 2
    assert [r.status for r in repos.requests("POST", "/repository/branches")] == [400, 201]


def test_rerun_shows_the_merge_requests_even_renamed_and_creates_nothing(settings, repos, capsys):
    ensure_preparation_merge_requests(settings, Version.parse("11.1.2"))
    mrs(repos)[0]["title"] = "Prepare 11.1.2 release"  # WIP: removed once ready
    capsys.readouterr()
    repos.clear_log()

    ensure_preparation_merge_requests(settings, Version.parse("11.1.2"))

    assert repos.mutations() == []
    assert len(mrs(repos)) == 2
    out = capsys.readouterr().out
    assert f'--> Merge Request "Prepare 11.1.2 release" already exists.\n    {mrs(repos)[0]["web_url"]}\n' in out


def test_a_merged_preparation_merge_request_is_not_opened_again(settings, repos, capsys):
    add_merge_request(repos, CE, "WIP: Prepare 11.1.2 release", source_branch="11-1-stable-patch-2", target_branch="11-1-stable")

    ensure_preparation_merge_requests(settings, Version.parse("11.1.2"))

    assert [mr["title"] for mr in mrs(repos)] == ["WIP: Prepare 11.1.2 release", "WIP: Prepare 11.1.2-ee release"]
    assert 'already exists (merged).' in capsys.readouterr().out


def test_missing_release_issue_stops_before_anything_is_created(settings, repos):
    with pytest.raises(ReleaseIssueNotFoundError, match=r'^the patch release issue "Release 11\.1\.3" is not in gitlab-org/release/tasks yet: create it first \(invoke release_issue 11\.1\.3\)$'):
        ensure_preparation_merge_requests(settings, Version.parse("11.1.3"))

    assert repos.mutations() == []


def test_missing_ee_stable_branch_stops_before_the_ce_side_is_created(settings, repos):
    repos.tables["branches"] = [b for b in repos.table("branches") if b["name"] != "11-1-stable-ee"]

    with pytest.raises(InvalidRefError, match=r"^11-1-stable-ee does not exist in gitlab-org/gitlab-ee"):
        ensure_preparation_merge_requests(settings, Version.parse("11.1.2"))

    assert repos.mutations() == []


def test_other_branch_refusals_are_errors_not_ignored(settings, repos):
    repos.fail(400, times=1, method="POST", path="/repository/branches")

    with pytest.raises(GitLabError, match=r"failed while creating branch 11-1-stable-patch-2 from 11-1-stable in gitlab-org/gitlab-ce: 400"):
        ensure_preparation_merge_requests(settings, Version.parse("11.1.2"))

    assert mrs(repos) == []


def test_dry_run_creates_no_branch_and_no_merge_request(settings, repos, capsys):
    ensure_preparation_merge_requests(settings.with_changes(dry_run=True), Version.parse("11.1.2"))

    assert repos.mutations() == []
    out = capsys.readouterr().out
    assert "Would create branch 11-1-stable-patch-2 from 11-1-stable in gitlab-org/gitlab-ce." in out
    assert "\n# WIP: Prepare 11.1.2 release\n\nMain release issue: " in out
    assert "\n# WIP: Prepare 11.1.2-ee release\n\n" in out


def test_cli_creates_then_shows(invoke, repos):
    first = invoke("patch_merge_request", "11.1.2")
    second = invoke("patch_merge_request", "11.1.2", env={"TEST": "1"})

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.count("created.") == 2 and second.stdout.count("already exists.") == 2
    assert len(mrs(repos)) == 2


def test_cli_missing_issue_is_one_line_and_exit_1(invoke, repos):
    result = invoke("patch_merge_request", "11.1.5")

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "invoke release_issue 11.1.5" in result.stderr
    assert repos.mutations() == []


@pytest.mark.parametrize("text", ["11.1.2", "11.1.2-ee", "11.1.0-rc4", "11.1.0-rc4-ee", "9.0.10"])
def test_the_template_renders_every_version_form_cleanly(settings, text):
    from release_tools.preparation import describe

    spec = preparation_merge_request(settings, Version.parse(text))

    body = describe(settings, spec, "https://gitlab.example", "https://gitlab.example/issues/1")

    assert "{{" not in body and "{%" not in body and "\n\n\n" not in body
    assert body.endswith("\n") and f"`{spec.target_branch}`" in body and f"`{spec.source_branch}`" in body
    assert f"ships in {text}." in body and f'/unlabel ~"Pick into {spec.milestone}"' in body


@pytest.fixture
def security_repos(fake_gitlab, fake_dev):
    """CE and EE on dev with their stable branches and milestones; on gitlab.com the public
    and the confidential issue of 11.1.2. Returns the confidential issue."""
    for path, stable in (("gitlab/gitlabhq", "11-1-stable"), ("gitlab/gitlab-ee", "11-1-stable-ee")):
        add_project(fake_dev, path)
        add_commit(fake_dev, path, "Initial")
        add_branch(fake_dev, path, stable)
        add_milestone(fake_dev, path, "11.1")
    milestone = add_milestone(fake_gitlab, "gitlab-org", "11.1", group=True)
    add_issue(fake_gitlab, RELEASE_TASKS, "Release 11.1.2", labels=["Release"], milestone=milestone)
    security_issue = add_issue(
        fake_gitlab, RELEASE_TASKS, "Release 11.1.2", labels=["Release", "security"], milestone=milestone, confidential=True
    )
    fake_gitlab.clear_log()
    return security_issue


def created_on(fake):
    return [(mr["web_url"].split("/merge_requests")[0].split(fake.url + "/")[1], mr["source_branch"]) for mr in mrs(fake)]


def test_security_release_prepares_on_dev_only_and_links_the_confidential_issue(fake_gitlab, fake_dev, settings, security_repos):
    ensure_preparation_merge_requests(settings.with_changes(security=True), Version.parse("11.1.2"))

    assert fake_gitlab.mutations() == []
    assert created_on(fake_dev) == [("gitlab/gitlabhq", "11-1-stable-patch-2"), ("gitlab/gitlab-ee", "11-1-stable-ee-patch-2")]
    assert all(security_repos["web_url"] in mr["description"] for mr in mrs(fake_dev))
    assert {b["name"] for b in fake_dev.table("branches")} >= {"11-1-stable-patch-2", "11-1-stable-ee-patch-2"}


@pytest.mark.parametrize("switch", [("--security",), ()], ids=["flag", "variable"])
def test_cli_security_flag_and_variable_prepare_on_dev(invoke, fake_gitlab, fake_dev, security_repos, switch):
    env = {} if switch else {"SECURITY": "true"}

    result = invoke("patch_merge_request", *switch, "11.1.2", env=env)

    assert result.returncode == 0, result.output
    assert fake_gitlab.mutations() == []
    assert [project for project, _ in created_on(fake_dev)] == ["gitlab/gitlabhq", "gitlab/gitlab-ee"]


def test_cli_security_release_without_the_confidential_issue_names_it(invoke, fake_gitlab, fake_dev, security_repos):
    # Only the public patch issue "Release 11.1.2" is there: it is not the one a security release links.
    fake_gitlab.table("issues").remove(next(i for i in fake_gitlab.table("issues") if i["confidential"]))

    result = invoke("patch_merge_request", "--security", "11.1.2")

    assert result.returncode == 1
    assert result.stderr == (
        f'Error: the confidential security release issue "Release 11.1.2" is not in {RELEASE_TASKS} yet: '
        "create it first (invoke release_issue --security 11.1.2)\n"
    )
    assert fake_gitlab.mutations() == [] and fake_dev.mutations() == []
