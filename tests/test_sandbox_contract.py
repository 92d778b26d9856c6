"""The sandbox's contract with GitLab: for every response recorded from gitlab.com and
dev.gitlab.org (`shared/recorded-gitlab`, VCR cassettes of the original's tests), the
sandbox route that serves the same request answers with the same status, every field the
recording has, of the same JSON type (nested objects and list items included), and the
pagination headers the recording has.

The recordings are read at test time, never copied: each interaction's request names
what the sandbox must hold (a project, a branch, a merge request's iid, a label, a
pipeline's tag); the test seeds a fresh instance with it, sends the request (ids of the
sandbox's own objects in place of the recorded ones) and compares the answers' shapes.
"""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import pytest
import yaml

from release_tools.sandbox import (
    FakeGitLab,
    add_branch,
    add_commit,
    add_group,
    add_issue,
    add_job,
    add_member,
    add_merge_request,
    add_milestone,
    add_pipeline,
    add_project,
    add_tag,
    add_user,
)
from release_tools.sandbox.core import API_PREFIX, ROUTES
from tests.conftest import ROOT

TOKEN = "contract-token"


def recorded_folder() -> Path | None:
    """`shared/recorded-gitlab` beside the checkout (or a worktree's checkout), or where
    `RECORDED_GITLAB` says."""
    candidates = [Path(os.environ["RECORDED_GITLAB"])] if os.environ.get("RECORDED_GITLAB") else []
    candidates += [parent / "shared" / "recorded-gitlab" for parent in ROOT.parents]
    return next((folder for folder in candidates if (folder / "README.md").is_file()), None)


FOLDER = recorded_folder()
pytestmark = pytest.mark.skipif(
    FOLDER is None, reason="the recorded GitLab responses (shared/recorded-gitlab beside the checkout) are not on this machine"
)

#: Recorded requests that no sandbox route serves, because release-tools makes no such
#: request: (method, path pattern). The original called them; the sandbox needs not.
NOT_EMULATED = {
    ("GET", "/gitlab"),  # `/user`, renamed in with_milestone.yml (see EDITED_NAMES)
    ("GET", "/projects/<id>/users.json"),  # API v3's suffix; release-tools asks /projects/:id/users
    ("GET", "/projects/<id>/repository/commits/<sha>/merge_requests"),  # the QA issue reads compare and MRs
}


#: Names that are not GitLab's: with_milestone.yml had `user` replaced by `gitlab` in a
#: search and replace (`username` became `gitlabname`, `user_notes_count`
#: `gitlab_notes_count`, `/user` `/gitlab`).
EDITED_NAMES = {"gitlabname", "gitlab_notes_count"}


class _Loader(yaml.SafeLoader):
    """VCR cassettes keep some bodies as `!binary` (base64 of UTF-8 text)."""


_Loader.add_constructor("!binary", lambda loader, node: base64.b64decode(loader.construct_scalar(node)).decode("utf-8"))


@dataclass
class Recorded:
    cassette: str
    method: str
    host: str
    path: str  # below /api/v4, as sent (encoded)
    query: list[tuple[str, str]]
    body: str
    status: int
    headers: dict[str, Any]
    answer: Any

    @property
    def name(self) -> str:
        return f"{self.cassette}: {self.method} {self.path}"


def recordings() -> list[Recorded]:
    if FOLDER is None:
        return []
    found = []
    for cassette in sorted(FOLDER.rglob("*.yml")):
        data = yaml.load(cassette.read_text(encoding="utf-8"), Loader=_Loader)
        for interaction in data.get("http_interactions") or []:
            request, response = interaction["request"], interaction["response"]
            url = urlsplit(request["uri"])
            if not url.path.startswith(API_PREFIX):
                continue  # a raw file outside the API (team.yml)
            text = response["body"].get("string") or ""
            try:
                answer = json.loads(text) if text else None
            except ValueError:
                continue
            found.append(
                Recorded(
                    cassette=str(cassette.relative_to(FOLDER)),
                    method=request["method"].upper(),
                    host=url.netloc,
                    path=url.path[len(API_PREFIX) :],
                    query=parse_qsl(url.query, keep_blank_values=True),
                    body=(request.get("body") or {}).get("string") or "",
                    status=int(response["status"]["code"]),
                    headers={k.lower(): v for k, v in (response.get("headers") or {}).items()},
                    answer=answer,
                )
            )
    return found


def route_of(recorded: Recorded) -> tuple[Any, dict[str, str]] | None:
    """The sandbox handler serving this request, and the path's parameters (decoded)."""
    for method, regex, handler, _public, _job_token in ROUTES:
        match = regex.match(recorded.path)
        if match and method == recorded.method:
            return handler, {k: unquote(v) for k, v in match.groupdict().items()}
    return None


def shape_of_path(path: str) -> str:
    """A recorded path with its ids and names as placeholders (for NOT_EMULATED)."""
    path = re.sub(r"^/projects/[^/]+", "/projects/<id>", path)
    return re.sub(r"/commits/[^/]+", "/commits/<sha>", path)


# -- seeding what a request names ---------------------------------------------------------------


class World:
    """A fresh instance holding what one recorded request names; `url(...)` rewrites the
    request's path and query to the ids of the sandbox's own objects."""

    def __init__(self, fake: FakeGitLab, recorded: Recorded, params: dict[str, str]) -> None:
        self.fake = fake
        self.recorded = recorded
        self.params = dict(params)
        self.query = dict(recorded.query)
        self.form = dict(parse_qsl(recorded.body, keep_blank_values=True)) if recorded.body else {}
        self.user = add_user(fake, "contract-user", "Contract User", token=TOKEN)
        self.ok = recorded.status < 400
        self.message = recorded.answer.get("message") if isinstance(recorded.answer, dict) else None
        self.project: dict[str, Any] | None = None

    def seed_project(self) -> None:
        name = self.params.get("project")
        if name is None or (not self.ok and "Project" in str(self.message)):
            return
        path = name if "/" in name else f"recorded/project-{name}"
        self.project = add_project(self.fake, path)
        add_commit(self.fake, path, "Initial import", files={"VERSION": "1.0.0\n"})
        self.params["project"] = path

    def ref(self, name: str, tag: bool = False) -> dict[str, Any]:
        path = self.project["path_with_namespace"]
        if re.fullmatch(r"[0-9a-f]{40}", name):
            return add_commit(self.fake, path, f"Commit {name[:8]}", sha=name)
        commit = add_commit(self.fake, path, f"Update VERSION to {name}", branch="master")
        (add_tag if tag else add_branch)(self.fake, path, name, commit["id"])
        return commit

    def url(self) -> str:
        """The request's URL on the sandbox: the route's pattern with the sandbox's values."""
        pattern = next(r.pattern for m, r, *_ in ROUTES if m == self.recorded.method and r.match(self.recorded.path))
        path = re.sub(r"\(\?P<(\w+)>\[\^/\]\+\)", lambda m: quote(str(self.params[m.group(1)]), safe=""), pattern.strip("^$"))
        query = urlencode(list(self.query.items()))
        return f"{self.fake.url}{API_PREFIX}{path}" + (f"?{query}" if query else "")


def seed(world: World, handler: str) -> None:
    """Put into the instance what the recorded request names (only what answered 2xx there;
    what was missing stays missing, and what a create found existing exists)."""
    fake, params, query, ok = world.fake, world.params, world.query, world.ok
    if handler == "list_group_milestones":
        add_group(fake, params["group"])
        add_milestone(fake, params["group"], "10.8", group=True, state=query.get("state") or "active")
        return
    world.seed_project()
    project = world.project
    if project is None:
        return  # GitLab said the project was not found: neither is it here
    path = project["path_with_namespace"]
    if handler in ("get_branch", "get_commit") and ok:
        world.ref(params["branch" if handler == "get_branch" else "sha"], tag=handler == "get_commit")
    elif handler == "create_branch":
        name = query.get("branch") or world.form.get("branch") or "a-branch"
        ref = query.get("ref") or world.form.get("ref") or "master"
        world.ref(ref)
        if not ok:
            add_branch(fake, path, name, ref)  # GitLab refused it: it existed
        query.update(branch=name, ref=ref)
        world.form.clear()
    elif handler == "compare":
        older = world.ref(query["from"], tag=True)
        newer = add_commit(fake, path, "Merge branch 'a-fix' into 'master'", parents=[older["id"]])
        add_tag(fake, path, query["to"], newer["id"])
    elif handler == "list_issues":
        milestone = add_milestone(fake, path, query["milestone"]) if query.get("milestone") else None
        labels = [label for label in (query.get("labels") or "").split(",") if label]
        add_issue(fake, path, query.get("search") or "An issue", labels=labels, milestone=milestone)
    elif handler in ("get_merge_request", "list_merge_requests"):
        labels = [label for label in (query.get("labels") or "").split(",") if label]
        state = query.get("state") or "merged"
        merged = world.ref("a-fix")
        milestone = add_milestone(fake, path, "10.8")
        iid = int(params.get("iid") or 1) if ok or handler != "get_merge_request" else None
        if iid is not None:
            add_merge_request(fake, path, "Fix a thing", iid=iid, labels=labels, state=state, milestone=milestone,
                              merge_commit_sha=merged["id"] if state == "merged" else None, sha=merged["id"],
                              merged_by=world.user if state == "merged" else None)
    elif handler == "create_merge_request":
        for name in ("source_branch", "target_branch"):
            if world.form.get(name) and world.form[name] != "master":
                world.ref(world.form[name])
        if world.form.get("milestone_id"):
            world.form["milestone_id"] = str(add_milestone(fake, path, "10.8")["id"])
        if world.form.get("assignee_id"):
            world.form["assignee_id"] = str(world.user["id"])
    elif handler == "list_project_milestones":
        add_milestone(fake, path, "10.8", state=query.get("state") or "active")
    elif handler == "list_pipelines":
        pipeline = add_pipeline(fake, path, query.get("ref") or "1.0.0+ce.0", status="manual")
        add_job(fake, pipeline, "Ubuntu-16.04-release", "package-release")
    elif handler in ("list_pipeline_jobs", "play_job"):
        pipeline = add_pipeline(fake, path, "1.0.0+ce.0", status="manual")
        job = add_job(fake, pipeline, "Ubuntu-16.04-release", "package-release")
        params.update(pipeline=str(pipeline["id"]), job=str(job["id"]))
    elif handler == "list_project_users":
        add_member(fake, path, add_user(fake, "a-member"), project=True)


# -- comparing shapes -------------------------------------------------------------------------


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", dict: "object", list: "array"}.get(type(value), type(value).__name__)


def shape_problems(recorded: Any, answered: Any, where: str = "body") -> list[str]:
    """How `answered` departs from `recorded`'s shape: a missing field, another JSON type.
    A null on either side says nothing of the type (GitLab leaves many fields empty)."""
    if recorded is None or answered is None:
        return []
    if json_type(recorded) != json_type(answered):
        return [f"{where} is {json_type(answered)}, recorded as {json_type(recorded)}"]
    problems = []
    if isinstance(recorded, dict):
        for key, value in recorded.items():
            if key in EDITED_NAMES:
                continue
            if key not in answered:
                problems.append(f"{where}.{key} is missing")
            else:
                problems += shape_problems(value, answered[key], f"{where}.{key}")
    elif isinstance(recorded, list) and recorded and answered:
        # An empty list inside an object is the sandbox's data (no labels), not its shape;
        # an empty answer to a list request is checked in `contract_problems`.
        problems += shape_problems(recorded[0], answered[0], f"{where}[0]")
    return problems


PAGINATION_HEADERS = ("x-page", "x-per-page", "x-next-page", "x-prev-page", "x-total", "x-total-pages", "link")


def send(world: World) -> tuple[int, dict[str, str], Any]:
    body = urlencode(world.form).encode() if world.form else None
    request = urllib.request.Request(world.url(), data=body, method=world.recorded.method, headers={"PRIVATE-TOKEN": TOKEN})
    if body is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, json.loads(error.read() or b"null")


def contract_problems(recorded: Recorded) -> list[str]:
    """What the sandbox answers differently from the recording, in shape."""
    handler, params = route_of(recorded)
    with FakeGitLab(recorded.host) as fake:
        world = World(fake, recorded, params)
        seed(world, handler.__name__)
        status, headers, answered = send(world)
    problems = [] if status == recorded.status else [f"status {status}, recorded {recorded.status} ({answered})"]
    if isinstance(recorded.answer, list):
        problems += [f"no {name} header" for name in PAGINATION_HEADERS if name in recorded.headers and name not in headers]
        if recorded.answer and not answered:
            problems.append(f"an empty list, recorded with {len(recorded.answer)} items (the seed missed the filters)")
    return problems + shape_problems(recorded.answer, answered)


RECORDED = recordings()


def test_the_recordings_are_read_and_every_request_release_tools_makes_has_a_route():
    unrouted = {(r.method, shape_of_path(r.path)) for r in RECORDED if route_of(r) is None}

    assert len(RECORDED) > 50
    assert unrouted == NOT_EMULATED


@pytest.mark.parametrize("recorded", [r for r in RECORDED if route_of(r) is not None], ids=lambda r: r.name)
def test_the_sandbox_answers_in_the_recorded_shape(recorded):
    assert contract_problems(recorded) == []


def test_a_missing_field_or_another_type_is_a_problem():
    recorded = {"id": 1, "title": "T", "author": {"username": "u", "id": 2}, "labels": ["a"], "closed_at": None}

    assert shape_problems(recorded, {**recorded, "closed_at": "2018-07-01"}) == []
    assert shape_problems(recorded, {k: v for k, v in recorded.items() if k != "title"}) == ["body.title is missing"]
    assert shape_problems(recorded, {**recorded, "id": "1"}) == ["body.id is string, recorded as number"]
    assert shape_problems(recorded, {**recorded, "author": {"username": "u"}}) == ["body.author.id is missing"]
    assert shape_problems(recorded, {**recorded, "labels": [1]}) == ["body.labels[0] is number, recorded as string"]
    assert shape_problems([recorded], [{**recorded, "id": None}]) == []
    assert shape_problems(True, 1) == ["body is number, recorded as boolean"]
