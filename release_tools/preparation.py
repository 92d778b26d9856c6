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
- the URL printed comes from the create response, not from a search that may lag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from .config import Settings
from .output import result, say
from .errors import GitLabConflictError, InvalidRefError, ReleaseIssueNotFoundError
from .version import Version

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


def describe(settings: Settings, spec: PreparationMergeRequest, instance_url: str, release_issue_url: str) -> str:
    from .templates import render

    pick_label = f"Pick into {spec.milestone}"
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


@dataclass(frozen=True)
class Step:
    """What one edition needs, read from GitLab before anything is written."""

    spec: PreparationMergeRequest
    description: str
    existing: Any | None  # gitlab.MergeRequest
    milestone_id: int | None = None
    branch_exists: bool = False


def ensure_preparation_merge_requests(settings: Settings, version: Version) -> None:
    """Create the CE and EE preparation branches and merge requests, or show them.

    Everything is read first (release issue, existing merge requests, milestones), so a
    missing piece stops the task before anything is created. A dry run prints the plan
    and the merge requests and creates nothing, branches included.
    Raises ReleaseIssueNotFoundError, MilestoneNotFoundError, InvalidRefError (a
    missing stable branch), GitLabError.
    """
    from . import issues
    from .gitlab import GitLab

    instance = "dev" if settings.security else "production"
    gitlab = GitLab(settings, instance)
    production = gitlab if instance == "production" else GitLab(settings, "production")

    issue_spec = issues.release_issue(settings, version, security=settings.security)
    issue = production.find_issue(
        issue_spec.project, issue_spec.title, issue_spec.labels, issue_spec.milestone, issue_spec.without_labels
    )
    if issue is None:
        command = f"invoke release_issue {'--security ' if settings.security else ''}{version.to_ce()}"
        raise ReleaseIssueNotFoundError(
            f'the {issue_spec.kind_name} "{issue_spec.title}" is not in {issue_spec.project} yet: '
            f"create it first ({command})"
        )

    steps = []
    for edition in (version.to_ce(), version.to_ee()):
        spec = preparation_merge_request(settings, edition, security=settings.security)
        existing = next(
            (
                mr
                for mr in gitlab.find_merge_requests(
                    spec.project, source_branch=spec.source_branch, target_branch=spec.target_branch
                )
                if mr.state in ("opened", "merged")
            ),
            None,
        )
        description = describe(settings, spec, gitlab.instance.url, issue.web_url)
        if existing is not None:
            steps.append(Step(spec, description, existing))
            continue
        group = settings.milestone_group if instance == "production" else None
        milestone = gitlab.find_milestone(spec.project, spec.milestone, group)
        branch_exists = gitlab.branch_exists(spec.project, spec.source_branch)
        if not branch_exists:
            _check_stable_branch(gitlab, spec)
        steps.append(Step(spec, description, None, milestone.id, branch_exists))

    for step in steps:
        apply_step(settings, gitlab, step)


def _check_stable_branch(gitlab: Any, spec: PreparationMergeRequest) -> None:
    if not gitlab.branch_exists(spec.project, spec.target_branch):
        raise InvalidRefError(
            f"{spec.target_branch} does not exist in {spec.project} on {gitlab.instance.host}: "
            "create the stable branch first"
        )


def apply_step(settings: Settings, gitlab: Any, step: Step) -> None:
    """Create one edition's branch and merge request (or, in a dry run, show them)."""
    spec = step.spec
    if step.existing is not None:
        state = " (merged)" if step.existing.state == "merged" else ""
        result(f'--> Merge Request "{step.existing.title}" already exists{state}.', "red")
        result(f"    {step.existing.web_url}")
        return

    if settings.dry_run:
        if step.branch_exists:
            say(f"Branch {spec.source_branch} already exists in {spec.project}.")
        else:
            say(f"Would create branch {spec.source_branch} from {spec.target_branch} in {spec.project}.", "yellow")
        say(f"Would open this merge request into {spec.target_branch}:", "yellow")
        result()
        result(f"# {spec.title}")
        result()
        result(step.description)
        return

    if gitlab.create_branch(spec.project, spec.source_branch, spec.target_branch):
        say(f"Created branch {spec.source_branch} from {spec.target_branch} in {spec.project}.")
    else:
        say(f"Branch {spec.source_branch} already exists in {spec.project}.")
    try:
        created = gitlab.create_merge_request(
            spec.project,
            title=spec.title,
            description=step.description,
            source_branch=spec.source_branch,
            target_branch=spec.target_branch,
            labels=spec.labels,
            milestone_id=step.milestone_id,
            assignee_id=gitlab.current_user().id,
        )
    except GitLabConflictError:
        # Opened by someone else since we looked: show theirs rather than fail.
        opened = gitlab.find_merge_requests(
            spec.project, source_branch=spec.source_branch, target_branch=spec.target_branch, state="opened"
        )
        if not opened:
            raise
        result(f'--> Merge Request "{opened[0].title}" already exists.', "red")
        result(f"    {opened[0].web_url}")
        return
    result(f'--> Merge Request "{spec.title}" created.', "green")
    result(f"    {created.web_url}")
