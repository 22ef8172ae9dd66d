"""The admin adds an add-on as the add-ons page does: the project and the kind, then the
worker starts it; a second one of a kind is refused."""

from __future__ import annotations

import pytest
from django.urls import reverse

from addons.models import AddOn
from projects import services as project_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_user(
        username="root", password="correct horse battery", is_staff=True, is_superuser=True
    )
    client.force_login(admin)
    return client


def test_admin_adds_a_redis_add_on_and_the_worker_is_asked_to_start_it(
    admin_client, user, django_capture_on_commit_callbacks, monkeypatch
):
    project = project_services.create_project(
        user, slug="shop", repo_url="https://example.com/a.git"
    )
    queued = []
    monkeypatch.setattr("addons.tasks.provision_addon.delay", queued.append)
    url = reverse("admin:addons_addon_add")

    assert admin_client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        added = admin_client.post(url, {"project": project.pk, "kind": "redis"})
    again = admin_client.post(url, {"project": project.pk, "kind": "redis"})
    unknown = admin_client.post(url, {"project": project.pk, "kind": "mysql"})

    addon = AddOn.objects.get()
    assert added.status_code == 302, added.content.decode()[:2000]
    assert (addon.kind, addon.container_name, addon.image) == (
        "redis",
        "deployer-shop-redis",
        "redis:7.0",
    )
    assert addon.password() and queued == [addon.pk]
    assert again.status_code == 200 and "has a redis add-on already" in again.content.decode()
    assert unknown.status_code == 200 and "not one of the available choices" in (
        unknown.content.decode()
    )
    assert (
        admin_client.get(reverse("admin:addons_addon_change", args=[addon.pk])).status_code == 200
    )
