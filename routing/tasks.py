"""Celery tasks: the periodic reconcile of Caddy's routes with the database, and one at worker start;
the periodic check of pending custom domains."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready

from routing import services

logger = logging.getLogger(__name__)


@shared_task
def reconcile_routes() -> dict:
    """Put back exactly the routes the database says (after Caddy restarted, or any drift)."""
    try:
        result = services.sync_routes()
    except services.RoutingError as exc:
        # Caddy down is an expected state, retried on the next beat: a warning, not a traceback.
        logger.warning("Routes not reconciled: %s", exc)
        return {"error": str(exc)}
    if result.changed:
        logger.info("Routes reconciled: Caddy now serves %d route(s)", result.routes)
    return result.as_dict()


@shared_task
def check_pending_domains() -> dict:
    """Retry the proof of every pending custom domain (DEPLOYER_DOMAIN_CHECK_INTERVAL)."""
    result = services.check_pending_domains()
    if result["verified"] or result["expired"]:
        logger.info("Domains after their periodic check: %s", result)
    return result


@worker_ready.connect
def _reconcile_routes_at_start(sender=None, **kwargs) -> None:
    reconcile_routes.delay()
