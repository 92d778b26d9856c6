"""What `status` reads through the GitLab adapter, against the fake GitLab over HTTP: raw
files (`files/:path/raw`), commit ranges, public-only issue searches; and the pure parts
(checklists, the refs of a release, the phases of each kind)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from release_tools.errors import GitLabNotFoundError
from release_tools.gitlab import GitLab
from release_tools.status import checklist, phases_of, release_refs
from release_tools.version import Version
from tests.conftest import PRODUCTION_TOKEN, RELEASE_TASKS
from release_tools.sandbox import add_commit, add_issue, add_project, add_tag, encoded

CE = "gitlab-org/gitlab-ce"


@pytest.fixture
def ce(fake_gitlab):
    add_project(fake_gitlab, CE)
    add_commit(fake_gitlab, CE, "Initial import", files={"VERSION": "11.1.0-pre\n", "app/user.rb": "class User\nend\n"})
    add_commit(fake_gitlab, CE, "Update VERSION to 11.1.0", files={"VERSION": "11.1.0\n", "app/user.rb": None})
    add_tag(fake_gitlab, CE, "v11.1.0")
    add_commit(fake_gitlab, CE, "Update VERSION to 11.2.0-pre", files={"VERSION": "11.2.0-pre\n"})
    return fake_gitlab


def test_the_raw_file_endpoint_answers_a_file_at_a_ref_as_text_with_gitlabs_headers(ce):
    request = urllib.request.Request(
        f"{ce.url}/api/v4/projects/{encoded(CE)}/repository/files/{encoded('VERSION')}/raw?ref=v11.1.0",
        headers={"PRIVATE-TOKEN": PRODUCTION_TOKEN},
    )
    with urllib.request.urlopen(request) as response:
        body, headers = response.read(), response.headers
    assert body == b"11.1.0\n"
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["X-Gitlab-File-Path"] == "VERSION" and headers["X-Gitlab-Ref"] == "v11.1.0"
    assert headers["X-Gitlab-Blob-Id"] == "68d8f15e23cf5bc533ee9341289169127d337265"  # git hash-object of 11.1.0\n


def test_raw_files_through_the_adapter_follow_history_and_say_what_is_missing(ce, settings):
    gitlab = GitLab(settings, "production")

    assert gitlab.raw_file(CE, "VERSION", "v11.1.0") == "11.1.0\n"
    assert gitlab.raw_file(CE, "VERSION", "master") == "11.2.0-pre\n"
    assert gitlab.raw_file(CE, "app/user.rb", "master") is None  # removed in a later commit
    with pytest.raises(GitLabNotFoundError, match="404 Commit Not Found"):
        gitlab.raw_file(CE, "VERSION", "11-1-stable")
    assert {r.method for r in ce.log} == {"GET"}


def test_an_unknown_ref_and_a_missing_file_are_different_404s(ce):
    def answer(path: str, ref: str) -> tuple[int, bytes]:
        request = urllib.request.Request(
            f"{ce.url}/api/v4/projects/{encoded(CE)}/repository/files/{encoded(path)}/raw?ref={ref}",
            headers={"PRIVATE-TOKEN": PRODUCTION_TOKEN},
        )
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    assert answer("VERSION", "no-such-branch") == (404, b'{"message": "404 Commit Not Found"}')
    assert answer("CHANGELOG.md", "master") == (404, b'{"message": "404 File Not Found"}')


def test_commits_between_two_refs_are_read_newest_first(ce, settings):
    commits = GitLab(settings, "production").commits_between(CE, "v11.1.0", "master")

    assert [commit.title for commit in commits] == ["Update VERSION to 11.2.0-pre"]
    [request] = ce.requests("GET", "/repository/commits")
    assert request.query["ref_name"] == ["v11.1.0..master"]


def test_a_public_only_issue_search_asks_gitlab_for_public_issues(fake_gitlab, settings):
    add_issue(fake_gitlab, RELEASE_TASKS, "Release 11.1.2", labels=["Release"], confidential=True)
    gitlab = GitLab(settings, "production")

    assert gitlab.find_issue(RELEASE_TASKS, "Release 11.1.2", ("Release",), confidential=False) is None
    assert gitlab.find_issue(RELEASE_TASKS, "Release 11.1.2", ("Release",)) is not None
    first, second = fake_gitlab.requests("GET", "/issues")
    assert first.query["confidential"] == ["false"] and "confidential" not in second.query


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("- [x] one\n- [ ] two\n* [X] three\n  - [ ] nested\n1. [x] numbered", (3, 5)),
        ("no checklist [x] here\n-[x] not an item", (0, 0)),
        ("", (0, 0)),
    ],
    ids=["items", "not-items", "empty"],
)
def test_checklist_counts_task_list_items(description, expected):
    assert checklist(description) == expected


@pytest.mark.parametrize(
    ("version", "phases"),
    [
        ("11.2.0", ["issue", "stable_branches", "tags", "qa_issue", "packages", "chart"]),
        ("11.2.0-rc3", ["issue", "preparation", "stable_branches", "tags", "qa_issue", "packages"]),
        ("11.1.2", ["issue", "preparation", "stable_branches", "tags", "qa_issue", "packages", "chart"]),
    ],
    ids=["monthly", "rc", "patch"],
)
def test_each_kind_of_release_has_its_phases(version, phases):
    assert phases_of(Version.parse(version)) == phases


def test_the_refs_of_a_release_are_those_the_tag_task_makes():
    refs = {r.key: r for r in release_refs(Version.parse("11.2.0"))}
    assert refs["ee"].branches == (("11-2-stable-ee", "11.2.0-ee"),) and refs["ee"].tags == ("v11.2.0-ee",)
    assert refs["ce"].tags == ("v11.2.0", "v11.3.0.pre")
    assert refs["omnibus"].branches == (("11-2-stable-ee", "11.2.0-ee"), ("11-2-stable", "11.2.0"))
    assert refs["omnibus"].tags == ("11.2.0+ee.0", "11.2.0+ce.0")
    rc = {r.key: r for r in release_refs(Version.parse("11.2.0-rc2"))}
    assert rc["ce"].tags == ("v11.2.0-rc2",) and rc["omnibus"].tags == ("11.2.0+rc2.ee.0", "11.2.0+rc2.ce.0")
