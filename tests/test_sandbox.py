"""The sandbox as part of the product: it imports without the test dependencies, serves
several instances on one server, and seeds a release world (the projects, people,
milestones and bare git remotes of a version) that the real tasks run in."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import gitlab
import pytest
import yaml

from release_tools.config import Settings
from release_tools.errors import ReleaseToolsError
from release_tools.sandbox import FakeGitLab, Sandbox, Server, add_issue, add_project, add_user
from release_tools.sandbox.pipelines import advance_jobs
from release_tools.sandbox.world import history
from release_tools.settings import Instance
from release_tools.version import Version
from tests.conftest import ROOT
from tests.repos import GIT_ENV

RELEASE_TOOLS = os.path.join(os.path.dirname(sys.executable), "release-tools")


def test_the_sandbox_imports_without_pytest():
    # An installed release-tools has no pytest: importing it must not need it.
    code = "import sys; sys.modules['pytest'] = None; import release_tools.sandbox; print('ok')"
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "ok\n"


def test_the_old_test_package_is_an_alias_of_the_sandbox():
    from release_tools.sandbox import members
    from tests.fake_gitlab import FakeGitLab as Aliased
    from tests.fake_gitlab.members import add_member

    assert Aliased is FakeGitLab and add_member is members.add_member


# -- one server, two instances ------------------------------------------------------------


def test_two_instances_share_one_server_each_below_its_prefix():
    with Server() as server:
        production = FakeGitLab("gitlab.com", server, "gitlab.com")
        dev = FakeGitLab("dev.gitlab.org", server, "/dev.gitlab.org/")
        add_user(production, "rita-release", token="production-token")
        add_user(dev, "rita", token="dev-token")
        add_project(production, "gitlab-org/release/tasks")
        for number in range(45):
            add_issue(production, "gitlab-org/release/tasks", f"Issue {number}")

        assert (production.url, dev.url) == (f"{server.url}/gitlab.com", f"{server.url}/dev.gitlab.org")
        on_production = gitlab.Gitlab(production.url, private_token="production-token")
        on_dev = gitlab.Gitlab(dev.url, private_token="dev-token")
        project = on_production.projects.get("gitlab-org/release/tasks")
        # python-gitlab follows the Link headers, which keep the instance's prefix.
        issues = project.issues.list(iterator=True, per_page=20)
        assert len(list(issues)) == 45
        assert project.web_url == f"{production.url}/gitlab-org/release/tasks"
        on_dev.auth()
        assert on_dev.user.username == "rita"
        with pytest.raises(gitlab.GitlabAuthenticationError):
            gitlab.Gitlab(dev.url, private_token="production-token").auth()

    assert {r.path for r in dev.log} == {"/user"}
    pages = [r.query.get("page") for r in production.log if r.path.endswith("/issues")]
    assert pages == [None, ["2"], ["3"]]


def test_a_shared_server_answers_404_outside_its_instances():
    with Server() as server:
        FakeGitLab("gitlab.com", server, "gitlab.com")
        for path in ("/api/v4/user", "/gitlab.community/api/v4/user"):
            with pytest.raises(urllib.error.HTTPError) as error:
                urllib.request.urlopen(server.url + path)
            assert error.value.code == 404

        with pytest.raises(ValueError, match="already serves an instance at '/gitlab.com'"):
            FakeGitLab("again", server, "/gitlab.com")


def test_messages_name_an_instance_with_its_relative_url():
    assert Instance("dev", "http://127.0.0.1:8080/dev.gitlab.org", "T").host == "127.0.0.1:8080/dev.gitlab.org"
    assert Instance("production", "https://gitlab.com/", "T").host == "gitlab.com"


# -- the release world of a version -----------------------------------------------------------


@pytest.mark.parametrize(
    "version, released",
    [
        ("11.1.0-rc1", []),
        ("11.1.0-rc4", ["11.1.0-rc1", "11.1.0-rc2", "11.1.0-rc3"]),
        ("11.1.0", ["11.1.0-rc1", "11.1.0-rc2", "11.1.0-rc3"]),
        ("11.1.2", ["11.1.0-rc1", "11.1.0-rc2", "11.1.0-rc3", "11.1.0", "11.1.1"]),
    ],
)
def test_the_history_before_a_release(version, released):
    assert [str(v) for v in history(Version.parse(version))] == released


@pytest.fixture(scope="module")
def monthly(tmp_path_factory):
    """The world of 11.1.0, built once for the tests that only read it."""
    with Sandbox.create(tmp_path_factory.mktemp("monthly") / "sandbox", "11.1.0") as sandbox:
        yield sandbox


def test_every_project_has_identical_dev_and_gitlab_remotes_where_the_configuration_says(monthly):
    root = monthly.root
    found = sorted(str(r.path.relative_to(root)) for _, _, r in monthly.remotes())

    assert found == [
        "remotes/dev/gitlab/gitlab-ee.git",
        "remotes/dev/gitlab/gitlabhq.git",
        "remotes/dev/gitlab/omnibus-gitlab.git",
        "remotes/production/charts/gitlab.git",
        "remotes/production/gitlab-org/gitlab-ce.git",
        "remotes/production/gitlab-org/gitlab-ee.git",
        "remotes/production/gitlab-org/omnibus-gitlab.git",
        "remotes/production/gitlab-org/release/tasks.git",
    ]
    for key in ("ce", "ee", "omnibus"):
        dev, production = monthly.remote(key, "dev"), monthly.remote(key, "gitlab")
        assert dev.branches() == production.branches() and dev.tags() == production.tags()


def test_a_monthly_world_holds_the_rcs_and_the_previous_minor(monthly):
    ce, ee, omnibus = (monthly.remote(key, "gitlab") for key in ("ce", "ee", "omnibus"))

    assert sorted(ce.tags()) == ["v11.0.0", "v11.0.1", "v11.1.0-rc1", "v11.1.0-rc2", "v11.1.0-rc3"]
    assert sorted(ee.branches()) == ["11-0-stable-ee", "11-1-stable-ee", "master"]
    assert ce.show("master", "VERSION") == "11.1.0-pre\n"
    assert ce.show("11-1-stable", "VERSION") == "11.1.0-rc3\n"
    assert ee.show("11-1-stable-ee", "VERSION") == "11.1.0-rc3-ee\n"
    assert ce.show("v11.0.1", "VERSION") == "11.0.1\n"
    assert "## 11.0.1\n" in ce.show("11-1-stable", "CHANGELOG.md")
    # The month's entries wait on the stable branch: a community one, a security one.
    entries = ce.files("11-1-stable", "changelogs/unreleased")
    assert {"changelogs/unreleased/fix-login.yml", "changelogs/unreleased/security-escape-titles.yml"} <= set(entries)
    assert "author: Joe Contributor" in ce.show("11-1-stable", "changelogs/unreleased/fix-login.yml")
    assert "type: security" in ce.show("11-1-stable", "changelogs/unreleased/security-escape-titles.yml")
    assert "ee/changelogs/unreleased/geo-fix.yml" in ee.files("11-1-stable-ee", "ee/changelogs/unreleased")
    assert "changelogs/unreleased/next-month.yml" not in entries
    assert ee.show("v11.1.0-rc3-ee", "GITALY_SERVER_VERSION")

    assert {"11.1.0+rc3.ce.0", "11.1.0+rc3.ee.0", "11.0.1+ee.0"} <= set(omnibus.tags())
    assert omnibus.show("11-1-stable-ee", "VERSION") == "11.1.0-rc3-ee\n"
    assert "gitlab-11.0.1" in omnibus.show("master", "docker/openshift-template.json")
    assert omnibus.show("master", "GITLAB_SHELL_VERSION")


def test_a_monthly_world_has_the_chart_of_the_previous_minor(monthly):
    chart = monthly.remote("helm", "gitlab")

    assert sorted(chart.tags()) == ["v1.0.0", "v1.0.1"]
    assert "version: 1.0.1\n" in chart.show("master", "Chart.yaml")
    assert "appVersion: master" in chart.show("master", "Chart.yaml")
    assert "appVersion: 11.0.1" in chart.show("v1.0.1", "Chart.yaml")
    assert chart.files("master", "charts/gitlab/charts")


def test_the_instances_hold_the_projects_people_and_milestones(monthly):
    production = gitlab.Gitlab(monthly.production.url, private_token=monthly.tokens["production"])
    dev = gitlab.Gitlab(monthly.dev.url, private_token=monthly.tokens["dev"])
    production.auth()
    dev.auth()

    assert (production.user.username, dev.user.username) == ("rita-release", "rita")
    ce = production.projects.get("gitlab-org/gitlab-ce")
    assert ce.branches.get("11-1-stable").commit["id"] == monthly.remote("ce", "gitlab").sha("11-1-stable")
    tagged = dev.projects.get("gitlab/gitlabhq").commits.get("v11.1.0-rc3")
    assert tagged.id == monthly.remote("ce", "dev").sha("v11.1.0-rc3")
    for path in ("gitlab-org/release/tasks", "gitlab-org/omnibus-gitlab", "charts/gitlab", "gitlab-org/release-tools"):
        production.projects.get(path)
    for path in ("gitlab/gitlab-ee", "gitlab/omnibus-gitlab", "gitlab/release-tools"):
        dev.projects.get(path)
    milestones = {m.title: m.state for m in production.groups.get("gitlab-org").milestones.list(get_all=True)}
    assert milestones == {"11.0": "closed", "11.1": "active", "11.2": "active"}
    assert [m.title for m in dev.projects.get("gitlab/gitlabhq").milestones.list(title="11.1")] == ["11.1"]
    assert [u.username for u in production.users.list(username="omar-rehearsal")] == ["omar-rehearsal"]
    group = production.groups.get("gitlab-org/release/managers")
    assert [m.username for m in group.members.list(get_all=True)] == ["rita-release"]
    assert [m.username for m in dev.groups.get("gitlab/release/managers").members.list(get_all=True)] == ["rita"]
    assert "Omar Rehearsal:\n  gitlab.com: omar-rehearsal\n  gitlab.org: omar\n" in (
        monthly.root / "release_managers.yml"
    ).read_text()


def test_the_configuration_has_the_shape_of_the_tests_and_passes_the_checks(monthly):
    tree = monthly.tree()
    settings = Settings.from_mapping(tree, monthly.environ())

    assert settings.instance("dev").url == monthly.dev.url
    assert settings.instance("production").url == monthly.production.url
    assert dict(settings.project("omnibus").remotes)["dev"] == monthly.remote("omnibus", "dev").url
    assert settings.has_token("dev") and settings.has_token("production")
    assert yaml.safe_load(monthly.yaml()) == {"release_tools": tree}
    assert set(monthly.environ()) == {"GITLAB_API_PRIVATE_TOKEN", "DEV_API_PRIVATE_TOKEN"}


def test_the_configuration_files_name_the_sandbox_and_hold_its_tokens(tmp_path):
    sandbox = Sandbox.create(tmp_path / "sandbox", "11.1.0")

    config, env = sandbox.write_configuration()

    assert yaml.safe_load(config.read_text()) == {"release_tools": sandbox.tree()}
    assert sandbox.tree()["env_file"] == str(env)
    assert env.read_text().splitlines() == [
        f"GITLAB_API_PRIVATE_TOKEN={sandbox.tokens['production']}",
        f"DEV_API_PRIVATE_TOKEN={sandbox.tokens['dev']}",
    ]
    assert env.stat().st_mode & 0o077 == 0
    assert sandbox.tokens["production"] not in config.read_text()


def test_a_patch_world_holds_the_earlier_patches_and_a_pick_waiting(tmp_path):
    sandbox = Sandbox.create(tmp_path / "sandbox", "11.1.2")
    ce, chart = sandbox.remote("ce", "dev"), sandbox.remote("helm", "gitlab")

    assert {"v11.1.0", "v11.1.1", "v11.1.0-rc3"} <= set(ce.tags()) and "v11.1.2" not in ce.tags()
    assert ce.show("11-1-stable", "VERSION") == "11.1.1\n"
    changelog = ce.show("11-1-stable", "CHANGELOG.md")
    assert changelog.index("## 11.1.1") < changelog.index("## 11.1.0") < changelog.index("## 11.0.1")
    assert ce.files("11-1-stable", "changelogs/unreleased") == [
        "changelogs/unreleased/.gitkeep",
        "changelogs/unreleased/fix-2.yml",
    ]
    # The final release took the month's entries off master too.
    assert "changelogs/unreleased/fix-login.yml" not in ce.files("master", "changelogs/unreleased")
    assert sorted(chart.tags()) == ["v1.0.0", "v1.0.1", "v1.1.0", "v1.1.1"]
    assert "appVersion: 11.1.1" in chart.show("v1.1.1", "Chart.yaml")


def test_a_patch_world_has_merged_merge_requests_to_pick(tmp_path):
    sandbox = Sandbox.create(tmp_path / "sandbox", "11.1.2")

    with sandbox:
        production = gitlab.Gitlab(sandbox.production.url, private_token=sandbox.tokens["production"])
        for key, path in (("ce", "gitlab-org/gitlab-ce"), ("ee", "gitlab-org/gitlab-ee")):
            picks = production.projects.get(path).mergerequests.list(labels="Pick into 11.1", state="merged", get_all=True)
            assert sorted(mr.iid for mr in picks) == [3001, 3002, 3003]
            master = sandbox.remote(key, "gitlab").git("rev-list", "--first-parent", "master").split()
            assert all(mr.merge_commit_sha in master for mr in picks)
            assert {mr.milestone["title"] for mr in picks} == {"11.1"}
            assert {mr.author["username"] for mr in picks} == {"joe-contributor", "ann-other"}


def test_monthly_and_rc1_worlds_have_nothing_to_pick(monthly, tmp_path):
    rc1 = Sandbox.create(tmp_path / "sandbox", "11.1.0-rc1")

    assert monthly.production.table("merge_requests") == [] == rc1.production.table("merge_requests")


def test_a_branch_created_through_the_api_is_in_the_projects_remote(tmp_path):
    sandbox = Sandbox.create(tmp_path / "sandbox", "11.1.2")
    before = sandbox.remote("ce", "dev").digest()

    with sandbox:
        production = gitlab.Gitlab(sandbox.production.url, private_token=sandbox.tokens["production"])
        production.projects.get("gitlab-org/gitlab-ce").branches.create({"branch": "11-1-stable-patch-2", "ref": "11-1-stable"})

    remote = sandbox.remote("ce", "gitlab")
    assert remote.branches()["11-1-stable-patch-2"] == remote.sha("11-1-stable")
    assert sandbox.remote("ce", "dev").digest() == before


def test_an_rc1_world_has_no_stable_branch_yet(tmp_path):
    sandbox = Sandbox.create(tmp_path / "sandbox", "11.1.0-rc1")

    assert "11-1-stable" not in sandbox.remote("ce", "gitlab").branches()
    assert sandbox.remote("ce", "gitlab").show("master", "VERSION") == "11.1.0-pre\n"


def test_the_people_come_from_a_release_managers_file_when_given(tmp_path):
    managers = tmp_path / "managers.yml"
    managers.write_text("Pat Person:\n  gitlab.com: pat-person\n  gitlab.org: pat\n")

    sandbox = Sandbox.create(tmp_path / "sandbox", "11.1.0", release_managers=managers)

    [person] = sandbox.production.users.values()
    assert person["username"] == "pat-person"
    assert [u["username"] for u in sandbox.dev.users.values()] == ["pat"]
    assert sandbox.production.tokens == {sandbox.tokens["production"]: person["id"]}


def test_a_sandbox_in_a_relative_folder_names_its_remotes_absolutely(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    sandbox = Sandbox.create(Path("rehearsal"), "11.1.0-rc1")

    assert sandbox.root == tmp_path / "rehearsal"
    assert sandbox.tree()["projects"]["ce"]["remotes"]["dev"] == (
        (tmp_path / "rehearsal/remotes/dev/gitlab/gitlabhq.git").as_uri()
    )


def test_a_sandbox_needs_a_folder_of_its_own(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")

    with pytest.raises(ReleaseToolsError, match="is not empty: the sandbox needs a folder of its own"):
        Sandbox.create(tmp_path / "taken", "11.1.0")
    assert os.listdir(tmp_path / "taken") == ["notes.txt"]


# -- pushes -----------------------------------------------------------------------------------


def push(remote, ref, tmp_path, *, tag=None):
    """Clone `remote`, optionally tag `ref` as `tag`, and push with git as anyone would."""
    work = tmp_path / f"clone-{len(list(tmp_path.glob('clone-*')))}"
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "clone", "--quiet", remote.url, str(work)], check=True, env=env)
    if tag:
        subprocess.run(["git", "tag", "-a", "-m", f"Version {tag}", tag, f"origin/{ref}"], cwd=work, check=True, env=env)
        refspec = f"refs/tags/{tag}"
    else:
        subprocess.run(["git", "commit", "--quiet", "--allow-empty", "-m", "A change"], cwd=work, check=True, env=env)
        refspec = f"HEAD:refs/heads/{ref}"
    completed = subprocess.run(["git", "push", "origin", refspec], cwd=work, env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    return completed


def wait_for_jobs(instance, status, timeout=10.0):
    """Wait until every played job of `instance` has `status` (played jobs move on by themselves)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with instance.lock:
            advance_jobs(instance)
            played = [j for j in instance.table("jobs") if j.get("played_at")]
            if played and all(j["status"] == status for j in played):
                return
        time.sleep(0.05)
    raise AssertionError(f"the played jobs did not reach {status} within {timeout} s")


def test_a_tag_pushed_to_dev_omnibus_gets_its_pipeline_whose_played_jobs_run_and_succeed(tmp_path):
    sandbox = Sandbox.create(tmp_path / "sandbox", "11.1.0")
    remote = sandbox.remote("omnibus", "dev")

    with sandbox:
        push(remote, "11-1-stable-ee", tmp_path, tag="11.1.0+ee.0")
        dev = gitlab.Gitlab(sandbox.dev.url, private_token=sandbox.tokens["dev"])
        project = dev.projects.get("gitlab/omnibus-gitlab")
        [pipeline] = project.pipelines.list(ref="11.1.0+ee.0", scope="tags")
        manual = pipeline.jobs.list(scope="manual", get_all=True)
        job = project.jobs.get(manual[0].id, lazy=True)
        job.play()
        seen = [project.jobs.get(manual[0].id).status]
        deadline = time.monotonic() + 10
        while seen[-1] != "success" and time.monotonic() < deadline:
            time.sleep(0.05)
            status = project.jobs.get(manual[0].id).status
            if status != seen[-1]:
                seen.append(status)

    assert pipeline.sha == remote.sha("11.1.0+ee.0")
    # The release jobs of EE (no Raspberry Pi package), and one that is not a release job.
    assert [j.name for j in manual] == ["Ubuntu-16.04-release", "CentOS-7-release", "Docker-Release", "upload-metrics"]
    assert seen == ["pending", "running", "success"]
    assert [j["status"] for j in sandbox.dev.table("jobs")].count("manual") == 3


def test_a_push_reaches_the_project_and_elsewhere_makes_no_pipeline(tmp_path):
    sandbox = Sandbox.create(tmp_path / "sandbox", "11.1.0")

    with sandbox:
        push(sandbox.remote("omnibus", "gitlab"), "11-1-stable", tmp_path, tag="11.1.0+ce.0")
        push(sandbox.remote("ce", "dev"), "master", tmp_path)
        production = gitlab.Gitlab(sandbox.production.url, private_token=sandbox.tokens["production"])
        dev = gitlab.Gitlab(sandbox.dev.url, private_token=sandbox.tokens["dev"])
        tagged = production.projects.get("gitlab-org/omnibus-gitlab").commits.get("11.1.0+ce.0")
        master = dev.projects.get("gitlab/gitlabhq").branches.get("master")

    assert tagged.id == sandbox.remote("omnibus", "gitlab").sha("11.1.0+ce.0")
    assert master.commit["id"] == sandbox.remote("ce", "dev").sha("master")
    assert master.commit["title"] == "A change"
    assert sandbox.production.table("pipelines") == [] == sandbox.dev.table("pipelines")


def test_a_push_to_a_stopped_sandbox_lands_and_the_hook_stays_quiet(tmp_path):
    sandbox = Sandbox.create(tmp_path / "sandbox", "11.1.0")

    completed = push(sandbox.remote("omnibus", "dev"), "11-1-stable", tmp_path, tag="11.1.0+ce.0")

    assert "11.1.0+ce.0" in sandbox.remote("omnibus", "dev").tags()
    assert "was not told" not in completed.stderr
    assert sandbox.dev.table("pipelines") == []


def test_a_push_the_sandbox_cannot_be_told_of_lands_with_a_warning(tmp_path, closed_port):
    sandbox = Sandbox.create(tmp_path / "sandbox", "11.1.0")
    sandbox.url_file.write_text(f"http://127.0.0.1:{closed_port}\n")  # as a sandbox that died

    completed = push(sandbox.remote("ce", "gitlab"), "master", tmp_path)

    assert "the sandbox was not told of this push: " in completed.stderr
    assert sandbox.remote("ce", "gitlab").subjects("master", 1) == ["A change"]


def test_the_push_endpoint_refuses_what_is_not_a_push_of_its_remotes(tmp_path):
    sandbox = Sandbox.create(tmp_path / "sandbox", "11.1.0-rc1")

    with sandbox:
        answers = []
        for body in (b"not json", b'{"repository": "/elsewhere.git", "updates": []}', b'{"updates": 1}'):
            request = urllib.request.Request(sandbox.url + "/-/sandbox/pushed", body, {"Content-Type": "application/json"})
            with pytest.raises(urllib.error.HTTPError) as error:
                urllib.request.urlopen(request)
            answers.append(error.value.code)

    assert answers == [400, 404, 400]


# -- real tasks in the sandbox ------------------------------------------------------------------


def release_tools(sandbox, command, tmp_path):
    """`release-tools -f sandbox.yaml COMMAND` as a release manager would run it (the
    tokens come from sandbox.env, which the configuration names)."""
    config, _ = sandbox.write_configuration()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8", **GIT_ENV}
    completed = subprocess.run(
        [RELEASE_TOOLS, "-f", str(config), *shlex.split(command)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    for token in sandbox.tokens.values():
        assert token not in completed.stdout + completed.stderr
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


def test_a_monthly_release_runs_for_real_in_the_sandbox(tmp_path):
    sandbox = Sandbox.create(tmp_path / "sandbox", "11.1.0")
    with sandbox:
        issue = release_tools(sandbox, "monthly_issue 11.1.0", tmp_path)
        release_tools(sandbox, "tag 11.1.0 --yes", tmp_path)
        release_tools(sandbox, "helm.tag_chart '' 11.1.0 --yes", tmp_path)
        release_tools(sandbox, "qa_issue v11.1.0-rc3 v11.1.0", tmp_path)
        release_tools(sandbox, "publish 11.1.0 --yes", tmp_path)
        release_tools(sandbox, "release_managers.sync --yes", tmp_path)
        wait_for_jobs(sandbox.dev, "success")
        status = release_tools(sandbox, "status 11.1.0", tmp_path)

    assert f"{sandbox.production.url}/gitlab-org/release/tasks/issues/1" in issue.stdout
    assert [i["title"] for i in sandbox.production.table("issues")] == ["Release 11.1", "11.1.0 QA Issue"]
    for key, remote in (("ce", "dev"), ("ce", "gitlab"), ("ee", "dev"), ("ee", "gitlab")):
        tags = sandbox.remote(key, remote).tags()
        assert ("v11.1.0-ee" if key == "ee" else "v11.1.0") in tags
    assert {"11.1.0+ce.0", "11.1.0+ee.0"} <= set(sandbox.remote("omnibus", "dev").tags())
    assert "v1.1.0" in sandbox.remote("helm", "gitlab").tags()
    # The instances saw the pushes, the played jobs finished, the sync added the missing manager.
    assert "v11.1.0-ee" in {t["name"] for t in sandbox.production.table("tags")}
    assert "stable branches: done" in status.stdout and "packages: done" in status.stdout
    assert "tags: done" in status.stdout and "chart: done" in status.stdout
    assert {r.path for r in sandbox.production.mutations()} >= {"/projects/gitlab-org/release/tasks/issues"}
    assert any(r.method == "POST" and r.path.endswith("/members") for r in sandbox.dev.mutations())
