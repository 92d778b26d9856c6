"""Release status: where a release stands, phase by phase, and the next step.

`read_status()` reads the world, never changes it (API GETs and `git ls-remote`, no clone:
files come through the API's raw-file endpoint), and reports, in the release's order:

    issue -> preparation (RC, patch) -> stable branches -> tags -> QA issue -> packages -> chart (final releases)

each with a state (done, in progress, not started, problem; `not shown` for what someone
who is not a release manager may not read) and the facts behind it, then the first phase
not done with the exact command that does it.

A phase reads what the task doing it reads to decide what is done already, through the
same functions, so that `status` and a task can never disagree:

- issue: `issues.find` of the task's issue spec;
- preparation: `preparation.find_merge_request` of the task's specs;
- stable branches and tags: the remotes read as the tag task reads them (`read_remote`);
- QA issue: `qa.find_qa_issue` of `qa.qa_issue_of`;
- packages: `publish.release_jobs`, the pipelines and jobs publish plays.

Reads run concurrently (at most `WORKERS` at a time, besides one thread per phase), each
made once: the remotes of gitlab-ee, gitlab-ce and omnibus-gitlab are read with one
`git ls-remote` each, for both the stable branches and the tags. A read that fails makes
its phase "problem: <one line>" and the others are still reported.
"""

from __future__ import annotations

import enum
import re
import shlex
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .settings import Project, Settings
from .errors import GitLabNotFoundError, ReleaseToolsError, one_line
from .git import RemoteRefs, list_remote_tags, ls_remote
from .version import Version, shown_version

#: The version of the JSON document `ReleaseStatus.to_json()` makes (README, "Status").
SCHEMA = 1
#: Reads in flight at the same time (each phase also runs in a thread of its own).
WORKERS = 8
#: How many chart tags are read at a time, newest first, looking for this version's.
CHART_BATCH = 5
#: At most this many batches of chart tags are read.
CHART_BATCHES = 3
#: How many characters of a commit name the facts show.
SHORT = 12

#: Phases in the order of a release, with the words the output uses for them.
PHASES = {
    "issue": "issue",
    "preparation": "preparation",
    "stable_branches": "stable branches",
    "tags": "tags",
    "qa_issue": "QA issue",
    "packages": "packages",
    "chart": "chart",
}

#: Exit statuses (see `ReleaseStatus.exit_status`).
PROBLEM_STATUS = 3
UNREADABLE_STATUS = 2


class State(str, enum.Enum):
    DONE = "done"
    IN_PROGRESS = "in_progress"
    NOT_STARTED = "not_started"
    PROBLEM = "problem"
    NOT_SHOWN = "not_shown"  # not read: confidential, and the requester is not a release manager

    @property
    def words(self) -> str:
        return self.value.replace("_", " ")


@dataclass
class Next:
    """The next step: what to do, and the command that does it (None: by hand)."""

    phase: str
    action: str
    command: str | None = None
    chat: str | None = None
    urls: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"phase": self.phase, "action": self.action, "command": self.command, "chat": self.chat, "urls": self.urls}

    def line(self) -> str:
        """`tag the release: invoke tag 11.1.2 (chat: /chatops run tag 11.1.2)`."""
        text = f"{PHASES.get(self.phase, self.phase)}: {self.action}"
        if self.command:
            text += f": {self.command}"
        if self.chat:
            text += f" (chat: {self.chat})"
        if self.urls and not self.command:
            text += " " + " ".join(self.urls)
        return text


@dataclass
class Phase:
    """One phase of the release as it stands."""

    name: str
    state: State = State.NOT_STARTED
    facts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    #: Some of it could not be read (a remote, an instance): exit status 2.
    unreadable: bool = False
    #: Something is wrong in what was read (remotes that differ, a failed job): exit status 3.
    found: bool = False
    #: What to do when this is the first phase not done.
    next: Next | None = None

    @property
    def title(self) -> str:
        return PHASES[self.name]

    def problem(self, text: str, *, unreadable: bool = False) -> None:
        """Something wrong was found, or (`unreadable`) something could not be read."""
        self.problems.append(one_line(text))
        self.state = State.PROBLEM
        if unreadable:
            self.unreadable = True
        else:
            self.found = True

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "state": self.state.value,
            "facts": list(self.facts),
            "problems": list(self.problems),
            "unreadable": self.unreadable,
            "urls": list(self.urls),
            "data": self.data,
        }


def kind_of(version: Version, security: bool) -> str:
    """`security`, `rc`, `monthly` or `patch`."""
    if security:
        return "security"
    if version.is_rc:
        return "rc"
    return "monthly" if version.is_monthly else "patch"


def phases_of(version: Version) -> list[str]:
    """The phases a release of `version` goes through: preparation for RCs and patches,
    the chart for final releases."""
    names = list(PHASES)
    if version.is_monthly:
        names.remove("preparation")
    if version.is_rc:
        names.remove("chart")
    return names


@dataclass
class ReleaseStatus:
    """Where a release stands: what `status` prints, replies and exits with."""

    task: str
    version: Version
    kind: str
    security: bool
    phases: list[Phase]
    #: Who asked (ChatOps), and whether only public facts were read for them.
    requester: str = ""
    public_only: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def next(self) -> Next | None:
        """The first phase not done (None when every one is, or a phase before it is not shown)."""
        for phase in self.phases:
            if phase.state is State.NOT_SHOWN:
                return None
            if phase.state is not State.DONE:
                return phase.next or Next(phase.name, f"look at the {phase.title}")
        return None

    @property
    def exit_status(self) -> int:
        """0: everything was read and nothing is wrong (whatever the progress); 3: a problem
        was found (remotes that differ, a tag on different commits, a failed job), even if
        something else could not be read; 2: some phase could not be read."""
        if any(phase.found for phase in self.phases):
            return PROBLEM_STATUS
        if any(phase.unreadable for phase in self.phases):
            return UNREADABLE_STATUS
        return 0

    # -- output ------------------------------------------------------------------------

    def heading(self) -> str:
        kinds = {"monthly": "monthly release", "rc": "release candidate", "patch": "patch release",
                 "security": "security release"}
        text = f"Status of {self.version} ({kinds[self.kind]}"
        if self.security:
            text += ": dev remotes only"
        return text + ")"

    def next_line(self) -> str:
        following = self.next
        if following is not None:
            return "Next: " + following.line()
        if any(phase.state is State.NOT_SHOWN for phase in self.phases):
            return "Next: not shown (a release manager can tell)."
        return "Next: nothing, every phase is done."

    def summary_lines(self) -> list[str]:
        """Plain lines: the heading, one line per phase (facts, then problems), the next step."""
        lines = [self.heading()] + list(self.notes)
        for phase in self.phases:
            # A phase in trouble says so first: its problems, then its facts.
            parts = phase.problems + phase.facts
            lines.append(f"{phase.title}: {phase.state.words}" + (f": {'; '.join(parts)}" if parts else ""))
        lines.append(self.next_line())
        return lines

    def table_lines(self, colour: bool = False) -> list[str]:
        """A compact table: phase, state, then its facts and problems one per line."""
        width = max(len(title) for title in PHASES.values())
        state_width = max(len(state.words) for state in State)
        colours = {State.DONE: 32, State.IN_PROGRESS: 33, State.NOT_STARTED: 0, State.PROBLEM: 31, State.NOT_SHOWN: 2}
        lines = [_paint(self.heading(), 1, colour)] + [f"  {note}" for note in self.notes]
        for phase in self.phases:
            details = [f"problem: {problem}" for problem in phase.problems] + phase.facts or [""]
            state = _paint(phase.state.words.ljust(state_width), colours[phase.state], colour)
            indent = " " * (2 + width + 2 + state_width + 2)
            for index, detail in enumerate(details):
                shown = _paint(detail, 31, colour) if detail.startswith("problem:") else detail
                if index == 0:
                    lines.append(f"  {phase.title.ljust(width)}  {state}  {shown}".rstrip())
                else:
                    lines.append(f"{indent}{shown}")
        lines.append(_paint(self.next_line(), 1, colour))
        return lines

    def to_json(self) -> dict[str, Any]:
        following = self.next
        return {
            "schema": SCHEMA,
            "task": self.task,
            "version": str(self.version),
            "kind": self.kind,
            "security": self.security,
            "requester": self.requester or None,
            "public_only": self.public_only,
            "phases": [phase.to_json() for phase in self.phases],
            "next": following.to_json() if following else None,
            "notes": list(self.notes),
            "exit_status": self.exit_status,
        }


def _paint(text: str, code: int, colour: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if colour and code else text


# -- reading --------------------------------------------------------------------------------------


def api_project(project: Project, remote: str) -> tuple[str, str]:
    """The instance and API path of a project's remote: `dev` is the project on the dev
    instance (its `dev_path`), any other remote the one on gitlab.com (its `path`)."""
    if remote == "dev":
        return "dev", project.dev_path or project.path
    return "production", project.path


def read_remote(url: str, label: str, branches: Iterable[str], tags: Iterable[str]) -> RemoteRefs:
    """What a remote has of these branches and tags (one `git ls-remote`), as the tag task
    reads it. Raises GitError."""
    # TODO(#11): refs.RemoteReads once the ref engine is on main.
    return ls_remote(url, branches=sorted(set(branches)), tags=sorted(set(tags)), label=label)


def has_tag(refs: RemoteRefs, name: str, commit: str) -> bool:
    """Whether a remote with `refs` has tag `name` on `commit` (whatever its tag object):
    the tag task's test of a remote that has the tag already."""
    return name in refs.tags and refs.tag_commits.get(name) == commit


class Reader:
    """The reads of one status: GitLab adapters per instance, each remote read once (for
    every ref any phase wants of it), and a bounded pool for reads made side by side."""

    def __init__(self, settings: Settings, *, public_only: bool = False) -> None:
        self.settings = settings
        self.public_only = public_only
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="status-read")
        self._gitlabs: dict[str, Any] = {}
        self._wanted: dict[str, tuple[str, set[str], set[str]]] = {}
        self._reads: dict[str, Future] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def gitlab(self, instance: str) -> Any:
        """The adapter of `instance` (its client is made now: threads then share one)."""
        with self._lock:
            if instance not in self._gitlabs:
                from .gitlab import GitLab

                self._gitlabs[instance] = GitLab(self.settings, instance)
            gitlab = self._gitlabs[instance]
            gitlab.client  # noqa: B018 - raises MissingTokenError here, once per caller
            return gitlab

    def remotes(self, project: Project, *, every: bool = False) -> list[tuple[str, str]]:
        """The remotes status reads of `project`: the dev remotes only in a security release
        (unless `every`), none of them for someone who may read public facts only."""
        remotes = list(project.remotes if every else project.remotes_for(self.settings.security))
        if self.public_only:
            remotes = [(name, url) for name, url in remotes if name != "dev"]
        return remotes

    def want(self, url: str, label: str, branches: Iterable[str] = (), tags: Iterable[str] = ()) -> None:
        """Read these refs of `url` too, in the one read made of it."""
        with self._lock:
            entry = self._wanted.setdefault(url, (label, set(), set()))
            entry[1].update(branches)
            entry[2].update(tags)

    def refs(self, url: str) -> RemoteRefs:
        """What `url` has of every ref wanted of it, read once (the first caller starts
        the read; raises GitError when the remote cannot be read)."""
        with self._lock:
            future = self._read(url)
        return future.result()

    def start(self) -> None:
        """Start reading every wanted remote now."""
        with self._lock:
            for url in self._wanted:
                self._read(url)

    def _read(self, url: str) -> Future:
        future = self._reads.get(url)
        if future is None:
            label, branches, tags = self._wanted.get(url, ("ls-remote", set(), set()))
            future = self._reads[url] = self.pool.submit(read_remote, url, label, branches, tags)
        return future

    def side_by_side(self, calls: Sequence[Callable[[], Any]]) -> list[Any]:
        """Run `calls` in the pool; each result, or the ReleaseToolsError it raised."""
        futures = [self.pool.submit(_caught, call) for call in calls]
        return [future.result() for future in futures]


def _caught(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ReleaseToolsError as error:
        return error


# -- the status ---------------------------------------------------------------------------------


def read_status(
    settings: Settings,
    version: Version,
    *,
    public_only: bool = False,
    requester: str = "",
    only: Sequence[str] = (),
) -> ReleaseStatus:
    """Read where the release of `version` stands (see the module docstring).

    `public_only` (ChatOps, for someone who is not a release manager): no confidential
    issue, no dev instance and no dev remote is read; what only those say is "not shown".
    `only` limits the phases read (the benchmark times them one by one).
    Never raises for what it cannot read: that phase is a problem, the rest is reported.
    """
    version = version.to_ce()
    names = [name for name in phases_of(version) if not only or name in only]
    status = ReleaseStatus(
        settings.task or "status", version, kind_of(version, settings.security), settings.security, [],
        requester=requester, public_only=public_only,
    )
    if requester and not public_only:
        status.notes.append(f"Asked by {requester}, a release manager.")
    if public_only:
        status.notes.append(
            f"{requester or 'You'} {'is' if requester else 'are'} not a release manager: public facts only "
            "(no confidential issue, nothing of the dev instance or the dev remotes)."
        )
    reader = Reader(settings, public_only=public_only)
    try:
        context = Context(settings, version, reader)
        for name in names:
            WANTS.get(name, _no_wants)(context)
        with ThreadPoolExecutor(max_workers=len(names) or 1, thread_name_prefix="status-phase") as phases:
            futures = [phases.submit(_read_phase, name, context) for name in names]
            # The remotes after the phases: their first API requests are then on the way
            # while the git processes start.
            reader.start()
            status.phases = [future.result() for future in futures]
    finally:
        reader.close()
    return status


@dataclass
class Context:
    settings: Settings
    version: Version
    reader: Reader

    @property
    def security(self) -> bool:
        return self.settings.security

    @property
    def public_only(self) -> bool:
        return self.reader.public_only

    @property
    def pick_label(self) -> str:
        """`Pick into 11.1`, as `cherry_pick` looks for it."""
        return self.settings.pick_label(self.version.minor_name)


def _read_phase(name: str, context: Context) -> Phase:
    phase = Phase(name)
    try:
        READERS[name](context, phase)
    except ReleaseToolsError as error:
        phase.problem(str(error), unreadable=True)
    if phase.state in (State.DONE, State.NOT_SHOWN) or phase.next is not None:
        return phase
    if phase.unreadable and not phase.found:
        phase.next = Next(name, f"find out why the {phase.title} could not be read (see its problems)")
    else:
        phase.next = NEXT_STEPS[name](context, phase)
    return phase


def _hidden(phase: Phase, why: str) -> None:
    phase.state = State.NOT_SHOWN
    phase.facts.append(why)


def _no_wants(context: Context) -> None:
    pass


# -- commands ---------------------------------------------------------------------------------------


def _shell(*words: str) -> str:
    return " ".join(shlex.quote(word) for word in words)


def command(context: Context, task: str, *arguments: str, security_flag: bool = True) -> str:
    """`invoke tag 11.1.2`, `invoke release_issue --security 11.1.2`."""
    security = ["--security"] if context.security and security_flag else []
    return "invoke " + _shell(task, *security, *arguments)


def chat_command(context: Context, name: str, *arguments: str, security_flag: bool = True) -> str | None:
    """`/chatops run tag 11.1.2`, or None when there is no such chat command."""
    if name not in chat_commands():
        return None
    security = ["--security"] if context.security and security_flag else []
    return "/chatops run " + _shell(name, *arguments, *security)


def chat_commands() -> set[str]:
    """The commands a chat job runs (the ChatOps policy table)."""
    from .chatops.policy import POLICIES

    return {name for name, policy in POLICIES.items() if not policy.trigger_only}


# -- issue ----------------------------------------------------------------------------------------

_CHECKBOX = re.compile(r"^[ \t]*(?:[-*+]|[0-9]+[.)])[ \t]+\[(?P<mark>[ xX])\]", re.M)


def checklist(description: str) -> tuple[int, int]:
    """(checked, all) task list items of a Markdown description."""
    marks = [match["mark"] for match in _CHECKBOX.finditer(description or "")]
    return sum(1 for mark in marks if mark != " "), len(marks)


def _report_issue(phase: Phase, issue: Any | None, title: str, missing: str) -> None:
    """An issue phase: done when the issue exists (its state and checklist are facts)."""
    if issue is None:
        phase.facts.append(missing)
        phase.data.update(title=title, url=None)
        return
    phase.state = State.DONE
    checked, items = checklist(issue.description)
    phase.facts.append(f"{issue.title}: {'closed' if issue.state == 'closed' else 'open'}, {checked}/{items} items checked")
    phase.facts.append(issue.web_url)
    phase.urls.append(issue.web_url)
    phase.data.update(title=issue.title, url=issue.web_url, state=issue.state, checked=checked, items=items)


def read_issue(context: Context, phase: Phase) -> None:
    from . import issues

    spec = issues.release_issue(context.settings, context.version, security=context.security)
    if context.public_only and spec.confidential:
        return _hidden(phase, "the security release issue is confidential")
    found = issues.find(context.reader.gitlab("production"), spec, public_only=context.public_only)
    _report_issue(phase, found, spec.title, f'no {spec.kind_name} "{spec.title}" in {spec.project}')


def next_issue(context: Context, phase: Phase) -> Next:
    version = str(context.version)
    return Next(
        "issue",
        "create the release task issue",
        command(context, "release_issue", version),
        chat_command(context, "release_issue", version),
    )


# -- preparation ---------------------------------------------------------------------------------


def read_preparation(context: Context, phase: Phase) -> None:
    from . import preparation

    settings = context.settings
    if context.public_only and context.security:
        return _hidden(phase, "security preparation merge requests are on the dev instance")
    gitlab = context.reader.gitlab(preparation.instance_of(settings))
    specs = preparation.preparation_merge_requests(settings, context.version)
    found = context.reader.side_by_side([lambda spec=spec: preparation.find_merge_request(gitlab, spec) for spec in specs])
    for result in found:
        if isinstance(result, ReleaseToolsError):
            raise result
    requests = []
    for spec, mr in zip(specs, found):
        label = "EE" if spec.ee else "CE"
        if mr is None:
            phase.facts.append(f"{label}: no merge request from {spec.source_branch} into {spec.target_branch} yet")
        else:
            phase.facts.append(f"{label}: {mr.web_url} {mr.state}")
            phase.urls.append(mr.web_url)
        requests.append({
            "edition": label.lower(), "project": spec.project, "title": spec.title, "source_branch": spec.source_branch,
            "target_branch": spec.target_branch, "state": mr.state if mr else None, "url": mr.web_url if mr else None,
        })
    phase.data["merge_requests"] = requests

    pending: list[dict[str, Any]] = []
    if context.version.is_patch:
        branches = [spec.source_branch if mr is not None and mr.state == "opened" else spec.target_branch
                    for spec, mr in zip(specs, found)]
        results = context.reader.side_by_side(
            [lambda spec=spec, branch=branch: pending_picks(gitlab, spec.project, branch, context.pick_label)
             for spec, branch in zip(specs, branches)]
        )
        for spec, branch, result in zip(specs, branches, results):
            if isinstance(result, ReleaseToolsError):
                phase.problem(f"cannot tell which picks are on {spec.project} {branch}: {result}", unreadable=True)
                continue
            for mr in result:
                pending.append({"project": spec.project, "iid": mr.iid, "title": mr.title, "url": mr.web_url,
                                "branch": branch})
            if result:
                shown = ", ".join(f"!{mr.iid}" for mr in result[:10]) + (f" and {len(result) - 10} more" if len(result) > 10 else "")
                phase.facts.append(
                    f"{len(result)} merged {'merge request' if len(result) == 1 else 'merge requests'} labelled "
                    f"{context.pick_label} not on {spec.project} {branch} yet: {shown}"
                )
    phase.data["pending_picks"] = pending
    if phase.state is State.PROBLEM:
        return
    states = [mr.state for mr in found if mr is not None]
    if len(states) == len(specs) and all(state == "merged" for state in states) and not pending:
        phase.state = State.DONE
    elif states:
        phase.state = State.IN_PROGRESS
    else:
        phase.state = State.NOT_STARTED


def pending_picks(gitlab: Any, project: str, branch: str, label: str) -> list[Any]:
    """The merge requests labelled `label` merged into master whose change is not on
    `branch` yet: neither their merge (or squashed, or fast-forwarded) commit is on it, nor
    a pick of it (a commit of `master..branch` naming it in git's `cherry picked from` line, or
    keeping its `See merge request` line). Found by their commits, not by the label alone.
    Raises GitLabError."""
    from .cherry_pick import picked_from
    from .qa import mentioned_merge_requests

    candidates = gitlab.list_merge_requests(project, labels=(label,), state="merged", target_branch="master")
    if not candidates:
        return []
    try:
        picks = gitlab.commits_between(project, "master", branch)
    except GitLabNotFoundError:
        return candidates  # the branch does not exist yet: nothing is on it
    named = {picked_from(commit.message) for commit in picks} - {None}
    mentioned = {(m.path, m.iid) for m in mentioned_merge_requests(commit.message for commit in picks)}
    left = []
    for mr in candidates:
        made = {sha for sha in (mr.merge_commit_sha, mr.squash_commit_sha, mr.sha) if sha}
        if made & named or (project, mr.iid) in mentioned:
            continue
        left.append(mr)
    # Merged before the branch was cut: its commit is on the branch itself.
    on_branch = [_is_on(gitlab, project, branch, mr) for mr in left]
    return [mr for mr, there in zip(left, on_branch) if not there]


def _is_on(gitlab: Any, project: str, branch: str, mr: Any) -> bool:
    commit = mr.merge_commit_sha or mr.squash_commit_sha or mr.sha
    if not commit:
        return False
    try:
        return not gitlab.compare(project, branch, commit)
    except GitLabNotFoundError:
        return False


def next_preparation(context: Context, phase: Phase) -> Next:
    version = str(context.version)
    requests = phase.data.get("merge_requests") or []
    if not any(request["state"] for request in requests):
        return Next(
            "preparation",
            "create the preparation merge requests",
            command(context, "patch_merge_request", version),
            chat_command(context, "patch_merge_request", version),
        )
    if phase.data.get("pending_picks"):
        return Next("preparation", f"pick the merge requests labelled {context.pick_label}",
                    command(context, "cherry_pick", version), chat_command(context, "cherry_pick", version),
                    urls=[pick["url"] for pick in phase.data["pending_picks"]])
    opened = [request["url"] for request in requests if request["state"] == "opened"]
    return Next("preparation", "merge the preparation merge requests", urls=opened)


# -- the refs of a release -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseRefs:
    """One project's branches and tags in a release."""

    key: str  # ee, ce, omnibus
    branches: tuple[tuple[str, str], ...]  # (stable branch, the VERSION it should hold)
    tags: tuple[str, ...]


def release_refs(version: Version) -> list[ReleaseRefs]:
    """gitlab-ee, gitlab-ce, omnibus-gitlab: the stable branches (and what their VERSION
    should say) and the tags of `version`, as the tag task makes them."""
    ee, ce = version.to_ee(), version.to_ce()
    omnibus_ee, omnibus_ce = version.to_omnibus(ee=True), version.to_omnibus(ee=False)
    ce_tags = [ce.tag()]
    if version.is_monthly:  # a final X.Y.0 also tags master for the next minor
        ce_tags.append(f"{version.next_minor().tag()}.pre")
    return [
        ReleaseRefs("ee", ((ee.stable_branch(), str(ee)),), (ee.tag(),)),
        ReleaseRefs("ce", ((ce.stable_branch(), str(ce)),), tuple(ce_tags)),
        ReleaseRefs(
            "omnibus",
            ((omnibus_ee.stable_branch(), str(ee)), (omnibus_ce.stable_branch(), str(ce))),
            (omnibus_ee.tag, omnibus_ce.tag),
        ),
    ]


def _label(project: Project) -> str:
    return project.path.rstrip("/").split("/")[-1]


def want_refs(context: Context) -> None:
    for refs in release_refs(context.version):
        project = context.settings.project(refs.key)
        for _, url in context.reader.remotes(project):
            context.reader.want(url, _label(project), [branch for branch, _ in refs.branches], refs.tags)


def _remote_states(context: Context, phase: Phase, project: Project) -> dict[str, RemoteRefs]:
    """Each remote's refs; a remote that cannot be read is a problem of the phase."""
    states = {}
    for name, url in context.reader.remotes(project):
        try:
            states[name] = context.reader.refs(url)
        except ReleaseToolsError as error:
            phase.problem(f"cannot read {_label(project)}'s {name} remote: {error}", unreadable=True)
    return states


# -- stable branches ------------------------------------------------------------------------------


@dataclass
class Branch:
    """A stable branch of one project as its remotes have it."""

    project: Project
    name: str
    expected: str  # what its VERSION should say
    tips: dict[str, str | None]  # remote -> commit (None: absent, or the remote could not be read)
    read: tuple[str, ...]  # the remotes that could be read, in order
    version_file: str | None = None
    differs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{_label(self.project)} {self.name}"

    @property
    def leader(self) -> str | None:
        """The first remote that has it (the canonical one, unless it lacks it)."""
        return next((remote for remote, sha in self.tips.items() if sha), None)

    def differing(self) -> list[str]:
        leader = self.leader
        return [remote for remote, sha in self.tips.items() if sha and leader and sha != self.tips[leader]]

    def lacking(self) -> list[str]:
        return [remote for remote in self.tips if remote in self.read and not self.tips[remote]]

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project.path, "branch": self.name, "remotes": dict(self.tips),
                "version_file": self.version_file, "expected_version": self.expected, "differs": self.differs}


def read_stable_branches(context: Context, phase: Phase) -> None:
    if context.public_only and context.security:
        return _hidden(phase, "a security release's branches are on the dev remotes")
    reader = context.reader
    # VERSION is read on the canonical remote's instance while the remotes are read (a
    # missing branch reads as no file), so that the two reads overlap.
    early: dict[tuple[str, str], Future] = {}
    for refs in release_refs(context.version):
        project = context.settings.project(refs.key)
        remotes = reader.remotes(project)
        for name, _ in refs.branches if remotes else ():
            early[project.key, name] = reader.pool.submit(
                _caught, lambda p=project, r=remotes[0][0], b=name: _version_at(context, p, r, b, early=True)
            )
    branches: list[Branch] = []
    for refs in release_refs(context.version):
        project = context.settings.project(refs.key)
        remotes = reader.remotes(project)
        states = _remote_states(context, phase, project)
        for name, expected in refs.branches:
            tips = {remote: states[remote].branches.get(name) if remote in states else None for remote, _ in remotes}
            branches.append(Branch(project, name, expected, tips, tuple(states)))

    # VERSION at the first remote that has the branch, and how each differing remote stands.
    calls: list[Callable[[], Any]] = []
    slots: list[tuple[Branch, str | None]] = []
    for branch in branches:
        if branch.leader is None:
            continue
        read_early = early.get((branch.project.key, branch.name))
        if read_early is not None and branch.leader == next(iter(branch.tips)):
            calls.append(read_early.result)
        else:
            calls.append(lambda b=branch: _version_file(context, b))
        slots.append((branch, None))
        for remote in branch.differing():
            calls.append(lambda b=branch, r=remote: _relation(context, b, r))
            slots.append((branch, remote))
    for (branch, remote), value in zip(slots, reader.side_by_side(calls)):
        if remote is None:
            if isinstance(value, ReleaseToolsError):
                phase.problem(f"cannot read VERSION of {branch.label}: {value}", unreadable=True)
            else:
                branch.version_file = value.strip() if value is not None else None
            continue
        if isinstance(value, ReleaseToolsError):
            value = _differs(branch, remote)
        branch.differs.append({"remote": remote, **value})
        phase.problem(f"{branch.label}: {remote} {value['text']}")

    phase.data["branches"] = [branch.to_json() for branch in branches]
    _stable_facts(context, phase, branches)
    if phase.state is State.PROBLEM:
        return
    present = [branch for branch in branches if branch.leader]
    if not present:
        phase.state = State.NOT_STARTED
    elif len(present) < len(branches) or any(b.lacking() or b.version_file != b.expected for b in branches):
        phase.state = State.IN_PROGRESS
    else:
        phase.state = State.DONE


def _version_file(context: Context, branch: Branch) -> str | None:
    return _version_at(context, branch.project, branch.leader or "", branch.name)


def _version_at(context: Context, project: Project, remote: str, branch: str, *, early: bool = False) -> str | None:
    """VERSION of `branch` as the API of `remote`'s instance has it; None when it has no such
    file. Read `early` (before the remotes say whether the branch exists), a missing
    branch is no file either."""
    instance, path = api_project(project, remote)
    try:
        return context.reader.gitlab(instance).raw_file(path, "VERSION", branch)
    except GitLabNotFoundError:
        if early:
            return None
        raise


def _differs(branch: Branch, remote: str) -> dict[str, Any]:
    leader = branch.leader or ""
    sha, leader_sha = branch.tips[remote] or "", branch.tips[leader] or ""
    return {"relation": "differs", "text": f"differs from {leader} ({sha[:SHORT]}, not {leader_sha[:SHORT]})"}


def _relation(context: Context, branch: Branch, remote: str) -> dict[str, Any]:
    """How `remote`'s copy of `branch` stands to the leader's, by the API's compare on an
    instance that knows both commits (the leader's, then the remote's): behind, ahead or
    diverged; "differs" when neither can tell."""
    leader = branch.leader or ""
    sha, leader_sha = branch.tips[remote] or "", branch.tips[leader] or ""
    for side in (leader, remote):
        instance, path = api_project(branch.project, side)
        gitlab = context.reader.gitlab(instance)
        try:
            missing = gitlab.compare(path, sha, leader_sha)  # on the leader, not on `remote`
            extra = gitlab.compare(path, leader_sha, sha)  # on `remote`, not on the leader
        except GitLabNotFoundError:
            continue  # this instance does not have one of the two commits
        behind, ahead = len(missing), len(extra)
        if behind and not ahead:
            return {"relation": "behind", "behind": behind, "ahead": 0, "text": f"is {_commits(behind)} behind {leader}"}
        if ahead and not behind:
            return {"relation": "ahead", "behind": 0, "ahead": ahead, "text": f"is {_commits(ahead)} ahead of {leader}"}
        return {"relation": "diverged", "behind": behind, "ahead": ahead,
                "text": f"has diverged from {leader} ({_commits(ahead)} of its own, {behind} missing)"}
    return _differs(branch, remote)


def _commits(count: int) -> str:
    return f"{count} commit{'s' if count != 1 else ''}"


def _stable_facts(context: Context, phase: Phase, branches: list[Branch]) -> None:
    right: list[str] = []
    nowhere = [branch.label for branch in branches if branch.leader is None]
    if nowhere:
        phase.facts.append(f"on no remote yet: {', '.join(nowhere)}")
    for branch in branches:
        if branch.leader is None:
            continue
        notes = []
        if branch.lacking():
            notes.append(f"not on {', '.join(branch.lacking())}")
        if branch.version_file != branch.expected:
            found = shown_version(branch.version_file) if branch.version_file else "missing"
            notes.append(f"VERSION {found} (not {branch.expected})")
        if notes:
            phase.facts.append(f"{branch.label}: {', '.join(notes)}")
        elif not branch.differs:
            right.append(branch.label)
    if right:
        remotes = list(dict.fromkeys(remote for branch in branches for remote in branch.read))
        phase.facts.insert(0, f"identical on {', '.join(remotes)}, VERSION right: {', '.join(right)}")
    if context.security:
        phase.facts.append("security release: dev remotes only")


def next_tagging(context: Context, phase: Phase) -> Next:
    version = str(context.version)
    task = "tag_security" if context.security else "tag"
    wrong = [problem for problem in phase.problems if "points to" in problem]
    if wrong:
        return Next(phase.name, "delete the tag that points to the wrong commit, then tag again",
                    command(context, task, version, security_flag=False))
    action = "bring the stable branches in line and tag the release" if phase.name == "stable_branches" else "tag the release"
    return Next(phase.name, action, command(context, task, version, security_flag=False),
                chat_command(context, "tag", version))


# -- tags -----------------------------------------------------------------------------------------


def read_tags(context: Context, phase: Phase) -> None:
    if context.public_only and context.security:
        return _hidden(phase, "a security release is tagged on the dev remotes only")
    entries = []
    complete: list[str] = []
    nowhere: list[str] = []
    present = absent = 0
    remotes_read: list[str] = []
    for refs in release_refs(context.version):
        project = context.settings.project(refs.key)
        remotes = context.reader.remotes(project)
        states = _remote_states(context, phase, project)
        remotes_read += [name for name, _ in remotes if name not in remotes_read]
        for tag in refs.tags:
            commits = {name: (states[name].tag_commits.get(tag) if name in states else None) for name, _ in remotes}
            entries.append({"project": project.path, "tag": tag, "remotes": commits})
            have = {name: commit for name, commit in commits.items() if commit}
            lacking = [name for name in commits if name in states and not commits[name]]
            present += bool(have)
            absent += bool(lacking)
            if not have:
                nowhere.append(tag)
                continue
            canonical = next(iter(have))
            elsewhere = [name for name in have if not has_tag(states[name], tag, have[canonical])]
            if elsewhere:
                where = ", ".join(f"{have[name][:SHORT]} on {name}" for name in elsewhere)
                phase.problem(f"{tag} points to {have[canonical][:SHORT]} on {canonical} but {where}")
            elif lacking:
                phase.facts.append(f"{tag}: on {', '.join(have)} ({have[canonical][:SHORT]}), not on {', '.join(lacking)}")
            else:
                complete.append(tag)
    if complete:
        phase.facts.insert(0, f"on {', '.join(remotes_read)}, same commit everywhere: {', '.join(complete)}")
    if nowhere:
        phase.facts.append(f"on no remote yet: {', '.join(nowhere)}")
    if context.security:
        phase.facts.append("security release: dev remotes only")
    phase.data.update(tags=entries, remotes=remotes_read)
    if phase.state is State.PROBLEM:
        return
    if not present:
        phase.state = State.NOT_STARTED
    elif absent or any(not any(entry["remotes"].values()) for entry in entries):
        phase.state = State.IN_PROGRESS
    else:
        phase.state = State.DONE


# -- QA issue -------------------------------------------------------------------------------------


def read_qa_issue(context: Context, phase: Phase) -> None:
    from .qa import find_qa_issue, qa_issue_of

    qa_issue = qa_issue_of(context.settings, context.version)
    if context.public_only and qa_issue.confidential:
        return _hidden(phase, "a security release's QA issue is confidential")
    found = find_qa_issue(context.reader.gitlab("production"), qa_issue, public_only=context.public_only)
    _report_issue(phase, found, qa_issue.title, f'no QA issue "{qa_issue.title}" in {qa_issue.project}')


def qa_from_ref(context: Context) -> str | None:
    """The ref a QA issue of this version starts from: the previous RC or patch tag, the
    newest RC for a final `X.Y.0`, the previous minor's `.0` for a first RC."""
    version = context.version
    if version.is_rc and version.rc and version.rc > 1:
        return version.to_rc(version.rc - 1).tag()
    previous = version.previous_tag()
    if previous:
        return previous
    if not version.is_rc:
        project = context.settings.project("ce")
        remotes = context.reader.remotes(project)
        if remotes:
            found = list_remote_tags(remotes[0][1], f"v{version}-rc*", label=_label(project))
            numbers = [int(name.rsplit("-rc", 1)[1]) for name in found if re.fullmatch(r"v[0-9.]+-rc[0-9]+", name)]
            if numbers:
                return version.to_rc(max(numbers)).tag()
    if version.minor > 0:
        return Version(version.major, version.minor - 1, 0).tag()
    return None


def next_qa_issue(context: Context, phase: Phase) -> Next:
    try:
        from_ref = qa_from_ref(context)
    except ReleaseToolsError:
        from_ref = None
    to_ref = context.version.tag()
    start = from_ref or "FROM_REF"
    prefix = "SECURITY=true " if context.security else ""
    chat = None
    if from_ref and not context.security:
        chat = chat_command(context, "qa_issue", f"{from_ref}..{to_ref}", security_flag=False)
    return Next("qa_issue", "create the QA issue", prefix + "invoke " + _shell("qa_issue", start, to_ref), chat)


# -- packages -------------------------------------------------------------------------------------


def want_packages(context: Context) -> None:
    if context.public_only:
        return
    project = context.settings.project(context.settings.publish.project)
    dev = [(name, url) for name, url in project.remotes if name == "dev"]
    omnibus = [context.version.to_omnibus(ee=True).tag, context.version.to_omnibus(ee=False).tag]
    for _, url in dev:
        context.reader.want(url, _label(project), tags=omnibus)


def read_packages(context: Context, phase: Phase) -> None:
    from .publish import package_project, release_jobs

    if context.public_only:
        return _hidden(phase, "the tag pipelines are on the dev instance")
    settings = context.settings
    gitlab = context.reader.gitlab("dev")
    path = package_project(settings)
    project = settings.project(settings.publish.project)

    def tagged(tag: str) -> bool | None:
        """Whether the dev remote has `tag` (None: it cannot tell); read only when a pipeline is missing."""
        for name, url in project.remotes:
            if name == "dev":
                try:
                    return tag in context.reader.refs(url).tags
                except ReleaseToolsError:
                    return None
        return None

    editions = [context.version.to_omnibus(ee=True), context.version.to_omnibus(ee=False)]
    results = context.reader.side_by_side([lambda o=omnibus: release_jobs(settings, gitlab, path, o) for omnibus in editions])
    pipelines = []
    statuses: list[str] = []
    for omnibus, result in zip(editions, results):
        if isinstance(result, ReleaseToolsError):
            phase.problem(f"cannot read the pipeline of {omnibus}: {result}", unreadable=True)
            continue
        pipeline, jobs = result
        if pipeline is None:
            if tagged(omnibus.tag):
                phase.problem(f"no pipeline for tag {omnibus} in {path} on {gitlab.instance.host}")
            else:
                phase.facts.append(f"{omnibus}: not tagged on dev yet, no pipeline")
            pipelines.append({"tag": omnibus.tag, "url": None, "status": None, "jobs": []})
            continue
        counts: dict[str, int] = {}
        for job in jobs:
            counts[job.status] = counts.get(job.status, 0) + 1
            statuses.append(job.status)
        summary = ", ".join(f"{count} {status}" for status, count in counts.items()) or "no release jobs yet"
        phase.facts.append(f"{omnibus}: pipeline {pipeline.status}, release jobs: {summary}; {pipeline.web_url}")
        phase.urls.append(pipeline.web_url)
        for job in jobs:
            if job.status == "failed":
                phase.problem(f"{omnibus}: job {job.name} failed: {job.web_url}")
        if not jobs and pipeline.status not in ("created", "waiting_for_resource", "preparing", "pending", "running"):
            phase.problem(f"{omnibus}: pipeline {pipeline.web_url} is {pipeline.status} and has no release jobs")
        if not jobs:
            statuses.append("waiting")
        pipelines.append({
            "tag": omnibus.tag, "url": pipeline.web_url, "status": pipeline.status,
            "jobs": [{"name": job.name, "stage": job.stage, "status": job.status, "url": job.web_url} for job in jobs],
        })
    phase.data["pipelines"] = pipelines
    if phase.state is State.PROBLEM:
        return
    if statuses and all(status == "success" for status in statuses) and len(pipelines) == len(editions) and all(
        pipeline["url"] for pipeline in pipelines
    ):
        phase.state = State.DONE
    elif any(status != "manual" for status in statuses):
        phase.state = State.IN_PROGRESS
    else:
        phase.state = State.NOT_STARTED


def next_packages(context: Context, phase: Phase) -> Next:
    version = str(context.version)
    failed = [problem for problem in phase.problems if " failed: " in problem]
    if failed:
        return Next("packages", "retry the failed release jobs", urls=[problem.rsplit(" ", 1)[-1] for problem in failed])
    return Next("packages", "publish the packages", command(context, "publish", version, security_flag=False),
                chat_command(context, "publish", version, security_flag=False))


# -- chart ----------------------------------------------------------------------------------------


def _chart_remote(context: Context) -> tuple[Project, tuple[str, str] | None]:
    project = context.settings.project("helm")
    remotes = context.reader.remotes(project, every=True)
    return project, (remotes[0] if remotes else None)


def read_chart(context: Context, phase: Phase) -> None:
    from .helm import ChartFileError, ChartVersion, read_chart as chart_versions
    from .errors import InvalidVersionError

    project, remote = _chart_remote(context)
    if remote is None:
        phase.facts.append(f"{project.path} has no remote to read")
        return
    name, url = remote
    tags = []
    for tag in list_remote_tags(url, "v*", label=project.path):
        try:
            tags.append((ChartVersion.parse(tag[1:]), tag))
        except InvalidVersionError:
            continue
    tags.sort(reverse=True)
    instance, path = api_project(project, name)
    gitlab = context.reader.gitlab(instance)
    wanted = context.version
    shipping: list[dict[str, str]] = []
    read: list[dict[str, str]] = []
    for batch in range(CHART_BATCHES):
        chunk = [tag for _, tag in tags[batch * CHART_BATCH : (batch + 1) * CHART_BATCH]]
        if not chunk:
            break
        texts = context.reader.side_by_side([lambda t=tag: gitlab.raw_file(path, "Chart.yaml", t) for tag in chunk])
        older = False
        for tag, text in zip(chunk, texts):
            if isinstance(text, ReleaseToolsError):
                raise text
            try:
                app = chart_versions(text, f"Chart.yaml of {path} {tag}")[1] if text is not None else ""
            except ChartFileError as error:
                phase.problem(str(error), unreadable=True)
                app = ""
            read.append({"tag": tag, "app_version": app})
            if app == str(wanted):
                shipping.append({"tag": tag, "app_version": app})
            elif Version.is_valid(app) and Version.parse(app) < wanted:
                older = True
        if older or shipping:
            break
    phase.data.update(tags=read, shipping=[entry["tag"] for entry in shipping])
    if shipping:
        if phase.state is not State.PROBLEM:  # a broken Chart.yaml of another tag stays a problem
            phase.state = State.DONE
        phase.facts.append(f"{', '.join(entry['tag'] for entry in shipping)} {'ships' if len(shipping) == 1 else 'ship'} {wanted}")
        return
    newest = ", ".join(f"{entry['tag']} ({shown_version(entry['app_version']) if entry['app_version'] else '?'})"
                       for entry in read[:3])
    phase.facts.append(f"no chart tag ships {wanted} yet" + (f"; newest: {newest}" if newest else ""))


def next_chart(context: Context, phase: Phase) -> Next:
    return Next("chart", "release the Helm chart", "invoke " + _shell("helm.tag_chart", "", str(context.version)))


READERS: Mapping[str, Callable[[Context, Phase], None]] = {
    "issue": read_issue,
    "preparation": read_preparation,
    "stable_branches": read_stable_branches,
    "tags": read_tags,
    "qa_issue": read_qa_issue,
    "packages": read_packages,
    "chart": read_chart,
}

WANTS: Mapping[str, Callable[[Context], None]] = {
    "stable_branches": want_refs,
    "tags": want_refs,
    "packages": want_packages,
}

NEXT_STEPS: Mapping[str, Callable[[Context, Phase], Next]] = {
    "issue": next_issue,
    "preparation": next_preparation,
    "stable_branches": next_tagging,
    "tags": next_tagging,
    "qa_issue": next_qa_issue,
    "packages": next_packages,
    "chart": next_chart,
}


def show(status: ReleaseStatus) -> None:
    """Print the status: a table on a terminal (coloured unless NO_COLOR), plain lines otherwise."""
    import sys

    from .output import json_mode, result, use_colour

    stream = sys.stderr if json_mode() else sys.stdout
    isatty = getattr(stream, "isatty", None)
    lines = status.table_lines(colour=use_colour(stream)) if isatty and isatty() else status.summary_lines()
    for line in lines:
        result(line)


def status(settings: Settings, version: Version, *, public_only: bool = False, requester: str = "") -> ReleaseStatus:
    """`status VERSION`: read the release's status, print it, return it (its exit status
    is the task's). Progress (the git commands) goes to stderr: stdout is the report."""
    from .output import progress_on_stderr

    with progress_on_stderr():
        found = read_status(settings, version, public_only=public_only, requester=requester)
    show(found)
    return found
