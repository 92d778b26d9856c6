"""release-tools tasks: a table of contents. Each task parses its arguments, builds
Settings and calls one service in `release_tools`; errors become one line and exit 1.

Run `invoke --list` for the tasks and `invoke --help <task>` for their arguments.
"""

from invoke import Collection, task

from release_tools.config import DEFAULTS
from release_tools.errors import user_errors

VERSION_HELP = "X.Y.Z or X.Y.Z-rcN (an -ee suffix is accepted and ignored)"
DRY_RUN_HELP = "print what would happen; change nothing (also TEST=true)"


def _settings(c, **flags):
    from release_tools.config import Settings

    return Settings.from_invoke(c, **flags)


def _version(text):
    from release_tools.version import Version

    return Version.parse(text)


def _ensure_issue(c, build, version, dry_run, **kwargs):
    from release_tools import issues

    parsed = _version(version)  # bad input fails before anything else
    settings = _settings(c, dry_run=dry_run)
    issues.ensure_issue(settings, getattr(issues, build)(settings, parsed, **kwargs))


@task(help={"version": "X.Y.Z: the issue is titled 'Release X.Y'", "dry_run": DRY_RUN_HELP})
def monthly_issue(c, version, dry_run=False):
    """Create the monthly release task issue ('Release X.Y'), or show it if it exists."""
    with user_errors():
        _ensure_issue(c, "monthly_issue", version, dry_run)


@task(help={"version": VERSION_HELP, "dry_run": DRY_RUN_HELP})
def patch_issue(c, version, dry_run=False):
    """Create the patch (or, for -rcN, release-candidate) task issue, or show it."""
    with user_errors():
        _ensure_issue(c, "patch_issue", version, dry_run)


@task(help={"version": "X.Y.Z", "dry_run": DRY_RUN_HELP})
def security_patch_issue(c, version, dry_run=False):
    """Create the confidential security release task issue, or show it."""
    with user_errors():
        _ensure_issue(c, "security_patch_issue", version, dry_run)


@task(
    help={
        "version": VERSION_HELP,
        "security": "create the confidential security release issue instead",
        "dry_run": DRY_RUN_HELP,
    }
)
def release_issue(c, version, security=False, dry_run=False):
    """Create the issue a release needs: monthly for X.Y.0, patch or RC otherwise."""
    with user_errors():
        _ensure_issue(c, "release_issue", version, dry_run, security=security)


@task(help={"username": "the gitlab.com username to check (case does not matter)"})
def auth(c, username):
    """Check that USERNAME is in the release managers file; exit 1 if not."""
    from release_tools.console import result
    from release_tools.release_managers import check_release_manager

    with user_errors():
        member = check_release_manager(_settings(c), username)
        result(f"{member.username} ({member.name}) is an authorized release manager.", "green")


ns = Collection(
    monthly_issue,
    patch_issue,
    security_patch_issue,
    release_issue,
    Collection("release_managers", auth),
)
ns.configure({"release_tools": DEFAULTS})
