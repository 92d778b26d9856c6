"""Temporary git remotes for tests: bare `dev` and `gitlab` repositories of gitlab-ce,
gitlab-ee and omnibus-gitlab, seeded with what a release reads and writes.

`build_template(root)` builds them once (a few hundred milliseconds); `Remotes.copy_of()`
gives each test its own copy. `Remotes.tree()` is the `release_tools` configuration that
points the tasks at them, and `BareRemote` reads what a remote holds.

The seed, per project (every `dev` and `gitlab` remote starts identical):

gitlab-ce   master: VERSION 11.1.0-pre, CHANGELOG.md (11.0.3 ... 10.8.5), entries
            11-1-stable: VERSION 11.1.0-rc8, entries (one broken), tag v11.1.0-rc8
            10-8-stable: VERSION 10.8.6, CHANGELOG.md up to 10.8.6, tag v10.8.6
gitlab-ee   the same with -ee branches and versions, CHANGELOG-EE.md, ee/ and legacy entries
omnibus     master, 11-1-stable(-ee), 10-8-stable(-ee): component version files with older
            values, docker/openshift-template.json naming 11.0.3
charts/gitlab  (the Helm chart; one `gitlab` remote only, as in production)
            master: Chart.yaml 0.3.1 shipping `master`, subcharts, CHANGELOG.md, entries
            0-2-stable: tags v0.2.0 (GitLab 11.0.0) and v0.2.1 (11.0.1), a picked entry
            0-3-stable: tags v0.3.0 (11.1.0) and v0.3.1 (11.1.1), a picked entry
"""

from __future__ import annotations

import shutil
from pathlib import Path

from release_tools.sandbox.repositories import (  # noqa: F401  (the tests' helpers)
    GIT_ENV,
    MINIO_CHART,
    SUBCHARTS,
    SUBCHARTS_DIR,
    BareRemote,
    Tag,
    Work,
    bare_remotes,
    chart_file,
    chart_files,
    entry,
    git,
)

PROJECTS = {"ce": "gitlab-ce", "ee": "gitlab-ee", "omnibus": "omnibus-gitlab", "helm": "charts-gitlab"}
REMOTES = ("dev", "gitlab")
#: The remotes each project has: the chart lives on gitlab.com only.
PROJECT_REMOTES = {"ce": REMOTES, "ee": REMOTES, "omnibus": REMOTES, "helm": ("gitlab",)}

COMPONENTS = {
    "GITLAB_SHELL_VERSION": "7.1.4",
    "GITLAB_WORKHORSE_VERSION": "5.0.0",
    "GITLAB_PAGES_VERSION": "1.0.0",
    "GITALY_SERVER_VERSION": "0.111.0",
}
OLD_COMPONENTS = {
    "GITLAB_SHELL_VERSION": "7.1.2",
    "GITLAB_WORKHORSE_VERSION": "4.3.1",
    "GITLAB_PAGES_VERSION": "0.9.1",
    "GITALY_SERVER_VERSION": "0.105.0",
}

CHANGELOG_PREAMBLE = "Please view this file on the master branch, on stable branches it's out of date.\n\n"

OLD_SECTIONS = {
    "11.0.3": "## 11.0.3 (2018-07-05)\n\n### Fixed (1 change)\n\n- Fix an old thing. !1900\n\n\n",
    "11.0.2": "## 11.0.2 (2018-06-26)\n\n- No changes.\n\n",
    "11.0.0": "## 11.0.0 (2018-06-22)\n\n### Added (1 change)\n\n- Add a big feature. !1800\n\n\n",
    "10.8.6": "## 10.8.6 (2018-07-17)\n\n- No changes.\n\n",
    "10.8.5": "## 10.8.5 (2018-06-21)\n\n### Security (1 change)\n\n- Fix an old hole. !1700\n\n\n",
}

OPENSHIFT_TEMPLATE = """{
  "kind": "Template",
  "apiVersion": "v1",
  "metadata": {
    "name": "gitlab-ce",
    "annotations": {"description": "GitLab CE gitlab-11.0.3", "tags": "gitlab-ce,gitlab-11.0.3"}
  },
  "objects": [
    {"kind": "ImageStream", "spec": {"tags": [{"name": "gitlab-11.0.3",
      "from": {"kind": "DockerImage", "name": "gitlab/gitlab-ce:11.0.3-ce.0"}}]}}
  ]
}
"""


def changelog(*versions: str) -> str:
    return CHANGELOG_PREAMBLE + "".join(OLD_SECTIONS[v] for v in versions)


def _seed_gitlab(work: Work, ee: bool) -> None:
    suffix = "-ee" if ee else ""
    files: dict[str, str | None] = {
        "VERSION": "10.8.0-pre\n",
        "CHANGELOG.md": changelog("10.8.5"),
        "app/models/user.rb": "class User\nend\n",
        "lib/gitlab.rb": "module Gitlab\nend\n",
        "changelogs/unreleased/.gitkeep": "",
        **{name: value + "\n" for name, value in COMPONENTS.items()},
    }
    if ee:
        files["CHANGELOG-EE.md"] = changelog("10.8.5")
        files["ee/app/models/license.rb"] = "class License\nend\n"
    work.commit("Initial import", files)
    # 10.8: the older minor, with one picked fix waiting for 10.8.7.
    work.branch(f"10-8-stable{suffix}")
    stable_108 = {"VERSION": f"10.8.6{suffix}\n", "CHANGELOG.md": changelog("10.8.6", "10.8.5")}
    if ee:
        stable_108["CHANGELOG-EE.md"] = changelog("10.8.6", "10.8.5")
    work.commit(f"Update VERSION to 10.8.6{suffix}", stable_108)
    work.tag(f"v10.8.6{suffix}")
    work.commit("Fix an old bug", {"changelogs/unreleased/fix-old-bug.yml": entry("Fix an old bug", 2100)})
    work.checkout("master")

    master_changelog = changelog("11.0.3", "11.0.2", "11.0.0", "10.8.6", "10.8.5")
    work.commit(
        "Merge the 11.0 work",
        {
            "VERSION": "11.1.0-pre\n",
            "CHANGELOG.md": master_changelog,
            **({"CHANGELOG-EE.md": master_changelog} if ee else {}),
            "app/models/project.rb": "class Project\nend\n",
            "changelogs/unreleased/fix-old-bug.yml": entry("Fix an old bug", 2100),
        },
    )
    entries = {
        "changelogs/unreleased/fix-login.yml": entry("Fix the login page", "'!2001'", "fixed", "Joe Contributor"),
        "changelogs/unreleased/security-xss.yml": entry(
            "Escape titles", "https://gitlab.com/group2/project/merge_requests/5", "security"
        ),
        "changelogs/unreleased/add-dark-mode.yml": entry("Add a dark mode", 1999, "added"),
        "changelogs/unreleased/broken.yml": "title: [unclosed\n",
    }
    if ee:
        entries["ee/changelogs/unreleased/geo-fix.yml"] = entry("Fix Geo replication", 601, "fixed")
        entries["changelogs/unreleased-ee/legacy.yml"] = entry("Speed up search", 600, "performance", "Ann Other")
    work.commit("Merge the 11.1 features", entries)
    work.commit("Update app", {"app/models/user.rb": "class User\n  # 11.1\nend\n"})
    work.branch(f"11-1-stable{suffix}")
    work.commit(f"Update VERSION to 11.1.0-rc8{suffix}", {"VERSION": f"11.1.0-rc8{suffix}\n"})
    work.tag(f"v11.1.0-rc8{suffix}")
    work.checkout("master")
    work.commit(
        "Merge a feature for 11.2",
        {"changelogs/unreleased/master-only.yml": entry("Add a feature for next month", 2200, "added")},
    )


def _seed_omnibus(work: Work) -> None:
    work.commit(
        "Initial import",
        {
            "VERSION": "11.0.3\n",
            "CHANGELOG.md": "# omnibus-gitlab changelog\n",
            "config/software/gitlab-rails.rb": "name 'gitlab-rails'\n",
            "docker/openshift-template.json": OPENSHIFT_TEMPLATE,
            "docker/Dockerfile": "FROM ubuntu:16.04\n",
            **{name: value + "\n" for name, value in OLD_COMPONENTS.items()},
        },
    )
    for branch, version in (
        ("10-8-stable", "10.8.6"),
        ("10-8-stable-ee", "10.8.6-ee"),
        ("11-1-stable", "11.1.0-rc8"),
        ("11-1-stable-ee", "11.1.0-rc8-ee"),
    ):
        work.branch(branch, "master")
        work.commit(f"Update VERSION to {version}", {"VERSION": version + "\n"})
    work.checkout("master")
    work.commit("Update the build", {"config/software/gitlab-rails.rb": "name 'gitlab-rails'\n# 11.1\n"})


CHART_CHANGELOG = "# GitLab chart changelog\n\n"


def chart_changelog(*sections: tuple[str, str]) -> str:
    return CHART_CHANGELOG + "".join(f"## {v} ({day})\n\n- No changes.\n\n" for v, day in sections)


def _seed_chart(work: Work) -> None:
    work.commit(
        "Initial import",
        {
            **chart_files("0.2.0", "master"),
            "charts/minio/Chart.yaml": MINIO_CHART,
            "templates/_helpers.tpl": "{{/* helpers */}}\n",
            "CHANGELOG.md": CHART_CHANGELOG,
            "changelogs/unreleased/.gitkeep": "",
        },
    )
    gitlab_11_0 = {"unicorn": "11.0.0", "gitaly": "0.105.0", "gitlab-shell": "7.1.2"}
    work.branch("0-2-stable")
    work.commit("Update Chart Version to 0.2.0", chart_files("0.2.0", "11.0.0", gitlab_11_0))
    work.tag("v0.2.0")
    work.commit(
        "Update Chart Version to 0.2.1",
        {
            **chart_files("0.2.1", "11.0.1", {**gitlab_11_0, "unicorn": "11.0.1"}),
            "CHANGELOG.md": chart_changelog(("0.2.1", "2018-06-28")),
        },
    )
    work.tag("v0.2.1")
    work.checkout("master")
    work.commit(
        "Update Chart Version to 0.2.1",
        {"Chart.yaml": chart_file("0.2.1", "master"), "CHANGELOG.md": chart_changelog(("0.2.1", "2018-06-28"))},
    )
    gitlab_11_1 = {"unicorn": "11.1.0", "gitaly": "0.111.0", "gitlab-shell": "7.1.4"}
    work.branch("0-3-stable")
    work.commit("Update Chart Version to 0.3.0", chart_files("0.3.0", "11.1.0", gitlab_11_1))
    work.tag("v0.3.0")
    work.commit(
        "Update Chart Version to 0.3.1",
        {
            **chart_files("0.3.1", "11.1.1", {**gitlab_11_1, "unicorn": "11.1.1"}),
            "CHANGELOG.md": chart_changelog(("0.3.1", "2018-07-10"), ("0.2.1", "2018-06-28")),
        },
    )
    work.tag("v0.3.1")
    fix = {"changelogs/unreleased/fix-ingress.yml": entry("Fix the ingress annotations", 410)}
    work.commit("Fix the ingress annotations", fix)
    work.checkout("0-2-stable")
    work.commit("Fix the ingress annotations", fix)
    work.checkout("master")
    work.commit(
        "Update Chart Version to 0.3.1",
        {
            "Chart.yaml": chart_file("0.3.1", "master"),
            "CHANGELOG.md": chart_changelog(("0.3.1", "2018-07-10"), ("0.2.1", "2018-06-28")),
        },
    )
    work.commit("Fix the ingress annotations", fix)
    work.commit(
        "Add a registry storage setting",
        {"changelogs/unreleased/registry-storage.yml": entry("Add a registry storage setting", 415, "added")},
    )


def build_template(root: Path) -> Path:
    """Build the seeded bare remotes under `root/<project>/<remote>.git`; return `root`."""
    for key, name in PROJECTS.items():
        work = Work(root / "work" / name)
        if key == "omnibus":
            _seed_omnibus(work)
        elif key == "helm":
            _seed_chart(work)
        else:
            _seed_gitlab(work, ee=key == "ee")
        bare_remotes(work.path, root / name, PROJECT_REMOTES[key])
    shutil.rmtree(root / "work")
    return root


# -- CE and EE for the upstream merge ----------------------------------------------------------

#: Who changed what on CE after EE last merged it (authors as git records them).
CARL = "Carl Coder <carl@example.com>"
DANA = "Dana Dev <dana@example.com>"
STRANGER = "Sam Stranger <sam@example.com>"
ELLEN = "Ellen Enterprise <ellen@example.com>"

#: The conflicts merging CE master into EE master gives: path -> (state, last author's name).
UPSTREAM_CONFLICTS = {
    "app/models/user.rb": ("UU", "Carl Coder"),
    "config/feature.yml": ("AA", "Dana Dev"),
    "lib/gitlab.rb": ("UU", "Carl Coder"),
    "lib/legacy.rb": ("UD", "Sam Stranger"),
}


def build_upstream_template(root: Path) -> Path:
    """Bare `root/ce.git` and `root/ee.git`, EE a fork of CE that merged it once.

    ce.git  master: changes since that merge, conflicting with EE's in four files
                    (UPSTREAM_CONFLICTS), plus a new file that merges cleanly
            clean:  the same base with only the clean change
    ee.git  master: EE's own changes to the same files
            contains-ce: EE master with CE master merged and resolved
    """
    ce = Work(root / "work" / "ce")
    ce.commit(
        "Initial import",
        {
            "VERSION": "11.2.0-pre\n",
            "app/models/user.rb": "class User\nend\n",
            "lib/gitlab.rb": "module Gitlab\nend\n",
            "lib/legacy.rb": "# legacy\n",
        },
        author=CARL,
        date="2018-07-01T10:00:00Z",
    )
    ee = root / "work" / "ee"
    git("clone", "--quiet", str(ce.path), str(ee), cwd=root)
    ee_work = Work.at(ee)
    ee_work.commit(
        "EE: licensing, Geo and a legacy fix",
        {
            "ee/app/models/license.rb": "class License\nend\n",
            "app/models/user.rb": "class User\n  prepend EE::User\nend\n",
            "lib/gitlab.rb": "module Gitlab\n  def self.ee?; true; end\nend\n",
            "lib/legacy.rb": "# legacy, fixed for EE\n",
            "config/feature.yml": "geo: true\n",
        },
        author=ELLEN,
        date="2018-07-10T10:00:00Z",
    )
    ce.branch("clean")
    ce.commit("Add the new docs", {"doc/new.md": "# New\n"}, author=DANA, date="2018-07-12T10:00:00Z")
    ce.checkout("master")
    for day, author, message, files in (
        (12, DANA, "Add the new docs", {"doc/new.md": "# New\n"}),
        (13, CARL, "Users get names", {"app/models/user.rb": "class User\n  attr_reader :name\nend\n"}),
        (14, CARL, "Gitlab.com?", {"lib/gitlab.rb": "module Gitlab\n  def self.com?; false; end\nend\n"}),
        (15, DANA, "Feature flags", {"config/feature.yml": "pages: true\n"}),
        (16, STRANGER, "Remove the legacy code", {"lib/legacy.rb": None}),
    ):
        ce.commit(message, files, author=author, date=f"2018-07-{day}T10:00:00Z")
    git("fetch", "--quiet", str(ce.path), "master", cwd=ee)
    ee_work.branch("contains-ce")
    git("merge", "--quiet", "--no-edit", "FETCH_HEAD", cwd=ee, check=False)
    for path in UPSTREAM_CONFLICTS:
        git("add", "--all", "--", path, cwd=ee)
    git("commit", "--quiet", "--no-edit", cwd=ee)
    ee_work.checkout("master")
    for name, work in (("ce", ce.path), ("ee", ee)):
        bare = root / f"{name}.git"
        git("clone", "--quiet", "--bare", "--no-local", str(work), str(bare), cwd=root)
        git("config", "uploadpack.allowFilter", "true", cwd=bare)
        git("remote", "remove", "origin", cwd=bare)
    shutil.rmtree(root / "work")
    return root


class Remotes:
    """Every seeded remote of one test, by project key (`ce`, `ee`, `omnibus`) and remote name."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def copy_of(cls, template: Path, root: Path, only: tuple[str, ...] = ()) -> Remotes:
        """A copy of the template's remotes; `only` (project keys) copies just those."""
        if only:
            for key in only:
                shutil.copytree(template / PROJECTS[key], root / PROJECTS[key], symlinks=True)
        else:
            shutil.copytree(template, root, symlinks=True)
        return cls(root)

    def __call__(self, project: str, remote: str) -> BareRemote:
        return BareRemote(self.root / PROJECTS[project] / f"{remote}.git")

    def all(self) -> list[BareRemote]:
        return [self(project, remote) for project in PROJECTS for remote in PROJECT_REMOTES[project]]

    def digests(self) -> dict[str, str]:
        return {f"{p}/{r}": self(p, r).digest() for p in PROJECTS for r in PROJECT_REMOTES[p]}

    def tree(self) -> dict:
        """The `release_tools` configuration pointing every project at these remotes."""
        return {
            "projects": {
                key: {"remotes": {remote: self(key, remote).url for remote in PROJECT_REMOTES[key]}}
                for key in PROJECTS
            }
        }

    def yaml(self) -> str:
        """The same configuration as a file for `invoke -f`."""
        import yaml

        return yaml.safe_dump({"release_tools": self.tree()})

    def env(self) -> dict[str, str]:
        """The same configuration as INVOKE_RELEASE_TOOLS_* variables."""
        return {
            f"INVOKE_RELEASE_TOOLS_PROJECTS_{key.upper()}_REMOTES_{remote.upper()}": self(key, remote).url
            for key in PROJECTS
            for remote in PROJECT_REMOTES[key]
        }


def commit_literally(
    remotes: list[BareRemote], branch: str, files: dict[str, str], message: str, scratch: Path,
    author: str | None = None, date: str | None = None,
) -> str:
    """A commit of `files` on `branch` of `remotes[0]`, pushed to each of `remotes`,
    whatever the files' names (pathspec magic, a leading dash, a line break)."""
    work = scratch / f"literal-{len(list(scratch.glob('literal-*')))}"
    git("clone", "--quiet", "--branch", branch, str(remotes[0].path), str(work), cwd=scratch)
    Work.at(work).commit(message, files, author=author, date=date)
    for remote in remotes:
        git("push", "--quiet", str(remote.path), branch, cwd=work)
    return git("rev-parse", "HEAD", cwd=work).strip()
