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
from typing import Any

from .config import Settings
from .console import result, say
from .version import Version

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

    def dry_run_line(self) -> str:
        """What a dry run would do, and where: a dry run makes no request, so it cannot
        tell whether the issue exists already."""
        labels = f"label{'s' if len(self.labels) != 1 else ''} {', '.join(self.labels)}"
        visibility = "confidential" if self.confidential else "public"
        return (
            f'--> Dry run: the {self.kind_name} "{self.title}" would be created in {self.project} '
            f"({visibility}; {labels}; milestone {self.milestone}), or shown if it exists already. "
            "Nothing was changed."
        )


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
        "pick_label": f"Pick into {version.minor_name}",
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


def ensure_issue(settings: Settings, spec: IssueSpec, gitlab: Any | None = None) -> Any:
    """Show the issue if it exists, otherwise create it; print what happened.

    A dry run says where the issue would go, then renders and prints it, without a
    single request (no token needed). A real run looks the issue up by title, labels and milestone; when it is
    missing, it checks the milestone (project, then group) before creating anything.
    Returns the found or created gitlab.Issue, or None for a dry run.
    """
    description = spec.description(settings)
    if settings.dry_run:
        result(spec.dry_run_line(), "yellow")
        say()
        say(f"# {spec.title}")
        say()
        say(description)
        return None

    if gitlab is None:
        from .gitlab import GitLab

        gitlab = GitLab(settings, "production")

    existing = gitlab.find_issue(spec.project, spec.title, spec.labels, spec.milestone, spec.without_labels)
    if existing is not None:
        result(f'--> Issue "{spec.title}" already exists.', "red")
        result(f"    {existing.web_url}")
        return existing

    milestone = gitlab.find_milestone(spec.project, spec.milestone, settings.milestone_group)
    user = gitlab.current_user()
    created = gitlab.create_issue(
        spec.project,
        title=spec.title,
        description=description,
        labels=spec.labels,
        milestone_id=milestone.id,
        assignee_id=user.id,
        confidential=spec.confidential,
    )
    result(f'--> Issue "{spec.title}" created.', "green")
    result(f"    {created.web_url}")
    return created
