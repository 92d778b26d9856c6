"""Tagging a release on every remote of gitlab-ee, gitlab-ce and omnibus-gitlab; syncing `master`.

`tag()` does, for EE then CE (each skippable), what the original's `rake tag` did:

- gitlab: create `X-Y-stable[-ee]` from `master` when missing, compile the changelog
  (not for RCs), bump `VERSION`, tag `vX.Y.Z[-ee]` (annotated, `Version <tag>`); a final
  CE `X.Y.0` also moves `master` to `X.(Y+1).0-pre` and tags `vX.(Y+1).0.pre`;
- omnibus: copy the component version files and `VERSION` from the gitlab stable branch
  just tagged, update the OpenShift template (final CE releases newer than the one it
  names), tag `X.Y.Z+[rcN.]<ce|ee>.0`;
- push the stable branch, `master` and the tags to every remote, one atomic push per remote;
- post the Slack tag notification; a failure is reported and the next edition goes on.

It plans first and applies afterwards. Planning reads every remote (`git ls-remote`),
clones (shallow, blobless and sparse: see `CLONE_OPTIONS`), brings `master` and the
stable branch up to date with every remote, and makes the release's commits and tags
locally, for every edition, before a single push. Then:

- a tag that already exists on the commit this run would tag is reported and left alone;
  one that points elsewhere stops the run before anything is pushed;
- a ref a remote already has is not pushed again, so running the same command after a
  failure (a refused push, a dropped connection) finishes the release;
- a dry run stops after planning and prints the pushes it would make;
- after pushing, every remote is read again to confirm it has what was pushed.

Differences from the original, on purpose: no shell strings, push results checked,
temporary clones removed on every path, re-runs safe, Slack failures isolated, commit
messages name files by their path in the repository, the requester (not the CI bot) is
credited in Slack, the omnibus tag is placed after the OpenShift template update so
that it names the stable branch's tip (a re-run then finds it where it expects it), every
`gitlab/gitlab-ce` image of the OpenShift template is updated, not only the first (the
template must not name two versions), a missing or unreadable template is reported and
skipped instead of stopping the release, and `sync` refuses to run in security mode.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from . import changelog
from .config import Project, Settings
from .output import result, say
from .errors import (
    ConfigurationError,
    GitError,
    Interrupted,
    PushError,
    ReleaseStateError,
    SlackError,
    VersionFileError,
)
from .git import RemoteRefs, Repository, identity, ls_remote
from .version import OmnibusVersion, Version

#: How every release clone is made: the needed branches only, one commit deep, without file
#: contents except those of the sparse checkout. History is deepened only when remotes differ.
#: `benchmarks/clone.py` compares it with the alternatives.
CLONE_OPTIONS = {"depth": 1, "filter": "blob:none", "tags": False}

GITLAB_SPARSE = changelog.ENTRY_FOLDERS
OMNIBUS_SPARSE = ("docker",)
OPENSHIFT_TEMPLATE = "docker/openshift-template.json"

EDITIONS = (("ee", "EE"), ("ce", "CE"))


# -- plans ------------------------------------------------------------------------------


@dataclass
class RefUpdate:
    """One ref a project's remotes should end up with."""

    ref: str  # refs/heads/11-1-stable, refs/tags/v11.1.0
    new: str  # the commit (branch) or tag object to push
    old: dict[str, str | None]  # remote -> what it has now (None: absent); == new when done

    @property
    def name(self) -> str:
        return self.ref.removeprefix("refs/heads/").removeprefix("refs/tags/")

    @property
    def is_tag(self) -> bool:
        return self.ref.startswith("refs/tags/")

    def is_done(self, remote: str) -> bool:
        return self.old.get(remote) == self.new


@dataclass
class ProjectPlan:
    """What one project's remotes need: ref updates, made from a prepared local clone."""

    label: str  # gitlab-ee, omnibus-gitlab
    repo: Repository
    remotes: list[str]
    updates: list[RefUpdate] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)  # tag -> the branch whose commit it marks
    stable_branch: str = ""
    pushed: list[str] = field(default_factory=list)  # remotes this run pushed to
    tagged: list[str] = field(default_factory=list)  # remotes this run pushed a tag to
    in_flight: str | None = None  # the remote being pushed to right now

    def pending(self, remote: str) -> list[RefUpdate]:
        return [update for update in self.updates if not update.is_done(remote)]

    def refspecs(self, remote: str) -> list[str]:
        return [f"{update.new}:{update.ref}" for update in self.pending(remote)]


@dataclass
class EditionPlan:
    """One edition's release: its gitlab project, then omnibus."""

    label: str  # EE, CE
    version: Version
    projects: list[ProjectPlan] = field(default_factory=list)


# -- the tag task ---------------------------------------------------------------------


def tag(settings: Settings, version: Version, requester: str | None = None) -> None:
    """Release `version`: EE, then CE, each with its omnibus, on every remote (see module).

    Raises ReleaseStateError (nothing pushed) when a tag points elsewhere or branches
    diverged beyond a clean merge, GitError/PushError when git or a remote fails,
    VersionFileError for a missing component version file, ConfigurationError for a
    project without a usable remote.
    """
    if settings.security:
        say("Security release: using only the dev remotes!", "red")
        say()
    if settings.dry_run:
        say("Dry run: nothing will be pushed and nothing posted.", "yellow")
    announce_date(settings)
    check_identity()

    plans: list[EditionPlan] = []
    try:
        _tag(settings, version, requester, plans)
    except Interrupted as stop:
        stop.progress = describe_interruption([project for plan in plans for project in plan.projects])
        raise


def _tag(settings: Settings, version: Version, requester: str | None, plans: list[EditionPlan]) -> None:
    """`tag()`, filling `plans` in as it goes, so that an interrupted run can say how far it got."""
    with contextlib.ExitStack() as clones:
        omnibus_clone: list[Repository] = []  # one clone serves both editions (see prepare_omnibus)
        for key, label in EDITIONS:
            if key in settings.skip:
                say(f"Skipping release for {label}", "yellow")
                continue
            edition_version = version.to_ee() if key == "ee" else version.to_ce()
            say(f"{label} release", "blue")
            plan = EditionPlan(label, edition_version)
            plans.append(plan)
            gitlab = prepare_gitlab(clones, settings, key, edition_version)
            plan.projects.append(gitlab)
            if "omnibus" in settings.skip:
                say(f"Skipping omnibus-gitlab for {label}", "yellow")
            else:
                plan.projects.append(prepare_omnibus(clones, settings, edition_version, gitlab, omnibus_clone))

        for plan in plans:
            for project in plan.projects:
                show(project)
        if settings.dry_run:
            for plan in plans:
                for project in plan.projects:
                    result(describe_dry_run(project))
            return

        for plan in plans:
            for project in plan.projects:
                apply(project)
                verify(project)
                result(describe_outcome(project))
            # Announced when this run tagged something, not when it only brought a branch
            # up to date (a re-run after a remote's master moved on).
            if any(project.tagged for project in plan.projects):
                notify(settings, plan.version, requester)


def notify(settings: Settings, version: Version, requester: str | None) -> None:
    """Post the Slack tag message when SLACK_TAG_URL is set; report a failure, never raise it."""
    url = settings.secret("SLACK_TAG_URL")
    if not url:
        return
    from . import slack

    who = requester or (identity() or ("release-tools",))[0]
    try:
        slack.notify_tag(url, who, str(version))
    except SlackError as error:
        result(f"Slack notification for {version} failed: {error}", "red", err=True)
    else:
        say(f"Slack notified: {slack.tag_message(who, str(version))}")


# -- gitlab ---------------------------------------------------------------------------


def prepare_gitlab(clones: contextlib.ExitStack, settings: Settings, key: str, version: Version) -> ProjectPlan:
    """Clone gitlab-ce/ee and make the release's commits and tags locally; push nothing."""
    project = settings.project(key)
    remotes = project_remotes(settings, project)
    stable = version.stable_branch()
    tag_name = version.tag()
    pre = _next_pre(version) if key == "ce" else None
    tags = [tag_name] + ([f"{pre.tag()}.pre"] if pre else [])
    label = project_label(project)

    states = read_remotes(remotes, ("master", stable), tags, label)
    say("Prepare repository...")
    repo = clones.enter_context(release_clone(remotes, stable, states, GITLAB_SPARSE, label))

    if not version.is_rc:
        for update in changelog.release(repo, version, stable, today=settings.clock.today()):
            changelog.report(label, update)
    bump_version(repo, "VERSION", str(version))

    marks = {tag_name: stable, **({tags[1]: "master"} if pre else {})}
    plan = ProjectPlan(label, repo, [name for name, _ in remotes], tags=marks, stable_branch=stable)
    plan.updates.append(plan_tag(repo, tag_name, repo.head(), states))

    if pre is not None:
        repo.checkout("master")
        pre_text = f"{pre.major}.{pre.minor}.0-pre"
        bumped = bump_version(repo, "VERSION", pre_text)
        plan.updates.append(plan_tag(repo, tags[1], repo.head(), states, created_now=bumped))
        repo.checkout(stable)

    plan.updates[:0] = [branch_update(repo, stable, states), branch_update(repo, "master", states)]
    connect(repo, plan, states)
    return plan


def _next_pre(version: Version) -> Version | None:
    """A final CE `X.Y.0` moves master to `X.(Y+1).0-pre`; the tag is `vX.(Y+1).0.pre`."""
    if version.ee or version.is_rc or version.patch != 0:
        return None
    return Version(version.major, version.minor + 1, 0)


# -- omnibus --------------------------------------------------------------------------


def component_files(version: Version) -> list[str]:
    """The version files omnibus copies from GitLab, in order; VERSION always last."""
    files = ["GITLAB_SHELL_VERSION", "GITLAB_WORKHORSE_VERSION"]
    if (version.major, version.minor) > ((8, 4) if version.ee else (8, 16)):
        files.append("GITLAB_PAGES_VERSION")
    if version.major >= 9:
        files.append("GITALY_SERVER_VERSION")
    return [*files, "VERSION"]


def prepare_omnibus(
    clones: contextlib.ExitStack,
    settings: Settings,
    version: Version,
    gitlab: ProjectPlan,
    shared: list[Repository] | None = None,
) -> ProjectPlan:
    """Clone omnibus-gitlab and make its release commits and tag locally; push nothing.

    Both editions share `master`, so they share one clone through `shared` (a list holding
    it once made): otherwise each would merge diverged remotes into a commit of its own,
    and the second edition's push of `master` would be refused.
    """
    omnibus = version.to_omnibus(ee=version.ee)
    project = settings.project("omnibus")
    remotes = project_remotes(settings, project)
    stable = omnibus.stable_branch()
    label = project_label(project)

    states = read_remotes(remotes, ("master", stable), [omnibus.tag], label)
    if shared:
        repo = shared[0]
        prepare_branches(repo, stable, states)
    else:
        repo = clones.enter_context(release_clone(remotes, stable, states, OMNIBUS_SPARSE, label))
        if shared is not None:
            shared.append(repo)

    source = f"refs/heads/{gitlab.stable_branch}"
    for file in component_files(version):
        value = gitlab.repo.read_file(file, ref=source)
        if value is None:
            raise VersionFileError(f"{file} is missing from {gitlab.label} {gitlab.stable_branch}")
        if repo.read_file(file) is None:
            raise VersionFileError(f"{file} is missing from {label} {stable}")
        bump_version(repo, file, value.strip())

    updates_template = not version.ee and not version.is_rc
    if updates_template:
        update_openshift_template(repo, omnibus, stable)

    plan = ProjectPlan(label, repo, [name for name, _ in remotes], tags={omnibus.tag: stable}, stable_branch=stable)
    plan.updates.append(plan_tag(repo, omnibus.tag, repo.head(), states))

    if updates_template:
        repo.checkout("master")
        update_openshift_template(repo, omnibus, "master")
        repo.checkout(stable)

    plan.updates[:0] = [branch_update(repo, stable, states), branch_update(repo, "master", states)]
    connect(repo, plan, states)
    return plan


_TEMPLATE_IMAGE = re.compile(r"gitlab/gitlab-ce:(\d+\.\d+\.\d+)-ce\.\d+")
_TEMPLATE_VERSION = re.compile(r"\bgitlab-\d+\.\d+\.\d+\b")


def openshift_template(text: str, omnibus: OmnibusVersion) -> str | None:
    """The template naming `omnibus`'s image and version, or None when the newest image it
    names is this version or a newer one already.

    Every `gitlab/gitlab-ce:X.Y.Z-ce.N` image is replaced, as every `gitlab-X.Y.Z` is: a
    template naming two versions would deploy one and describe another (the original
    replaced the first image only). Raises ValueError when it names no such image.
    """
    named = [Version.parse(version) for version in _TEMPLATE_IMAGE.findall(text)]
    if not named:
        raise ValueError("it names no gitlab/gitlab-ce:X.Y.Z-ce.N image")
    if not omnibus.version.to_patch() > max(named):
        return None
    text = _TEMPLATE_IMAGE.sub(f"gitlab/gitlab-ce:{omnibus.docker}", text)
    return _TEMPLATE_VERSION.sub(f"gitlab-{omnibus.version.to_patch()}", text)


def update_openshift_template(repo: Repository, omnibus: OmnibusVersion, branch: str) -> None:
    """Point the OpenShift template of the checked-out `branch` at this release, if newer.

    A missing or unrecognisable template is reported and skipped: it is not worth
    stopping a release for.
    """
    text = repo.read_file(OPENSHIFT_TEMPLATE)
    if text is None:
        say(f"{OPENSHIFT_TEMPLATE} does not exist on {branch}: OpenShift template not updated", "red", err=True)
        return
    try:
        updated = openshift_template(text, omnibus)
    except ValueError as error:
        say(f"{OPENSHIFT_TEMPLATE} on {branch} not updated: {error}", "red", err=True)
        return
    if updated is None:
        return
    say(f"Update {OPENSHIFT_TEMPLATE} to {omnibus.docker}...")
    repo.write_file(OPENSHIFT_TEMPLATE, updated)
    repo.commit(f"Update {OPENSHIFT_TEMPLATE} to {omnibus.docker}", [OPENSHIFT_TEMPLATE])


# -- shared steps ---------------------------------------------------------------------


def announce_date(settings: Settings) -> None:
    """Say so when the dates this run writes are not today's (release_tools.date, SOURCE_DATE_EPOCH)."""
    note = settings.clock.note()
    if note:
        say(note, "yellow")


def check_identity() -> None:
    """Raise GitError unless git knows whom to commit as: better now than after cloning."""
    if identity() is None:
        raise GitError(
            "git does not know who you are: set user.name and user.email "
            "(git config --global) or GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL and GIT_COMMITTER_NAME/GIT_COMMITTER_EMAIL"
        )


def bump_version(repo: Repository, file: str, value: str) -> bool:
    """Write `value` to `file` and commit `Update <file> to <value>`, unless it holds it already."""
    current = repo.read_file(file)
    if current is not None and current.strip() == value:
        return False
    say(f"Update {file} to {value}...")
    repo.write_file(file, value + "\n")
    return repo.commit(f"Update {file} to {value}", [file]) is not None


def project_remotes(settings: Settings, project: Project) -> tuple[tuple[str, str], ...]:
    remotes = project.remotes_for(settings.security)
    if not remotes:
        if settings.security:
            raise ConfigurationError(
                f"release_tools.projects.{project.key}.remotes has no `dev` remote, the only one a security release uses"
            )
        raise ConfigurationError(f"release_tools.projects.{project.key}.remotes is empty")
    return remotes


def project_label(project: Project) -> str:
    return project.path.rstrip("/").split("/")[-1]


def read_remotes(
    remotes: Sequence[tuple[str, str]], branches: Iterable[str], tags: Iterable[str], label: str
) -> dict[str, RemoteRefs]:
    """What each remote has of `branches` and `tags`; every remote must have `master`."""
    branches, tags = list(branches), list(tags)
    states = {name: ls_remote(url, branches=branches, tags=tags, label=label) for name, url in remotes}
    for name, refs in states.items():
        if "master" in branches and "master" not in refs.branches:
            raise ReleaseStateError(f"{label}: remote {name} has no master branch; check its URL in the configuration")
    return states


def integrate(repo: Repository, branch: str, states: dict[str, RemoteRefs]) -> str | None:
    """Make the local `branch` contain `branch` of every remote that has it; return its tip,
    or None when neither a remote nor the clone has it.

    A remote behind the others is simply fast-forwarded by the push later; one ahead is
    taken; two that diverged are merged (as the original's pull from every remote did),
    and a conflict raises ReleaseStateError before anything is pushed.
    """
    tips = [(remote, refs.branches[branch]) for remote, refs in states.items() if branch in refs.branches]
    local = repo.rev_parse(f"refs/heads/{branch}")
    if not tips:
        return local
    # Fetch each distinct tip once: remotes in sync (the usual case) cost no extra fetch.
    fetched = {repo.rev_parse(f"refs/remotes/{remote}/{branch}") for remote, _ in tips}
    for remote, sha in tips:
        if sha not in fetched:
            repo.fetch_branch(remote, branch, depth=1)
            fetched.add(sha)

    # Start from what the clone has (its own commits included), else the first remote's tip.
    if local:
        leader = next((remote for remote, sha in tips if sha == local), "this clone")
        current = local
    else:
        leader, current = tips[0]
    for remote, sha in tips:
        if sha == current:
            continue
        base = repo.merge_base(current, sha, deepen=True)
        if base is None:
            raise ReleaseStateError(
                f"{repo.name}: {branch} on {remote} shares no history with {branch} on {leader}; nothing was pushed"
            )
        if base == sha:
            say(f"{branch}: {remote} is behind {leader}; it will be fast-forwarded")
        elif base == current:
            say(f"{branch}: {remote} is ahead of {leader}; its commits are taken")
            current, leader = sha, remote
        else:
            say(f"{branch}: {remote} and {leader} have diverged; merging them", "yellow")
            repo.set_branch(branch, current)
            repo.checkout(branch)
            merged = repo.merge(sha, message=f"Merge branch '{branch}' of {remote}")
            if merged.status == "conflicts":
                repo.git("merge", "--abort")
                raise ReleaseStateError(
                    f"{repo.name}: {branch} differs between {leader} and {remote} and they conflict "
                    f"({', '.join(merged.conflicts)}); reconcile them by hand, then run again. Nothing was pushed"
                )
            current = repo.head()
    repo.set_branch(branch, current)
    return current


@contextlib.contextmanager
def release_clone(
    remotes: Sequence[tuple[str, str]],
    stable: str,
    states: dict[str, RemoteRefs],
    sparse: Sequence[str],
    label: str,
) -> Iterator[Repository]:
    """A temporary clone for a release: `master` and `stable` as every remote has them
    (`stable` created from `master` when no remote has it), `stable` checked out."""
    with Repository.clone(remotes, branch="master", sparse=sparse, name=label, **CLONE_OPTIONS) as repo:
        prepare_branches(repo, stable, states)
        yield repo


def prepare_branches(repo: Repository, stable: str, states: dict[str, RemoteRefs]) -> None:
    """Bring `master` and `stable` up to date with every remote; check `stable` out."""
    integrate(repo, "master", states)
    if integrate(repo, stable, states) is None:
        say(f"Create branch {stable} from master")
        repo.checkout(stable, start="master")
    else:
        repo.checkout(stable)


def branch_update(repo: Repository, branch: str, states: dict[str, RemoteRefs]) -> RefUpdate:
    return RefUpdate(
        f"refs/heads/{branch}",
        repo.git("rev-parse", "--verify", f"refs/heads/{branch}").strip(),
        {remote: refs.branches.get(branch) for remote, refs in states.items()},
    )


def plan_tag(
    repo: Repository, name: str, target: str, states: dict[str, RemoteRefs], *, created_now: bool = True
) -> RefUpdate:
    """The tag `name` on `target`: reused from a remote that has it there, else created.

    Raises ReleaseStateError when a remote has it on another commit. With
    `created_now=False` (the commit it marks was made by an earlier run), any existing
    copy is accepted.
    """
    holders = {remote: refs for remote, refs in states.items() if name in refs.tags}
    elsewhere = {
        remote: refs.tag_commits[name]
        for remote, refs in holders.items()
        if refs.tag_commits[name] != target and created_now
    }
    if elsewhere:
        remote, commit = next(iter(elsewhere.items()))
        raise ReleaseStateError(
            f"{repo.name}: tag {name} already exists on {remote} and points to {commit[:12]}, not to "
            f"{target[:12]} which this release would tag. Nothing was pushed. If the existing tag is wrong, "
            f"delete it on {remote} and run again."
        )
    if holders:
        source = next(iter(holders))
        repo.fetch(source, f"+refs/tags/{name}:refs/tags/{name}")
        new = holders[source].tags[name]
        say(f"Tag {name} already exists on {', '.join(holders)}; not created again")
    else:
        say(f"Create git tag {name}...")
        new = repo.tag(name, f"Version {name}", target)
    # A remote holding the tag on the right commit is done, whatever its tag object.
    return RefUpdate(f"refs/tags/{name}", new, {r: (new if r in holders else None) for r in states})


def connect(repo: Repository, plan: ProjectPlan, states: dict[str, RemoteRefs]) -> None:
    """Deepen the shallow clone until every branch a remote lacks meets that remote's master:
    a remote refuses commits whose parents it does not have."""
    for update in plan.updates:
        if update.is_tag:
            continue
        for remote in plan.remotes:
            if update.old.get(remote) is None:
                repo.merge_base(update.new, states[remote].branches["master"], deepen=True)


# -- applying -------------------------------------------------------------------------


def show(plan: ProjectPlan) -> None:
    """Print the commits this release adds to each branch, then what each remote lacks."""
    canonical = plan.remotes[0]
    for update in plan.updates:
        if update.is_tag:
            continue
        base = update.old.get(canonical) or next((sha for sha in update.old.values() if sha), None)
        if base is None or base == update.new:
            continue
        for line in plan.repo.log(f"{base}..{update.new}", format="%h %s"):
            say(f"    {update.name}: {line}")
    for remote in plan.remotes:
        pending = plan.pending(remote)
        say(f"[{plan.label}] {remote} needs: {_describe(pending, remote)}" if pending else f"[{plan.label}] {remote} is up to date")


def _describe(updates: Sequence[RefUpdate], remote: str) -> str:
    parts = []
    for update in updates:
        if update.is_tag:
            parts.append(f"tag {update.name}")
        elif update.old.get(remote) is None:
            parts.append(f"{update.name} (new branch)")
        else:
            parts.append(update.name)
    return ", ".join(parts)


def _tags(plan: ProjectPlan) -> str:
    """`v11.1.0 (11-1-stable)`; a plan without tags (a release candidate chart) names its branches."""
    if not plan.tags:
        branches = [update for update in plan.updates if not update.is_tag]
        changed = [u for u in branches if any(not u.is_done(remote) for remote in plan.remotes)]
        return ", ".join(update.name for update in changed or branches)
    return ", ".join(f"{tag} ({branch})" for tag, branch in plan.tags.items())


def describe_dry_run(plan: ProjectPlan) -> str:
    """The outcome line of a dry run: what each remote would be sent."""
    pending = {remote: plan.pending(remote) for remote in plan.remotes if plan.pending(remote)}
    if not pending:
        return f"{plan.label}: {_tags(plan)} already on {', '.join(plan.remotes)}; nothing would be pushed"
    groups: dict[str, list[str]] = {}
    for remote, updates in pending.items():
        groups.setdefault(_describe(updates, remote), []).append(remote)
    return f"{plan.label}: would push " + "; ".join(
        f"{what} to {', '.join(remotes)}" for what, remotes in groups.items()
    )


def describe_outcome(plan: ProjectPlan) -> str:
    """The outcome line of a real run: the tags, and the remotes this run brought them to."""
    if not plan.pushed:
        return f"{plan.label}: {_tags(plan)} already on {', '.join(plan.remotes)}; nothing to push"
    if plan.tags and not plan.tagged:
        branches = "; ".join(
            f"{_describe(plan.pending(remote), remote)} pushed to {remote}" for remote in plan.pushed
        )
        return f"{plan.label}: {_tags(plan)} already on {', '.join(plan.remotes)}; {branches}"
    reached = plan.tagged if plan.tags else plan.pushed
    text = f"{plan.label}: {_tags(plan)} pushed to {', '.join(reached)}"
    before = [remote for remote in plan.remotes if remote not in reached]
    if before:
        text += f"; {', '.join(before)} already had {'it' if len(plan.tags) == 1 else 'them'}"
    return text


def describe_interruption(plans: Sequence[ProjectPlan]) -> str:
    """What an interrupted run had pushed, which push it cut off, and what it did not push:
    `pushed gitlab-ee 11-1-stable-ee, master, tag v11.1.0-ee to dev; the push of gitlab-ee
    to gitlab was cut off ...; not pushed: omnibus-gitlab 11.1.0+ee.0 to dev, gitlab`."""
    done: list[str] = []
    cut: list[str] = []
    left: list[str] = []
    for plan in plans:
        groups: dict[str, list[str]] = {}
        for remote in plan.pushed:
            groups.setdefault(_describe(plan.pending(remote), remote), []).append(remote)
        done += [f"{plan.label} {what} to {', '.join(remotes)}" for what, remotes in groups.items()]
        if plan.in_flight:
            cut.append(f"{plan.label} to {plan.in_flight}")
        rest = [r for r in plan.remotes if r not in plan.pushed and r != plan.in_flight and plan.pending(r)]
        if rest:
            names = list(plan.tags) or [update.name for update in plan.updates if not update.is_tag]
            left.append(f"{plan.label} {', '.join(names)} to {', '.join(rest)}")
    if not (done or cut):
        return "nothing was pushed"
    text = "pushed " + "; ".join(done) if done else "nothing was pushed"
    if cut:
        text += f"; the push of {', '.join(cut)} was cut off and may or may not have arrived"
    if left:
        text += f"; not pushed: {'; '.join(left)}"
    return text + ". Nothing more was pushed; run the same command again to finish"


def carry_out(settings: Settings, plan: ProjectPlan, outcome: Callable[[], str] | None = None) -> None:
    """Run one project's plan: show it; in a dry run, print what would be pushed; otherwise
    push it, read the remotes back, and print the outcome line (`describe_outcome` unless
    `outcome` says otherwise)."""
    show(plan)
    if settings.dry_run:
        result(describe_dry_run(plan))
        return
    try:
        apply(plan)
    except Interrupted as stop:
        stop.progress = describe_interruption([plan])
        raise
    verify(plan)
    result(outcome() if outcome else describe_outcome(plan))


def apply(plan: ProjectPlan) -> None:
    """Push each remote what it lacks, in one atomic push per remote, canonical first.

    Raises PushError at the first refusal; what reached other remotes stays, and running
    the same command again finishes the job.
    """
    for remote in plan.remotes:
        refspecs = plan.refspecs(remote)
        if not refspecs:
            continue
        what = _describe(plan.pending(remote), remote)
        say(f"Push {what} to {remote}...")
        plan.in_flight = remote  # until git answers, the push may or may not arrive
        try:
            push_with_history(plan.repo, remote, refspecs)
        except PushError as error:
            plan.in_flight = None
            say(f"✗ {plan.label} → {remote}: {what}", "red")
            done = f" ({', '.join(plan.pushed)} already updated)" if plan.pushed else ""
            raise PushError(
                f"{plan.label}: {error}{done}. Run the same command again to finish the release.", error.output
            ) from None
        say(f"✓ {plan.label} → {remote}: {what}", "green")
        plan.in_flight = None
        plan.pushed.append(remote)
        if any(update.is_tag for update in plan.pending(remote)):
            plan.tagged.append(remote)


def push_with_history(repo: Repository, remote: str, refspecs: Sequence[str]) -> None:
    """Push atomically; a remote missing history beyond a shallow clone's boundary makes the
    clone fetch all of it, once, and push again. Raises PushError."""
    try:
        repo.push(remote, refspecs)
    except PushError as error:
        if "shallow update not allowed" not in error.output or not repo.is_shallow():
            raise
        repo.deepen(None)
        repo.push(remote, refspecs)


def verify(plan: ProjectPlan) -> None:
    """Read every remote again; raise GitError unless each has what the plan pushed."""
    for remote in plan.remotes:
        branches = [u.name for u in plan.updates if not u.is_tag]
        tags = [u.name for u in plan.updates if u.is_tag]
        refs = plan.repo.ls_remote(remote, branches=branches, tags=tags)
        for update in plan.updates:
            have = refs.tags.get(update.name) if update.is_tag else refs.branches.get(update.name)
            if have is None or (have != update.new and not (update.is_tag and update.is_done(remote))):
                raise GitError(f"{plan.label}: {remote} does not have {update.name} at {update.new[:12]} after the push")


# -- sync -----------------------------------------------------------------------------


SYNC_PROJECTS = (("ee", "EE"), ("ce", "CE"), ("omnibus", "Omnibus GitLab"))


def sync(settings: Settings) -> None:
    """Make `master` identical on every remote of gitlab-ee, gitlab-ce and omnibus-gitlab.

    Remotes behind are fast-forwarded; diverged ones are merged (a conflict stops that
    project before anything is pushed). Raises ReleaseStateError, GitError or PushError;
    ConfigurationError in security mode, before any git command.
    """
    if settings.security:
        # A security release uses only the dev remotes: there is no second remote to sync
        # master with, and syncing with the public ones is what it must not do.
        raise ConfigurationError(
            "sync makes master the same on the dev and the public remotes, and a security release uses only "
            "the dev remotes, so sync does not run in security mode: unset SECURITY (or release_tools.security)"
        )
    if settings.dry_run:
        say("Dry run: nothing will be pushed.", "yellow")
    for key, label in SYNC_PROJECTS:
        if key in settings.skip:
            say(f"Skipping sync for {label}", "yellow")
            continue
        sync_project(settings, settings.project(key))


def sync_project(settings: Settings, project: Project) -> None:
    remotes = project_remotes(settings, project)
    label = project_label(project)
    if len(remotes) < 2:
        result(f"{label}: only {remotes[0][0]} is configured; nothing to sync")
        return
    states = read_remotes(remotes, ("master",), (), label)
    tips = {remote: refs.branches["master"] for remote, refs in states.items()}
    if len(set(tips.values())) == 1:
        result(f"{label}: master is identical on {', '.join(tips)} ({next(iter(tips.values()))[:12]})")
        return
    with Repository.clone(remotes, branch="master", sparse=(), name=label, **CLONE_OPTIONS) as repo:
        master = integrate(repo, "master", states)
        assert master is not None  # every remote has master (read_remotes)
        plan = ProjectPlan(label, repo, list(tips), [RefUpdate("refs/heads/master", master, dict(tips))])
        connect(repo, plan, states)
        carry_out(settings, plan, lambda: f"{label}: master {master[:12]} pushed to {', '.join(plan.pushed)}")
