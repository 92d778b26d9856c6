"""The ChatOps entrypoint as GitLab runs it in a chat pipeline: help, authorization,
routing of release_issue, bad input, shell metacharacters, the reply, late runs and the
original's trigger style. Each test runs `python -m release_tools.chatops` as a subprocess
with the variables GitLab sets, against the fake GitLab."""

from __future__ import annotations

import os

import pytest

import inspect

from release_tools import chatops
from release_tools.chatops import identity, reply
from release_tools.chatops.commands import Commands
from release_tools.cli import ns
from release_tools.errors import ReleaseToolsError
from tests.chatops_support import minutes_ago
from tests.config_cases import BAD_CONFIGURATIONS
from tests.conftest import PRODUCTION_TOKEN, RELEASE_TASKS, ROOT
from release_tools.sandbox import add_milestone

CHAT_COMMANDS = ["cherry_pick", "publish", "qa_issue", "release_issue", "status", "tag"]
COMMANDS = Commands.default()


def created_issue(fake):
    [issue] = fake.table("issues")
    return issue


def only_the_job_was_read(fake):
    """The identity check, GET /job with the job's own token, is all the fake was asked."""
    return [(r.method, r.path) for r in fake.log] == [("GET", "/job")]


# -- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text, variables, error", BAD_CONFIGURATIONS)
def test_a_bad_configuration_is_the_one_reply_line_before_any_request(chat_job, fake_gitlab, fake_dev, tmp_path,
                                                                      text, variables, error):
    path = tmp_path / "release.yaml"
    if text is not None:
        path.write_text(text)
    environ = chat_job.environ("11.1.0", INVOKE_RUNTIME_CONFIG=str(path), **variables)

    result = chat_job.run("release_issue", environ=environ)

    assert result.returncode == 1
    assert result.reply == ["Error: " + error.format(path=str(path), source="named by INVOKE_RUNTIME_CONFIG")]
    assert fake_gitlab.requests() == [] and fake_dev.requests() == []


# -- help ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", CHAT_COMMANDS)
def test_help_is_made_from_the_task_runs_nothing_and_makes_no_request(chat_job, fake_gitlab, fake_dev, command):
    # Even a user who may not run anything, without tokens, gets the help.
    environ = chat_job.environ("--help", user="developer")
    del environ["RELEASE_BOT_PRODUCTION_TOKEN"], environ["RELEASE_BOT_DEV_TOKEN"]
    task = ns[command]

    result = chat_job.run(command, environ=environ)

    assert result.returncode == 0, result.output
    lines = result.reply
    assert lines[0] == COMMANDS.synopsis(command)
    assert inspect.cleandoc(task.__doc__).splitlines()[0] in lines  # the task's own summary
    assert [line for line in lines if line.startswith("Usage: /chatops run ")], "the docstring's usage, for chat"
    assert "Options:" in lines
    if task.mutating:  # a task that only reads (status) has no dry run
        assert any(line.startswith("  --dry-run") and line.endswith(task.help["dry_run"]) for line in lines)
    assert any(line.startswith(("  VERSION", "  FROM_REF")) for line in lines)
    assert any(line.startswith("  --help") for line in lines)
    assert fake_gitlab.requests() == [] and fake_dev.requests() == []
    assert fake_gitlab.table("issues") == []


@pytest.mark.parametrize("command", ["release_issue", "tag"])
def test_help_names_the_security_option_and_the_security_channel(chat_job, command):
    result = chat_job(command, "-h")

    assert [line for line in result.reply if line.startswith("  --security")][0].endswith("(implied in #security-release)")


def test_help_without_a_command_lists_the_chat_commands(chat_job, fake_gitlab):
    result = chat_job("--help", None)

    assert result.returncode == 0
    assert result.reply == [
        "Commands (`/chatops run COMMAND --help` for each):",
        "  cherry_pick VERSION [--security] [--dry-run]",
        "  publish VERSION [--dry-run]",
        "  qa_issue FROM_REF TO_REF [--version VERSION] [--dry-run]",
        "  release_issue VERSION [--security] [--dry-run]",
        "  status VERSION [--security]",
        "  tag VERSION [--dry-run] [--security]",
    ]
    assert fake_gitlab.log == []


# -- release_issue routing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "chat_input, channel, title, labels, confidential, heading",
    [
        ("11.1.0", "g_delivery", "Release 11.1", ["Release"], False, "## Kick-off"),
        ("11.1.1", "g_delivery", "Release 11.1.1", ["Release"], False, "## Preparation"),
        ("11.1.0-rc5", "g_delivery", "Release 11.1.0-rc5", ["Release"], False, "## Preparation"),
        ("11.1.2 --security", "g_delivery", "Release 11.1.2", ["Release", "security"], True, "## Ground rules"),
        ("--security 11.1.2", "g_delivery", "Release 11.1.2", ["Release", "security"], True, "## Ground rules"),
        ("11.1.2", "security-release", "Release 11.1.2", ["Release", "security"], True, "## Ground rules"),
        ("11.1.2", "#Security-Release", "Release 11.1.2", ["Release", "security"], True, "## Ground rules"),
    ],
    ids=["monthly", "patch", "rc", "security-flag", "security-flag-first", "security-channel", "security-channel-any-case"],
)
def test_release_issue_is_routed_by_version_flag_and_channel(
    chat_job, fake_gitlab, chat_input, channel, title, labels, confidential, heading
):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    # The process as CI runs it, for the first case; in-process for the others (faster).
    result = chat_job("release_issue", chat_input, channel=channel, in_process=chat_input != "11.1.0")

    assert result.returncode == 0, result.output
    issue = created_issue(fake_gitlab)
    assert (issue["title"], issue["labels"], issue["confidential"]) == (title, labels, confidential)
    assert heading in issue["description"]
    # The reply is exactly the outcome: no progress, no description, no markers inside.
    kind = "confidential security release issue" if confidential else {
        "Release 11.1": "monthly release issue", "Release 11.1.1": "patch release issue"}.get(title, "release candidate issue")
    assert result.reply == [f'✓ create the {kind} "{title}" in {RELEASE_TASKS}: {issue["web_url"]}', "Done: 1 done."]
    assert "Running release_issue" in result.log


def test_release_candidate_issue_uses_the_release_candidate_template(chat_job, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    chat_job("release_issue", "11.1.0-rc5")

    description = created_issue(fake_gitlab)["description"]
    # The patch template interpolates the version too; only the RC one points at unstable packages.
    assert "https://packages.gitlab.com/gitlab/unstable" in description
    assert "## References" not in description


def test_release_issue_that_exists_is_shown_not_duplicated(chat_job, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    chat_job("release_issue", "11.1.0")

    again = chat_job("release_issue", "11.1.0")

    issue = created_issue(fake_gitlab)
    assert again.reply == [
        f'✓ create the monthly release issue "Release 11.1" in {RELEASE_TASKS}: already done; {issue["web_url"]}',
        "Nothing to do: every step is done already.",
    ]


def test_dry_run_reply_says_what_would_happen_and_nothing_changes(chat_job, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = chat_job("release_issue", "11.1.0", TEST="true")

    assert result.returncode == 0, result.output
    assert result.reply == [
        f'· create the monthly release issue "Release 11.1" in {RELEASE_TASKS}',
        "Dry run: 1 step would be carried out; nothing was changed.",
    ]
    assert "# Release 11.1" in result.log  # the issue itself stays in the job log
    assert fake_gitlab.mutations() == []


def test_dry_run_flag_in_chat_input_works_like_test(chat_job, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = chat_job("release_issue", "--dry-run 11.1.2 --security")

    assert result.returncode == 0, result.output
    assert result.reply == [
        f'· create the confidential security release issue "Release 11.1.2" in {RELEASE_TASKS}',
        "Dry run: 1 step would be carried out; nothing was changed.",
    ]
    assert fake_gitlab.mutations() == []


# -- authorization ---------------------------------------------------------------------------------


def test_user_who_is_not_a_release_manager_is_refused_with_one_line(chat_job, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = chat_job("release_issue", "11.1.0", user="developer", in_process=False)

    assert result.returncode == 1
    assert result.reply == ["Error: 'developer' is not an authorized release manager!"]
    assert only_the_job_was_read(fake_gitlab)
    assert fake_gitlab.table("issues") == []


def test_release_manager_usernames_match_whatever_the_case(chat_job, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    chat_job.managers_file.write_text("Other Manager:\n  gitlab.com: Other-MANAGER\n")

    result = chat_job("release_issue", "11.1.0", user="other-manager")

    assert result.returncode == 0, result.output
    assert created_issue(fake_gitlab)["title"] == "Release 11.1"


@pytest.mark.parametrize("dev_user, allowed", [("rita", True), ("release-manager", False)], ids=["dev-name", "gitlab-com-name"])
def test_job_on_the_dev_instance_checks_the_dev_username(chat_job, fake_gitlab, fake_dev, dev_user, allowed):
    from release_tools.sandbox import add_chat_job, add_chat_pipeline, add_project, add_user

    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")  # the dry run looks the issue up there
    if dev_user != "release-manager":
        add_user(fake_dev, dev_user)
    add_project(fake_dev, "gitlab/release-tools")  # release_tools.chatops.projects.dev
    job = add_chat_job(fake_dev, add_chat_pipeline(fake_dev, "gitlab/release-tools", dev_user))
    environ = chat_job.job_environ(
        job,
        "11.1.0",
        user=dev_user,
        TEST="true",
        CI_API_V4_URL=f"{fake_dev.url}/api/v4",
        CI_SERVER_URL=fake_dev.url,
    )

    result = chat_job.run("release_issue", environ=environ, in_process=True)

    if allowed:
        assert result.returncode == 0, result.output
        assert "Running release_issue 11.1.0 for release-manager (dry run)" in result.log
    else:
        assert result.reply == ["Error: 'release-manager' is not an authorized release manager!"]
    assert only_the_job_was_read(fake_dev)


def test_overridden_user_variable_is_refused_when_the_job_says_otherwise(chat_job, fake_gitlab):
    # A developer starts a pipeline with GITLAB_USER_LOGIN overridden to a release manager.
    result = chat_job("release_issue", "11.1.0", user="release-manager", pipeline_user="developer", in_process=False)

    assert result.returncode == 1
    [line] = result.reply
    assert line.startswith("Error: Refusing to run: GITLAB_USER_LOGIN is 'release-manager' but job ")
    assert line.endswith(" runs for developer")
    assert only_the_job_was_read(fake_gitlab)
    assert fake_gitlab.table("issues") == []


def test_pipeline_that_is_not_a_chat_pipeline_is_refused(chat_job, fake_gitlab):
    environ = chat_job.environ("11.1.0", source="web")
    environ["CI_PIPELINE_SOURCE"] = "chat"  # overridden by whoever ran the pipeline

    result = chat_job.run("release_issue", environ=environ, in_process=True)

    assert result.returncode == 1
    assert result.reply == [f"Error: Refusing to run: pipeline {environ['CI_PIPELINE_ID']} is a web pipeline, not a chat pipeline"]
    assert only_the_job_was_read(fake_gitlab)


def test_overridden_pipeline_source_variable_is_refused(chat_job, fake_gitlab):
    result = chat_job("release_issue", "11.1.0", CI_PIPELINE_SOURCE="web")

    assert result.returncode == 1
    assert result.reply[0].startswith("Error: Refusing to run: CI_PIPELINE_SOURCE is 'web' but pipeline ")
    assert result.reply[0].endswith(" is a chat pipeline")
    assert only_the_job_was_read(fake_gitlab)


# -- the job running this, read with its own CI_JOB_TOKEN ----------------------------------------------
#
# Whoever starts a pipeline with variables can set CI_PROJECT_ID, CI_PIPELINE_ID, CI_JOB_ID,
# CI_PIPELINE_SOURCE, GITLAB_USER_LOGIN and even CI_JOB_TOKEN. Each case below is one such
# attempt; each is refused with one line, and GET /job is the only request it makes.


def refused_after_the_identity_check(result, fake):
    assert result.returncode == 1, result.output
    assert len(result.reply) == 1 and result.reply[0].startswith("Error: Refusing to run: "), result.reply
    assert only_the_job_was_read(fake), [(r.method, r.path) for r in fake.log]
    assert fake.mutations() == [] and fake.table("issues") == []
    return result.reply[0]


def developers_web_job(chat_job, **pipeline):
    """What the attacker controls: a running job of a web pipeline of this project, started
    by a developer (who is no release manager) with whatever variables they like."""
    from release_tools.sandbox import add_chat_job

    return add_chat_job(chat_job.fake, chat_job.pipeline("developer", source="web", **pipeline))


@pytest.mark.parametrize("token_of", ["own-job", "release-managers-job"])
def test_release_managers_chat_pipeline_in_another_project_is_refused(chat_job, fake_gitlab, token_of):
    from release_tools.sandbox import add_chat_job, add_chat_pipeline, add_project

    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    other = add_project(fake_gitlab, "gitlab-org/other-tools")
    theirs = add_chat_job(fake_gitlab, add_chat_pipeline(fake_gitlab, "gitlab-org/other-tools", "release-manager"))
    own = developers_web_job(chat_job)
    # The variables point at the release manager's running chat pipeline elsewhere; the
    # token is the developer's own job's, or the release manager's job's (leaked by that
    # project's CI script).
    environ = chat_job.job_environ(
        own if token_of == "own-job" else theirs,
        "11.1.0",
        CI_PROJECT_ID=str(other["id"]),
        CI_PIPELINE_ID=str(theirs["pipeline"]["id"]),
        CI_JOB_ID=str(theirs["id"]),
    )

    line = refused_after_the_identity_check(chat_job.run("release_issue", environ=environ), fake_gitlab)

    if token_of == "own-job":
        assert line == f"Error: Refusing to run: CI_JOB_ID is '{theirs['id']}' but CI_JOB_TOKEN belongs to job {own['id']} of pipeline {own['pipeline']['id']}"
    else:
        assert line == (
            f"Error: Refusing to run: job {theirs['id']} of pipeline {theirs['pipeline']['id']} belongs to "
            "gitlab-org/other-tools, not to gitlab-org/release-tools (release_tools.chatops.projects)"
        )


def test_empty_pipeline_source_with_a_release_managers_web_pipeline_is_refused(chat_job, fake_gitlab):
    from release_tools.sandbox import add_chat_job

    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    job = add_chat_job(fake_gitlab, chat_job.pipeline("release-manager", source="web"))
    environ = chat_job.job_environ(job, "11.1.0", CI_PIPELINE_SOURCE="")

    line = refused_after_the_identity_check(chat_job.run("release_issue", environ=environ), fake_gitlab)

    assert line == f"Error: Refusing to run: pipeline {job['pipeline']['id']} is a web pipeline, not a chat pipeline"


def test_pipeline_id_of_a_finished_job_is_refused(chat_job, fake_gitlab):
    from release_tools.sandbox import add_chat_job

    finished = add_chat_job(fake_gitlab, chat_job.pipeline("release-manager", status="success"), status="success")
    own = developers_web_job(chat_job)
    environ = chat_job.job_environ(own, "11.1.0", CI_PIPELINE_ID=str(finished["pipeline"]["id"]), CI_PIPELINE_SOURCE="chat")

    line = refused_after_the_identity_check(chat_job.run("release_issue", environ=environ), fake_gitlab)

    assert line == (
        f"Error: Refusing to run: CI_PIPELINE_ID is '{finished['pipeline']['id']}' but CI_JOB_TOKEN belongs to "
        f"job {own['id']} of pipeline {own['pipeline']['id']}"
    )


def test_job_token_of_a_finished_job_is_refused(chat_job, fake_gitlab):
    # The release manager's earlier chat job, over: GitLab no longer accepts its token.
    result = chat_job("release_issue", "11.1.0", status="success", in_process=False)

    line = refused_after_the_identity_check(result, fake_gitlab)
    assert line == (
        f"Error: Refusing to run: {fake_gitlab.url.split('//')[1]} refused CI_JOB_TOKEN (401 Unauthorized) "
        "while identifying the job running this: it is not the token of a running job"
    )


def test_job_token_of_another_pipelines_job_is_refused(chat_job, fake_gitlab):
    from release_tools.sandbox import add_chat_job

    # A release manager's running chat job in another pipeline of this project, its token
    # handed to the developer's job, whose own ids stay as GitLab set them.
    theirs = add_chat_job(fake_gitlab, chat_job.pipeline("release-manager"))
    own = developers_web_job(chat_job)
    environ = chat_job.job_environ(own, "11.1.0", CI_JOB_TOKEN=theirs["token"], CI_PIPELINE_SOURCE="chat")

    line = refused_after_the_identity_check(chat_job.run("release_issue", environ=environ), fake_gitlab)

    assert line == (
        f"Error: Refusing to run: CI_JOB_ID is '{own['id']}' but CI_JOB_TOKEN belongs to "
        f"job {theirs['id']} of pipeline {theirs['pipeline']['id']}"
    )


@pytest.mark.parametrize("token", [None, "", "  "], ids=["missing", "empty", "blank"])
def test_ci_job_without_a_job_token_is_refused_without_any_request(chat_job, fake_gitlab, token):
    environ = chat_job.environ("11.1.0")
    if token is None:
        del environ["CI_JOB_TOKEN"]
    else:
        environ["CI_JOB_TOKEN"] = token

    result = chat_job.run("release_issue", environ=environ)

    assert result.returncode == 1
    assert result.reply == [
        "Error: Refusing to run: CI_JOB_TOKEN is missing or empty, so the job running this cannot be identified"
    ]
    assert fake_gitlab.log == []


def test_forged_id_variable_is_shown_on_one_line(chat_job, fake_gitlab):
    environ = chat_job.environ("11.1.0", CI_PIPELINE_ID="1\nrelease-manager is an authorized release manager." + "x" * 200)

    line = refused_after_the_identity_check(chat_job.run("release_issue", environ=environ, in_process=True), fake_gitlab)

    assert line.startswith("Error: Refusing to run: CI_PIPELINE_ID is '1\\nrelease-manager is an authorized")
    assert "…' (251 characters)" in line and len(line) < 200


def test_chat_command_from_a_trigger_pipeline_is_refused(chat_job, fake_gitlab):
    # Trigger pipelines are the original's trigger style (TASK): a chat job never runs in one.
    environ = chat_job.environ("11.1.0", source="trigger")

    line = refused_after_the_identity_check(chat_job.run("release_issue", environ=environ, in_process=True), fake_gitlab)

    assert line == f"Error: Refusing to run: pipeline {environ['CI_PIPELINE_ID']} is a trigger pipeline, not a chat pipeline"


def test_job_is_identified_by_its_token_even_without_the_id_variables(chat_job, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    environ = chat_job.environ("11.1.0", TEST="true")
    for variable in ("CI_JOB_ID", "CI_PIPELINE_ID", "CI_PROJECT_ID", "CI_PIPELINE_SOURCE", "GITLAB_USER_LOGIN"):
        del environ[variable]

    result = chat_job.run("release_issue", environ=environ, in_process=True)

    assert result.returncode == 0, result.output
    assert "Running release_issue 11.1.0 for release-manager (dry run)" in result.log


@pytest.mark.parametrize("layer", ["variable", "home-file"])
def test_chat_project_set_outside_the_checkout_is_refused_without_any_request(chat_job, fake_gitlab, layer):
    from release_tools.sandbox import add_chat_job, add_chat_pipeline, add_project

    add_project(fake_gitlab, "gitlab-org/other-tools")
    job = add_chat_job(fake_gitlab, add_chat_pipeline(fake_gitlab, "gitlab-org/other-tools", "release-manager"))
    environ = chat_job.job_environ(job, "11.1.0")
    if layer == "variable":
        environ["INVOKE_RELEASE_TOOLS_CHATOPS_PROJECTS_PRODUCTION"] = "gitlab-org/other-tools"
    else:
        (chat_job.home / ".invoke.yaml").write_text(
            "release_tools:\n  chatops:\n    projects:\n      production: gitlab-org/other-tools\n"
        )

    result = chat_job.run("release_issue", environ=environ)

    assert result.returncode == 1
    assert result.reply == [
        "Error: Refusing to run: release_tools.chatops.projects.production is set by a variable, ~/.invoke.yaml or "
        "INVOKE_RUNTIME_CONFIG, which whoever starts a pipeline can set; set it in this checkout's invoke.yaml"
    ]
    assert fake_gitlab.log == []


@pytest.mark.parametrize(
    "instance, layer",
    [("production", "variable"), ("dev", "variable"), ("production", "home-file"), ("dev", "runtime-file")],
)
def test_an_instance_moved_off_this_machine_outside_the_checkout_is_refused_before_any_token_is_sent(
    chat_job, fake_gitlab, fake_dev, tmp_path, instance, layer
):
    # Whoever starts a pipeline with variables points an instance (and CI_API_V4_URL with
    # it) at a server of theirs, which would answer GET /job for GitLab and get the tokens.
    evil = "https://gitlab.attacker.example"
    environ = chat_job.environ("11.1.0")
    if instance == "production":
        environ["CI_API_V4_URL"] = f"{evil}/api/v4"
    if layer == "variable":
        environ[f"INVOKE_RELEASE_TOOLS_INSTANCES_{instance.upper()}_URL"] = evil
    else:
        del environ[f"INVOKE_RELEASE_TOOLS_INSTANCES_{instance.upper()}_URL"]
        other = "dev" if instance == "production" else "production"
        others = {"production": fake_gitlab.url, "dev": fake_dev.url}
        text = f"release_tools:\n  instances:\n    {instance}:\n      url: {evil}\n"
        environ[f"INVOKE_RELEASE_TOOLS_INSTANCES_{other.upper()}_URL"] = others[other]
        if layer == "home-file":
            (chat_job.home / ".invoke.yaml").write_text(text)
        else:
            (tmp_path / "runtime.yaml").write_text(text)
            environ["INVOKE_RUNTIME_CONFIG"] = str(tmp_path / "runtime.yaml")

    result = chat_job.run("release_issue", environ=environ)

    assert result.returncode == 1
    assert result.reply == [
        f"Error: Refusing to run: release_tools.instances.{instance}.url is '{evil}', set by a variable, ~/.invoke.yaml "
        "or INVOKE_RUNTIME_CONFIG, which whoever starts a pipeline can set; set it in this checkout's invoke.yaml"
    ]
    assert fake_gitlab.log == [] and fake_dev.log == []


def test_ci_job_on_an_unconfigured_instance_is_refused_without_any_request(chat_job, fake_gitlab):
    result = chat_job("release_issue", "11.1.0", CI_API_V4_URL="https://gitlab.example.com/api/v4")

    assert result.returncode == 1
    assert result.reply[0].startswith("Error: This job runs on 'https://gitlab.example.com/api/v4', which is none")
    assert fake_gitlab.log == []


def test_missing_release_managers_file_is_a_clear_error(chat_job, fake_gitlab):
    chat_job.managers_file.unlink()

    result = chat_job("release_issue", "11.1.0")

    assert result.returncode == 1
    assert result.reply == [
        f"Error: Release managers file '{chat_job.managers_file}' not found: "
        "create it or set release_tools.release_managers_file"
    ]
    assert fake_gitlab.mutations() == []


def test_wrong_bot_token_is_one_line_naming_the_variable(chat_job, fake_gitlab):
    result = chat_job("release_issue", "11.1.0", RELEASE_BOT_PRODUCTION_TOKEN="wrong-" + PRODUCTION_TOKEN[::-1])

    assert result.returncode == 1
    [line] = result.reply
    assert "(401 Unauthorized)" in line and line.endswith("check GITLAB_API_PRIVATE_TOKEN")
    assert PRODUCTION_TOKEN[::-1] not in result.output


def test_missing_bot_token_says_which_ci_variable_to_set_and_makes_no_request(chat_job, fake_gitlab):
    environ = chat_job.environ("11.1.0")
    del environ["RELEASE_BOT_PRODUCTION_TOKEN"]

    result = chat_job.run("release_issue", environ=environ, in_process=True)

    host = fake_gitlab.url.split("//")[1]
    assert result.reply == [
        "Error: GITLAB_API_PRIVATE_TOKEN is not set: export it or put it in the .env file "
        f"(needed to talk to {host}) (in a ChatOps job: set RELEASE_BOT_<INSTANCE>_TOKEN in the project's CI/CD variables)"
    ]
    assert fake_gitlab.log == []


# -- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["wow", "v11.1.0", "11.1.0.rc1", "11.1.0-rc"])
def test_bad_version_is_one_error_line_and_nothing_is_created(chat_job, fake_gitlab, bad):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = chat_job("release_issue", bad)

    assert result.returncode == 1
    [line] = result.reply
    assert line.startswith("Error: Version number must be in the following format: X.Y.Z-rc1 or X.Y.Z")
    assert fake_gitlab.mutations() == []


@pytest.mark.parametrize(
    "chat_input, error",
    [
        ("", "Error: Usage: release_issue VERSION [--security] [--dry-run] (see `release_issue --help`)"),
        ("11.1.0 11.1.1", "Error: Usage: release_issue VERSION [--security] [--dry-run] (see `release_issue --help`)"),
        ("11.1.0 --force", "Error: release_issue does not take '--force' (see `release_issue --help`)"),
        ('11.1.0 "unbalanced', "Error: CHAT_INPUT cannot be split into arguments: No closing quotation"),
    ],
    ids=["nothing", "two-versions", "unknown-flag", "unbalanced-quote"],
)
def test_malformed_input_is_one_error_line(chat_job, fake_gitlab, chat_input, error):
    result = chat_job("release_issue", chat_input)

    assert result.returncode == 1
    assert result.reply == [error]
    assert fake_gitlab.mutations() == []


@pytest.mark.parametrize(
    "chat_input, title, confidential",
    [
        ("11.1.2 \u2014security", "Release 11.1.2", True),  # macOS and iOS turn -- into an em dash
        ("11.1.2 \u2013security", "Release 11.1.2", True),
        ("\u201c11.1.0\u201d", "Release 11.1", False),  # and "..." into curly quotes
        ("\u201811.1.0\u2019", "Release 11.1", False),
    ],
    ids=["em-dash", "en-dash", "double-curly-quotes", "single-curly-quotes"],
)
def test_punctuation_that_chat_clients_autocorrect_reads_as_typed(chat_job, fake_gitlab, chat_input, title, confidential):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = chat_job("release_issue", chat_input)

    assert result.returncode == 0, result.output
    issue = created_issue(fake_gitlab)
    assert (issue["title"], issue["confidential"]) == (title, confidential)


def test_publish_refuses_the_security_flag_it_does_not_take(chat_job, fake_gitlab):
    result = chat_job("publish", "11.1.0 --security")

    assert result.returncode == 1
    assert result.reply == ["Error: publish does not take '--security' (see `publish --help`)"]


def test_unknown_command_lists_the_commands_and_makes_no_request(chat_job, fake_gitlab):
    result = chat_job("deploy", "11.1.0")

    assert result.returncode == 1
    assert result.reply == ["Error: Don't know what to do with 'deploy'! Commands: cherry_pick, publish, qa_issue, release_issue, status, tag"]
    assert fake_gitlab.log == []


@pytest.mark.parametrize(
    "template",
    [
        "11.1.0 $(touch {marker})",
        "11.1.0; touch {marker}",
        "11.1.0 && touch {marker}",
        "'11.1.0 && touch {marker}'",
        "11.1.0`touch {marker}`",
        "11.1.0 | touch {marker}",
        "$(touch {marker})",
        "11.1.0\ntouch {marker}",
    ],
    ids=["subshell", "semicolon", "and", "quoted-and", "backticks", "pipe", "subshell-only", "newline"],
)
def test_shell_metacharacters_in_chat_input_are_inert(chat_job, fake_gitlab, tmp_path, template):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    marker = tmp_path / "pwned"

    result = chat_job("release_issue", template.format(marker=marker), in_process=False)

    assert not marker.exists()
    assert result.returncode == 1
    [line] = result.reply
    assert line.startswith("Error: ")
    assert fake_gitlab.mutations() == []


def test_qa_issue_refuses_refs_that_are_not_refs_before_any_service_runs(chat_job, fake_gitlab, tmp_path):
    marker = tmp_path / "pwned"

    result = chat_job("qa_issue", f"'v11.1.0-rc1..$(touch {marker})'", in_process=False)

    assert not marker.exists()
    assert result.returncode == 1
    assert result.reply[0].startswith("Error: '$(touch ")
    assert fake_gitlab.mutations() == []


# -- late runs: past GitLab's 30-minute reply window ------------------------------------------------


def test_run_that_ends_after_the_reply_window_posts_its_results_through_slack(chat_job, fake_gitlab, slack):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    environ = chat_job.environ("11.1.0", CI_PIPELINE_CREATED_AT=minutes_ago(40), SLACK_CHATOPS_URL=slack.url)

    result = chat_job.run("release_issue", environ=environ, in_process=True)

    assert result.returncode == 0, result.output
    url = created_issue(fake_gitlab)["web_url"]
    [message] = slack.posts
    assert message["channel"] == "#g_delivery"
    assert message["text"].startswith("<@U0RITA> `release_issue 11.1.0` finished after 40 minutes:\n```\n")
    assert f'✓ create the monthly release issue "Release 11.1" in {RELEASE_TASKS}: {url}\nDone: 1 done.\n```' in message["text"]
    assert message["text"].endswith(environ["CI_JOB_URL"])
    assert result.reply == [
        f'✓ create the monthly release issue "Release 11.1" in {RELEASE_TASKS}: {url}',
        "Done: 1 done.",
        "This run ended 40 minutes after the command, past GitLab's 30-minute reply window: "
        "the results were also posted to #g_delivery through Slack.",
    ]
    assert "canary-slack-secret" not in result.output


def test_a_late_reply_through_slack_mentions_only_the_user_and_links_nothing_from_the_input(chat_job, fake_gitlab, slack):
    result = chat_job(
        "release_issue", "'<!channel> <http://evil.example|11.1.0> &'",
        CI_PIPELINE_CREATED_AT=minutes_ago(40), SLACK_CHATOPS_URL=slack.url,
    )

    assert result.returncode == 1
    [message] = slack.posts
    text = message["text"]
    assert text.startswith("<@U0RITA> `release_issue '&lt;!channel&gt; &lt;http://evil.example|11.1.0&gt; &amp;'` finished")
    assert "(got '&lt;!channel&gt; &lt;http://evil.example|11.1.0&gt; &amp;')" in text
    assert text.count("<") == 1 and text.count(">") == 1  # the mention of the user, nothing else
    assert fake_gitlab.mutations() == []


def test_late_run_without_a_webhook_says_its_results_could_not_reach_chat(chat_job, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = chat_job("release_issue", "11.1.0", CI_PIPELINE_CREATED_AT=minutes_ago(31))

    assert result.returncode == 0
    assert result.reply[-1] == (
        "This run ended 31 minutes after the command, past GitLab's 30-minute reply window; "
        "the results could not be posted to chat (SLACK_CHATOPS_URL is not set)."
    )


def test_run_ending_just_before_the_window_closes_counts_as_late(chat_job, fake_gitlab, slack):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = chat_job(
        "release_issue", "11.1.0", CI_PIPELINE_CREATED_AT=minutes_ago(29), SLACK_CHATOPS_URL=slack.url
    )

    assert len(slack.posts) == 1
    assert result.reply[-1].startswith(
        "This run ended 29 minutes after the command, at the end of GitLab's 30-minute reply window: "
    )


def test_slack_failure_does_not_fail_the_run_and_never_shows_the_webhook(chat_job, fake_gitlab, slack):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    slack.fail(500, times=5)

    result = chat_job(
        "release_issue", "11.1.0", CI_PIPELINE_CREATED_AT=minutes_ago(45), SLACK_CHATOPS_URL=slack.url
    )

    assert result.returncode == 0
    assert len(fake_gitlab.table("issues")) == 1
    assert result.reply[-1].endswith(
        "the results could not be posted to chat (Slack refused the message (500 Internal Server Error): check SLACK_CHATOPS_URL)."
    )
    assert "canary-slack-secret" not in result.output  # the webhook's secret path, in any form


def test_run_within_the_reply_window_posts_nothing_to_slack(chat_job, fake_gitlab, slack):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = chat_job("release_issue", "11.1.0", SLACK_CHATOPS_URL=slack.url)

    assert result.returncode == 0
    assert slack.posts == []
    assert len(result.reply) == 2


def test_reply_window_is_configurable(chat_job, fake_gitlab, slack):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = chat_job(
        "release_issue",
        "11.1.0",
        CI_PIPELINE_CREATED_AT=minutes_ago(5),
        INVOKE_RELEASE_TOOLS_CHATOPS_REPLY_WINDOW="300",
        SLACK_CHATOPS_URL=slack.url,
    )

    assert len(slack.posts) == 1
    assert "past GitLab's 5-minute reply window" in result.reply[-1]


def test_long_command_announces_itself_to_the_channel_before_it_starts(chat_job, slack):
    settings_env = chat_job.environ("11.1.0", SLACK_CHATOPS_URL=slack.url)
    from release_tools.config import Settings

    settings = Settings.from_environment(settings_env, bot_tokens=True)
    chat = reply.Chat(settings_env, command_line="tag 11.1.0", settings=settings)

    reply.announce_long_run(chat, 30)

    [message] = slack.posts
    assert message == {
        "channel": "#g_delivery",
        "text": "<@U0RITA> `tag 11.1.0` can take longer than GitLab's 30-minute chat reply window; if it does, "
        f"its results will be posted here when it finishes: {settings_env['CI_JOB_URL']}",
    }


# -- the original's trigger style --------------------------------------------------------------------


def trigger_environ(chat_job, task, version, release_user, pipeline_user, **extra):
    environ = chat_job.environ(None, user=pipeline_user, source="trigger", **extra)
    environ.update(TASK=task, RELEASE_VERSION=version, RELEASE_USER=release_user)
    return environ


def test_trigger_style_runs_the_task_for_release_user_relayed_by_a_trusted_bot(chat_job, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    environ = trigger_environ(
        chat_job, "security_patch_issue", "11.1.2", "release-manager", "chatops-bot",
        INVOKE_RELEASE_TOOLS_CHATOPS_TRUSTED_RELAYS="chatops-bot",
    )

    result = chat_job.run(environ=environ)

    assert result.returncode == 0, result.output
    issue = created_issue(fake_gitlab)
    assert (issue["title"], issue["confidential"]) == ("Release 11.1.2", True)
    assert result.reply == [
        f'✓ create the confidential security release issue "Release 11.1.2" in {RELEASE_TASKS}: {issue["web_url"]}',
        "Done: 1 done.",
    ]


def test_trigger_style_refuses_release_user_from_an_untrusted_pipeline(chat_job, fake_gitlab):
    environ = trigger_environ(chat_job, "monthly_issue", "11.1.0", "release-manager", "developer")

    result = chat_job.run(environ=environ, in_process=True)

    assert result.returncode == 1
    assert result.reply[0].endswith("runs for developer, which is not a trusted relay (release_tools.chatops.trusted_relays)")
    assert fake_gitlab.mutations() == []


def test_trigger_style_refuses_a_relayed_user_who_is_not_a_release_manager(chat_job, fake_gitlab):
    environ = trigger_environ(
        chat_job, "monthly_issue", "11.1.0", "developer", "chatops-bot",
        INVOKE_RELEASE_TOOLS_CHATOPS_TRUSTED_RELAYS="chatops-bot, other-bot",
    )

    result = chat_job.run(environ=environ, in_process=True)

    assert result.reply == ["Error: 'developer' is not an authorized release manager!"]


def test_trigger_style_without_release_version_says_so(chat_job, fake_gitlab):
    environ = trigger_environ(chat_job, "patch_issue", "", "release-manager", "release-manager")

    result = chat_job.run(environ=environ, in_process=True)

    assert result.returncode == 1
    assert result.reply == ["Error: RELEASE_VERSION required! (or CHAT_INPUT: patch_issue VERSION [--dry-run])"]
    assert fake_gitlab.mutations() == []


def test_no_command_at_all_says_how_to_give_one(chat_job, fake_gitlab):
    environ = chat_job.environ("11.1.0")

    result = chat_job.run(environ=environ, in_process=True)

    assert result.returncode == 1
    assert result.reply == [
        "Error: No command: run `python -m release_tools.chatops COMMAND` or set TASK. "
        "Commands: cherry_pick, publish, qa_issue, release_issue, status, tag"
    ]
    assert fake_gitlab.log == []


def test_trigger_style_unknown_task_uses_the_originals_words(chat_job, fake_gitlab):
    environ = trigger_environ(chat_job, "sync", "11.1.0", "release-manager", "release-manager")

    result = chat_job.run(environ=environ, in_process=True)

    assert result.reply[0].startswith("Error: Don't know what to do with 'sync'!")
    assert fake_gitlab.log == []


def test_bot_tokens_are_used_without_touching_the_process_environment(chat_job, fake_gitlab, monkeypatch, capsys):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    monkeypatch.delenv("GITLAB_API_PRIVATE_TOKEN", raising=False)
    environ = chat_job.environ("11.1.0")
    before_process, before_given = dict(os.environ), dict(environ)

    status = chatops.main(["release_issue"], environ)

    assert status == 0, capsys.readouterr()
    assert created_issue(fake_gitlab)["title"] == "Release 11.1"
    assert dict(os.environ) == before_process
    assert environ == before_given
    assert "GITLAB_API_PRIVATE_TOKEN" not in os.environ


# -- outside CI ---------------------------------------------------------------------------------------


def test_outside_ci_the_user_comes_from_the_variables(chat_job, fake_gitlab, tmp_path):
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(chat_job.home),
        "CHAT_INPUT": "11.1.0",
        "GITLAB_USER_LOGIN": "developer",
        "INVOKE_RELEASE_TOOLS_RELEASE_MANAGERS_FILE": str(chat_job.managers_file),
        "TEST": "1",
    }

    refused = chat_job.run("release_issue", environ=environ)
    allowed = chat_job.run("release_issue", environ={**environ, "GITLAB_USER_LOGIN": "release-manager"})

    assert refused.reply == ["Error: 'developer' is not an authorized release manager!"]
    assert allowed.returncode == 0 and allowed.reply[-1].startswith("Dry run:")
    assert fake_gitlab.log == []


def test_outside_ci_without_a_user_is_refused(chat_job):
    result = chat_job.run("release_issue", environ={"PATH": os.environ.get("PATH", ""), "HOME": str(chat_job.home), "CHAT_INPUT": "11.1.0",
                                                    "INVOKE_RELEASE_TOOLS_RELEASE_MANAGERS_FILE": str(chat_job.managers_file)})

    assert result.returncode == 1
    assert result.reply == ["Error: Cannot tell who is running this: set GITLAB_USER_LOGIN to your gitlab.com username"]


# -- pure pieces ---------------------------------------------------------------------------------------


def current_job(project_id=13083, path="gitlab-org/release-tools", status="running", source="chat"):
    from release_tools.gitlab import CurrentJob, Pipeline

    pipeline = Pipeline(id=6, ref="master", status="running", web_url="", project_id=project_id, source=source)
    return CurrentJob(id=8, status=status, web_url="", project_path=path, username="ada", pipeline=pipeline)


@pytest.mark.parametrize(
    "project, job, refusal",
    [
        ("13083", current_job(), None),
        ("13083", current_job(project_id=13084), "job 8 of pipeline 6 belongs to project 13084, not to 13083"),
        ("Gitlab-Org/Release-Tools", current_job(), None),
        ("gitlab-org/release-tools", current_job(path="gitlab-org/release-tools-fork"), "belongs to gitlab-org/release-tools-fork"),
        ("gitlab-org/release-tools", current_job(status="success"), "job 8 of pipeline 6 is success"),
        ("gitlab-org/release-tools", current_job(source="web"), "pipeline 6 is a web pipeline, not a chat pipeline"),
    ],
    ids=["id", "other-id", "path-any-case", "other-path", "finished", "web"],
)
def test_the_job_must_be_a_running_chat_job_of_the_configured_project(project, job, refusal):
    from release_tools.errors import NotAuthorizedError

    if refusal is None:
        identity.check_job(job, {}, project, ("chat",))
    else:
        with pytest.raises(NotAuthorizedError, match=refusal):
            identity.check_job(job, {}, project, ("chat",))


def test_chat_projects_come_from_the_checkouts_invoke_yaml_and_nothing_else(tmp_path, monkeypatch):
    from release_tools.config import chat_projects_of_checkout

    (tmp_path / "invoke.yaml").write_text("release_tools:\n  chatops:\n    projects:\n      production: 278964\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".invoke.yaml").write_text("release_tools:\n  chatops:\n    projects:\n      dev: evil/project\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("INVOKE_RELEASE_TOOLS_CHATOPS_PROJECTS_PRODUCTION", "evil/project")
    monkeypatch.setenv("INVOKE_RUNTIME_CONFIG", str(home / ".invoke.yaml"))

    assert chat_projects_of_checkout(tmp_path) == {"production": "278964", "dev": "gitlab/release-tools"}


def test_a_broken_invoke_yaml_of_the_checkout_is_one_line_naming_it(tmp_path):
    from release_tools.config import chat_projects_of_checkout
    from release_tools.errors import ConfigurationError

    (tmp_path / "invoke.yaml").write_text("release_tools:\n  chatops: [\n")

    with pytest.raises(ConfigurationError) as raised:
        chat_projects_of_checkout(tmp_path)

    assert str(raised.value) == (
        f"configuration file {str(tmp_path / 'invoke.yaml')!r} is not valid YAML: "
        "expected the node content, but found '<stream end>' (line 3, column 1)"
    )


@pytest.mark.parametrize("value", ["release-tools", "../etc/x", "group/ project", "１２３"], ids=["no-group", "dots", "space", "fullwidth"])
def test_a_chat_project_that_is_neither_a_path_nor_an_id_is_a_configuration_error(tmp_path, value):
    from release_tools.config import chat_projects_of_checkout
    from release_tools.errors import ConfigurationError

    (tmp_path / "invoke.yaml").write_text(f"release_tools:\n  chatops:\n    projects:\n      production: '{value}'\n")

    with pytest.raises(ConfigurationError, match=r"release_tools\.chatops\.projects\.production must be a project path"):
        chat_projects_of_checkout(tmp_path)


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["v11.1.0-rc1..v11.1.0-rc2"], ("v11.1.0-rc1", "v11.1.0-rc2", None)),
        (["v11.1.0-rc1", "v11.1.0-rc2"], ("v11.1.0-rc1", "v11.1.0-rc2", None)),
        (["v11.0.0..11-1-stable", "11.1.0-rc3"], ("v11.0.0", "11-1-stable", "11.1.0-rc3")),
        (["11.1.0+rc9.ee.0..11.1.0+rc10.ee.0"], ("11.1.0+rc9.ee.0", "11.1.0+rc10.ee.0", None)),
    ],
    ids=["range", "two-refs", "with-version", "omnibus-tags"],
)
def test_qa_issue_arguments(arguments, expected):
    parsed = COMMANDS.parse("qa_issue", arguments).arguments

    assert (parsed["from_ref"], parsed["to_ref"], parsed["version"]) == expected


@pytest.mark.parametrize(
    "arguments",
    [["v1..v2..v3"], ["v1...v2"], ["-x..v2"], ["v1"], ["v1..v2", "11.1.0", "extra"], ["v1..v2/"], ["v1..@{-1}"], ["..v2"]],
    ids=["three-dots-twice", "three-dots", "option", "one-ref", "too-many", "trailing-slash", "reflog", "empty-from"],
)
def test_qa_issue_refuses_what_is_not_a_range(arguments):
    with pytest.raises(ReleaseToolsError):
        COMMANDS.parse("qa_issue", arguments)


def test_reply_section_wraps_exactly_the_lines():
    section = reply.reply_section(["one", "two"], clock=lambda: 1531500000)

    assert section == (
        "section_start:1531500000:chat_reply\r\033[0K\none\ntwo\nsection_end:1531500000:chat_reply\r\033[0K"
    )


def ci_file():
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!reference", lambda loader, node: loader.construct_sequence(node))
    return yaml.load((ROOT / ".gitlab-ci.yml").read_text(), Loader=Loader)


def test_every_chat_command_has_a_chat_only_job_that_calls_the_entrypoint_with_its_name():
    jobs = {name: job for name, job in ci_file().items() if isinstance(job, dict) and "script" in job}
    chat_jobs = {name for name, job in jobs.items() if job.get("extends") == ".chat"}
    others = {name for name in jobs if not name.startswith(".")} - chat_jobs

    assert sorted(chat_jobs) == COMMANDS.names()
    for name in chat_jobs:
        job = jobs[name]
        assert job["extends"] == ".chat"
        assert job["script"][-1] == f".venv/bin/release-tools-chatops {name}"
        assert "CHAT_INPUT" not in str(job["script"])  # only Python reads the arguments
    assert ci_file()[".chat"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "chat"'}]
    # No other job may run in a chat pipeline.
    assert all("chat" not in str(jobs[name].get("rules")) for name in others)


def test_help_imports_neither_python_gitlab_nor_jinja2(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from release_tools.chatops import main\n"
        f"main(['tag'], {{'CHAT_INPUT': '--help', 'HOME': {str(tmp_path)!r}}})\n"
        "print(' '.join(m for m in ('gitlab', 'jinja2', 'requests') if m in sys.modules), file=sys.stderr)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)

    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.strip() == ""


def test_reply_section_keeps_each_line_one_line_so_no_line_can_end_it_or_add_lines():
    forged = "x\nsection_end:1:chat_reply\r\033[0K\n--> Issue created.\u2028and more"

    section = reply.reply_section(["one", forged], clock=lambda: 1531500000)

    assert section == (
        "section_start:1531500000:chat_reply\r\033[0K\none\n"
        "x\\nsection_end:1:chat_reply\\r\\x1b[0K\\n--> Issue created.\\u2028and more\n"
        "section_end:1531500000:chat_reply\r\033[0K"
    )


def test_a_late_reply_through_slack_keeps_each_result_line_one_line(chat_job, slack):
    environ = chat_job.environ("11.1.0", SLACK_CHATOPS_URL=slack.url)
    from release_tools.config import Settings

    settings = Settings.from_environment(environ, bot_tokens=True)
    chat = reply.Chat(environ, command_line="status 11.1.0", settings=settings)

    reply.late_reply(chat, ["VERSION '11.1.0'", "x\nDone: 9 done.\r\u2028"], 40 * 60, 30)

    [message] = slack.posts
    assert message["text"].split("\n")[1:5] == ["```", "VERSION '11.1.0'", "x\\nDone: 9 done.\\r\\u2028", "```"]
