"""The release managers groups (`release_managers.sync`): on each instance, the group whose
direct members are exactly the people in the release managers file.

For each configured instance (`release_tools.release_manager_groups`; dev first, then
production, as the original did):

- every member of the group is read (all pages: the original read the first 20 only, so
  nobody past them was ever removed);
- everyone in the file who is missing is looked up by their exact username on that
  instance (any case) and added as a Maintainer (access level 40);
- someone in the file who already has Maintainer access or more through a parent group
  is a member already: GitLab refuses a direct membership below an inherited one;
- every direct member who is not in the file is removed, except the token's own user (a
  sync must not lock itself out); members inherited from parent groups are left alone.

Every username to add is resolved before the first change on an instance, so a typo in
the file stops that instance's sync with nothing changed. A dry run prints the same
plan and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

from .config import Settings
from .output import result, say
from .errors import UserNotFoundError

#: The access level the original gave release managers: Maintainer.
MAINTAINER = 40
ROLES = {MAINTAINER: "Maintainer", 50: "Owner"}


@dataclass
class GroupPlan:
    """What one instance's group needs."""

    instance: str
    group: str
    add: list[Any] = field(default_factory=list)  # gitlab.User
    remove: list[Any] = field(default_factory=list)  # gitlab.Member
    kept: list[Any] = field(default_factory=list)  # gitlab.Member: the token's own user
    inherited: list[tuple[Any, int]] = field(default_factory=list)  # (gitlab.User, access level)


def sync(settings: Settings, connect: Callable[[str], Any] | None = None) -> None:
    """Make every configured group match the release managers file.

    `connect(instance)` returns the GitLab adapter of an instance (tests pass their own).
    Raises ConfigurationError for a missing or malformed file, UserNotFoundError for a
    username an instance does not know (that instance unchanged), GitLabAccessError for
    401/403 and GitLabError for any other refusal.
    """
    from . import release_managers

    managers = release_managers.load(settings.release_managers_file)
    if connect is None:
        from .gitlab import GitLab

        def connect(instance: str) -> Any:
            return GitLab(settings, instance)

    if settings.dry_run:
        say("Dry run: the groups are read, and nothing is changed.", "yellow")
    for instance, group in settings.release_manager_groups.items():
        gitlab = connect(instance)
        result(f"--> Syncing {instance}")
        plan = plan_group(gitlab, instance, group, managers.usernames(instance), str(settings.release_managers_file))
        apply(gitlab, plan, settings.dry_run)


def plan_group(gitlab: Any, instance: str, group: str, usernames: Sequence[str], source: str) -> GroupPlan:
    """Compare the group's direct members with `usernames` and resolve who is to be added.

    Raises UserNotFoundError naming every unknown username before anything changes.
    """
    members = gitlab.group_members(group)
    present = {member.username.casefold() for member in members}
    wanted = {username.casefold() for username in usernames}
    plan = GroupPlan(instance, group)

    missing = []
    for username in usernames:
        if username.casefold() in present:
            continue
        user = gitlab.find_user(username)
        if user is None:
            missing.append(username)
        elif user.username.casefold() not in {u.username.casefold() for u in plan.add}:
            plan.add.append(user)
    if missing:
        raise UserNotFoundError(
            f"{', '.join(missing)} not found on {gitlab.instance.host}: fix {source}; "
            f"nothing was changed in {group} on {instance}"
        )
    if plan.add:
        access = gitlab.group_access(group, [user.id for user in plan.add])
        plan.inherited = [(user, access[user.id]) for user in plan.add if access.get(user.id, 0) >= MAINTAINER]
        plan.add = [user for user in plan.add if access.get(user.id, 0) < MAINTAINER]

    strangers = [member for member in members if member.username.casefold() not in wanted]
    if strangers:
        me = gitlab.current_user().username.casefold()
        plan.kept = [member for member in strangers if member.username.casefold() == me]
        plan.remove = [member for member in strangers if member.username.casefold() != me]
    return plan


def apply(gitlab: Any, plan: GroupPlan, dry_run: bool = False) -> None:
    """Add, then remove, printing each change as it is made (a dry run only prints them).

    Someone added or removed by somebody else meanwhile is fine (409 and 404 are no errors).
    """
    later = " (dry run: not done)" if dry_run else ""
    for user in plan.add:
        result(f"    Adding {user.username} to {plan.group}{later}")
        if not dry_run:
            gitlab.add_group_member(plan.group, user.id, MAINTAINER)
    for member in plan.remove:
        result(f"    Removing {member.username} from {plan.group}{later}")
        if not dry_run:
            gitlab.remove_group_member(plan.group, member.id)
    for member in plan.kept:
        result(f"    Keeping {member.username} in {plan.group}: it is the user of this token", "yellow")
    for user, level in plan.inherited:
        role = ROLES.get(level, f"level {level}")
        result(f"    {user.username} already has {role} access to {plan.group} through a parent group")
    if not plan.add and not plan.remove:
        result(f"    {plan.group} already matches the release managers file")
