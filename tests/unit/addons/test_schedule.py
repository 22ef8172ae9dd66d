"""Scheduled add-on backups: when one is due, what is kept, and who hears of a failure."""

from __future__ import annotations

import pytest
from django.utils import timezone

from addons import schedule
from addons.models import AddOn, Backup
from monitoring.models import NotificationDelivery
from projects import crypto
from projects import services as project_services

pytestmark = pytest.mark.django_db
NOW = timezone.now()


@pytest.fixture
def addon(user):
    user.email = "ada@example.com"
    user.save()
    project = project_services.create_project(user, slug="shop", repo_url="https://e.com/a.git")
    return AddOn.objects.create(
        project=project,
        kind="postgres",
        state=AddOn.State.READY,
        image="postgres:15",
        container_name="deployer-shop-postgres",
        volume_name="deployer-postgres-shop",
        database="shop",
        user="app",
        encrypted_password=crypto.encrypt("pw"),
        backup_every_hours=24,
        keep_backups=2,
    )


def _backup(addon, hours_ago: float, state=Backup.State.VERIFIED, path="") -> Backup:
    backup = Backup.objects.create(addon=addon, state=state, path=path, reason="scheduled")
    Backup.objects.filter(pk=backup.pk).update(created_at=NOW - timezone.timedelta(hours=hours_ago))
    return backup


def test_a_backup_is_due_after_its_interval_since_the_last_of_any_outcome(addon):
    assert schedule.is_due(addon, NOW)  # never backed up
    _backup(addon, hours_ago=23, state=Backup.State.FAILED)
    assert not schedule.is_due(addon, NOW)
    assert schedule.is_due(addon, NOW + timezone.timedelta(hours=1))


def test_no_schedule_or_an_add_on_not_ready_is_never_due(addon):
    addon.backup_every_hours = 0
    assert not schedule.is_due(addon, NOW)
    addon.backup_every_hours, addon.state = 24, AddOn.State.CREATING
    assert not schedule.is_due(addon, NOW)


def test_old_backups_go_with_their_files_but_the_newest_verified_one_stays(addon, tmp_path):
    files = [tmp_path / f"{n}.dump" for n in range(4)]
    for file in files:
        file.write_bytes(b"PGDMP")
    verified = _backup(addon, 40, path=str(files[0]))
    old = _backup(addon, 30, Backup.State.FAILED, path=str(files[1]))
    newer = [
        _backup(addon, h, Backup.State.FAILED, path=str(files[n])) for n, h in ((2, 20), (3, 10))
    ]

    deleted = schedule.prune(addon)

    assert deleted == [old.pk]
    assert not files[1].exists() and files[0].exists()
    assert set(addon.backups.values_list("pk", flat=True)) == {verified.pk, *(b.pk for b in newer)}


def test_a_failed_backup_is_announced_with_the_last_verified_one(addon):
    _backup(addon, 30)
    failed = _backup(addon, 0, Backup.State.FAILED)
    Backup.objects.filter(pk=failed.pk).update(error="pg_dump failed (1): disk full")
    failed.refresh_from_db()

    schedule.announce_failure(failed)

    email = NotificationDelivery.objects.get(project=addon.project)
    assert email.target == "ada@example.com"
    assert "a backup of its PostgreSQL failed" in email.subject
    assert (
        "pg_dump failed (1): disk full" in email.body
        and "The last verified backup is #" in email.body
    )
