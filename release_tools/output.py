"""What the user reads: progress and outcome lines, through stdlib logging, every secret masked.

Everything release-tools prints goes through the `release_tools` logger (and Python's
warnings, libraries' included, through `py.warnings`), to one handler with one redacting
filter: known secrets (tokens, webhook URLs) and the user part of every URL
(`https://user:password@host`) never reach a terminal, a log or a chat reply.

- `say()` is progress; `result()` is an outcome line (what ChatOps used to reply with);
  `warn()` is a warning, always on stderr;
- progress and outcome go to stdout, or to stderr when stdout carries JSON (`--json`);
  a task whose outcome is a report (`status`) may send its progress to stderr instead;
- colours are used only on a terminal, and never when `NO_COLOR` is set.

The task boundary calls `configure()` with the run's secrets and mode; nothing else
changes this module's state (Settings does not).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator

HIDDEN = "<hidden>"
LOGGER_NAME = "release_tools"

_COLOURS = {"red": 31, "green": 32, "yellow": 33, "blue": 34, "cyan": 36}

#: How a job log's section markers end (`section_end:<time>:chat_reply\r\033[0K`): shown
#: escaped in every printed line but the reply section itself, so that text from a title, a
#: file or an argument cannot open or close a section of the log (GitLab posts the first
#: `chat_reply` section of a ChatOps job's log to chat).
_MARKER_END = "\r\x1b"

#: `scheme://user:password@host` -> `scheme://<hidden>@host`. Up to the *last* `@` before the
#: path, so that a password with an unescaped `@` is hidden whole; scp-like `git@host:path`
#: has no secret and is left alone.
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s'\"]+@")


def redact_url(text: str) -> str:
    """Hide the user and password part of every URL in `text`."""
    return _USERINFO.sub(r"\g<scheme><hidden>@", text)


class Redactor(logging.Filter):
    """Masks known secrets and URL credentials in every record it sees."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def add(self, values: Iterable[str | None]) -> None:
        """Mask these values from now on (short ones would mask ordinary words: 4 characters at least)."""
        with self._lock:
            self._secrets = self._secrets | {value for value in values if value and len(value) >= 4}

    def clear(self) -> None:
        with self._lock:
            self._secrets = frozenset()

    def redact(self, text: str) -> str:
        text = redact_url(text)  # first: a masked password would hide its URL's userinfo from the pattern
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, HIDDEN)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        return True


class ConsoleHandler(logging.Handler):
    """Writes each record to the stream it belongs on, coloured on a terminal.

    The stream is looked up for every record (tests and ChatOps replace sys.stdout).
    """

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.json = False
        self.progress_on_stderr = False

    def stream_for(self, record: logging.LogRecord):
        if self.json or record.levelno >= logging.WARNING or getattr(record, "err", False):
            return sys.stderr
        if self.progress_on_stderr and not getattr(record, "result", False):
            return sys.stderr
        return sys.stdout

    def emit(self, record: logging.LogRecord) -> None:
        stream = self.stream_for(record)
        text = record.getMessage()
        if not getattr(record, "section", False):
            text = text.replace(_MARKER_END, "\\r\\x1b")
        if record.name == "py.warnings":
            # `file.py:12: UserWarning: the message` and the source line: one line, the warning itself.
            text = " ".join(text.split())
        colour = getattr(record, "colour", None) or ("yellow" if record.levelno >= logging.WARNING else None)
        if colour and use_colour(stream):
            text = f"\033[{_COLOURS[colour]}m{text}\033[0m"
        try:
            stream.write(text + "\n")
            stream.flush()
        except (OSError, ValueError):  # a closed pipe must not turn into a second error
            pass


class Collector(logging.Handler):
    """Keeps the outcome lines (`result()`) printed while it is attached."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "result", False):
            self.lines.append(record.getMessage())


_redactor = Redactor()
_handler = ConsoleHandler()
_handler.addFilter(_redactor)
_logger = logging.getLogger(LOGGER_NAME)
_logger.setLevel(logging.INFO)
_logger.propagate = False
_logger.addHandler(_handler)
_warnings = logging.getLogger("py.warnings")
_warnings.propagate = False
_warnings.addHandler(_handler)
# A library's warning may quote a URL it was given (python-gitlab's base-URL warning does).
logging.captureWarnings(True)


def configure(*, secrets: Iterable[str | None] = (), json: bool = False) -> None:
    """Set up output for one run: the secrets to mask, and whether stdout carries JSON.

    Python's warnings (python-gitlab's included) are routed through the same handler so
    that a URL or token in them is masked too.
    """
    _redactor.add(secrets)
    _handler.json = json


@contextlib.contextmanager
def progress_on_stderr() -> Iterator[None]:
    """Inside the block, progress goes to stderr, leaving stdout to the outcome lines (a
    report such as `status`'s); as it was before, after."""
    before = _handler.progress_on_stderr
    _handler.progress_on_stderr = True
    try:
        yield
    finally:
        _handler.progress_on_stderr = before


def protect(*values: str | None) -> None:
    """Mask more secrets from now on (a job token read during the run)."""
    _redactor.add(values)


def redact(text: str) -> str:
    """`text` as it may be shown: secrets and URL credentials masked."""
    return _redactor.redact(text)


def reset() -> None:
    """Forget the secrets and the mode (between runs in one process: tests)."""
    _redactor.clear()
    _handler.json = False
    _handler.progress_on_stderr = False


def json_mode() -> bool:
    return _handler.json


def use_colour(stream) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def say(text: str = "", colour: str | None = None, *, err: bool = False) -> None:
    """Print progress (stdout; stderr with `err=True` or in JSON mode)."""
    _logger.info(text, extra={"colour": colour, "err": err})


def result(text: str = "", colour: str | None = None, *, err: bool = False) -> None:
    """Print an outcome line: what a task did (an issue's URL, a played job, a tag); one
    that is a warning (a failed Slack post) goes to stderr with `err=True`."""
    _logger.info(text, extra={"colour": colour, "result": True, "err": err})


def section(text: str) -> None:
    """Print a job-log section (the ChatOps reply) as it is: its markers are the only ones
    printed; in every other line they are shown escaped."""
    _logger.info(text, extra={"section": True})


def warn(text: str) -> None:
    """Print a warning on stderr: something went wrong that does not stop the task."""
    _logger.warning(text, extra={"colour": "yellow"})


@contextlib.contextmanager
def collect_results() -> Iterator[list[str]]:
    """Record every `result()` line printed inside the block into the yielded list."""
    collector = Collector()
    collector.addFilter(_redactor)
    _logger.addHandler(collector)
    try:
        yield collector.lines
    finally:
        _logger.removeHandler(collector)
