"""The GitLab adapter: the only module that talks to the GitLab API.

It knows both instances (production and dev), creates python-gitlab clients lazily (so
`invoke --list` and dry runs never import python-gitlab), retries transient errors (see
`retries.py`: each retry is said on stderr, and their waits are bounded), pages through
lists 100 items at a time, and turns python-gitlab's exceptions into one-line
ReleaseToolsErrors that name the instance and the project, never the token.

Requests that must not take effect twice (every POST and DELETE here) are never simply
sent again: after a lost answer the adapter first looks whether GitLab did it (`_once`).
"""

from __future__ import annotations

import contextlib
import datetime
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .config import Settings
from .errors import (
    GitLabAccessError,
    GitLabConflictError,
    GitLabError,
    GitLabNotFoundError,
    GitLabTransientError,
    GitLabUnavailableError,
    MilestoneNotFoundError,
)

T = TypeVar("T")

USER_AGENT = "release-tools (python-gitlab)"
#: Job statuses that say a job was started (`manual` and `skipped` ones never ran).
STARTED_STATUSES = frozenset(
    {"waiting_for_resource", "preparing", "pending", "running", "success", "failed", "canceled"}
)
#: GitLab caps `per_page` at 100, and so many `iids[]` keep a list URL short.
BATCH_SIZE = 100


@dataclass(frozen=True)
class User:
    id: int
    username: str
    name: str = ""


@dataclass(frozen=True)
class Member:
    """A direct member of a group."""

    id: int  # the user's id
    username: str
    name: str
    access_level: int


@dataclass(frozen=True)
class Milestone:
    id: int
    title: str
    group: bool  # a group milestone rather than a project milestone


@dataclass(frozen=True)
class Issue:
    iid: int
    title: str
    web_url: str
    description: str = ""
    labels: tuple[str, ...] = ()
    confidential: bool = False
    state: str = "opened"


@dataclass(frozen=True)
class Commit:
    sha: str
    title: str
    message: str


@dataclass(frozen=True)
class MergeRequest:
    """A merge request as list responses describe it (they lack some single-fetch fields)."""

    id: int
    iid: int
    project: str  # the path it was fetched from, e.g. `gitlab-org/gitlab-ee`
    title: str
    web_url: str
    labels: tuple[str, ...] = ()
    author: str = ""  # username
    merged_by: str | None = None  # username; None when GitLab does not say
    state: str = "opened"
    source_branch: str = ""
    target_branch: str = ""
    created_at: str = ""  # ISO 8601, as GitLab sends it
    description: str = ""
    merged_at: str = ""  # ISO 8601; "" when not merged (or merged before GitLab kept it)
    #: What merging made: the merge commit (None when fast-forwarded), the squashed commit
    #: (None unless squashed), and the source branch's head (the fast-forwarded commit).
    merge_commit_sha: str | None = None
    squash_commit_sha: str | None = None
    sha: str | None = None


@dataclass(frozen=True)
class Note:
    """A comment on an issue or a merge request."""

    id: int
    body: str
    author: str = ""  # username
    system: bool = False  # made by GitLab itself (a label change, a push), not by a person


@dataclass(frozen=True)
class Pipeline:
    """A CI pipeline; list responses leave out who started it."""

    id: int
    ref: str
    status: str
    web_url: str
    project_id: int = 0
    source: str = ""
    sha: str = ""
    username: str = ""  # who started it ("" when GitLab names nobody)


@dataclass(frozen=True)
class Job:
    id: int
    name: str
    stage: str
    status: str
    web_url: str


@dataclass(frozen=True)
class CurrentJob:
    """The CI job a job token belongs to, as GitLab describes it (`GET /job`)."""

    id: int
    status: str
    web_url: str
    project_path: str  # read from web_url, e.g. `gitlab-org/release-tools`
    username: str  # the user GitLab runs the job for ("" when it names nobody)
    pipeline: Pipeline  # id, project_id, ref, sha, status, source; no user


def _attrs(obj: Any) -> dict[str, Any]:
    return obj.attributes if hasattr(obj, "attributes") else obj


def _username(user: Any) -> str | None:
    return user.get("username") if isinstance(user, dict) else None


def _merge_request(obj: Any, project: str) -> MergeRequest:
    attrs = _attrs(obj)
    return MergeRequest(
        id=attrs["id"],
        iid=attrs["iid"],
        project=project,
        title=attrs.get("title") or "",
        web_url=attrs.get("web_url") or "",
        labels=tuple(attrs.get("labels") or ()),
        author=_username(attrs.get("author")) or "",
        # `merged_by` is deprecated in favour of `merge_user`; either may be missing or null.
        merged_by=_username(attrs.get("merge_user")) or _username(attrs.get("merged_by")),
        state=attrs.get("state") or "opened",
        source_branch=attrs.get("source_branch") or "",
        target_branch=attrs.get("target_branch") or "",
        created_at=attrs.get("created_at") or "",
        description=attrs.get("description") or "",
        merged_at=attrs.get("merged_at") or "",
        merge_commit_sha=attrs.get("merge_commit_sha") or None,
        squash_commit_sha=attrs.get("squash_commit_sha") or None,
        sha=attrs.get("sha") or None,
    )


def _note(obj: Any) -> Note:
    attrs = _attrs(obj)
    return Note(
        id=int(attrs["id"]),
        body=attrs.get("body") or "",
        author=_username(attrs.get("author")) or "",
        system=bool(attrs.get("system")),
    )


def _pipeline(attrs: dict[str, Any], default_url: str = "") -> Pipeline:
    return Pipeline(
        id=int(attrs["id"]),
        ref=str(attrs.get("ref") or ""),
        status=str(attrs.get("status") or ""),
        web_url=str(attrs.get("web_url") or default_url),
        project_id=int(attrs.get("project_id") or 0),
        source=str(attrs.get("source") or ""),
        sha=str(attrs.get("sha") or ""),
        username=_username(attrs.get("user")) or "",
    )


def _current_job(attrs: dict[str, Any], instance_url: str) -> CurrentJob:
    web_url = str(attrs.get("web_url") or "")
    path = urlsplit(web_url).path
    root = urlsplit(instance_url).path.rstrip("/")  # GitLab installed under a relative URL
    if root and path.startswith(root + "/"):
        path = path[len(root) :]
    project_path, separator, _ = path.partition("/-/jobs/")
    return CurrentJob(
        id=int(attrs["id"]),
        status=str(attrs.get("status") or ""),
        web_url=web_url,
        project_path=project_path.strip("/") if separator else "",
        username=_username(attrs.get("user")) or "",
        pipeline=_pipeline(attrs["pipeline"]),
    )


def _commit(attrs: dict[str, Any]) -> Commit:
    message = attrs.get("message") or ""
    return Commit(sha=attrs["id"], title=attrs.get("title") or message.split("\n", 1)[0], message=message)


def _issue(obj: Any) -> Issue:
    attrs = _attrs(obj)
    return Issue(
        iid=attrs["iid"],
        title=attrs["title"],
        web_url=attrs.get("web_url") or "",
        description=attrs.get("description") or "",
        labels=tuple(attrs.get("labels") or ()),
        confidential=bool(attrs.get("confidential")),
        state=attrs.get("state") or "opened",
    )


@dataclass
class GitLab:
    """One GitLab instance, e.g. `GitLab(settings, "production")`.

    Every method raises GitLabAccessError (401/403), GitLabNotFoundError (404) or
    GitLabError (anything else, connection failures included); a real request also
    needs the instance's token (MissingTokenError before any request otherwise).
    """

    settings: Settings
    instance_name: str = "production"
    _client: Any = field(default=None, init=False, repr=False)
    _user: User | None = field(default=None, init=False, repr=False)
    # Group milestones found, by (group, title): CE and EE fall back to the same one.
    _group_milestones: dict[tuple[str, str], Milestone] = field(default_factory=dict, init=False, repr=False)
    _requests: int = field(default=0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def request_count(self) -> int:
        """HTTP requests this adapter has sent so far (retries included)."""
        return self._requests

    def _count(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self._requests += 1
        return response

    @property
    def instance(self):
        return self.settings.instance(self.instance_name)

    @property
    def retry_policy(self) -> Any:
        from .retries import RetryPolicy

        return RetryPolicy(self.instance.host, max_wait=self.settings.api_max_wait)

    @property
    def client(self) -> Any:
        if self._client is None:
            token = self.settings.token(self.instance_name)
            import gitlab

            from .retries import RetryingSession

            self._client = gitlab.Gitlab(
                # Never a URL with `user:password@`: python-gitlab quotes its URL in warnings.
                self.instance.url,
                private_token=token,
                # RetryingSession retries instead: python-gitlab's retries are silent (10 of them, 102 s).
                retry_transient_errors=False,
                per_page=100,
                timeout=self.settings.api_timeout,
                user_agent=USER_AGENT,
                session=RetryingSession(self.retry_policy, self.instance.credentials),
            )
            # A response hook sees every request python-gitlab sends, retries included.
            self._client.session.hooks["response"].append(self._count)
        return self._client

    def _project(self, path: str | int) -> Any:
        return self.client.projects.get(path, lazy=True)

    # -- error translation --------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, doing: str, project: str | None = None, variable: str | None = None) -> Iterator[None]:
        import gitlab.exceptions
        import requests

        from .retries import RateLimited, describe, is_unsent

        host = self.instance.host
        where = f" {project}" if project else ""
        try:
            yield
        except gitlab.exceptions.GitlabError as error:
            code = getattr(error, "response_code", None)
            variable = variable or self.instance.token_variable
            if code == 409:
                raise GitLabConflictError(
                    f"{host} refused{where} (409 Conflict) while {doing}: {_reason(error)}"
                ) from None
            if code == 401:
                raise GitLabAccessError(
                    f"{host} refused{where} (401 Unauthorized) while {doing}: check {variable}"
                ) from None
            if code == 403:
                raise GitLabAccessError(
                    f"{host} denied access to{where} (403 Forbidden) while {doing}: "
                    f"the user of {variable} lacks the permission"
                ) from None
            reason = _reason(error)
            if code == 404:
                # GitLab also answers 404 for what exists but the token's user may not see.
                raise GitLabNotFoundError(
                    f"{host}:{where or ' resource'} not found ({reason}) while {doing}: "
                    f"check the path, and that the user of {variable} can see it"
                ) from None
            failure = GitLabTransientError if code is not None and 500 <= code < 600 else GitLabError
            raise failure(f"{host} failed while {doing}{' in' + where if where else ''}: {reason}") from None
        except RateLimited as error:
            raise GitLabUnavailableError(f"{host} failed while {doing}{' in' + where if where else ''}: {error}") from None
        except requests.RequestException as error:
            if is_unsent(error):
                raise GitLabUnavailableError(f"cannot reach {host} while {doing}: {describe(error)}") from None
            raise GitLabTransientError(f"{host} did not answer while {doing}: {describe(error)}") from None

    def _once(self, doing: str, project: str | None, send: Callable[[], T], took_effect: Callable[[], T | None]) -> T:
        """`send()` a request that must not take effect twice (a POST, a DELETE), in `_errors`.

        After a 5xx or a lost connection it may or may not have taken effect: `took_effect()`
        looks, and what it returns, unless None, is the result. Only when it did not is the
        request sent again, within the same bounds as every retry (each one said on stderr).
        """
        retries = self.retry_policy.start()
        while True:
            try:
                with self._errors(doing, project):
                    return send()
            except GitLabUnavailableError:
                raise  # it never reached GitLab, and was retried already
            except GitLabTransientError as error:
                if not retries.wait(str(error), unless=" unless it took effect"):
                    raise
            done = took_effect()
            if done is not None:
                return done

    # -- users ----------------------------------------------------------------------

    def current_user(self) -> User:
        """The user the token belongs to (memoised)."""
        if self._user is None:
            with self._errors("identifying the token's user"):
                self.client.auth()
                user = self.client.user
            self._user = User(user.id, user.username, getattr(user, "name", ""))
        return self._user

    def find_user(self, username: str) -> User | None:
        """The user whose username is `username`, ignoring case; None when there is none."""
        with self._errors(f"looking up user {username}"):
            for user in self.client.users.list(username=username, iterator=True):
                if user.username.lower() == username.lower():
                    return User(user.id, user.username, getattr(user, "name", ""))
        return None

    def project_users(self, project: str) -> list[User]:
        """Everyone with access to `project` (its members and its groups' members), all pages."""
        with self._errors("listing the project's users", project):
            return [
                User(user.id, user.username, getattr(user, "name", "") or "")
                for user in self._project(project).users.list(iterator=True)
            ]

    # -- group members ---------------------------------------------------------------

    def group_members(self, group: str) -> list[Member]:
        """The group's direct members (not those it inherits from parent groups), all pages."""
        with self._errors("listing members", group):
            return [
                Member(item.id, item.username, getattr(item, "name", "") or "", int(getattr(item, "access_level", 0) or 0))
                for item in self.client.groups.get(group, lazy=True).members.list(iterator=True)
            ]

    def group_access(self, group: str, user_ids: Iterable[int]) -> dict[int, int]:
        """The access level each of these users has to the group, inherited from parent
        groups included (the highest one); users without any are left out. One request
        per 100 users."""
        wanted = sorted(set(user_ids))
        access: dict[int, int] = {}
        with self._errors("reading members", group):
            handle = self.client.groups.get(group, lazy=True)
            for start in range(0, len(wanted), BATCH_SIZE):
                batch = wanted[start : start + BATCH_SIZE]
                for item in handle.members_all.list(user_ids=batch, iterator=True):
                    access[item.id] = max(access.get(item.id, 0), int(getattr(item, "access_level", 0) or 0))
        return access

    def add_group_member(self, group: str, user_id: int, access_level: int) -> bool:
        """Make a user a direct member; False when they are one already (409).

        After a lost answer, a user who is now a member counts as added.
        """
        import gitlab.exceptions

        def send() -> bool:
            try:
                self.client.groups.get(group, lazy=True).members.create(
                    {"user_id": user_id, "access_level": access_level}
                )
            except gitlab.exceptions.GitlabCreateError as error:
                if error.response_code == 409:
                    return False
                raise
            return True

        def added() -> bool | None:
            return True if self._is_direct_member(group, user_id) else None

        return self._once(f"adding user {user_id}", group, send, added)

    def remove_group_member(self, group: str, user_id: int) -> bool:
        """Remove a direct member; False when they are not one (anymore).

        After a lost answer, a user who is no longer a member counts as removed.
        """
        import gitlab.exceptions

        def send() -> bool:
            try:
                self.client.groups.get(group, lazy=True).members.delete(user_id)
            except gitlab.exceptions.GitlabDeleteError as error:
                if error.response_code == 404:
                    return False
                raise
            return True

        def removed() -> bool | None:
            return None if self._is_direct_member(group, user_id) else True

        return self._once(f"removing user {user_id}", group, send, removed)

    def _is_direct_member(self, group: str, user_id: int) -> bool:
        return any(member.id == user_id for member in self.group_members(group))

    # -- pipelines ------------------------------------------------------------------

    def job_of_token(self, job_token: str) -> CurrentJob:
        """The CI job `job_token` belongs to, with its pipeline and its user: `GET /job`,
        authenticated by that token alone, so it cannot be pointed at another job, and
        GitLab accepts the token only while its job runs. The instance's API token is not
        sent, and the job token is masked in everything release-tools prints.

        Raises GitLabAccessError (401: not the token of a running job), GitLabError.
        """
        import gitlab
        import gitlab.exceptions

        from .output import protect

        protect(job_token)
        from .retries import RetryingSession

        client = gitlab.Gitlab(
            self.instance.url,
            job_token=job_token,
            retry_transient_errors=False,  # RetryingSession retries, and says so
            timeout=self.settings.api_timeout,
            user_agent=USER_AGENT,
            session=RetryingSession(self.retry_policy, self.instance.credentials),
        )
        client.session.hooks["response"].append(self._count)
        doing = "identifying the job running this"
        with self._errors(doing, variable="CI_JOB_TOKEN"):
            try:
                attrs = client.http_get("/job")
            except gitlab.exceptions.GitlabError as error:  # python-gitlab raises its own class for 401
                if error.response_code == 401:
                    raise GitLabAccessError(
                        f"{self.instance.host} refused CI_JOB_TOKEN (401 Unauthorized) while {doing}: "
                        "it is not the token of a running job"
                    ) from None
                raise
        if not isinstance(attrs, dict) or not isinstance(attrs.get("pipeline"), dict) or "id" not in attrs:
            raise GitLabError(f"{self.instance.host} answered GET /job with something that is not a job")
        return _current_job(attrs, self.instance.url)

    def pipeline(self, project: str | int, pipeline_id: int) -> Pipeline:
        """One pipeline of `project` (a path or a numeric id), with the user who started it."""
        with self._errors(f"reading pipeline {pipeline_id}", str(project)):
            handle = self._project(project)
            attrs = handle.pipelines.get(pipeline_id).attributes
        return _pipeline(attrs)

    # -- milestones -----------------------------------------------------------------

    def find_milestone(self, project: str, title: str, group: str | None = None) -> Milestone:
        """The milestone titled `title` in `project`, else in `group` (memoised once found).

        Raises MilestoneNotFoundError when neither has it.
        """
        with self._errors(f"looking up milestone {title}", project):
            handle = self._project(project)
            for milestone in handle.milestones.list(title=title, iterator=True):
                if milestone.title == title:
                    return Milestone(milestone.id, milestone.title, group=False)
        if group:
            if (group, title) in self._group_milestones:
                return self._group_milestones[group, title]
            with self._errors(f"looking up milestone {title}", group):
                handle = self.client.groups.get(group, lazy=True)
                for milestone in handle.milestones.list(title=title, iterator=True):
                    if milestone.title == title:
                        found = Milestone(milestone.id, milestone.title, group=True)
                        self._group_milestones[group, title] = found
                        return found
        in_group = f" or in group {group}" if group else ""
        raise MilestoneNotFoundError(
            f"Milestone {title} not found in {project}{in_group} on {self.instance.host}: create it first"
        )

    def current_milestone(self, project: str, group: str | None, today: datetime.date) -> Milestone | None:
        """The active milestone (project's or group's) running today, the one due last when
        several are; None when none is. Milestones without both dates never count."""
        candidates: list[tuple[str, Milestone]] = []
        with self._errors("looking up the current milestone", project):
            for item in self._project(project).milestones.list(state="active", iterator=True):
                if _runs_on(_attrs(item), today):
                    candidates.append((_attrs(item)["due_date"], Milestone(item.id, item.title, group=False)))
        if group:
            with self._errors("looking up the current milestone", group):
                for item in self.client.groups.get(group, lazy=True).milestones.list(state="active", iterator=True):
                    if _runs_on(_attrs(item), today):
                        candidates.append((_attrs(item)["due_date"], Milestone(item.id, item.title, group=True)))
        if not candidates:
            return None
        return max(candidates, key=lambda pair: pair[0])[1]

    # -- issues -------------------------------------------------------------------------

    def find_issue(
        self,
        project: str,
        title: str,
        labels: tuple[str, ...],
        milestone: str | None = None,
        without_labels: tuple[str, ...] = (),
    ) -> Issue | None:
        """The issue with exactly this title, these labels (and none of `without_labels`)."""
        filters = {"milestone": milestone} if milestone else {}
        for issue in self._issues_titled(project, title, labels, f"searching for issue {title!r}", **filters):
            if not set(without_labels) & set(issue.labels):
                return issue
        return None

    def _issues_titled(self, project: str, title: str, labels: tuple[str, ...], doing: str, **filters: Any) -> Iterator[Issue]:
        """Issues titled exactly `title` with (at least) `labels`, found with GitLab's title search."""
        query = {"labels": ",".join(labels), "search": title, "in": "title", **filters}
        with self._errors(doing, project):
            for issue in self._project(project).issues.list(iterator=True, **query):
                if issue.title == title:
                    yield _issue(issue)

    def create_issue(
        self,
        project: str,
        *,
        title: str,
        description: str,
        labels: tuple[str, ...],
        milestone_id: int | None,
        assignee_id: int | None,
        confidential: bool = False,
    ) -> Issue:
        data: dict[str, Any] = {
            "title": title,
            "description": description,
            "labels": ",".join(labels),
            "confidential": confidential,
        }
        if milestone_id is not None:
            data["milestone_id"] = milestone_id
        if assignee_id is not None:
            data["assignee_ids"] = [assignee_id]
        # Sending the POST again when GitLab created the issue and only the answer was lost
        # (a 502 from a proxy) would give the release two task issues: look first.
        return self._once(
            f"creating issue {title!r}",
            project,
            lambda: _issue(self._project(project).issues.create(data)),
            lambda: self._find_created_issue(project, title, labels, confidential),
        )

    def _find_created_issue(
        self, project: str, title: str, labels: tuple[str, ...], confidential: bool
    ) -> Issue | None:
        """The issue an unanswered create may have made: this title, exactly these labels."""
        doing = f"checking whether issue {title!r} was created"
        for issue in self._issues_titled(project, title, labels, doing, state="opened"):
            if set(issue.labels) == set(labels) and issue.confidential == confidential:
                return issue
        return None

    def update_issue_description(self, project: str, iid: int, description: str) -> Issue:
        with self._errors(f"updating issue #{iid}", project):
            handle = self._project(project)
            issue = handle.issues.get(iid, lazy=True)
            issue.description = description
            issue.save()  # the PUT response refreshes the object
            return _issue(issue)

    def add_issue_note(self, project: str, iid: int, body: str) -> None:
        """Comment on an issue. After a lost answer, the token's user's newest comments are
        read first: one with this very body was posted, and is not posted twice."""
        self._add_note(project, f"issue #{iid}", lambda: self._project(project).issues.get(iid, lazy=True), body)

    def _add_note(self, project: str, what: str, parent: Callable[[], Any], body: str) -> Note:
        """Comment on `parent()` (an issue or a merge request, `what` in messages), once."""

        def send() -> Note:
            return _note(parent().notes.create({"body": body}))

        def posted() -> Note | None:
            me = self.current_user().username
            with self._errors(f"checking whether the comment on {what} was posted", project):
                notes = parent().notes.list(order_by="created_at", sort="desc", per_page=BATCH_SIZE, page=1)
            return next((n for n in map(_note, notes) if n.body == body and n.author == me), None)

        return self._once(f"commenting on {what}", project, send, posted)

    # -- repository ---------------------------------------------------------------------

    def commit(self, project: str, ref: str) -> Commit | None:
        """The commit a branch, tag or SHA points at; None when `project` has no such ref.

        Raises GitLabNotFoundError when the project itself is missing or invisible.
        """
        import gitlab.exceptions

        with self._errors(f"looking up {ref}", project):
            try:
                return _commit(_attrs(self._project(project).commits.get(ref)))
            except gitlab.exceptions.GitlabGetError as error:
                if error.response_code == 404 and "commit" in _reason(error).lower():
                    return None
                raise

    def compare(self, project: str, from_ref: str, to_ref: str) -> list[Commit]:
        """The commits reachable from `to_ref` but not from `from_ref`, oldest first.

        One request: GitLab's compare answers with every commit (and diff) at once.
        """
        with self._errors(f"comparing {from_ref}...{to_ref}", project):
            answer = self._project(project).repository_compare(from_ref, to_ref)
        return [_commit(commit) for commit in answer.get("commits") or ()]

    def branch_exists(self, project: str, branch: str) -> bool:
        import gitlab.exceptions

        with self._errors(f"looking up branch {branch}", project):
            try:
                self._project(project).branches.get(branch)
            except gitlab.exceptions.GitlabGetError as error:
                if error.response_code == 404 and "branch" in _reason(error).lower():
                    return False
                raise
        return True

    def create_branch(self, project: str, branch: str, ref: str) -> bool:
        """Create `branch` from `ref`; False (and no error) when the branch exists already.

        Any other refusal (an unknown `ref`, an invalid name) raises GitLabError.
        """
        import gitlab.exceptions

        def send() -> bool:
            try:
                self._project(project).branches.create({"branch": branch, "ref": ref})
            except gitlab.exceptions.GitlabCreateError as error:
                if error.response_code == 400 and "already exists" in _reason(error).lower():
                    return False
                raise
            return True

        # After a lost answer, a branch that exists now is the one this request created.
        return self._once(
            f"creating branch {branch} from {ref}",
            project,
            send,
            lambda: True if self.branch_exists(project, branch) else None,
        )

    # -- merge requests -------------------------------------------------------------------

    def merge_request(self, project: str, iid: int) -> MergeRequest:
        """One merge request by its iid (a request of its own; prefer `merge_requests`)."""
        with self._errors(f"fetching merge request !{iid}", project):
            return _merge_request(self._project(project).mergerequests.get(iid), project)

    def merge_requests(self, project: str, iids: Iterable[int], state: str | None = None) -> list[MergeRequest]:
        """The merge requests of `project` with these iids, 100 per request.

        Iids that do not exist (or are not in `state`) are simply absent from the result.
        """
        wanted = sorted(set(iids))
        found: list[MergeRequest] = []
        query: dict[str, Any] = {"state": state} if state else {}
        with self._errors(f"fetching {len(wanted)} merge requests", project):
            handle = self._project(project)
            for start in range(0, len(wanted), BATCH_SIZE):
                batch = wanted[start : start + BATCH_SIZE]
                for item in handle.mergerequests.list(iids=batch, iterator=True, **query):
                    found.append(_merge_request(item, project))
        return found

    def list_merge_requests(
        self,
        project: str,
        *,
        labels: tuple[str, ...] = (),
        state: str = "opened",
        target_branch: str | None = None,
    ) -> list[MergeRequest]:
        """Merge requests with all of `labels` (in `state`, into `target_branch`), newest first,
        all pages, 100 per request."""
        query: dict[str, Any] = {"state": state}
        if labels:
            query["labels"] = ",".join(labels)
        if target_branch:
            query["target_branch"] = target_branch
        with self._errors("listing merge requests", project):
            return [
                _merge_request(item, project) for item in self._project(project).mergerequests.list(iterator=True, **query)
            ]

    def merge_request_notes(self, project: str, iid: int) -> list[Note]:
        """Every comment on a merge request, newest first (all pages, 100 per request)."""
        with self._errors(f"reading the comments on merge request !{iid}", project):
            handle = self._project(project).mergerequests.get(iid, lazy=True)
            return [_note(item) for item in handle.notes.list(order_by="created_at", sort="desc", iterator=True)]

    def find_merge_request_note(self, project: str, iid: int, containing: str) -> Note | None:
        """The newest comment on a merge request whose text contains `containing`, or None."""
        return next((note for note in self.merge_request_notes(project, iid) if containing in note.body), None)

    def add_merge_request_note(self, project: str, iid: int, body: str) -> Note:
        """Comment on a merge request; after a lost answer, a comment of the token's user
        with this very body counts as posted (it is not posted twice)."""
        return self._add_note(
            project, f"merge request !{iid}", lambda: self._project(project).mergerequests.get(iid, lazy=True), body
        )

    def update_merge_request(
        self,
        project: str,
        iid: int,
        *,
        description: str | None = None,
        add_labels: Iterable[str] = (),
        remove_labels: Iterable[str] = (),
    ) -> MergeRequest:
        """Change a merge request's description and labels (a PUT: sending it twice ends the same).

        Labels are added and removed by name, leaving the others as they are, whatever
        changed since they were read.
        """
        data: dict[str, Any] = {}
        if description is not None:
            data["description"] = description
        if add_labels:
            data["add_labels"] = ",".join(add_labels)
        if remove_labels:
            data["remove_labels"] = ",".join(remove_labels)
        with self._errors(f"updating merge request !{iid}", project):
            handle = self._project(project).mergerequests
            return _merge_request(handle.update(iid, data), project)

    def find_merge_requests(
        self,
        project: str,
        *,
        source_branch: str,
        target_branch: str,
        state: str = "all",
    ) -> list[MergeRequest]:
        """Merge requests from `source_branch` into `target_branch` (in `state`), newest first."""
        query = {"source_branch": source_branch, "target_branch": target_branch, "state": state}
        with self._errors(f"searching merge requests from {source_branch}", project):
            return [
                _merge_request(item, project)
                for item in self._project(project).mergerequests.list(iterator=True, **query)
            ]

    def create_merge_request(
        self,
        project: str,
        *,
        title: str,
        description: str,
        source_branch: str,
        target_branch: str,
        labels: tuple[str, ...],
        milestone_id: int | None,
        assignee_id: int | None,
        remove_source_branch: bool = True,
    ) -> MergeRequest:
        """Create a merge request; GitLabConflictError (409) when an open one exists.

        After a lost answer, an open merge request of these branches with this title is
        the one this request created, and is returned.
        """
        data: dict[str, Any] = {
            "title": title,
            "description": description,
            "source_branch": source_branch,
            "target_branch": target_branch,
            "labels": ",".join(labels),
            "remove_source_branch": remove_source_branch,
        }
        if milestone_id is not None:
            data["milestone_id"] = milestone_id
        if assignee_id is not None:
            data["assignee_id"] = assignee_id

        def created() -> MergeRequest | None:
            opened = self.find_merge_requests(
                project, source_branch=source_branch, target_branch=target_branch, state="opened"
            )
            return next((mr for mr in opened if mr.title == title), None)

        return self._once(
            f"creating merge request {title!r}",
            project,
            lambda: _merge_request(self._project(project).mergerequests.create(data), project),
            created,
        )

    # -- pipelines and jobs -------------------------------------------------------------

    def tag_pipeline(self, project: str, tag: str) -> Pipeline | None:
        """The newest pipeline of tag `tag`, or None (one request, one result)."""
        with self._errors(f"looking up the pipeline of tag {tag}", project):
            found = self._project(project).pipelines.list(scope="tags", ref=tag, per_page=1, page=1)
        if not found:
            return None
        attrs = _attrs(found[0])
        return _pipeline(attrs, default_url=f"{self.instance.url}/{project}/pipelines/{attrs['id']}")

    def pipeline_jobs(self, project: str, pipeline_id: int, statuses: Iterable[str] = ()) -> list[Job]:
        """The pipeline's jobs in one of `statuses` (every job when empty), all pages."""
        with self._errors(f"listing the jobs of pipeline {pipeline_id}", project):
            pipeline = self._project(project).pipelines.get(pipeline_id, lazy=True)
            scope = {"scope": sorted(statuses)} if statuses else {}
            items = [_attrs(job) for job in pipeline.jobs.list(iterator=True, **scope)]
        return [
            Job(
                id=attrs["id"],
                name=attrs.get("name") or "",
                stage=attrs.get("stage") or "",
                status=attrs.get("status") or "",
                web_url=attrs.get("web_url") or f"{self.instance.url}/{project}/-/jobs/{attrs['id']}",
            )
            for attrs in items
        ]

    def job_status(self, project: str, job_id: int) -> str:
        with self._errors(f"reading job {job_id}", project):
            return str(_attrs(self._project(project).jobs.get(job_id)).get("status") or "")

    def play_job(self, project: str, job_id: int) -> None:
        """Start a manual job: one POST, no GET first (lazy objects).

        When the play fails or is refused, the job is read again: if it is pending, running
        or done, it started (the answer was lost, or someone else played it), and that is
        no error. Otherwise the play's own error is raised.
        """
        doing = f"playing job {job_id}"

        def started() -> bool | None:
            return True if self.job_status(project, job_id) in STARTED_STATUSES else None

        def send() -> bool:
            self._project(project).jobs.get(job_id, lazy=True).play()
            return True

        try:
            self._once(doing, project, send, started)
        except GitLabUnavailableError:
            raise  # the play never reached GitLab
        except GitLabError as refused:
            try:
                if started():
                    return
            except GitLabError:
                pass  # what the play said is the more telling error
            raise refused from None


def _runs_on(milestone: dict[str, Any], today: datetime.date) -> bool:
    try:
        start = datetime.date.fromisoformat(milestone.get("start_date") or "")
        due = datetime.date.fromisoformat(milestone.get("due_date") or "")
    except ValueError:
        return False
    return start <= today <= due


def _reason(error: Any) -> str:
    message = getattr(error, "error_message", "") or ""
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    if not isinstance(message, str):
        message = str(message)
    message = " ".join(message.split())
    code = getattr(error, "response_code", None)
    if code and not message.startswith(str(code)):
        message = f"{code} {message}".strip()
    return message[:200] or "no details"
