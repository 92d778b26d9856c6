"""The fake GitLab's repository, merge request and pipeline areas: the answers gitlab.com
gives (shapes, filters, pagination, 400/404/409) that the QA, publish and preparation
tests rely on."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.conftest import PRODUCTION_TOKEN
from release_tools.sandbox import (
    add_branch,
    add_commit,
    add_job,
    add_merge_request,
    add_pipeline,
    add_project,
    add_tag,
    encoded,
)

EE = "gitlab-org/gitlab-ee"
P = f"/projects/{encoded(EE)}"


def call(fake, method, path, data=None):
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(
        fake.url + "/api/v4" + path,
        data=body,
        method=method,
        headers={"PRIVATE-TOKEN": PRODUCTION_TOKEN, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


@pytest.fixture
def ee(fake_gitlab):
    add_project(fake_gitlab, EE)
    return fake_gitlab


def test_compare_lists_the_commits_between_two_refs_oldest_first(ee):
    add_commit(ee, EE, "Update VERSION to 11.1.0-rc1-ee")
    add_tag(ee, EE, "v11.1.0-rc1-ee")
    first = add_commit(ee, EE, "Merge branch 'a' into 'master'\n\nSee merge request gitlab-org/gitlab-ee!1")
    add_branch(ee, EE, "side", "v11.1.0-rc1-ee")
    side = add_commit(ee, EE, "Side work", branch="side")
    merge = add_commit(ee, EE, "Merge branch 'side'", parents=[first["id"], side["id"]])
    add_tag(ee, EE, "v11.1.0-rc2-ee")

    status, _, body = call(ee, "GET", f"{P}/repository/compare?from=v11.1.0-rc1-ee&to=v11.1.0-rc2-ee")

    assert status == 200
    assert [c["id"] for c in body["commits"]] == [first["id"], side["id"], merge["id"]]
    assert body["commit"]["id"] == merge["id"]
    assert set(body["commits"][0]) >= {"id", "short_id", "title", "message", "parent_ids", "author_name", "committed_date"}
    assert (body["diffs"], body["compare_timeout"], body["compare_same_ref"]) == ([], False, False)


def test_unknown_refs_are_404_for_commits_and_compare(ee):
    add_commit(ee, EE, "Initial")

    assert call(ee, "GET", f"{P}/repository/commits/v9.9.9")[::2] == (404, {"message": "404 Commit Not Found"})
    assert call(ee, "GET", f"{P}/repository/compare?from=master&to=v9.9.9")[::2] == (404, {"message": "404 Ref Not Found"})
    assert call(ee, "GET", f"{P}/repository/commits/master")[0] == 200


def test_commit_list_takes_a_revision_range_and_pages(ee):
    add_commit(ee, EE, "Initial")
    add_tag(ee, EE, "start")
    made = [add_commit(ee, EE, f"Change {n}") for n in range(30)]

    status, headers, body = call(ee, "GET", f"{P}/repository/commits?ref_name=start..master&per_page=20")

    assert status == 200 and headers["X-Total"] == "30" and headers["X-Next-Page"] == "2"
    assert body[0]["id"] == made[-1]["id"]  # newest first, like git log


def test_branch_creation_answers_like_gitlab(ee):
    add_commit(ee, EE, "Initial")
    add_branch(ee, EE, "11-1-stable-ee")

    created = call(ee, "POST", f"{P}/repository/branches", {"branch": "11-1-stable-ee-patch-1", "ref": "11-1-stable-ee"})
    again = call(ee, "POST", f"{P}/repository/branches", {"branch": "11-1-stable-ee-patch-1", "ref": "11-1-stable-ee"})
    bad_ref = call(ee, "POST", f"{P}/repository/branches", {"branch": "x", "ref": "11-9-stable-ee"})
    missing = call(ee, "POST", f"{P}/repository/branches", {"ref": "master"})

    assert created[0] == 201 and created[2]["name"] == "11-1-stable-ee-patch-1"
    assert set(created[2]) >= {"name", "commit", "merged", "protected", "developers_can_push", "developers_can_merge"}
    assert again[::2] == (400, {"message": "Branch already exists"})
    assert bad_ref[::2] == (400, {"message": "Invalid reference name: 11-9-stable-ee"})
    assert missing[::2] == (400, {"error": "branch is missing"})
    assert call(ee, "GET", f"{P}/repository/branches/11-1-stable-ee-patch-1")[0] == 200
    assert call(ee, "GET", f"{P}/repository/branches/nope")[::2] == (404, {"message": "404 Branch Not Found"})


def test_merge_request_list_filters_by_iids_state_labels_and_branches(ee):
    for iid in range(1, 6):
        add_merge_request(ee, EE, f"MR {iid}", iid=iid, labels=["Platform"] if iid % 2 else [], state="merged" if iid < 5 else "opened")

    def iids(query):
        return sorted(m["iid"] for m in call(ee, "GET", f"{P}/merge_requests?{query}")[2])

    assert iids("iids[]=1&iids[]=2&iids[]=5") == [1, 2, 5]
    assert iids("iids[]=1&iids[]=2&iids[]=5&state=merged") == [1, 2]
    assert iids("labels=Platform&state=all") == [1, 3, 5]
    assert iids("state=opened") == [5]
    assert iids("source_branch=branch-3&target_branch=master") == [3]
    assert call(ee, "GET", f"{P}/merge_requests?state=bogus")[0] == 400


def test_list_items_are_sparser_than_a_single_merge_request(ee):
    add_merge_request(ee, EE, "Fix", iid=18745, labels=["Platform"])

    [listed] = call(ee, "GET", f"{P}/merge_requests?iids[]=18745")[2]
    status, _, single = call(ee, "GET", f"{P}/merge_requests/18745")

    assert status == 200 and "diff_refs" in single and "diff_refs" not in listed
    assert {"iid", "title", "labels", "author", "web_url", "merged_by", "state"} <= set(listed)
    assert listed["web_url"].endswith("/gitlab-org/gitlab-ee/merge_requests/18745")
    assert call(ee, "GET", f"{P}/merge_requests/99")[::2] == (404, {"message": "404 Not found"})


def test_a_second_open_merge_request_for_the_same_branches_is_409(ee):
    data = {"title": "WIP: Prepare 11.1.1-ee release", "source_branch": "a", "target_branch": "b", "remove_source_branch": True}

    first = call(ee, "POST", f"{P}/merge_requests", data)
    second = call(ee, "POST", f"{P}/merge_requests", data)

    assert first[0] == 201 and first[2]["state"] == "opened" and first[2]["force_remove_source_branch"] is True
    assert second[0] == 409 and "already exists" in second[2]["message"][0]


def test_pipelines_and_manual_jobs_filter_like_gitlab(ee):
    old = add_pipeline(ee, EE, "11.1.0+ee.0")
    new = add_pipeline(ee, EE, "11.1.0+ee.0")
    add_pipeline(ee, EE, "11-1-stable-ee", tag=False)
    manual = [add_job(ee, new, f"job {n}", "package-release") for n in range(3)]
    add_job(ee, new, "done", "package-release", status="success")

    status, headers, pipelines = call(ee, "GET", f"{P}/pipelines?scope=tags&ref=11.1.0%2Bee.0&per_page=1")
    jobs = call(ee, "GET", f"{P}/pipelines/{new['id']}/jobs?scope[]=manual")[2]
    same = call(ee, "GET", f"{P}/pipelines/{new['id']}/jobs?scope=manual")[2]

    assert status == 200 and [p["id"] for p in pipelines] == [new["id"]] and headers["X-Total"] == "2"
    assert old["id"] < new["id"]
    assert [j["id"] for j in jobs] == [j["id"] for j in manual] == [j["id"] for j in same]
    assert call(ee, "GET", f"{P}/pipelines/{new['id']}/jobs?scope[]=bogus")[0] == 400


def test_pipeline_lists_are_sparser_than_a_single_pipeline(ee):
    from release_tools.sandbox import add_chat_pipeline

    tagged = add_pipeline(ee, EE, "11.1.0+ee.0")
    chat = add_chat_pipeline(ee, EE, "release-manager")

    listed = call(ee, "GET", f"{P}/pipelines")[2]
    singles = [call(ee, "GET", f"{P}/pipelines/{p['id']}") for p in (tagged, chat)]

    # As GitLab answers: lists name nobody; a single pipeline says who started it.
    list_shape = {"id", "iid", "project_id", "sha", "ref", "status", "source", "created_at", "updated_at", "web_url"}
    assert [set(item) for item in listed] == [list_shape, list_shape]
    for status, _, single in singles:
        assert status == 200 and set(single) >= list_shape | {"tag", "user", "before_sha", "started_at", "duration"}
    assert [s[2]["user"]["username"] for s in singles] == ["release-manager", "release-manager"]
    assert [s[2]["tag"] for s in singles] == [True, False]
    assert singles[0][2]["web_url"] == f"{ee.url}/{EE}/-/pipelines/{tagged['id']}"


def test_playing_a_manual_job_starts_it_once(ee):
    job = add_job(ee, add_pipeline(ee, EE, "11.1.0+ce.0"), "Ubuntu-16.04-release", "package-release")

    played = call(ee, "POST", f"{P}/jobs/{job['id']}/play")
    again = call(ee, "POST", f"{P}/jobs/{job['id']}/play")

    assert played[0] == 200 and played[2]["status"] == "pending"
    assert again[::2] == (400, {"message": "400 Bad request - Unplayable Job"})
    assert call(ee, "POST", f"{P}/jobs/1/play")[0] == 404


# -- members -------------------------------------------------------------------------------


def test_group_members_need_an_owner_and_answer_409_and_404_like_gitlab(fake_gitlab):
    from release_tools.sandbox import add_group, add_member, add_user
    from release_tools.sandbox.members import MAINTAINER, OWNER

    add_group(fake_gitlab, "gitlab-org/release/managers")
    ada = add_user(fake_gitlab, "ada")
    path = f"/groups/{encoded('gitlab-org/release/managers')}/members"
    member = {"user_id": ada["id"], "access_level": MAINTAINER}

    assert call(fake_gitlab, "POST", path, member)[0] == 403  # not an owner (yet)
    add_member(fake_gitlab, "gitlab-org", fake_gitlab.release_manager, OWNER)  # owners of a parent group may
    status, _, body = call(fake_gitlab, "POST", path, member)
    assert (status, body["username"], body["access_level"]) == (201, "ada", MAINTAINER)
    assert call(fake_gitlab, "POST", path, member)[:3:2] == (409, {"message": "Member already exists"})
    assert call(fake_gitlab, "DELETE", f"{path}/{ada['id']}")[0] == 204
    assert call(fake_gitlab, "DELETE", f"{path}/{ada['id']}")[0] == 404
    assert call(fake_gitlab, "GET", path)[2] == []


def test_project_users_include_the_members_of_its_groups(fake_gitlab):
    from release_tools.sandbox import add_member, add_user

    add_project(fake_gitlab, EE)
    add_member(fake_gitlab, EE, add_user(fake_gitlab, "carl", "Carl Coder"), project=True)
    add_member(fake_gitlab, "gitlab-org", add_user(fake_gitlab, "dana", "Dana Dev"))
    add_user(fake_gitlab, "stranger")

    status, _, users = call(fake_gitlab, "GET", f"{P}/users")

    assert status == 200 and [u["username"] for u in users] == ["carl", "dana"]


def test_a_direct_membership_below_an_inherited_one_is_refused_and_members_all_shows_the_highest(fake_gitlab):
    from release_tools.sandbox import add_group, add_member, add_user
    from release_tools.sandbox.members import DEVELOPER, MAINTAINER, OWNER

    add_member(fake_gitlab, "gitlab-org", fake_gitlab.release_manager, OWNER)
    add_group(fake_gitlab, "gitlab-org/release/managers")
    boss, dev = add_user(fake_gitlab, "boss"), add_user(fake_gitlab, "dev")
    add_member(fake_gitlab, "gitlab-org", boss, OWNER)
    add_member(fake_gitlab, "gitlab-org", dev, DEVELOPER)
    path = f"/groups/{encoded('gitlab-org/release/managers')}/members"

    # GitLab refuses a direct membership lower than one inherited from a parent group.
    refused = call(fake_gitlab, "POST", path, {"user_id": boss["id"], "access_level": MAINTAINER})
    raised = call(fake_gitlab, "POST", path, {"user_id": dev["id"], "access_level": MAINTAINER})
    everyone = call(fake_gitlab, "GET", f"{path}/all?user_ids[]={boss['id']}&user_ids[]={dev['id']}")[2]

    assert refused[::2] == (
        400,
        {"message": {"access_level": ["should be greater than or equal to Owner inherited membership from group gitlab-org"]}},
    )
    assert raised[0] == 201
    assert sorted((m["username"], m["access_level"]) for m in everyone) == [("boss", OWNER), ("dev", MAINTAINER)]
    assert [m["username"] for m in call(fake_gitlab, "GET", path)[2]] == ["dev"]


# -- the job of a CI job token ------------------------------------------------------------------


def job_request(fake, headers=None, query=""):
    request = urllib.request.Request(fake.url + "/api/v4/job" + query, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_job_token_reads_its_own_job_with_its_pipeline_and_user_as_gitlab_answers(ee):
    from release_tools.sandbox import add_chat_job, add_chat_pipeline

    pipeline = add_chat_pipeline(ee, EE, "release-manager")
    job = add_chat_job(ee, pipeline)

    by_header = job_request(ee, {"JOB-TOKEN": job["token"]})
    by_parameter = job_request(ee, query=f"?job_token={job['token']}")

    status, body = by_header
    assert by_parameter == by_header and status == 200
    # GitLab's job entity: the pipeline as PipelineBasic, the user as User, no token.
    assert set(body) >= {"id", "status", "stage", "name", "ref", "tag", "coverage", "allow_failure", "created_at",
                         "started_at", "finished_at", "erased_at", "duration", "queued_duration", "user", "commit",
                         "pipeline", "web_url", "project", "artifacts", "runner", "artifacts_expire_at", "tag_list"}
    assert "token" not in body and "project_id" not in body
    assert body["pipeline"] == {key: pipeline[key] for key in
                                ("id", "iid", "project_id", "sha", "ref", "status", "source", "created_at", "updated_at", "web_url")}
    assert (body["id"], body["status"], body["user"]["username"]) == (job["id"], "running", "release-manager")
    assert body["web_url"] == f"{ee.url}/{EE}/-/jobs/{job['id']}"


def test_job_token_is_valid_only_while_its_job_runs(ee):
    from release_tools.sandbox import add_chat_job, add_chat_pipeline

    job = add_chat_job(ee, add_chat_pipeline(ee, EE, "release-manager"))
    manual = add_job(ee, add_pipeline(ee, EE, "11.1.0+ee.0"), "release", "package-release")

    running = job_request(ee, {"JOB-TOKEN": job["token"]})[0]
    job["status"] = "success"
    finished = job_request(ee, {"JOB-TOKEN": job["token"]})

    assert running == 200
    assert finished == (401, {"message": "401 Unauthorized"})
    assert job_request(ee, {"JOB-TOKEN": manual["token"]})[0] == 401
    assert job_request(ee, {"JOB-TOKEN": "glcbt-not-a-token"})[0] == 401
    assert job_request(ee)[0] == 401
    # A personal token authenticates, but there is no job to show.
    assert job_request(ee, {"PRIVATE-TOKEN": PRODUCTION_TOKEN}) == (404, {"message": "404 Job Not Found"})


def test_job_token_authenticates_nothing_but_the_job_endpoints(ee):
    from release_tools.sandbox import add_chat_job, add_chat_pipeline

    job = add_chat_job(ee, add_chat_pipeline(ee, EE, "release-manager"))
    request = urllib.request.Request(ee.url + f"/api/v4{P}/pipelines", headers={"JOB-TOKEN": job["token"]})

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)

    assert refused.value.code == 401
