from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from deployer import upgrade

pytestmark = pytest.mark.django_db


def _record_migration(app: str, name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, now())", [app, name]
        )


def test_this_version_starts_on_a_database_it_knows():
    upgrade.refuse_older_version()  # raises if not


def test_an_older_version_than_the_database_is_refused_in_one_sentence(settings):
    settings.DEPLOYER_VERSION = "1.0.0"
    _record_migration("projects", "9999_from_a_newer_deployer")

    with pytest.raises(upgrade.UpgradeRefused) as refused:
        upgrade.refuse_older_version()

    message = str(refused.value)
    assert message.startswith("This Deployer (1.0.0) is older than its database")
    assert "projects.9999_from_a_newer_deployer" in message
    assert message.count(". ") == 0  # one sentence


def test_platform_migrate_refuses_before_migrating(settings):
    _record_migration("builds", "9999_from_a_newer_deployer")

    with pytest.raises(CommandError, match="is older than its database"):
        call_command("platform", "migrate")


def test_the_migration_lock_is_held_and_released():
    with upgrade.migration_lock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
            [upgrade.LOCK_KEY & 0xFFFFFFFF],
        )
        assert cursor.fetchone()[0] == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        assert cursor.fetchone()[0] == 0
