"""GitLab release tasks (release-tools).

A table of contents: each task parses its arguments, builds Settings and calls one
service in `release_tools`; errors become one line and exit 1.

Run `invoke --list` for the tasks and `invoke --help <task>` for their arguments.
"""

import sys

from invoke import Collection, Executor, Task
from invoke import task as invoke_task

from release_tools.config import DEFAULTS
from release_tools.errors import config_file_errors, user_errors

# invoke reads the `-f` file after importing this module and before anything else can check
# it: a file it cannot read or parse is one line naming it, not invoke's traceback.
sys.excepthook = config_file_errors(sys.excepthook)

#: The only short flags, each meaning the same in every task. invoke would otherwise pick
#: the first free letter of each name, task by task: `-s` was --security in `tag` but
#: --skip-ce in `tag_security` and `sync`, and `-i`/`-k` skipped different projects.
SHORT_FLAGS = {
    "dry_run": "d",
    "security": "s",
    "force": "f",
    "no_mention": "n",
    "verbose": "e",
    "version": "v",
    "gitlab_version": "g",
    "to_ref": "t",
    "username": "u",
}


class ReleaseTask(Task):
    """An invoke task whose short flags come from SHORT_FLAGS only."""

    def arg_opts(self, name, default, taken_names):
        opts = super().arg_opts(name, default, taken_names)
        short = SHORT_FLAGS.get(name)
        opts["names"] = [opts["names"][0], *([short] if short else [])]
        return opts


def task(*args, **kwargs):
    return invoke_task(*args, klass=ReleaseTask, **kwargs)


class ReleaseExecutor(Executor):
    """invoke's executor (`tasks.executor_class` in invoke.yaml), which first checks the
    configuration it is about to merge, so that a malformed file or variable is one line
    naming the key, not invoke's traceback, and a `-f` file that does not exist is an error
    rather than ignored."""

    def execute(self, *tasks):
        with user_errors():
            from release_tools.config import check_layers, check_runtime_file

            core = self.core[0].args if self.core else {}
            check_runtime_file(core["config"].value if "config" in core else None)
            check_layers(self.config.get("release_tools"))
        return super().execute(*tasks)


VERSION_HELP = "X.Y.Z or X.Y.Z-rcN (an -ee suffix is accepted and ignored)"
DRY_RUN_HELP = "print what would happen; change nothing (also TEST=true)"


def _settings(c, **flags):
    from release_tools.config import Settings

    return Settings.from_invoke(c, **flags)


def _version(text):
    from release_tools.version import Version

    return Version.parse(text)


def _ensure_issue(c, build, version, dry_run, security=None):
    """`security` is given for release_issue only: its --security flag, which SECURITY=true
    and `release_tools.security` turn on as well."""
    from release_tools import issues

    parsed = _version(version)  # bad input fails before anything else
    settings = _settings(c, dry_run=dry_run, security=bool(security))
    kwargs = {} if security is None else {"security": settings.security}
    issues.ensure_issue(settings, getattr(issues, build)(settings, parsed, **kwargs))


@task(help={"version": "X.Y.Z: the issue is titled 'Release X.Y'", "dry_run": DRY_RUN_HELP})
def monthly_issue(c, version, dry_run=False):
    """Create the monthly release task issue ('Release X.Y'), or show it if it exists.

    Usage: invoke monthly_issue VERSION, e.g. invoke monthly_issue 11.1.0
    """
    with user_errors():
        _ensure_issue(c, "monthly_issue", version, dry_run)


@task(help={"version": VERSION_HELP, "dry_run": DRY_RUN_HELP})
def patch_issue(c, version, dry_run=False):
    """Create the patch (or, for -rcN, release-candidate) task issue, or show it.

    Usage: invoke patch_issue VERSION, e.g. invoke patch_issue 11.1.2 or 11.1.0-rc2
    """
    with user_errors():
        _ensure_issue(c, "patch_issue", version, dry_run)


@task(help={"version": "X.Y.Z", "dry_run": DRY_RUN_HELP})
def security_patch_issue(c, version, dry_run=False):
    """Create the confidential security release task issue, or show it.

    Usage: invoke security_patch_issue VERSION, e.g. invoke security_patch_issue 11.1.2
    """
    with user_errors():
        _ensure_issue(c, "security_patch_issue", version, dry_run)


@task(
    help={
        "version": VERSION_HELP,
        "security": "create the confidential security release issue instead (also SECURITY=true)",
        "dry_run": DRY_RUN_HELP,
    }
)
def release_issue(c, version, security=False, dry_run=False):
    """Create the issue a release needs: monthly for X.Y.0, patch or RC otherwise.

    Usage: invoke release_issue [--security] VERSION, e.g. invoke release_issue 11.1.0
    """
    with user_errors():
        _ensure_issue(c, "release_issue", version, dry_run, security=security)


@task(
    help={
        "from_ref": "the older tag or branch, e.g. v11.1.0-rc1 (EE refs get -ee added)",
        "to_ref": "the newer tag or branch, e.g. v11.1.0-rc2",
        "version": "the release being tested; default: TO_REF without its leading v",
        "dry_run": DRY_RUN_HELP,
        "verbose": "print progress and the number of API requests",
    }
)
def qa_issue(c, from_ref, to_ref, version=None, dry_run=False, verbose=False):
    """Create the QA issue listing the merge requests between two refs, or add new ones to it.

    Usage: invoke qa_issue FROM_REF TO_REF [--version V], e.g. invoke qa_issue v11.1.0-rc1 v11.1.0-rc2
    """
    with user_errors():
        from release_tools import qa

        from_ref, to_ref = qa.check_ref(from_ref), qa.check_ref(to_ref)  # before anything else
        parsed = _version(version) if version else qa.infer_version(to_ref)
        settings = _settings(c, dry_run=dry_run, verbose=verbose)
        qa.ensure_qa_issue(settings, from_ref, to_ref, parsed)


@task(
    help={
        "version": VERSION_HELP,
        "dry_run": "list the jobs that would be played; play none (also TEST=true)",
        "verbose": "print the number of API requests",
    }
)
def publish(c, version, dry_run=False, verbose=False):
    """Play the manual release jobs of the EE and CE omnibus tag pipelines on dev.

    Usage: invoke publish VERSION, e.g. invoke publish 11.1.0
    """
    with user_errors():
        from release_tools import publish as publishing

        parsed = _version(version)
        publishing.publish(_settings(c, dry_run=dry_run, verbose=verbose), parsed)


@task(
    help={
        "version": VERSION_HELP,
        "security": "prepare on the dev instance, linking the confidential issue (also SECURITY=true)",
        "dry_run": "show the merge requests; create no branch and no merge request (also TEST=true)",
    }
)
def patch_merge_request(c, version, security=False, dry_run=False):
    """Create the CE and EE preparation branches and merge requests of a patch or RC.

    Usage: invoke patch_merge_request VERSION, e.g. invoke patch_merge_request 11.1.2
    """
    with user_errors():
        from release_tools import preparation

        parsed = _version(version)
        preparation.ensure_preparation_merge_requests(_settings(c, dry_run=dry_run, security=security), parsed)


SKIP_HELP = {
    "skip_ce": "leave gitlab-ce alone (also CE=false)",
    "skip_ee": "leave gitlab-ee alone (also EE=false)",
    "skip_omnibus": "leave omnibus-gitlab alone (also OG=false)",
}


def _skips(skip_ce, skip_ee, skip_omnibus):
    return tuple(key for key, skipped in (("ce", skip_ce), ("ee", skip_ee), ("omnibus", skip_omnibus)) if skipped)


def _tag(c, version, dry_run, security, skips):
    from release_tools import tagging

    parsed = _version(version)  # bad input fails before any clone or push
    settings = _settings(c, dry_run=dry_run, security=security, skip=skips)
    tagging.tag(settings, parsed)


TAG_HELP = {
    "version": "X.Y.Z or X.Y.Z-rcN: EE is tagged vX.Y.Z-ee, CE vX.Y.Z, omnibus X.Y.Z+ee.0 and X.Y.Z+ce.0",
    "dry_run": "prepare everything locally and print the pushes it would make; push and post nothing (also TEST=true)",
    **SKIP_HELP,
}


@task(aliases=("release",), help={**TAG_HELP, "security": "push only to the dev remotes (also SECURITY=true)"})
def tag(c, version, dry_run=False, security=False, skip_ce=False, skip_ee=False, skip_omnibus=False):
    """Tag a release of EE, CE and omnibus: stable branches, VERSION, changelogs, tags, all remotes.

    Usage: invoke tag VERSION, e.g. invoke tag 11.1.0 (or, to try it first, invoke tag --dry-run 11.1.0)
    """
    with user_errors():
        _tag(c, version, dry_run, security, _skips(skip_ce, skip_ee, skip_omnibus))


@task(aliases=("security_release",), help=TAG_HELP)
def tag_security(c, version, dry_run=False, skip_ce=False, skip_ee=False, skip_omnibus=False):
    """Tag a security release: like `tag`, pushing only to the dev remotes.

    Usage: invoke tag_security VERSION, e.g. invoke tag_security 11.1.2
    """
    with user_errors():
        _tag(c, version, dry_run, True, _skips(skip_ce, skip_ee, skip_omnibus))


@task(help={"dry_run": "print the pushes it would make; push nothing (also TEST=true)", **SKIP_HELP})
def sync(c, dry_run=False, skip_ce=False, skip_ee=False, skip_omnibus=False):
    """Make master identical on every remote of gitlab-ee, gitlab-ce and omnibus-gitlab."""
    with user_errors():
        from release_tools import tagging

        tagging.sync(_settings(c, dry_run=dry_run, skip=_skips(skip_ce, skip_ee, skip_omnibus)))


@task(
    help={
        "version": "the chart version X.Y.Z; '' to derive it from GITLAB_VERSION",
        "gitlab_version": "the GitLab version X.Y.Z or X.Y.Z-rcN the chart ships; '' to keep the one it has",
        "dry_run": "prepare everything locally and print the pushes it would make; push nothing (also TEST=true)",
        "security": "refused: the chart has no dev remote (also SECURITY=true)",
    }
)
def tag_chart(c, version, gitlab_version, dry_run=False, security=False):
    """Release the Helm chart: stable branch, Chart.yaml versions, changelog, tag vX.Y.Z, master.

    Usage: invoke helm.tag_chart VERSION GITLAB_VERSION, chart version first,
    e.g. invoke helm.tag_chart 0.3.2 11.1.2, or '' for the one left out: invoke helm.tag_chart '' 11.1.2
    """
    with user_errors():
        from release_tools import chart_release

        chart, app = chart_release.parse_versions(version, gitlab_version)  # before any clone
        chart_release.tag_chart(_settings(c, dry_run=dry_run, security=security), chart, app)


@task(
    help={
        "dry_run": "merge locally and print the merge request; push, create and post nothing (also TEST=true)",
        "force": "merge even though an upstream merge request is still open (also FORCE=true)",
        "no_mention": "name people in `backticks` instead of @mentioning them (also NO_MENTION=true)",
    }
)
def upstream_merge(c, dry_run=False, force=False, no_mention=False):
    """Merge CE master into a new EE branch, conflicts and all, and open the merge request."""
    with user_errors():
        from release_tools import upstream_merge as merging

        merging.upstream_merge(_settings(c, dry_run=dry_run, force=force, no_mention=no_mention))


@task(help={"username": "the gitlab.com username to check (case does not matter)"})
def auth(c, username):
    """Check that USERNAME is in the release managers file; exit 1 if not.

    Usage: invoke release_managers.auth USERNAME
    """
    from release_tools.console import result
    from release_tools.release_managers import check_release_manager

    with user_errors():
        member = check_release_manager(_settings(c), username)
        result(f"{member.username} ({member.name}) is an authorized release manager.", "green")


@task(name="sync", help={"dry_run": "print who would be added and removed; change nothing (also TEST=true)"})
def sync_release_managers(c, dry_run=False):
    """Make the release managers groups on both instances match the release managers file."""
    with user_errors():
        from release_tools import manager_groups

        manager_groups.sync(_settings(c, dry_run=dry_run))


ns = Collection(
    monthly_issue,
    patch_issue,
    security_patch_issue,
    release_issue,
    qa_issue,
    publish,
    patch_merge_request,
    tag,
    tag_security,
    sync,
    upstream_merge,
    Collection("release_managers", auth, sync_release_managers),
)
# Sub-collections do not inherit `tasks.auto_dash_names: false` (invoke.yaml) from the root.
ns.add_collection(Collection("helm", tag_chart, auto_dash_names=False))
ns.configure({"release_tools": DEFAULTS})
