"""The sandbox: a stateful emulator of GitLab's REST API v4, served over real HTTP on
127.0.0.1, for everything release-tools asks of GitLab.

The test suite runs every task against it, and a release can be practised in it:

    with FakeGitLab("gitlab.com") as fake:
        add_user(fake, "release-bot", token="secret")
        add_project(fake, "gitlab-org/release/tasks")
        ...  # point python-gitlab at fake.url

Each API area is a module; importing this package registers every route. It depends on
the standard library and release-tools' own values only (no pytest, no python-gitlab).
`Sandbox` (world.py) seeds a whole release world: both instances on one server, the
projects, people and milestones, and bare git remotes with the history before a release.
"""

from . import (  # noqa: F401  (route registration)
    groups,
    issues,
    members,
    merge_requests,
    milestones,
    pipelines,
    projects,
    repository,
    users,
)
from .core import FakeGitLab, Request, Response, Server, encoded, route
from .groups import add_group
from .issues import add_issue
from .members import add_member
from .merge_requests import add_merge_request
from .milestones import add_milestone
from .pipelines import add_chat_job, add_chat_pipeline, add_job, add_pipeline
from .projects import add_project
from .repository import add_branch, add_commit, add_tag, set_ref
from .users import add_user
from .world import Sandbox

__all__ = [
    "FakeGitLab",
    "Request",
    "Response",
    "Sandbox",
    "Server",
    "add_branch",
    "add_chat_job",
    "add_chat_pipeline",
    "add_commit",
    "add_group",
    "add_issue",
    "add_job",
    "add_member",
    "add_merge_request",
    "add_milestone",
    "add_pipeline",
    "add_project",
    "add_tag",
    "add_user",
    "encoded",
    "set_ref",
    "route",
]
