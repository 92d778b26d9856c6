"""Retrying GitLab API requests: which failures deserve another try, how long to wait,
and one line on stderr for each retry, as it happens.

- A connection that could not be made (refused, a name that does not resolve, a connect
  timeout) is tried once more: waiting rarely helps, and the user should know at once.
- A 429 is retried after the `Retry-After` GitLab asks for (or `RateLimit-Reset`), for any
  method: GitLab refuses rate-limited requests before doing anything.
- A 5xx answer or a lost connection is retried, with a doubling delay, only for requests
  that may safely happen twice (GET, HEAD, and PUT, which sets the same state again). A
  POST or DELETE may have taken effect although its answer was lost: the GitLab adapter
  looks first, then sends it again (`GitLab._once`).
- Each request retries at most RETRIES times and waits at most `release_tools.api.max_wait`
  seconds in all; a wait that would go beyond that is not started.

python-gitlab's own retries (silent, up to 10 of them) are off: `RetryingSession` is the
requests session python-gitlab sends every request through.
"""

from __future__ import annotations

import email.utils
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from .config import basic_authorization
from .output import say

#: Retries of one request after a 5xx, a lost connection or a 429.
RETRIES = 5
#: Retries after a connection that could not be made at all.
CONNECT_RETRIES = 1
#: The first retry waits this long; each one after it twice as long as the one before.
FIRST_DELAY = 0.5
#: GitLab restarting, a proxy without a backend, a CDN's 52x: worth another try.
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504, *range(520, 531)})
#: Methods whose second copy leaves GitLab as the first one did.
REPEATABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT"})


@dataclass(frozen=True)
class RetryPolicy:
    """How one GitLab instance's requests are retried."""

    host: str  # what the retry lines call the instance: `gitlab.com`
    max_wait: float = 60.0  # seconds of waiting between the tries of one request, in all
    retries: int = RETRIES
    connect_retries: int = CONNECT_RETRIES
    first_delay: float = FIRST_DELAY

    def start(self) -> Retries:
        """The retries of one request, none made yet."""
        return Retries(self)


class Retries:
    """The retries of one request: how many were made, how long they waited, and why
    they stopped (`stopped`, once `wait` said no)."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.count = 0
        self.waited = 0.0
        self.stopped = ""

    def delay(self, asked: float | None = None) -> float:
        """How long the next retry waits: what GitLab asked for, else the doubling delay."""
        if asked is not None:
            return max(0.0, asked)
        return self.policy.first_delay * 2**self.count

    def wait(self, why: str, *, asked: float | None = None, connect: bool = False, unless: str = "") -> bool:
        """Say `why; retrying in N s (i of n)` on stderr and sleep, or return False (and
        set `stopped`) when no retry is left. `asked` is GitLab's Retry-After; `connect`
        marks a connection that could not be made (fewer retries)."""
        limit = self.policy.connect_retries if connect else self.policy.retries
        delay = self.delay(asked)
        if self.count >= limit:
            self.stopped = f"{self.count} retr{'y' if self.count == 1 else 'ies'} made"
            return False
        if self.waited + delay > self.policy.max_wait:
            self.stopped = (
                f"waiting {_seconds(delay)} more would pass release_tools.api.max_wait "
                f"of {_seconds(self.policy.max_wait)}"
            )
            return False
        self.count += 1
        self.waited += delay
        say(f"{why}; retrying in {_seconds(delay)}{unless} ({self.count} of {limit})", "yellow", err=True)
        time.sleep(delay)
        return True


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The seconds GitLab asks to wait (`Retry-After`: seconds or an HTTP date; else
    `RateLimit-Reset`: a Unix time), or None when it asks nothing readable."""
    now = time.time() if now is None else now
    value = (headers.get("Retry-After") or "").strip()
    if value:
        if value.isascii() and value.isdigit():
            return float(value)
        try:
            return email.utils.parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    reset = (headers.get("RateLimit-Reset") or "").strip()
    if reset.isascii() and reset.isdigit():
        return float(reset) - now
    return None


def is_unsent(error: BaseException) -> bool:
    """True when the request never reached the server: no connection could be made."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    return isinstance(_reason(error), NewConnectionError)


def describe(error: BaseException) -> str:
    """A few words for a connection failure: `connection refused`, `name not resolved`."""
    reason = _reason(error)
    if isinstance(error, RateLimited):
        return str(error)
    if isinstance(reason, NewConnectionError):
        cause = reason.__cause__ or reason.__context__
        if isinstance(cause, socket.gaierror):
            return "name not resolved"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        return "no connection"
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(error, requests.exceptions.Timeout):
        return "no answer within release_tools.api.timeout"
    if isinstance(error, requests.exceptions.SSLError):
        return "TLS error"
    if isinstance(error, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return "connection lost"
    return type(error).__name__


def _reason(error: BaseException) -> Any:
    # requests wraps urllib3's MaxRetryError, whose `reason` says what really happened.
    wrapped = error.args[0] if error.args else None
    return getattr(wrapped, "reason", wrapped)


class RateLimited(requests.RequestException):
    """GitLab kept answering 429 past the retries: raised rather than returned, since
    python-gitlab would otherwise wait and retry again, silently."""


class RetryingSession(requests.Session):
    """The requests session of one instance's python-gitlab client: every request goes
    through `request`, which retries as this module's docstring says.

    `credentials` (from an `https://user:password@host` URL) go as basic authentication.
    """

    def __init__(self, policy: RetryPolicy, credentials: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.policy = policy
        self._authorization = basic_authorization(credentials) if credentials is not None else ""

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        prepared = super().prepare_request(request)
        if self._authorization:
            # Set after python-gitlab's token authentication, which drops any `Authorization`.
            prepared.headers["Authorization"] = self._authorization
        return prepared

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        retries = self.policy.start()
        repeatable = str(method).upper() in REPEATABLE_METHODS
        host = self.policy.host
        while True:
            try:
                response = super().request(method, url, *args, **kwargs)
            except requests.exceptions.SSLError:
                raise  # a certificate problem does not go away by itself
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
                unsent = is_unsent(error)
                if (unsent or repeatable) and retries.wait(f"cannot reach {host} ({describe(error)})", connect=unsent):
                    continue
                raise
            status = response.status_code
            if status == 429 or (repeatable and status in TRANSIENT_STATUSES):
                if retries.wait(f"{host} answered {status}", asked=retry_after(response.headers)):
                    response.close()
                    continue
                if status == 429:
                    raise RateLimited(f"429 Too Many Requests ({retries.stopped})", response=response)
            return response


def _seconds(value: float) -> str:
    return f"{round(value, 1):g} s"
