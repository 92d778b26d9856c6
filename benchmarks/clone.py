"""Clone strategies for a release, measured on a large synthetic repository.

Builds (once, cached in the temp directory) a bare repository of at least 20,000 commits and
5,000 files, with history on the files a release touches (VERSION, CHANGELOG.md,
changelog entries) and a stable branch, served over file:// with `uploadpack.allowFilter`.
Then, for each strategy, prints the median wall time and the bytes of pack data received
(every received pack is kept as is: `transfer.unpackLimit=1`), and their ratios:

- release-tools: what a release clone (`refs.ReleaseClone`) does: shallow, blobless, no
  checkout, the stable branch fetched, and the files a release reads fetched in one go;
  plus the `ls-remote` calls of its plan
- full clone
- the original's `--depth=100` clone of master, then of the stable branch
- the floor: a depth-1 clone of just master and the stable branch

Targets: release-tools below `--depth=100` in bytes and time, and within 1.5x of the floor.

Finally it checks that a release prepared from the release-tools clone can be pushed to a
second remote: a new stable branch with its tag, and a stable branch that only the first
remote has (which needs history beyond the shallow clone).

    python benchmarks/clone.py [--commits 20000] [--files 5000] [--runs 3] [--rebuild]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STABLE = "11-1-stable"
IDENTITY = {
    "GIT_AUTHOR_NAME": "Benchmark",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Benchmark",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    # Keep every received pack as received, so that pack sizes are the bytes received.
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "transfer.unpackLimit",
    "GIT_CONFIG_VALUE_0": "1",
}
TARGETS = {"vs --depth=100": 1.0, "vs floor": 1.5}

WORDS = (
    "def end class module self return if else elsif unless true false nil attr_reader include "
    "project user merge_request issue pipeline build note label milestone group namespace params "
    "render json html find where order limit map each select reject present? blank? to_s to_i "
    "Gitlab::Utils Ci::Pipeline ApplicationRecord ActiveRecord validates belongs_to has_many scope"
).split()


def git(*args: str, cwd: Path | None = None, stdin=None) -> str:
    completed = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, env={**os.environ, **IDENTITY})
    if completed.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed:\n{completed.stderr.decode(errors='replace')}")
    return completed.stdout.decode(errors="replace")


# -- the synthetic repository ------------------------------------------------------------


def build_source(path: Path, commits: int, files: int) -> None:
    """A bare repository written with `git fast-import` (seconds, not minutes)."""
    rng = random.Random(20180722)

    def lines(count: int) -> list[str]:
        return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 10))) for _ in range(count)]

    groups = ("models", "services", "controllers", "workers", "lib")
    paths = [f"app/{groups[i % 5]}/dir{(i // 5) % 100:03}/file{i:05}.rb" for i in range(files)]
    contents = {name: lines(30) for name in paths}
    changelog = ["Please view this file on the master branch, on stable branches it's out of date.", ""]
    entries: list[str] = []
    out = io.BytesIO()
    mark = 0
    when = 1_500_000_000

    def data(text: str) -> None:
        raw = text.encode()
        out.write(b"data %d\n" % len(raw) + raw + b"\n")

    def commit(ref: str, message: str, changes: dict[str, str | None], parent: int | None) -> int:
        nonlocal mark, when
        mark += 1
        when += 600
        out.write(f"commit {ref}\nmark :{mark}\ncommitter Dev <dev@example.com> {when} +0000\n".encode())
        data(message)
        if parent:
            out.write(f"from :{parent}\n".encode())
        for name, text in changes.items():
            if text is None:
                out.write(f"D {name}\n".encode())
            else:
                out.write(f"M 100644 inline {name}\n".encode())
                data(text)
        return mark

    root = {
        "VERSION": "8.0.0-pre\n",
        "CHANGELOG.md": "\n".join(changelog) + "\n",
        "GITLAB_SHELL_VERSION": "7.1.4\n",
        "GITLAB_WORKHORSE_VERSION": "5.0.0\n",
        "GITLAB_PAGES_VERSION": "1.0.0\n",
        "GITALY_SERVER_VERSION": "0.111.0\n",
        "Gemfile.lock": "\n".join(lines(1200)) + "\n",
        "changelogs/unreleased/.gitkeep": "",
    }
    head = commit("refs/heads/master", "Initial import", {**root, **{n: "\n".join(c) + "\n" for n, c in contents.items()}}, None)
    branch_point = None
    tags = []
    for number in range(1, commits):
        name = rng.choice(paths)
        body = contents[name]
        body[rng.randrange(len(body))] = " ".join(rng.choice(WORDS) for _ in range(8))
        changes: dict[str, str | None] = {name: "\n".join(body) + "\n"}
        if number % 10 == 0:
            entry = f"changelogs/unreleased/{number}-change.yml"
            changes[entry] = f"---\ntitle: Change {number}\nmerge_request: {number}\ntype: fixed\n"
            entries.append(entry)
        if number % 250 == 0:
            minor = number // 250
            section = [f"## 8.{minor}.0 (2018-07-22)", "", f"### Fixed ({len(entries)} changes)", ""]
            section += [f"- Change {e.split('/')[-1].split('-')[0]}. !{e.split('/')[-1].split('-')[0]}" for e in entries]
            changelog[2:2] = section + ["", ""]
            changes["CHANGELOG.md"] = "\n".join(changelog) + "\n"
            changes["VERSION"] = f"8.{minor + 1}.0-pre\n"
            changes.update({e: None for e in entries})
            entries.clear()
            tags.append((f"v8.{minor}.0", number))
        head = commit("refs/heads/master", f"Change {number}", changes, head)
        if number == commits - 200:
            branch_point = head
    stable = branch_point
    for number in range(30):
        name = rng.choice(paths)
        stable = commit(
            f"refs/heads/{STABLE}",
            f"Pick {number}",
            {name: "\n".join(lines(30)) + "\n", f"changelogs/unreleased/pick-{number}.yml": f"title: Pick {number}\n"},
            stable,
        )
    for name, _ in tags:
        out.write(f"reset refs/tags/{name}\nfrom :{head}\n\n".encode())

    git("init", "--quiet", "--bare", "--initial-branch=master", str(path))
    git("fast-import", "--quiet", cwd=path, stdin=out.getvalue())
    git("repack", "-a", "-d", "-q", cwd=path)
    git("config", "uploadpack.allowFilter", "true", cwd=path)


def source_repository(commits: int, files: int, rebuild: bool) -> Path:
    cache = Path(tempfile.gettempdir()) / f"release-tools-bench-clone-v1-{commits}-{files}"
    source = cache / "source.git"
    if rebuild:
        shutil.rmtree(cache, ignore_errors=True)
    if not (cache / "done").exists():
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        start = time.perf_counter()
        print(f"Building a {commits}-commit, {files}-file repository in {cache} ...", flush=True)
        build_source(source, commits, files)
        (cache / "done").write_text("ok\n")
        print(f"  built in {time.perf_counter() - start:.1f}s", flush=True)
    return source


# -- strategies ------------------------------------------------------------------------


def pack_bytes(repo: Path) -> int:
    return sum(pack.stat().st_size for pack in repo.rglob("objects/pack/*.pack"))


def run_release_tools(url: str, workdir: Path) -> int:
    from release_tools import refs, tagging

    remotes = [("dev", url)]
    with contextlib.redirect_stdout(io.StringIO()):
        states = refs.read_remotes(refs.RemoteReads(), remotes, "bench", (STABLE,), ["v99.0.0"])
        with refs.ReleaseClone.open(
            remotes, states, None, branches=("master", STABLE), view=tagging.GITLAB_VIEW, label="bench"
        ) as clone:
            stable = clone.branch(STABLE)
            assert stable is not None and stable.read("VERSION") and stable.files("changelogs/unreleased")
            return pack_bytes(clone.repo.path)


def run_full(url: str, workdir: Path) -> int:
    git("clone", "--quiet", "--no-checkout", url, str(workdir / "full"))
    git("checkout", "--quiet", STABLE, cwd=workdir / "full")
    return pack_bytes(workdir / "full")


def run_depth_100(url: str, workdir: Path) -> int:
    repo = workdir / "depth100"
    git("clone", "--quiet", "--depth=100", "--origin", "dev", url, str(repo))
    git("fetch", "--quiet", "--depth=100", "dev", f"{STABLE}:{STABLE}", cwd=repo)
    git("checkout", "--quiet", STABLE, cwd=repo)
    return pack_bytes(repo)


def run_floor(url: str, workdir: Path) -> int:
    repo = workdir / "floor"
    git("clone", "--quiet", "--depth=1", "--single-branch", "--branch=master", "--no-tags", url, str(repo))
    git("fetch", "--quiet", "--depth=1", "--no-tags", "origin", f"{STABLE}:{STABLE}", cwd=repo)
    git("checkout", "--quiet", STABLE, cwd=repo)
    return pack_bytes(repo)


STRATEGIES = {
    "release-tools": run_release_tools,
    "full clone": run_full,
    "--depth=100 (original)": run_depth_100,
    "depth 1, 2 branches (floor)": run_floor,
}


def measure(url: str, runs: int) -> dict[str, tuple[float, int]]:
    results = {}
    for name, strategy in STRATEGIES.items():
        times, sizes = [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory(prefix="bench-clone-") as workdir:
                start = time.perf_counter()
                sizes.append(strategy(url, Path(workdir)))
                times.append(time.perf_counter() - start)
        results[name] = (statistics.median(times), statistics.median(sizes))
    return results


# -- pushing to a second remote ---------------------------------------------------------


def check_pushes(source: Path) -> list[tuple[str, bool, float, str]]:
    """Prepare and push a release from the release-tools clone to a second remote."""
    from release_tools import refs, tagging
    from release_tools.errors import ReleaseToolsError

    checks = []
    with tempfile.TemporaryDirectory(prefix="bench-push-") as scratch:
        for name, stable, drop_on_second in (
            ("new stable branch + tag", "12-0-stable", False),
            ("stable branch only on the first remote", STABLE, True),
        ):
            dev = Path(scratch) / f"{stable}-dev.git"
            gitlab = Path(scratch) / f"{stable}-gitlab.git"
            git("clone", "--quiet", "--mirror", str(source), str(dev))
            git("clone", "--quiet", "--mirror", str(source), str(gitlab))
            if drop_on_second:
                git("branch", "-D", stable, cwd=gitlab)
            remotes = [("dev", dev.as_uri()), ("gitlab", gitlab.as_uri())]
            start = time.perf_counter()
            try:
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    reads = refs.RemoteReads()
                    states = refs.read_remotes(reads, remotes, "bench", (stable,), ["v99.0.0"])
                    with refs.ReleaseClone.open(
                        remotes, states, refs.check_identity(), branches=("master", stable),
                        view=tagging.GITLAB_VIEW, label="bench",
                    ) as clone:
                        master = clone.branch("master")
                        assert master is not None
                        draft = clone.branch_or_start(stable, master)
                        tagging.bump_version(draft, "VERSION", "99.0.0")
                        planned = clone.tag("v99.0.0", draft, "Version v99.0.0")
                        clone.write()
                        updates = [clone.branch_update(draft), clone.tag_update(planned)]
                        clone.connect(updates)
                        for step in refs.push_steps(clone.repo, remotes, updates, reads, project="bench", label="bench"):
                            if step.action is not None:
                                step.action()
                                problem = step.check() if step.check else None
                                if problem:
                                    raise ReleaseToolsError(problem)
                fsck = git("fsck", "--connectivity-only", cwd=gitlab)
                checks.append((name, True, time.perf_counter() - start, fsck.strip() or "remote consistent"))
            except (ReleaseToolsError, SystemExit) as error:
                checks.append((name, False, time.perf_counter() - start, str(error).splitlines()[0]))
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=20000)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached repository")
    args = parser.parse_args()
    os.environ.update(IDENTITY)  # this process's git commands (release-tools) see the same settings

    source = source_repository(args.commits, args.files, args.rebuild)
    count = git("rev-list", "--count", "--all", cwd=source).strip()
    tracked = len(git("ls-tree", "-r", "--name-only", "master", cwd=source).split())
    print(f"Repository: {count} commits, {tracked} files on master, {pack_bytes(source) / 1e6:.1f} MB packed\n")

    results = measure(source.as_uri(), args.runs)
    ours_time, ours_bytes = results["release-tools"]
    print(f"{'strategy':<30}{'time':>10}{'received':>14}{'time x':>9}{'bytes x':>9}   (x: relative to release-tools)")
    for name, (seconds, size) in results.items():
        print(f"{name:<30}{seconds * 1000:>8.0f}ms{size / 1e6:>11.2f} MB{seconds / ours_time:>9.2f}{size / ours_bytes:>9.2f}")

    failed = False
    print()
    for label, other, target in (
        ("vs --depth=100", "--depth=100 (original)", TARGETS["vs --depth=100"]),
        ("vs floor", "depth 1, 2 branches (floor)", TARGETS["vs floor"]),
    ):
        seconds, size = results[other]
        time_ratio, byte_ratio = ours_time / seconds, ours_bytes / size
        ok = time_ratio <= target and byte_ratio <= target
        failed |= not ok
        print(f"release-tools {label:<16} time {time_ratio:5.2f}x  bytes {byte_ratio:5.2f}x  target <= {target}x  {'ok' if ok else 'MISSED'}")

    print("\nPushing a release from the release-tools clone to a second remote:")
    for name, ok, seconds, detail in check_pushes(source):
        failed |= not ok
        print(f"  {name:<42} {'ok' if ok else 'FAILED'}  {seconds * 1000:6.0f}ms  {detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
