"""ChatOps: release tasks run from chat (`/chatops run tag 11.1.0`) through GitLab CI.

GitLab runs the CI job named after the command in a chat pipeline, with the arguments in
`CHAT_INPUT` and the channel in `CHAT_CHANNEL`, and posts the job's `chat_reply` section
back to the channel. This entrypoint, one more thin caller of the services:

1. answers `--help` for a command (it runs nothing and makes no request);
2. identifies who runs the job, through the API with the job's own CI_JOB_TOKEN rather
   than from variables anyone running a pipeline could set, and checks them against the
   release managers file, before anything else;
3. splits the arguments like a shell would, without ever handing them to one, and calls
   the service;
4. replies with the service's outcome lines only, or with one error line.

    python -m release_tools.chatops COMMAND     # arguments in CHAT_INPUT
    python -m release_tools.chatops             # the original's trigger style: TASK,
                                                # RELEASE_VERSION (comma-separated), RELEASE_USER
"""

from __future__ import annotations

import re
import shlex
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .config import Settings, process_environ
from . import output
from .output import collect_results, redact, say
from .errors import (
    ConfigurationError,
    GitLabAccessError,
    Interrupted,
    MissingTokenError,
    NotAuthorizedError,
    ReleaseToolsError,
    SlackError,
    UsageError,
    non_ascii_note,
    one_line,
    plain_url,
    quote,
    stop_on_signals,
)
from .version import Version

if TYPE_CHECKING:
    from .gitlab import CurrentJob

#: Seconds before the reply window closes at which a run counts as late: the job still has
#: to finish and GitLab to collect its log.
REPLY_MARGIN = 120

#: Variables GitLab sets in every CI job. If any of them is present, even empty, this is CI
#: and the user must be verified through the API (a pipeline variable can override a value
#: but cannot remove a variable).
CI_MARKERS = ("CI", "GITLAB_CI", "CI_JOB_ID", "CI_JOB_TOKEN", "CI_PIPELINE_ID", "CI_SERVER_URL")

#: Pipeline states in which a pipeline can be running this very job.
ACTIVE_STATES = frozenset({"created", "waiting_for_resource", "preparing", "pending", "running"})

DRY_RUN_HELP = "show what would happen; change nothing (also TEST=true)"
HELP_FLAGS = ("--help", "-h")


@dataclass(frozen=True)
class Job:
    """One parsed command: what to run, for whom, from where."""

    command: Command
    arguments: tuple[str, ...]
    flags: frozenset[str]
    requester: str
    channel: str = ""


def _version_argument(arguments: Sequence[str]) -> None:
    """Raises InvalidVersionError unless the first argument is a version."""
    Version.parse(arguments[0])


@dataclass(frozen=True)
class Command:
    """A chat command: how it is called, documented and run."""

    name: str
    synopsis: str
    summary: str
    run: Callable[[Settings, Job], None]
    arguments: tuple[int, int] = (1, 1)  # how many positional arguments, at least and at most
    options: tuple[tuple[str, str], ...] = ()  # flags besides --dry-run and --help
    examples: tuple[str, ...] = ()
    security_by_channel: bool = False  # the security channel implies --security
    always_security: bool = False
    may_outlast_reply: bool = False
    chat: bool = True  # False: reached through the original's TASK variable only
    # Checks the positional arguments before anything runs (nothing announced, nothing read).
    check: Callable[[Sequence[str]], object] = _version_argument

    def parse(self, tokens: Sequence[str], requester: str, channel: str) -> Job:
        """Split `tokens` into flags and positional arguments, count and check them.

        Raises UsageError for an unknown flag or a wrong number of arguments, and what
        `check` raises for a bad argument (InvalidVersionError, for instance).
        """
        allowed = {"--dry-run"} | {flag for flag, _ in self.options}
        flags: set[str] = set()
        positional: list[str] = []
        for token in tokens:
            if token.startswith("-"):
                if token not in allowed:
                    raise UsageError(f"{self.name} does not take {quote(token)} (see `{self.name} --help`)")
                flags.add(token)
            else:
                positional.append(token)
        least, most = self.arguments
        if not least <= len(positional) <= most:
            raise UsageError(f"Usage: {self.synopsis} (see `{self.name} --help`)")
        self.check(positional)
        return Job(self, tuple(positional), frozenset(flags), requester, channel)

    def help(self, security_channel: str) -> list[str]:
        lines = [f"{self.synopsis}", "", self.summary]
        options = list(self.options) + [("--dry-run", DRY_RUN_HELP), ("--help", "show this help; run nothing")]
        lines += ["", "Options:"]
        width = max(len(flag) for flag, _ in options)
        for flag, text in options:
            if flag == "--security" and self.security_by_channel and security_channel:
                text += f" (implied in #{security_channel.lstrip('#')})"
            lines.append(f"  {flag.ljust(width)}  {text}")
        if self.examples:
            lines += ["", "Examples:"] + [f"  /chatops run {example}" for example in self.examples]
        return lines


# -- what each command runs ----------------------------------------------------------------

def _run_release_issue(settings: Settings, job: Job) -> Any:
    from . import issues

    version = Version.parse(job.arguments[0])
    return issues.ensure_issue(settings, issues.release_issue(settings, version, security=settings.security))


def _issue_runner(build: str) -> Callable[[Settings, Job], None]:
    def run(settings: Settings, job: Job) -> Any:
        from . import issues

        version = Version.parse(job.arguments[0])
        return issues.ensure_issue(settings, getattr(issues, build)(settings, version))

    return run


def _run_tag(settings: Settings, job: Job) -> Any:
    version = Version.parse(job.arguments[0])
    from .tagging import tag

    return tag(settings, version, requester=job.requester)


def _run_publish(settings: Settings, job: Job) -> None:
    version = Version.parse(job.arguments[0])
    from .publish import publish

    publish(settings, version)


def qa_refs(arguments: Sequence[str]) -> tuple[str, str, Version | None]:
    """`FROM..TO [VERSION]` or `FROM TO [VERSION]` -> (from, to, version or None).

    Raises UsageError for anything else, InvalidVersionError for a bad VERSION.
    """
    from .qa import is_ref_name

    if arguments and ".." in arguments[0]:
        from_ref, _, to_ref = arguments[0].partition("..")
        rest = list(arguments[1:])
    elif len(arguments) >= 2:
        from_ref, to_ref = arguments[0], arguments[1]
        rest = list(arguments[2:])
    else:
        raise UsageError("Usage: qa_issue FROM..TO [VERSION] (see `qa_issue --help`)")
    if len(rest) > 1:
        raise UsageError("Usage: qa_issue FROM..TO [VERSION] (see `qa_issue --help`)")
    for ref in (from_ref, to_ref):
        if not is_ref_name(ref):
            raise UsageError(
                f"{quote(ref)} is not a tag or branch name (qa_issue FROM..TO, e.g. v11.1.0-rc1..v11.1.0-rc2)"
                + non_ascii_note(ref)
            )
    return from_ref, to_ref, Version.parse(rest[0]) if rest else None


def _run_qa_issue(settings: Settings, job: Job) -> None:
    from_ref, to_ref, version = qa_refs(job.arguments)
    from .qa import ensure_qa_issue

    ensure_qa_issue(settings, from_ref, to_ref, version)


SECURITY_OPTION = ("--security", "create the confidential security release issue")

COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command(
            "publish",
            "publish VERSION",
            "Play the manual release jobs of VERSION's omnibus-gitlab tag pipelines (EE, then CE).",
            _run_publish,
            examples=("publish 11.1.0-rc1", "publish 11.1.0", "publish 11.0.7"),
        ),
        Command(
            "qa_issue",
            "qa_issue FROM..TO [VERSION]",
            "Create the QA issue listing the merge requests between two tags or branches "
            "(also `qa_issue FROM TO`); VERSION defaults to TO without its leading v.",
            _run_qa_issue,
            arguments=(1, 3),
            check=qa_refs,
            examples=("qa_issue v11.1.0-rc1..v11.1.0-rc2", "qa_issue v11.1.0-rc1 v11.1.0-rc2"),
        ),
        Command(
            "release_issue",
            "release_issue VERSION [--security]",
            "Create the release task issue, or show it if it exists: monthly for X.Y.0, "
            "patch for X.Y.Z, release candidate for X.Y.Z-rcN, confidential security issue "
            "with --security.",
            _run_release_issue,
            options=(SECURITY_OPTION,),
            examples=("release_issue 11.1.0", "release_issue 11.1.1", "release_issue 11.1.0-rc5", "release_issue 11.1.2 --security"),
            security_by_channel=True,
        ),
        Command(
            "tag",
            "tag VERSION [--security]",
            "Tag VERSION: gitlab-ee and its omnibus-gitlab package, then gitlab-ce and its package. This can take longer "
            "than GitLab waits to reply in chat; late results are posted to the channel through Slack.",
            _run_tag,
            options=(("--security", "security release: tag and push to the dev remotes only"),),
            examples=("tag 11.0.0-rc10", "tag 11.0.1", "tag --security 11.0.2"),
            security_by_channel=True,
            may_outlast_reply=True,
        ),
        # The original's trigger-style task names (TASK=...), kept working.
        Command("monthly_issue", "monthly_issue VERSION", "Create the monthly release task issue.", _issue_runner("monthly_issue"), chat=False),
        Command("patch_issue", "patch_issue VERSION", "Create the patch or RC task issue.", _issue_runner("patch_issue"), chat=False),
        Command(
            "security_patch_issue",
            "security_patch_issue VERSION",
            "Create the confidential security release task issue.",
            _issue_runner("security_patch_issue"),
            always_security=True,
            chat=False,
        ),
        Command(
            "tag_security",
            "tag_security VERSION",
            "Tag a security release (dev remotes only).",
            _run_tag,
            always_security=True,
            may_outlast_reply=True,
            chat=False,
        ),
    )
}


def command_names(chat_only: bool = True) -> list[str]:
    return sorted(name for name, command in COMMANDS.items() if command.chat or not chat_only)


def find_command(name: str) -> Command:
    """Raises UsageError (the original's wording) for an unknown command, or for none."""
    commands = ", ".join(command_names())
    if not name.strip():
        raise UsageError(f"No command: run `python -m release_tools.chatops COMMAND` or set TASK. Commands: {commands}")
    command = COMMANDS.get(name.strip())
    if command is None:
        raise UsageError(f"Don't know what to do with {quote(name.strip())}! Commands: {commands}")
    return command


# -- arguments --------------------------------------------------------------------------------


#: Chat clients (macOS, iOS) "correct" what a release manager types: quotes become curly
#: and `--` becomes a dash. Read them as typed.
_TYPOGRAPHIC_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
_TYPOGRAPHIC_DASHES = ("\u2014", "\u2013")  # em dash, en dash


def arguments_from(environ: Mapping[str, str]) -> list[str]:
    """The command's arguments: `CHAT_INPUT` split like a shell would (quotes respected;
    nothing is expanded or run; curly quotes and a leading dash that a chat client put in
    place of `"` and `--` read as typed), else the original's comma-separated `RELEASE_VERSION`.

    Raises UsageError for unbalanced quotes.
    """
    if "CHAT_INPUT" in environ:
        try:
            tokens = shlex.split(environ["CHAT_INPUT"].translate(_TYPOGRAPHIC_QUOTES))
        except ValueError as error:
            raise UsageError(f"CHAT_INPUT cannot be split into arguments: {error}") from None
        return ["--" + token[1:] if token.startswith(_TYPOGRAPHIC_DASHES) else token for token in tokens]
    return [part.strip() for part in environ.get("RELEASE_VERSION", "").split(",") if part.strip()]


def wants_help(tokens: Sequence[str]) -> bool:
    return any(token in HELP_FLAGS for token in tokens)


#: How much of a command line the log and the messages about it show.
COMMAND_LINE_LIMIT = 200


def command_line(name: str, tokens: Sequence[str]) -> str:
    """The command as the log and messages show it: shell-quoted tokens, on one line
    (a newline or an escape sequence in a token is shown escaped), cut when long."""
    return one_line(" ".join([name, *(shlex.quote(token) for token in tokens)]), COMMAND_LINE_LIMIT)


def _is_id(text: str) -> bool:
    """ASCII digits only: `isdigit()` is also true for `１２` and `²`, which int() reads or refuses."""
    return text.isascii() and text.isdigit()


# -- who is asking ------------------------------------------------------------------------------


def is_ci(environ: Mapping[str, str]) -> bool:
    return any(marker in environ for marker in CI_MARKERS)


def identify(settings: Settings, environ: Mapping[str, str], trigger_style: bool = False) -> tuple[str, str]:
    """The username the command runs for, and the instance it is a username on.

    In CI it is the user GitLab runs this job for, read with the job's own token
    (`CI_JOB_TOKEN`, one request, the first this entrypoint makes): `GET /job` answers
    with the job that token belongs to, and GitLab accepts it only while that job runs.
    The job must be running in this project (`release_tools.chatops.projects`, as this
    checkout sets it), in a chat pipeline (or a trigger pipeline, for the original's
    trigger style), and every CI variable that names the job, its pipeline, its project,
    its source or its user must agree with it: GitLab lets whoever starts a pipeline with
    variables override them, CI_JOB_TOKEN included. `RELEASE_USER` (the trigger style) is
    believed only from a job run for a trusted relay account.
    Outside CI there is nothing to verify against: `RELEASE_USER` or `GITLAB_USER_LOGIN`,
    taken as a gitlab.com username.

    Raises NotAuthorizedError when the identity cannot be established or disagrees,
    MissingTokenError without the instance's API token, GitLabError when the job cannot
    be read.
    """
    claimed = environ.get("GITLAB_USER_LOGIN", "").strip()
    relayed = environ.get("RELEASE_USER", "").strip()
    if not is_ci(environ):
        if not (relayed or claimed):
            raise NotAuthorizedError("Cannot tell who is running this: set GITLAB_USER_LOGIN to your gitlab.com username")
        return relayed or claimed, "production"

    instance = ci_instance(settings, environ)
    project = chat_project(settings, instance)
    token = environ.get("CI_JOB_TOKEN", "").strip()
    if not token:
        raise NotAuthorizedError("Refusing to run: CI_JOB_TOKEN is missing or empty, so the job running this cannot be identified")
    settings.token(instance)  # every command needs it: say so before any request
    job = _current_job(settings, instance, token)
    pipeline = job.pipeline
    check_job(job, environ, project, ("chat", "trigger") if trigger_style else ("chat",))

    starter = job.username
    if not starter:
        raise NotAuthorizedError(f"Refusing to run: GitLab names no user for job {job.id}")
    if claimed and claimed.lower() != starter.lower():
        raise NotAuthorizedError(
            f"Refusing to run: GITLAB_USER_LOGIN is {quote(claimed)} but job {job.id} of pipeline {pipeline.id} runs for {starter}"
        )
    if relayed and relayed.lower() != starter.lower():
        if not settings.chatops.is_trusted_relay(starter):
            raise NotAuthorizedError(
                f"Refusing to run: RELEASE_USER is {quote(relayed)} but job {job.id} of pipeline {pipeline.id} runs for {starter}, "
                "which is not a trusted relay (release_tools.chatops.trusted_relays)"
            )
        return relayed, instance
    return starter, instance


def chat_project(settings: Settings, instance: str) -> str:
    """The path or id of the project whose jobs may run release tasks on `instance`, as
    this checkout configures it (no request).

    Raises NotAuthorizedError when something other than the checkout sets it (a variable,
    ~/.invoke.yaml, INVOKE_RUNTIME_CONFIG: whoever starts a pipeline can set those), or
    when it is empty.
    """
    from .config import chat_projects_of_checkout

    key = f"release_tools.chatops.projects.{instance}"
    project = chat_projects_of_checkout().get(instance, "")
    if settings.chatops.projects.get(instance, "") != project:
        raise NotAuthorizedError(
            f"Refusing to run: {key} is set by a variable, ~/.invoke.yaml or INVOKE_RUNTIME_CONFIG, which whoever "
            "starts a pipeline can set; set it in this checkout's invoke.yaml"
        )
    if not project:
        raise NotAuthorizedError(f"Refusing to run: {key} is empty, so no project may run ChatOps jobs there")
    return project


def check_job(job: CurrentJob, environ: Mapping[str, str], project: str, sources: Sequence[str]) -> None:
    """Check that `job` (read with CI_JOB_TOKEN) is this running job of `project`, in a
    pipeline of one of `sources`, and that the CI variables naming it agree.

    Raises NotAuthorizedError.
    """
    pipeline = job.pipeline
    where = f"job {job.id} of pipeline {pipeline.id}"
    if _is_id(project):
        if pipeline.project_id != int(project):
            raise NotAuthorizedError(
                f"Refusing to run: {where} belongs to project {pipeline.project_id}, not to {project} "
                "(release_tools.chatops.projects)"
            )
    elif job.project_path.lower() != project.lower():
        raise NotAuthorizedError(
            f"Refusing to run: {where} belongs to {job.project_path or 'an unknown project'}, not to {project} "
            "(release_tools.chatops.projects)"
        )
    if job.status != "running":
        raise NotAuthorizedError(f"Refusing to run: {where} is {job.status}, so it is not the one running this")
    for variable, actual in (("CI_JOB_ID", job.id), ("CI_PIPELINE_ID", pipeline.id), ("CI_PROJECT_ID", pipeline.project_id)):
        given = environ.get(variable, "").strip()
        if given and given != str(actual):
            raise NotAuthorizedError(f"Refusing to run: {variable} is {quote(given)} but CI_JOB_TOKEN belongs to {where}")
    if pipeline.source not in sources:
        raise NotAuthorizedError(
            f"Refusing to run: pipeline {pipeline.id} is a {pipeline.source or 'sourceless'} pipeline, "
            f"not a {' or '.join(sources)} pipeline"
        )
    if "CI_PIPELINE_SOURCE" in environ and environ["CI_PIPELINE_SOURCE"].strip() != pipeline.source:
        raise NotAuthorizedError(
            f"Refusing to run: CI_PIPELINE_SOURCE is {quote(environ['CI_PIPELINE_SOURCE'].strip())} "
            f"but pipeline {pipeline.id} is a {pipeline.source} pipeline"
        )
    if pipeline.status not in ACTIVE_STATES:
        raise NotAuthorizedError(
            f"Refusing to run: pipeline {pipeline.id} is {pipeline.status}, so it is not the one running this job"
        )


def _current_job(settings: Settings, instance: str, token: str) -> CurrentJob:
    from .gitlab import GitLab

    try:
        return GitLab(settings, instance).job_of_token(token)
    except GitLabAccessError as error:
        raise NotAuthorizedError(f"Refusing to run: {error}") from None


def ci_instance(settings: Settings, environ: Mapping[str, str]) -> str:
    """The configured instance this CI job runs on (`CI_API_V4_URL`, else `CI_SERVER_URL`).

    Raises ConfigurationError when it is none of them.
    """
    api = environ.get("CI_API_V4_URL", "").strip().rstrip("/")
    if not api and environ.get("CI_SERVER_URL", "").strip():
        api = environ["CI_SERVER_URL"].strip().rstrip("/") + "/api/v4"
    for name, instance in settings.instances.items():
        if api.lower() == f"{instance.url}/api/v4".lower():
            return name
    raise ConfigurationError(
        f"This job runs on {quote(api) if api else 'an unknown GitLab'}, which is none of the configured instances "
        "(release_tools.instances): cannot verify who started the pipeline"
    )


# -- the reply ------------------------------------------------------------------------------------


def reply_section(lines: Sequence[str], clock: Callable[[], float] = time.time) -> str:
    """The job-log section GitLab posts back to chat: exactly `lines`, nothing else."""
    start = int(clock())
    body = "\n".join(lines)
    return f"section_start:{start}:chat_reply\r\033[0K\n{body}\nsection_end:{int(clock())}:chat_reply\r\033[0K"


def started_at(environ: Mapping[str, str], default: float) -> float:
    """When the chat command was given: the pipeline's creation time, else `default`."""
    text = environ.get("CI_PIPELINE_CREATED_AT", "").strip()
    if text:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return default


@dataclass
class Chat:
    """Where the command came from and how to reach it after the reply window."""

    environ: Mapping[str, str]
    command_line: str
    settings: Settings | None = None

    @property
    def channel(self) -> str:
        return self.environ.get("CHAT_CHANNEL", "").strip()

    @property
    def job_url(self) -> str:
        return plain_url(self.environ.get("CI_JOB_URL"))

    def post(self, text: str) -> str | None:
        """Post `text` to the channel through SLACK_CHATOPS_URL; returns why not, or None."""
        settings = self.settings
        if settings is None:
            return "settings are unavailable"
        url = settings.secret("SLACK_CHATOPS_URL")
        if not url:
            return "SLACK_CHATOPS_URL is not set"
        if settings.dry_run:
            say(f"Dry run: not posting to Slack: {text}")
            return "this is a dry run"
        from . import slack

        user = self.environ.get("CHAT_USER_ID", "").strip()
        mention = f"<@{user}> " if re.fullmatch(r"[A-Z0-9]+", user) else ""
        channel = self.channel
        if channel and not channel.startswith("#") and not re.fullmatch(r"[CGD][A-Z0-9]{6,}", channel):
            channel = f"#{channel}"
        try:
            slack.post(url, redact(mention + text), channel=channel or None, variable="SLACK_CHATOPS_URL")
        except SlackError as error:
            say(f"Warning: {error}", "yellow", err=True)
            return str(error)
        return None


def _channel_name(channel: str) -> str:
    """`#name` for a channel name; a CHAT_CHANNEL that is not one is shown quoted."""
    name = channel.lstrip("#")
    return f"#{name}" if re.fullmatch(r"[\w.-]{1,80}", name) else quote(channel)


def _announce_long_run(chat: Chat, minutes: int) -> None:
    """Tell the channel now that this run may end after GitLab stops waiting for it."""
    where = f": {chat.job_url}" if chat.job_url else ""
    text = (
        f"`{chat.command_line}` can take longer than GitLab's {minutes}-minute chat reply window; "
        f"if it does, its results will be posted here when it finishes{where}"
    )
    why_not = chat.post(text)
    if why_not:
        say(
            f"This run may outlast the {minutes}-minute reply window, and late results cannot reach chat: {why_not}.",
            "yellow",
            err=True,
        )


def _late_reply(chat: Chat, lines: list[str], elapsed: float, minutes: int) -> list[str]:
    """Post the results through Slack, since GitLab no longer will; say so in the reply."""
    where = f"\n{chat.job_url}" if chat.job_url else ""
    text = f"`{chat.command_line}` finished after {elapsed / 60:.0f} minutes:\n```\n" + "\n".join(lines) + f"\n```{where}"
    why_not = chat.post(text)
    relation = "past" if elapsed >= minutes * 60 else "at the end of"
    took = f"This run ended {elapsed / 60:.0f} minutes after the command, {relation} GitLab's {minutes}-minute reply window"
    if why_not:
        return lines + [f"{took}; the results could not be posted to chat ({why_not})."]
    channel = f" {_channel_name(chat.channel)}" if chat.channel else ""
    return lines + [f"{took}: the results were also posted to{channel or ' the channel'} through Slack."]


# -- the entrypoint ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run one chat command; print its reply section; return the exit status: 0, 1, or
    128 + the signal's number when SIGINT, SIGTERM or SIGHUP stopped it (the reply then
    says what was and was not done).

    `argv` is `[COMMAND]` (or empty: the command is then `TASK`); `environ` defaults to a
    copy of the process environment and is never modified.
    """
    process_start = time.time()
    environ = process_environ() if environ is None else dict(environ)
    argv = list(sys.argv[1:] if argv is None else argv)
    lines: list[str] = []
    status = 0
    chat = Chat(environ, command_line="")
    with collect_results() as outcomes, stop_on_signals():
        try:
            from .git import environment as git_environment

            with git_environment(environ):  # git commits and pushes as this environment says
                lines = _run(argv, environ, chat)
            if lines is None:
                lines = list(outcomes)
            elif hasattr(lines, "summary_lines"):
                plan, lines = lines, [redact(line) for line in lines.summary_lines()]
                status = plan.exit_status
        except Interrupted as stop:  # the job was cancelled or timed out: say what was done
            lines = list(outcomes) + [one_line(f"Error: {stop}")]
            status = stop.exit_code
        except ReleaseToolsError as error:
            hint = ""
            if isinstance(error, MissingTokenError):
                hint = " (in a ChatOps job: set RELEASE_BOT_<INSTANCE>_TOKEN in the project's CI/CD variables)"
            lines = list(outcomes) + [one_line(f"Error: {error}{hint}")]
            status = 1
        except Exception as error:  # a bug: keep the traceback in the log, reply one line
            say(redact(traceback.format_exc()).rstrip(), err=True)
            where = f": see {chat.job_url}" if chat.job_url else ": see the job log"
            lines = list(outcomes) + [one_line(f"Error: release-tools failed unexpectedly ({type(error).__name__}){where}")]
            status = 1
    if not lines:
        dry = " (dry run: nothing was changed)" if chat.settings is not None and chat.settings.dry_run else ""
        lines = [f"{chat.command_line or 'The command'} finished with nothing to report{dry}."]
    settings = chat.settings
    if settings is not None and chat.command_line:
        window = settings.chatops.reply_window
        elapsed = time.time() - started_at(environ, process_start)
        if elapsed >= window - REPLY_MARGIN:
            lines = _late_reply(chat, lines, elapsed, round(window / 60))
    say(reply_section([redact(line) for line in lines]))
    return status


def _run(argv: list[str], environ: dict[str, str], chat: Chat) -> Any:
    """Help, authorization, parsing, the service. Returns reply lines for --help, the plan
    of a task that made one, else None (the reply is then the collected outcome lines)."""
    if len(argv) > 1:
        raise UsageError(f"Give only the command ({quote(argv[0])}): its arguments go in CHAT_INPUT")
    name = argv[0] if argv else environ.get("TASK", "")
    if name in HELP_FLAGS:
        return ["Commands (`/chatops run COMMAND --help` for each):"] + [
            f"  {COMMANDS[n].synopsis}" for n in command_names()
        ]
    command = find_command(name)
    tokens = arguments_from(environ)
    chat.command_line = command_line(command.name, tokens)
    if wants_help(tokens):
        from .config import invoke_tree

        return command.help(str(invoke_tree(environ)["chatops"]["security_channel"] or ""))

    # Authorization comes first: nothing below runs for someone who is not a release manager.
    settings = Settings.from_environment(environ, bot_tokens=True)
    output.configure(secrets=settings.secret_values())
    chat.settings = settings
    from .release_managers import check_release_manager

    username, instance = identify(settings, environ, trigger_style=not argv)
    # A job on dev.gitlab.org is started by a dev username: the file has both.
    requester = check_release_manager(settings, username, instance).username

    if not tokens and "CHAT_INPUT" not in environ:
        raise UsageError(f"RELEASE_VERSION required! (or CHAT_INPUT: {command.synopsis})")
    job = command.parse(tokens, requester, chat.channel)
    security = (
        settings.security
        or command.always_security
        or "--security" in job.flags
        or (command.security_by_channel and settings.chatops.is_security_channel(chat.channel))
    )
    settings = settings.with_changes(security=security, dry_run=settings.dry_run or "--dry-run" in job.flags)
    chat.settings = settings

    if command.may_outlast_reply:
        _announce_long_run(chat, round(settings.chatops.reply_window / 60))
    say(f"Running {chat.command_line} for {requester}{' (security release)' if security else ''}"
        f"{' (dry run)' if settings.dry_run else ''}")
    outcome = command.run(settings, job)
    # A plan's outcome is the reply (its steps, and how it ended); other tasks reply with
    # the outcome lines they printed.
    return outcome if hasattr(outcome, "summary_lines") else None


if __name__ == "__main__":  # pragma: no cover - exercised through subprocess tests
    sys.exit(main())
