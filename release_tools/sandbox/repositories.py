"""Bare git repositories standing in for the `dev` and `gitlab` remotes: building their
content in a scratch working copy (`Work`), making bare copies (`bare_remotes`) and
reading what a remote holds (`BareRemote`).

Every commit is made as the sandbox's release manager (`GIT_ENV`, through the
environment: no git configuration is read or written).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: The identity every sandbox commit is made with (set through the environment, never git config).
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Rita Release",
    "GIT_AUTHOR_EMAIL": "rita@example.com",
    "GIT_COMMITTER_NAME": "Rita Release",
    "GIT_COMMITTER_EMAIL": "rita@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


class GitFailed(RuntimeError):
    """A git command of the sandbox failed; the message holds its output."""


def git(*args: str, cwd: Path, input: str | None = None, check: bool = True) -> str:
    completed = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, input=input, capture_output=True, text=True
    )
    if check and completed.returncode != 0:
        raise GitFailed(f"git {' '.join(args)} failed in {cwd}:\n{completed.stdout}{completed.stderr}")
    return completed.stdout


def entry(title: str, mr: object = None, kind: str = "fixed", author: str | None = None) -> str:
    """A changelog entry (`changelogs/unreleased/*.yml`)."""
    text = f"---\ntitle: {title}\n"
    if mr is not None:
        text += f"merge_request: {mr}\n"
    if author is not None:
        text += f"author: {author}\n"
    return text + f"type: {kind}\n"


def chart_file(version: str, app_version: str, name: str = "gitlab") -> str:
    """A chart's `Chart.yaml`."""
    return (
        "apiVersion: v1\n"
        f"name: {name}\n"
        f"version: {version}\n"
        f"appVersion: {app_version}  # the GitLab version this chart ships\n"
        "description: Web-based Git-repository manager\n"
    )


#: The chart's subcharts and the appVersion each starts with on master.
SUBCHARTS = {"unicorn": "master", "gitaly": "master", "gitlab-shell": "master", "registry": "v2.6.2"}
SUBCHARTS_DIR = "charts/gitlab/charts"
MINIO_CHART = chart_file("0.4.3", "RELEASE.2018-05-25T19-49-13Z", "minio")


def chart_files(version: str, app_version: str, subcharts: dict[str, str] | None = None) -> dict[str, str | None]:
    """Chart.yaml and every subchart at `version`; subcharts ship `subcharts[name]`."""
    apps = {**SUBCHARTS, **(subcharts or {})}
    files: dict[str, str | None] = {"Chart.yaml": chart_file(version, app_version)}
    for name, app in apps.items():
        files[f"{SUBCHARTS_DIR}/{name}/Chart.yaml"] = chart_file(version, app, name)
    return files


class Work:
    """A scratch non-bare repository used to build remote content."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        git("init", "--quiet", "--initial-branch=master", cwd=path)

    @classmethod
    def at(cls, path: Path) -> Work:
        """An existing working repository (e.g. a clone)."""
        work = cls.__new__(cls)
        work.path = path
        return work

    def commit(
        self, message: str, files: dict[str, str | None], author: str | None = None, date: str | None = None
    ) -> None:
        removed = [name for name, text in files.items() if text is None]
        written = [name for name, text in files.items() if text is not None]
        for name in written:
            file = self.path / name
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(files[name])
        # File names are names, never patterns: `:!lib`, `*.rb` or `-n` is that file.
        if removed:
            git("--literal-pathspecs", "rm", "--quiet", "--", *removed, cwd=self.path)
        if written:
            git("--literal-pathspecs", "add", "--", *written, cwd=self.path)
        extra = ([f"--author={author}"] if author else []) + ([f"--date={date}"] if date else [])
        git("commit", "--quiet", "-m", message, *extra, cwd=self.path)

    def branch(self, name: str, start: str = "HEAD") -> None:
        git("checkout", "--quiet", "-b", name, start, cwd=self.path)

    def checkout(self, name: str) -> None:
        git("checkout", "--quiet", name, cwd=self.path)

    def tag(self, name: str) -> None:
        git("tag", "-a", "-m", f"Version {name}", name, cwd=self.path)


def bare_remotes(work: Path, folder: Path, remotes: tuple[str, ...]) -> None:
    """`folder/<remote>.git` for each remote: bare copies of `work` that serve partial clones."""
    for remote in remotes:
        bare_copy(work, folder / f"{remote}.git")


def bare_copy(work: Path, bare: Path) -> BareRemote:
    """A bare copy of `work` at `bare`, serving partial clones, with no remote of its own."""
    bare.parent.mkdir(parents=True, exist_ok=True)
    git("clone", "--quiet", "--bare", str(work), str(bare), cwd=work.parent)
    git("config", "uploadpack.allowFilter", "true", cwd=bare)
    git("remote", "remove", "origin", cwd=bare)
    return BareRemote(bare)


@dataclass(frozen=True)
class Tag:
    object: str
    commit: str
    message: str


class BareRemote:
    """Read (and tamper with, to rehearse a failure) one bare repository standing in for a remote."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def git(self, *args: str, input: str | None = None) -> str:
        return git(*args, cwd=self.path, input=input)

    def branches(self) -> dict[str, str]:
        output = self.git("for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/")
        return dict(line.split(" ") for line in output.splitlines())

    def tags(self) -> dict[str, Tag]:
        output = self.git(
            "for-each-ref", "--format=%(refname:short)%00%(objectname)%00%(*objectname)%00%(contents:subject)", "refs/tags/"
        )
        tags = {}
        for line in output.splitlines():
            name, obj, peeled, subject = line.split("\0")
            tags[name] = Tag(obj, peeled or obj, subject)
        return tags

    def sha(self, ref: str) -> str:
        return self.git("rev-parse", "--verify", f"{ref}^{{commit}}").strip()

    def show(self, ref: str, path: str) -> str | None:
        completed = subprocess.run(
            ["git", "cat-file", "blob", f"{ref}:{path}"], cwd=self.path, capture_output=True, text=True
        )
        return completed.stdout if completed.returncode == 0 else None

    def files(self, ref: str, folder: str) -> list[str]:
        output = self.git("ls-tree", "-r", "--name-only", ref, "--", folder.rstrip("/") + "/")
        return sorted(output.split())

    def subjects(self, ref: str, count: int | None = None) -> list[str]:
        args = ["log", "--format=%s"] + ([f"-{count}"] if count else []) + [ref]
        return self.git(*args).splitlines()

    def messages(self, ref: str, count: int | None = None) -> list[str]:
        args = ["log", "--format=%B%x00"] + ([f"-{count}"] if count else []) + [ref]
        return [m.strip("\n") for m in self.git(*args).split("\0")[:-1]]

    def digest(self) -> str:
        """A hash of every byte of the repository: equal digests mean nothing changed."""
        digest = hashlib.sha256()
        for file in sorted(p for p in self.path.rglob("*") if p.is_file()):
            digest.update(str(file.relative_to(self.path)).encode() + b"\0" + file.read_bytes())
        return digest.hexdigest()

    def refuse_next_push(self, message: str = "pushes are frozen") -> None:
        """Make the next push to this remote fail in a pre-receive hook (once)."""
        flag = self.path / "refuse-next-push"
        flag.write_text(message)
        hook = self.path / "hooks" / "pre-receive"
        hook.write_text(
            "#!/bin/sh\n"
            f'flag="{flag}"\n'
            'if [ -f "$flag" ]; then echo "GL-HOOK-ERR: $(cat "$flag")" >&2; rm -f "$flag"; exit 1; fi\n'
        )
        hook.chmod(0o755)

    def hold_next_push(self, started: Path, release: Path, timeout: float = 60) -> None:
        """Make the next push to this remote wait in its pre-receive hook (once): the hook
        creates `started`, waits until `release` exists (at most `timeout` seconds), then
        refuses the push, so that a held push never lands."""
        flag = self.path / "hold-next-push"
        flag.write_text("")
        hook = self.path / "hooks" / "pre-receive"
        hook.write_text(
            "#!/bin/sh\n"
            f'flag="{flag}"\n'
            'if [ -f "$flag" ]; then\n'
            f'  rm -f "$flag"; : > "{started}"; i=0\n'
            f'  while [ ! -e "{release}" ] && [ "$i" -lt {int(timeout * 10)} ]; do sleep 0.1; i=$((i + 1)); done\n'
            '  echo "GL-HOOK-ERR: this push was held" >&2; exit 1\n'
            "fi\n"
        )
        hook.chmod(0o755)

    def commit(self, branch: str, files: dict[str, str | None], message: str, scratch: Path) -> str:
        """Add a commit to `branch` directly on this remote (another user's push)."""
        work = scratch / f"scratch-{len(list(scratch.glob('scratch-*')))}"
        git("clone", "--quiet", "--branch", branch, str(self.path), str(work), cwd=scratch)
        for name, text in files.items():
            if text is None:
                git("rm", "--quiet", "--", name, cwd=work)
            else:
                (work / name).parent.mkdir(parents=True, exist_ok=True)
                (work / name).write_text(text)
                git("add", "--", name, cwd=work)
        git("commit", "--quiet", "-m", message, cwd=work)
        git("push", "--quiet", "origin", branch, cwd=work)
        return git("rev-parse", "HEAD", cwd=work).strip()
