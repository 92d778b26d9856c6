"""Project merge requests: list (state, labels, iids[], branches, milestone, search),
get one, create (409 when an open one exists for the same branches), edit (description,
labels, add_labels, remove_labels); their notes: list and create.

List items carry fewer fields than a single fetch, as on gitlab.com (no diff_refs,
pipeline, changes_count, ...). They do carry `merged_by` and `merge_user`, which
current GitLab lists include (the 2018 recordings predate that).
"""

from __future__ import annotations

from typing import Any

from .core import FakeGitLab, HTTPError, Request, Response, now, route
from .issues import _assignees, _labels, _milestone, matches_common_filters, note_routes
from .users import basic

STATES = ("opened", "closed", "locked", "merged")


def add_merge_request(
    fake: FakeGitLab,
    project_path: str,
    title: str,
    *,
    iid: int | None = None,
    author: dict[str, Any] | None = None,
    merged_by: dict[str, Any] | None = None,
    labels: list[str] | tuple[str, ...] = (),
    state: str = "merged",
    source_branch: str | None = None,
    target_branch: str = "master",
    milestone: dict[str, Any] | None = None,
    description: str = "",
    merged_at: str | None = None,
    merge_commit_sha: str | None = None,
    squash_commit_sha: str | None = None,
    sha: str | None = None,
) -> dict[str, Any]:
    """A merge request; merged ones are merged by `merged_by` (default: nobody recorded,
    which GitLab answers as `null` for merge requests merged before it kept track), at
    `merged_at` (default: now). What merging made is `merge_commit_sha` (null when
    fast-forwarded), `squash_commit_sha` (null unless squashed) and `sha`, the source
    branch's head."""
    with fake.lock:
        project = fake.find_project(project_path)
        author = author or next(iter(fake.users.values()))
        if iid is None:
            iid = 1 + max((m["iid"] for m in _project_mrs(fake, project)), default=0)
        elif any(m["iid"] == iid for m in _project_mrs(fake, project)):
            raise ValueError(f"{project_path}!{iid} exists already")
        return _create(
            fake,
            project,
            author,
            iid=iid,
            title=title,
            description=description,
            labels=list(labels),
            state=state,
            source_branch=source_branch or f"branch-{iid}",
            target_branch=target_branch,
            milestone=milestone,
            assignees=[],
            merged_by=merged_by,
            remove_source_branch=False,
            merged_at=merged_at,
            commits={"merge_commit_sha": merge_commit_sha, "squash_commit_sha": squash_commit_sha, "sha": sha},
        )


def _project_mrs(fake: FakeGitLab, project: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in fake.table("merge_requests") if m["project_id"] == project["id"]]


def _create(fake, project, author, *, iid, title, description, labels, state, source_branch, target_branch, milestone, assignees, merged_by, remove_source_branch, merged_at=None, commits=None):
    stamp = now()
    merged = state == "merged"
    mr = {
        "id": fake.next_id("merge_request", 9638040),
        "iid": iid,
        "project_id": project["id"],
        "title": title,
        "description": description,
        "state": state,
        "created_at": stamp,
        "updated_at": stamp,
        "merged_by": basic(merged_by) if merged and merged_by else None,
        "merge_user": basic(merged_by) if merged and merged_by else None,
        "merged_at": (merged_at or stamp) if merged else None,
        "closed_by": None,
        "closed_at": stamp if state == "closed" else None,
        "target_branch": target_branch,
        "source_branch": source_branch,
        "upvotes": 0,
        "downvotes": 0,
        "author": basic(author),
        "assignee": basic(assignees[0]) if assignees else None,
        "assignees": [basic(a) for a in assignees],
        "reviewers": [],
        "source_project_id": project["id"],
        "target_project_id": project["id"],
        "labels": labels,
        "draft": title.startswith(("WIP:", "Draft:", "[Draft]")),
        "work_in_progress": title.startswith(("WIP:", "Draft:", "[Draft]")),
        "milestone": milestone,
        "merge_when_pipeline_succeeds": False,
        "merge_status": "can_be_merged",
        "detailed_merge_status": "mergeable",
        "sha": None,
        "merge_commit_sha": None,
        "squash_commit_sha": None,
        "user_notes_count": 0,
        "discussion_locked": None,
        "should_remove_source_branch": None,
        "force_remove_source_branch": remove_source_branch,
        "web_url": f"{project['web_url']}/merge_requests/{iid}",
        "references": {
            "short": f"!{iid}",
            "relative": f"!{iid}",
            "full": f"{project['path_with_namespace']}!{iid}",
        },
        "time_stats": {
            "time_estimate": 0,
            "total_time_spent": 0,
            "human_time_estimate": None,
            "human_total_time_spent": None,
        },
        "squash": False,
        "approvals_before_merge": None,
        "task_completion_status": {"count": 0, "completed_count": 0},
        "has_conflicts": False,
        "blocking_discussions_resolved": True,
    }
    mr.update(commits or {})
    fake.table("merge_requests").append(mr)
    return mr


def _detail(mr: dict[str, Any]) -> dict[str, Any]:
    """A single fetch adds what lists leave out."""
    detail = dict(mr)
    detail.update(
        {
            "subscribed": False,
            "changes_count": "1",
            "latest_build_started_at": None,
            "latest_build_finished_at": None,
            "first_deployed_to_production_at": None,
            "pipeline": None,
            "head_pipeline": None,
            "diff_refs": {"base_sha": None, "head_sha": None, "start_sha": None},
            "merge_error": None,
            "user": {"can_merge": True},
        }
    )
    return detail


def _matches(mr: dict[str, Any], req: Request) -> bool:
    for key in ("source_branch", "target_branch"):
        value = req.arg(key)
        if value is not None and mr[key] != value:
            return False
    author = req.arg("author_username")
    if author is not None and mr["author"]["username"] != author:
        return False
    return matches_common_filters(mr, req)


@route("GET", "/projects/<project>/merge_requests")
def list_merge_requests(fake: FakeGitLab, req: Request) -> Response:
    project = fake.find_project(req.params["project"])
    state = req.arg("state")
    if state not in (None, "", "all", *STATES):
        raise HTTPError(400, "state does not have a valid value", key="error")
    found = [m for m in _project_mrs(fake, project) if _matches(m, req)]
    key = "updated_at" if req.arg("order_by") == "updated_at" else "id"
    found.sort(key=lambda m: m[key], reverse=(req.arg("sort") or "desc") == "desc")
    return fake.paginate(req, found)


@route("GET", "/projects/<project>/merge_requests/<iid>")
def get_merge_request(fake: FakeGitLab, req: Request) -> Response:
    return Response(200, _detail(_find(fake, req)))


def _find(fake: FakeGitLab, req: Request) -> dict[str, Any]:
    project = fake.find_project(req.params["project"])
    for mr in _project_mrs(fake, project):
        if str(mr["iid"]) == req.params["iid"]:
            return mr
    raise HTTPError(404, "404 Not found")  # an unknown iid, as GitLab words it


@route("PUT", "/projects/<project>/merge_requests/<iid>")
def edit_merge_request(fake: FakeGitLab, req: Request) -> Response:
    mr = _find(fake, req)
    for key in ("title", "description"):
        if req.arg(key) is not None:
            mr[key] = str(req.arg(key))
    if req.arg("labels") is not None:
        mr["labels"] = _labels(req.arg("labels"))
    removed = set(_labels(req.arg("remove_labels")))
    mr["labels"] = [label for label in mr["labels"] if label not in removed]
    mr["labels"] += [label for label in _labels(req.arg("add_labels")) if label not in mr["labels"]]
    mr["updated_at"] = now()
    return Response(200, _detail(mr))


note_routes("merge_requests", _find, "MergeRequest")


@route("POST", "/projects/<project>/merge_requests")
def create_merge_request(fake: FakeGitLab, req: Request) -> Response:
    project = fake.find_project(req.params["project"])
    for name in ("source_branch", "target_branch", "title"):
        if not req.arg(name):
            raise HTTPError(400, f"{name} is missing", key="error")
    source, target = str(req.arg("source_branch")), str(req.arg("target_branch"))
    for mr in _project_mrs(fake, project):
        if mr["state"] == "opened" and mr["source_branch"] == source and mr["target_branch"] == target:
            raise HTTPError(409, [f"Another open merge request already exists for this source branch: !{mr['iid']}"])
    mr = _create(
        fake,
        project,
        req.user,
        iid=1 + max((m["iid"] for m in _project_mrs(fake, project)), default=0),
        title=str(req.arg("title")),
        description=str(req.arg("description") or ""),
        labels=_labels(req.arg("labels")),
        state="opened",
        source_branch=source,
        target_branch=target,
        milestone=_milestone(fake, project, req.arg("milestone_id")),
        assignees=_assignees(fake, req),
        merged_by=None,
        remove_source_branch=bool(req.flag("remove_source_branch")),
    )
    return Response(201, _detail(mr))
