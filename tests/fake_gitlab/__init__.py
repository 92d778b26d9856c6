"""The fake GitLab moved into the product as `release_tools.sandbox`; import it from there.

This alias keeps `tests.fake_gitlab` and its submodules importable for code written before
the move.
"""

import sys

from release_tools import sandbox
from release_tools.sandbox import *  # noqa: F401,F403
from release_tools.sandbox import (
    core,
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

for _module in (core, groups, issues, members, merge_requests, milestones, pipelines, projects, repository, users):
    sys.modules[f"{__name__}.{_module.__name__.rsplit('.', 1)[1]}"] = _module

__all__ = sandbox.__all__
