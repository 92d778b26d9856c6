"""The GitLab adapter: the only module that talks to the GitLab API.

It knows both instances (production and dev), creates python-gitlab clients lazily (so
`invoke --list` and dry runs never import python-gitlab), retries transient errors,
pages through lists 100 items at a time, and turns python-gitlab's exceptions into
one-line ReleaseToolsErrors that name the instance and the project, never the token.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .config import Settings
from .errors import GitLabAccessError, GitLabError, GitLabNotFoundError, MilestoneNotFoundError

USER_AGENT = "release-tools (python-gitlab)"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    name: str = ""


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
class Pipeline:
    """A CI pipeline as the single-pipeline endpoint describes it."""

    id: int
    project_id: int
    status: str
    source: str
    ref: str
    sha: str
    username: str  # who started it ("" when GitLab names nobody)
    web_url: str = ""


def _issue(obj: Any) -> Issue:
    attrs = obj.attributes if hasattr(obj, "attributes") else obj
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

    @property
    def instance(self):
        return self.settings.instance(self.instance_name)

    @property
    def client(self) -> Any:
        if self._client is None:
            token = self.settings.token(self.instance_name)
            import gitlab

            self._client = gitlab.Gitlab(
                self.instance.url,
                private_token=token,
                retry_transient_errors=True,
                per_page=100,
                timeout=self.settings.api_timeout,
                user_agent=USER_AGENT,
            )
        return self._client

    # -- error translation --------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, doing: str, project: str | None = None) -> Iterator[None]:
        import gitlab.exceptions
        import requests

        host = self.instance.host
        where = f" {project}" if project else ""
        try:
            yield
        except gitlab.exceptions.GitlabError as error:
            code = getattr(error, "response_code", None)
            variable = self.instance.token_variable
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
                raise GitLabNotFoundError(f"{host}:{where or ' resource'} not found ({reason}) while {doing}") from None
            raise GitLabError(f"{host} failed while {doing}{' in' + where if where else ''}: {reason}") from None
        except requests.RequestException as error:
            raise GitLabError(
                f"cannot reach {host} while {doing}: {type(error).__name__}"
            ) from None

    # -- users ----------------------------------------------------------------------

    def current_user(self) -> User:
        """The user the token belongs to (memoised)."""
        if self._user is None:
            with self._errors("identifying the token's user"):
                self.client.auth()
                user = self.client.user
            self._user = User(user.id, user.username, getattr(user, "name", ""))
        return self._user

    # -- pipelines ------------------------------------------------------------------

    def pipeline(self, project: str | int, pipeline_id: int) -> Pipeline:
        """One pipeline of `project` (a path or a numeric id), with the user who started it."""
        with self._errors(f"reading pipeline {pipeline_id}", str(project)):
            handle = self.client.projects.get(project, lazy=True)
            attrs = handle.pipelines.get(pipeline_id).attributes
        user = attrs.get("user") or {}
        return Pipeline(
            id=int(attrs["id"]),
            project_id=int(attrs.get("project_id") or 0),
            status=str(attrs.get("status") or ""),
            source=str(attrs.get("source") or ""),
            ref=str(attrs.get("ref") or ""),
            sha=str(attrs.get("sha") or ""),
            username=str(user.get("username") or ""),
            web_url=str(attrs.get("web_url") or ""),
        )

    # -- milestones -----------------------------------------------------------------

    def find_milestone(self, project: str, title: str, group: str | None = None) -> Milestone:
        """The milestone titled `title` in `project`, else in `group`.

        Raises MilestoneNotFoundError when neither has it.
        """
        with self._errors(f"looking up milestone {title}", project):
            handle = self.client.projects.get(project, lazy=True)
            for milestone in handle.milestones.list(title=title, iterator=True):
                if milestone.title == title:
                    return Milestone(milestone.id, milestone.title, group=False)
        if group:
            with self._errors(f"looking up milestone {title}", group):
                handle = self.client.groups.get(group, lazy=True)
                for milestone in handle.milestones.list(title=title, iterator=True):
                    if milestone.title == title:
                        return Milestone(milestone.id, milestone.title, group=True)
        in_group = f" or in group {group}" if group else ""
        raise MilestoneNotFoundError(
            f"Milestone {title} not found in {project}{in_group} on {self.instance.host}: create it first"
        )

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
        query: dict[str, Any] = {"labels": ",".join(labels), "search": title, "in": "title"}
        if milestone:
            query["milestone"] = milestone
        with self._errors(f"searching for issue {title!r}", project):
            handle = self.client.projects.get(project, lazy=True)
            for issue in handle.issues.list(iterator=True, **query):
                if issue.title == title and not set(without_labels) & set(issue.labels):
                    return _issue(issue)
        return None

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
        with self._errors(f"creating issue {title!r}", project):
            handle = self.client.projects.get(project, lazy=True)
            return _issue(handle.issues.create(data))

    def update_issue_description(self, project: str, iid: int, description: str) -> Issue:
        with self._errors(f"updating issue #{iid}", project):
            handle = self.client.projects.get(project, lazy=True)
            issue = handle.issues.get(iid, lazy=True)
            issue.description = description
            issue.save()  # the PUT response refreshes the object
            return _issue(issue)

    def add_issue_note(self, project: str, iid: int, body: str) -> None:
        with self._errors(f"commenting on issue #{iid}", project):
            handle = self.client.projects.get(project, lazy=True)
            handle.issues.get(iid, lazy=True).notes.create({"body": body})


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
