"""`release_managers.sync`: the release managers groups on both fake instances made to match
the release managers file."""

from __future__ import annotations

import pytest

from release_tools import manager_groups
from release_tools.config import Settings
from release_tools.output import collect_results
from release_tools.errors import GitLabAccessError, UserNotFoundError
from tests.fake_gitlab import add_group, add_member, add_user
from tests.fake_gitlab.members import DEVELOPER, MAINTAINER, OWNER, members_of

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
    with collect_results() as lines:
        manager_groups.sync(settings)
    return lines


def test_sync_adds_and_removes_exactly_the_difference_on_both_instances(instances, make_settings):
    production, dev = instances

    lines = run(make_settings())

    assert lines == [
        "--> Syncing dev",
        f"    Adding grace-placeholder to {DEV_GROUP}",
        f"    Adding linus to {DEV_GROUP}",
        f"    Removing old-dev from {DEV_GROUP}",
        "--> Syncing production",
        f"    Adding grace-placeholder to {PRODUCTION_GROUP}",
        f"    Adding linus to {PRODUCTION_GROUP}",
        f"    Removing former-rm from {PRODUCTION_GROUP}",
    ]
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

    lines = run(make_settings())

    assert lines == [
        "--> Syncing dev",
        f"    {DEV_GROUP} already matches the release managers file",
        "--> Syncing production",
        f"    {PRODUCTION_GROUP} already matches the release managers file",
    ]
    assert production.mutations() == [] and dev.mutations() == []


def test_dry_run_prints_the_plan_and_changes_nothing(instances, make_settings):
    production, dev = instances

    lines = run(make_settings(dry_run=True))

    assert f"    Removing former-rm from {PRODUCTION_GROUP} (dry run: not done)" in lines
    assert f"    Adding linus to {DEV_GROUP} (dry run: not done)" in lines
    assert production.mutations() == [] and dev.mutations() == []
    assert "former-rm" in members(production, PRODUCTION_GROUP)


def test_unknown_user_stops_that_instance_before_any_change(instances, make_settings, managers_file):
    production, dev = instances
    managers_file.write_text(MANAGERS + "Typo Person:\n  gitlab.com: typo-person\n")

    with pytest.raises(UserNotFoundError) as error:
        run(make_settings())

    assert str(error.value) == (
        f"typo-person not found on {dev.url.split('//')[1]}: fix {managers_file}; "
        f"nothing was changed in {DEV_GROUP} on dev"
    )
    assert dev.mutations() == [] and production.log == []  # dev goes first; production is not reached


def test_members_past_the_first_page_are_removed(instances, make_settings):
    production, _ = instances
    for number in range(130):
        add_member(production, PRODUCTION_GROUP, add_user(production, f"stranger-{number:03}"), DEVELOPER)

    run(make_settings())

    assert set(members(production, PRODUCTION_GROUP)) == {"ada-example", "grace-placeholder", "linus"}
    pages = [r for r in production.requests("GET", "/members") if r.path.endswith("/members")]
    assert [r.query.get("page") for r in pages] == [None, ["2"]]


def test_the_tokens_own_user_is_never_removed(instances, make_settings):
    production, _ = instances
    add_member(production, PRODUCTION_GROUP, production.release_manager, OWNER)

    lines = run(make_settings())

    assert f"    Keeping release-manager in {PRODUCTION_GROUP}: it is the user of this token" in lines
    assert "release-manager" in members(production, PRODUCTION_GROUP)


def test_a_release_manager_with_higher_access_through_a_parent_group_is_not_added(instances, make_settings):
    # GitLab refuses a direct membership below an inherited one (400): such a release
    # manager is a member already, and the sync goes on with everyone else.
    production, _ = instances
    add_member(production, "gitlab-org", production.find_user("linus"), OWNER)

    lines = run(make_settings())

    assert f"    linus already has Owner access to {PRODUCTION_GROUP} through a parent group" in lines
    assert f"    Adding grace-placeholder to {PRODUCTION_GROUP}" in lines
    assert f"    Removing former-rm from {PRODUCTION_GROUP}" in lines
    assert [r.status for r in production.requests("POST", "/members")] == [201]
    assert set(members(production, PRODUCTION_GROUP)) == {"ada-example", "grace-placeholder"}


def test_someone_added_meanwhile_is_no_error(instances, make_settings):
    production, dev = instances
    dev.fail(409, method="POST", path="/members")  # the first add: "Member already exists"

    run(make_settings())

    assert "linus" in members(dev, DEV_GROUP) and "old-dev" not in members(dev, DEV_GROUP)


def test_insufficient_permissions_is_one_clear_error(instances, make_settings):
    production, dev = instances
    dev.table("members").remove(next(m for m in dev.table("members") if m["user_id"] == dev.release_manager["id"]))

    with pytest.raises(
        GitLabAccessError, match=r"denied access to gitlab/release/managers \(403 Forbidden\).*DEV_API_PRIVATE_TOKEN"
    ):
        run(make_settings())

    assert members(dev, DEV_GROUP) == {"ada": MAINTAINER, "old-dev": DEVELOPER}


def test_cli_sync_reports_outcomes_and_a_bad_token_in_one_line(invoke, instances, managers_file):
    env = {"INVOKE_RELEASE_TOOLS_RELEASE_MANAGERS_FILE": str(managers_file)}
    production, dev = instances

    refused = invoke("release_managers.sync", env={**env, "GITLAB_API_PRIVATE_TOKEN": "wrong"})
    synced = invoke("release_managers.sync", env=env)

    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"Error: {production.url.split('//')[1]} refused {PRODUCTION_GROUP} (401 Unauthorized) "
        "while listing members: check GITLAB_API_PRIVATE_TOKEN"
    ]
    assert refused.stdout.startswith("--> Syncing dev\n")  # dev comes first, and its token is fine
    assert synced.returncode == 0, synced.stderr
    assert synced.stdout == (
        f"--> Syncing dev\n    {DEV_GROUP} already matches the release managers file\n"
        f"--> Syncing production\n    Adding grace-placeholder to {PRODUCTION_GROUP}\n"
        f"    Adding linus to {PRODUCTION_GROUP}\n    Removing former-rm from {PRODUCTION_GROUP}\n"
    )
