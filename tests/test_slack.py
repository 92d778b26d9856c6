"""Slack webhooks over real HTTP to a local receiver: payload, failures, timeouts, secrecy."""

from __future__ import annotations

import pytest

from release_tools import slack as slack_api
from release_tools.errors import SlackError
from tests.slack_receiver import WEBHOOK_PATH


def test_post_sends_the_text_and_channel_as_json(slack):
    slack_api.post(slack.url, "hello", channel="#releases")
    slack_api.post(slack.url, "no channel")

    assert slack.posts == [{"text": "hello", "channel": "#releases"}, {"text": "no channel"}]


@pytest.mark.parametrize("status", [500, 404, 403])
def test_a_refused_post_raises_without_showing_the_webhook_url(slack, status):
    slack.fail(status)

    with pytest.raises(SlackError, match=rf"^Slack refused the message \({status} ") as raised:
        slack_api.post(slack.url, "hello")

    assert WEBHOOK_PATH not in str(raised.value) and "canary" not in str(raised.value)
    assert slack.posts == []


def test_an_unreachable_slack_raises(tmp_path):
    with pytest.raises(SlackError, match=r"^Slack could not be reached \("):
        slack_api.post("http://127.0.0.1:9/services/secret", "hello", timeout=2)


def test_a_hung_slack_times_out(slack):
    slack.delay = 1.0

    with pytest.raises(SlackError, match=r"^Slack could not be reached \(.*timed out"):
        slack_api.post(slack.url, "hello", timeout=0.2)


def test_tag_message_credits_the_requester_and_names_the_version(slack):
    slack_api.notify_tag(slack.url, "Rita Release", "11.1.0-ee")

    assert slack.posts == [{"text": "_Rita Release_ tagged `11.1.0-ee`"}]


def test_a_requester_whose_name_breaks_the_line_is_credited_on_one_line(slack):
    slack_api.notify_tag(slack.url, "Rita\n<!channel> Release", "11.1.0-ee")

    assert slack.posts == [{"text": "_Rita\\n&lt;!channel&gt; Release_ tagged `11.1.0-ee`"}]


def test_errors_name_the_variable_holding_the_webhook_never_the_url(slack):
    slack.fail(404)

    with pytest.raises(SlackError) as raised:
        slack_api.post(slack.url, "hello", variable="SLACK_CHATOPS_URL")

    assert str(raised.value) == "Slack refused the message (404 Not Found): check SLACK_CHATOPS_URL"
    assert slack.url not in str(raised.value)


@pytest.mark.parametrize(
    "url",
    ["hooks.slack.com/services/T0/B0/secret-x", "file:///etc/hostname", "ftp://127.0.0.1:9/services/secret-x", ""],
    ids=["no-scheme", "file", "ftp", "empty"],
)
def test_a_webhook_that_is_not_an_http_url_is_a_slack_error_that_hides_it(url):
    with pytest.raises(SlackError) as raised:
        slack_api.post(url, "hello", variable="SLACK_TAG_URL")

    assert str(raised.value) == "The Slack webhook is not an http(s) URL: check SLACK_TAG_URL"


def test_text_the_tool_did_not_write_cannot_mention_or_link_but_its_own_links_stay_links(slack):
    slack_api.notify_tag(slack.url, "<!channel> & <@U0EVIL>", "11.1.0-ee <http://evil.example|release notes>")
    slack_api.post(slack.url, slack_api.upstream_created_message(
        "https://gitlab.com/gitlab-org/gitlab-ee/merge_requests/1?a=1&b=2", "<!here>|x", 0))

    assert [post["text"] for post in slack.posts] == [
        "_&lt;!channel&gt; &amp; &lt;@U0EVIL&gt;_ tagged `11.1.0-ee &lt;http://evil.example|release notes&gt;`",
        "Created a new merge request <https://gitlab.com/gitlab-org/gitlab-ee/merge_requests/1?a=1&amp;b=2|&lt;!here&gt;|x>"
        " with no conflicts! :tada:",
    ]


def test_a_refusal_shows_the_reason_slack_gave_on_one_short_line(slack):
    slack.fail(500, reason="Oops\x1b[2K\x1b[1A--> tagged" + "!" * 500)

    with pytest.raises(SlackError) as raised:
        slack_api.post(slack.url, "hello", variable="SLACK_TAG_URL")

    message = str(raised.value)
    assert message.startswith("Slack refused the message (500 Oops\\x1b[2K\\x1b[1A--> tagged!!!")
    assert message.endswith("): check SLACK_TAG_URL") and "\x1b" not in message and len(message) < 300
