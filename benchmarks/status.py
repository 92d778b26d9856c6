"""API requests, `git ls-remote` calls and wall time of `status` for a monthly release with
every phase done, against the fake GitLab with 20 ms of latency per request and local
bare remotes.

Builds the seeded remotes of the tests (tests/repos.py), mirrors them into two fake GitLab
instances, moves a release of 11.2.0 through every phase (issue, tags on every remote,
published packages, QA issue, chart), then reads its status: whole, and each phase on its
own. Targets: at most 25 requests and 12 ls-remote calls, under 1 s, and at most 2x the
slowest single phase (the phases' reads overlap).

    python benchmarks/status.py [--latency SECONDS] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from release_tools.settings import Settings  # noqa: E402
from release_tools.status import phases_of, read_status  # noqa: E402
from release_tools.version import Version  # noqa: E402
from release_tools.sandbox import FakeGitLab, add_group, add_user  # noqa: E402
from tests.release_world import World, git_calls  # noqa: E402
from tests.repos import GIT_ENV, Remotes, build_template  # noqa: E402

TARGETS = {"requests": 25, "ls_remote": 12, "seconds": 1.0, "ratio": 2.0}
VERSION = "11.2.0"


def build(root: Path, production: FakeGitLab, dev: FakeGitLab) -> Remotes:
    remotes = Remotes.copy_of(build_template(root / "template"), root / "remotes")
    add_user(production, "release-manager", token="production-token")
    add_user(dev, "release-manager", token="dev-token")
    add_group(production, "gitlab-org")
    world = World(remotes, production, dev, root / "scratch")
    world.release_issue(VERSION, checked=10, items=31)
    world.tag(VERSION)
    world.pipelines(VERSION, "manual")
    world.publish()
    world.qa_issue(VERSION, checked=57, items=57)
    world.chart("0.4.0", VERSION)
    return remotes


def timed(settings: Settings, only: tuple[str, ...] = ()) -> tuple[float, object]:
    start = time.perf_counter()
    found = read_status(settings, Version.parse(VERSION), only=only)
    return time.perf_counter() - start, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every API request (default 0.02)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each measurement; the median is shown (default 5)")
    options = parser.parse_args()
    os.environ.update(GIT_ENV)

    with tempfile.TemporaryDirectory(prefix="status-benchmark-") as folder, FakeGitLab("gitlab.com") as production, \
            FakeGitLab("dev.gitlab.org") as dev:
        root = Path(folder)
        remotes = build(root, production, dev)
        tree = {**remotes.tree(), "instances": {"production": {"url": production.url}, "dev": {"url": dev.url}},
                "env_file": str(root / "no.env")}
        settings = Settings.from_mapping(tree, {"GITLAB_API_PRIVATE_TOKEN": "production-token", "DEV_API_PRIVATE_TOKEN": "dev-token"})
        production.latency = dev.latency = options.latency
        import io
        import contextlib

        with contextlib.redirect_stdout(io.StringIO()):
            timed(settings)  # imports python-gitlab once, as any run does before its first request

            production.clear_log()
            dev.clear_log()
            trace = root / "trace.json"
            os.environ["GIT_TRACE2_EVENT"] = str(trace)
            seconds, found = timed(settings)
            del os.environ["GIT_TRACE2_EVENT"]
            requests = len(production.log) + len(dev.log)
            ls_remotes = git_calls(trace, "ls-remote")
            assert found.exit_status == 0 and found.next is None, found.summary_lines()
            runs = [seconds] + [timed(settings)[0] for _ in range(options.runs - 1)]
            phases = {name: statistics.median(timed(settings, (name,))[0] for _ in range(options.runs))
                      for name in phases_of(Version.parse(VERSION))}

    whole = statistics.median(runs)
    slowest = max(phases, key=phases.get)
    ratio = whole / phases[slowest]
    print(f"status {VERSION} (monthly, every phase done), {options.latency * 1000:.0f} ms per API request:")
    print(f"  API requests:     {requests} (target at most {TARGETS['requests']})")
    print(f"  git ls-remote:    {ls_remotes} (target at most {TARGETS['ls_remote']})")
    print(f"  wall time:        {whole:.3f} s, median of {options.runs} (target under {TARGETS['seconds']:.0f} s)")
    for name, value in phases.items():
        print(f"    {name + ' alone:':<24}{value:.3f} s")
    print(f"  ratio to the slowest phase ({slowest}): {ratio:.2f}x (target at most {TARGETS['ratio']:.0f}x)")
    met = (requests <= TARGETS["requests"] and ls_remotes <= TARGETS["ls_remote"] and whole < TARGETS["seconds"]
           and ratio <= TARGETS["ratio"])
    print("  targets met" if met else "  TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
