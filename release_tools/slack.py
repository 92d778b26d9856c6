"""Slack incoming webhooks: posting a message, and the messages release-tools sends.

A webhook URL is a secret (anyone holding it can post): it is never printed, and errors
name the variable that holds it, not the URL. A `user:password@` in it (a relay behind
basic authentication) is sent as an `Authorization` header, never as part of the URL.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from .config import basic_authorization, split_userinfo
from .errors import SlackError, one_line

TIMEOUT = 10  # seconds; a hung Slack must not hold a release up
REASON_LIMIT = 200  # characters of a refusal's or a failure's reason that errors show


def post(url: str, text: str, channel: str | None = None, *, timeout: float = TIMEOUT, variable: str = "") -> None:
    """POST `{"text": text[, "channel": channel]}` as JSON to a webhook.

    `variable` names where the URL came from (`SLACK_TAG_URL`); errors tell the user to
    check it. Raises SlackError when the URL is not http(s), Slack cannot be reached,
    times out, or answers anything but 2xx.
    """
    check = f": check {variable}" if variable else ""
    # urllib would read a file:// URL, and reject one without a scheme in an error quoting it.
    if urllib.parse.urlsplit(url or "").scheme.lower() not in ("http", "https"):
        raise SlackError(f"The Slack webhook is not an http(s) URL{check}")
    payload = {"text": text}
    if channel:
        payload["channel"] = channel
    url, credentials = split_userinfo(url)
    headers = {"Content-Type": "application/json"}
    if credentials is not None:
        headers["Authorization"] = basic_authorization(credentials)
    request = urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        raise SlackError(f"Slack refused the message ({error.code} {_reason(error.reason)}){check}") from None
    except urllib.error.URLError as error:
        raise SlackError(f"Slack could not be reached ({_reason(error.reason)}){check}") from None
    except (TimeoutError, OSError, ValueError) as error:
        raise SlackError(f"Slack could not be reached ({_reason(error)}){check}") from None
    if not 200 <= status < 300:
        raise SlackError(f"Slack refused the message ({status}){check}")


def _reason(reason: object) -> str:
    # Reasons carry no URL (urllib keeps it out of them), but the status line's is the
    # server's text: one short printable line of it.
    text = str(reason) or type(reason).__name__
    return one_line(text.splitlines()[0], REASON_LIMIT)


def escape(text: str) -> str:
    """`text` as Slack shows it literally: `&`, `<` and `>` escaped as Slack asks, so that
    text from a name, a title or an argument cannot form a mention (`<!channel>`,
    `<@U123>`) or a link (`<http://...|text>`). Every message built here escapes what it
    did not write itself; the links and mentions it makes stay links and mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def tag_message(requester: str, version: str) -> str:
    """`_Rita Release_ tagged `11.1.0-ee``: who asked for the release, and which version, each
    on the one line of the message (`one_line`) and escaped for Slack."""
    return f"_{escape(one_line(requester))}_ tagged `{escape(one_line(version))}`"


def notify_tag(url: str, requester: str, version: str) -> None:
    """Announce a tagged edition on the tag webhook. Raises SlackError."""
    post(url, tag_message(requester, version), variable="SLACK_TAG_URL")


# -- the upstream merge's messages (SPEC §13) -----------------------------------------------


def link(url: str, text: str) -> str:
    """A Slack link: `<https://...|gitlab-org/gitlab-ee!4023>`."""
    return f"<{escape(url)}|{escape(text)}>"


def upstream_pending_message(url: str, reference: str, age: str) -> str:
    return f"Tried to create a new merge request but {link(url, reference)} from {escape(age)} is still pending! :hourglass:"


def upstream_up_to_date_message() -> str:
    return "EE is already up-to-date with CE. No merge request was created. :tada:"


def upstream_created_message(url: str, reference: str, conflicts: int) -> str:
    text = f"Created a new merge request {link(url, reference)}"
    if conflicts == 0:
        return text + " with no conflicts! :tada:"
    return text + f" with {conflicts} conflict{'s' if conflicts != 1 else ''}! :warning:"


def upstream_failed_message(job_url: str) -> str:
    where = f"Please have a look at {escape(job_url)}." if job_url else "Please have a look at the job log."
    return f"The latest upstream merge MR could not be created! {where} :boom:"
