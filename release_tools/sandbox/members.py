"""Members: a group's direct members (list, add, remove), all its members (inherited from
parent groups too) and a project's users (its own members and those of the groups above it).

Adding or removing group members needs an Owner of the group (or of a group above it),
as on gitlab.com; anyone authenticated may read them.
"""

from __future__ import annotations

from typing import Any

from .core import FakeGitLab, HTTPError, Request, Response, bad_request, now, route
from .users import basic

GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50
ROLES = {GUEST: "Guest", REPORTER: "Reporter", DEVELOPER: "Developer", MAINTAINER: "Maintainer", OWNER: "Owner"}


def add_member(
    fake: FakeGitLab, path: str, user: dict[str, Any], access_level: int = DEVELOPER, *, project: bool = False
) -> dict[str, Any]:
    """Make `user` a direct member of the group (or, with `project=True`, the project) `path`."""
    with fake.lock:
        source = fake.find_project(path) if project else fake.find_group(path)
        return _add(fake, "project" if project else "group", source["id"], user, access_level)


def _add(fake: FakeGitLab, kind: str, source_id: int, user: dict[str, Any], access_level: int) -> dict[str, Any]:
    member = {
        "source": (kind, source_id),
        "user_id": user["id"],
        "access_level": access_level,
        "created_at": now(),
        "expires_at": None,
    }
    fake.table("members").append(member)
    return member


def members_of(fake: FakeGitLab, kind: str, source_id: int) -> list[dict[str, Any]]:
    return [m for m in fake.table("members") if m["source"] == (kind, source_id)]


def _json(fake: FakeGitLab, member: dict[str, Any]) -> dict[str, Any]:
    user = fake.users[member["user_id"]]
    return {
        **basic(user),
        "access_level": member["access_level"],
        "created_at": member["created_at"],
        "expires_at": member["expires_at"],
    }


def _ancestors(fake: FakeGitLab, group: dict[str, Any]) -> list[dict[str, Any]]:
    chain = [group]
    while chain[-1]["parent_id"] is not None:
        chain.append(fake.groups[chain[-1]["parent_id"]])
    return chain


def _inherited(fake: FakeGitLab, group: dict[str, Any], user_id: int) -> tuple[int, dict[str, Any] | None]:
    """The highest access `user_id` has to `group` through its parent groups, and where from."""
    best: tuple[int, dict[str, Any] | None] = (0, None)
    for ancestor in _ancestors(fake, group)[1:]:
        for member in members_of(fake, "group", ancestor["id"]):
            if member["user_id"] == user_id and member["access_level"] > best[0]:
                best = (member["access_level"], ancestor)
    return best


def _check_owner(fake: FakeGitLab, req: Request, group: dict[str, Any]) -> None:
    for ancestor in _ancestors(fake, group):
        for member in members_of(fake, "group", ancestor["id"]):
            if member["user_id"] == req.user["id"] and member["access_level"] >= OWNER:
                return
    raise HTTPError(403, "403 Forbidden")


@route("GET", "/groups/<group>/members")
def list_group_members(fake: FakeGitLab, req: Request) -> Response:
    group = fake.find_group(req.params["group"])
    found = sorted(members_of(fake, "group", group["id"]), key=lambda m: m["user_id"])
    query = (req.arg("query") or "").lower()
    items = [_json(fake, m) for m in found]
    if query:
        items = [m for m in items if query in m["username"].lower() or query in m["name"].lower()]
    return fake.paginate(req, items)


@route("POST", "/groups/<group>/members")
def add_group_member(fake: FakeGitLab, req: Request) -> Response:
    group = fake.find_group(req.params["group"])
    _check_owner(fake, req, group)
    if req.arg("user_id") in (None, "") or req.arg("access_level") in (None, ""):
        raise HTTPError(400, "user_id is missing, access_level is missing", key="error")
    try:
        access_level = int(req.arg("access_level"))
    except ValueError:
        raise bad_request({"access_level": ["is not included in the list"]}) from None
    if access_level not in (GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER):
        raise bad_request({"access_level": ["is not included in the list"]})
    user = fake.find_user(str(req.arg("user_id")))
    if any(m["user_id"] == user["id"] for m in members_of(fake, "group", group["id"])):
        raise HTTPError(409, "Member already exists")
    inherited, parent = _inherited(fake, group, user["id"])
    if inherited > access_level:
        reason = f"should be greater than or equal to {ROLES[inherited]} inherited membership from group {parent['name']}"
        raise bad_request({"access_level": [reason]})
    return Response(201, _json(fake, _add(fake, "group", group["id"], user, access_level)))


@route("GET", "/groups/<group>/members/all")
def list_all_group_members(fake: FakeGitLab, req: Request) -> Response:
    """Direct and inherited members, each once with their highest access level."""
    group = fake.find_group(req.params["group"])
    best: dict[int, dict[str, Any]] = {}
    for ancestor in _ancestors(fake, group):
        for member in members_of(fake, "group", ancestor["id"]):
            if member["user_id"] not in best or member["access_level"] > best[member["user_id"]]["access_level"]:
                best[member["user_id"]] = member
    wanted = {str(i) for i in req.args("user_ids")}
    found = [m for user_id, m in sorted(best.items()) if not wanted or str(user_id) in wanted]
    return fake.paginate(req, [_json(fake, m) for m in found])


@route("DELETE", "/groups/<group>/members/<user_id>")
def remove_group_member(fake: FakeGitLab, req: Request) -> Response:
    group = fake.find_group(req.params["group"])
    _check_owner(fake, req, group)
    for member in members_of(fake, "group", group["id"]):
        if str(member["user_id"]) == req.params["user_id"]:
            fake.table("members").remove(member)
            return Response(204, None)
    raise HTTPError(404, "404 Member Not Found")


@route("GET", "/projects/<project>/users")
def list_project_users(fake: FakeGitLab, req: Request) -> Response:
    project = fake.find_project(req.params["project"])
    ids = {m["user_id"] for m in members_of(fake, "project", project["id"])}
    group = fake.find_group(project["namespace"]["full_path"])
    for ancestor in _ancestors(fake, group):
        ids |= {m["user_id"] for m in members_of(fake, "group", ancestor["id"])}
    users = [basic(fake.users[i]) for i in sorted(ids)]
    search = (req.arg("search") or "").lower()
    if search:
        users = [u for u in users if search in u["username"].lower() or search in u["name"].lower()]
    return fake.paginate(req, users)
