"""Domains, health, events, activity and add-ons through the API."""

from __future__ import annotations

import pytest

from addons.models import AddOn
from builds.models import Build
from monitoring.models import HealthEvent
from projects.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_add_list_and_remove_a_domain(api, project, user):
    response = api.post(f"/projects/{project.slug}/domains", {"hostname": "Shop.Example.ORG"})
    assert response.status_code == 201
    assert response.json()["state"] == "pending"
    listed = api.get(f"/projects/{project.slug}/domains").json()
    assert [d["hostname"] for d in listed["items"]] == ["shop.example.org"]
    assert api.delete(f"/projects/{project.slug}/domains/shop.example.org").status_code == 204
    assert not project.domains.exists()
    labels = set(project.audit_entries.values_list("actor_label", flat=True))
    assert labels >= {f"token ci of {user.username}"}


def test_an_invalid_domain_is_a_400(api, project):
    response = api.post(f"/projects/{project.slug}/domains", {"hostname": "not a host"})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "hostname"


def test_health_before_any_check_is_unknown(api, project):
    body = api.get(f"/projects/{project.slug}/health").json()
    assert body["state"] == "unknown"
    assert body["live_build"] is None


def test_events_are_paginated(api, project):
    for _ in range(3):
        HealthEvent.objects.create(project=project, kind=HealthEvent.Kind.RESTARTED)
    body = api.get(f"/projects/{project.slug}/events", page_size=2).json()
    assert body["count"] == 3
    assert len(body["items"]) == 2


def test_activity_names_the_token(api, project, user):
    api.post(f"/projects/{project.slug}/env", {"key": "A", "value": "1"})
    items = api.get(f"/projects/{project.slug}/activity").json()["items"]
    assert items[0]["action"] == AuditEntry.Action.ENV_ADD
    assert items[0]["actor"] == f"token ci of {user.username}"


def test_status_lists_the_newest_build_per_project(api, project):
    Build.objects.create(project=project, state=Build.State.FAILED)
    newest = Build.objects.create(project=project)
    assert [b["id"] for b in api.get("/status").json()["items"]] == [newest.pk]


def test_the_owner_adds_an_add_on(api, project, monkeypatch):
    sent = []
    monkeypatch.setattr("addons.tasks.provision_addon.delay", sent.append)
    response = api.post(f"/projects/{project.slug}/addons", {"kind": "postgres"})
    assert response.status_code == 202
    assert "DATABASE_URL" in response.json()["variables"]
    assert project.addons.count() == 1


def test_an_unknown_add_on_is_a_400(api, project):
    response = api.post(f"/projects/{project.slug}/addons", {"kind": "oracle"})
    assert response.status_code == 400
    assert not project.addons.exists()


def test_a_member_cannot_add_an_add_on(client, make_token, other_user, project):
    from tests.unit.api.conftest import Api

    project.members.add(other_user)
    member = Api(client, make_token("admin", owner=other_user))
    response = member.post(f"/projects/{project.slug}/addons", {"kind": "postgres"})
    assert response.status_code == 403
    assert not AddOn.objects.exists()
    assert member.get(f"/projects/{project.slug}/addons").status_code == 200


def test_checking_a_domain_under_the_apps_own_address_says_verified(api, project, settings):
    hostname = f"www.{project.app_host}"
    api.post(f"/projects/{project.slug}/domains", {"hostname": hostname})
    response = api.post(f"/projects/{project.slug}/domains/{hostname}/check", {})
    assert response.status_code == 200
    assert response.json()["verified"] is True


def test_a_domain_check_refuses_an_unknown_method(api, project):
    api.post(f"/projects/{project.slug}/domains", {"hostname": "shop.example.org"})
    response = api.post(
        f"/projects/{project.slug}/domains/shop.example.org/check", {"method": "carrier-pigeon"}
    )
    assert response.status_code == 400


def test_the_owner_sets_an_add_ons_backup_schedule(api, project, monkeypatch):
    monkeypatch.setattr("addons.tasks.provision_addon.delay", lambda pk: None)
    addon = api.post(f"/projects/{project.slug}/addons", {"kind": "postgres"}).json()
    path = f"/projects/{project.slug}/addons/{addon['id']}/schedule"
    response = api.put(path, {"every_hours": 6, "keep": 3})
    assert response.status_code == 200
    assert (response.json()["backup_every_hours"], response.json()["keep_backups"]) == (6, 3)
    assert api.put(path, {"every_hours": -1, "keep": 3}).status_code == 400


def test_the_owner_asks_for_a_backup(api, project, monkeypatch):
    monkeypatch.setattr("addons.tasks.provision_addon.delay", lambda pk: None)
    addon = api.post(f"/projects/{project.slug}/addons", {"kind": "postgres"}).json()
    response = api.post(f"/projects/{project.slug}/addons/{addon['id']}/backup")
    assert response.status_code == 202


def test_the_owner_adds_lists_and_removes_a_volume_and_a_bad_path_is_a_400(
    api, project, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr("volumes.tasks.settle_volumes.delay", lambda: sent.append(1))

    bad = api.post(f"/projects/{project.slug}/volumes", {"name": "etc", "path": "/etc"})
    added = api.post(f"/projects/{project.slug}/volumes", {"name": "media", "path": "/app/media"})
    listed = api.get(f"/projects/{project.slug}/volumes").json()["items"]
    pk = added.json()["id"]
    unconfirmed = api.delete(f"/projects/{project.slug}/volumes/{pk}")
    with django_capture_on_commit_callbacks(execute=True):
        removed = api.delete(f"/projects/{project.slug}/volumes/{pk}?confirm=media")

    assert bad.status_code == 400 and "outside the app" in bad.json()["error"]["message"]
    assert added.status_code == 201 and added.json()["size"] is None
    assert [v["path"] for v in listed] == ["/app/media"]
    assert unconfirmed.status_code == 400 and "type media" in unconfirmed.json()["error"]["message"]
    assert removed.status_code == 202 and sent == [1]
    assert project.volumes.get().removing_at is not None
