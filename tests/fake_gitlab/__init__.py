"""A stateful fake of GitLab's REST API v4 for tests, served over real HTTP on 127.0.0.1.

    with FakeGitLab("gitlab.com") as fake:
        add_user(fake, "release-bot", token="secret")
        add_project(fake, "gitlab-org/release/tasks")
        ...  # point python-gitlab at fake.url

Each API area is a module; importing this package registers every route.
"""

from . import chat_pipelines, groups, issues, milestones, projects, users  # noqa: F401  (route registration)
from .chat_pipelines import add_chat_pipeline
from .core import FakeGitLab, Request, Response, encoded, route
from .groups import add_group
from .issues import add_issue
from .milestones import add_milestone
from .projects import add_project
from .users import add_user

__all__ = [
    "FakeGitLab",
    "Request",
    "Response",
    "add_chat_pipeline",
    "add_group",
    "add_issue",
    "add_milestone",
    "add_project",
    "add_user",
    "encoded",
    "route",
]
