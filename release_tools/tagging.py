"""Tagging a release of gitlab-ee, gitlab-ce and omnibus-gitlab on every remote; syncing `master`.

This module knows only what is particular to EE, CE and omnibus; reading remotes, the
release clone, branches brought in line, tags and pushes are the ref engine's (refs.py).

`tag()` plans, for EE then CE (each skippable), what the original's `rake tag` did:

- gitlab: create `X-Y-stable[-ee]` from `master` when missing, compile the changelog
  (not for RCs), bump `VERSION`, tag `vX.Y.Z[-ee]` (annotated, `Version <tag>`); a final
  CE `X.Y.0` also moves `master` to `X.(Y+1).0-pre` and tags `vX.(Y+1).0.pre`;
- omnibus: copy the component version files and `VERSION` from the gitlab stable branch
  just prepared, update the OpenShift template (final CE releases newer than the one it
  names), tag `X.Y.Z+[rcN.]<ce|ee>.0`;
- push the stable branch, `master` and the tags to every remote: one `git.push` step per
  (project, remote), one atomic push each;
- announce each edition on Slack (`SLACK_TAG_URL`): a `slack.post` step whose failure is
  a warning, skipped when the URL is not set, done when the edition's tags were on every
  remote before this run.

Everything is prepared before the plan runs: every remote read once, every project
cloned (shallow, blobless, nothing checked out) and its commits and tags made, for every
edition. A tag that already exists on the commit this run would tag is reused; one that
points elsewhere stops the run before anything is pushed. A ref a remote already has is
not pushed again, so running the same command after a failure finishes the release. A
dry run shows the plan and stops; after pushing, every remote is read again.

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
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import changelog
from .config import Project, Settings
from .errors import ConfigurationError, VersionFileError
from .git import Idents
from .output import say
from .plan import Failure, Plan, Report, Step, Target, execute
from .refs import (
    Draft,
    PlannedTag,
    RefUpdate,
    ReleaseClone,
    RemoteReads,
    announce_date,
    check_identity,
    project_label,
    project_remotes,
    push_steps,
    read_remotes,
)
from .version import OmnibusVersion, Version

COMPONENT_FILES = ("GITLAB_SHELL_VERSION", "GITLAB_WORKHORSE_VERSION", "GITLAB_PAGES_VERSION", "GITALY_SERVER_VERSION")
OPENSHIFT_TEMPLATE = "docker/openshift-template.json"

#: What a release reads of each project (listed, and the contents fetched, in one go).
GITLAB_VIEW = ("VERSION", changelog.CE_CHANGELOG.path, changelog.EE_CHANGELOG.path, *COMPONENT_FILES,
               *changelog.ENTRY_FOLDERS)
OMNIBUS_VIEW = ("VERSION", *COMPONENT_FILES, OPENSHIFT_TEMPLATE)

EDITIONS = (("ee", "EE"), ("ce", "CE"))


@dataclass
class ProjectRelease:
    """One project's part of an edition's release: the branches and tags its remotes should
    end up with (turned into ref updates once the clone is written)."""

    label: str  # gitlab-ee, omnibus-gitlab
    project: Project
    clone: ReleaseClone
    branches: list[Draft] = field(default_factory=list)
    #: Branches pushed as the remotes have them, only to a remote that lacks that (omnibus's
    #: master for EE: behind, or diverged and merged here).
    as_found: list[Draft] = field(default_factory=list)
    tags: list[PlannedTag] = field(default_factory=list)
    updates: list[RefUpdate] = field(default_factory=list)

    def plan_updates(self) -> None:
        clone = self.clone
        updates = [clone.branch_update(branch) for branch in self.branches]
        for branch in self.as_found:
            found = {remote: clone.states[remote].branches.get(branch.name) for remote, _ in clone.remotes}
            update = RefUpdate(branch.ref, branch.base, found)
            if any(not update.is_done(remote) for remote, _ in clone.remotes):
                updates.append(update)
        updates += [clone.tag_update(planned) for planned in self.tags]
        clone.connect(updates)
        self.updates = updates

    def steps(self, reads: RemoteReads) -> list[Step]:
        return push_steps(
            self.clone.repo,
            self.clone.remotes,
            self.updates,
            reads,
            project=self.project.path,
            label=self.label,
            details=self.clone.commit_lines(self.updates),
        )


@dataclass
class Edition:
    """EE or CE: its version, its gitlab project, its omnibus."""

    key: str  # ee, ce
    label: str  # EE, CE
    version: Version
    gitlab: ProjectRelease | None = None
    omnibus: ProjectRelease | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def projects(self) -> list[ProjectRelease]:
        return [project for project in (self.gitlab, self.omnibus) if project is not None]


# -- the tag task ---------------------------------------------------------------------


def tag(settings: Settings, version: Version, requester: str | None = None) -> Plan:
    """Release `version`: EE, then CE, each with its omnibus, on every remote (see module);
    return the plan, run.

    Raises, before anything is pushed: ReleaseStateError when a tag points elsewhere or
    branches diverged beyond a clean merge, GitError when git or a remote cannot be read,
    VersionFileError for a missing component version file, ConfigurationError for a
    project without a usable remote.
    """
    if settings.security:
        say("Security release: using only the dev remotes!", "red")
        say()
    announce_date(settings)
    who = check_identity()
    editions = []
    for key, label in EDITIONS:
        if key in settings.skip:
            say(f"Skipping release for {label}", "yellow")
            continue
        editions.append(Edition(key, label, version.to_ee() if key == "ee" else version.to_ce()))
    if "omnibus" in settings.skip:
        for edition in editions:
            say(f"Skipping omnibus-gitlab for {edition.label}", "yellow")

    plan = Plan(settings.task or "tag", str(version), security=settings.security)
    reads = RemoteReads()
    with contextlib.ExitStack() as clones:
        prepare(settings, editions, clones, who, reads)
        for edition in editions:
            for project in edition.projects:
                plan.steps += project.steps(reads)
                plan.notes += [note for note in project.clone.notes if note not in plan.notes]
            plan.add(announcement(settings, edition, requester or who.name))
        for edition in editions:
            plan.notes += edition.notes
        return execute(plan, settings.run)


def prepare(
    settings: Settings, editions: Sequence[Edition], clones: contextlib.ExitStack, who: Idents, reads: RemoteReads
) -> None:
    """Read every remote once, clone each project once, and make every edition's commits
    and tags in the clones; nothing is pushed."""
    with_omnibus = "omnibus" not in settings.skip and editions
    # One read per remote, for every ref of every edition.
    gitlab_states = {}
    for edition in editions:
        project = settings.project(edition.key)
        tags = [edition.version.tag()] + ([_pre_tag(edition.version)] if _next_pre(edition.version) else [])
        gitlab_states[edition.key] = read_remotes(
            reads, project_remotes(settings, project), project_label(project), [edition.version.stable_branch()], tags
        )
    if with_omnibus:
        omnibus_project = settings.project("omnibus")
        omnibus_remotes = project_remotes(settings, omnibus_project)
        stables = [edition.version.to_omnibus(ee=edition.version.ee).stable_branch() for edition in editions]
        omnibus_tags = [edition.version.to_omnibus(ee=edition.version.ee).tag for edition in editions]
        omnibus_states = read_remotes(reads, omnibus_remotes, project_label(omnibus_project), stables, omnibus_tags)

    for edition in editions:
        project = settings.project(edition.key)
        label = project_label(project)
        say(f"{edition.label} release", "blue")
        say("Prepare repository...")
        clone = clones.enter_context(
            ReleaseClone.open(
                project_remotes(settings, project),
                gitlab_states[edition.key],
                who,
                branches=("master", edition.version.stable_branch()),
                view=GITLAB_VIEW,
                label=label,
            )
        )
        edition.gitlab = ProjectRelease(label, project, clone)
        prepare_gitlab(settings, edition, edition.gitlab)

    # Both editions share omnibus's `master`, so they share one clone: otherwise each would
    # merge diverged remotes into a commit of its own, and the second push of master would
    # be refused.
    if with_omnibus:
        label = project_label(omnibus_project)
        omnibus = clones.enter_context(
            ReleaseClone.open(
                omnibus_remotes, omnibus_states, who, branches=("master", *stables), view=OMNIBUS_VIEW, label=label
            )
        )
        master = omnibus.branch("master")
        assert master is not None
        for stable in stables:  # every branch first: their files are then fetched together
            omnibus.branch_or_start(stable, master)
        for edition in editions:
            say(f"{label} for {edition.label}", "blue")
            edition.omnibus = ProjectRelease(label, omnibus_project, omnibus)
            prepare_omnibus(edition, edition.omnibus)

    written: list[ReleaseClone] = []
    for edition in editions:
        for project in edition.projects:
            if project.clone not in written:
                project.clone.write()
                written.append(project.clone)
    for edition in editions:
        for project in edition.projects:
            project.plan_updates()


# -- gitlab ---------------------------------------------------------------------------


def prepare_gitlab(settings: Settings, edition: Edition, release: ProjectRelease) -> None:
    """The release's commits and tags on the gitlab project's stable branch and master."""
    version, clone = edition.version, release.clone
    master = clone.branch("master")
    assert master is not None  # every remote has master (read_remotes)
    stable = clone.branch_or_start(version.stable_branch(), master)
    if not version.is_rc:
        for update in changelog.release(stable, master, version, today=settings.clock.today()):
            edition.notes += changelog.report(clone.label, update)
    bump_version(stable, "VERSION", str(version))
    release.branches = [stable, master]
    release.tags.append(clone.tag(version.tag(), stable, f"Version {version.tag()}"))
    pre = _next_pre(version)
    if pre is not None:
        bumped = bump_version(master, "VERSION", f"{pre.major}.{pre.minor}.0-pre")
        # Not bumped now: an earlier run did, and master may have moved on since; its tag stands.
        release.tags.append(clone.tag(_pre_tag(version), master, f"Version {_pre_tag(version)}", any_commit=not bumped))


def _next_pre(version: Version) -> Version | None:
    """A final CE `X.Y.0` moves master to `X.(Y+1).0-pre`; the tag is `vX.(Y+1).0.pre`."""
    if version.ee or version.is_rc or version.patch != 0:
        return None
    return Version(version.major, version.minor + 1, 0)


def _pre_tag(version: Version) -> str:
    pre = _next_pre(version)
    assert pre is not None
    return f"{pre.tag()}.pre"


# -- omnibus --------------------------------------------------------------------------


def component_files(version: Version) -> list[str]:
    """The version files omnibus copies from GitLab, in order; VERSION always last."""
    files = ["GITLAB_SHELL_VERSION", "GITLAB_WORKHORSE_VERSION"]
    if (version.major, version.minor) > ((8, 4) if version.ee else (8, 16)):
        files.append("GITLAB_PAGES_VERSION")
    if version.major >= 9:
        files.append("GITALY_SERVER_VERSION")
    return [*files, "VERSION"]


def prepare_omnibus(edition: Edition, release: ProjectRelease) -> None:
    """The edition's omnibus commits (component versions, the OpenShift template) and tag."""
    version, clone = edition.version, release.clone
    assert edition.gitlab is not None
    omnibus = version.to_omnibus(ee=version.ee)
    master = clone.branch("master")
    assert master is not None
    stable = clone.branch_or_start(omnibus.stable_branch(), master)
    gitlab = edition.gitlab.branches[0]

    files = component_files(version)
    values = gitlab.read_many(files)
    for file in files:
        value = values[file]
        if value is None:
            raise VersionFileError(f"{file} is missing from {edition.gitlab.label} {gitlab.name}")
        if stable.read(file) is None:
            raise VersionFileError(f"{file} is missing from {clone.label} {stable.name}")
        bump_version(stable, file, value.strip())

    updates_template = not version.ee and not version.is_rc
    if updates_template:
        update_openshift_template(stable, omnibus)
    release.tags.append(clone.tag(omnibus.tag, stable, f"Version {omnibus.tag}"))
    if updates_template:
        update_openshift_template(master, omnibus)
        release.branches = [stable, master]
    else:
        release.branches, release.as_found = [stable], [master]


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


def update_openshift_template(branch: Draft, omnibus: OmnibusVersion) -> None:
    """Point the OpenShift template of `branch` at this release, if newer.

    A missing or unrecognisable template is reported and skipped: it is not worth
    stopping a release for.
    """
    text = branch.read(OPENSHIFT_TEMPLATE)
    if text is None:
        say(f"{OPENSHIFT_TEMPLATE} does not exist on {branch.name}: OpenShift template not updated", "red", err=True)
        return
    try:
        updated = openshift_template(text, omnibus)
    except ValueError as error:
        say(f"{OPENSHIFT_TEMPLATE} on {branch.name} not updated: {error}", "red", err=True)
        return
    if updated is None:
        return
    say(f"Update {OPENSHIFT_TEMPLATE} to {omnibus.docker}...")
    branch.commit(f"Update {OPENSHIFT_TEMPLATE} to {omnibus.docker}", {OPENSHIFT_TEMPLATE: updated})


# -- Slack ------------------------------------------------------------------------------


def announcement(settings: Settings, edition: Edition, who: str) -> Step:
    """The edition's Slack post: skipped without SLACK_TAG_URL, already done when its tags
    were on every remote before this run (a re-run that only brought a branch up to date
    announces nothing)."""
    from . import slack

    text = slack.tag_message(who, str(edition.version))
    tagged = all(
        update.is_done(remote)
        for project in edition.projects
        for update in project.updates
        if update.is_tag
        for remote, _ in project.clone.remotes
    )
    url = settings.secret("SLACK_TAG_URL")

    def post() -> Report:
        slack.notify_tag(url, who, str(edition.version))
        return Report(f"posted: {text}")

    return Step(
        "slack.post",
        f"announce {edition.version} on Slack",
        Target(),
        action=post,
        done=tagged,
        skip="" if url or tagged else "SLACK_TAG_URL is not set",
        details=(text,),
        result="its tags were on every remote before this run" if tagged else "",
        on_failure=Failure.WARN,
    )


# -- shared steps ---------------------------------------------------------------------


def bump_version(branch: Draft, file: str, value: str) -> bool:
    """Commit `Update <file> to <value>` on `branch`, unless the file holds it already."""
    current = branch.read(file)
    if current is not None and current.strip() == value:
        return False
    say(f"Update {file} to {value}...")
    return branch.commit(f"Update {file} to {value}", {file: value + "\n"})


# -- sync -----------------------------------------------------------------------------


SYNC_PROJECTS = (("ee", "EE"), ("ce", "CE"), ("omnibus", "Omnibus GitLab"))


def sync(settings: Settings) -> Plan:
    """Make `master` identical on every remote of gitlab-ee, gitlab-ce and omnibus-gitlab;
    return the plan, run.

    Remotes behind are fast-forwarded; diverged ones are merged (a conflict stops the run
    before anything is pushed). Raises ReleaseStateError or GitError while planning;
    ConfigurationError in security mode, before any git command.
    """
    if settings.security:
        # A security release uses only the dev remotes: there is no second remote to sync
        # master with, and syncing with the public ones is what it must not do.
        raise ConfigurationError(
            "sync makes master the same on the dev and the public remotes, and a security release uses only "
            "the dev remotes, so sync does not run in security mode: unset SECURITY (or release_tools.security)"
        )
    plan = Plan(settings.task or "sync", "master")
    reads = RemoteReads()
    with contextlib.ExitStack() as clones:
        for key, label in SYNC_PROJECTS:
            if key in settings.skip:
                say(f"Skipping sync for {label}", "yellow")
                continue
            plan.steps += sync_steps(settings, settings.project(key), reads, clones, plan)
        return execute(plan, settings.run)


def sync_steps(
    settings: Settings, project: Project, reads: RemoteReads, clones: contextlib.ExitStack, plan: Plan
) -> list[Step]:
    """One push step per remote of the project, each done when the remote has master as every remote has it."""
    remotes = project_remotes(settings, project)
    label = project_label(project)
    if len(remotes) < 2:
        plan.notes.append(f"{label}: only {remotes[0][0]} is configured; nothing to sync")
        return []
    states = read_remotes(reads, remotes, label)
    tips = {remote: refs.branches["master"] for remote, refs in states.items()}
    if len(set(tips.values())) == 1:
        tip = next(iter(tips.values()))
        plan.notes.append(f"{label}: master is identical on {', '.join(tips)} ({tip[:12]})")
        return push_steps(None, remotes, [RefUpdate("refs/heads/master", tip, dict(tips))], reads,
                          project=project.path, label=label)
    clone = clones.enter_context(ReleaseClone.open(remotes, states, None, label=label))
    master = clone.branch("master")
    assert master is not None  # every remote has master (read_remotes)
    update = clone.branch_update(master)
    clone.connect([update])
    plan.notes += clone.notes
    return push_steps(clone.repo, remotes, [update], reads, project=project.path, label=label)
