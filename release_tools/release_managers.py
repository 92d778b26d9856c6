"""Release managers: who they are on each instance, read from the release managers file.

The file (`config/release_managers.yml` by default) maps each person's name to their
usernames, as the original's did:

    Ada Example:
      gitlab.com: ada-example
      gitlab.org: ada           # dev.gitlab.org; defaults to the gitlab.com username

Usernames are compared case-insensitively, as GitLab treats them (the original compared
them exactly, so `Ada-Example` was refused).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings
from .errors import ConfigurationError, NotAuthorizedError, non_ascii_note, quote, quote_path

if TYPE_CHECKING:
    from .plan import Plan

#: What is ignored around a username: spaces and tabs, nothing that only looks like one.
ASCII_BLANKS = " \t"

PRODUCTION_KEY = "gitlab.com"
DEV_KEY = "gitlab.org"

#: A GitLab username: ASCII letters, digits, `_`, `-` and `.`, not starting with `-` (nor
#: ending with `.`), at most 255 characters. ASCII matters beyond looks: `str.lower()` turns
#: the Kelvin sign (U+212A) into `k`, so a look-alike would otherwise match a release manager.
_USERNAME = re.compile(r"(?=[A-Za-z0-9_.-]{1,255}\Z)[A-Za-z0-9_.][A-Za-z0-9_.-]*(?<!\.)")


@dataclass(frozen=True)
class ReleaseManager:
    """One person: their name and their usernames on the production and dev instances."""

    name: str
    username: str  # gitlab.com
    dev_username: str  # dev.gitlab.org

    def username_on(self, instance: str) -> str:
        """The username on `production` or `dev`."""
        return self.dev_username if instance == "dev" else self.username


@dataclass(frozen=True)
class ReleaseManagers:
    """Everyone in the release managers file, in file order."""

    members: tuple[ReleaseManager, ...]
    source: Path

    def __iter__(self) -> Iterator[ReleaseManager]:
        return iter(self.members)

    def __len__(self) -> int:
        return len(self.members)

    def find(self, username: str, instance: str = "production") -> ReleaseManager | None:
        """The release manager with `username` on `instance`, ignoring case, or None."""
        if not is_username(username):  # a look-alike must not match through lower()
            return None
        wanted = username.strip(ASCII_BLANKS).lower()
        for member in self.members:
            if member.username_on(instance).lower() == wanted:
                return member
        return None

    def is_release_manager(self, username: str, instance: str = "production") -> bool:
        return self.find(username, instance) is not None

    def usernames(self, instance: str = "production") -> tuple[str, ...]:
        """Every username on `instance`, in file order (what a group sync compares against)."""
        return tuple(member.username_on(instance) for member in self.members)


def load(path: Path) -> ReleaseManagers:
    """Read and validate the release managers file.

    Raises ConfigurationError when the file is missing, unreadable, not YAML, empty, or
    has an entry without a `gitlab.com` username.
    """
    import yaml

    shown = quote_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(
            f"Release managers file {shown} not found: create it or set release_tools.release_managers_file"
        ) from None
    except OSError as error:
        raise ConfigurationError(f"Release managers file {shown} cannot be read: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigurationError(f"Release managers file {shown} is not valid YAML{where}") from None
    return parse(data, path)


def parse(data: Any, source: Path) -> ReleaseManagers:
    """Validate the file's parsed YAML (see `load`)."""
    shown = quote_path(source)
    if data is None or data == {}:
        raise ConfigurationError(f"Release managers file {shown} is empty: list at least one release manager")
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"Release managers file {shown} must map names to usernames "
            f"(Name: {{{PRODUCTION_KEY}: user, {DEV_KEY}: dev-user}})"
        )
    members = []
    for name, entry in data.items():
        if not str(name).strip() or not str(name).isprintable():
            raise ConfigurationError(f"The name {quote(name)} in {shown} is blank or has control characters")
        username = entry.get(PRODUCTION_KEY) if isinstance(entry, dict) else None
        if username is None or username == "":
            raise ConfigurationError(f"No `{PRODUCTION_KEY}` value for {quote(name)} in {shown}")
        if not is_username(username):
            raise ConfigurationError(
                f"The `{PRODUCTION_KEY}` value for {quote(name)} in {shown} is not a username "
                f"(got {quote(username)}; quote it if it is one)"
            )
        dev_username = entry.get(DEV_KEY)
        if dev_username is None:
            dev_username = username
        elif not is_username(dev_username):
            raise ConfigurationError(
                f"The `{DEV_KEY}` value for {quote(name)} in {shown} is not a username "
                f"(got {quote(dev_username)}; quote it if it is one)"
            )
        members.append(ReleaseManager(str(name), username.strip(ASCII_BLANKS), dev_username.strip(ASCII_BLANKS)))
    return ReleaseManagers(tuple(members), source)


def is_username(value: Any) -> bool:
    """Whether `value` is a GitLab username (see `_USERNAME`); spaces around it are ignored."""
    return isinstance(value, str) and _USERNAME.fullmatch(value.strip(ASCII_BLANKS)) is not None


def check_release_manager(settings: Settings, username: str | None, instance: str = "production") -> ReleaseManager:
    """The release manager with this `username` (any case) on `instance`: their gitlab.com
    username by default, their dev.gitlab.org one for `dev`.

    Raises NotAuthorizedError for a blank or unlisted username, ConfigurationError for a
    missing or malformed release managers file. Makes no request.
    """
    if not (username or "").strip(ASCII_BLANKS):
        raise NotAuthorizedError("You must provide a username to verify!")
    if not is_username(username):
        raise NotAuthorizedError(
            f"{quote(username)} is not a GitLab username (ASCII letters, digits, _, - and . only), "
            f"so not an authorized release manager{non_ascii_note(username)}"
        )
    managers = load(settings.release_managers_file)
    member = managers.find(username, instance)
    if member is None:
        raise NotAuthorizedError(f"{quote(username.strip(ASCII_BLANKS))} is not an authorized release manager!")
    return member


def auth(settings: Settings, username: str | None) -> Plan:
    """`release_managers.auth`: say whether `username` is a release manager (see
    `check_release_manager`, which raises when not).

    It changes nothing, so its outcome is a plan without steps, done, whose one note is
    the line printed: that is what `--json` prints.
    """
    from .output import result
    from .plan import Plan, Status

    member = check_release_manager(settings, username)
    line = f"{member.username} ({member.name}) is an authorized release manager."
    result(line, "green")
    return Plan(settings.task or "release_managers.auth", member.username, notes=[line], status=Status.DONE)
