"""Errors a user can act on, and the one place where they become exit codes."""

from __future__ import annotations

import contextlib
import re
import signal
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

#: How much of a value a message shows: enough to recognise it, never a page of it.
QUOTE_LIMIT = 60

#: Paths are shown whole up to this length: the end of a path is the part that names the file.
PATH_LIMIT = 240

#: The longest line an error prints as; anything longer was not written to be read.
LINE_LIMIT = 1000


class ReleaseToolsError(Exception):
    """A problem the user can act on; str() is the whole one-line message."""


class InvalidVersionError(ReleaseToolsError):
    """A version argument that is not of a form this task accepts."""


class ConfigurationError(ReleaseToolsError):
    """A setting is missing or malformed (configuration, environment, `.env`)."""


class MissingTokenError(ConfigurationError):
    """An API token needed for a real run is not set."""


class NotAuthorizedError(ReleaseToolsError):
    """The user may not run this: not a release manager, or not who the pipeline says."""


class UsageError(ReleaseToolsError):
    """A command was given arguments it does not take (ChatOps input, for instance)."""


class GitLabError(ReleaseToolsError):
    """A GitLab instance refused or failed a request."""


class GitLabTransientError(GitLabError):
    """A 5xx answer or a lost connection: the request may or may not have taken effect."""


class GitLabUnavailableError(GitLabTransientError):
    """No connection could be made (refused, a name that does not resolve), or GitLab kept
    answering 429: the request did not take effect, and retrying it did not help."""


class GitLabAccessError(GitLabError):
    """401 or 403: the token is wrong or lacks permission."""


class GitLabNotFoundError(GitLabError):
    """404: a project, milestone, ref or object does not exist (or is invisible)."""


class UserNotFoundError(GitLabNotFoundError):
    """A username (e.g. in the release managers file) that the instance does not know."""


class MilestoneNotFoundError(GitLabNotFoundError):
    """The release's milestone exists neither in the project nor in its group."""


class GitLabConflictError(GitLabError):
    """409: the object exists already (an open merge request for the same branches)."""


class InvalidRefError(ReleaseToolsError):
    """A branch, tag or commit given on the command line does not exist in the project."""


class ReleaseIssueNotFoundError(ReleaseToolsError):
    """A step needs the release's task issue, and it has not been created yet."""




class GitError(ReleaseToolsError):
    """A git command failed; `output` holds what git printed (credentials redacted)."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class PushError(GitError):
    """A remote refused a push (or some of its refs); nothing else was pushed there."""


class MergeConflictError(GitError):
    """A merge or pull stopped on conflicts; `files` lists the conflicted paths."""

    def __init__(self, message: str, output: str = "", files: tuple[str, ...] = ()) -> None:
        super().__init__(message, output)
        self.files = files


class ReleaseStateError(ReleaseToolsError):
    """The remotes are in a state the release cannot safely build on (a tag pointing
    elsewhere, a branch that diverged); nothing has been pushed."""


class VersionFileError(ReleaseToolsError):
    """A version file the release copies or bumps is missing."""


class ChangelogEntryError(ReleaseToolsError):
    """A changelog entry (`changelogs/unreleased/*.yml`) that cannot be released as it is."""


class SlackError(ReleaseToolsError):
    """A Slack webhook could not be reached or refused the message."""


# -- showing untrusted text in messages ---------------------------------------------------


def _escaped(character: str) -> str:
    """`character` as it can be printed: itself, or a Python escape (`\\n`, `\\x1b`, `\\u202e`)
    for control characters, line and paragraph separators, format characters such as bidi
    overrides and zero-width spaces, and lone surrogates."""
    if character.isprintable():
        return character
    return character.encode("unicode_escape").decode("ascii")


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`value` (a version, ref, username, token, path, ...) as a message shows it.

    Like `repr()`: text in quotes, with backslashes, the quote and every non-printable
    character escaped, so that it stays on its line and cannot pass for another one (any
    other value is shown as its repr: `12`, `['a', 'b']`). Secrets are masked first, so that
    cutting never shows part of one; a value whose shown form is longer than `limit` is cut
    with an ellipsis saying how long it was: `'1111…' (10240 characters)`.
    """
    from .output import redact

    if isinstance(value, str):
        text = redact(value)
        mark = '"' if "'" in text and '"' not in text else "'"
    else:
        text, mark = redact(repr(value)), ""
    shown: list[str] = []
    width = 0
    for character in text:
        piece = "\\" + character if mark and character in ("\\", mark) else _escaped(character)
        if width + len(piece) > limit:
            return f"{mark}{''.join(shown)}\u2026{mark} ({len(text)} characters)"
        shown.append(piece)
        width += len(piece)
    return mark + "".join(shown) + mark


def quote_path(path: object) -> str:
    """A path (a file or folder from configuration) as messages show it: `quote`d, whole up
    to PATH_LIMIT characters."""
    return quote(str(path), PATH_LIMIT)


def non_ascii_note(text: str) -> str:
    """`: '１' (U+FF11 FULLWIDTH DIGIT ONE) is not ASCII` for the first non-ASCII character of
    `text`, or "": why a look-alike digit, dash or dot is refused where only ASCII is."""
    for character in text:
        if not character.isascii():
            name = unicodedata.name(character, "")
            return f": {quote(character)} (U+{ord(character):04X}{' ' + name if name else ''}) is not ASCII"
    return ""


def plain_url(text: str | None) -> str:
    """`text` when it is one http(s) URL of printable ASCII characters, else "": for a URL
    that messages show unquoted (`CI_JOB_URL`, which whoever starts a pipeline can set)."""
    url = (text or "").strip()
    return url if re.fullmatch(r"https?://[!-~]+", url) else ""


def one_line(text: str, limit: int = LINE_LIMIT) -> str:
    """`text` as one printable line, whatever it holds: secrets masked, every control or
    other non-printable character escaped as `quote` does, and cut after `limit` characters.

    The last guarantee for error lines, behind the quoting of each value in the messages.
    """
    from .output import redact

    line = "".join(_escaped(character) for character in redact(text))
    if len(line) > limit:
        line = f"{line[:limit]}\u2026 (cut at {limit} of {len(line)} characters)"
    return line


def yaml_problem(error: BaseException) -> str:
    """What a YAML parser's error says, as one line: `expected <block end>, but found '-'
    (line 3, column 1)`, or the first line of what it says when it marks no place (a
    character YAML does not accept)."""
    problem = getattr(error, "problem", None) or getattr(error, "context", None)
    if not problem:
        problem = (str(error).strip().splitlines() or [type(error).__name__])[0]
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    return f"{one_line(str(problem))}{at}"


class Interrupted(BaseException):
    """The run was stopped by a signal (SIGINT, i.e. Ctrl-C, SIGTERM or SIGHUP).

    A BaseException, like KeyboardInterrupt, so that no `except Exception` on the way
    swallows it and every `finally` runs: the temporary clones are removed, and a git
    command in flight is ended. A service that knows what it had done when it was stopped
    says so in `progress`; str() is the whole one-line message.
    """

    def __init__(self, signum: int, progress: str = "") -> None:
        super().__init__(signum)
        self.signum = signum
        self.progress = progress

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process the signal ended: 130 for
        SIGINT, 143 for SIGTERM, 129 for SIGHUP."""
        return 128 + self.signum

    def __str__(self) -> str:
        what = self.progress or "nothing more was pushed, created or posted; what was done is printed above"
        return f"interrupted by {signal.Signals(self.signum).name}: {what}"


#: The signals that stop a run the way Ctrl-C does (SIGHUP: the terminal went away).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Inside the block, SIGINT, SIGTERM and SIGHUP raise Interrupted (in the main thread,
    where Python runs signal handlers), so that the run unwinds and cleans up instead of
    dying on the spot. A second signal while the first one unwinds is ignored, so that the
    cleanup finishes; SIGKILL cannot be caught (`git.remove_stale_clones` handles what it
    leaves). Outside the main thread this does nothing. The previous handlers come back
    at the end of the block.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def stop(signum: int, frame: Any) -> None:
        if not received:
            received.append(signum)
            raise Interrupted(signum)

    previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn a ReleaseToolsError into a one-line message and exit status 1, and a run
    stopped by SIGINT, SIGTERM or SIGHUP (see `stop_on_signals`) into one line saying what
    was and was not done, and exit status 128 + the signal's number.

    The line is one line without control characters whatever the message holds (`one_line`).
    Anything else is a bug and keeps its traceback.
    """
    from invoke.exceptions import Exit

    with stop_on_signals():
        try:
            yield
        except ReleaseToolsError as error:
            raise Exit(one_line(f"Error: {error}"), code=1) from None
        except Interrupted as stop:
            raise Exit(one_line(f"Error: {stop}"), code=stop.exit_code) from None


def config_file_errors(previous: Callable[..., Any]) -> Callable[..., Any]:
    """An excepthook (`sys.excepthook`) for the `invoke` command: invoke reads the `-f` file
    after it has imported tasks.py but before any task or executor runs, and lets a YAML or
    JSON error, an unreadable file or one that holds no mapping escape as a traceback. This
    hook prints one line naming the file instead (the exit status stays 1); any other
    exception goes to `previous`.
    """

    def hook(kind: type[BaseException], error: BaseException, traceback: Any) -> Any:
        from .config import config_file_error

        found = config_file_error(error, traceback)
        if found is None:
            return previous(kind, error, traceback)
        print(one_line(f"Error: {found}"), file=sys.stderr, flush=True)
        return None

    return hook
