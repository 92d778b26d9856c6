"""The CE-to-EE upstream merge (`upstream_merge`): CE's `master` merged into a new branch of
EE's `master`, conflicts and all, and a merge request asking the right people to resolve them.

One run:

1. unless forced, stops (exit 0) when an upstream merge request is still open;
2. clones EE `master` (shallow, blobless, only the top-level files checked out) and fetches
   CE `master` into `refs/remotes/upstream/master` (the original fetched it onto the local
   `master`), deepening both until their histories meet; stops when EE already contains it;
3. on `ce-to-ee-<UTC date>` (with the time added when that branch exists already) merges
   it with `--no-ff`; a conflict is committed with its markers in, the conflicting files
   listed in the message (no amend through a shell);
4. names, for each conflicting file, whoever changed it last (`git log`), as `@username`
   when that name belongs to a member of EE, and picks the member with the most conflicts
   to answer for the merge request (ties: alphabetical; none: one of the configured
   fallback users, rotating by the day of the year);
5. runs a plan of three steps: push the branch (`git.push`, through the ref engine:
   refs.py), open the merge request (`CE upstream - <UTC date and time>`, label `CE
   upstream`, the current milestone, assigned, source branch removed when merged), and
   tell Slack (`SLACK_UPSTREAM_MERGE_URL`) about it (`slack.post`); a failed push or merge
   request is told to Slack too. A run that stops at 1. or 2. is a plan as well: the open
   merge request (already done) or nothing to merge, and the Slack message saying so.

It refuses to run in security mode (SECURITY): it would push to the public EE and open a
public merge request.

A dry run does all the local work and the reads, shows the plan with the merge request,
and pushes, creates and posts nothing. Slack problems are warnings and never fail the run.
The date and time in its names, the fallback rotation and the current milestone follow
the settings' clock (`release_tools.date`, SOURCE_DATE_EPOCH; see clock.py).
"""

from __future__ import annotations

import datetime
import re
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .clock import wall
from .config import Settings
from .errors import ConfigurationError, GitError, ReleaseStateError, ReleaseToolsError, SlackError, one_line, quote, quote_path
from .git import Repository
from .output import say, warn
from .plan import Failure, Plan, Report, Step, Target, execute
from .refs import RefUpdate, RemoteReads, announce_date, check_identity, push_steps
from .templates import inline_code, link_destination
from .templates import mention as username_mention  # this module's `mention` adds --no-mention

#: The CE master lands here, never on a local branch of EE.
UPSTREAM = "upstream"
ORIGIN = "origin"
UPSTREAM_REF = f"refs/remotes/{UPSTREAM}/master"
DOCS_URL = "https://docs.gitlab.com/ee/development/automatic_ce_ee_merge.html"
TEMPLATE = "upstream_merge_request.md.j2"


@dataclass(frozen=True)
class Conflict:
    """A file the merge could not resolve, and who changed it last."""

    state: str  # as `git status --short` shows it: UU, AA, DU, UD, ...
    path: str
    author: str  # git author name of the last (non-merge) commit touching it
    username: str | None = None  # the EE member that name belongs to


@dataclass(frozen=True)
class Merge:
    """What the local merge produced."""

    branch: str
    commit: str
    conflicts: tuple[Conflict, ...]


# -- pure rules ----------------------------------------------------------------------------


def branch_name(now: datetime.datetime, taken: Iterable[str] = ()) -> str:
    """`ce-to-ee-2018-07-20`, or `ce-to-ee-2018-07-20-1530` when that one is taken."""
    daily = f"ce-to-ee-{now:%Y-%m-%d}"
    return daily if daily not in set(taken) else f"{daily}-{now:%H%M}"


def title(now: datetime.datetime) -> str:
    return f"CE upstream - {now:%Y-%m-%d %H:%M} UTC"


def commit_message(branch: str, conflicts: Sequence[tuple[str, str]]) -> str:
    """The merge commit's message; a conflicted merge lists its files and skips CI (its
    markers would fail every job)."""
    message = f"Merge remote-tracking branch '{UPSTREAM}/master' into {branch}"
    if not conflicts:
        return message + "\n"
    lines = "\n".join(f"    ({state}) {one_line(path)}" for state, path in conflicts)
    return f"{message}\n\nConflicts left in for resolution in the merge request:\n{lines}\n\n[ci skip]\n"


def normalise_name(name: str) -> str:
    """How names are compared: parenthesised notes (`(OOO)`) dropped, spaces squeezed, case folded."""
    name = re.sub(r"\([^)]*\)", " ", name).replace("(", " ").replace(")", " ")
    return " ".join(name.split()).casefold()


def member_index(users: Iterable[Any]) -> dict[str, str | None]:
    """Normalised display name or username -> username; None marks an ambiguous name."""
    index: dict[str, str | None] = {}
    for user in users:
        for key in {normalise_name(user.name or ""), user.username.casefold()}:
            if not key:
                continue
            if key in index and index[key] != user.username:
                index[key] = None
            else:
                index[key] = user.username
    return index


def map_author(index: Mapping[str, str | None], author: str) -> str | None:
    return index.get(normalise_name(author))


def choose_responsible(conflicts: Sequence[Conflict], fallback: Sequence[str], today: datetime.date) -> str | None:
    """The member with the most conflicting files (ties: alphabetical); else a fallback user
    chosen by the day of the year, so that the duty rotates; None when there is neither."""
    counts = Counter(conflict.username for conflict in conflicts if conflict.username)
    if counts:
        return min(counts, key=lambda username: (-counts[username], username.casefold()))
    if fallback:
        return fallback[today.toordinal() % len(fallback)]
    return None


def time_ago(then: datetime.datetime, now: datetime.datetime) -> str:
    """`2 hours ago`: the largest whole unit, pluralised."""
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (
        ("year", 31_536_000),
        ("month", 2_592_000),
        ("week", 604_800),
        ("day", 86_400),
        ("hour", 3_600),
        ("minute", 60),
    ):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return f"{seconds} second{'s' if seconds != 1 else ''} ago"


def mention(username: str | None, author: str, no_mention: bool) -> str:
    """`@rymai`, or `` `rymai` `` with --no-mention; an unknown author's git name (anyone's
    to choose: `Eve @rymai`) is inline code, which mentions nobody and stays on its line."""
    return username_mention(username) if username and not no_mention else inline_code(username or author)


# -- Slack ----------------------------------------------------------------------------------


class Notifier:
    """Slack for one run (SLACK_UPSTREAM_MERGE_URL): posts are plan steps, and a failed push
    or merge request is told too; a missing URL or a failure never stops the run."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.secret("SLACK_UPSTREAM_MERGE_URL")
        self.dry_run = settings.dry_run
        if not self.url and not self.dry_run:
            warn("SLACK_UPSTREAM_MERGE_URL is not set: Slack is not told about this upstream merge")

    def step(self, summary: str, text: Callable[[], str] | str) -> Step:
        """A Slack post (its text may be known only once earlier steps ran)."""

        def post() -> Report:
            message = text() if callable(text) else text
            self._post(message)
            return Report(f"posted: {message}")

        return Step(
            "slack.post",
            summary,
            Target(),
            action=post,
            skip="" if self.url else "SLACK_UPSTREAM_MERGE_URL is not set",
            details=(text,) if isinstance(text, str) else (),
            on_failure=Failure.WARN,
        )

    def _post(self, text: str) -> None:
        from . import slack

        slack.post(self.url, text, variable="SLACK_UPSTREAM_MERGE_URL")

    def telling_failures(self, action: Callable[[], Any], job_url: str) -> Callable[[], Any]:
        """`action`, whose failure Slack hears of (best effort) before it is reported."""

        def run() -> Any:
            try:
                return action()
            except ReleaseToolsError:
                if self.url:
                    try:
                        self._post(_slack().upstream_failed_message(job_url))
                    except SlackError as error:
                        warn(f"Slack notification failed: {error}")
                raise

        return run


# -- the task ---------------------------------------------------------------------------------


def upstream_merge(settings: Settings, *, gitlab: Any | None = None) -> Plan:
    """Merge CE `master` into a new EE branch and open its merge request (see the module);
    return the plan, run.

    Its branch name, title, fallback assignee and milestone follow the settings' clock
    (`release_tools.date`, SOURCE_DATE_EPOCH); the age of an open one, the real clock.

    Raises, before anything is pushed or created: ConfigurationError (remotes, token,
    security mode), GitError when git fails, ReleaseStateError when the two masters share
    no history, GitLabError when GitLab refuses a read.
    """
    if settings.security:
        # It pushes to EE and opens a merge request on the production instance: exactly what
        # a security release must not touch.
        raise ConfigurationError(
            "the upstream merge works on the public projects and opens a public merge request, "
            "so it does not run in security mode: unset SECURITY"
        )
    now = settings.clock.now().astimezone(datetime.timezone.utc)
    ee, ce = settings.project("ee"), settings.project("ce")
    ee_url, ce_url = _remote_url(settings, "ee"), _remote_url(settings, "ce")
    label = settings.labels["upstream_merge"]
    settings.token("production")  # needed before anything: the guard and the merge request
    if gitlab is None:
        from .gitlab import GitLab

        gitlab = GitLab(settings, "production")
    announce_date(settings)
    plan = Plan(settings.task or "upstream_merge", f"{ce.path} master into {ee.path}")
    notifier = Notifier(settings)

    if settings.force:
        say("--force: not looking for an open upstream merge request", "yellow")
    else:
        pending = gitlab.list_merge_requests(ee.path, labels=(label,), state="opened", target_branch="master")
        if pending:
            newest = pending[0]
            plan.notes.append(f"An upstream merge request already exists: {newest.web_url}")
            plan.add(
                Step(
                    "merge_request.create",
                    f"open an upstream merge request in {ee.path}",
                    Target(project=ee.path, instance="production", merge_request=f"!{newest.iid}"),
                    done=True,
                    result=newest.web_url,
                    urls=(newest.web_url,),
                )
            )
            real_now = wall()
            age = time_ago(_parse_time(newest.created_at) or real_now, real_now)
            text = _slack().upstream_pending_message(newest.web_url, f"{ee.path}!{newest.iid}", age)
            plan.add(notifier.step("tell Slack that it is still pending", text))
            return execute(plan, settings.run)
    check_identity()

    remotes = [(ORIGIN, ee_url), (UPSTREAM, ce_url)]
    with Repository.clone(
        remotes, branch="master", depth=1, filter="blob:none", sparse=(), tags=False, name="gitlab-ee"
    ) as repo:
        ce_tip = repo.fetch_branch(UPSTREAM, "master", depth=1)
        ee_tip = repo.head()
        base = repo.merge_base(ee_tip, ce_tip, deepen=True)
        if base is None:
            raise ReleaseStateError(f"{ee.path} master and {ce.path} master share no history: check their remotes")
        if base == ce_tip:
            plan.notes.append("EE is already up-to-date with CE. No merge request was created.")
            plan.add(notifier.step("tell Slack that EE is up to date", _slack().upstream_up_to_date_message()))
            return execute(plan, settings.run)

        daily = branch_name(now)
        taken = repo.ls_remote(ORIGIN, branches=[daily, branch_name(now, [daily])]).branches
        branch = branch_name(now, taken)
        if branch in taken:
            when = (
                f"{settings.clock.source} fixes the time: change it or delete the branch"
                if settings.clock.moment is not None
                else "run again in a minute"
            )
            raise ReleaseStateError(f"{ee.path} already has a branch {branch}: {when}")
        merged = merge(repo, branch, base, ce_tip)

        # Everything GitLab has to say comes before the push.
        conflicts = merged.conflicts
        member_ids: dict[str, int] = {}
        if conflicts:
            users = gitlab.project_users(ee.path)
            member_ids = {user.username: user.id for user in users}
            index = member_index(users)
            conflicts = tuple(Conflict(c.state, c.path, c.author, map_author(index, c.author)) for c in conflicts)
        responsible = choose_responsible(conflicts, settings.upstream_merge.fallback_assignees, now.date())
        description = render_description(settings, branch, conflicts, responsible)
        mr_title = title(now)
        assignee = _assignee(gitlab, responsible, member_ids, settings)
        milestone = gitlab.current_milestone(ee.path, settings.milestone_group, now.date())
        _show(merged, conflicts)

        remote = settings.upstream_merge.remote
        reads = RemoteReads()
        reads.want(ee_url, [branch])
        update = RefUpdate(f"refs/heads/{branch}", merged.commit, {ORIGIN: None})
        [push] = push_steps(repo, [(ORIGIN, ee_url)], [update], reads, project=ee.path, label=ee.path)
        push.summary = f"push {branch} to {remote} ({ee.path})"
        push.target = Target(project=ee.path, remote=remote, refs=(update.ref,))
        push.action = notifier.telling_failures(push.action, settings.job_url)
        plan.add(push)

        created: list[Any] = []

        def create() -> Report:
            mr = gitlab.create_merge_request(
                ee.path,
                title=mr_title,
                description=description,
                source_branch=branch,
                target_branch="master",
                labels=(label,),
                milestone_id=milestone.id if milestone else None,
                assignee_id=assignee,
            )
            created.append(mr)
            return Report(mr.web_url, (mr.web_url,))

        def check() -> str | None:
            found = gitlab.find_merge_requests(ee.path, source_branch=branch, target_branch="master", state="opened")
            return None if found else f"no open merge request from {branch} in {ee.path}"

        plan.add(
            Step(
                "merge_request.create",
                f'open the merge request "{mr_title}" from {branch} into master in {ee.path}',
                Target(project=ee.path, instance="production", refs=(branch,), merge_request=mr_title),
                action=notifier.telling_failures(create, settings.job_url),
                check=check,
                details=(_conflicts_text(conflicts) + (f"; assigned to {responsible}" if responsible else ""),),
                preview=f"# {mr_title}\n\n{description}",
            )
        )
        plan.add(
            notifier.step(
                "tell Slack about the merge request",
                lambda: _slack().upstream_created_message(
                    created[0].web_url, f"{ee.path}!{created[0].iid}", len(conflicts)
                ),
            )
        )
        return execute(plan, settings.run)


def merge(repo: Repository, branch: str, base: str, ce_tip: str) -> Merge:
    """Merge `ce_tip` into a new `branch` from EE master; commit conflicts as they are.

    The one function of this task that checks a branch out (and leaves the clone on it)."""
    # The clone fetches missing blobs from EE on demand; CE's new ones must come from CE.
    repo.fetch_objects(UPSTREAM, repo.changed_blobs(base, ce_tip))
    repo.checkout(branch, start="master")
    outcome = repo.merge(ce_tip, no_ff=True, message=commit_message(branch, ()).strip())
    if outcome.status != "conflicts":
        return Merge(branch, repo.head(), ())
    states = repo.conflicts()
    say(
        f"{len(states)} conflicting file{'s' if len(states) != 1 else ''}: committing them with their markers", "yellow"
    )
    # `--sparse`: a conflict outside the (top-level only) checkout is staged all the same.
    repo.git("add", "--sparse", "--all", "--", *(path for _, path in states))
    commit = repo.commit(commit_message(branch, states))
    if commit is None or repo.conflicted_files():
        raise GitError(f"the merge of CE into {branch} could not be committed")
    return Merge(branch, commit, tuple(Conflict(state, path, last_author(repo, path)) for state, path in states))


def last_author(repo: Repository, path: str) -> str:
    """Who changed `path` last, on either side of the merge (git's author name)."""
    authors = repo.log("HEAD", paths=[path], format="%an", max_count=1, no_merges=True, full_history=True)
    return authors[0] if authors else "unknown"


def render_description(settings: Settings, branch: str, conflicts: Sequence[Conflict], responsible: str | None) -> str:
    from .templates import render

    ee = settings.project("ee")
    blob_url = f"{settings.instance('production').url}/{ee.path}/blob/{branch}"
    return render(
        settings.templates_dir,
        TEMPLATE,
        ce_path=settings.project("ce").path,
        branch=branch,
        conflicts=[
            {
                "state": conflict.state,
                "path": inline_code(conflict.path),  # Markdown: whatever its name, one line, inert
                # Quoted: a space or parenthesis in the path would end the Markdown link.
                "url": f"{blob_url}/{urllib.parse.quote(conflict.path)}",
                "who": mention(conflict.username, conflict.author, settings.no_mention),
            }
            for conflict in conflicts
        ],
        responsible=mention(responsible, responsible, settings.no_mention) if responsible else "",
        docs_url=DOCS_URL,
        job_url=link_destination(settings.job_url),
    )


def _assignee(gitlab: Any, responsible: str | None, member_ids: Mapping[str, int], settings: Settings) -> int | None:
    """The user id of `responsible`: known when they are a member, else looked up (a fallback user)."""
    if responsible is None:
        return None
    if responsible in member_ids:
        return member_ids[responsible]
    user = gitlab.find_user(responsible)
    if user is None:
        say(
            f"{responsible} is not a user on {settings.instance('production').host}: the merge request stays unassigned",
            "yellow",
            err=True,
        )
        return None
    return user.id


def _show(merged: Merge, conflicts: Sequence[Conflict]) -> None:
    say(f"{merged.branch} at {merged.commit[:12]}: {_conflicts_text(conflicts)}")
    for conflict in conflicts:
        author = quote(conflict.author)
        who = f"{author} ({conflict.username})" if conflict.username else f"{author} (no member of EE)"
        say(f"    ({conflict.state}) {quote_path(conflict.path)}: {who}")


def _conflicts_text(conflicts: Sequence[Conflict]) -> str:
    if not conflicts:
        return "no conflicts"
    return f"{len(conflicts)} conflict{'s' if len(conflicts) != 1 else ''}"


def _remote_url(settings: Settings, key: str) -> str:
    name = settings.upstream_merge.remote
    for remote, url in settings.project(key).remotes:
        if remote == name:
            return url
    raise ConfigurationError(
        f"release_tools.projects.{key}.remotes has no `{name}` remote (release_tools.upstream_merge.remote)"
    )


def _parse_time(text: str) -> datetime.datetime | None:
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def _slack():
    from . import slack

    return slack
