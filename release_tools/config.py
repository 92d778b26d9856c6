"""Configuration: invoke's own Config and its layers, checked so that a setting that cannot
work is one line naming the file, key or variable.

Every deployment-specific value lives under one `release_tools` key. The layers, lowest
first, are invoke's: the collection's (the shipped defaults, release_tools/defaults.py),
`/etc/invoke.yaml`, `~/.invoke.yaml`, the project's `invoke.yaml`, `INVOKE_RELEASE_TOOLS_<PATH>`
variables (e.g. `INVOKE_RELEASE_TOOLS_INSTANCES_DEV_URL`), and the runtime file (`-f FILE`,
`INVOKE_RUNTIME_CONFIG`). invoke loads, casts and merges them; this module checks each file
layer before it is merged and the variables as they are cast, since invoke would take a
misspelt key without a word and answer a bad value with a traceback.

`release_tools.settings` turns the merged tree into the frozen Settings; its names are
importable from here too, for the code that always has.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from invoke import Config
from invoke.config import AmbiguousMergeError, copy_dict, merge_dicts
from invoke.env import Environment
from invoke.exceptions import AmbiguousEnvVar, UncastableEnvVar

from .defaults import DEFAULTS
from .errors import ConfigurationError, NotAuthorizedError, one_line, quote, quote_path, yaml_problem
from .settings import (  # noqa: F401 - the names code imported from here before the split
    BOT_TOKEN_VARIABLE,
    REPLACED_PREFIX,
    ROOT,
    RUN_KEY,
    SECRET_VARIABLES,
    ChatOps,
    HelmSettings,
    Instance,
    Project,
    PublishSettings,
    QaSettings,
    Settings,
    UpstreamMergeSettings,
    _chatops,
    _key,
    _number,
    basic_authorization,
    check_plain_http,
    is_ci,
    is_loopback,
    plain,
    process_environ,
    project_folder,
    split_userinfo,
    wants_json,
    with_bot_tokens,
    with_defaults,
)


class ReleaseConfig(Config):
    """invoke's Config as release-tools uses it: task names keep their underscores, the
    executor checks the layers before running a task, and variables come from a given
    environment (the process's by default), each refused in one line naming it."""

    @staticmethod
    def global_defaults() -> dict[str, Any]:
        defaults = Config.global_defaults()
        defaults["tasks"]["auto_dash_names"] = False
        defaults["tasks"]["executor_class"] = "release_tools.cli.ReleaseExecutor"
        return defaults

    def __init__(self, *args: Any, environ: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        self._set(_environ=os.environ if environ is None else environ)
        super().__init__(*args, **kwargs)

    def _clone_init_kwargs(self, into: Any = None) -> dict[str, Any]:
        kwargs = super()._clone_init_kwargs(into=into)
        if into is None or issubclass(into, ReleaseConfig):
            kwargs["environ"] = self._environ
        return kwargs

    def load_shell_env(self) -> None:
        """invoke's own, from `environ`: see Variables."""
        self.merge()
        self._set(_env=Variables(self._config, self._env_prefix, self._environ).load())
        self.merge()


class Variables(Environment):
    """invoke's loader of `INVOKE_*` variables (its names, its casts), reading `environ`;
    what it would ignore or answer with a traceback is a ConfigurationError naming the
    variable: a variable under `INVOKE_RELEASE_TOOLS_` that names no setting, one that
    names a group of settings, a list, a number that is not plain ASCII digits."""

    def __init__(self, config: Any, prefix: str, environ: Mapping[str, str]) -> None:
        super().__init__(config=config, prefix=prefix)
        self._environ = environ

    def load(self) -> dict[str, Any]:
        try:
            known = self._crawl(key_path=[], env_vars={})
        except AmbiguousEnvVar as error:  # "Found >1 source for RELEASE_TOOLS_..."
            variable = self._prefix + str(error).rpartition(" ")[2]
            raise ConfigurationError(
                f"{_key(variable)} would set two settings whose names differ only in underscores: rename one of them"
            ) from None
        _check_names(known, self._environ, self._prefix)
        for variable, key_path in known.items():
            name = self._prefix + variable
            if name in self._environ:
                self._cast_from(name, key_path, self._environ[name])
        return self.data

    def _cast_from(self, name: str, key_path: list[str], value: str) -> None:
        old = self._path_get(key_path)
        if isinstance(old, (int, float)) and not isinstance(old, bool):
            # int() and float() read `１２`, `1_0`, `1e3`, `inf` too.
            if _number(value, whole=isinstance(old, int)) is None:
                raise ConfigurationError(f"{name} must be {'a whole number' if isinstance(old, int) else 'a number'}, not {quote(value)}")
        try:
            self._path_set(key_path, value)
        except UncastableEnvVar:
            raise ConfigurationError(f"{name} cannot be set from the environment (it is a list)") from None
        except (TypeError, ValueError):
            raise ConfigurationError(f"{name} must be of type {type(old).__name__}, not {quote(value)}") from None


def _check_names(known: Mapping[str, list[str]], environ: Mapping[str, str], prefix: str) -> None:
    """Every `INVOKE_RELEASE_TOOLS_*` variable in `environ` is one of those invoke maps onto
    a setting (`known`, by invoke's crawl: variable -> key path); invoke ignores any other.
    Raises ConfigurationError."""
    ours = f"{prefix}RELEASE_TOOLS"
    paths = [path for path in known.values() if path[0] == "release_tools"]
    leaves = [prefix + "_".join(path).upper() for path in paths]
    groups = {prefix + "_".join(path[:depth]).upper() for path in paths for depth in range(2, len(path))}
    for variable in sorted(environ):
        if not variable.startswith(ours + "_") or variable in leaves:
            continue
        if variable in groups:
            example = next(leaf for leaf in leaves if leaf.startswith(variable + "_"))
            raise ConfigurationError(
                f"{_key(variable)} names a group of settings, not one: set each setting's own variable, such as {example}"
            )
        names = [leaf[len(ours) + 1 :] for leaf in leaves]
        raise ConfigurationError(_unknown(variable[len(ours) + 1 :], names, ours, "_"))


# -- loading the layers -------------------------------------------------------------------


def collection_layer() -> dict[str, Any]:
    """What the task collection configures: `ns.configuration()`, the shipped defaults."""
    from .cli import ns

    return ns.configuration()


def load(environ: Mapping[str, str], project_dir: Path | None = None) -> ReleaseConfig:
    """invoke's Config as `invoke` run in `project_dir` (default: `project_folder()`) would
    build it for a task, every layer read, checked and merged.

    Layers, lowest first: the collection's (the shipped defaults), `/etc/invoke.yaml`,
    `~/.invoke.yaml` (HOME taken from `environ`), `project_dir/invoke.yaml`,
    `INVOKE_*` variables from `environ`, then the runtime file named by
    `INVOKE_RUNTIME_CONFIG` (what `invoke -f FILE` reads), which must exist when named.
    Raises ConfigurationError for an unreadable file, an unknown key or variable, or a
    variable invoke cannot cast.
    """
    check_runtime_file(None, environ)
    home = environ.get("HOME")
    config = ReleaseConfig(
        environ=environ,
        project_location=str(project_folder() if project_dir is None else project_dir),
        user_prefix=os.path.join(home, ".") if home else None,
        runtime_path=environ.get("INVOKE_RUNTIME_CONFIG") or None,
        lazy=True,
    )
    load_files(config, "system", "user", "project", "runtime")
    config.load_collection(collection_layer(), merge=False)
    config.load_shell_env()
    return config


def invoke_tree(environ: Mapping[str, str], project_dir: Path | None = None) -> dict[str, Any]:
    """The merged `release_tools` tree of `load(environ, project_dir)`, as plain dicts."""
    return plain(load(environ, project_dir)["release_tools"])


def load_files(config: Config, *layers: str) -> None:
    """Load the configuration files of `layers` (`system`, `user`, `project`, `runtime`)
    into `config`, check each one's `release_tools` tree, then merge.
    Raises ConfigurationError naming the file and the key."""
    for layer in layers:
        try:
            getattr(config, f"load_{layer}")(merge=False)
        except Exception as error:  # invoke raises YAML, JSON and OS errors as they come
            raise unreadable(error) from None
        data, path = getattr(config, f"_{layer}"), getattr(config, f"_{layer}_path")
        if data is None:  # an empty file
            config._set(f"_{layer}", {})
        elif not isinstance(data, dict):
            raise file_error(path, ValueError(), merging=True)
        else:
            _check_invoke_shapes(data, config._defaults, path)
            check_layers(data.get("release_tools"), {})
    try:
        config.merge()
    except AmbiguousMergeError as error:  # outside `release_tools`, e.g. `run: 1`
        raise ConfigurationError(f"configuration files disagree: {one_line(str(error))}") from None


def _check_invoke_shapes(data: Mapping[str, Any], defaults: Mapping[str, Any], path: str) -> None:
    """invoke's own sections of a configuration file (`run`, `tasks`, ...) have the shape
    of invoke's defaults: a mapping where they hold one, else a value."""
    for key, value in data.items():
        if key == "release_tools" or key not in defaults:
            continue
        if isinstance(defaults[key], dict) != isinstance(value, dict):
            shape = "a mapping of settings" if isinstance(defaults[key], dict) else "a single value"
            raise ConfigurationError(f"configuration file {quote_path(path)}: {_key(key)} must be {shape}, not {quote(value)}")


def chat_projects_of_checkout(project_dir: Path | None = None) -> Mapping[str, str]:
    """`release_tools.chatops.projects` as the shipped defaults and the project's own
    `invoke.yaml` (in `project_dir`, default `project_folder()`: this checkout, or the
    working directory of an installed run) set it, and nothing else: whoever starts a
    pipeline can set variables (even of type File, for INVOKE_RUNTIME_CONFIG) and HOME,
    but not the files of the checkout.

    Raises ConfigurationError for an unreadable or malformed invoke.yaml.
    """
    return _chatops(_tree_of_checkout(project_dir)["chatops"]).projects


def instance_urls_of_checkout(project_dir: Path | None = None) -> Mapping[str, str]:
    """Each instance's URL (without userinfo or a trailing slash) as the shipped defaults
    and the project's own `invoke.yaml` set it, and nothing else (see
    `chat_projects_of_checkout`): where a chat job may send the bot's tokens.

    Raises ConfigurationError for an unreadable or malformed invoke.yaml.
    """
    return {
        name: split_userinfo(str(value.get("url", "")))[0].rstrip("/")
        for name, value in _tree_of_checkout(project_dir)["instances"].items()
        if isinstance(value, Mapping)
    }


def check_instance_urls(settings: Settings, environ: Mapping[str, str]) -> None:
    """In CI, check before any request that every instance is where this checkout says it is.

    A CI job (a chat job, a scheduled task) sends its tokens to the configured instances,
    and a chat job reads there who it runs for. Whoever starts a pipeline with variables
    could point an instance (and CI_API_V4_URL with it) at a server of theirs, which would
    answer for GitLab and receive the tokens. So an instance URL that anything but the
    shipped defaults and the checkout's invoke.yaml sets (a variable, ~/.invoke.yaml,
    INVOKE_RUNTIME_CONFIG) is refused, unless it is this machine (loopback: a local
    sandbox or the tests), which no pipeline variable can turn into someone else's server.

    Outside CI, whoever runs the command chose its configuration. Raises NotAuthorizedError.
    """
    if not is_ci(environ):
        return
    trusted = instance_urls_of_checkout()
    for name, instance in settings.instances.items():
        if instance.url.lower() == trusted.get(name, "").lower() or is_loopback(urlsplit(instance.url).hostname):
            continue
        raise NotAuthorizedError(
            f"Refusing to run: release_tools.instances.{_key(name)}.url is {quote(instance.url)}, set by a variable, "
            "~/.invoke.yaml or INVOKE_RUNTIME_CONFIG, which whoever starts a pipeline can set; "
            "set it in this checkout's invoke.yaml"
        )


def _tree_of_checkout(project_dir: Path | None) -> dict[str, Any]:
    files = ReleaseConfig(
        environ={}, defaults={}, project_location=str(project_folder() if project_dir is None else project_dir), lazy=True
    )
    load_files(files, "project")  # neither /etc nor ~ nor the environment is read
    return with_defaults(files.get("release_tools") or {})


# -- checking what is merged --------------------------------------------------------------


def check_layers(files_tree: Any, environ: Mapping[str, str] | None = None) -> None:
    """Check what invoke is about to merge onto the defaults, naming the culprit.

    `files_tree` is the `release_tools` part of invoke's configuration files (`/etc`,
    `~/.invoke.yaml`, the project's, `-f FILE`), before the defaults are merged in;
    `environ` (the process environment by default) holds `INVOKE_RELEASE_TOOLS_*`, which
    are cast the way invoke is about to cast them (see Variables).
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
    # What invoke's executor does next (see ReleaseConfig.load_shell_env), on a scratch copy.
    scratch = ReleaseConfig(environ=environ, lazy=True)
    scratch.load_collection({"release_tools": merge_dicts(copy_dict(DEFAULTS), plain(files_tree))})
    scratch.load_shell_env()


def check_shapes(tree: Any) -> None:
    """A `release_tools` tree has a mapping wherever the defaults have one, and a single
    value (or list) wherever they have one. Raises ConfigurationError."""
    if not isinstance(tree, Mapping) and not hasattr(tree, "_config"):
        raise ConfigurationError(f"release_tools configuration is malformed: it must be a mapping, not {quote(tree)}")
    try:
        _check_keys(plain(tree), DEFAULTS, (), known_only=False)
    except ConfigurationError as error:
        raise ConfigurationError(f"release_tools configuration is malformed: {error}") from None


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


def _check_keys(tree: Mapping[str, Any], defaults: Mapping[str, Any], path: tuple[str, ...], *,
                known_only: bool = True) -> None:
    """Each value of `tree` has the shape of its default, and (`known_only`) every key is a setting."""
    for key, value in tree.items():
        where = (*path, str(key))
        if _is_open(path):
            default = _entry_template(path)
            if isinstance(default, Mapping) and isinstance(defaults.get(key), Mapping):
                default = {**default, **defaults[key]}
        elif key in defaults:
            default = defaults[key]
        elif known_only:
            raise ConfigurationError(_unknown(str(key), list(defaults), _dotted(path), "."))
        else:
            continue
        if isinstance(default, Mapping) and isinstance(value, Mapping):
            _check_keys(value, default, where, known_only=known_only)
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
        return ConfigurationError(f"{where} is not valid YAML: {yaml_problem(error)}")
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


