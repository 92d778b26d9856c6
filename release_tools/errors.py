"""Errors a user can act on, and the one place where they become exit codes."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any


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


class PipelineNotFoundError(ReleaseToolsError):
    """No tag pipeline exists for an omnibus version, so nothing can be published."""


class PublishError(ReleaseToolsError):
    """Publishing finished, but at least one edition or job could not be started."""


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

    Anything else is a bug and keeps its traceback.
    """
    from invoke.exceptions import Exit

    from .console import redact

    with stop_on_signals():
        try:
            yield
        except ReleaseToolsError as error:
            raise Exit(redact(f"Error: {error}"), code=1) from None
        except Interrupted as stop:
            raise Exit(redact(f"Error: {stop}"), code=stop.exit_code) from None


def config_file_errors(previous: Callable[..., Any]) -> Callable[..., Any]:
    """An excepthook (`sys.excepthook`) for the `invoke` command: invoke reads the `-f` file
    after it has imported tasks.py but before any task or executor runs, and lets a YAML or
    JSON error, an unreadable file or one that holds no mapping escape as a traceback. This
    hook prints one line naming the file instead (the exit status stays 1); any other
    exception goes to `previous`.
    """

    def hook(kind: type[BaseException], error: BaseException, traceback: Any) -> Any:
        from .config import config_file_error
        from .console import redact

        found = config_file_error(error, traceback)
        if found is None:
            return previous(kind, error, traceback)
        print(redact(f"Error: {found}"), file=sys.stderr, flush=True)
        return None

    return hook
