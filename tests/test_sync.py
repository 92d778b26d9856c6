"""`sync`: master made identical on every remote of each project, on real bare remotes: one
push step per (project, remote), already done where the remote has master as all have it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from release_tools import tagging
from release_tools.errors import ConfigurationError, ReleaseStateError
from release_tools.plan import Status


def sync(settings):
    """Run sync; return its plan, run."""
    return tagging.sync(settings)


def steps(plan):
    return [(step.summary, step.state.value) for step in plan.steps]


def every_master(state, but=None):
    found = [
        (f"push {project} master to {remote}", state)
        for project in ("gitlab-ee", "gitlab-ce", "omnibus-gitlab")
        for remote in ("dev", "gitlab")
    ]
    return [(summary, (but or {}).get(summary, state)) for summary, state in found]


def test_identical_remotes_need_no_clone_and_no_push(remotes, release_settings, capsys):
    before = remotes.digests()

    plan = sync(release_settings())

    assert remotes.digests() == before
    assert plan.status is Status.NOTHING_TO_DO and steps(plan) == every_master("already_done")
    assert [note.split(" (")[0] for note in plan.notes] == [
        "gitlab-ee: master is identical on dev, gitlab",
        "gitlab-ce: master is identical on dev, gitlab",
        "omnibus-gitlab: master is identical on dev, gitlab",
    ]
    assert "git clone" not in capsys.readouterr().out


def test_a_remote_behind_is_fast_forwarded_to_the_one_ahead(remotes, release_settings, tmp_path):
    gitlab = remotes("ce", "gitlab")
    tip = gitlab.commit("master", {"new.rb": "x\n"}, "Merged on gitlab.com", tmp_path)

    plan = sync(release_settings())

    assert remotes("ce", "dev").sha("master") == tip == gitlab.sha("master")
    assert steps(plan) == every_master("already_done", but={"push gitlab-ce master to dev": "done"})
    assert "gitlab-ce: master: gitlab is ahead of dev; its commits are taken" in plan.notes


def test_diverged_remotes_are_merged_and_both_get_the_merge(remotes, release_settings, tmp_path):
    remotes("omnibus", "dev").commit("master", {"dev.rb": "x\n"}, "Security fix", tmp_path)
    remotes("omnibus", "gitlab").commit("master", {"gitlab.rb": "x\n"}, "Feature", tmp_path)

    sync(release_settings())

    dev, gitlab = remotes("omnibus", "dev"), remotes("omnibus", "gitlab")
    assert dev.sha("master") == gitlab.sha("master")
    assert dev.subjects("master", 1) == ["Merge branch 'master' of gitlab"]
    assert {dev.show("master", "dev.rb"), dev.show("master", "gitlab.rb")} == {"x\n"}


def test_conflicting_remotes_stop_with_nothing_pushed(remotes, release_settings, tmp_path):
    remotes("ee", "dev").commit("master", {"VERSION": "a\n"}, "A", tmp_path)
    remotes("ee", "gitlab").commit("master", {"VERSION": "b\n"}, "B", tmp_path)
    before = remotes.digests()

    with pytest.raises(ReleaseStateError, match=r"^gitlab-ee: master differs between dev and gitlab and they conflict"):
        sync(release_settings())

    assert remotes.digests() == before


def test_dry_run_and_skips_push_nothing(remotes, release_settings, tmp_path, capsys):
    for project in ("ce", "ee", "omnibus"):
        remotes(project, "gitlab").commit("master", {"new.rb": "x\n"}, "Ahead", tmp_path)
    before = remotes.digests()

    plan = sync(release_settings({"TEST": "1", "OG": "false"}, skip=("ee",)))

    assert remotes.digests() == before
    assert plan.status is Status.DRY_RUN
    assert steps(plan) == [("push gitlab-ce master to dev", "to_do"), ("push gitlab-ce master to gitlab", "already_done")]
    out = capsys.readouterr().out
    assert "Skipping sync for EE" in out and "Skipping sync for Omnibus GitLab" in out


def test_security_mode_is_refused_before_any_git_command(remotes, release_settings, capsys):
    before = remotes.digests()

    with pytest.raises(ConfigurationError, match=r"^sync makes master the same on the dev and the public remotes, "
                       r"and a security release uses only the dev remotes, so sync does not run in security mode"):
        sync(release_settings(security=True))

    assert remotes.digests() == before
    assert capsys.readouterr().out == ""


def test_a_project_with_one_remote_has_nothing_to_sync(remotes, release_settings):
    settings = release_settings()
    ce = settings.project("ce")
    only_dev = settings.with_changes(projects={**settings.projects, "ce": replace(ce, remotes=ce.remotes[:1])})

    plan = sync(only_dev.with_changes(skip=frozenset({"ee", "omnibus"})))

    assert (plan.steps, plan.notes) == ([], ["gitlab-ce: only dev is configured; nothing to sync"])
