"""The fake GitLab itself: the behaviour of gitlab.com that the other tests rely on."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.conftest import PRODUCTION_TOKEN, RELEASE_TASKS
from release_tools.sandbox import add_issue, encoded


def get(fake, path, token=PRODUCTION_TOKEN):
    request = urllib.request.Request(fake.url + "/api/v4" + path, headers={"PRIVATE-TOKEN": token} if token else {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def test_pagination_headers_follow_gitlab(fake_gitlab):
    for number in range(45):
        add_issue(fake_gitlab, RELEASE_TASKS, f"Issue {number}")

    status, headers, body = get(fake_gitlab, f"/projects/{encoded(RELEASE_TASKS)}/issues?page=2")

    assert status == 200 and len(body) == 20
    assert (headers["X-Page"], headers["X-Per-Page"], headers["X-Total"], headers["X-Total-Pages"]) == ("2", "20", "45", "3")
    assert (headers["X-Next-Page"], headers["X-Prev-Page"]) == ("3", "1")
    assert f'<{fake_gitlab.url}/api/v4/projects/{encoded(RELEASE_TASKS)}/issues?page=3&per_page=20>; rel="next"' in headers["Link"]
    assert 'rel="last"' in headers["Link"] and 'rel="first"' in headers["Link"]


def test_per_page_is_capped_at_100(fake_gitlab):
    for number in range(120):
        add_issue(fake_gitlab, RELEASE_TASKS, f"Issue {number}")

    _, headers, body = get(fake_gitlab, f"/projects/{encoded(RELEASE_TASKS)}/issues?per_page=500")

    assert len(body) == 100 and headers["X-Per-Page"] == "100" and headers["X-Next-Page"] == "2"


def test_last_page_has_no_next(fake_gitlab):
    add_issue(fake_gitlab, RELEASE_TASKS, "Only")

    _, headers, _ = get(fake_gitlab, f"/projects/{encoded(RELEASE_TASKS)}/issues")

    assert headers["X-Next-Page"] == "" and 'rel="next"' not in headers["Link"]


@pytest.mark.parametrize("token", [None, "wrong"])
def test_missing_or_wrong_token_is_401(fake_gitlab, token):
    status, _, body = get(fake_gitlab, "/user", token=token)

    assert (status, body) == (401, {"message": "401 Unauthorized"})


def test_unknown_project_and_route_are_404_shaped_like_gitlab(fake_gitlab):
    assert get(fake_gitlab, "/projects/nope%2Fnope/issues")[::2] == (404, {"message": "404 Project Not Found"})
    assert get(fake_gitlab, "/nothing/here")[::2] == (404, {"error": "404 Not Found"})


def test_faults_are_served_then_cleared_and_everything_is_logged(fake_gitlab):
    fake_gitlab.fail(502, times=2, path="/user")

    statuses = [get(fake_gitlab, "/user")[0] for _ in range(3)]

    assert statuses == [502, 502, 200]
    assert [(r.method, r.path, r.status) for r in fake_gitlab.log] == [("GET", "/user", 502)] * 2 + [("GET", "/user", 200)]
    assert fake_gitlab.mutations() == []


def test_issue_search_filters(fake_gitlab):
    add_issue(fake_gitlab, RELEASE_TASKS, "Release 11.1", labels=["Release"])
    add_issue(fake_gitlab, RELEASE_TASKS, "Release 11.1.1", labels=["Release", "security"], confidential=True)
    add_issue(fake_gitlab, RELEASE_TASKS, "Other", labels=["Release"], description="Release 11.1 mentioned")

    def titles(query):
        return sorted(i["title"] for i in get(fake_gitlab, f"/projects/{encoded(RELEASE_TASKS)}/issues?{query}")[2])

    assert titles("search=Release%2011.1&in=title") == ["Release 11.1", "Release 11.1.1"]
    assert titles("search=Release%2011.1") == ["Other", "Release 11.1", "Release 11.1.1"]
    assert titles("labels=Release,security") == ["Release 11.1.1"]
    assert titles("not[labels]=security") == ["Other", "Release 11.1"]
    assert titles("confidential=true") == ["Release 11.1.1"]
