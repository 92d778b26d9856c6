"""`release_managers.sync`: the release managers groups on both fake instances made to match
the release managers file."""

from __future__ import annotations

import json
import re

import pytest

from release_tools import manager_groups
from release_tools.config import Settings
from release_tools.output import collect_results
from release_tools.errors import UserNotFoundError
from release_tools.plan import State, Status, Target, execute, question
from release_tools.sandbox import add_group, add_member, add_user
from release_tools.sandbox.members import DEVELOPER, MAINTAINER, OWNER, members_of

PRODUCTION_GROUP = "gitlab-org/release/managers"
DEV_GROUP = "gitlab/release/managers"

MANAGERS = """\
Ada Example:
  gitlab.com: ada-example
  gitlab.org: ada
Grace Placeholder:
  gitlab.com: Grace-Placeholder   # GitLab spells it grace-placeholder
Linus New:
  gitlab.com: linus
"""


@pytest.fixture
def instances(fake_gitlab, fake_dev):
    """Both fakes with their groups; the token users own the parent groups."""
    for fake, parent, group in ((fake_gitlab, "gitlab-org", PRODUCTION_GROUP), (fake_dev, "gitlab", DEV_GROUP)):
        add_member(fake, parent, fake.release_manager, OWNER)
        add_group(fake, group)
    production = {
        name: add_user(fake_gitlab, name) for name in ("ada-example", "grace-placeholder", "linus", "former-rm")
    }
    dev = {name: add_user(fake_dev, name) for name in ("ada", "grace-placeholder", "linus", "old-dev")}
    add_member(fake_gitlab, PRODUCTION_GROUP, production["ada-example"], MAINTAINER)
    add_member(fake_gitlab, PRODUCTION_GROUP, production["former-rm"], MAINTAINER)
    add_member(fake_dev, DEV_GROUP, dev["ada"], MAINTAINER)
    add_member(fake_dev, DEV_GROUP, dev["old-dev"], DEVELOPER)
    return fake_gitlab, fake_dev


@pytest.fixture
def managers_file(tmp_path):
    path = tmp_path / "release_managers.yml"
    path.write_text(MANAGERS)
    return path


@pytest.fixture
def make_settings(tree, environ, managers_file):
    def make(**flags) -> Settings:
        return Settings.from_mapping({**tree, "release_managers_file": str(managers_file)}, environ, **flags)

    return make


def members(fake, group):
    return {
        fake.users[m["user_id"]]["username"]: m["access_level"]
        for m in members_of(fake, "group", fake.find_group(group)["id"])
    }


def run(settings):
    """Sync in this process; (the plan, the outcome lines it printed)."""
    with collect_results() as lines:
        plan = manager_groups.sync(settings)
    return plan, lines


def add(user, group, instance):
    return f"add {user} to {group} on {instance}"


def remove(user, group, instance):
    return f"remove {user} from {group} on {instance}"


#: The changes the `instances` fixture needs, in order: dev first, adds before removals.
CHANGES = [
    ("member.add", add("grace-placeholder", DEV_GROUP, "dev")),
    ("member.add", add("linus", DEV_GROUP, "dev")),
    ("member.remove", remove("old-dev", DEV_GROUP, "dev")),
    ("member.add", add("grace-placeholder", PRODUCTION_GROUP, "production")),
    ("member.add", add("linus", PRODUCTION_GROUP, "production")),
    ("member.remove", remove("former-rm", PRODUCTION_GROUP, "production")),
]


def test_sync_adds_and_removes_exactly_the_difference_on_both_instances(instances, make_settings):
    production, dev = instances

    plan, lines = run(make_settings())

    assert [(step.kind, step.summary, step.state) for step in plan.steps] == [
        ("member.add", add("ada", DEV_GROUP, "dev"), State.ALREADY_DONE),
        *[(kind, summary, State.DONE) for kind, summary in CHANGES[:3]],
        ("member.add", add("ada-example", PRODUCTION_GROUP, "production"), State.ALREADY_DONE),
        *[(kind, summary, State.DONE) for kind, summary in CHANGES[3:]],
    ]
    assert plan.steps[1].target == Target(instance="dev", group=DEV_GROUP, user="grace-placeholder")
    assert lines == [
        f"✓ {summary}: {'added as Maintainer' if kind == 'member.add' else 'removed'}" for kind, summary in CHANGES
    ] + ["Done: 6 done, 2 already done."]
    assert members(dev, DEV_GROUP) == {"ada": MAINTAINER, "grace-placeholder": MAINTAINER, "linus": MAINTAINER}
    assert members(production, PRODUCTION_GROUP) == {
        "ada-example": MAINTAINER,
        "grace-placeholder": MAINTAINER,
        "linus": MAINTAINER,
    }
    assert len(production.mutations()) == 3 and len(dev.mutations()) == 3


def test_sync_in_step_changes_nothing(instances, make_settings):
    production, dev = instances
    run(make_settings())
    production.clear_log(), dev.clear_log()

    plan, lines = run(make_settings())

    assert {step.state for step in plan.steps} == {State.ALREADY_DONE} and len(plan.steps) == 6
    assert plan.notes == [
        f"{DEV_GROUP} on dev already matches the release managers file",
        f"{PRODUCTION_GROUP} on production already matches the release managers file",
    ]
    assert lines == ["Nothing to do: every step is done already."]
    assert production.mutations() == [] and dev.mutations() == []


def test_dry_run_prints_the_plan_and_changes_nothing(instances, make_settings, capsys):
    production, dev = instances

    plan, lines = run(make_settings(dry_run=True))

    assert [step.summary for step in plan.steps if step.state is State.TO_DO] == [summary for _, summary in CHANGES]
    out = capsys.readouterr().out
    assert f"  · {remove('former-rm', PRODUCTION_GROUP, 'production')}\n      Maintainer; not in the release managers file\n" in out
    assert f"  ✓ {add('ada', DEV_GROUP, 'dev')}: already done; a member (Maintainer)\n" in out
    assert lines == ["Dry run: 6 steps would be carried out; nothing was changed."]
    assert question(plan) == "Add 4 group members; remove 2 group members on dev, production? [y/N] "
    assert production.mutations() == [] and dev.mutations() == []
    assert "former-rm" in members(production, PRODUCTION_GROUP)


def test_unknown_users_stop_the_sync_before_any_change_on_any_instance(instances, make_settings, managers_file):
    production, dev = instances
    managers_file.write_text(MANAGERS + "Typo Person:\n  gitlab.com: typo-person\n  gitlab.org: typo-dev\n")

    with pytest.raises(UserNotFoundError) as error:
        run(make_settings())

    assert str(error.value) == (
        f"typo-dev not found on {dev.url.split('//')[1]}; typo-person not found on {production.url.split('//')[1]}: "
        f"fix {managers_file}; nothing was changed"
    )
    # Both instances were read (every username resolved) and neither was changed.
    assert dev.log != [] and production.log != []
    assert dev.mutations() == [] and production.mutations() == []


def test_an_unknown_user_on_production_keeps_dev_unchanged_too(instances, make_settings, managers_file):
    production, dev = instances
    managers_file.write_text(MANAGERS + "Typo Person:\n  gitlab.com: typo-person\n  gitlab.org: linus\n")

    with pytest.raises(UserNotFoundError, match=r"^typo-person not found on .*: fix .*; nothing was changed$"):
        run(make_settings())

    assert dev.mutations() == [] and "old-dev" in members(dev, DEV_GROUP)  # the original had changed dev by now


def test_members_past_the_first_page_are_removed(instances, make_settings):
    production, _ = instances
    for number in range(130):
        add_member(production, PRODUCTION_GROUP, add_user(production, f"stranger-{number:03}"), DEVELOPER)

    run(make_settings())

    assert set(members(production, PRODUCTION_GROUP)) == {"ada-example", "grace-placeholder", "linus"}
    pages = [r for r in production.requests("GET", "/members") if r.path.endswith("/members")]
    # Read while planning, and once more after the changes to confirm them.
    assert [r.query.get("page") for r in pages] == [None, ["2"], None]


def test_the_tokens_own_user_is_never_removed(instances, make_settings):
    production, _ = instances
    add_member(production, PRODUCTION_GROUP, production.release_manager, OWNER)

    plan, _ = run(make_settings())

    assert f"Keeping release-manager in {PRODUCTION_GROUP} on production: it is the user of this token" in plan.notes
    assert not any(step.target.user == "release-manager" for step in plan.steps)
    assert "release-manager" in members(production, PRODUCTION_GROUP)


def test_a_release_manager_with_higher_access_through_a_parent_group_is_not_added(instances, make_settings):
    # GitLab refuses a direct membership below an inherited one (400): such a release
    # manager is a member already, and the sync goes on with everyone else.
    production, _ = instances
    add_member(production, "gitlab-org", production.find_user("linus"), OWNER)

    plan, _ = run(make_settings())

    assert f"linus already has Owner access to {PRODUCTION_GROUP} on production through a parent group" in plan.notes
    summaries = [step.summary for step in plan.steps if step.state is State.DONE]
    assert add("grace-placeholder", PRODUCTION_GROUP, "production") in summaries
    assert remove("former-rm", PRODUCTION_GROUP, "production") in summaries
    assert add("linus", PRODUCTION_GROUP, "production") not in [step.summary for step in plan.steps]
    assert [r.status for r in production.requests("POST", "/members")] == [201]
    assert set(members(production, PRODUCTION_GROUP)) == {"ada-example", "grace-placeholder"}


def test_someone_added_meanwhile_is_no_error(instances, make_settings):
    production, dev = instances
    settings = make_settings()
    plan = manager_groups.plan_sync(settings)
    add_member(dev, DEV_GROUP, dev.find_user("linus"), MAINTAINER)  # by someone else, after the plan was made

    execute(plan, settings.run)

    [step] = [step for step in plan.steps if step.summary == add("linus", DEV_GROUP, "dev")]
    assert (step.state, step.result) == (State.DONE, "a member already (added meanwhile)")
    assert [r.status for r in dev.requests("POST", "/members")] == [201, 409]
    assert plan.exit_status == 0 and "old-dev" not in members(dev, DEV_GROUP)


def test_a_failed_addition_stops_the_sync_and_names_what_was_not_reached(instances, make_settings):
    production, dev = instances
    settings = make_settings().with_changes(api_max_wait=1)
    dev.fail(500, times=100, method="POST", path="/members")

    plan, lines = run(settings)

    states = [(step.summary, step.state) for step in plan.steps if step.state is not State.ALREADY_DONE]
    assert states == [(CHANGES[0][1], State.FAILED)] + [(summary, State.NOT_REACHED) for _, summary in CHANGES[1:]]
    assert (plan.status, plan.exit_status) == (Status.FAILED, 1)
    assert lines[0].startswith(f"✗ {CHANGES[0][1]}: {dev.url.split('//')[1]} failed while adding user")
    assert lines[1] == "Not reached: " + "; ".join(summary for _, summary in CHANGES[1:])
    assert production.mutations() == [] and {r.method for r in dev.mutations()} == {"POST"}


def test_insufficient_permissions_fail_the_first_change_with_one_clear_reason(instances, make_settings):
    production, dev = instances
    dev.table("members").remove(next(m for m in dev.table("members") if m["user_id"] == dev.release_manager["id"]))

    plan, _ = run(make_settings())

    assert plan.exit_status == 1
    assert re.search(r"denied access to gitlab/release/managers \(403 Forbidden\).*DEV_API_PRIVATE_TOKEN", plan.steps[1].reason)
    assert members(dev, DEV_GROUP) == {"ada": MAINTAINER, "old-dev": DEVELOPER}
    assert production.mutations() == []  # production comes after dev: not reached


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def file_env(managers_file):
    return {"INVOKE_RELEASE_TOOLS_RELEASE_MANAGERS_FILE": str(managers_file)}


def test_cli_sync_reports_outcomes_and_a_bad_token_in_one_line_before_any_change(invoke, instances, file_env):
    production, dev = instances

    refused = invoke("release_managers.sync", env={**file_env, "GITLAB_API_PRIVATE_TOKEN": "wrong"})
    synced = invoke("release_managers.sync", env=file_env)

    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"Error: {production.url.split('//')[1]} refused {PRODUCTION_GROUP} (401 Unauthorized) "
        "while listing members: check GITLAB_API_PRIVATE_TOKEN"
    ]
    assert refused.stdout == ""  # dev's token is fine, but the plan is made before anything changes
    assert synced.returncode == 0, synced.stderr
    assert synced.stdout.endswith(
        "".join(f"✓ {summary}: {'added as Maintainer' if kind == 'member.add' else 'removed'}\n" for kind, summary in CHANGES)
        + "Read back 6 changes.\nDone: 6 done, 2 already done.\n"
    )
    assert len(dev.mutations()) == len(production.mutations()) == 3


@pytest.mark.parametrize("args, env", [(["-R", "release_managers.sync"], {}), (["release_managers.sync", "--dry-run"], {}),
                                       (["release_managers.sync"], {"TEST": "true"})],
                         ids=["invoke -R", "--dry-run", "TEST"])
def test_cli_dry_run_changes_nothing(invoke, instances, file_env, args, env):
    production, dev = instances

    result = invoke(*args, env={**file_env, **env})

    assert result.returncode == 0, result.stderr
    assert f"  · {remove('old-dev', DEV_GROUP, 'dev')}\n" in result.stdout
    assert result.stdout.endswith("Dry run: 6 steps would be carried out; nothing was changed.\n")
    assert production.log != [] and dev.log != []
    assert production.mutations() == [] and dev.mutations() == []


def test_cli_json_of_a_dry_run_a_real_run_and_a_rerun(invoke, instances, file_env):
    production, dev = instances

    dry = invoke("release_managers.sync", "--json", "--dry-run", env=file_env)
    real = invoke("release_managers.sync", "--json", env=file_env)
    production.clear_log(), dev.clear_log()
    rerun = invoke("release_managers.sync", "--json", env=file_env)

    documents = [json.loads(result.stdout) for result in (dry, real, rerun)]  # stdout holds the document only
    assert [(d["schema"], d["task"], d["status"], d["exit_status"]) for d in documents] == [
        (1, "release_managers.sync", "dry_run", 0),
        (1, "release_managers.sync", "done", 0),
        (1, "release_managers.sync", "nothing_to_do", 0),
    ]
    changes = [summary for _, summary in CHANGES]
    for document, state in zip(documents, ("to_do", "done")):
        assert [(s["summary"], s["state"]) for s in document["steps"] if s["summary"] in changes] == [
            (summary, state) for summary in changes
        ]
    assert {s["state"] for s in documents[2]["steps"]} == {"already_done"} and len(documents[2]["steps"]) == 6
    assert documents[1]["steps"][1] == {
        "kind": "member.add",
        "summary": add("grace-placeholder", DEV_GROUP, "dev"),
        "target": {"instance": "dev", "user": "grace-placeholder", "group": DEV_GROUP},
        "state": "done",
        "result": "added as Maintainer",
        "urls": [],
        "reason": None,
    }
    assert production.mutations() == [] and dev.mutations() == []  # the rerun changed nothing


def test_cli_a_failed_removal_is_reported_in_text_and_json_with_what_was_not_reached(invoke, instances, file_env):
    production, dev = instances
    env = {**file_env, "INVOKE_RELEASE_TOOLS_API_MAX_WAIT": "1"}
    dev.fail(500, times=100, method="DELETE", path="/members")

    text = invoke("release_managers.sync", env=env)
    document = json.loads(invoke("release_managers.sync", "--json", env=env).stdout)

    assert text.returncode == 1
    failed = f"✗ {remove('old-dev', DEV_GROUP, 'dev')}: {dev.url.split('//')[1]} failed while removing user"
    assert failed in text.stdout
    assert "Not reached: " + "; ".join(summary for _, summary in CHANGES[3:]) + "\n" in text.stdout
    assert text.stdout.endswith("Failed: 2 done, 2 already done, 1 failed, 3 not reached.\n")
    # The second run finds the additions done and fails on the same removal.
    assert (document["status"], document["exit_status"]) == ("failed", 1)
    assert [s["state"] for s in document["steps"]] == ["already_done"] * 3 + ["failed"] + ["already_done"] + ["not_reached"] * 3
    assert "500" in document["steps"][3]["reason"]
    assert production.mutations() == []
