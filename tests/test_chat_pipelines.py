"""Reading one pipeline (who started it, from where), and the job of a CI job token (which
job, pipeline, project and user it is), through the GitLab adapter."""

from __future__ import annotations

import pytest

from release_tools.config import Settings
from release_tools.output import redact
from release_tools.errors import GitLabAccessError, GitLabNotFoundError
from release_tools.gitlab import CurrentJob, GitLab, Pipeline, _current_job
from release_tools.sandbox import add_chat_job, add_chat_pipeline, add_project, add_user


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


def test_job_token_names_its_job_pipeline_project_and_user_without_the_api_token(tree, fake_gitlab):
    project = add_project(fake_gitlab, "gitlab-org/release-tools")
    add_user(fake_gitlab, "ada", "Ada Example")
    pipeline = add_chat_pipeline(fake_gitlab, "gitlab-org/release-tools", "ada")
    job = add_chat_job(fake_gitlab, pipeline)
    no_api_token = Settings.from_mapping(tree, {})  # GET /job needs the job's token alone

    found = GitLab(no_api_token, "production").job_of_token(job["token"])

    assert found == CurrentJob(
        id=job["id"],
        status="running",
        web_url=job["web_url"],
        project_path="gitlab-org/release-tools",
        username="ada",
        pipeline=Pipeline(
            id=pipeline["id"], ref="master", status="running", web_url=pipeline["web_url"],
            project_id=project["id"], source="chat", sha=pipeline["sha"],
        ),
    )
    assert [(r.method, r.path, r.query) for r in fake_gitlab.log] == [("GET", "/job", {})]
    assert redact(f"token {job['token']}") == "token <hidden>"


def test_job_token_of_a_finished_job_is_refused_in_one_line(settings, fake_gitlab):
    add_project(fake_gitlab, "gitlab-org/release-tools")
    job = add_chat_job(fake_gitlab, add_chat_pipeline(fake_gitlab, "gitlab-org/release-tools", "release-manager"))
    job["status"] = "success"

    with pytest.raises(GitLabAccessError) as refused:
        GitLab(settings, "production").job_of_token(job["token"])

    host = fake_gitlab.url.split("//")[1]
    assert str(refused.value) == (
        f"{host} refused CI_JOB_TOKEN (401 Unauthorized) while identifying the job running this: "
        "it is not the token of a running job"
    )
    assert job["token"] not in str(refused.value)


@pytest.mark.parametrize(
    "instance_url, web_url, path",
    [
        ("https://gitlab.com", "https://gitlab.com/gitlab-org/release-tools/-/jobs/8", "gitlab-org/release-tools"),
        ("https://example.com/gitlab", "https://example.com/gitlab/group/sub/tools/-/jobs/8", "group/sub/tools"),
        ("https://gitlab.com", "https://gitlab.com/gitlab-org/release-tools/pipelines/8", ""),
        ("https://gitlab.com", "", ""),
    ],
    ids=["project", "relative-url-root", "not-a-job-url", "no-url"],
)
def test_job_project_path_is_read_from_its_web_url(instance_url, web_url, path):
    attrs = {"id": 8, "status": "running", "web_url": web_url, "user": None, "pipeline": {"id": 6, "project_id": 1}}

    assert _current_job(attrs, instance_url).project_path == path
