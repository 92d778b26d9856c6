"""Tagging releases on real bare remotes: branches, tags and where they point, file contents
and commit messages on every remote, the plan's steps and their states, Slack posts, dry
runs, security, skips, re-runs."""

from __future__ import annotations

import datetime
import json
import tempfile
from dataclasses import dataclass

import pytest

from release_tools import tagging
from release_tools.changelog import release_date
from release_tools.config import Settings
from release_tools.errors import GitError, ReleaseStateError, VersionFileError
from release_tools.plan import State, Status
from release_tools.version import Version
from tests.repos import GIT_ENV, Remotes
from tests.slack_receiver import SlackReceiver

V = Version.parse


def release(settings, version, requester=None):
    """Run the tag service; return its plan, run."""
    return tagging.tag(settings, V(version), requester)


def steps(plan):
    """(summary, state) of every step."""
    return [(step.summary, step.state.value) for step in plan.steps]


def pushes(project, refs, state, remotes=("dev", "gitlab")):
    return [(f"push {project} {refs} to {remote}", state) for remote in remotes]


#: The monthly release 11.1.0 of both editions, step by step.
MONTHLY = [
    *pushes("gitlab-ee", "11-1-stable-ee, master, tag v11.1.0-ee", "done"),
    *pushes("omnibus-gitlab", "11-1-stable-ee, tag 11.1.0+ee.0", "done"),
    ("announce 11.1.0-ee on Slack", "done"),
    *pushes("gitlab-ce", "11-1-stable, master, tag v11.1.0, tag v11.2.0.pre", "done"),
    *pushes("omnibus-gitlab", "11-1-stable, master, tag 11.1.0+ce.0", "done"),
    ("announce 11.1.0 on Slack", "done"),
]


def refs(remote):
    return remote.branches(), {name: (tag.object, tag.commit) for name, tag in remote.tags().items()}


def assert_remotes_agree(remotes, *projects):
    for project in projects:
        assert refs(remotes(project, "dev")) == refs(remotes(project, "gitlab")), project


def date_of(version):
    return release_date(V(version), datetime.date.today()).isoformat()


# -- pure rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version, expected",
    [
        ("8.16.0", ["GITLAB_SHELL_VERSION", "GITLAB_WORKHORSE_VERSION", "VERSION"]),
        ("8.17.0", ["GITLAB_SHELL_VERSION", "GITLAB_WORKHORSE_VERSION", "GITLAB_PAGES_VERSION", "VERSION"]),
        ("8.4.0-ee", ["GITLAB_SHELL_VERSION", "GITLAB_WORKHORSE_VERSION", "VERSION"]),
        ("8.5.0-ee", ["GITLAB_SHELL_VERSION", "GITLAB_WORKHORSE_VERSION", "GITLAB_PAGES_VERSION", "VERSION"]),
        (
            "9.0.0",
            ["GITLAB_SHELL_VERSION", "GITLAB_WORKHORSE_VERSION", "GITLAB_PAGES_VERSION", "GITALY_SERVER_VERSION", "VERSION"],
        ),
    ],
    ids=str,
)
def test_component_files_depend_on_the_version_and_version_comes_last(version, expected):
    assert tagging.component_files(V(version)) == expected


@pytest.mark.parametrize("version, changed", [("11.0.4", True), ("11.0.3", False), ("10.8.7", False)], ids=str)
def test_openshift_template_moves_only_forward(version, changed):
    from tests.repos import OPENSHIFT_TEMPLATE

    updated = tagging.openshift_template(OPENSHIFT_TEMPLATE, V(version).to_omnibus())

    if changed:
        assert updated == OPENSHIFT_TEMPLATE.replace("gitlab/gitlab-ce:11.0.3-ce.0", "gitlab/gitlab-ce:11.0.4-ce.0").replace(
            "gitlab-11.0.3", "gitlab-11.0.4"
        )
    else:
        assert updated is None


TWICE = """{
  "metadata": {"annotations": {"description": "GitLab CE gitlab-11.0.3"}},
  "objects": [
    {"kind": "ImageStream", "spec": {"tags": [{"name": "gitlab-11.0.3",
      "from": {"kind": "DockerImage", "name": "gitlab/gitlab-ce:11.0.3-ce.0"}}]}},
    {"kind": "DeploymentConfig", "spec": {"template": {"spec": {"containers": [
      {"name": "gitlab-ce", "image": "gitlab/gitlab-ce:%s"}]}}}}
  ]
}
"""


@pytest.mark.parametrize("second", ["11.0.3-ce.0", "11.0.2-ce.1"], ids=["the same image", "an older image"])
def test_openshift_template_naming_the_image_twice_names_the_release_everywhere(second):
    template = TWICE % second

    updated = tagging.openshift_template(template, V("11.0.4").to_omnibus())

    assert updated == (
        template.replace("gitlab/gitlab-ce:11.0.3-ce.0", "gitlab/gitlab-ce:11.0.4-ce.0")
        .replace(f"gitlab/gitlab-ce:{second}", "gitlab/gitlab-ce:11.0.4-ce.0")
        .replace("gitlab-11.0.3", "gitlab-11.0.4")
    )
    assert updated.count("gitlab/gitlab-ce:11.0.4-ce.0") == 2 and f"gitlab/gitlab-ce:{second}" not in updated


def test_openshift_template_moves_only_forward_from_the_newest_image_it_names():
    template = TWICE % "11.0.5-ce.0"  # a second image newer than the release

    assert tagging.openshift_template(template, V("11.0.4").to_omnibus()) is None


def test_openshift_template_without_an_image_is_an_error():
    with pytest.raises(ValueError, match="names no gitlab/gitlab-ce:X.Y.Z-ce.N image"):
        tagging.openshift_template("{}", V("11.1.0").to_omnibus())


# -- a monthly release, end to end (run once, inspected by several tests) ---------------


@dataclass
class Monthly:
    remotes: Remotes
    plan: object
    posts: list[dict]


@pytest.fixture(scope="module")
def monthly(remotes_template, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch, SlackReceiver() as slack:
        for name, value in GIT_ENV.items():
            patch.setenv(name, value)
        remotes = Remotes.copy_of(remotes_template, tmp_path_factory.mktemp("monthly") / "remotes")
        tree = {**remotes.tree(), "env_file": ""}
        plan = release(Settings.from_mapping(tree, {"SLACK_TAG_URL": slack.url}), "11.1.0")
        yield Monthly(remotes, plan, list(slack.posts))


def test_monthly_release_tags_ce_with_version_changelog_and_next_pre_release(monthly):
    remotes = monthly.remotes
    for name in ("dev", "gitlab"):
        ce = remotes("ce", name)
        assert ce.subjects("11-1-stable", 3) == [
            "Update VERSION to 11.1.0",
            "Update CHANGELOG.md for 11.1.0",
            "Update VERSION to 11.1.0-rc8",
        ]
        assert ce.messages("11-1-stable~1", 1) == ["Update CHANGELOG.md for 11.1.0\n\n[ci skip]"]
        assert ce.show("11-1-stable", "VERSION") == "11.1.0\n"
        assert ce.tags()["v11.1.0"].commit == ce.sha("11-1-stable")
        assert ce.tags()["v11.1.0"].message == "Version v11.1.0"

        assert ce.subjects("master", 3) == [
            "Update VERSION to 11.2.0-pre",
            "Update CHANGELOG.md for 11.1.0",
            "Merge a feature for 11.2",
        ]
        assert ce.show("master", "VERSION") == "11.2.0-pre\n"
        assert ce.tags()["v11.2.0.pre"].commit == ce.sha("master")
    assert_remotes_agree(remotes, "ce", "ee", "omnibus")


def test_monthly_release_compiles_the_changelog_on_stable_and_master(monthly):
    remotes = monthly.remotes
    ce = remotes("ce", "dev")
    section = (
        f"## 11.1.0 ({date_of('11.1.0')})\n\n"
        "### Security (1 change)\n\n"
        "- Escape titles. !5\n\n"
        "### Fixed (2 changes, 1 of them is from the community)\n\n"
        "- Fix the login page. !2001 (Joe Contributor)\n"
        "- Fix an old bug. !2100\n\n"
        "### Added (1 change)\n\n"
        "- Add a dark mode. !1999\n\n\n"
        "## 11.0.3 (2018-07-05)"
    )
    for branch in ("11-1-stable", "master"):
        text = ce.show(branch, "CHANGELOG.md")
        assert text.startswith("Please view this file on the master branch, on stable branches it's out of date.\n\n")
        assert section in text
    # Released entries are gone; the broken one and the one only on master stay.
    assert ce.files("11-1-stable", "changelogs/unreleased") == ["changelogs/unreleased/.gitkeep", "changelogs/unreleased/broken.yml"]
    assert ce.files("master", "changelogs/unreleased") == [
        "changelogs/unreleased/.gitkeep",
        "changelogs/unreleased/broken.yml",
        "changelogs/unreleased/master-only.yml",
    ]


def test_monthly_release_tags_ee_with_both_changelogs(monthly):
    remotes = monthly.remotes
    ee = remotes("ee", "gitlab")
    assert ee.subjects("11-1-stable-ee", 3) == [
        "Update VERSION to 11.1.0-ee",
        "Update CHANGELOG.md for 11.1.0",
        "Update CHANGELOG-EE.md for 11.1.0-ee",
    ]
    assert ee.subjects("master", 3) == [
        "Update CHANGELOG.md for 11.1.0",
        "Update CHANGELOG-EE.md for 11.1.0-ee",
        "Merge a feature for 11.2",
    ]
    assert ee.show("master", "VERSION") == "11.1.0-pre\n"  # only CE moves master to -pre
    assert ee.show("11-1-stable-ee", "VERSION") == "11.1.0-ee\n"
    assert ee.tags()["v11.1.0-ee"].commit == ee.sha("11-1-stable-ee")
    assert "v11.2.0.pre" not in ee.tags()
    assert (
        f"## 11.1.0 ({date_of('11.1.0')})\n\n"
        "### Fixed (1 change)\n\n- Fix Geo replication. !601\n\n"
        "### Performance (1 change, 1 of them is from the community)\n\n- Speed up search. !600 (Ann Other)\n\n\n"
    ) in ee.show("master", "CHANGELOG-EE.md")
    assert "- Fix the login page. !2001 (Joe Contributor)" in ee.show("11-1-stable-ee", "CHANGELOG.md")
    assert ee.files("11-1-stable-ee", "ee/changelogs/unreleased") == []
    assert ee.files("master", "changelogs/unreleased-ee") == []


def test_monthly_release_tags_omnibus_with_component_versions_and_openshift_template(monthly):
    remotes = monthly.remotes
    omnibus = remotes("omnibus", "dev")
    components = [
        "Update GITALY_SERVER_VERSION to 0.111.0",
        "Update GITLAB_PAGES_VERSION to 1.0.0",
        "Update GITLAB_WORKHORSE_VERSION to 5.0.0",
        "Update GITLAB_SHELL_VERSION to 7.1.4",
    ]
    assert omnibus.subjects("11-1-stable", 6) == [
        "Update docker/openshift-template.json to 11.1.0-ce.0",
        "Update VERSION to 11.1.0",
        *components,
    ]
    assert omnibus.subjects("11-1-stable-ee", 5) == ["Update VERSION to 11.1.0-ee", *components]
    assert omnibus.subjects("master", 2) == ["Update docker/openshift-template.json to 11.1.0-ce.0", "Update the build"]
    for file, value in (("GITLAB_SHELL_VERSION", "7.1.4"), ("GITALY_SERVER_VERSION", "0.111.0"), ("VERSION", "11.1.0")):
        assert omnibus.show("11-1-stable", file) == value + "\n"
    assert omnibus.show("11-1-stable-ee", "VERSION") == "11.1.0-ee\n"
    for branch in ("11-1-stable", "master"):
        template = omnibus.show(branch, "docker/openshift-template.json")
        assert "gitlab/gitlab-ce:11.1.0-ce.0" in template and "gitlab-11.1.0" in template
        assert "11.0.3" not in template
        json.loads(template)
    assert "gitlab/gitlab-ce:11.0.3-ce.0" in omnibus.show("11-1-stable-ee", "docker/openshift-template.json")
    tags = omnibus.tags()
    assert tags["11.1.0+ce.0"].commit == omnibus.sha("11-1-stable")
    assert tags["11.1.0+ee.0"].commit == omnibus.sha("11-1-stable-ee")
    assert tags["11.1.0+ee.0"].message == "Version 11.1.0+ee.0"


def test_monthly_release_is_one_plan_of_pushes_and_announcements_and_notes_the_entry_it_could_not_release(monthly):
    plan = monthly.plan

    assert (plan.task, plan.subject, plan.status, plan.exit_status) == ("tag", "11.1.0", Status.DONE, 0)
    assert steps(plan) == MONTHLY
    assert {step.kind for step in plan.steps} == {"git.push", "slack.post"}
    first = plan.steps[0]
    assert (first.target.project, first.target.remote, first.target.refs) == (
        "gitlab-org/gitlab-ee",
        "dev",
        ("refs/heads/11-1-stable-ee", "refs/heads/master", "refs/tags/v11.1.0-ee"),
    )
    assert "tag v11.1.0-ee [new tag]" in first.result
    assert plan.notes == [
        "gitlab-ee: 1 changelog entry not released, left in place: 'changelogs/unreleased/broken.yml'",
        "gitlab-ce: 1 changelog entry not released, left in place: 'changelogs/unreleased/broken.yml'",
    ]


def test_monthly_release_posts_one_slack_message_per_edition(monthly):
    assert monthly.posts == [{"text": "_Rita Release_ tagged `11.1.0-ee`"}, {"text": "_Rita Release_ tagged `11.1.0`"}]


def test_no_commit_message_names_a_temporary_path(monthly):
    remotes = monthly.remotes
    for remote in remotes.all():
        for branch in remote.branches():
            for subject in remote.subjects(branch, 8):
                assert tempfile.gettempdir() not in subject and "release-tools-" not in subject


# -- other kinds of release -----------------------------------------------------------


def test_release_candidate_creates_the_stable_branches_and_skips_the_changelog(remotes, release_settings):
    masters = {p: remotes(p, "dev").sha("master") for p in ("ce", "ee", "omnibus")}

    release(release_settings(), "11.2.0-rc1")

    ce, ee, omnibus = remotes("ce", "gitlab"), remotes("ee", "gitlab"), remotes("omnibus", "gitlab")
    assert ce.subjects("11-2-stable", 2) == ["Update VERSION to 11.2.0-rc1", "Merge a feature for 11.2"]
    assert ee.subjects("11-2-stable-ee", 2) == ["Update VERSION to 11.2.0-rc1-ee", "Merge a feature for 11.2"]
    assert ce.tags()["v11.2.0-rc1"].commit == ce.sha("11-2-stable")
    assert ee.tags()["v11.2.0-rc1-ee"].commit == ee.sha("11-2-stable-ee")
    assert "changelogs/unreleased/master-only.yml" in ce.files("11-2-stable", "changelogs/unreleased")
    assert omnibus.subjects("11-2-stable", 1) == ["Update VERSION to 11.2.0-rc1"]
    assert omnibus.tags()["11.2.0+rc1.ce.0"].commit == omnibus.sha("11-2-stable")
    assert omnibus.tags()["11.2.0+rc1.ee.0"].commit == omnibus.sha("11-2-stable-ee")
    assert "11.0.3-ce.0" in omnibus.show("11-2-stable", "docker/openshift-template.json")  # RCs leave it
    assert {p: remotes(p, "gitlab").sha("master") for p in masters} == masters  # master untouched
    assert_remotes_agree(remotes, "ce", "ee", "omnibus")


def test_patch_of_an_older_minor_goes_in_its_place_and_leaves_the_newer_template(remotes, release_settings):
    release(release_settings(skip=("ee",)), "10.8.7")

    ce = remotes("ce", "dev")
    assert ce.subjects("10-8-stable", 2) == ["Update VERSION to 10.8.7", "Update CHANGELOG.md for 10.8.7"]
    section = f"## 10.8.7 ({datetime.date.today().isoformat()})\n\n### Fixed (1 change)\n\n- Fix an old bug. !2100\n\n\n"
    master_changelog = ce.show("master", "CHANGELOG.md")
    assert master_changelog.index("## 11.0.0") < master_changelog.index(section) < master_changelog.index("## 10.8.6")
    assert ce.show("10-8-stable", "CHANGELOG.md").index(section) < ce.show("10-8-stable", "CHANGELOG.md").index("## 10.8.6")
    assert "changelogs/unreleased/fix-old-bug.yml" not in ce.files("master", "changelogs/unreleased")
    assert ce.show("master", "VERSION") == "11.1.0-pre\n" and "v10.9.0.pre" not in ce.tags()
    omnibus = remotes("omnibus", "dev")
    assert omnibus.tags()["10.8.7+ce.0"].commit == omnibus.sha("10-8-stable")
    assert omnibus.show("10-8-stable", "VERSION") == "10.8.7\n"
    assert "gitlab/gitlab-ce:11.0.3-ce.0" in omnibus.show("10-8-stable", "docker/openshift-template.json")
    assert omnibus.subjects("master", 1) == ["Update the build"]
    assert_remotes_agree(remotes, "ce", "ee", "omnibus")


def test_ee_only_release_leaves_ce_untouched(remotes, release_settings, slack):
    ce_before = {name: remotes("ce", name).digest() for name in ("dev", "gitlab")}

    plan = release(release_settings({"SLACK_TAG_URL": slack.url}, skip=("ce",)), "11.1.1")

    assert {name: remotes("ce", name).digest() for name in ("dev", "gitlab")} == ce_before
    ee = remotes("ee", "gitlab")
    assert ee.tags()["v11.1.1-ee"].commit == ee.sha("11-1-stable-ee")
    assert ee.show("11-1-stable-ee", "VERSION") == "11.1.1-ee\n"
    assert "11.1.1+ee.0" in remotes("omnibus", "gitlab").tags() and "11.1.1+ce.0" not in remotes("omnibus", "gitlab").tags()
    assert slack.posts == [{"text": "_Rita Release_ tagged `11.1.1-ee`"}]
    assert steps(plan) == [
        *pushes("gitlab-ee", "11-1-stable-ee, master, tag v11.1.1-ee", "done"),
        *pushes("omnibus-gitlab", "11-1-stable-ee, tag 11.1.1+ee.0", "done"),
        ("announce 11.1.1-ee on Slack", "done"),
    ]


def test_ce_false_and_og_false_switches_skip_ce_and_omnibus(remotes, release_settings):
    before = {key: digest for key, digest in remotes.digests().items() if not key.startswith("ee/")}

    release(release_settings({"CE": "false", "OG": "false"}), "11.1.1")

    assert {key: digest for key, digest in remotes.digests().items() if not key.startswith("ee/")} == before
    assert "v11.1.1-ee" in remotes("ee", "dev").tags()


def test_security_release_pushes_to_dev_only_and_public_remotes_stay_byte_for_byte(remotes, release_settings, capsys):
    public = {p: remotes(p, "gitlab").digest() for p in ("ce", "ee", "omnibus")}

    plan = release(release_settings(security=True), "11.1.1")

    assert {p: remotes(p, "gitlab").digest() for p in public} == public
    for project, tag in (("ce", "v11.1.1"), ("ee", "v11.1.1-ee"), ("omnibus", "11.1.1+ce.0")):
        assert tag in remotes(project, "dev").tags()
    out = capsys.readouterr().out
    assert "Security release: using only the dev remotes!" in out
    assert plan.security and "Plan for tag 11.1.1 (security release: dev only):" in out
    assert {step.target.remote for step in plan.steps if step.kind == "git.push"} == {"dev"}
    assert "gitlab.git" not in out


def test_dry_run_changes_no_remote_and_posts_nothing(remotes, release_settings, slack, capsys):
    before = remotes.digests()

    plan = release(release_settings({"TEST": "true", "SLACK_TAG_URL": slack.url}), "11.1.0")

    assert remotes.digests() == before
    assert slack.posts == []
    assert plan.status is Status.DRY_RUN
    assert steps(plan) == [(summary, "to_do") for summary, _ in MONTHLY]
    out = capsys.readouterr().out
    assert "    11-1-stable: " in out and "Update CHANGELOG.md for 11.1.0" in out  # the commits it would push
    assert "  · push gitlab-ce 11-1-stable, master, tag v11.1.0, tag v11.2.0.pre to dev\n" in out
    assert out.endswith("Dry run: 10 steps would be carried out; nothing was changed.\n")
    assert "git push" not in out


# -- safe re-runs ---------------------------------------------------------------------


def test_rerun_finds_everything_done_and_changes_nothing(monthly, git_identity, slack):
    before = monthly.remotes.digests()
    settings = Settings.from_mapping({**monthly.remotes.tree(), "env_file": ""}, {"SLACK_TAG_URL": slack.url})

    plan = release(settings, "11.1.0")

    assert monthly.remotes.digests() == before
    assert plan.status is Status.NOTHING_TO_DO
    assert steps(plan) == [(summary, "already_done") for summary, _ in MONTHLY]
    assert slack.posts == []  # nothing was tagged this time


def test_rerun_that_only_brings_a_master_up_to_date_says_so_and_announces_nothing(
    remotes, release_settings, slack, tmp_path
):
    settings = release_settings({"SLACK_TAG_URL": slack.url}, skip=("ee",))
    release(settings, "11.1.1")
    tip = remotes("omnibus", "dev").commit("master", {"later.rb": "x\n"}, "A later change on dev", tmp_path)

    plan = release(settings, "11.1.1")

    assert remotes("omnibus", "gitlab").sha("master") == tip
    assert steps(plan) == [
        *pushes("gitlab-ce", "11-1-stable, master, tag v11.1.1", "already_done"),
        ("push omnibus-gitlab 11-1-stable, master, tag 11.1.1+ce.0 to dev", "already_done"),
        ("push omnibus-gitlab master to gitlab", "done"),
        ("announce 11.1.1 on Slack", "already_done"),
    ]
    assert "omnibus-gitlab: master: gitlab is behind dev; it will be fast-forwarded" in plan.notes
    assert [post["text"] for post in slack.posts] == ["_Rita Release_ tagged `11.1.1`"]  # the first run's only


def test_a_run_stopped_by_a_refused_push_finishes_when_run_again(remotes, release_settings, slack):
    settings = release_settings({"SLACK_TAG_URL": slack.url}, skip=("omnibus",))
    remotes("ee", "gitlab").refuse_next_push("protected branch hook declined")

    stopped = release(settings, "11.1.1")

    assert (stopped.status, stopped.exit_status) == (Status.FAILED, 1)
    assert steps(stopped) == [
        ("push gitlab-ee 11-1-stable-ee, master, tag v11.1.1-ee to dev", "done"),
        ("push gitlab-ee 11-1-stable-ee, master, tag v11.1.1-ee to gitlab", "failed"),
        ("announce 11.1.1-ee on Slack", "not_reached"),
        *pushes("gitlab-ce", "11-1-stable, master, tag v11.1.1", "not_reached"),
        ("announce 11.1.1 on Slack", "not_reached"),
    ]
    assert stopped.steps[1].reason.startswith("git push to gitlab failed: refs/heads/11-1-stable-ee [remote rejected]")
    assert "v11.1.1-ee" in remotes("ee", "dev").tags() and "v11.1.1-ee" not in remotes("ee", "gitlab").tags()
    assert "v11.1.1" not in remotes("ce", "dev").tags()  # the run stopped there
    assert slack.posts == []

    plan = release(settings, "11.1.1")

    assert_remotes_agree(remotes, "ce", "ee")
    ee = remotes("ee", "gitlab")
    assert ee.tags()["v11.1.1-ee"].object == remotes("ee", "dev").tags()["v11.1.1-ee"].object  # the same tag
    assert ee.subjects("11-1-stable-ee", 4) == [
        "Update VERSION to 11.1.1-ee",
        "Update CHANGELOG.md for 11.1.1",
        "Update CHANGELOG-EE.md for 11.1.1-ee",
        "Update VERSION to 11.1.0-rc8-ee",
    ]
    assert steps(plan)[:3] == [
        ("push gitlab-ee 11-1-stable-ee, master, tag v11.1.1-ee to dev", "already_done"),
        ("push gitlab-ee 11-1-stable-ee, master, tag v11.1.1-ee to gitlab", "done"),
        ("announce 11.1.1-ee on Slack", "done"),
    ]
    assert [post["text"] for post in slack.posts] == ["_Rita Release_ tagged `11.1.1-ee`", "_Rita Release_ tagged `11.1.1`"]


def test_a_tag_pointing_elsewhere_stops_the_run_before_any_push(remotes, release_settings):
    gitlab = remotes("ce", "gitlab")
    gitlab.git("tag", "-a", "-m", "Version v11.1.1", "v11.1.1", "v11.1.0-rc8^{commit}")
    before = remotes.digests()

    with pytest.raises(ReleaseStateError, match=r"^gitlab-ce: tag v11.1.1 already exists on gitlab and points to [0-9a-f]{12}, not to the new commit on 11-1-stable that this release would tag\. Nothing was pushed"):
        release(release_settings(skip=("omnibus",)), "11.1.1")

    assert remotes.digests() == before  # EE, planned first, was not pushed either


# -- remotes that differ ----------------------------------------------------------------


def test_a_remote_behind_is_fast_forwarded(remotes, release_settings, tmp_path):
    dev = remotes("ce", "dev")
    for number in range(3):
        dev.commit("master", {f"new-{number}.rb": "x\n"}, f"Dev-only change {number}", tmp_path)

    release(release_settings(skip=("ee", "omnibus")), "11.1.1")

    assert remotes("ce", "gitlab").sha("master") == dev.sha("master")
    assert dev.subjects("master", 2) == ["Update CHANGELOG.md for 11.1.1", "Dev-only change 2"]


def test_diverged_masters_are_merged_like_the_originals_pull(remotes, release_settings, tmp_path):
    remotes("ce", "dev").commit("master", {"dev.rb": "x\n"}, "Dev change", tmp_path)
    remotes("ce", "gitlab").commit("master", {"gitlab.rb": "x\n"}, "Gitlab change", tmp_path)

    release(release_settings(skip=("ee", "omnibus")), "11.1.1")

    dev, gitlab = remotes("ce", "dev"), remotes("ce", "gitlab")
    assert dev.sha("master") == gitlab.sha("master")
    assert "Merge branch 'master' of gitlab" in dev.subjects("master", 3)
    assert dev.show("master", "dev.rb") == dev.show("master", "gitlab.rb") == "x\n"


def test_diverged_omnibus_masters_are_merged_once_for_both_editions(remotes, release_settings, tmp_path, capsys):
    remotes("omnibus", "dev").commit("master", {"dev.rb": "x\n"}, "Dev change", tmp_path)
    remotes("omnibus", "gitlab").commit("master", {"gitlab.rb": "x\n"}, "Gitlab change", tmp_path)

    release(release_settings(), "11.1.1")

    # Both editions work in one omnibus clone: two clones would each make their own merge
    # commit (seconds apart, so different), and the second edition's push would be refused.
    assert capsys.readouterr().out.count("[omnibus-gitlab] git clone ") == 1

    dev, gitlab = remotes("omnibus", "dev"), remotes("omnibus", "gitlab")
    assert dev.sha("master") == gitlab.sha("master")
    subjects = dev.subjects("master", 5)
    assert subjects[:2] == ["Update docker/openshift-template.json to 11.1.1-ce.0", "Merge branch 'master' of gitlab"]
    assert subjects.count("Merge branch 'master' of gitlab") == 1


def test_conflicting_masters_stop_the_run_before_any_push(remotes, release_settings, tmp_path):
    remotes("ce", "dev").commit("master", {"VERSION": "dev\n"}, "Dev change", tmp_path)
    remotes("ce", "gitlab").commit("master", {"VERSION": "gitlab\n"}, "Gitlab change", tmp_path)
    before = remotes.digests()

    with pytest.raises(ReleaseStateError, match=r"master differs between dev and gitlab and they conflict \(VERSION\)"):
        release(release_settings(skip=("ee", "omnibus")), "11.1.1")

    assert remotes.digests() == before


def test_a_stable_branch_only_on_dev_is_pushed_to_gitlab_from_the_shallow_clone(remotes, release_settings, tmp_path):
    dev, gitlab = remotes("ce", "dev"), remotes("ce", "gitlab")
    for number in range(3):
        dev.commit("11-1-stable", {f"pick-{number}.rb": "x\n"}, f"Pick {number}", tmp_path)
    gitlab.git("branch", "-D", "11-1-stable")

    release(release_settings(skip=("ee", "omnibus")), "11.1.1")

    assert gitlab.sha("11-1-stable") == dev.sha("11-1-stable")
    assert gitlab.subjects("11-1-stable", 5)[2:] == ["Pick 2", "Pick 1", "Pick 0"]
    assert gitlab.git("fsck", "--connectivity-only").strip() == ""


def test_a_release_names_itself_in_every_image_of_the_openshift_template(remotes, release_settings, tmp_path):
    dev, gitlab = remotes("omnibus", "dev"), remotes("omnibus", "gitlab")
    for branch in ("11-1-stable", "master"):
        dev.commit(branch, {"docker/openshift-template.json": TWICE % "11.0.2-ce.1"}, "Deploy the image too", tmp_path)
    gitlab.git("fetch", dev.url, "+11-1-stable:11-1-stable", "+master:master")

    release(release_settings(skip=("ee",)), "11.1.1")

    for remote in (dev, gitlab):
        for branch in ("11-1-stable", "master"):
            template = remote.show(branch, "docker/openshift-template.json")
            assert template.count("gitlab/gitlab-ce:11.1.1-ce.0") == 2 and "11.0.2-ce.1" not in template
            assert "gitlab-11.1.1" in template and "gitlab-11.0.3" not in template


# -- failures and their reports -------------------------------------------------------


def test_a_failed_slack_post_is_reported_and_the_next_edition_is_still_tagged(remotes, release_settings, slack):
    slack.fail(500)

    plan = release(release_settings({"SLACK_TAG_URL": slack.url}, skip=("omnibus",)), "11.1.1", requester="jane")

    assert "v11.1.1" in remotes("ce", "gitlab").tags()
    [ee_post, ce_post] = [step for step in plan.steps if step.kind == "slack.post"]
    assert (ee_post.state, ee_post.reason) == (
        State.FAILED,
        "Slack refused the message (500 Internal Server Error): check SLACK_TAG_URL",
    )
    assert ce_post.state is State.DONE and (plan.status, plan.exit_status) == (Status.DONE, 0)
    assert slack.posts == [{"text": "_jane_ tagged `11.1.1`"}]
    assert "canary-slack-secret" not in str(plan.to_json())


def test_a_missing_changelog_is_reported_and_the_release_goes_on(remotes, release_settings, tmp_path, capsys):
    remotes("ce", "dev").commit("master", {"CHANGELOG.md": None}, "Remove the changelog", tmp_path)
    remotes("ce", "gitlab").git("fetch", remotes("ce", "dev").url, "+master:master")

    release(release_settings(skip=("ee", "omnibus")), "11.1.1")

    ce = remotes("ce", "gitlab")
    assert ce.subjects("11-1-stable", 2) == ["Update VERSION to 11.1.1", "Update CHANGELOG.md for 11.1.1"]
    assert ce.subjects("master", 1) == ["Remove the changelog"]
    assert "changelogs/unreleased/fix-login.yml" in ce.files("master", "changelogs/unreleased")  # kept there
    assert "Cannot perform changelog update for 11.1.1 on CHANGELOG.md: master has no CHANGELOG.md" in capsys.readouterr().err


def test_a_missing_component_version_file_stops_the_run_before_any_push(remotes, release_settings, tmp_path):
    remotes("omnibus", "dev").commit("11-1-stable-ee", {"GITALY_SERVER_VERSION": None}, "Oops", tmp_path)
    before = remotes.digests()

    with pytest.raises(VersionFileError, match="^GITALY_SERVER_VERSION is missing from omnibus-gitlab 11-1-stable-ee$"):
        release(release_settings(skip=("ce",)), "11.1.1")

    assert remotes.digests() == before


def test_clones_are_removed_after_success_and_after_failure(remotes, release_settings, monkeypatch, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    release(release_settings(skip=("ee", "omnibus")), "11.1.1")
    assert list(scratch.iterdir()) == []

    remotes("ce", "gitlab").git("tag", "-f", "v11.1.1", "v11.1.0-rc8^{commit}")
    with pytest.raises(ReleaseStateError):
        release(release_settings(skip=("ee", "omnibus")), "11.1.1")
    assert list(scratch.iterdir()) == []


def test_remote_urls_with_shell_metacharacters_are_inert(remotes_template, git_identity, tmp_path, monkeypatch):
    from release_tools.config import Settings
    from tests.repos import Remotes

    monkeypatch.chdir(tmp_path)
    odd = Remotes.copy_of(remotes_template, tmp_path / "$(touch PWNED) `touch PWNED2` 'q' \"d\"; touch PWNED3")
    settings = Settings.from_mapping({**odd.tree(), "env_file": ""}, {}, skip=("ee", "omnibus"))

    release(settings, "11.1.1")

    assert "v11.1.1" in odd("ce", "gitlab").tags()
    assert not list(tmp_path.glob("PWNED*"))


def test_without_a_git_identity_nothing_is_cloned(remotes, release_settings, monkeypatch):
    settings = release_settings()
    for name in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(name, "")

    with pytest.raises(GitError, match="^git does not know who you are"):
        release(settings, "11.1.1")
