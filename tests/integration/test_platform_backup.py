"""Platform backups on the real PostgreSQL: backup, verify by a restore, restore into a fresh
database where every environment variable decrypts; bad files refused, nothing changed."""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet

from deployer import platform_backup
from deployer.models import PlatformBackup
from deployer.platform_backup import PlatformBackupError, Target
from projects import crypto
from projects.models import EnvVar, Project

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def backup_dir(settings, tmp_path):
    settings.DEPLOYER_PLATFORM_BACKUP_DIR = str(tmp_path / "backups")
    return tmp_path / "backups"


@pytest.fixture
def shop(real_services, user):
    project = Project.objects.create(owner=user, slug="shop", repo_url="https://example.com/s.git")
    EnvVar.objects.create(
        project=project, key="API_TOKEN", encrypted_value=crypto.encrypt("s3cret")
    )
    return project


@pytest.fixture
def fresh_database():
    """An empty database beside the test one, dropped afterwards: the 'new server'."""
    source = Target.of()
    target = source.renamed(f"test_platform_restore_{secrets.token_hex(4)}")
    with psycopg.connect(**source.conninfo(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{target.name}"')
    yield target
    with psycopg.connect(**source.conninfo(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{target.name}" WITH (FORCE)')


def _tables(target: Target) -> list[str]:
    with psycopg.connect(**target.conninfo()) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return sorted(row[0] for row in rows)


def _rewritten(path: Path, out: Path, **manifest_changes) -> Path:
    """A copy of the backup at `path` with its manifest changed."""
    with tarfile.open(path) as tar, tarfile.open(out, "w") as copy:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            if member.name == platform_backup.MANIFEST:
                manifest = json.loads(data)
                manifest.update(manifest_changes)
                data = json.dumps(manifest).encode()
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    return out


def test_backup_is_verified_by_a_restore_and_restores_into_a_fresh_database_with_secrets(
    shop, backup_dir, fresh_database
):
    backup = platform_backup.take(reason="test")

    assert backup.state == PlatformBackup.State.VERIFIED, backup.error
    assert backup.secrets_checked >= 1
    assert backup.restored_tables["projects_envvar"] == 1
    assert Path(backup.path).parent == backup_dir
    assert b"s3cret" not in Path(backup.path).read_bytes()

    manifest = platform_backup.restore(Path(backup.path), target=fresh_database)

    assert manifest["engine"] == "postgresql"
    with psycopg.connect(**fresh_database.conninfo()) as conn:
        token = conn.execute(
            "SELECT encrypted_value FROM projects_envvar WHERE key = 'API_TOKEN'"
        ).fetchone()[0]
        slug = conn.execute("SELECT slug FROM projects_project").fetchone()[0]
    assert crypto.decrypt(token) == "s3cret"
    assert slug == "shop"


def test_restore_refuses_a_corrupt_file_and_changes_nothing(shop, backup_dir, fresh_database):
    backup = platform_backup.take()
    corrupt = backup_dir / "corrupt.tar"
    data = Path(backup.path).read_bytes()
    corrupt.write_bytes(data[: len(data) // 2])

    with pytest.raises(PlatformBackupError, match=r"corrupt|incomplete"):
        platform_backup.restore(corrupt, target=fresh_database)

    assert _tables(fresh_database) == []


def test_restore_refuses_a_backup_from_a_newer_version(shop, backup_dir, fresh_database):
    backup = platform_backup.take()
    manifest = json.loads(tarfile.open(backup.path).extractfile(platform_backup.MANIFEST).read())
    newer = _rewritten(
        Path(backup.path),
        backup_dir / "newer.tar",
        migrations=[*manifest["migrations"], "projects.9999_from_the_future"],
        deployer_version="9.0.0",
    )

    with pytest.raises(PlatformBackupError, match=r"newer Deployer \(9\.0\.0"):
        platform_backup.restore(newer, target=fresh_database)

    assert _tables(fresh_database) == []


def test_restore_refuses_without_the_backups_secrets_key(
    shop, backup_dir, fresh_database, settings
):
    backup = platform_backup.take()
    settings.DEPLOYER_SECRETS_KEY = Fernet.generate_key().decode()

    with pytest.raises(PlatformBackupError, match="secrets key this installation does not have"):
        platform_backup.restore(Path(backup.path), target=fresh_database)

    assert _tables(fresh_database) == []


def test_restore_refuses_an_installation_that_has_projects(shop, backup_dir):
    backup = platform_backup.take()

    with pytest.raises(PlatformBackupError, match="already has projects"):
        platform_backup.restore(Path(backup.path))

    assert Project.objects.filter(slug="shop").exists()


def test_a_dump_that_cannot_be_restored_fails_verification(shop, backup_dir, monkeypatch):
    real_dump = platform_backup._dump

    def broken_dump(target, out):
        real_dump(target, out)
        out.write_bytes(out.read_bytes()[:200])

    monkeypatch.setattr(platform_backup, "_dump", broken_dump)

    backup = platform_backup.take()

    assert backup.state == PlatformBackup.State.FAILED
    assert backup.error.startswith("The restore check failed: pg_restore failed")


def test_retention_keeps_the_newest_verified_backups(shop, backup_dir):
    first, second, third = (platform_backup.take() for _ in range(3))

    removed = platform_backup.prune(keep=2)

    assert removed == [Path(first.path)]
    assert not Path(first.path).exists()
    assert set(PlatformBackup.objects.values_list("pk", flat=True)) == {second.pk, third.pk}
    shutil.rmtree(backup_dir)


def test_embedded_sqlite_backs_up_online_and_restores_into_a_new_installation(tmp_path):
    """The embedded default, through the commands an operator runs."""
    key = Fernet.generate_key().decode()
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DEPLOYER_", "DATABASE_", "REDIS_")) and k != "SECRET_KEY"
    }
    base.update(
        DEPLOYER_SECRETS_KEY=key,
        DEPLOYER_PLATFORM_BACKUP_DIR=str(tmp_path / "backups"),
        DJANGO_SETTINGS_MODULE="deployer.settings",
    )

    def manage(database: Path, *args: str) -> subprocess.CompletedProcess:
        env = {**base, "DATABASE_URL": f"sqlite:///{database}"}
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    old, new = tmp_path / "old.sqlite3", tmp_path / "new.sqlite3"
    assert manage(old, "migrate", "--noinput").returncode == 0
    seeded = manage(
        old,
        "shell",
        "-c",
        "from django.contrib.auth.models import User; from projects.models import Project, EnvVar;"
        "from projects import crypto; u = User.objects.create(username='ada');"
        "p = Project.objects.create(owner=u, slug='shop', repo_url='https://example.com/s.git');"
        "EnvVar.objects.create(project=p, key='API_TOKEN', encrypted_value=crypto.encrypt('s3cret'))",
    )
    assert seeded.returncode == 0, seeded.stderr[-2000:]

    backed_up = manage(old, "platform", "backup")
    assert backed_up.returncode == 0, backed_up.stderr[-2000:]
    assert "verified" in backed_up.stdout and "1 secrets decrypted" in backed_up.stdout
    [backup] = (tmp_path / "backups").glob("platform-*.tar")

    restored = manage(new, "platform", "restore", str(backup))
    assert restored.returncode == 0, restored.stderr[-2000:]
    read = manage(
        new,
        "shell",
        "-c",
        "from projects.models import EnvVar; print(EnvVar.objects.get(key='API_TOKEN').decrypted_value())",
    )
    assert read.stdout.strip().splitlines()[-1] == "s3cret"
