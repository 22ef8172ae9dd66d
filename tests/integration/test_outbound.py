"""Outbound requests on the real stack: a notification aimed at Caddy's admin API is refused
when saved and again by the real worker when sent, and Caddy keeps answering."""

from __future__ import annotations

import pytest
import requests
from django.core.exceptions import ValidationError

from monitoring import alerts
from monitoring.models import NotificationDelivery
from projects import crypto
from tests.integration.conftest import wait_until
from tests.unit.monitoring.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

APP = {"app.py": "print('never deployed here')\n"}


def _save_webhook(project, url: str) -> None:
    alerts.update_notification_settings(
        project,
        email_owner=False,
        extra_emails="",
        webhook_url=url,
        webhook_format="generic",
        on_health=True,
        on_deploy=True,
    )


def _caddy_config_status(admin: str) -> int:
    return requests.get(f"{admin}/config/", timeout=5).status_code


def test_a_notification_to_caddy_admin_api_is_refused_and_caddy_keeps_answering(
    celery_worker, git_repo, make_project, settings
):
    # Even with loopback allowed (as in WORKER_ENV), the admin API is Deployer's own service.
    settings.DEPLOYER_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.0/8"]
    admin = settings.DEPLOYER_CADDY_ADMIN_URL.rstrip("/")
    port = admin.rsplit(":", 1)[1]
    assert _caddy_config_status(admin) == 200
    project = make_project(git_repo(APP))
    for url in (
        f"{admin}/stop",
        f"http://localhost:{port}/stop",
        f"http://[::ffff:127.0.0.1]:{port}/stop",
        f"http://2130706433:{port}/stop",
    ):
        with pytest.raises(ValidationError) as caught:
            _save_webhook(project, url)
        (message,) = caught.value.message_dict["webhook_url"]
        assert f"one of Deployer's own services (port {port})" in message
        assert not alerts.notification_settings(project).has_webhook

    # Stored anyway (as if the name had pointed elsewhere when it was saved): the worker
    # checks again when it sends, and refuses.
    prefs = alerts.notification_settings(project)
    prefs.encrypted_webhook_url = crypto.encrypt(f"{admin}/stop")
    prefs.save()
    (delivery,) = alerts.send_test(project)

    def settled():
        delivery.refresh_from_db()
        return delivery.status != NotificationDelivery.Status.PENDING

    wait_until(settled, timeout=30)
    assert delivery.status == NotificationDelivery.Status.FAILED
    assert delivery.error == (
        f"Refused: {admin}/… points at 127.0.0.1, one of Deployer's own services (port {port}): "
        "Deployer sends no requests there."
    )
    assert delivery.response_code is None
    assert _caddy_config_status(admin) == 200


def test_the_worker_delivers_to_a_receiver_in_an_allowed_range(
    celery_worker, git_repo, make_project, settings
):
    settings.DEPLOYER_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.0/8"]
    project = make_project(git_repo(APP))
    with Receiver() as receiver:
        _save_webhook(project, receiver.url)
        (delivery,) = alerts.send_test(project)
        wait_until(lambda: receiver.received, timeout=30)

    wait_until(lambda: NotificationDelivery.objects.get(pk=delivery.pk).status == "sent")
    assert receiver.received[0].headers["X-Deployer-Event"] == "test"
