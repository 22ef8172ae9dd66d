from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from monitoring import notify
from tests.unit.deployer.servers import PUBLIC, HitServer
from tests.unit.monitoring.receiver import Receiver

MESSAGE = notify.Message(
    event="health.changed",
    project="shop",
    title="shop is unhealthy",
    text="GET /healthz answered 500 <!channel> @everyone & co.",
    time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    tone="warn",
    state="unhealthy",
    previous_state="healthy",
    app_url="http://shop.localhost/",
)


def test_signature_is_hex_hmac_sha256_of_the_exact_body():
    body = b'{"event":"test"}'

    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert notify.sign(body, "s3cret") == f"sha256={expected}"


def test_receiver_verification_accepts_the_signature_and_refuses_a_changed_body():
    body = notify.encode(notify.payload(MESSAGE, "generic"))
    signature = notify.sign(body, "s3cret")

    assert notify.verify(body, "s3cret", signature)
    assert not notify.verify(body + b" ", "s3cret", signature)
    assert not notify.verify(body, "other", signature)
    assert not notify.verify(body, "s3cret", "")


def test_generic_payload_carries_every_field():
    assert notify.payload(MESSAGE, "generic") == {
        "event": "health.changed",
        "project": "shop",
        "title": "shop is unhealthy",
        "text": MESSAGE.text,
        "state": "unhealthy",
        "previous_state": "healthy",
        "build": None,
        "app_url": "http://shop.localhost/",
        "time": "2026-01-02T03:04:05+00:00",
    }


def test_slack_payload_has_fallback_text_and_escaped_mrkdwn_blocks():
    body = notify.payload(MESSAGE, "slack")

    assert body["text"].startswith("shop is unhealthy: GET /healthz answered 500")
    section = body["blocks"][0]["text"]
    assert section["type"] == "mrkdwn"
    assert "*shop is unhealthy*" in section["text"]
    # An app's text cannot mention the whole channel.
    assert "<!channel>" not in section["text"]
    assert "&lt;!channel&gt;" in section["text"]
    assert "&amp; co." in section["text"]


def test_discord_payload_has_an_embed_coloured_by_tone_and_allows_no_mentions():
    body = notify.payload(MESSAGE, "discord")

    assert body["content"] == "shop is unhealthy"
    embed = body["embeds"][0]
    assert embed["description"] == MESSAGE.text
    assert embed["color"] == notify.TONE_COLOURS["warn"]
    assert embed["timestamp"] == "2026-01-02T03:04:05+00:00"
    assert body["allowed_mentions"] == {"parse": []}


def test_long_text_is_cut_to_what_chat_services_accept():
    long = notify.Message(**{**MESSAGE.__dict__, "text": "x" * 10000})

    assert len(notify.payload(long, "discord")["embeds"][0]["description"]) <= 4096
    assert len(notify.payload(long, "slack")["blocks"][0]["text"]["text"]) <= 3100


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T000/B000/XXXX",
        "https://discord.com/api/webhooks/1/abc",
        "http://127.0.0.1:18080/hook",  # loopback is allowed in these tests (conftest)
        "http://[::1]:9000/",
    ],
)
def test_http_and_https_urls_are_accepted(url):
    notify.validate_webhook_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hook", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("javascript:alert(1)", "Only http:// and https://"),
        ("example.com/hook", "Only http:// and https://"),
        ("https:///nohost", "needs a host"),
        ("https://user:pw@example.com/", "no user name or password"),
        ("https://exa mple.com/", "spaces"),
        ("https://example.com/\nX-Injected: 1", "spaces or control"),
        ("https://example.com:notaport/", "not a valid URL"),
        ("https://example.com/" + "a" * 2000, "at most 2000"),
        ("http://10.0.0.7/hook", "http://10.0.0.7/… points at 10.0.0.7, a private network"),
        ("http://169.254.169.254/", "points at 169.254.169.254, the cloud metadata service"),
        ("http://127.0.0.1:2019/stop", "points at 127.0.0.1, one of Deployer's own services"),
        ("https://nosuch.invalid/x", "https://nosuch.invalid/…: the host name nosuch.invalid"),
    ],
)
def test_other_urls_are_refused_with_a_reason(url, message):
    with pytest.raises(ValidationError) as caught:
        notify.validate_webhook_url(url)
    assert message in caught.value.messages[0]


def test_masked_url_hides_the_token_in_the_path():
    assert (
        notify.masked_url("https://hooks.slack.com/services/T0/B0/SECRET")
        == "https://hooks.slack.com/…"
    )
    assert notify.masked_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"


def test_email_has_a_subject_and_the_reason_and_address_in_its_text():
    subject, text = notify.email_text(MESSAGE)

    assert subject == "[Deployer] shop is unhealthy"
    assert MESSAGE.text in text
    assert "App: http://shop.localhost/" in text


def test_email_goes_through_django_mail_backend():
    notify.send_email(["ops@example.com"], "[Deployer] hi", "body")

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.com"]


def test_webhook_post_is_signed_and_labelled(settings):
    body = notify.encode(notify.payload(MESSAGE, "generic"))
    with Receiver() as receiver:
        status = notify.post_webhook(
            receiver.url, body, secret="s3cret", event="health.changed", delivery=7
        )

    (got,) = receiver.received
    assert status == 200
    assert got.body == body
    assert notify.verify(got.body, "s3cret", got.headers["X-Deployer-Signature"])
    assert got.headers["X-Deployer-Event"] == "health.changed"
    assert got.headers["X-Deployer-Delivery"] == "7"
    assert got.headers["Content-Type"] == "application/json"
    assert json.loads(got.body)["state"] == "unhealthy"


@pytest.mark.parametrize(
    ("status", "retry"),
    [(500, True), (503, True), (429, True), (408, True), (404, False), (400, False)],
)
def test_an_error_answer_fails_and_says_whether_a_retry_may_help(status, retry):
    with Receiver([status]) as receiver, pytest.raises(notify.DeliveryError) as caught:
        notify.post_webhook(receiver.url, b"{}", secret="s", event="test", delivery=1)

    assert caught.value.retry is retry
    assert caught.value.status == status
    assert str(status) in str(caught.value)


def test_a_redirect_is_not_followed(settings):
    with Receiver([301]) as receiver, pytest.raises(notify.DeliveryError):
        notify.post_webhook(receiver.url, b"{}", secret="s", event="test", delivery=1)

    assert len(receiver.received) == 1


def test_nothing_listening_is_a_retryable_failure():
    with Receiver() as receiver:
        url = receiver.url
    with pytest.raises(notify.DeliveryError) as caught:
        notify.post_webhook(url, b"{}", secret="s", event="test", delivery=1)

    assert caught.value.retry
    assert "could not connect" in str(caught.value)


def test_a_name_that_turned_private_since_it_was_saved_is_refused_at_send_time(
    outbound_reaches_test_receivers, settings
):
    settings.DEPLOYER_OUTBOUND_ALLOW_NETWORKS = []
    with Receiver() as receiver:
        # DNS rebinding: public when the URL was checked, the receiver on loopback when sent.
        outbound_reaches_test_receivers.names["rebind.example.com"] = [[PUBLIC], ["127.0.0.1"]]
        url = f"http://rebind.example.com:{receiver.server.server_port}/hooks/deployer"
        notify.validate_webhook_url(url)
        with pytest.raises(notify.DeliveryError) as caught:
            notify.post_webhook(url, b"{}", secret="s", event="test", delivery=1)

    assert receiver.received == []
    assert str(caught.value) == (
        f"Refused: http://rebind.example.com:{receiver.server.server_port}/… resolves to "
        "127.0.0.1, a loopback address (this machine): Deployer sends no requests there."
    )
    assert not caught.value.retry


def test_the_receiver_answer_text_is_never_part_of_the_error():
    with HitServer(status=404, body=b"internal: token=abc123") as server:
        with pytest.raises(notify.DeliveryError) as caught:
            notify.post_webhook(server.url(), b"{}", secret="s", event="test", delivery=1)

    assert str(caught.value) == "The receiver answered 404 Not Found."
