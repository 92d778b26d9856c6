"""Rendering of issue and merge request bodies from Jinja2 templates: those shipped in the
package (release_tools/templates), or those of a configured `release_tools.templates_dir`."""

from __future__ import annotations

import re
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


def plain_line(text: str) -> str:
    """`text` (a title, a label, a name from GitLab) on one line: every line break, control
    or other non-printable character a space, and runs of spaces one."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def code_span(text: str) -> str:
    """`text` as inline code on one line (`plain_line`; a backtick in it a `'`): GitLab runs
    no mention, reference or quick action inside code."""
    return "`" + plain_line(text).replace("`", "'") + "`"


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
