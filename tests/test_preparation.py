"""Preparation merge requests: branches off the CE and EE stable branches and merge
requests back into them, found or created, linking the release's own issue; against the
fake GitLab over HTTP."""

from __future__ import annotations

import json
import re

import pytest

from release_tools.errors import InvalidRefError, ReleaseIssueNotFoundError
from release_tools.plan import execute
from release_tools.preparation import (
    ensure_preparation_merge_requests,
    plan_preparation_merge_requests,
    preparation_merge_request,
)
from release_tools.settings import Settings
from release_tools.version import Version
from tests.conftest import RELEASE_TASKS
from release_tools.sandbox import add_branch, add_commit, add_issue, add_merge_request, add_milestone, add_project

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
    assert (
        f"✓ create branch 11-1-stable-patch-2 from 11-1-stable in {CE}\n"
        f'✓ open merge request "WIP: Prepare 11.1.2 release" into 11-1-stable in {CE}: {ce["web_url"]}\n'
        f"✓ create branch 11-1-stable-ee-patch-2 from 11-1-stable-ee in {EE}\n"
        f'✓ open merge request "WIP: Prepare 11.1.2-ee release" into 11-1-stable-ee in {EE}: {ee["web_url"]}\n'
        "Read back 4 changes.\nDone: 4 done.\n"
    ) in out


def test_no_request_is_sent_twice_before_the_read_back(settings, repos):
    # CE and EE both fall back to the same group milestone: it is read once.
    ensure_preparation_merge_requests(settings, Version.parse("11.1.2"))

    last_create = max(index for index, r in enumerate(repos.log) if r.method == "POST")
    sent = [(r.method, r.path, sorted(r.query.items())) for r in repos.log[: last_create + 1]]
    assert [r for r in sent if sent.count(r) > 1] == []
    assert len(repos.requests("GET", "/groups/gitlab-org/milestones")) == 1
    # Then each branch and each merge request is read back once.
    assert [(r.method, r.path) for r in repos.log[last_create + 1 :]] == [
        ("GET", f"/projects/{CE}/repository/branches/11-1-stable-patch-2"),
        ("GET", f"/projects/{CE}/merge_requests"),
        ("GET", f"/projects/{EE}/repository/branches/11-1-stable-ee-patch-2"),
        ("GET", f"/projects/{EE}/merge_requests"),
    ]


def test_rc_merge_requests_link_the_rc_issue_not_the_monthly_one(settings, repos):
    ensure_preparation_merge_requests(settings, Version.parse("11.1.0-rc2"))

    titles = [mr["title"] for mr in mrs(repos)]
    assert titles == ["WIP: Prepare 11.1 RC2 release", "WIP: Prepare 11.1 RC2 EE release"]
    rc_issue = repos.issues["Release 11.1.0-rc2"]["web_url"]
    assert all(mr["description"].startswith(f"Main release issue: {rc_issue}\n") for mr in mrs(repos))
    assert "(RC2)" in mrs(repos)[0]["description"]


def test_an_existing_branch_is_fine(settings, repos):
    add_branch(repos, CE, "11-1-stable-patch-2", "11-1-stable")

    plan = ensure_preparation_merge_requests(settings, Version.parse("11.1.2"))

    assert len(mrs(repos)) == 2
    assert [step.state.value for step in plan.steps] == ["already_done", "done", "done", "done"]
    assert [r.path for r in repos.requests("POST", "/repository/branches")] == [f"/projects/{EE}/repository/branches"]


def test_a_branch_created_meanwhile_is_fine(settings, repos):
    plan = plan_preparation_merge_requests(settings, Version.parse("11.1.2"))
    add_branch(repos, CE, "11-1-stable-patch-2", "11-1-stable")  # by someone else, after the plan was made

    execute(plan, settings.run)

    assert [r.status for r in repos.requests("POST", "/repository/branches")] == [400, 201]
    assert plan.steps[0].state.value == "done" and plan.steps[0].result == "it exists already (created meanwhile)"
    assert len(mrs(repos)) == 2


def test_a_merge_request_opened_meanwhile_is_shown_not_an_error(settings, repos, capsys):
    # The 409 race: someone opened the CE merge request between the plan and the create.
    plan = plan_preparation_merge_requests(settings, Version.parse("11.1.2"))
    add_branch(repos, CE, "11-1-stable-patch-2", "11-1-stable")
    theirs = add_merge_request(
        repos, CE, "Prepare 11.1.2", state="opened", source_branch="11-1-stable-patch-2", target_branch="11-1-stable"
    )

    execute(plan, settings.run)

    assert plan.exit_status == 0
    assert [r.status for r in repos.requests("POST", "/merge_requests")] == [409, 201]
    step = plan.steps[1]
    assert (step.state.value, step.urls) == ("done", (theirs["web_url"],))
    assert step.result == f"opened meanwhile: {theirs['web_url']} (titled 'Prepare 11.1.2')"
    assert [mr["title"] for mr in mrs(repos)] == ["Prepare 11.1.2", "WIP: Prepare 11.1.2-ee release"]


def test_rerun_shows_the_merge_requests_even_renamed_and_creates_nothing(settings, repos, capsys):
    ensure_preparation_merge_requests(settings, Version.parse("11.1.2"))
    mrs(repos)[0]["title"] = "Prepare 11.1.2 release"  # WIP: removed once ready
    capsys.readouterr()
    repos.clear_log()

    ensure_preparation_merge_requests(settings, Version.parse("11.1.2"))

    assert repos.mutations() == []
    assert len(mrs(repos)) == 2
    out = capsys.readouterr().out
    url = mrs(repos)[0]["web_url"]
    assert (
        f'✓ open merge request "WIP: Prepare 11.1.2 release" into 11-1-stable in {CE}: '
        f"already done; {url} (titled 'Prepare 11.1.2 release')\n"
    ) in out
    assert out.endswith("Nothing to do: every step is done already.\n")


def test_a_renamed_merge_requests_title_is_shown_quoted_on_one_line(settings, repos, capsys):
    ensure_preparation_merge_requests(settings, Version.parse("11.1.2"))
    mrs(repos)[0]["title"] = "Prepare 11.1.2\n✓ tag 11.1.2: already done\x1b[2K"
    capsys.readouterr()

    plan = ensure_preparation_merge_requests(settings, Version.parse("11.1.2"))

    out = capsys.readouterr().out
    assert not [line for line in out.splitlines() if line.startswith("✓ tag")] and "\x1b" not in out
    assert plan.steps[1].result.endswith(" (titled 'Prepare 11.1.2\\n✓ tag 11.1.2: already done\\x1b[2K')")


def test_a_merged_preparation_merge_request_is_not_opened_again_nor_its_branch_made_again(settings, repos, capsys):
    # Merged, and its branch removed with it, as the merge request asks.
    merged = add_merge_request(
        repos, CE, "WIP: Prepare 11.1.2 release", source_branch="11-1-stable-patch-2", target_branch="11-1-stable"
    )

    ensure_preparation_merge_requests(settings, Version.parse("11.1.2"))

    assert [mr["title"] for mr in mrs(repos)] == ["WIP: Prepare 11.1.2 release", "WIP: Prepare 11.1.2-ee release"]
    assert [r.path for r in repos.requests("POST", "/repository/branches")] == [f"/projects/{EE}/repository/branches"]
    out = capsys.readouterr().out
    assert f"✓ create branch 11-1-stable-patch-2 from 11-1-stable in {CE}: already done; merged and removed" in out
    assert f': already done; {merged["web_url"]} (merged)\n' in out


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

    plan = ensure_preparation_merge_requests(settings, Version.parse("11.1.2"))

    assert plan.exit_status == 1
    assert [step.state.value for step in plan.steps] == ["failed", "not_reached", "not_reached", "not_reached"]
    assert re.search(r"failed while creating branch 11-1-stable-patch-2 from 11-1-stable in gitlab-org/gitlab-ce: 400",
                     plan.steps[0].reason)
    assert mrs(repos) == []


def test_dry_run_creates_no_branch_and_no_merge_request(settings, repos, capsys):
    ensure_preparation_merge_requests(settings.with_changes(dry_run=True), Version.parse("11.1.2"))

    assert repos.mutations() == []
    out = capsys.readouterr().out
    assert f"  · create branch 11-1-stable-patch-2 from 11-1-stable in {CE}\n" in out
    assert "\n# WIP: Prepare 11.1.2 release\n\nMain release issue: " in out
    assert "\n# WIP: Prepare 11.1.2-ee release\n\n" in out
    assert out.endswith("Dry run: 4 steps would be carried out; nothing was changed.\n")


def test_cli_creates_then_shows(invoke, repos):
    first = invoke("patch_merge_request", "11.1.2")
    second = invoke("patch_merge_request", "11.1.2", env={"TEST": "1"})

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.endswith("Done: 4 done.\n")
    assert second.stdout.count(": already done") == 4 and second.stdout.endswith("Dry run: nothing would change, everything is done already.\n")
    assert len(mrs(repos)) == 2


def test_cli_missing_issue_is_one_line_and_exit_1(invoke, repos):
    result = invoke("patch_merge_request", "11.1.5")

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "invoke release_issue 11.1.5" in result.stderr
    assert repos.mutations() == []


STEPS = [
    ("branch.create", f"create branch 11-1-stable-patch-2 from 11-1-stable in {CE}"),
    ("merge_request.create", f'open merge request "WIP: Prepare 11.1.2 release" into 11-1-stable in {CE}'),
    ("branch.create", f"create branch 11-1-stable-ee-patch-2 from 11-1-stable-ee in {EE}"),
    ("merge_request.create", f'open merge request "WIP: Prepare 11.1.2-ee release" into 11-1-stable-ee in {EE}'),
]
#: A GitLab that keeps failing gives up within about a second.
PATIENCE = {"INVOKE_RELEASE_TOOLS_API_MAX_WAIT": "1"}


def test_cli_json_of_a_dry_run_lists_the_steps_to_do(invoke, repos):
    result = invoke("patch_merge_request", "--dry-run", "--json", "11.1.2")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["task"], document["subject"], document["status"]) == ("patch_merge_request", "11.1.2", "dry_run")
    assert [(s["kind"], s["summary"], s["state"]) for s in document["steps"]] == [(*step, "to_do") for step in STEPS]
    assert document["steps"][0]["target"] == {"project": CE, "instance": "production", "refs": ["refs/heads/11-1-stable-patch-2"]}
    assert document["steps"][1]["target"] == {"project": CE, "instance": "production", "merge_request": "WIP: Prepare 11.1.2 release"}
    assert "\n# WIP: Prepare 11.1.2 release\n" in result.stderr  # the preview is progress, on stderr
    assert repos.mutations() == []


def test_cli_json_of_a_real_run_and_of_the_second_run(invoke, repos):
    first = invoke("patch_merge_request", "--json", "11.1.2")
    mutations = len(repos.mutations())
    repos.clear_log()
    second = invoke("patch_merge_request", "--json", "11.1.2")

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    one, two = json.loads(first.stdout), json.loads(second.stdout)
    urls = [[], [mrs(repos)[0]["web_url"]], [], [mrs(repos)[1]["web_url"]]]
    assert [(s["kind"], s["summary"], s["state"], s["urls"]) for s in one["steps"]] == [
        (*step, "done", url) for step, url in zip(STEPS, urls)
    ]
    assert (one["status"], two["status"]) == ("done", "nothing_to_do")
    assert [(s["state"], s["urls"]) for s in two["steps"]] == [("already_done", url) for url in urls]
    assert mutations == 4 and repos.mutations() == []


def test_cli_second_real_run_says_every_step_is_done_and_changes_nothing(invoke, repos):
    invoke("patch_merge_request", "11.1.2")
    repos.clear_log()

    result = invoke("patch_merge_request", "11.1.2")

    assert result.returncode == 0, result.stderr
    for _, summary in STEPS:
        assert f"  ✓ {summary}: already done" in result.stdout
    assert result.stdout.endswith("Nothing to do: every step is done already.\n")
    assert repos.mutations() == []


def test_cli_invokes_own_dry_run_changes_nothing(invoke, repos):
    result = invoke("-R", "patch_merge_request", "11.1.2")

    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("Dry run: 4 steps would be carried out; nothing was changed.\n")
    assert repos.mutations() == [] and mrs(repos) == []


@pytest.mark.parametrize("mode", ["text", "json"])
@pytest.mark.parametrize(
    "failing, states, created, ending",
    [
        (EE, ["done", "done", "done", "failed"], ["WIP: Prepare 11.1.2 release"], "Failed: 3 done, 1 failed."),
        (CE, ["done", "failed", "not_reached", "not_reached"], [], "Failed: 1 done, 1 failed, 2 not reached."),
    ],
    ids=["EE after CE", "CE, then EE not reached"],
)
def test_cli_a_500_on_a_merge_request_create_fails_that_step_and_stops_exit_1(invoke, repos, mode, failing, states, created, ending):
    repos.fail(500, times=20, method="POST", path=f"/projects/{failing}/merge_requests")

    result = invoke("patch_merge_request", *(["--json"] if mode == "json" else []), "11.1.2", env=PATIENCE)

    assert result.returncode == 1
    assert [mr["title"] for mr in mrs(repos)] == created
    if mode == "json":
        document = json.loads(result.stdout)
        assert (document["status"], document["exit_status"]) == ("failed", 1)
        assert [s["state"] for s in document["steps"]] == states
        reason = document["steps"][states.index("failed")]["reason"]
        assert "500" in reason and "\n" not in reason
    lines = result.stderr if mode == "json" else result.stdout  # stdout carries the JSON document
    failed = STEPS[states.index("failed")][1]
    title = failed.split('"')[1]
    host = repos.url.split("//")[1]
    assert f"✗ {failed}: {host} failed while creating merge request '{title}' in {failing}: 500 injected fault\n" in lines
    missed = [summary for (_, summary), state in zip(STEPS, states) if state == "not_reached"]
    assert (f"Not reached: {'; '.join(missed)}\n" in lines) is bool(missed)
    assert lines.splitlines()[-1] == ending


@pytest.mark.parametrize("text", ["11.1.2", "11.1.2-ee", "11.1.0-rc4", "11.1.0-rc4-ee", "9.0.10"])
def test_the_template_renders_every_version_form_cleanly(settings, text):
    from release_tools.preparation import describe

    spec = preparation_merge_request(settings, Version.parse(text))

    body = describe(settings, spec, "https://gitlab.example", "https://gitlab.example/issues/1")

    assert "{{" not in body and "{%" not in body and "\n\n\n" not in body
    assert body.endswith("\n") and f"`{spec.target_branch}`" in body and f"`{spec.source_branch}`" in body
    assert f"ships in {text}." in body and f'/unlabel ~"Pick into {spec.milestone}"' in body


def test_the_description_names_the_configured_pick_label(tree, environ):
    from release_tools.preparation import describe

    settings = Settings.from_mapping({**tree, "labels": {**tree.get("labels", {}), "pick_into": "backport-{minor}"}}, environ)
    spec = preparation_merge_request(settings, Version.parse("11.1.2"))

    body = describe(settings, spec, "https://gitlab.example", "https://gitlab.example/issues/1")

    assert '/unlabel ~"backport-11.1"' in body and "label_name%5B%5D=backport-11.1&" in body
    assert "Pick into" not in body


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
    plan = ensure_preparation_merge_requests(settings.with_changes(security=True), Version.parse("11.1.2"))

    assert plan.security and {step.target.instance for step in plan.steps} == {"dev"}
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
