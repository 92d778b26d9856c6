"""Groups: `GET /groups/:id`, group milestones."""

from __future__ import annotations

from typing import Any

from .core import FakeGitLab, Request, Response, now, route
from .milestones import filter_milestones, milestone_json


def add_group(fake: FakeGitLab, full_path: str) -> dict[str, Any]:
    with fake.lock:
        for group in fake.groups.values():
            if group["full_path"] == full_path:
                return group
        parent = full_path.rsplit("/", 1)[0] if "/" in full_path else None
        parent_id = add_group(fake, parent)["id"] if parent else None
        group = {
            "id": fake.next_id("group", 9970),
            "name": full_path.rsplit("/", 1)[-1],
            "path": full_path.rsplit("/", 1)[-1],
            "full_name": full_path.replace("/", " / "),
            "full_path": full_path,
            "description": "",
            "visibility": "public",
            "parent_id": parent_id,
            "web_url": fake.web_url(f"groups/{full_path}"),
            "created_at": now(),
        }
        fake.groups[group["id"]] = group
        return group


@route("GET", "/groups/<group>")
def get_group(fake: FakeGitLab, req: Request) -> Response:
    return Response(200, fake.find_group(req.params["group"]))


@route("GET", "/groups/<group>/milestones")
def list_group_milestones(fake: FakeGitLab, req: Request) -> Response:
    group = fake.find_group(req.params["group"])
    milestones = [m for m in fake.table("milestones") if m.get("group_id") == group["id"]]
    return fake.paginate(req, [milestone_json(m) for m in filter_milestones(milestones, req)])
