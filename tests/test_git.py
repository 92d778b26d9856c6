"""The git adapter on real repositories: temporary clones, inert arguments, echoed commands
with hidden credentials, checked pushes, merges, shallow clones that deepen on demand."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from release_tools import git
from release_tools.git import GitError, MergeConflictError, PushError, Repository, redact_url

pytestmark = pytest.mark.usefixtures("git_identity")

# Branch names cannot hold spaces; ${IFS} is the shell's way around that.
NASTY = "feature/$(touch${IFS}PWNED)-`touch${IFS}PWNED2`-'q'-\"d\";touch${IFS}PWNED3&|x"


def ce_remotes(remotes):
    return [("dev", remotes("ce", "dev").url), ("gitlab", remotes("ce", "gitlab").url)]


def test_clone_works_in_a_temporary_directory_removed_afterwards(remotes, tmp_path):
    parent = tmp_path / "tmp"
    parent.mkdir()

    with Repository.clone(ce_remotes(remotes), branch="master", parent=parent) as repo:
        assert repo.path.is_dir() and repo.path.parent.parent == parent
        assert repo.read_file("VERSION") == "11.1.0-pre\n"
        assert list(repo.remotes) == ["dev", "gitlab"]

    assert list(parent.iterdir()) == []


def test_clone_directory_is_removed_when_the_block_fails(remotes, tmp_path):
    parent = tmp_path / "tmp"
    parent.mkdir()

    with pytest.raises(RuntimeError, match="boom"):
        with Repository.clone(ce_remotes(remotes), parent=parent):
            raise RuntimeError("boom")

    assert list(parent.iterdir()) == []


def test_failed_clone_raises_git_error_with_gits_output_and_leaves_nothing(tmp_path):
    parent = tmp_path / "tmp"
    parent.mkdir()
    missing = (tmp_path / "missing.git").as_uri()

    with pytest.raises(GitError, match=r"^git clone failed: fatal: .*missing\.git") as raised:
        with Repository.clone([("dev", missing)], parent=parent):
            pass

    assert "does not appear to be a git repository" in raised.value.output
    assert list(parent.iterdir()) == []


def test_credentials_in_remote_urls_never_show(tmp_path, capsys):
    url = "https://release-bot:s3cr3t-t0k3n@127.0.0.1:9/group/project.git"

    with pytest.raises(GitError) as raised:
        with Repository.clone([("dev", url)], parent=tmp_path):
            pass

    out, err = capsys.readouterr()
    assert "git clone --quiet --origin dev" in out  # the command was echoed...
    assert "https://<hidden>@127.0.0.1:9/group/project.git" in out
    for text in (out, err, str(raised.value), raised.value.output):  # ...without the secret
        assert "s3cr3t-t0k3n" not in text and "release-bot" not in text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("https://user:pw@host/x.git", "https://<hidden>@host/x.git"),
        ("ssh://git@host:22/x.git", "ssh://<hidden>@host:22/x.git"),
        ("git@gitlab.com:gitlab-org/gitlab-ce.git", "git@gitlab.com:gitlab-org/gitlab-ce.git"),
        ("fatal: unable to access 'https://oauth2:abc@gitlab.com/': 401", "fatal: unable to access 'https://<hidden>@gitlab.com/': 401"),
        ("https://bot:p@ss@w0rd@host/x.git", "https://<hidden>@host/x.git"),
        ("'https://u:pw@host/x.git' and mail@example.com", "'https://<hidden>@host/x.git' and mail@example.com"),
    ],
    ids=["https", "ssh-url", "scp-like", "in-a-message", "unescaped-at-in-password", "at-sign-later-in-the-text"],
)
def test_redact_url_hides_userinfo_only(text, expected):
    assert redact_url(text) == expected


def test_shell_metacharacters_in_branches_and_messages_are_inert(remotes, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = "Fix $(touch PWNED4) `touch PWNED5` \"quoted\" 'single' ; rm -rf /nope\n\nbody $HOME"

    with Repository.clone(ce_remotes(remotes), branch="master") as repo:
        repo.checkout(NASTY, start="master")
        repo.write_file("VERSION", "x\n")
        repo.commit(message, ["VERSION"])
        repo.tag("v0.0.1-$(touch${IFS}PWNED6)", "Version $(touch PWNED7) `id`")
        repo.push("dev", [f"refs/heads/{NASTY}:refs/heads/{NASTY}", "refs/tags/v0.0.1-$(touch${IFS}PWNED6)"])
        workdir = repo.path

    dev = remotes("ce", "dev")
    assert NASTY in dev.branches()
    assert dev.messages(dev.branches()[NASTY], 1) == [message]
    assert dev.tags()["v0.0.1-$(touch${IFS}PWNED6)"].message == "Version $(touch PWNED7) `id`"
    for where in (tmp_path, Path.cwd(), workdir.parent, Path(os.environ.get("HOME", tmp_path))):
        assert not list(where.glob("PWNED*"))


def test_invalid_tag_name_is_refused_before_git_tag_runs(remotes):
    with Repository.clone(ce_remotes(remotes), branch="master") as repo:
        with pytest.raises(GitError, match="'refs/tags/bad name' is not a valid git reference name"):
            repo.tag("bad name", "Version")


def test_refused_push_raises_with_the_remotes_reason_and_pushes_nothing_atomically(remotes):
    gitlab = remotes("ce", "gitlab")
    gitlab.refuse_next_push("release freeze in progress")

    with Repository.clone(ce_remotes(remotes), branch="master") as repo:
        repo.checkout("12-0-stable", start="master")
        repo.tag("v12.0.0", "Version v12.0.0")
        with pytest.raises(PushError, match=r"^git push to gitlab failed: refs/heads/12-0-stable .*pre-receive hook") as raised:
            repo.push("gitlab", ["refs/heads/12-0-stable:refs/heads/12-0-stable", "refs/tags/v12.0.0"])

    assert "release freeze in progress" in raised.value.output
    assert "12-0-stable" not in gitlab.branches() and "v12.0.0" not in gitlab.tags()
    assert gitlab.branches() == remotes("ce", "dev").branches()


def test_non_fast_forward_push_is_an_error_not_ignored(remotes, tmp_path):
    with Repository.clone(ce_remotes(remotes), branch="master") as repo:
        remotes("ce", "gitlab").commit("master", {"NEW": "x\n"}, "Someone else's push", tmp_path)
        repo.write_file("VERSION", "12.0.0-pre\n")
        repo.commit("Update VERSION", ["VERSION"])

        with pytest.raises(PushError, match=r"refs/heads/master \[rejected\]"):
            repo.push_to_all_remotes(["refs/heads/master:refs/heads/master"])

    assert remotes("ce", "dev").subjects("master", 1) == ["Update VERSION"]  # dev came first and took it


def test_commit_without_changes_makes_no_commit(remotes):
    with Repository.clone(ce_remotes(remotes), branch="master") as repo:
        head = repo.head()
        repo.write_file("VERSION", "11.1.0-pre\n")

        assert repo.commit("Nothing", ["VERSION"]) is None
        assert repo.head() == head


def test_read_file_at_a_ref_and_missing_files(remotes):
    with Repository.clone(ce_remotes(remotes), branch="master") as repo:
        repo.fetch_branch("dev", "10-8-stable")

        assert repo.read_file("VERSION", ref="refs/remotes/dev/10-8-stable") == "10.8.6\n"
        assert repo.read_file("NOPE", ref="HEAD") is None
        assert repo.read_file("NOPE") is None
        with pytest.raises(GitError):
            repo.read_file("VERSION", ref="no-such-ref")


def test_an_unreadable_remote_is_explained_by_the_transports_own_line(tmp_path, monkeypatch):
    # A real git whose ssh cannot resolve the host; git then only adds that it could not read.
    ssh = tmp_path / "ssh"
    ssh.write_text("#!/bin/sh\necho 'ssh: Could not resolve hostname gitlab.invalid: Name or service not known' >&2\nexit 255\n")
    ssh.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(ssh))

    with pytest.raises(GitError) as raised:
        git.ls_remote("git@gitlab.invalid:gitlab-org/gitlab-ce.git", branches=["master"])

    assert str(raised.value) == "git ls-remote failed: ssh: Could not resolve hostname gitlab.invalid: Name or service not known"


def test_ls_remote_reads_branches_and_where_tags_point(remotes):
    dev = remotes("ce", "dev")

    refs = git.ls_remote(dev.url, branches=["master", "nope"], tags=["v10.8.6", "v9.9.9"])

    assert refs.branches == {"master": dev.branches()["master"]}
    assert refs.tags == {"v10.8.6": dev.tags()["v10.8.6"].object}
    assert refs.tag_commits == {"v10.8.6": dev.sha("10-8-stable~1")}


def test_merge_reports_conflicts_and_pull_raises_after_aborting(remotes, tmp_path):
    remotes("ce", "gitlab").commit("master", {"VERSION": "from gitlab\n"}, "Gitlab change", tmp_path)
    with Repository.clone(ce_remotes(remotes), branch="master") as repo:
        repo.write_file("VERSION", "local\n")
        repo.commit("Local change", ["VERSION"])

        with pytest.raises(MergeConflictError, match="Conflicts were found when pulling master from gitlab: VERSION"):
            repo.pull("gitlab", "master")
        assert repo.status() == ""  # aborted, clean

        outcome = repo.merge("refs/remotes/gitlab/master")
        assert (outcome.status, outcome.conflicts) == ("conflicts", ("VERSION",))
        assert repo.conflicted_files() == ["VERSION"]


def test_pull_from_all_remotes_merges_their_work(remotes, tmp_path):
    remotes("ce", "gitlab").commit("master", {"NEW": "x\n"}, "Gitlab change", tmp_path)
    with Repository.clone(ce_remotes(remotes), branch="master") as repo:
        outcomes = repo.pull_from_all_remotes("master")

        assert [o.status for o in outcomes.values()] == ["up_to_date", "merged"]
        assert repo.read_file("NEW") == "x\n"


def test_shallow_partial_sparse_clone_fetches_only_what_it_needs_and_deepens_on_demand(remotes, tmp_path):
    gitlab = remotes("ce", "gitlab")
    old_master = gitlab.sha("master")
    for number in range(3):
        remotes("ce", "dev").commit("master", {f"f{number}": "x\n"}, f"Dev change {number}", tmp_path)

    with Repository.clone(
        ce_remotes(remotes), branch="master", depth=1, filter="blob:none", tags=False, sparse=["changelogs/unreleased"]
    ) as repo:
        assert repo.is_shallow()
        assert (repo.path / "changelogs/unreleased/master-only.yml").is_file()
        assert not (repo.path / "app").exists()  # outside the sparse checkout
        gitlab_tip = repo.fetch_branch("gitlab", "master", depth=1)
        assert not repo.is_ancestor(gitlab_tip, "HEAD")  # the histories do not meet yet

        assert repo.merge_base("HEAD", gitlab_tip, deepen=True) == old_master
        assert repo.is_ancestor(gitlab_tip, "HEAD")


def test_log_lists_messages_newest_first(remotes):
    with Repository.clone(ce_remotes(remotes), branch="master") as repo:
        assert repo.log(format="%s", max_count=2) == ["Merge a feature for 11.2", "Update app"]
        assert repo.log(format="%an", max_count=1, paths=["VERSION"]) == ["Rita Release"]


def test_identity_comes_from_the_environment(monkeypatch):
    assert git.identity() == ("Rita Release", "rita@example.com")

    monkeypatch.setenv("GIT_AUTHOR_NAME", "")
    assert git.identity() is None


def test_git_runs_with_the_environment_it_is_given_rather_than_the_process_one(monkeypatch):
    monkeypatch.setenv("GIT_AUTHOR_NAME", "")
    given = {**os.environ, "GIT_AUTHOR_NAME": "Chat Bot", "GIT_AUTHOR_EMAIL": "bot@example.com"}

    with git.environment(given):
        inside = git.identity()
    outside = git.identity()

    assert inside == ("Chat Bot", "bot@example.com")
    assert outside is None


def test_deepening_to_the_full_history_works_with_several_remotes(remotes, tmp_path):
    remotes("ce", "gitlab").commit("master", {"g": "x\n"}, "Gitlab change", tmp_path)
    with Repository.clone(ce_remotes(remotes), branch="master", depth=1, filter="blob:none", tags=False) as repo:
        repo.fetch_branch("gitlab", "master", depth=1)

        repo.deepen(None)

        assert not repo.is_shallow()
        assert repo.log(format="%s")[-1] == "Initial import"


# -- cherry-picks -------------------------------------------------------------------------------


@pytest.fixture
def picks(tmp_path):
    """A repository whose `stable` branch lacks master's commits: a merge, one that conflicts
    with stable, one stable has already, a plain one; and a clone of it on `stable`."""
    from tests.repos import Work, git as run_git

    work = Work(tmp_path / "work")
    work.commit("Initial", {"a.txt": "a\n", "b.txt": "b\n"})
    work.branch("stable")
    work.commit("Stable change", {"b.txt": "stable b\n", "c.txt": "c\n"})
    work.checkout("master")
    work.branch("feature")
    work.commit("Feature", {"f.txt": "f\n"})
    work.checkout("master")
    run_git("merge", "--quiet", "--no-ff", "-m", "Merge feature", "feature", cwd=work.path)
    work.commit("Change b", {"b.txt": "master b\n"})
    work.commit("Add c", {"c.txt": "c\n"})
    work.commit("Change a", {"a.txt": "master a\n"})
    commits = run_git("log", "--first-parent", "--reverse", "--format=%H", "stable~1..master", cwd=work.path).split()
    with Repository.clone([("origin", str(work.path))], branch="stable") as repo:
        yield repo, dict(zip(("merge", "conflicting", "applied", "plain"), commits))


def test_cherry_pick_skips_what_conflicts_or_is_there_already_and_goes_on(picks):
    repo, commits = picks
    before = repo.head()

    results = repo.cherry_pick(list(commits.values()), mainline=1)

    assert {name: results[sha].status for name, sha in commits.items()} == {
        "merge": "picked", "conflicting": "conflicts", "applied": "empty", "plain": "picked"
    }
    assert results[commits["conflicting"]].conflicts == ("b.txt",)
    messages = repo.log(f"{before}..HEAD", format="%B")
    assert [m.splitlines()[0] for m in messages] == ["Change a", "Merge feature"]
    assert [m.splitlines()[-1] for m in messages] == [
        f"(cherry picked from commit {commits['plain']})", f"(cherry picked from commit {commits['merge']})"
    ]
    assert repo.read_file("f.txt") == "f\n" and repo.read_file("b.txt") == "stable b\n"
    assert repo.status() == "" and repo.rev_parse("CHERRY_PICK_HEAD") is None


def test_cherry_pick_of_an_unknown_commit_raises_and_changes_nothing(picks):
    repo, commits = picks
    before = repo.head()

    with pytest.raises(GitError, match=r"^git cherry-pick failed: "):
        repo.cherry_pick([commits["plain"], "0" * 40], mainline=1)

    assert repo.head() == before and repo.status() == ""
