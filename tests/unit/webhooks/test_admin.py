from __future__ import annotations

import pytest

from tests.unit.webhooks import payloads
from webhooks import services
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    return client


def test_admin_lists_deliveries_filtered_by_provider_and_verdict(admin_client, secret, post_hook):
    post_hook(*payloads.github(secret, delivery="gh-1"))
    post_hook(*payloads.gitlab(secret, ref="refs/heads/x", delivery="gl-1"))

    everything = admin_client.get("/admin/webhooks/delivery/").content.decode()
    queued = admin_client.get("/admin/webhooks/delivery/?verdict=queued").content.decode()
    gitlab = admin_client.get("/admin/webhooks/delivery/?provider=gitlab").content.decode()
    found = admin_client.get("/admin/webhooks/delivery/?q=gl-1").content.decode()

    assert "refs/heads/main" in everything and "refs/heads/x" in everything
    assert "refs/heads/main" in queued and "refs/heads/x" not in queued
    assert "refs/heads/x" in gitlab and "refs/heads/main" not in gitlab
    assert "refs/heads/x" in found and "refs/heads/main" not in found


def test_admin_never_shows_the_secret_and_can_regenerate_it(admin_client, project, secret):
    endpoint = WebhookEndpoint.objects.get(project=project)

    page = admin_client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/")
    admin_client.post(
        "/admin/webhooks/webhookendpoint/",
        {"action": "regenerate", "_selected_action": [endpoint.pk]},
    )

    assert page.status_code == 200
    assert secret not in page.content.decode()
    assert endpoint.encrypted_secret not in page.content.decode()
    assert services.endpoint_for(project).decrypted_secret() != secret
