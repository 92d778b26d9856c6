"""A local stand-in for Slack's incoming webhooks: records every JSON post, fails on demand."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WEBHOOK_PATH = "/services/T0000/B0000/canary-slack-secret-7d1e"


class SlackReceiver:
    """`url` is a webhook URL (its path is the secret); `posts` holds the JSON bodies received
    on it, in order, and `authorizations` their `Authorization` headers ("" for none).
    `fail(status, times)` answers the next `times` posts with `status` (and the status line's
    `reason`, if given); a non-zero `delay` (seconds) holds every answer back."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.authorizations: list[str] = []
        self.failures: list[tuple[int, str | None]] = []
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                if self.path != WEBHOOK_PATH:
                    self._answer(404, text="no_service")
                    return
                if receiver.failures:
                    self._answer(*receiver.failures.pop(0), text="server_error")
                    return
                if self.headers.get("Content-Type") != "application/json":
                    self._answer(400, text="invalid_payload")
                    return
                receiver.posts.append(json.loads(body))
                receiver.authorizations.append(self.headers.get("Authorization") or "")
                self._answer(200, text="ok")

            def _answer(self, status: int, reason: str | None = None, *, text: str) -> None:
                self.send_response(status, reason)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False  # a deliberately slow answer must not hold teardown up
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{WEBHOOK_PATH}"

    def fail(self, status: int = 500, times: int = 1, reason: str | None = None) -> None:
        self.failures.extend([(status, reason)] * times)

    def __enter__(self) -> SlackReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
