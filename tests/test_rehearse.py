"""`release-tools rehearse VERSION`: whole releases run for real in a kept sandbox, then
looked at from the outside: the remotes' tags and branches, the API side the sandbox
kept (`sandbox.json`), its request log (`requests.jsonl`) and the Slack posts it got."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from release_tools.sandbox import Sandbox, saved
from release_tools.sandbox.repositories import BareRemote
from release_tools.version import Version

RELEASE_TOOLS = str(Path(sys.executable).parent / "release-tools")


@dataclass
class Rehearsed:
    """A finished `rehearse` run and the folder it kept."""

    returncode: int
    stdout: str
    stderr: str
    folder: Path

    @property
    def document(self) -> dict:
        return json.loads(self.stdout)

    def remote(self, instance: str, path: str) -> BareRemote:
        return BareRemote(self.folder / "remotes" / instance / f"{path}.git")

    def tags(self, instance: str, path: str) -> set[str]:
        return set(self.remote(instance, path).tags())

    def requests(self) -> list[dict]:
        return [json.loads(line) for line in (self.folder / "requests.jsonl").read_text().splitlines()]

    def mutations(self) -> list[dict]:
        """The API requests that could change something (the log also has the pushes the
        remotes' hooks announced and the Slack posts, with no instance)."""
        return [r for r in self.requests() if r["instance"] and r["method"] not in ("GET", "HEAD")]

    def slack(self) -> list[dict]:
        path = self.folder / "slack.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []

    def table(self, instance: str, name: str) -> list[dict]:
        state = json.loads((self.folder / "sandbox.json").read_text())
        return state["instances"][instance]["tables"].get(name, [])

    def project_id(self, instance: str, path: str) -> int:
        state = json.loads((self.folder / "sandbox.json").read_text())
        return next(p["id"] for p in state["instances"][instance]["projects"].values() if p["path_with_namespace"] == path)


def rehearse(folder: Path, *args: str, json_output: bool = True, cwd: Path | None = None) -> Rehearsed:
    """The real command, from an empty folder, with an empty HOME and nothing else set."""
    work = cwd or folder.parent / f"{folder.name}-cwd"
    work.mkdir(exist_ok=True)
    environ = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "LANG": "C.UTF-8", "TMPDIR": str(work)}
    command = [RELEASE_TOOLS, "rehearse", *(["--json"] if json_output else []), "--keep", str(folder), *args]
    completed = subprocess.run(command, cwd=work, env=environ, capture_output=True, text=True, timeout=300)
    return Rehearsed(completed.returncode, completed.stdout, completed.stderr, folder)


@pytest.fixture(scope="module")
def monthly(tmp_path_factory):
    return rehearse(tmp_path_factory.mktemp("monthly") / "sandbox", "11.1.0", json_output=False)


@pytest.fixture(scope="module")
def rc(tmp_path_factory):
    return rehearse(tmp_path_factory.mktemp("rc") / "sandbox", "11.1.0-rc2")


@pytest.fixture(scope="module")
def patch(tmp_path_factory):
    return rehearse(tmp_path_factory.mktemp("patch") / "sandbox", "11.1.2")


@pytest.fixture(scope="module")
def security(tmp_path_factory):
    return rehearse(tmp_path_factory.mktemp("security") / "sandbox", "--security", "11.1.2")


#: How the request log names the release tasks project's issues (as sent, without the query).
TASKS_ISSUES = "/gitlab.com/api/v4/projects/gitlab-org%2Frelease%2Ftasks/issues"

EDITIONS = {  # project key -> (gitlab.com path, dev path)
    "ce": ("gitlab-org/gitlab-ce", "gitlab/gitlabhq"),
    "ee": ("gitlab-org/gitlab-ee", "gitlab/gitlab-ee"),
    "omnibus": ("gitlab-org/omnibus-gitlab", "gitlab/omnibus-gitlab"),
}


def release_tags(text: str) -> dict[str, set[str]]:
    version = Version.parse(text)
    omnibus = {version.to_omnibus(ee=ee).tag for ee in (False, True)}
    return {"ce": {version.tag()}, "ee": {version.tag(ee=True)}, "omnibus": omnibus}


# -- a monthly release ---------------------------------------------------------------------------


def test_a_monthly_rehearsal_runs_every_step_reports_status_done_and_changes_nothing_the_second_time(monthly):
    lines = monthly.stdout.splitlines()

    assert monthly.returncode == 0, monthly.stdout + monthly.stderr
    steps = [line.split(":")[0] for line in lines if line.startswith("✓ ")]
    assert steps == ["✓ release issue", "✓ tag", "✓ QA issue", "✓ publish", "✓ chart"] * 2
    first = lines.index("Each step again, side by side: nothing may change")
    assert all(" done (" in line for line in lines[:first] if line.startswith("✓ "))
    assert all(": already done (" in line for line in lines[first:] if line.startswith("✓ "))
    assert [line.strip() for line in lines if line.strip().startswith("status: ")] == [
        f"status: {phase}: done" for phase in ("issue", "stable branches", "tags", "QA issue", "packages", "chart")
    ]
    assert lines[-3].startswith("Rehearsed 11.1.0: 5 steps run, 0 skipped;")
    assert "The second run of every step changed nothing: " in monthly.stdout
    assert "none mutating; no push, no ref moved, no Slack post." in monthly.stdout
    assert lines[-1] == f"The sandbox is kept in {monthly.folder}"


def test_the_kept_monthly_sandbox_holds_its_configuration_remotes_logs_and_slack_posts(monthly):
    folder = monthly.folder

    for name in ("sandbox.yaml", "sandbox.env", "requests.jsonl", "slack.jsonl", "sandbox.json"):
        assert (folder / name).is_file(), name
    assert oct((folder / "sandbox.env").stat().st_mode & 0o777) == "0o600"
    for key, (public, private) in EDITIONS.items():
        assert release_tags("11.1.0")[key] <= monthly.tags("production", public)
        assert release_tags("11.1.0")[key] <= monthly.tags("dev", private)
    assert "v1.1.0" in monthly.tags("production", "charts/gitlab")
    assert {"v11.2.0.pre"} <= monthly.tags("dev", "gitlab/gitlabhq")
    assert [(p["webhook"], p["text"]) for p in monthly.slack()] == [
        ("tag", "_Rita Release_ tagged `11.1.0-ee`"), ("tag", "_Rita Release_ tagged `11.1.0`"),
    ]


def test_the_monthly_request_log_has_the_issues_and_the_played_jobs_once(monthly):
    mutations = monthly.mutations()
    created = [r for r in mutations if r["method"] == "POST" and r["path"].endswith("/issues")]
    played = [r for r in mutations if r["path"].endswith("/play")]

    assert set(monthly.requests()[0]) == {"instance", "method", "path", "status"}
    assert [(r["instance"], r["path"], r["status"]) for r in created] == [("gitlab.com", TASKS_ISSUES, 201)] * 2
    assert len(played) == 7 and {r["instance"] for r in played} == {"dev.gitlab.org"}
    assert all(r["status"] < 300 for r in monthly.requests())
    hooks = [r for r in monthly.requests() if r["instance"] is None]
    assert {r["path"] for r in hooks} == {"/-/sandbox/pushed", "/-/sandbox/slack/tag"}
    issues = monthly.table("production", "issues")
    assert sorted((i["title"], i["confidential"]) for i in issues) == [("11.1.0 QA Issue", False), ("Release 11.1", False)]
    jobs = [j for j in monthly.table("dev", "jobs") if j.get("played_at") is not None]
    assert len(jobs) == 7 and {j["status"] for j in jobs} == {"success"}


# -- a release candidate and a patch ----------------------------------------------------------------


def test_an_rc_rehearsal_prepares_picks_merges_and_tags_without_a_chart(rc):
    document = rc.document

    assert rc.returncode == 0, rc.stderr
    assert [s["step"] for s in document["steps"]] == [
        "release issue", "preparation", "cherry-picks", "review", "tag", "QA issue", "publish",
    ]
    assert all(s["state"] == "done" for s in document["steps"])
    assert [s["state"] for s in document["again"]] == ["already done"] * 7
    again = document["again_changes"]
    assert again["requests"] > 0 and again["mutations"] == again["pushes"] == again["refs"] == again["slack"] == 0
    for key, (public, private) in EDITIONS.items():
        assert release_tags("11.1.0-rc2")[key] <= rc.tags("production", public) & rc.tags("dev", private)
    assert not {t for t in rc.tags("production", "charts/gitlab") if t.startswith("v1.1")}
    # The preparation merge requests were merged by the reviewer into the stable branches.
    for key, branch in (("ce", "11-1-stable"), ("ee", "11-1-stable-ee")):
        path = EDITIONS[key][0]
        [prepared] = [m for m in rc.table("production", "merge_requests") if m["project_id"] == rc.project_id("production", path) and "Release" in m["labels"]]
        assert (prepared["state"], prepared["source_branch"], prepared["target_branch"]) == ("merged", f"{branch}-prepare-rc2", branch)
        remote = rc.remote("production", path)
        assert remote.git("merge-base", "--is-ancestor", prepared["merge_commit_sha"], f"refs/tags/{'v11.1.0-rc2' + ('-ee' if key == 'ee' else '')}") == ""
        assert rc.remote("dev", EDITIONS[key][1]).sha(branch) == remote.sha(branch)
        picked = [m for m in remote.messages(branch, 12) if "(cherry picked from commit" in m]
        assert len(picked) == 3


def test_the_picked_merge_requests_get_one_comment_each_and_slack_hears_of_the_picks(patch):
    notes = patch.table("production", "notes")
    picked = [n for n in notes if "Picked into 11-1-stable" in n["body"]]
    posts = patch.slack()

    assert patch.returncode == 0, patch.stderr
    assert len(picked) == 6  # three on CE, three on EE, none twice
    assert [r for r in patch.mutations() if r["path"].endswith("/notes")] and all(
        r["instance"] == "gitlab.com" for r in patch.mutations() if r["path"].endswith("/notes")
    )
    assert [p["webhook"] for p in posts] == ["cherry_pick", "tag", "tag"]
    assert "11.1.2: picked" in posts[0]["text"]


def test_a_patch_rehearsal_tags_every_remote_and_the_chart(patch):
    document = patch.document

    assert [s["step"] for s in document["steps"]][-1] == "chart"
    for key, (public, private) in EDITIONS.items():
        assert release_tags("11.1.2")[key] <= patch.tags("production", public) & patch.tags("dev", private)
    assert "v1.1.2" in patch.tags("production", "charts/gitlab")
    assert set(document["phases"]) == {
        f"status: {phase}: done" for phase in ("issue", "preparation", "stable branches", "tags", "QA issue", "packages", "chart")
    }


# -- a security release -----------------------------------------------------------------------------


def test_a_security_rehearsal_stays_on_dev_and_its_issues_are_confidential(security):
    document = security.document

    assert security.returncode == 0, security.stderr
    assert [(s["step"], s["state"]) for s in document["steps"]][-1] == ("chart", "skipped")
    assert "the chart has no dev remote" in document["steps"][-1]["result"]
    for key, (public, private) in EDITIONS.items():
        assert release_tags("11.1.2")[key] <= security.tags("dev", private)
        assert not release_tags("11.1.2")[key] & security.tags("production", public)
    assert "v1.1.2" not in security.tags("production", "charts/gitlab")
    issues = security.table("production", "issues")
    assert sorted(i["title"] for i in issues) == ["11.1.2 QA Issue", "Release 11.1.2"]
    assert all(i["confidential"] for i in issues)
    public = [r for r in security.mutations() if r["instance"] == "gitlab.com"]
    assert {r["path"] for r in public} == {TASKS_ISSUES}
    assert "the public remotes and projects are untouched" in security.stderr
    # cherry_pick does not announce a security release; tag announces each edition.
    assert [p["webhook"] for p in security.slack()] == ["tag", "tag"]


def test_a_security_rehearsal_picks_the_fixes_merged_on_dev_into_dev_only(security):
    picks = [m for m in security.table("dev", "notes") if "Picked into" in m["body"]]
    merged = [m for m in security.table("dev", "merge_requests") if "Release" in m["labels"]]

    assert len(picks) == 6
    assert {m["state"] for m in merged} == {"merged"} and len(merged) == 2
    assert not [n for n in security.table("production", "notes")]
    branch = security.remote("dev", "gitlab/gitlabhq")
    assert branch.sha("11-1-stable") != security.remote("production", "gitlab-org/gitlab-ce").sha("11-1-stable")


# -- a failing step, and going on ------------------------------------------------------------------


def test_a_step_that_fails_stops_the_rehearsal_and_a_second_rehearsal_in_the_kept_folder_completes(tmp_path):
    folder = tmp_path / "sandbox"
    sandbox = Sandbox.create(folder, "11.1.0")
    frozen = sandbox.remote("omnibus", "gitlab").path / "hooks" / "pre-receive"
    frozen.write_text("#!/bin/sh\necho 'pushes to this remote are frozen' >&2\nexit 1\n")
    frozen.chmod(0o755)
    saved.save(sandbox)
    sandbox.stop()

    failed = rehearse(folder, "11.1.0", json_output=False)
    frozen.unlink()
    finished = rehearse(folder, "11.1.0", json_output=False)

    assert failed.returncode == 1
    assert "✗ tag failed: release-tools -f " in failed.stdout and "sandbox.yaml tag 11.1.0 (exit status 1)" in failed.stdout
    assert "pushes to this remote are frozen" in failed.stdout
    assert "QA issue" not in failed.stdout and "status:" not in failed.stdout
    assert f"The sandbox is kept in {folder}" in failed.stdout
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "Going on with the sandbox kept in" in finished.stdout
    assert finished.stdout.splitlines()[2].startswith("✓ release issue: already done")
    assert {"11.1.0+ce.0", "11.1.0+ee.0"} <= finished.tags("production", "gitlab-org/omnibus-gitlab")
    issues = finished.table("production", "issues")
    assert sorted(i["title"] for i in issues) == ["11.1.0 QA Issue", "Release 11.1"]  # one each, across both runs


# -- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("v11",), "Error: Version number must be in the following format"),
        (("--security", "11.1.0"), "Error: a security release is a patch release: 11.1.0 is not"),
        (("11.1.0-rc1",), "Error: a first RC has no preparation merge requests to rehearse: rehearse 11.1.0-rc2"),
    ],
)
def test_a_rehearsal_of_a_bad_version_is_one_line_and_makes_no_folder(tmp_path, args, message):
    result = rehearse(tmp_path / "sandbox", *args, json_output=False)

    assert result.returncode == 1
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert not (tmp_path / "sandbox").exists()


def test_a_kept_folder_of_another_version_is_refused(tmp_path):
    folder = tmp_path / "sandbox"
    sandbox = Sandbox.create(folder, "11.1.2")
    saved.save(sandbox)
    sandbox.stop()

    result = rehearse(folder, "11.1.0", json_output=False)

    assert result.returncode == 1
    assert f"holds a rehearsal of 11.1.2, not of 11.1.0" in result.stderr
    assert not (folder / "requests.jsonl").exists()


# -- the second run's check ------------------------------------------------------------------------


def test_a_step_that_changes_something_the_second_time_fails_the_rehearsal(tmp_path):
    from release_tools.rehearse import Rehearsal, RehearsalReport, StepFailed, Step

    rehearsal = Rehearsal(Version.parse("11.1.0"), tmp_path / "sandbox")
    rehearsal.documents = {}
    rehearsal.open()
    remote = rehearsal.sandbox.remote("ce", "gitlab")

    def move_a_branch(r):  # not idempotent: a new branch each time
        count = len(remote.branches())
        remote.git("branch", f"again-{count}", "master")
        return [f"made again-{count}"]

    rehearsal.steps = [Step("release issue", sandbox=lambda r: []), Step("restless", sandbox=move_a_branch)]
    report = RehearsalReport(rehearsal.version, rehearsal.root, False)
    try:
        with pytest.raises(StepFailed) as failure:
            rehearsal.again(report)
    finally:
        rehearsal.close()

    assert failure.value.step == "restless"
    assert "the second run changed something: " in failure.value.output and "1 ref changed" in failure.value.output


# -- a kept sandbox served again -------------------------------------------------------------------


def test_a_kept_sandbox_whose_port_is_taken_is_served_on_another_with_its_addresses_moved(tmp_path):
    import socket

    import gitlab

    sandbox = Sandbox.create(tmp_path / "sandbox", "11.1.2")
    old_url = sandbox.url
    saved.save(sandbox)
    sandbox.stop()
    taken = socket.socket()
    taken.bind(("127.0.0.1", int(old_url.rsplit(":", 1)[1])))
    try:
        kept = saved.load(tmp_path / "sandbox")
    finally:
        taken.close()

    with kept:
        client = gitlab.Gitlab(kept.production.url, private_token=kept.tokens["production"])
        project = client.projects.get("gitlab-org/gitlab-ce")
        picks = project.mergerequests.list(labels=["Pick into 11.1"], get_all=True)

    assert kept.url != old_url and kept.tokens == sandbox.tokens
    assert project.web_url.startswith(kept.url) and old_url not in project.web_url
    assert len(picks) == 3 and all(p.web_url.startswith(kept.url) for p in picks)


def test_the_benchmarks_picks_are_shaped_as_the_sandbox_seeds_them():
    from release_tools.sandbox import world
    from tests.benchmark_support import load_benchmark

    made = load_benchmark("rehearse").picks(10)

    assert len(made) == 10 and len(set(made)) == 10
    assert all(len(pick) == len(world.PICKS[0]) and pick[2] in {p[2] for p in world.PICKS} for pick in made)
