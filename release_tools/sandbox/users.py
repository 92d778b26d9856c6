"""Users: `GET /user`, `GET /users` (username and search filters), `GET /users/:id`."""

from __future__ import annotations

from typing import Any

from .core import FakeGitLab, Request, Response, now, route


def add_user(fake: FakeGitLab, username: str, name: str | None = None, token: str | None = None) -> dict[str, Any]:
    """Create a user; with `token`, requests carrying that token act as this user."""
    with fake.lock:
        user = {
            "id": fake.next_id("user", 1000),
            "name": name or username.replace(".", " ").title(),
            "username": username,
            "state": "active",
            "avatar_url": f"https://secure.gravatar.com/avatar/{username}?s=80&d=identicon",
            "web_url": fake.web_url(username),
            "created_at": now(),
        }
        fake.users[user["id"]] = user
        if token:
            fake.tokens[token] = user["id"]
        return user


def basic(user: dict[str, Any]) -> dict[str, Any]:
    """The nested user shape of issues, notes and members."""
    return {key: user[key] for key in ("id", "name", "username", "state", "avatar_url", "web_url")}


@route("GET", "/user")
def current_user(fake: FakeGitLab, req: Request) -> Response:
    user = dict(req.user or {})
    user.update(
        {
            "bio": "",
            "location": None,
            "public_email": "",
            "email": f"{user['username']}@example.com",
            "two_factor_enabled": True,
            "external": False,
            "can_create_group": True,
            "can_create_project": True,
            "projects_limit": 100000,
            "identities": [],
            "skype": "",
            "linkedin": "",
            "twitter": "",
            "website_url": "",
            "organization": "",
            "confirmed_at": user.get("created_at"),
            "last_sign_in_at": user.get("created_at"),
            "current_sign_in_at": user.get("created_at"),
            "last_activity_on": (user.get("created_at") or "")[:10] or None,
            "theme_id": 1,
            "color_scheme_id": 1,
            "shared_runners_minutes_limit": None,
        }
    )
    return Response(200, user)


@route("GET", "/users")
def list_users(fake: FakeGitLab, req: Request) -> Response:
    users = sorted(fake.users.values(), key=lambda u: u["id"])
    username = req.arg("username")
    search = (req.arg("search") or "").lower()
    if username is not None:
        users = [u for u in users if u["username"].lower() == str(username).lower()]
    if search:
        users = [u for u in users if search in u["username"].lower() or search in u["name"].lower()]
    return fake.paginate(req, [basic(u) for u in users])


@route("GET", "/users/<user>")
def get_user(fake: FakeGitLab, req: Request) -> Response:
    return Response(200, basic(fake.find_user(req.params["user"])))
