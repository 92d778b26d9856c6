"""Settings built outside invoke (the ChatOps entrypoint): the same configuration layers as
`invoke`, read from a given environment, and the original's CI bot tokens."""

from __future__ import annotations

import os

import pytest

from release_tools.config import ROOT, Settings, invoke_tree, load, with_bot_tokens
from release_tools.errors import ConfigurationError


#: No `.env` from the working directory sneaks in.
NO_ENV_FILE = {"INVOKE_RELEASE_TOOLS_ENV_FILE": ""}
NO_ENV_TREE = {"env_file": ""}


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def managers(tmp_path):
    """A release managers file of real people, as a ChatOps job needs (not the shipped example)."""
    path = tmp_path / "release_managers.yml"
    path.write_text("Rita Release:\n  gitlab.com: release-manager\n")
    return {"INVOKE_RELEASE_TOOLS_RELEASE_MANAGERS_FILE": str(path)}


def test_without_overrides_the_tree_is_the_shipped_defaults(home):
    settings = Settings.from_environment({**NO_ENV_FILE, "HOME": str(home)})

    assert settings.instance("production").url == "https://gitlab.com"
    assert settings.chatops.security_channel == "security-release"
    assert settings.chatops.reply_window == 1800
    assert settings.chatops.trusted_relays == frozenset()
    assert settings.release_managers_file == ROOT / "config/release_managers.yml"


def test_user_file_then_variables_override_the_defaults_like_invoke(home):
    (home / ".invoke.yaml").write_text(
        "release_tools:\n  labels:\n    release: FromHome\n  chatops:\n    security_channel: sec\n  api:\n    timeout: 5\n"
    )
    environ = {
        **NO_ENV_FILE, "HOME": str(home),
        "INVOKE_RELEASE_TOOLS_LABELS_RELEASE": "FromEnv",
        "INVOKE_RELEASE_TOOLS_API_TIMEOUT": "12",
        "INVOKE_RELEASE_TOOLS_DRY_RUN": "1",
        "INVOKE_RELEASE_TOOLS_CHATOPS_TRUSTED_RELAYS": "Chatops-Bot, relay2",
    }

    settings = Settings.from_environment(environ)

    assert settings.labels["release"] == "FromEnv"
    assert settings.chatops.security_channel == "sec"
    assert settings.api_timeout == 12
    assert settings.dry_run is True
    assert settings.chatops.is_trusted_relay("chatops-bot") and settings.chatops.is_trusted_relay("RELAY2")


@pytest.mark.parametrize("value, expected", [("0", False), ("", False), ("false", True), ("yes", True)])
def test_booleans_from_variables_follow_invokes_rule(home, value, expected):
    tree = invoke_tree({**NO_ENV_FILE, "HOME": str(home), "INVOKE_RELEASE_TOOLS_SECURITY": value})

    assert tree["security"] is expected


def test_a_variable_that_does_not_fit_its_key_is_a_clear_error(home):
    with pytest.raises(ConfigurationError, match=r"^INVOKE_RELEASE_TOOLS_API_TIMEOUT must be a whole number, not 'soon'$"):
        invoke_tree({**NO_ENV_FILE, "HOME": str(home), "INVOKE_RELEASE_TOOLS_API_TIMEOUT": "soon"})


@pytest.mark.parametrize(
    "text, error",
    [
        ("release_tools: [unclosed\n", "is not valid YAML: expected ',' or ']', but got '<stream end>' (line 2, column 1)"),
        # invoke's own sections have their shape too (invoke's merge would raise AmbiguousMergeError).
        ("run: 1\n", ": run must be a mapping of settings, not 1"),
    ],
    ids=["not-yaml", "a-value-where-invoke-has-a-section"],
)
def test_a_broken_user_file_is_one_line_naming_the_file_and_the_place(home, text, error):
    (home / ".invoke.yaml").write_text(text)

    with pytest.raises(ConfigurationError) as raised:
        invoke_tree({**NO_ENV_FILE, "HOME": str(home)})

    assert str(raised.value) == f"configuration file {str(home / '.invoke.yaml')!r}" + ("" if error[0] == ":" else " ") + error


def test_bot_tokens_stand_in_for_the_instance_tokens_in_a_copy(home, managers):
    environ = {
        **NO_ENV_FILE, **managers, "HOME": str(home),
        "RELEASE_BOT_PRODUCTION_TOKEN": "bot-production-0001",
        "RELEASE_BOT_DEV_TOKEN": "bot-dev-0002",
        "GITLAB_API_PRIVATE_TOKEN": "personal-0003",
    }
    before = dict(environ)

    mapped = with_bot_tokens(environ, invoke_tree(environ))
    settings = Settings.from_environment(environ, bot_tokens=True)

    assert mapped["GITLAB_API_PRIVATE_TOKEN"] == "bot-production-0001"
    assert mapped["DEV_API_PRIVATE_TOKEN"] == "bot-dev-0002"
    assert environ == before
    assert "RELEASE_BOT_PRODUCTION_TOKEN" not in os.environ
    assert (settings.token("production"), settings.token("dev")) == ("bot-production-0001", "bot-dev-0002")


def test_bot_tokens_follow_configured_token_variables_and_blank_ones_are_ignored(home, managers):
    (home / ".invoke.yaml").write_text("release_tools:\n  instances:\n    dev:\n      token_variable: OPS_TOKEN\n")
    environ = {**NO_ENV_FILE, **managers, "HOME": str(home), "RELEASE_BOT_DEV_TOKEN": "bot-dev-0002", "RELEASE_BOT_PRODUCTION_TOKEN": " ",
               "GITLAB_API_PRIVATE_TOKEN": "personal-0003"}

    settings = Settings.from_environment(environ, bot_tokens=True)

    assert settings.token("dev") == "bot-dev-0002"
    assert settings.token("production") == "personal-0003"


def test_without_bot_tokens_flag_the_bot_tokens_are_not_used(home):
    settings = Settings.from_environment(
        {**NO_ENV_FILE, "HOME": str(home), "RELEASE_BOT_PRODUCTION_TOKEN": "bot-production-0001"}
    )

    assert settings.secret("GITLAB_API_PRIVATE_TOKEN") == ""


@pytest.mark.parametrize(
    "channel, expected",
    [("security-release", True), ("#security-release", True), ("Security-Release", True), ("security", False), ("", False)],
)
def test_security_channel_matches_with_or_without_hash_in_any_case(home, channel, expected):
    settings = Settings.from_environment({**NO_ENV_FILE, "HOME": str(home)})

    assert settings.chatops.is_security_channel(channel) is expected


def test_an_empty_security_channel_matches_no_channel(home):
    settings = Settings.from_environment({**NO_ENV_FILE, "HOME": str(home), "INVOKE_RELEASE_TOOLS_CHATOPS_SECURITY_CHANNEL": ""})

    assert not settings.chatops.is_security_channel("")


def test_the_runtime_file_named_by_invoke_runtime_config_is_read_above_the_variables(home, tmp_path):
    # `invoke -f FILE` has no ChatOps equivalent, but INVOKE_RUNTIME_CONFIG (e.g. a CI file
    # variable) is what invoke reads in its place, and it outranks INVOKE_RELEASE_TOOLS_*.
    runtime = tmp_path / "release.yaml"
    runtime.write_text("release_tools:\n  labels:\n    release: FromRuntime\n  chatops:\n    security_channel: sec-ops\n")
    environ = {
        **NO_ENV_FILE, "HOME": str(home),
        "INVOKE_RUNTIME_CONFIG": str(runtime),
        "INVOKE_RELEASE_TOOLS_LABELS_RELEASE": "FromEnv",
        "INVOKE_RELEASE_TOOLS_LABELS_QA": "QA from env",
    }

    settings = Settings.from_environment(environ)

    assert settings.labels["release"] == "FromRuntime"
    assert settings.labels["qa"] == "QA from env"
    assert settings.chatops.security_channel == "sec-ops"


def test_a_broken_runtime_file_is_one_line_naming_the_file(home, tmp_path):
    runtime = tmp_path / "release.yaml"
    runtime.write_text("release_tools:\n  labels:\n    release: 'unclosed\n")

    with pytest.raises(ConfigurationError) as raised:
        invoke_tree({**NO_ENV_FILE, "HOME": str(home), "INVOKE_RUNTIME_CONFIG": str(runtime)})

    assert str(raised.value).startswith(f"configuration file {str(runtime)!r} is not valid YAML: ")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "text, error",
    [
        ("- release_tools\n", "must hold a mapping of settings (such as `release_tools:`), not a single value or a list"),
        ("release_tools:\n\tlabels: x\n", "is not valid YAML: found character '\\t' that cannot start any token (line 2, column 1)"),
    ],
    ids=["a-list", "a-tab"],
)
def test_a_runtime_file_that_is_no_mapping_or_no_yaml_is_one_line(home, tmp_path, text, error):
    runtime = tmp_path / "release.yaml"
    runtime.write_text(text)

    with pytest.raises(ConfigurationError) as raised:
        invoke_tree({**NO_ENV_FILE, "HOME": str(home), "INVOKE_RUNTIME_CONFIG": str(runtime)})

    assert str(raised.value) == f"configuration file {str(runtime)!r} {error}"


def test_a_runtime_file_that_does_not_exist_is_an_error_not_the_gitlab_com_defaults(home, tmp_path):
    missing = tmp_path / "nonexistent.yaml"

    with pytest.raises(ConfigurationError) as raised:
        Settings.from_environment({**NO_ENV_FILE, "HOME": str(home), "INVOKE_RUNTIME_CONFIG": str(missing)})

    assert str(raised.value) == f"configuration file {str(missing)!r} (named by INVOKE_RUNTIME_CONFIG) does not exist"


@pytest.mark.parametrize(
    "text, error",
    [
        ("release_tools:\n  projets:\n    ce:\n      path: a/b\n",
         "release_tools.projets is not a setting; did you mean release_tools.projects?"),
        ("release_tools:\n  chatops:\n    security_chanel: sec\n",
         "release_tools.chatops.security_chanel is not a setting; did you mean release_tools.chatops.security_channel?"),
        ("release_tools:\n  instances:\n    staging:\n      url: https://staging.example\n      token: x\n",
         "release_tools.instances.staging.token is not a setting "
         "(those of release_tools.instances.staging: insecure_http, token_variable, url)"),
        ("release_tools:\n  projects:\n    ce:\n      dev_paht: a/b\n",
         "release_tools.projects.ce.dev_paht is not a setting; did you mean release_tools.projects.ce.dev_path?"),
        ("release_tools:\n  slack:\n    webhook: x\n",
         "release_tools.slack.webhook is not a setting (those of release_tools.slack: chatops_url, cherry_pick_url, tag_url, upstream_merge_url)"),
        ('release_tools:\n  "forged\\nError: line": 1\n',
         "release_tools.'forged\\nError: line' is not a setting (see Configuration in README.md)"),
    ],
    ids=["top-level-typo", "nested-typo", "key-of-a-new-instance", "key-of-a-project", "no-close-match", "a-newline"],
)
@pytest.mark.parametrize("runtime", [False, True], ids=["user-file", "runtime-file"])
def test_a_key_that_is_not_a_setting_is_one_line_suggesting_the_close_one(home, tmp_path, text, error, runtime):
    path = tmp_path / "release.yaml" if runtime else home / ".invoke.yaml"
    path.write_text(text)
    environ = {**NO_ENV_FILE, "HOME": str(home), **({"INVOKE_RUNTIME_CONFIG": str(path)} if runtime else {})}

    with pytest.raises(ConfigurationError) as raised:
        invoke_tree(environ)

    assert str(raised.value) == error


def test_the_open_ended_mappings_take_new_keys(home):
    (home / ".invoke.yaml").write_text(
        "release_tools:\n"
        "  instances:\n    staging:\n      url: https://staging.example\n      token_variable: STAGING_TOKEN\n"
        "  projects:\n    pages:\n      path: acme/pages\n      remotes:\n        mirror: git@mirror.example:pages.git\n"
        "    ce:\n      remotes:\n        mirror: git@mirror.example:ce.git\n"
        "  helm:\n    subchart_app_versions:\n      registry: gitlab\n"
        "  release_manager_groups:\n    staging: acme/managers\n"
        "  chatops:\n    projects:\n      staging: acme/release-tools\n"
    )

    settings = Settings.from_environment({**NO_ENV_FILE, "HOME": str(home), "INVOKE_RELEASE_TOOLS_INSTANCES_STAGING_URL": "https://s2.example"})

    assert settings.instance("staging").url == "https://s2.example"
    assert settings.project("pages").remotes == (("mirror", "git@mirror.example:pages.git"),)
    assert [name for name, _ in settings.project("ce").remotes] == ["dev", "gitlab", "mirror"]
    assert settings.helm.subchart_app_versions["registry"] == "gitlab"
    assert settings.release_manager_groups["staging"] == "acme/managers"


@pytest.mark.parametrize(
    "variable, error",
    [
        ("INVOKE_RELEASE_TOOLS_INSTANCES", "INVOKE_RELEASE_TOOLS_INSTANCES names a group of settings, not one: "
         "set each setting's own variable, such as INVOKE_RELEASE_TOOLS_INSTANCES_PRODUCTION_URL"),
        ("INVOKE_RELEASE_TOOLS_LABELS_RELASE", "INVOKE_RELEASE_TOOLS_LABELS_RELASE is not a setting; "
         "did you mean INVOKE_RELEASE_TOOLS_LABELS_RELEASE?"),
        ("INVOKE_RELEASE_TOOLS_INSTANCES_STAGING_URL", "INVOKE_RELEASE_TOOLS_INSTANCES_STAGING_URL is not a setting; "
         "did you mean INVOKE_RELEASE_TOOLS_INSTANCES_PRODUCTION_URL?"),
    ],
    ids=["a-group", "a-typo", "an-instance-no-file-defines"],
)
def test_a_variable_that_names_no_setting_is_one_line(home, variable, error):
    with pytest.raises(ConfigurationError) as raised:
        invoke_tree({**NO_ENV_FILE, "HOME": str(home), variable: "x"})

    assert str(raised.value) == error


@pytest.mark.parametrize("runtime", [False, True], ids=["user-file", "runtime-file"])
def test_a_value_where_a_mapping_belongs_names_the_key(home, tmp_path, runtime):
    text = "release_tools:\n  labels:\n    release: Release\n  projects:\n    ce: gitlab-org/gitlab-ce\n"
    path = tmp_path / "release.yaml" if runtime else home / ".invoke.yaml"
    path.write_text(text)
    environ = {**NO_ENV_FILE, "HOME": str(home), **({"INVOKE_RUNTIME_CONFIG": str(path)} if runtime else {})}

    with pytest.raises(ConfigurationError, match=r"^release_tools\.projects\.ce must be a mapping of settings, not 'gitlab-org/gitlab-ce'$"):
        invoke_tree(environ)


# -- invoke's own loading, translated into one line ---------------------------------------


def test_two_keys_that_map_onto_one_variable_are_one_line_not_invokes_traceback(home):
    # invoke's loader refuses (AmbiguousEnvVar) a configuration where two keys map onto one
    # variable, INVOKE_RELEASE_TOOLS_PROJECTS_X_REMOTES_PATH here, whether it is set or not.
    (home / ".invoke.yaml").write_text(
        "release_tools:\n  projects:\n    x:\n      path: a/x\n      remotes:\n        path: git@example.com:x.git\n"
        "    x_remotes:\n      path: a/x-remotes\n"
    )

    with pytest.raises(ConfigurationError) as raised:
        invoke_tree({**NO_ENV_FILE, "HOME": str(home)})

    assert str(raised.value) == (
        "INVOKE_RELEASE_TOOLS_PROJECTS_X_REMOTES_PATH would set two settings whose names differ only in "
        "underscores: rename one of them"
    )


def test_a_list_setting_from_a_variable_is_one_line(home):
    with pytest.raises(ConfigurationError) as raised:
        invoke_tree({**NO_ENV_FILE, "HOME": str(home), "INVOKE_RELEASE_TOOLS_QA_PROJECTS": "ce"})

    assert str(raised.value) == "INVOKE_RELEASE_TOOLS_QA_PROJECTS cannot be set from the environment (it is a list)"


def test_invokes_own_settings_are_loaded_and_checked_as_invoke_does(home):
    # The tree is invoke's: its core settings come through the same layers.
    (home / ".invoke.yaml").write_text("run:\n  echo: true\n")
    config = load({**NO_ENV_FILE, "HOME": str(home), "INVOKE_RUN_WARN": "1"})

    assert (config.run.echo, config.run.warn) == (True, True)
    with pytest.raises(ConfigurationError, match=r"^INVOKE_RUN_WATCHERS cannot be set from the environment \(it is a list\)$"):
        load({**NO_ENV_FILE, "HOME": str(home), "INVOKE_RUN_WATCHERS": "x"})


def test_the_collection_layer_is_the_task_collections_configuration(home):
    from release_tools.cli import ns

    assert invoke_tree({**NO_ENV_FILE, "HOME": str(home)}) == {**ns.configuration()["release_tools"], **NO_ENV_TREE}


# -- the shipped example release managers file --------------------------------------------


def test_a_chatops_job_refuses_the_checkouts_example_release_managers_file(home):
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_environment({**NO_ENV_FILE, "HOME": str(home)}, bot_tokens=True)

    assert str(raised.value) == (
        f"release managers file {str(ROOT / 'config' / 'release_managers.yml')!r} lists ada-example, one of the shipped "
        "example's fictional people: ChatOps authorizes no one from it; list your release managers there or set "
        "release_tools.release_managers_file"
    )


def test_a_chatops_job_refuses_a_file_that_kept_one_fictional_person_in_any_case(home, tmp_path):
    path = tmp_path / "managers.yml"
    path.write_text("Rita Release:\n  gitlab.com: release-manager\nGrace:\n  gitlab.com: Grace-Placeholder\n")
    environ = {**NO_ENV_FILE, "HOME": str(home), "INVOKE_RELEASE_TOOLS_RELEASE_MANAGERS_FILE": str(path)}

    with pytest.raises(ConfigurationError, match=r"lists Grace-Placeholder, one of the shipped example's fictional people"):
        Settings.from_environment(environ, bot_tokens=True)
    assert Settings.from_environment(environ).release_managers_file == path  # the terminal's own check may use it


def test_a_chatops_job_takes_a_file_of_real_people(home, managers):
    settings = Settings.from_environment({**NO_ENV_FILE, **managers, "HOME": str(home)}, bot_tokens=True)

    assert str(settings.release_managers_file) == managers["INVOKE_RELEASE_TOOLS_RELEASE_MANAGERS_FILE"]
