"""Reading one pipeline (who started it, from where) through the GitLab adapter."""

from __future__ import annotations

import pytest

from release_tools.errors import GitLabNotFoundError
from release_tools.gitlab import GitLab, Pipeline
from tests.fake_gitlab import add_chat_pipeline, add_project, add_user


def test_pipeline_names_the_user_who_started_it(settings, fake_gitlab):
    project = add_project(fake_gitlab, "gitlab-org/release-tools")
    add_user(fake_gitlab, "ada", "Ada Example")
    seeded = add_chat_pipeline(fake_gitlab, "gitlab-org/release-tools", "ada")

    pipeline = GitLab(settings, "production").pipeline(project["id"], seeded["id"])

    assert pipeline == Pipeline(
        id=seeded["id"],
        project_id=project["id"],
        status="running",
        source="chat",
        ref="master",
        sha=seeded["sha"],
        username="ada",
        web_url=seeded["web_url"],
    )
    assert [(r.method, r.path) for r in fake_gitlab.log] == [
        ("GET", f"/projects/{project['id']}/pipelines/{seeded['id']}")
    ]


def test_pipeline_of_another_project_is_not_found(settings, fake_gitlab):
    add_project(fake_gitlab, "gitlab-org/release-tools")
    other = add_project(fake_gitlab, "gitlab-org/other")
    seeded = add_chat_pipeline(fake_gitlab, "gitlab-org/release-tools", "release-manager")

    with pytest.raises(GitLabNotFoundError, match=r"gitlab-org/other|not found"):
        GitLab(settings, "production").pipeline(other["id"], seeded["id"])


def test_seeded_pipeline_has_gitlabs_shape(fake_gitlab):
    add_project(fake_gitlab, "gitlab-org/release-tools")

    pipeline = add_chat_pipeline(fake_gitlab, "gitlab-org/release-tools", "release-manager", source="trigger", status="pending")

    for key in ("id", "iid", "project_id", "sha", "ref", "status", "source", "tag", "user", "web_url", "created_at", "updated_at"):
        assert key in pipeline
    assert set(pipeline["user"]) == {"id", "name", "username", "state", "avatar_url", "web_url"}
    assert (pipeline["source"], pipeline["status"]) == ("trigger", "pending")
