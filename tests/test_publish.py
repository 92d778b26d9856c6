"""Publishing: the manual release jobs of the EE and CE omnibus tag pipelines on dev are
played (and no others), in a stable order, concurrently; missing pipelines and jobs that
fail to start are reported without stopping the rest; jobs already started are done; dry
runs play nothing. Each edition's jobs are steps of one plan (release_tools/plan.py)."""

from __future__ import annotations

import json

import pytest

from release_tools.output import collect_results
from release_tools.plan import State, Status, question
from release_tools.publish import LISTED, publish
from release_tools.version import Version
from release_tools.sandbox import add_job, add_pipeline, add_project

OMNIBUS = "gitlab/omnibus-gitlab"
RELEASE_JOBS = [
    ("Ubuntu-16.04-release", "package-release"),
    ("Docker-Release", "image-release"),
    ("Raspberry-Pi-2-Stretch-release", "raspbian-release"),
    ("Raspberry-Pi-2-Jessie-release", "raspbian_release"),
]


def seed_pipeline(fake, tag, jobs=RELEASE_JOBS):
    """A tag pipeline like the recorded ones: release jobs plus manual jobs of other
    stages and a finished build job, none of which must be played."""
    pipeline = add_pipeline(fake, OMNIBUS, tag)
    add_job(fake, pipeline, "release:packages", "trigger-packages")
    played = [add_job(fake, pipeline, name, stage) for name, stage in jobs]
    add_job(fake, pipeline, "upgrade", "metrics")
    add_job(fake, pipeline, "Ubuntu-14.04", "package", status="success")
    return pipeline, played


@pytest.fixture
def omnibus(fake_dev):
    add_project(fake_dev, OMNIBUS)
    return fake_dev


def played_ids(fake):
    return sorted(int(r.path.split("/")[-2]) for r in fake.requests("POST", "/play"))


def run(settings, version="11.1.2"):
    """Publish in this process; (the plan, the outcome lines it printed)."""
    with collect_results() as lines:
        plan = publish(settings, Version.parse(version))
    return plan, lines


def play_line(job, omnibus_version, mark="✓"):
    return f"{mark} play {job['name']} of {omnibus_version}: {job['web_url']}"


def test_release_jobs_of_both_tag_pipelines_are_played_ee_first(settings, omnibus, fake_gitlab):
    seed_pipeline(omnibus, "11.1.0+rc1.ee.0")
    _, ee_jobs = seed_pipeline(omnibus, "11.1.0+ee.0")
    _, ce_jobs = seed_pipeline(omnibus, "11.1.0+ce.0")

    plan, lines = run(settings, "11.1.0")

    assert played_ids(omnibus) == sorted(j["id"] for j in ee_jobs + ce_jobs)
    assert all(j["status"] == "pending" for j in ee_jobs + ce_jobs)
    expected = [play_line(j, "11.1.0+ee.0") for j in ee_jobs] + [play_line(j, "11.1.0+ce.0") for j in ce_jobs]
    assert lines == expected + ["Done: 8 done."]
    assert [step.target.job for step in plan.steps] == [name for name, _ in RELEASE_JOBS] * 2
    assert {step.target.instance for step in plan.steps} == {"dev"}
    assert (plan.status, plan.exit_status) == (Status.DONE, 0)
    assert fake_gitlab.log == []  # everything happens on dev


def test_reads_are_one_pipeline_lookup_and_the_release_jobs_per_edition_and_one_read_back(settings, omnibus):
    seed_pipeline(omnibus, "11.1.2+ee.0")
    seed_pipeline(omnibus, "11.1.2+ce.0")

    run(settings)

    lookups = omnibus.requests("GET", "/pipelines")
    assert [(r.query["scope"], r.query["ref"], r.query["per_page"]) for r in lookups if "jobs" not in r.path] == [
        (["tags"], ["11.1.2+ee.0"], ["1"]),
        (["tags"], ["11.1.2+ce.0"], ["1"]),
    ]
    # Waiting and started jobs while planning; after the plays, every job of each pipeline once.
    assert [r.query.get("scope[]") for r in lookups if "jobs" in r.path] == [sorted(LISTED)] * 2 + [None] * 2
    assert omnibus.requests("GET", "/jobs/") == []  # plays use lazy objects: no GET per job


def test_the_newest_pipeline_of_the_tag_is_used(settings, omnibus):
    _, stale = seed_pipeline(omnibus, "11.1.2+ee.0")
    _, fresh = seed_pipeline(omnibus, "11.1.2+ee.0")
    _, ce = seed_pipeline(omnibus, "11.1.2+ce.0")

    run(settings)

    assert played_ids(omnibus) == sorted(j["id"] for j in fresh + ce)
    assert all(j["status"] == "manual" for j in stale)


def test_every_page_of_manual_jobs_is_played_in_order(settings, omnibus):
    many = [(f"Package-{n:03}-release", "package-release") for n in range(130)]
    _, ee_jobs = seed_pipeline(omnibus, "11.1.2+ee.0", many)
    _, ce_jobs = seed_pipeline(omnibus, "11.1.2+ce.0", many[:3])

    _, lines = run(settings)

    assert played_ids(omnibus) == sorted(j["id"] for j in ee_jobs + ce_jobs)
    assert lines[:130] == [play_line(job, "11.1.2+ee.0") for job in ee_jobs]


def test_a_missing_ee_pipeline_does_not_stop_ce(settings, omnibus, capsys):
    _, ce_jobs = seed_pipeline(omnibus, "11.1.2+ce.0")

    plan, lines = run(settings)

    problem = (
        f"no pipeline for tag 11.1.2+ee.0 in {OMNIBUS} on {omnibus.url.split('//')[1]}: "
        "was 11.1.2+ee.0 tagged and pushed there?"
    )
    assert plan.problems == [problem]
    assert (plan.status, plan.exit_status) == (Status.FAILED, 1)
    assert played_ids(omnibus) == sorted(j["id"] for j in ce_jobs)
    assert lines == [play_line(j, "11.1.2+ce.0") for j in ce_jobs] + [f"Problem: {problem}", "Failed: 4 done."]
    assert f"  Problem: {problem}\n" in capsys.readouterr().err  # in the plan, before anything is played


def test_nothing_to_play_says_so_with_the_pipeline_url(settings, omnibus, capsys):
    ee_pipeline, _ = seed_pipeline(omnibus, "11.1.2+ee.0", jobs=[])
    ce_pipeline, ce_jobs = seed_pipeline(omnibus, "11.1.2+ce.0")

    plan, _ = run(settings)

    assert plan.notes == [
        f"Nothing to be done for 11.1.2+ee.0: {ee_pipeline['web_url']}",
        f"11.1.2+ce.0: pipeline {ce_pipeline['web_url']}",
    ]
    assert f"Plan for publish 11.1.2:\n  Nothing to be done for 11.1.2+ee.0: {ee_pipeline['web_url']}\n" in capsys.readouterr().out
    assert played_ids(omnibus) == sorted(j["id"] for j in ce_jobs)


def test_a_job_played_by_hand_is_done_already_and_not_played_again(settings, omnibus):
    pipeline, ee_jobs = seed_pipeline(omnibus, "11.1.2+ee.0")
    by_hand = add_job(omnibus, pipeline, "CentOS-7-release", "package-release", status="running")
    seed_pipeline(omnibus, "11.1.2+ce.0")

    plan, lines = run(settings)

    [step] = [step for step in plan.steps if step.target.job == "CentOS-7-release"]
    assert (step.state, step.result) == (State.ALREADY_DONE, f"{by_hand['web_url']} (running)")
    assert by_hand["id"] not in played_ids(omnibus)
    assert len(played_ids(omnibus)) == 2 * len(RELEASE_JOBS)
    assert lines[-1] == "Done: 8 done, 1 already done."


def test_a_job_that_fails_to_start_is_reported_and_the_others_still_start(settings, omnibus):
    _, ee_jobs = seed_pipeline(omnibus, "11.1.2+ee.0")
    _, ce_jobs = seed_pipeline(omnibus, "11.1.2+ce.0")
    broken = ee_jobs[1]
    omnibus.fail(403, times=1, method="POST", path=f"/jobs/{broken['id']}/play")

    plan, lines = run(settings)

    started = [j for j in ee_jobs + ce_jobs if j is not broken]
    assert all(j["status"] == "pending" for j in started) and broken["status"] == "manual"
    assert (plan.status, plan.exit_status) == (Status.FAILED, 1)
    assert [step.state for step in plan.steps].count(State.FAILED) == 1
    assert lines[1].startswith(f"✗ play Docker-Release of 11.1.2+ee.0: {omnibus.url.split('//')[1]} denied access")
    assert "403 Forbidden" in lines[1] and "DEV_API_PRIVATE_TOKEN" in lines[1] and lines[1].endswith(broken["web_url"])
    assert [line.split(" of ")[0] for line in lines[:4]] == [
        f"{'✗' if name == 'Docker-Release' else '✓'} play {name}" for name, _ in RELEASE_JOBS
    ]
    assert lines[-1] == "Failed: 7 done, 1 failed."


def test_jobs_start_concurrently_but_no_more_than_the_limit(settings, omnibus):
    many = [(f"Package-{n}-release", "package-release") for n in range(12)]
    seed_pipeline(omnibus, "11.1.2+ee.0", many)
    seed_pipeline(omnibus, "11.1.2+ce.0", many)
    omnibus.latency = 0.05  # every request lasts long enough for the next ones to overlap it

    run(settings)

    assert len(omnibus.requests("POST", "/play")) == 24
    assert 1 < omnibus.max_in_flight <= settings.publish.concurrency == 4


def test_dry_run_lists_the_jobs_and_plays_none(settings, omnibus, capsys):
    _, ee_jobs = seed_pipeline(omnibus, "11.1.2+ee.0")
    seed_pipeline(omnibus, "11.1.2+ce.0")

    plan, lines = run(settings.with_changes(dry_run=True))

    assert omnibus.mutations() == []
    assert plan.status is Status.DRY_RUN and {step.state for step in plan.steps} == {State.TO_DO}
    out = capsys.readouterr().out
    assert f"  {play_line(ee_jobs[1], '11.1.2+ee.0', mark='·')}\n" in out
    assert lines == ["Dry run: 8 steps would be carried out; nothing was changed."]
    assert question(plan) == "Play 8 jobs on dev? [y/N] "


def test_verbose_counts_the_requests(settings, omnibus, capsys):
    seed_pipeline(omnibus, "11.1.2+ee.0")
    seed_pipeline(omnibus, "11.1.2+ce.0")

    run(settings.with_changes(verbose=True))

    assert f"API requests: {len(omnibus.log)} to {omnibus.url.split('//')[1]}\n" in capsys.readouterr().out


# -- the command line ------------------------------------------------------------------------


def test_cli_publishes_and_exits_1_naming_the_missing_version(invoke, omnibus):
    _, ee_jobs = seed_pipeline(omnibus, "11.1.2+ee.0")

    result = invoke("publish", "11.1.2")

    assert result.returncode == 1
    assert f"{play_line(ee_jobs[0], '11.1.2+ee.0')}\n" in result.stdout
    assert result.stdout.endswith("Failed: 4 done.\n")
    assert "Problem: no pipeline for tag 11.1.2+ce.0" in result.stdout.splitlines()[-2]
    assert "  Problem: no pipeline for tag 11.1.2+ce.0" in result.stderr
    assert len(omnibus.requests("POST", "/play")) == len(RELEASE_JOBS)


def test_cli_bad_version_makes_no_request(invoke, omnibus):
    result = invoke("publish", "v11.1.2")

    assert result.returncode == 1
    assert result.stderr.startswith("Error: Version number must be in the following format")
    assert omnibus.log == []


@pytest.mark.parametrize(
    "args, env",
    [(["publish", "--dry-run"], {}), (["-R", "publish"], {}), (["--dry", "publish"], {}), (["publish"], {"TEST": "true"})],
    ids=["--dry-run", "invoke -R", "invoke --dry", "TEST"],
)
def test_cli_dry_run_plays_nothing(invoke, omnibus, args, env):
    _, ee_jobs = seed_pipeline(omnibus, "11.1.0+rc3.ee.0")
    _, ce_jobs = seed_pipeline(omnibus, "11.1.0+rc3.ce.0")

    result = invoke(*args, "11.1.0-rc3", env=env)

    assert result.returncode == 0, result.stderr
    assert f"  {play_line(ee_jobs[0], '11.1.0+rc3.ee.0', mark='·')}\n" in result.stdout
    assert f"  {play_line(ce_jobs[-1], '11.1.0+rc3.ce.0', mark='·')}\n" in result.stdout
    assert result.stdout.endswith("Dry run: 8 steps would be carried out; nothing was changed.\n")
    assert omnibus.log != [] and omnibus.mutations() == []


def steps_of(document):
    return [(step["kind"], step["target"]["job"], step["state"]) for step in document["steps"]]


def test_cli_json_of_a_dry_run_a_real_run_and_a_rerun(invoke, omnibus):
    _, ee_jobs = seed_pipeline(omnibus, "11.1.2+ee.0")
    seed_pipeline(omnibus, "11.1.2+ce.0")
    names = [name for name, _ in RELEASE_JOBS] * 2

    dry = invoke("publish", "--json", "--dry-run", "11.1.2")
    real = invoke("publish", "--json", "11.1.2")
    mutations = len(omnibus.mutations())
    omnibus.clear_log()
    rerun = invoke("publish", "--json", "11.1.2")

    documents = [json.loads(result.stdout) for result in (dry, real, rerun)]  # stdout holds the document only
    assert [(d["schema"], d["task"], d["subject"], d["status"], d["exit_status"]) for d in documents] == [
        (1, "publish", "11.1.2", "dry_run", 0),
        (1, "publish", "11.1.2", "done", 0),
        (1, "publish", "11.1.2", "nothing_to_do", 0),
    ]
    assert steps_of(documents[0]) == [("job.play", name, "to_do") for name in names]
    assert steps_of(documents[1]) == [("job.play", name, "done") for name in names]
    assert steps_of(documents[2]) == [("job.play", name, "already_done") for name in names]
    first = documents[1]["steps"][0]
    assert first["target"] == {"project": OMNIBUS, "instance": "dev", "job": "Ubuntu-16.04-release"}
    assert first["urls"] == [ee_jobs[0]["web_url"]]
    assert documents[2]["steps"][0]["result"] == f"{ee_jobs[0]['web_url']} (pending)"
    assert mutations == 2 * len(RELEASE_JOBS)
    assert omnibus.mutations() == []  # the rerun changed nothing
    assert "Plan for publish 11.1.2:" in dry.stderr and "Nothing to do: every step is done already." in rerun.stderr


def test_cli_a_play_failing_mid_plan_is_reported_in_text_and_json_and_the_others_still_start(invoke, omnibus):
    _, ee_jobs = seed_pipeline(omnibus, "11.1.2+ee.0")
    _, ce_jobs = seed_pipeline(omnibus, "11.1.2+ce.0")
    broken = ee_jobs[2]
    omnibus.fail(500, times=100, method="POST", path=f"/jobs/{broken['id']}/play")
    env = {"INVOKE_RELEASE_TOOLS_API_MAX_WAIT": "1"}

    text = invoke("publish", "11.1.2", env=env)
    omnibus.clear_log()
    document = json.loads(invoke("publish", "--json", "11.1.2", env=env).stdout)

    assert text.returncode == 1
    failed = f"✗ play Raspberry-Pi-2-Stretch-release of 11.1.2+ee.0: {omnibus.url.split('//')[1]} failed while playing job {broken['id']}"
    assert failed in text.stdout and text.stdout.endswith("Failed: 7 done, 1 failed.\n")
    assert broken["status"] == "manual" and all(j["status"] == "pending" for j in ee_jobs + ce_jobs if j is not broken)
    # The second run plays only the job still waiting, and fails again on it.
    assert (document["status"], document["exit_status"]) == ("failed", 1)
    states = [step["state"] for step in document["steps"]]
    assert states == ["already_done"] * 2 + ["failed"] + ["already_done"] * 5
    assert "500" in document["steps"][2]["reason"]
    assert {r.path.split("/")[-2] for r in omnibus.requests("POST", "/play")} == {str(broken["id"])}


@pytest.mark.parametrize("value", [0, -2, "many"], ids=repr)
def test_concurrency_must_be_a_positive_number(value):
    from release_tools.config import Settings
    from release_tools.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"^release_tools\.publish\.concurrency must be a whole number of at least 1$"):
        Settings.from_mapping({"env_file": "", "publish": {"concurrency": value}}, environ={})
