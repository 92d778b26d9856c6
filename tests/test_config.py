"""Settings: shipped defaults, the original's switches, tokens and the env file."""

from __future__ import annotations

import os
import re

import pytest

from release_tools.config import DEFAULTS, Settings
from release_tools.errors import ConfigurationError, MissingTokenError


def test_shipped_defaults_describe_gitlabs_release_setup(tmp_path):
    settings = Settings.from_mapping({"env_file": str(tmp_path / "none")}, environ={})

    assert settings.instance("production").url == "https://gitlab.com"
    assert settings.instance("dev").url == "https://dev.gitlab.org"
    assert settings.project("ce").path == "gitlab-org/gitlab-ce"
    assert settings.project("ce").dev_path == "gitlab/gitlabhq"
    assert [name for name, _ in settings.project("ee").remotes] == ["dev", "gitlab"]
    assert settings.project("release_tasks").path == "gitlab-org/release/tasks"
    assert settings.labels["release"] == "Release"
    assert (settings.dry_run, settings.security, settings.skip) == (False, False, frozenset())


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({"TEST": "true"}, {"dry_run": True}),
        ({"TEST": "1"}, {"dry_run": True}),
        ({"TEST": "  "}, {"dry_run": False}),
        ({"SECURITY": "yes"}, {"security": True}),
        ({"CE": "false"}, {"skip": frozenset({"ce"})}),
        ({"EE": "FALSE", "OG": "false"}, {"skip": frozenset({"ee", "omnibus"})}),
        ({"CE": "true"}, {"skip": frozenset()}),
        ({"FORCE": "1", "NO_MENTION": "1"}, {"force": True, "no_mention": True}),
    ],
    ids=repr,
)
def test_the_originals_switches_keep_working(tmp_path, environ, expected):
    settings = Settings.from_mapping({"env_file": str(tmp_path / "none")}, environ=environ)
    for key, value in expected.items():
        assert getattr(settings, key) == value


def test_flags_and_configuration_turn_switches_on_too(tmp_path):
    by_flag = Settings.from_mapping({"env_file": ""}, environ={}, dry_run=True, security=True, skip=("ee",))
    by_config = Settings.from_mapping({"env_file": "", "dry_run": True, "security": True}, environ={})

    assert (by_flag.dry_run, by_flag.security, by_flag.skip) == (True, True, frozenset({"ee"}))
    assert (by_config.dry_run, by_config.security) == (True, True)


def test_security_keeps_only_the_dev_remote(tmp_path):
    settings = Settings.from_mapping({"env_file": ""}, environ={})
    ce = settings.project("ce")

    assert ce.remotes_for(security=True) == (("dev", "git@dev.gitlab.org:gitlab/gitlabhq.git"),)
    assert ce.remotes_for(security=False) == ce.remotes
    assert settings.project("helm").remotes_for(security=True) == ()


def test_an_empty_remote_url_removes_a_shipped_remote():
    settings = Settings.from_mapping({"env_file": "", "projects": {"ce": {"remotes": {"gitlab": ""}}}}, environ={})

    assert [name for name, _ in settings.project("ce").remotes] == ["dev"]


def test_tokens_come_from_the_environment_first_then_the_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("GITLAB_API_PRIVATE_TOKEN=from-file-1234\nDEV_API_PRIVATE_TOKEN=dev-from-file-5678\nOTHER=x\n")

    settings = Settings.from_mapping({"env_file": str(env_file)}, environ={"GITLAB_API_PRIVATE_TOKEN": "from-env-9999"})

    assert settings.token("production") == "from-env-9999"
    assert settings.token("dev") == "dev-from-file-5678"
    assert "DEV_API_PRIVATE_TOKEN" not in os.environ or os.environ["DEV_API_PRIVATE_TOKEN"] != "dev-from-file-5678"


def test_tokens_never_show_in_the_settings_repr(tmp_path):
    settings = Settings.from_mapping({"env_file": ""}, environ={"GITLAB_API_PRIVATE_TOKEN": "very-secret-token"})

    assert "very-secret-token" not in repr(settings)


def test_missing_token_names_the_variable_and_the_instance():
    settings = Settings.from_mapping({"env_file": ""}, environ={})

    with pytest.raises(MissingTokenError, match=r"^DEV_API_PRIVATE_TOKEN is not set: .*dev\.gitlab\.org"):
        settings.token("dev")


def test_malformed_configuration_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="release_tools configuration is malformed"):
        Settings.from_mapping({"env_file": "", "instances": {"dev": "https://dev.example"}}, environ={})


def test_every_default_key_is_documented_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()

    def keys(tree, prefix):
        for key, value in tree.items():
            path = f"{prefix}.{key}"
            if prefix == "release_tools" and key in ("instances", "projects"):
                placeholder = "<name>" if key == "instances" else "<project>"
                children = {k: v for entry in value.values() for k, v in entry.items()}
                yield from keys(children, f"{path}.{placeholder}")
            elif key == "remotes":
                yield f"{path}.<remote>"
            elif key == "subchart_app_versions":  # open-ended, like remotes
                yield f"{path}.<subchart>"
            elif isinstance(value, dict):
                yield from keys(value, path)
            else:
                yield path

    missing = [key for key in keys(DEFAULTS, "release_tools") if f"`{key}`" not in readme]
    assert missing == []


@pytest.mark.parametrize("key", ["api.timeout", "chatops.reply_window"])
@pytest.mark.parametrize("seconds", ["soon", None, 0, -5], ids=repr)
def test_seconds_that_are_not_a_positive_number_are_a_clear_error(key, seconds):
    section, name = key.split(".")

    with pytest.raises(ConfigurationError, match=rf"^release_tools\.{key} must be a number of seconds above 0"):
        Settings.from_mapping({"env_file": "", section: {name: seconds}}, environ={})


@pytest.mark.parametrize("url", ["gitlab.com", "git@gitlab.com:gitlab-org", "", "ftp://gitlab.com"], ids=repr)
def test_an_instance_url_that_is_not_http_is_a_clear_error(url):
    with pytest.raises(ConfigurationError, match=r"^release_tools\.instances\.dev\.url must be an http\(s\) URL"):
        Settings.from_mapping({"env_file": "", "instances": {"dev": {"url": url}}}, environ={})


@pytest.mark.parametrize(
    "url", ["http://localhost:8080", "http://LOCALHOST", "http://127.0.0.1:3000", "http://127.8.9.10", "http://[::1]:8080"],
)
def test_plain_http_to_this_machine_is_accepted(url):
    settings = Settings.from_mapping({"env_file": "", "instances": {"dev": {"url": url}}}, environ={})

    assert settings.instance("dev").url == url


@pytest.mark.parametrize(
    "url, host",
    [("http://dev.gitlab.org", "dev.gitlab.org"), ("http://10.0.0.5:8080", "10.0.0.5"),
     ("http://localhost.example.com", "localhost.example.com"), ("http://user:secret@gitlab.example", "gitlab.example"),
     ("http://[::2]", "::2"), ("http://128.0.0.1", "128.0.0.1")],
    ids=["name", "private-address", "look-alike", "userinfo", "ipv6", "not-127"],
)
def test_plain_http_to_another_host_is_refused_naming_the_key_and_why(url, host):
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_mapping({"env_file": "", "instances": {"dev": {"url": url}}}, environ={})

    assert str(raised.value) == (
        f"release_tools.instances.dev.url is plain http:// to {host}, where anyone on the way could read the API token: "
        "use https://, or set release_tools.instances.dev.insecure_http: true"
    )
    assert "secret" not in str(raised.value)


def test_insecure_http_allows_plain_http_for_that_instance_only():
    tree = {"env_file": "", "instances": {"dev": {"url": "http://dev.example", "insecure_http": True}}}

    assert Settings.from_mapping(tree, environ={}).instance("dev").url == "http://dev.example"
    with pytest.raises(ConfigurationError, match=r"^release_tools\.instances\.production\.url is plain http://"):
        Settings.from_mapping({**tree, "instances": {**tree["instances"], "production": {"url": "http://gitlab.example"}}}, environ={})


@pytest.mark.parametrize("value", ["true", "yes", 1, None], ids=repr)
def test_insecure_http_must_be_a_boolean(value):
    tree = {"env_file": "", "instances": {"dev": {"url": "http://dev.example", "insecure_http": value}}}

    with pytest.raises(ConfigurationError, match=rf"^release_tools\.instances\.dev\.insecure_http must be true or false, not {value!r}$"):
        Settings.from_mapping(tree, environ={})


def test_a_templates_dir_that_is_not_a_folder_is_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere"

    with pytest.raises(ConfigurationError, match=rf"^release_tools\.templates_dir '{re.escape(str(missing))}' is not a folder"):
        Settings.from_mapping({"env_file": "", "templates_dir": str(missing)}, environ={})
