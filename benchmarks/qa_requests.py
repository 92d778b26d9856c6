"""API requests and wall time of `qa_issue` against a one-request-per-merge-request approach.

Builds a range of 1,000 merge commits on the fake GitLab (merge requests of EE and CE on
gitlab.com and of CE on dev.gitlab.org), injects 20 ms of latency into every request, then
creates the QA issue twice: once as `qa_issue` does (`iids[]` batches of 100 per project),
once fetching each merge request with a request of its own (the original's approach,
without its extra 404 on gitlab.com for each dev merge request). Both runs must produce
the same issue. Targets: at least 20x fewer requests and 10x less time.

    python benchmarks/qa_requests.py [--merge-commits N] [--latency SECONDS]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from release_tools import qa  # noqa: E402
from release_tools.config import Settings  # noqa: E402
from release_tools.gitlab import GitLab  # noqa: E402
from release_tools.plan import execute  # noqa: E402
from release_tools.sandbox import (  # noqa: E402
    FakeGitLab,
    add_commit,
    add_merge_request,
    add_milestone,
    add_project,
    add_tag,
    add_user,
)

TARGETS = {"requests": 20.0, "time": 10.0}
EE, CE, DEV_CE, TASKS = "gitlab-org/gitlab-ee", "gitlab-org/gitlab-ce", "gitlab/gitlabhq", "gitlab-org/release/tasks"
LABELS = [["Platform"], ["CI/CD", "bug"], ["frontend"], ["Documentation"], [], ["Geo", "Platform"], ["database"]]


def seed(com: FakeGitLab, dev: FakeGitLab, merge_commits: int) -> None:
    add_user(com, "release-manager", token="production-token")
    add_user(dev, "release-manager", token="dev-token")
    authors = [add_user(com, f"dev{n}") for n in range(25)]
    for path in (EE, CE, TASKS):
        add_project(com, path)
    add_project(dev, DEV_CE)
    add_milestone(com, "gitlab-org", "11.1", group=True)
    add_commit(com, EE, "Update VERSION to 11.1.0-rc1-ee")
    add_tag(com, EE, "v11.1.0-rc1-ee")
    for n in range(merge_commits):
        # Mostly EE, a quarter from CE (merged into EE), one in twenty from dev.
        fake, path = (dev, DEV_CE) if n % 20 == 0 else (com, CE) if n % 4 == 1 else (com, EE)
        mr = add_merge_request(fake, path, f"Change number {n}", labels=LABELS[n % len(LABELS)], author=authors[n % 25] if fake is com else None)
        add_commit(com, EE, f"Merge branch 'change-{n}' into 'master'\n\nChange number {n}\n\nSee merge request {path}!{mr['iid']}\n")
    add_commit(com, EE, "Update VERSION to 11.1.0-rc2-ee")
    add_tag(com, EE, "v11.1.0-rc2-ee")


def one_by_one(gitlab: GitLab, project: str, iids: list[int]) -> list:
    """The baseline: a request per merge request."""
    return [gitlab.merge_request(project, iid) for iid in iids]


def run(settings: Settings, com: FakeGitLab, dev: FakeGitLab, fetch) -> tuple[int, float, str]:
    """Create the QA issue from scratch; return (requests, seconds, description)."""
    com.tables["issues"] = []
    com.clear_log()
    dev.clear_log()
    gitlabs = {name: GitLab(settings, name) for name in ("production", "dev")}
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        plan = execute(qa.plan_qa_issue(settings, "v11.1.0-rc1", "v11.1.0-rc2", gitlabs=gitlabs, fetch=fetch), settings.run)
    seconds = time.perf_counter() - start
    assert plan.exit_status == 0, plan.summary_lines()
    assert sum(g.request_count for g in gitlabs.values()) == len(com.log) + len(dev.log)
    [issue] = com.table("issues")
    return len(com.log) + len(dev.log), seconds, issue["description"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merge-commits", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.020, help="seconds added to every request")
    args = parser.parse_args()

    with FakeGitLab("gitlab.com") as com, FakeGitLab("dev.gitlab.org") as dev:
        seed(com, dev, args.merge_commits)
        settings = Settings.from_mapping(
            {"env_file": "", "instances": {"production": {"url": com.url}, "dev": {"url": dev.url}}},
            {"GITLAB_API_PRIVATE_TOKEN": "production-token", "DEV_API_PRIVATE_TOKEN": "dev-token"},
        )
        com.latency = dev.latency = args.latency

        ours = run(settings, com, dev, qa.fetch_in_batches)
        baseline = run(settings, com, dev, one_by_one)

    if ours[2] != baseline[2]:
        print("the two approaches produced different issues", file=sys.stderr)
        return 2
    listed = ours[2].count("\n- [ ] @")
    print(f"{args.merge_commits} merge commits, {listed} merge requests in the issue, {args.latency * 1000:.0f} ms per request")
    print(f"{'approach':<28}{'requests':>10}{'wall time':>12}")
    print(f"{'qa_issue (iids[] batches)':<28}{ours[0]:>10}{ours[1]:>11.2f}s")
    print(f"{'one request per MR':<28}{baseline[0]:>10}{baseline[1]:>11.2f}s")
    ratios = {"requests": baseline[0] / ours[0], "time": baseline[1] / ours[1]}
    failed = False
    for name, ratio in ratios.items():
        ok = ratio >= TARGETS[name]
        failed |= not ok
        print(f"{name} ratio: {ratio:.1f}x (target >= {TARGETS[name]:.0f}x) {'ok' if ok else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
