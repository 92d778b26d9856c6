"""An unreachable or failing GitLab: a connection that cannot be made fails fast, 5xx and
429 answers are retried within `release_tools.api.max_wait` (honouring Retry-After), and
each retry is said on stderr as it happens."""

from __future__ import annotations

import socket
import time

import pytest
import requests

from release_tools import issues
from release_tools.config import Settings
from release_tools.errors import ConfigurationError, GitLabTransientError
from release_tools.retries import Retries, RetryPolicy, describe, is_unsent, retry_after
from release_tools.version import Version
from tests.conftest import RELEASE_TASKS
from release_tools.sandbox import add_milestone

ISSUES = f"/projects/{RELEASE_TASKS}/issues"


def ensure_monthly(settings):
    issues.ensure_issue(settings, issues.monthly_issue(settings, Version.parse("11.1.0")))


# -- the policy, on its own ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"Retry-After": "1"}, 1.0),
        ({"Retry-After": " 30 "}, 30.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:20 GMT"}, 10.0),
        ({"RateLimit-Reset": "1445412500"}, 10.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "１"}, None),  # a fullwidth digit is no number of seconds
        ({}, None),
    ],
    ids=["seconds", "spaces", "http-date", "ratelimit-reset", "garbage", "fullwidth", "none"],
)
def test_retry_after_reads_seconds_dates_and_rate_limit_resets(headers, expected):
    assert retry_after(headers, now=1445412490.0) == expected


def test_retries_double_their_delay_and_stop_at_the_count_or_the_total_wait(capsys):
    quick = Retries(RetryPolicy("gitlab.com", first_delay=0.0, retries=3))
    assert [quick.wait("gitlab.com answered 502") for _ in range(4)] == [True, True, True, False]
    assert quick.stopped == "3 retries made"
    assert capsys.readouterr().err.splitlines()[-1] == "gitlab.com answered 502; retrying in 0 s (3 of 3)"

    bounded = Retries(RetryPolicy("gitlab.com", max_wait=10))
    assert bounded.delay() == 0.5
    assert bounded.wait("gitlab.com answered 429", asked=11) is False  # not even started
    assert bounded.stopped == "waiting 11 s more would pass release_tools.api.max_wait of 10 s"
    assert capsys.readouterr().err == ""


def test_a_refused_connection_is_told_apart_from_a_lost_answer(closed_port):
    with pytest.raises(requests.ConnectionError) as refused:
        requests.get(f"http://127.0.0.1:{closed_port}/", timeout=5)

    assert is_unsent(refused.value) and describe(refused.value) == "connection refused"
    lost = requests.exceptions.ChunkedEncodingError("Connection broken")
    assert not is_unsent(lost) and describe(lost) == "connection lost"


def test_a_name_that_does_not_resolve_is_said_so():
    # Built the way urllib3 and requests chain it, without asking a resolver (tests stay offline).
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    try:
        try:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        except socket.gaierror as cause:
            raise NewConnectionError(None, "Failed to resolve 'gitlab.example'") from cause
    except NewConnectionError as reason:
        error = requests.ConnectionError(MaxRetryError(None, "/api/v4/user", reason))

    assert is_unsent(error) and describe(error) == "name not resolved"


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_max_wait_must_be_a_positive_number_of_seconds(tree, environ, value):
    with pytest.raises(ConfigurationError, match=r"^release_tools\.api\.max_wait must be a number of seconds above 0"):
        Settings.from_mapping({**tree, "api": {"max_wait": value}}, environ)


# -- against the fake GitLab ----------------------------------------------------------------------------


def test_two_502s_then_an_answer_succeed_and_each_retry_is_said(settings, fake_gitlab, capsys):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    fake_gitlab.fail(502, times=2, method="GET", path=ISSUES)

    ensure_monthly(settings)

    assert len(fake_gitlab.table("issues")) == 1
    host = fake_gitlab.url.split("//")[1]
    assert capsys.readouterr().err.splitlines() == [
        f"{host} answered 502; retrying in 0.5 s (1 of 5)",
        f"{host} answered 502; retrying in 1 s (2 of 5)",
    ]


def test_a_429_waits_as_long_as_retry_after_asks(settings, fake_gitlab, capsys):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    fake_gitlab.fail(429, method="GET", path=ISSUES, retry_after=1)

    ensure_monthly(settings)

    first, second = fake_gitlab.requests("GET", ISSUES)[:2]
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0
    assert capsys.readouterr().err.endswith("answered 429; retrying in 1 s (1 of 5)\n")


def test_a_429_asking_for_more_than_max_wait_is_not_waited_for(settings, fake_gitlab):
    fake_gitlab.fail(429, method="GET", path=ISSUES, retry_after=3600)
    started = time.monotonic()

    with pytest.raises(GitLabTransientError) as error:
        ensure_monthly(settings)

    assert time.monotonic() - started < 5
    assert str(error.value).endswith(
        ": 429 Too Many Requests (waiting 3600 s more would pass release_tools.api.max_wait of 60 s)"
    )
    assert len(fake_gitlab.requests("GET", ISSUES)) == 1
    assert fake_gitlab.mutations() == []


def test_a_429_on_a_create_is_retried_since_gitlab_did_nothing(settings, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    fake_gitlab.fail(429, method="POST", path=ISSUES, retry_after=0)

    ensure_monthly(settings)

    assert [r.status for r in fake_gitlab.requests("POST")] == [429, 201]
    assert len(fake_gitlab.table("issues")) == 1


def test_a_gitlab_failing_for_good_stops_within_max_wait(settings, fake_gitlab, capsys):
    fake_gitlab.fail(500, times=1000, method="GET")
    started = time.monotonic()

    with pytest.raises(GitLabTransientError, match=r"failed while searching for issue 'Release 11\.1' in .*: 500"):
        ensure_monthly(settings.with_changes(api_max_wait=2))

    assert time.monotonic() - started < 2 + 1  # waits of 0.5 s and 1 s; the next (2 s) would pass 2 s
    assert len(fake_gitlab.requests("GET")) == 3
    assert len(capsys.readouterr().err.splitlines()) == 2


# -- the CLI ---------------------------------------------------------------------------------------------


def test_a_refused_connection_ends_within_seconds_with_one_error_line(invoke, closed_port):
    port = closed_port
    started = time.monotonic()

    result = invoke("monthly_issue", "11.1.0", env={"INVOKE_RELEASE_TOOLS_INSTANCES_PRODUCTION_URL": f"http://127.0.0.1:{port}"})

    assert time.monotonic() - started < 5
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"cannot reach 127.0.0.1:{port} (connection refused); retrying in 0.5 s (1 of 1)",
        f"Error: cannot reach 127.0.0.1:{port} while searching for issue 'Release 11.1': connection refused",
    ]


def test_the_cli_says_each_retry_and_honours_max_wait_from_the_environment(invoke, fake_gitlab):
    fake_gitlab.fail(503, times=1000, method="GET")
    started = time.monotonic()

    result = invoke("monthly_issue", "11.1.0", env={"INVOKE_RELEASE_TOOLS_API_MAX_WAIT": "1"})

    assert time.monotonic() - started < 5
    host = fake_gitlab.url.split("//")[1]
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{host} answered 503; retrying in 0.5 s (1 of 5)",
        f"Error: {host} failed while searching for issue 'Release 11.1' in {RELEASE_TASKS}: 503 injected fault",
    ]
    assert fake_gitlab.mutations() == []
