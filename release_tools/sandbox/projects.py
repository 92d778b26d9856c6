"""Projects: seeding and `GET /projects/:id`."""

from __future__ import annotations

from typing import Any

from .core import FakeGitLab, Request, Response, now, route
from .groups import add_group


def add_project(fake: FakeGitLab, path_with_namespace: str, default_branch: str = "master") -> dict[str, Any]:
    """A project at `path_with_namespace`; its groups are created as needed."""
    with fake.lock:
        for project in fake.projects.values():
            if project["path_with_namespace"] == path_with_namespace:
                return project
        namespace, _, path = path_with_namespace.rpartition("/")
        group = add_group(fake, namespace)
        project = {
            "id": fake.next_id("project", 13083),
            "description": "",
            "name": path,
            "name_with_namespace": f"{group['full_name']} / {path}",
            "path": path,
            "path_with_namespace": path_with_namespace,
            "created_at": now(),
            "default_branch": default_branch,
            "visibility": "public",
            "web_url": fake.web_url(path_with_namespace),
            "http_url_to_repo": fake.web_url(path_with_namespace + ".git"),
            "namespace": {
                "id": group["id"],
                "name": group["name"],
                "path": group["path"],
                "kind": "group",
                "full_path": group["full_path"],
            },
        }
        fake.projects[project["id"]] = project
        return project


@route("GET", "/projects/<project>")
def get_project(fake: FakeGitLab, req: Request) -> Response:
    return Response(200, fake.find_project(req.params["project"]))
