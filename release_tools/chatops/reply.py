"""The reply: the job-log section GitLab posts back to chat, and the Slack messages for
runs that outlast GitLab's reply window."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..config import Settings
from ..errors import SlackError, one_line, plain_url, quote
from ..output import redact, say

#: Seconds before the reply window closes at which a run counts as late: the job still has
#: to finish and GitLab to collect its log.
REPLY_MARGIN = 120

def reply_section(lines: Sequence[str], clock: Callable[[], float] = time.time) -> str:
    """The job-log section GitLab posts back to chat: exactly `lines`, nothing else.

    Each line stays one line (`one_line`): a newline, a carriage return or an escape in one
    (from a title, a file or an argument echoed back) is shown escaped, so that it can
    neither add a line to the reply nor end the section early with a forged marker.
    """
    start = int(clock())
    body = "\n".join(one_line(line) for line in lines)
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
        """Post `text` to the channel through SLACK_CHATOPS_URL, escaped for Slack (nothing
        in it is a mention or a link) after a mention of the user; returns why not, or None."""
        settings = self.settings
        if settings is None:
            return "settings are unavailable"
        url = settings.secret("SLACK_CHATOPS_URL")
        if not url:
            return "SLACK_CHATOPS_URL is not set"
        if settings.dry_run:
            say(f"Dry run: not posting to Slack: {text}")
            return "this is a dry run"
        from .. import slack

        user = self.environ.get("CHAT_USER_ID", "").strip()
        mention = f"<@{user}> " if re.fullmatch(r"[A-Z0-9]+", user) else ""
        channel = self.channel
        if channel and not channel.startswith("#") and not re.fullmatch(r"[CGD][A-Z0-9]{6,}", channel):
            channel = f"#{channel}"
        try:
            # The mention is ours; the text, which echoes the command and its results, is shown as it is.
            slack.post(url, mention + slack.escape(redact(text)), channel=channel or None, variable="SLACK_CHATOPS_URL")
        except SlackError as error:
            say(f"Warning: {error}", "yellow", err=True)
            return str(error)
        return None


def _channel_name(channel: str) -> str:
    """`#name` for a channel name; a CHAT_CHANNEL that is not one is shown quoted."""
    name = channel.lstrip("#")
    return f"#{name}" if re.fullmatch(r"[\w.-]{1,80}", name) else quote(channel)


def announce_long_run(chat: Chat, minutes: int) -> None:
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


def late_reply(chat: Chat, lines: list[str], elapsed: float, minutes: int) -> list[str]:
    """Post the results through Slack, since GitLab no longer will; say so in the reply."""
    where = f"\n{chat.job_url}" if chat.job_url else ""
    shown = "\n".join(one_line(line) for line in lines)  # as the reply section shows them: one line each
    text = f"`{chat.command_line}` finished after {elapsed / 60:.0f} minutes:\n```\n{shown}\n```{where}"
    why_not = chat.post(text)
    relation = "past" if elapsed >= minutes * 60 else "at the end of"
    took = f"This run ended {elapsed / 60:.0f} minutes after the command, {relation} GitLab's {minutes}-minute reply window"
    if why_not:
        return lines + [f"{took}; the results could not be posted to chat ({why_not})."]
    channel = f" {_channel_name(chat.channel)}" if chat.channel else ""
    return lines + [f"{took}: the results were also posted to{channel or ' the channel'} through Slack."]
