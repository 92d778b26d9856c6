"""Releasing the GitLab Helm chart (`helm.tag_chart`): its stable branch, its version files,
its tag, and `master`'s chart version.

`tag_chart()` does what the original's `rake helm:tag_chart` did:

- the chart version is given, or derived from the GitLab version it ships (`next_version`):
  a patch of GitLab builds on the newest chart tag of the *same* GitLab release line (the
  original took the newest tag of any line), anything else on `master`;
- `X-Y-stable` is created from `master` when no remote has it;
- the changelog is compiled (`CHANGELOG.md`, `changelogs/unreleased/`), unless the GitLab
  version is a release candidate;
- `Chart.yaml` gets the chart `version` and the GitLab `appVersion`, and every subchart of
  GitLab (`charts/gitlab/charts/*/Chart.yaml`) the chart `version` and, as configured in
  `release_tools.helm.subchart_app_versions`, the GitLab version or the version of its
  component read from gitlab-ee's tag of that GitLab release (`GITALY_SERVER_VERSION`...).
  This is done here, in Python, instead of running the chart repository's own
  `scripts/manage_version.rb`, so it does not depend on a Ruby toolchain or on the script;
- the stable branch is tagged `vX.Y.Z` unless it ships a GitLab release candidate;
- when it ships a final GitLab release, `master`'s chart version is raised to this one if
  it is lower (a patch of an older line leaves `master` alone).

Like `tag`, it plans first (every change made in a temporary clone), pushes each remote
what it lacks in one atomic push, then reads the remotes again. A re-run finds what is
done and finishes the rest; a dry run stops before pushing. The chart has no `dev`
remote, so a security release refuses to touch it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from . import changelog
from .config import Project, Settings
from .output import say
from .errors import ConfigurationError, InvalidVersionError, ReleaseStateError, non_ascii_note, quote
from .git import Repository, list_remote_tags, ls_remote
from .helm import (
    CHART_FORMAT_HELP,
    ChartFileError,
    ChartVersion,
    next_chart_version,
    parse_app_version,
    read_chart,
    update_chart,
)
from .tagging import (
    CLONE_OPTIONS,
    ProjectPlan,
    announce_date,
    branch_update,
    carry_out,
    check_identity,
    connect,
    integrate,
    plan_tag,
    prepare_branches,
    project_label,
    project_remotes,
    read_remotes,
)
from .version import ASCII_WHITESPACE, Version

CHART_FILE = "Chart.yaml"
#: What a chart release reads and writes besides the top-level files.
CHART_SPARSE = ("charts", "changelogs")
#: A subchart whose appVersion is the GitLab version itself (not a component's version file).
GITLAB = "gitlab"
#: Chart tags are read this many at a time while looking for the base of a patch.
TAG_BATCH = 10


def parse_versions(chart_text: str | None, app_text: str | None) -> tuple[ChartVersion | None, Version | None]:
    """The task's two arguments; empty ones count as absent, and at least one is needed.

    Raises InvalidVersionError before anything is read or cloned.
    """
    chart_text = (chart_text or "").strip(ASCII_WHITESPACE)
    app_text = (app_text or "").strip(ASCII_WHITESPACE)
    if not chart_text and not app_text:
        raise InvalidVersionError(f"{CHART_FORMAT_HELP} (give the chart version, the GitLab version, or both)")
    chart = ChartVersion.parse(chart_text) if chart_text else None
    app = None
    if app_text:
        try:
            app = parse_app_version(app_text)
        except InvalidVersionError:
            ee = " (without -ee)" if Version.is_valid(app_text) else ""
            raise InvalidVersionError(
                f"{CHART_FORMAT_HELP} or X.Y.Z-rcN{ee} (got {quote(app_text)} as the GitLab version{non_ascii_note(app_text)})"
            ) from None
    return chart, app


def chart_remotes(settings: Settings, project: Project) -> tuple[tuple[str, str], ...]:
    """The chart's remotes; a security release refuses a chart without a `dev` remote."""
    if settings.security and not project.remotes_for(True):
        raise ConfigurationError(
            f"the Helm chart ({project.path}) has no dev remote, and a security release pushes only to dev: "
            "tag the chart once the security release is public (without --security or SECURITY), "
            f"or configure release_tools.projects.{project.key}.remotes.dev"
        )
    return project_remotes(settings, project)


def tag_chart(
    settings: Settings,
    chart: ChartVersion | None,
    app: Version | None,
) -> None:
    """Release the chart (see the module docstring).

    Raises InvalidVersionError when neither version is given, ReleaseStateError when the
    chart version cannot be derived or a tag points elsewhere, ChartFileError for a
    missing or unreadable Chart.yaml, ConfigurationError (security release, remotes),
    GitError/PushError when git or a remote fails. Nothing is pushed before every check
    has passed.
    """
    if chart is None and app is None:
        raise InvalidVersionError(f"{CHART_FORMAT_HELP} (give the chart version, the GitLab version, or both)")
    project = settings.project("helm")
    remotes = chart_remotes(settings, project)
    label = project.path
    say("Chart release", "blue")
    if settings.dry_run:
        say("Dry run: nothing will be pushed.", "yellow")
    announce_date(settings)
    check_identity()

    master_states = read_remotes(remotes, ("master",), (), label)
    name = label.replace("/", "-")
    with Repository.clone(remotes, branch="master", sparse=CHART_SPARSE, name=name, **CLONE_OPTIONS) as repo:
        integrate(repo, "master", master_states)
        if chart is None:
            assert app is not None
            chart = next_version(repo, remotes[0], app)
            say(f"Chart version for GitLab {app}: {chart}")
        stable = chart.stable_branch
        states = read_remotes(remotes, ("master", stable), [chart.tag], label)
        prepare_branches(repo, stable, states)
        plan = prepare(settings, repo, label, [remote for remote, _ in remotes], chart, app, states)
        carry_out(settings, plan)


# -- the next chart version --------------------------------------------------------------


@dataclass(frozen=True)
class ChartBase:
    """The chart a new version builds on: a tag or `master`, with its two versions."""

    ref: str
    chart: ChartVersion
    app_version: str


def next_version(repo: Repository, remote: tuple[str, str], app: Version) -> ChartVersion:
    """The chart version that ships GitLab `app`, derived from the chart it builds on.

    A GitLab patch builds on the newest chart tag shipping the same `X.Y` line; a final
    `X.Y.0` that such a tag already ships keeps that tag's version (a re-run); anything
    else builds on `master`. Raises ReleaseStateError when a patch has no tag to build on.
    """
    line_tag = None
    if not (app.is_rc and app.patch == 0):
        line_tag = newest_line_tag(repo, remote, app)
    if app.patch > 0:
        if line_tag is None:
            raise ReleaseStateError(
                f"no chart tag ships GitLab {app.major}.{app.minor}.x, so the chart version for {app} cannot be "
                f"derived: give it (invoke helm.tag_chart X.Y.Z {app})"
            )
        base = line_tag
    elif line_tag is not None and line_tag.app_version == str(app):
        base = line_tag
    else:
        base = master_chart(repo)
    say(f"Chart version based on {base.ref}: {base.chart} (appVersion {base.app_version or 'none'})")
    return next_chart_version(base.chart, base.app_version, app)


def master_chart(repo: Repository) -> ChartBase:
    text = repo.read_file(CHART_FILE, ref="refs/heads/master")
    if text is None:
        raise ChartFileError(f"{CHART_FILE} is missing from master of the chart repository")
    version, app_version = read_chart(text)
    return ChartBase("master", _chart_version(version, "master"), app_version)


def _chart_version(text: str, where: str) -> ChartVersion:
    try:
        return ChartVersion.parse(text)
    except InvalidVersionError:
        raise ChartFileError(f"{CHART_FILE} on {where} has version {quote(text)}, not X.Y.Z") from None


def newest_line_tag(repo: Repository, remote: tuple[str, str], app: Version) -> ChartBase | None:
    """The newest chart tag whose appVersion is in `app`'s `X.Y` line, or None.

    Tags are read newest first and the search stops at the first older line: chart
    versions grow with the GitLab versions they ship (a GitLab minor is a chart minor).
    """
    name, url = remote
    tags = sorted(
        ((version, tag) for tag in list_remote_tags(url, "v*", label=repo.name) if (version := _tag_version(tag))),
        reverse=True,
    )
    line = (app.major, app.minor)
    for batch in _batches([tag for _, tag in tags], TAG_BATCH):
        repo.fetch(name, *(f"+refs/tags/{tag}:refs/tags/{tag}" for tag in batch), depth=1)
        for tag in batch:
            text = repo.read_file(CHART_FILE, ref=f"refs/tags/{tag}")
            if text is None:
                continue
            try:
                version, app_version = read_chart(text)
                shipped = parse_app_version(app_version)
            except (ChartFileError, InvalidVersionError):
                continue  # a tag of a chart-only change: it says nothing about GitLab lines
            if (shipped.major, shipped.minor) == line:
                return ChartBase(tag, _chart_version(version, tag), app_version)
            if (shipped.major, shipped.minor) < line:
                return None
    return None


def _tag_version(tag: str) -> ChartVersion | None:
    try:
        return ChartVersion.parse(tag[1:]) if tag.startswith("v") else None
    except InvalidVersionError:
        return None


def _batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- preparing the release locally --------------------------------------------------------


def prepare(
    settings: Settings,
    repo: Repository,
    label: str,
    remotes: list[str],
    chart: ChartVersion,
    app: Version | None,
    states: Mapping,
) -> ProjectPlan:
    """Make the release's commits and tag in the clone (stable branch checked out); push nothing."""
    stable = chart.stable_branch
    text = repo.read_file(CHART_FILE)
    if text is None:
        raise ChartFileError(f"{CHART_FILE} is missing from {stable} of {label}")
    _, stable_app_text = read_chart(text)
    shipped = app or _app_version(stable_app_text)

    subcharts = subchart_files(settings, repo)
    components = component_versions(settings, app, subcharts) if app else {}

    if shipped is None or not shipped.is_rc:
        today = settings.clock.today()
        chart_as_version = Version(chart.major, chart.minor, chart.patch)
        update = changelog.update(repo, changelog.CE_CHANGELOG, chart_as_version, stable, today, date=today)
        changelog.report(label, update)

    bump_chart(repo, chart, app, subcharts, components, settings.helm.subchart_app_versions)

    plan = ProjectPlan(label, repo, remotes, stable_branch=stable)
    if shipped is not None and shipped.is_rc:
        say(f"{stable} ships GitLab {shipped}, a release candidate: the chart is not tagged")
    else:
        plan.tags[chart.tag] = stable
        plan.updates.append(plan_tag(repo, chart.tag, repo.head(), states))

    if shipped is not None and shipped.is_release:
        raise_master_version(repo, chart)
        repo.checkout(stable)
    plan.updates[:0] = [branch_update(repo, stable, states), branch_update(repo, "master", states)]
    connect(repo, plan, states)
    return plan


def _app_version(text: str) -> Version | None:
    try:
        return parse_app_version(text)
    except InvalidVersionError:
        return None  # `master`, or nothing: not a GitLab release


def subchart_files(settings: Settings, repo: Repository) -> dict[str, str]:
    """GitLab's subcharts on the checked-out branch: name -> path of its Chart.yaml."""
    folder = settings.helm.subcharts_dir.strip("/")
    if not folder:
        return {}
    found = {}
    for path in repo.list_files(folder):
        parts = path[len(folder) + 1 :].split("/")
        if len(parts) == 2 and parts[1] == CHART_FILE:
            found[parts[0]] = path
    return found


def component_versions(settings: Settings, app: Version, subcharts: Mapping[str, str]) -> dict[str, str]:
    """The version files the subcharts' appVersions come from, read from gitlab-ee's tag of
    `app` (`v11.1.0-ee`): file -> its stripped content.

    One shallow, file-less clone of the tag, only when a subchart needs a file. Raises
    ReleaseStateError when the tag or a file is missing: the chart must follow GitLab.
    """
    files = sorted(
        {
            source
            for name, source in settings.helm.subchart_app_versions.items()
            if name in subcharts and source != GITLAB
        }
    )
    if not files:
        return {}
    project = settings.project("ee")
    remotes = project_remotes(settings, project)
    tag = app.tag(ee=True)
    canonical, url = remotes[0]
    if tag not in ls_remote(url, tags=[tag], label=project.path).tags:
        raise ReleaseStateError(
            f"{project.path} has no tag {tag} on {canonical}, so the subcharts' component versions are unknown: "
            f"tag GitLab {app} first"
        )
    values = {}
    clone = Repository.clone(
        remotes[:1], branch=tag, depth=1, filter="blob:none", sparse=(), tags=False, name=project_label(project)
    )
    with clone as ee:
        for file in files:
            value = ee.read_file(file)
            if value is None or not value.strip():
                raise ReleaseStateError(f"{project.path} {tag} has no {file}, which a subchart's appVersion comes from")
            values[file] = value.strip()
    return values


def bump_chart(
    repo: Repository,
    chart: ChartVersion,
    app: Version | None,
    subcharts: Mapping[str, str],
    components: Mapping[str, str],
    sources: Mapping[str, str] | None = None,
) -> str | None:
    """Write the versions into Chart.yaml and the subcharts' Chart.yaml files, and commit
    them as one `Update Chart Version to X.Y.Z` commit (none when nothing changes)."""
    changed = []
    text = repo.read_file(CHART_FILE) or ""
    updated = update_chart(text, chart, app)
    if updated != text:
        repo.write_file(CHART_FILE, updated)
        changed.append(CHART_FILE)
    for name, path in sorted(subcharts.items()):
        source = (sources or {}).get(name)
        value: Version | str | None = None
        if app is not None and source is not None:
            value = app if source == GITLAB else components[source]
        text = repo.read_file(path) or ""
        updated = update_chart(text, chart, value)
        if updated != text:
            repo.write_file(path, updated)
            changed.append(path)
    if not changed:
        say(f"{CHART_FILE} already has chart version {chart}" + (f" and GitLab version {app}" if app else ""))
        return None
    for path in changed:
        say(f"Update {path}...")
    message = f"Update Chart Version to {chart}"
    if app is not None:
        message += f"\n\nUpdate Gitlab Version to {app}"
    return repo.commit(message, changed)


def raise_master_version(repo: Repository, chart: ChartVersion) -> str | None:
    """Set master's chart version to `chart` when it is lower (only `version`, never appVersion)."""
    repo.checkout("master")
    text = repo.read_file(CHART_FILE)
    if text is None:
        raise ChartFileError(f"{CHART_FILE} is missing from master of the chart repository")
    current = _chart_version(read_chart(text)[0], "master")
    if current >= chart:
        say(f"master's chart version {current} is not lower than {chart}: left alone")
        return None
    say(f"Update {CHART_FILE} on master to chart version {chart}...")
    repo.write_file(CHART_FILE, update_chart(text, chart))
    return repo.commit(f"Update Chart Version to {chart}", [CHART_FILE])
