"""Publishing: play the manual release jobs of the omnibus tag pipelines on the dev
instance, EE first, then CE.

Differences from the original, on purpose:
- a missing EE pipeline no longer keeps CE from being published: each problem is
  reported, the other edition still goes out, and the task fails at the end;
- every manual job is seen (all pages, not the first 20);
- jobs start concurrently (a bounded pool), and a job that fails to start is reported
  without stopping the others; output stays in pipeline order.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .config import Settings
from .output import result, say
from .errors import PipelineNotFoundError, PublishError, ReleaseToolsError
from .version import OmnibusVersion, Version


def publish(settings: Settings, version: Version) -> None:
    """Play the release jobs of the EE and CE omnibus tag pipelines of `version`.

    Prints `--> <omnibus version>` and a `<job name>: <job URL>` line per job played, or
    that there was nothing to play, with the pipeline's URL. A dry run reads the
    pipelines and lists the jobs, and plays none.
    Raises PublishError after both editions were handled when a pipeline was missing
    or a job did not start; MissingTokenError or GitLabError when the dev instance
    cannot be read at all.
    """
    from .gitlab import GitLab

    gitlab = GitLab(settings, "dev")
    project = settings.project(settings.publish.project)
    path = project.dev_path or project.path
    if settings.dry_run:
        say("Dry run: the jobs below would be played; none is.", "yellow")
    problems: list[str] = []
    try:
        for ee in (True, False):
            omnibus = version.to_omnibus(ee=ee)
            try:
                problems += publish_edition(settings, gitlab, path, omnibus)
            except PipelineNotFoundError as error:
                say(f"--> {omnibus}: {error}", "red", err=True)
                problems.append(str(error))
    finally:
        if settings.verbose:
            say(f"API requests: {gitlab.request_count} to {gitlab.instance.host}")
    if problems:
        raise PublishError(f"publishing {version.to_ce()} is incomplete: " + "; ".join(problems))


def publish_edition(settings: Settings, gitlab: Any, path: str, omnibus: OmnibusVersion) -> list[str]:
    """Play one edition's release jobs; returns what went wrong (empty when all started).

    Raises PipelineNotFoundError when the tag has no pipeline.
    """
    pipeline = gitlab.tag_pipeline(path, omnibus.tag)
    if pipeline is None:
        raise PipelineNotFoundError(
            f"no pipeline for tag {omnibus} in {path} on {gitlab.instance.host}: was {omnibus} tagged and pushed there?"
        )
    stages = set(settings.publish.stages)
    jobs = [job for job in gitlab.manual_jobs(path, pipeline.id) if job.stage in stages and job.status == "manual"]
    if not jobs:
        result(f"Nothing to be done for {omnibus}: {pipeline.web_url}")
        return []

    result(f"--> {omnibus}")
    if settings.dry_run:
        for job in jobs:
            result(f"    {job.name}: {job.web_url}", "yellow")
        result()
        return []

    failed = []
    for job, error in play_jobs(gitlab, path, jobs, settings.publish.concurrency):
        if error is None:
            result(f"    {job.name}: {job.web_url}")
        else:
            result(f"    {job.name}: {job.web_url} (not started: {error})", "red")
            failed.append(job.name)
    result()
    if not failed:
        return []
    return [f"{len(failed)} job{'s' if len(failed) > 1 else ''} of {omnibus} did not start ({', '.join(failed)})"]


def play_jobs(gitlab: Any, path: str, jobs: list[Any], concurrency: int) -> Iterator[tuple[Any, str | None]]:
    """Start every job, at most `concurrency` at a time; yield (job, error or None) in
    the order of `jobs`, each as soon as it and the ones before it are done."""

    def play(job: Any) -> str | None:
        try:
            gitlab.play_job(path, job.id)
        except ReleaseToolsError as error:
            return str(error)
        return None

    if len(jobs) == 1 or concurrency == 1:
        for job in jobs:
            yield job, play(job)
        return
    with ThreadPoolExecutor(max_workers=min(concurrency, len(jobs)), thread_name_prefix="play") as pool:
        futures = [pool.submit(play, job) for job in jobs]
        for job, future in zip(jobs, futures):
            yield job, future.result()
