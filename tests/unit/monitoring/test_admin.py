from __future__ import annotations

import pytest
from django.utils import timezone

from monitoring import alerts
from monitoring.models import AppHealth, HealthCheck, HealthEvent, NotificationDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    return client


def test_every_monitoring_list_opens_and_filters_on_state(admin_client, project):
    AppHealth.objects.create(project=project, state="crashed", reason="exited with code 3")
    HealthEvent.objects.create(
        project=project, kind="state", state="crashed", reason="exited with code 3"
    )
    HealthCheck.objects.create(
        project=project, state="crashed", ok=False, checked_at=timezone.now()
    )
    alerts.send_test(project)

    for url in (
        "/admin/monitoring/monitor/",
        "/admin/monitoring/apphealth/?state=crashed",
        "/admin/monitoring/healthevent/?kind=state",
        "/admin/monitoring/healthcheck/?ok__exact=0",
        "/admin/monitoring/notificationsettings/",
        "/admin/monitoring/notificationdelivery/?status=pending",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    assert (
        "exited with code 3"
        in admin_client.get("/admin/monitoring/apphealth/?state=crashed").content.decode()
    )


def test_admin_never_shows_the_webhook_url_or_the_secret(admin_client, project):
    alerts.update_notification_settings(
        project,
        email_owner=True,
        extra_emails="",
        webhook_url="https://example.com/hooks/TOKEN",
        webhook_format="generic",
        on_health=True,
        on_deploy=True,
    )
    prefs = alerts.notification_settings(project)

    html = admin_client.get(
        f"/admin/monitoring/notificationsettings/{prefs.pk}/change/"
    ).content.decode()

    assert "TOKEN" not in html
    assert prefs.signing_secret() not in html


def test_admin_action_sends_a_failed_delivery_again(admin_client, project):
    (delivery,) = alerts.send_test(project)
    NotificationDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=5)

    admin_client.post(
        "/admin/monitoring/notificationdelivery/",
        {"action": "retry", "_selected_action": [delivery.pk]},
    )

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
