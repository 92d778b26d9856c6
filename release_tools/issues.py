"""Release task issues: monthly, patch, release-candidate and security, found or created.

An issue is identified by its title, labels and milestone.

Differences from the original, on purpose:
- patch and security issues share the title `Release X.Y.Z`; they are told apart by the
  security label (the original's patch lookup found the confidential issue and reported
  it as "already exists");
- a dry run makes no request and needs no token (the original still looked the issue
  up), and says first that it is one and where the issue would go (project, labels,
  milestone, confidential or public): the CLI and ChatOps print the same line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .config import Settings
from .version import Version

if TYPE_CHECKING:
    from .plan import Plan

RELEASE_TASKS = "release_tasks"

#: What messages call each kind of issue.
KIND_NAMES = {
    "monthly": "monthly release issue",
    "patch": "patch release issue",
    "release_candidate": "release candidate issue",
    "security_patch": "confidential security release issue",
}


@dataclass(frozen=True)
class IssueSpec:
    """Everything needed to find or create one issue; rendering happens on demand."""

    kind: str  # "monthly", "patch", "release_candidate", "security_patch"
    project: str
    title: str
    labels: tuple[str, ...]
    milestone: str
    template: str
    context: dict[str, Any] = field(compare=False)
    confidential: bool = False
    without_labels: tuple[str, ...] = ()

    def description(self, settings: Settings) -> str:
        from .templates import render

        return render(settings.templates_dir, self.template, **self.context)

    @property
    def kind_name(self) -> str:
        """`monthly release issue`, `confidential security release issue`."""
        return KIND_NAMES.get(self.kind, f"{self.kind} issue")

    def where(self) -> str:
        """`public; label Release; milestone 11.1`: how the issue is filed."""
        labels = f"label{'s' if len(self.labels) != 1 else ''} {', '.join(self.labels)}"
        visibility = "confidential" if self.confidential else "public"
        return f"{visibility}; {labels}; milestone {self.milestone}"


def release_context(settings: Settings, version: Version) -> dict[str, Any]:
    """The values the release templates interpolate, all computed by Version."""
    ce = version.to_ce()
    previous_tag_ee = version.previous_tag(ee=True)
    return {
        "version": str(ce),
        "minor": version.minor_name,
        "patch_version": str(version.to_patch()),
        "rc": version.rc,
        "stable_branch": version.stable_branch(),
        "stable_branch_ee": version.stable_branch(ee=True),
        "tag": ce.tag(),
        "tag_ee": ce.tag(ee=True),
        "previous_tag_ee": previous_tag_ee or "",
        "omnibus_ce": str(version.to_omnibus(ee=False)),
        "omnibus_ee": str(version.to_omnibus(ee=True)),
        "pick_label": settings.pick_label(version.minor_name),
        "channel": f"#f_release_{version.major}_{version.minor}",
        "projects": project_links(settings),
    }


def project_links(settings: Settings) -> dict[str, dict[str, str]]:
    """Web addresses of each project on both instances, for links in the templates."""
    production = settings.instance("production").url
    dev = settings.instance("dev").url
    return {
        key: {
            "url": f"{production}/{project.path}",
            "dev_url": f"{dev}/{project.dev_path or project.path}",
        }
        for key, project in settings.projects.items()
    }


def monthly_issue(settings: Settings, version: Version) -> IssueSpec:
    return IssueSpec(
        kind="monthly",
        project=settings.project(RELEASE_TASKS).path,
        title=f"Release {version.minor_name}",
        labels=(settings.labels["release"],),
        milestone=version.minor_name,
        template="monthly.md.j2",
        context=release_context(settings, version),
    )


def patch_issue(settings: Settings, version: Version) -> IssueSpec:
    """The patch issue, or the release-candidate issue for `X.Y.Z-rcN`."""
    return IssueSpec(
        kind="release_candidate" if version.is_rc else "patch",
        project=settings.project(RELEASE_TASKS).path,
        title=f"Release {version.to_ce()}",
        labels=(settings.labels["release"],),
        milestone=version.minor_name,
        template="release_candidate.md.j2" if version.is_rc else "patch.md.j2",
        context=release_context(settings, version),
        without_labels=(settings.labels["security"],),
    )


def security_patch_issue(settings: Settings, version: Version) -> IssueSpec:
    return IssueSpec(
        kind="security_patch",
        project=settings.project(RELEASE_TASKS).path,
        title=f"Release {version.to_ce()}",
        labels=(settings.labels["release"], settings.labels["security"]),
        milestone=version.minor_name,
        template="security_patch.md.j2",
        context=release_context(settings, version),
        confidential=True,
    )


def release_issue(settings: Settings, version: Version, security: bool = False) -> IssueSpec:
    """Pick the issue a release needs: security, monthly (`X.Y.0`), or patch/RC."""
    if security:
        return security_patch_issue(settings, version)
    if version.is_monthly:
        return monthly_issue(settings, version)
    return patch_issue(settings, version)


def find(gitlab: Any, spec: IssueSpec, *, public_only: bool = False) -> Any | None:
    """The issue `spec` describes (title, labels, milestone, none of its excluded labels), or
    None: whether the issue task is done, as every task and `status` reads it. With
    `public_only`, GitLab is asked for public issues only (a confidential one is not read).
    Raises GitLabError."""
    return gitlab.find_issue(
        spec.project, spec.title, spec.labels, spec.milestone, spec.without_labels,
        confidential=False if public_only else None,
    )


def plan_issue(settings: Settings, spec: IssueSpec, gitlab: Any | None = None) -> Plan:
    """The plan of one issue task: a single step, creating the issue unless it exists.

    A real run (and a dry run that has the token) looks the issue up by title, labels and
    milestone; when it is missing, the milestone (project, then group) is checked now, so
    that a missing one stops the task before anything is created, and a dry run fails
    where the real run would. A dry run without the token makes no request at all: the
    step is then "not looked up".
    Raises MilestoneNotFoundError, GitLabError, MissingTokenError (real runs).
    """
    from .plan import Plan, Report, Step, Target

    description = spec.description(settings)
    plan = Plan(settings.task or f"{spec.kind}_issue", str(spec.context["version"]), security=spec.confidential)
    step = plan.add(
        Step(
            "issue.create",
            f'create the {spec.kind_name} "{spec.title}" in {spec.project}',
            Target(project=spec.project, instance="production", issue=spec.title),
            details=(spec.where(),),
            preview=f"# {spec.title}\n\n{description}",
        )
    )
    if settings.dry_run and not settings.has_token("production"):
        step.done = None
        step.__post_init__()
        plan.notes.append("Dry run without GITLAB_API_PRIVATE_TOKEN: GitLab was not asked whether the issue exists.")
        return plan

    if gitlab is None:
        from .gitlab import GitLab

        gitlab = GitLab(settings, "production")
    existing = find(gitlab, spec)
    if existing is not None:
        step.done = True
        step.__post_init__()
        step.result, step.urls = existing.web_url, (existing.web_url,)
        return plan

    milestone = gitlab.find_milestone(spec.project, spec.milestone, settings.milestone_group)

    def create() -> Report:
        created = gitlab.create_issue(
            spec.project,
            title=spec.title,
            description=description,
            labels=spec.labels,
            milestone_id=milestone.id,
            assignee_id=gitlab.current_user().id,
            confidential=spec.confidential,
        )
        return Report(created.web_url, (created.web_url,))

    def check() -> str | None:
        found = find(gitlab, spec)
        return None if found is not None else f'no issue "{spec.title}" in {spec.project}'

    step.action, step.check = create, check
    return plan


def ensure_issue(settings: Settings, spec: IssueSpec, gitlab: Any | None = None) -> Plan:
    """Create the issue unless it exists (see `plan_issue`); return the plan, run."""
    from .plan import execute

    return execute(plan_issue(settings, spec, gitlab), settings.run)
