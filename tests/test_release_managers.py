"""The release managers file and `release_managers.auth`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from release_tools import release_managers
from release_tools.config import ROOT, Settings
from release_tools.errors import ConfigurationError, NotAuthorizedError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "release_managers.yml"
    path.write_text(text)
    return path


def test_entries_give_names_and_usernames_on_both_instances(tmp_path):
    path = write(tmp_path, "Ada Example:\n  gitlab.com: ada-example\n  gitlab.org: ada\nGrace P:\n  gitlab.com: grace\n")

    managers = release_managers.load(path)

    assert [(m.name, m.username, m.dev_username) for m in managers] == [
        ("Ada Example", "ada-example", "ada"),
        ("Grace P", "grace", "grace"),  # the dev username defaults to the gitlab.com one
    ]
    assert managers.usernames() == ("ada-example", "grace")
    assert managers.usernames("dev") == ("ada", "grace")
    assert len(managers) == 2 and managers.source == path


@pytest.mark.parametrize("username", ["ada-example", "Ada-Example", "ADA-EXAMPLE", " ada-example "])
def test_membership_ignores_case(tmp_path, username):
    managers = release_managers.load(write(tmp_path, "Ada:\n  gitlab.com: ada-example\n  gitlab.org: ada\n"))

    assert managers.is_release_manager(username)
    assert managers.find(username).name == "Ada"


def test_membership_is_per_instance(tmp_path):
    managers = release_managers.load(write(tmp_path, "Ada:\n  gitlab.com: ada-example\n  gitlab.org: ada\n"))

    assert managers.is_release_manager("ada", "dev")
    assert not managers.is_release_manager("ada")
    assert not managers.is_release_manager("")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty: list at least one release manager"),
        ("# only comments\n", "is empty: list at least one release manager"),
        ("- ada\n- grace\n", "must map names to usernames"),
        ("Ada:\n  gitlab.org: ada\n", "No `gitlab.com` value for 'Ada' in"),
        ("Ada: ada-example\n", "No `gitlab.com` value for 'Ada' in"),
        ("Ada:\n  gitlab.com: ''\n", "No `gitlab.com` value for 'Ada' in"),
        ("Ada:\n  gitlab.com: 12\n", "The `gitlab.com` value for 'Ada' in"),
        ("Ada:\n  gitlab.com: 12\n", "(got 12; quote it if it is one)"),
        ("Ada:\n  gitlab.com: ada\n  gitlab.org: [a, b]\n", "The `gitlab.org` value for 'Ada' in"),
        ("Ada:\n  gitlab.com: [unclosed\n", "is not valid YAML (line"),
    ],
    ids=["empty", "comments", "list", "no-gitlab-com", "not-a-mapping", "blank", "number", "number-hint", "dev-list", "yaml"],
)
def test_malformed_files_are_clear_configuration_errors(tmp_path, text, message):
    path = write(tmp_path, text)

    with pytest.raises(ConfigurationError, match="Release managers file|value for") as error:
        release_managers.load(path)

    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_file_names_the_file_and_the_setting(tmp_path):
    with pytest.raises(ConfigurationError) as error:
        release_managers.load(tmp_path / "absent.yml")

    assert str(error.value) == (
        f"Release managers file '{tmp_path / 'absent.yml'}' not found: "
        "create it or set release_tools.release_managers_file"
    )


def settings_with(path: Path) -> Settings:
    return Settings.from_mapping({"env_file": "", "release_managers_file": str(path)}, environ={})


def test_check_release_manager_returns_the_member_or_refuses(tmp_path):
    settings = settings_with(write(tmp_path, "Ada:\n  gitlab.com: ada-example\n"))

    assert release_managers.check_release_manager(settings, "Ada-Example").name == "Ada"
    with pytest.raises(NotAuthorizedError, match=r"^'bob' is not an authorized release manager!$"):
        release_managers.check_release_manager(settings, "bob")
    with pytest.raises(NotAuthorizedError, match=r"^You must provide a username to verify!$"):
        release_managers.check_release_manager(settings, "  ")


def test_check_release_manager_on_dev_uses_the_dev_usernames(tmp_path):
    settings = settings_with(write(tmp_path, "Ada:\n  gitlab.com: ada-example\n  gitlab.org: ada\n"))

    assert release_managers.check_release_manager(settings, "ADA", "dev").username == "ada-example"
    with pytest.raises(NotAuthorizedError):
        release_managers.check_release_manager(settings, "ada-example", "dev")


def test_the_shipped_file_is_a_valid_example_and_relative_paths_mean_this_checkout():
    settings = Settings.from_mapping({"env_file": ""}, environ={})

    assert settings.release_managers_file == ROOT / "config" / "release_managers.yml"
    managers = release_managers.load(settings.release_managers_file)
    assert len(managers) >= 1
    assert "replace" in settings.release_managers_file.read_text()


# -- the task ------------------------------------------------------------------------------------


@pytest.fixture
def managers_file(tmp_path):
    return write(tmp_path, "Ada Example:\n  gitlab.com: ada-example\n")


def test_auth_task_accepts_a_release_manager_in_any_case(invoke, managers_file, fake_gitlab):
    result = invoke("release_managers.auth", "ADA-example", env={"INVOKE_RELEASE_TOOLS_RELEASE_MANAGERS_FILE": str(managers_file)})

    assert result.returncode == 0, result.stderr
    assert result.stdout == "ada-example (Ada Example) is an authorized release manager.\n"
    assert fake_gitlab.log == []


@pytest.mark.parametrize(
    "username, message",
    [("bob", "Error: 'bob' is not an authorized release manager!\n"), ("", "Error: You must provide a username to verify!\n")],
    ids=["unlisted", "blank"],
)
def test_auth_task_refuses_with_one_line_and_exit_1(invoke, managers_file, username, message):
    result = invoke("release_managers.auth", username, env={"INVOKE_RELEASE_TOOLS_RELEASE_MANAGERS_FILE": str(managers_file)})

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == message


def test_auth_task_in_json_is_a_document_without_steps_whose_note_names_the_release_manager(invoke, managers_file):
    env = {"INVOKE_RELEASE_TOOLS_RELEASE_MANAGERS_FILE": str(managers_file)}

    accepted = invoke("release_managers.auth", "--json", "ADA-example", env=env)
    refused = invoke("release_managers.auth", "--json", "bob", env=env)

    line = "ada-example (Ada Example) is an authorized release manager."
    assert accepted.returncode == 0, accepted.stderr
    assert json.loads(accepted.stdout) == {
        "schema": 1,
        "task": "release_managers.auth",
        "subject": "ada-example",
        "dry_run": False,
        "security": False,
        "status": "done",
        "exit_status": 0,
        "steps": [],
        "headline": None,
        "notes": [line],
        "problems": [],
        "error": None,
    }
    assert accepted.stderr == line + "\n"  # the outcome line moves to stderr, as all progress does
    assert refused.returncode == 1
    document = json.loads(refused.stdout)
    assert (document["status"], document["exit_status"], document["steps"]) == ("error", 1, [])
    assert document["error"] == "'bob' is not an authorized release manager!"


def test_auth_task_with_a_missing_file_is_a_clear_error(invoke, tmp_path):
    result = invoke("release_managers.auth", "ada", env={"INVOKE_RELEASE_TOOLS_RELEASE_MANAGERS_FILE": str(tmp_path / "nope.yml")})

    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: Release managers file '{tmp_path / 'nope.yml'}' not found")


def test_auth_task_is_listed_with_its_help_line(invoke):
    result = invoke("--list")

    listing = " ".join(result.stdout.split())  # the help column wraps with the terminal width
    assert "release_managers.auth Check that USERNAME is in the release managers file" in listing
