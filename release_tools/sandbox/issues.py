"""Project issues and their notes: list (labels, milestone, search, state, ...), get,
create, edit; notes list and create."""

from __future__ import annotations

from typing import Any

from .core import FakeGitLab, HTTPError, Request, Response, bad_request, not_found, now, route
from .milestones import milestone_by_id
from .users import basic


def _labels(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def add_issue(
    fake: FakeGitLab,
    project_path: str,
    title: str,
    *,
    author: dict[str, Any] | None = None,
    labels: list[str] | tuple[str, ...] = (),
    milestone: dict[str, Any] | None = None,
    description: str = "",
    confidential: bool = False,
    state: str = "opened",
) -> dict[str, Any]:
    with fake.lock:
        project = fake.find_project(project_path)
        author = author or next(iter(fake.users.values()))
        return _create(fake, project, author, title, description, list(labels), milestone, [], confidential, state)


def _create(fake, project, author, title, description, labels, milestone, assignees, confidential, state="opened"):
    iid = 1 + max((i["iid"] for i in fake.table("issues") if i["project_id"] == project["id"]), default=0)
    issue = {
        "id": fake.next_id("issue", 1442468),
        "iid": iid,
        "project_id": project["id"],
        "title": title,
        "description": description,
        "state": state,
        "created_at": now(),
        "updated_at": now(),
        "closed_at": None,
        "closed_by": None,
        "labels": labels,
        "milestone": milestone,
        "assignees": [basic(a) for a in assignees],
        "assignee": basic(assignees[0]) if assignees else None,
        "author": basic(author),
        "user_notes_count": 0,
        "subscribed": False,
        "upvotes": 0,
        "downvotes": 0,
        "due_date": None,
        "confidential": confidential,
        "discussion_locked": None,
        "web_url": f"{project['web_url']}/issues/{iid}",
        "time_stats": {
            "time_estimate": 0,
            "total_time_spent": 0,
            "human_time_estimate": None,
            "human_total_time_spent": None,
        },
        "weight": None,
    }
    fake.table("issues").append(issue)
    return issue


def matches_common_filters(item: dict[str, Any], req: Request) -> bool:
    """The list filters issues and merge requests share: `labels` (all of them, or
    `None` / `Any`), `not[labels]`, `milestone` (a title, `None` or `Any`), `state`,
    `iids[]` and `search` (in `in`, default title and description)."""
    labels = _labels(req.arg("labels"))
    if labels == ["None"]:
        if item["labels"]:
            return False
    elif labels == ["Any"]:
        if not item["labels"]:
            return False
    elif not set(labels) <= set(item["labels"]):
        return False
    excluded = _labels(req.arg("not[labels]"))
    if excluded and set(excluded) & set(item["labels"]):
        return False
    milestone = req.arg("milestone")
    if milestone is not None:
        title = item["milestone"]["title"] if item["milestone"] else None
        if milestone == "None" and title is not None:
            return False
        if milestone not in ("None", "Any") and title != milestone:
            return False
    state = req.arg("state")
    if state not in (None, "", "all") and item["state"] != state:
        return False
    iids = req.args("iids")
    if iids and str(item["iid"]) not in iids:
        return False
    search = (req.arg("search") or "").lower()
    if search:
        fields = _labels(req.arg("in")) or ["title", "description"]
        if not any(search in str(item.get(f) or "").lower() for f in fields):
            return False
    return True


def _matches(issue: dict[str, Any], req: Request) -> bool:
    confidential = req.flag("confidential")
    if confidential is not None and issue["confidential"] != confidential:
        return False
    return matches_common_filters(issue, req)


def _project_issues(fake: FakeGitLab, project: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in fake.table("issues") if i["project_id"] == project["id"]]


def _find(fake: FakeGitLab, req: Request) -> dict[str, Any]:
    project = fake.find_project(req.params["project"])
    for issue in _project_issues(fake, project):
        if str(issue["iid"]) == req.params["iid"]:
            return issue
    raise not_found("Issue")


@route("GET", "/projects/<project>/issues")
def list_issues(fake: FakeGitLab, req: Request) -> Response:
    project = fake.find_project(req.params["project"])
    issues = [i for i in _project_issues(fake, project) if _matches(i, req)]
    reverse = (req.arg("sort") or "desc") == "desc"
    order = req.arg("order_by") or "created_at"
    key = "id" if order == "created_at" else order
    issues.sort(key=lambda i: i.get(key) or 0, reverse=reverse)
    return fake.paginate(req, issues)


@route("GET", "/projects/<project>/issues/<iid>")
def get_issue(fake: FakeGitLab, req: Request) -> Response:
    return Response(200, _find(fake, req))


def _milestone(fake: FakeGitLab, project: dict[str, Any], milestone_id: Any) -> dict[str, Any] | None:
    if milestone_id in (None, "", 0, "0"):
        return None
    milestone = milestone_by_id(fake, milestone_id)
    if milestone is None:
        raise not_found("Milestone")
    group = fake.groups.get(milestone.get("group_id"))
    namespace = project["namespace"]["full_path"]
    # Group milestones apply to the projects of the group and of its subgroups.
    group_ok = group is not None and (namespace + "/").startswith(group["full_path"] + "/")
    if milestone.get("project_id") != project["id"] and not group_ok:
        raise bad_request({"milestone": ["is invalid"]})
    return dict(milestone)


def _assignees(fake: FakeGitLab, req: Request) -> list[dict[str, Any]]:
    ids = req.args("assignee_ids")
    single = req.arg("assignee_id")
    if single not in (None, ""):
        ids = ids + [str(single)]
    return [fake.find_user(i) for i in ids]


@route("POST", "/projects/<project>/issues")
def create_issue(fake: FakeGitLab, req: Request) -> Response:
    project = fake.find_project(req.params["project"])
    title = req.arg("title")
    if not title:
        raise HTTPError(400, "title is missing", key="error")
    issue = _create(
        fake,
        project,
        req.user,
        str(title),
        str(req.arg("description") or ""),
        _labels(req.arg("labels")),
        _milestone(fake, project, req.arg("milestone_id")),
        _assignees(fake, req),
        bool(req.flag("confidential")),
    )
    return Response(201, issue)


@route("PUT", "/projects/<project>/issues/<iid>")
def edit_issue(fake: FakeGitLab, req: Request) -> Response:
    issue = _find(fake, req)
    project = fake.find_project(req.params["project"])
    for key in ("title", "description"):
        if req.arg(key) is not None:
            issue[key] = str(req.arg(key))
    if req.arg("labels") is not None:
        issue["labels"] = _labels(req.arg("labels"))
    if req.arg("add_labels") is not None:
        issue["labels"] = issue["labels"] + [l for l in _labels(req.arg("add_labels")) if l not in issue["labels"]]
    if req.arg("milestone_id") is not None:
        issue["milestone"] = _milestone(fake, project, req.arg("milestone_id"))
    if req.flag("confidential") is not None:
        issue["confidential"] = req.flag("confidential")
    event = req.arg("state_event")
    if event == "close":
        issue["state"], issue["closed_at"] = "closed", now()
    elif event == "reopen":
        issue["state"], issue["closed_at"] = "opened", None
    issue["updated_at"] = now()
    return Response(200, issue)


def add_note(fake: FakeGitLab, noteable: dict[str, Any], kind: str, body: str, author: dict[str, Any]) -> dict[str, Any]:
    """A comment on an issue or a merge request (`kind`: `Issue`, `MergeRequest`)."""
    with fake.lock:
        note = {
            "id": fake.next_id("note", 70000),
            "type": None,
            "body": body,
            "attachment": None,
            "author": basic(author),
            "created_at": now(),
            "updated_at": now(),
            "system": False,
            "noteable_id": noteable["id"],
            "noteable_type": kind,
            "noteable_iid": noteable["iid"],
            "resolvable": False,
            "confidential": False,
        }
        fake.table("notes").append(note)
        noteable["user_notes_count"] += 1
        return note


def note_routes(noun: str, find: Any, kind: str) -> None:
    """`GET` (newest first unless `sort=asc`, paginated) and `POST .../<noun>/<iid>/notes`,
    the notes of what `find(fake, req)` finds (`kind`: `Issue`, `MergeRequest`)."""
    path = f"/projects/<project>/{noun}/<iid>/notes"

    def list_notes(fake: FakeGitLab, req: Request) -> Response:
        noteable = find(fake, req)
        notes = [n for n in fake.table("notes") if n["noteable_id"] == noteable["id"] and n["noteable_type"] == kind]
        return fake.paginate(req, sorted(notes, key=lambda n: n["id"], reverse=req.arg("sort") != "asc"))

    def create_note(fake: FakeGitLab, req: Request) -> Response:
        body = req.arg("body")
        if not body:
            raise HTTPError(400, "body is missing", key="error")
        return Response(201, add_note(fake, find(fake, req), kind, str(body), req.user))

    route("GET", path)(list_notes)
    route("POST", path)(create_note)


note_routes("issues", _find, "Issue")
