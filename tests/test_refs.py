"""The ref engine (release_tools/refs.py) on real bare remotes: remotes read once, clones
without a checkout whose drafts are written as plain objects, tags reused or refused,
one push step per remote, a branch that moved while it was read."""

from __future__ import annotations

import pytest

from release_tools import refs
from release_tools.errors import ReleaseStateError
from release_tools.plan import RunOptions, State, execute

pytestmark = pytest.mark.usefixtures("git_identity")

CE_VIEW = ("VERSION", "CHANGELOG.md", "changelogs/unreleased")


def ce_remotes(remotes):
    return [("dev", remotes("ce", "dev").url), ("gitlab", remotes("ce", "gitlab").url)]


def git_lines(capsys, command):
    """How many `git COMMAND` runs were echoed since the last call."""
    out = capsys.readouterr().out
    return sum(1 for line in out.splitlines() if f"] git {command}" in line)


def test_remotes_are_read_once_for_every_ref_and_again_only_after_a_push(remotes, capsys):
    reads = refs.RemoteReads()
    dev = remotes("ce", "dev").url
    capsys.readouterr()

    states = refs.read_remotes(reads, ce_remotes(remotes), "gitlab-ce", ["11-1-stable"], ["v11.1.0-rc8"])
    reads.read(dev, "gitlab-ce")
    first = git_lines(capsys, "ls-remote")
    reads.pushed(dev)
    reads.read(dev, "gitlab-ce")
    again = git_lines(capsys, "ls-remote")

    assert (first, again) == (2, 1)
    assert states["dev"].branches.keys() == {"master", "11-1-stable"}
    assert states["gitlab"].tag_commits["v11.1.0-rc8"] == remotes("ce", "gitlab").sha("v11.1.0-rc8")


def test_a_release_clone_prepares_branches_without_checking_anything_out(remotes):
    dev = remotes("ce", "dev")
    states = refs.read_remotes(refs.RemoteReads(), ce_remotes(remotes), "gitlab-ce", ["11-1-stable"])
    with refs.ReleaseClone.open(ce_remotes(remotes), states, refs.check_identity(), branches=("master", "11-1-stable"),
                                view=CE_VIEW, label="gitlab-ce") as clone:
        master = clone.branch("master")
        stable = clone.branch("11-1-stable")

        assert stable.read("VERSION") == "11.1.0-rc8\n"
        assert master.read("VERSION") == "11.1.0-pre\n"
        assert "changelogs/unreleased/master-only.yml" in master.files("changelogs/unreleased")
        weird = 'changelogs/unreleased/a "quoted" name\\with a backslash.yml'
        assert stable.commit("Update VERSION to 11.1.0 ✓", {"VERSION": "11.1.0\n", weird: "title: x\n"})
        assert not stable.commit("Nothing new", {"VERSION": "11.1.0\n"})
        assert stable.read("VERSION") == "11.1.0\n" and weird in stable.files("changelogs/unreleased")
        planned = clone.tag("v11.1.0", stable, "Version v11.1.0")
        clone.write()

        head = clone.repo.git("symbolic-ref", "HEAD").strip()
        worktree = sorted(path.name for path in clone.repo.path.iterdir())
        update = clone.branch_update(stable)
        steps = refs.push_steps(clone.repo, clone.remotes, [update, clone.tag_update(planned)], refs.RemoteReads(),
                                project="gitlab-org/gitlab-ce", label="gitlab-ce")
        execute_plan(steps)

    assert head == "refs/heads/master" and worktree == [".git"]  # nothing checked out, no branch switched
    assert dev.subjects("11-1-stable", 2) == ["Update VERSION to 11.1.0 ✓", "Update VERSION to 11.1.0-rc8"]
    assert dev.show("11-1-stable", weird) == "title: x\n"
    assert dev.tags()["v11.1.0"].commit == dev.sha("11-1-stable") == update.new
    assert [step.state for step in steps] == [State.DONE, State.DONE]


def execute_plan(steps):
    from release_tools.plan import Plan

    plan = Plan("test", steps=list(steps))
    execute(plan, RunOptions())
    return plan


def test_reading_the_view_of_every_branch_takes_one_fetch_and_one_read(remotes, capsys):
    states = refs.read_remotes(refs.RemoteReads(), ce_remotes(remotes), "gitlab-ce", ["11-1-stable"])
    with refs.ReleaseClone.open(ce_remotes(remotes), states, None, branches=("master", "11-1-stable"),
                                view=CE_VIEW, label="gitlab-ce") as clone:
        master, stable = clone.branch("master"), clone.branch("11-1-stable")
        capsys.readouterr()

        stable.read("VERSION")
        master.read_many(master.files("changelogs/unreleased"))
        master.read("CHANGELOG.md")

        out = capsys.readouterr().out
    assert out.count("git ls-tree") == 2  # one per branch
    assert out.count(" fetch ") == 1 and out.count("git cat-file --batch") == 1


def test_a_tag_a_remote_has_on_the_planned_commit_is_reused_and_pushed_to_the_others(remotes):
    dev, gitlab = remotes("ce", "dev"), remotes("ce", "gitlab")
    dev.git("tag", "-a", "-m", "Version v11.2.0.pre", "v11.2.0.pre", "master")
    states = refs.read_remotes(refs.RemoteReads(), ce_remotes(remotes), "gitlab-ce", (), ["v11.2.0.pre"])
    with refs.ReleaseClone.open(ce_remotes(remotes), states, refs.check_identity(), label="gitlab-ce") as clone:
        planned = clone.tag("v11.2.0.pre", clone.branch("master"), "Version v11.2.0.pre")
        clone.write()
        update = clone.tag_update(planned)
        steps = refs.push_steps(clone.repo, clone.remotes, [update], refs.RemoteReads(), project="p", label="gitlab-ce")
        assert [(step.summary, step.state) for step in steps] == [
            ("push gitlab-ce tag v11.2.0.pre to dev", State.ALREADY_DONE),
            ("push gitlab-ce tag v11.2.0.pre to gitlab", State.TO_DO),
        ]
        execute_plan(steps)

    assert gitlab.tags()["v11.2.0.pre"] == dev.tags()["v11.2.0.pre"]  # the very tag object, not a new one


def test_a_tag_a_remote_has_elsewhere_stops_the_plan(remotes):
    remotes("ce", "gitlab").git("tag", "-a", "-m", "Version v11.2.0.pre", "v11.2.0.pre", "v11.1.0-rc8^{commit}")
    states = refs.read_remotes(refs.RemoteReads(), ce_remotes(remotes), "gitlab-ce", (), ["v11.2.0.pre"])
    with refs.ReleaseClone.open(ce_remotes(remotes), states, None, label="gitlab-ce") as clone:
        with pytest.raises(ReleaseStateError, match=r"^gitlab-ce: tag v11\.2\.0\.pre already exists on gitlab and points to [0-9a-f]{12}, not to [0-9a-f]{12} which"):
            clone.tag("v11.2.0.pre", clone.branch("master"), "Version v11.2.0.pre")


def test_a_branch_that_moved_after_it_was_read_stops_before_anything_is_planned(remotes, tmp_path):
    states = refs.read_remotes(refs.RemoteReads(), ce_remotes(remotes), "gitlab-ce")
    remotes("ce", "dev").commit("master", {"late.rb": "x\n"}, "Pushed meanwhile", tmp_path)

    with pytest.raises(ReleaseStateError, match=r"^gitlab-ce: master on dev changed while this run prepared the release"):
        with refs.ReleaseClone.open(ce_remotes(remotes), states, None, label="gitlab-ce"):
            pass
