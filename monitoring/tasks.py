"""Celery tasks: thin interfaces that load records and call monitoring.services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from builds.models import Build
from monitoring import alerts, metrics, services
from monitoring.models import NotificationDelivery

logger = logging.getLogger(__name__)


# A run checks every app concurrently, each within DEPLOYER_MONITOR_TIMEOUT; these limits only
# catch a run that is stuck, and its claim goes stale (services.CLAIM_STALE_SECONDS) after them.
@shared_task(soft_time_limit=240, time_limit=270)
def check_apps() -> dict:
    summary = services.check_all()
    return {"checked": summary.checked, "busy": summary.busy, "engine_error": summary.engine_error}


# A round reads every container concurrently within DEPLOYER_METRICS_TIMEOUT; the limits catch
# a stuck one, whose claim goes stale (metrics.CLAIM_STALE_SECONDS) after them.
@shared_task(soft_time_limit=120, time_limit=150)
def sample_metrics() -> dict:
    summary = metrics.sample_all()
    return {
        "sampled": summary.sampled,
        "gaps": summary.gaps,
        "requests": summary.requests,
        "bad_lines": summary.bad_lines,
        "busy": summary.busy,
        "alerts": summary.alerts,
    }


@shared_task
def prune_history() -> dict:
    return services.prune_history()


@shared_task(bind=True, max_retries=None)
def deliver_notification(self, delivery_id: int) -> str:
    delivery = NotificationDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        return "gone"
    retry_in = alerts.deliver(delivery)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)
    delivery.refresh_from_db(fields=["status"])
    return delivery.status


@shared_task
def record_build_outcome(build_id: int) -> str:
    build = Build.objects.select_related("project").filter(pk=build_id).first()
    if build is None:
        return "gone"
    event = alerts.record_build_outcome(build)
    return event.kind if event else "nothing to announce"


def announce_build(build_id: int) -> None:
    """Called where a build ends live or failed: queue its announcement, never raise, never wait."""

    def send() -> None:
        try:
            record_build_outcome.delay(build_id)
        except Exception:  # a notification must never break a build
            logger.exception("Could not queue the announcement of build %s", build_id)

    transaction.on_commit(send)
