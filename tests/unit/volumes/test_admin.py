"""Deleting a volume in the admin detaches it and asks the worker to remove the engine
volume (a row deleted outright would leave the engine's volume behind)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from projects import services as project_services
from volumes import services
from volumes.models import Volume

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_user(
        username="root", password="correct horse battery", is_staff=True, is_superuser=True
    )
    client.force_login(admin)
    return client


def test_admin_deletion_detaches_and_queues_the_removal(
    admin_client, user, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr("volumes.tasks.settle_volumes.delay", lambda: sent.append(1))
    project = project_services.create_project(
        user, slug="shop", repo_url="https://example.com/a.git"
    )
    volume = services.add_volume(project, "media", "/app/media")

    assert admin_client.get(reverse("admin:volumes_volume_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:volumes_volume_add")).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:volumes_volume_delete", args=[volume.pk]), {"post": "yes"}
        )

    assert response.status_code == 302
    assert Volume.objects.get(pk=volume.pk).removing_at is not None and sent == [1]
