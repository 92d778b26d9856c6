"""The ref engine: what remotes have, a clone to prepare refs in, branches brought in line
across remotes, planned tags, one atomic push per remote, and the remotes read back.

Used by `tag`/`tag_security` (tagging.py), `sync`, the Helm chart release
(chart_release.py) and the upstream merge (upstream_merge.py). Its rules:

- every remote is read once before anything is planned (`RemoteReads`: one `git ls-remote`
  per remote for all the refs a plan concerns), and once more after pushing to it, which
  every push step's check of that remote shares;
- a `ReleaseClone` is shallow and blobless and checks nothing out. Branches are `Draft`s:
  a base commit and the commits this run adds on top, made from file contents in Python
  and written as objects with explicit refs (`Repository.write_history`, one `git
  fast-import` for every commit and tag of the clone). No function leaves a clone on some
  branch for another to find: there is no current branch;
- a branch that differs between remotes is brought in line before anything is built on
  it: a remote behind the others is fast-forwarded by the push, one ahead is taken, two
  that diverged are merged without a working tree (`git merge-tree`); a conflict stops
  the plan before anything is pushed;
- a planned tag that a remote already has on the commit this run would tag is reused
  (that remote is done); one that points elsewhere stops the plan before anything is pushed;
- a remote that lacks a branch gets its history: the clone is deepened until the branch
  meets what that remote has, and a push refused for missing history ("shallow update not
  allowed") fetches the rest and pushes once more;
- each remote of a project gets one atomic push (`push_steps`): one `git.push` step per
  (project, remote), already done when the remote has every ref at the planned object.

A dry run plans the same way, so it fails where the real run would, and pushes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from .config import Project, Settings
from .errors import ConfigurationError, GitError, PushError, ReleaseStateError
from .git import Idents, NewCommit, NewTag, PushedRef, RemoteRefs, Repository, TreeEntry, idents, ls_remote
from .output import say
from .plan import Report, Step, Target

#: How a release clone is made: the needed branches only, one commit deep, without file
#: contents (those it reads are fetched in one go) and without a checkout.
#: `benchmarks/clone.py` compares it with the alternatives.
CLONE_OPTIONS = {"depth": 1, "filter": "blob:none", "tags": False, "checkout": False}

Remote = tuple[str, str]  # (name, url): ("dev", "git@dev.gitlab.org:gitlab/gitlabhq.git")


def announce_date(settings: Settings) -> None:
    """Say so when the dates this run writes are not today's (release_tools.date, SOURCE_DATE_EPOCH)."""
    note = settings.clock.note()
    if note:
        say(note, "yellow")


def project_remotes(settings: Settings, project: Project) -> tuple[Remote, ...]:
    """The remotes a run uses: every one, or only `dev` in a security release. Raises
    ConfigurationError when there is none."""
    remotes = project.remotes_for(settings.security)
    if not remotes:
        if settings.security:
            raise ConfigurationError(
                f"release_tools.projects.{project.key}.remotes has no `dev` remote, the only one a security release uses"
            )
        raise ConfigurationError(f"release_tools.projects.{project.key}.remotes is empty")
    return remotes


def project_label(project: Project) -> str:
    """`gitlab-ee` for gitlab-org/gitlab-ee: how messages and clones name a project."""
    return project.path.rstrip("/").split("/")[-1]


def check_identity() -> Idents:
    """Whom this run commits as; raises GitError when git does not know (better now than
    after cloning)."""
    found = idents()
    if found is None:
        raise GitError(
            "git does not know who you are: set user.name and user.email "
            "(git config --global) or GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL and GIT_COMMITTER_NAME/GIT_COMMITTER_EMAIL"
        )
    return found


# -- reading remotes ----------------------------------------------------------------------------


class RemoteReads:
    """What each remote has of the refs a plan concerns: one `git ls-remote` per remote,
    kept until this run pushes to it, so that the checks of several push steps on one
    remote share the read made after the last push."""

    def __init__(self) -> None:
        self._wanted: dict[str, tuple[set[str], set[str]]] = {}
        self._read: dict[str, RemoteRefs] = {}

    def want(self, url: str, branches: Iterable[str] = (), tags: Iterable[str] = ()) -> None:
        """Read these refs of `url` too (a later read, if this adds any)."""
        wanted = self._wanted.setdefault(url, (set(), set()))
        before = len(wanted[0]) + len(wanted[1])
        wanted[0].update(branches)
        wanted[1].update(tags)
        if len(wanted[0]) + len(wanted[1]) != before:
            self._read.pop(url, None)

    def read(self, url: str, label: str) -> RemoteRefs:
        """Every wanted ref of `url`, read now unless it was read since the last push to it.
        Raises GitError when the remote cannot be read."""
        if url not in self._read:
            branches, tags = self._wanted.get(url, (set(), set()))
            self._read[url] = ls_remote(url, branches=sorted(branches), tags=sorted(tags), label=label)
        return self._read[url]

    def pushed(self, url: str) -> None:
        """This run pushed to `url` (or tried to): the next read reads it again."""
        self._read.pop(url, None)


def read_remotes(
    reads: RemoteReads,
    remotes: Sequence[Remote],
    label: str,
    branches: Iterable[str] = (),
    tags: Iterable[str] = (),
) -> dict[str, RemoteRefs]:
    """What each remote has (remote name -> refs), with `branches` and `tags` among the refs
    read; every remote must have `master`. Raises ReleaseStateError, GitError."""
    branches, tags = ["master", *branches], list(tags)
    for _, url in remotes:
        reads.want(url, branches, tags)
    states = {name: reads.read(url, label) for name, url in remotes}
    for name, refs in states.items():
        if "master" not in refs.branches:
            raise ReleaseStateError(f"{label}: remote {name} has no master branch; check its URL in the configuration")
    return states


# -- drafts: branches prepared without a checkout -------------------------------------------------


@dataclass(eq=False)
class PendingCommit:
    """A commit a draft adds, written by `ReleaseClone.write()` (which sets `sha`)."""

    branch: str
    parent: str | PendingCommit
    message: str
    changes: dict[str, str | None]  # path -> new text, or None: deleted
    sha: str = ""

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]


class Draft:
    """A branch of a ReleaseClone being prepared: a base commit (as the remotes have it, or
    their merge) and the commits this run adds on top, made from file contents.

    `read()` and `files()` see the branch as it is after the commits added so far."""

    def __init__(self, clone: ReleaseClone, name: str, base: str, origins: Mapping[str, str]) -> None:
        self.clone = clone
        self.name = name
        self.base = base
        #: Remote tips whose files `base` has, and the remote each came from: {base: remote}, or
        #: the tips a merge made here brought together (a file in none of them is the merge's own).
        self.origins = dict(origins)
        self.head: str | PendingCommit = base
        self._overlay: dict[str, str | None] = {}
        self.commits: list[PendingCommit] = []

    def __repr__(self) -> str:
        return f"Draft({self.name!r}, base={self.base[:12]!r}, commits={len(self.commits)})"

    @property
    def ref(self) -> str:
        return f"refs/heads/{self.name}"

    @property
    def tip(self) -> str:
        """The commit the branch ends at; known once the clone is written."""
        if isinstance(self.head, str):
            return self.head
        if not self.head.sha:
            raise AssertionError(f"{self.name}: its commits are not written yet")
        return self.head.sha

    def read(self, path: str) -> str | None:
        """The file's text on this branch, or None when it does not exist."""
        if path in self._overlay:
            return self._overlay[path]
        entry = self.clone.entry(self.base, path)
        return None if entry is None else self.clone.text(self, path, entry)

    def read_many(self, paths: Iterable[str]) -> dict[str, str | None]:
        """Several files at once (their contents fetched together)."""
        paths = list(paths)
        self.clone.load(self.clone.wanted(self, [path for path in paths if path not in self._overlay]))
        return {path: self.read(path) for path in paths}

    def files(self, folder: str) -> list[str]:
        """Every file under `folder` (at any depth), sorted."""
        prefix = folder.rstrip("/") + "/"
        found = {path for path in self.clone.listing(self.base, prefix) if path.startswith(prefix)}
        for path, text in self._overlay.items():
            if path.startswith(prefix):
                (found.add if text is not None else found.discard)(path)
        return sorted(found)

    def commit(self, message: str, changes: Mapping[str, str | None]) -> bool:
        """Add a commit changing files (path -> text; None deletes it); False, and no commit,
        when they are as given already."""
        effective = {path: text for path, text in changes.items() if self.read(path) != text}
        if not effective:
            return False
        commit = PendingCommit(self.name, self.head, message, effective)
        self.clone.pending.append(commit)
        self.commits.append(commit)
        self.head = commit
        self._overlay.update(effective)
        return True

    def start(self, name: str) -> Draft:
        """A new branch `name` starting where this one is now."""
        draft = Draft(self.clone, name, self.base, self.origins)
        draft.head = self.head
        draft._overlay = dict(self._overlay)
        self.clone.drafts[name] = draft
        return draft


# -- the clone ------------------------------------------------------------------------------------


@dataclass
class PlannedTag:
    """A tag the remotes should have on a draft's tip: created here, or one a remote has."""

    name: str
    draft: Draft
    target: str | PendingCommit  # the draft's head when the tag was planned
    message: str
    holders: dict[str, str] = field(default_factory=dict)  # remote -> its tag object, on the right commit
    any_commit: bool = False  # an earlier run's tag: wherever it points, it is the one
    sha: str = ""


class ReleaseClone:
    """A shallow, blobless clone without a checkout, in which drafts are prepared and written.

    Made by `open()`; `states` is what each remote had when the plan read it."""

    def __init__(
        self,
        repo: Repository,
        remotes: Sequence[Remote],
        states: Mapping[str, RemoteRefs],
        who: Idents | None,
        view: Sequence[str],
        label: str,
    ) -> None:
        self.repo = repo
        self.remotes = list(remotes)
        self.states = dict(states)
        self.who = who
        #: The files and folders the preparation reads: listed, and their contents fetched, together.
        self.view = tuple(view)
        self.label = label
        self.drafts: dict[str, Draft] = {}
        self.pending: list[PendingCommit] = []
        self.tags: list[PlannedTag] = []
        #: What bringing branches in line found (a remote behind, two that diverged).
        self.notes: list[str] = []
        self._fetched: set[str] = set()  # commits the clone has (remote tips)
        self._branches: set[str] = set()  # branches whose tips are fetched
        self._listings: dict[tuple[str, str], dict[str, TreeEntry]] = {}
        self._contents: dict[str, bytes] = {}
        self._written = False

    @classmethod
    @contextlib.contextmanager
    def open(
        cls,
        remotes: Sequence[Remote],
        states: Mapping[str, RemoteRefs],
        who: Idents | None,
        *,
        branches: Sequence[str] = ("master",),
        view: Sequence[str] = (),
        label: str,
    ) -> Iterator[ReleaseClone]:
        """Clone `master` of the first remote, and fetch every remote's tip of `branches`
        that the clone lacks (one fetch per remote); `who` makes the commits (None: this
        clone writes none). The clone is removed when the block ends. Raises GitError,
        ReleaseStateError (a branch moved while it was read)."""
        with Repository.clone(remotes, branch="master", name=label, **CLONE_OPTIONS) as repo:
            clone = cls(repo, remotes, states, who, view, label)
            canonical = clone.remotes[0][0]
            clone._fetched.add(states[canonical].branches["master"])
            clone._fetch_tips(branches, {f"refs/remotes/{canonical}/master": states[canonical].branches["master"]})
            yield clone

    def _fetch_tips(self, branches: Iterable[str], expected: dict[str, str] | None = None) -> None:
        """Fetch the remotes' tips of `branches` that the clone lacks (one fetch per remote),
        and make sure they are what the remotes were read to have."""
        expected = dict(expected or {})
        wanted: dict[str, list[str]] = {}
        for branch in branches:
            self._branches.add(branch)
            for name, _ in self.remotes:
                sha = self.states[name].branches.get(branch)
                if sha is None or sha in self._fetched:
                    continue
                self._fetched.add(sha)
                wanted.setdefault(name, []).append(branch)
                expected[f"refs/remotes/{name}/{branch}"] = sha
        for name, names in wanted.items():
            self.repo.fetch(name, *(f"+refs/heads/{b}:refs/remotes/{name}/{b}" for b in names), depth=1)
        if not expected:
            return
        got = self.repo.ref_values("refs/remotes/")
        for ref, sha in expected.items():
            if got.get(ref) != sha:
                remote, branch = ref.removeprefix("refs/remotes/").split("/", 1)
                raise ReleaseStateError(
                    f"{self.label}: {branch} on {remote} changed while this run prepared the release; "
                    "nothing was pushed: run it again"
                )

    # -- branches ------------------------------------------------------------------------

    def branch(self, name: str) -> Draft | None:
        """The branch as every remote has it, or None when no remote has it.

        A remote behind the others is fast-forwarded by the push later; one ahead is taken;
        two that diverged are merged (as the original's pull from every remote did), and a
        conflict raises ReleaseStateError before anything is pushed.
        """
        if name in self.drafts:
            return self.drafts[name]
        if name not in self._branches:
            self._fetch_tips([name])
        tips = [(remote, refs.branches[name]) for remote, refs in self.states.items() if name in refs.branches]
        if not tips:
            return None
        leader, current = tips[0]
        origins = {current: leader}
        for remote, sha in tips[1:]:
            if sha == current:
                continue
            base = self.repo.merge_base(current, sha, deepen=True)
            if base is None:
                raise ReleaseStateError(
                    f"{self.label}: {name} on {remote} shares no history with {name} on {leader}; nothing was pushed"
                )
            if base == sha:
                self._note(f"{name}: {remote} is behind {leader}; it will be fast-forwarded")
            elif base == current:
                self._note(f"{name}: {remote} is ahead of {leader}; its commits are taken")
                current, leader, origins = sha, remote, {sha: remote}
            else:
                self._note(f"{name}: {remote} and {leader} have diverged; merging them", "yellow")
                current = self._merge(name, base, current, sha, leader, remote, origins)
                origins[sha] = remote
        draft = Draft(self, name, current, origins)
        self.drafts[name] = draft
        return draft

    def branch_or_start(self, name: str, start: Draft) -> Draft:
        """The branch as the remotes have it, or, when none has it, a new one from `start`."""
        draft = self.branch(name)
        if draft is None:
            say(f"Create branch {name} from {start.name}")
            draft = start.start(name)
        return draft

    def _merge(
        self, name: str, base: str, ours: str, theirs: str, leader: str, remote: str, origins: Mapping[str, str]
    ) -> str:
        """The merge of two tips, made without a working tree; raises ReleaseStateError on conflicts."""
        # git fetches what a merge lacks from one remote at a time, and fails when some of it
        # is on another: fetch each side's changed files from its own remote first.
        ours_changes, theirs_changes = self.repo.changed_files(base, ours), self.repo.changed_files(base, theirs)
        both = [path for path in ours_changes if path in theirs_changes]
        ours_remote = next(iter(origins.values()))
        for where, objects in (
            (ours_remote, [ours_changes[p][1] for p in both] + [ours_changes[p][0] for p in both]),
            (remote, [theirs_changes[p][1] for p in both]),
        ):
            try:
                self.repo.fetch_objects(where, [obj for obj in objects if obj])
            except GitError:
                pass  # some are this clone's own (an earlier merge): git fetches the rest itself
        tree, conflicts = self.repo.merge_trees(ours, theirs)
        if conflicts:
            raise ReleaseStateError(
                f"{self.label}: {name} differs between {leader} and {remote} and they conflict "
                f"({', '.join(conflicts)}); reconcile them by hand, then run again. Nothing was pushed"
            )
        return self.repo.commit_tree(tree, [ours, theirs], f"Merge branch '{name}' of {remote}")

    def _note(self, text: str, colour: str | None = None) -> None:
        say(text, colour)
        self.notes.append(f"{self.label}: {text}")

    # -- files ---------------------------------------------------------------------------

    def _in_view(self, path: str) -> bool:
        return any(path == item or path.startswith(item.rstrip("/") + "/") for item in self.view)

    def listing(self, commit: str, path: str) -> dict[str, TreeEntry]:
        """The files of `commit` in the view (when `path` is in it), else under `path` (one
        `git ls-tree` each, kept)."""
        key = (commit, "" if self._in_view(path) else path)
        if key not in self._listings:
            paths = self.view if not key[1] else (path,)
            self._listings[key] = self.repo.ls_tree(commit, paths)
        return self._listings[key]

    def entry(self, commit: str, path: str) -> TreeEntry | None:
        """The file at `path` of `commit`, or None."""
        for (listed, folder), listing in self._listings.items():
            if listed == commit and folder.endswith("/") and path.startswith(folder):
                return listing.get(path)  # a listed folder covers it
        return self.listing(commit, path).get(path)

    def text(self, draft: Draft, path: str, entry: TreeEntry) -> str:
        if entry.object not in self._contents:
            self.load(self.wanted(draft, [path]))
        return self._contents[entry.object].decode("utf-8", errors="replace")

    def wanted(self, draft: Draft, paths: Sequence[str]) -> list[tuple[Draft, str, TreeEntry | None]]:
        """The files to fetch to read `paths` of `draft`: those, and when one is in the view,
        the whole view of every branch prepared so far (as a sparse checkout would)."""
        wanted = [(draft, path, self.entry(draft.base, path)) for path in paths]
        if any(self._in_view(path) for path in paths):
            for other in self.drafts.values():
                wanted += [(other, p, item) for p, item in self.listing(other.base, self.view[0]).items()]
        return wanted

    def load(self, wanted: Iterable[tuple[Draft, str, TreeEntry | None]]) -> None:
        """Fetch the file contents the clone lacks, in one fetch per remote they come from,
        and read them in one go."""
        by_remote: dict[str, list[str]] = {}
        missing: list[str] = []
        for draft, path, entry in wanted:
            if entry is None or entry.object in self._contents or entry.object in missing:
                continue
            missing.append(entry.object)
            for commit, remote in draft.origins.items():
                found = entry if commit == draft.base else self.entry(commit, path)
                if found is not None and found.object == entry.object:
                    by_remote.setdefault(remote, []).append(entry.object)
                    break  # else: made by a merge here, so in the clone already
        if not missing:
            return
        for remote, objects in by_remote.items():
            try:
                self.repo.fetch_objects(remote, objects)
            except GitError:
                pass  # read below: git fetches what it lacks from whichever remote has it
        self._contents.update(self.repo.read_objects(missing))

    # -- tags ----------------------------------------------------------------------------

    def tag(self, name: str, draft: Draft, message: str, *, any_commit: bool = False) -> PlannedTag:
        """Plan the tag `name` on the draft's tip: reused from a remote that has it there, else
        created. Raises ReleaseStateError when a remote has it on another commit. With
        `any_commit` (the commit it marks was made by an earlier run), any existing copy is
        accepted."""
        holders = {remote: refs for remote, refs in self.states.items() if name in refs.tags}
        # The tip is known already unless this run adds commits: those no remote can have.
        target = draft.head if isinstance(draft.head, str) else None
        elsewhere = {
            remote: refs.tag_commits[name]
            for remote, refs in holders.items()
            if not any_commit and refs.tag_commits[name] != target
        }
        if elsewhere:
            remote, commit = next(iter(elsewhere.items()))
            would = f"{target[:12]} which" if target else f"the new commit on {draft.name} that"
            raise ReleaseStateError(
                f"{self.label}: tag {name} already exists on {remote} and points to {commit[:12]}, not to "
                f"{would} this release would tag. Nothing was pushed. If the existing tag is wrong, "
                f"delete it on {remote} and run again."
            )
        planned = PlannedTag(
            name, draft, draft.head, message, {remote: refs.tags[name] for remote, refs in holders.items()}, any_commit
        )
        if holders:
            say(f"Tag {name} already exists on {', '.join(holders)}; not created again")
        else:
            say(f"Create git tag {name}...")
        self.tags.append(planned)
        return planned

    # -- writing ----------------------------------------------------------------------------

    def write(self) -> None:
        """Write every pending commit and new tag (one `git fast-import`), and fetch the
        existing tags that some remote lacks (one fetch per remote holding them)."""
        if self._written:
            raise AssertionError(f"{self.label} is written already")
        self._written = True
        index = {id(commit): number for number, commit in enumerate(self.pending)}
        new_tags = [tag for tag in self.tags if not tag.holders]
        if self.pending or new_tags:
            commits = [
                NewCommit(
                    f"refs/heads/{commit.branch}",
                    commit.parent if isinstance(commit.parent, str) else index[id(commit.parent)],
                    commit.message,
                    {path: self._blob(commit, path, text) for path, text in commit.changes.items()},
                )
                for commit in self.pending
            ]
            marks = [
                NewTag(tag.name, tag.target if isinstance(tag.target, str) else index[id(tag.target)], tag.message)
                for tag in new_tags
            ]
            assert self.who is not None, "a clone that writes commits needs an identity"
            commit_shas, tag_shas = self.repo.write_history(commits, marks, self.who)
            for commit, sha in zip(self.pending, commit_shas):
                commit.sha = sha
            for tag, sha in zip(new_tags, tag_shas):
                tag.sha = sha
        fetches: dict[str, list[str]] = {}
        for tag in self.tags:
            if tag.holders:
                source = next(iter(tag.holders))
                tag.sha = tag.holders[source]
                if any(remote not in tag.holders for remote, _ in self.remotes):
                    fetches.setdefault(source, []).append(tag.name)
        for remote, names in fetches.items():
            self.repo.fetch(remote, *(f"+refs/tags/{name}:refs/tags/{name}" for name in names))

    def _blob(self, commit: PendingCommit, path: str, text: str | None) -> tuple[str, bytes] | None:
        if text is None:
            return None
        draft = self.drafts.get(commit.branch)
        entry = self.entry(draft.base, path) if draft is not None else None
        return (entry.mode if entry is not None else "100644", text.encode("utf-8"))

    # -- what to push ----------------------------------------------------------------------

    def branch_update(self, draft: Draft, remotes: Iterable[str] | None = None) -> RefUpdate:
        names = list(remotes) if remotes is not None else [name for name, _ in self.remotes]
        return RefUpdate(draft.ref, draft.tip, {r: self.states[r].branches.get(draft.name) for r in names})

    def tag_update(self, tag: PlannedTag) -> RefUpdate:
        # A remote holding the tag on the right commit is done, whatever its tag object.
        return RefUpdate(
            f"refs/tags/{tag.name}",
            tag.sha,
            {remote: (tag.sha if remote in tag.holders else None) for remote, _ in self.remotes},
            commit="" if tag.any_commit else (tag.target if isinstance(tag.target, str) else tag.target.sha),
        )

    def connect(self, updates: Iterable[RefUpdate]) -> None:
        """Deepen the shallow clone until every branch a remote lacks meets that remote's
        master: a remote refuses commits whose parents it does not have."""
        for update in updates:
            if update.is_tag:
                continue
            draft = self.drafts[update.name]
            for remote, old in update.old.items():
                if old is not None or draft.base in self.states[remote].branches.values():
                    continue  # the remote has the commit the branch starts from, and its history
                master = self.states[remote].branches.get("master")
                if master is not None:
                    self.repo.merge_base(update.new, master, deepen=True)

    def commit_lines(self, updates: Iterable[RefUpdate]) -> list[str]:
        """`11-1-stable: 1a2b3c4d5e6f Update VERSION to 11.1.0`: the commits this run adds to
        the branches of `updates`, newest first."""
        lines = []
        for update in updates:
            draft = self.drafts.get(update.name) if not update.is_tag else None
            if draft is not None:
                lines += [f"{draft.name}: {c.sha[:12]} {c.subject}" for c in reversed(draft.commits) if c.sha]
        return lines


# -- pushing -----------------------------------------------------------------------------------


@dataclass
class RefUpdate:
    """One ref a project's remotes should end up with."""

    ref: str  # refs/heads/11-1-stable, refs/tags/v11.1.0
    new: str  # the commit (branch) or tag object to push
    old: dict[str, str | None]  # remote -> what it has now (None: absent); == new when done
    #: A tag's commit (it is there if a remote's tag points to it, whatever the tag object);
    #: "" for a tag an earlier run made, wherever it points.
    commit: str = ""

    @property
    def name(self) -> str:
        return self.ref.removeprefix("refs/heads/").removeprefix("refs/tags/")

    @property
    def is_tag(self) -> bool:
        return self.ref.startswith("refs/tags/")

    def is_done(self, remote: str) -> bool:
        return self.old.get(remote) == self.new

    def is_there(self, refs: RemoteRefs) -> bool:
        """Whether a remote that has `refs` has this update."""
        if not self.is_tag:
            return refs.branches.get(self.name) == self.new
        if self.name not in refs.tags:
            return False
        return refs.tags[self.name] == self.new or not self.commit or refs.tag_commits.get(self.name) == self.commit


def describe(updates: Sequence[RefUpdate], remote: str) -> str:
    """`11-1-stable (new branch), master, tag v11.1.0`."""
    parts = []
    for update in updates:
        if update.is_tag:
            parts.append(f"tag {update.name}")
        elif update.old.get(remote) is None and not update.is_done(remote):
            parts.append(f"{update.name} (new branch)")
        else:
            parts.append(update.name)
    return ", ".join(parts)


def push_steps(
    repo: Repository | None,
    remotes: Sequence[Remote],
    updates: Sequence[RefUpdate],
    reads: RemoteReads,
    *,
    project: str,
    label: str,
    details: Sequence[str] = (),
) -> list[Step]:
    """One `git.push` step per remote: done when the remote has every ref at the planned
    object; its action pushes what the remote lacks in one atomic push, its check reads the
    remote again. `details` (the commits) go under the first step that pushes something."""
    steps = []
    shown = False
    for remote, url in remotes:
        reads.want(url, [u.name for u in updates if not u.is_tag], [u.name for u in updates if u.is_tag])
        pending = [update for update in updates if not update.is_done(remote)]
        refs = pending or list(updates)
        step = Step(
            "git.push",
            f"push {label} {describe(refs, remote)} to {remote}",
            Target(project=project, remote=remote, refs=tuple(update.ref for update in refs)),
            done=not pending,
        )
        if pending:
            if not shown and details:
                step.details, shown = tuple(details), True
            assert repo is not None, "a push needs a clone"
            step.action = _pusher(repo, remote, url, pending, reads)
            step.check = _checker(remote, url, updates, reads, label)
        steps.append(step)
    return steps


def _pusher(repo: Repository, remote: str, url: str, updates: Sequence[RefUpdate], reads: RemoteReads):
    def push() -> Report:
        refspecs = [f"{update.new}:{update.ref}" for update in updates]
        try:
            pushed = push_with_history(repo, remote, refspecs)
        finally:
            reads.pushed(url)
        return Report(describe_pushed(pushed))

    return push


def _checker(remote: str, url: str, updates: Sequence[RefUpdate], reads: RemoteReads, label: str):
    def check() -> str | None:
        refs = reads.read(url, label)
        missing = [f"{update.name} at {update.new[:12]}" for update in updates if not update.is_there(refs)]
        return f"{remote} does not have {', '.join(missing)}" if missing else None

    return check


def describe_pushed(pushed: Sequence[PushedRef]) -> str:
    """`11-1-stable 1a2b3c4..5d6e7f8, tag v11.1.0 [new tag]`: what git reported per ref."""
    parts = []
    for ref in pushed:
        name = ref.destination.removeprefix("refs/heads/")
        if name.startswith("refs/tags/"):
            name = "tag " + name.removeprefix("refs/tags/")
        parts.append(f"{name} {ref.summary}")
    return ", ".join(parts)


def push_with_history(repo: Repository, remote: str, refspecs: Sequence[str]) -> list[PushedRef]:
    """Push atomically; a remote missing history beyond a shallow clone's boundary makes the
    clone fetch all of it, once, and push again. Raises PushError."""
    try:
        return repo.push(remote, refspecs)
    except PushError as error:
        if "shallow update not allowed" not in error.output or not repo.is_shallow():
            raise
        repo.deepen(None)
        return repo.push(remote, refspecs)
