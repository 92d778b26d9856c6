"""API requests, git processes and wall time of `cherry_pick` picking 200 merge requests.

Builds (with one `git fast-import`) a gitlab-ee whose `master` holds 200 merge requests
merged after `11-1-stable` was cut, half of them as merge commits and half squashed, 20
of them changing the lines the stable branch changed (they conflict for real), and puts
it on two local bare remotes (`dev`, `gitlab`). The fake GitLab holds the 200 merge
requests labelled `Pick into 11.1` and the preparation merge request, and answers every
request 20 ms late. Then `cherry_pick 11.1.2` runs twice: the first run picks, pushes,
comments and lists; the second finds everything done.

Git processes are counted twice: those release-tools started (a `git` first on PATH notes
each start, then runs the real one), and those git started itself (`GIT_TRACE`'s
`run_command` lines: the other end of each fetch and push, index packs, the resets of
skipped picks, fetches of file contents a partial clone makes on demand).

    python benchmarks/cherry_pick.py [--merge-requests N] [--conflicting N] [--latency SECONDS]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from release_tools.cherry_pick import cherry_pick  # noqa: E402
from release_tools.config import Settings  # noqa: E402
from release_tools.version import Version  # noqa: E402
from release_tools.sandbox import FakeGitLab, add_merge_request, add_project, add_user  # noqa: E402
from tests.repos import GIT_ENV  # noqa: E402

EE = "gitlab-org/gitlab-ee"
STABLE, PREP = "11-1-stable-ee", "11-1-stable-ee-patch-2"
LABEL = "Pick into 11.1"
SHARED = "lib/shared.rb"


def _blob(text: str) -> str:
    data = text.encode()
    return f"data {len(data)}\n{text}\n"


def history(count: int, conflicting: int) -> tuple[str, list[tuple[str, int, bool]]]:
    """The fast-import stream, and per merge request (mark, the mark of the commit to pick, merged?)."""
    lines = []
    stamp = 1530000000

    def commit(ref: str, mark: int, message: str, files: dict[str, str], parents: list[int]) -> None:
        nonlocal stamp
        stamp += 60
        lines.append(f"commit {ref}\nmark :{mark}\nauthor Ann Other <ann@example.com> {stamp} +0000\n"
                     f"committer Ann Other <ann@example.com> {stamp} +0000\n{_blob(message)}")
        if parents:
            lines.append(f"from :{parents[0]}\n")
        lines.extend(f"merge :{parent}\n" for parent in parents[1:])
        lines.extend(f"M 100644 inline {path}\n{_blob(text)}" for path, text in files.items())
        lines.append("\n")

    shared = "".join(f"line {n}\n" for n in range(10))
    commit("refs/heads/master", 1, "Initial import", {"VERSION": "11.1.0-pre\n", SHARED: shared}, [])
    commit(f"refs/heads/{STABLE}", 2, "Fix the shared lines on stable",
           {"VERSION": "11.1.1-ee\n", SHARED: shared.replace("line 0\n", "stable 0\n")}, [1])
    commit(f"refs/heads/{PREP}", 3, "Update VERSION to 11.1.2-ee", {"VERSION": "11.1.2-ee\n"}, [2])
    every = max(1, count // conflicting) if conflicting else 0
    mark, tip, made = 10, 1, []
    for n in range(count):
        conflicts = bool(every) and n % every == 0 and n // every < conflicting
        # A conflicting one changes the first line, which the stable branch changed too.
        files = {SHARED: f"master {n}\n" + shared.split("\n", 1)[1]} if conflicts else {f"app/change_{n}.rb": f"# {n}\n"}
        if n % 2 == 0:  # a merge commit of a one-commit branch
            commit("refs/heads/feature", mark, f"Change {n}", files, [tip])
            commit("refs/heads/master", mark + 1, f"Merge branch 'branch-{n}'", files, [tip, mark])
            made.append((mark + 1, n, True))
            tip, mark = mark + 1, mark + 2
        else:  # squashed onto master
            commit("refs/heads/master", mark, f"Change {n}", files, [tip])
            made.append((mark, n, False))
            tip, mark = mark, mark + 1
        if conflicts:
            shared = files[SHARED]
    return "".join(lines), made


def build(root: Path, count: int, conflicting: int) -> tuple[dict[str, str], list[tuple[str, int, bool]]]:
    """Bare `dev` and `gitlab` remotes of gitlab-ee; returns their URLs and the merge requests' commits."""
    env = {**os.environ, **GIT_ENV}
    work = root / "work.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(work)], check=True, env=env)
    stream, made = history(count, conflicting)
    marks = root / "marks"
    subprocess.run(["git", "fast-import", "--quiet", f"--export-marks={marks}"], input=stream, text=True,
                   cwd=work, check=True, env=env)
    subprocess.run(["git", "update-ref", "-d", "refs/heads/feature"], cwd=work, check=True, env=env)
    shas = dict(line.split() for line in marks.read_text().splitlines())
    urls = {}
    for remote in ("dev", "gitlab"):
        bare = root / f"{remote}.git"
        subprocess.run(["git", "clone", "--quiet", "--bare", str(work), str(bare)], check=True, env=env)
        subprocess.run(["git", "config", "uploadpack.allowFilter", "true"], cwd=bare, check=True, env=env)
        urls[remote] = bare.as_uri()
    return urls, [(shas[f":{mark}"], n, merge) for mark, n, merge in made]


def counting_git(folder: Path, log: Path, trace: Path) -> None:
    """A `git` first on PATH that notes each start, then runs the real git; git's own
    processes are traced to `trace`."""
    real = shutil.which("git")
    script = folder / "git"
    script.write_text(f'#!/bin/sh\necho "$PPID" >> "{log}"\nexec "{real}" "$@"\n')
    script.chmod(0o755)
    os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ['PATH']}"
    os.environ["GIT_TRACE"] = str(trace)


def run(settings: Settings, fakes: list[FakeGitLab], log: Path, trace: Path) -> tuple[int, int, int, float, object]:
    """One run: (requests, git processes release-tools started, those git started, seconds, plan)."""
    for fake in fakes:
        fake.clear_log()
    log.write_text("")
    trace.write_text("")
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        plan = cherry_pick(settings, Version.parse("11.1.2"))
    seconds = time.perf_counter() - start
    ours = sum(1 for pid in log.read_text().split() if pid == str(os.getpid()))
    own = sum(1 for line in trace.read_text(errors="replace").splitlines() if " run_command: " in line)
    return sum(len(fake.log) for fake in fakes), ours, own, seconds, plan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merge-requests", type=int, default=200)
    parser.add_argument("--conflicting", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.020, help="seconds added to every request")
    args = parser.parse_args()
    os.environ.update(GIT_ENV)

    with tempfile.TemporaryDirectory(prefix="cherry-pick-benchmark-") as scratch:
        root = Path(scratch)
        urls, commits = build(root, args.merge_requests, args.conflicting)
        (root / "bin").mkdir()
        log, trace = root / "git-processes", root / "git-trace"
        counting_git(root / "bin", log, trace)
        with FakeGitLab("gitlab.com") as com, FakeGitLab("dev.gitlab.org") as dev:
            add_user(com, "release-manager", token="production-token")
            add_user(dev, "release-manager", token="dev-token")
            authors = [add_user(com, f"dev{n}") for n in range(25)]
            add_project(com, EE)
            for sha, n, merge in commits:
                add_merge_request(
                    com, EE, f"Change {n}", iid=n + 1, author=authors[n % 25], labels=[LABEL],
                    merged_at=f"2018-07-{1 + n // 1440:02d}T{n // 60 % 24:02d}:{n % 60:02d}:00.000Z",
                    merge_commit_sha=sha if merge else None, squash_commit_sha=None if merge else sha, sha=sha,
                )
            add_merge_request(com, EE, "WIP: Prepare 11.1.2-ee release", iid=1000, state="opened",
                              source_branch=PREP, target_branch=STABLE, description="Main release issue: ...\n")
            settings = Settings.from_mapping(
                {
                    "env_file": "",
                    "instances": {"production": {"url": com.url}, "dev": {"url": dev.url}},
                    "projects": {"ee": {"remotes": urls}},
                    "cherry_pick": {"projects": ["ee"]},
                },
                {"GITLAB_API_PRIVATE_TOKEN": "production-token", "DEV_API_PRIVATE_TOKEN": "dev-token"},
            )
            com.latency = dev.latency = args.latency
            first = run(settings, [com, dev], log, trace)
            second = run(settings, [com, dev], log, trace)

    plan = first[4]
    picked = sum(1 for step in plan.steps if step.kind == "note.create" and "picked as" in step.summary)
    print(f"{args.merge_requests} merge requests ({args.conflicting} conflicting), {args.latency * 1000:.0f} ms per "
          f"request, local remotes dev and gitlab")
    print(f"first run: {picked} picked, {len(plan.problems)} need a manual pick, exit status {plan.exit_status}")
    print(f"{'run':<10}{'requests':>10}{'git processes':>15}{'git-started':>13}{'wall time':>11}")
    for name, (requests, ours, own, seconds, _) in (("first", first), ("second", second)):
        print(f"{name:<10}{requests:>10}{ours:>15}{own:>13}{seconds:>10.2f}s")
    expected = (args.merge_requests - args.conflicting, args.conflicting, 3)
    if (picked, len(plan.problems), plan.exit_status) != expected or second[4].status.value != "nothing_to_do":
        print(f"unexpected outcome: expected {expected} and a second run with nothing to do", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
