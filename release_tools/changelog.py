"""The changelog: unreleased entries, the Markdown they compile to, and its place in CHANGELOG.md.

Developers add one YAML file per change under `changelogs/unreleased/` (EE also
`ee/changelogs/unreleased/` and the legacy `changelogs/unreleased-ee/`)::

    title: Fix the thing
    merge_request: 1234        # or "!1234", or the merge request's URL
    author: Joe Smith          # community contributions only
    type: fixed                # security removed fixed deprecated changed performance added other

Tagging a release compiles them into a `## X.Y.Z (YYYY-MM-DD)` section of `CHANGELOG.md`
(`CHANGELOG-EE.md`), on the stable branch and on `master`, and removes the released entries.
The day comes from the caller (the settings' clock: today, or `release_tools.date` /
SOURCE_DATE_EPOCH); this module never reads the system clock.

Differences from the Ruby original, on purpose (each has a test):
- an entry that cannot be parsed or has no title is reported and left in place, never
  deleted unreleased (the original swallowed YAML errors and deleted invalid entries);
- the merge request number is the number of the merge request, not every digit of the
  reference joined (`group2/p/merge_requests/5` was 25);
- a `type` that is not a known one (or not text) files the entry under "Other" rather
  than hiding it;
- an author counts the same for the entry line and the community count (non-blank text);
- a section is placed above the first older version, or at the end when every version in
  the file is newer (the original then inserted nothing);
- merging into an existing section of the same version adds nothing when there are no
  entries (a re-run used to add a second `- No changes.`), and replaces a lone
  `- No changes.` when there are;
- monthly releases (`X.Y.0`) are dated the 22nd of the month they are tagged in, the day
  GitLab ships them, unless that day has passed: a release tagged late is dated the day it
  is tagged (the original always used the current month's 22nd, a date in the past for a
  late release). Patch releases are dated the day they are tagged.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .output import say
from .errors import ChangelogEntryError, one_line, quote, quote_path
from .version import ASCII_WHITESPACE, Version

TYPES = ("security", "removed", "fixed", "deprecated", "changed", "performance", "added", "other")
NO_CHANGES = "- No changes."
MONTHLY_RELEASE_DAY = 22

_HEADER = re.compile(r"^## ([0-9]+\.[0-9]+\.[0-9]+)(?=\s|$)", re.ASCII)


@dataclass(frozen=True)
class ChangelogFile:
    """A changelog file and the folders its unreleased entries live in."""

    path: str
    folders: tuple[str, ...]


CE_CHANGELOG = ChangelogFile("CHANGELOG.md", ("changelogs/unreleased",))
EE_CHANGELOG = ChangelogFile("CHANGELOG-EE.md", ("ee/changelogs/unreleased", "changelogs/unreleased-ee"))

#: Every folder a GitLab release reads entries from (the sparse checkout a release needs).
ENTRY_FOLDERS = tuple(dict.fromkeys(CE_CHANGELOG.folders + EE_CHANGELOG.folders))


# -- entries --------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One unreleased change."""

    path: str
    title: str
    type: str = "other"
    merge_request: int | None = None
    author: str | None = None

    def line(self) -> str:
        """`Fix the thing. !1234 (Joe Smith)`."""
        text = self.title.rstrip(".") + "."
        if self.merge_request is not None:
            text += f" !{self.merge_request}"
        if self.author:
            text += f" ({self.author})"
        return text

    @property
    def is_community(self) -> bool:
        return bool(self.author)


@dataclass(frozen=True)
class InvalidEntry:
    """An entry that cannot be released, and why; it stays where it is."""

    path: str
    reason: str


#: `1234`, `!1234`, `group/project!1234`, `https://.../merge_requests/1234`: ASCII digits only
#: (`\d` would take `１２３４`, and int() would read it), at most nine of them.
_MERGE_REQUEST_FORMS = tuple(
    re.compile(pattern, re.ASCII)
    for pattern in (r"!?([0-9]{1,9})", r"[\w.\-/]*!([0-9]{1,9})", r"[!-~]*/merge_requests/([0-9]{1,9})(?:[/?#][!-~]*)?")
)


def merge_request_id(value: Any) -> int | None:
    """The merge request number from `1234`, `"!1234"`, `"group/project!1234"` or a merge
    request URL; None when absent. Raises ValueError for anything else."""
    if value is None or (isinstance(value, str) and not value.strip(ASCII_WHITESPACE)):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"merge_request {quote(value)} is not a merge request number or URL")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"merge_request {quote(value)} is not a merge request number")
        return value
    text = value.strip(ASCII_WHITESPACE)
    for pattern in _MERGE_REQUEST_FORMS:
        match = pattern.fullmatch(text)
        if match:
            return int(match[1])
    raise ValueError(f"merge_request {quote(value)} is not a merge request number or URL")


def parse_entry(path: str, text: str) -> Entry:
    """Read one entry file. Raises ChangelogEntryError saying what is wrong with it."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        problem = one_line(str(error).splitlines()[0], 200) if str(error) else type(error).__name__
        raise ChangelogEntryError(f"{quote_path(path)}: not valid YAML ({problem})") from None
    if not isinstance(data, dict):
        raise ChangelogEntryError(f"{quote_path(path)}: expected keys such as title and type, found {type(data).__name__}")

    title = data.get("title")
    if isinstance(title, (int, float)) and not isinstance(title, bool):
        title = str(title)
    if not isinstance(title, str) or not title.strip():
        raise ChangelogEntryError(f"{quote_path(path)}: it has no title")

    try:
        number = merge_request_id(data.get("merge_request", data.get("id")))
    except ValueError as error:
        raise ChangelogEntryError(f"{quote_path(path)}: {error}") from None

    kind = data.get("type")
    kind = kind.strip().lower() if isinstance(kind, str) else "other"
    author = data.get("author")
    author = " ".join(str(author).split()) if author is not None and not isinstance(author, bool) else None

    return Entry(
        path=path,
        title=" ".join(title.split()),
        type=kind if kind in TYPES else "other",
        merge_request=number,
        author=author or None,
    )


def parse_entries(files: Iterable[tuple[str, str]]) -> tuple[list[Entry], list[InvalidEntry]]:
    """Parse `(path, text)` pairs into valid entries and the invalid ones with their reasons."""
    entries: list[Entry] = []
    invalid: list[InvalidEntry] = []
    for path, text in files:
        try:
            entries.append(parse_entry(path, text))
        except ChangelogEntryError as error:
            invalid.append(InvalidEntry(path, str(error).removeprefix(f"{quote_path(path)}: ")))
    return entries, invalid


# -- Markdown -------------------------------------------------------------------------


def release_date(version: Version, today: datetime.date) -> datetime.date:
    """The date in a release's header; see the module docstring for the rule."""
    if version.is_monthly:
        release_day = today.replace(day=MONTHLY_RELEASE_DAY)
        return max(today, release_day)
    return today


def generate(version: Version, entries: Sequence[Entry], today: datetime.date, *, date: datetime.date | None = None) -> str:
    """The Markdown section for `version`: header, then the entries grouped by type.

    ```
    ## 11.1.0 (2018-07-22)

    ### Fixed (2 changes, 1 of them is from the community)

    - Fix the thing. !1234 (Joe Smith)
    - Fix the other thing. !1240
    ```

    The header carries `date` when given (a Helm chart release is dated the day it is
    tagged, whatever its version), else the release date of `version`.
    """
    lines = [f"## {version.to_patch()} ({(date or release_date(version, today)).isoformat()})", ""]
    if not entries:
        lines += [NO_CHANGES, ""]
    else:
        ordered = sorted(
            entries,
            key=lambda e: (e.merge_request is None, e.merge_request or 0, e.path),
        )
        for kind in TYPES:
            group = [entry for entry in ordered if entry.type == kind]
            if not group:
                continue
            lines += [f"### {kind.capitalize()} ({_count(group)})", ""]
            lines += [f"- {entry.line()}" for entry in group]
            lines.append("")
        lines.append("")
    return "\n".join(lines) + "\n"


def _count(group: Sequence[Entry]) -> str:
    text = f"{len(group)} change{'s' if len(group) != 1 else ''}"
    community = sum(entry.is_community for entry in group)
    if community:
        text += f", {community} of them {'is' if community == 1 else 'are'} from the community"
    return text


def insert(text: str, version: Version, markdown: str) -> str:
    """Put a section made by `generate` into a changelog's text.

    Under an existing header of the same version its entries are merged (nothing is added
    when there are none); otherwise the section goes above the first older version, or at
    the end of the file when there is none.
    """
    lines = text.splitlines(keepends=True)
    new = markdown.splitlines(keepends=True)
    body = new[2:-1]  # without the header, its blank line and the trailing blank line
    has_entries = [line.rstrip("\n") for line in body] != [NO_CHANGES]
    headers = [(index, Version.parse(match[1])) for index, line in enumerate(lines) if (match := _HEADER.match(line))]

    for index, existing in headers:
        if existing == version:
            if not has_entries:
                return text
            start = index + 1
            if start < len(lines) and not lines[start].strip():
                start += 1
            end = next((i for i, _ in headers if i > index), len(lines))
            section = "".join(lines[start:end]).strip()
            if section == NO_CHANGES:
                trailing = [line for line in lines[start:end] if not line.strip()]
                return "".join(lines[:start] + body + trailing[:1] + lines[end:])
            return "".join(lines[:start] + body + lines[start:])

    for index, existing in headers:
        if existing < version:
            return "".join(lines[:index] + new + lines[index:])

    if text and not text.endswith("\n"):
        text += "\n"
    if text and not text.endswith("\n\n"):
        text += "\n"
    return text + markdown


# -- compiling on a repository ---------------------------------------------------------


class Branch(Protocol):
    """A branch being prepared (release_tools.refs.Draft): its files as they are now, and
    commits added on top."""

    name: str

    def read(self, path: str) -> str | None: ...

    def read_many(self, paths: Iterable[str]) -> dict[str, str | None]: ...

    def files(self, folder: str) -> list[str]: ...

    def commit(self, message: str, changes: dict[str, str | None]) -> bool: ...


@dataclass
class ChangelogUpdate:
    """What compiling one changelog file did."""

    file: str
    version: Version
    entries: list[Entry] = field(default_factory=list)
    invalid: list[InvalidEntry] = field(default_factory=list)
    commits: list[str] = field(default_factory=list)  # branches it committed to
    missing: list[str] = field(default_factory=list)  # branches without the file


def report(label: str, update: ChangelogUpdate) -> list[str]:
    """Say what compiling a changelog did; return the lines worth keeping with the plan: the
    entries it could not release (`gitlab-ce: 1 changelog entry not released, left in place: ...`)."""
    for branch in update.commits:
        say(f"Updated {update.file} on {branch} for {update.version} ({len(update.entries)} entries)")
    if not update.invalid:
        return []
    count = len(update.invalid)
    return [
        f"{label}: {count} changelog entr{'y' if count == 1 else 'ies'} not released, left in place: "
        + ", ".join(quote_path(problem.path) for problem in update.invalid)
    ]


def files_for(version: Version) -> list[tuple[ChangelogFile, Version]]:
    """EE compiles CHANGELOG-EE.md for the EE version, then CHANGELOG.md for the CE one."""
    if version.ee:
        return [(EE_CHANGELOG, version.to_ee()), (CE_CHANGELOG, version.to_ce())]
    return [(CE_CHANGELOG, version)]


def release(stable: Branch, master: Branch, version: Version, *, today: datetime.date) -> list[ChangelogUpdate]:
    """Compile every changelog of `version` on the stable branch and on `master`, dated by
    `today` (the settings' clock). Raises GitError."""
    return [update(stable, master, file, file_version, today) for file, file_version in files_for(version)]


def update(
    stable: Branch,
    master: Branch,
    changelog: ChangelogFile,
    version: Version,
    today: datetime.date,
    *,
    date: datetime.date | None = None,
) -> ChangelogUpdate:
    """Compile one changelog file: entries are read from the stable branch; the section is
    written, and the released entries removed, on the stable branch then on `master`, one
    commit each (`Update CHANGELOG.md for 11.1.0`). A branch without the file is reported
    and left alone, entries included."""
    paths = [path for folder in changelog.folders for path in stable.files(folder) if path.endswith(".yml")]
    texts = stable.read_many(paths)
    entries, invalid = parse_entries((path, texts[path] or "") for path in paths)
    outcome = ChangelogUpdate(changelog.path, version, entries, invalid)
    for problem in invalid:
        say(
            f"Changelog entry {quote_path(problem.path)} is not released: {problem.reason}. "
            "It stays in place; fix it and it goes into the next release.",
            "red",
            err=True,
        )
    markdown = generate(version, entries, today, date=date)

    for branch in (stable, master):
        text = branch.read(changelog.path)
        if text is None:
            outcome.missing.append(branch.name)
            say(
                f"Cannot perform changelog update for {version} on {changelog.path}: "
                f"{branch.name} has no {changelog.path}; its entries are left in place.",
                "red",
                err=True,
            )
            continue
        present = {path for folder in changelog.folders for path in branch.files(folder)}
        changes: dict[str, str | None] = {changelog.path: insert(text, version, markdown)}
        changes.update({entry.path: None for entry in entries if entry.path in present})
        if branch.commit(f"Update {changelog.path} for {version}\n\n[ci skip]\n", changes):
            outcome.commits.append(branch.name)
    return outcome
