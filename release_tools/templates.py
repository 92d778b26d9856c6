"""Rendering of issue and merge request bodies from Jinja2 templates: those shipped in the
package (release_tools/templates), or those of a configured `release_tools.templates_dir`."""

from __future__ import annotations

import re
import urllib.parse
from functools import lru_cache
from pathlib import Path
from typing import Any

#: A GitLab reference to a user or group (`@alice`, `@gitlab-org/delivery`), not an e-mail address.
_MENTION = re.compile(r"(?<![A-Za-z0-9_.+-])@[A-Za-z0-9_][A-Za-z0-9_./-]*")


@lru_cache(maxsize=4)
def _environment(directory: str | None) -> Any:
    from jinja2 import Environment, FileSystemLoader, PackageLoader, StrictUndefined

    return Environment(
        # Package data: found in a wheel, a zip or a checkout alike.
        loader=PackageLoader("release_tools", "templates") if directory is None else FileSystemLoader(directory),
        undefined=StrictUndefined,  # a missing value is an error, not an empty checklist item
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown, not HTML: `&` and `<` stay as written
    )


def render(directory: Path | None, name: str, **context: Any) -> str:
    """Render the template `name` of `directory` (None: the shipped templates) with
    exactly `context`.

    Raises jinja2's UndefinedError for a variable the caller did not supply: that is a
    bug in the caller, not something a user can fix.
    """
    return _environment(None if directory is None else str(directory)).get_template(name).render(**context)


def inline_code(text: str, limit: int | None = None) -> str:
    """Untrusted `text` (a title, a file or author name) as Markdown inline code on one
    line, for a description or a comment: GitLab runs no mention (`@user`), reference or
    link inside code, and shows it as it is.

    Control and other non-printable characters are escaped as messages show them (`\\n`,
    `\\x1b`): a line break would otherwise start a line of its own, which GitLab would run as
    a quick action (`/close`). The fence is one backtick longer than the longest run of
    backticks in `text` (padded with a space when `text` starts or ends with one), so that
    no backtick in it ends the code. With `limit`, a longer text is cut with an ellipsis.
    """
    from .errors import _escaped

    shown = "".join(_escaped(character) for character in text)
    if limit is not None and len(shown) > limit:
        shown = shown[:limit] + "\u2026"
    fence = "`" * (1 + max((len(run) for run in re.findall(r"`+", shown)), default=0))
    pad = " " if shown[:1] in ("`", " ") or shown[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def mention(user: str) -> str:
    """`@alice` for a GitLab username; anything else (a name GitLab would not give, an
    author's git name) as inline code, on one line, mentioning no one."""
    from .release_managers import is_username

    return f"@{user}" if is_username(user) and user == user.strip() else inline_code(user)


def link_destination(url: str) -> str:
    """An http(s) URL (`CI_JOB_URL`, anyone's to set) as the destination of a Markdown link,
    `[text](here)`: parentheses, brackets, angle brackets, quotes and backslashes
    percent-encoded, so that the URL cannot end the link early and go on as text (a mention,
    a link of its own)."""
    return urllib.parse.quote(url, safe="/:?#@!$&*+,;=%~-._")


def plain_line(text: str) -> str:
    """`text` (a title, a label, a name from GitLab) on one line: every line break, control
    or other non-printable character a space, and runs of spaces one."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def markdown_line(text: str, limit: int = 200) -> str:
    """Text someone else wrote (a merge request's title) as inline Markdown of a line of
    ours, inert: one line (`plain_line`, cut after `limit` characters), so that it can
    start no heading, checklist item or quick action (`/close`) of its own; `\\`, `` ` ``,
    `[` and `]` escaped and `<` an entity, so that it closes no link of ours and opens no
    code span or HTML comment; and every `@mention` in it code, so that it pings no one."""
    line = plain_line(text)[:limit]
    for character in ("\\", "`", "[", "]"):
        line = line.replace(character, "\\" + character)
    line = line.replace("<", "&lt;")
    return _MENTION.sub(lambda match: f"`{match.group(0)}`", line)
