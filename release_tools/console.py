"""What the user reads: coloured status lines, with every known secret masked.

Every line goes through `redact`: it hides the registered secrets (tokens, webhook URLs)
and the user and password part of every URL (`https://user:pass@host` shows as
`https://<hidden>@host`), in errors, warnings (those of libraries too), progress and
chat replies alike.

Colours are used only on a terminal, and never when `NO_COLOR` is set, so logs of CI
jobs and chat replies stay plain text.
"""

from __future__ import annotations

import contextlib
import re
import sys
import warnings
from collections.abc import Iterator

HIDDEN = "<hidden>"
_secrets: set[str] = set()

#: `scheme://user:password@host`: the userinfo, up to the *last* `@` before the path, so a
#: password with an unescaped `@` is hidden whole; scp-like `git@host:path` has no secret.
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s'\"]+@")

_COLOURS = {"red": 31, "green": 32, "yellow": 33, "blue": 34, "cyan": 36}


def register_secret(value: str | None) -> None:
    """Mask `value` wherever this module prints (tokens, webhook URLs)."""
    if value and len(value) >= 4:
        _secrets.add(value)


def redact(text: str) -> str:
    """`text` without the registered secrets and without the userinfo of any URL."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return _USERINFO.sub(rf"\g<scheme>{HIDDEN}@", text)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """`warnings.showwarning`, redacted: a library's warning may quote a URL it was given."""
    stream = sys.stderr if file is None else file
    try:
        stream.write(redact(warnings.formatwarning(message, category, filename, lineno, line)))
    except (AttributeError, OSError):  # no stderr (pythonw), or it was closed
        pass


warnings.showwarning = _show_warning


def _use_colour(stream) -> bool:
    import os

    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def say(text: str = "", colour: str | None = None, *, err: bool = False) -> None:
    """Print one line (or several) to stdout, or stderr with `err=True`."""
    stream = sys.stderr if err else sys.stdout
    text = redact(text)
    if colour and _use_colour(stream):
        text = f"\033[{_COLOURS[colour]}m{text}\033[0m"
    print(text, file=stream, flush=True)


# -- task outcomes ----------------------------------------------------------------------

_collectors: list[list[str]] = []


def result(text: str = "", colour: str | None = None, *, err: bool = False) -> None:
    """Print a line that is the outcome of a task (an issue URL, a played job, a tag).

    It prints like `say` (a warning, such as a failed Slack post, to stderr with
    `err=True`); while `collect_results()` is active it is also recorded, which is how the
    ChatOps entrypoint builds its reply from outcomes only, leaving progress out.
    """
    if _collectors:
        _collectors[-1].append(redact(text))
    say(text, colour, err=err)


@contextlib.contextmanager
def collect_results() -> Iterator[list[str]]:
    """Record every `result()` line printed inside the block into the yielded list."""
    lines: list[str] = []
    _collectors.append(lines)
    try:
        yield lines
    finally:
        _collectors.remove(lines)
