"""ChatOps as one more caller of the task collection: the policy table decides what chat may
set, invoke's parser reads the arguments over the task's own, the help comes from the task,
and a task gains a chat flag without any change to ChatOps (issue 10, item 6)."""

from __future__ import annotations

import dataclasses
import os

import pytest
from invoke import Collection, Config, Context

from release_tools.chatops import main
from release_tools.chatops.commands import Commands
from release_tools.chatops.entrypoint import task_context
from release_tools.chatops.policy import POLICIES, Policy
from release_tools.cli import CALLER_KEY, ReleaseTask, caller_of, ns, qualify
from release_tools.errors import InvalidVersionError, UsageError
from tests.conftest import DEV_TOKEN, RELEASE_TASKS
from release_tools.sandbox import add_milestone
from tests.repos import GIT_ENV

COMMANDS = Commands.default()


def only_the_job_was_read(fake):
    return [(r.method, r.path) for r in fake.log] == [("GET", "/job")]


# -- a task that gains a flag, in a test collection ------------------------------------------------


def collection_with_a_new_publish_flag(calls):
    """A collection whose `publish` is the real one's signature, help and checks plus a
    boolean `--notify-ops`, and a policy table that lets chat set it. Its body records how
    it was called and returns an executed plan of one step."""
    real = ns["publish"]

    def publish(c, version, dry_run=False, verbose=False, notify_ops=False):
        from release_tools.cli import _settings
        from release_tools.plan import Plan, Step, Target, execute

        settings = _settings(c, dry_run=dry_run, verbose=verbose)
        calls.append({"version": version, "dry_run": settings.dry_run, "notify_ops": notify_ops,
                      "dev_token": settings.has_token("dev"), "requester": caller_of(c).requester})
        plan = Plan(settings.task, version)
        plan.add(Step("slack.post", "tell the ops channel", Target(channel="#ops"), action=lambda: "told"))
        return execute(plan, settings.run)

    publish.__doc__ = real.__doc__
    task = ReleaseTask(publish, checks=real.checks, help={**real.help, "notify_ops": "tell the ops channel as well"})
    collection = Collection(task)
    qualify(collection)
    policies = {**POLICIES, "publish": dataclasses.replace(POLICIES["publish"], flags=("dry_run", "notify_ops"))}
    return Commands(collection, policies)


def test_a_flag_a_task_gains_shows_in_chat_help_and_parses_once_the_policy_allows_it():
    commands = collection_with_a_new_publish_flag([])

    help_lines = commands.help("publish")
    parsed = commands.parse("publish", ["11.1.0", "--notify-ops"])

    assert help_lines[0] == "publish VERSION [--dry-run] [--notify-ops]"
    assert "  --notify-ops   tell the ops channel as well" in help_lines
    assert parsed.arguments == {"version": "11.1.0", "dry_run": False, "notify_ops": True}
    assert parsed.task is commands.collection["publish"]
    # The real collection and table know no such flag.
    with pytest.raises(UsageError, match=r"^publish does not take '--notify-ops' \(see `publish --help`\)$"):
        COMMANDS.parse("publish", ["11.1.0", "--notify-ops"])


def test_a_chat_job_runs_the_test_collections_task_with_the_new_flag(chat_job, fake_gitlab, fake_dev):
    calls = []
    commands = collection_with_a_new_publish_flag(calls)
    environ = chat_job.environ("--notify-ops 11.1.0 --dry-run")

    result = chat_job.run("publish", environ=environ, in_process=True, commands=commands)

    assert result.returncode == 0, result.output
    # The bot token reached the task's Settings, and so did the verified requester.
    assert calls == [{"version": "11.1.0", "dry_run": True, "notify_ops": True, "dev_token": True,
                      "requester": "release-manager"}]
    assert result.reply == ["· tell the ops channel", "Dry run: 1 step would be carried out; nothing was changed."]
    assert only_the_job_was_read(fake_gitlab) and fake_dev.log == []
    assert DEV_TOKEN not in result.output


# -- what the policy does not allow ----------------------------------------------------------------


@pytest.mark.parametrize(
    "chat_input, flag",
    [("11.1.0 --skip-ce", "--skip-ce"), ("--skip-omnibus 11.1.0", "--skip-omnibus"), ("11.1.0 --json", "--json"),
     ("11.1.0 -y", "-y"), ("11.1.0 --skip-ee=yes", "--skip-ee")],
    ids=["skip-ce", "flag-first", "json", "short-yes", "with-value"],
)
def test_a_flag_of_the_task_that_chat_may_not_set_is_refused_in_one_line_before_any_other_request(
    chat_job, fake_gitlab, remotes, slack, chat_input, flag
):
    before = remotes.digests()

    result = chat_job("tag", chat_input, SLACK_CHATOPS_URL=slack.url, **remotes.env(), **GIT_ENV)

    assert result.returncode == 1
    assert result.reply == [f"Error: tag takes '{flag}' on the command line only, not in chat (see `tag --help`)"]
    assert only_the_job_was_read(fake_gitlab)  # the identity check, then nothing
    assert slack.posts == []  # not even the "this can take long" announcement
    assert "Running tag" not in result.log
    assert remotes.digests() == before


@pytest.mark.parametrize(
    "command, tokens, message",
    [
        ("tag", ["11.1.0", "--force"], "tag does not take '--force' (see `tag --help`)"),
        ("tag", ["--force", "11.1.0"], "tag does not take '--force' (see `tag --help`)"),
        ("tag", ["11.1.0", "--"], "tag does not take '--' (see `tag --help`)"),
        ("tag", ["11.1.0", "--dry-run=yes"], "Usage: tag VERSION [--dry-run] [--security] (see `tag --help`)"),
        ("tag", [], "Usage: tag VERSION [--dry-run] [--security] (see `tag --help`)"),
        ("tag", ["11.1.0", "tag"], "Usage: tag VERSION [--dry-run] [--security] (see `tag --help`)"),
        ("qa_issue", ["v1", "v2", "--version"], "Usage: qa_issue FROM_REF TO_REF [--version VERSION] [--dry-run] "
                                                "(see `qa_issue --help`)"),
        ("publish", ["11.1.0", "--security"], "publish does not take '--security' (see `publish --help`)"),
    ],
    ids=["unknown-flag", "unknown-flag-first", "double-dash", "value-for-a-switch", "nothing", "name-again",
         "flag-without-its-value", "security-for-publish"],
)
def test_what_the_parser_refuses_is_one_line_naming_the_command(command, tokens, message):
    with pytest.raises(UsageError) as error:
        COMMANDS.parse(command, tokens)

    assert str(error.value) == message


def test_the_task_checks_its_arguments_while_chat_parses_them():
    with pytest.raises(InvalidVersionError, match="^Version number must be in the following format"):
        COMMANDS.parse("tag", ["11.1.0.rc1"])


def test_chat_takes_short_flags_combined_and_the_security_channel_sets_security():
    parsed = COMMANDS.parse("tag", ["-R", "11.1.0"], security_channel=True)

    assert parsed.arguments == {"version": "11.1.0", "dry_run": True, "security": True}
    assert COMMANDS.parse("release_issue", ["-Rs", "11.1.2"]).arguments == {"version": "11.1.2", "security": True,
                                                                            "dry_run": True}


# -- the commands and their help come from the table and the tasks --------------------------------


def test_chat_help_lists_exactly_the_commands_of_the_policy_table(chat_job, fake_gitlab):
    chat_commands = sorted(name for name, policy in POLICIES.items() if not policy.trigger_only)

    listed = chat_job("--help", None)
    only_tag = Commands(ns, {"tag": POLICIES["tag"], "monthly_issue": POLICIES["monthly_issue"]})

    assert listed.reply == ["Commands (`/chatops run COMMAND --help` for each):"] + [
        f"  {COMMANDS.synopsis(name)}" for name in chat_commands
    ]
    assert chat_commands == ["cherry_pick", "publish", "qa_issue", "release_issue", "status", "tag"]
    assert only_tag.overview() == ["Commands (`/chatops run COMMAND --help` for each):", "  tag VERSION [--dry-run] [--security]"]
    assert fake_gitlab.log == []


def test_a_trigger_only_command_is_no_chat_command(chat_job, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = chat_job("monthly_issue", "11.1.0")

    assert result.returncode == 1
    assert result.reply == ["Error: Don't know what to do with 'monthly_issue'! Commands: cherry_pick, publish, qa_issue, release_issue, status, tag"]
    assert fake_gitlab.log == []


def test_help_names_what_the_security_channel_implies_and_the_chat_form_of_qa_issue():
    tag_help = COMMANDS.help("tag", "#security-release")
    qa_help = COMMANDS.help("qa_issue")

    [security] = [line for line in tag_help if line.startswith("  --security")]
    assert security.endswith(ns["tag"].help["security"] + " (implied in #security-release)")
    assert not [line for line in tag_help if "--skip-ce" in line or "--json" in line]  # not chat's to set
    assert qa_help[-1] == "Also: /chatops run qa_issue FROM..TO [VERSION], the same as qa_issue FROM TO --version VERSION"
    assert not [line for line in COMMANDS.help("tag") if "implied" in line]


def test_every_policy_runs_a_task_of_the_collection_with_flags_it_has():
    for name, policy in POLICIES.items():
        assert ns[policy.task] is COMMANDS.task(name)
        names = {argument.name for argument in COMMANDS.arguments(name)}
        assert set(policy.flags) <= names, name


def test_a_policy_naming_a_flag_its_task_lacks_is_a_mistake_in_the_table():
    commands = Commands(ns, {"publish": Policy("publish", flags=("dry_run", "security"))})

    with pytest.raises(ValueError, match="'publish' names 'security', which is no flag of task 'publish'"):
        commands.help("publish")


def test_help_leaves_the_tasks_own_help_texts_in_place():
    before = dict(ns["tag"].help)

    COMMANDS.help("tag")
    COMMANDS.parse("tag", ["11.1.0"])

    assert ns["tag"].help == before  # invoke's get_arguments() pops them off the task it is called on


# -- the Context the task runs with ------------------------------------------------------------------


def test_the_task_context_holds_what_the_command_line_would_see_and_the_job_environment(tmp_path):
    environ = {"HOME": str(tmp_path), "INVOKE_RELEASE_TOOLS_LABELS_RELEASE": "FromChat", "RELEASE_BOT_DEV_TOKEN": "bot-dev",
               "DEV_API_PRIVATE_TOKEN": "someone-elses"}
    before = dict(os.environ)

    context = task_context(environ, "rita", ns)

    tree = context.config["release_tools"]
    assert tree["labels"]["release"] == "FromChat"  # a variable, as invoke would read it
    assert tree["milestone_group"] == ns.configuration()["release_tools"]["milestone_group"]  # a shipped default
    assert tree["confirm"] is False  # chat never asks
    caller = caller_of(context)
    assert caller.requester == "rita"
    assert caller.environ["DEV_API_PRIVATE_TOKEN"] == "bot-dev"
    assert environ["DEV_API_PRIVATE_TOKEN"] == "someone-elses" and dict(os.environ) == before


@pytest.mark.parametrize("value", [{"environ": {"GITLAB_API_PRIVATE_TOKEN": "x"}, "requester": "mallory"}, "mallory"])
def test_no_configuration_value_can_pose_as_a_caller(value):
    context = Context(config=Config(overrides={CALLER_KEY: value}, lazy=True))

    assert caller_of(context) is None


def test_tag_from_chat_credits_the_release_manager_in_slack(chat_job, remotes, slack):
    result = chat_job("tag", "11.1.1", SLACK_TAG_URL=slack.url, CE="false", OG="false", **remotes.env(), **GIT_ENV)

    assert result.returncode == 0, result.output
    assert [post["text"] for post in slack.posts] == ["_release-manager_ tagged `11.1.1-ee`"]


def test_json_switched_on_for_the_job_leaves_the_reply_alone(chat_job, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = chat_job("release_issue", "11.1.0", in_process=False, TEST="true", RELEASE_TOOLS_JSON="1",
                      INVOKE_RELEASE_TOOLS_JSON="1")

    assert result.returncode == 0, result.output
    assert result.reply == [
        f'· create the monthly release issue "Release 11.1" in {RELEASE_TASKS}',
        "Dry run: 1 step would be carried out; nothing was changed.",
    ]
    assert '"schema"' not in result.output


def test_a_failed_step_is_the_reply_and_the_exit_status(chat_job, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    fake_gitlab.fail(500, times=10, method="POST", path="/issues")

    result = chat_job("release_issue", "11.1.0")

    assert result.returncode == 1
    assert result.reply[0].startswith(f'✗ create the monthly release issue "Release 11.1" in {RELEASE_TASKS}: ')
    assert result.reply[-1] == "Failed: 1 failed."
    assert fake_gitlab.table("issues") == []


def test_a_command_that_needs_no_release_manager_still_identifies_who_runs_it(chat_job, fake_gitlab, fake_dev):
    from tests.chatops_support import add_release_pipelines

    add_release_pipelines(fake_dev)
    open_publish = Commands(ns, {"publish": dataclasses.replace(POLICIES["publish"], release_manager=False)})

    refused = chat_job("publish", "11.1.0 --dry-run", user="developer")
    allowed = chat_job.run("publish", environ=chat_job.environ("11.1.0 --dry-run", user="developer"), in_process=True,
                           commands=open_publish)

    assert refused.reply == ["Error: 'developer' is not an authorized release manager!"]
    assert allowed.returncode == 0, allowed.output
    assert "Running publish 11.1.0 --dry-run for developer (not a release manager) (dry run)" in allowed.log
    assert [(r.method, r.path) for r in fake_gitlab.log] == [("GET", "/job"), ("GET", "/job")]
    assert fake_dev.mutations() == []
