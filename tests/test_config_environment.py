"""Settings built outside invoke (the ChatOps entrypoint): the same configuration layers as
`invoke`, read from a given environment, and the original's CI bot tokens."""

from __future__ import annotations

import os

import pytest

from release_tools.config import ROOT, Settings, invoke_tree, with_bot_tokens
from release_tools.errors import ConfigurationError


#: No `.env` from the working directory sneaks in.
NO_ENV_FILE = {"INVOKE_RELEASE_TOOLS_ENV_FILE": ""}


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


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


def test_a_broken_user_file_is_a_clear_error(home):
    (home / ".invoke.yaml").write_text("release_tools: [unclosed\n")

    with pytest.raises(ConfigurationError, match="^invoke configuration cannot be read"):
        invoke_tree({**NO_ENV_FILE, "HOME": str(home)})


def test_bot_tokens_stand_in_for_the_instance_tokens_in_a_copy(home):
    environ = {
        **NO_ENV_FILE, "HOME": str(home),
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


def test_bot_tokens_follow_configured_token_variables_and_blank_ones_are_ignored(home):
    (home / ".invoke.yaml").write_text("release_tools:\n  instances:\n    dev:\n      token_variable: OPS_TOKEN\n")
    environ = {**NO_ENV_FILE, "HOME": str(home), "RELEASE_BOT_DEV_TOKEN": "bot-dev-0002", "RELEASE_BOT_PRODUCTION_TOKEN": " ",
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


def test_a_broken_runtime_file_is_a_clear_error(home, tmp_path):
    runtime = tmp_path / "release.yaml"
    runtime.write_text("release_tools: [unclosed\n")

    with pytest.raises(ConfigurationError, match="^invoke configuration cannot be read"):
        invoke_tree({**NO_ENV_FILE, "HOME": str(home), "INVOKE_RUNTIME_CONFIG": str(runtime)})


@pytest.mark.parametrize("runtime", [False, True], ids=["user-file", "runtime-file"])
def test_a_value_where_a_mapping_belongs_names_the_key(home, tmp_path, runtime):
    text = "release_tools:\n  labels:\n    release: Release\n  projects:\n    ce: gitlab-org/gitlab-ce\n"
    path = tmp_path / "release.yaml" if runtime else home / ".invoke.yaml"
    path.write_text(text)
    environ = {**NO_ENV_FILE, "HOME": str(home), **({"INVOKE_RUNTIME_CONFIG": str(path)} if runtime else {})}

    with pytest.raises(ConfigurationError, match=r"^release_tools\.projects\.ce must be a mapping of settings, not 'gitlab-org/gitlab-ce'$"):
        invoke_tree(environ)
