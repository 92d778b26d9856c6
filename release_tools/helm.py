"""The GitLab Helm chart's versions: chart version values, `Chart.yaml` edits, and the rule
that derives the next chart version from the GitLab version it ships.

Pure values and text transformations; the release flow that uses them lives elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidVersionError, ReleaseToolsError, non_ascii_note, quote, yaml_problem
from .version import ASCII_WHITESPACE, Version

CHART_FORMAT_HELP = "Version number must be in the following format: X.Y.Z"

_NUMBER = r"0|[1-9][0-9]{0,8}"  # ASCII digits only, as GitLab versions (see version.py)
_CHART = re.compile(rf"({_NUMBER})\.({_NUMBER})\.({_NUMBER})")


class ChartFileError(ReleaseToolsError):
    """A `Chart.yaml` that cannot be read or updated."""


@dataclass(frozen=True, order=True)
class ChartVersion:
    """A chart version: `X.Y.Z`, tagged `vX.Y.Z` on the `X-Y-stable` branch."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> ChartVersion:
        """Raises InvalidVersionError for anything but `X.Y.Z`."""
        text = text or ""
        match = _CHART.fullmatch(text.strip(ASCII_WHITESPACE))
        if not match:
            raise InvalidVersionError(f"{CHART_FORMAT_HELP} (got {quote(text)} as the chart version{non_ascii_note(text)})")
        return cls(*(int(part) for part in match.groups()))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def tag(self) -> str:
        return f"v{self}"

    @property
    def stable_branch(self) -> str:
        return f"{self.major}-{self.minor}-stable"

    def bump(self, change: str | None) -> ChartVersion:
        """The chart version that follows a GitLab change of kind `change`.

        A major GitLab release bumps the chart's major, a minor its minor, a patch its
        patch; an RC or no change keeps the chart version.
        """
        if change == "major":
            return ChartVersion(self.major + 1, 0, 0)
        if change == "minor":
            return ChartVersion(self.major, self.minor + 1, 0)
        if change == "patch":
            return ChartVersion(self.major, self.minor, self.patch + 1)
        return self


def parse_app_version(text: str) -> Version:
    """The GitLab version a chart ships: `X.Y.Z` or `X.Y.Z-rcN`, never EE.

    Raises InvalidVersionError.
    """
    version = Version.parse(text)
    if version.ee:
        raise InvalidVersionError(f"The chart ships GitLab versions without -ee (got {quote(text)})")
    return version


def change_kind(new: Version, old: Version | None) -> str | None:
    """Which part of the GitLab version changed: major, minor, patch, rc, or None.

    Without a previous version (the chart on `master` ships `master`), the new version's
    own shape decides: `X.0.0` is a major release, `X.Y.0` a minor one, anything else a patch.
    """
    if old is None:
        if new.minor == 0 and new.patch == 0:
            return "major"
        if new.patch == 0:
            return "minor"
        return "patch"
    for part in ("major", "minor", "patch"):
        if getattr(new, part) != getattr(old, part):
            return part
    if new.rc != old.rc:
        return "rc"
    return None


def next_chart_version(base_chart: ChartVersion, base_app_version: str, new_app: Version) -> ChartVersion:
    """The chart version for `new_app`, given the chart and app versions it builds on."""
    try:
        old = parse_app_version(base_app_version)
    except InvalidVersionError:
        old = None
    return base_chart.bump(change_kind(new_app, old))


# -- Chart.yaml ------------------------------------------------------------------------------

_KEY_LINE = r"^(?P<key>{key}):[ \t]*(?P<value>[^\n#]*?)(?P<gap>[ \t]*)(?P<comment>#[^\n]*)?$"


def read_chart(text: str, where: str = "Chart.yaml") -> tuple[str, str]:
    """`(version, appVersion)` of a Chart.yaml; appVersion is "" when absent.

    Raises ChartFileError, one line naming the file as `where` says (`Chart.yaml on
    master`), when the YAML is broken, holds no mapping, or has no version (or a version
    or appVersion that is a list, a mapping or another value that is no text).
    """
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ChartFileError(f"{where} is not valid YAML: {yaml_problem(error)}") from None
    except RecursionError:
        raise ChartFileError(f"{where} is nested too deeply to be read") from None
    if not isinstance(data, dict):
        raise ChartFileError(f"{where} holds {_kind(data)}, not a mapping with a top-level version")
    if data.get("version") is None:
        raise ChartFileError(f"{where} has no top-level version")
    for key in ("version", "appVersion"):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
            raise ChartFileError(f"{key} in {where} is {_kind(value)}, not text")
    return str(data["version"]), str(data.get("appVersion") or "")


def _kind(value: object) -> str:
    """`a list`, `a mapping`, `nothing`: what a YAML value is, for a message."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    name = type(value).__name__
    return f"a{'n' if name[:1] in 'aeiou' else ''} {name}"


def update_chart(
    text: str, version: ChartVersion | None = None, app_version: Version | str | None = None, where: str = "Chart.yaml"
) -> str:
    """Set the top-level `version` and/or `appVersion` of a Chart.yaml, keeping every other
    line (comments, order, quoting style of untouched keys) exactly as it was.

    `app_version` is a GitLab version, or any text (a subchart's component version).

    A missing `appVersion` is added after `version`. Raises ChartFileError, naming the file as
    `where` says, when there is no top-level `version` line to update.
    """
    if version is not None:
        text = _set_key(text, "version", str(version), where)
    if app_version is not None:
        if re.search(_KEY_LINE.format(key="appVersion"), text, flags=re.M):
            text = _set_key(text, "appVersion", str(app_version), where)
        else:
            text = re.sub(
                _KEY_LINE.format(key="version"),
                lambda m: m.group(0) + f"\nappVersion: {app_version}",
                text,
                count=1,
                flags=re.M,
            )
    return text


def _set_key(text: str, key: str, value: str, where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        old = match["value"]
        quote = old[0] if old[:1] in ("'", '"') else ""
        comment = match["gap"] + match["comment"] if match["comment"] else ""
        return f"{key}: {quote}{value}{quote}{comment}"

    updated, count = re.subn(_KEY_LINE.format(key=re.escape(key)), replace, text, count=1, flags=re.M)
    if count == 0:
        raise ChartFileError(f"{where} has no top-level {key} line to update")
    return updated
