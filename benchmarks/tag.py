"""`tag` against a minimal git script doing the same clones, commits, tags and atomic pushes.

The scenario is the test suite's (tests/repos.py): gitlab-ee, gitlab-ce and omnibus-gitlab,
each with a `dev` and a `gitlab` bare remote behind file:// URLs, and the monthly release
11.1.0 of both editions (stable branches, changelogs, VERSION, component versions, the
OpenShift template, the next pre-release, six tags). Each run gets fresh copies of the
remotes. Alternately, `--runs` times each:

- the minimal script (this file, `--minimal ROOT`, in a Python process of its own): per
  project one shallow, blobless, sparse clone and one fetch of the stable branches, a
  `git commit -a` per change made in the working tree, `git tag -a`, and one
  `git push --atomic` per remote and edition; it reads nothing before and checks nothing
  after;
- `invoke tag 11.1.0`, run as a user runs it (interpreter start-up included), which also
  reads every remote before planning and again after pushing.

It prints how many git processes each started (counted by a `git` wrapper first on PATH,
in one extra run each; git's own children are not counted), their median wall times
(measured without the wrapper) and the ratio. Targets: at most 100 git processes for
`tag`, and within 1.4x of the minimal script's time.

    python benchmarks/tag.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_PROCESSES = 100
TARGET_RATIO = 1.4
VERSION = "11.1.0"


# -- the minimal script ------------------------------------------------------------------------


def _git(*args: str, cwd: Path | None = None) -> str:
    completed = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {completed.stderr}")
    return completed.stdout


def minimal(root: Path) -> None:
    """The release done with as few git commands as a hand-written script would use."""
    work = Path(tempfile.mkdtemp(prefix="bench-tag-minimal-"))

    def url(project: str, remote: str) -> str:
        return (root / project / f"{remote}.git").as_uri()

    def clone(project: str, sparse: list[str], branches: list[str]) -> Path:
        path = work / project
        _git("clone", "--quiet", "--origin", "dev", "--branch", "master", "--single-branch", "--depth=1",
             "--filter=blob:none", "--no-tags", "--sparse", "--", url(project, "dev"), str(path))
        _git("remote", "add", "gitlab", url(project, "gitlab"), cwd=path)
        _git("sparse-checkout", "set", "--cone", *sparse, cwd=path)
        _git("fetch", "--quiet", "--no-tags", "--depth=1", "--filter=blob:none", "dev",
             *(f"+refs/heads/{b}:refs/remotes/dev/{b}" for b in branches), cwd=path)
        return path

    def commit(path: Path, message: str) -> None:
        _git("commit", "--quiet", "--all", "-m", message, cwd=path)

    def write(path: Path, file: str, text: str, message: str) -> None:
        (path / file).write_text(text)
        commit(path, message)

    def changelog(path: Path, file: str, version: str, folders: list[str]) -> None:
        entries = [entry for folder in folders if (path / folder).is_dir() for entry in (path / folder).glob("*.yml")]
        text = (path / file).read_text()
        (path / file).write_text(f"## {version}\n\n" + "".join(f"- {e.name}\n" for e in entries) + "\n" + text)
        for entry in entries:
            entry.unlink()
        commit(path, f"Update {file} for {version}\n\n[ci skip]")

    def push(path: Path, refs: list[str]) -> None:
        for remote in ("dev", "gitlab"):
            _git("push", "--quiet", "--atomic", remote, *refs, cwd=path)

    def gitlab(project: str, ee: bool, pre: str | None = None) -> Path:
        suffix = "-ee" if ee else ""
        stable, version, tag = f"11-1-stable{suffix}", f"{VERSION}{suffix}", f"v{VERSION}{suffix}"
        ce_folders = ["changelogs/unreleased"]
        ee_folders = ["ee/changelogs/unreleased", "changelogs/unreleased-ee"] if ee else []
        path = clone(project, ce_folders + ee_folders, [stable])
        _git("checkout", "--quiet", "-b", stable, f"dev/{stable}", cwd=path)
        for branch in (stable, "master"):
            if branch == "master":
                _git("checkout", "--quiet", "master", cwd=path)
            if ee:
                changelog(path, "CHANGELOG-EE.md", version, ee_folders)
            changelog(path, "CHANGELOG.md", VERSION, ce_folders)
            if branch == stable:
                write(path, "VERSION", version + "\n", f"Update VERSION to {version}")
                _git("tag", "--annotate", "-m", f"Version {tag}", tag, cwd=path)
        refs = [stable, "master", tag]
        if pre:
            write(path, "VERSION", pre + "\n", f"Update VERSION to {pre}")
            pre_tag = "v" + pre.replace("-pre", ".pre")
            _git("tag", "--annotate", "-m", f"Version {pre_tag}", pre_tag, cwd=path)
            refs.append(pre_tag)
        push(path, refs)
        _git("checkout", "--quiet", stable, cwd=path)  # omnibus copies its version files
        return path

    def omnibus(path: Path, source: Path, ee: bool) -> None:
        suffix = "-ee" if ee else ""
        stable, tag = f"11-1-stable{suffix}", f"{VERSION}+{'ee' if ee else 'ce'}.0"
        _git("checkout", "--quiet", "-b", stable, f"dev/{stable}", cwd=path)
        for file in ("GITLAB_SHELL_VERSION", "GITLAB_WORKHORSE_VERSION", "GITLAB_PAGES_VERSION",
                     "GITALY_SERVER_VERSION", "VERSION"):
            write(path, file, (source / file).read_text(), f"Update {file}")
        template = "docker/openshift-template.json"
        refs = [stable, tag]
        if not ee:
            write(path, template, (path / template).read_text().replace("11.0.3", VERSION), f"Update {template}")
        _git("tag", "--annotate", "-m", f"Version {tag}", tag, cwd=path)
        if not ee:
            _git("checkout", "--quiet", "master", cwd=path)
            write(path, template, (path / template).read_text().replace("11.0.3", VERSION), f"Update {template}")
            refs.append("master")
        push(path, refs)

    try:
        ee = gitlab("gitlab-ee", ee=True)
        packages = clone("omnibus-gitlab", ["docker"], ["11-1-stable-ee", "11-1-stable"])
        omnibus(packages, ee, ee=True)
        ce = gitlab("gitlab-ce", ee=False, pre="11.2.0-pre")
        omnibus(packages, ce, ee=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- measuring ----------------------------------------------------------------------------------


def counting_wrapper(folder: Path) -> Path:
    """A `git` that notes each invocation in $GIT_COUNT_FILE, then runs the real one."""
    real = shutil.which("git")
    assert real, "git is not on PATH"
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "git"
    wrapper.write_text(
        "#!/bin/sh\n"
        'command="$1"; [ "$1" = -c ] && command="$3"\n'  # `git -c key=value fetch`: fetch
        'echo "$command" >> "$GIT_COUNT_FILE"\n'
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return folder


class Scenario:
    """Fresh remotes for each run, and the environment both contenders run in."""

    def __init__(self, scratch: Path) -> None:
        from tests.repos import GIT_ENV, build_template

        self.scratch = scratch
        self.template = build_template(scratch / "template")
        self.home = scratch / "home"
        self.home.mkdir()
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "TMPDIR": str(scratch),
            **GIT_ENV,
        }
        self.runs = 0

    def fresh(self) -> tuple[Path, Path]:
        """A copy of the remotes, and a configuration file pointing `tag` at them."""
        from tests.repos import Remotes

        self.runs += 1
        remotes = Remotes.copy_of(self.template, self.scratch / f"run-{self.runs}")
        config = self.scratch / f"run-{self.runs}.yaml"
        config.write_text(remotes.yaml())
        return remotes.root, config

    def command(self, who: str, root: Path, config: Path) -> list[str]:
        if who == "minimal":
            return [sys.executable, str(Path(__file__).resolve()), "--minimal", str(root)]
        return [sys.executable, "-m", "invoke", "--search-root", str(ROOT), "-f", str(config), "tag", VERSION]

    def run(self, who: str, extra_env: dict[str, str] | None = None) -> float:
        root, config = self.fresh()
        start = time.perf_counter()
        completed = subprocess.run(
            self.command(who, root, config), cwd=self.scratch, env={**self.env, **(extra_env or {})},
            capture_output=True, text=True,
        )
        elapsed = time.perf_counter() - start
        if completed.returncode != 0:
            raise SystemExit(f"{who} failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
        self.check(root)
        shutil.rmtree(root)
        return elapsed

    @staticmethod
    def check(root: Path) -> None:
        """Both contenders leave every remote with the release's tags."""
        from tests.repos import BareRemote

        wanted = {"gitlab-ee": ["v11.1.0-ee"], "gitlab-ce": ["v11.1.0", "v11.2.0.pre"],
                  "omnibus-gitlab": ["11.1.0+ee.0", "11.1.0+ce.0"]}
        for project, tags in wanted.items():
            for remote in ("dev", "gitlab"):
                have = BareRemote(root / project / f"{remote}.git").tags()
                missing = [tag for tag in tags if tag not in have]
                if missing:
                    raise SystemExit(f"{project} {remote} lacks {', '.join(missing)}")

    def count(self, who: str) -> dict[str, int]:
        """git processes one run starts, by git command."""
        wrapper = counting_wrapper(self.scratch / "wrapper")
        counted = self.scratch / f"count-{who}.txt"
        counted.unlink(missing_ok=True)
        self.run(who, {"PATH": f"{wrapper}{os.pathsep}{os.environ['PATH']}", "GIT_COUNT_FILE": str(counted)})
        commands: dict[str, int] = {}
        for line in counted.read_text().splitlines():
            commands[line] = commands.get(line, 0) + 1
        return dict(sorted(commands.items(), key=lambda item: -item[1]))


def measure(runs: int) -> dict[str, tuple[float, dict[str, int]]]:
    with tempfile.TemporaryDirectory(prefix="bench-tag-") as scratch:
        scenario = Scenario(Path(scratch))
        counts = {who: scenario.count(who) for who in ("minimal", "tag")}
        times: dict[str, list[float]] = {"minimal": [], "tag": []}
        for _ in range(runs):
            for who in times:
                times[who].append(scenario.run(who))
        return {who: (statistics.median(times[who]), counts[who]) for who in times}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--minimal", metavar="ROOT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.minimal:
        minimal(Path(args.minimal))
        return 0

    results = measure(args.runs)
    (minimal_time, minimal_counts), (tag_time, tag_counts) = results["minimal"], results["tag"]
    ratio = tag_time / minimal_time
    print(f"{'':<16}{'git processes':>14}{'median':>10}")
    for who, (seconds, counts) in results.items():
        print(f"{who:<16}{sum(counts.values()):>14}{seconds * 1000:>8.0f}ms")
    print()
    for who, (_, counts) in results.items():
        print(f"{who}: " + ", ".join(f"{command} {number}" for command, number in counts.items()))
    print()
    processes = sum(tag_counts.values())
    print(f"tag: {processes} git processes (target: at most {TARGET_PROCESSES})")
    print(f"wall time ratio tag / minimal: {ratio:.2f} (target: at most {TARGET_RATIO})")
    return 0 if processes <= TARGET_PROCESSES and ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
