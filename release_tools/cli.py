"""The command line: the task boundary every task runs through, and the `release-tools` program.

`ReleaseTask` is invoke's Task with what every release task shares, written once:

- `--json` (also `release_tools.json`, `RELEASE_TOOLS_JSON=1`): one JSON document on
  stdout, the plan and its outcome; progress goes to stderr;
- `--yes`/`-y` (also `release_tools.assume_yes`) for tasks that change something: do not
  ask before changing anything (runs on a terminal outside CI ask first);
- invoke's own dry run (`invoke -R TASK`, `--dry`, `run.dry: true`) is a dry run of the task;
- the one error boundary: a ReleaseToolsError becomes one line on stderr and exit status 1
  (anything else is a bug and keeps its traceback); a plan's outcome becomes the exit status.

Short flags come from SHORT_FLAGS only, so each means the same in every task, and none
stands for something else than invoke's core flag of the same letter (`invoke -d` is
invoke's debug switch, so the dry run's short flag is `-R`, as invoke's own dry run).

Another program may call the tasks of `ns` itself (ChatOps does): it puts a `Caller` in
the Context's configuration, and the task then reads that caller's environment, leaves
errors and output to it, and returns the Plan whatever its outcome.
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from invoke import Collection, Executor, Program, Task
from invoke import task as invoke_task
from invoke.exceptions import Exit

from . import __version__
from .config import DEFAULTS, ReleaseConfig, project_folder
from .errors import config_file_errors

# invoke reads the `-f` file after importing the tasks and before anything else can check
# it: a file it cannot read or parse is one line naming it, not invoke's traceback.
sys.excepthook = config_file_errors(sys.excepthook)

#: The only short flags, each meaning the same in every task. invoke would otherwise pick
#: the first free letter of each name, task by task. None of them differs from a core
#: flag of invoke (`-R` is invoke's dry run too).
SHORT_FLAGS = {
    "dry_run": "R",
    "yes": "y",
    "security": "s",
    "no_mention": "n",
    "version": "v",
    "gitlab_version": "g",
    "to_ref": "t",
    "username": "u",
}

JSON_HELP = "print one JSON document (the plan and its outcome) on stdout; progress goes to stderr"
READ_JSON_HELP = "print one JSON document (what was read) on stdout; progress goes to stderr"
YES_HELP = "do not ask before changing anything (a terminal outside CI asks first)"


@dataclass(frozen=True)
class Caller:
    """A program calling tasks itself, with its own error boundary and output (ChatOps).

    Under CALLER_KEY in the Context's configuration, it tells the task which environment
    to read (tokens, switches) instead of the process's, and who asked for the run
    (`requester`, credited in the Slack message of a tag). It is a Python object, so no
    configuration file or variable can pose as one: those hold plain data only.
    """

    environ: Mapping[str, str]
    requester: str = ""
    #: Whether the requester is in the release managers file (a command that does not
    #: require one, `status`, reads only public facts for someone who is not).
    release_manager: bool = True


#: The configuration key a Caller goes under (not a setting).
CALLER_KEY = "release_tools_caller"


def caller_of(context: Any) -> Caller | None:
    """The Caller that runs this task, or None on the command line."""
    value = context.config.get(CALLER_KEY)
    return value if isinstance(value, Caller) else None


class ReleaseTask(Task):
    """An invoke task run through the release-tools boundary (see the module docstring).

    `checks` maps argument names to functions that refuse a bad value (they raise a
    ReleaseToolsError): the boundary runs them before the body, and a caller may run them
    (`check_arguments`) before it announces anything.
    """

    def __init__(
        self, *args: Any, mutating: bool = True, checks: Mapping[str, Callable[[Any], object]] | None = None, **kwargs: Any
    ) -> None:
        self.mutating = mutating
        self.checks = dict(checks or {})
        #: The name with its collection (`release_managers.sync`), set by `qualify()`.
        self.qualified_name = ""
        super().__init__(*args, **kwargs)
        self.help = {**self.help, "json": JSON_HELP if mutating else READ_JSON_HELP, **({"yes": YES_HELP} if mutating else {})}

    def argspec(self, body: Any) -> inspect.Signature:
        """The body's own arguments, then `--json` and (for a task that changes something) `--yes`."""
        signature = super().argspec(body)
        extra = [inspect.Parameter("json", inspect.Parameter.KEYWORD_ONLY, default=False)]
        if self.mutating:
            extra.append(inspect.Parameter("yes", inspect.Parameter.KEYWORD_ONLY, default=False))
        taken = set(signature.parameters)
        parameters = list(signature.parameters.values()) + [p for p in extra if p.name not in taken]
        return signature.replace(parameters=sorted(parameters, key=lambda p: p.kind))

    def arg_opts(self, name: str, default: Any, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        short = SHORT_FLAGS.get(name)
        opts["names"] = [opts["names"][0], *([short] if short else [])]
        return opts

    def check_arguments(self, values: Mapping[str, Any]) -> None:
        """Run the checks of the arguments given in `values` (None: not given)."""
        for name, check in self.checks.items():
            if values.get(name) is not None:
                check(values[name])

    def __call__(self, context: Any, *args: Any, **kwargs: Any) -> Any:
        flags = {"json": bool(kwargs.pop("json", False)), "yes": bool(kwargs.pop("yes", False))}

        def checked_body(context: Any, *args: Any, **kwargs: Any) -> Any:
            self.check_arguments(kwargs)
            return self.body(context, *args, **kwargs)

        return Boundary(self.qualified_name or self.name, context, **flags).run(checked_body, context, *args, **kwargs)


def task(*args: Any, **kwargs: Any) -> Any:
    return invoke_task(*args, klass=ReleaseTask, **kwargs)


class Boundary:
    """One task run: output mode, the error boundary, signals, the JSON document, the exit status."""

    def __init__(self, name: str, context: Any, *, json: bool = False, yes: bool = False) -> None:
        from .config import RUN_KEY, wants_json

        self.name = name
        self.caller = caller_of(context)
        # A caller prints its own output: no JSON document on stdout.
        self.json = self.caller is None and (json or wants_json(context.config))
        if "release_tools" in context.config:
            # The task's Settings read the run's mode from the configuration, flags included
            # (`config["release_tools"]` is invoke's proxy, which writes through; `.get()` copies).
            tree = context.config["release_tools"]
            tree["json"] = self.json
            tree["assume_yes"] = bool(yes or tree.get("assume_yes"))
        context.config[RUN_KEY] = {"task": name}

    def run(self, body: Any, *args: Any, **kwargs: Any) -> Any:
        """Run the task's body: a ReleaseToolsError is one line on stderr and exit status 1,
        a signal (SIGINT, SIGTERM, SIGHUP) one line and 128 + its number; the outcome's
        `exit_status` is the exit status. Anything else is a bug and keeps its traceback."""
        from . import output
        from .errors import Interrupted, ReleaseToolsError, one_line, stop_on_signals

        output.configure(json=self.json)
        if self.caller is not None:
            # The caller's boundary turns errors and signals into its own output, and
            # makes the exit status from the Plan it gets back.
            return body(*args, **kwargs)
        try:
            with stop_on_signals():
                outcome = body(*args, **kwargs)
        except ReleaseToolsError as error:
            self._fail(one_line(f"Error: {error}"), 1, getattr(error, "plan", None))
        except Interrupted as stop:
            self._fail(one_line(f"Error: {stop}"), stop.exit_code, getattr(stop, "plan", None))
        if self.json:
            self._print(_document(self.name, outcome))
        status = getattr(outcome, "exit_status", 0)
        if status:
            raise Exit(code=status)
        return outcome

    def _fail(self, line: str, code: int, plan: Any) -> None:
        if self.json:
            document = _document(self.name, plan) if plan is not None else _document(self.name, None, status="error")
            document.update(exit_status=code, error=line.removeprefix("Error: "))
            if document.get("status") in (None, "done"):
                document["status"] = "error"
            self._print(document)
        raise Exit(line, code=code) from None

    @staticmethod
    def _print(document: dict[str, Any]) -> None:
        from .output import redact

        sys.stdout.write(redact(json.dumps(document, indent=2, ensure_ascii=False)) + "\n")
        sys.stdout.flush()


def _document(name: str, outcome: Any, status: str = "done") -> dict[str, Any]:
    """The JSON document of an outcome: a Plan's own, or a minimal one for tasks without a plan."""
    if hasattr(outcome, "to_json"):
        return outcome.to_json()
    return {"schema": 1, "task": name, "status": status, "exit_status": 0, "steps": [], "error": None}


class ReleaseExecutor(Executor):
    """invoke's executor (`tasks.executor_class`), which first checks the configuration it
    is about to merge, so that a malformed file or variable is one line naming the key,
    not invoke's traceback, and a `-f` file that does not exist is an error rather than
    ignored."""

    def execute(self, *tasks: Any) -> Any:
        from .config import check_layers, check_runtime_file
        from .errors import user_errors

        with user_errors():
            core = self.core[0].args if self.core else {}
            check_runtime_file(core["config"].value if "config" in core else None)
            check_layers(self.config.get("release_tools"))
        return super().execute(*tasks)


def qualify(collection: Any, prefix: str = "") -> None:
    """Tell every task its full name (`release_managers.sync`), for JSON documents and chat."""
    for name, item in collection.tasks.items():
        if isinstance(item, ReleaseTask):
            item.qualified_name = f"{prefix}{name}"
    for name, sub in collection.collections.items():
        qualify(sub, f"{prefix}{name}.")


# -- the tasks ----------------------------------------------------------------------


VERSION_HELP = "X.Y.Z or X.Y.Z-rcN (an -ee suffix is accepted and ignored)"
DRY_RUN_HELP = "print what would happen; change nothing (also invoke -R, TEST=true)"


def _settings(c, **flags):
    """The run's Settings; the secrets they know are masked in everything printed from now on."""
    from . import output
    from .config import Settings

    from .config import check_instance_urls, process_environ

    caller = caller_of(c)
    settings = Settings.from_invoke(c, environ=caller.environ if caller else None, **flags)
    output.configure(secrets=settings.secret_values(), json=settings.json)
    check_instance_urls(settings, caller.environ if caller else process_environ())
    return settings


def _version(text):
    from .version import Version

    return Version.parse(text)


def _ref(text):
    from .qa import check_ref

    return check_ref(text)


#: The check of a task's VERSION argument (see ReleaseTask): bad input fails before anything.
VERSION_CHECK = {"version": _version}


def _pick_version(text):
    from .cherry_pick import check_version

    parsed = _version(text)
    check_version(parsed)
    return parsed


def _ensure_issue(c, build, version, dry_run, security=None):
    """`security` is given for release_issue only: its --security flag, which SECURITY=true
    and `release_tools.security` turn on as well."""
    from . import issues

    parsed = _version(version)  # bad input fails before anything else
    settings = _settings(c, dry_run=dry_run, security=bool(security))
    kwargs = {} if security is None else {"security": settings.security}
    return issues.ensure_issue(settings, getattr(issues, build)(settings, parsed, **kwargs))


@task(checks=VERSION_CHECK, help={"version": "X.Y.Z: the issue is titled 'Release X.Y'", "dry_run": DRY_RUN_HELP})
def monthly_issue(c, version, dry_run=False):
    """Create the monthly release task issue ('Release X.Y'), or show it if it exists.

    Usage: invoke monthly_issue VERSION, e.g. invoke monthly_issue 11.1.0
    """
    return _ensure_issue(c, "monthly_issue", version, dry_run)


@task(checks=VERSION_CHECK, help={"version": VERSION_HELP, "dry_run": DRY_RUN_HELP})
def patch_issue(c, version, dry_run=False):
    """Create the patch (or, for -rcN, release-candidate) task issue, or show it.

    Usage: invoke patch_issue VERSION, e.g. invoke patch_issue 11.1.2 or 11.1.0-rc2
    """
    return _ensure_issue(c, "patch_issue", version, dry_run)


@task(checks=VERSION_CHECK, help={"version": "X.Y.Z", "dry_run": DRY_RUN_HELP})
def security_patch_issue(c, version, dry_run=False):
    """Create the confidential security release task issue, or show it.

    Usage: invoke security_patch_issue VERSION, e.g. invoke security_patch_issue 11.1.2
    """
    return _ensure_issue(c, "security_patch_issue", version, dry_run)


@task(
    checks=VERSION_CHECK,
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
    return _ensure_issue(c, "release_issue", version, dry_run, security=security)


@task(
    checks={"from_ref": _ref, "to_ref": _ref, **VERSION_CHECK},
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
    from . import qa

    from_ref, to_ref = qa.check_ref(from_ref), qa.check_ref(to_ref)  # before anything else
    parsed = _version(version) if version else qa.infer_version(to_ref)
    settings = _settings(c, dry_run=dry_run, verbose=verbose)
    return qa.ensure_qa_issue(settings, from_ref, to_ref, parsed)


@task(
    checks=VERSION_CHECK,
    help={
        "version": VERSION_HELP,
        "dry_run": "list the jobs that would be played; play none (also invoke -R TASK, TEST=true)",
        "verbose": "print the number of API requests",
    }
)
def publish(c, version, dry_run=False, verbose=False):
    """Play the manual release jobs of the EE and CE omnibus tag pipelines on dev.

    Usage: invoke publish VERSION, e.g. invoke publish 11.1.0
    """
    from . import publish as publishing

    parsed = _version(version)
    return publishing.publish(_settings(c, dry_run=dry_run, verbose=verbose), parsed)


@task(
    checks=VERSION_CHECK,
    help={
        "version": VERSION_HELP,
        "security": "prepare on the dev instance, linking the confidential issue (also SECURITY=true)",
        "dry_run": "show the merge requests; create no branch and no merge request (also invoke -R TASK, TEST=true)",
    }
)
def patch_merge_request(c, version, security=False, dry_run=False):
    """Create the CE and EE preparation branches and merge requests of a patch or RC.

    Usage: invoke patch_merge_request VERSION, e.g. invoke patch_merge_request 11.1.2
    """
    from . import preparation

    parsed = _version(version)
    return preparation.ensure_preparation_merge_requests(_settings(c, dry_run=dry_run, security=security), parsed)


@task(
    checks={"version": _pick_version},
    help={
        "version": "X.Y.Z (Z > 0) or X.Y.0-rcN: the patch or RC whose preparation branches get the picks",
        "security": "pick the dev instance's merge requests, push only to the dev remotes (also SECURITY=true)",
        "dry_run": "pick in a local clone and show the outcome; push, comment and post nothing (also invoke -R TASK, TEST=true)",
    }
)
def cherry_pick(c, version, security=False, dry_run=False):
    """Cherry-pick the merged 'Pick into X.Y' merge requests into the CE and EE preparation branches.

    Usage: invoke cherry_pick VERSION, e.g. invoke cherry_pick 11.1.2 (exit status 3: some need a manual pick)
    """
    from . import cherry_pick as picking

    parsed = _pick_version(version)  # before anything else
    return picking.cherry_pick(_settings(c, dry_run=dry_run, security=security), parsed)


SKIP_HELP = {
    "skip_ce": "leave gitlab-ce alone (also CE=false)",
    "skip_ee": "leave gitlab-ee alone (also EE=false)",
    "skip_omnibus": "leave omnibus-gitlab alone (also OG=false)",
}


def _skips(skip_ce, skip_ee, skip_omnibus):
    return tuple(key for key, skipped in (("ce", skip_ce), ("ee", skip_ee), ("omnibus", skip_omnibus)) if skipped)


def _tag(c, version, dry_run, security, skips):
    from . import tagging

    parsed = _version(version)  # bad input fails before any clone or push
    settings = _settings(c, dry_run=dry_run, security=security, skip=skips)
    caller = caller_of(c)
    # A chat command credits the release manager who gave it, not the bot (see Caller).
    return tagging.tag(settings, parsed, requester=caller.requester if caller else None)


TAG_HELP = {
    "version": "X.Y.Z or X.Y.Z-rcN: EE is tagged vX.Y.Z-ee, CE vX.Y.Z, omnibus X.Y.Z+ee.0 and X.Y.Z+ce.0",
    "dry_run": "prepare everything locally and print the pushes it would make; push and post nothing (also invoke -R TASK, TEST=true)",
    **SKIP_HELP,
}


@task(
    aliases=("release",),
    checks=VERSION_CHECK,
    help={**TAG_HELP, "security": "push only to the dev remotes (also SECURITY=true)"},
)
def tag(c, version, dry_run=False, security=False, skip_ce=False, skip_ee=False, skip_omnibus=False):
    """Tag a release of EE, CE and omnibus: stable branches, VERSION, changelogs, tags, all remotes.

    Usage: invoke tag VERSION, e.g. invoke tag 11.1.0 (or, to try it first, invoke tag --dry-run 11.1.0)
    """
    return _tag(c, version, dry_run, security, _skips(skip_ce, skip_ee, skip_omnibus))


@task(aliases=("security_release",), checks=VERSION_CHECK, help=TAG_HELP)
def tag_security(c, version, dry_run=False, skip_ce=False, skip_ee=False, skip_omnibus=False):
    """Tag a security release: like `tag`, pushing only to the dev remotes.

    Usage: invoke tag_security VERSION, e.g. invoke tag_security 11.1.2
    """
    return _tag(c, version, dry_run, True, _skips(skip_ce, skip_ee, skip_omnibus))


@task(help={"dry_run": "print the pushes it would make; push nothing (also invoke -R TASK, TEST=true)", **SKIP_HELP})
def sync(c, dry_run=False, skip_ce=False, skip_ee=False, skip_omnibus=False):
    """Make master identical on every remote of gitlab-ee, gitlab-ce and omnibus-gitlab."""
    from . import tagging

    return tagging.sync(_settings(c, dry_run=dry_run, skip=_skips(skip_ce, skip_ee, skip_omnibus)))


@task(
    help={
        "version": "the chart version X.Y.Z; '' to derive it from GITLAB_VERSION",
        "gitlab_version": "the GitLab version X.Y.Z or X.Y.Z-rcN the chart ships; '' to keep the one it has",
        "dry_run": "prepare everything locally and print the pushes it would make; push nothing (also invoke -R TASK, TEST=true)",
        "security": "refused: the chart has no dev remote (also SECURITY=true)",
    }
)
def tag_chart(c, version, gitlab_version, dry_run=False, security=False):
    """Release the Helm chart: stable branch, Chart.yaml versions, changelog, tag vX.Y.Z, master.

    Usage: invoke helm.tag_chart VERSION GITLAB_VERSION, chart version first,
    e.g. invoke helm.tag_chart 0.3.2 11.1.2, or '' for the one left out: invoke helm.tag_chart '' 11.1.2
    """
    from . import chart_release

    chart, app = chart_release.parse_versions(version, gitlab_version)  # before any clone
    return chart_release.tag_chart(_settings(c, dry_run=dry_run, security=security), chart, app)


@task(
    help={
        "dry_run": "merge locally and print the merge request; push, create and post nothing (also invoke -R TASK, TEST=true)",
        "force": "merge even though an upstream merge request is still open (also FORCE=true)",
        "no_mention": "name people in `backticks` instead of @mentioning them (also NO_MENTION=true)",
    }
)
def upstream_merge(c, dry_run=False, force=False, no_mention=False):
    """Merge CE master into a new EE branch, conflicts and all, and open the merge request."""
    from . import upstream_merge as merging

    return merging.upstream_merge(_settings(c, dry_run=dry_run, force=force, no_mention=no_mention))


@task(
    mutating=False,
    checks=VERSION_CHECK,
    help={
        "version": VERSION_HELP,
        "security": "the security release of VERSION: dev remotes only, the confidential issues (also SECURITY=true)",
    },
)
def status(c, version, security=False):
    """Show where the release of VERSION stands, phase by phase, and the next step; change nothing.

    Exit status 0 when everything could be read and nothing is wrong, 3 when a problem was
    found, 2 when something could not be read.
    Usage: invoke status VERSION, e.g. invoke status 11.1.2
    """
    from . import status as release_status

    parsed = _version(version)  # bad input fails before any request
    caller = caller_of(c)
    # From chat, someone who is not a release manager gets public facts only.
    return release_status.status(
        _settings(c, security=security),
        parsed,
        public_only=caller is not None and not caller.release_manager,
        requester=caller.requester if caller else "",
    )


@task(
    mutating=False,
    checks=VERSION_CHECK,
    help={
        "version": "X.Y.0 (monthly), X.Y.Z-rcN (release candidate) or X.Y.Z (patch)",
        "security": "rehearse the security release of X.Y.Z: dev only, no chart",
        "keep": "the sandbox's folder, kept afterwards; naming an earlier rehearsal's folder goes on with its sandbox",
    },
)
def rehearse(c, version, security=False, keep=""):
    """Rehearse a whole release in a local sandbox: every step for real, then again changing nothing.

    No GitLab, no token, no network. Exit status 1 when a step fails (the sandbox is kept).
    Usage: invoke rehearse VERSION, e.g. invoke rehearse 11.1.0 (or release-tools rehearse 11.1.0)
    """
    from . import rehearse as rehearsal

    parsed = _version(version)  # bad input fails before the sandbox is made
    return rehearsal.rehearse(parsed, security=security, keep=keep)


@task(mutating=False, help={"username": "the gitlab.com username to check (case does not matter)"})
def auth(c, username):
    """Check that USERNAME is in the release managers file; exit 1 if not.

    Usage: invoke release_managers.auth USERNAME
    """
    from . import release_managers

    return release_managers.auth(_settings(c), username)


@task(name="sync", help={"dry_run": "print who would be added and removed; change nothing (also invoke -R TASK, TEST=true)"})
def sync_release_managers(c, dry_run=False):
    """Make the release managers groups on both instances match the release managers file."""
    from . import manager_groups

    return manager_groups.sync(_settings(c, dry_run=dry_run))


@task(
    mutating=False,
    checks=VERSION_CHECK,
    help={
        "version": "the release the sandbox is seeded for (default 11.1.0): X.Y.Z or X.Y.Z-rcN",
        "dir": "the folder to seed it in, empty or new (default: a new temporary folder); it stays after Ctrl-C",
    },
)
def sandbox(c, version="11.1.0", dir=""):  # noqa: A002  (the flag is --dir)
    """Run a sandbox GitLab with local git remotes in the foreground, until Ctrl-C.

    It writes DIR/sandbox.yaml and DIR/sandbox.env, which point release-tools at it:
    release-tools -f DIR/sandbox.yaml TASK. Usage: release-tools sandbox [--dir DIR] [--version V]
    """
    from .sandbox.serve import serve

    return serve(_version(version), dir)


ns = Collection(
    monthly_issue,
    patch_issue,
    security_patch_issue,
    release_issue,
    qa_issue,
    publish,
    patch_merge_request,
    cherry_pick,
    tag,
    tag_security,
    sync,
    upstream_merge,
    status,
    sandbox,
    rehearse,
    Collection("release_managers", auth, sync_release_managers, auto_dash_names=False),
    Collection("helm", tag_chart, auto_dash_names=False),
    # The original's names: `qa_issue`, `tag_security` (not `qa-issue`).
    auto_dash_names=False,
)
ns.configure({"release_tools": DEFAULTS})
qualify(ns)


class ReleaseProgram(Program):
    """`release-tools`: invoke's Program over the collection, so that the tool needs no
    tasks.py. Its configuration is invoke's (ReleaseConfig); the project's `invoke.yaml` is
    the one in `project_folder()` (this checkout, or the working directory of an installed
    run), and the executor is always ReleaseExecutor, whatever that file says."""

    def parse_collection(self) -> None:
        super().parse_collection()
        self.config.set_project_location(str(project_folder()))
        self.config.load_project(merge=False)

    def update_config(self, merge: bool = True) -> None:
        super().update_config(merge=False)
        self.config._overrides.setdefault("tasks", {})["executor_class"] = "release_tools.cli.ReleaseExecutor"
        if merge:
            self.config.merge()


def program() -> ReleaseProgram:
    """The `release-tools` command (`release-tools --version` is the project's version)."""
    return ReleaseProgram(
        namespace=ns,
        version=__version__,
        name="release-tools",
        binary="release-tools",
        binary_names=["release-tools"],
        config_class=ReleaseConfig,
        executor_class=ReleaseExecutor,
    )


def main() -> None:  # pragma: no cover - exercised through subprocess tests
    program().run()
