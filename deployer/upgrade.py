"""What runs once before a new version's web and worker start (`manage.py platform migrate`,
the compose file's one-shot `migrate` service): refuse a version older than the database,
and migrate under a lock, so two starting at once never migrate together."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from deployer.platform_backup import unknown_migrations

# pg_advisory_lock's key: any constant the apps' own databases never share with us.
LOCK_KEY = 0x6465706C6F79  # "deploy"


class UpgradeRefused(Exception):
    """This version must not start on this database, in one sentence."""


def refuse_older_version() -> None:
    recorder = MigrationRecorder(connection)
    applied = [f"{app}.{name}" for app, name in recorder.applied_migrations()]
    newer = unknown_migrations(applied)
    if newer:
        raise UpgradeRefused(
            f"This Deployer ({settings.DEPLOYER_VERSION}) is older than its database, which "
            f"has migration {newer[0]} applied: start the newer version again (or restore a "
            "platform backup made by this one)."
        )


@contextlib.contextmanager
def migration_lock() -> Iterator[None]:
    """Held while migrating: a second `platform migrate` waits, then finds nothing to do."""
    if connection.vendor != "postgresql":
        yield  # SQLite: one host, one file; its own write lock serialises migrations
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
