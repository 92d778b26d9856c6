"""Repositories: commits, branches and tags of a project, compare, branch creation, and
files (`files/:path/raw`).

History is a real commit graph (each commit has parents), so `compare` and
`commits?ref_name=A..B` answer what git would: the commits reachable from one ref and
not from the other, oldest first for compare, newest first for the commit list. Each
commit holds its files (path -> text), its first parent's with its own changes applied.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from .core import FakeGitLab, HTTPError, Request, Response, bad_request, not_found, now, route
from .repositories import git


def _project_commits(fake: FakeGitLab, project: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in fake.table("commits") if c["project_id"] == project["id"]]


def _refs(fake: FakeGitLab, kind: str, project: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in fake.table(kind) if r["project_id"] == project["id"]]


def _ref(fake: FakeGitLab, kind: str, project: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((r for r in _refs(fake, kind, project) if r["name"] == name), None)


def resolve(fake: FakeGitLab, project: dict[str, Any], ref: str) -> dict[str, Any] | None:
    """The commit a branch, tag, full SHA or SHA prefix (7+ characters) names, or None."""
    for kind in ("branches", "tags"):
        named = _ref(fake, kind, project, ref)
        if named is not None:
            ref = named["sha"]
            break
    if not re.fullmatch(r"[0-9a-f]{7,40}", ref or ""):
        return None
    matches = [c for c in _project_commits(fake, project) if c["id"].startswith(ref)]
    return matches[0] if len(matches) == 1 else None


def add_commit(
    fake: FakeGitLab,
    project_path: str,
    message: str,
    *,
    branch: str | None = "master",
    parents: list[str] | None = None,
    author_name: str = "Rita Release",
    author_email: str = "rita@example.com",
    files: dict[str, str | None] | None = None,
    sha: str | None = None,
    tree: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A commit on `branch` (created when missing), whose parent is the branch's head
    unless `parents` (SHAs) says otherwise; the branch moves to the new commit (with
    `branch=None` no ref moves: see `set_ref`).

    Its files are its first parent's with `files` applied (a None value deletes the file),
    or exactly `tree` when given. `sha` names it (a commit mirrored from a real repository);
    by default a SHA is made up."""
    with fake.lock:
        project = fake.find_project(project_path)
        head = _ref(fake, "branches", project, branch) if branch is not None else None
        if parents is None:
            parents = [head["sha"]] if head else []
        number = fake.next_id("commit")
        sha = sha or hashlib.sha1(f"{project['id']}:{number}:{message}".encode()).hexdigest()
        if tree is None:
            first = resolve(fake, project, parents[0]) if parents else None
            tree = dict(first["files"]) if first else {}
            for path, text in (files or {}).items():
                if text is None:
                    tree.pop(path, None)
                else:
                    tree[path] = text
        stamp = now()
        commit = {
            "id": sha,
            "short_id": sha[:8],
            "title": message.split("\n", 1)[0],
            "created_at": stamp,
            "parent_ids": list(parents),
            "message": message,
            "author_name": author_name,
            "author_email": author_email,
            "authored_date": stamp,
            "committer_name": author_name,
            "committer_email": author_email,
            "committed_date": stamp,
            "web_url": f"{project['web_url']}/commit/{sha}",
            "project_id": project["id"],
            "files": dict(tree),
        }
        fake.table("commits").append(commit)
        if branch is None:
            return commit
        if head is None:
            _add_ref(fake, "branches", project, branch, sha)
        else:
            head["sha"] = sha
        return commit


def add_branch(fake: FakeGitLab, project_path: str, name: str, ref: str = "master") -> dict[str, Any]:
    """A branch pointing where `ref` (a branch, tag or SHA) points."""
    with fake.lock:
        project = fake.find_project(project_path)
        commit = resolve(fake, project, ref)
        if commit is None:
            raise ValueError(f"{ref} does not exist in {project_path}")
        return _add_ref(fake, "branches", project, name, commit["id"])


def add_tag(fake: FakeGitLab, project_path: str, name: str, ref: str = "master") -> dict[str, Any]:
    """A tag on the commit `ref` names."""
    with fake.lock:
        project = fake.find_project(project_path)
        commit = resolve(fake, project, ref)
        if commit is None:
            raise ValueError(f"{ref} does not exist in {project_path}")
        return _add_ref(fake, "tags", project, name, commit["id"])


def set_ref(fake: FakeGitLab, project_path: str, kind: str, name: str, sha: str) -> dict[str, Any]:
    """Point the branch or tag `name` (`kind`: `branches`, `tags`) at the commit `sha`,
    creating it when missing (a push the fake is told about)."""
    with fake.lock:
        project = fake.find_project(project_path)
        if resolve(fake, project, sha) is None:
            raise ValueError(f"{sha} is no commit of {project_path}")
        existing = _ref(fake, kind, project, name)
        if existing is None:
            return _add_ref(fake, kind, project, name, sha)
        existing["sha"] = sha
        return existing


def _add_ref(fake: FakeGitLab, kind: str, project: dict[str, Any], name: str, sha: str) -> dict[str, Any]:
    entry = {"project_id": project["id"], "name": name, "sha": sha, "protected": False}
    fake.table(kind).append(entry)
    return entry


# -- JSON shapes ---------------------------------------------------------------------------

COMMIT_FIELDS = (
    "id",
    "short_id",
    "title",
    "created_at",
    "parent_ids",
    "message",
    "author_name",
    "author_email",
    "authored_date",
    "committer_name",
    "committer_email",
    "committed_date",
    "web_url",
)


def commit_json(commit: dict[str, Any]) -> dict[str, Any]:
    """The commit shape of lists, compare and branches."""
    return {key: commit[key] for key in COMMIT_FIELDS}


def _commit_detail(commit: dict[str, Any]) -> dict[str, Any]:
    detail = commit_json(commit)
    detail.update(
        {
            "stats": {"additions": 1, "deletions": 1, "total": 2},
            "status": None,
            "last_pipeline": None,
            "project_id": commit["project_id"],
        }
    )
    return detail


def _branch_json(fake: FakeGitLab, project: dict[str, Any], branch: dict[str, Any]) -> dict[str, Any]:
    commit = resolve(fake, project, branch["sha"])
    return {
        "name": branch["name"],
        "commit": commit_json(commit) if commit else None,
        "merged": False,
        "protected": branch["protected"],
        "developers_can_push": False,
        "developers_can_merge": False,
        "can_push": True,
        "default": branch["name"] == project.get("default_branch"),
        "web_url": f"{project['web_url']}/-/tree/{branch['name']}",
    }


# -- graph walks ---------------------------------------------------------------------------


def _ancestors(commits: dict[str, dict[str, Any]], sha: str) -> set[str]:
    seen: set[str] = set()
    stack = [sha]
    while stack:
        current = stack.pop()
        if current in seen or current not in commits:
            continue
        seen.add(current)
        stack.extend(commits[current]["parent_ids"])
    return seen


def _range(fake: FakeGitLab, project: dict[str, Any], base: dict[str, Any] | None, tip: dict[str, Any]) -> list[dict[str, Any]]:
    """Commits reachable from `tip` and not from `base`, oldest first (creation order)."""
    commits = _project_commits(fake, project)
    by_sha = {c["id"]: c for c in commits}
    wanted = _ancestors(by_sha, tip["id"]) - (_ancestors(by_sha, base["id"]) if base else set())
    return [c for c in commits if c["id"] in wanted]


# -- routes --------------------------------------------------------------------------------


@route("GET", "/projects/<project>/repository/commits/<sha>")
def get_commit(fake: FakeGitLab, req: Request) -> Response:
    project = fake.find_project(req.params["project"])
    commit = resolve(fake, project, req.params["sha"])
    if commit is None:
        raise not_found("Commit")
    return Response(200, _commit_detail(commit))


@route("GET", "/projects/<project>/repository/commits")
def list_commits(fake: FakeGitLab, req: Request) -> Response:
    project = fake.find_project(req.params["project"])
    ref_name = req.arg("ref_name") or project["default_branch"]
    if ".." in ref_name:
        start, _, end = ref_name.partition("...") if "..." in ref_name else ref_name.partition("..")
        base, tip = resolve(fake, project, start), resolve(fake, project, end)
        if base is None or tip is None:
            raise not_found("Commit")
        commits = _range(fake, project, base, tip)
    else:
        tip = resolve(fake, project, ref_name)
        if tip is None:
            raise not_found("Commit")
        commits = _range(fake, project, None, tip)
    return fake.paginate(req, [commit_json(c) for c in reversed(commits)])  # git log order: newest first


@route("GET", "/projects/<project>/repository/compare")
def compare(fake: FakeGitLab, req: Request) -> Response:
    project = fake.find_project(req.params["project"])
    for name in ("from", "to"):
        if not req.arg(name):
            raise HTTPError(400, f"{name} is missing", key="error")
    base, tip = resolve(fake, project, req.arg("from")), resolve(fake, project, req.arg("to"))
    if base is None or tip is None:
        raise not_found("Ref")
    commits = _range(fake, project, base, tip)
    return Response(
        200,
        {
            "commit": commit_json(commits[-1]) if commits else None,
            "commits": [commit_json(c) for c in commits],
            # Files are not modelled: every compare has empty diffs.
            "diffs": [],
            "compare_timeout": False,
            "compare_same_ref": base["id"] == tip["id"],
            "web_url": f"{project['web_url']}/-/compare/{base['id']}...{tip['id']}",
        },
    )


def _blob_id(text: str) -> str:
    """The blob's name, as git computes it."""
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@route("GET", "/projects/<project>/repository/files/<path>/raw")
def raw_file(fake: FakeGitLab, req: Request) -> Response:
    """A file's contents at `ref` (a branch, tag or SHA; the default branch when left out),
    as text, with GitLab's `X-Gitlab-*` headers; 404 `Commit Not Found` for an unknown
    ref, `File Not Found` for a path the commit does not have."""
    project = fake.find_project(req.params["project"])
    ref = req.arg("ref") or project["default_branch"]
    commit = resolve(fake, project, ref)
    if commit is None:
        raise not_found("Commit")
    path = req.params["path"]
    text = commit["files"].get(path)
    if text is None:
        raise not_found("File")
    headers = {
        "Content-Type": "text/plain; charset=utf-8",
        "X-Gitlab-File-Name": path.rsplit("/", 1)[-1],
        "X-Gitlab-File-Path": path,
        "X-Gitlab-Ref": ref,
        "X-Gitlab-Blob-Id": _blob_id(text),
        "X-Gitlab-Commit-Id": commit["id"],
        "X-Gitlab-Size": str(len(text.encode())),
        "X-Gitlab-Encoding": "base64",
    }
    return Response(200, text.encode(), headers)


@route("GET", "/projects/<project>/repository/branches")
def list_branches(fake: FakeGitLab, req: Request) -> Response:
    project = fake.find_project(req.params["project"])
    search = (req.arg("search") or "").lower()
    branches = sorted(_refs(fake, "branches", project), key=lambda b: b["name"])
    return fake.paginate(req, [_branch_json(fake, project, b) for b in branches if search in b["name"].lower()])


@route("GET", "/projects/<project>/repository/branches/<branch>")
def get_branch(fake: FakeGitLab, req: Request) -> Response:
    project = fake.find_project(req.params["project"])
    branch = _ref(fake, "branches", project, req.params["branch"])
    if branch is None:
        raise not_found("Branch")
    return Response(200, _branch_json(fake, project, branch))


@route("POST", "/projects/<project>/repository/branches")
def create_branch(fake: FakeGitLab, req: Request) -> Response:
    project = fake.find_project(req.params["project"])
    name, ref = req.arg("branch"), req.arg("ref")
    if not name:
        raise HTTPError(400, "branch is missing", key="error")
    if not ref:
        raise HTTPError(400, "ref is missing", key="error")
    if not re.fullmatch(r"[^\s~^:?*\[\\]+", name) or name.startswith("-") or ".." in name:
        raise bad_request("Branch name is invalid")
    if _ref(fake, "branches", project, name) is not None:
        raise bad_request("Branch already exists")
    commit = resolve(fake, project, ref)
    if commit is None:
        raise bad_request(f"Invalid reference name: {ref}")
    repository = fake.repositories.get(project["path_with_namespace"])
    if repository is not None:
        git("update-ref", f"refs/heads/{name}", commit["id"], "", cwd=repository)
    branch = _add_ref(fake, "branches", project, name, commit["id"])
    return Response(201, _branch_json(fake, project, branch))
