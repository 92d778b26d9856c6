"""Rendering of issue and merge request bodies from the Jinja2 templates in `templates/`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any


@lru_cache(maxsize=4)
def _environment(directory: str) -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(
        loader=FileSystemLoader(directory),
        undefined=StrictUndefined,  # a missing value is an error, not an empty checklist item
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown, not HTML: `&` and `<` stay as written
    )


def render(directory: Path, name: str, **context: Any) -> str:
    """Render `templates/<name>` with exactly `context`.

    Raises jinja2's UndefinedError for a variable the caller did not supply: that is a
    bug in the caller, not something a user can fix.
    """
    return _environment(str(directory)).get_template(name).render(**context)
