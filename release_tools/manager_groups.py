"""The release managers groups (`release_managers.sync`): on each instance, the group whose
direct members are exactly the people in the release managers file.

One plan covers every configured instance (`release_tools.release_manager_groups`; dev
first, then production, as the original did). For each group:

- every member of the group is read (all pages: the original read the first 20 only, so
  nobody past them was ever removed);
- everyone in the file is a `member.add` step: done already when they are a direct
  member; otherwise they are looked up by their exact username on that instance (any
  case), to be added as a Maintainer (access level 40);
- someone in the file who already has Maintainer access or more through a parent group
  is a member already (GitLab refuses a direct membership below an inherited one): a note;
- every direct member who is not in the file is a `member.remove` step, except the
  token's own user (a sync must not lock itself out: a note); members inherited from
  parent groups are left alone.

Every username is resolved on every instance before the first change anywhere, so a typo
in the file stops the sync with nothing changed. A dry run shows the same plan. After the
changes, each group's members are read again to confirm them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from .config import Settings
from .errors import UserNotFoundError
from .plan import Plan, Step, Target, execute

#: The access level the original gave release managers: Maintainer.
MAINTAINER = 40
ROLES = {10: "Guest", 20: "Reporter", 30: "Developer", MAINTAINER: "Maintainer", 50: "Owner"}


def sync(settings: Settings, connect: Callable[[str], Any] | None = None) -> Plan:
    """Make every configured group match the release managers file (see `plan_sync`);
    return the plan, run."""
    return execute(plan_sync(settings, connect), settings.run)


def plan_sync(settings: Settings, connect: Callable[[str], Any] | None = None) -> Plan:
    """The plan of `release_managers.sync` over every configured instance, in order.

    `connect(instance)` returns the GitLab adapter of an instance (tests pass their own).
    Raises ConfigurationError for a missing or malformed file, UserNotFoundError naming
    every username an instance does not know (nothing changed anywhere), GitLabAccessError
    for 401/403 and GitLabError for any other refusal.
    """
    from . import release_managers

    managers = release_managers.load(settings.release_managers_file)
    if connect is None:
        from .gitlab import GitLab

        def connect(instance: str) -> Any:
            return GitLab(settings, instance)

    plan = Plan(settings.task or "release_managers.sync")
    unknown: list[str] = []
    for instance, group in settings.release_manager_groups.items():
        gitlab = connect(instance)
        missing = plan_group(plan, gitlab, instance, group, managers.usernames(instance))
        if missing:
            unknown.append(f"{', '.join(missing)} not found on {gitlab.instance.host}")
    if unknown:
        raise UserNotFoundError(f"{'; '.join(unknown)}: fix {settings.release_managers_file}; nothing was changed")
    return plan


def plan_group(plan: Plan, gitlab: Any, instance: str, group: str, usernames: Sequence[str]) -> list[str]:
    """Add the steps and notes of one instance's group to `plan`: the release managers
    (`usernames`) to add, then the members to remove. Returns the usernames the instance
    does not know."""
    members = gitlab.group_members(group)
    present = {member.username.casefold(): member for member in members}
    wanted = {username.casefold() for username in usernames}
    members_now = _reread(gitlab, group)
    where = f"{group} on {instance}"

    missing: list[str] = []
    found: dict[str, Any] = {}  # casefolded username in the file -> gitlab.User, not a member yet
    for username in usernames:
        if username.casefold() in present:
            continue
        user = gitlab.find_user(username)
        if user is None:
            missing.append(username)
        else:
            found.setdefault(username.casefold(), user)
    access = gitlab.group_access(group, [user.id for user in found.values()]) if found else {}

    adds: list[Step] = []
    for key in dict.fromkeys(username.casefold() for username in usernames):
        if key in present:
            adds.append(_add_step(gitlab, instance, group, present[key], members_now, member=True))
        elif key in found and access.get(found[key].id, 0) >= MAINTAINER:
            role = _role(access[found[key].id])
            plan.notes.append(f"{found[key].username} already has {role} access to {where} through a parent group")
        elif key in found:
            adds.append(_add_step(gitlab, instance, group, found[key], members_now))

    removes: list[Step] = []
    strangers = [member for member in members if member.username.casefold() not in wanted]
    if strangers:
        me = gitlab.current_user().username.casefold()
        for member in strangers:
            if member.username.casefold() == me:
                plan.notes.append(f"Keeping {member.username} in {where}: it is the user of this token")
            else:
                removes.append(_remove_step(gitlab, instance, group, member, members_now))

    if all(step.done for step in adds) and not removes:
        plan.notes.append(f"{where} already matches the release managers file")
    plan.steps += adds + removes
    return missing


def _add_step(gitlab: Any, instance: str, group: str, user: Any, members_now: Callable[[], set[int]],
              member: bool = False) -> Step:
    step = Step(
        "member.add",
        f"add {user.username} to {group} on {instance}",
        Target(instance=instance, group=group, user=user.username),
        done=member,
        result=f"a member ({_role(user.access_level)})" if member else "",
    )
    if member:
        return step

    def add() -> str:
        added = gitlab.add_group_member(group, user.id, MAINTAINER)
        return "added as Maintainer" if added else "a member already (added meanwhile)"

    def check() -> str | None:
        return None if user.id in members_now() else f"{user.username} is not a member of {group}"

    step.action, step.check = add, check
    return step


def _remove_step(gitlab: Any, instance: str, group: str, member: Any, members_now: Callable[[], set[int]]) -> Step:
    def remove() -> str:
        removed = gitlab.remove_group_member(group, member.id)
        return "removed" if removed else "not a member any more (removed meanwhile)"

    def check() -> str | None:
        return f"{member.username} is still a member of {group}" if member.id in members_now() else None

    return Step(
        "member.remove",
        f"remove {member.username} from {group} on {instance}",
        Target(instance=instance, group=group, user=member.username),
        action=remove,
        check=check,
        details=(f"{_role(member.access_level)}; not in the release managers file",),
    )


def _reread(gitlab: Any, group: str) -> Callable[[], set[int]]:
    """The ids of the group's direct members, read once, when its first change is checked."""

    @functools.cache
    def member_ids() -> set[int]:
        return {member.id for member in gitlab.group_members(group)}

    return member_ids


def _role(level: int) -> str:
    return ROLES.get(level, f"level {level}")
