"""The CE-to-EE upstream merge on real bare CE and EE remotes with really conflicting
changes, against the fake GitLab and a local Slack receiver."""

from __future__ import annotations

import datetime
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from release_tools import upstream_merge as um
from release_tools.clock import Clock
from release_tools.config import Settings
from release_tools.errors import ConfigurationError, ReleaseStateError
from release_tools.gitlab import User
from release_tools.plan import Status
from tests.conftest import PRODUCTION_TOKEN
from release_tools.sandbox import FakeGitLab, add_member, add_merge_request, add_milestone, add_project, add_user
from tests.repos import GIT_ENV, UPSTREAM_CONFLICTS, BareRemote
from tests.slack_receiver import SlackReceiver

NOW = datetime.datetime(2018, 7, 20, 15, 30, tzinfo=datetime.timezone.utc)
EE = "gitlab-org/gitlab-ee"
FALLBACK = ["fallback-one", "fallback-two"]


def seed(fake: FakeGitLab, release_manager: bool = True) -> None:
    if release_manager:
        add_user(fake, "release-manager", "Rita Release", token=PRODUCTION_TOKEN)
    add_project(fake, EE)
    add_project(fake, "gitlab-org/gitlab-ce")
    carl = add_user(fake, "carl", "Carl Coder (OOO until Monday)")
    dana = add_user(fake, "dana", "Dana Dev")
    add_user(fake, "ellen", "Ellen Enterprise")  # a user, not a member of EE
    for name in FALLBACK:
        add_user(fake, name)
    add_member(fake, EE, carl, project=True)
    add_member(fake, "gitlab-org", dana)
    # Two milestones run on the 20th: the one due last is current.
    add_milestone(fake, "gitlab-org", "11.0", group=True, start_date="2018-05-08", due_date="2018-06-22")
    add_milestone(fake, "gitlab-org", "11.1", group=True, start_date="2018-06-08", due_date="2018-07-22")
    add_milestone(fake, "gitlab-org", "11.2", group=True, start_date="2018-07-08", due_date="2018-08-22")


def make_settings(fake, root: Path, environ=None, **flags) -> Settings:
    tree = {
        "instances": {"production": {"url": fake.url}},
        "env_file": "",
        "projects": {key: {"remotes": {"dev": "", "gitlab": (root / f"{key}.git").as_uri()}} for key in ("ce", "ee")},
        "upstream_merge": {"fallback_assignees": FALLBACK},
    }
    return Settings.from_mapping(tree, {"GITLAB_API_PRIVATE_TOKEN": PRODUCTION_TOKEN, **(environ or {})}, **flags)


def run(settings, now=NOW):
    """Run the upstream merge as if it were `now`; return its plan, run."""
    return um.upstream_merge(settings.with_changes(clock=Clock(moment=now, source="the test")))


def steps(plan):
    return [(step.kind, step.summary, step.state.value) for step in plan.steps]


PUSH = ("git.push", "push ce-to-ee-2018-07-20 to gitlab (gitlab-org/gitlab-ee)")
OPEN = (
    "merge_request.create",
    'open the merge request "CE upstream - 2018-07-20 15:30 UTC" from ce-to-ee-2018-07-20 into master in gitlab-org/gitlab-ee',
)
TELL = ("slack.post", "tell Slack about the merge request")


@dataclass
class World:
    fake: FakeGitLab
    slack: SlackReceiver
    root: Path
    ce: BareRemote
    ee: BareRemote

    def settings(self, environ=None, **flags):
        return make_settings(
            self.fake, self.root, {"SLACK_UPSTREAM_MERGE_URL": self.slack.url, **(environ or {})}, **flags
        )


@pytest.fixture
def world(upstream_template, tmp_path, git_identity):
    root = tmp_path / "upstream"
    shutil.copytree(upstream_template, root)
    with FakeGitLab("gitlab.com") as fake, SlackReceiver() as slack:
        seed(fake)
        yield World(fake, slack, root, BareRemote(root / "ce.git"), BareRemote(root / "ee.git"))


# -- pure rules ---------------------------------------------------------------------------


def test_branch_and_title_are_named_after_the_utc_time():
    assert um.branch_name(NOW) == "ce-to-ee-2018-07-20"
    assert um.branch_name(NOW, ["ce-to-ee-2018-07-20"]) == "ce-to-ee-2018-07-20-1530"
    assert um.title(NOW) == "CE upstream - 2018-07-20 15:30 UTC"


def test_commit_message_lists_the_conflicts_and_skips_ci():
    message = um.commit_message("ce-to-ee-2018-07-20", [("UU", "app/a.rb"), ("UD", "lib/$(rm -rf).rb")])

    assert message == (
        "Merge remote-tracking branch 'upstream/master' into ce-to-ee-2018-07-20\n\n"
        "Conflicts left in for resolution in the merge request:\n"
        "    (UU) app/a.rb\n    (UD) lib/$(rm -rf).rb\n\n[ci skip]\n"
    )


@pytest.mark.parametrize(
    "author, expected",
    [
        ("Carl Coder", "carl"),
        ("  carl   CODER ", "carl"),
        ("Carl Coder (OOO)", "carl"),
        ("carl", "carl"),  # the username itself
        ("Dana Dev", None),  # two members share that name: no guess
        ("Sam Stranger", None),
    ],
    ids=str,
)
def test_authors_map_to_members_by_normalised_name(author, expected):
    index = um.member_index(
        [User(1, "carl", "Carl Coder (OOO until Monday)"), User(2, "dana", "Dana Dev"), User(3, "dana2", "Dana  Dev")]
    )

    assert um.map_author(index, author) == expected


def conflict(username):
    return um.Conflict("UU", f"{username}.rb", username or "Someone", username)


def test_responsible_has_most_conflicts_ties_go_alphabetically_and_fallback_rotates():
    day = datetime.date(2018, 7, 20)

    assert um.choose_responsible([conflict("zoe"), conflict("amy"), conflict("zoe")], FALLBACK, day) == "zoe"
    assert um.choose_responsible([conflict("zoe"), conflict("Amy"), conflict(None)], FALLBACK, day) == "Amy"
    picks = {um.choose_responsible([conflict(None)], FALLBACK, day + datetime.timedelta(days=n)) for n in range(2)}
    assert picks == set(FALLBACK)
    assert um.choose_responsible([], [], day) is None


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0, "0 seconds ago"),
        (1, "1 second ago"),
        (150, "2 minutes ago"),
        (7200, "2 hours ago"),
        (86400 * 9, "1 week ago"),
    ],
)
def test_time_ago_names_the_largest_unit(seconds, text):
    assert um.time_ago(NOW - datetime.timedelta(seconds=seconds), NOW) == text


# -- a merge with conflicts, end to end (run once, inspected by several tests) ---------------


@dataclass
class Conflicted:
    world: World
    plan: object
    ee_master: str
    ce_master: str


@pytest.fixture(scope="module")
def conflicted(upstream_template, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        for name, value in GIT_ENV.items():
            patch.setenv(name, value)
        root = tmp_path_factory.mktemp("conflicted") / "upstream"
        shutil.copytree(upstream_template, root)
        with FakeGitLab("gitlab.com") as fake, SlackReceiver() as slack:
            seed(fake)
            world = World(fake, slack, root, BareRemote(root / "ce.git"), BareRemote(root / "ee.git"))
            ee_master, ce_master = world.ee.sha("master"), world.ce.sha("master")
            plan = run(world.settings())
            yield Conflicted(world, plan, ee_master, ce_master)


def test_conflicted_merge_is_pushed_as_a_merge_commit_with_the_markers_in(conflicted):
    ee = conflicted.world.ee

    branch = "ce-to-ee-2018-07-20"
    assert ee.git("rev-list", "--parents", "-1", branch).split()[1:] == [conflicted.ee_master, conflicted.ce_master]
    assert ee.sha("master") == conflicted.ee_master  # EE master itself is untouched
    assert ee.messages(branch, 1) == [
        "Merge remote-tracking branch 'upstream/master' into ce-to-ee-2018-07-20\n\n"
        "Conflicts left in for resolution in the merge request:\n"
        "    (UU) app/models/user.rb\n    (AA) config/feature.yml\n    (UU) lib/gitlab.rb\n    (UD) lib/legacy.rb\n\n"
        "[ci skip]"
    ]
    user = ee.show(branch, "app/models/user.rb")
    assert "<<<<<<<" in user and "prepend EE::User" in user and "attr_reader :name" in user
    assert ee.show(branch, "doc/new.md") == "# New\n"  # the clean part of the merge
    assert ee.show(branch, "lib/legacy.rb") == "# legacy, fixed for EE\n"  # deleted by CE, kept for resolving


def test_conflicted_merge_request_names_the_last_author_of_each_file(conflicted):
    fake = conflicted.world.fake
    [mr] = fake.table("merge_requests")

    assert mr["title"] == "CE upstream - 2018-07-20 15:30 UTC"
    assert (mr["source_branch"], mr["target_branch"], mr["labels"]) == (
        "ce-to-ee-2018-07-20",
        "master",
        ["CE upstream"],
    )
    assert mr["milestone"]["title"] == "11.2"
    assert [a["username"] for a in mr["assignees"]] == ["carl"]  # two of the four files
    assert [r.path for r in fake.log if r.path == "/users"] == []  # a member: no user lookup needed
    assert mr["force_remove_source_branch"] is True
    blob = f"{fake.url}/{EE}/blob/ce-to-ee-2018-07-20"
    for path, (state, author) in UPSTREAM_CONFLICTS.items():
        who = {"Carl Coder": "@carl", "Dana Dev": "@dana"}.get(author, f"`{author}`")  # a stranger: code, no mention
        assert f"- [ ] {who} [(`{state}`) `{path}`]({blob}/{path})\n" in mr["description"]
    assert "@carl answers for this merge request" in mr["description"]
    assert "{{" not in mr["description"] and "@Sam" not in mr["description"]


def test_conflicted_merge_is_a_plan_that_pushes_opens_and_announces_the_merge_request(conflicted):
    url = f"{conflicted.world.fake.url}/{EE}/merge_requests/1"
    plan = conflicted.plan

    assert (plan.status, plan.exit_status) == (Status.DONE, 0)
    assert steps(plan) == [(*PUSH, "done"), (*OPEN, "done"), (*TELL, "done")]
    push, opened, _ = plan.steps
    assert (push.target.project, push.target.remote, push.target.refs) == (EE, "gitlab", ("refs/heads/ce-to-ee-2018-07-20",))
    assert (opened.result, opened.urls) == (url, (url,))
    assert [p["text"] for p in conflicted.world.slack.posts] == [
        f"Created a new merge request <{url}|{EE}!1> with 4 conflicts! :warning:"
    ]


def test_conflicted_merge_left_ce_alone(conflicted):
    assert conflicted.world.ce.sha("master") == conflicted.ce_master
    assert sorted(conflicted.world.ce.branches()) == ["clean", "master"]


def test_no_mention_wraps_every_name_in_backticks(conflicted):
    settings = conflicted.world.settings(no_mention=True)
    conflicts = [um.Conflict("UU", "a.rb", "Carl Coder", "carl"), um.Conflict("UD", "b.rb", "Sam Stranger")]

    description = um.render_description(settings, "ce-to-ee-2018-07-20", conflicts, "carl")

    assert "- [ ] `carl` [(`UU`) `a.rb`]" in description and "- [ ] `Sam Stranger` [(`UD`) `b.rb`]" in description
    assert "`carl` answers for this merge request" in description and "@" not in description


def test_conflict_links_survive_spaces_and_parentheses_in_paths(conflicted):
    settings = conflicted.world.settings()
    conflicts = [um.Conflict("UU", "doc/user guide (draft).md", "Carl Coder", "carl")]

    description = um.render_description(settings, "ce-to-ee-2018-07-20", conflicts, "carl")

    blob = f"{conflicted.world.fake.url}/{EE}/blob/ce-to-ee-2018-07-20"
    assert f"[(`UU`) `doc/user guide (draft).md`]({blob}/doc/user%20guide%20%28draft%29.md)" in description


# -- other outcomes ----------------------------------------------------------------------------


def test_clean_merge_is_assigned_to_the_fallback_of_the_day(world):
    world.ce.git("update-ref", "refs/heads/master", "refs/heads/clean")

    run(world.settings())

    [mr] = world.fake.table("merge_requests")
    assert mr["description"].startswith("**No conflicts!** :tada:")
    assert [a["username"] for a in mr["assignees"]] == [FALLBACK[NOW.date().toordinal() % 2]]
    assert world.ee.messages("ce-to-ee-2018-07-20", 1) == [
        "Merge remote-tracking branch 'upstream/master' into ce-to-ee-2018-07-20"
    ]
    assert [r.query["username"] for r in world.fake.log if r.path == "/users"] == [[mr["assignees"][0]["username"]]]
    assert not world.fake.requests("GET", f"/projects/{EE}/users")  # no conflicts: no authors to map
    assert world.slack.posts[0]["text"].endswith(f"|{EE}!1> with no conflicts! :tada:")


def test_up_to_date_ee_creates_nothing(world):
    world.ee.git("update-ref", "refs/heads/master", "refs/heads/contains-ce")
    before = world.ee.digest()

    plan = run(world.settings())

    assert plan.notes == ["EE is already up-to-date with CE. No merge request was created."]
    assert steps(plan) == [("slack.post", "tell Slack that EE is up to date", "done")]
    assert world.ee.digest() == before and world.fake.mutations() == []
    assert [p["text"] for p in world.slack.posts] == [
        "EE is already up-to-date with CE. No merge request was created. :tada:"
    ]


def pending_merge_request(world):
    mr = add_merge_request(
        world.fake,
        EE,
        "CE upstream - 2018-07-20 13:30 UTC",
        labels=["CE upstream"],
        state="opened",
        source_branch="ce-to-ee-2018-07-20",
    )
    # Opened two hours before the real time: its age is real, whatever day the run is dated.
    opened = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2, seconds=30)
    mr["created_at"] = opened.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    world.ee.git("branch", "ce-to-ee-2018-07-20", "master")
    return mr


def test_open_upstream_merge_request_stops_the_run_and_slack_hears_its_real_age(world, capsys):
    mr = pending_merge_request(world)
    before = world.ee.digest()

    plan = run(world.settings())

    assert plan.notes == [f"An upstream merge request already exists: {mr['web_url']}"]
    assert steps(plan) == [
        ("merge_request.create", f"open an upstream merge request in {EE}", "already_done"),
        ("slack.post", "tell Slack that it is still pending", "done"),
    ]
    assert plan.steps[0].urls == (mr["web_url"],)
    assert world.ee.digest() == before and world.fake.mutations() == []
    assert [p["text"] for p in world.slack.posts] == [
        f"Tried to create a new merge request but <{mr['web_url']}|{EE}!{mr['iid']}> from 2 hours ago is still pending! :hourglass:"
    ]
    assert "git clone" not in capsys.readouterr().out


def test_forced_run_opens_another_merge_request_on_a_branch_of_its_own(world):
    pending_merge_request(world)

    run(world.settings(force=True))

    titles = {mr["source_branch"]: mr["state"] for mr in world.fake.table("merge_requests")}
    assert titles == {"ce-to-ee-2018-07-20": "opened", "ce-to-ee-2018-07-20-1530": "opened"}
    assert world.ee.sha("ce-to-ee-2018-07-20") == world.ee.sha("master")  # the older branch is left alone
    assert "<<<<<<<" in world.ee.show("ce-to-ee-2018-07-20-1530", "lib/gitlab.rb")


def test_dry_run_merges_locally_and_pushes_creates_and_posts_nothing(world, capsys):
    before = world.ee.digest()

    plan = run(world.settings(dry_run=True))

    assert plan.status is Status.DRY_RUN
    assert steps(plan) == [(*PUSH, "to_do"), (*OPEN, "to_do"), (*TELL, "to_do")]
    out = capsys.readouterr().out
    assert "      4 conflicts; assigned to carl\n" in out
    assert "# CE upstream - 2018-07-20 15:30 UTC\n\n`master` of gitlab-org/gitlab-ce merged into" in out
    assert "- [ ] @carl [(`UU`) `lib/gitlab.rb`]" in out
    assert world.ee.digest() == before and world.fake.mutations() == [] and world.slack.posts == []


def test_slack_problems_never_stop_the_merge_request(world):
    world.slack.fail(500)

    plan = run(world.settings())

    assert steps(plan) == [(*PUSH, "done"), (*OPEN, "done"), (*TELL, "failed")]
    assert plan.steps[-1].reason == "Slack refused the message (500 Internal Server Error): check SLACK_UPSTREAM_MERGE_URL"
    assert (plan.status, plan.exit_status) == (Status.DONE, 0)
    assert len(world.fake.table("merge_requests")) == 1


def test_missing_slack_url_warns_once_and_the_merge_request_is_created(world, capsys):
    settings = make_settings(world.fake, world.root)

    plan = run(settings)

    assert capsys.readouterr().err.count("SLACK_UPSTREAM_MERGE_URL is not set") == 1
    assert steps(plan)[-1] == (*TELL, "skipped") and plan.steps[-1].reason == "SLACK_UPSTREAM_MERGE_URL is not set"
    assert len(world.fake.table("merge_requests")) == 1


def test_refused_merge_request_is_announced_and_fails_the_run(world):
    world.fake.fail(400, method="POST", path="/merge_requests")

    plan = run(world.settings(environ={"CI_JOB_URL": "https://gitlab.com/gitlab-org/release-tools/-/jobs/42"}))

    assert (plan.status, plan.exit_status) == (Status.FAILED, 1)
    assert steps(plan) == [(*PUSH, "done"), (*OPEN, "failed"), (*TELL, "not_reached")]
    assert "while creating merge request 'CE upstream - 2018-07-20 15:30 UTC'" in plan.steps[1].reason
    assert "ce-to-ee-2018-07-20" in world.ee.branches()  # pushed before the request failed
    assert [p["text"] for p in world.slack.posts] == [
        "The latest upstream merge MR could not be created! "
        "Please have a look at https://gitlab.com/gitlab-org/release-tools/-/jobs/42. :boom:"
    ]


def test_security_mode_refuses_before_touching_a_remote_or_gitlab(world, capsys):
    before = (world.ee.digest(), world.ce.digest())

    with pytest.raises(ConfigurationError, match=r"^the upstream merge works on the public .* security mode: unset SECURITY$"):
        run(world.settings(environ={"SECURITY": "true"}))

    assert (world.ee.digest(), world.ce.digest()) == before
    assert world.fake.log == [] and world.slack.posts == []
    assert "git " not in capsys.readouterr().out


def test_a_fixed_moment_whose_two_branch_names_are_taken_says_to_change_it_not_to_wait(world):
    # A set day keeps the real time of day, so waiting a minute frees a name; a moment does not.
    clock = Clock(moment=NOW, source="SOURCE_DATE_EPOCH=1532100600")
    for name in ("ce-to-ee-2018-07-20", "ce-to-ee-2018-07-20-1530"):
        world.ee.git("branch", name, "master")
    before = world.ee.digest()

    with pytest.raises(ReleaseStateError) as caught:
        um.upstream_merge(world.settings().with_changes(clock=clock))

    assert str(caught.value) == (
        f"{EE} already has a branch ce-to-ee-2018-07-20-1530: "
        "SOURCE_DATE_EPOCH=1532100600 fixes the time: change it or delete the branch"
    )
    assert world.ee.digest() == before and world.fake.mutations() == []


# -- untrusted names ------------------------------------------------------------------------------


def _outside_code(text: str) -> str:
    """`text` without its inline code spans (GitLab runs no mention or quick action in code)."""
    import re

    return re.sub(r"(`+)(.+?)(?<!`)\1(?!`)", "", text)


ODD_PATHS = (":(exclude)odd.rb", ":!lib", "-n.rb", "line\n/close.rb")


def test_odd_file_and_author_names_are_one_inert_line_each(world, tmp_path, capsys):
    import urllib.parse

    from release_tools.templates import inline_code
    from tests.repos import commit_literally

    commit_literally([world.ee], "master", {path: "ee\n" for path in ODD_PATHS}, "EE: odd files", tmp_path)
    # The newest change of each: its author's name pings whoever it names, unless it is inert.
    name = "Eve @ellen\x1b[2K"
    commit_literally([world.ce], "master", {path: "ce\n" for path in ODD_PATHS}, "CE: odd files", tmp_path,
                     author=f"{name} <eve@example.com>", date="2030-01-01T00:00:00Z")

    plan = run(world.settings())

    assert plan.exit_status == 0
    [mr] = world.fake.table("merge_requests")
    description = mr["description"]
    assert "@ellen" not in _outside_code(description) and "\x1b" not in description
    assert not [line for line in description.splitlines() if line.startswith("/")]
    blob = f"{world.fake.url}/{EE}/blob/ce-to-ee-2018-07-20"
    for path in ODD_PATHS:
        line = f"- [ ] {inline_code(name)} [(`AA`) {inline_code(path)}]({blob}/{urllib.parse.quote(path)})\n"
        assert line in description, path
    assert sum(line.startswith("- [ ] ") for line in description.splitlines()) == len(UPSTREAM_CONFLICTS) + len(ODD_PATHS)
    out = capsys.readouterr().out
    assert not [line for line in out.splitlines() if line.startswith("/close.rb")] and "\x1b[2K" not in out


def test_a_job_url_cannot_end_its_link_in_the_description_nor_ping_a_slack_channel(world):
    job_url = "https://gitlab.com/jobs/42)@carl([<!channel>]"
    world.fake.fail(400, method="POST", path="/merge_requests")
    settings = world.settings(environ={"CI_JOB_URL": job_url})
    assert settings.job_url == job_url  # a plain URL, as far as its characters go

    plan = run(settings)

    description = um.render_description(settings, "ce-to-ee-2018-07-20", [], "carl")
    assert "([job log](https://gitlab.com/jobs/42%29@carl%28%5B%3C!channel%3E%5D))" in description
    assert plan.exit_status == 1
    assert [p["text"] for p in world.slack.posts] == [
        "The latest upstream merge MR could not be created! "
        "Please have a look at https://gitlab.com/jobs/42)@carl([&lt;!channel&gt;]. :boom:"
    ]
