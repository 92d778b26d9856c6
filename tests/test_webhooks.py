"""Posting to a Slack incoming webhook, against a local receiver."""

from __future__ import annotations

import pytest

from release_tools.errors import WebhookError
from release_tools.webhooks import post_message


def test_message_is_posted_as_json_with_the_channel(webhook_receiver):
    post_message(webhook_receiver.url, "Tagged `11.1.0`", channel="#releases")

    assert webhook_receiver.messages == [{"text": "Tagged `11.1.0`", "channel": "#releases"}]


def test_channel_is_left_out_when_not_given(webhook_receiver):
    post_message(webhook_receiver.url, "hello")

    assert webhook_receiver.messages == [{"text": "hello"}]


def test_refusal_names_the_variable_never_the_url(webhook_receiver):
    webhook_receiver.status = 404

    with pytest.raises(WebhookError) as error:
        post_message(webhook_receiver.url, "hello", variable="SLACK_TAG_URL")

    assert str(error.value) == "Slack refused the message (404): check SLACK_TAG_URL"


def test_unreachable_webhook_is_a_one_line_error_without_the_url():
    with pytest.raises(WebhookError) as error:
        post_message("http://127.0.0.1:9/services/secret-part", "hello")

    assert str(error.value).startswith("cannot reach the Slack webhook in SLACK_CHATOPS_URL: ")
    assert "secret-part" not in str(error.value)
