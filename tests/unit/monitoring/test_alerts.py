from __future__ import annotations

import json

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from builds.models import Build
from monitoring import alerts, notify, tasks
from monitoring.models import HealthEvent, NotificationDelivery, NotificationSettings
from tests.unit.monitoring.receiver import Receiver

pytestmark = pytest.mark.django_db

Delivery = NotificationDelivery


def configure(project, **changes):
    arguments = {
        "email_owner": True,
        "extra_emails": "",
        "webhook_url": None,
        "webhook_format": "generic",
        "on_health": True,
        "on_deploy": True,
        **changes,
    }
    return alerts.update_notification_settings(project, **arguments)


def test_settings_are_made_on_first_use_with_an_encrypted_signing_secret(project):
    prefs = alerts.notification_settings(project)

    assert len(prefs.signing_secret()) == 64
    assert prefs.signing_secret() not in prefs.encrypted_signing_secret
    assert alerts.notification_settings(project).pk == prefs.pk


def test_webhook_url_is_stored_encrypted_and_kept_when_not_given_again(project):
    url = "https://hooks.slack.com/services/T0/B0/SECRET"
    configure(project, webhook_url=url, webhook_format="slack")

    prefs = configure(project, webhook_url=None, webhook_format="slack")

    assert prefs.webhook_url() == url
    assert "SECRET" not in prefs.encrypted_webhook_url
    assert alerts.masked_webhook(prefs) == "https://hooks.slack.com/…"
    assert configure(project, webhook_url="").has_webhook is False


def test_a_non_http_webhook_url_is_refused_on_its_field(project):
    with pytest.raises(ValidationError) as caught:
        configure(project, webhook_url="gopher://example.com/")

    assert "webhook_url" in caught.value.message_dict


def test_bad_email_addresses_are_named(project):
    with pytest.raises(ValidationError) as caught:
        configure(project, extra_emails="ops@example.com, not-an-address; x@")

    assert caught.value.message_dict["extra_emails"] == ["Not email addresses: not-an-address, x@"]


def test_recipients_are_the_owner_and_the_extra_addresses_once_each(project):
    prefs = configure(project, extra_emails="ops@example.com\nADA@example.com, dev@example.com")

    assert alerts.recipients(prefs) == ["ada@example.com", "ops@example.com", "dev@example.com"]
    assert alerts.recipients(configure(project, email_owner=False)) == []


def test_regenerating_the_secret_changes_it(project):
    before = alerts.notification_settings(project).signing_secret()

    after = alerts.regenerate_signing_secret(project)

    assert after != before
    assert NotificationSettings.objects.get(project=project).signing_secret() == after


def test_a_message_is_queued_for_email_and_webhook_and_sent_on_commit(
    project, django_capture_on_commit_callbacks, settings
):
    # Celery reads its configuration from Django settings: no broker, the task runs here.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with Receiver() as receiver:
        configure(project, webhook_url=receiver.url, webhook_format="discord")
        message = notify.Message(
            event="test", project="shop", title="shop: hello", text="hi", time=timezone.now()
        )
        with django_capture_on_commit_callbacks(execute=True):
            deliveries = alerts.notify_project(project, message, topic="test")

    assert [d.channel for d in deliveries] == ["email", "webhook"]
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == "[Deployer] shop: hello"
    (got,) = receiver.received
    secret = alerts.notification_settings(project).signing_secret()
    assert notify.verify(got.body, secret, got.headers["X-Deployer-Signature"])
    assert json.loads(got.body)["content"] == "shop: hello"
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_health_notifications_can_be_turned_off(project):
    configure(project, on_health=False)
    message = notify.Message(
        event="health.changed", project="shop", title="t", text="x", time=timezone.now()
    )

    assert alerts.notify_project(project, message, topic="health") == []
    assert len(alerts.notify_project(project, message, topic="test")) == 1


def test_a_failed_send_is_retried_with_doubling_pauses_then_given_up(project, settings):
    settings.DEPLOYER_NOTIFY_ATTEMPTS = 3
    settings.DEPLOYER_NOTIFY_BACKOFF = 10
    with Receiver([500]) as receiver:
        configure(project, webhook_url=receiver.url, email_owner=False)
        (delivery,) = alerts.send_test(project)

        pauses = []
        for _ in range(3):
            delivery.refresh_from_db()
            pauses.append(alerts.deliver(delivery))

    delivery.refresh_from_db()
    assert pauses == [10, 20, None]
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 3, 500)
    assert "answered 500" in delivery.error
    assert len(receiver.received) == 3


def test_the_task_retries_until_the_receiver_accepts(project, settings):
    settings.DEPLOYER_NOTIFY_BACKOFF = 0
    with Receiver([503, 502, 200]) as receiver:
        configure(project, webhook_url=receiver.url, email_owner=False)
        (delivery,) = alerts.send_test(project)

        result = tasks.deliver_notification.apply(args=[delivery.pk])

    delivery.refresh_from_db()
    assert result.get() == "sent"
    assert (delivery.status, delivery.attempts) == ("sent", 3)
    assert len({r.body for r in receiver.received}) == 1  # the same bytes every time


def test_a_refusal_that_a_retry_cannot_change_is_not_retried(project):
    with Receiver([404]) as receiver:
        configure(project, webhook_url=receiver.url, email_owner=False)
        (delivery,) = alerts.send_test(project)

        assert alerts.deliver(delivery) is None

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 1)


def test_an_attempt_is_made_once_even_if_the_task_runs_twice(project):
    with Receiver() as receiver:
        configure(project, webhook_url=receiver.url, email_owner=False)
        (delivery,) = alerts.send_test(project)
        stale_copy = Delivery.objects.get(pk=delivery.pk)

        alerts.deliver(delivery)
        alerts.deliver(stale_copy)

    assert len(receiver.received) == 1


def test_a_webhook_removed_before_sending_fails_without_retry(project):
    configure(project, webhook_url="http://127.0.0.1:9/x", email_owner=False)
    (delivery,) = alerts.send_test(project)
    configure(project, webhook_url="", email_owner=False)

    assert alerts.deliver(delivery) is None
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert "removed" in delivery.error


def test_a_live_build_is_announced_once(project):
    build = Build.objects.create(
        project=project,
        state=Build.State.LIVE,
        commit_sha="a" * 40,
        commit_message="Fix the cart\n\nlong",
    )

    first = alerts.record_build_outcome(build)
    again = alerts.record_build_outcome(build)

    assert first.kind == HealthEvent.Kind.DEPLOYED
    assert again is None
    (email,) = Delivery.objects.all()
    assert email.subject == f"[Deployer] shop: build #{build.pk} is live"
    assert "commit aaaaaaaa: Fix the cart" in email.body


def test_a_failed_build_says_where_and_why_and_that_the_old_version_serves(project, live):
    build = Build.objects.create(
        project=project,
        state=Build.State.FAILED,
        failure_stage=Build.State.HEALTH_CHECKING,
        failure_reason="The app exited with code 1 before answering its health check.",
    )

    event = alerts.record_build_outcome(build)

    assert event.reason == (
        "Failed while health checking: The app exited with code 1 before answering its health "
        "check. The previous deployment keeps serving."
    )
    assert event.deployment == live


def test_cancelled_builds_are_not_announced(project):
    build = Build.objects.create(project=project, state=Build.State.CANCELLED)

    assert alerts.record_build_outcome(build) is None
    assert tasks.record_build_outcome.apply(args=[build.pk]).get() == "nothing to announce"


def test_announcing_a_build_waits_for_the_commit_and_never_raises(
    project, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(tasks.record_build_outcome, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tasks.announce_build(123)

    assert len(callbacks) == 1


def test_deploy_notifications_can_be_turned_off(project):
    configure(project, on_deploy=False)
    build = Build.objects.create(project=project, state=Build.State.LIVE)

    assert alerts.record_build_outcome(build) is not None
    assert not Delivery.objects.exists()


def test_retrying_a_failed_delivery_starts_it_over(project):
    configure(project, webhook_url="http://127.0.0.1:9/x", email_owner=False)
    (delivery,) = alerts.send_test(project)
    Delivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=5, error="nope")

    alerts.retry_delivery(delivery)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("pending", 0, "")
