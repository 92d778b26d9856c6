"""GitLab release tasks (release-tools): `invoke --list` for the tasks, `invoke --help TASK`
for each one's arguments.

The tasks live in release_tools/cli.py, which the installed `release-tools` command runs too.
"""

from release_tools.cli import ns  # noqa: F401
