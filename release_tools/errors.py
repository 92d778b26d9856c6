"""Errors a user can act on, and the one place where they become exit codes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


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


class WebhookError(ReleaseToolsError):
    """A chat webhook refused or failed a message."""


class GitLabError(ReleaseToolsError):
    """A GitLab instance refused or failed a request."""


class GitLabAccessError(GitLabError):
    """401 or 403: the token is wrong or lacks permission."""


class GitLabNotFoundError(GitLabError):
    """404: a project, milestone, ref or object does not exist (or is invisible)."""


class MilestoneNotFoundError(GitLabNotFoundError):
    """The release's milestone exists neither in the project nor in its group."""


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn a ReleaseToolsError into a one-line message and exit status 1.

    Anything else is a bug and keeps its traceback.
    """
    from invoke.exceptions import Exit

    from .console import redact

    try:
        yield
    except ReleaseToolsError as error:
        raise Exit(redact(f"Error: {error}"), code=1) from None
