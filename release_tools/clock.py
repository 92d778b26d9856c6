"""The release's clock: the one place that says what "today" and "now" are.

Every date release-tools writes or decides by comes from here: changelog headers (GitLab
and the Helm chart), the upstream merge's branch name, merge request title, fallback
assignee and current milestone. It is the real time unless one of these sets it, so that a
release can be replayed or rehearsed for a given day:

- `release_tools.date` (`YYYY-MM-DD`): the day; the time of day stays the real one (UTC),
  so two upstream merges of that day still get different branch names;
- `SOURCE_DATE_EPOCH` (the reproducible-builds convention: whole seconds since
  1970-01-01 UTC, as `date +%s` prints them): the moment itself, read in UTC.

The setting wins over the variable: build environments set SOURCE_DATE_EPOCH for
everything they run (a Nix shell sets it to 1980 by default), while `release_tools.date`
is only ever set for release-tools. Durations stay on the real clock: how long ago an open
merge request was opened, and ChatOps' reply window.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError

SETTING = "release_tools.date"
VARIABLE = "SOURCE_DATE_EPOCH"

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SECONDS = re.compile(r"[0-9]+")


def wall() -> datetime.datetime:
    """The real time, in UTC."""
    return datetime.datetime.now(datetime.timezone.utc)


@dataclass(frozen=True)
class Clock:
    """The real clock, or one set to a day (`day`) or to a moment (`moment`, UTC)."""

    day: datetime.date | None = None
    moment: datetime.datetime | None = None
    source: str = ""  # what set it: `release_tools.date` or `SOURCE_DATE_EPOCH=...`

    @classmethod
    def from_config(cls, setting: Any, epoch: str | None) -> Clock:
        """The clock `release_tools.date` (`setting`) or SOURCE_DATE_EPOCH (`epoch`) set,
        else the real one. Raises ConfigurationError naming the one that is malformed."""
        if isinstance(setting, datetime.datetime):  # YAML reads `2018-07-22 10:00` as one
            setting = setting.isoformat(sep=" ")
        if isinstance(setting, datetime.date):  # YAML reads an unquoted 2018-07-22 as a date
            return cls(day=setting, source=SETTING)
        text = "" if setting is None else str(setting).strip()
        if text:
            return cls(day=_parse_day(text), source=SETTING)
        if epoch is not None and epoch.strip():
            return cls(moment=_parse_epoch(epoch.strip()), source=f"{VARIABLE}={epoch.strip()}")
        return cls()

    @property
    def is_set(self) -> bool:
        return self.day is not None or self.moment is not None

    def now(self) -> datetime.datetime:
        """The moment, in UTC: the set one, the set day at the real time of day, or the real one."""
        if self.moment is not None:
            return self.moment
        real = wall()
        if self.day is not None:
            return datetime.datetime.combine(self.day, real.timetz())
        return real

    def today(self) -> datetime.date:
        """The day: the set one (SOURCE_DATE_EPOCH's in UTC), else the local date."""
        if self.moment is not None:
            return self.moment.date()
        if self.day is not None:
            return self.day
        return datetime.date.today()

    def note(self) -> str | None:
        """The line a task prints when its dates are not today's, or None."""
        if self.moment is not None:
            return f"Dated {self.moment:%Y-%m-%d %H:%M} UTC, as {self.source} says (not the real time)"
        if self.day is not None:
            return f"Dated {self.day.isoformat()}, as {self.source} says (not today)"
        return None


def _parse_day(text: str) -> datetime.date:
    try:
        if _DAY.fullmatch(text):
            return datetime.date.fromisoformat(text)
    except ValueError:
        pass
    raise ConfigurationError(f"{SETTING} must be a date YYYY-MM-DD, e.g. 2018-07-22 (got {_quote(text)})")


def _parse_epoch(text: str) -> datetime.datetime:
    try:
        if _SECONDS.fullmatch(text):
            return datetime.datetime.fromtimestamp(int(text), datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        pass
    raise ConfigurationError(
        f"{VARIABLE} must be a whole number of seconds since 1970-01-01 UTC, as `date +%s` prints "
        f"(got {_quote(text)})"
    )


def _quote(text: str, limit: int = 40) -> str:
    """User input in a message: quoted, control characters escaped, cut to `limit`."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")
