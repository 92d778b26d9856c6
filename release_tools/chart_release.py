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

Like `tag`, it plans first (every change made in a temporary clone, through the ref engine:
refs.py), then runs the plan: one `git.push` step per remote, pushing what it lacks in one
atomic push, and the remotes read again. A re-run finds what is done and finishes the
rest; a dry run shows the plan and pushes nothing. The chart has no `dev` remote, so a
security release refuses to touch it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from . import changelog
from .config import Project, Settings
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
from .output import say
from .plan import Plan, execute
from .refs import (
    Draft,
    ReleaseClone,
    RemoteReads,
    announce_date,
    check_identity,
    project_label,
    project_remotes,
    push_steps,
    read_remotes,
)
from .version import ASCII_WHITESPACE, Version, shown_version

CHART_FILE = "Chart.yaml"
#: What a chart release reads (listed, and the contents fetched, in one go); the subcharts'
#: Chart.yaml files are read once their folder is listed.
CHART_VIEW = (CHART_FILE, changelog.CE_CHANGELOG.path, "changelogs")
#: A subchart whose appVersion is the GitLab version itself (not a component's version file).
GITLAB = "gitlab"
#: Chart tags are read this many at a time while looking for the base of a patch.
TAG_BATCH = 10
#: A component's version as a subchart's appVersion takes it (`0.117.0`, `v2.6.2`): one plain
#: YAML word, so that a version file of gitlab-ee cannot add a line or a key to a Chart.yaml.
_COMPONENT_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


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
) -> Plan:
    """Release the chart (see the module docstring); return the plan, run.

    Raises, before anything is pushed: InvalidVersionError when neither version is given,
    ReleaseStateError when the chart version cannot be derived or a tag points elsewhere,
    ChartFileError for a missing or unreadable Chart.yaml, ConfigurationError (security
    release, remotes), GitError when git or a remote cannot be read.
    """
    if chart is None and app is None:
        raise InvalidVersionError(f"{CHART_FORMAT_HELP} (give the chart version, the GitLab version, or both)")
    project = settings.project("helm")
    remotes = chart_remotes(settings, project)
    label = project.path
    say("Chart release", "blue")
    announce_date(settings)
    who = check_identity()

    reads = RemoteReads()
    known = () if chart is None else ((chart.stable_branch,), (chart.tag,))
    states = read_remotes(reads, remotes, label, *known)
    name = label.replace("/", "-")
    plan = Plan(settings.task or "helm.tag_chart", str(chart or app))
    with ReleaseClone.open(remotes, states, who, view=CHART_VIEW, label=name) as clone:
        master = clone.branch("master")
        assert master is not None  # every remote has master (read_remotes)
        if chart is None:
            assert app is not None
            chart = next_version(clone.repo, master, remotes[0], app)
            say(f"Chart version for GitLab {app}: {chart}")
            plan.subject = str(chart)
            again = read_remotes(reads, remotes, label, (chart.stable_branch,), (chart.tag,))
            if any(again[r].branches["master"] != states[r].branches["master"] for r in states):
                raise ReleaseStateError(
                    f"{label}: master changed while this run read it; nothing was pushed: run it again"
                )
            clone.states.update(again)
        stable = clone.branch_or_start(chart.stable_branch, master)
        plan.notes += prepare(settings, clone, stable, master, chart, app)
        clone.write()
        updates = [clone.branch_update(stable), clone.branch_update(master)]
        updates += [clone.tag_update(planned) for planned in clone.tags]
        clone.connect(updates)
        plan.notes[:0] = clone.notes
        plan.steps += push_steps(
            clone.repo, remotes, updates, reads, project=project.path, label=label, details=clone.commit_lines(updates)
        )
        return execute(plan, settings.run)


# -- the next chart version --------------------------------------------------------------


@dataclass(frozen=True)
class ChartBase:
    """The chart a new version builds on: a tag or `master`, with its two versions."""

    ref: str
    chart: ChartVersion
    app_version: str


def next_version(repo: Repository, master: Draft, remote: tuple[str, str], app: Version) -> ChartVersion:
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
        base = master_chart(master)
    say(f"Chart version based on {base.ref}: {base.chart} (appVersion {shown_version(base.app_version) if base.app_version else 'none'})")
    return next_chart_version(base.chart, base.app_version, app)


def master_chart(master: Draft) -> ChartBase:
    text = master.read(CHART_FILE)
    if text is None:
        raise ChartFileError(f"{CHART_FILE} is missing from master of the chart repository")
    version, app_version = read_chart(text, f"{CHART_FILE} on master")
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
                version, app_version = read_chart(text, f"{CHART_FILE} on {tag}")
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
    clone: ReleaseClone,
    stable: Draft,
    master: Draft,
    chart: ChartVersion,
    app: Version | None,
) -> list[str]:
    """Make the release's commits, and plan its tag, in the clone; push nothing. Returns
    what is worth keeping with the plan (changelog entries it could not release)."""
    text = stable.read(CHART_FILE)
    if text is None:
        raise ChartFileError(f"{CHART_FILE} is missing from {stable.name} of {clone.label}")
    _, stable_app_text = read_chart(text, f"{CHART_FILE} on {stable.name}")
    shipped = app or _app_version(stable_app_text)

    subcharts = subchart_files(settings, stable)
    components = component_versions(settings, app, subcharts) if app else {}

    notes: list[str] = []
    if shipped is None or not shipped.is_rc:
        today = settings.clock.today()
        chart_as_version = Version(chart.major, chart.minor, chart.patch)
        update = changelog.update(stable, master, changelog.CE_CHANGELOG, chart_as_version, today, date=today)
        notes += changelog.report(settings.project("helm").path, update)

    bump_chart(stable, chart, app, subcharts, components, settings.helm.subchart_app_versions)

    if shipped is not None and shipped.is_rc:
        say(f"{stable.name} ships GitLab {shipped}, a release candidate: the chart is not tagged")
    else:
        clone.tag(chart.tag, stable, f"Version {chart.tag}")

    if shipped is not None and shipped.is_release:
        raise_master_version(master, chart)
    return notes


def _app_version(text: str) -> Version | None:
    try:
        return parse_app_version(text)
    except InvalidVersionError:
        return None  # `master`, or nothing: not a GitLab release


def subchart_files(settings: Settings, branch: Draft) -> dict[str, str]:
    """GitLab's subcharts on `branch`: name -> path of its Chart.yaml."""
    folder = settings.helm.subcharts_dir.strip("/")
    if not folder:
        return {}
    found = {}
    for path in branch.files(folder):
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
            if not _COMPONENT_VERSION.fullmatch(value.strip()):
                raise ReleaseStateError(
                    f"{project.path} {tag} has {file} {quote(value.strip())}, which is no version a subchart's "
                    "appVersion can be (one word of letters, digits, '.', '_', '+' and '-'); nothing was pushed"
                )
            values[file] = value.strip()
    return values


def bump_chart(
    branch: Draft,
    chart: ChartVersion,
    app: Version | None,
    subcharts: Mapping[str, str],
    components: Mapping[str, str],
    sources: Mapping[str, str] | None = None,
) -> bool:
    """Write the versions into Chart.yaml and the subcharts' Chart.yaml files, as one
    `Update Chart Version to X.Y.Z` commit (none when nothing changes)."""
    texts = branch.read_many([CHART_FILE, *sorted(subcharts.values())])
    changes = {CHART_FILE: update_chart(texts[CHART_FILE] or "", chart, app, f"{CHART_FILE} on {branch.name}")}
    for name, path in sorted(subcharts.items()):
        source = (sources or {}).get(name)
        value: Version | str | None = None
        if app is not None and source is not None:
            value = app if source == GITLAB else components[source]
        changes[path] = update_chart(texts[path] or "", chart, value, f"{path} on {branch.name}")
    changed = [path for path, text in changes.items() if text != texts[path]]
    if not changed:
        say(f"{CHART_FILE} already has chart version {chart}" + (f" and GitLab version {app}" if app else ""))
        return False
    for path in changed:
        say(f"Update {path}...")
    message = f"Update Chart Version to {chart}"
    if app is not None:
        message += f"\n\nUpdate Gitlab Version to {app}"
    return branch.commit(message, {path: changes[path] for path in changed})


def raise_master_version(master: Draft, chart: ChartVersion) -> bool:
    """Set master's chart version to `chart` when it is lower (only `version`, never appVersion)."""
    text = master.read(CHART_FILE)
    if text is None:
        raise ChartFileError(f"{CHART_FILE} is missing from master of the chart repository")
    current = _chart_version(read_chart(text, f"{CHART_FILE} on master")[0], "master")
    if current >= chart:
        say(f"master's chart version {current} is not lower than {chart}: left alone")
        return False
    say(f"Update {CHART_FILE} on master to chart version {chart}...")
    return master.commit(f"Update Chart Version to {chart}", {CHART_FILE: update_chart(text, chart, where=f"{CHART_FILE} on master")})
