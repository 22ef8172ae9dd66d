"""The add-ons section: everyone with the project sees it; only its owner adds or removes."""

from __future__ import annotations

import pytest

from addons.models import AddOn
from projects import crypto
from projects import services as project_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(user, other_user):
    return project_services.create_project(
        user, slug="shop", repo_url="https://example.com/a.git", members=[other_user]
    )


def test_the_owner_adds_postgres_and_the_worker_is_asked_to_start_it(
    client, user, project, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("addons.tasks.provision_addon.delay", queued.append)
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/projects/shop/addons/create/", {"kind": "postgres"})

    addon = AddOn.objects.get()
    assert response.status_code == 302
    assert queued == [addon.pk]
    page = client.get("/projects/shop/addons/").content.decode()
    assert "deployer-shop-postgres:5432" in page
    assert "PGPASSWORD" in page and addon.password() not in page


def test_a_member_sees_the_add_ons_but_cannot_add_or_remove_them(client, other_user, project):
    addon = AddOn.objects.create(
        project=project,
        kind="postgres",
        image="postgres:15",
        container_name="c",
        volume_name="v",
        database="shop",
        user="app",
        encrypted_password=crypto.encrypt("pw"),
    )
    client.force_login(other_user)

    assert client.get("/projects/shop/addons/").status_code == 200
    assert client.post("/projects/shop/addons/create/", {"kind": "postgres"}).status_code == 403
    assert client.post(f"/projects/shop/addons/{addon.pk}/remove/").status_code == 403
    assert AddOn.objects.count() == 1


def test_someone_elses_project_has_no_add_ons_page(client, django_user_model, project):
    stranger = django_user_model.objects.create_user("eve", password="x")
    client.force_login(stranger)

    assert client.get("/projects/shop/addons/").status_code == 404
    assert client.post("/projects/shop/addons/create/", {"kind": "postgres"}).status_code == 404


def _addon(project) -> AddOn:
    return AddOn.objects.create(
        project=project,
        kind="postgres",
        state=AddOn.State.READY,
        image="postgres:15",
        container_name="c",
        volume_name="v",
        database="shop",
        user="app",
        encrypted_password=crypto.encrypt("pw"),
    )


def test_removing_an_add_on_asks_to_type_its_kind_first(
    client, user, project, django_capture_on_commit_callbacks, monkeypatch
):
    addon = _addon(project)
    queued = []
    monkeypatch.setattr("addons.tasks.remove_addon.delay", lambda *args: queued.append(args))
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        refused = client.post(
            f"/projects/shop/addons/{addon.pk}/remove/", {"confirm": "yes"}, follow=True
        )
    assert "type postgres in the confirmation box" in refused.content.decode()
    assert queued == []

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/projects/shop/addons/{addon.pk}/remove/", {"confirm": "postgres"})
    assert queued == [(addon.pk, False, "ada")]


def test_the_owner_sets_the_backup_schedule_and_bad_values_are_refused_in_words(
    client, user, project
):
    addon = _addon(project)
    client.force_login(user)

    client.post(
        f"/projects/shop/addons/{addon.pk}/schedule/",
        {"backup_every_hours": "6", "keep_backups": "3"},
    )
    bad = client.post(
        f"/projects/shop/addons/{addon.pk}/schedule/",
        {"backup_every_hours": "6", "keep_backups": "0"},
        follow=True,
    )

    addon.refresh_from_db()
    assert (addon.backup_every_hours, addon.keep_backups) == (6, 3)
    assert "greater than or equal to 1" in bad.content.decode()
    assert project.audit_entries.filter(summary="postgres backups: every 6 h, keep 3").exists()


def test_back_up_now_asks_the_worker_and_failed_backups_show_in_red(
    client, user, project, django_capture_on_commit_callbacks, monkeypatch
):
    from addons.models import Backup

    addon = _addon(project)
    Backup.objects.create(addon=addon, state="failed", error="pg_dump failed (1): disk full")
    queued = []
    monkeypatch.setattr("addons.tasks.back_up_addon.delay", lambda *args: queued.append(args))
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/projects/shop/addons/{addon.pk}/backup/")
    page = client.get("/projects/shop/addons/").content.decode()

    assert queued == [(addon.pk, "ada")]
    assert (
        'class="badge bad">Failed</span> <span class="failure">pg_dump failed (1): disk full'
        in page
    )


def test_redis_is_offered_beside_postgres_and_its_health_and_unverified_backups_show(
    client, user, project
):
    from django.utils import timezone

    from addons import services
    from addons.models import Backup

    client.force_login(user)
    postgres = services.create_addon(project, "postgres")
    page = client.get("/projects/shop/addons/").content.decode()
    assert "Add Redis" in page and "Add PostgreSQL" not in page

    redis = services.create_addon(project, "redis")
    AddOn.objects.filter(pk=redis.pk).update(
        health="down", health_reason="Its container is exited.", health_since=timezone.now()
    )
    Backup.objects.create(addon=postgres, state="taken", reason="scheduled")
    failed = Backup.objects.create(addon=redis, state="failed", error="redis-cli failed")
    page = client.get("/projects/shop/addons/").content.decode()

    assert "Add Redis" not in page
    assert "deployer-shop-redis:6379" in page and "REDIS_URL" in page
    assert "Its container is exited." in page
    assert f'<tr id="backup-{failed.pk}" class="bad">' in page
    assert page.count('class="bad">') >= 2  # the unverified one is red too


def test_the_owner_renames_the_url_variable_and_a_bad_name_is_refused(client, user, project):
    from addons import services

    client.force_login(user)
    redis = services.create_addon(project, "redis")

    bad = client.post(
        f"/projects/shop/addons/{redis.pk}/variable/", {"variable": "A-B"}, follow=True
    )
    good = client.post(f"/projects/shop/addons/{redis.pk}/variable/", {"variable": "CACHE_URL"})

    assert "A-B" not in AddOn.objects.get(pk=redis.pk).variable
    assert bad.status_code == 200 and good.status_code == 302
    assert AddOn.objects.get(pk=redis.pk).url_variable == "CACHE_URL"


def test_a_backups_off_site_copy_or_its_refusal_shows_beside_it(client, user, project):
    from addons.models import Backup

    addon = _addon(project)
    Backup.objects.create(addon=addon, state="verified", offsite_url="s3://b/deployer/x.dump")
    refused = "The off-site copy to s3://b/deployer/y.dump failed: AccessDenied: Access Denied"
    Backup.objects.create(addon=addon, state="verified", offsite_error=refused)
    client.force_login(user)

    page = client.get("/projects/shop/addons/").content.decode()

    assert '<small class="help">copied to s3://b/deployer/x.dump</small>' in page
    assert f'<span class="failure">{refused}</span>' in page
