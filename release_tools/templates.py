"""Rendering of issue and merge request bodies from Jinja2 templates: those shipped in the
package (release_tools/templates), or those of a configured `release_tools.templates_dir`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any


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
