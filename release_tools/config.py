"""Settings: the shipped defaults, invoke's configuration layers, tokens and legacy switches.

Every deployment-specific value lives under one `release_tools` key of invoke's
configuration. The shipped defaults below describe GitLab's own release setup; override
them the invoke way (`invoke -f FILE`, `~/.invoke.yaml`, the project `invoke.yaml`, or
`INVOKE_RELEASE_TOOLS_<PATH>` variables, e.g. `INVOKE_RELEASE_TOOLS_INSTANCES_DEV_URL`).

Tokens are never configuration: they come from the environment or a `.env` file only.
This is the only module that reads `os.environ`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from .clock import Clock
from .errors import ConfigurationError, MissingTokenError, one_line, plain_url, quote, quote_path

ROOT = Path(__file__).resolve().parent.parent

#: The shipped defaults; `tasks.py` installs them with `ns.configure({"release_tools": DEFAULTS})`.
#: Every key is present, because invoke maps `INVOKE_RELEASE_TOOLS_*` only onto existing keys.
DEFAULTS: dict[str, Any] = {
    # Dry run: print what would happen, make no mutating request and no push (`TEST`).
    "dry_run": False,
    # Security release: use only the `dev` remotes (`SECURITY`).
    "security": False,
    # One JSON document on stdout, the plan and its outcome (`--json`, `RELEASE_TOOLS_JSON=1`).
    "json": False,
    # Do not ask before changing anything (`--yes`).
    "assume_yes": False,
    # On a terminal outside CI, show the plan and ask before changing anything.
    "confirm": True,
    # The day every date is written for (`YYYY-MM-DD`), instead of today; see clock.py.
    "date": "",
    # `insecure_http: true` allows a plain http:// URL to a host other than this machine.
    "instances": {
        "production": {"url": "https://gitlab.com", "token_variable": "GITLAB_API_PRIVATE_TOKEN", "insecure_http": False},
        "dev": {"url": "https://dev.gitlab.org", "token_variable": "DEV_API_PRIVATE_TOKEN", "insecure_http": False},
    },
    # Seconds before an API request is abandoned, and the most seconds one request waits
    # between its retries in all (each retry is said on stderr).
    "api": {"timeout": 30, "max_wait": 60},
    # Remotes are listed in order; the first one is canonical (clones come from it).
    "projects": {
        "ce": {
            "path": "gitlab-org/gitlab-ce",
            "dev_path": "gitlab/gitlabhq",
            "remotes": {
                "dev": "git@dev.gitlab.org:gitlab/gitlabhq.git",
                "gitlab": "git@gitlab.com:gitlab-org/gitlab-ce.git",
            },
        },
        "ee": {
            "path": "gitlab-org/gitlab-ee",
            "dev_path": "gitlab/gitlab-ee",
            "remotes": {
                "dev": "git@dev.gitlab.org:gitlab/gitlab-ee.git",
                "gitlab": "git@gitlab.com:gitlab-org/gitlab-ee.git",
            },
        },
        "omnibus": {
            "path": "gitlab-org/omnibus-gitlab",
            "dev_path": "gitlab/omnibus-gitlab",
            "remotes": {
                "dev": "git@dev.gitlab.org:gitlab/omnibus-gitlab.git",
                "gitlab": "git@gitlab.com:gitlab-org/omnibus-gitlab.git",
            },
        },
        "helm": {
            "path": "charts/gitlab",
            "dev_path": "",
            "remotes": {"gitlab": "git@gitlab.com:charts/gitlab.git"},
        },
        "release_tasks": {
            "path": "gitlab-org/release/tasks",
            "dev_path": "",
            "remotes": {"gitlab": "git@gitlab.com:gitlab-org/release/tasks.git"},
        },
    },
    # Milestones `X.Y` are looked up in the project first, then in this group.
    "milestone_group": "gitlab-org",
    "labels": {
        "release": "Release",
        "security": "security",
        "qa": "QA task",
        "upstream_merge": "CE upstream",
        # The label of merge requests to cherry-pick into a patch or RC; `{minor}` is `11.1`.
        "pick_into": "Pick into {minor}",
    },
    "qa": {
        # Projects (keys of `projects`) whose changes the QA issue lists; EE contains CE.
        "projects": ["ee"],
        # A merge request goes under the first of these labels it has, in this order.
        "team_labels": [
            "Discussion",
            "Platform",
            "CI/CD",
            "Geo",
            "Gitaly",
            "Monitoring",
            "Security Products",
            "frontend",
            "database",
        ],
        # Merge requests with any of these labels need no manual QA and are left out.
        "unpermitted_labels": [
            "Quality",
            "meta",
            "Documentation",
            "Release",
            "test",
            "broken master",
            "CE upstream",
            "development guidelines",
            "static analysis",
            "QA",
        ],
        # Community contributions are checked by whoever merged them, not by their author.
        "community_label": "Community Contribution",
    },
    "publish": {
        # The project (a key of `projects`) whose tag pipelines on the dev instance build the packages.
        "project": "omnibus",
        # Manual jobs of these stages are played; others (e.g. triggers, metrics) are left alone.
        "stages": ["package-release", "image-release", "raspbian-release", "raspbian_release"],
        # How many jobs are started at the same time.
        "concurrency": 4,
    },
    "helm": {
        # GitLab's own subcharts, `<folder>/<name>/Chart.yaml`: they get the chart's version.
        "subcharts_dir": "charts/gitlab/charts",
        # Where a subchart's appVersion comes from: `gitlab` (the GitLab version the chart
        # ships) or a version file of gitlab-ee at that version's tag. Others keep theirs;
        # an empty value removes a shipped entry.
        "subchart_app_versions": {
            "gitaly": "GITALY_SERVER_VERSION",
            "gitlab-shell": "GITLAB_SHELL_VERSION",
            "migrations": "gitlab",
            "sidekiq": "gitlab",
            "unicorn": "gitlab",
            "task-runner": "gitlab",
            "geo-logcursor": "gitlab",
        },
    },
    "upstream_merge": {
        # The remote (of the `ce` and `ee` projects) the merge reads CE from and pushes EE to:
        # the one on the production instance, where the merge request is opened.
        "remote": "gitlab",
        # Who is assigned when no conflicting file's author is a member of EE; the day of
        # the year picks one, so the duty rotates.
        "fallback_assignees": ["dzaporozhets", "vsizov", "rymai", "godfat", "winh"],
    },
    "cherry_pick": {
        # Projects (keys of `projects`: `ce`, `ee`) whose preparation branches get the picks.
        "projects": ["ce", "ee"],
        # The label a picked merge request gets instead of `labels.pick_into` (`{minor}` is
        # `11.1`); empty keeps the `Pick into` label.
        "picked_label": "",
    },
    "slack": {"tag_url": "", "upstream_merge_url": "", "chatops_url": "", "cherry_pick_url": ""},
    # Who may run release tasks through ChatOps; a relative path is relative to this checkout.
    "release_managers_file": "config/release_managers.yml",
    # The group on each instance whose direct members `release_managers.sync` makes match
    # the release managers file, in the order they are synced; empty leaves an instance out.
    "release_manager_groups": {"dev": "gitlab/release/managers", "production": "gitlab-org/release/managers"},
    "chatops": {
        # Commands from this chat channel (`CHAT_CHANNEL`) are security releases.
        "security_channel": "security-release",
        # Bot accounts whose pipelines may act for the user named in `RELEASE_USER`
        # (the original's trigger style); comma-separated, empty trusts none.
        "trusted_relays": "",
        # Seconds after the chat command within which GitLab posts the job's output back.
        "reply_window": 1800,
        # The project whose chat and trigger jobs may run release tasks, per instance: its
        # path or (better: it survives a move) its numeric id; empty allows none. Read from
        # these defaults and this checkout's invoke.yaml only, never from variables,
        # ~/.invoke.yaml or INVOKE_RUNTIME_CONFIG, which whoever starts a pipeline can set.
        "projects": {"production": "gitlab-org/release-tools", "dev": "gitlab/release-tools"},
    },
    # Where tokens may also be read from (KEY=VALUE lines); relative to the working directory.
    "env_file": ".env",
    # Empty: the `templates/` folder of this checkout.
    "templates_dir": "",
}

#: Secrets read from the environment or the env file, never from configuration files.
SECRET_VARIABLES = (
    "GITLAB_API_PRIVATE_TOKEN",
    "DEV_API_PRIVATE_TOKEN",
    "SLACK_TAG_URL",
    "SLACK_UPSTREAM_MERGE_URL",
    "SLACK_CHATOPS_URL",
    "SLACK_CHERRY_PICK_URL",
)

#: The original's CI bot tokens (`bin/chatops`): `RELEASE_BOT_<INSTANCE>_TOKEN`, e.g.
#: RELEASE_BOT_PRODUCTION_TOKEN and RELEASE_BOT_DEV_TOKEN, stand in for the instance's token.
BOT_TOKEN_VARIABLE = "RELEASE_BOT_{}_TOKEN"
#: The configuration section where the task boundary says which task runs (not a setting).
RUN_KEY = "release_tools_run"
#: `with_bot_tokens` keeps the token a bot token replaced under this prefix, to be masked.
REPLACED_PREFIX = "RELEASE_TOOLS_REPLACED_"


@dataclass(frozen=True)
class Instance:
    """One GitLab instance: `production` (gitlab.com) or `dev` (dev.gitlab.org)."""

    name: str
    url: str
    token_variable: str

    @property
    def host(self) -> str:
        """What messages call the instance: `gitlab.com`, `127.0.0.1:8080`."""
        return urlsplit(self.url).netloc.rpartition("@")[2] or self.url

    #: The `user:password` of a configured `https://user:password@host` URL, which is sent
    #: as HTTP basic authentication; `url` itself never carries it, so no message can show it.
    credentials: tuple[str, str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        url, credentials = split_userinfo(self.url)
        if credentials is not None:
            object.__setattr__(self, "url", url)
            object.__setattr__(self, "credentials", credentials)


def split_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """`https://user:pa%40ss@host/x` -> (`https://host/x`, (`user`, `pa@ss`)); a URL
    without userinfo comes back as it is, with None."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unparsable URL is refused later, by whoever needs it
        return url, None
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url, None
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=hostport)), (unquote(user), unquote(password))


def basic_authorization(credentials: tuple[str, str]) -> str:
    """The `Authorization` header value that sends `(user, password)` as basic authentication."""
    import base64

    return "Basic " + base64.b64encode(":".join(credentials).encode("utf-8")).decode("ascii")


def _names(value: Any, where: str) -> tuple[str, ...]:
    """A list of names from configuration; a comma-separated string is accepted too."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, (list, tuple)):
        return tuple(str(part) for part in value)
    raise ConfigurationError(f"release_tools.{where} must be a list of names")


@dataclass(frozen=True)
class QaSettings:
    """How QA issues pick and group merge requests."""

    projects: tuple[str, ...] = ("ee",)
    team_labels: tuple[str, ...] = ()
    unpermitted_labels: tuple[str, ...] = ()
    community_label: str = "Community Contribution"

    @classmethod
    def from_tree(cls, tree: Mapping[str, Any]) -> QaSettings:
        return cls(
            projects=_names(tree["projects"], "qa.projects"),
            team_labels=_names(tree["team_labels"], "qa.team_labels"),
            unpermitted_labels=_names(tree["unpermitted_labels"], "qa.unpermitted_labels"),
            community_label=str(tree["community_label"]),
        )


@dataclass(frozen=True)
class PublishSettings:
    """Which manual jobs of the omnibus tag pipelines publish a release."""

    project: str = "omnibus"
    stages: tuple[str, ...] = ()
    concurrency: int = 4

    @classmethod
    def from_tree(cls, tree: Mapping[str, Any]) -> PublishSettings:
        concurrency = _number(tree["concurrency"], whole=True) or 0
        if concurrency < 1:
            raise ConfigurationError("release_tools.publish.concurrency must be a whole number of at least 1")
        return cls(project=str(tree["project"]), stages=_names(tree["stages"], "publish.stages"), concurrency=concurrency)


@dataclass(frozen=True)
class HelmSettings:
    """Which files of the Helm chart a chart release updates, and from where."""

    subcharts_dir: str = "charts/gitlab/charts"
    subchart_app_versions: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_tree(cls, tree: Mapping[str, Any]) -> HelmSettings:
        sources = tree["subchart_app_versions"] or {}
        if not isinstance(sources, Mapping):
            raise ConfigurationError("release_tools.helm.subchart_app_versions must map subchart names to sources")
        return cls(
            subcharts_dir=str(tree["subcharts_dir"] or ""),
            subchart_app_versions={str(name): str(source) for name, source in sources.items() if source},
        )


@dataclass(frozen=True)
class UpstreamMergeSettings:
    """Where the CE-to-EE merge reads and pushes, and who answers for it by default."""

    remote: str = "gitlab"
    fallback_assignees: tuple[str, ...] = ()

    @classmethod
    def from_tree(cls, tree: Mapping[str, Any]) -> UpstreamMergeSettings:
        return cls(
            remote=str(tree["remote"]),
            fallback_assignees=_names(tree["fallback_assignees"], "upstream_merge.fallback_assignees"),
        )


@dataclass(frozen=True)
class CherryPickSettings:
    """Which projects `cherry_pick` picks into, and how it relabels what it picked."""

    projects: tuple[str, ...] = ("ce", "ee")
    picked_label: str = ""

    #: The projects with preparation branches (release_tools/preparation.py names them).
    PICKABLE = ("ce", "ee")

    @classmethod
    def from_tree(cls, tree: Mapping[str, Any]) -> CherryPickSettings:
        projects = _names(tree["projects"], "cherry_pick.projects")
        unknown = [name for name in projects if name not in cls.PICKABLE]
        if unknown:
            raise ConfigurationError(
                f"release_tools.cherry_pick.projects may name ce and ee only, not {', '.join(map(quote, unknown))}"
            )
        return cls(projects=tuple(dict.fromkeys(projects)), picked_label=str(tree["picked_label"] or "").strip())


@dataclass(frozen=True)
class Project:
    """A project the release touches: its API paths and git remotes."""

    key: str
    path: str
    dev_path: str
    remotes: tuple[tuple[str, str], ...]

    def remotes_for(self, security: bool) -> tuple[tuple[str, str], ...]:
        """Security releases use only the `dev` remote."""
        if security:
            return tuple((name, url) for name, url in self.remotes if name == "dev")
        return self.remotes


@dataclass(frozen=True)
class ChatOps:
    """How the ChatOps entrypoint routes commands and answers in chat."""

    security_channel: str = "security-release"
    trusted_relays: frozenset[str] = frozenset()
    reply_window: float = 1800
    #: Instance name -> the path or numeric id of the project ChatOps jobs run in.
    projects: Mapping[str, str] = field(default_factory=dict)

    def is_security_channel(self, channel: str | None) -> bool:
        """`#Security-Release` and `security-release` are the same channel."""
        wanted = self.security_channel.strip().lstrip("#").lower()
        return bool(wanted) and (channel or "").strip().lstrip("#").lower() == wanted

    def is_trusted_relay(self, username: str) -> bool:
        return username.lower() in self.trusted_relays


def wants_json(config: Any) -> bool:
    """Whether this run prints JSON: `release_tools.json`, or `RELEASE_TOOLS_JSON` set to a true value."""
    tree = config.get("release_tools") or {}
    if tree.get("json"):
        return True
    return (os.environ.get("RELEASE_TOOLS_JSON") or "").strip().lower() not in ("", "0", "false", "no")


def _is_interactive(environ: Mapping[str, str]) -> bool:
    """Standard input and output are a terminal, and this is not CI (nor a chat job)."""
    import sys

    if any(environ.get(name) for name in ("CI", "GITLAB_CI", "CHAT_CHANNEL")):
        return False
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def is_loopback(host: str | None) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1: this machine, where plain HTTP leaves no wire."""
    import ipaddress

    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_plain_http(name: str, url: str, insecure: Any) -> None:
    """Refuse an http:// instance URL to another machine, unless the instance sets
    `insecure_http: true`: the token travels in a header, which anyone on the way can read
    over plain HTTP. Loopback URLs (tests, a local sandbox) are fine.
    Raises ConfigurationError."""
    if not isinstance(insecure, bool):
        raise ConfigurationError(
            f"release_tools.instances.{_key(name)}.insecure_http must be true or false, not {quote(insecure)}"
        )
    parts = urlsplit(url)
    if parts.scheme == "http" and not insecure and not is_loopback(parts.hostname):
        raise ConfigurationError(
            f"release_tools.instances.{_key(name)}.url is plain http:// to {_key(parts.hostname)}, where anyone on "
            f"the way could read the API token: use https://, or set release_tools.instances.{_key(name)}.insecure_http: true"
        )


def _is_set(value: str | None) -> bool:
    """The original's test for TEST, SECURITY, FORCE, NO_MENTION: any non-blank value."""
    return bool(value and value.strip())


def _is_false(value: str | None) -> bool:
    """The original's skip switches: `CE=false`, `EE=false`, `OG=false`."""
    return (value or "").strip().lower() == "false"


@dataclass(frozen=True)
class Settings:
    """Everything a service needs to know about the deployment and this run."""

    instances: Mapping[str, Instance]
    projects: Mapping[str, Project]
    milestone_group: str
    labels: Mapping[str, str]
    release_managers_file: Path
    templates_dir: Path
    api_timeout: float = 30
    api_max_wait: float = 60
    chatops: ChatOps = ChatOps()
    dry_run: bool = False
    security: bool = False
    skip: frozenset[str] = frozenset()
    force: bool = False
    no_mention: bool = False
    verbose: bool = False
    #: How plans run (see release_tools/plan.py): JSON output, no question, or asking first.
    json: bool = False
    assume_yes: bool = False
    interactive: bool = False
    task: str = ""
    qa: QaSettings = field(default_factory=lambda: QaSettings.from_tree(DEFAULTS["qa"]))
    publish: PublishSettings = field(default_factory=lambda: PublishSettings.from_tree(DEFAULTS["publish"]))
    helm: HelmSettings = field(default_factory=lambda: HelmSettings.from_tree(DEFAULTS["helm"]))
    upstream_merge: UpstreamMergeSettings = field(
        default_factory=lambda: UpstreamMergeSettings.from_tree(DEFAULTS["upstream_merge"])
    )
    cherry_pick: CherryPickSettings = field(default_factory=lambda: CherryPickSettings.from_tree(DEFAULTS["cherry_pick"]))
    #: The CI job running this task (`CI_JOB_URL`), for messages that send people to its log.
    job_url: str = ""
    #: Instance name -> the group `release_managers.sync` keeps in line with the file, in sync order.
    release_manager_groups: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULTS["release_manager_groups"])
    )
    #: What "today" and "now" are: real, or set by `release_tools.date` / SOURCE_DATE_EPOCH.
    clock: Clock = Clock()
    _secrets: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    _masked: tuple[str, ...] = field(default=(), repr=False, compare=False)

    # -- construction -------------------------------------------------------------

    @classmethod
    def from_invoke(cls, context: Any, **flags: Any) -> Settings:
        """Build settings from an invoke Context plus the task's own flags.

        invoke's own dry run (`invoke -R`, `--dry`, `run.dry`) is a dry run of the task.
        """
        run = context.config.get("run") or {}
        if run.get("dry"):
            flags["dry_run"] = True
        # The task boundary (release_tools/cli.py) names the task being run here.
        flags.setdefault("task", (context.config.get(RUN_KEY) or {}).get("task", ""))
        return cls.from_mapping(context.config.get("release_tools", {}), environ=os.environ, **flags)

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, *, bot_tokens: bool = False, **flags: Any
    ) -> Settings:
        """Build settings outside invoke (the ChatOps entrypoint), from the same layers
        `invoke` reads: the shipped defaults, `/etc/invoke.yaml`, `~/.invoke.yaml`, this
        checkout's `invoke.yaml` and `INVOKE_RELEASE_TOOLS_*` variables.

        `environ` defaults to a copy of the process environment; it is never modified.
        With `bot_tokens`, the original's CI bot tokens (`RELEASE_BOT_PRODUCTION_TOKEN`,
        `RELEASE_BOT_DEV_TOKEN`) stand in for the instances' API tokens.
        Raises ConfigurationError for a malformed configuration or variable.
        """
        environ = process_environ() if environ is None else dict(environ)
        tree = invoke_tree(environ)
        if bot_tokens:
            environ = with_bot_tokens(environ, tree)
        return cls.from_mapping(tree, environ, **flags)

    @classmethod
    def from_mapping(
        cls,
        tree: Mapping[str, Any],
        environ: Mapping[str, str] | None = None,
        *,
        dry_run: bool = False,
        security: bool = False,
        skip: tuple[str, ...] = (),
        force: bool = False,
        no_mention: bool = False,
        verbose: bool = False,
        task: str = "",
    ) -> Settings:
        """Build settings from a `release_tools` tree (defaults filled in) and an environment.

        The original's switches keep working: `TEST`, `SECURITY`, `FORCE`, `NO_MENTION`
        (any non-blank value) and `CE=false`, `EE=false`, `OG=false`.
        Raises ConfigurationError for a malformed tree.
        """
        environ = dict(os.environ if environ is None else environ)
        merged = _merge(DEFAULTS, tree)
        try:
            instances = {
                name: Instance(name, str(value["url"]).rstrip("/"), str(value["token_variable"]))
                for name, value in merged["instances"].items()
            }
            projects = {
                key: Project(
                    key,
                    str(value["path"]),
                    str(value.get("dev_path") or ""),
                    # An empty URL removes a shipped remote (invoke merges mappings key by key).
                    tuple((str(name), str(url)) for name, url in (value.get("remotes") or {}).items() if url),
                )
                for key, value in merged["projects"].items()
            }
            qa = QaSettings.from_tree(merged["qa"])
            publish = PublishSettings.from_tree(merged["publish"])
            helm = HelmSettings.from_tree(merged["helm"])
            upstream_merge = UpstreamMergeSettings.from_tree(merged["upstream_merge"])
            cherry_pick = CherryPickSettings.from_tree(merged["cherry_pick"])
        except (KeyError, TypeError, AttributeError) as error:
            raise ConfigurationError(f"release_tools configuration is malformed near {error}") from None
        for required in ("production", "dev"):
            if required not in instances:
                raise ConfigurationError(f"release_tools.instances.{required} is missing from the configuration")
        for instance in instances.values():
            if urlsplit(instance.url).scheme not in ("http", "https") or not urlsplit(instance.url).netloc:
                raise ConfigurationError(
                    f"release_tools.instances.{instance.name}.url must be an http(s) URL such as "
                    f"https://gitlab.com (got {instance.url!r})"
                )
            check_plain_http(instance.name, instance.url, merged["instances"][instance.name].get("insecure_http", False))
        api_timeout = _seconds(merged["api"].get("timeout"), "api.timeout")
        clock = Clock.from_config(merged["date"], environ.get("SOURCE_DATE_EPOCH"))
        api_max_wait = _seconds(merged["api"].get("max_wait"), "api.max_wait")

        skipped = set(skip)
        for variable, key in (("CE", "ce"), ("EE", "ee"), ("OG", "omnibus")):
            if _is_false(environ.get(variable)):
                skipped.add(key)

        templates_dir = Path(merged["templates_dir"]) if merged["templates_dir"] else ROOT / "templates"
        if not templates_dir.is_dir():
            raise ConfigurationError(f"release_tools.templates_dir {quote_path(templates_dir)} is not a folder")
        secrets = _read_secrets(
            environ,
            Path(merged["env_file"]) if merged["env_file"] else None,
            {instance.token_variable for instance in instances.values()},
        )
        slack = merged["slack"]
        if slack.get("tag_url"):
            secrets.setdefault("SLACK_TAG_URL", slack["tag_url"])
        if slack.get("upstream_merge_url"):
            secrets.setdefault("SLACK_UPSTREAM_MERGE_URL", slack["upstream_merge_url"])
        if slack.get("chatops_url"):
            secrets.setdefault("SLACK_CHATOPS_URL", slack["chatops_url"])
        if slack.get("cherry_pick_url"):
            secrets.setdefault("SLACK_CHERRY_PICK_URL", slack["cherry_pick_url"])
        chatops = _chatops(merged["chatops"])
        groups = merged["release_manager_groups"]
        if not isinstance(groups, Mapping):
            raise ConfigurationError("release_tools.release_manager_groups must map instance names to group paths")
        for instance in groups:
            if groups[instance] and instance not in instances:
                raise ConfigurationError(
                    f"release_tools.release_manager_groups.{instance} names no instance of release_tools.instances"
                )
        release_managers_file = Path(merged["release_managers_file"])
        if not release_managers_file.is_absolute():
            release_managers_file = ROOT / release_managers_file

        # What output must mask: every secret, and a password in a URL even where it shows
        # without its URL. The task boundary hands these to the output layer.
        masked = [*secrets.values()]
        for credentials in [instance.credentials for instance in instances.values()] + [
            split_userinfo(url)[1] for url in [*secrets.values(), *(u for p in projects.values() for _, u in p.remotes)]
        ]:
            if credentials is not None:
                masked.append(credentials[1])
        masked += [value for name, value in environ.items() if name.startswith(REPLACED_PREFIX)]

        return cls(
            instances=instances,
            projects=projects,
            milestone_group=str(merged["milestone_group"]),
            labels=dict(merged["labels"]),
            release_managers_file=release_managers_file,
            templates_dir=templates_dir,
            api_timeout=api_timeout,
            api_max_wait=api_max_wait,
            chatops=chatops,
            dry_run=bool(dry_run or merged["dry_run"] or _is_set(environ.get("TEST"))),
            security=bool(security or merged["security"] or _is_set(environ.get("SECURITY"))),
            skip=frozenset(skipped),
            force=bool(force or _is_set(environ.get("FORCE"))),
            no_mention=bool(no_mention or _is_set(environ.get("NO_MENTION"))),
            verbose=bool(verbose),
            json=bool(merged["json"]),
            assume_yes=bool(merged["assume_yes"]),
            interactive=bool(merged["confirm"]) and _is_interactive(environ),
            task=str(task or ""),
            qa=qa,
            publish=publish,
            helm=helm,
            upstream_merge=upstream_merge,
            cherry_pick=cherry_pick,
            job_url=plain_url(environ.get("CI_JOB_URL")),
            release_manager_groups={str(k): str(v).strip("/") for k, v in groups.items() if v},
            clock=clock,
            _secrets=secrets,
            _masked=tuple(value for value in masked if value),
        )

    # -- accessors ------------------------------------------------------------------

    @property
    def run(self):
        """How plans run in this task: release_tools.plan.RunOptions."""
        from .plan import RunOptions

        return RunOptions(dry_run=self.dry_run, assume_yes=self.assume_yes, interactive=self.interactive, json=self.json)

    def secret_values(self) -> tuple[str, ...]:
        """Every secret this run knows (tokens, webhook URLs, passwords in URLs), for the
        output layer to mask."""
        return self._masked

    def project(self, key: str) -> Project:
        try:
            return self.projects[key]
        except KeyError:
            raise ConfigurationError(f"release_tools.projects.{key} is missing from the configuration") from None

    def instance(self, name: str) -> Instance:
        try:
            return self.instances[name]
        except KeyError:
            raise ConfigurationError(f"release_tools.instances.{name} is missing from the configuration") from None

    def has_token(self, instance: str) -> bool:
        """Whether the token of `instance` is set (a dry run without it makes no request)."""
        return bool(self._secrets.get(self.instance(instance).token_variable))

    def token(self, instance: str) -> str:
        """The API token for `instance`; raises MissingTokenError naming the variable."""
        variable = self.instance(instance).token_variable
        token = self._secrets.get(variable, "")
        if not token:
            raise MissingTokenError(
                f"{variable} is not set: export it or put it in the .env file "
                f"(needed to talk to {self.instance(instance).host})"
            )
        return token

    def secret(self, variable: str) -> str:
        """A webhook URL or token by variable name, or "" when unset."""
        return self._secrets.get(variable, "")

    def with_changes(self, **changes: Any) -> Settings:
        from dataclasses import replace

        return replace(self, **changes)


def _merge(defaults: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` onto `defaults` (invoke's own DataProxy objects included)."""
    result: dict[str, Any] = {}
    keys = list(defaults) + [key for key in override if key not in defaults]
    for key in keys:
        if key in override:
            value = override[key]
            if isinstance(defaults.get(key), Mapping) and isinstance(value, Mapping):
                result[key] = _merge(defaults[key], value)
            elif isinstance(value, Mapping):
                result[key] = {k: v for k, v in value.items()}
            else:
                result[key] = value
        else:
            value = defaults[key]
            result[key] = _merge(value, {}) if isinstance(value, Mapping) else value
    return result


def _read_secrets(environ: Mapping[str, str], env_file: Path | None, token_variables: set[str]) -> dict[str, str]:
    """Token variables from the environment, falling back to the env file.

    The env file is read without touching the process environment.
    """
    wanted = set(SECRET_VARIABLES) | token_variables
    secrets = {name: environ[name] for name in wanted if environ.get(name)}
    if env_file is not None and env_file.is_file() and not wanted <= set(secrets):
        from dotenv import dotenv_values

        for name, value in dotenv_values(env_file).items():
            if name in wanted and value and name not in secrets:
                secrets[name] = value
    return secrets


def _seconds(value: Any, where: str) -> float:
    """A positive number of seconds from configuration; raises ConfigurationError."""
    seconds = _number(value, whole=False) or 0
    if not seconds > 0:
        raise ConfigurationError(f"release_tools.{where} must be a number of seconds above 0 (got {quote(value)})")
    return float(seconds)


def _number(value: Any, *, whole: bool) -> int | float | None:
    """A number as YAML gives it, or as text of ASCII digits (`12`, or `1.5` unless `whole`);
    None for anything else: `１２`, `1_0`, `+3`, `1e3`, `inf`, `true`, all of which int() or
    float() would read."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if not whole and math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip(" \t")
        if re.fullmatch(r"[0-9]{1,9}" if whole else r"[0-9]{1,9}(?:\.[0-9]{1,9})?", text):
            return int(text) if whole else float(text)
    return None


def _chatops(tree: Mapping[str, Any]) -> ChatOps:
    relays = tree.get("trusted_relays") or ""
    if isinstance(relays, str):
        relays = relays.replace(",", " ").split()
    window = _seconds(tree.get("reply_window", 1800), "chatops.reply_window")
    projects = tree.get("projects") or {}
    if not isinstance(projects, Mapping):
        raise ConfigurationError("release_tools.chatops.projects must map instance names to a project path or id")
    for instance, project in projects.items():
        if project and not _CHAT_PROJECT.fullmatch(str(project).strip()):
            raise ConfigurationError(
                f"release_tools.chatops.projects.{instance} must be a project path such as "
                f"gitlab-org/release-tools or a numeric project id (got {str(project)!r})"
            )
    return ChatOps(
        security_channel=str(tree.get("security_channel") or ""),
        trusted_relays=frozenset(str(name).lower() for name in relays),
        reply_window=window,
        projects={str(name): str(project or "").strip() for name, project in projects.items()},
    )


#: A project's numeric id, or its full path (`group/subgroup/project`).
_CHAT_PROJECT = re.compile(r"[0-9]+|[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)+", re.ASCII)


def chat_projects_of_checkout(project_dir: Path = ROOT) -> Mapping[str, str]:
    """`release_tools.chatops.projects` as the shipped defaults and `project_dir/invoke.yaml`
    set it, and nothing else: whoever starts a pipeline can set variables (even of type
    File, for INVOKE_RUNTIME_CONFIG) and HOME, but not the files of the checkout.

    Raises ConfigurationError for an unreadable or malformed invoke.yaml.
    """
    from invoke import Config

    try:
        files = Config(project_location=str(project_dir), lazy=True)
        files.load_project()  # lazy: neither /etc nor ~ nor the environment is read
        tree = files.get("release_tools")
    except Exception as error:  # invoke raises YAML, JSON and OS errors as they come
        raise unreadable(error) from None
    check_layers(tree, {})
    return _chatops(_merge(DEFAULTS, tree or {})["chatops"]).projects


# -- the process environment and invoke's layers outside invoke ---------------------------


def process_environ() -> dict[str, str]:
    """A copy of the process environment: callers read and change the copy, never the original."""
    return dict(os.environ)


def with_bot_tokens(environ: Mapping[str, str], tree: Mapping[str, Any]) -> dict[str, str]:
    """A copy of `environ` where each instance's token variable takes the value of the
    original's bot token for it (`RELEASE_BOT_PRODUCTION_TOKEN` -> `GITLAB_API_PRIVATE_TOKEN`),
    when that one is set. `environ` itself is left alone.
    """
    mapped = dict(environ)
    instances = _merge(DEFAULTS, tree)["instances"]
    for name, instance in instances.items():
        bot_token = environ.get(BOT_TOKEN_VARIABLE.format(str(name).upper()), "")
        variable = str(instance["token_variable"])
        if bot_token.strip():
            # The value it replaces is a secret all the same: Settings masks it too.
            if environ.get(variable):
                mapped[REPLACED_PREFIX + variable] = environ[variable]
            mapped[variable] = bot_token
    return mapped


def check_layers(files_tree: Any, environ: Mapping[str, str] | None = None) -> None:
    """Check what invoke is about to merge onto the defaults, naming the culprit.

    `files_tree` is the `release_tools` part of invoke's configuration files (`/etc`,
    `~/.invoke.yaml`, the project's, `-f FILE`), before the defaults are merged in;
    `environ` (the process environment by default) holds `INVOKE_RELEASE_TOOLS_*`.
    invoke itself reports a value where a mapping belongs (or the reverse), and a
    variable that does not fit its key's type, as a traceback that names neither; and it
    takes a key or a variable that names no setting (a typo) without a word.
    Raises ConfigurationError.
    """
    environ = os.environ if environ is None else environ
    if files_tree is None:
        files_tree = {}
    if not isinstance(files_tree, Mapping):
        raise ConfigurationError(f"release_tools must be a mapping of settings, not {quote(files_tree)}")
    _check_keys(files_tree, DEFAULTS, ())
    tree = _merge(DEFAULTS, files_tree)
    _check_variables(tree, environ)
    _apply_variables(tree, environ, "INVOKE_RELEASE_TOOLS")


#: Mappings whose keys the deployment names (its instances, projects, remotes, subcharts,
#: groups, chat projects per instance), by their path under `release_tools` (`*`: any key).
#: Any key is accepted there; an entry of `instances` or `projects` has the keys every
#: shipped entry has, others are a single value each.
OPEN_MAPPINGS = (("instances",), ("projects",), ("projects", "*", "remotes"), ("helm", "subchart_app_versions"),
                 ("release_manager_groups",), ("chatops", "projects"))


def _entry_template(path: tuple[str, ...]) -> Any:
    """What an entry of the open mapping at `path` holds: the keys of every shipped entry
    (instances, projects), or None for a single value."""
    if path in (("instances",), ("projects",)):
        template: dict[str, Any] = {}
        for entry in DEFAULTS[path[0]].values():
            template.update(entry)
        return template
    return None


def _is_open(path: tuple[str, ...]) -> bool:
    return any(len(path) == len(open_path) and all(o in ("*", p) for o, p in zip(open_path, path))
               for open_path in OPEN_MAPPINGS)


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(("release_tools", *map(_key, path)))


def _key(name: object) -> str:
    """A key or variable name as messages show it: as it is when it is a plain name, else
    `quote`d (a key from a file can hold anything, a newline included)."""
    text = str(name)
    return text if re.fullmatch(r"[A-Za-z0-9_.:-]{1,80}", text, re.ASCII) else quote(text)


def _check_keys(tree: Mapping[str, Any], defaults: Mapping[str, Any], path: tuple[str, ...]) -> None:
    """Every key of `tree` is a setting, and each value has the shape of its default."""
    for key, value in tree.items():
        where = (*path, str(key))
        if _is_open(path):
            default = _entry_template(path)
            if isinstance(default, Mapping) and isinstance(defaults.get(key), Mapping):
                default = {**default, **defaults[key]}
        elif key in defaults:
            default = defaults[key]
        else:
            raise ConfigurationError(_unknown(str(key), list(defaults), _dotted(path), "."))
        if isinstance(default, Mapping) and isinstance(value, Mapping):
            _check_keys(value, default, where)
        elif isinstance(default, Mapping):
            raise ConfigurationError(f"{_dotted(where)} must be a mapping of settings, not {quote(value)}")
        elif isinstance(value, Mapping):
            raise ConfigurationError(f"{_dotted(where)} must be a single value or a list, not {quote(dict(value))}")


def _unknown(name: str, known: list[str], parent: str, separator: str) -> str:
    """`release_tools.projets is not a setting; did you mean release_tools.projects?`"""
    import difflib

    known = sorted(str(k) for k in known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    text = f"{parent}{separator}{_key(name)} is not a setting"
    if close:
        return f"{text}; did you mean {parent}{separator}{close[0]}?"
    if known and len(known) <= 8:
        return f"{text} (those of {parent}: {', '.join(known)})"
    return f"{text} (see Configuration in README.md)"


def _variables(tree: Mapping[str, Any], prefix: str) -> tuple[list[str], set[str]]:
    """The variables invoke maps onto the leaves of `tree` (in its order), and those naming
    its mappings."""
    leaves: list[str] = []
    groups: set[str] = set()
    for key, value in tree.items():
        variable = f"{prefix}_{str(key).upper()}"
        if isinstance(value, Mapping):
            groups.add(variable)
            inner_leaves, inner_groups = _variables(value, variable)
            leaves += inner_leaves
            groups |= inner_groups
        else:
            leaves.append(variable)
    return leaves, groups


def _check_variables(tree: Mapping[str, Any], environ: Mapping[str, str]) -> None:
    """Every `INVOKE_RELEASE_TOOLS_*` variable names a setting of `tree` (defaults and files
    merged): invoke would ignore any other. Raises ConfigurationError."""
    prefix = "INVOKE_RELEASE_TOOLS"
    leaves, groups = _variables(tree, prefix)
    for variable in sorted(environ):
        if not variable.startswith(prefix + "_") or variable in leaves:
            continue
        if variable in groups:
            example = next(leaf for leaf in leaves if leaf.startswith(variable + "_"))
            raise ConfigurationError(
                f"{_key(variable)} names a group of settings, not one: set each setting's own variable, such as {example}"
            )
        names = [leaf[len(prefix) + 1 :] for leaf in leaves]
        raise ConfigurationError(_unknown(variable[len(prefix) + 1 :], names, prefix, "_"))


# -- configuration files invoke cannot read -------------------------------------------


def file_error(path: str, error: BaseException, *, merging: bool = False) -> ConfigurationError:
    """The one line that says why invoke could not read or merge the configuration file at
    `path` (`merging`: its content is not a mapping)."""
    import json

    import yaml
    from invoke.util import yaml as invokes_yaml  # invoke may read files with a copy of its own

    where = f"configuration file {quote_path(path)}"
    if merging:
        return ConfigurationError(f"{where} must hold a mapping of settings (such as `release_tools:`), not a single value or a list")
    if isinstance(error, (yaml.MarkedYAMLError, invokes_yaml.MarkedYAMLError)):
        mark = error.problem_mark or error.context_mark
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        return ConfigurationError(f"{where} is not valid YAML: {one_line(str(error.problem or error.context))}{at}")
    if isinstance(error, json.JSONDecodeError):
        return ConfigurationError(f"{where} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})")
    if isinstance(error, FileNotFoundError):
        return ConfigurationError(f"{where} does not exist")
    if isinstance(error, OSError):
        return ConfigurationError(f"{where} cannot be read: {error.strerror or error}")
    first = one_line((str(error).strip().splitlines() or [""])[0])
    if type(error).__name__ == "UnknownFileType":
        return ConfigurationError(f"{where} cannot be read: invoke reads only .yaml, .yml, .json and .py files")
    return ConfigurationError(f"{where} cannot be read: {type(error).__name__}: {first}")


def config_file_error(error: BaseException, traceback: Any) -> ConfigurationError | None:
    """`file_error()` for an exception that invoke raised while it loaded (or merged) one of
    its configuration files, found by walking `traceback` to invoke's own frames; None for
    any other exception."""
    from invoke.config import Config

    found = None
    while traceback is not None:
        frame = traceback.tb_frame
        if frame.f_code is Config._load_file.__code__ and "filepath" in frame.f_locals:
            found = file_error(frame.f_locals["filepath"], error)
        elif frame.f_code is Config._merge_file.__code__ and frame.f_locals.get("path"):
            found = file_error(frame.f_locals["path"], error, merging=True)
        traceback = traceback.tb_next
    return found


def unreadable(error: Exception) -> ConfigurationError:
    """The one line for an exception invoke raised while reading its configuration files:
    `config_file_error()`, naming the file, or (for anything else) the kind of error."""
    found = config_file_error(error, error.__traceback__)
    return found or ConfigurationError(f"invoke configuration cannot be read: {type(error).__name__}")


def check_runtime_file(given: str | None, environ: Mapping[str, str] | None = None) -> None:
    """Refuse a runtime configuration file (`invoke -f FILE`, else `INVOKE_RUNTIME_CONFIG`)
    that does not exist: invoke would go on without it, on the shipped defaults, which
    point at gitlab.com. Raises ConfigurationError."""
    environ = os.environ if environ is None else environ
    source = "given with -f" if given else "named by INVOKE_RUNTIME_CONFIG"
    path = given or environ.get("INVOKE_RUNTIME_CONFIG") or ""
    if path and not os.path.exists(os.path.expanduser(path)):
        raise ConfigurationError(f"configuration file {quote_path(path)} ({source}) does not exist")


def invoke_tree(environ: Mapping[str, str], project_dir: Path = ROOT) -> dict[str, Any]:
    """The `release_tools` tree as `invoke` run in `project_dir` would see it.

    Layers, lowest first: the shipped defaults, `/etc/invoke.yaml`, `~/.invoke.yaml` (HOME
    taken from `environ`), `project_dir/invoke.yaml`, `INVOKE_RELEASE_TOOLS_<PATH>`
    variables from `environ` (cast like invoke casts them), then the runtime file named by
    `INVOKE_RUNTIME_CONFIG` (what `invoke -f FILE` reads), which must exist when named.
    Raises ConfigurationError for an unreadable file, an unknown key or variable, or an
    uncastable variable.
    """
    from invoke import Config

    home = environ.get("HOME")
    runtime_path = environ.get("INVOKE_RUNTIME_CONFIG") or None
    check_runtime_file(None, environ)
    try:
        files = Config(
            project_location=str(project_dir),
            user_prefix=os.path.join(home, ".") if home else None,
            lazy=True,
        )
        files.load_base_conf_files()
        files.load_project(merge=False)
        files.merge()
        files_tree = files.get("release_tools")
        # The runtime file outranks the variables, so it is read on its own and laid on top.
        runtime = Config(runtime_path=runtime_path, lazy=True)
        runtime.load_runtime()
        runtime_tree = runtime.get("release_tools")
    except Exception as error:  # invoke raises YAML, JSON and OS errors as they come
        raise unreadable(error) from None
    for layer in (files_tree, runtime_tree):
        check_layers(layer, {})
    tree = _merge(DEFAULTS, files_tree or {})
    _check_variables(_merge(tree, runtime_tree or {}), environ)
    _apply_variables(tree, environ, "INVOKE_RELEASE_TOOLS")
    return _merge(tree, runtime_tree or {})


def _apply_variables(tree: dict[str, Any], environ: Mapping[str, str], prefix: str) -> None:
    """Override existing leaves of `tree` from `<PREFIX>_<KEY>_<KEY>` variables, in place."""
    for key, value in tree.items():
        variable = f"{prefix}_{str(key).upper()}"
        if isinstance(value, dict):
            _apply_variables(value, environ, variable)
        elif variable in environ:
            tree[key] = _cast(value, environ[variable], variable)


def _cast(old: Any, new: str, variable: str) -> Any:
    """invoke's rules: booleans are false only for `0` and ``, other types keep their type."""
    if isinstance(old, bool):
        return new not in ("0", "")
    if old is None or isinstance(old, str):
        return new
    if isinstance(old, (list, tuple)):
        raise ConfigurationError(f"{variable} cannot be set from the environment (it is a list)")
    kind = {int: "a whole number", float: "a number"}.get(type(old), f"of type {type(old).__name__}")
    if isinstance(old, (int, float)):
        number = _number(new, whole=isinstance(old, int))
        if number is None:
            raise ConfigurationError(f"{variable} must be {kind}, not {quote(new)}")
        return number
    try:
        return type(old)(new)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{variable} must be {kind}, not {quote(new)}") from None
