"""Publishing: the manual release jobs of the EE and CE omnibus tag pipelines on dev are
played (and no others), in a stable order, concurrently; missing pipelines and jobs that
fail to start are reported without stopping the rest; dry runs play nothing."""

from __future__ import annotations

import pytest

from release_tools.errors import PublishError
from release_tools.publish import publish
from release_tools.version import Version
from tests.fake_gitlab import add_job, add_pipeline, add_project

OMNIBUS = "gitlab/omnibus-gitlab"
RELEASE_JOBS = [
    ("Ubuntu-16.04-release", "package-release"),
    ("Docker-Release", "image-release"),
    ("Raspberry-Pi-2-Stretch-release", "raspbian-release"),
    ("Raspberry-Pi-2-Jessie-release", "raspbian_release"),
]


def seed_pipeline(fake, tag, jobs=RELEASE_JOBS):
    """A tag pipeline like the recorded ones: release jobs plus manual jobs of other
    stages and a finished job of a release stage, none of which must be played."""
    pipeline = add_pipeline(fake, OMNIBUS, tag)
    add_job(fake, pipeline, "release:packages", "trigger-packages")
    played = [add_job(fake, pipeline, name, stage) for name, stage in jobs]
    add_job(fake, pipeline, "upgrade", "metrics")
    add_job(fake, pipeline, "Ubuntu-14.04-build", "package-release", status="success")
    return pipeline, played


@pytest.fixture
def omnibus(fake_dev):
    add_project(fake_dev, OMNIBUS)
    return fake_dev


def played_ids(fake):
    return sorted(int(r.path.split("/")[-2]) for r in fake.requests("POST", "/play"))


def test_release_jobs_of_both_tag_pipelines_are_played_ee_first(settings, omnibus, fake_gitlab, capsys):
    other_tag, _ = seed_pipeline(omnibus, "11.1.0+rc1.ee.0")
    ee_pipeline, ee_jobs = seed_pipeline(omnibus, "11.1.0+ee.0")
    ce_pipeline, ce_jobs = seed_pipeline(omnibus, "11.1.0+ce.0")

    publish(settings, Version.parse("11.1.0"))

    assert played_ids(omnibus) == sorted(j["id"] for j in ee_jobs + ce_jobs)
    assert all(j["status"] == "pending" for j in ee_jobs + ce_jobs)
    base = f"{omnibus.url}/{OMNIBUS}/-/jobs"
    expected = ["--> 11.1.0+ee.0"] + [f"    {j['name']}: {base}/{j['id']}" for j in ee_jobs] + [""]
    expected += ["--> 11.1.0+ce.0"] + [f"    {j['name']}: {base}/{j['id']}" for j in ce_jobs] + [""]
    assert capsys.readouterr().out.splitlines() == expected
    assert fake_gitlab.log == []  # everything happens on dev


def test_reads_are_one_pipeline_lookup_and_the_manual_jobs_per_edition(settings, omnibus):
    seed_pipeline(omnibus, "11.1.2+ee.0")
    seed_pipeline(omnibus, "11.1.2+ce.0")

    publish(settings, Version.parse("11.1.2"))

    lookups = omnibus.requests("GET", "/pipelines")
    assert [(r.query["scope"], r.query["ref"], r.query["per_page"]) for r in lookups if "jobs" not in r.path] == [
        (["tags"], ["11.1.2+ee.0"], ["1"]),
        (["tags"], ["11.1.2+ce.0"], ["1"]),
    ]
    assert [r.query["scope[]"] for r in lookups if "jobs" in r.path] == [["manual"], ["manual"]]
    assert omnibus.requests("GET", "/jobs/") == []  # plays use lazy objects: no GET per job


def test_the_newest_pipeline_of_the_tag_is_used(settings, omnibus):
    _, stale = seed_pipeline(omnibus, "11.1.2+ee.0")
    _, fresh = seed_pipeline(omnibus, "11.1.2+ee.0")
    _, ce = seed_pipeline(omnibus, "11.1.2+ce.0")

    publish(settings, Version.parse("11.1.2"))

    assert played_ids(omnibus) == sorted(j["id"] for j in fresh + ce)
    assert all(j["status"] == "manual" for j in stale)


def test_every_page_of_manual_jobs_is_played_in_order(settings, omnibus, capsys):
    many = [(f"Package-{n:03}-release", "package-release") for n in range(130)]
    _, ee_jobs = seed_pipeline(omnibus, "11.1.2+ee.0", many)
    _, ce_jobs = seed_pipeline(omnibus, "11.1.2+ce.0", many[:3])

    publish(settings, Version.parse("11.1.2"))

    assert played_ids(omnibus) == sorted(j["id"] for j in ee_jobs + ce_jobs)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0].strip() for line in lines[1:131]] == [name for name, _ in many]


def test_a_missing_ee_pipeline_does_not_stop_ce(settings, omnibus, capsys):
    _, ce_jobs = seed_pipeline(omnibus, "11.1.2+ce.0")

    with pytest.raises(PublishError) as raised:
        publish(settings, Version.parse("11.1.2"))

    assert str(raised.value) == (
        f"publishing 11.1.2 is incomplete: no pipeline for tag 11.1.2+ee.0 in {OMNIBUS} on "
        f"{omnibus.url.split('//')[1]}: was 11.1.2+ee.0 tagged and pushed there?"
    )
    assert played_ids(omnibus) == sorted(j["id"] for j in ce_jobs)
    captured = capsys.readouterr()
    assert captured.out.startswith("--> 11.1.2+ce.0\n")
    assert captured.err.startswith("--> 11.1.2+ee.0: no pipeline for tag 11.1.2+ee.0")


def test_nothing_to_play_says_so_with_the_pipeline_url(settings, omnibus, capsys):
    ee_pipeline, _ = seed_pipeline(omnibus, "11.1.2+ee.0", jobs=[])
    _, ce_jobs = seed_pipeline(omnibus, "11.1.2+ce.0")

    publish(settings, Version.parse("11.1.2"))

    out = capsys.readouterr().out
    assert out.startswith(f"Nothing to be done for 11.1.2+ee.0: {ee_pipeline['web_url']}\n--> 11.1.2+ce.0\n")
    assert played_ids(omnibus) == sorted(j["id"] for j in ce_jobs)


def test_a_job_that_fails_to_start_is_reported_and_the_others_still_start(settings, omnibus, capsys):
    _, ee_jobs = seed_pipeline(omnibus, "11.1.2+ee.0")
    _, ce_jobs = seed_pipeline(omnibus, "11.1.2+ce.0")
    broken = ee_jobs[1]
    omnibus.fail(403, times=1, method="POST", path=f"/jobs/{broken['id']}/play")

    with pytest.raises(PublishError, match=r"^publishing 11\.1\.2 is incomplete: 1 job of 11\.1\.2\+ee\.0 did not start \(Docker-Release\)$"):
        publish(settings, Version.parse("11.1.2"))

    started = [j for j in ee_jobs + ce_jobs if j is not broken]
    assert all(j["status"] == "pending" for j in started) and broken["status"] == "manual"
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].startswith(f"    Docker-Release: {omnibus.url}/{OMNIBUS}/-/jobs/{broken['id']} (not started: ")
    assert "403 Forbidden" in lines[2] and "DEV_API_PRIVATE_TOKEN" in lines[2]
    assert [line.split(":")[0].strip() for line in lines[1:5]] == [name for name, _ in RELEASE_JOBS]


def test_jobs_start_concurrently_but_no_more_than_the_limit(settings, omnibus):
    many = [(f"Package-{n}-release", "package-release") for n in range(12)]
    seed_pipeline(omnibus, "11.1.2+ee.0", many)
    seed_pipeline(omnibus, "11.1.2+ce.0", many)
    omnibus.latency = 0.05  # every request lasts long enough for the next ones to overlap it

    publish(settings, Version.parse("11.1.2"))

    assert len(omnibus.requests("POST", "/play")) == 24
    assert 1 < omnibus.max_in_flight <= settings.publish.concurrency == 4


def test_dry_run_lists_the_jobs_and_plays_none(settings, omnibus, capsys):
    _, ee_jobs = seed_pipeline(omnibus, "11.1.2+ee.0")
    seed_pipeline(omnibus, "11.1.2+ce.0")

    publish(settings.with_changes(dry_run=True), Version.parse("11.1.2"))

    assert omnibus.mutations() == []
    out = capsys.readouterr().out
    assert out.startswith("Dry run: the jobs below would be played; none is.\n--> 11.1.2+ee.0\n")
    assert f"    Docker-Release: {omnibus.url}/{OMNIBUS}/-/jobs/{ee_jobs[1]['id']}\n" in out
    assert "--> 11.1.2+ce.0\n" in out


def test_cli_publishes_and_exits_1_naming_the_missing_version(invoke, omnibus):
    seed_pipeline(omnibus, "11.1.2+ee.0")

    result = invoke("publish", "11.1.2")

    assert result.returncode == 1
    assert result.stdout.startswith("--> 11.1.2+ee.0\n    Ubuntu-16.04-release: ")
    assert result.stderr.splitlines()[-1].startswith("Error: publishing 11.1.2 is incomplete: no pipeline for tag 11.1.2+ce.0")
    assert len(omnibus.requests("POST", "/play")) == len(RELEASE_JOBS)


def test_cli_bad_version_makes_no_request(invoke, omnibus):
    result = invoke("publish", "v11.1.2")

    assert result.returncode == 1
    assert result.stderr.startswith("Error: Version number must be in the following format")
    assert omnibus.log == []


def test_cli_dry_run_plays_nothing(invoke, omnibus):
    seed_pipeline(omnibus, "11.1.0+rc3.ee.0")
    seed_pipeline(omnibus, "11.1.0+rc3.ce.0")

    result = invoke("publish", "11.1.0-rc3", "--dry-run")

    assert result.returncode == 0, result.stderr
    assert "--> 11.1.0+rc3.ee.0\n" in result.stdout and "--> 11.1.0+rc3.ce.0\n" in result.stdout
    assert omnibus.mutations() == []


@pytest.mark.parametrize("value", [0, -2, "many"], ids=repr)
def test_concurrency_must_be_a_positive_number(value):
    from release_tools.config import Settings
    from release_tools.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"^release_tools\.publish\.concurrency must be a whole number of at least 1$"):
        Settings.from_mapping({"env_file": "", "publish": {"concurrency": value}}, environ={})
