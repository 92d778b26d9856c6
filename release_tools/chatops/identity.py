"""Who is asking: the user a chat job runs for, read from GitLab with the job's own token.

Whoever starts a pipeline with variables can override any CI variable, CI_JOB_TOKEN
included, so nothing here believes a variable that GitLab itself does not confirm.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..config import Settings, check_instance_urls
from ..settings import CI_MARKERS, is_ci
from ..errors import ConfigurationError, GitLabAccessError, NotAuthorizedError, quote

if TYPE_CHECKING:
    from ..gitlab import CurrentJob

#: Pipeline states in which a pipeline can be running this very job.
ACTIVE_STATES = frozenset({"created", "waiting_for_resource", "preparing", "pending", "running"})


def _is_id(text: str) -> bool:
    """ASCII digits only: `isdigit()` is also true for `１２` and `²`, which int() reads or refuses."""
    return text.isascii() and text.isdigit()


def identify(settings: Settings, environ: Mapping[str, str], trigger_style: bool = False) -> tuple[str, str]:
    """The username the command runs for, and the instance it is a username on.

    In CI it is the user GitLab runs this job for, read with the job's own token
    (`CI_JOB_TOKEN`, one request, the first this entrypoint makes): `GET /job` answers
    with the job that token belongs to, and GitLab accepts it only while that job runs.
    The job must be running in this project (`release_tools.chatops.projects`, as this
    checkout sets it), in a chat pipeline (or a trigger pipeline, for the original's
    trigger style), and every CI variable that names the job, its pipeline, its project,
    its source or its user must agree with it: GitLab lets whoever starts a pipeline with
    variables override them, CI_JOB_TOKEN included. `RELEASE_USER` (the trigger style) is
    believed only from a job run for a trusted relay account.
    Outside CI there is nothing to verify against: `RELEASE_USER` or `GITLAB_USER_LOGIN`,
    taken as a gitlab.com username.

    Raises NotAuthorizedError when the identity cannot be established or disagrees,
    MissingTokenError without the instance's API token, GitLabError when the job cannot
    be read.
    """
    claimed = environ.get("GITLAB_USER_LOGIN", "").strip()
    relayed = environ.get("RELEASE_USER", "").strip()
    if not is_ci(environ):
        if not (relayed or claimed):
            raise NotAuthorizedError("Cannot tell who is running this: set GITLAB_USER_LOGIN to your gitlab.com username")
        return relayed or claimed, "production"

    check_instance_urls(settings, environ)
    instance = ci_instance(settings, environ)
    project = chat_project(settings, instance)
    token = environ.get("CI_JOB_TOKEN", "").strip()
    if not token:
        raise NotAuthorizedError("Refusing to run: CI_JOB_TOKEN is missing or empty, so the job running this cannot be identified")
    settings.token(instance)  # every command needs it: say so before any request
    job = _current_job(settings, instance, token)
    pipeline = job.pipeline
    check_job(job, environ, project, ("chat", "trigger") if trigger_style else ("chat",))

    starter = job.username
    if not starter:
        raise NotAuthorizedError(f"Refusing to run: GitLab names no user for job {job.id}")
    if claimed and claimed.lower() != starter.lower():
        raise NotAuthorizedError(
            f"Refusing to run: GITLAB_USER_LOGIN is {quote(claimed)} but job {job.id} of pipeline {pipeline.id} runs for {starter}"
        )
    if relayed and relayed.lower() != starter.lower():
        if not settings.chatops.is_trusted_relay(starter):
            raise NotAuthorizedError(
                f"Refusing to run: RELEASE_USER is {quote(relayed)} but job {job.id} of pipeline {pipeline.id} runs for {starter}, "
                "which is not a trusted relay (release_tools.chatops.trusted_relays)"
            )
        return relayed, instance
    return starter, instance


def chat_project(settings: Settings, instance: str) -> str:
    """The path or id of the project whose jobs may run release tasks on `instance`, as
    this checkout configures it (no request).

    Raises NotAuthorizedError when something other than the checkout sets it (a variable,
    ~/.invoke.yaml, INVOKE_RUNTIME_CONFIG: whoever starts a pipeline can set those), or
    when it is empty.
    """
    from ..config import chat_projects_of_checkout

    key = f"release_tools.chatops.projects.{instance}"
    project = chat_projects_of_checkout().get(instance, "")
    if settings.chatops.projects.get(instance, "") != project:
        raise NotAuthorizedError(
            f"Refusing to run: {key} is set by a variable, ~/.invoke.yaml or INVOKE_RUNTIME_CONFIG, which whoever "
            "starts a pipeline can set; set it in this checkout's invoke.yaml"
        )
    if not project:
        raise NotAuthorizedError(f"Refusing to run: {key} is empty, so no project may run ChatOps jobs there")
    return project


def check_job(job: CurrentJob, environ: Mapping[str, str], project: str, sources: Sequence[str]) -> None:
    """Check that `job` (read with CI_JOB_TOKEN) is this running job of `project`, in a
    pipeline of one of `sources`, and that the CI variables naming it agree.

    Raises NotAuthorizedError.
    """
    pipeline = job.pipeline
    where = f"job {job.id} of pipeline {pipeline.id}"
    if _is_id(project):
        if pipeline.project_id != int(project):
            raise NotAuthorizedError(
                f"Refusing to run: {where} belongs to project {pipeline.project_id}, not to {project} "
                "(release_tools.chatops.projects)"
            )
    elif job.project_path.lower() != project.lower():
        raise NotAuthorizedError(
            f"Refusing to run: {where} belongs to {job.project_path or 'an unknown project'}, not to {project} "
            "(release_tools.chatops.projects)"
        )
    if job.status != "running":
        raise NotAuthorizedError(f"Refusing to run: {where} is {job.status}, so it is not the one running this")
    for variable, actual in (("CI_JOB_ID", job.id), ("CI_PIPELINE_ID", pipeline.id), ("CI_PROJECT_ID", pipeline.project_id)):
        given = environ.get(variable, "").strip()
        if given and given != str(actual):
            raise NotAuthorizedError(f"Refusing to run: {variable} is {quote(given)} but CI_JOB_TOKEN belongs to {where}")
    if pipeline.source not in sources:
        raise NotAuthorizedError(
            f"Refusing to run: pipeline {pipeline.id} is a {pipeline.source or 'sourceless'} pipeline, "
            f"not a {' or '.join(sources)} pipeline"
        )
    if "CI_PIPELINE_SOURCE" in environ and environ["CI_PIPELINE_SOURCE"].strip() != pipeline.source:
        raise NotAuthorizedError(
            f"Refusing to run: CI_PIPELINE_SOURCE is {quote(environ['CI_PIPELINE_SOURCE'].strip())} "
            f"but pipeline {pipeline.id} is a {pipeline.source} pipeline"
        )
    if pipeline.status not in ACTIVE_STATES:
        raise NotAuthorizedError(
            f"Refusing to run: pipeline {pipeline.id} is {pipeline.status}, so it is not the one running this job"
        )


def _current_job(settings: Settings, instance: str, token: str) -> CurrentJob:
    from ..gitlab import GitLab

    try:
        return GitLab(settings, instance).job_of_token(token)
    except GitLabAccessError as error:
        raise NotAuthorizedError(f"Refusing to run: {error}") from None


def ci_instance(settings: Settings, environ: Mapping[str, str]) -> str:
    """The configured instance this CI job runs on (`CI_API_V4_URL`, else `CI_SERVER_URL`).

    Raises ConfigurationError when it is none of them.
    """
    api = environ.get("CI_API_V4_URL", "").strip().rstrip("/")
    if not api and environ.get("CI_SERVER_URL", "").strip():
        api = environ["CI_SERVER_URL"].strip().rstrip("/") + "/api/v4"
    for name, instance in settings.instances.items():
        if api.lower() == f"{instance.url}/api/v4".lower():
            return name
    raise ConfigurationError(
        f"This job runs on {quote(api) if api else 'an unknown GitLab'}, which is none of the configured instances "
        "(release_tools.instances): cannot verify who started the pipeline"
    )
