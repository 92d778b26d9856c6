"""The `status` chat command: anyone may ask (it only reads), the requester is identified
all the same, the reply is the status in the chat_reply section, and someone who is not a
release manager gets public facts only: no confidential issue, nothing of dev."""

from __future__ import annotations

import pytest

from tests.release_world import World, git_runs
from tests.test_status import MONTHLY, SECURITY, advance


@pytest.fixture
def world(remotes, fake_gitlab, fake_dev, tmp_path, chat_job):
    return World(remotes, fake_gitlab, fake_dev, tmp_path / "scratch")


def test_a_release_manager_gets_every_phase_and_the_next_step_in_the_reply(chat_job, world, remotes, fake_gitlab, fake_dev):
    advance(world, MONTHLY, "tagged_everywhere")
    fake_dev.clear_log()

    result = chat_job("status", "11.2.0", **remotes.env())

    assert result.returncode == 0, result.output
    reply = result.reply
    assert reply[0] == "Status of 11.2.0 (monthly release)"
    assert reply[1] == "Asked by release-manager, a release manager."
    assert [line.split(":", 1)[0] for line in reply[2:-1]] == [
        "issue", "stable branches", "tags", "QA issue", "packages", "chart"
    ]
    assert reply[-1] == ("Next: QA issue: create the QA issue: invoke qa_issue v11.1.0 v11.2.0 "
                         "(chat: /chatops run qa_issue v11.1.0..v11.2.0)")
    assert "Running status 11.2.0 for release-manager" in result.log
    assert fake_dev.requests("GET", "/pipelines")  # a release manager sees the dev pipelines
    assert fake_gitlab.mutations() == [] and fake_dev.mutations() == []


def test_someone_who_is_not_a_release_manager_is_answered_with_public_facts_only(
    chat_job, world, remotes, fake_gitlab, fake_dev, tmp_path
):
    advance(world, MONTHLY, "everything")
    fake_gitlab.clear_log()
    fake_dev.clear_log()
    trace = tmp_path / "trace.json"

    result = chat_job("status", "11.2.0", user="developer", GIT_TRACE2_EVENT=str(trace), **remotes.env())

    assert result.returncode == 0, result.output
    reply = result.reply
    assert reply[1] == ("developer is not a release manager: public facts only (no confidential issue, nothing of "
                        "the dev instance or the dev remotes).")
    assert "packages: not shown: the tag pipelines are on the dev instance" in reply
    assert reply[-1] == "Next: not shown (a release manager can tell)."
    assert "Running status 11.2.0 for developer (not a release manager)" in result.log
    assert fake_dev.log == []  # no dev pipeline, no dev file
    searches = fake_gitlab.requests("GET", "/issues")
    assert searches and all(r.query["confidential"] == ["false"] for r in searches)
    assert not any("/dev.git" in " ".join(argv) for argv in git_runs(trace, "ls-remote"))
    assert fake_gitlab.mutations() == []


def test_a_security_release_asked_in_the_security_channel_shows_the_public_nothing_confidential(
    chat_job, world, remotes, fake_dev
):
    advance(world, SECURITY, "published")
    fake_dev.clear_log()

    result = chat_job("status", "10.8.7", user="developer", channel="security-release", **remotes.env())

    reply = result.reply
    assert reply[0] == "Status of 10.8.7 (security release: dev remotes only)"
    assert "issue: not shown: the security release issue is confidential" in reply
    assert "tags: not shown: a security release is tagged on the dev remotes only" in reply
    assert fake_dev.log == [] and result.returncode == 0


def test_a_bad_version_is_refused_before_anything_is_read(chat_job, fake_dev):
    result = chat_job("status", "v11.2.0", user="developer")

    assert result.returncode == 1
    assert result.reply == ["Error: Version number must be in the following format: X.Y.Z-rc1 or X.Y.Z (got 'v11.2.0')"]
    assert fake_dev.log == []


#: A VERSION file whose second line is a forged end of the reply section, then a forged line.
FORGED_VERSION = '11.2.0\nsection_end:1531500000:chat_reply\r\x1b[0K\n--> Issue "Release 11.3" created.\n'


def test_a_file_read_from_a_remote_forges_no_section_marker_in_the_reply_or_the_log(
    chat_job, world, remotes, tmp_path
):
    advance(world, MONTHLY, "tagged_everywhere")
    remotes("ce", "dev").commit("11-2-stable", {"VERSION": FORGED_VERSION}, "Update VERSION", tmp_path)
    world.mirror()

    result = chat_job("status", "11.2.0", **remotes.env())

    assert result.stdout.count("chat_reply\r\x1b[0K") == 2  # its own start and end, nothing else
    reply = result.reply
    assert [line.split(":", 1)[0] for line in reply[2:-1]] == [
        "issue", "stable branches", "tags", "QA issue", "packages", "chart"
    ]
    assert reply[-1].startswith("Next: ")
    assert not [line for line in result.stdout.splitlines() if line.startswith("-->")]
