"""The ChatOps entrypoint: one chat command, from the job's environment to its reply section."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

from .. import output
from ..config import Settings, process_environ
from ..errors import Interrupted, MissingTokenError, NotAuthorizedError, ReleaseToolsError, UsageError, one_line, quote, stop_on_signals
from ..output import collect_results, redact, say
from .commands import HELP_FLAGS, Commands, arguments_from, command_line, wants_help
from .identity import identify
from .reply import REPLY_MARGIN, Chat, announce_long_run, late_reply, reply_section, started_at


def main(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None, *, commands: Commands | None = None
) -> int:
    """Run one chat command; print its reply section; return the exit status: the plan's
    (0 or 1), 1 for an error, or 128 + the signal's number when SIGINT, SIGTERM or SIGHUP
    stopped it (the reply then says what was and was not done).

    `argv` is `[COMMAND]` (or empty: the command is then `TASK`); `environ` defaults to a
    copy of the process environment and is never modified; `commands` are the policy table
    over `release_tools.cli.ns` unless a test gives others.
    """
    process_start = time.time()
    environ = process_environ() if environ is None else dict(environ)
    argv = list(sys.argv[1:] if argv is None else argv)
    lines: list[str] = []
    status = 0
    chat = Chat(environ, command_line="")
    with collect_results() as outcomes, stop_on_signals():
        try:
            from ..git import environment as git_environment

            with git_environment(environ):  # git commits and pushes as this environment says
                lines = _run(argv, environ, chat, commands or Commands.default())
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
            lines = late_reply(chat, lines, elapsed, round(window / 60))
    output.section(reply_section([redact(line) for line in lines]))
    return status


def _run(argv: list[str], environ: dict[str, str], chat: Chat, commands: Commands) -> Any:
    """Help, authorization, parsing, the task. Returns reply lines for --help, the plan
    of a task that made one, else None (the reply is then the collected outcome lines)."""
    if len(argv) > 1:
        raise UsageError(f"Give only the command ({quote(argv[0])}): its arguments go in CHAT_INPUT")
    trigger_style = not argv
    name = argv[0] if argv else environ.get("TASK", "")
    if name in HELP_FLAGS:
        return commands.overview()
    name = commands.find(name, trigger_style=trigger_style)
    tokens = arguments_from(environ)
    chat.command_line = command_line(name, tokens)
    if wants_help(tokens):
        from ..config import invoke_tree

        return commands.help(name, str(invoke_tree(environ)["chatops"]["security_channel"] or ""))

    # Authorization comes first: nothing below runs for someone who is not a release manager
    # (a command that needs none still knows who asked, and whether they are one).
    settings = Settings.from_environment(environ, bot_tokens=True)
    output.configure(secrets=settings.secret_values())
    chat.settings = settings
    policy = commands.policies[name]
    username, instance = identify(settings, environ, trigger_style=trigger_style)
    from ..release_managers import check_release_manager

    requester, release_manager = username, True
    if policy.release_manager:
        # A job on dev.gitlab.org is started by a dev username: the file has both.
        requester = check_release_manager(settings, username, instance).username
    else:
        try:
            requester = check_release_manager(settings, username, instance).username
        except NotAuthorizedError:
            release_manager = False

    if not tokens and "CHAT_INPUT" not in environ and commands.takes_arguments(name):
        raise UsageError(f"RELEASE_VERSION required! (or CHAT_INPUT: {commands.synopsis(name)})")
    invocation = commands.parse(name, tokens, security_channel=settings.chatops.is_security_channel(chat.channel))
    arguments = invocation.arguments
    security = settings.security or bool(arguments.get("security"))
    chat.settings = settings = settings.with_changes(dry_run=settings.dry_run or bool(arguments.get("dry_run")))

    if policy.may_outlast_reply:
        announce_long_run(chat, round(settings.chatops.reply_window / 60))
    say(f"Running {chat.command_line} for {requester}{'' if release_manager else ' (not a release manager)'}"
        f"{' (security release)' if security else ''}{' (dry run)' if settings.dry_run else ''}")
    context = task_context(environ, requester, commands.collection, release_manager=release_manager)
    outcome = invocation.task(context, **arguments)
    # A plan's outcome is the reply (its steps, and how it ended); a task without a plan
    # replies with the outcome lines it printed.
    return outcome if hasattr(outcome, "summary_lines") else None


def task_context(environ: Mapping[str, str], requester: str, collection: Any, *, release_manager: bool = True) -> Any:
    """The invoke Context a task called from chat runs with: the one place it is made.

    Its configuration is invoke's own Config as `invoke` would build it from `environ`
    (`release_tools.config.load`: the collection's defaults, the configuration files, the
    `INVOKE_*` variables, the runtime file), with the collection whose task runs as its
    collection layer, and over it all: `confirm` off (chat never asks), and a Caller that
    hands the task the job's environment, where the bot tokens stand for the instances'
    tokens (`with_bot_tokens`), and the verified requester (and whether they are a release
    manager, for a command that does not require one).
    """
    from invoke import Context

    from ..cli import CALLER_KEY, Caller
    from ..config import load, plain, with_bot_tokens

    config = load(environ)
    config.load_collection(collection.configuration())
    caller = Caller(
        environ=with_bot_tokens(environ, plain(config["release_tools"])),
        requester=requester,
        release_manager=release_manager,
    )
    config.load_overrides({"release_tools": {"confirm": False}, CALLER_KEY: caller})
    return Context(config=config)
