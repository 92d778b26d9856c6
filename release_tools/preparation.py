"""Preparation merge requests: for a patch or RC, a branch off the CE and EE stable
branches and a merge request back into them, where the picked changes are collected.

Differences from the original, on purpose:
- a dry run creates no branch either (the original created both under TEST);
- "branch already exists" is fine, any other refusal to create the branch is an error
  (the original ignored every 400, e.g. a missing stable branch);
- the release issue must exist and is looked up first: an RC's merge requests link the
  RC's own issue, not the monthly one, and nothing is created when the issue is missing
  (the original crashed, half-way);
- an existing merge request is found by its branches, so one renamed after review (no
  more `WIP:`) is not opened a second time, and on every page of results;
- the URL printed comes from the create response, not from a search that may lag;
- once merged (and its branch removed with it), nothing is made again.

Per edition the plan has two steps, the branch and the merge request (see
`plan_preparation_merge_requests`); the executor runs, prints and reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

from .config import Settings
from .errors import GitLabConflictError, InvalidRefError, ReleaseIssueNotFoundError, quote
from .version import Version

if TYPE_CHECKING:
    from .plan import Plan

TEMPLATE = "preparation_merge_request.md.j2"


@dataclass(frozen=True)
class PreparationMergeRequest:
    """One edition's preparation branch and merge request, as plain values."""

    version: Version  # in the edition's form: `11.1.2` or `11.1.2-ee`
    project: str
    title: str
    source_branch: str
    target_branch: str
    labels: tuple[str, ...]
    milestone: str

    @property
    def ee(self) -> bool:
        return self.version.ee


def preparation_merge_request(settings: Settings, version: Version, *, security: bool = False) -> PreparationMergeRequest:
    """The names for one edition: `version.ee` says which (`to_ce()` / `to_ee()`)."""
    project = settings.project("ee" if version.ee else "ce")
    stable = version.stable_branch()
    if version.is_rc:
        title = f"WIP: Prepare {version.minor_name} RC{version.rc}{' EE' if version.ee else ''} release"
        source = f"{stable}-prepare-rc{version.rc}"
    else:
        title = f"WIP: Prepare {version} release"
        source = f"{stable}-patch-{version.patch}"
    return PreparationMergeRequest(
        version=version,
        project=(project.dev_path or project.path) if security else project.path,
        title=title,
        source_branch=source,
        target_branch=stable,
        labels=(settings.labels["release"],),
        milestone=version.minor_name,
    )


def instance_of(settings: Settings) -> str:
    """The instance the preparation merge requests live on: dev for a security release."""
    return "dev" if settings.security else "production"


def preparation_merge_requests(settings: Settings, version: Version) -> list[PreparationMergeRequest]:
    """CE's, then EE's."""
    return [
        preparation_merge_request(settings, edition, security=settings.security)
        for edition in (version.to_ce(), version.to_ee())
    ]


def describe(settings: Settings, spec: PreparationMergeRequest, instance_url: str, release_issue_url: str) -> str:
    from .templates import render

    pick_label = settings.pick_label(spec.milestone)
    return render(
        settings.templates_dir,
        TEMPLATE,
        release_issue_url=release_issue_url,
        ee=spec.ee,
        minor=spec.milestone,
        version=str(spec.version),
        patch_or_rc=f"RC{spec.version.rc}" if spec.version.is_rc else str(spec.version),
        stable_branch=spec.target_branch,
        source_branch=spec.source_branch,
        pick_label=pick_label,
        picked_url=(
            f"{instance_url}/{spec.project}/merge_requests"
            f"?label_name%5B%5D={quote_plus(pick_label)}&scope=all&state=merged"
        ),
        merge_request_url=f"{instance_url}/{spec.project}/merge_requests/MERGE_REQUEST_ID",
    )


def plan_preparation_merge_requests(settings: Settings, version: Version, gitlab: Any | None = None) -> Plan:
    """The plan: per edition (CE, then EE), the preparation branch and its merge request.

    Everything is read first (release issue, existing branches and merge requests,
    milestones, stable branches), so a missing piece stops the task before anything is
    created; a dry run reads the same and fails where the real run would.
    A branch is done when it exists (or when its merge request was merged and the branch
    removed with it); a merge request when one from that branch into the stable branch is
    open or merged, whatever its title now.
    Raises ReleaseIssueNotFoundError, MilestoneNotFoundError, InvalidRefError (a
    missing stable branch), GitLabError, MissingTokenError.
    """
    from . import issues
    from .gitlab import GitLab
    from .plan import Plan

    instance = instance_of(settings)
    if gitlab is None:
        gitlab = GitLab(settings, instance)
    production = gitlab if instance == "production" else GitLab(settings, "production")

    issue_spec = issues.release_issue(settings, version, security=settings.security)
    issue = issues.find(production, issue_spec)
    if issue is None:
        command = f"invoke release_issue {'--security ' if settings.security else ''}{version.to_ce()}"
        raise ReleaseIssueNotFoundError(
            f'the {issue_spec.kind_name} "{issue_spec.title}" is not in {issue_spec.project} yet: '
            f"create it first ({command})"
        )

    plan = Plan(settings.task or "patch_merge_request", str(version.to_ce()), security=settings.security)
    plan.notes.append(f"The merge requests link the {issue_spec.kind_name}: {issue.web_url}")
    for spec in preparation_merge_requests(settings, version):
        _plan_edition(settings, plan, gitlab, spec, describe(settings, spec, gitlab.instance.url, issue.web_url))
    return plan


def _plan_edition(settings: Settings, plan: Plan, gitlab: Any, spec: PreparationMergeRequest, description: str) -> None:
    """Add one edition's two steps to `plan`, reading what is there already."""
    from .plan import Report, Step, Target

    instance = gitlab.instance_name
    existing = find_merge_request(gitlab, spec)
    branch_exists = gitlab.branch_exists(spec.project, spec.source_branch)
    branch = plan.add(
        Step(
            "branch.create",
            f"create branch {spec.source_branch} from {spec.target_branch} in {spec.project}",
            Target(project=spec.project, instance=instance, refs=(f"refs/heads/{spec.source_branch}",)),
            # A merged merge request removed its branch: that branch has done its job.
            done=branch_exists or (existing is not None and existing.state == "merged"),
        )
    )
    if not branch_exists and branch.done:
        branch.result = "merged and removed with its merge request"
    merge_request = plan.add(
        Step(
            "merge_request.create",
            f'open merge request "{spec.title}" into {spec.target_branch} in {spec.project}',
            Target(project=spec.project, instance=instance, merge_request=spec.title),
            done=existing is not None,
            details=() if existing else (f"from {spec.source_branch}; label {', '.join(spec.labels)}; milestone {spec.milestone}",),
            preview=f"# {spec.title}\n\n{description}",
        )
    )
    if existing is not None:
        merge_request.result, merge_request.urls = _shown(spec, existing), (existing.web_url,)
        return

    group = settings.milestone_group if instance == "production" else None
    milestone = gitlab.find_milestone(spec.project, spec.milestone, group)
    if not branch.done:
        _check_stable_branch(gitlab, spec)

    def create_branch() -> str:
        if gitlab.create_branch(spec.project, spec.source_branch, spec.target_branch):
            return ""
        return "it exists already (created meanwhile)"

    def branch_there() -> str | None:
        if gitlab.branch_exists(spec.project, spec.source_branch):
            return None
        return f"no branch {spec.source_branch} in {spec.project}"

    def create_merge_request() -> Report:
        try:
            created = gitlab.create_merge_request(
                spec.project,
                title=spec.title,
                description=description,
                source_branch=spec.source_branch,
                target_branch=spec.target_branch,
                labels=spec.labels,
                milestone_id=milestone.id,
                assignee_id=gitlab.current_user().id,
            )
        except GitLabConflictError:
            # Opened by someone else since we looked: theirs does the job.
            opened = gitlab.find_merge_requests(
                spec.project, source_branch=spec.source_branch, target_branch=spec.target_branch, state="opened"
            )
            if not opened:
                raise
            return Report(f"opened meanwhile: {_shown(spec, opened[0])}", (opened[0].web_url,))
        return Report(created.web_url, (created.web_url,))

    def merge_request_there() -> str | None:
        if find_merge_request(gitlab, spec) is not None:
            return None
        return f"no open or merged merge request from {spec.source_branch} into {spec.target_branch} in {spec.project}"

    branch.action, branch.check = create_branch, branch_there
    merge_request.action, merge_request.check = create_merge_request, merge_request_there


def find_merge_request(gitlab: Any, spec: PreparationMergeRequest) -> Any | None:
    """The open or merged merge request from the preparation branch into the stable branch:
    whether the merge request step is done, as the task and `status` read it."""
    found = gitlab.find_merge_requests(spec.project, source_branch=spec.source_branch, target_branch=spec.target_branch)
    return next((mr for mr in found if mr.state in ("opened", "merged")), None)


def _shown(spec: PreparationMergeRequest, mr: Any) -> str:
    """`https://.../merge_requests/12 (merged, titled 'Prepare 11.1.2 release')`: the title,
    anyone's to change, quoted on one line."""
    about = ["merged"] if mr.state == "merged" else []
    if mr.title != spec.title:
        about.append(f"titled {quote(mr.title, 80)}")
    return mr.web_url + (f" ({', '.join(about)})" if about else "")


def _check_stable_branch(gitlab: Any, spec: PreparationMergeRequest) -> None:
    if not gitlab.branch_exists(spec.project, spec.target_branch):
        raise InvalidRefError(
            f"{spec.target_branch} does not exist in {spec.project} on {gitlab.instance.host}: "
            "create the stable branch first"
        )


def ensure_preparation_merge_requests(settings: Settings, version: Version) -> Plan:
    """Create the CE and EE preparation branches and merge requests, or show them (see
    `plan_preparation_merge_requests`); return the plan, run."""
    from .plan import execute

    return execute(plan_preparation_merge_requests(settings, version), settings.run)
