"""CE and EE remotes for `cherry_pick`, and the merge requests that made their `master`.

`build_pick_template(root)` builds bare `dev` and `gitlab` remotes of gitlab-ce and
gitlab-ee (identical, as after a sync) once; `seed(fake, path, merge_requests)` puts the
merge requests on a fake GitLab with the commits they really made. Each project:

master      Initial import, then ten merge requests merged in this order (their iids are
            not in merge order: !10 was merged first), an unlabelled one, and one open
11-1-stable Initial import, VERSION 11.1.1, a fix of config/feature.yml, and the pick of
            !7 made for 11.1.1 (with its `cherry picked from` line)
11-1-stable-patch-2  the stable branch, plus !4's and !13's changes made by hand (no such
            line), and a later change to !13's file

What `cherry_pick 11.1.2` makes of each (PICKS are the picks that apply, in merge order):

!10 merge commit          picked            !5 squashed, then a merge commit  picked (-m 1)
!1  merge commit (2 commits) picked         !6 GitLab names no commit         not picked
!2  squashed, fast-forward picked           !7 picked into 11-1-stable        in stable already
!3  merge commit          conflicts (config/feature.yml)
!4  fast-forward          its change is on the branch already (empty pick)
!8  squashed, fast-forward conflicts (config/feature.yml)
!9  merge commit          picked
!13 fast-forward          picking it conflicts, but the branch has the same change: picked
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.repos import BareRemote, Work, bare_remotes, git

PROJECTS = {"ce": "gitlab-ce", "ee": "gitlab-ee"}
PATHS = {"ce": "gitlab-org/gitlab-ce", "ee": "gitlab-org/gitlab-ee"}
DEV_PATHS = {"ce": "gitlab/gitlabhq", "ee": "gitlab/gitlab-ee"}
REMOTES = ("dev", "gitlab")
LABEL = "Pick into 11.1"

#: iid -> what the run does with it.
PICKED = (10, 1, 2, 5, 9)  # picked by the first run, in merge order
CONFLICTING = {3: ("config/feature.yml",), 8: ("config/feature.yml",)}
NO_COMMIT = (6,)
ON_STABLE = (7,)
APPLIED = (4,)
BY_HAND = (13,)  # the same change as a commit of the preparation branch (`git cherry` finds it)
#: The commits the preparation branch has before any run: !4 and !13 by hand, and a later change.
HAND_MADE = 3


def branches(key: str) -> tuple[str, str]:
    """(stable, preparation) branch of 11.1.2."""
    suffix = "-ee" if key == "ee" else ""
    return f"11-1-stable{suffix}", f"11-1-stable{suffix}-patch-2"


@dataclass
class MergeRequest:
    iid: int
    title: str
    author: str
    merged_at: str
    labels: list[str] = field(default_factory=lambda: [LABEL])
    state: str = "merged"
    merge_commit_sha: str | None = None
    squash_commit_sha: str | None = None
    sha: str | None = None

    def picked_from(self) -> str:
        """The commit a pick of it names: the merge commit, else the squashed commit, else the head."""
        return self.merge_commit_sha or self.squash_commit_sha or self.sha or ""


def _head(work: Work) -> str:
    return git("rev-parse", "HEAD", cwd=work.path).strip()


def _merge(work: Work, branch: str, message: str) -> str:
    git("merge", "--quiet", "--no-ff", "-m", message, branch, cwd=work.path)
    return _head(work)


def _feature(work: Work, name: str, commits: list[tuple[str, dict[str, str | None]]], author: str) -> str:
    work.branch(name, "master")
    for message, files in commits:
        work.commit(message, files, author=author)
    head = _head(work)
    work.checkout("master")
    return head


def _build_project(work: Work, key: str) -> list[MergeRequest]:
    ee = key == "ee"
    stable, prep = branches(key)
    feature = "pages: false\nsearch: false\ngeo: false\n"
    work.commit(
        "Initial import",
        {
            "VERSION": "11.1.0-pre\n",
            "app/models/user.rb": "class User\nend\n",
            "lib/gitlab.rb": "module Gitlab\nend\n",
            "lib/search.rb": "# search\n",
            "config/feature.yml": feature,
            "doc/index.md": "# Docs\n",
            **({"ee/app/models/license.rb": "class License\nend\n"} if ee else {}),
        },
    )
    work.branch(stable)
    work.commit(f"Update VERSION to 11.1.1{'-ee' if ee else ''}", {"VERSION": f"11.1.1{'-ee' if ee else ''}\n"})
    work.commit("Fix the feature flags on stable", {"config/feature.yml": "pages: off\nsearch: off\ngeo: false\n"})
    work.checkout("master")

    joe, ann = "Joe Contributor <joe@example.com>", "Ann Other <ann@example.com>"
    mrs: list[MergeRequest] = []

    def merged(iid: int, title: str, author: str, **commits: Any) -> MergeRequest:
        mr = MergeRequest(iid, title, author.split()[0].lower(), f"2018-07-{len(mrs) + 2:02d}T10:00:00.000Z", **commits)
        mrs.append(mr)
        return mr

    head = _feature(work, "search-index", [("Index search", {"lib/search.rb": "# search\nindex = true\n"})], joe)
    merged(10, "Index the search", joe, merge_commit_sha=_merge(work, "search-index", "Merge branch 'search-index'"), sha=head)
    head = _feature(
        work,
        "fix-login",
        [("Fix the login", {"app/models/user.rb": "class User\n  def login; end\nend\n"}),
         ("Add the login view", {"app/views/login.haml": "%p login\n"})],
        ann,
    )
    merged(1, "Fix the login page", ann, merge_commit_sha=_merge(work, "fix-login", "Merge branch 'fix-login'"), sha=head)
    unsquashed = _feature(work, "speed-up", [("WIP speed", {"lib/search.rb": "# search\nindex = true\nfast = true\n"})], joe)
    work.commit("Speed up search", {"lib/search.rb": "# search\nindex = true\nfast = true\n"}, author=joe)
    merged(2, "Speed up search", joe, squash_commit_sha=_head(work), sha=unsquashed)
    head = _feature(work, "pages", [("Turn on pages", {"config/feature.yml": "pages: true\nsearch: false\ngeo: false\n"})], ann)
    merged(3, "Turn on pages", ann, merge_commit_sha=_merge(work, "pages", "Merge branch 'pages'"), sha=head)
    work.commit("Document the API", {"doc/api.md": "# API\n"}, author=joe)
    api = _head(work)
    merged(4, "Document the API", joe, sha=api)
    squash = _feature(work, "gitlab-com", [("Gitlab.com?", {"lib/gitlab.rb": "module Gitlab\n  def self.com?; end\nend\n"})], ann)
    merged(5, "Add Gitlab.com?", ann, merge_commit_sha=_merge(work, "gitlab-com", "Merge branch 'gitlab-com'"),
           squash_commit_sha=squash, sha="f" * 40)
    merged(6, "Merged before GitLab kept track", joe)
    head = _feature(work, "old-fix", [("Fix the docs", {"doc/index.md": "# Docs\n\nFixed.\n"})], ann)
    old_fix = merged(7, "Fix the docs", ann, merge_commit_sha=_merge(work, "old-fix", "Merge branch 'old-fix'"), sha=head)
    work.commit("Search flag", {"config/feature.yml": "pages: true\nsearch: true\ngeo: false\n"}, author=joe)
    merged(8, "Turn on the search flag", joe, squash_commit_sha=_head(work), sha="e" * 40)
    head = _feature(work, "other-setting", [("Add a setting", {"config/other.yml": "other: 1\n"})], ann)
    merged(9, "Add a setting", ann, merge_commit_sha=_merge(work, "other-setting", "Merge branch 'other-setting'"), sha=head)
    work.commit("Tune the cache", {"lib/cache.rb": "size = 1\n"}, author=joe)
    merged(13, "Tune the cache", joe, sha=_head(work))
    work.commit("Unlabelled change", {"lib/unlabelled.rb": "# not picked\n"})
    mrs.append(MergeRequest(11, "Unlabelled change", "joe", "2018-07-20T10:00:00.000Z", labels=[], sha=_head(work)))
    mrs.append(MergeRequest(12, "Still open", "ann", "", state="opened"))

    # 11.1.1 picked !7; 11.1.2's preparation branch got !4 by hand.
    work.checkout(stable)
    git("cherry-pick", "-x", "-m", "1", old_fix.merge_commit_sha or "", cwd=work.path)
    work.branch(prep)
    work.commit("Document the API", {"doc/api.md": "# API\n"}, author=joe)
    work.commit("Tune the cache", {"lib/cache.rb": "size = 1\n"}, author=joe)
    work.commit("Grow the cache", {"lib/cache.rb": "size = 2\n"})
    work.checkout("master")
    for name in ("search-index", "fix-login", "speed-up", "pages", "gitlab-com", "old-fix", "other-setting"):
        git("branch", "--quiet", "-D", name, cwd=work.path)
    return sorted(mrs, key=lambda mr: mr.iid)


def build_pick_template(root: Path) -> dict[str, list[MergeRequest]]:
    """Build `root/<project>/<remote>.git`; return each project's merge requests."""
    made = {}
    for key, name in PROJECTS.items():
        work = Work(root / "work" / name)
        made[key] = _build_project(work, key)
        bare_remotes(work.path, root / name, REMOTES)
    shutil.rmtree(root / "work")
    return made


class PickRemotes:
    """One test's copy of the remotes, by project key and remote name."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def copy_of(cls, template: Path, root: Path) -> PickRemotes:
        for name in PROJECTS.values():
            shutil.copytree(template / name, root / name, symlinks=True)
        return cls(root)

    def __call__(self, key: str, remote: str) -> BareRemote:
        return BareRemote(self.root / PROJECTS[key] / f"{remote}.git")

    def digests(self) -> dict[str, str]:
        return {f"{key}/{remote}": self(key, remote).digest() for key in PROJECTS for remote in REMOTES}

    def tree(self) -> dict:
        return {"projects": {key: {"remotes": {r: self(key, r).url for r in REMOTES}} for key in PROJECTS}}

    def env(self) -> dict[str, str]:
        return {
            f"INVOKE_RELEASE_TOOLS_PROJECTS_{key.upper()}_REMOTES_{remote.upper()}": self(key, remote).url
            for key in PROJECTS
            for remote in REMOTES
        }

    def pick_commits(self, key: str, remote: str = "gitlab") -> list[tuple[str, str]]:
        """(commit, the commit it names as picked from, or "") of every commit the
        preparation branch has and the stable branch has not, oldest first."""
        stable, prep = branches(key)
        output = self(key, remote).git("log", "--reverse", "--format=%H%x00%B%x00", f"{stable}..{prep}")
        parts = output.split("\0")
        found = []
        for sha, message in zip(parts[0::2], parts[1::2]):
            named = [line for line in message.splitlines() if line.startswith("(cherry picked from commit ")]
            found.append((sha.strip(), named[-1][len("(cherry picked from commit ") : -1] if named else ""))
        return found

    def picks(self, key: str, remote: str = "gitlab") -> list[str]:
        """The commit each commit of the preparation branch names as picked from, oldest first."""
        return [source for _, source in self.pick_commits(key, remote)]


def seed(fake: Any, key: str, merge_requests: list[MergeRequest], *, path: str | None = None) -> dict[int, dict]:
    """The project with its merge requests (authors created as needed) and the open
    preparation merge request; returns the merge requests by iid (the preparation one as 0)."""
    from release_tools.sandbox import add_merge_request, add_project, add_user

    path = path or PATHS[key]
    add_project(fake, path)
    users = {user["username"]: user for user in fake.users.values()}
    made = {}
    for mr in merge_requests:
        author = users.get(mr.author) or add_user(fake, mr.author)
        users[mr.author] = author
        made[mr.iid] = add_merge_request(
            fake, path, mr.title, iid=mr.iid, author=author, labels=mr.labels, state=mr.state,
            merged_at=mr.merged_at or None, merge_commit_sha=mr.merge_commit_sha,
            squash_commit_sha=mr.squash_commit_sha, sha=mr.sha,
        )
    stable, prep = branches(key)
    made[0] = add_merge_request(
        fake, path, f"WIP: Prepare 11.1.2{'-ee' if key == 'ee' else ''} release", iid=100, state="opened",
        source_branch=prep, target_branch=stable, labels=["Release"],
        description="Main release issue: https://example.com/issues/1\n\n## What this is for\n\nPicks.\n",
    )
    return made

