"""Publishing: play the manual release jobs of the omnibus tag pipelines on the dev
instance, EE first, then CE.

The plan has one `job.play` step per release job (a job of one of the stages in
`release_tools.publish.stages`), in pipeline order. A job that is waiting to be played
is to do; one that has started already (pending, running, finished) is done: it was
played, by an earlier run or by hand. Each edition's plays are one group of steps, run
`release_tools.publish.concurrency` at a time, and a play that fails does not stop the
others. After the plays, each pipeline's jobs are read again to confirm they started.

Differences from the original, on purpose:
- a missing EE pipeline no longer keeps CE from being published: it is a problem of the
  plan, the other edition still goes out, and the task fails at the end;
- every manual job is seen (all pages, not the first 20);
- jobs start concurrently (a bounded pool), and a job that fails to start is reported
  without stopping the others; output stays in pipeline order;
- a second run lists the jobs the first one played as already done, rather than saying
  there is nothing to be done.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .config import Settings
from .gitlab import STARTED_STATUSES
from .output import say
from .plan import Failure, Plan, Report, Step, Target, execute
from .version import OmnibusVersion, Version

#: The status of a job waiting to be played by hand.
MANUAL = "manual"
#: The statuses a release job is listed in: waiting, or played. GitLab's jobs API takes no
#: `preparing` scope (it answers 400); a job that briefly is so shows in the next run.
LISTED = frozenset({MANUAL, *STARTED_STATUSES} - {"preparing"})


def publish(settings: Settings, version: Version, gitlab: Any | None = None) -> Plan:
    """Play the release jobs of the EE and CE omnibus tag pipelines of `version` (see
    `plan_publish`); return the plan, run. `--verbose` says how many requests it took.

    A dry run reads the pipelines and their jobs, shows the plays, and plays none.
    """
    if gitlab is None:
        from .gitlab import GitLab

        gitlab = GitLab(settings, "dev")
    try:
        return execute(plan_publish(settings, version, gitlab), settings.run)
    finally:
        if settings.verbose:
            say(f"API requests: {gitlab.request_count} to {gitlab.instance.host}")


def plan_publish(settings: Settings, version: Version, gitlab: Any) -> Plan:
    """The plan of `publish`: for each edition, EE then CE, the newest pipeline of its
    omnibus tag and a play step per release job.

    A tag without a pipeline is a problem of the plan (the other edition still goes out,
    and the run fails at the end); a pipeline without release jobs is a note.
    Raises MissingTokenError or GitLabError when the dev instance cannot be read.
    """
    project = settings.project(settings.publish.project)
    path = project.dev_path or project.path
    plan = Plan(settings.task or "publish", str(version.to_ce()), concurrency=settings.publish.concurrency)
    for ee in (True, False):
        omnibus = version.to_omnibus(ee=ee)
        pipeline = gitlab.tag_pipeline(path, omnibus.tag)
        if pipeline is None:
            plan.problems.append(
                f"no pipeline for tag {omnibus} in {path} on {gitlab.instance.host}: was {omnibus} tagged and pushed there?"
            )
            continue
        stages = set(settings.publish.stages)
        # A release job that is no longer manual has been played: by an earlier run, or by hand.
        jobs = [
            job
            for job in gitlab.pipeline_jobs(path, pipeline.id, LISTED)
            if job.stage in stages
        ]
        if not jobs:
            plan.notes.append(f"Nothing to be done for {omnibus}: {pipeline.web_url}")
            continue
        plan.notes.append(f"{omnibus}: pipeline {pipeline.web_url}")
        statuses = _reread(gitlab, path, pipeline.id)
        for job in jobs:
            plan.add(_play_step(gitlab, path, omnibus, job, statuses))
    return plan


def _play_step(gitlab: Any, path: str, omnibus: OmnibusVersion, job: Any, statuses: Callable[[], dict[int, str]]) -> Step:
    started = job.status != MANUAL
    step = Step(
        "job.play",
        f"play {job.name} of {omnibus}",
        Target(project=path, instance="dev", job=job.name),
        done=started,
        group=str(omnibus),  # one edition's plays run at the same time
        on_failure=Failure.CONTINUE,  # a job that does not start must not keep the others back
        result=f"{job.web_url} ({job.status})" if started else job.web_url,
        urls=(job.web_url,),
    )
    if started:
        return step

    def play() -> Report:
        # The adapter reads the job again when the answer is lost or the play refused: a
        # job that started meanwhile is no failure (see GitLab.play_job).
        gitlab.play_job(path, job.id)
        return Report(job.web_url, (job.web_url,))

    def check() -> str | None:
        status = statuses().get(job.id)
        return None if status in STARTED_STATUSES else f"job {job.name} is {status or 'gone'}"

    step.action, step.check = play, check
    return step


def _reread(gitlab: Any, path: str, pipeline_id: int) -> Callable[[], dict[int, str]]:
    """Every job's status in the pipeline, read once, when the first play is checked:
    one request per 100 jobs rather than one per job."""

    @functools.cache
    def statuses() -> dict[int, str]:
        return {job.id: job.status for job in gitlab.pipeline_jobs(path, pipeline_id)}

    return statuses
