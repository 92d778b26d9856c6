"""Settings: the validated, frozen view of the `release_tools` configuration tree, the
tokens and the original's switches, that every service reads.

The tree comes from invoke's own configuration (release_tools/config.py loads and checks
its layers); tokens are never configuration: they come from the environment or a `.env`
file only.
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
from .defaults import DEFAULTS
from .errors import ConfigurationError, MissingTokenError, plain_url, quote, quote_path

#: The folder holding the `release_tools` package: this project's checkout when it is run
#: from one (tasks.py beside it), else site-packages.
ROOT = Path(__file__).resolve().parent.parent

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
        """What messages call the instance: `gitlab.com`, `127.0.0.1:8080`, or with the
        relative URL it is installed under, `127.0.0.1:8080/dev.gitlab.org` (the sandbox
        serves both instances on one port)."""
        parts = urlsplit(self.url)
        return (parts.netloc.rpartition("@")[2] + parts.path.rstrip("/")) or self.url

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


#: Variables GitLab sets in every CI job. If any of them is present, even empty, this is CI
#: (a pipeline variable can override a value but cannot remove a variable).
CI_MARKERS = ("CI", "GITLAB_CI", "CI_JOB_ID", "CI_JOB_TOKEN", "CI_PIPELINE_ID", "CI_SERVER_URL")


def is_ci(environ: Mapping[str, str]) -> bool:
    return any(marker in environ for marker in CI_MARKERS)


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
    #: None: the templates shipped in the package.
    templates_dir: Path | None = None
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
    def from_invoke(cls, context: Any, environ: Mapping[str, str] | None = None, **flags: Any) -> Settings:
        """Build settings from an invoke Context plus the task's own flags, reading tokens
        and switches from `environ` (the process environment by default; ChatOps hands
        over the job's, with its bot tokens).

        invoke's own dry run (`invoke -R`, `--dry`, `run.dry`) is a dry run of the task.
        """
        run = context.config.get("run") or {}
        if run.get("dry"):
            flags["dry_run"] = True
        # The task boundary (release_tools/cli.py) names the task being run here.
        flags.setdefault("task", (context.config.get(RUN_KEY) or {}).get("task", ""))
        # Relative paths are relative to the folder invoke read the project's invoke.yaml from.
        prefix = getattr(context.config, "_project_prefix", None)
        flags.setdefault("project_dir", Path(prefix) if prefix else None)
        environ = os.environ if environ is None else environ
        return cls.from_mapping(context.config.get("release_tools", {}), environ=environ, **flags)

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, *, bot_tokens: bool = False, **flags: Any
    ) -> Settings:
        """Build settings outside invoke (the ChatOps entrypoint), from the same layers of
        invoke's Config that `invoke` reads (see `release_tools.config.invoke_tree`).

        `environ` defaults to a copy of the process environment; it is never modified.
        With `bot_tokens` (a ChatOps job), the original's CI bot tokens
        (`RELEASE_BOT_PRODUCTION_TOKEN`, `RELEASE_BOT_DEV_TOKEN`) stand in for the instances'
        API tokens, and the release managers file must not be the shipped example.
        Raises ConfigurationError for a malformed configuration or variable.
        """
        from .config import invoke_tree

        environ = process_environ() if environ is None else dict(environ)
        tree = invoke_tree(environ)
        if bot_tokens:
            environ = with_bot_tokens(environ, tree)
        settings = cls.from_mapping(tree, environ, **flags)
        if bot_tokens:
            check_not_example(settings.release_managers_file)
        return settings

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
        project_dir: Path | None = None,
    ) -> Settings:
        """Build settings from a `release_tools` tree (defaults filled in) and an environment.

        The original's switches keep working: `TEST`, `SECURITY`, `FORCE`, `NO_MENTION`
        (any non-blank value) and `CE=false`, `EE=false`, `OG=false`. Relative paths of the
        tree are relative to `project_dir` (default: `project_folder()`).
        Raises ConfigurationError for a malformed tree.
        """
        environ = dict(os.environ if environ is None else environ)
        merged = with_defaults(tree)
        project_dir = project_folder() if project_dir is None else project_dir
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

        # Empty: the templates shipped in the package (templates.py loads them as package data).
        templates_dir = project_dir / str(merged["templates_dir"]) if merged["templates_dir"] else None
        if templates_dir is not None and not templates_dir.is_dir():
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
        release_managers_file = project_dir / str(merged["release_managers_file"])

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

    def pick_label(self, minor: str) -> str:
        """`Pick into 11.1`: the label `release_tools.labels.pick_into` names for a minor
        version, the one the preparation, `cherry_pick` and `status` all look for."""
        return str(self.labels["pick_into"]).replace("{minor}", minor)

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


def project_folder() -> Path:
    """Where relative paths of the configuration point, and whose `invoke.yaml` is the
    project's: this checkout when release_tools runs from one (`invoke` or an editable
    install), else (an installed `release-tools`) the working directory."""
    if (ROOT / "tasks.py").is_file() and (ROOT / "invoke.yaml").is_file():
        return ROOT
    return Path.cwd()


def with_defaults(tree: Mapping[str, Any]) -> dict[str, Any]:
    """`tree` laid over the shipped defaults, as plain dicts, by invoke's own merge.

    Raises ConfigurationError naming the key where a single value meets a mapping."""
    from invoke.config import copy_dict, merge_dicts

    from .config import check_shapes

    check_shapes(tree)
    return merge_dicts(copy_dict(DEFAULTS), plain(tree))


def plain(value: Any) -> Any:
    """A copy of `value` with every mapping (invoke's DataProxy included) a plain dict."""
    if isinstance(value, Mapping) or hasattr(value, "_config"):
        return {key: plain(value[key]) for key in value}
    return value


#: The release managers file shipped as an example (fictional people), as package data.
EXAMPLE_RELEASE_MANAGERS = "examples/release_managers.yml"


def example_release_managers() -> Path:
    """The shipped example release managers file (package data)."""
    from importlib.resources import files

    return Path(str(files("release_tools") / EXAMPLE_RELEASE_MANAGERS))


def check_not_example(path: Path) -> None:
    """Refuse, for a ChatOps job, a release managers file that lists any of the shipped
    example's fictional people: their usernames may belong to anyone on GitLab.
    A file that cannot be read is left to whoever reads it (it is then one line there).
    Raises ConfigurationError."""
    from . import release_managers
    from .errors import ReleaseToolsError

    try:
        example = release_managers.load(example_release_managers())
        managers = release_managers.load(path)
    except ReleaseToolsError:
        return
    for instance in ("production", "dev"):
        shipped = {name.lower() for name in example.usernames(instance)}
        listed = sorted(name for name in managers.usernames(instance) if name.lower() in shipped)
        if listed:
            raise ConfigurationError(
                f"release managers file {quote_path(path)} lists {listed[0]}, one of the shipped example's "
                "fictional people: ChatOps authorizes no one from it; list your release managers there "
                "or set release_tools.release_managers_file"
            )


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


# -- the process environment ---------------------------------------------------------------


def process_environ() -> dict[str, str]:
    """A copy of the process environment: callers read and change the copy, never the original."""
    return dict(os.environ)


def with_bot_tokens(environ: Mapping[str, str], tree: Mapping[str, Any]) -> dict[str, str]:
    """A copy of `environ` where each instance's token variable takes the value of the
    original's bot token for it (`RELEASE_BOT_PRODUCTION_TOKEN` -> `GITLAB_API_PRIVATE_TOKEN`),
    when that one is set. `environ` itself is left alone.
    """
    mapped = dict(environ)
    instances = with_defaults(tree)["instances"]
    for name, instance in instances.items():
        bot_token = environ.get(BOT_TOKEN_VARIABLE.format(str(name).upper()), "")
        variable = str(instance["token_variable"])
        if bot_token.strip():
            # The value it replaces is a secret all the same: Settings masks it too.
            if environ.get(variable):
                mapped[REPLACED_PREFIX + variable] = environ[variable]
            mapped[variable] = bot_token
    return mapped


def _key(name: object) -> str:
    """A key or variable name as messages show it: as it is when it is a plain name, else
    `quote`d (a key from a file can hold anything, a newline included)."""
    text = str(name)
    return text if re.fullmatch(r"[A-Za-z0-9_.:-]{1,80}", text, re.ASCII) else quote(text)
