"""Untrusted input: only ASCII digits are digits in every parser (one shared table of
look-alikes, tests/lookalikes.py), and user input shows in messages quoted, escaped and cut,
so that it can never forge a line; from the parsers, the CLI and the ChatOps entrypoint."""

from __future__ import annotations

import re

import pytest
from invoke.exceptions import Exit

from release_tools import changelog, qa, release_managers
from release_tools.chatops import identity
from release_tools.chatops.commands import Commands
from release_tools.chart_release import parse_versions
from release_tools.config import Settings, check_layers
from release_tools.output import protect
from release_tools.errors import (
    LINE_LIMIT,
    ConfigurationError,
    InvalidRefError,
    InvalidVersionError,
    NotAuthorizedError,
    ReleaseToolsError,
    UsageError,
    non_ascii_note,
    one_line,
    quote,
    user_errors,
)
from release_tools.helm import ChartVersion, parse_app_version
from release_tools.version import OmnibusVersion, Version
from tests.chatops_support import minutes_ago
from tests.conftest import RELEASE_TASKS
from release_tools.sandbox import add_milestone
from tests.lookalikes import DIGITS, ODDITY_IDS, params, spoofs
from tests.repos import GIT_ENV

#: What no printed line may hold: C0 and C1 controls (newline, CR, ESC), line and paragraph
#: separators, bidi controls and other format characters, lone surrogates.
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

#: An error line that quotes a value may say a little around it, never the whole value.
SHORT = 300

FORGED = "ada-example (Ada Example) is an authorized release manager."


def assert_one_short_line(message: str, start: str = "") -> None:
    assert "\n" not in message and not UNPRINTABLE.search(message), message
    assert len(message) < SHORT, f"{len(message)} characters"
    assert message.startswith(start), message


def lines_of(text: str) -> list[str]:
    """Lines as a terminal or a log viewer splits them (CR, U+2028 and the rest included)."""
    return text.splitlines()


# -- the parsers, each with the whole table ---------------------------------------------------


@pytest.mark.parametrize("text", **params("11.1.0-rc1-ee"))
def test_a_gitlab_version_with_a_look_alike_is_refused(text):
    with pytest.raises(InvalidVersionError) as error:
        Version.parse(text)

    assert_one_short_line(str(error.value), "Version number must be in the following format")


@pytest.mark.parametrize("text", **params("11.1.1+rc1.ee.0"))
def test_an_omnibus_version_with_a_look_alike_is_refused(text):
    with pytest.raises(InvalidVersionError) as error:
        OmnibusVersion.parse(text)

    assert_one_short_line(str(error.value), "Omnibus version must be in the following format")


@pytest.mark.parametrize("text", **params("1.1.1"))
def test_a_chart_version_with_a_look_alike_is_refused(text):
    with pytest.raises(InvalidVersionError) as error:
        ChartVersion.parse(text)

    assert_one_short_line(str(error.value), "Version number must be in the following format: X.Y.Z (got ")


@pytest.mark.parametrize("text", **params("11.1.1-rc1"))
def test_the_gitlab_version_a_chart_ships_with_a_look_alike_is_refused(text):
    with pytest.raises(InvalidVersionError):
        parse_app_version(text)
    with pytest.raises(InvalidVersionError) as error:
        parse_versions("", text)

    assert_one_short_line(str(error.value), "Version number must be in the following format: X.Y.Z or X.Y.Z-rcN")


@pytest.mark.parametrize("text", **params("v11.1.1-rc1", skip=("underscore-in-number",)))
def test_a_ref_with_a_look_alike_is_refused(text):
    with pytest.raises(InvalidRefError) as error:
        qa.check_ref(text)

    assert_one_short_line(str(error.value))
    assert " is not a tag or branch name" in str(error.value)
    assert qa.ee_ref(text) == text  # and it is no version tag to add -ee to


@pytest.mark.parametrize("text", **params("v11.1.1-rc1..11-1-stable", skip=("underscore-in-number",)))
def test_a_qa_range_with_a_look_alike_is_refused(text):
    with pytest.raises((UsageError, InvalidRefError, InvalidVersionError)) as error:
        Commands.default().parse("qa_issue", [text])

    assert_one_short_line(str(error.value))


@pytest.mark.parametrize("text", **params("See merge request gitlab-org/gitlab-ce!11", skip=ODDITY_IDS))
def test_a_merge_request_mention_with_a_look_alike_mentions_nothing(text):
    assert qa.mentioned_merge_requests([text]) == []


@pytest.mark.parametrize("text", **params("ada.example-1", skip=("underscore-in-number",)))
def test_a_username_with_a_look_alike_is_no_username(text):
    assert not release_managers.is_username(text)


@pytest.mark.parametrize("value", **params("!1211"))
def test_a_changelog_merge_request_with_a_look_alike_is_refused(value):
    with pytest.raises(ValueError) as error:
        changelog.merge_request_id(value)

    assert_one_short_line(str(error.value), "merge_request ")


#: Stand-ins for a number that int() or isdigit() take, beyond the table's digits.
NUMBER_FORMS = [("underscore", "1_0"), ("plus", "+3"), ("space", "1 2"), ("no-break-space", " 12\u00a0")]
FLOAT_FORMS = [("exponent", "1e3"), ("inf", "inf"), ("nan", "nan"), ("hex", "0x10")]


@pytest.mark.parametrize(
    "text", [text for _, text in DIGITS + NUMBER_FORMS], ids=[name for name, _ in DIGITS + NUMBER_FORMS]
)
def test_a_ci_id_with_a_look_alike_is_not_an_id(text):
    assert not identity._is_id(text)


@pytest.mark.parametrize(
    "text",
    [digit * 2 for _, digit in DIGITS] + [text for _, text in NUMBER_FORMS + FLOAT_FORMS],
    ids=[name for name, _ in DIGITS + NUMBER_FORMS + FLOAT_FORMS],
)
def test_a_configured_number_with_a_look_alike_is_refused(text):
    with pytest.raises(ConfigurationError) as concurrency:
        Settings.from_mapping({"env_file": "", "publish": {"concurrency": text}}, environ={})
    with pytest.raises(ConfigurationError) as timeout:
        Settings.from_mapping({"env_file": "", "api": {"timeout": text}}, environ={})
    with pytest.raises(ConfigurationError) as variable:
        check_layers({}, {"INVOKE_RELEASE_TOOLS_PUBLISH_CONCURRENCY": text})

    assert_one_short_line(str(concurrency.value), "release_tools.publish.concurrency must be a whole number")
    assert_one_short_line(str(timeout.value), "release_tools.api.timeout must be a number of seconds above 0")
    assert_one_short_line(str(variable.value), "INVOKE_RELEASE_TOOLS_PUBLISH_CONCURRENCY must be a whole number, not ")


def test_ascii_numbers_still_configure():
    settings = Settings.from_mapping({"env_file": "", "publish": {"concurrency": "8"}, "api": {"timeout": "2.5"}}, environ={})

    assert (settings.publish.concurrency, settings.api_timeout) == (8, 2.5)
    check_layers({}, {"INVOKE_RELEASE_TOOLS_PUBLISH_CONCURRENCY": "8", "INVOKE_RELEASE_TOOLS_CHATOPS_REPLY_WINDOW": "90"})


@pytest.mark.parametrize(
    "text", ["1" * 10240, "1" * 5000 + ".1.0", "11.1.0-rc" + "1" * 5000], ids=["10kb", "huge-major", "huge-rc"]
)
def test_a_huge_version_is_a_short_one_line_error_not_a_crash(text):
    # int() refuses more than 4300 digits with a ValueError: a traceback, before.
    with pytest.raises(InvalidVersionError) as error:
        Version.parse(text)

    assert_one_short_line(str(error.value))
    assert f"({len(text)} characters)" in str(error.value)


def test_a_release_manager_look_alike_is_not_the_release_manager(tmp_path):
    # str.lower() turns the Kelvin sign into k: a look-alike would match `kate`.
    path = tmp_path / "release_managers.yml"
    path.write_text("Kate:\n  gitlab.com: kate\nAda Example:\n  gitlab.com: ada-example\n")
    settings = Settings.from_mapping({"env_file": "", "release_managers_file": str(path)}, environ={})
    assert "\u212aate".lower() == "kate"

    for lookalike in ("\u212aate", "\u0430da-example", "ada\u2010example", "ada-example\u200b", "\uff4bate"):
        with pytest.raises(NotAuthorizedError) as error:
            release_managers.check_release_manager(settings, lookalike)
        assert_one_short_line(str(error.value))
        assert "is not a GitLab username" in str(error.value)
        assert release_managers.load(path).find(lookalike) is None
    assert release_managers.check_release_manager(settings, " Kate ").username == "kate"


def test_the_note_names_the_character_that_is_not_ascii():
    assert non_ascii_note("1\uff11.1.0") == ": '\uff11' (U+FF11 FULLWIDTH DIGIT ONE) is not ASCII"
    assert non_ascii_note("11.1.0") == ""
    with pytest.raises(InvalidVersionError, match="U\\+0661 ARABIC-INDIC DIGIT ONE"):
        Version.parse("11.1.0-rc\u0661")


# -- quoting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, shown",
    [
        ("11.1.0", "'11.1.0'"),
        ("a\nb", "'a\\nb'"),
        ("a\r\nb", "'a\\r\\nb'"),
        ("\x1b[2K\x1b[1Aok", "'\\x1b[2K\\x1b[1Aok'"),
        ("a\u2028b\u2029c", "'a\\u2028b\\u2029c'"),
        ("\u202egnp.exe", "'\\u202egnp.exe'"),
        ("\u2066x\u2069", "'\\u2066x\\u2069'"),
        ("a\u200bb", "'a\\u200bb'"),
        ("a\tb\x00", "'a\\tb\\x00'"),
        ("\udcff", "'\\udcff'"),
        ("back\\slash", "'back\\\\slash'"),
        ("it's", "\"it's\""),
        ("1\uff11", "'1\uff11'"),  # printable: shown, and the note says what it is
        (12, "12"),
        (None, "None"),
    ],
    ids=[
        "plain", "newline", "crlf", "ansi", "separators", "bidi-override", "bidi-isolate", "zero-width",
        "tab-nul", "surrogate", "backslash", "quote", "fullwidth", "int", "none",
    ],
)
def test_quote_escapes_what_is_not_printable(value, shown):
    assert quote(value) == shown


def test_quote_cuts_a_long_value_and_says_how_long_it_was():
    shown = quote("9" * 10240)

    assert shown == "'" + "9" * 60 + "\u2026' (10240 characters)"
    assert len(quote("\n" * 1000)) < 90  # escapes count towards the limit


def test_quote_masks_a_secret_before_cutting_so_no_part_of_it_shows():
    secret = "canary-secret-cut-in-half-4c1d"
    protect(secret)

    shown = quote("x" * 45 + secret)

    assert "canary-secret" not in shown and "<hidden>" in shown


def test_one_line_escapes_and_cuts_whatever_it_is_given():
    line = one_line("Error: a\nb\r\x1b[0K\u2028" + "x" * 5000)

    assert "\n" not in line and not UNPRINTABLE.search(line)
    assert line.startswith("Error: a\\nb\\r\\x1b[0K\\u2028x")
    # 26 characters once escaped, then the 5000 x
    assert len(line) < LINE_LIMIT + 50 and line.endswith(f"\u2026 (cut at {LINE_LIMIT} of 5026 characters)")


def test_user_errors_prints_one_line_without_control_characters_whatever_the_message():
    with pytest.raises(Exit) as exit_:
        with user_errors():
            raise ReleaseToolsError(f"x is fine\n{FORGED}\x1b[0m\u2028" + "y" * 3000)

    assert exit_.value.code == 1
    message = exit_.value.message
    assert len(lines_of(message)) == 1 and not UNPRINTABLE.search(message)
    assert message.startswith("Error: x is fine\\n" + FORGED) and len(message) < LINE_LIMIT + 50


# -- the CLI -------------------------------------------------------------------------------------

#: A few of the table's variants of `11.1.0-rc1` for the subprocess tests (each parser has the
#: whole table above).
CLI_CASES = {
    name: text
    for name, text in spoofs("11.1.0-rc1")
    if name
    in (
        "fullwidth",
        "arabic-indic-last",
        "devanagari",
        "superscript",
        "math-bold",
        "fullwidth-full-stop",
        "minus-sign",
        "small-capital-r",
        "underscore-in-number",
        "leading-plus",
        "no-break-space-before",
        "newline-inside",
    )
}


@pytest.mark.parametrize("text", CLI_CASES.values(), ids=CLI_CASES.keys())
def test_cli_tag_dry_run_of_a_look_alike_version_is_one_line_and_clones_nothing(
    invoke, config, remotes, fake_gitlab, fake_dev, tmp_path, text
):
    temp = tmp_path / "temp"
    temp.mkdir()
    before = remotes.digests()

    result = invoke("-f", config, "tag", text, "--dry-run", env={"TMPDIR": str(temp)})

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.endswith("\n")
    assert_one_short_line(result.stderr[:-1], "Error: Version number must be in the following format")
    assert list(temp.iterdir()) == []  # no release clone was made
    assert remotes.digests() == before
    assert fake_gitlab.log == [] and fake_dev.log == []


@pytest.mark.parametrize(
    "args",
    [
        ("monthly_issue", "1\uff11.1.0"),
        ("release_issue", "11.1.0-rc\u0661"),
        ("publish", "11.1.\U0001d7d9"),
        ("patch_merge_request", "11\uff0e1.1"),
        ("helm.tag_chart", "0.3.\u00b9", "11.1.1"),
        ("helm.tag_chart", "0.3.1", "11.1.\u0967"),
        ("qa_issue", "v1\uff11.1.0-rc1", "v11.1.0-rc2"),
        ("qa_issue", "v11.1.0-rc1", "v11.1.0\u2212rc2"),
    ],
    ids=[
        "monthly_issue", "release_issue", "publish", "patch_merge_request",
        "chart-version", "chart-app-version", "qa-from", "qa-to",
    ],
)
def test_cli_tasks_refuse_look_alikes_with_one_line_before_any_request(invoke, fake_gitlab, fake_dev, args):
    result = invoke(*args)

    assert result.returncode == 1
    assert result.stdout == ""
    assert_one_short_line(result.stderr.rstrip("\n"), "Error: ")
    assert "is not ASCII" in result.stderr
    assert fake_gitlab.log == [] and fake_dev.log == []


def test_cli_configuration_number_with_a_look_alike_is_refused(invoke, fake_gitlab):
    result = invoke("monthly_issue", "11.1.0", "--dry-run", env={"INVOKE_RELEASE_TOOLS_API_TIMEOUT": "\uff13\uff10"})

    assert result.returncode == 1
    assert result.stderr == "Error: INVOKE_RELEASE_TOOLS_API_TIMEOUT must be a whole number, not '\uff13\uff10'\n"


@pytest.fixture
def ada_file(tmp_path):
    path = tmp_path / "managers.yml"
    path.write_text("Ada Example:\n  gitlab.com: ada-example\n")
    return {"INVOKE_RELEASE_TOOLS_RELEASE_MANAGERS_FILE": str(path)}


def test_cli_auth_with_a_newline_cannot_forge_the_success_line(invoke, ada_file, fake_gitlab):
    result = invoke("release_managers.auth", f"dave\n{FORGED}", env=ada_file)

    assert result.returncode == 1
    assert not [line for line in lines_of(result.output) if line.startswith(FORGED)], result.output
    assert result.stdout == ""
    assert_one_short_line(result.stderr.rstrip("\n"), "Error: 'dave\\nada-example (Ada Example) is an")
    assert fake_gitlab.log == []


@pytest.mark.parametrize("separator", ["\n", "\r", "\u2028", "\x1b[1A\x1b[2K\r"], ids=["newline", "cr", "line-separator", "ansi"])
def test_cli_auth_of_a_look_alike_username_is_one_line(invoke, ada_file, separator):
    result = invoke("release_managers.auth", f"x{separator}{FORGED}", env=ada_file)

    assert result.returncode == 1
    assert not [line for line in lines_of(result.output) if FORGED in line and not line.startswith("Error: ")]
    assert_one_short_line(result.stderr.rstrip("\n"), "Error: 'x")


@pytest.mark.parametrize("position", ["from", "to"])
def test_cli_qa_issue_ref_with_a_newline_is_one_line_and_reads_nothing(invoke, fake_gitlab, fake_dev, position):
    forged = '--> Issue "11.1.0-rc2 QA Issue" created with 3 merge requests.'
    refs = [f"v11.1.0-rc1\n{forged}", "v11.1.0-rc2"] if position == "from" else ["v11.1.0-rc1", f"v11.1.0-rc2\n{forged}"]

    result = invoke("qa_issue", *refs, "--version", "11.1.0-rc2")

    assert result.returncode == 1
    assert not [line for line in lines_of(result.output) if line.startswith("-->")], result.output
    assert_one_short_line(result.stderr.rstrip("\n"), "Error: 'v11.1.0-rc")
    assert " is not a tag or branch name" in result.stderr
    assert fake_gitlab.log == [] and fake_dev.log == []


@pytest.mark.parametrize(
    "text",
    ["\x1b[1A\x1b[2K11.1.0", "11.1.0\x1b]0;pwned\x07", "9" * 10240, "1" * 5000 + ".1.0"],
    ids=["ansi", "osc-title", "10kb", "huge-number"],
)
def test_cli_tag_of_an_escape_or_a_huge_version_is_one_short_line(invoke, config, remotes, text):
    before = remotes.digests()

    result = invoke("-f", config, "tag", text)

    assert result.returncode == 1
    assert result.stdout == ""
    assert_one_short_line(result.stderr.rstrip("\n"), "Error: Version number must be in the following format")
    assert remotes.digests() == before


# -- ChatOps ---------------------------------------------------------------------------------------


CHAT_CASES = {name: text for name, text in spoofs("11.1.0-rc1") if name in CLI_CASES}


@pytest.mark.parametrize("text", CHAT_CASES.values(), ids=CHAT_CASES.keys())
def test_chat_tag_of_a_look_alike_version_replies_one_line_and_announces_nothing(chat_job, remotes, slack, fake_gitlab, text):
    before = remotes.digests()

    result = chat_job("tag", f"'{text}'", SLACK_CHATOPS_URL=slack.url, **remotes.env(), **GIT_ENV)

    assert result.returncode == 1
    [line] = result.reply
    assert_one_short_line(line, "Error: Version number must be in the following format")
    assert "Running tag" not in result.log
    assert slack.posts == []  # not even the "this can take long" announcement
    assert remotes.digests() == before
    assert fake_gitlab.mutations() == []


def test_chat_tag_of_a_fullwidth_version_as_ci_runs_it(chat_job, remotes, slack, fake_gitlab):
    before = remotes.digests()

    result = chat_job("tag", "1\uff11.1.0", in_process=False, SLACK_CHATOPS_URL=slack.url, **remotes.env(), **GIT_ENV)

    assert result.returncode == 1
    assert result.reply == [
        "Error: Version number must be in the following format: X.Y.Z-rc1 or X.Y.Z "
        "(got '1\uff11.1.0': '\uff11' (U+FF11 FULLWIDTH DIGIT ONE) is not ASCII)"
    ]
    assert remotes.digests() == before and slack.posts == []


@pytest.mark.parametrize(
    "command, chat_input",
    [
        ("release_issue", "1\uff11.1.0"),
        ("publish", "11.1.0-rc\u0661"),
        ("qa_issue", "v11.1.0-rc1..v11.1.0\u2013rc2"),
        ("qa_issue", "v11.1.0-rc1..v11.1.0-rc2 11.1.0-rc\u00b2"),
    ],
    ids=["release_issue", "publish", "qa-range", "qa-version"],
)
def test_chat_commands_refuse_look_alikes_with_one_line(chat_job, fake_gitlab, fake_dev, command, chat_input):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = chat_job(command, chat_input)

    assert result.returncode == 1
    [line] = result.reply
    assert_one_short_line(line, "Error: ")
    assert "is not ASCII" in line
    assert fake_gitlab.mutations() == [] and fake_dev.log == []


@pytest.mark.parametrize("digits", ["fullwidth", "superscript"])
def test_chat_pipeline_id_in_other_digits_is_refused_after_reading_only_the_job(chat_job, fake_gitlab, digits):
    environ = chat_job.environ("11.1.0")
    real = environ["CI_PIPELINE_ID"]
    # int() reads fullwidth digits as the real id; `isdigit()` is true for ² but int() fails.
    environ["CI_PIPELINE_ID"] = "".join(chr(0xFF10 + int(d)) for d in real) if digits == "fullwidth" else "\u00b2"
    assert environ["CI_PIPELINE_ID"].isdigit()

    result = chat_job.run("release_issue", environ=environ, in_process=True)

    assert result.returncode == 1
    [line] = result.reply
    assert line.startswith(f"Error: Refusing to run: CI_PIPELINE_ID is {environ['CI_PIPELINE_ID']!r} but CI_JOB_TOKEN belongs to job ")
    assert [(r.method, r.path) for r in fake_gitlab.log] == [("GET", "/job")]


def test_chat_qa_range_with_a_newline_forges_no_line_in_the_reply_or_the_log(chat_job, fake_gitlab):
    forged = '--> Issue "11.1.0-rc2 QA Issue" created with 3 merge requests.'

    result = chat_job("qa_issue", f"'v11.1.0-rc1\n{forged}..v11.1.0-rc2'", in_process=False)

    assert result.returncode == 1
    assert not [line for line in lines_of(result.stdout + result.stderr) if line.startswith("-->")], result.output
    [line] = result.reply
    assert_one_short_line(line, "Error: 'v11.1.0-rc1\\n--> Issue")
    assert fake_gitlab.mutations() == []


def test_chat_log_shows_the_command_on_one_line(chat_job, fake_gitlab):
    # A valid command whose token holds a newline: the "Running ..." log line stays one line.
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = chat_job("release_issue", "'11.1.0\n'", in_process=False)

    assert result.returncode == 0, result.output
    [running] = [line for line in lines_of(result.log) if line.startswith("Running ")]
    assert running == "Running release_issue '11.1.0\\n' for release-manager"


@pytest.mark.parametrize(
    "command, chat_input, start",
    [
        ("release_issue", "'\x1b[1A\x1b[2K11.1.0'", "Error: Version number must be"),
        (
            "release_issue",
            "11.1.0 '--\x1b[31mforce\r--> Issue \"Release 11.1\" created.'",
            "Error: release_issue does not take '--\\x1b[31mforce\\r",
        ),
        ("release_issue", "9" * 10240, "Error: Version number must be"),
        ("qa_issue", "v11.1.0-rc1.." + "x" * 10240, "Error: 'xxxx"),
        ("tag", "'11.1.0\u2028--> Issue created.'", "Error: Version number must be"),
    ],
    ids=["ansi-version", "ansi-flag", "10kb-version", "10kb-ref", "line-separator"],
)
def test_chat_reply_error_is_one_short_line_of_printable_text(chat_job, fake_gitlab, command, chat_input, start):
    result = chat_job(command, chat_input, in_process=False)

    assert result.returncode == 1
    [line] = result.reply
    assert_one_short_line(line, start)
    assert "\x1b" not in result.stdout.replace("\r\x1b[0K", "")  # only the section markers' own
    assert fake_gitlab.mutations() == []


def test_chat_reply_error_line_is_one_line_even_when_a_message_is_not(chat_job, fake_gitlab, tmp_path):
    # A broken configuration file, named by a variable a pipeline can set, with a newline in
    # its name: the YAML error quotes the name over several lines.
    broken = tmp_path / f"x\n--> Issue \"Release 11.1\" created.\nreally.yaml"
    broken.write_text("release_tools:\n  dry_run: [\n")

    result = chat_job("release_issue", "11.1.0", in_process=False, INVOKE_RUNTIME_CONFIG=str(broken))

    assert result.returncode == 1
    [line] = result.reply
    assert line.startswith("Error: configuration file ") and line.endswith(" is not valid YAML: expected the node content, but found '<stream end>' (line 3, column 1)")
    assert not UNPRINTABLE.search(line)
    assert not [line for line in lines_of(result.stdout) if line.startswith("-->")]
    assert fake_gitlab.log == []


def test_late_reply_shows_a_forged_channel_quoted_and_leaves_a_forged_job_url_out(chat_job, fake_gitlab, slack):
    # CHAT_CHANNEL and CI_JOB_URL are variables whoever starts a pipeline can set.
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    forged = "--> Issue \"Release 11.2\" created."

    result = chat_job(
        "release_issue",
        "11.1.0",
        in_process=False,
        channel=f"g_delivery\n{forged}",
        CI_JOB_URL=f"https://gitlab.com/jobs/1\n{forged}",
        CI_PIPELINE_CREATED_AT=minutes_ago(40),
        SLACK_CHATOPS_URL=slack.url,
    )

    assert result.returncode == 0, result.output
    assert not [line for line in lines_of(result.stdout) if line.startswith(forged)], result.output
    assert result.reply[-1].endswith(
        "the results were also posted to 'g_delivery\\n--> Issue \"Release 11.2\" created.' through Slack."
    )
    [message] = slack.posts
    assert forged not in message["text"] and "jobs/1" not in message["text"]
