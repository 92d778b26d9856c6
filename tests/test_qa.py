"""QA issues: refs, merge requests found from merge commits on both instances and in
several projects, filtering, grouping, the exact checklist lines, batching, updates of an
existing issue, dry runs and bad refs; against the fake GitLab over HTTP."""

from __future__ import annotations

import json

import pytest

from release_tools import qa
from release_tools.errors import InvalidRefError, InvalidVersionError
from release_tools.gitlab import MergeRequest
from release_tools.version import Version
from tests.conftest import RELEASE_TASKS
from release_tools.sandbox import add_commit, add_issue, add_merge_request, add_milestone, add_project, add_tag, add_user

EE, CE, DEV_CE = "gitlab-org/gitlab-ee", "gitlab-org/gitlab-ce", "gitlab/gitlabhq"


# -- pure parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref, expected",
    [
        ("v11.1.0-rc1", "v11.1.0-rc1-ee"),
        ("v11.1.0", "v11.1.0-ee"),
        ("11-1-stable", "11-1-stable-ee"),
        ("v11.1.0-rc1-ee", "v11.1.0-rc1-ee"),  # the original made this -ee-ee
        ("11-1-stable-ee", "11-1-stable-ee"),
        ("fix-11.1.0-docs", "fix-11.1.0-docs"),  # the original appended -ee to any ref containing a version
        ("av11.1.0", "av11.1.0"),
        ("master", "master"),
        ("0123abcd", "0123abcd"),
    ],
    ids=repr,
)
def test_only_version_tags_and_ce_stable_branches_get_the_ee_suffix(ref, expected):
    assert qa.ee_ref(ref) == expected


@pytest.mark.parametrize(
    "to_ref, expected", [("v11.1.0-rc2", "11.1.0-rc2"), ("v11.1.3", "11.1.3"), ("11.1.0-rc2-ee", "11.1.0-rc2-ee")], ids=repr
)
def test_version_is_the_newer_ref_without_its_v(to_ref, expected):
    assert str(qa.infer_version(to_ref)) == expected


def test_a_branch_as_newer_ref_needs_an_explicit_version():
    with pytest.raises(InvalidVersionError, match=r"^cannot tell the version from '11-1-stable': give it with --version"):
        qa.infer_version("11-1-stable")


def test_mentions_are_found_in_merge_commit_messages_once_each_in_order():
    messages = [
        "Merge branch 'a' into 'master'\n\nFix\n\nSee merge request gitlab-org/gitlab-ee!12\n",
        "Update VERSION to 11.1.0-rc2\n",
        "Merge branch 'b'\n\nSee merge request gitlab/gitlabhq!2388",
        "Merge branch 'a' again\n\nSee merge request gitlab-org/gitlab-ee!12",
        "Merge\n\nSee merge request gitlab-org/sub.group/my_project-2!7",
    ]

    found = qa.mentioned_merge_requests(messages)

    assert [(m.path, m.iid) for m in found] == [
        ("gitlab-org/gitlab-ee", 12),
        ("gitlab/gitlabhq", 2388),
        ("gitlab-org/sub.group/my_project-2", 7),
    ]


@pytest.mark.parametrize(
    "path, expected",
    [
        ("gitlab-org/gitlab-ce", "production"),
        ("gitlab/gitlabhq", "dev"),
        ("gitlab/gitlab-ee", "dev"),
        ("gitlab/gitaly", "dev"),  # the dev namespace of the configured dev paths
        ("gitlab-org/gitaly", "production"),
        ("someone/fork", "production"),
    ],
    ids=repr,
)
def test_each_merge_request_path_belongs_to_one_instance(settings, path, expected):
    assert qa.instance_of(settings, path) == expected


def mr(iid, labels=(), author="author", merged_by=None, title=None, project=EE):
    return MergeRequest(
        id=1000 + iid,
        iid=iid,
        project=project,
        title=title or f"Change {iid}",
        web_url=f"https://gitlab.com/{project}/merge_requests/{iid}",
        labels=tuple(labels),
        author=author,
        merged_by=merged_by,
        state="merged",
    )


def test_checklist_lines_are_exact():
    items = [
        qa.QaItem(mr(1, ["Platform", "bug"], author="alice"), "alice", "Platform"),
        qa.QaItem(mr(2, title="[11.1] Fix [security] thing"), "bob", "uncategorized"),
    ]

    text = qa.format_groups([("Platform", items[:1]), ("uncategorized", items[1:])])

    assert text == (
        '### Platform ~"Platform" \n'
        "\n"
        '- [ ] @alice | [Change 1](https://gitlab.com/gitlab-org/gitlab-ee/merge_requests/1) ~"Platform" ~"bug"\n'
        "\n\n----\n\n"
        "\n"
        '### uncategorized ~"uncategorized" \n'
        "\n"
        "- [ ] @bob | [\\[11.1\\] Fix \\[security\\] thing](https://gitlab.com/gitlab-org/gitlab-ee/merge_requests/2)\n"
        "\n\n----\n\n"
    )


#: A title as anyone who opens a merge request may write it.
HOSTILE_TITLE = "Fix it\n/close\r\n### Done\u2028- [x] @alice `@bob` \\@carol <!-- me@example.com \x1b[2K](x)"


def test_a_checklist_line_is_one_line_that_pings_no_one_from_the_title_and_runs_no_quick_action():
    item = qa.QaItem(mr(1, ["Platform\n/close"], title=HOSTILE_TITLE), "dana", "Platform")

    assert item.line == (
        "- [ ] @dana | [Fix it /close ### Done - \\[x\\] `@alice` \\``@bob`\\` \\\\`@carol` &lt;!-- me@example.com \\[2K\\](x)]"
        '(https://gitlab.com/gitlab-org/gitlab-ee/merge_requests/1) `Platform\\n/close`'
    )


def test_a_label_a_reference_cannot_hold_is_code_so_the_rest_of_it_pings_no_one():
    item = qa.QaItem(mr(1, ['bug" @alice "x', "Platform"]), "dana", "Platform")

    assert item.line.endswith('merge_requests/1) `bug" @alice "x` ~"Platform"')


def test_a_checker_whose_name_is_no_username_is_named_as_code():
    items = [qa.QaItem(mr(1), "eve\n/close", "Platform"), qa.QaItem(mr(2), "bob", "Platform")]

    assert qa.mention_comment(items) == "New QA items for: `eve\\n/close` @bob"
    assert items[0].line.startswith("- [ ] `eve\\n/close` | [Change 1](")


def test_unpermitted_labels_are_dropped_and_teams_ordered_with_uncategorized_last(settings):
    merge_requests = [
        mr(1, ["database"]),
        mr(2, ["Documentation", "Platform"]),
        mr(3, []),
        mr(4, ["frontend", "Platform"]),  # Platform comes first in the team order
        mr(5, ["Discussion"]),
        mr(6, ["QA"]),
        mr(7, ["database", "bug"]),
    ]

    groups = qa.group_items(settings, qa.qa_items(settings, merge_requests))

    assert [(team, [i.merge_request.iid for i in items]) for team, items in groups] == [
        ("Discussion", [5]),
        ("Platform", [4]),
        ("database", [1, 7]),
        ("uncategorized", [3]),
    ]


def test_community_contributions_are_checked_by_the_merger_or_else_the_author(settings):
    items = qa.qa_items(
        settings,
        [
            mr(1, ["Community Contribution"], author="contributor", merged_by="maintainer"),
            mr(2, ["Community Contribution"], author="contributor2", merged_by=None),  # the original crashed
            mr(3, [], author="staff", merged_by="maintainer"),
        ],
    )

    assert [i.user for i in items] == ["maintainer", "contributor2", "staff"]


# -- against the fake GitLab ------------------------------------------------------------------


@pytest.fixture
def world(fake_gitlab, fake_dev):
    """EE with tags v11.1.0-rc1-ee and v11.1.0-rc2-ee; between them, merge commits of EE
    and CE merge requests on gitlab.com and of a CE security fix on dev.gitlab.org."""
    com, dev = fake_gitlab, fake_dev
    for path in (EE, CE):
        add_project(com, path)
    add_project(dev, DEV_CE)
    add_milestone(com, "gitlab-org", "11.1", group=True)
    people = {name: add_user(com, name) for name in ("alice", "bob", "carol", "contributor", "maintainer")}
    dev_author = add_user(dev, "dana")

    add_commit(com, EE, "Update VERSION to 11.1.0-rc1-ee")
    add_tag(com, EE, "v11.1.0-rc1-ee")
    merged = [
        (com, EE, 101, "Faster pipelines page", ["CI/CD", "performance"], people["alice"], None),
        (com, CE, 202, "Fix the import", ["Platform", "regression"], people["bob"], None),
        (dev, DEV_CE, 2388, "[11.1] Stop password change without the old one", ["security"], dev_author, None),
        (com, EE, 103, "Update the docs", ["Documentation"], people["carol"], None),
        (com, CE, 204, "Nicer buttons", ["frontend", "Community Contribution"], people["contributor"], people["maintainer"]),
        (com, EE, 105, "Geo sync status", ["Geo", "Platform"], people["carol"], None),
        (com, CE, 206, "Something small", [], people["bob"], None),
    ]
    for fake, path, iid, title, labels, author, merger in merged:
        add_merge_request(fake, path, title, iid=iid, labels=labels, author=author, merged_by=merger)
        add_commit(com, EE, f"Merge branch 'b{iid}' into 'master'\n\n{title}\n\nSee merge request {path}!{iid}\n")
    add_commit(com, EE, "Update VERSION to 11.1.0-rc2-ee")
    add_tag(com, EE, "v11.1.0-rc2-ee")
    com.clear_log()
    return com, dev


EXPECTED_LIST = (
    '### Platform ~"Platform" \n'
    "\n"
    '- [ ] @bob | [Fix the import]({com}/gitlab-org/gitlab-ce/merge_requests/202) ~"Platform" ~"regression"\n'
    '- [ ] @carol | [Geo sync status]({com}/gitlab-org/gitlab-ee/merge_requests/105) ~"Geo" ~"Platform"\n'
    "\n\n----\n\n"
    "\n"
    '### CI/CD ~"CI/CD" \n'
    "\n"
    '- [ ] @alice | [Faster pipelines page]({com}/gitlab-org/gitlab-ee/merge_requests/101) ~"CI/CD" ~"performance"\n'
    "\n\n----\n\n"
    "\n"
    '### frontend ~"frontend" \n'
    "\n"
    '- [ ] @maintainer | [Nicer buttons]({com}/gitlab-org/gitlab-ce/merge_requests/204) ~"frontend" ~"Community Contribution"\n'
    "\n\n----\n\n"
    "\n"
    '### uncategorized ~"uncategorized" \n'
    "\n"
    "- [ ] @dana | [\\[11.1\\] Stop password change without the old one]({dev}/gitlab/gitlabhq/merge_requests/2388) ~\"security\"\n"
    '- [ ] @bob | [Something small]({com}/gitlab-org/gitlab-ce/merge_requests/206)\n'
    "\n\n----\n\n"
)


def test_qa_issue_lists_merge_requests_of_several_projects_and_both_instances(settings, world, capsys):
    com, dev = world

    qa.ensure_qa_issue(settings, "v11.1.0-rc1", "v11.1.0-rc2")

    [issue] = com.table("issues")
    assert issue["title"] == "11.1.0-rc2 QA Issue"
    assert issue["labels"] == ["QA task"]
    assert issue["milestone"]["title"] == "11.1"
    assert [a["username"] for a in issue["assignees"]] == ["release-manager"]
    assert EXPECTED_LIST.format(com=com.url, dev=dev.url) in issue["description"]
    assert "Update the docs" not in issue["description"]  # Documentation is unpermitted
    assert "## Automated QA for 11.1.0-rc2" in issue["description"]
    assert issue["description"].endswith("/cc @gl-quality\n")
    assert capsys.readouterr().out.endswith(
        f'✓ create the QA issue "11.1.0-rc2 QA Issue" in {RELEASE_TASKS}, listing 6 merge requests: {issue["web_url"]}\n'
        "Done: 1 done.\n"
    )


def test_merge_requests_are_read_in_batches_on_their_own_instance(settings, world):
    com, dev = world

    qa.ensure_qa_issue(settings, "v11.1.0-rc1", "v11.1.0-rc2")

    lists = [(r.path, sorted(r.query["iids[]"]), r.query["state"]) for r in com.requests("GET", "/merge_requests")]
    assert lists == [
        (f"/projects/{EE}/merge_requests", ["101", "103", "105"], ["merged"]),
        (f"/projects/{CE}/merge_requests", ["202", "204", "206"], ["merged"]),
    ]
    assert [(r.path, r.query["iids[]"]) for r in dev.log] == [(f"/projects/{DEV_CE}/merge_requests", ["2388"])]
    assert all(r.status < 400 for r in com.log + dev.log)  # no 404 for dev merge requests on gitlab.com
    assert [r.path for r in com.requests("GET", "/repository/")] == [
        f"/projects/{EE}/repository/commits/v11.1.0-rc1-ee",
        f"/projects/{EE}/repository/commits/v11.1.0-rc2-ee",
        f"/projects/{EE}/repository/compare",
    ]


def test_request_count_grows_with_batches_not_with_merge_requests(settings, fake_gitlab):
    com = fake_gitlab
    add_project(com, EE)
    add_milestone(com, "gitlab-org", "11.1", group=True)
    add_commit(com, EE, "start")
    add_tag(com, EE, "v11.1.0-rc1-ee")
    for iid in range(1, 251):
        add_merge_request(com, EE, f"Change {iid}", iid=iid)
        add_commit(com, EE, f"Merge\n\nSee merge request {EE}!{iid}")
    add_tag(com, EE, "v11.1.0-rc2-ee")
    com.clear_log()

    qa.ensure_qa_issue(settings, "v11.1.0-rc1", "v11.1.0-rc2")

    pages = com.requests("GET", "/merge_requests")
    assert [len(r.query["iids[]"]) for r in pages] == [100, 100, 50]
    assert len(com.log) == 3 + 3 + 5  # refs and compare, batches, find/milestones/user/create
    assert com.table("issues")[0]["description"].count("\n- [ ] @") == 250


def test_an_unknown_ref_fails_before_anything_is_read_or_created(settings, world):
    com, dev = world

    with pytest.raises(InvalidRefError, match=r"^'v11\.1\.0-rc9-ee' does not exist in gitlab-org/gitlab-ee on 127\.0\.0\.1:\d+"):
        qa.ensure_qa_issue(settings, "v11.1.0-rc1", "v11.1.0-rc9")

    assert com.mutations() == [] and dev.log == []
    assert com.requests("GET", "/compare") == [] and com.table("issues") == []


def test_dry_run_prints_the_issue_and_writes_nothing(settings, world, capsys):
    com, dev = world

    qa.ensure_qa_issue(settings.with_changes(dry_run=True), "v11.1.0-rc1", "v11.1.0-rc2")

    out = capsys.readouterr().out
    assert f'\n  · create the QA issue "11.1.0-rc2 QA Issue" in {RELEASE_TASKS}, listing 6 merge requests\n' in out
    assert "\n\n# 11.1.0-rc2 QA Issue\n\n# QA for 11.1.0-rc2\n" in out
    assert EXPECTED_LIST.format(com=com.url, dev=dev.url) in out
    assert out.endswith("Dry run: 1 step would be carried out; nothing was changed.\n")
    assert com.mutations() == [] and dev.mutations() == []
    assert com.table("issues") == []


@pytest.fixture
def listed_before(world):
    """The QA issue exists and lists two of the six merge requests already, one ticked."""
    com, _ = world
    milestone = add_milestone(com, RELEASE_TASKS, "11.1")
    description = (
        "# QA for 11.1.0-rc2\n\nEarlier list:\n\n"
        f"- [x] @bob | [Fix the import]({com.url}/gitlab-org/gitlab-ce/merge_requests/202) ~\"Platform\"\n"
        f"- [ ] @bob | [Something small]({com.url}/gitlab-org/gitlab-ce/merge_requests/206)\n"
    )
    issue = add_issue(com, RELEASE_TASKS, "11.1.0-rc2 QA Issue", labels=["QA task"], milestone=milestone, description=description)
    com.clear_log()
    return issue


def test_existing_issue_gets_only_the_new_merge_requests_and_a_comment(settings, world, listed_before, capsys):
    com, dev = world
    existing, before = listed_before, listed_before["description"]

    qa.ensure_qa_issue(settings, "v11.1.0-rc1", "v11.1.0-rc2")

    assert len(com.table("issues")) == 1
    description = existing["description"]
    assert description.startswith(before.rstrip() + "\n\n## Merge Requests tested in 11.1.0-rc2")
    assert "- [x] @bob | [Fix the import]" in description  # ticked boxes survive
    assert description.count("merge_requests/202)") == 1 and description.count("merge_requests/206)") == 1
    for added in ("merge_requests/101)", "merge_requests/105)", "merge_requests/204)", "merge_requests/2388)"):
        assert description.count(added) == 1
    assert "## Automated QA" not in description
    [note] = com.table("notes")
    assert note["body"] == "New QA items for: @alice @dana @maintainer @carol"  # in merge order
    assert capsys.readouterr().out.endswith(
        f'✓ add 4 merge requests to the QA issue "11.1.0-rc2 QA Issue" in {RELEASE_TASKS}: {existing["web_url"]}\n'
        f'✓ mention @alice @dana @maintainer @carol on the QA issue "11.1.0-rc2 QA Issue" in {RELEASE_TASKS}: '
        f'{existing["web_url"]}\n'
        "Read back 1 change.\nDone: 2 done.\n"
    )


def test_rerun_with_nothing_new_changes_nothing(settings, world, capsys):
    com, _ = world
    qa.ensure_qa_issue(settings, "v11.1.0-rc1", "v11.1.0-rc2")
    capsys.readouterr()
    com.clear_log()

    qa.ensure_qa_issue(settings, "v11.1.0-rc1", "v11.1.0-rc2")

    assert com.mutations() == []
    assert len(com.table("issues")) == 1 and com.table("notes") == []
    assert capsys.readouterr().out.endswith(
        f'✓ add the new merge requests to the QA issue "11.1.0-rc2 QA Issue" in {RELEASE_TASKS}: '
        f'already done; no new merge requests; {com.table("issues")[0]["web_url"]}\n'
        "Nothing to do: every step is done already.\n"
    )


def test_titles_and_names_from_gitlab_add_no_line_ping_or_quick_action_to_the_issue(settings, fake_gitlab, fake_dev):
    com = fake_gitlab
    add_project(com, EE)
    add_milestone(com, "gitlab-org", "11.1", group=True)
    eve = add_user(com, "eve\n/close")
    add_commit(com, EE, "Start")
    add_tag(com, EE, "v11.1.0-rc1-ee")
    add_merge_request(com, EE, HOSTILE_TITLE, iid=7, labels=["Platform"], author=eve)
    add_commit(com, EE, f"Merge branch 'b7' into 'master'\n\nSee merge request {EE}!7\n")
    add_tag(com, EE, "v11.1.0-rc2-ee")

    qa.ensure_qa_issue(settings, "v11.1.0-rc1", "v11.1.0-rc2")

    [issue] = com.table("issues")
    lines = issue["description"].splitlines()
    [line] = [line for line in lines if "merge_requests/7" in line]
    assert line.startswith("- [ ] `eve\\n/close` | [Fix it /close ### Done - \\[x\\] `@alice` ")
    assert not [line for line in lines if line.startswith(("/close", "### Done", "- [x]"))]
    words = " ".join(lines).split()
    assert "@alice" not in words and "@eve" not in " ".join(lines)


def test_merge_requests_that_cannot_be_found_are_reported_and_left_out(settings, world, capsys):
    com, _ = world
    add_commit(com, EE, "Merge\n\nSee merge request gitlab-org/gitlab-ee!999")
    add_commit(com, EE, "Merge\n\nSee merge request gitlab-org/gone!1")
    add_tag(com, EE, "v11.1.0-rc3-ee")

    qa.ensure_qa_issue(settings, "v11.1.0-rc1", "v11.1.0-rc3")

    err = capsys.readouterr().err
    assert "Left out 1 merge requests of gitlab-org/gone" in err
    assert "not found as merged: gitlab-org/gitlab-ee!999" in err
    assert com.table("issues")[0]["description"].count("\n- [ ] @") == 6


def test_version_can_be_given_when_the_newer_ref_is_a_branch(settings, world):
    com, _ = world
    from release_tools.sandbox import add_branch

    add_branch(com, EE, "11-1-stable-ee", "v11.1.0-rc2-ee")

    qa.ensure_qa_issue(settings, "v11.1.0-rc1", "11-1-stable", Version.parse("11.1.0-rc3"))

    assert com.table("issues")[0]["title"] == "11.1.0-rc3 QA Issue"
    assert com.requests("GET", "/compare")[0].query == {"from": ["v11.1.0-rc1-ee"], "to": ["11-1-stable-ee"]}


# -- the command line --------------------------------------------------------------------------


def test_cli_creates_the_issue_and_reports_requests_when_verbose(invoke, world):
    com, _ = world

    result = invoke("qa_issue", "v11.1.0-rc1", "v11.1.0-rc2", "--verbose")

    assert result.returncode == 0, result.stderr
    assert f'listing 6 merge requests: {com.table("issues")[0]["web_url"]}\nDone: 1 done.\n' in result.stdout
    assert "gitlab-org/gitlab-ee: 8 commits in v11.1.0-rc1-ee...v11.1.0-rc2-ee" in result.stdout
    assert "API requests: 11 (10 to" in result.stdout


def test_cli_verbose_progress_goes_to_stderr_in_json_mode(invoke, world):
    result = invoke("qa_issue", "--verbose", "--json", "v11.1.0-rc1", "v11.1.0-rc2")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "done"
    assert "gitlab-org/gitlab-ee: 8 commits in v11.1.0-rc1-ee...v11.1.0-rc2-ee\n" in result.stderr
    assert "API requests: 11 (10 to" in result.stderr


QA = f'the QA issue "11.1.0-rc2 QA Issue" in {RELEASE_TASKS}'
#: A GitLab that keeps failing gives up within about a second.
PATIENCE = {"INVOKE_RELEASE_TOOLS_API_MAX_WAIT": "1"}


UPDATE_STEPS = [
    ("issue.update", f"add 4 merge requests to {QA}"),
    ("note.create", f"mention @alice @dana @maintainer @carol on {QA}"),
]


def test_cli_json_of_a_dry_run_and_of_a_real_run_of_a_new_issue(invoke, world):
    com, dev = world

    dry = invoke("qa_issue", "--dry-run", "--json", "v11.1.0-rc1", "v11.1.0-rc2")
    real = invoke("qa_issue", "--json", "v11.1.0-rc1", "v11.1.0-rc2")

    assert dry.returncode == 0 and real.returncode == 0, dry.stderr + real.stderr
    before, after = json.loads(dry.stdout), json.loads(real.stdout)
    summary = f"create {QA}, listing 6 merge requests"
    target = {"project": RELEASE_TASKS, "instance": "production", "issue": "11.1.0-rc2 QA Issue"}
    assert [(s["kind"], s["summary"], s["target"], s["state"]) for s in before["steps"]] == [
        ("issue.create", summary, target, "to_do")
    ]
    url = com.table("issues")[0]["web_url"]
    assert [(s["summary"], s["state"], s["urls"]) for s in after["steps"]] == [(summary, "done", [url])]
    assert (before["status"], after["status"]) == ("dry_run", "done")
    assert "6 merge requests to check between v11.1.0-rc1 and v11.1.0-rc2." in after["notes"]
    assert [r.method for r in com.mutations()] == ["POST"] and dev.mutations() == []


def test_cli_json_of_a_dry_run_and_of_a_real_run_of_an_update(invoke, world, listed_before):
    com, _ = world

    dry = json.loads(invoke("qa_issue", "-R", "--json", "v11.1.0-rc1", "v11.1.0-rc2").stdout)
    assert com.mutations() == []
    real = json.loads(invoke("qa_issue", "--json", "v11.1.0-rc1", "v11.1.0-rc2").stdout)

    assert [(s["kind"], s["summary"], s["state"]) for s in dry["steps"]] == [(*step, "to_do") for step in UPDATE_STEPS]
    assert [(s["kind"], s["state"], s["urls"]) for s in real["steps"]] == [
        (kind, "done", [listed_before["web_url"]]) for kind, _ in UPDATE_STEPS
    ]
    assert [r.method for r in com.mutations()] == ["PUT", "POST"]


@pytest.mark.parametrize("existing", [False, True], ids=["new issue", "update"])
def test_cli_second_real_run_finds_every_step_done_and_changes_nothing(invoke, world, request, existing):
    com, dev = world
    if existing:
        request.getfixturevalue("listed_before")
    invoke("qa_issue", "v11.1.0-rc1", "v11.1.0-rc2")
    com.clear_log()

    result = invoke("qa_issue", "--json", "v11.1.0-rc1", "v11.1.0-rc2")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "nothing_to_do"
    assert [(s["kind"], s["summary"], s["state"]) for s in document["steps"]] == [
        ("issue.update", f"add the new merge requests to {QA}", "already_done")
    ]
    assert document["steps"][0]["result"].startswith("no new merge requests; ")
    assert com.mutations() == [] and dev.mutations() == []
    assert len(com.table("issues")) == 1 and len(com.table("notes")) == (1 if existing else 0)


def test_cli_invokes_own_dry_run_changes_nothing(invoke, world, listed_before):
    com, dev = world

    result = invoke("-R", "qa_issue", "v11.1.0-rc1", "v11.1.0-rc2")

    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("Dry run: 2 steps would be carried out; nothing was changed.\n")
    assert com.mutations() == [] and dev.mutations() == []
    assert com.table("notes") == [] and "merge_requests/101)" not in listed_before["description"]


@pytest.mark.parametrize("mode", ["text", "json"])
@pytest.mark.parametrize(
    "method, path, doing, states, ending",
    [
        ("POST", "/notes", "commenting on issue #{iid}", ["done", "failed"], "Failed: 1 done, 1 failed."),
        ("PUT", "/issues/", "updating issue #{iid}", ["failed", "not_reached"], "Failed: 1 failed, 1 not reached."),
    ],
    ids=["the comment, after the update", "the update, the comment not reached"],
)
def test_cli_a_500_on_a_step_fails_it_and_stops_exit_1(invoke, world, listed_before, mode, method, path, doing, states, ending):
    com, _ = world
    com.fail(500, times=20, method=method, path=path)

    result = invoke("qa_issue", *(["--json"] if mode == "json" else []), "v11.1.0-rc1", "v11.1.0-rc2", env=PATIENCE)

    assert result.returncode == 1
    assert ("merge_requests/101)" in listed_before["description"]) is (states[0] == "done")
    assert com.table("notes") == []
    if mode == "json":
        document = json.loads(result.stdout)
        assert (document["status"], document["exit_status"]) == ("failed", 1)
        assert [s["state"] for s in document["steps"]] == states
        assert "500" in document["steps"][states.index("failed")]["reason"]
    lines = result.stderr if mode == "json" else result.stdout
    host, failed = com.url.split("//")[1], UPDATE_STEPS[states.index("failed")][1]
    what = doing.format(iid=listed_before["iid"])
    assert f"✗ {failed}: {host} failed while {what} in {RELEASE_TASKS}: 500 injected fault\n" in lines
    assert (f"Not reached: {UPDATE_STEPS[1][1]}\n" in lines) is (states[-1] == "not_reached")
    assert lines.splitlines()[-1] == ending


def test_cli_unknown_ref_is_one_line_and_exit_1(invoke, world):
    com, dev = world

    result = invoke("qa_issue", "v11.1.0-rc0", "v11.1.0-rc2")

    assert result.returncode == 1
    assert result.stderr.startswith("Error: 'v11.1.0-rc0-ee' does not exist in gitlab-org/gitlab-ee on ")
    assert result.stderr.count("\n") == 1
    assert com.mutations() == [] and com.table("issues") == []


def test_cli_dry_run_with_test_variable(invoke, world):
    com, dev = world

    result = invoke("qa_issue", "v11.1.0-rc1", "v11.1.0-rc2", env={"TEST": "true"})

    assert result.returncode == 0, result.stderr
    assert "\n# 11.1.0-rc2 QA Issue\n" in result.stdout and "Nicer buttons" in result.stdout
    assert com.mutations() == [] and dev.mutations() == []


def test_cli_branch_without_version_is_refused_before_any_request(invoke, world):
    com, dev = world

    result = invoke("qa_issue", "v11.1.0-rc1", "11-1-stable")

    assert result.returncode == 1
    assert result.stderr == "Error: cannot tell the version from '11-1-stable': give it with --version X.Y.Z or X.Y.Z-rcN\n"
    assert com.log == [] and dev.log == []


def test_qa_projects_are_configurable_and_ce_refs_keep_their_names(tree, environ, fake_gitlab):
    from release_tools.config import Settings

    com = fake_gitlab
    add_project(com, CE)
    add_milestone(com, "gitlab-org", "11.1", group=True)
    add_commit(com, CE, "start")
    add_tag(com, CE, "v11.1.0-rc1")
    add_merge_request(com, CE, "CE only", iid=9, labels=["Gitaly"])
    add_commit(com, CE, f"Merge\n\nSee merge request {CE}!9")
    add_tag(com, CE, "v11.1.0-rc2")
    settings = Settings.from_mapping({**tree, "qa": {"projects": "ce", "team_labels": ["Gitaly"]}}, environ)

    qa.ensure_qa_issue(settings, "v11.1.0-rc1", "v11.1.0-rc2")

    assert settings.qa.projects == ("ce",)
    assert com.requests("GET", "/compare")[0].query == {"from": ["v11.1.0-rc1"], "to": ["v11.1.0-rc2"]}
    assert '### Gitaly ~"Gitaly" \n\n- [ ] @release-manager | [CE only]' in com.table("issues")[0]["description"]


@pytest.mark.parametrize(
    "name, arguments",
    [
        ("qa_issue", ["--from-ref=STRING", "--to-ref=STRING", "--version=STRING", "--dry-run", "--verbose"]),
        ("publish", ["--version=STRING", "--dry-run", "--verbose"]),
        ("patch_merge_request", ["--version=STRING", "--dry-run"]),
    ],
)
def test_cli_help_documents_every_argument_of_the_new_tasks(invoke, name, arguments):
    result = invoke("--help", name)

    assert result.returncode == 0
    for argument in arguments:
        line = next(line for line in result.stdout.splitlines() if argument in line)
        assert len(line.split(argument, 1)[1].strip()) > 10, f"{argument} of {name} has no help"
    assert "TEST=true" in result.stdout


DEV_EE = "gitlab/gitlab-ee"


@pytest.fixture
def security_world(fake_gitlab, fake_dev):
    """A security fix merged on dev between v11.1.3-ee and v11.1.4-ee of dev's EE."""
    com, dev = fake_gitlab, fake_dev
    add_project(dev, DEV_EE)
    add_milestone(com, "gitlab-org", "11.1", group=True)
    add_commit(dev, DEV_EE, "start")
    add_tag(dev, DEV_EE, "v11.1.3-ee")
    add_merge_request(dev, DEV_EE, "[11.1] Security fix", iid=31, labels=["security"])
    add_commit(dev, DEV_EE, f"Merge\n\nSee merge request {DEV_EE}!31")
    add_tag(dev, DEV_EE, "v11.1.4-ee")
    com.clear_log()
    return com, dev


def test_security_qa_reads_the_refs_on_dev_only(settings, security_world):
    com, dev = security_world

    qa.ensure_qa_issue(settings.with_changes(security=True), "v11.1.3", "v11.1.4")

    assert [r.path for r in dev.log] == [
        f"/projects/{DEV_EE}/repository/commits/v11.1.3-ee",
        f"/projects/{DEV_EE}/repository/commits/v11.1.4-ee",
        f"/projects/{DEV_EE}/repository/compare",
        f"/projects/{DEV_EE}/merge_requests",
    ]
    assert all("/repository/" not in r.path and "/merge_requests" not in r.path for r in com.log)
    assert f"({dev.url}/gitlab/gitlab-ee/merge_requests/31)" in com.table("issues")[0]["description"]


def test_security_qa_issue_is_confidential_and_found_again(settings, security_world, capsys):
    # It lists unpublished security fixes: the public tasks project must not show them.
    com, _ = security_world
    security = settings.with_changes(security=True)

    qa.ensure_qa_issue(security, "v11.1.3", "v11.1.4")
    qa.ensure_qa_issue(security, "v11.1.3", "v11.1.4")

    [issue] = com.table("issues")
    assert issue["confidential"] is True
    assert issue["labels"] == ["QA task", "security"]
    assert ": already done; no new merge requests; " in capsys.readouterr().out


def test_dry_run_on_an_existing_issue_shows_the_update_and_comment_and_writes_nothing(settings, world, capsys):
    com, dev = world
    milestone = add_milestone(com, RELEASE_TASKS, "11.1")
    existing = add_issue(com, RELEASE_TASKS, "11.1.0-rc2 QA Issue", labels=["QA task"], milestone=milestone, description="Old list\n")

    qa.ensure_qa_issue(settings.with_changes(dry_run=True), "v11.1.0-rc1", "v11.1.0-rc2")

    assert com.mutations() == [] and dev.mutations() == []
    assert existing["description"] == "Old list\n" and com.table("notes") == []
    out = capsys.readouterr().out
    assert "\n\n# 11.1.0-rc2 QA Issue\n\nOld list\n\n## Merge Requests tested in 11.1.0-rc2" in out
    assert out.endswith(
        f"\nComment to add on {existing['web_url']}:\nNew QA items for: @alice @bob @dana @maintainer @carol\n\n"
        "Dry run: 2 steps would be carried out; nothing was changed.\n"
    )


def test_the_request_count_benchmark_runs_and_both_ways_make_the_same_issue():
    # benchmarks/qa_requests.py, small and without latency: it still goes through the plan.
    import importlib.util
    from pathlib import Path

    from release_tools.config import Settings
    from release_tools.sandbox import FakeGitLab

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "qa_requests.py"
    spec = importlib.util.spec_from_file_location("qa_requests", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    with FakeGitLab("gitlab.com") as com, FakeGitLab("dev.gitlab.org") as dev:
        benchmark.seed(com, dev, 120)
        settings = Settings.from_mapping(
            {"env_file": "", "instances": {"production": {"url": com.url}, "dev": {"url": dev.url}}},
            {"GITLAB_API_PRIVATE_TOKEN": "production-token", "DEV_API_PRIVATE_TOKEN": "dev-token"},
        )

        ours = benchmark.run(settings, com, dev, qa.fetch_in_batches)
        baseline = benchmark.run(settings, com, dev, benchmark.one_by_one)

    assert ours[2] == baseline[2] and ours[2].count("\n- [ ] @") > 50
    # Refs and compare 3, one batch per project and instance 3, issue lookup, milestones, user, create 5.
    assert (ours[0], baseline[0]) == (11, 3 + 120 + 5)
