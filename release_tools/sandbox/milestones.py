"""Milestones of projects and groups: seeding, filtering and the project route."""

from __future__ import annotations

from typing import Any

from .core import FakeGitLab, Request, Response, now, route


def add_milestone(
    fake: FakeGitLab,
    owner: str,
    title: str,
    *,
    group: bool = False,
    state: str = "active",
    start_date: str | None = None,
    due_date: str | None = None,
) -> dict[str, Any]:
    """A milestone titled `title` on the project (or, with `group=True`, the group) `owner`."""
    with fake.lock:
        parent = fake.find_group(owner) if group else fake.find_project(owner)
        key = "group_id" if group else "project_id"
        siblings = [m for m in fake.table("milestones") if m.get(key) == parent["id"]]
        milestone = {
            "id": fake.next_id("milestone", 339386),
            "iid": len(siblings) + 1,
            key: parent["id"],
            "title": title,
            "description": "",
            "state": state,
            "created_at": now(),
            "updated_at": now(),
            "due_date": due_date,
            "start_date": start_date,
        }
        if not group:
            milestone["group_id"] = None  # as gitlab.com answered for project milestones
        fake.table("milestones").append(milestone)
        return milestone


def milestone_json(milestone: dict[str, Any]) -> dict[str, Any]:
    return dict(milestone)


def filter_milestones(milestones: list[dict[str, Any]], req: Request) -> list[dict[str, Any]]:
    """GitLab's `state`, `title`, `search` and `iids[]` filters, newest first."""
    state = req.arg("state")
    title = req.arg("title")
    search = (req.arg("search") or "").lower()
    iids = {int(i) for i in req.args("iids")}
    result = [
        m
        for m in milestones
        if (state in (None, "", "all") or m["state"] == state)
        and (title is None or m["title"] == title)
        and (not search or search in m["title"].lower() or search in (m["description"] or "").lower())
        and (not iids or m["iid"] in iids)
    ]
    return sorted(result, key=lambda m: m["id"], reverse=True)


@route("GET", "/projects/<project>/milestones")
def list_project_milestones(fake: FakeGitLab, req: Request) -> Response:
    project = fake.find_project(req.params["project"])
    milestones = [m for m in fake.table("milestones") if m.get("project_id") == project["id"]]
    return fake.paginate(req, [milestone_json(m) for m in filter_milestones(milestones, req)])


def milestone_by_id(fake: FakeGitLab, milestone_id: Any) -> dict[str, Any] | None:
    for milestone in fake.table("milestones"):
        if str(milestone["id"]) == str(milestone_id):
            return milestone
    return None
