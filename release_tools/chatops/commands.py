"""Chat commands as calls of their tasks: the arguments split like a shell would, parsed by
invoke's own parser over the task's own arguments (as far as the policy table lets chat set
them), and the help made from the task's docstring and `help=`.

The one special case is `qa_issue`'s chat form `FROM..TO [VERSION]` (`CHAT_FORMS`), which
is rewritten to the task's own arguments before parsing.
"""

from __future__ import annotations

import copy
import inspect
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError, one_line, quote
from .policy import POLICIES, Policy

HELP_FLAGS = ("--help", "-h")

#: How much of a command line the log and the messages about it show.
COMMAND_LINE_LIMIT = 200

#: Chat clients (macOS, iOS) "correct" what a release manager types: quotes become curly
#: and `--` becomes a dash. Read them as typed.
_TYPOGRAPHIC_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
_TYPOGRAPHIC_DASHES = ("\u2014", "\u2013")  # em dash, en dash


# -- the command line --------------------------------------------------------------------------


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


def command_line(name: str, tokens: Sequence[str]) -> str:
    """The command as the log and messages show it: shell-quoted tokens, on one line
    (a newline or an escape sequence in a token is shown escaped), cut when long."""
    return one_line(" ".join([name, *(shlex.quote(token) for token in tokens)]), COMMAND_LINE_LIMIT)


# -- the one special case ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatForm:
    """Another way to give a task's arguments in chat, rewritten to the task's own."""

    synopsis: str  # as the help shows it after the command's name
    meaning: str  # the same in the task's own arguments
    rewrite: Callable[[list[str]], list[str]]


def qa_range(tokens: list[str]) -> list[str]:
    """`FROM..TO [VERSION]` -> `FROM TO [--version VERSION]`: the first token holding `..`
    (and not a flag) is split in two, and a token right after it that is not a flag is the
    version. Anything else is left as it is, for the parser to take or refuse."""
    for index, token in enumerate(tokens):
        if token.startswith("-") or ".." not in token:
            continue
        from_ref, _, to_ref = token.partition("..")
        rest = tokens[index + 1 :]
        version = ["--version"] if rest and not rest[0].startswith("-") else []
        return [*tokens[:index], from_ref, to_ref, *version, *rest]
    return tokens


#: Task name -> its chat form besides its own arguments.
CHAT_FORMS: Mapping[str, ChatForm] = {
    "qa_issue": ChatForm("FROM..TO [VERSION]", "FROM TO --version VERSION", qa_range),
}


# -- commands over a collection ---------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    """A parsed chat command: its task, and the keyword arguments to call it with."""

    command: str
    task: Any
    arguments: Mapping[str, Any]


def _flag(argument: Any) -> str:
    """`--dry-run` for the argument `dry_run`."""
    return f"--{argument.names[0]}"


def _placeholder(argument: Any) -> str:
    """`VERSION` for the argument `version`, `FROM_REF` for `from_ref`."""
    return str(argument.name).upper()


def _arguments(task: Any) -> list[Any]:
    """The task's invoke Arguments (its positional ones first), from a copy of it:
    `get_arguments()` pops the help texts it uses off the task it is called on."""
    copied = copy.copy(task)
    copied.help = dict(task.help)
    return copied.get_arguments()


def _parser_context(name: str, arguments: Sequence[Any]) -> Any:
    from invoke.parser import ParserContext

    return ParserContext(name=name, args=arguments)


@dataclass(frozen=True)
class Commands:
    """The chat commands: a policy table over a collection of tasks (`release_tools.cli.ns`
    unless a test gives another)."""

    collection: Any
    policies: Mapping[str, Policy]

    @classmethod
    def default(cls) -> Commands:
        from ..cli import ns

        return cls(ns, POLICIES)

    def names(self, *, trigger_style: bool = False) -> list[str]:
        """The commands a chat job can run (with `trigger_style`, those `TASK` can name too)."""
        return sorted(name for name, policy in self.policies.items() if trigger_style or not policy.trigger_only)

    def find(self, name: str, *, trigger_style: bool = False) -> str:
        """The command `name` names. Raises UsageError (the original's wording) for an
        unknown command, or for none."""
        commands = ", ".join(self.names())
        name = name.strip()
        if not name:
            raise UsageError(f"No command: run `python -m release_tools.chatops COMMAND` or set TASK. Commands: {commands}")
        if name not in self.names(trigger_style=trigger_style):
            raise UsageError(f"Don't know what to do with {quote(name)}! Commands: {commands}")
        return name

    def task(self, name: str) -> Any:
        return self.collection[self.policies[name].task]

    def arguments(self, name: str) -> list[Any]:
        """The task's Arguments that chat may give: its positional ones and the policy's
        flags, in the task's order. Raises ValueError when the policy names a flag that the
        task does not have (a mistake in the table, not in the input)."""
        policy = self.policies[name]
        every = _arguments(self.task(name))
        known = {argument.name: argument for argument in every}
        for flag in (*policy.flags, *policy.security_channel_flags):
            if flag not in known or known[flag].positional:
                raise ValueError(f"the policy of chat command {name!r} names {flag!r}, which is no flag of task {policy.task!r}")
        return [argument for argument in every if argument.positional or argument.name in policy.flags]

    def takes_arguments(self, name: str) -> bool:
        return any(argument.positional for argument in self.arguments(name))

    def synopsis(self, name: str) -> str:
        """`tag VERSION [--dry-run] [--security]`: from the task's arguments, in its order."""
        arguments = self.arguments(name)
        parts = [name] + [_placeholder(a) for a in arguments if a.positional]
        for argument in arguments:
            if not argument.positional:
                value = f" {_placeholder(argument)}" if argument.takes_value else ""
                parts.append(f"[{_flag(argument)}{value}]")
        return " ".join(parts)

    # -- parsing -----------------------------------------------------------------------

    def parse(self, name: str, tokens: Sequence[str], *, security_channel: bool = False) -> Invocation:
        """Parse `tokens` with invoke's parser over the arguments chat may give to the task
        of command `name`, set the switches the security channel implies, and run the task's
        own checks of the values (ReleaseTask `checks`), so that bad input fails before
        anything is announced or run.

        Raises UsageError (one line, naming the command) for what the parser refuses, a
        flag the task does not have or chat may not set, or an argument too many; and what
        the task's checks raise (InvalidVersionError, InvalidRefError).
        """
        from invoke.exceptions import ParseError
        from invoke.parser import Parser

        policy = self.policies[name]
        task = self.task(name)
        tokens = list(tokens)
        form = CHAT_FORMS.get(policy.task)
        if form is not None:
            tokens = form.rewrite(tokens)
        usage = UsageError(f"Usage: {self.synopsis(name)} (see `{name} --help`)")
        if "--" in tokens:  # invoke's "the rest is not mine": nothing of chat's to pass on
            raise self._refusal(name, "--")
        # The command's name opens its parser context, as a task's name does on the command line.
        parser = Parser(contexts=[_parser_context(name, self.arguments(name))], ignore_unknown=True)
        try:
            result = parser.parse_argv([name, *tokens])
        except (ParseError, ValueError):  # ValueError: a value its kind cannot hold (a number)
            raise usage from None
        if len(result) != 1:  # the command's name again, as an argument too many
            raise usage
        [parsed] = result
        # A flag the parser does not know is taken for a missing positional argument, or
        # stops the parse (the rest is left unparsed): either way it is refused by name.
        strays = [a.value for a in parsed.positional_args if isinstance(a.value, str) and a.value.startswith("-")]
        strays += result.unparsed
        if strays:
            raise self._refusal(name, strays[0]) if strays[0].startswith("-") else usage
        arguments = dict(parsed.as_kwargs)
        if security_channel:
            arguments.update({flag: True for flag in policy.security_channel_flags})
        check = getattr(task, "check_arguments", None)  # a plain invoke Task has no checks
        if check is not None:
            check(arguments)
        return Invocation(name, task, arguments)

    def _refusal(self, name: str, token: str) -> UsageError:
        """`tag does not take '--force'`, or, for a flag of the task that chat may not set,
        `tag takes '--skip-ce' on the command line only, not in chat`."""
        flag = token.partition("=")[0]
        task = _parser_context(name, _arguments(self.task(name)))
        if flag != "--" and (flag in task.flags or flag in task.inverse_flags):
            return UsageError(f"{name} takes {quote(flag)} on the command line only, not in chat (see `{name} --help`)")
        return UsageError(f"{name} does not take {quote(token)} (see `{name} --help`)")

    # -- help ------------------------------------------------------------------------------

    def help(self, name: str, security_channel: str = "") -> list[str]:
        """`COMMAND --help`: the synopsis, the task's docstring (`invoke TASK` read as
        `/chatops run TASK`), its arguments and the flags chat may set with the task's
        `help=`, and which of them the security channel implies."""
        policy = self.policies[name]
        task = self.task(name)
        doc = inspect.cleandoc(task.__doc__ or "")
        lines = [self.synopsis(name), ""]
        if doc:
            lines += re.sub(r"\binvoke (?=\w)", "/chatops run ", doc).splitlines() + [""]
        arguments = self.arguments(name)
        positional = [(_placeholder(a), a.help or "") for a in arguments if a.positional]
        channel = f" (implied in #{security_channel.lstrip('#')})" if security_channel else ""
        options = [
            (", ".join([_flag(a), *(f"-{short}" for short in a.nicknames)]),
             (a.help or "") + (channel if a.name in policy.security_channel_flags else ""))
            for a in arguments
            if not a.positional
        ]
        options.append(("--help, -h", "show this help; run nothing"))
        width = max(len(left) for left, _ in positional + options)
        if positional:
            lines += ["Arguments:"] + [f"  {left.ljust(width)}  {text}".rstrip() for left, text in positional]
        lines += ["Options:"] + [f"  {left.ljust(width)}  {text}".rstrip() for left, text in options]
        form = CHAT_FORMS.get(policy.task)
        if form is not None:
            lines += ["", f"Also: /chatops run {name} {form.synopsis}, the same as {name} {form.meaning}"]
        return lines

    def overview(self) -> list[str]:
        """`--help` without a command: the chat commands of the policy table."""
        return ["Commands (`/chatops run COMMAND --help` for each):"] + [f"  {self.synopsis(n)}" for n in self.names()]
