"""Alerts: each project's channels, the messages of health changes and deploy outcomes,
and their delivery with retries. Sending itself (formats, signature, HTTP, mail) is in notify.
"""

from __future__ import annotations

import logging
import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from builds.models import Build, Deployment
from deployer.celery import task
from monitoring import notify
from monitoring.models import HealthEvent, HealthState, NotificationDelivery, NotificationSettings
from projects import crypto
from routing.services import app_url

logger = logging.getLogger(__name__)

State = HealthState
Kind = HealthEvent.Kind
Delivery = NotificationDelivery

MAX_RECIPIENTS = 20
MAX_BACKOFF_SECONDS = 3600


# Deploy outcomes ------------------------------------------------------------------------------


def record_build_outcome(build: Build) -> HealthEvent | None:
    """A build that went live or failed: an event, and notifications, once per build."""
    project = build.project
    if build.state == Build.State.LIVE:
        kind, event_name, tone = Kind.DEPLOYED, "deploy.succeeded", "ok"
        title = f"{project.slug}: build #{build.pk} is live"
        subject = f"commit {build.short_sha}" if build.commit_sha else "the image"
        first_line = build.commit_message.splitlines()[0] if build.commit_message else ""
        text = f"Build #{build.pk} ({subject}{': ' + first_line if first_line else ''}) serves."
    elif build.state == Build.State.FAILED:
        kind, event_name, tone = Kind.DEPLOY_FAILED, "deploy.failed", "bad"
        title = f"{project.slug}: build #{build.pk} failed"
        stage = Build.State(build.failure_stage).label if build.failure_stage else "building"
        text = f"Failed while {stage.lower()}: {build.failure_reason}"
        if project.deployments.filter(state=Deployment.State.LIVE).exists():
            text += " The previous deployment keeps serving."
    else:
        return None
    event, created = HealthEvent.objects.get_or_create(
        build=build,
        kind=kind,
        defaults={
            "project": project,
            "deployment": project.deployments.filter(state=Deployment.State.LIVE).first(),
            "reason": text,
        },
    )
    if not created:
        return None
    message = notify.Message(
        event=event_name,
        project=project.slug,
        title=title,
        text=text,
        time=event.created_at,
        tone=tone,
        build=build.pk,
        app_url=_app_url(project),
    )
    notify_project(project, message, event=event, topic="deploy")
    return event


# Notifications --------------------------------------------------------------------------------


HEALTH_TITLES = {
    State.HEALTHY: ("{} is healthy again", "ok"),
    State.UNHEALTHY: ("{} is unhealthy", "warn"),
    State.CRASHED: ("{} crashed", "bad"),
    State.OOM_KILLED: ("{} ran out of memory", "bad"),
}


def health_message(project, event: HealthEvent) -> notify.Message:
    title, tone = HEALTH_TITLES.get(event.state, ("{} is " + event.state, "info"))
    return notify.Message(
        event="health.changed",
        project=project.slug,
        title=title.format(project.slug),
        text=event.reason,
        time=event.created_at,
        tone=tone,
        state=event.state,
        previous_state=event.previous_state,
        app_url=_app_url(project),
    )


def notification_settings(project) -> NotificationSettings:
    """The project's settings, made with defaults and a new signing secret on first use."""
    prefs = NotificationSettings.objects.filter(project=project).first()
    if prefs is None:
        prefs, _ = NotificationSettings.objects.get_or_create(
            project=project,
            defaults={"encrypted_signing_secret": crypto.encrypt(secrets.token_hex(32))},
        )
    return prefs


def saved_notification_settings(project) -> NotificationSettings:
    """The settings as saved, or the defaults unsaved and without a signing secret: what a page
    shows. Reading never creates them; saving, a test send or a notification does."""
    return NotificationSettings.objects.filter(project=project).first() or NotificationSettings(
        project=project
    )


def update_notification_settings(
    project,
    *,
    email_owner: bool,
    extra_emails: str,
    webhook_url: str | None,
    webhook_format: str,
    on_health: bool,
    on_deploy: bool,
) -> NotificationSettings:
    """Save the settings. `webhook_url` None keeps the stored one, "" removes it.

    Raises ValidationError (keyed by field) for a bad address or URL.
    """
    addresses = parse_emails(extra_emails)
    if webhook_url:
        try:
            notify.validate_webhook_url(webhook_url)
        except ValidationError as exc:
            raise ValidationError({"webhook_url": exc.messages}) from None
    if webhook_format not in NotificationSettings.Format.values:
        raise ValidationError({"webhook_format": "Choose generic, slack or discord."})
    prefs = notification_settings(project)
    prefs.email_owner, prefs.extra_emails = email_owner, "\n".join(addresses)
    prefs.webhook_format, prefs.on_health, prefs.on_deploy = webhook_format, on_health, on_deploy
    if webhook_url is not None:
        prefs.encrypted_webhook_url = crypto.encrypt(webhook_url) if webhook_url else ""
    prefs.save()
    return prefs


def parse_emails(text: str) -> list[str]:
    """Addresses separated by commas, semicolons or white space; ValidationError names bad ones."""
    addresses = [a for a in re.split(r"[\s,;]+", text or "") if a]
    bad = []
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    if bad:
        raise ValidationError({"extra_emails": f"Not email addresses: {', '.join(bad)}"})
    if len(addresses) > MAX_RECIPIENTS:
        raise ValidationError({"extra_emails": f"Give at most {MAX_RECIPIENTS} addresses."})
    return list(dict.fromkeys(addresses))


def regenerate_signing_secret(project) -> str:
    prefs = notification_settings(project)
    secret = secrets.token_hex(32)
    prefs.encrypted_signing_secret = crypto.encrypt(secret)
    prefs.save(update_fields=["encrypted_signing_secret", "updated_at"])
    return secret


def recipients(prefs: NotificationSettings) -> list[str]:
    owner = prefs.project.owner
    found = [owner.email] if prefs.email_owner and owner.email else []
    found += prefs.extra_emails.split()
    unique: dict[str, str] = {}
    for address in found:
        unique.setdefault(address.lower(), address)
    return list(unique.values())


def notify_project(
    project, message: notify.Message, *, event: HealthEvent | None = None, topic: str = "health"
) -> list[NotificationDelivery]:
    """Queue the message for every configured channel; sent by tasks once this commits.

    `topic` (health, deploy or test) is checked against the project's choices; a test goes
    to every channel. Never raises for a channel's problem: that is the delivery's outcome.
    """
    prefs = notification_settings(project)
    if (topic == "health" and not prefs.on_health) or (topic == "deploy" and not prefs.on_deploy):
        return []
    deliveries = []
    to = recipients(prefs)
    if to:
        subject, text = notify.email_text(message)
        email = Delivery.objects.create(
            project=project,
            event=event,
            channel=Delivery.Channel.EMAIL,
            kind=message.event,
            target=", ".join(to),
            subject=subject,
            body=text,
        )
        deliveries.append(email)
    if prefs.has_webhook:
        target = masked_webhook(prefs)
        body = notify.encode(notify.payload(message, prefs.webhook_format)).decode()
        webhook = Delivery.objects.create(
            project=project,
            event=event,
            channel=Delivery.Channel.WEBHOOK,
            kind=message.event,
            target=target,
            subject=message.title[:300],
            body=body,
        )
        deliveries.append(webhook)
    ids = [delivery.pk for delivery in deliveries]
    if ids:
        transaction.on_commit(lambda: _dispatch(ids))
    return deliveries


def masked_webhook(prefs: NotificationSettings) -> str:
    """The webhook URL as pages may show it (its path hidden), or "" when there is none."""
    if not prefs.has_webhook:
        return ""
    try:
        return notify.masked_url(prefs.webhook_url())
    except crypto.InvalidToken:
        return "(stored URL unreadable with DEPLOYER_SECRETS_KEY)"


def send_test(project) -> list[NotificationDelivery]:
    message = notify.Message(
        event="test",
        project=project.slug,
        title=f"{project.slug}: test notification",
        text="A test from Deployer: notifications of this project reach you.",
        time=timezone.now(),
        app_url=_app_url(project),
    )
    return notify_project(project, message, topic="test")


def deliver(delivery: NotificationDelivery) -> float | None:
    """Make one attempt; return seconds until the next one, or None when it is settled.

    The attempt is claimed with a conditional UPDATE, so a task run twice sends once.
    """
    now = timezone.now()
    attempt = delivery.attempts + 1
    claimed = Delivery.objects.filter(
        pk=delivery.pk, status=Delivery.Status.PENDING, attempts=delivery.attempts
    ).update(attempts=attempt, last_attempt_at=now)
    if not claimed:
        return None
    try:
        status = _send(delivery)
    except notify.DeliveryError as exc:
        final = not exc.retry or attempt >= settings.DEPLOYER_NOTIFY_ATTEMPTS
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.FAILED if final else Delivery.Status.PENDING,
            error=str(exc)[:2000],
            response_code=exc.status,
        )
        (logger.error if final else logger.warning)(
            "Notification %s (%s to %s), attempt %s: %s%s",
            delivery.pk,
            delivery.channel,
            delivery.target,
            attempt,
            exc,
            " - giving up" if final else "",
        )
        return None if final else backoff(attempt)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENT, sent_at=timezone.now(), response_code=status, error=""
    )
    return None


def retry_delivery(delivery: NotificationDelivery) -> None:
    """Send a failed delivery again from its first attempt (the admin's action)."""
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.FAILED).update(
        status=Delivery.Status.PENDING, attempts=0, error="", response_code=None
    )
    transaction.on_commit(lambda: _dispatch([delivery.pk]))


def backoff(attempt: int) -> float:
    """Seconds before attempt `attempt + 1`: DEPLOYER_NOTIFY_BACKOFF, doubling, at most 1 h."""
    return min(settings.DEPLOYER_NOTIFY_BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)


def _send(delivery: NotificationDelivery) -> int | None:
    if delivery.channel == Delivery.Channel.EMAIL:
        notify.send_email(delivery.target.split(", "), delivery.subject, delivery.body)
        return None
    prefs = NotificationSettings.objects.filter(project_id=delivery.project_id).first()
    if prefs is None or not prefs.has_webhook:
        raise notify.DeliveryError("The webhook was removed before it could be sent.", retry=False)
    try:
        url, secret = prefs.webhook_url(), prefs.signing_secret()
    except crypto.InvalidToken as exc:
        raise notify.DeliveryError(str(exc), retry=False) from exc
    return notify.post_webhook(
        url, delivery.body.encode(), secret=secret, event=delivery.kind, delivery=delivery.pk
    )


def _dispatch(ids: list[int]) -> None:
    for delivery_id in ids:
        try:
            task("monitoring.tasks.deliver_notification").delay(delivery_id)
        except Exception:  # a broker hiccup must not break a check or a build
            logger.exception("Could not queue notification %s; it stays pending", delivery_id)


def _app_url(project) -> str:
    return app_url(project.app_host)
