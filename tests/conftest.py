"""Shared fixtures: fake GitLab instances over HTTP, settings pointing at them, and a
runner for the real `invoke` command in a clean environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from release_tools.config import Settings
from release_tools.sandbox import FakeGitLab, add_group, add_project, add_user
from tests.repos import GIT_ENV, Remotes, build_template, build_upstream_template
from tests.slack_receiver import WEBHOOK_PATH, SlackReceiver

ROOT = Path(__file__).resolve().parent.parent

#: Canary tokens: no output, log or error may ever contain them.
PRODUCTION_TOKEN = "canary-production-token-5f3a9c"
DEV_TOKEN = "canary-dev-token-81b2e7"

RELEASE_TASKS = "gitlab-org/release/tasks"

#: More fixtures: the ChatOps job environment (`chat_job`).
pytest_plugins = ["tests.chatops_support"]

#: What a developer's or CI's environment may hold that would make tests pass here and fail
#: on a fresh machine: a git identity, and (through HOME) a ~/.gitconfig or ~/.invoke.yaml.
IDENTITY_VARIABLES = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL")


@pytest.fixture(scope="session", autouse=True)
def fresh_machine(tmp_path_factory):
    """Run every test as on a fresh machine: an empty HOME, no git identity and no global
    or system git configuration, whoever runs the suite. Tests that commit say who they are
    (`git_identity`, `GIT_ENV`)."""
    home = tmp_path_factory.mktemp("fresh-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
        patch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        # Nor may git guess one from the user database and the host name, as it does where
        # the host name has a domain.
        patch.setenv("GIT_CONFIG_COUNT", "1")
        patch.setenv("GIT_CONFIG_KEY_0", "user.useConfigOnly")
        patch.setenv("GIT_CONFIG_VALUE_0", "true")
        for name in IDENTITY_VARIABLES:
            patch.delenv(name, raising=False)
        yield home


@pytest.fixture
def fake_gitlab():
    """gitlab.com: the release manager's user, group gitlab-org, the release tasks project."""
    with FakeGitLab("gitlab.com") as fake:
        fake.release_manager = add_user(fake, "release-manager", "Rita Release", token=PRODUCTION_TOKEN)
        add_group(fake, "gitlab-org")
        add_project(fake, RELEASE_TASKS)
        yield fake


@pytest.fixture
def fake_dev():
    """dev.gitlab.org: the same release manager with the dev token."""
    with FakeGitLab("dev.gitlab.org") as fake:
        fake.release_manager = add_user(fake, "release-manager", "Rita Release", token=DEV_TOKEN)
        add_group(fake, "gitlab")
        yield fake


@pytest.fixture
def closed_port():
    """A port on 127.0.0.1 that nothing listens on: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def tree(fake_gitlab, fake_dev, tmp_path):
    """A `release_tools` configuration tree pointing at both fakes."""
    return {
        "instances": {
            "production": {"url": fake_gitlab.url},
            "dev": {"url": fake_dev.url},
        },
        "env_file": str(tmp_path / "no.env"),
    }


@pytest.fixture
def environ():
    return {"GITLAB_API_PRIVATE_TOKEN": PRODUCTION_TOKEN, "DEV_API_PRIVATE_TOKEN": DEV_TOKEN}


@pytest.fixture
def settings(tree, environ):
    return Settings.from_mapping(tree, environ)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def invoke(tmp_path, fake_gitlab, fake_dev):
    """Run the real `invoke` CLI on this checkout's tasks.py, from an empty directory,
    with a clean environment (HOME is a temporary directory) pointed at the fakes;
    `invoke.start(...)` starts it without waiting (see `start`)."""
    home = tmp_path / "home"
    home.mkdir()
    workdir = tmp_path / "work"
    workdir.mkdir()

    def environment(env: dict[str, str] | None, tokens: bool) -> dict[str, str]:
        full_env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "INVOKE_RELEASE_TOOLS_INSTANCES_PRODUCTION_URL": fake_gitlab.url,
            "INVOKE_RELEASE_TOOLS_INSTANCES_DEV_URL": fake_dev.url,
            **GIT_ENV,
        }
        if tokens:
            full_env.update(GITLAB_API_PRIVATE_TOKEN=PRODUCTION_TOKEN, DEV_API_PRIVATE_TOKEN=DEV_TOKEN)
        full_env.update(env or {})
        return full_env

    def run(*args: str, env: dict[str, str] | None = None, tokens: bool = True, cwd: Path | None = None) -> Result:
        completed = subprocess.run(
            [sys.executable, "-m", "invoke", "--search-root", str(ROOT), *args],
            cwd=cwd or workdir,
            env=environment(env, tokens),
            capture_output=True,
            text=True,
            timeout=120,
        )
        result = Result(completed.returncode, completed.stdout, completed.stderr)
        for secret in (PRODUCTION_TOKEN, DEV_TOKEN, WEBHOOK_PATH.rsplit("/", 1)[1]):
            assert secret not in result.output, "a token or webhook leaked into the output"
        return result

    def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """`invoke ARGS` started in a session of its own (so that a test can signal it, or
        its whole process group), its output piped as text."""
        return subprocess.Popen(
            [sys.executable, "-m", "invoke", "--search-root", str(ROOT), *args],
            cwd=workdir,
            env=environment(env, True),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    run.start = start  # type: ignore[attr-defined]
    return run


# -- git remotes and Slack -------------------------------------------------------------


@pytest.fixture(scope="session")
def remotes_template(tmp_path_factory):
    """Seeded bare remotes, built once per session; tests get copies (see `remotes`)."""
    return build_template(tmp_path_factory.mktemp("remotes-template"))


@pytest.fixture(scope="session")
def upstream_template(tmp_path_factory):
    """Bare CE and EE remotes for the upstream merge, built once per session (see
    `build_upstream_template`); copy them before changing them."""
    return build_upstream_template(tmp_path_factory.mktemp("upstream-template"))


@pytest.fixture
def remotes(remotes_template, tmp_path):
    """This test's own `dev` and `gitlab` bare remotes of gitlab-ce, gitlab-ee and omnibus-gitlab."""
    return Remotes.copy_of(remotes_template, tmp_path / "remotes")


@pytest.fixture
def config(remotes, tmp_path):
    """A configuration file (for `invoke -f`) pointing every project at this test's remotes."""
    path = tmp_path / "remotes.yaml"
    path.write_text(remotes.yaml())
    return str(path)


@pytest.fixture
def git_identity(monkeypatch):
    """Commit as Rita Release through the environment, ignoring the user's git configuration."""
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def slack():
    """A local Slack webhook receiver; `slack.url` is the (secret) webhook URL."""
    with SlackReceiver() as receiver:
        yield receiver


@pytest.fixture
def release_settings(remotes, git_identity, tmp_path):
    """`release_settings(environ=None, **flags)`: Settings pointing every project at `remotes`."""

    def make(environ: dict[str, str] | None = None, **flags) -> Settings:
        tree = {**remotes.tree(), "env_file": str(tmp_path / "no.env")}
        return Settings.from_mapping(tree, environ or {}, **flags)

    return make
