"""Cherry-picking: the merged `Pick into X.Y` merge requests onto the preparation branches
of a patch or RC (`11-1-stable-patch-2`, `11-1-stable-ee-prepare-rc2`).

`cherry_pick()` plans first, and planning changes nothing:

1. the version must be a patch (`X.Y.Z`, Z > 0) or an RC (`X.Y.0-rcN`);
2. every remote of every project (`release_tools.cherry_pick.projects`) must have the
   preparation branch that `patch_merge_request` makes, and their copies must not have
   diverged;
3. the candidates are the project's merged merge requests labelled `Pick into X.Y`
   (`release_tools.labels.pick_into`), all pages, in the order they were merged; only
   those merged into `master`: one merged into another branch (a feature or stable
   branch) is named in a note of the plan, and left alone;
4. in a clone of the preparation and stable branches (their commits since they left
   `master`, without file contents but those a pick needs), each candidate's commit (its
   merge commit, picked with `-m 1`; else its squashed commit; else its head, when it was
   fast-forwarded) is cherry-picked with `-x`, oldest first. One whose commit is on either
   branch, or named there by git's `(cherry picked from commit ...)` line (the last of
   a commit's trailers), or whose pick would
   change nothing, or whose change a commit there has (`git cherry`'s test), is on the
   branch already; one that conflicts (the pick is skipped), or that has no commit, is left
   out, and the next one goes on.

The steps are then, per project: one atomic push of the branch per remote (`dev` only for a
security release), each read back; a comment on each merge request on the branch
(`Picked into ... for ...: <commit>`) and on each left out (its author mentioned, with the
conflicting files and what to do); the `Pick into` label replaced, when
`release_tools.cherry_pick.picked_label` names one; the preparation merge request's
description listing both groups between two markers; and one Slack line for the run.
Every comment carries an invisible marker naming the version, so that a re-run finds it
and comments on nobody twice.

Exit status: 0 when every candidate is on the branch, 3 when some need a manual pick
(they are the plan's problems), 1 on an error. The git work is small on purpose (a clone,
fetches, `git cherry-pick`, pushes, `ls-remote`), to move onto the shared ref code later.
"""

from __future__ import annotations

import contextlib
import enum
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .config import Settings
from .errors import ConfigurationError, GitError, InvalidRefError, InvalidVersionError, ReleaseStateError, quote, quote_path
from .git import Repository, identity, ls_remote
from .release_managers import is_username
from .templates import inline_code
from .version import Version

#: How the clone is made: the branch without file contents (fetched when a pick needs
#: them), only the top-level files checked out, no tags; history since it left `master`.
CLONE_OPTIONS = {"filter": "blob:none", "tags": False, "sparse": ()}
#: The branch whose commits the clone leaves out: the picks come from it.
MAINLINE = "master"
#: A pick needs its commit and the commit's parents (the changes are the difference).
PICK_DEPTH = 2
#: How many merge requests are read, commented on or relabelled at the same time.
CONCURRENCY = 8

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_TRAILER = re.compile(r"^\(cherry picked from commit ([0-9a-f]{40}|[0-9a-f]{64})\)\s*$", re.M)

#: The description's section, kept between these markers and replaced on every run.
SECTION_START = "<!-- release-tools cherry_pick: start -->"
SECTION_END = "<!-- release-tools cherry_pick: end -->"
#: Each marker is a line of its own, which no title or file name listed between them can be.
_SECTION = re.compile("^" + re.escape(SECTION_START) + "$.*?^" + re.escape(SECTION_END) + "$", re.S | re.M)
#: How much of a title the description shows.
TITLE_LIMIT = 200


class Outcome(str, enum.Enum):
    """Where a candidate stands after the picks."""

    PICKED = "picked"  # this run picked it
    ON_BRANCH = "on_branch"  # the preparation branch has it (or a pick of it) already
    ON_STABLE = "on_stable"  # the stable branch has it: an earlier release shipped it
    APPLIED = "applied"  # picking it would change nothing: its changes are there already
    CONFLICTS = "conflicts"
    NO_COMMIT = "no_commit"  # GitLab names no commit to pick
    MISSING = "missing"  # no remote has its commit

    @property
    def is_picked(self) -> bool:
        return self in (Outcome.PICKED, Outcome.ON_BRANCH, Outcome.ON_STABLE, Outcome.APPLIED)


@dataclass
class Candidate:
    """A merged merge request labelled for this minor, and what became of it."""

    mr: Any  # gitlab.MergeRequest
    relabelled: bool = False  # found by the picked label only: listed when on the branch, never picked
    outcome: Outcome | None = None
    commit: str = ""  # the commit on the branches that holds it, when known
    conflicts: tuple[str, ...] = ()

    @property
    def source(self) -> str | None:
        """The commit to pick: the merge commit, else the squashed one, else the head."""
        for sha in (self.mr.merge_commit_sha, self.mr.squash_commit_sha, self.mr.sha):
            if sha:
                return sha if _SHA.fullmatch(sha) else None
        return None

    @property
    def sources(self) -> set[str]:
        """Every commit a pick of it may name in its `cherry picked from` line."""
        merged = {sha for sha in (self.mr.merge_commit_sha, self.mr.squash_commit_sha) if sha}
        return merged or ({self.mr.sha} if self.mr.sha else set())

    @property
    def reference(self) -> str:
        return f"!{self.mr.iid}"


@dataclass
class Edition:
    """One project's preparation branch and what goes onto it."""

    key: str  # ce, ee
    label: str  # gitlab-ce
    version: Version  # the edition's form: 11.1.2, 11.1.2-ee
    project: str  # the API path on the instance the release uses
    branch: str  # 11-1-stable-patch-2
    stable: str  # 11-1-stable
    remotes: tuple[tuple[str, str], ...]  # in the configured order (pushes go in it)
    own_remote: str  # the remote of the instance whose merge requests these are
    tips: dict[str, str] = field(default_factory=dict)  # remote -> the branch there
    has_stable: bool = True
    candidates: list[Candidate] = field(default_factory=list)
    elsewhere: list[Any] = field(default_factory=list)  # labelled, but merged into another branch than master
    tip: str = ""  # the branch after the picks
    merge_request: Any = None  # the preparation merge request, when open
    repo: Repository | None = None  # the clone the picks are made in


# -- checks and names ---------------------------------------------------------------------


def check_version(version: Version) -> None:
    """Raise InvalidVersionError unless `version` is a patch (`X.Y.Z`, Z > 0) or an RC (`X.Y.0-rcN`)."""
    if version.is_monthly:
        raise InvalidVersionError(
            f"{version.to_ce()} is a monthly release, which ships its stable branch as it is: cherry_pick is "
            "for patch releases (X.Y.Z with Z > 0) and release candidates (X.Y.0-rcN)"
        )
    if version.is_rc and version.patch:
        raise InvalidVersionError(
            f"{version.to_ce()} is neither a patch nor a release candidate: a patch is X.Y.Z (Z > 0), an RC X.Y.0-rcN"
        )


def picked_label(settings: Settings, version: Version) -> str:
    """The label a picked merge request gets instead, or "" (keep the label)."""
    return settings.cherry_pick.picked_label.replace("{minor}", version.minor_name)


def editions(settings: Settings, version: Version) -> list[Edition]:
    """The projects to pick into, with their branch names (as `patch_merge_request` makes them)."""
    from .preparation import preparation_merge_request

    found = []
    for key in settings.cherry_pick.projects:
        edition_version = version.to_ee() if key == "ee" else version.to_ce()
        spec = preparation_merge_request(settings, edition_version, security=settings.security)
        project = settings.project(key)
        remotes = project.remotes_for(settings.security)
        if not remotes:
            needed = "a `dev` remote, the only one a security release uses" if settings.security else "a remote"
            raise ConfigurationError(f"release_tools.projects.{key}.remotes has no {needed}")
        names = [name for name, _ in remotes]
        own = "dev" if settings.security else ("gitlab" if "gitlab" in names else names[0])
        found.append(
            Edition(
                key=key,
                label=project.path.rstrip("/").split("/")[-1],
                version=edition_version,
                project=spec.project,
                branch=spec.source_branch,
                stable=spec.target_branch,
                remotes=remotes,
                own_remote=own,
            )
        )
    return found


def read_branches(settings: Settings, edition: Edition) -> None:
    """Read the preparation and stable branches on every remote (`ls-remote`).

    Raises InvalidRefError when a remote lacks the preparation branch, GitError when one
    cannot be read.
    """
    for remote, url in edition.remotes:
        refs = ls_remote(url, branches=[edition.branch, edition.stable], label=edition.label)
        if edition.branch not in refs.branches:
            command = f"invoke patch_merge_request {'--security ' if settings.security else ''}{edition.version.to_ce()}"
            raise InvalidRefError(
                f"{edition.branch} is not on the {remote} remote of {edition.label}: "
                f"create the preparation branches first ({command})"
            )
        edition.tips[remote] = refs.branches[edition.branch]
        if remote == edition.own_remote:
            edition.has_stable = edition.stable in refs.branches


def check_identity() -> None:
    """Raise GitError unless git knows whom to record as the committer of the picks."""
    if identity() is None:
        raise GitError(
            "git does not know who is picking: set user.name and user.email (git config --global), "
            "or GIT_AUTHOR_NAME, GIT_AUTHOR_EMAIL, GIT_COMMITTER_NAME and GIT_COMMITTER_EMAIL"
        )


# -- candidates ---------------------------------------------------------------------------


def find_candidates(gitlab: Any, settings: Settings, edition: Edition) -> list[Candidate]:
    """The merged merge requests labelled for this minor, oldest merge first (GitLab
    cannot sort by merge time everywhere, so it is done here); with a picked label, also
    those that carry it instead (listed when on the branch, never picked)."""
    label = settings.pick_label(edition.version.minor_name)
    found = {mr.iid: Candidate(mr) for mr in gitlab.list_merge_requests(edition.project, labels=(label,), state="merged")}
    relabel = picked_label(settings, edition.version)
    if relabel:
        for mr in gitlab.list_merge_requests(edition.project, labels=(relabel,), state="merged"):
            found.setdefault(mr.iid, Candidate(mr, relabelled=True))
    # Only what was merged into master is a pick: a change merged into a feature or stable
    # branch is not on master, and picking it would ship what master never had.
    edition.elsewhere = sorted((c.mr for c in found.values() if c.mr.target_branch != MAINLINE), key=lambda mr: mr.iid)
    kept = [c for c in found.values() if c.mr.target_branch == MAINLINE]
    return sorted(kept, key=lambda c: (c.mr.merged_at or "9999", c.mr.iid))


# -- the clone and the picks ----------------------------------------------------------------


def clone(clones: contextlib.ExitStack, edition: Edition) -> Repository:
    """A clone (removed with `clones`) of the preparation branch, checked out, and of the
    stable branch, with their commits since they left `master`; another remote's copy of
    the branch is taken when it is ahead. Raises ReleaseStateError when two remotes'
    copies diverged, GitError."""
    remotes = sorted(edition.remotes, key=lambda remote: remote[0] != edition.own_remote)
    options = {"branch": edition.branch, "name": edition.label, **CLONE_OPTIONS}
    try:
        repo = clones.enter_context(Repository.clone(remotes, shallow_exclude=MAINLINE, **options))
    except GitError:
        # It has no commit `master` has not (a stable branch cut a moment ago): its tip is enough.
        repo = clones.enter_context(Repository.clone(remotes, depth=1, **options))
    if edition.has_stable:
        _fetch_own_history(repo, edition.own_remote, edition.stable)
    current, leader = repo.head(), edition.own_remote
    for remote, sha in edition.tips.items():
        if sha == current:
            continue
        _fetch_own_history(repo, remote, edition.branch)
        if repo.is_ancestor(sha, current):
            continue  # behind: its push fast-forwards it
        if not repo.is_ancestor(current, sha):
            raise ReleaseStateError(
                f"{edition.label}: {edition.branch} on {remote} and on {leader} have diverged: make them the same "
                "(push one to the other), then run again. Nothing was changed"
            )
        current, leader = sha, remote
    repo.set_branch(edition.branch, current)
    edition.repo = repo
    return repo


def _fetch_own_history(repo: Repository, remote: str, branch: str) -> None:
    """Fetch `branch` of `remote` with its commits since it left `master` (only its tip
    when it has none of its own)."""
    refspec = f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"
    try:
        repo.fetch(remote, refspec, shallow_exclude=MAINLINE)
    except GitError:
        repo.fetch(remote, refspec, depth=1)


def _messages(repo: Repository, *revisions: str) -> dict[str, str]:
    """commit -> message of every commit the clone holds in `revisions` (a range: `A`, `^B`)."""
    output = repo.git("log", "--format=%H%x00%B%x00", "--end-of-options", *revisions, "--")
    parts = output.split("\0")
    return {parts[i].strip(): parts[i + 1] for i in range(0, len(parts) - 1, 2)}


def picked_from(message: str) -> str | None:
    """The commit a commit message says it was picked from: the last `(cherry picked from
    commit ...)` line of its trailer block (the last paragraph), which is the one `git
    cherry-pick -x` wrote. An earlier one, or one in the body, came with the message that
    was picked, and whoever wrote that message could name any commit in it."""
    block = re.split(r"\n[ \t]*\n", message.strip())[-1]
    found = _TRAILER.findall(block)
    return found[-1] if found else None


def _by_source(history: dict[str, str]) -> dict[str, str]:
    """commit picked from -> the commit of `history` (commit -> message) that is its pick."""
    return {source: commit for commit, message in history.items() if (source := picked_from(message))}


def pick(repo: Repository, edition: Edition) -> None:
    """Decide every candidate's outcome, picking the new ones onto the branch in merge order."""
    stable = f"refs/remotes/{edition.own_remote}/{edition.stable}"
    branch = f"refs/heads/{edition.branch}"
    on_branch = _messages(repo, branch, f"^{stable}") if edition.has_stable else _messages(repo, branch)
    on_stable = _messages(repo, stable) if edition.has_stable else {}
    named = [
        (_by_source(history), history, outcome)
        for history, outcome in ((on_branch, Outcome.ON_BRANCH), (on_stable, Outcome.ON_STABLE))
    ]

    to_pick: list[Candidate] = []
    for candidate in edition.candidates:
        if candidate.source is None:
            candidate.outcome = Outcome.NO_COMMIT
            continue
        for picks, history, outcome in named:
            held = next((sha for sha in candidate.sources if sha in history), None)
            held = held or next((picks[sha] for sha in candidate.sources if sha in picks), None)
            if held:
                candidate.outcome, candidate.commit = outcome, held
                break
        else:
            to_pick.append(candidate)

    missing = fetch_commits(repo, [c.source for c in to_pick], edition)
    parents = _parents(repo, [c.source for c in to_pick if c.source not in missing])
    fetch_contents(repo, [(commit, first[0]) for commit, first in parents.items() if first], edition.own_remote)
    picking, relabelled = [], []
    for candidate in to_pick:
        if candidate.relabelled:
            # Relabelled, yet nothing on the branches names it: never ours to pick; listed
            # only when the branches have the same change (below).
            relabelled += [candidate] if parents.get(candidate.source or "") else []
        elif candidate.source in missing:
            candidate.outcome = Outcome.MISSING
        elif not parents.get(candidate.source):
            raise GitError(f"{edition.label}: commit {candidate.source} came without its parents; nothing was changed")
        else:
            picking.append(candidate)
    # -m 1 picks a merge commit's changes against its first parent, the branch it was merged into.
    results = repo.cherry_pick([c.source for c in picking if c.source], mainline=1)
    for candidate in picking:
        outcome = results[candidate.source or ""]
        if outcome.picked:
            candidate.outcome = Outcome.PICKED
        elif outcome.status == "empty":
            candidate.outcome = Outcome.APPLIED
        else:
            candidate.outcome, candidate.conflicts = Outcome.CONFLICTS, outcome.conflicts
    unsure = [c for c in picking if c.outcome is Outcome.CONFLICTS] + relabelled
    find_equivalents(repo, edition, unsure, on_branch, on_stable)
    edition.candidates = [c for c in edition.candidates if c.outcome is not None]
    edition.tip = repo.head()
    # The new commits, by what they were picked from: read once rather than after every pick.
    new = _messages(repo, branch, *(f"^{sha}" for sha in set(edition.tips.values())))
    made = _by_source(new)
    for candidate in edition.candidates:
        if candidate.outcome is Outcome.PICKED:
            candidate.commit = made[candidate.source]


def find_equivalents(
    repo: Repository, edition: Edition, conflicting: Sequence[Candidate], on_branch: dict, on_stable: dict
) -> None:
    """`git cherry`'s test, for the picks that conflicted (and relabelled candidates nothing
    names): a commit of the branches whose change is the same (the same patch id) holds the
    candidate already; it was picked by hand, without a `cherry picked from` line, and
    changed further since (else picking it again would have changed nothing). Merges on
    the branches do not count."""
    if not conflicting:
        return
    own = {commit: parents[0] for commit, parents in _parents(repo, [*on_branch, *on_stable]).items() if len(parents) == 1}
    fetch_contents(repo, list(own.items()), edition.own_remote)
    holders = {patch: commit for commit, patch in _patch_ids(repo, own).items()}
    patches = _patch_ids(repo, [c.source for c in conflicting if c.source])
    for candidate in conflicting:
        commit = holders.get(patches.get(candidate.source or "", ""))
        if commit:
            candidate.outcome = Outcome.ON_BRANCH if commit in on_branch else Outcome.ON_STABLE
            candidate.commit, candidate.conflicts = commit, ()


def _patch_ids(repo: Repository, commits: Iterable[str]) -> dict[str, str]:
    """commit -> the id of its change (against its first parent), as `git patch-id --stable` makes it."""
    names = "".join(f"{commit}\n" for commit in commits)
    if not names:
        return {}
    diff = repo.git("diff-tree", "--stdin", "-p", "--diff-merges=first-parent", "--no-color", stdin=names)
    ids = repo.git("patch-id", "--stable", stdin=diff)
    return {commit: patch for patch, commit in (line.split() for line in ids.splitlines() if line.strip())}


def fetch_commits(repo: Repository, commits: Sequence[str | None], edition: Edition) -> set[str]:
    """Fetch `commits` with their parents, from the merge requests' own remote first, in one
    fetch when that remote has every one of them; return those no remote has."""
    missing = [sha for sha in dict.fromkeys(commits) if sha]
    order = sorted((name for name, _ in edition.remotes), key=lambda name: name != edition.own_remote)
    for remote in order:
        if not missing or _fetch(repo, remote, missing):
            return set()
        # One of them is not there: find which, one by one. Each of those fetches cuts the
        # history of the others short (a commit at its depth looks parentless), so those
        # found are fetched together once more, which gives them their parents back.
        here = [sha for sha in missing if _fetch(repo, remote, [sha])]
        if here:
            _fetch(repo, remote, here)
        missing = [sha for sha in missing if sha not in here]
    return set(missing)


def _fetch(repo: Repository, remote: str, commits: Sequence[str]) -> bool:
    """Fetch `commits` and their parents from `remote`; False when it lacks one of them."""
    try:
        repo.fetch(remote, *commits, depth=PICK_DEPTH)
    except GitError:
        return False
    return True


def _parents(repo: Repository, commits: Sequence[str | None]) -> dict[str, list[str]]:
    """commit -> its parents, for commits the clone has."""
    names = [sha for sha in dict.fromkeys(commits) if sha]
    if not names:
        return {}
    output = repo.git("show", "--no-patch", "--format=%H %P", "--end-of-options", *names, "--")
    return {line.split()[0]: line.split()[1:] for line in output.splitlines() if line.strip()}


def fetch_contents(repo: Repository, changes: Sequence[tuple[str, str]], remote: str) -> None:
    """Fetch at once the file contents the picks of `changes` ((commit, first parent)
    pairs) will read, which the partial clone would otherwise fetch pick by pick: both
    sides of each change, and the branch's own copies of the files it changes."""
    if not changes:
        return
    output = repo.git(
        "diff-tree", "--stdin", "-r", "-z", "--no-abbrev", "--no-renames",
        stdin="".join(f"{parent} {commit}\n" for commit, parent in changes),
    )
    entries = iter(output.split("\0"))
    blobs, paths = set(), set()
    for entry in entries:
        # `<commit>`, then `:<modes> <objects> <status>` and its path, which may start with ":" too.
        if entry.startswith(":"):
            path = next(entries, "")
            old_mode, new_mode, old, new = entry[1:].split(" ")[:4]
            blobs |= {sha for sha, mode in ((old, old_mode), (new, new_mode)) if mode != "160000" and set(sha) != {"0"}}
            paths.add(path)
    if paths:
        listing = repo.git("ls-tree", "-r", "-z", "--full-tree", "HEAD", "--", *sorted(paths))
        blobs |= {line.split()[2] for line in listing.split("\0") if line and line.split()[1] == "blob"}
    repo.fetch_objects(remote, blobs)


# -- wording --------------------------------------------------------------------------------


def marker(outcome: str, edition: Edition) -> str:
    """The invisible line that says a comment of ours is about this version (`picked`, `not_picked`)."""
    return f"<!-- release-tools cherry_pick {outcome} {edition.version} -->"


def _title(candidate: Candidate) -> str:
    """A title as inline code on one line: it mentions nobody and runs no quick action
    (and a marker in it is no line of its own, so it cannot end our section)."""
    return inline_code(candidate.mr.title, TITLE_LIMIT)


def _mention(candidate: Candidate) -> str:
    author = candidate.mr.author or ""
    return f"@{author}" if is_username(author) else "Hello"


def reason(candidate: Candidate, edition: Edition, *, markdown: bool = False) -> str:
    """Why a candidate was left out, in a few words."""
    code = inline_code if markdown else quote_path
    if candidate.outcome is Outcome.CONFLICTS:
        files = ", ".join(code(name) for name in candidate.conflicts)
        return f"picking {(candidate.source or '')[:8]} conflicts in {files}" if files else "picking it conflicts"
    if candidate.outcome is Outcome.MISSING:
        return f"its commit {(candidate.source or '')[:8]} is on none of the remotes ({', '.join(n for n, _ in edition.remotes)})"
    return "GitLab names no commit of it to pick (no merge commit, squashed commit or head)"


def picked_comment(candidate: Candidate, edition: Edition, commit_url: str) -> str:
    return f"Picked into {edition.branch} for {edition.version}: {commit_url}\n\n{marker('picked', edition)}\n"


def not_picked_comment(candidate: Candidate, edition: Edition, label: str) -> str:
    source = candidate.source
    how = "with its changes"
    if source and candidate.outcome is Outcome.CONFLICTS:
        mainline = "-m 1 " if candidate.mr.merge_commit_sha == source else ""
        how = (
            f"with its changes, the conflicts resolved (for example `git cherry-pick -x {mainline}{source}` "
            f"on a branch from `{edition.branch}`),"
        )
    return (
        f"{_mention(candidate)} this merge request could not be picked into `{edition.branch}` for "
        f"{edition.version}: {reason(candidate, edition, markdown=True)}.\n\n"
        f"Please open a merge request against `{edition.branch}` {how} and mention it here. "
        f'This merge request keeps its ~"{label}" label.\n\n'
        f"{marker('not_picked', edition)}\n"
    )


def section(edition: Edition, command: str) -> str:
    """The description's `Picked` and `Not picked` lists, between the markers."""
    lines = [SECTION_START, "## Picked", ""]
    picked = [c for c in edition.candidates if c.outcome and c.outcome.is_picked]
    for candidate in picked:
        where = {
            Outcome.ON_STABLE: f"in `{edition.stable}` already",
            Outcome.APPLIED: "its changes were on the branch already",
        }.get(candidate.outcome, f"`{candidate.commit[:8]}`")
        lines.append(f"- {candidate.reference} {_title(candidate)} ({where})")
    lines += [] if picked else ["- none yet"]
    lines += ["", "## Not picked", ""]
    left = [c for c in edition.candidates if c.outcome and not c.outcome.is_picked]
    lines += [f"- {c.reference} {_title(c)}: {reason(c, edition, markdown=True)}" for c in left] or ["- none"]
    lines += ["", f"_Kept up to date by `{command}`._", SECTION_END]
    return "\n".join(lines)


def with_section(description: str, text: str) -> str:
    """`description` with its section replaced by `text` (added at the end when it has none)."""
    if _SECTION.search(description):
        return _SECTION.sub(lambda _: text, description, count=1)
    kept = description.replace(SECTION_START, "").replace(SECTION_END, "").rstrip()
    return f"{kept}\n\n{text}\n" if kept else f"{text}\n"


def slack_text(version: Version, picked: dict[str, int], left: int) -> str:
    """`11.1.2: picked 7 into gitlab-ee, 2 need a manual pick`."""
    parts = " and ".join(f"{count} into {label}" for label, count in picked.items())
    text = f"{version}: picked {parts or 'nothing new'}"
    if left:
        text += f", {left} need{'s' if left == 1 else ''} a manual pick"
    return text


# -- the plan -------------------------------------------------------------------------------


def cherry_pick(settings: Settings, version: Version) -> Any:
    """Pick the `Pick into X.Y` merge requests into the preparation branches of `version`
    (see the module docstring); return the plan, run (or shown, in a dry run).

    Raises, before anything changes: InvalidVersionError (a monthly version), InvalidRefError
    (a missing preparation branch), ReleaseStateError (diverged copies of it), GitError,
    GitLabError, MissingTokenError, ConfigurationError.
    """
    from .gitlab import GitLab
    from .plan import Plan, execute

    check_version(version)
    chosen = editions(settings, version)
    for edition in chosen:
        read_branches(settings, edition)
    check_identity()

    instance = "dev" if settings.security else "production"
    gitlab = GitLab(settings, instance)
    for edition in chosen:
        edition.candidates = find_candidates(gitlab, settings, edition)
        opened = gitlab.find_merge_requests(
            edition.project, source_branch=edition.branch, target_branch=edition.stable, state="opened"
        )
        edition.merge_request = opened[0] if opened else None

    plan = Plan(settings.task or "cherry_pick", str(version.to_ce()), security=settings.security, problem_status=3)
    plan.concurrency = CONCURRENCY
    with contextlib.ExitStack() as clones:
        for edition in chosen:
            pick(clone(clones, edition), edition)
        comments = find_comments(gitlab, chosen, plan.concurrency)
        for edition in chosen:
            add_steps(plan, settings, gitlab, edition, comments)
        add_slack_step(plan, settings, version, chosen)
        return execute(plan, settings.run)


def _commented(edition: Edition) -> list[tuple[Candidate, str]]:
    """The candidates that get a comment, with its marker."""
    wanted = []
    for candidate in edition.candidates:
        if candidate.outcome in (Outcome.PICKED, Outcome.ON_BRANCH):
            wanted.append((candidate, marker("picked", edition)))
        elif candidate.outcome and not candidate.outcome.is_picked:
            wanted.append((candidate, marker("not_picked", edition)))
    return wanted


def find_comments(gitlab: Any, chosen: Iterable[Edition], workers: int) -> dict[tuple[str, int, str], Any]:
    """Our earlier comments, by (project, iid, marker): read a few merge requests at a time.
    A comment of ours has its marker at the start of a line (a file name it quotes, which
    could hold a marker's text, is inline code within a line, its line breaks escaped)."""
    keys = [(edition.project, c.mr.iid, mark) for edition in chosen for c, mark in _commented(edition)]
    if not keys:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="notes") as pool:
        found = pool.map(lambda key: gitlab.find_merge_request_note(key[0], key[1], f"\n{key[2]}"), keys)
        return dict(zip(keys, found))


def add_steps(plan: Any, settings: Settings, gitlab: Any, edition: Edition, comments: dict) -> None:
    """One project's steps: the pushes, the comments and labels, the description."""
    from .plan import Failure, Step, Target

    instance = "dev" if settings.security else "production"
    label, relabel = settings.pick_label(edition.version.minor_name), picked_label(settings, edition.version)
    counts = {outcome: sum(1 for c in edition.candidates if c.outcome is outcome) for outcome in Outcome}
    plan.notes.append(
        f"{edition.label}: {len(edition.candidates)} merged merge request(s) labelled {quote(label)}: "
        f"{counts[Outcome.PICKED]} to pick, {counts[Outcome.ON_BRANCH] + counts[Outcome.APPLIED]} on "
        f"{edition.branch} already, {counts[Outcome.ON_STABLE]} in {edition.stable} already, "
        f"{sum(1 for c in edition.candidates if not c.outcome.is_picked)} cannot be picked"
    )
    plan.notes += [
        f"{edition.label}: !{mr.iid} {quote(mr.title, 80)} was merged into {quote(mr.target_branch)}, "
        f"not {MAINLINE}: not a candidate"
        for mr in edition.elsewhere
    ]

    new = [c for c in edition.candidates if c.outcome is Outcome.PICKED]
    for remote, url in edition.remotes:
        plan.add(
            Step(
                "git.push",
                f"push {edition.branch} to {remote} of {edition.label}",
                Target(project=edition.project, remote=remote, refs=(f"refs/heads/{edition.branch}",)),
                action=_push(edition, remote),
                check=_read_back(edition, remote, url),
                done=edition.tips[remote] == edition.tip,
                result=f"at {edition.tip[:8]}" if edition.tips[remote] == edition.tip else "",
                details=tuple(f"{c.commit[:8]} {c.reference} {quote(c.mr.title, 80)}" for c in new),
            )
        )

    group = f"{edition.key}-merge-requests"
    for candidate, mark in _commented(edition):
        note = comments.get((edition.project, candidate.mr.iid, mark))
        if candidate.outcome.is_picked:
            commit_url = f"{gitlab.instance.url}/{edition.project}/commit/{candidate.commit}"
            body = picked_comment(candidate, edition, commit_url)
            summary = f"comment on {edition.label} {candidate.reference}: picked as {candidate.commit[:8]}"
            details: tuple[str, ...] = ()
        else:
            body = not_picked_comment(candidate, edition, label)
            summary = f"comment on {edition.label} {candidate.reference}: tell {_mention(candidate)} it needs a manual pick"
            details = (reason(candidate, edition),)
            plan.problems.append(
                f"{edition.label} {candidate.reference} {quote(candidate.mr.title, 80)}: {reason(candidate, edition)}; "
                f"it needs a merge request against {edition.branch}"
            )
        noted = f"{candidate.mr.web_url}#note_{note.id}" if note else ""
        plan.add(
            Step(
                "note.create",
                summary,
                Target(project=edition.project, instance=instance, merge_request=candidate.reference),
                action=_comment(gitlab, edition, candidate, body),
                done=note is not None,
                result=noted,
                urls=(noted,) if noted else (),
                details=details,
                preview=body,
                on_failure=Failure.CONTINUE,
                group=group,
            )
        )
        if relabel and candidate.outcome.is_picked:
            _add_label_step(plan, edition, candidate, label, relabel, gitlab, instance, group)
    if relabel:
        # Not those picked by hand without a `cherry picked from` line (APPLIED): nothing on
        # the branches names them, so a relabelled one could not be listed again.
        for candidate in edition.candidates:
            if candidate.outcome is Outcome.ON_STABLE:
                _add_label_step(plan, edition, candidate, label, relabel, gitlab, instance, group)

    command = f"invoke cherry_pick {'--security ' if settings.security else ''}{edition.version.to_ce()}"
    text = section(edition, command)
    mr = edition.merge_request
    if mr is None:
        plan.notes.append(f"{edition.label}: no open merge request from {edition.branch} into {edition.stable}")
    listed = bool(mr) and with_section(mr.description, text) == mr.description
    plan.add(
        Step(
            "merge_request.update",
            f"list the picks in the description of {edition.label} {f'!{mr.iid}' if mr else 'preparation merge request'}",
            Target(project=edition.project, instance=instance, merge_request=f"!{mr.iid}" if mr else ""),
            action=_describe(gitlab, edition, text) if mr else None,
            check=_description_check(gitlab, edition, text) if mr else None,
            done=listed,
            skip="" if mr else f"no open merge request from {edition.branch} into {edition.stable}",
            result=mr.web_url if listed else "",
            urls=(mr.web_url,) if mr else (),
            preview=text,
            on_failure=Failure.CONTINUE,
        )
    )


def _add_label_step(plan, edition, candidate, label, relabel, gitlab, instance, group) -> None:
    from .plan import Failure, Step, Target

    def relabel_it() -> None:
        gitlab.update_merge_request(edition.project, candidate.mr.iid, add_labels=[relabel], remove_labels=[label])

    labels = set(candidate.mr.labels)
    plan.add(
        Step(
            "label.update",
            f"relabel {edition.label} {candidate.reference}: {quote(label)} -> {quote(relabel)}",
            Target(project=edition.project, instance=instance, merge_request=candidate.reference),
            action=relabel_it,
            done=label not in labels and relabel in labels,
            on_failure=Failure.CONTINUE,
            group=group,
        )
    )


def _push(edition: Edition, remote: str):
    def push() -> str:
        assert edition.repo is not None
        edition.repo.push(remote, [f"{edition.tip}:refs/heads/{edition.branch}"], atomic=True)
        return f"{edition.tips[remote][:8]}..{edition.tip[:8]}"

    return push


def _read_back(edition: Edition, remote: str, url: str):
    def check() -> str | None:
        found = ls_remote(url, branches=[edition.branch], label=edition.label).branches.get(edition.branch)
        return None if found == edition.tip else f"{edition.branch} is at {(found or 'nothing')[:8]}, not {edition.tip[:8]}"

    return check


def _comment(gitlab: Any, edition: Edition, candidate: Candidate, body: str):
    def comment():
        from .plan import Report

        note = gitlab.add_merge_request_note(edition.project, candidate.mr.iid, body)
        url = f"{candidate.mr.web_url}#note_{note.id}"
        return Report(url, (url,))

    return comment


def _describe(gitlab: Any, edition: Edition, text: str):
    def describe():
        from .plan import Report

        current = gitlab.merge_request(edition.project, edition.merge_request.iid)
        updated = gitlab.update_merge_request(edition.project, current.iid, description=with_section(current.description, text))
        return Report(updated.web_url, (updated.web_url,))

    return describe


def _description_check(gitlab: Any, edition: Edition, text: str):
    def check() -> str | None:
        current = gitlab.merge_request(edition.project, edition.merge_request.iid)
        return None if text in current.description else "the description does not list the picks"

    return check


def add_slack_step(plan: Any, settings: Settings, version: Version, chosen: Sequence[Edition]) -> None:
    """The run's one Slack line (best effort: a failure is reported, and the run goes on)."""
    from . import slack
    from .plan import Failure, Step, Target

    variable = "SLACK_CHERRY_PICK_URL" if settings.secret("SLACK_CHERRY_PICK_URL") else "SLACK_TAG_URL"
    url = settings.secret(variable)
    picked = {e.label: sum(1 for c in e.candidates if c.outcome is Outcome.PICKED) for e in chosen}
    left = sum(1 for e in chosen for c in e.candidates if not c.outcome.is_picked)
    text = slack_text(version.to_ce(), {label: n for label, n in picked.items() if n}, left)
    plan.headline = text
    if settings.security:
        skip = "a security release is not announced"
    elif not url:
        skip = "no Slack webhook (SLACK_CHERRY_PICK_URL or SLACK_TAG_URL)"
    elif not plan.pending():
        skip = "nothing new to announce"
    else:
        skip = ""
    plan.add(
        Step(
            "slack.post",
            f"post {quote(text, 300)} to Slack",
            Target(channel="slack"),
            action=lambda: slack.post(url, text, variable=variable),
            skip=skip,
            on_failure=Failure.WARN,
        )
    )
