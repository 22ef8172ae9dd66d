from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring import alerts
from monitoring.models import AppHealth, HealthEvent, NotificationSettings
from tests.unit.deployer.servers import HitServer

pytestmark = pytest.mark.django_db

HEALTH = "/projects/shop/monitoring/"
NOTIFICATIONS = "/projects/shop/settings/notifications/"
HTMX = {"HX-Request": "true"}


def form_data(**changes):
    return {
        "email_owner": "on",
        "extra_emails": "",
        "webhook_url": "",
        "webhook_format": "generic",
        "on_health": "on",
        "on_deploy": "on",
        **changes,
    }


def test_health_page_shows_state_reason_uptime_chart_and_events(auth_client, project):
    AppHealth.objects.create(
        project=project,
        state="oom_killed",
        reason="killed: limit of 256 MB",
        checked_at=timezone.now(),
    )
    HealthEvent.objects.create(
        project=project,
        kind="state",
        state="oom_killed",
        previous_state="healthy",
        reason="killed: limit of 256 MB",
        exit_code=137,
        logs="MemoryError <b>",
    )

    html = auth_client.get(HEALTH).content.decode()

    assert "<html" in html
    assert "Out of memory" in html
    assert "killed: limit of 256 MB" in html
    assert "Uptime, 24 hours" in html and "Uptime, 7 days" in html
    assert "<svg" in html
    assert "exit code 137" in html
    assert "MemoryError &lt;b&gt;" in html


def test_htmx_gets_the_fragment_that_polls_while_visible(auth_client, project):
    html = auth_client.get(HEALTH, headers=HTMX).content.decode()

    assert html.lstrip().startswith('<section class="card" id="health"')
    assert 'hx-get="/projects/shop/monitoring/"' in html
    assert "every 10s [document.visibilityState === 'visible']" in html
    assert 'hx-swap="outerHTML"' in html
    assert "<html" not in html


def test_engine_unreachable_is_a_notice_on_the_page(auth_client, project):
    from monitoring import services

    services.record_engine("The Docker engine is not reachable (is dockerd running?).")

    html = auth_client.get(HEALTH, headers=HTMX).content.decode()

    assert "Docker engine unreachable</b>" in html
    assert "not marked down" in html


def test_strangers_get_404_everywhere(client, project, other_user):
    client.force_login(other_user)

    assert client.get(HEALTH).status_code == 404
    assert client.get(NOTIFICATIONS).status_code == 404
    assert client.post(NOTIFICATIONS, form_data()).status_code == 404
    assert client.post(NOTIFICATIONS + "test/").status_code == 404
    assert client.post(NOTIFICATIONS + "regenerate/").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, project):
    assert client.get(HEALTH).status_code == 302


def test_notifications_form_shows_secret_recipients_and_signature_help(auth_client, project):
    secret = alerts.notification_settings(project).signing_secret()

    html = auth_client.get(NOTIFICATIONS).content.decode()

    assert secret in html
    assert "ada@example.com" in html
    assert "X-Deployer-Signature: sha256=" in html


def test_reading_the_notifications_page_creates_no_settings(auth_client, project):
    for headers in ({}, HTMX):
        html = auth_client.get(NOTIFICATIONS, headers=headers).content.decode()
        assert "made when these settings are first saved" in html
        assert "ada@example.com" in html  # the defaults: email the owner

    assert auth_client.get(reverse("projects:detail", args=[project.slug])).status_code == 200
    assert not NotificationSettings.objects.exists()


def test_the_first_save_makes_the_signing_secret(auth_client, project):
    auth_client.post(NOTIFICATIONS, form_data(), headers=HTMX)

    secret = NotificationSettings.objects.get(project=project).signing_secret()
    assert len(secret) == 64
    assert secret in auth_client.get(NOTIFICATIONS).content.decode()


def test_saving_a_webhook_with_htmx_answers_the_fragment_and_masks_the_url(auth_client, project):
    url = "https://hooks.slack.com/services/T0/B0/SECRET"

    response = auth_client.post(
        NOTIFICATIONS, form_data(webhook_url=url, webhook_format="slack"), headers=HTMX
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="notifications">')
    assert "Saved." in html
    assert "https://hooks.slack.com/…" in html
    assert "SECRET" not in html
    prefs = NotificationSettings.objects.get(project=project)
    assert (prefs.webhook_url(), prefs.webhook_format) == (url, "slack")


def test_an_invalid_webhook_url_is_shown_next_to_its_field(auth_client, project):
    response = auth_client.post(
        NOTIFICATIONS, form_data(webhook_url="ftp://example.com/x"), headers=HTMX
    )

    assert "Only http:// and https://" in response.content.decode()
    assert not alerts.saved_notification_settings(project).has_webhook


def test_a_webhook_to_caddy_admin_is_refused_naming_the_url_and_its_address(
    auth_client, project, settings
):
    settings.DEPLOYER_OUTBOUND_ALLOW_NETWORKS = []

    response = auth_client.post(
        NOTIFICATIONS, form_data(webhook_url="http://localhost:2019/stop"), headers=HTMX
    )

    html = response.content.decode()
    assert "http://localhost:2019/… resolves to 127.0.0.1, one of Deployer&#x27;s own" in html
    assert not alerts.saved_notification_settings(project).has_webhook


def test_the_test_send_shows_the_status_and_never_what_the_receiver_wrote(
    auth_client, project, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.DEPLOYER_NOTIFY_ATTEMPTS = 1
    secret = "SECRET-FROM-THE-RECEIVER-7f3a"
    with HitServer(status=500, body=secret.encode()) as server:
        auth_client.post(
            NOTIFICATIONS, form_data(email_owner="", webhook_url=server.url("", "/hook"))
        )
        with django_capture_on_commit_callbacks(execute=True):
            auth_client.post(NOTIFICATIONS + "test/", headers=HTMX)
        html = auth_client.get(NOTIFICATIONS, headers=HTMX).content.decode()
        page = auth_client.get(NOTIFICATIONS).content.decode()

    assert len(server.hits) == 1
    assert "The receiver answered 500 Internal Server Error." in html
    assert secret not in html and secret not in page
    delivery = project.notification_deliveries.get()
    assert delivery.response_code == 500
    assert secret not in delivery.error and secret not in delivery.body


def test_saving_without_javascript_redirects_back(auth_client, project):
    response = auth_client.post(
        NOTIFICATIONS, form_data(extra_emails="ops@example.com", on_deploy="")
    )

    assert response.status_code == 302
    prefs = NotificationSettings.objects.get(project=project)
    assert prefs.extra_emails == "ops@example.com"
    assert prefs.on_deploy is False


def test_removing_the_webhook(auth_client, project):
    auth_client.post(NOTIFICATIONS, form_data(webhook_url="https://example.com/hook"))

    auth_client.post(NOTIFICATIONS, form_data(remove_webhook="on"))

    assert not alerts.saved_notification_settings(project).has_webhook


def test_regenerating_the_signing_secret_shows_the_new_one(auth_client, project):
    before = alerts.notification_settings(project).signing_secret()

    html = auth_client.post(NOTIFICATIONS + "regenerate/", headers=HTMX).content.decode()

    after = alerts.notification_settings(project).signing_secret()
    assert after != before
    assert after in html and before not in html


def test_test_notification_is_queued_and_listed(auth_client, project):
    html = auth_client.post(NOTIFICATIONS + "test/", headers=HTMX).content.decode()

    assert "Test sent to 1 channel(s)" in html
    assert "shop: test notification" in html


def test_the_overview_shows_the_health_and_the_settings_the_notifications(auth_client, project):
    overview = auth_client.get(reverse("projects:detail", args=[project.slug])).content.decode()
    settings = auth_client.get(reverse("projects:settings", args=[project.slug])).content.decode()

    assert 'id="overview-health"' in overview
    assert "Not checked yet." in overview
    assert '<section class="card" id="notifications">' in settings
    assert 'name="csrfmiddlewaretoken"' in settings.split('id="notifications"')[1]


def test_the_health_page_is_the_monitoring_section_of_the_project(auth_client, project):
    html = auth_client.get(HEALTH).content.decode()

    assert '<section class="card" id="health"' in html
    assert f'<a href="{HEALTH}" aria-current="page">Monitoring</a>' in html
