"""Chat webhooks: post one message to a Slack incoming webhook.

The webhook URL is a secret (it alone grants posting), so errors name the variable it came
from, never the URL.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from .errors import WebhookError

TIMEOUT = 10  # seconds; the original waited forever on a hung Slack


def post_message(url: str, text: str, *, channel: str | None = None, variable: str = "SLACK_CHATOPS_URL") -> None:
    """POST `{"text": text, "channel": channel}` (channel only when given) to `url`.

    Raises WebhookError when Slack answers anything but 2xx or cannot be reached.
    """
    payload: dict[str, str] = {"text": text}
    if channel:
        payload["channel"] = channel
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "release-tools"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            response.read()
    except urllib.error.HTTPError as error:
        raise WebhookError(f"Slack refused the message ({error.code}): check {variable}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        name = type(reason).__name__ if not isinstance(reason, str) else reason
        raise WebhookError(f"cannot reach the Slack webhook in {variable}: {name}") from None
