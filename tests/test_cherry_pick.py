"""`cherry_pick VERSION`: the merged `Pick into X.Y` merge requests picked into the CE and EE
preparation branches, with real git on bare remotes whose `master` holds the merge requests'
commits (tests/pick_repos.py) and the fake GitLab over HTTP."""

from __future__ import annotations

import json

import pytest

from release_tools.cherry_pick import SECTION_END, SECTION_START, check_version, slack_text, with_section
from release_tools.cherry_pick import cherry_pick as run_cherry_pick
from release_tools.config import Settings
from release_tools.errors import ConfigurationError, InvalidVersionError, ReleaseStateError
from release_tools.gitlab import GitLab
from release_tools.plan import State, Status
from release_tools.version import Version
from release_tools.sandbox import add_merge_request, add_project
from tests.pick_repos import (
    APPLIED,
    BY_HAND,
    CONFLICTING,
    DEV_PATHS,
    HAND_MADE,
    LABEL,
    NO_COMMIT,
    ON_STABLE,
    PATHS,
    PICKED,
    PROJECTS,
    REMOTES,
    PickRemotes,
    branches,
    build_pick_template,
    seed,
)
from tests.repos import commit_literally
from tests.slack_receiver import SlackReceiver

CE = PATHS["ce"]


@pytest.fixture(scope="session")
def pick_template(tmp_path_factory):
    root = tmp_path_factory.mktemp("pick-template")
    return root, build_pick_template(root)


@pytest.fixture
def merge_requests(pick_template):
    """Each project's merge requests, as the template's commits made them, by key."""
    return pick_template[1]


@pytest.fixture
def pick_remotes(pick_template, tmp_path):
    return PickRemotes.copy_of(pick_template[0], tmp_path / "pick-remotes")


@pytest.fixture
def com(fake_gitlab, merge_requests):
    """gitlab.com with CE and EE, their merge requests and their preparation merge requests."""
    fake_gitlab.made = {key: seed(fake_gitlab, key, merge_requests[key]) for key in PROJECTS}
    fake_gitlab.clear_log()
    return fake_gitlab


@pytest.fixture
def make_settings(tree, environ, pick_remotes, git_identity):
    def make(env: dict[str, str] | None = None, extra: dict | None = None, **flags) -> Settings:
        return Settings.from_mapping({**tree, **pick_remotes.tree(), **(extra or {})}, {**environ, **(env or {})}, **flags)

    return make


def run(settings: Settings, version: str = "11.1.2"):
    return run_cherry_pick(settings, Version.parse(version))


def by_iid(merge_requests, key):
    return {mr.iid: mr for mr in merge_requests[key]}


def notes_on(fake, mr: dict) -> list[str]:
    return [n["body"] for n in fake.table("notes") if n["noteable_id"] == mr["id"] and n["noteable_type"] == "MergeRequest"]


def listed(description: str, heading: str) -> list[int]:
    """The iids a section of the description lists, in order."""
    part = description.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [int(line[3:].split(" ", 1)[0]) for line in part.splitlines() if line.startswith("- !")]


# -- a first run -------------------------------------------------------------------------------


def test_the_picks_that_apply_land_on_both_remotes_in_merge_order_each_with_its_trailer(
    com, make_settings, pick_remotes, merge_requests
):
    plan = run(make_settings())

    assert (plan.status, plan.exit_status) == (Status.DONE, 3)
    for key in PROJECTS:
        mrs = by_iid(merge_requests, key)
        # The commits made by hand first, then this run's picks, oldest merge first (!10 was merged before !1).
        wanted = [""] * HAND_MADE + [mrs[iid].picked_from() for iid in PICKED]
        stable, prep = branches(key)
        for remote in REMOTES:
            assert pick_remotes.picks(key, remote) == wanted, (key, remote)
        assert pick_remotes(key, "dev").sha(prep) == pick_remotes(key, "gitlab").sha(prep)
        gitlab = pick_remotes(key, "gitlab")
        # -m 1: a merge request of two commits is one pick with both changes; the conflicting
        # ones left nothing behind.
        assert gitlab.show(prep, "app/views/login.haml") == "%p login\n"
        assert gitlab.show(prep, "lib/search.rb") == "# search\nindex = true\nfast = true\n"
        assert gitlab.show(prep, "lib/gitlab.rb") == "module Gitlab\n  def self.com?; end\nend\n"
        assert gitlab.show(prep, "config/feature.yml") == gitlab.show(stable, "config/feature.yml")
        assert gitlab.subjects(prep, 1) == ["Merge branch 'other-setting'"]
        assert gitlab.sha(stable) == pick_remotes(key, "dev").sha(stable)  # the stable branch is left alone


def test_the_ones_that_cannot_be_picked_are_commented_on_with_the_author_and_the_files(
    com, make_settings, pick_remotes, merge_requests
):
    plan = run(make_settings())

    mrs, made = by_iid(merge_requests, "ce"), com.made["ce"]
    for iid, files in CONFLICTING.items():
        [body] = notes_on(com, made[iid])
        assert body.startswith(
            f"@{mrs[iid].author} this merge request could not be picked into `11-1-stable-patch-2` for 11.1.2: "
            f"picking {mrs[iid].picked_from()[:8]} conflicts in `{files[0]}`.\n\n"
            "Please open a merge request against `11-1-stable-patch-2` with its changes, the conflicts resolved"
        )
        assert '~"Pick into 11.1" label' in body and body.endswith("<!-- release-tools cherry_pick not_picked 11.1.2 -->\n")
    [body] = notes_on(com, made[NO_COMMIT[0]])
    assert body.startswith("@joe this merge request could not be picked into `11-1-stable-patch-2` for 11.1.2: GitLab names no commit")
    assert "conflicts" not in body
    assert len(plan.problems) == 2 * (len(CONFLICTING) + len(NO_COMMIT))
    assert any(p.startswith("gitlab-ee !3 'Turn on pages': picking ") for p in plan.problems)
    assert all(mr["labels"] == [LABEL] for iid, mr in made.items() if iid not in (0, 11))  # labels are kept


def test_each_picked_merge_request_gets_a_link_to_its_pick_and_the_others_none(com, make_settings, pick_remotes):
    run(make_settings())

    made = com.made["ce"]
    picks = {source: commit for commit, source in pick_remotes.pick_commits("ce")}
    for iid in PICKED:
        source = (made[iid]["merge_commit_sha"] or made[iid]["squash_commit_sha"])
        assert notes_on(com, made[iid]) == [
            f"Picked into 11-1-stable-patch-2 for 11.1.2: {com.url}/{CE}/commit/{picks[source]}\n\n"
            "<!-- release-tools cherry_pick picked 11.1.2 -->\n"
        ]
    # The same change made by hand and changed since (`git cherry` finds it): its commit is linked.
    by_hand = pick_remotes.pick_commits("ce")[1][0]
    assert notes_on(com, made[BY_HAND[0]]) == [
        f"Picked into 11-1-stable-patch-2 for 11.1.2: {com.url}/{CE}/commit/{by_hand}\n\n"
        "<!-- release-tools cherry_pick picked 11.1.2 -->\n"
    ]
    # On the branch by hand (no commit to link), in the stable branch already, unlabelled, open: no comment.
    for iid in (*APPLIED, *ON_STABLE, 11, 12):
        assert notes_on(com, made[iid]) == []
    assert [n["noteable_iid"] for n in com.table("notes") if "11.1.2-ee" in n["body"]] != []  # EE's say so


def test_the_preparation_merge_request_lists_both_groups_and_keeps_the_rest(com, make_settings):
    run(make_settings())

    for key in PROJECTS:
        description = com.made[key][0]["description"]
        assert description.startswith("Main release issue: https://example.com/issues/1\n\n## What this is for\n\nPicks.\n\n")
        assert description.count(SECTION_START) == description.count(SECTION_END) == 1
        assert listed(description, "Picked") == [10, 1, 2, 4, 5, 7, 9, 13]  # merge order
        assert listed(description, "Not picked") == [3, 6, 8]
    assert "- !7 `Fix the docs` (in `11-1-stable-ee` already)" in com.made["ee"][0]["description"]


# -- re-runs ----------------------------------------------------------------------------------


def test_a_second_run_makes_no_commit_no_push_and_no_comment(com, make_settings, pick_remotes):
    settings = make_settings()
    run(settings)
    digests = pick_remotes.digests()
    com.clear_log()

    again = run(settings)

    assert com.mutations() == []
    assert pick_remotes.digests() == digests
    assert again.status is Status.NOTHING_TO_DO and again.exit_status == 3  # the manual picks are still to do
    assert {step.state for step in again.steps} == {State.ALREADY_DONE, State.SKIPPED}
    # What a chat reply shows: the preparation merge requests, the manual picks, the ending.
    lines = again.summary_lines()
    assert any(com.made["ee"][0]["web_url"] in line for line in lines)
    assert sum(line.startswith("Problem: ") for line in lines) == 6


def test_without_an_open_preparation_merge_request_the_list_is_skipped_and_the_rest_done(com, make_settings, pick_remotes):
    com.made["ce"][0]["state"] = "closed"

    plan = run(make_settings())

    [described] = [step for step in plan.steps if step.kind == "merge_request.update" and "gitlab-ce" in step.summary]
    assert described.state is State.SKIPPED
    assert described.reason == "no open merge request from 11-1-stable-patch-2 into 11-1-stable"
    assert plan.exit_status == 3 and len(pick_remotes.picks("ce")) == HAND_MADE + len(PICKED)
    assert com.made["ce"][0]["description"].count(SECTION_START) == 0


def test_a_rerun_picks_only_what_was_merged_since_and_replaces_the_list(com, make_settings, pick_remotes, tmp_path):
    settings = make_settings()
    run(settings)
    gitlab, dev = pick_remotes("ce", "gitlab"), pick_remotes("ce", "dev")
    new = gitlab.commit("master", {"doc/new.md": "# New\n"}, "Add the new docs", tmp_path)
    gitlab.git("push", "--quiet", dev.url, "master")
    add_merge_request(com, CE, "Add the new docs", iid=14, labels=[LABEL], merged_at="2018-07-25T10:00:00.000Z", sha=new)
    com.clear_log()

    again = run(settings)

    assert again.exit_status == 3
    assert pick_remotes.picks("ce")[-1] == new and pick_remotes.picks("ce", "dev")[-1] == new
    [mr14] = [mr for mr in com.table("merge_requests") if mr["iid"] == 14 and mr["project_id"] == com.made["ce"][0]["project_id"]]
    assert [(r.method, r.path) for r in com.mutations()] == [
        ("POST", f"/projects/{CE}/merge_requests/14/notes"),
        ("PUT", f"/projects/{CE}/merge_requests/100"),
    ]
    assert len(notes_on(com, mr14)) == 1
    description = com.made["ce"][0]["description"]
    assert description.count(SECTION_START) == 1 and listed(description, "Picked")[-1] == 14


# -- dry runs and security releases --------------------------------------------------------------


def test_a_dry_run_picks_in_its_clone_to_know_and_pushes_comments_and_posts_nothing(
    com, make_settings, pick_remotes, capsys
):
    digests = pick_remotes.digests()

    plan = run(make_settings(dry_run=True))

    assert com.mutations() == [] and pick_remotes.digests() == digests
    assert plan.status is Status.DRY_RUN and plan.exit_status == 3
    pushes = [step for step in plan.steps if step.kind == "git.push"]
    assert len(pushes) == 4 and all(step.state is State.TO_DO for step in pushes)
    assert len(pushes[0].details) == len(PICKED)  # the picks it made in its clone
    out = capsys.readouterr().out
    assert "comment on gitlab-ce !3: tell @ann it needs a manual pick" in out
    assert "picking " in out and "conflicts in 'config/feature.yml'" in out
    assert "Dry run: " in out and "nothing was changed" in out


def test_a_security_run_changes_nothing_on_the_public_projects_or_remotes(
    fake_gitlab, fake_dev, make_settings, pick_remotes, merge_requests
):
    for key in PROJECTS:
        seed(fake_gitlab, key, merge_requests[key])
    fake_dev.made = {key: seed(fake_dev, key, merge_requests[key], path=DEV_PATHS[key]) for key in PROJECTS}
    fake_gitlab.clear_log()
    public = {key: pick_remotes(key, "gitlab").digest() for key in PROJECTS}

    plan = run(make_settings(security=True))

    assert plan.exit_status == 3 and plan.security
    assert fake_gitlab.log == []
    assert {key: pick_remotes(key, "gitlab").digest() for key in PROJECTS} == public
    mrs = by_iid(merge_requests, "ee")
    assert pick_remotes.picks("ee", "dev") == [""] * HAND_MADE + [mrs[iid].picked_from() for iid in PICKED]
    assert {step.target.remote for step in plan.steps if step.kind == "git.push"} == {"dev"}
    assert len(notes_on(fake_dev, fake_dev.made["ee"][1])) == 1
    assert "invoke cherry_pick --security 11.1.2" in fake_dev.made["ce"][0]["description"]
    slack = next(step for step in plan.steps if step.kind == "slack.post")
    assert slack.state is State.SKIPPED


# -- what stops a run before anything changes -------------------------------------------------------


@pytest.mark.parametrize(
    "args, line",
    [
        (["11.1.2"], "Error: 11-1-stable-ee-patch-2 is not on the dev remote of gitlab-ee: create the preparation "
                     "branches first (invoke patch_merge_request 11.1.2)"),
        (["--security", "11.1.2"], "Error: 11-1-stable-ee-patch-2 is not on the dev remote of gitlab-ee: create the "
                                   "preparation branches first (invoke patch_merge_request --security 11.1.2)"),
    ],
    ids=["patch", "security"],
)
def test_a_missing_preparation_branch_is_one_line_and_nothing_changes(invoke, com, fake_dev, pick_remotes, args, line):
    pick_remotes("ee", "dev").git("branch", "-D", "11-1-stable-ee-patch-2")
    digests = pick_remotes.digests()

    result = invoke("cherry_pick", *args, env=pick_remotes.env())

    assert result.returncode == 1
    assert result.stderr.splitlines() == [line]
    assert com.log == [] and fake_dev.log == []
    assert pick_remotes.digests() == digests


@pytest.mark.parametrize(
    "version, start",
    [
        ("11.1.0", "Error: 11.1.0 is a monthly release, which ships its stable branch as it is: cherry_pick is for patch"),
        ("11.1.0-ee", "Error: 11.1.0 is a monthly release"),
        ("11.1.2-rc1", "Error: 11.1.2-rc1 is neither a patch nor a release candidate: a patch is X.Y.Z (Z > 0)"),
        ("wow", "Error: Version number must be in the following format: X.Y.Z-rc1 or X.Y.Z"),
        ("v11.1.2", "Error: Version number must be in the following format"),
    ],
    ids=repr,
)
def test_a_monthly_or_bad_version_is_one_line_and_nothing_is_read(invoke, com, fake_dev, pick_remotes, version, start):
    digests = pick_remotes.digests()

    result = invoke("cherry_pick", version, env=pick_remotes.env())

    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(start)
    assert result.stdout == "" and com.log == [] and fake_dev.log == []
    assert pick_remotes.digests() == digests


def test_remotes_whose_preparation_branches_diverged_stop_the_run_before_anything(com, make_settings, pick_remotes, tmp_path):
    _, prep = branches("ce")
    pick_remotes("ce", "dev").commit(prep, {"lib/dev.rb": "# dev\n"}, "A fix on dev", tmp_path)
    pick_remotes("ce", "gitlab").commit(prep, {"lib/com.rb": "# com\n"}, "A fix on gitlab.com", tmp_path)
    digests = pick_remotes.digests()

    with pytest.raises(ReleaseStateError, match=r"^gitlab-ce: 11-1-stable-patch-2 on dev and on gitlab have diverged: "):
        run(make_settings())

    assert com.mutations() == [] and pick_remotes.digests() == digests


def test_a_remote_behind_on_the_preparation_branch_is_brought_along(com, make_settings, pick_remotes, merge_requests):
    stable, prep = branches("ce")
    dev = pick_remotes("ce", "dev")
    dev.git("update-ref", f"refs/heads/{prep}", dev.sha(stable))  # without the hand-made pick

    run(make_settings())

    assert dev.sha(prep) == pick_remotes("ce", "gitlab").sha(prep)
    assert pick_remotes.picks("ce", "dev")[:HAND_MADE] == [""] * HAND_MADE  # gitlab.com's commits came along


# -- what the run finds ------------------------------------------------------------------------------


def test_a_merge_request_merged_into_the_branch_counts_and_a_commit_no_remote_has_is_not_picked(
    com, make_settings, pick_remotes
):
    made = com.made["ce"]
    hand_made = pick_remotes.pick_commits("ce")[0][0]
    made[4]["sha"] = hand_made  # as if !4 had been merged into the preparation branch itself
    made[9]["merge_commit_sha"] = "d" * 40  # a merge commit GitLab names and no remote has

    plan = run(make_settings())

    assert notes_on(com, made[4]) == [
        f"Picked into 11-1-stable-patch-2 for 11.1.2: {com.url}/{CE}/commit/{hand_made}\n\n"
        "<!-- release-tools cherry_pick picked 11.1.2 -->\n"
    ]
    [body] = notes_on(com, made[9])
    assert "could not be picked into `11-1-stable-patch-2` for 11.1.2: its commit dddddddd is on none of the remotes (dev, gitlab)." in body
    assert "d" * 40 not in pick_remotes.picks("ce")
    assert len(pick_remotes.picks("ce")) == HAND_MADE + len(PICKED) - 1  # not !9
    assert any(problem.startswith("gitlab-ce !9 'Add a setting': its commit dddddddd") for problem in plan.problems)


def test_a_picked_label_replaces_the_pick_label_and_a_rerun_still_lists_what_was_picked(com, make_settings):
    settings = make_settings(extra={"cherry_pick": {"picked_label": "Picked into {minor}"}})
    run(settings)
    made = com.made["ce"]
    description = made[0]["description"]
    com.clear_log()

    again = run(settings)

    for iid in (*PICKED, *ON_STABLE, *BY_HAND):
        assert made[iid]["labels"] == ["Picked into 11.1"], iid
    # Left out, and picked by hand without a `cherry picked from` line (nothing would name it later): kept.
    for iid in (*CONFLICTING, *NO_COMMIT, *APPLIED):
        assert made[iid]["labels"] == [LABEL]
    assert com.mutations() == [] and again.status is Status.NOTHING_TO_DO
    assert made[0]["description"] == description and listed(description, "Picked") == [10, 1, 2, 4, 5, 7, 9, 13]


def test_slack_hears_one_line_for_the_run_and_nothing_from_a_rerun(com, make_settings):
    with SlackReceiver() as slack:
        settings = make_settings(env={"SLACK_TAG_URL": slack.url})
        run(settings)
        run(settings)
        posts = list(slack.posts)

    assert [post["text"] for post in posts] == ["11.1.2: picked 5 into gitlab-ce and 5 into gitlab-ee, 6 need a manual pick"]


def test_a_slack_failure_is_reported_and_the_run_still_ends_with_its_own_status(com, make_settings):
    with SlackReceiver() as slack:
        slack.fail(500)
        plan = run(make_settings(env={"SLACK_CHERRY_PICK_URL": slack.url}))

    step = next(step for step in plan.steps if step.kind == "slack.post")
    assert step.state is State.FAILED and "SLACK_CHERRY_PICK_URL" in step.reason
    assert plan.exit_status == 3


# -- the command line -----------------------------------------------------------------------------


def test_json_of_a_dry_run_and_of_a_real_run_lists_the_steps(invoke, com, pick_remotes):
    env = pick_remotes.env()

    dry = invoke("cherry_pick", "11.1.2", "--dry-run", "--json", env=env)
    real = invoke("cherry_pick", "--json", "11.1.2", env=env)

    assert (dry.returncode, real.returncode) == (3, 3), dry.stderr + real.stderr
    dry_run, done = json.loads(dry.stdout), json.loads(real.stdout)
    assert (dry_run["status"], dry_run["dry_run"], dry_run["exit_status"]) == ("dry_run", True, 3)
    assert (done["status"], done["exit_status"], len(done["problems"])) == ("done", 3, 6)
    for document, state in ((dry_run, "to_do"), (done, "done")):
        kinds = [step["kind"] for step in document["steps"]]
        assert kinds.count("git.push") == 4 and kinds.count("merge_request.update") == 2 and kinds[-1] == "slack.post"
        first = document["steps"][0]
        assert (first["summary"], first["state"]) == ("push 11-1-stable-patch-2 to dev of gitlab-ce", state)
        assert first["target"] == {"project": CE, "remote": "dev", "refs": ["refs/heads/11-1-stable-patch-2"]}
        notes = [step for step in document["steps"] if step["kind"] == "note.create"]
        assert len(notes) == 2 * (len(PICKED) + len(BY_HAND) + len(CONFLICTING) + len(NO_COMMIT))
        assert {step["state"] for step in notes} == {state}
    assert "Done, with 6 problems" in real.stderr


def test_invokes_own_dry_run_is_a_dry_run_of_cherry_pick(invoke, com, pick_remotes):
    digests = pick_remotes.digests()

    result = invoke("-R", "cherry_pick", "11.1.2", env=pick_remotes.env())

    assert result.returncode == 3, result.stderr
    assert "Dry run: " in result.stdout and com.mutations() == [] and pick_remotes.digests() == digests


def test_a_refused_push_stops_the_run_before_any_comment_and_a_rerun_finishes(invoke, com, pick_remotes):
    pick_remotes("ce", "gitlab").refuse_next_push()

    result = invoke("cherry_pick", "--json", "11.1.2", env=pick_remotes.env())

    assert result.returncode == 1
    document = json.loads(result.stdout)
    states = [(step["summary"], step["state"]) for step in document["steps"][:3]]
    assert states == [
        ("push 11-1-stable-patch-2 to dev of gitlab-ce", "done"),
        ("push 11-1-stable-patch-2 to gitlab of gitlab-ce", "failed"),
        ("comment on gitlab-ce !10: picked as " + document["steps"][2]["summary"][-8:], "not_reached"),
    ]
    assert "[remote rejected] (pre-receive hook declined)" in document["steps"][1]["reason"]
    assert {step["state"] for step in document["steps"][2:-1]} == {"not_reached"}
    assert "✗ push 11-1-stable-patch-2 to gitlab of gitlab-ce: " in result.stderr and "Not reached: " in result.stderr
    assert com.table("notes") == [] and com.mutations() == []

    again = invoke("cherry_pick", "11.1.2", env=pick_remotes.env())

    assert again.returncode == 3, again.stderr
    assert pick_remotes.picks("ce", "gitlab") == pick_remotes.picks("ce", "dev")
    assert "✓ push 11-1-stable-patch-2 to dev of gitlab-ce: already done" in again.stdout


def test_the_task_takes_chat_friendly_arguments(invoke):
    result = invoke("--help", "cherry_pick")

    assert result.returncode == 0
    for flag in ("-s, --security", "-R, --dry-run", "--json", "-y, --yes", "-v STRING, --version=STRING"):
        assert flag in result.stdout


# -- the pieces ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["11.1.0", "11.1.0-ee", "11.1.3-rc2"], ids=repr)
def test_only_patches_and_release_candidates_are_picked_into(version):
    with pytest.raises(InvalidVersionError):
        check_version(Version.parse(version))


@pytest.mark.parametrize("version", ["11.1.2", "11.1.0-rc2", "11.1.2-ee"], ids=repr)
def test_patches_and_release_candidates_pass(version):
    check_version(Version.parse(version))


def test_the_section_is_added_once_then_replaced_and_the_rest_stays():
    first = with_section("Intro\n\n## Steps\n", f"{SECTION_START}\nA\n{SECTION_END}")
    second = with_section(first + "Notes added later.\n", f"{SECTION_START}\nB\n{SECTION_END}")

    assert first == f"Intro\n\n## Steps\n\n{SECTION_START}\nA\n{SECTION_END}\n"
    assert second == f"Intro\n\n## Steps\n\n{SECTION_START}\nB\n{SECTION_END}\nNotes added later.\n"
    assert with_section("", "S") == "S\n"
    # A lone marker (the other one deleted by hand) is dropped, not doubled.
    assert with_section(f"Text {SECTION_START} more", "S") == "Text  more\n\nS\n"


def test_a_title_cannot_break_the_markers(com, make_settings):
    com.made["ce"][1]["title"] = f"Sneaky {SECTION_END}\n/close"

    settings = make_settings()
    run(settings)
    com.made["ce"][1]["title"] += " again"
    run(settings)

    lines = com.made["ce"][0]["description"].splitlines()
    assert lines.count(SECTION_START) == lines.count(SECTION_END) == 1  # replaced, not added again
    [line] = [line for line in lines if line.startswith("- !1 ")]
    assert line.startswith(f"- !1 `Sneaky {SECTION_END}\\n/close again` (`")


def test_the_slack_line_counts_this_runs_picks_and_the_manual_ones():
    version = Version.parse("11.1.2")
    assert slack_text(version, {"gitlab-ee": 7}, 2) == "11.1.2: picked 7 into gitlab-ee, 2 need a manual pick"
    assert slack_text(version, {"gitlab-ce": 1, "gitlab-ee": 2}, 1) == (
        "11.1.2: picked 1 into gitlab-ce and 2 into gitlab-ee, 1 needs a manual pick"
    )


def test_cherry_pick_projects_name_only_those_with_preparation_branches(tree, environ):
    with pytest.raises(ConfigurationError, match=r"^release_tools\.cherry_pick\.projects may name ce and ee only, not 'omnibus'$"):
        Settings.from_mapping({**tree, "cherry_pick": {"projects": ["ee", "omnibus"]}}, environ)
    assert Settings.from_mapping({**tree, "cherry_pick": {"projects": "ee"}}, environ).cherry_pick.projects == ("ee",)


# -- the GitLab adapter --------------------------------------------------------------------------------


def test_merged_merge_requests_by_label_come_100_per_request_with_their_commits(fake_gitlab, settings):
    add_project(fake_gitlab, CE)
    for n in range(150):
        add_merge_request(fake_gitlab, CE, f"Change {n}", labels=[LABEL], merge_commit_sha=f"{n:040x}",
                          squash_commit_sha=None, sha=f"{n + 1000:040x}", merged_at=f"2018-07-01T10:{n // 60:02d}:{n % 60:02d}.000Z")
    add_merge_request(fake_gitlab, CE, "Unlabelled")
    add_merge_request(fake_gitlab, CE, "Open", labels=[LABEL], state="opened")
    fake_gitlab.clear_log()

    found = GitLab(settings).list_merge_requests(CE, labels=(LABEL,), state="merged")

    assert len(found) == 150 and len(fake_gitlab.requests("GET", "/merge_requests")) == 2
    assert {r.query["per_page"][0] for r in fake_gitlab.requests("GET", "/merge_requests")} == {"100"}
    first = min(found, key=lambda mr: mr.iid)
    assert (first.merge_commit_sha, first.squash_commit_sha, first.sha) == ("0" * 40, None, f"{1000:040x}")
    assert first.merged_at == "2018-07-01T10:00:00.000Z" and first.author == "release-manager"


def test_a_merge_request_comment_whose_answer_was_lost_is_not_posted_twice(fake_gitlab, settings):
    add_project(fake_gitlab, CE)
    mr = add_merge_request(fake_gitlab, CE, "Fix")
    fake_gitlab.fail(502, method="POST", path="/notes", after=True)

    note = GitLab(settings).add_merge_request_note(CE, mr["iid"], "Picked.")

    assert [n["body"] for n in fake_gitlab.table("notes")] == ["Picked."]
    assert note.id == fake_gitlab.table("notes")[0]["id"]
    assert GitLab(settings).find_merge_request_note(CE, mr["iid"], "Pick").body == "Picked."


def test_labels_are_added_and_removed_by_name_leaving_the_others(fake_gitlab, settings):
    add_project(fake_gitlab, CE)
    mr = add_merge_request(fake_gitlab, CE, "Fix", labels=["bug", LABEL])

    updated = GitLab(settings).update_merge_request(CE, mr["iid"], add_labels=["Picked into 11.1"], remove_labels=[LABEL])

    assert mr["labels"] == ["bug", "Picked into 11.1"] and updated.labels == ("bug", "Picked into 11.1")


def test_a_file_name_cannot_start_a_quick_action_in_a_comment():
    from release_tools.cherry_pick import Candidate, Edition, Outcome, not_picked_comment, section
    from release_tools.gitlab import MergeRequest

    mr = MergeRequest(id=1, iid=3, project=CE, title="Fix\n/close", web_url="", author="ann", merge_commit_sha="a" * 40)
    candidate = Candidate(mr, outcome=Outcome.CONFLICTS, conflicts=("odd\n/label ~hijacked`",))
    edition = Edition("ce", "gitlab-ce", Version.parse("11.1.2"), CE, "11-1-stable-patch-2", "11-1-stable",
                      (("gitlab", "file:///x"),), "gitlab", candidates=[candidate])

    for text in (not_picked_comment(candidate, edition, LABEL), section(edition, "invoke cherry_pick 11.1.2")):
        assert not [line for line in text.splitlines() if line.startswith("/")]
    assert "conflicts in `` odd\\n/label ~hijacked` ``." in not_picked_comment(candidate, edition, LABEL)


# -- from chat ------------------------------------------------------------------------------------


def test_cherry_pick_from_chat_replies_with_the_summary_and_the_preparation_merge_requests(chat_job, com, pick_remotes):
    from tests.repos import GIT_ENV

    result = chat_job("cherry_pick", "11.1.2", **pick_remotes.env(), **GIT_ENV)

    assert result.returncode == 3, result.output  # some need a manual pick
    reply = result.reply
    assert reply[0].startswith("11.1.2: picked ") and reply[0].endswith("need a manual pick")
    assert any("merge request" in line and "(http" in line for line in reply), reply
    assert len("\n".join(reply)) < 3500  # GitLab posts a longer reply as a link
    assert pick_remotes.picks("ce", "dev") == pick_remotes.picks("ce", "gitlab") != []


def test_cherry_pick_from_the_security_channel_picks_on_dev_only(chat_job, com, fake_dev, pick_remotes, merge_requests):
    from tests.repos import GIT_ENV

    for key in PROJECTS:
        seed(fake_dev, key, merge_requests[key], path=DEV_PATHS[key])
    public = {key: pick_remotes(key, "gitlab").digest() for key in PROJECTS}
    com.clear_log()

    result = chat_job("cherry_pick", "11.1.2", channel="security-release", **pick_remotes.env(), **GIT_ENV)

    assert result.returncode == 3, result.output
    assert "Plan for cherry_pick 11.1.2 (security release: dev only)" in result.log
    assert {key: pick_remotes(key, "gitlab").digest() for key in PROJECTS} == public
    assert com.mutations() == [] and fake_dev.mutations() != []


# -- what is not a candidate ----------------------------------------------------------------------


def test_a_merge_request_merged_into_another_branch_than_master_is_not_a_candidate(com, make_settings, pick_remotes, tmp_path):
    gitlab, dev = pick_remotes("ce", "gitlab"), pick_remotes("ce", "dev")
    gitlab.git("branch", "feature-x", "master")
    new = gitlab.commit("feature-x", {"doc/feature.md": "# Feature\n"}, "Document the feature", tmp_path)
    gitlab.git("push", "--quiet", dev.url, "feature-x")
    stable, _ = branches("ce")
    for iid, target in ((14, "feature-x"), (15, stable)):
        add_merge_request(com, CE, f"Merged into {target}", iid=iid, labels=[LABEL], target_branch=target,
                          merged_at="2018-07-25T10:00:00.000Z", sha=new)
    [mr14, mr15] = [mr for mr in com.table("merge_requests") if mr["iid"] in (14, 15) and mr["project_id"] == com.made["ce"][0]["project_id"]]

    plan = run(make_settings())

    assert new not in pick_remotes.picks("ce") and new not in pick_remotes.picks("ce", "dev")
    assert notes_on(com, mr14) == [] and notes_on(com, mr15) == []
    description = com.made["ce"][0]["description"]
    assert 14 not in listed(description, "Picked") + listed(description, "Not picked")
    assert 15 not in listed(description, "Picked") + listed(description, "Not picked")
    assert f"gitlab-ce: !14 'Merged into feature-x' was merged into 'feature-x', not master: not a candidate" in plan.notes
    assert f"gitlab-ce: !15 'Merged into {stable}' was merged into '{stable}', not master: not a candidate" in plan.notes
    assert len(plan.problems) == 2 * (len(CONFLICTING) + len(NO_COMMIT))  # no problem either


@pytest.mark.parametrize(
    "message",
    [
        # Its merge request's message carried the line; git's own, below it, names what was picked.
        "Fix the docs again\n\n(cherry picked from commit {named})\n(cherry picked from commit {other})\n",
        # Quoted in the body, above the trailers.
        "Fix the docs again\n\nAs in\n(cherry picked from commit {named})\n\nSigned-off-by: Ann <ann@example.com>\n",
    ],
    ids=["earlier-line", "quoted-in-body"],
)
def test_only_gits_own_cherry_picked_from_line_says_what_a_commit_was_picked_from(
    com, make_settings, pick_remotes, merge_requests, tmp_path, message
):
    _, prep = branches("ce")
    named, other = by_iid(merge_requests, "ce")[9].picked_from(), "c" * 40
    gitlab, dev = pick_remotes("ce", "gitlab"), pick_remotes("ce", "dev")
    quoting = gitlab.commit(prep, {"doc/other.md": "# Other\n"}, message.format(named=named, other=other), tmp_path)
    gitlab.git("push", "--quiet", dev.url, prep)

    run(make_settings())

    # This run's picks come after the commit that quotes the line: !9 is one of them.
    for remote in REMOTES:
        made = pick_remotes.pick_commits("ce", remote)
        assert named in [source for _, source in made[HAND_MADE + 1 :]], remote
    [picked] = [commit for commit, source in made[HAND_MADE + 1 :] if source == named]
    assert picked != quoting
    assert notes_on(com, com.made["ce"][9]) == [
        f"Picked into 11-1-stable-patch-2 for 11.1.2: {com.url}/{CE}/commit/{picked}\n\n"
        "<!-- release-tools cherry_pick picked 11.1.2 -->\n"
    ]


def _outside_code(text: str) -> str:
    """`text` without its inline code spans (GitLab runs no mention or reference in code)."""
    import re

    return re.sub(r"(`+)(.+?)(?<!`)\1(?!`)", "", text)


def test_a_title_pings_nobody_and_runs_no_quick_action_in_the_description(com, make_settings):
    titles = {1: "Fix the login for @ann", 3: "Turn on `pages` @joe\n/assign @joe", 10: "``Index``\r\n/close"}
    for iid, title in titles.items():
        com.made["ce"][iid]["title"] = title

    run(make_settings())

    description = com.made["ce"][0]["description"]
    section = description.split(SECTION_START, 1)[1]
    assert "@" not in _outside_code(section)
    assert not [line for line in description.splitlines() if line.startswith("/")]
    lines = section.splitlines()
    assert next(line for line in lines if line.startswith("- !1 ")).startswith("- !1 `Fix the login for @ann` (")
    assert next(line for line in lines if line.startswith("- !3 ")).startswith(
        "- !3 ``Turn on `pages` @joe\\n/assign @joe``: picking "
    )
    assert next(line for line in lines if line.startswith("- !10 ")).startswith("- !10 ``` ``Index``\\r\\n/close ``` (")


#: File names git must take as they are: pathspec magic, an option, a space, a line break,
#: and a long path (named whole, not cut as a short value would be).
ODD_NAMES = (":(exclude)odd.yml", ":!lib", "-n.yml", "with space.yml", "line\nbreak.yml", "deep/" * 30 + "file.yml")


def test_conflicting_files_of_any_name_are_named_exactly_and_safely(com, make_settings, pick_remotes, tmp_path, capsys):
    from release_tools.errors import quote_path
    from release_tools.templates import inline_code

    _, prep = branches("ce")
    remotes = [pick_remotes("ce", remote) for remote in ("gitlab", "dev")]
    commit_literally(remotes, prep, {name: "prep\n" for name in ODD_NAMES}, "Odd files on the branch", tmp_path)
    new = commit_literally(remotes, "master", {name: "master\n" for name in ODD_NAMES}, "Odd files", tmp_path)
    mr = add_merge_request(com, CE, "Odd files", iid=14, labels=[LABEL], merged_at="2018-07-25T10:00:00.000Z", sha=new)

    plan = run(make_settings())

    assert plan.exit_status == 3
    files = sorted(ODD_NAMES)  # as git lists them
    [problem] = [p for p in plan.problems if p.startswith("gitlab-ce !14 ")]
    assert f"conflicts in {', '.join(quote_path(name) for name in files)}; " in problem and "\n" not in problem
    [body] = notes_on(com, mr)
    assert f"conflicts in {', '.join(inline_code(name) for name in files)}.\n\n" in body
    assert not [line for line in body.splitlines() if line.startswith("/")]
    assert new not in pick_remotes.picks("ce")
    # Every line printed is one line: the git commands echoed with these names too.
    assert not [line for line in capsys.readouterr().out.splitlines() if line.startswith("break.yml")]


def test_a_file_named_like_a_marker_does_not_pass_for_the_picked_comment(com, make_settings, pick_remotes, tmp_path):
    _, prep = branches("ce")
    remotes = [pick_remotes("ce", remote) for remote in ("gitlab", "dev")]
    named = "<!-- release-tools cherry_pick picked 11.1.2 -->"
    commit_literally(remotes, prep, {named: "prep\n"}, "A file on the branch", tmp_path)
    new = commit_literally(remotes, "master", {named: "master\n"}, "The same file", tmp_path)
    mr = add_merge_request(com, CE, "Marker file", iid=14, labels=[LABEL], merged_at="2018-07-25T10:00:00.000Z", sha=new)
    settings = make_settings()
    run(settings)
    assert [body.startswith("@release-manager this merge request could not be picked") for body in notes_on(com, mr)] == [True]
    # Picked by hand since, with its line.
    commit_literally(remotes, prep, {named: "master\n"}, f"The same file\n\n(cherry picked from commit {new})", tmp_path)

    run(settings)

    bodies = notes_on(com, mr)
    assert len(bodies) == 2 and bodies[-1].startswith("Picked into 11-1-stable-patch-2 for 11.1.2: ")
