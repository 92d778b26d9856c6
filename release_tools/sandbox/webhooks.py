"""Slack's incoming webhooks, in the sandbox: each webhook of the configuration gets an
address on the sandbox's own server, and every message posted there is kept, one JSON
line each, in `DIR/slack.jsonl` (`{"webhook": "tag", "text": ..., "channel": ...}`)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from .core import Response
from .world import Sandbox

#: Where the webhooks live on the sandbox's server; `<name>` is the configuration's key.
WEBHOOK_PATH = "/-/sandbox/slack/{name}"
#: The Slack webhooks of the configuration (`release_tools.slack.<name>_url`).
WEBHOOKS = ("tag", "upstream_merge", "chatops", "cherry_pick")
POSTS_FILE = "slack.jsonl"


class SlackWebhooks:
    """The sandbox's Slack: `urls()` is the `release_tools.slack` configuration pointing
    every webhook at it; `posts()` what was posted so far (this run and earlier ones)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.path = sandbox.root / POSTS_FILE
        self.base = sandbox.url
        self._lock = threading.Lock()
        for name in WEBHOOKS:
            sandbox.server.hooks[WEBHOOK_PATH.format(name=name)] = self._receiver(name)

    def urls(self) -> dict[str, str]:
        return {f"{name}_url": self.base + WEBHOOK_PATH.format(name=name) for name in WEBHOOKS}

    def posts(self) -> list[dict[str, Any]]:
        return read_posts(self.path)

    def _receiver(self, name: str) -> Any:
        def receive(body: Any) -> Response:
            if not isinstance(body, dict) or not isinstance(body.get("text"), str):
                return Response(400, {"message": "invalid_payload"})
            line = {"webhook": name, **{key: body[key] for key in ("text", "channel") if key in body}}
            with self._lock, self.path.open("a") as file:
                file.write(json.dumps(line) + "\n")
            return Response(200, {"message": "ok"})

        return receive


def read_posts(path: Path) -> list[dict[str, Any]]:
    """The posts kept in a `slack.jsonl` (none when there is no such file)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
