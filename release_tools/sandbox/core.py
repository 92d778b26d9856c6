"""The sandbox GitLab's machinery: an HTTP server on 127.0.0.1, routing, token check,
pagination headers, injectable faults and latency, and a log of every request.

API areas live in sibling modules (`users.py`, `projects.py`, ...) and register their
routes with `@route(...)`; their JSON shapes follow the responses recorded from
gitlab.com and dev.gitlab.org in `shared/recorded-gitlab/`.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

API_PREFIX = "/api/v4"
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
#: Above this many records GitLab stops counting (no X-Total, X-Total-Pages, rel="last").
COUNT_LIMIT = 10_000

Handler = Callable[["FakeGitLab", "Request"], "Response"]
ROUTES: list[tuple[str, re.Pattern[str], Handler, bool, bool]] = []


def route(method: str, pattern: str, public: bool = False, job_token: bool = False) -> Callable[[Handler], Handler]:
    """Register a handler for `method` and a path pattern below /api/v4.

    `<name>` in the pattern matches one path segment (URL-encoded paths such as
    `gitlab-org%2Fgitlab-ce` included) and reaches the handler decoded, in `req.params`.
    With `job_token`, a CI job token (`JOB-TOKEN` header or `job_token` parameter) also
    authenticates, as the job's user, and the job reaches the handler in `req.job`.
    """
    regex = re.compile("^" + re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", pattern) + "$")

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, regex, handler, public, job_token))
        return handler

    return register


class HTTPError(Exception):
    """Raised by handlers: becomes a JSON error response shaped like GitLab's."""

    def __init__(self, status: int, message: Any, key: str = "message") -> None:
        super().__init__(message)
        self.status = status
        self.body = {key: message}


def not_found(what: str) -> HTTPError:
    return HTTPError(404, f"404 {what} Not Found")


def bad_request(message: Any) -> HTTPError:
    return HTTPError(400, message)


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON data, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    """A request as a handler sees it; the log keeps these too."""

    method: str
    path: str  # decoded, without /api/v4 and without the query
    raw_path: str  # as sent
    query: dict[str, list[str]]
    body: Any
    status: int = 0
    user: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)
    job: dict[str, Any] | None = None  # the job whose token authenticated the request
    #: When it arrived (`time.monotonic()`), so tests can see how long a client waited.
    at: float = field(default_factory=time.monotonic)
    #: The (user, password) of an `Authorization: Basic` header, else None.
    basic_auth: tuple[str, str] | None = None

    def arg(self, name: str, default: Any = None) -> Any:
        """One query parameter or body field (GitLab accepts both for most endpoints)."""
        if isinstance(self.body, dict) and name in self.body:
            return self.body[name]
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        """A list parameter: `name[]=a&name[]=b` or a JSON array."""
        if isinstance(self.body, dict) and isinstance(self.body.get(name), list):
            return [str(v) for v in self.body[name]]
        return self.query.get(f"{name}[]", []) + self.query.get(name, [])

    def flag(self, name: str) -> bool | None:
        value = self.arg(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("1", "true", "yes")


@dataclass
class Fault:
    status: int
    times: int
    method: str | None
    path: str | None  # a substring of the decoded path
    after: bool = False  # the request takes effect, then its answer is lost
    retry_after: str | None = None  # the answer's Retry-After header, when set

    def response(self) -> Response:
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
        return Response(self.status, {"message": f"{self.status} injected fault"}, headers)


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class FakeGitLab:
    """A stateful fake of GitLab's REST API v4, served over real HTTP.

    Seed it with `add_user`, `add_group`, `add_project`, ... (see the area modules),
    point python-gitlab at `url`, then assert on `log`, `mutations()` and the state.

    Given a `server`, the instance is served by it below `prefix` (`/dev.gitlab.org`), as
    GitLab installed under a relative URL is, so that several instances share one port.
    """

    def __init__(self, name: str = "gitlab.com", server: Server | None = None, prefix: str = "") -> None:
        self.name = name
        self.lock = threading.RLock()
        self.log: list[Request] = []
        self.faults: list[Fault] = []
        self.latency = 0.0
        #: The most requests it was serving at the same time (latency makes them overlap).
        self.max_in_flight = 0
        self._in_flight = 0
        self.tokens: dict[str, int] = {}
        #: CI job tokens -> their job; GitLab accepts one only while its job is running.
        self.job_tokens: dict[str, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.groups: dict[int, dict[str, Any]] = {}
        self.projects: dict[int, dict[str, Any]] = {}
        #: The bare git repository behind a project (by path), where there is one: a branch
        #: created through the API is created there too, as in GitLab's own repository.
        self.repositories: dict[str, Path] = {}
        #: (seconds pending, seconds running) of a played job before it succeeds; None
        #: leaves played jobs pending (see pipelines.advance_jobs).
        self.job_progress: tuple[float, float] | None = None
        # Area modules keep their collections here, keyed by name.
        self.tables: dict[str, list[dict[str, Any]]] = {}
        self._ids: dict[str, Iterable[int]] = {}
        # Alone, an instance has a server of its own; in a world of several, they share one.
        self._own_server = server is None
        self.server = server if server is not None else Server()
        self.prefix = self.server.mount(self, prefix)

    # -- lifecycle ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The instance's root URL (python-gitlab's `url`), with the server's prefix for it."""
        return self.server.url + self.prefix

    def start(self) -> FakeGitLab:
        """Serve requests (an instance sharing a server is served once that server starts)."""
        if self._own_server:
            self.server.start()
        return self

    def stop(self) -> None:
        if self._own_server:
            self.server.stop()

    def __enter__(self) -> FakeGitLab:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- ids and tables -----------------------------------------------------------------

    def next_id(self, kind: str, start: int = 1) -> int:
        with self.lock:
            counter = self._ids.setdefault(kind, itertools.count(start))
            return next(counter)  # type: ignore[call-overload]

    def table(self, name: str) -> list[dict[str, Any]]:
        return self.tables.setdefault(name, [])

    # -- faults and inspection ------------------------------------------------------------

    def fail(
        self,
        status: int = 502,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        after: bool = False,
        retry_after: str | int | None = None,
    ) -> None:
        """Answer the next `times` matching requests with `status` (e.g. two 502s).

        With `after=True` each request is carried out first and only its answer is
        replaced, as when a proxy times out while GitLab completes the request.
        `retry_after` (seconds, or an HTTP date) is sent as the `Retry-After` header, as
        GitLab's rate limiter does with its 429s.
        """
        wait = None if retry_after is None else str(retry_after)
        with self.lock:
            self.faults.append(Fault(status, times, method, path, after, wait))

    def requests(self, method: str | None = None, path: str | None = None) -> list[Request]:
        """Logged requests, optionally filtered by method and a substring of the path."""
        with self.lock:
            return [
                r for r in self.log if (method is None or r.method == method) and (path is None or path in r.path)
            ]

    def mutations(self) -> list[Request]:
        """Every logged request that could change state (anything but GET and HEAD)."""
        with self.lock:
            return [r for r in self.log if r.method not in ("GET", "HEAD")]

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()

    # -- lookups shared by the area modules -------------------------------------------------

    def web_url(self, path: str) -> str:
        return f"{self.url}/{path}"

    def find_project(self, ref: str) -> dict[str, Any]:
        """A project by numeric id or full path; raises 404 like GitLab."""
        with self.lock:
            for project in self.projects.values():
                if str(project["id"]) == ref or project["path_with_namespace"] == ref:
                    return project
        raise not_found("Project")

    def find_group(self, ref: str) -> dict[str, Any]:
        with self.lock:
            for group in self.groups.values():
                if str(group["id"]) == ref or group["full_path"] == ref:
                    return group
        raise not_found("Group")

    def find_user(self, ref: str | int) -> dict[str, Any]:
        with self.lock:
            for user in self.users.values():
                if str(user["id"]) == str(ref) or user["username"] == ref:
                    return user
        raise not_found("User")

    # -- pagination ---------------------------------------------------------------------------

    def paginate(self, req: Request, items: list[Any]) -> Response:
        """One page of `items` with GitLab's offset-pagination headers."""
        try:
            per_page = int(req.arg("per_page", DEFAULT_PER_PAGE))
            page = int(req.arg("page", 1))
        except ValueError:
            raise bad_request("page or per_page is invalid") from None
        per_page = max(1, min(per_page, MAX_PER_PAGE))
        page = max(page, 1)
        total = len(items)
        total_pages = max(1, -(-total // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]

        def link(number: int) -> str:
            query = {k: v for k, v in req.query.items() if k not in ("page", "per_page")}
            pairs = [(k, v) for k, values in query.items() for v in values]
            pairs += [("page", str(number)), ("per_page", str(per_page))]
            return f"<{self.url}{API_PREFIX}{req.raw_path}?{urlencode(pairs)}>"

        links = []
        headers = {"X-Page": str(page), "X-Per-Page": str(per_page)}
        headers["X-Next-Page"] = str(page + 1) if page < total_pages else ""
        headers["X-Prev-Page"] = str(page - 1) if page > 1 else ""
        if page > 1:
            links.append(f'{link(page - 1)}; rel="prev"')
        if page < total_pages:
            links.append(f'{link(page + 1)}; rel="next"')
        links.append(f'{link(1)}; rel="first"')
        if total <= COUNT_LIMIT:
            headers["X-Total"] = str(total)
            headers["X-Total-Pages"] = str(total_pages)
            links.append(f'{link(total_pages)}; rel="last"')
        headers["Link"] = ", ".join(links)
        return Response(200, chunk, headers)

    # -- dispatch --------------------------------------------------------------------------

    def _authenticate(self, headers: Any) -> dict[str, Any] | None:
        token = headers.get("PRIVATE-TOKEN")
        authorization = headers.get("Authorization") or ""
        if not token and authorization.lower().startswith("bearer "):
            token = authorization[7:]
        with self.lock:
            user_id = self.tokens.get(token or "")
            return self.users.get(user_id) if user_id is not None else None

    def dispatch(self, method: str, raw_target: str, headers: Any, raw_body: bytes) -> Response:
        with self.lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            return self._dispatch(method, raw_target, headers, raw_body)
        finally:
            with self.lock:
                self._in_flight -= 1

    def _dispatch(self, method: str, raw_target: str, headers: Any, raw_body: bytes) -> Response:
        split = urlsplit(raw_target)
        raw_path = split.path[len(API_PREFIX) :] if split.path.startswith(API_PREFIX) else split.path
        req = Request(
            method=method,
            path=unquote(raw_path),
            raw_path=raw_path,
            query=parse_qs(split.query, keep_blank_values=True),
            body=_parse_body(raw_body, headers.get("Content-Type") or ""),
            basic_auth=_basic_auth(headers.get("Authorization") or ""),
        )
        with self.lock:
            self.log.append(req)
            fault = next(
                (
                    f
                    for f in self.faults
                    if f.times > 0
                    and (f.method is None or f.method == method)
                    and (f.path is None or f.path in req.path)
                ),
                None,
            )
            if fault is not None:
                fault.times -= 1
                if not fault.after:
                    req.status = fault.status
                    return fault.response()
        response = self._route(req, headers, split.path)
        if fault is not None and fault.after:
            response = fault.response()
        req.status = response.status
        return response

    def _route(self, req: Request, headers: Any, full_path: str) -> Response:
        if not full_path.startswith(API_PREFIX):
            return Response(404, {"error": "404 Not Found"})
        segments = req.raw_path
        allowed = False
        for method, regex, handler, public, job_token in ROUTES:
            match = regex.match(segments)
            if not match:
                continue
            allowed = True
            if method != req.method:
                continue
            req.params = {k: unquote(v) for k, v in match.groupdict().items()}
            req.user = self._authenticate(headers)
            given = (headers.get("JOB-TOKEN") or req.arg("job_token")) if job_token else None
            if given:
                # Only the token of a running job is valid; a finished job's answers 401.
                with self.lock:
                    job = self.job_tokens.get(str(given))
                    if job is None or job["status"] != "running":
                        return Response(401, {"message": "401 Unauthorized"})
                    req.job, req.user = job, self.users.get(job["user"]["id"])
            if req.user is None and not public:
                return Response(401, {"message": "401 Unauthorized"})
            try:
                with self.lock:
                    return handler(self, req)
            except HTTPError as error:
                return Response(error.status, error.body)
        if allowed:
            return Response(405, {"error": "405 Method Not Allowed"})
        return Response(404, {"error": "404 Not Found"})


def _basic_auth(authorization: str) -> tuple[str, str] | None:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _parse_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8")
    if "json" in content_type:
        return json.loads(text)
    if "x-www-form-urlencoded" in content_type:
        form = parse_qs(text, keep_blank_values=True)
        return {k: v[-1] if len(v) == 1 and not k.endswith("[]") else v for k, v in form.items()}
    return text


class Server:
    """One HTTP server on 127.0.0.1 (a free port) serving one or more instances, each below
    its own path prefix (an instance mounted at "" gets every path no other one claims)."""

    def __init__(self, port: int = 0) -> None:
        self.instances: dict[str, FakeGitLab] = {}
        #: The server's own endpoints (outside every instance), by path: POSTed JSON in,
        #: a Response out (the sandbox's push notifications).
        self.hooks: dict[str, Callable[[Any], Response]] = {}
        #: When set, a JSON line per request is appended to this file: instance, method,
        #: path (as sent, without the query, which may carry a token) and status.
        self.request_log: Path | None = None
        self._log_lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def mount(self, instance: FakeGitLab, prefix: str) -> str:
        """Serve `instance` below `prefix` (`/name`, or "" for the whole server)."""
        prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        if prefix in self.instances:
            raise ValueError(f"the sandbox server already serves an instance at {prefix or '/'!r}")
        self.instances[prefix] = instance
        return prefix

    def instance_for(self, target: str) -> tuple[FakeGitLab | None, str]:
        """The instance a request target is for, and the target without its prefix."""
        path = urlsplit(target).path
        for prefix in sorted(self.instances, key=len, reverse=True):
            if prefix and (path == prefix or path.startswith(prefix + "/")):
                return self.instances[prefix], target[len(prefix) :]
        return self.instances.get(""), target

    def record(self, instance: FakeGitLab | None, method: str, target: str, status: int) -> None:
        """One line of the request log (see `request_log`)."""
        if self.request_log is None:
            return
        line = {"instance": instance.name if instance else None, "method": method, "path": urlsplit(target).path, "status": status}
        with self._log_lock, self.request_log.open("a", encoding="utf-8") as log:
            log.write(json.dumps(line) + "\n")

    def start(self) -> Server:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _handler_for(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Buffer the response so headers and body leave in one write: two small writes
        # meet Nagle's algorithm and the client's delayed ACK, adding ~40 ms per request.
        wbufsize = 64 * 1024

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            hook = server.hooks.get(urlsplit(self.path).path) if self.command == "POST" else None
            fake, target = server.instance_for(self.path)
            if hook is not None:
                try:
                    response = hook(json.loads(body or b"null"))
                except ValueError:
                    response = Response(400, {"message": "400 Bad request - the body is not JSON"})
            elif fake is None:
                response = Response(404, {"error": "404 Not Found"})
            else:
                response = fake.dispatch(self.command, target, self.headers, body)
            server.record(None if hook is not None else fake, self.command, self.path, response.status)
            # A body of bytes is sent as it is (a raw file); anything else as JSON.
            raw = isinstance(response.body, bytes)
            if raw:
                payload = response.body
            else:
                payload = b"" if response.body is None else json.dumps(response.body).encode()
            headers = dict(response.headers)
            content_type = headers.pop("Content-Type", "application/octet-stream" if raw else "application/json")
            self.send_response(response.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


def encoded(path: str) -> str:
    """How clients put a project path in a URL: `gitlab-org%2Fgitlab-ce`."""
    return quote(path, safe="")
