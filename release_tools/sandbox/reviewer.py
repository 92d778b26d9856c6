"""What people do in the sandbox between two commands of a release: the dev instance
mirroring a branch made on gitlab.com, and a reviewer merging the preparation merge
requests.

Both work on the bare remotes with git itself (no working copy), then tell the
instances, as GitLab would show the result.
"""

from __future__ import annotations

from typing import Any

from ..defaults import DEFAULTS
from ..version import Version
from .core import now
from .mirror import mirror
from .repositories import git
from .users import basic
from .world import REMOTE_INSTANCES, Sandbox

#: The projects that have preparation merge requests, with whether each is EE.
PREPARED = (("ce", False), ("ee", True))


def seed_security_fixes(sandbox: Sandbox) -> int:
    """Make the merged `Pick into X.Y` merge requests of gitlab.com security fixes merged on
    dev instead (the same merge commits, which the dev remotes have too), as a security
    release finds them; returns how many. Call it once, on a freshly created sandbox."""
    from .merge_requests import add_merge_request

    label = DEFAULTS["labels"]["pick_into"].format(minor=sandbox.version.minor_name)
    made = 0
    for key, _ in PREPARED:
        public, private = sandbox.path(key, "gitlab"), sandbox.path(key, "dev")
        with sandbox.production.lock:
            project = sandbox.production.find_project(public)
            picks = [m for m in sandbox.production.table("merge_requests") if m["project_id"] == project["id"] and label in m["labels"]]
        with sandbox.dev.lock:
            milestone = next(
                m for m in sandbox.dev.table("milestones")
                if m["title"] == sandbox.version.minor_name and m.get("project_id") == sandbox.dev.find_project(private)["id"]
            )
            for pick in picks:
                author = next((u for u in sandbox.dev.users.values() if u["username"] == pick["author"]["username"]), None)
                add_merge_request(
                    sandbox.dev, private, f"[Security] {pick['title']}", author=author, labels=[label, DEFAULTS["labels"]["security"]],
                    milestone=milestone, source_branch=f"security-{pick['source_branch']}",
                    merge_commit_sha=pick["merge_commit_sha"], sha=pick["sha"],
                )
                made += 1
    return made


def release_remote(security: bool) -> str:
    """The remote whose instance holds a release's preparation merge requests: dev for a security release."""
    return "dev" if security else "gitlab"


def mirror_to_dev(sandbox: Sandbox, key: str, branch: str) -> bool:
    """Copy `branch` of project `key` from its gitlab remote to its dev remote, as the dev
    instance's pull mirror would; True when the dev remote did not have it as it is."""
    source, target = sandbox.remote(key, "gitlab"), sandbox.remote(key, "dev")
    sha = source.branches().get(branch)
    if sha is None or target.branches().get(branch) == sha:
        return False
    git("push", "--quiet", target.url, f"refs/heads/{branch}:refs/heads/{branch}", cwd=source.path)
    _catch_up(sandbox, key, "dev")
    return True


def preparation_branches(sandbox: Sandbox, version: Version, *, security: bool) -> list[tuple[str, str]]:
    """(project key, source branch) of each preparation merge request of `version`."""
    found = []
    for key, ee in PREPARED:
        merge_request = _preparation(sandbox, key, version.stable_branch(ee=ee), security)
        if merge_request is not None:
            found.append((key, merge_request["source_branch"]))
    return found


def merge_preparation(sandbox: Sandbox, version: Version, *, security: bool) -> list[str]:
    """Merge each open preparation merge request of `version` as a reviewer would: a merge
    commit on the stable branch of every remote the release pushes to (dev only for a
    security release), and the merge request merged by the first release manager.
    Returns one line per merge made (none when they are merged already)."""
    made = []
    remotes = ["dev"] if security else ["gitlab", "dev"]
    for key, ee in PREPARED:
        target = version.stable_branch(ee=ee)
        merge_request = _preparation(sandbox, key, target, security, state="opened")
        if merge_request is None:
            continue
        source = merge_request["source_branch"]
        first = sandbox.remote(key, remotes[0])
        head = first.sha(f"refs/heads/{source}")
        base = first.sha(f"refs/heads/{target}")
        tree = git("merge-tree", "--write-tree", base, head, cwd=first.path).split()[0]
        message = f"Merge branch '{source}' into '{target}'\n\n{merge_request['title']}\n\nSee merge request {merge_request['references']['full']}\n"
        merged = git("commit-tree", tree, "-p", base, "-p", head, input=message, cwd=first.path).strip()
        for remote in remotes[1:]:
            git("push", "--quiet", sandbox.remote(key, remote).url, f"{merged}:refs/heads/{target}", cwd=first.path)
        git("update-ref", f"refs/heads/{target}", merged, base, cwd=first.path)
        for remote in remotes:
            _catch_up(sandbox, key, remote)
        instance = sandbox.instances[REMOTE_INSTANCES[release_remote(security)]]
        reviewer = next(iter(instance.users.values()))
        with instance.lock:
            stamp = now()
            merge_request.update(
                state="merged", merged_at=stamp, updated_at=stamp, merge_commit_sha=merged, sha=head,
                merged_by=basic(reviewer), merge_user=basic(reviewer),
            )
        made.append(f"merged {merge_request['references']['full']} into {target} ({merged[:12]})")
    return made


def _preparation(sandbox: Sandbox, key: str, target: str, security: bool, state: str | None = None) -> dict[str, Any] | None:
    """The preparation merge request into `target` of project `key` (the newest)."""
    remote = release_remote(security)
    instance = sandbox.instances[REMOTE_INSTANCES[remote]]
    label = DEFAULTS["labels"]["release"]
    with instance.lock:
        project = instance.find_project(sandbox.path(key, remote))
        found = [
            m for m in instance.table("merge_requests")
            if m["project_id"] == project["id"] and m["target_branch"] == target and label in m["labels"]
            and m["state"] in ((state,) if state else ("opened", "merged"))
        ]
    return max(found, key=lambda m: m["iid"]) if found else None


def _catch_up(sandbox: Sandbox, key: str, remote: str) -> None:
    """The remote's project sees what was written there (git writes with no hook run here)."""
    instance = sandbox.instances[REMOTE_INSTANCES[remote]]
    with instance.lock:
        mirror(instance, sandbox.path(key, remote), sandbox.remote(key, remote))
