"""`status VERSION`: every phase of a monthly, RC, patch and security release, at each
point of the release, read from real bare remotes and the fake GitLab instances the way
the tasks read them; read-only (no mutating request, no push); problems and what could
not be read reported phase by phase, with exit statuses 0, 3, 2 and 1."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from release_tools.config import Settings
from release_tools.status import State, read_status
from release_tools.version import Version
from tests.conftest import DEV_TOKEN
from release_tools.sandbox import add_merge_request
from tests.release_world import PRODUCTION_PATHS, World, git_calls, git_runs


@dataclass(frozen=True)
class Kind:
    version: str
    security: bool = False
    #: The preparation merge requests: (edition, source branch, title).
    preparation: tuple[tuple[str, str, str], ...] = ()
    chart: tuple[str, str] | None = None  # (chart version, GitLab version it ships)


MONTHLY = Kind("11.2.0", chart=("0.4.0", "11.2.0"))
RC = Kind(
    "11.2.0-rc1",
    preparation=(
        ("ce", "11-2-stable-prepare-rc1", "WIP: Prepare 11.2 RC1 release"),
        ("ee", "11-2-stable-ee-prepare-rc1", "WIP: Prepare 11.2 RC1 EE release"),
    ),
)
PATCH_PREPARATION = (
    ("ce", "10-8-stable-patch-7", "WIP: Prepare 10.8.7 release"),
    ("ee", "10-8-stable-ee-patch-7", "WIP: Prepare 10.8.7-ee release"),
)
PATCH = Kind("10.8.7", preparation=PATCH_PREPARATION, chart=("0.1.9", "10.8.7"))
SECURITY = Kind("10.8.7", security=True, preparation=PATCH_PREPARATION, chart=("0.1.9", "10.8.7"))
KINDS = {"monthly": MONTHLY, "rc": RC, "patch": PATCH, "security": SECURITY}

#: The points of a release, in order; each includes the ones before it.
POINTS = ("nothing", "issue", "tagged_on_dev", "tagged_everywhere", "published", "everything")


def advance(world: World, kind: Kind, point: str) -> None:
    """Move `world` through the release of `kind` up to `point`."""
    reached = POINTS[: POINTS.index(point) + 1]
    if "issue" in reached:
        world.release_issue(kind.version, security=kind.security, checked=2, items=8)
    if "tagged_on_dev" in reached:
        if kind.preparation:
            world.preparation(list(kind.preparation), state="merged", security=kind.security)
        world.tag(kind.version, to=("dev",))
        world.pipelines(kind.version, "manual")  # pushing the tags to dev starts them
    if "tagged_everywhere" in reached and not kind.security:
        world.tag(kind.version, to=("dev", "gitlab"))
    if "published" in reached:
        world.publish()
        world.qa_issue(kind.version, security=kind.security, checked=3, items=6)
    if "everything" in reached:
        world.qa_issue_checked()
        if kind.chart:
            world.chart(*kind.chart)


NS, IP, DONE, PROBLEM, HIDDEN = "not_started", "in_progress", "done", "problem", "not_shown"

#: kind -> point -> (the state of each phase, the next step's phase, command and chat command).
EXPECTED = {
    "monthly": {
        "nothing": ({"issue": NS, "stable_branches": NS, "tags": NS, "qa_issue": NS, "packages": NS, "chart": NS},
                    ("issue", "invoke release_issue 11.2.0", "/chatops run release_issue 11.2.0")),
        "issue": ({"issue": DONE, "stable_branches": NS, "tags": NS, "qa_issue": NS, "packages": NS, "chart": NS},
                  ("stable_branches", "invoke tag 11.2.0", "/chatops run tag 11.2.0")),
        "tagged_on_dev": ({"issue": DONE, "stable_branches": IP, "tags": IP, "qa_issue": NS, "packages": NS, "chart": NS},
                          ("stable_branches", "invoke tag 11.2.0", "/chatops run tag 11.2.0")),
        "tagged_everywhere": ({"issue": DONE, "stable_branches": DONE, "tags": DONE, "qa_issue": NS, "packages": NS,
                               "chart": NS},
                              ("qa_issue", "invoke qa_issue v11.1.0 v11.2.0", "/chatops run qa_issue v11.1.0..v11.2.0")),
        "published": ({"issue": DONE, "stable_branches": DONE, "tags": DONE, "qa_issue": DONE, "packages": DONE,
                       "chart": NS},
                      ("chart", "invoke helm.tag_chart '' 11.2.0", None)),
        "everything": ({"issue": DONE, "stable_branches": DONE, "tags": DONE, "qa_issue": DONE, "packages": DONE,
                        "chart": DONE}, None),
    },
    "rc": {
        "nothing": ({"issue": NS, "preparation": NS, "stable_branches": NS, "tags": NS, "qa_issue": NS, "packages": NS},
                    ("issue", "invoke release_issue 11.2.0-rc1", "/chatops run release_issue 11.2.0-rc1")),
        "issue": ({"issue": DONE, "preparation": NS, "stable_branches": NS, "tags": NS, "qa_issue": NS, "packages": NS},
                  ("preparation", "invoke patch_merge_request 11.2.0-rc1", None)),
        "tagged_on_dev": ({"issue": DONE, "preparation": DONE, "stable_branches": IP, "tags": IP, "qa_issue": NS,
                           "packages": NS},
                          ("stable_branches", "invoke tag 11.2.0-rc1", "/chatops run tag 11.2.0-rc1")),
        "tagged_everywhere": ({"issue": DONE, "preparation": DONE, "stable_branches": DONE, "tags": DONE, "qa_issue": NS,
                               "packages": NS},
                              ("qa_issue", "invoke qa_issue v11.1.0 v11.2.0-rc1",
                               "/chatops run qa_issue v11.1.0..v11.2.0-rc1")),
        "published": ({"issue": DONE, "preparation": DONE, "stable_branches": DONE, "tags": DONE, "qa_issue": DONE,
                       "packages": DONE}, None),
        "everything": ({"issue": DONE, "preparation": DONE, "stable_branches": DONE, "tags": DONE, "qa_issue": DONE,
                        "packages": DONE}, None),
    },
    "patch": {
        # The seeded 10-8-stable holds 10.8.6: the branches are there, their VERSION is not yet 10.8.7.
        "nothing": ({"issue": NS, "preparation": NS, "stable_branches": IP, "tags": NS, "qa_issue": NS, "packages": NS,
                     "chart": NS},
                    ("issue", "invoke release_issue 10.8.7", "/chatops run release_issue 10.8.7")),
        "issue": ({"issue": DONE, "preparation": NS, "stable_branches": IP, "tags": NS, "qa_issue": NS, "packages": NS,
                   "chart": NS},
                  ("preparation", "invoke patch_merge_request 10.8.7", None)),
        # gitlab's stable branches are one commit behind dev's: a problem (exit 3).
        "tagged_on_dev": ({"issue": DONE, "preparation": DONE, "stable_branches": PROBLEM, "tags": IP, "qa_issue": NS,
                           "packages": NS, "chart": NS},
                          ("stable_branches", "invoke tag 10.8.7", "/chatops run tag 10.8.7")),
        "tagged_everywhere": ({"issue": DONE, "preparation": DONE, "stable_branches": DONE, "tags": DONE, "qa_issue": NS,
                               "packages": NS, "chart": NS},
                              ("qa_issue", "invoke qa_issue v10.8.6 v10.8.7", "/chatops run qa_issue v10.8.6..v10.8.7")),
        "published": ({"issue": DONE, "preparation": DONE, "stable_branches": DONE, "tags": DONE, "qa_issue": DONE,
                       "packages": DONE, "chart": NS},
                      ("chart", "invoke helm.tag_chart '' 10.8.7", None)),
        "everything": ({"issue": DONE, "preparation": DONE, "stable_branches": DONE, "tags": DONE, "qa_issue": DONE,
                        "packages": DONE, "chart": DONE}, None),
    },
    "security": {
        "nothing": ({"issue": NS, "preparation": NS, "stable_branches": IP, "tags": NS, "qa_issue": NS, "packages": NS,
                     "chart": NS},
                    ("issue", "invoke release_issue --security 10.8.7", "/chatops run release_issue 10.8.7 --security")),
        "issue": ({"issue": DONE, "preparation": NS, "stable_branches": IP, "tags": NS, "qa_issue": NS, "packages": NS,
                   "chart": NS},
                  ("preparation", "invoke patch_merge_request --security 10.8.7", None)),
        # Only dev counts: tagged there is tagged.
        "tagged_on_dev": ({"issue": DONE, "preparation": DONE, "stable_branches": DONE, "tags": DONE, "qa_issue": NS,
                           "packages": NS, "chart": NS},
                          ("qa_issue", "SECURITY=true invoke qa_issue v10.8.6 v10.8.7", None)),
        "tagged_everywhere": ({"issue": DONE, "preparation": DONE, "stable_branches": DONE, "tags": DONE, "qa_issue": NS,
                               "packages": NS, "chart": NS},
                              ("qa_issue", "SECURITY=true invoke qa_issue v10.8.6 v10.8.7", None)),
        "published": ({"issue": DONE, "preparation": DONE, "stable_branches": DONE, "tags": DONE, "qa_issue": DONE,
                       "packages": DONE, "chart": NS},
                      ("chart", "invoke helm.tag_chart '' 10.8.7", None)),
        "everything": ({"issue": DONE, "preparation": DONE, "stable_branches": DONE, "tags": DONE, "qa_issue": DONE,
                        "packages": DONE, "chart": DONE}, None),
    },
}


@pytest.fixture
def world(remotes, fake_gitlab, fake_dev, tmp_path):
    return World(remotes, fake_gitlab, fake_dev, tmp_path / "scratch")


@pytest.fixture
def status_settings(tree, remotes, environ):
    def make(security: bool = False, environ_changes: dict[str, str] | None = None, pick_into: str | None = None) -> Settings:
        labels = {"labels": {**tree.get("labels", {}), "pick_into": pick_into}} if pick_into else {}
        return Settings.from_mapping({**tree, **remotes.tree(), **labels}, {**environ, **(environ_changes or {})}, security=security)

    return make


def read(settings, version, **options):
    return read_status(settings, Version.parse(version), **options)


def states(found) -> dict[str, str]:
    return {phase.name: phase.state.value for phase in found.phases}


def next_of(found):
    following = found.next
    return None if following is None else (following.phase, following.command, following.chat)


CASES = [(kind, point) for kind in KINDS for point in POINTS]


@pytest.mark.parametrize(("kind", "point"), CASES, ids=[f"{kind}-{point}" for kind, point in CASES])
def test_each_point_of_each_kind_of_release_reports_its_phases_and_the_next_step(
    kind, point, world, status_settings, fake_gitlab, fake_dev, remotes
):
    release = KINDS[kind]
    advance(world, release, point)
    digests = remotes.digests()
    fake_gitlab.clear_log()
    fake_dev.clear_log()

    found = read(status_settings(security=release.security), release.version)

    expected_states, expected_next = EXPECTED[kind][point]
    assert states(found) == expected_states
    assert next_of(found) == expected_next
    document = json.loads(json.dumps(found.to_json()))
    assert document["schema"] == 1
    assert {phase["name"]: phase["state"] for phase in document["phases"]} == expected_states
    nxt = document["next"]
    assert (None if nxt is None else (nxt["phase"], nxt["command"], nxt["chat"])) == expected_next
    lines = found.summary_lines()
    for phase in found.phases:
        assert any(line.startswith(f"{phase.title}: {phase.state.words}") for line in lines)
    if expected_next is None:
        assert lines[-1] == "Next: nothing, every phase is done."
    else:
        assert lines[-1].startswith("Next: ") and expected_next[1] in lines[-1]
    assert found.exit_status == (3 if PROBLEM in expected_states.values() else 0)
    assert fake_gitlab.mutations() == [] and fake_dev.mutations() == []
    assert remotes.digests() == digests


# -- what is wrong, and what cannot be read ---------------------------------------------------------


def problems_of(found, name):
    return next(phase for phase in found.phases if phase.name == name).problems


def phase_of(found, name):
    return next(phase for phase in found.phases if phase.name == name)


def test_a_remote_one_commit_behind_on_a_stable_branch_is_named(world, status_settings, remotes, tmp_path):
    advance(world, MONTHLY, "tagged_everywhere")
    remotes("ce", "dev").commit("11-2-stable", {"app/fix.rb": "# fix\n"}, "Fix a thing", tmp_path)
    world.mirror()

    found = read(status_settings(), "11.2.0")

    assert problems_of(found, "stable_branches") == ["gitlab-ce 11-2-stable: gitlab is 1 commit behind dev"]
    stable = phase_of(found, "stable_branches")
    [branch] = [b for b in stable.data["branches"] if b["differs"]]
    assert branch["differs"] == [
        {"remote": "gitlab", "relation": "behind", "behind": 1, "ahead": 0, "text": "is 1 commit behind dev"}
    ]
    assert (stable.state, found.exit_status) == (State.PROBLEM, 3)
    assert found.next.phase == "stable_branches" and found.next.command == "invoke tag 11.2.0"


def test_a_remote_ahead_is_told_by_the_compare_of_its_own_instance(world, status_settings, remotes, tmp_path, fake_dev):
    advance(world, MONTHLY, "tagged_everywhere")
    remotes("ee", "gitlab").commit("11-2-stable-ee", {"app/fix.rb": "# fix\n"}, "Fix a thing", tmp_path)
    world.mirror()
    fake_dev.clear_log()

    found = read(status_settings(), "11.2.0")

    assert problems_of(found, "stable_branches") == ["gitlab-ee 11-2-stable-ee: gitlab is 1 commit ahead of dev"]
    # dev.gitlab.org does not have the commit: its compare answers 404, gitlab.com's tells.
    assert [r.status for r in fake_dev.requests("GET", "/compare")] == [404]


def test_remotes_that_diverged_are_told_apart_from_behind_and_ahead(world, status_settings, remotes, tmp_path):
    advance(world, MONTHLY, "tagged_everywhere")
    remotes("ce", "dev").commit("11-2-stable", {"app/dev.rb": "# dev\n"}, "A dev fix", tmp_path)
    remotes("ce", "gitlab").commit("11-2-stable", {"app/com.rb": "# com\n"}, "A com fix", tmp_path)
    world.mirror()

    found = read(status_settings(), "11.2.0")

    assert problems_of(found, "stable_branches") == [
        "gitlab-ce 11-2-stable: gitlab differs from dev "
        f"({remotes('ce', 'gitlab').sha('11-2-stable')[:12]}, not {remotes('ce', 'dev').sha('11-2-stable')[:12]})"
    ]


def test_a_tag_pointing_at_different_commits_on_two_remotes_is_a_problem(world, status_settings, remotes):
    advance(world, MONTHLY, "tagged_everywhere")
    gitlab = remotes("ce", "gitlab")
    gitlab.git("tag", "--force", "--annotate", "--message", "Version v11.2.0", "v11.2.0", "11-2-stable~1")
    right, wrong = remotes("ce", "dev").tags()["v11.2.0"].commit, gitlab.tags()["v11.2.0"].commit

    found = read(status_settings(), "11.2.0")

    assert problems_of(found, "tags") == [f"v11.2.0 points to {right[:12]} on dev but {wrong[:12]} on gitlab"]
    assert found.exit_status == 3
    assert (found.next.phase, found.next.action, found.next.command) == (
        "tags", "delete the tag that points to the wrong commit, then tag again", "invoke tag 11.2.0"
    )


def test_an_unreachable_remote_is_a_problem_of_its_phases_and_the_rest_is_still_reported(
    world, tree, remotes, environ, tmp_path
):
    advance(world, MONTHLY, "published")
    projects = remotes.tree()
    projects["projects"]["omnibus"]["remotes"]["gitlab"] = (tmp_path / "gone.git").as_uri()
    settings = Settings.from_mapping({**tree, **projects}, environ)

    found = read(settings, "11.2.0")

    for name in ("stable_branches", "tags"):
        [problem] = problems_of(found, name)
        assert problem.startswith("cannot read omnibus-gitlab's gitlab remote: git ls-remote failed: ")
        assert phase_of(found, name).unreadable
    assert states(found)["issue"] == states(found)["qa_issue"] == states(found)["packages"] == DONE
    assert found.exit_status == 2
    assert found.next.phase == "stable_branches" and found.next.command is None
    assert found.next.action == "find out why the stable branches could not be read (see its problems)"


def test_a_refused_token_on_one_instance_makes_only_what_it_serves_unreadable(world, status_settings, fake_dev):
    advance(world, MONTHLY, "published")

    found = read(status_settings(environ_changes={"DEV_API_PRIVATE_TOKEN": "wrong-token"}), "11.2.0")

    problems = problems_of(found, "packages")
    assert problems and all("(401 Unauthorized)" in p and "check DEV_API_PRIVATE_TOKEN" in p for p in problems)
    assert all("401" in p for p in problems_of(found, "stable_branches"))  # VERSION is read on dev
    assert states(found)["issue"] == states(found)["tags"] == states(found)["qa_issue"] == DONE
    assert found.exit_status == 2
    assert "wrong-token" not in json.dumps(found.to_json()) and DEV_TOKEN not in json.dumps(found.to_json())


def test_a_pushed_tag_without_a_pipeline_is_a_problem(world, status_settings):
    world.release_issue("11.2.0")
    world.tag("11.2.0")  # pushed, but no pipeline started

    found = read(status_settings(), "11.2.0")

    assert problems_of(found, "packages") == [
        f"no pipeline for tag {tag} in gitlab/omnibus-gitlab on {world.dev.url.split('//')[1]}"
        for tag in ("11.2.0+ee.0", "11.2.0+ce.0")
    ]
    assert found.exit_status == 3


def test_an_omnibus_tag_not_pushed_yet_is_not_started_rather_than_a_missing_pipeline(world, status_settings):
    found = read(status_settings(), "11.2.0")

    assert states(found)["packages"] == NS
    assert phase_of(found, "packages").facts == [
        "11.2.0+ee.0: not tagged on dev yet, no pipeline", "11.2.0+ce.0: not tagged on dev yet, no pipeline"
    ]


def test_a_failed_release_job_is_a_problem_and_the_next_step_points_at_it(world, status_settings):
    advance(world, MONTHLY, "published")
    failed = next(job for job in world.dev.table("jobs") if job["name"] == "Docker-Release")
    failed["status"] = "failed"
    world.chart("0.4.0", "11.2.0")

    found = read(status_settings(), "11.2.0")

    assert problems_of(found, "packages") == [f"11.2.0+ee.0: job Docker-Release failed: {failed['web_url']}"]
    assert found.exit_status == 3
    assert (found.next.phase, found.next.action, found.next.urls) == (
        "packages", "retry the failed release jobs", [failed["web_url"]]
    )


@pytest.mark.parametrize("pick_into, label", [(None, "Pick into 10.8"), ("backport-{minor}", "backport-10.8")])
def test_picks_not_on_the_preparation_branch_are_found_by_their_commits_not_by_the_label(
    world, status_settings, remotes, fake_gitlab, tmp_path, pick_into, label
):
    # The label is the one cherry_pick looks for: `release_tools.labels.pick_into`.
    ce = remotes("ce", "gitlab")
    picked = ce.commit("master", {"app/a.rb": "# a\n"}, "Merge branch 'a' into 'master'\n\nSee merge request gitlab-org/gitlab-ce!3001", tmp_path)
    ce.commit("master", {"app/b.rb": "# b\n"}, "Merge branch 'b' into 'master'\n\nSee merge request gitlab-org/gitlab-ce!3002", tmp_path)
    ce.git("branch", "10-8-stable-patch-7", "10-8-stable")
    ce.commit("10-8-stable-patch-7", {"app/a.rb": "# a\n"}, f"Fix a\n\n(cherry picked from commit {picked})", tmp_path)
    world.mirror()
    world.release_issue("10.8.7")
    world.preparation([PATCH_PREPARATION[0]], state="opened")
    labels = [label]
    add_merge_request(fake_gitlab, PRODUCTION_PATHS["ce"], "Fix a", iid=3001, labels=labels, merge_commit_sha=picked)
    missing = add_merge_request(fake_gitlab, PRODUCTION_PATHS["ce"], "Fix b", iid=3002, labels=labels,
                                merge_commit_sha=ce.sha("master"))
    # Merged before 10-8-stable was cut: its merge commit is on the branch.
    add_merge_request(fake_gitlab, PRODUCTION_PATHS["ce"], "Fix c", iid=3003, labels=labels,
                      merge_commit_sha=ce.sha("10-8-stable~2"))
    # Labelled otherwise: not a pick of this release.
    add_merge_request(fake_gitlab, PRODUCTION_PATHS["ce"], "Fix d", iid=3004, labels=["Pick into 10.9"],
                      merge_commit_sha=ce.sha("master"))

    found = read(status_settings(pick_into=pick_into), "10.8.7")

    preparation = phase_of(found, "preparation")
    assert [(pick["iid"], pick["branch"]) for pick in preparation.data["pending_picks"]] == [(3002, "10-8-stable-patch-7")]
    assert f"1 merged merge request labelled {label} not on gitlab-org/gitlab-ce 10-8-stable-patch-7 yet: !3002" in preparation.facts
    assert preparation.state is State.IN_PROGRESS
    assert (found.next.phase, found.next.command, found.next.chat, found.next.urls) == (
        "preparation", "invoke cherry_pick 10.8.7", "/chatops run cherry_pick 10.8.7", [missing["web_url"]]
    )


def test_only_gits_own_cherry_picked_from_line_counts_as_a_pick_on_the_preparation_branch(
    world, status_settings, remotes, fake_gitlab, tmp_path
):
    ce = remotes("ce", "gitlab")
    fix = ce.commit("master", {"app/b.rb": "# b\n"}, "Fix b", tmp_path)
    ce.git("branch", "10-8-stable-patch-7", "10-8-stable")
    # A change whose message carried a line naming !3002's commit, picked with -x: git's line comes last.
    message = f"Other fix\n\n(cherry picked from commit {fix})\n(cherry picked from commit {'c' * 40})"
    ce.commit("10-8-stable-patch-7", {"app/c.rb": "# c\n"}, message, tmp_path)
    world.mirror()
    world.release_issue("10.8.7")
    world.preparation([PATCH_PREPARATION[0]], state="opened")
    add_merge_request(fake_gitlab, PRODUCTION_PATHS["ce"], "Fix b", iid=3002, labels=["Pick into 10.8"], sha=fix)

    found = read(status_settings(), "10.8.7")

    assert [pick["iid"] for pick in phase_of(found, "preparation").data["pending_picks"]] == [3002]


# -- cost -------------------------------------------------------------------------------------------


def test_a_full_monthly_release_costs_at_most_25_requests_and_12_ls_remotes(
    world, status_settings, fake_gitlab, fake_dev, tmp_path, monkeypatch
):
    advance(world, MONTHLY, "everything")
    fake_gitlab.clear_log()
    fake_dev.clear_log()
    trace = tmp_path / "trace.json"
    monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))

    found = read(status_settings(), "11.2.0")

    assert found.exit_status == 0 and found.next is None
    requests = fake_gitlab.log + fake_dev.log
    assert len(requests) <= 25 and {r.method for r in requests} == {"GET"}
    assert git_calls(trace, "ls-remote") <= 12
    assert git_calls(trace, "clone") == git_calls(trace, "fetch") == git_calls(trace, "push") == 0


# -- public facts only ----------------------------------------------------------------------------------


def test_someone_who_is_not_a_release_manager_gets_public_facts_only(world, status_settings, fake_gitlab, fake_dev, tmp_path, monkeypatch):
    advance(world, MONTHLY, "everything")
    fake_gitlab.clear_log()
    fake_dev.clear_log()
    trace = tmp_path / "trace.json"
    monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))

    found = read(status_settings(), "11.2.0", public_only=True, requester="dave")

    assert states(found) == {"issue": DONE, "stable_branches": DONE, "tags": DONE, "qa_issue": DONE, "packages": HIDDEN,
                             "chart": DONE}
    assert found.next is None and found.summary_lines()[-1] == "Next: not shown (a release manager can tell)."
    assert found.notes == ["dave is not a release manager: public facts only (no confidential issue, nothing of the dev "
                           "instance or the dev remotes)."]
    assert fake_dev.log == []
    issue_searches = fake_gitlab.requests("GET", "/issues")
    assert issue_searches and all(r.query["confidential"] == ["false"] for r in issue_searches)
    ls_remotes = git_runs(trace, "ls-remote")
    assert ls_remotes and not any("/dev.git" in " ".join(argv) for argv in ls_remotes)
    assert phase_of(found, "tags").facts[0].startswith("on gitlab, same commit everywhere")


def test_a_confidential_issue_is_not_read_for_public_facts(world, status_settings):
    world.release_issue("11.2.0")
    with world.production.lock:
        world.production.table("issues")[0]["confidential"] = True

    public = read(status_settings(), "11.2.0", public_only=True, requester="dave")
    everything = read(status_settings(), "11.2.0")

    assert states(public)["issue"] == NS and states(everything)["issue"] == DONE


def test_a_security_release_shows_the_public_only_what_is_public(world, status_settings, fake_dev):
    advance(world, SECURITY, "everything")
    fake_dev.clear_log()

    found = read(status_settings(security=True), "10.8.7", public_only=True, requester="dave")

    assert states(found) == {"issue": HIDDEN, "preparation": HIDDEN, "stable_branches": HIDDEN, "tags": HIDDEN,
                             "qa_issue": HIDDEN, "packages": HIDDEN, "chart": DONE}
    assert found.next is None and fake_dev.log == []
    assert phase_of(found, "issue").facts == ["the security release issue is confidential"]


# -- status and the tasks read the same -------------------------------------------------------------


def test_status_and_the_tasks_agree_on_what_is_done(world, status_settings, git_identity):
    """What the issue, preparation, publish and tag tasks do is what status then reports
    as done, and what status reports as not done is what their plans have to do."""
    from release_tools import issues, preparation, publish, tagging

    settings = status_settings()
    version = Version.parse("10.8.7")
    world.milestone("10.8.7")
    assert states(read(settings, "10.8.7"))["issue"] == NS
    assert not issues.plan_issue(settings, issues.release_issue(settings, version)).steps[0].done

    issues.ensure_issue(settings, issues.release_issue(settings, version))
    preparation.ensure_preparation_merge_requests(settings, version)
    found = read(settings, "10.8.7")
    assert states(found)["issue"] == DONE and states(found)["preparation"] == IP  # opened, not merged yet

    tagging.tag(settings, version)
    world.mirror()
    world.pipelines("10.8.7", "manual")
    found = read(settings, "10.8.7")
    assert states(found)["stable_branches"] == states(found)["tags"] == DONE
    assert states(found)["packages"] == NS
    assert all(not step.done for step in publish.plan_publish(settings, version, world_gitlab(settings)).steps)

    publish.publish(settings, version)
    assert states(read(settings, "10.8.7"))["packages"] == IP  # played: pending, not succeeded yet
    assert all(step.done for step in publish.plan_publish(settings, version, world_gitlab(settings)).steps)


def world_gitlab(settings):
    from release_tools.gitlab import GitLab

    return GitLab(settings, "dev")


# -- what remotes wrote -----------------------------------------------------------------------------

#: A VERSION and an appVersion as whoever can push to a branch may write them.
FORGED = '11.2.0\n--> tags: done\x1b[2K\u202e'


def test_versions_read_from_remote_files_are_shown_quoted_on_one_line_and_kept_raw_in_json(
    world, status_settings, remotes, tmp_path
):
    advance(world, MONTHLY, "tagged_everywhere")
    for remote in ("dev", "gitlab"):
        remotes("ce", remote).commit("11-2-stable", {"VERSION": FORGED + "\n"}, "Update VERSION", tmp_path)
    world._commit_and_tag(remotes("helm", "gitlab"), "0-4-stable",
                          {"Chart.yaml": f"version: 0.4.0\nappVersion: {json.dumps(FORGED)}\n"}, "Forge", "v0.4.0")
    world.mirror()

    found = read(status_settings(), "11.2.0")

    stable, chart = phase_of(found, "stable_branches"), phase_of(found, "chart")
    shown = "'11.2.0\\n--> tags: done\\x1b[2K\\u202e'"
    assert f"gitlab-ce 11-2-stable: VERSION {shown} (not 11.2.0)" in stable.facts
    assert chart.facts[0].startswith(f"no chart tag ships 11.2.0 yet; newest: v0.4.0 ({shown}), v0.3.1 (11.1.1)")
    for line in found.summary_lines() + found.table_lines(colour=False):
        assert "\n" not in line and "\x1b" not in line and "\u202e" not in line, line
    [branch] = [b for b in stable.data["branches"] if b["branch"] == "11-2-stable" and "gitlab-ce" in b["project"]]
    assert branch["version_file"] == FORGED
    assert chart.data["tags"][0] == {"tag": "v0.4.0", "app_version": FORGED}


def test_a_chart_tag_with_a_broken_chart_yaml_is_a_one_line_problem_naming_it(world, status_settings, remotes):
    advance(world, MONTHLY, "published")
    world._commit_and_tag(remotes("helm", "gitlab"), "0-4-stable", {"Chart.yaml": "version: 0.4.0\x07\nappVersion: ["},
                          "Break Chart.yaml", "v0.4.0")
    world.mirror()

    found = read(status_settings(), "11.2.0")

    chart = phase_of(found, "chart")
    assert chart.problems == [
        "Chart.yaml of charts/gitlab v0.4.0 is not valid YAML: unacceptable character #x0007: special characters are not allowed"
    ]
    assert (chart.state, chart.unreadable, found.exit_status) == (State.PROBLEM, True, 2)
    assert chart.facts == ["no chart tag ships 11.2.0 yet; newest: v0.4.0 (?), v0.3.1 (11.1.1), v0.3.0 (11.1.0)"]
