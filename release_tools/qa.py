"""QA issues: the merge requests that went into a release between two refs, grouped by
team label, as a checklist issue in the release tasks project.

Differences from the original, on purpose:
- refs get `-ee` only when they are exactly a version tag (`v11.1.0-rc2`) or a CE stable
  branch (`11-1-stable`); the original matched anywhere in the ref, so `-ee` refs became
  `-ee-ee` and branches containing a version changed name;
- merge requests are fetched 100 per request and per project (`iids[]`), on the instance
  the project lives on (`gitlab/...` dev paths on the dev instance), instead of one
  request per merge request plus a certain 404 on gitlab.com for every dev one;
- links point at the merge request's URL, not at a reference that only resolves on the
  instance that hosts it;
- a merge request without `merged_by` (GitLab leaves it null for old merges) is credited
  to its author instead of crashing the task;
- an existing issue gets the new merge requests appended and a comment mentioning their
  people; rerunning with nothing new changes nothing;
- a security release's QA issue (read from the dev instance) is confidential and also
  labelled `security`, since the fixes it lists are not public yet.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import Settings
from .output import say
from .errors import GitLabNotFoundError, InvalidRefError, InvalidVersionError, non_ascii_note, quote
from .version import ASCII_WHITESPACE, Version

if TYPE_CHECKING:
    from .plan import Plan

RELEASE_TASKS = "release_tasks"
TEMPLATE = "qa.md.j2"
UNCATEGORIZED = "uncategorized"

#: `See merge request gitlab-org/gitlab-ce!18745`, the last paragraph of GitLab's merge commits.
#: ASCII only, as GitLab's paths and iids are (`\w` and `\d` would take `!１２` for 12), and
#: the number ends where the mention does: `!1１` and `!12_3` mention nothing.
MERGE_REQUEST_MENTION = re.compile(
    r"See merge request (?P<path>[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+)!(?P<iid>[0-9]{1,9})(?!\w)"
)
_VERSION_TAG = re.compile(r"v[0-9]+\.[0-9]+\.[0-9]+(?:-rc[0-9]+)?")
_CE_STABLE_BRANCH = re.compile(r"[0-9]+-[0-9]+-stable")

#: Tag and branch names as git accepts them, in ASCII, minus anything that could read as an
#: option or a range (`-x`, `a..b`, `@{u}`).
_REF = re.compile(r"(?!-)(?!.*\.\.)(?!.*@\{)[A-Za-z0-9][A-Za-z0-9._/+@-]*(?<![./])(?<!\.lock)")
#: No one types a longer tag or branch name; refusing it keeps a pasted page out of requests.
REF_LIMIT = 255

# How merge requests are read: (adapter, project path, iids) -> the merge requests found.
# The benchmark swaps in a request per merge request to compare against.
Fetch = Callable[[Any, str, list[int]], list[Any]]


def fetch_in_batches(gitlab: Any, project: str, iids: list[int]) -> list[Any]:
    """The merged merge requests with these iids: one request per 100 of them."""
    return gitlab.merge_requests(project, iids, state="merged")


# -- pure parts -----------------------------------------------------------------------------


def is_ref_name(text: str) -> bool:
    """Whether `text` can be a tag or branch name to compare (see `_REF`)."""
    return len(text) <= REF_LIMIT and _REF.fullmatch(text) is not None


def check_ref(ref: str) -> str:
    """`ref` without the ASCII whitespace around it; raises InvalidRefError unless it is
    a tag or branch name."""
    name = ref.strip(ASCII_WHITESPACE)
    if not is_ref_name(name):
        raise InvalidRefError(
            f"{quote(ref)} is not a tag or branch name (e.g. v11.1.0-rc1 or 11-1-stable){non_ascii_note(ref)}"
        )
    return name


def ee_ref(ref: str) -> str:
    """The EE name of a CE tag or stable branch; any other ref is returned unchanged.

    `v11.1.0-rc2` -> `v11.1.0-rc2-ee`, `11-1-stable` -> `11-1-stable-ee`; `v11.1.0-ee`,
    `master` and `fix-11.1.0-docs` stay as they are.
    """
    if _VERSION_TAG.fullmatch(ref) or _CE_STABLE_BRANCH.fullmatch(ref):
        return f"{ref}-ee"
    return ref


def infer_version(to_ref: str) -> Version:
    """The version a QA issue is about, from the newer ref: `v11.1.0-rc2` -> `11.1.0-rc2`.

    Raises InvalidVersionError when the ref is not a version tag (give `--version` then).
    """
    text = to_ref[1:] if to_ref.startswith("v") else to_ref
    try:
        return Version.parse(text)
    except InvalidVersionError:
        raise InvalidVersionError(
            f"cannot tell the version from {quote(to_ref)}: give it with --version X.Y.Z or X.Y.Z-rcN"
        ) from None


@dataclass(frozen=True)
class Mention:
    """A `See merge request <path>!<iid>` found in a commit message."""

    path: str
    iid: int


def mentioned_merge_requests(messages: Iterable[str]) -> list[Mention]:
    """Every merge request the commit messages name, in order of first mention."""
    seen: dict[tuple[str, int], Mention] = {}
    for message in messages:
        for match in MERGE_REQUEST_MENTION.finditer(message):
            mention = Mention(match["path"], int(match["iid"]))
            seen.setdefault((mention.path, mention.iid), mention)
    return list(seen.values())


def instance_of(settings: Settings, path: str, default: str = "production") -> str:
    """The instance a project path lives on, from the configured `path` / `dev_path`.

    An exact configured path decides; otherwise the namespace does (`gitlab/...` is the
    dev instance's namespace in the shipped configuration); otherwise `default`.
    """
    production = {p.path for p in settings.projects.values() if p.path}
    dev = {p.dev_path for p in settings.projects.values() if p.dev_path}
    if path in dev and path not in production:
        return "dev"
    if path in production and path not in dev:
        return "production"
    if path in dev:  # configured on both: the instance the refs were compared on
        return default
    namespace = path.split("/", 1)[0]
    production_namespaces = {p.split("/", 1)[0] for p in production}
    dev_namespaces = {p.split("/", 1)[0] for p in dev} - production_namespaces
    if namespace in dev_namespaces:
        return "dev"
    if namespace in production_namespaces:
        return "production"
    return default


@dataclass(frozen=True)
class QaItem:
    """One merge request to check: who checks it and the checklist line."""

    merge_request: Any  # gitlab.MergeRequest
    user: str
    team: str

    @property
    def line(self) -> str:
        """One checklist line, whatever the title, labels and names hold (`markdown_line`)."""
        from .templates import markdown_line, mention

        mr = self.merge_request
        labels = " ".join(label_reference(label) for label in mr.labels)
        return f"- [ ] {mention(self.user)} | [{markdown_line(mr.title)}]({mr.web_url})" + (f" {labels}" if labels else "")


def label_reference(label: str) -> str:
    """`~"Platform"`; a label that such a reference cannot hold (a `"` or a line break in it)
    as code, so that the rest of it is no mention or quick action."""
    from .templates import inline_code, plain_line

    return f'~"{label}"' if '"' not in label and plain_line(label) == label else inline_code(label)


def qa_items(settings: Settings, merge_requests: Iterable[Any]) -> list[QaItem]:
    """Drop merge requests with an unpermitted label; pick each one's checker and team."""
    qa = settings.qa
    unpermitted = set(qa.unpermitted_labels)
    items = []
    for mr in merge_requests:
        if unpermitted & set(mr.labels):
            continue
        community = qa.community_label in mr.labels
        user = (mr.merged_by if community else None) or mr.author
        team = next((label for label in qa.team_labels if label in mr.labels), UNCATEGORIZED)
        items.append(QaItem(mr, user, team))
    return items


def group_items(settings: Settings, items: Iterable[QaItem]) -> list[tuple[str, list[QaItem]]]:
    """Items per team, teams in the configured order, `uncategorized` last, empty ones out."""
    items = list(items)
    order = [*settings.qa.team_labels, UNCATEGORIZED]
    groups = [(team, [item for item in items if item.team == team]) for team in order]
    return [(team, members) for team, members in groups if members]


def format_groups(groups: list[tuple[str, list[QaItem]]]) -> str:
    """The checklist: a heading per team, a line per merge request, a rule after each team."""
    lines: list[str] = []
    for team, items in groups:
        lines.append(f'### {team} ~"{team}" \n')
        lines.extend(item.line for item in items)
        lines.append("\n\n----\n\n")
    return "\n".join(lines)


def people_of(items: Iterable[QaItem]) -> str:
    """`@alice @bob`: each checker once, in order."""
    from .templates import mention

    return " ".join(dict.fromkeys(mention(item.user) for item in items))


def mention_comment(items: Iterable[QaItem]) -> str:
    return "New QA items for: " + people_of(items)


def is_listed(description: str, mr: Any) -> bool:
    """Whether a description already links this merge request (URLs end at the `)`)."""
    return f"({mr.web_url})" in description


# -- the plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QaIssue:
    """Where the QA issue goes and how it is filed."""

    title: str
    project: str
    labels: tuple[str, ...]
    milestone: str
    confidential: bool = False  # a security release's: its fixes are not public yet

    @property
    def name(self) -> str:
        """`the QA issue "11.1.0-rc2 QA Issue" in gitlab-org/release/tasks`."""
        return f'the QA issue "{self.title}" in {self.project}'

    def where(self) -> str:
        labels = f"label{'s' if len(self.labels) != 1 else ''} {', '.join(self.labels)}"
        return f"{'confidential' if self.confidential else 'public'}; {labels}; milestone {self.milestone}"


def qa_issue_of(settings: Settings, version: Version) -> QaIssue:
    """The QA issue of `version`: confidential and labelled security in a security release."""
    qa, security = settings.labels["qa"], settings.labels["security"]
    return QaIssue(
        title=f"{version.to_ce()} QA Issue",
        project=settings.project(RELEASE_TASKS).path,
        labels=(qa, security) if settings.security else (qa,),
        milestone=version.milestone_name,
        confidential=settings.security,
    )


def find_qa_issue(gitlab: Any, qa_issue: QaIssue, *, public_only: bool = False) -> Any | None:
    """The QA issue, or None: whether `qa_issue` creates it or adds to it, as the task and
    `status` read it. With `public_only`, GitLab is asked for public issues only.
    Raises GitLabError."""
    return gitlab.find_issue(
        qa_issue.project, qa_issue.title, qa_issue.labels, qa_issue.milestone,
        confidential=False if public_only else None,
    )


def plan_qa_issue(
    settings: Settings,
    from_ref: str,
    to_ref: str,
    version: Version | None = None,
    *,
    gitlabs: Mapping[str, Any] | None = None,
    fetch: Fetch = fetch_in_batches,
) -> Plan:
    """Read everything the QA issue needs and plan what to write; changes nothing.

    A new issue is one `issue.create` step; an existing one gets an `issue.update` (the
    merge requests it does not list yet, appended) and a `note.create` (a comment
    mentioning their people), or, with nothing new, an `issue.update` that is done already.
    `gitlabs` maps instance names to adapters (created on demand when omitted); `fetch`
    is how merge requests are read (batches by default).
    Raises InvalidVersionError, InvalidRefError (an empty or unknown ref, checked before
    anything else is read), MilestoneNotFoundError for a new issue, GitLabError.
    """
    from .gitlab import GitLab
    from .plan import Plan

    if not (from_ref or "").strip(ASCII_WHITESPACE) or not (to_ref or "").strip(ASCII_WHITESPACE):
        raise InvalidRefError("qa_issue needs two refs, e.g. v11.1.0-rc1 v11.1.0-rc2")
    from_ref, to_ref = check_ref(from_ref), check_ref(to_ref)
    version = version or infer_version(to_ref)
    gitlabs = dict(gitlabs or {})
    for name in ("production", "dev"):
        gitlabs.setdefault(name, GitLab(settings, name))
    source = "dev" if settings.security else "production"

    ranges = []
    for key in settings.qa.projects:
        project = settings.project(key)
        path = (project.dev_path or project.path) if settings.security else project.path
        convert = ee_ref if key == "ee" else (lambda ref: ref)
        ranges.append((path, convert(from_ref), convert(to_ref)))
    for path, *refs in ranges:  # every ref is checked before any range is read
        for ref in refs:
            if gitlabs[source].commit(path, ref) is None:
                host = settings.instance(source).host
                raise InvalidRefError(f"{quote(ref)} does not exist in {path} on {host}: check the tag or branch name")

    messages: list[str] = []
    for path, start, end in ranges:
        commits = gitlabs[source].compare(path, start, end)
        if settings.verbose:
            say(f"{path}: {len(commits)} commits in {start}...{end}")
        messages.extend(commit.message for commit in commits)
    mentions = mentioned_merge_requests(messages)
    merge_requests = _fetch_all(settings, gitlabs, mentions, source, fetch)
    items = qa_items(settings, merge_requests)

    qa_issue = qa_issue_of(settings, version)
    plan = Plan(settings.task or "qa_issue", str(version.to_ce()), security=settings.security)
    plan.notes.append(f"{_count(items)} to check between {from_ref} and {to_ref}.")
    gitlab = gitlabs["production"]
    existing = find_qa_issue(gitlab, qa_issue)
    context = _context(version, from_ref, to_ref)
    if existing is None:
        # The milestone is looked up now, so that a dry run fails where a real run would.
        milestone = gitlab.find_milestone(qa_issue.project, qa_issue.milestone, settings.milestone_group)
        description = _render(settings, context, existing=None, groups=group_items(settings, items))
        _plan_new(plan, gitlab, qa_issue, description, items, milestone.id)
    else:
        new = [item for item in items if not is_listed(existing.description, item.merge_request)]
        description = _render(settings, context, existing=existing.description, groups=group_items(settings, new))
        _plan_update(plan, gitlab, qa_issue, existing, description, new)
    return plan


def _plan_new(plan: Plan, gitlab: Any, qa_issue: QaIssue, description: str, items: list[QaItem], milestone_id: int) -> None:
    from .plan import Report, Step, Target

    def create() -> Report:
        created = gitlab.create_issue(
            qa_issue.project,
            title=qa_issue.title,
            description=description,
            labels=qa_issue.labels,
            milestone_id=milestone_id,
            assignee_id=gitlab.current_user().id,
            confidential=qa_issue.confidential,
        )
        return Report(created.web_url, (created.web_url,))

    # No read-back: a create whose answer was lost is looked up already (GitLab.create_issue),
    # and a read would add a request to every run.
    plan.add(
        Step(
            "issue.create",
            f"create {qa_issue.name}, listing {_count(items)}",
            Target(project=qa_issue.project, instance="production", issue=qa_issue.title),
            action=create,
            details=(qa_issue.where(),),
            preview=f"# {qa_issue.title}\n\n{description}",
        )
    )


def _plan_update(plan: Plan, gitlab: Any, qa_issue: QaIssue, existing: Any, description: str, new: list[QaItem]) -> None:
    from .plan import Report, Step, Target

    target = Target(project=qa_issue.project, instance="production", issue=qa_issue.title)
    if not new:
        plan.add(
            Step(
                "issue.update",
                f"add the new merge requests to {qa_issue.name}",
                target,
                done=True,
                result=f"no new merge requests; {existing.web_url}",
                urls=(existing.web_url,),
            )
        )
        return

    def update() -> Report:
        updated = gitlab.update_issue_description(qa_issue.project, existing.iid, description)
        url = updated.web_url or existing.web_url
        return Report(url, (url,))

    def listed() -> str | None:
        found = find_qa_issue(gitlab, qa_issue)
        missing = [item for item in new if found is None or not is_listed(found.description, item.merge_request)]
        return f"it does not list {_count(missing)}" if missing else None

    comment = mention_comment(new)

    def post() -> Report:
        gitlab.add_issue_note(qa_issue.project, existing.iid, comment)
        return Report(existing.web_url, (existing.web_url,))

    plan.add(
        Step(
            "issue.update",
            f"add {_count(new)} to {qa_issue.name}",
            target,
            action=update,
            check=listed,
            preview=f"# {qa_issue.title}\n\n{description}",
        )
    )
    # Once the issue lists them, a re-run no longer knows these were new: the summary says
    # whom a comment that could not be posted was for.
    plan.add(
        Step(
            "note.create",
            f"mention {people_of(new)} on {qa_issue.name}",
            target,
            action=post,
            preview=f"Comment to add on {existing.web_url}:\n{comment}",
        )
    )


def _fetch_all(settings: Settings, gitlabs: Mapping[str, Any], mentions: list[Mention], source: str, fetch: Fetch) -> list[Any]:
    """The mentioned merge requests, in order of mention, each read on its own instance."""
    wanted: dict[tuple[str, str], list[int]] = {}
    for mention in mentions:
        wanted.setdefault((instance_of(settings, mention.path, source), mention.path), []).append(mention.iid)
    found: dict[tuple[str, str, int], Any] = {}
    missing: list[str] = []
    for (instance, path), iids in wanted.items():
        try:
            merge_requests = fetch(gitlabs[instance], path, iids)
        except GitLabNotFoundError as error:
            say(f"Left out {len(iids)} merge requests of {path}: {error}", "yellow", err=True)
            continue
        for mr in merge_requests:
            found[(instance, path, mr.iid)] = mr
        missing += [f"{path}!{iid}" for iid in iids if (instance, path, iid) not in found]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        say(f"Left out merge requests that were not found as merged: {shown}", "yellow", err=True)

    ordered, seen = [], set()
    for mention in mentions:
        instance = instance_of(settings, mention.path, source)
        mr = found.get((instance, mention.path, mention.iid))
        if mr is not None and (instance, mr.id) not in seen:
            seen.add((instance, mr.id))
            ordered.append(mr)
    return ordered


def _context(version: Version, from_ref: str, to_ref: str) -> dict[str, Any]:
    return {
        "version": str(version.to_ce()),
        "from_ref": from_ref,
        "to_ref": to_ref,
        # The first RC gets a day of QA; later RCs and patches, which change less, half that.
        "deadline_hours": 24 if version.rc in (None, 1) and not version.is_patch else 12,
    }


def _render(settings: Settings, context: dict[str, Any], *, existing: str | None, groups: list) -> str:
    from .templates import render

    return render(
        settings.templates_dir,
        TEMPLATE,
        existing=existing.rstrip() if existing is not None else None,
        merge_requests=format_groups(groups),
        **context,
    )


# -- the task ---------------------------------------------------------------------------------


def ensure_qa_issue(settings: Settings, from_ref: str, to_ref: str, version: Version | None = None) -> Plan:
    """Create the QA issue for the changes between two refs, or add the new ones to it
    (see `plan_qa_issue`); return the plan, run.

    `version` defaults to `to_ref` without its leading `v`. A dry run shows the issue
    (or the update and the comment) and writes nothing; it still reads, so it needs the
    tokens and fails where a real run would. `--verbose` ends with the number of requests.
    Raises InvalidVersionError, InvalidRefError (before anything is created),
    MilestoneNotFoundError, GitLabError.
    """
    from .gitlab import GitLab
    from .plan import execute

    gitlabs = {name: GitLab(settings, name) for name in ("production", "dev")}
    try:
        return execute(plan_qa_issue(settings, from_ref, to_ref, version, gitlabs=gitlabs), settings.run)
    finally:
        if settings.verbose:
            counts = ", ".join(f"{gitlabs[n].request_count} to {settings.instance(n).host}" for n in gitlabs)
            say(f"API requests: {sum(g.request_count for g in gitlabs.values())} ({counts})")


def _count(items: Iterable[QaItem]) -> str:
    items = list(items)
    return f"{len(items)} merge request" + ("" if len(items) == 1 else "s")
