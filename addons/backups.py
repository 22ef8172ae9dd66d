"""Backups of add-ons that count only once they have been restored.

Redis add-ons are backed up as RDB snapshots (addons/rdb.py), checked the same way: loaded
into a throw-away Redis whose keys must match, and restored only after a safety backup.

A backup is `pg_dump -Fc` run inside the add-on's container, streamed through the engine's
API to a file under DEPLOYER_BACKUP_DIR (the add-on need not run beside the worker). It is
**verified** only after it was restored into a throw-away container of the same image, with
no network, and every table the live database had when it was taken is there again; the
row counts of both are kept. A restore into the live add-on takes only a verified backup,
takes a safety backup first, and stops the app's container meanwhile so it never sees a
half-restored database.
"""

from __future__ import annotations

import io
import secrets
import tarfile
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from addons import engine, kinds, offsite, rdb
from addons.models import AddOn, Backup
from builds.docker import LABEL_ROLE, describe_error, run_in
from builds.fences import operator_fence
from builds.installation import project_labels
from builds.models import Deployment
from builds.pipeline import fence
from builds.pipeline.errors import StageError
from projects import audit

# Exact row counts of every table in one query (no psql meta-commands needed).
COUNTS_SQL = (
    "SELECT table_schema || '.' || table_name, "
    "(xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I.%I', "
    "table_schema, table_name), false, true, '')))[1]::text "
    "FROM information_schema.tables "
    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE' "
    "ORDER BY 1"
)
# In the home folder of the image's postgres user (uid 999), beside its data folder.
DUMP_IN_CONTAINER = "/var/lib/postgresql/deployer-backup.dump"


class BackupError(Exception):
    """A backup or restore that cannot be done, in one sentence."""


def take(addon: AddOn, client, *, reason: str = "asked for") -> Backup:
    """Dump the add-on's database to a file, then verify it by a restore; returns the row."""
    backup = Backup.objects.create(addon=addon, reason=reason[:200])
    folder = Path(settings.DEPLOYER_BACKUP_DIR) / addon.project.slug
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "rdb" if addon.kind == kinds.REDIS else "dump"
    path = folder / f"{addon.kind}-{timezone.now():%Y%m%dT%H%M%S}-{backup.pk}.{suffix}"
    before = None
    try:
        if addon.kind == kinds.REDIS:
            before, tables = rdb.snapshot(client, addon, path)
        else:
            tables = counts(client, addon.container_name, addon)
            _dump(client, addon, path)
    except (BackupError, rdb.RdbError) as exc:
        path.unlink(missing_ok=True)
        return _failed(backup, str(exc))
    Backup.objects.filter(pk=backup.pk).update(
        path=str(path), size=path.stat().st_size, tables=tables
    )
    backup.refresh_from_db()
    checked = verify(backup, client, keys_before=before)
    return offsite.copy(checked)  # when a store is configured and the backup is verified


def verify(backup: Backup, client, *, keys_before: dict[str, int] | None = None) -> Backup:
    """Restore the backup into a throw-away container and check its tables; records the outcome.

    `keys_before`: a Redis server's key counts just before the snapshot (its counts just
    after are the backup's `tables`); the copy may hold any number in between.
    """
    addon = backup.addon
    name = f"deployer-{addon.project.slug}-backup-check-{backup.pk}"
    if addon.kind == kinds.REDIS:
        return _verify_rdb(backup, client, name, keys_before)
    try:
        container_id = _throwaway(client, addon, name)
        try:
            _restore_into(client, container_id, addon, Path(backup.path), clean=False)
            restored = counts(client, container_id, addon)
        finally:
            client.api.remove_container(container_id, v=True, force=True)
    except (BackupError, OSError) as exc:
        return _failed(backup, f"The restore check failed: {exc}")
    missing = sorted(set(backup.tables) - set(restored))
    if missing:
        return _failed(backup, f"The restored copy lacks tables: {', '.join(missing)}.")
    Backup.objects.filter(pk=backup.pk).update(
        state=Backup.State.VERIFIED, restored_tables=restored, verified_at=timezone.now(), error=""
    )
    backup.refresh_from_db()
    return backup


def _verify_rdb(backup: Backup, client, name: str, keys_before: dict[str, int] | None) -> Backup:
    try:
        restored = rdb.load_and_count(client, backup.addon, Path(backup.path), name)
    except (rdb.RdbError, OSError) as exc:
        return _failed(backup, f"The restore check failed: {exc}")
    if backup.restored_tables:  # checked again: the same file must give the same keys
        problem = rdb.matches(restored, backup.restored_tables, backup.restored_tables)
    else:
        problem = rdb.matches(restored, keys_before or backup.tables, backup.tables)
    if problem:
        return _failed(backup, f"The restored copy differs: {problem}.")
    Backup.objects.filter(pk=backup.pk).update(
        state=Backup.State.VERIFIED, restored_tables=restored, verified_at=timezone.now(), error=""
    )
    backup.refresh_from_db()
    return backup


def restore(addon: AddOn, backup: Backup, client, *, actor=None) -> Backup:
    """Restore a verified backup into the live add-on; returns the safety backup taken first.

    The app's live container is stopped meanwhile and started again after. Raises
    BackupError, with the live database untouched, for an unverified or missing backup or
    when the safety backup fails.
    """
    if backup.addon_id != addon.pk:
        raise BackupError(f"Backup #{backup.pk} is not of the {addon} add-on.")
    if backup.state != Backup.State.VERIFIED:
        raise BackupError(
            f"Backup #{backup.pk} is {backup.get_state_display().lower()}: only a backup proven "
            "by a restore is restored into the live database."
        )
    if not Path(backup.path).is_file():
        raise BackupError(f"The file of backup #{backup.pk} ({backup.path}) is gone.")
    if addon.kind == kinds.REDIS:
        # The file is loaded once more before the live data is touched: it may have been
        # damaged on disk since it was verified, and Redis cannot restore in a transaction.
        checked = verify(backup, client)
        if checked.state != Backup.State.VERIFIED:
            raise BackupError(
                f"Backup #{backup.pk} no longer loads ({checked.error}); nothing was restored."
            )
    safety = take(addon, client, reason=f"safety backup before restoring #{backup.pk}")
    if safety.state != Backup.State.VERIFIED:
        raise BackupError(f"The safety backup failed ({safety.error}); nothing was restored.")
    # Every web replica and process type (workers) stops: none may write while the data is
    # replaced.
    live = _writers(client, addon)
    for container_id in live:
        client.api.stop(container_id, timeout=settings.DEPLOYER_STOP_GRACE)
    try:
        if addon.kind == kinds.REDIS:
            try:
                rdb.put_back(client, addon, Path(backup.path), backup.restored_tables)
            except rdb.RdbError as exc:
                raise BackupError(str(exc)) from exc
        else:
            _restore_into(client, addon.container_name, addon, Path(backup.path), clean=True)
    finally:
        for container_id in live:
            client.api.start(container_id)
    audit.record(
        addon.project,
        audit.Action.ADDON_RESTORE,
        actor=actor,
        summary=f"{addon.kind} from backup #{backup.pk} (safety backup #{safety.pk})",
    )
    return safety


def _writers(client, addon: AddOn) -> list[str]:
    """The app's running containers that may write to the add-on: its live web replicas and
    its process types (found by label: processes/ runs them). A cron run is one-off and ends
    on its own time limit."""
    web = Deployment.objects.filter(project=addon.project, state=Deployment.State.LIVE)
    labels = [f"{key}={value}" for key, value in project_labels(addon.project.slug).items()]
    processes = client.containers.list(
        filters={"label": [*labels, f"{LABEL_ROLE}=process"]}, ignore_removed=True
    )
    return [deployment.container_id for deployment in web] + [c.id for c in processes]


def counts(client, container: str, addon: AddOn) -> dict[str, int]:
    """{schema.table: rows} of the database in `container` (the live add-on or a copy)."""
    ran = run_in(
        client,
        container,
        ["psql", "-At", "-F", "\t", "-U", addon.user, "-d", addon.database, "-c", COUNTS_SQL],
    )
    if ran.exit_code != 0:
        raise BackupError(
            f"Counting the tables failed: {ran.stderr.strip()[:300] or ran.exit_code}"
        )
    rows = {}
    for line in ran.stdout.splitlines():
        table, _, number = line.partition("\t")
        if table and number.isdigit():
            rows[table] = int(number)
    return rows


def _dump(client, addon: AddOn, path: Path) -> None:
    command = ["pg_dump", "-Fc", "--no-owner", "-U", addon.user, "-d", addon.database]
    try:
        created = client.api.exec_create(addon.container_name, command)
        stream = client.api.exec_start(created["Id"], stream=True, demux=True)
        errors = []
        with path.open("wb") as out:
            for stdout, stderr in stream:
                if stdout:
                    out.write(stdout)
                if stderr:
                    errors.append(stderr.decode("utf-8", "replace"))
        code = client.api.exec_inspect(created["Id"]).get("ExitCode")
    except Exception as exc:
        path.unlink(missing_ok=True)
        raise BackupError(f"pg_dump could not run: {describe_error(exc)}") from exc
    if code != 0:
        path.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed ({code}): {''.join(errors).strip()[:300]}")


def _throwaway(client, addon: AddOn, name: str) -> str:
    """A fresh PostgreSQL of the add-on's image with no network, ready; returns its id."""
    labels = {**project_labels(addon.project.slug), LABEL_ROLE: "backup-check"}
    # The add-on's own fence, on no network at all: nothing reaches the copy, nor it anything.
    limits = operator_fence("none", settings.DEPLOYER_ADDON_MEMORY_MB, user=engine.POSTGRES_UID)
    config = client.api.create_host_config(**fence.host_config(limits))
    container_id = client.api.create_container(
        addon.image,
        name=name,
        user=engine.POSTGRES_UID,
        labels=labels,
        host_config=config,
        environment={
            "POSTGRES_USER": addon.user,
            "POSTGRES_DB": addon.database,
            "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        },
    )["Id"]
    client.api.start(container_id)
    try:
        engine.wait_until_ready(
            client,
            container_id,
            kinds.ready_command(addon.kind, user=addon.user, database=addon.database),
            timeout=settings.DEPLOYER_ADDON_READY_TIMEOUT,
        )
    except StageError as exc:
        client.api.remove_container(container_id, v=True, force=True)
        raise BackupError(str(exc)) from exc
    return container_id


def _restore_into(client, container: str, addon: AddOn, path: Path, *, clean: bool) -> None:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo(Path(DUMP_IN_CONTAINER).name)
        info.size, info.mode, info.uid, info.gid = path.stat().st_size, 0o644, 999, 999
        with path.open("rb") as handle:
            tar.addfile(info, handle)
    if not client.api.put_archive(container, str(Path(DUMP_IN_CONTAINER).parent), data.getvalue()):
        raise BackupError("The backup could not be copied into the container.")
    command = [
        "pg_restore",
        "--no-owner",
        "--exit-on-error",
        "-U",
        addon.user,
        "-d",
        addon.database,
    ]
    if clean:
        command += ["--clean", "--if-exists", "--single-transaction"]
    ran = run_in(client, container, [*command, DUMP_IN_CONTAINER])
    run_in(client, container, ["rm", "-f", DUMP_IN_CONTAINER])
    if ran.exit_code != 0:
        raise BackupError(f"pg_restore failed ({ran.exit_code}): {ran.stderr.strip()[:300]}")


def _failed(backup: Backup, error: str) -> Backup:
    Backup.objects.filter(pk=backup.pk).update(state=Backup.State.FAILED, error=error[:2000])
    backup.refresh_from_db()
    return backup
