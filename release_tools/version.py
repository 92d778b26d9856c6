"""GitLab version numbers: parsing, names derived from them, and ordering.

`Version` is the value every task starts from (`11.1.0`, `11.1.0-rc2`, `11.1.3-ee`).
`OmnibusVersion` is the package form (`11.1.0+rc2.ee.0`). Both are pure values: no I/O.

Differences from the Ruby original, on purpose (each has a test):
- ordering is a total order on (major, minor, patch, rc) with the final release above
  its RCs (packaging's PEP 440 ordering of the `X.Y.Z[rcN]` core: GitLab's full forms
  such as `11.1.0-rc1-ee` are not PEP 440, so parsing stays ours); the original subtracted RC numbers across patches and ranked
  `1.2.4-rc1` equal to `1.2.3-rc1`;
- equality and hashing agree: both ignore the edition, so `1.2.3 == 1.2.3-ee` as before
  and the two also hash alike;
- `X.Y-ee` keeps its edition (`X.Y.0-ee`); the original dropped it;
- a bare `-rc` without a number is rejected; the original read it as `rc0`, which no
  GitLab release ever was (nor are `-rc0` and `-rc01` accepted: omnibus versions
  have neither);
- comparing with a non-Version is a `TypeError` for ordering and `False` for `==`;
- a number has at most nine digits, and only ASCII spaces, tabs and line ends around the
  version are ignored. Digits are ASCII only, as Ruby's `\\d` was (Python's is not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from packaging.version import Version as PackagingVersion

from .errors import InvalidVersionError, non_ascii_note, quote

FORMAT_HELP = "Version number must be in the following format: X.Y.Z-rc1 or X.Y.Z"

#: A version number: ASCII digits only, at most nine of them, no leading zero. `\d` would
#: also match `１` (fullwidth) or `١` (Arabic-Indic), which int() then reads as 1.
_NUMBER = r"0|[1-9][0-9]{0,8}"

_VERSION = re.compile(
    rf"""
    (?P<major>{_NUMBER})\.(?P<minor>{_NUMBER})(?:\.(?P<patch>{_NUMBER}))?
    (?:-rc(?P<rc>[0-9]{{0,9}}))?
    (?P<ee>-ee)?
    """,
    re.VERBOSE,
)

_OMNIBUS = re.compile(
    rf"""
    (?P<major>{_NUMBER})\.(?P<minor>{_NUMBER})(?:\.(?P<patch>{_NUMBER}))?
    \+(?:rc(?P<rc>[1-9][0-9]{{0,8}})\.)?
    (?P<edition>ce|ee)
    (?:\.(?P<build>[0-9]{{1,9}}))?
    """,
    re.VERBOSE,
)

#: What parsers strip around a value: ASCII whitespace a paste can bring, nothing else (a
#: no-break or ideographic space is refused like any other character out of place).
ASCII_WHITESPACE = " \t\r\n"


@dataclass(frozen=True, eq=False, repr=False)
class Version:
    """A GitLab release: `MAJOR.MINOR.PATCH[-rcN][-ee]`."""

    major: int
    minor: int
    patch: int = 0
    rc: int | None = None
    ee: bool = False

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse `X.Y`, `X.Y.Z`, `X.Y.Z-rcN` with an optional `-ee` suffix.

        Raises InvalidVersionError (whose message says the expected format).
        """
        text = text or ""
        match = _VERSION.fullmatch(text.strip(ASCII_WHITESPACE))
        if not match:
            raise InvalidVersionError(f"{FORMAT_HELP} (got {quote(text)}{non_ascii_note(text)})")
        if match["rc"] == "":
            raise InvalidVersionError(f"{FORMAT_HELP} (got {quote(text)}: the RC needs a number, e.g. -rc1)")
        if match["rc"] is not None and match["rc"].startswith("0"):
            raise InvalidVersionError(
                f"{FORMAT_HELP} (got {quote(text)}: the RC number is 1 or more, without leading zeros)"
            )
        return cls(
            major=int(match["major"]),
            minor=int(match["minor"]),
            patch=int(match["patch"] or 0),
            rc=int(match["rc"]) if match["rc"] is not None else None,
            ee=match["ee"] is not None,
        )

    @classmethod
    def is_valid(cls, text: str) -> bool:
        try:
            cls.parse(text)
        except InvalidVersionError:
            return False
        return True

    # -- text forms -------------------------------------------------------------

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.rc is not None:
            text += f"-rc{self.rc}"
        if self.ee:
            text += "-ee"
        return text

    def __repr__(self) -> str:
        return f"Version({str(self)!r})"

    # -- predicates -------------------------------------------------------------

    @property
    def is_rc(self) -> bool:
        return self.rc is not None

    @property
    def is_monthly(self) -> bool:
        """`X.Y.0` and not an RC (an EE `X.Y.0-ee` counts)."""
        return self.patch == 0 and not self.is_rc

    @property
    def is_patch(self) -> bool:
        return self.patch > 0

    @property
    def is_release(self) -> bool:
        """A final CE release: neither an RC nor EE (the original's `release?`)."""
        return not self.is_rc and not self.ee

    # -- derived versions -------------------------------------------------------

    def to_ce(self) -> Version:
        return Version(self.major, self.minor, self.patch, self.rc, ee=False)

    def to_ee(self) -> Version:
        return Version(self.major, self.minor, self.patch, self.rc, ee=True)

    def to_patch(self) -> Version:
        """`1.23.4-rc1-ee` -> `1.23.4`: the final CE release of this line."""
        return Version(self.major, self.minor, self.patch)

    def to_rc(self, number: int = 1) -> Version:
        return Version(self.major, self.minor, self.patch, number, self.ee)

    def next_minor(self) -> Version:
        return Version(self.major, self.minor + 1, 0)

    def next_patch(self) -> Version:
        """`1.2.3` -> `1.2.4`, keeping `-ee`; `1.2.3-rc1` -> `1.2.4` as in the original."""
        return Version(self.major, self.minor, self.patch + 1, ee=self.ee)

    def previous_patch(self) -> Version | None:
        """`1.2.3` -> `1.2.2` (keeping `-ee`); None for `X.Y.0`."""
        if self.patch == 0:
            return None
        return Version(self.major, self.minor, self.patch - 1, ee=self.ee)

    # -- names derived from the version -----------------------------------------

    @property
    def minor_name(self) -> str:
        """`8.3`: the milestone title and the `Pick into` label's number."""
        return f"{self.major}.{self.minor}"

    to_minor = minor_name
    milestone_name = minor_name

    def stable_branch(self, ee: bool = False) -> str:
        """`1-23-stable`, or `1-23-stable-ee` for EE."""
        suffix = "-ee" if ee or self.ee else ""
        return f"{self.major}-{self.minor}-stable{suffix}"

    def tag(self, ee: bool = False) -> str:
        """`v1.2.3-rc1`, or `v1.2.3-rc1-ee` for EE."""
        return "v" + str(self.to_ee() if ee else self)

    def previous_tag(self, ee: bool = False) -> str | None:
        """Tag of the previous patch release; None for `X.Y.0` and RCs."""
        previous = self.previous_patch()
        if previous is None or self.is_rc:
            return None
        return previous.tag(ee=ee)

    def to_omnibus(self, ee: bool = False) -> OmnibusVersion:
        """The omnibus package version; the edition comes only from the argument."""
        return OmnibusVersion(self.to_ce(), "ee" if ee else "ce")

    def to_docker(self, ee: bool = False) -> str:
        """`1.23.4-rc1.ce.0`: the omnibus form with `+` turned into `-`."""
        return self.to_omnibus(ee=ee).docker

    # -- ordering ---------------------------------------------------------------

    @cached_property
    def _key(self) -> PackagingVersion:
        # GitLab's `X.Y.Z-rcN` core is a PEP 440 pre-release, so packaging's ordering puts
        # a final release above all of its RCs. The edition (-ee) is left out: it is not
        # PEP 440, and equality ignores it anyway.
        rc = f"rc{self.rc}" if self.rc is not None else ""
        return PackagingVersion(f"{self.major}.{self.minor}.{self.patch}{rc}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __lt__(self, other: Version) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key < other._key

    def __le__(self, other: Version) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key <= other._key

    def __gt__(self, other: Version) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key > other._key

    def __ge__(self, other: Version) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key >= other._key


@dataclass(frozen=True)
class OmnibusVersion:
    """An omnibus-gitlab package version: `X.Y.Z+[rcN.]<ce|ee>.0`."""

    version: Version  # always the CE form
    edition: str  # "ce" or "ee"

    @classmethod
    def parse(cls, text: str) -> OmnibusVersion:
        """Parse `11.1.0+rc2.ee.0` (the trailing build number may be left out).

        Raises InvalidVersionError.
        """
        text = text or ""
        match = _OMNIBUS.fullmatch(text.strip(ASCII_WHITESPACE))
        if not match:
            raise InvalidVersionError(
                "Omnibus version must be in the following format: X.Y.Z+rcN.ee.0 or X.Y.Z+ce.0 "
                f"(got {quote(text)}{non_ascii_note(text)})"
            )
        version = Version(
            int(match["major"]),
            int(match["minor"]),
            int(match["patch"] or 0),
            int(match["rc"]) if match["rc"] else None,
        )
        return cls(version, match["edition"])

    @property
    def ee(self) -> bool:
        return self.edition == "ee"

    @property
    def tag(self) -> str:
        """`1.2.0+rc2.ee.0`: omnibus tags carry no `v`."""
        rc = f"rc{self.version.rc}." if self.version.is_rc else ""
        return f"{self.version.to_patch()}+{rc}{self.edition}.0"

    @property
    def docker(self) -> str:
        return self.tag.replace("+", "-")

    def stable_branch(self) -> str:
        return self.version.stable_branch(ee=self.ee)

    def __str__(self) -> str:
        return self.tag


def shown_version(text: str) -> str:
    """A version read from a file of a repository (VERSION, Chart.yaml's appVersion) as
    messages show it: as it is when it is a GitLab version written the way release-tools
    writes one, else quoted (escaped, cut, one line): whoever can push there wrote it."""
    return text if Version.is_valid(text) and str(Version.parse(text)) == text else quote(text)
