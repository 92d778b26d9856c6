"""CI pipelines and jobs: pipelines list (scope, ref, status, sha, source), one pipeline
(who started it), a pipeline's jobs (`scope` / `scope[]`), one job, and playing a manual job."""

from __future__ import annotations

import hashlib
from typing import Any

from .core import FakeGitLab, HTTPError, Request, Response, now, route
from .users import basic

PIPELINE_SCOPES = ("running", "pending", "finished", "branches", "tags")
JOB_STATUSES = (
    "created",
    "pending",
    "running",
    "failed",
    "success",
    "canceled",
    "skipped",
    "waiting_for_resource",
    "manual",
)


def add_pipeline(
    fake: FakeGitLab,
    project_path: str,
    ref: str,
    *,
    tag: bool = True,
    status: str = "success",
    sha: str | None = None,
    source: str = "push",
    user: dict[str, Any] | str | None = None,
) -> dict[str, Any]:
    """A pipeline of `ref` (a tag unless `tag=False`) started by `user` (a user or a
    username; default: the first user); add jobs with `add_job`."""
    with fake.lock:
        project = fake.find_project(project_path)
        if user is None:
            user = next(iter(fake.users.values()))
        elif isinstance(user, str):
            user = fake.find_user(user)
        pipeline_id = fake.next_id("pipeline", 86189)
        stamp = now()
        pipeline = {
            "id": pipeline_id,
            "iid": 1 + sum(1 for p in fake.table("pipelines") if p["project_id"] == project["id"]),
            "project_id": project["id"],
            "sha": sha or hashlib.sha1(f"{project['id']}:{ref}:{pipeline_id}".encode()).hexdigest(),
            "ref": ref,
            "status": status,
            "source": source,
            "created_at": stamp,
            "updated_at": stamp,
            "web_url": f"{project['web_url']}/-/pipelines/{pipeline_id}",
            "before_sha": "0" * 40,
            "tag": tag,
            "yaml_errors": None,
            "user": basic(user),
            "started_at": stamp if status not in ("created", "pending") else None,
            "finished_at": stamp if status in ("success", "failed", "canceled") else None,
            "committed_at": None,
            "duration": None,
            "queued_duration": None,
            "coverage": None,
        }
        fake.table("pipelines").append(pipeline)
        return pipeline


def add_chat_pipeline(fake: FakeGitLab, project: str, user: dict[str, Any] | str, **kwargs: Any) -> dict[str, Any]:
    """The pipeline of a chat command: on `master`, running, started by `user`."""
    options = {"source": "chat", "status": "running", "ref": "master", "tag": False, **kwargs}
    return add_pipeline(fake, project, options.pop("ref"), user=user, **options)


def add_job(fake: FakeGitLab, pipeline: dict[str, Any], name: str, stage: str, *, status: str = "manual") -> dict[str, Any]:
    """A job of `pipeline` in `stage`; `manual` jobs wait to be played."""
    with fake.lock:
        project = fake.projects[pipeline["project_id"]]
        job_id = fake.next_id("job", 2614572)
        user = next(iter(fake.users.values()))
        job = {
            "id": job_id,
            "status": status,
            "stage": stage,
            "name": name,
            "ref": pipeline["ref"],
            "tag": pipeline["tag"],
            "coverage": None,
            "allow_failure": False,
            "created_at": now(),
            "started_at": None,
            "finished_at": None,
            "duration": None,
            "queued_duration": None,
            "user": basic(user),
            "commit": {
                "id": pipeline["sha"],
                "short_id": pipeline["sha"][:8],
                "title": f"Update VERSION to {pipeline['ref']}",
                "message": f"Update VERSION to {pipeline['ref']}\n",
            },
            "pipeline": {
                "id": pipeline["id"],
                "project_id": project["id"],
                "sha": pipeline["sha"],
                "ref": pipeline["ref"],
                "status": pipeline["status"],
            },
            "web_url": f"{project['web_url']}/-/jobs/{job_id}",
            "artifacts": [],
            "runner": None,
            "artifacts_expire_at": None,
            "tag_list": [],
            "project_id": project["id"],
        }
        fake.table("jobs").append(job)
        return job


def _public(job: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in job.items() if key != "project_id"}


#: What a pipeline list says of each pipeline; a single pipeline says more (who, when).
LIST_FIELDS = ("id", "iid", "project_id", "sha", "ref", "status", "source", "created_at", "updated_at", "web_url")


def _list_item(pipeline: dict[str, Any]) -> dict[str, Any]:
    return {key: pipeline[key] for key in LIST_FIELDS}


def _pipeline(fake: FakeGitLab, req: Request) -> dict[str, Any]:
    project = fake.find_project(req.params["project"])
    for pipeline in fake.table("pipelines"):
        if pipeline["project_id"] == project["id"] and str(pipeline["id"]) == req.params["pipeline"]:
            return pipeline
    raise HTTPError(404, "404 Not found")


@route("GET", "/projects/<project>/pipelines")
def list_pipelines(fake: FakeGitLab, req: Request) -> Response:
    project = fake.find_project(req.params["project"])
    scope = req.arg("scope")
    if scope is not None and scope not in PIPELINE_SCOPES:
        raise HTTPError(400, "scope does not have a valid value", key="error")
    found = [p for p in fake.table("pipelines") if p["project_id"] == project["id"]]
    if scope == "tags":
        found = [p for p in found if p["tag"]]
    elif scope == "branches":
        found = [p for p in found if not p["tag"]]
    elif scope == "finished":
        found = [p for p in found if p["status"] in ("success", "failed", "canceled", "skipped")]
    elif scope in ("running", "pending"):
        found = [p for p in found if p["status"] == scope]
    for key in ("ref", "status", "sha", "source"):
        value = req.arg(key)
        if value is not None:
            found = [p for p in found if p[key] == value]
    order = req.arg("order_by") or "id"
    found.sort(key=lambda p: (p.get(order) or 0, p["id"]), reverse=(req.arg("sort") or "desc") == "desc")
    return fake.paginate(req, [_list_item(p) for p in found])


@route("GET", "/projects/<project>/pipelines/<pipeline>")
def get_pipeline(fake: FakeGitLab, req: Request) -> Response:
    return Response(200, _pipeline(fake, req))


@route("GET", "/projects/<project>/pipelines/<pipeline>/jobs")
def list_pipeline_jobs(fake: FakeGitLab, req: Request) -> Response:
    pipeline = _pipeline(fake, req)
    scopes = req.args("scope")
    if any(scope not in JOB_STATUSES for scope in scopes):
        raise HTTPError(400, "scope does not have a valid value", key="error")
    jobs = [j for j in fake.table("jobs") if j["pipeline"]["id"] == pipeline["id"]]
    if scopes:
        jobs = [j for j in jobs if j["status"] in scopes]
    return fake.paginate(req, [_public(j) for j in sorted(jobs, key=lambda j: j["id"])])


def _job(fake: FakeGitLab, req: Request) -> dict[str, Any]:
    project = fake.find_project(req.params["project"])
    for job in fake.table("jobs"):
        if job["project_id"] == project["id"] and str(job["id"]) == req.params["job"]:
            return job
    raise HTTPError(404, "404 Not found")


@route("GET", "/projects/<project>/jobs/<job>")
def get_job(fake: FakeGitLab, req: Request) -> Response:
    return Response(200, _public(_job(fake, req)))


@route("POST", "/projects/<project>/jobs/<job>/play")
def play_job(fake: FakeGitLab, req: Request) -> Response:
    job = _job(fake, req)
    if job["status"] != "manual":
        raise HTTPError(400, "400 Bad request - Unplayable Job")
    job["status"] = "pending"
    job["user"] = basic(req.user)
    return Response(200, _public(job))
