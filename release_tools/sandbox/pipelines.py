"""CI pipelines and jobs: pipelines list (scope, ref, status, sha, source), one pipeline
(who started it), a pipeline's jobs (`scope` / `scope[]`), one job, playing a manual job,
and the job of a CI job token (`GET /job`)."""

from __future__ import annotations

import hashlib
import secrets
import time
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


def add_job(
    fake: FakeGitLab,
    pipeline: dict[str, Any],
    name: str,
    stage: str,
    *,
    status: str = "manual",
    user: dict[str, Any] | str | None = None,
) -> dict[str, Any]:
    """A job of `pipeline` in `stage`, run by `user` (default: who started the pipeline);
    `manual` jobs wait to be played. Its CI job token is `job["token"]` (never shown by
    the API), valid while the job is `running`."""
    with fake.lock:
        project = fake.projects[pipeline["project_id"]]
        job_id = fake.next_id("job", 2614572)
        if user is None:
            user = fake.users[pipeline["user"]["id"]]
        elif isinstance(user, str):
            user = fake.find_user(user)
        stamp = now()
        job = {
            "id": job_id,
            "status": status,
            "stage": stage,
            "name": name,
            "ref": pipeline["ref"],
            "tag": pipeline["tag"],
            "coverage": None,
            "allow_failure": False,
            "created_at": stamp,
            "started_at": stamp if status in STARTED else None,
            "finished_at": stamp if status in FINISHED else None,
            "erased_at": None,
            "duration": None,
            "queued_duration": None,
            "user": _job_user(user),
            "commit": {
                "id": pipeline["sha"],
                "short_id": pipeline["sha"][:8],
                "title": f"Update VERSION to {pipeline['ref']}",
                "message": f"Update VERSION to {pipeline['ref']}\n",
                "parent_ids": [],
                "author_name": user["name"],
                "author_email": f"{user['username']}@example.com",
                "authored_date": pipeline["created_at"],
                "committer_name": user["name"],
                "committer_email": f"{user['username']}@example.com",
                "committed_date": pipeline["created_at"],
                "created_at": pipeline["created_at"],
            },
            "pipeline": {"id": pipeline["id"]},  # the rest is read from the pipeline when shown
            "web_url": f"{project['web_url']}/-/jobs/{job_id}",
            "project": {"ci_job_token_scope_enabled": False},
            "artifacts": [],
            "runner": None,
            "runner_manager": None,
            "artifacts_expire_at": None,
            "archived": False,
            "tag_list": [],
            "project_id": project["id"],
            "token": f"glcbt-{secrets.token_hex(12)}",
        }
        fake.table("jobs").append(job)
        fake.job_tokens[job["token"]] = job
        return job


def add_chat_job(fake: FakeGitLab, pipeline: dict[str, Any], name: str = "release_issue", **kwargs: Any) -> dict[str, Any]:
    """The job a chat command runs: `running`, in the `chatops` stage of `pipeline`."""
    return add_job(fake, pipeline, name, "chatops", **{"status": "running", **kwargs})


#: Job states in which a job has started, and those in which it is over.
STARTED = ("running", "success", "failed", "canceled")
FINISHED = ("success", "failed", "canceled")


def _job_user(user: dict[str, Any]) -> dict[str, Any]:
    """Jobs name their user with more fields than the nested user of issues."""
    fields = {"bio": "", "location": None, "public_email": "", "skype": "", "linkedin": "", "twitter": "", "website_url": "", "organization": ""}
    return {**basic(user), "created_at": user.get("created_at"), **fields}


#: What a job says of its pipeline (GitLab's PipelineBasic).
PIPELINE_BASIC = ("id", "iid", "project_id", "sha", "ref", "status", "source", "created_at", "updated_at", "web_url")


def advance_jobs(fake: FakeGitLab) -> None:
    """Move played jobs on as time passes, when `fake.job_progress` is set (seconds
    pending, seconds running): pending, then running, then success."""
    if fake.job_progress is None:
        return
    pending, running = fake.job_progress
    clock = time.monotonic()
    for job in fake.table("jobs"):
        played = job.get("played_at")
        if played is None or job["status"] not in ("pending", "running"):
            continue
        elapsed = clock - played
        if elapsed >= pending and job["status"] == "pending":
            job["status"], job["started_at"] = "running", now()
        if elapsed >= pending + running:
            job["status"], job["finished_at"], job["duration"] = "success", now(), round(running, 3)


#: What the fake keeps of a job that the API never shows.
PRIVATE_JOB_FIELDS = ("project_id", "token", "played_at")


def _public(fake: FakeGitLab, job: dict[str, Any]) -> dict[str, Any]:
    """A job as the API shows it: its pipeline as it is now, without what only the fake keeps."""
    shown = {key: value for key, value in job.items() if key not in PRIVATE_JOB_FIELDS}
    pipeline = next(p for p in fake.table("pipelines") if p["id"] == job["pipeline"]["id"])
    shown["pipeline"] = {key: pipeline[key] for key in PIPELINE_BASIC}
    if job["status"] == "failed":
        shown["failure_reason"] = "script_failure"
    return shown


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
    advance_jobs(fake)
    scopes = req.args("scope")
    if any(scope not in JOB_STATUSES for scope in scopes):
        raise HTTPError(400, "scope does not have a valid value", key="error")
    jobs = [j for j in fake.table("jobs") if j["pipeline"]["id"] == pipeline["id"]]
    if scopes:
        jobs = [j for j in jobs if j["status"] in scopes]
    return fake.paginate(req, [_public(fake, j) for j in sorted(jobs, key=lambda j: j["id"])])


def _job(fake: FakeGitLab, req: Request) -> dict[str, Any]:
    advance_jobs(fake)
    project = fake.find_project(req.params["project"])
    for job in fake.table("jobs"):
        if job["project_id"] == project["id"] and str(job["id"]) == req.params["job"]:
            return job
    raise HTTPError(404, "404 Not found")


@route("GET", "/projects/<project>/jobs/<job>")
def get_job(fake: FakeGitLab, req: Request) -> Response:
    return Response(200, _public(fake, _job(fake, req)))


@route("POST", "/projects/<project>/jobs/<job>/play")
def play_job(fake: FakeGitLab, req: Request) -> Response:
    job = _job(fake, req)
    if job["status"] != "manual":
        raise HTTPError(400, "400 Bad request - Unplayable Job")
    job["status"] = "pending"
    job["played_at"] = time.monotonic()
    job["user"] = _job_user(req.user)
    return Response(200, _public(fake, job))


@route("GET", "/job", job_token=True)
def token_job(fake: FakeGitLab, req: Request) -> Response:
    """The job whose token authenticated the request; it cannot name any other job."""
    if req.job is None:  # authenticated, but by a personal token: there is no job to show
        raise HTTPError(404, "404 Job Not Found")
    return Response(200, _public(fake, req.job))
