"""Backups of Deployer's own database, which count only once they have been restored.

A backup is one tar file holding `manifest.json` and the database: `pg_dump -Fc` for
PostgreSQL, SQLite's online backup for the embedded default. The manifest names the engine,
the migrations applied, every table with its rows, the dump's SHA-256 and a check token
encrypted with the secrets key. The secrets key itself is never in it: it is written, only
when asked, to a file of its own (`write_key_file`) that must be kept apart.

A backup is **verified** once restored into a throw-away database (a new PostgreSQL
database, or a temporary SQLite file), every table there again and every encrypted value
decrypting with the key in force. `restore` takes a file onto an empty installation; it
refuses a corrupt file, one from a newer Deployer, or one whose key is not configured, with
one sentence, before it changes anything, and replaces the database in one transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from deployer.models import PlatformBackup
from projects import crypto

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
CHECK_PLAINTEXT = "deployer platform backup"
COMMAND_TIMEOUT = 3600


class PlatformBackupError(Exception):
    """A platform backup or restore that cannot be done, in one sentence."""


@dataclass(frozen=True)
class Target:
    """A database to read from or write to: Django's connection settings of one alias."""

    vendor: str
    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""

    @classmethod
    def of(cls, alias: str = "default") -> Target:
        db = connections[alias].settings_dict
        vendor = "sqlite" if db["ENGINE"].endswith("sqlite3") else "postgresql"
        return cls(
            vendor,
            str(db["NAME"]),
            db.get("USER") or "",
            db.get("PASSWORD") or "",
            db.get("HOST") or "",
            str(db.get("PORT") or ""),
        )

    def renamed(self, name: str) -> Target:
        return Target(self.vendor, name, self.user, self.password, self.host, self.port)

    def libpq_env(self) -> dict[str, str]:
        """The environment pg_dump, pg_restore and psql read: no password in argv."""
        env = {**os.environ, "PGDATABASE": self.name, "PGUSER": self.user}
        env.update(PGPASSWORD=self.password, PGHOST=self.host or "", PGPORT=self.port or "5432")
        return {key: value for key, value in env.items() if value != ""}

    def conninfo(self, name: str | None = None) -> dict[str, str]:
        info = {"dbname": name or self.name, "user": self.user, "password": self.password}
        info.update(host=self.host, port=self.port or "5432")
        return {key: value for key, value in info.items() if value}


def backup_dir() -> Path:
    return Path(settings.DEPLOYER_PLATFORM_BACKUP_DIR)


def take(*, reason: str = "asked for", target: Target | None = None) -> PlatformBackup:
    """Write the database to a new backup file, then verify it by a restore; returns the row."""
    target = target or Target.of()
    backup = PlatformBackup.objects.create(reason=reason[:200], engine=target.vendor)
    folder = backup_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"platform-{timezone.now():%Y%m%dT%H%M%S}-{backup.pk}.tar"
    with tempfile.TemporaryDirectory(dir=folder, prefix=".taking-") as work:
        dump = Path(work) / DATABASE[target.vendor]
        try:
            tables = counts(target)
            _dump(target, dump)
        except PlatformBackupError as exc:
            return _failed(backup, str(exc))
        manifest = {
            "format": FORMAT,
            "engine": target.vendor,
            "deployer_version": settings.DEPLOYER_VERSION,
            "created_at": timezone.now().isoformat(),
            "migrations": applied_migrations(target),
            "tables": tables,
            "sha256": _sha256(dump),
            "key_check": crypto.encrypt(CHECK_PLAINTEXT),
        }
        partial = folder / f".{path.name}.partial"
        with tarfile.open(partial, "w") as tar:
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
            tar.add(dump, arcname=dump.name)
        partial.rename(path)
        path.chmod(0o600)
    PlatformBackup.objects.filter(pk=backup.pk).update(
        path=str(path), size=path.stat().st_size, tables=tables
    )
    backup.refresh_from_db()
    return verify(backup, target=target)


def verify(backup: PlatformBackup, *, target: Target | None = None) -> PlatformBackup:
    """Restore the backup into a throw-away database and check it; records the outcome."""
    target = target or Target.of()
    try:
        with _opened(Path(backup.path)) as (manifest, dump):
            _check_restorable(manifest, target)
            restored, decrypted = _trial_restore(target, dump)
    except PlatformBackupError as exc:
        return _failed(backup, f"The restore check failed: {exc}")
    missing = sorted(set(backup.tables) - set(restored))
    if missing:
        return _failed(backup, f"The restored copy lacks tables: {', '.join(missing)}.")
    PlatformBackup.objects.filter(pk=backup.pk).update(
        state=PlatformBackup.State.VERIFIED,
        restored_tables=restored,
        secrets_checked=decrypted,
        verified_at=timezone.now(),
        error="",
    )
    backup.refresh_from_db()
    return backup


def restore(path: Path, *, target: Target | None = None) -> dict:
    """Replace an empty installation's database with the backup at `path`; returns its manifest.

    Refuses (PlatformBackupError, nothing changed) a corrupt file, one from a newer Deployer
    or another database engine, one whose secrets key is not configured here, and a target
    that already holds projects. The caller runs `migrate` afterwards for an older backup.
    """
    target = target or Target.of()
    with _opened(path) as (manifest, dump):
        _check_restorable(manifest, target)
        if target_projects(target):
            raise PlatformBackupError(
                "This installation already has projects: a platform backup is restored only "
                "onto an empty installation (a fresh database)."
            )
        # Proven on a throw-away copy first: a dump that cannot be restored never touches the target.
        _trial_restore(target, dump)
        connections.close_all()
        _load(target, dump, replace=True)
    return manifest


def write_key_file(path: Path) -> Path:
    """Write the secrets key(s) in force to `path` (mode 0600), never beside a backup."""
    path = Path(path)
    if path.exists():
        raise PlatformBackupError(f"{path} exists already; the key file is never overwritten.")
    if path.resolve().parent == backup_dir().resolve():
        raise PlatformBackupError(
            "The key file must be kept apart from the backups: choose a path outside "
            f"{backup_dir()}."
        )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(f"DEPLOYER_SECRETS_KEY={','.join(crypto.configured_keys())}\n")
    return path


def prune(keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups that are verified (and every older failed one)."""
    removed = []
    verified = PlatformBackup.objects.filter(state=PlatformBackup.State.VERIFIED)
    keep_ids = list(verified.order_by("-created_at").values_list("pk", flat=True)[:keep])
    if not keep_ids:
        return removed
    oldest_kept = PlatformBackup.objects.filter(pk__in=keep_ids).order_by("created_at").first()
    old = PlatformBackup.objects.exclude(pk__in=keep_ids).filter(
        created_at__lt=oldest_kept.created_at
    )
    for backup in old:
        if backup.path:
            Path(backup.path).unlink(missing_ok=True)
            removed.append(Path(backup.path))
        backup.delete()
    return removed


def last_verified() -> PlatformBackup | None:
    return PlatformBackup.objects.filter(state=PlatformBackup.State.VERIFIED).first()


# -- what a database holds --------------------------------------------------------------


def counts(target: Target) -> dict[str, int]:
    """{table: rows} of every table in `target`."""
    with _connect(target) as conn:
        cursor = conn.cursor()
        if target.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        else:
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
            )
        names = [row[0] for row in cursor.fetchall()]
        result = {}
        for name in names:
            cursor.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608 - names from the catalogue
            result[name] = int(cursor.fetchone()[0])
        return result


def applied_migrations(target: Target) -> list[str]:
    """`app.migration` of every migration recorded in `target`, sorted."""
    with _connect(target) as conn:
        cursor = conn.cursor()
        try:
            cursor.execute("SELECT app, name FROM django_migrations")
        except Exception:  # noqa: BLE001 - no table: nothing applied
            return []
        return sorted(f"{app}.{name}" for app, name in cursor.fetchall())


def unknown_migrations(applied: list[str]) -> list[str]:
    """The migrations in `applied` that this version of Deployer does not have: a newer one's."""
    known = {
        f"{app}.{name}"
        for app, name in MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    }
    return sorted(set(applied) - known)


def target_projects(target: Target) -> int:
    with _connect(target) as conn:
        cursor = conn.cursor()
        try:
            cursor.execute("SELECT count(*) FROM projects_project")
        except Exception:  # noqa: BLE001 - no table yet: an empty installation
            return 0
        return int(cursor.fetchone()[0])


def encrypted_columns() -> list[tuple[str, str]]:
    """(table, column) of every value encrypted with the secrets key (fields named encrypted_*)."""
    return sorted(
        (model._meta.db_table, field.column)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.name.startswith("encrypted_")
    )


def decrypt_all(target: Target) -> int:
    """Decrypt every encrypted value in `target`; returns how many. Raises PlatformBackupError."""
    fernet = crypto.fernet()
    checked = 0
    with _connect(target) as conn:
        cursor = conn.cursor()
        for table, column in encrypted_columns():
            try:
                cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE "{column}" <> \'\'')  # noqa: S608
            except Exception:  # noqa: BLE001 - a table an older backup does not have yet
                if target.vendor == "postgresql":
                    conn.rollback()
                continue
            for (token,) in cursor.fetchall():
                try:
                    fernet.decrypt(token.encode())
                except InvalidToken:
                    raise PlatformBackupError(
                        f"A value in {table}.{column} does not decrypt with DEPLOYER_SECRETS_KEY."
                    ) from None
                checked += 1
    return checked


# -- the file --------------------------------------------------------------------------


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[tuple[dict, Path]]:
    """The manifest and the database file of the backup at `path`, unpacked and checked."""
    path = Path(path)
    if not path.is_file():
        raise PlatformBackupError(f"{path} is not a file.")
    with tempfile.TemporaryDirectory(prefix="deployer-restore-") as work:
        try:
            with tarfile.open(path, "r:") as tar:
                members = {member.name: member for member in tar.getmembers()}
                if MANIFEST not in members:
                    raise PlatformBackupError(f"{path} is not a Deployer platform backup.")
                manifest = json.loads(tar.extractfile(members[MANIFEST]).read())
                name = DATABASE.get(manifest.get("engine"), "")
                if name not in members or not members[name].isfile():
                    raise PlatformBackupError(f"{path} holds no database: it is incomplete.")
                # Copied by hand, never extracted by its own name and mode (tarfile's `filter`
                # is missing from some 3.11 releases, Debian bookworm's among them).
                with (
                    tar.extractfile(members[name]) as source,
                    (Path(work) / name).open("wb") as out,
                ):
                    shutil.copyfileobj(source, out, 1 << 20)
        except (
            tarfile.TarError,
            json.JSONDecodeError,
            UnicodeDecodeError,
            EOFError,
            OSError,
        ) as exc:
            raise PlatformBackupError(f"{path} is corrupt ({exc}).") from None
        dump = Path(work) / name
        if not isinstance(manifest, dict) or _sha256(dump) != manifest.get("sha256"):
            raise PlatformBackupError(
                f"{path} is corrupt: its database does not match its checksum."
            )
        yield manifest, dump


def _check_restorable(manifest: dict, target: Target) -> None:
    if manifest.get("format") != FORMAT:
        raise PlatformBackupError(
            f"This backup's format ({manifest.get('format')!r}) is not one this Deployer reads."
        )
    if manifest.get("engine") != target.vendor:
        raise PlatformBackupError(
            f"This backup is of a {manifest.get('engine')} database and this installation uses "
            f"{target.vendor}."
        )
    newer = unknown_migrations(manifest.get("migrations") or [])
    if newer:
        raise PlatformBackupError(
            f"This backup is from a newer Deployer ({manifest.get('deployer_version')}, with "
            f"migration {newer[0]} this version lacks): upgrade Deployer before restoring it."
        )
    try:
        crypto.fernet().decrypt(str(manifest.get("key_check", "")).encode())
    except InvalidToken:
        raise PlatformBackupError(
            "This backup was made with a secrets key this installation does not have: set "
            "DEPLOYER_SECRETS_KEY to the key saved with it (`platform backup --key-file`), or "
            "every environment variable would be lost."
        ) from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(timezone.now().timestamp())
    tar.addfile(info, fileobj=io.BytesIO(data))


# -- the engines -----------------------------------------------------------------------


@contextlib.contextmanager
def _connect(target: Target, name: str | None = None):
    if target.vendor == "sqlite":
        conn = sqlite3.connect(name or target.name)
    else:
        # Imported here: the embedded SQLite setup never loads psycopg (23 MB per process).
        import psycopg

        conn = psycopg.connect(**target.conninfo(name), connect_timeout=10)
    try:
        yield conn
    finally:
        conn.close()


def _run(command: list[str], target: Target, **kwargs) -> subprocess.CompletedProcess:
    binary = shutil.which(command[0])
    if not binary:
        raise PlatformBackupError(
            f"{command[0]} is not installed (Debian: apt-get install postgresql-client)."
        )
    try:
        ran = subprocess.run(
            [binary, *command[1:]],
            env=target.libpq_env(),
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
            **kwargs,
        )
    except subprocess.TimeoutExpired:
        raise PlatformBackupError(f"{command[0]} took longer than {COMMAND_TIMEOUT} s.") from None
    if ran.returncode != 0:
        stderr = (
            ran.stderr.decode("utf-8", "replace") if isinstance(ran.stderr, bytes) else ran.stderr
        )
        raise PlatformBackupError(f"{command[0]} failed ({ran.returncode}): {stderr.strip()[:300]}")
    return ran


def _dump(target: Target, out: Path) -> None:
    if target.vendor == "sqlite":
        # The online backup API: a consistent copy while the web and the worker write.
        source, copy = sqlite3.connect(target.name), sqlite3.connect(out)
        try:
            source.backup(copy)
        except sqlite3.Error as exc:
            raise PlatformBackupError(f"The SQLite backup failed: {exc}") from None
        finally:
            copy.close()
            source.close()
        return
    _run(["pg_dump", "-Fc", "--no-owner", "--no-privileges", "-f", str(out)], target)


def _trial_restore(target: Target, dump: Path) -> tuple[dict[str, int], int]:
    """Restore `dump` into a throw-away database; returns its {table: rows} and the number of
    encrypted values that decrypted. The throw-away database is removed in every case."""
    if target.vendor == "sqlite":
        with tempfile.TemporaryDirectory(prefix="deployer-verify-") as work:
            trial = target.renamed(str(Path(work) / "trial.sqlite3"))
            _load(trial, dump, replace=True)
            return counts(trial), decrypt_all(trial)
    trial = target.renamed(f"deployer_verify_{secrets.token_hex(4)}")
    with _connect(target) as admin:
        admin.autocommit = True
        admin.execute(f'CREATE DATABASE "{trial.name}"')
        try:
            _load(trial, dump, replace=False)
            return counts(trial), decrypt_all(trial)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{trial.name}" WITH (FORCE)')


def _load(target: Target, dump: Path, *, replace: bool) -> None:
    """Put the dump's database into `target`, replacing what it held, in one transaction."""
    if target.vendor == "sqlite":
        source, dest = sqlite3.connect(dump), sqlite3.connect(target.name)
        try:
            source.backup(dest)
        except sqlite3.Error as exc:
            raise PlatformBackupError(f"The SQLite restore failed: {exc}") from None
        finally:
            dest.close()
            source.close()
        return
    script = _run(
        ["pg_restore", "--no-owner", "--no-privileges", "-f", "-", str(dump)], target
    ).stdout
    if replace:
        # Tables the fresh installation's `migrate` made go too: the backup brings its own.
        script = b"DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n" + script
    _run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", target.name],
        target,
        input=script,
    )


def _failed(backup: PlatformBackup, error: str) -> PlatformBackup:
    PlatformBackup.objects.filter(pk=backup.pk).update(
        state=PlatformBackup.State.FAILED, error=error[:2000]
    )
    backup.refresh_from_db()
    return backup
