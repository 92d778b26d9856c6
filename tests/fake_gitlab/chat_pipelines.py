"""Pipelines as the ChatOps entrypoint reads them: `GET /projects/:id/pipelines/:pipeline_id`.

Pipelines live in `fake.table("pipelines")`, shaped like GitLab's single-pipeline JSON.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .core import FakeGitLab, HTTPError, Request, Response, now, route
from .users import basic


def add_chat_pipeline(
    fake: FakeGitLab,
    project: str,
    user: dict[str, Any] | str,
    *,
    source: str = "chat",
    status: str = "running",
    ref: str = "master",
    sha: str | None = None,
    tag: bool = False,
) -> dict[str, Any]:
    """A pipeline of `project` started by `user` (a user dict or a username)."""
    with fake.lock:
        project_obj = fake.find_project(project)
        user_obj = fake.find_user(user) if isinstance(user, str) else user
        pipelines = fake.table("pipelines")
        pipeline_id = fake.next_id("pipeline", 86000)
        iid = 1 + sum(1 for p in pipelines if p["project_id"] == project_obj["id"])
        created = now()
        pipeline = {
            "id": pipeline_id,
            "iid": iid,
            "project_id": project_obj["id"],
            "sha": sha or hashlib.sha1(f"{project}:{pipeline_id}".encode()).hexdigest(),
            "ref": ref,
            "status": status,
            "source": source,
            "tag": tag,
            "before_sha": "0" * 40,
            "yaml_errors": None,
            "user": basic(user_obj),
            "created_at": created,
            "updated_at": created,
            "started_at": created if status != "created" else None,
            "finished_at": None,
            "committed_at": None,
            "duration": None,
            "queued_duration": None,
            "coverage": None,
            "web_url": f"{project_obj['web_url']}/-/pipelines/{pipeline_id}",
        }
        pipelines.append(pipeline)
        return pipeline


@route("GET", "/projects/<project>/pipelines/<pipeline_id>")
def get_pipeline(fake: FakeGitLab, req: Request) -> Response:
    project = fake.find_project(req.params["project"])
    for pipeline in fake.table("pipelines"):
        if str(pipeline["id"]) == req.params["pipeline_id"] and pipeline["project_id"] == project["id"]:
            return Response(200, pipeline)
    raise HTTPError(404, "404 Not found")
