"""A release in progress, for tests of `status`: the seeded bare remotes (tests/repos.py)
mirrored into the fake GitLab instances as GitLab would hold them, and moved point by
point through a release (issue, preparation, tags on some remotes, pipelines, QA, chart).

The dev remotes are the projects of the dev instance (`gitlab/gitlabhq`, ...), the gitlab
remotes those of gitlab.com (`gitlab-org/gitlab-ce`, ...), commits with their real SHAs,
parents and messages, and the files status reads through the raw-file endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release_tools.sandbox import add_issue, add_job, add_merge_request, add_milestone, add_pipeline, add_project
from release_tools.sandbox.mirror import mirror
from tests.repos import GIT_ENV, BareRemote, Remotes, chart_file, git

#: Where each project's remote lives on its instance.
PRODUCTION_PATHS = {
    "ce": "gitlab-org/gitlab-ce",
    "ee": "gitlab-org/gitlab-ee",
    "omnibus": "gitlab-org/omnibus-gitlab",
    "helm": "charts/gitlab",
}
DEV_PATHS = {"ce": "gitlab/gitlabhq", "ee": "gitlab/gitlab-ee", "omnibus": "gitlab/omnibus-gitlab"}
RELEASE_TASKS = "gitlab-org/release/tasks"

#: The release jobs of an omnibus tag pipeline (stages of `release_tools.publish.stages`).
RELEASE_JOBS = (("Ubuntu-16.04-release", "package-release"), ("Docker-Release", "image-release"))


@dataclass
class World:
    """The remotes and both fake instances of one test, and the release moved through them."""

    remotes: Remotes
    production: Any
    dev: Any
    scratch: Path
    users: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.scratch.mkdir(parents=True, exist_ok=True)
        for path in (*PRODUCTION_PATHS.values(), RELEASE_TASKS):
            add_project(self.production, path)
        for path in DEV_PATHS.values():
            add_project(self.dev, path)
        self.mirror()

    def mirror(self) -> None:
        """Bring the fakes in line with the remotes (call after changing a remote)."""
        for key, path in DEV_PATHS.items():
            mirror(self.dev, path, self.remotes(key, "dev"))
        for key, path in PRODUCTION_PATHS.items():
            mirror(self.production, path, self.remotes(key, "gitlab"))

    # -- the release, step by step ------------------------------------------------------------

    def milestone(self, version: str) -> dict[str, Any]:
        minor = ".".join(version.split(".")[:2])
        for milestone in self.production.table("milestones"):
            if milestone["title"] == minor:
                return milestone
        return add_milestone(self.production, "gitlab-org", minor, group=True)  # every project's

    def release_issue(self, version: str, *, security: bool = False, checked: int = 0, items: int = 4) -> dict[str, Any]:
        """The release task issue as `release_issue` files it, with a checklist."""
        monthly = version.endswith(".0") and "-rc" not in version
        title = f"Release {version.rsplit('.', 1)[0]}" if monthly and not security else f"Release {version}"
        labels = ["Release", "security"] if security else ["Release"]
        return add_issue(self.production, RELEASE_TASKS, title, labels=labels, milestone=self.milestone(version),
                         description=checklist(checked, items), confidential=security)

    def qa_issue(self, version: str, *, security: bool = False, checked: int = 0, items: int = 6) -> dict[str, Any]:
        labels = ["QA task", "security"] if security else ["QA task"]
        return add_issue(self.production, RELEASE_TASKS, f"{version} QA Issue", labels=labels,
                         milestone=self.milestone(version), description=checklist(checked, items), confidential=security)

    def qa_issue_checked(self) -> None:
        """Every item of the QA issues checked."""
        with self.production.lock:
            for issue in self.production.table("issues"):
                if issue["title"].endswith(" QA Issue"):
                    issue["description"] = issue["description"].replace("- [ ]", "- [x]")

    def preparation(self, names: list[tuple[str, str, str]], *, state: str = "merged", security: bool = False) -> None:
        """Preparation merge requests: (edition key, source branch, title), into its stable branch."""
        fake = self.dev if security else self.production
        paths = DEV_PATHS if security else PRODUCTION_PATHS
        for key, source, title in names:
            target = source.rsplit("-patch-", 1)[0].rsplit("-prepare-", 1)[0]
            add_merge_request(fake, paths[key], title, state=state, source_branch=source, target_branch=target,
                              labels=["Release"])

    def tag(self, version: str, to: tuple[str, ...] = ("dev", "gitlab")) -> None:
        """What `tag VERSION` leaves on the remotes `to`: each stable branch with a commit
        setting VERSION, the tags on them (and a final X.Y.0's `.pre` tag on master)."""
        ee, ce = f"{version}-ee", version
        minor = version.split("-")[0].rsplit(".", 1)[0].replace(".", "-")
        omnibus = version.split("-")[0] + ("+" + version.split("-", 1)[1] + "." if "-rc" in version else "+")
        work = [
            ("ee", f"{minor}-stable-ee", ee, f"v{ee}"),
            ("ce", f"{minor}-stable", ce, f"v{ce}"),
            ("omnibus", f"{minor}-stable-ee", ee, f"{omnibus}ee.0"),
            ("omnibus", f"{minor}-stable", ce, f"{omnibus}ce.0"),
        ]
        for key, branch, text, tag in work:
            dev = self.remotes(key, "dev")
            if tag not in dev.tags():
                self._commit_and_tag(dev, branch, {"VERSION": text + "\n"}, f"Update VERSION to {text}", tag)
        if version.endswith(".0") and "-rc" not in version:
            major, minor_number = version.split(".")[:2]
            pre = f"{major}.{int(minor_number) + 1}.0"
            dev = self.remotes("ce", "dev")
            if f"v{pre}.pre" not in dev.tags():
                self._commit_and_tag(dev, "master", {"VERSION": f"{pre}-pre\n"}, f"Update VERSION to {pre}-pre", f"v{pre}.pre")
            work.append(("ce", "master", pre, f"v{pre}.pre"))
        for remote in to:
            if remote == "dev":
                continue
            for key, branch, _, tag in work:
                dev = self.remotes(key, "dev")
                dev.git("push", "--quiet", self.remotes(key, remote).url, f"refs/heads/{branch}:refs/heads/{branch}",
                        f"refs/tags/{tag}:refs/tags/{tag}")
        self.mirror()

    def _commit_and_tag(self, bare: BareRemote, branch: str, files: dict[str, str], message: str, tag: str) -> None:
        work = self.scratch / f"work-{len(list(self.scratch.iterdir()))}"
        git("clone", "--quiet", str(bare.path), str(work), cwd=self.scratch)
        exists = bool(git("ls-remote", "--heads", "origin", branch, cwd=work).strip())
        git("checkout", "--quiet", "-B", branch, f"origin/{branch}" if exists else "origin/master", cwd=work)
        for name, text in files.items():
            (work / name).write_text(text)
            git("add", "--", name, cwd=work)
        git("commit", "--quiet", "-m", message, cwd=work)
        git("tag", "-a", "-m", f"Version {tag}", tag, cwd=work)
        git("push", "--quiet", "origin", f"refs/heads/{branch}", f"refs/tags/{tag}", cwd=work)

    def pipelines(self, version: str, status: str = "manual", *, pipeline_status: str | None = None) -> list[dict[str, Any]]:
        """The omnibus tag pipelines on dev, EE then CE, their release jobs in `status`."""
        base = version.split("-")[0]
        rc = version.split("-", 1)[1] + "." if "-rc" in version else ""
        made = []
        for edition in ("ee", "ce"):
            tag = f"{base}+{rc}{edition}.0"
            dev_tags = self.remotes("omnibus", "dev").tags()
            pipeline = add_pipeline(self.dev, DEV_PATHS["omnibus"], tag,
                                    sha=dev_tags[tag].commit if tag in dev_tags else None,
                                    status=pipeline_status or ("success" if status == "success" else "running"))
            add_job(self.dev, pipeline, "Ubuntu-16.04", "package", status="success")
            for name, stage in RELEASE_JOBS:
                made.append(add_job(self.dev, pipeline, name, stage, status=status))
        return made

    def publish(self, status: str = "success") -> None:
        """Every release job of the pipelines so far ends in `status` (and their pipelines)."""
        with self.dev.lock:
            names = {name for name, _ in RELEASE_JOBS}
            for job in self.dev.table("jobs"):
                if job["name"] in names:
                    job["status"] = status
            for pipeline in self.dev.table("pipelines"):
                pipeline["status"] = status

    def chart(self, chart_version: str, app_version: str) -> None:
        """A chart release tagging `v<chart_version>` that ships GitLab `app_version`."""
        bare = self.remotes("helm", "gitlab")
        branch = "-".join(chart_version.split(".")[:2]) + "-stable"
        self._commit_and_tag(bare, branch, {"Chart.yaml": chart_file(chart_version, app_version)},
                             f"Update Chart Version to {chart_version}", f"v{chart_version}")
        self.mirror()


def checklist(checked: int, items: int) -> str:
    """A task list of `items` items, the first `checked` of them checked."""
    lines = [f"- [{'x' if index < checked else ' '}] step {index + 1}" for index in range(items)]
    return "## Steps\n\n" + "\n".join(lines) + "\n"


def git_runs(trace: Path, command: str = "ls-remote") -> list[list[str]]:
    """The argument lists of the `git <command>` processes GIT_TRACE2_EVENT recorded in `trace`."""
    import json

    if not trace.exists():
        return []
    runs = []
    for line in trace.read_text().splitlines():
        event = json.loads(line)
        argv = event.get("argv") or []
        if event.get("event") == "start" and argv[1:2] == [command]:
            runs.append(argv)
    return runs


def git_calls(trace: Path, command: str = "ls-remote") -> int:
    """How many `git <command>` processes GIT_TRACE2_EVENT recorded in `trace`."""
    return len(git_runs(trace, command))


__all__ = ["GIT_ENV", "World", "checklist", "git_calls", "git_runs", "mirror"]
