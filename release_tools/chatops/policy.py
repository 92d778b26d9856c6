"""The policy table: which task of the collection each chat command runs, and what chat may set.

Only what chat decides is here. A command's arguments, their meaning, its help and what a
dry run says all come from its task (`release_tools.cli`), so that a flag added to a task
reaches chat by adding its name to the command's `flags`, and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    """What one chat command may do."""

    #: The task of the collection it runs, by its full name (`tag`, `release_managers.sync`).
    task: str
    #: The task's flags chat may set, by argument name; its positional arguments chat always takes.
    flags: tuple[str, ...] = ("dry_run",)
    #: The task's switches that a command from the security channel turns on
    #: (`release_tools.chatops.security_channel`).
    security_channel_flags: tuple[str, ...] = ()
    #: Only a release manager (the release managers file) may run it.
    release_manager: bool = True
    #: It may end after GitLab's reply window closes: it says so in the channel first, and
    #: posts its results through Slack when late.
    may_outlast_reply: bool = False
    #: Reached only through the original's trigger style (`TASK=...`), not as a chat job.
    trigger_only: bool = False


POLICIES: Mapping[str, Policy] = {
    "cherry_pick": Policy("cherry_pick", flags=("security", "dry_run"), security_channel_flags=("security",)),
    "publish": Policy("publish"),
    "qa_issue": Policy("qa_issue", flags=("version", "dry_run")),
    "release_issue": Policy("release_issue", flags=("security", "dry_run"), security_channel_flags=("security",)),
    "tag": Policy("tag", flags=("security", "dry_run"), security_channel_flags=("security",), may_outlast_reply=True),
    # The original's trigger-style task names (TASK=...), kept working.
    "monthly_issue": Policy("monthly_issue", trigger_only=True),
    "patch_issue": Policy("patch_issue", trigger_only=True),
    "security_patch_issue": Policy("security_patch_issue", trigger_only=True),
    "tag_security": Policy("tag_security", may_outlast_reply=True, trigger_only=True),
}
