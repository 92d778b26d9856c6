"""A release world for one version: both GitLab instances on one local server, the projects
of the configuration, milestones, the release managers and their groups, and bare git
remotes holding the history that comes before the release.

    sandbox = Sandbox.create(Path("/tmp/rehearsal"), "11.1.0")
    with sandbox:
        settings = Settings.from_mapping(sandbox.tree(), sandbox.environ())
        ...  # or sandbox.write_configuration(), then `release-tools -f DIR/sandbox.yaml TASK`

What is seeded for `X.Y.Z[-rcN]` (every `dev` and `gitlab` remote of a project starts
identical, as after a sync):

- gitlab-ce and gitlab-ee: `master` at `X.Y.0-pre` with changelog entries of the month (a
  community contribution, a security fix, a feature; EE's own under `ee/`) and one for the
  next month; the previous minor's stable branch with its releases tagged; `X-Y-stable`
  (EE: `-ee`) with the releases of `X.Y` before this one tagged (`history()`): the RCs,
  and for a patch the earlier patches with their compiled CHANGELOG sections and a picked
  fix waiting for this one. An RC1 finds no `X-Y-stable` yet (tagging creates it). An RC
  after the first, or a patch, has merge requests merged into `master` since, labelled
  `Pick into X.Y` on gitlab.com (`PICKS`), their merge commits really on `master`.
- omnibus-gitlab: the component version files, the OpenShift template naming the last
  final release, the stable branches of each edition with the same releases tagged.
- the Helm chart (on gitlab.com only): `master` shipping `master`, subcharts, a chart line
  `1-<minor>-stable` per GitLab minor with one tag per final GitLab release it shipped.
- the release tasks project (an API project, and a remote with one commit).
- on the API side each remote is a project of its instance (`gitlab-org/gitlab-ce` on
  gitlab.com, `gitlab/gitlabhq` on dev.gitlab.org, ...) holding its commits, branches and
  tags (a branch created through the API is created in the remote as well; `refresh()`
  brings in what was pushed); milestones for the previous, this and the next minor; the users of the release
  managers file on each instance, the first one holding the sandbox's tokens; the release
  manager groups with the first release manager only, as their owner (so
  `release_managers.sync` has work).

While it runs, the sandbox follows pushes: each remote's post-receive hook tells it what
was pushed (through `sandbox.url`, which a running sandbox writes), the project catches
up, and a tag pushed to the dev remote of omnibus-gitlab gets its tag pipeline with the
manual release jobs (`TAG_PIPELINE_JOBS`); a played job is pending, then running, then
succeeds (`JOB_PROGRESS`), so `publish` and `status` see what they would on GitLab.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..defaults import DEFAULTS
from ..errors import InvalidVersionError, ReleaseToolsError, quote_path
from ..release_managers import ReleaseManager, ReleaseManagers
from ..release_managers import load as load_release_managers
from ..version import OmnibusVersion, Version
from .core import FakeGitLab, Response, Server
from .groups import add_group
from .members import OWNER, add_member
from .merge_requests import add_merge_request
from .milestones import add_milestone
from .mirror import mirror
from .pipelines import add_job, add_pipeline
from .projects import add_project
from .repositories import BareRemote, Work, bare_copy, chart_file, chart_files, entry, git
from .users import add_user

#: The instances of the configuration and the path prefix each is served at.
INSTANCES = {"production": "gitlab.com", "dev": "dev.gitlab.org"}
#: Which instance each remote name of the configuration lives on.
REMOTE_INSTANCES = {"gitlab": "production", "dev": "dev"}
#: How many RCs a monthly release had before its final release.
SEEDED_RCS = 3

#: The sandbox's own release managers, when no file is given: (name, gitlab.com, dev).
SANDBOX_MANAGERS = (("Rita Release", "rita-release", "rita"), ("Omar Rehearsal", "omar-rehearsal", "omar"))

CHANGELOG_PREAMBLE = "Please view this file on the master branch, on stable branches it's out of date.\n\n"
CHART_CHANGELOG = "# GitLab chart changelog\n\n"
#: The merged merge requests labelled `Pick into X.Y` of an RC or patch world, on CE and on
#: EE: (title, author as git records them, username).
PICKS = (
    ("Fix the merge request widget", "Joe Contributor <joe@example.com>", "joe-contributor"),
    ("Speed up the issue list", "Ann Other <ann@example.com>", "ann-other"),
    ("Fix a typo in the admin area", "Joe Contributor <joe@example.com>", "joe-contributor"),
)
#: The iid of the first pick; the others follow.
FIRST_PICK = 3001

#: The manual jobs of an omnibus tag pipeline on dev: (name, stage, editions). The release
#: stages are those `publish` plays (`release_tools.publish.stages`); the others it leaves.
TAG_PIPELINE_JOBS = (
    ("Ubuntu-16.04-release", "package-release", ("ce", "ee")),
    ("CentOS-7-release", "package-release", ("ce", "ee")),
    ("Docker-Release", "image-release", ("ce", "ee")),
    ("Raspberry-Pi-2-Jessie-release", "raspbian-release", ("ce",)),
    ("upload-metrics", "metrics", ("ce", "ee")),
)
#: Where the push notifications of the remotes' post-receive hooks go.
PUSHED_PATH = "/-/sandbox/pushed"
#: How long a played job is pending, then running, before it succeeds (seconds).
JOB_PROGRESS = (0.2, 0.3)

#: The titles of the month's entries, as a final release compiles them.
MONTH_TITLES = ["Escape issue titles", "Fix the login page", "Add a dark mode"]


def history(version: Version) -> list[Version]:
    """The releases of `version`'s minor before it, oldest first: its RCs, and for a patch
    the final release and the patches before it (and an RC's earlier RCs)."""
    major, minor = version.major, version.minor
    if version.patch == 0:
        count = version.rc - 1 if version.rc is not None else SEEDED_RCS
        return [Version(major, minor, 0, number) for number in range(1, count + 1)]
    made = [Version(major, minor, 0, number) for number in range(1, SEEDED_RCS + 1)]
    made += [Version(major, minor, patch) for patch in range(version.patch)]
    if version.rc is not None:
        made += [Version(major, minor, version.patch, number) for number in range(1, version.rc)]
    return made


def previous_minor(version: Version) -> list[Version]:
    """The previous minor's final releases (`X.(Y-1).0` and `.1`); none for `X.0`."""
    if version.minor == 0:
        return []
    return [Version(version.major, version.minor - 1, patch) for patch in (0, 1)]


def components(version: Version) -> dict[str, str]:
    """Believable component versions for a GitLab minor (they move with it)."""
    step = version.major * 12 + version.minor
    return {
        "GITLAB_SHELL_VERSION": f"7.{step % 10}.{version.patch}",
        "GITLAB_WORKHORSE_VERSION": f"5.{step % 10}.0",
        "GITLAB_PAGES_VERSION": f"1.{step % 10}.0",
        "GITALY_SERVER_VERSION": f"0.{100 + step % 50}.{version.patch}",
    }


def component_files(version: Version) -> dict[str, str | None]:
    return {name: value + "\n" for name, value in components(version).items()}


def _section(version: Version, titles: list[str]) -> str:
    """A compiled CHANGELOG section."""
    if not titles:
        return f"## {version}\n\n- No changes.\n\n"
    lines = "".join(f"- {title}.\n" for title in titles)
    return f"## {version}\n\n### Fixed ({len(titles)} change{'s' if len(titles) > 1 else ''})\n\n{lines}\n\n"


@dataclass(frozen=True)
class SeededProject:
    """One project of the configuration as the sandbox holds it."""

    key: str  # `ce`, `ee`, `omnibus`, `helm`, `release_tasks`
    paths: dict[str, str]  # remote name -> project path on that remote's instance


def configured_projects() -> list[SeededProject]:
    """The projects of the shipped configuration and where each of their remotes lives."""
    made = []
    for key, project in DEFAULTS["projects"].items():
        paths = {}
        for remote in project["remotes"]:
            path = project["dev_path"] if REMOTE_INSTANCES[remote] == "dev" else project["path"]
            if path:
                paths[remote] = path
        made.append(SeededProject(key, paths))
    return made


class _History:
    """The content of each project's repository, built in a scratch working copy."""

    def __init__(self, version: Version) -> None:
        self.version = version
        self.released = history(version)
        self.previous = previous_minor(version)
        self.pre = Version(version.major, version.minor, 0)
        #: What an RC or patch picks from `master`: per edition (`ce`, `ee`), a
        #: (iid, title, username, merge commit, source head) per merge request.
        self.picks: dict[str, list[tuple[int, str, str, str, str]]] = {"ce": [], "ee": []}
        self.wants_picks = bool(self.released) and (version.is_rc or version.patch > 0)

    # -- gitlab-ce and gitlab-ee ------------------------------------------------------------

    def gitlab(self, work: Work, ee: bool) -> None:
        suffix = "-ee" if ee else ""
        changelogs = ["CHANGELOG.md", *(["CHANGELOG-EE.md"] if ee else [])]
        first = self.previous[0] if self.previous else self.pre
        files: dict[str, str | None] = {
            "VERSION": f"{first.major}.{first.minor}.0-pre\n",
            "app/models/user.rb": "class User\nend\n",
            "lib/gitlab.rb": "module Gitlab\nend\n",
            "changelogs/unreleased/.gitkeep": "",
            **component_files(first),
            **{name: CHANGELOG_PREAMBLE for name in changelogs},
        }
        if ee:
            files["ee/app/models/license.rb"] = "class License\nend\n"
            files["ee/changelogs/unreleased/.gitkeep"] = ""
        work.commit("Initial import", files)
        sections = ""
        if self.previous:
            work.branch(self.previous[0].stable_branch(ee=ee))
            for release in self.previous:
                fix = f"Fix the {release} regression"
                sections = _section(release, [fix] if release.patch else []) + sections
                work.commit(fix, {"lib/gitlab.rb": f"module Gitlab\n  # {release}\nend\n"})
                work.commit(
                    f"Update VERSION to {release}{suffix}",
                    {"VERSION": f"{release}{suffix}\n", **{name: CHANGELOG_PREAMBLE + sections for name in changelogs}},
                )
                work.tag(release.tag(ee=ee))
            work.checkout("master")
        month = {
            "changelogs/unreleased/fix-login.yml": entry("Fix the login page", 2001, "fixed", "Joe Contributor"),
            "changelogs/unreleased/security-escape-titles.yml": entry("Escape issue titles", 2002, "security"),
            "changelogs/unreleased/add-dark-mode.yml": entry("Add a dark mode", 2003, "added"),
        }
        if ee:
            month["ee/changelogs/unreleased/geo-fix.yml"] = entry("Fix Geo replication", 601, "fixed")
        work.commit(
            f"Merge the {self.pre.minor_name} work",
            {
                "VERSION": f"{self.pre}-pre\n",
                "app/models/project.rb": "class Project\nend\n",
                **component_files(self.pre),
                **{name: CHANGELOG_PREAMBLE + sections for name in changelogs},
                **month,
            },
        )
        monthly_sections = sections
        if self.released:
            work.branch(self.pre.stable_branch(ee=ee))
            for release in self.released:
                self._gitlab_release(work, release, ee, changelogs, list(month), sections)
                if release == self.pre:
                    sections = _section(release, MONTH_TITLES) + sections
                elif release.patch and release.rc is None:
                    sections = _section(release, [f"Fix a {release} bug"]) + sections
            if self.version.patch:
                fix = f"Fix a {self.version.to_patch()} bug"
                name = f"changelogs/unreleased/fix-{self.version.patch}.yml"
                work.commit(fix, {name: entry(fix, 2100 + self.version.patch)})
            work.checkout("master")
            if self.pre in self.released:
                # The final release's entries left master too, with its CHANGELOG section.
                final = CHANGELOG_PREAMBLE + _section(self.pre, MONTH_TITLES) + monthly_sections
                work.commit(
                    f"Update CHANGELOG.md for {self.pre}",
                    {**{name: final for name in changelogs}, **{name: None for name in month}},
                )
        if self.wants_picks:
            self._merge_picks(work, "ee" if ee else "ce")
        work.commit(
            "Merge a feature for next month",
            {"changelogs/unreleased/next-month.yml": entry("Add a feature for next month", 2200, "added")},
        )

    def _merge_picks(self, work: Work, edition: str) -> None:
        """Merge requests merged into `master` since the stable branch was cut, to pick."""
        for number, (title, author, username) in enumerate(PICKS):
            iid = FIRST_PICK + number
            branch = f"pick-{iid}"
            work.branch(branch, "master")
            slug = branch.replace("-", "_")
            work.commit(
                title,
                {
                    f"app/fixes/{slug}.rb": f"# {title}\n",
                    f"changelogs/unreleased/{branch}.yml": entry(title, iid, "fixed", author.split(" <")[0]),
                },
                author=author,
            )
            work.checkout("master")
            git("merge", "--quiet", "--no-ff", "-m", f"Merge branch '{branch}' into 'master'", branch, cwd=work.path)
            merged, head = git("rev-parse", "HEAD", "HEAD^2", cwd=work.path).split()
            git("branch", "--quiet", "-D", branch, cwd=work.path)
            self.picks[edition].append((iid, title, username, merged, head))

    def _gitlab_release(
        self, work: Work, release: Version, ee: bool, changelogs: list[str], month: list[str], sections: str
    ) -> None:
        suffix = "-ee" if ee else ""
        files: dict[str, str | None] = {"VERSION": f"{release}{suffix}\n"}
        if release == self.pre:
            # The final release compiles the month's entries into the changelog.
            text = CHANGELOG_PREAMBLE + _section(release, MONTH_TITLES)
            files.update({name: text + sections for name in changelogs})
            files.update({name: None for name in month})
        elif release.patch and release.rc is None:
            fix = f"Fix a {release} bug"
            work.commit(fix, {"lib/gitlab.rb": f"module Gitlab\n  # {release}\nend\n"})
            files.update({name: CHANGELOG_PREAMBLE + _section(release, [fix]) + sections for name in changelogs})
        work.commit(f"Update VERSION to {release}{suffix}", files)
        work.tag(release.tag(ee=ee))

    # -- omnibus-gitlab ------------------------------------------------------------------

    def omnibus(self, work: Work) -> None:
        finals = [r for r in self.previous + self.released if r.rc is None]
        shipped = finals[-1] if finals else None
        work.commit(
            "Initial import",
            {
                "VERSION": f"{shipped or self.pre}\n",
                "CHANGELOG.md": "# omnibus-gitlab changelog\n",
                "config/software/gitlab-rails.rb": "name 'gitlab-rails'\n",
                "docker/Dockerfile": "FROM ubuntu:16.04\n",
                "docker/openshift-template.json": openshift_template(shipped or self.pre),
                **component_files(self.previous[0] if self.previous else self.pre),
            },
        )
        for line in (self.previous, self.released):
            if not line:
                continue
            for ee in (False, True):
                work.branch(line[0].stable_branch(ee=ee), "master")
                for release in line:
                    work.commit(
                        f"Update VERSION to {release}{'-ee' if ee else ''}",
                        {"VERSION": f"{release}{'-ee' if ee else ''}\n", **component_files(release)},
                    )
                    git("tag", "-a", "-m", f"Version {release.to_omnibus(ee=ee)}", release.to_omnibus(ee=ee).tag, cwd=work.path)
                work.checkout("master")
        work.commit("Update the build", {"config/software/gitlab-rails.rb": f"name 'gitlab-rails'\n# {self.pre.minor_name}\n"})

    # -- the Helm chart ------------------------------------------------------------------------

    def chart(self, work: Work) -> None:
        work.commit(
            "Initial import",
            {
                **chart_files("1.0.0", "master"),
                "templates/_helpers.tpl": "{{/* helpers */}}\n",
                "CHANGELOG.md": CHART_CHANGELOG,
                "changelogs/unreleased/.gitkeep": "",
            },
        )
        sections = ""
        newest = "1.0.0"
        for line in (self.previous, [r for r in self.released if r.rc is None]):
            finals = [r for r in line if r.rc is None]
            if not finals:
                continue
            chart_minor = finals[0].minor
            work.branch(f"1-{chart_minor}-stable", "master")
            for release in finals:
                newest = f"1.{chart_minor}.{release.patch}"
                sections = f"## {newest}\n\n- No changes.\n\n" + sections
                subcharts = {"unicorn": str(release), "gitaly": components(release)["GITALY_SERVER_VERSION"]}
                work.commit(
                    f"Update Chart Version to {newest}",
                    {**chart_files(newest, str(release), subcharts), "CHANGELOG.md": CHART_CHANGELOG + sections},
                )
                work.tag(f"v{newest}")
            work.checkout("master")
            work.commit(
                f"Update Chart Version to {newest}",
                {"Chart.yaml": chart_file(newest, "master"), "CHANGELOG.md": CHART_CHANGELOG + sections},
            )
        work.commit(
            "Add a registry storage setting",
            {"changelogs/unreleased/registry-storage.yml": entry("Add a registry storage setting", 415, "added")},
        )

    def release_tasks(self, work: Work) -> None:
        work.commit("Initial import", {"README.md": "# Release tasks\n\nIssues of each release live here.\n"})


def openshift_template(version: Version) -> str:
    """omnibus' `docker/openshift-template.json`, naming the GitLab release it ships."""
    name = f"gitlab-{version}"
    return (
        "{\n"
        '  "kind": "Template",\n'
        '  "apiVersion": "v1",\n'
        '  "metadata": {\n'
        '    "name": "gitlab-ce",\n'
        f'    "annotations": {{"description": "GitLab CE {name}", "tags": "gitlab-ce,{name}"}}\n'
        "  },\n"
        '  "objects": [\n'
        f'    {{"kind": "ImageStream", "spec": {{"tags": [{{"name": "{name}",\n'
        f'      "from": {{"kind": "DockerImage", "name": "gitlab/gitlab-ce:{version}-ce.0"}}}}]}}}}\n'
        "  ]\n"
        "}\n"
    )


#: The post-receive hook of every sandbox remote (a Python script run by the sandbox's Python).
POST_RECEIVE = """#!{python}
# Tells the sandbox what was pushed here, so that its GitLab sees it (as GitLab does).
import json, pathlib, sys, urllib.request

url_file = pathlib.Path({url_file!r})
if url_file.is_file():
    updates = [line.split() for line in sys.stdin if line.strip()]
    body = json.dumps({{"repository": {repository!r}, "updates": updates}}).encode()
    request = urllib.request.Request(
        url_file.read_text().strip() + {path!r}, body, {{"Content-Type": "application/json"}}
    )
    try:
        urllib.request.urlopen(request, timeout=30).close()
    except OSError as error:
        print(f"the sandbox was not told of this push: {{error}}", file=sys.stderr)
"""


def _sandbox_managers() -> ReleaseManagers:
    members = tuple(ReleaseManager(name, username, dev) for name, username, dev in SANDBOX_MANAGERS)
    return ReleaseManagers(members, Path("release_managers.yml"))


def release_managers_text(managers: ReleaseManagers) -> str:
    """A release managers file listing `managers`."""
    lines = ["# The sandbox's release managers (users of both sandbox instances).\n"]
    for member in managers:
        lines.append(f"{member.name}:\n  gitlab.com: {member.username}\n  gitlab.org: {member.dev_username}\n")
    return "".join(lines)


class Sandbox:
    """A seeded release world under `root`: `remotes/<instance>/<project path>.git`, the
    release managers file, and both instances on one server (started with `start()` or
    `with`). Build one with `Sandbox.create(root, version)`."""

    def __init__(self, root: Path, version: Version, managers: ReleaseManagers, port: int = 0) -> None:
        self.root = root
        self.version = version
        self.managers = managers
        self.server = Server(port)
        self.instances = {name: FakeGitLab(host, self.server, host) for name, host in INSTANCES.items()}
        self.tokens = {name: f"sandbox-{name}-{secrets.token_hex(12)}" for name in INSTANCES}
        self.projects = configured_projects()
        self._history = _History(version)
        for instance in self.instances.values():
            instance.job_progress = JOB_PROGRESS
        self.server.hooks[PUSHED_PATH] = self._pushed

    @property
    def production(self) -> FakeGitLab:
        return self.instances["production"]

    @property
    def dev(self) -> FakeGitLab:
        return self.instances["dev"]

    @classmethod
    def create(cls, root: Path, version: Version | str, *, release_managers: Path | None = None, port: int = 0) -> Sandbox:
        """Seed a world for `version` under `root` (created; it must not exist or be empty).

        `release_managers` is a release managers file whose people become the sandbox's
        users; by default the sandbox has two of its own.
        """
        version = version if isinstance(version, Version) else Version.parse(version)
        managers = load_release_managers(release_managers) if release_managers else _sandbox_managers()
        root = root.absolute()  # the configuration names the remotes by absolute file:// URLs
        root.mkdir(parents=True, exist_ok=True)
        if any(root.iterdir()):
            raise ReleaseToolsError(f"{quote_path(root)} is not empty: the sandbox needs a folder of its own")
        sandbox = cls(root, version.to_ce(), managers, port)
        sandbox._seed_remotes()
        sandbox._seed_instances()
        (root / "release_managers.yml").write_text(release_managers_text(managers))
        return sandbox

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def url_file(self) -> Path:
        """Where a running sandbox writes its URL, for the remotes' hooks to find it."""
        return self.root / "sandbox.url"

    def start(self) -> Sandbox:
        self.server.start()
        self.url_file.write_text(self.url + "\n")
        return self

    def stop(self) -> None:
        self.url_file.unlink(missing_ok=True)
        self.server.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- the remotes ------------------------------------------------------------------------

    def path(self, key: str, remote: str) -> str:
        """The path of project `key`'s remote `remote` on its instance (`gitlab/gitlabhq`)."""
        return next(p for p in self.projects if p.key == key).paths[remote]

    def remote_path(self, key: str, remote: str) -> Path:
        return self.root / "remotes" / REMOTE_INSTANCES[remote] / f"{self.path(key, remote)}.git"

    def remote(self, key: str, remote: str) -> BareRemote:
        """The bare remote `remote` (`dev`, `gitlab`) of project `key` (`ce`, `omnibus`...)."""
        return BareRemote(self.remote_path(key, remote))

    def remotes(self) -> Iterator[tuple[str, str, BareRemote]]:
        """(project key, remote name, remote) of every remote."""
        for project in self.projects:
            for remote in project.paths:
                yield project.key, remote, self.remote(project.key, remote)

    def _seed_remotes(self) -> None:
        made = self._history
        builders = {
            "ce": lambda work: made.gitlab(work, ee=False),
            "ee": lambda work: made.gitlab(work, ee=True),
            "omnibus": made.omnibus,
            "helm": made.chart,
            "release_tasks": made.release_tasks,
        }
        scratch = self.root / "scratch"

        def seed(project: SeededProject) -> None:
            work = Work(scratch / project.key)
            builders[project.key](work)
            for remote in project.paths:
                bare = bare_copy(work.path, self.remote_path(project.key, remote))
                self._install_hook(bare)

        # The projects' histories are independent: built side by side, git being the work.
        with ThreadPoolExecutor(max_workers=len(self.projects)) as pool:
            for done in [pool.submit(seed, project) for project in self.projects]:
                done.result()
        shutil.rmtree(scratch)

    def _install_hook(self, bare: BareRemote) -> None:
        """A post-receive hook telling the running sandbox what was pushed (nothing when it
        is not running), as GitLab learns of every push."""
        hook = bare.path / "hooks" / "post-receive"
        hook.write_text(POST_RECEIVE.format(python=sys.executable, url_file=str(self.url_file), repository=str(bare.path), path=PUSHED_PATH))
        hook.chmod(0o755)

    # -- pushes ------------------------------------------------------------------------------

    def _pushed(self, body: Any) -> Response:
        """A remote was pushed to: its project catches up, and a tag pushed to the dev
        remote of the publish project gets its tag pipeline with the manual release jobs."""
        if not isinstance(body, dict) or not isinstance(body.get("updates"), list):
            return Response(400, {"message": "400 Bad request - repository and updates are required"})
        found = [(k, r, b) for k, r, b in self.remotes() if str(b.path) == body.get("repository")]
        if not found:
            return Response(404, {"message": "404 Repository Not Found"})
        key, remote, bare = found[0]
        path, instance = self.path(key, remote), self.instances[REMOTE_INSTANCES[remote]]
        with instance.lock:
            mirror(instance, path, bare)
            if key == DEFAULTS["publish"]["project"] and remote == "dev":
                for update in body["updates"]:
                    if len(update) == 3 and update[2].startswith("refs/tags/") and update[1] != "0" * 40:
                        self._tag_pipeline(instance, path, bare, update[2].removeprefix("refs/tags/"))
        return Response(200, {"message": "mirrored"})

    def _tag_pipeline(self, instance: FakeGitLab, path: str, bare: BareRemote, tag: str) -> None:
        project = instance.find_project(path)
        if any(p["project_id"] == project["id"] and p["ref"] == tag for p in instance.table("pipelines")):
            return
        try:
            edition = OmnibusVersion.parse(tag).edition
        except InvalidVersionError:
            return  # not a release tag: GitLab would run its pipeline, with no release jobs
        pipeline = add_pipeline(instance, path, tag, status="manual", sha=bare.sha(f"refs/tags/{tag}"))
        for name, stage, editions in TAG_PIPELINE_JOBS:
            if edition in editions:
                add_job(instance, pipeline, name, stage)

    # -- the instances ------------------------------------------------------------------------

    def _seed_instances(self) -> None:
        version = self.version
        self.refresh()
        for project in self.projects:
            if "dev" in project.paths:  # the dev instance has no milestone group: its projects do
                for minor in self._milestones():
                    add_milestone(self.dev, project.paths["dev"], minor)
        group = DEFAULTS["milestone_group"]
        for minor in self._milestones():
            state = "closed" if Version.parse(minor) < version.to_patch() else "active"
            add_milestone(self.production, group, minor, group=True, state=state)
        for name, instance in self.instances.items():
            add_project(instance, DEFAULTS["chatops"]["projects"][name])  # where ChatOps jobs run
            users = []
            for number, member in enumerate(self.managers):
                token = self.tokens[name] if number == 0 else None
                users.append(add_user(instance, member.username_on(name), member.name, token=token))
            managers_group = DEFAULTS["release_manager_groups"].get(name)
            if managers_group and users:
                add_group(instance, managers_group)
                add_member(instance, managers_group, users[0], OWNER)
        self._seed_picks()

    def _seed_picks(self) -> None:
        """The merged `Pick into X.Y` merge requests of CE and EE on gitlab.com."""
        label = DEFAULTS["labels"]["pick_into"].format(minor=self.version.minor_name)
        milestone = next(m for m in self.production.table("milestones") if m["title"] == self.version.minor_name)
        for key, picks in self._history.picks.items():
            path = self.path(key, "gitlab")
            for iid, title, username, merged, head in picks:
                users = [u for u in self.production.users.values() if u["username"] == username]
                author = users[0] if users else add_user(self.production, username)
                add_merge_request(
                    self.production, path, title, iid=iid, author=author, labels=[label], milestone=milestone,
                    source_branch=f"pick-{iid}", merge_commit_sha=merged, sha=head,
                )

    def _milestones(self) -> list[str]:
        version = self.version
        minors = [f"{version.major}.{version.minor - 1}"] if version.minor else []
        return [*minors, version.minor_name, version.next_minor().minor_name]

    def refresh(self) -> None:
        """Bring each instance's projects in line with their remotes (commits, branches and
        tags pushed since), as GitLab does on a push."""
        for key, remote, bare in self.remotes():
            path = self.path(key, remote)
            instance = self.instances[REMOTE_INSTANCES[remote]]
            mirror(instance, path, bare)
            instance.repositories[path] = bare.path

    # -- configuration ---------------------------------------------------------------------------

    def tree(self) -> dict[str, Any]:
        """The `release_tools` configuration pointing every instance and remote at the sandbox."""
        projects: dict[str, Any] = {}
        for project in self.projects:
            projects[project.key] = {"remotes": {r: self.remote(project.key, r).url for r in project.paths}}
        return {
            "instances": {name: {"url": instance.url} for name, instance in self.instances.items()},
            "projects": projects,
            "release_managers_file": str(self.root / "release_managers.yml"),
            "env_file": str(self.root / "sandbox.env"),
        }

    def yaml(self) -> str:
        """The same configuration as an invoke configuration file (`release-tools -f FILE`)."""
        import yaml

        return yaml.safe_dump({"release_tools": self.tree()}, sort_keys=False)

    def write_configuration(self) -> tuple[Path, Path]:
        """Write `sandbox.yaml` (for `release-tools -f`) and `sandbox.env` (the tokens, which
        the configuration's `env_file` names) into the sandbox's folder; return both paths."""
        config, env = self.root / "sandbox.yaml", self.root / "sandbox.env"
        config.write_text(self.yaml())
        # Readable by its owner only from the start: the tokens are never in a wider file.
        descriptor = os.open(env, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write("".join(f"{name}={value}\n" for name, value in self.environ().items()))
        env.chmod(0o600)  # a file that was there keeps its mode through O_CREAT
        return config, env

    def environ(self) -> dict[str, str]:
        """The token variables of both instances, set to the sandbox's tokens."""
        return {
            DEFAULTS["instances"][name]["token_variable"]: self.tokens[name] for name in INSTANCES
        }
