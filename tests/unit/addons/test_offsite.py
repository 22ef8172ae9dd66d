"""Off-site copies of verified backups (addons/offsite.py): the key they are stored under, the
store's refusal kept on the row and announced, nothing copied without a store or a proof.
The store is the one seam that leaves the machine: here a recording stand-in with boto3's
`upload_file` signature (no S3 store can be reached from this machine)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from addons import offsite, schedule
from addons.models import Backup
from monitoring.models import NotificationDelivery
from tests.unit.addons.test_schedule import addon  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


class Store:
    def __init__(self, refuse: Exception | None = None):
        self.uploads: list[tuple[str, str, str]] = []
        self.refuse = refuse

    def upload_file(self, path: str, bucket: str, key: str) -> None:
        if self.refuse:
            raise self.refuse
        self.uploads.append((path, bucket, key))


@pytest.fixture
def store_settings(settings):
    settings.DEPLOYER_BACKUP_S3_URL = "s3://backups.example/deployer/"
    settings.DEPLOYER_INSTALLATION_ID = "prod-1"
    offsite.installation_id.cache_clear()
    yield settings
    offsite.installation_id.cache_clear()


@pytest.fixture
def verified(addon, tmp_path):  # noqa: F811
    path = tmp_path / "postgres-20261207T030000-9.dump"
    path.write_bytes(b"PGDMP")
    return Backup.objects.create(addon=addon, state=Backup.State.VERIFIED, path=str(path))


def test_a_verified_backup_is_copied_under_its_installation_and_project(store_settings, verified):
    store = Store()

    copied = offsite.copy(verified, s3=store)

    key = "deployer/prod-1/shop/postgres-20261207T030000-9.dump"
    assert store.uploads == [(verified.path, "backups.example", key)]
    assert copied.offsite_url == f"s3://backups.example/{key}" and not copied.offsite_error
    assert not schedule.needs_announcing(copied)


def test_a_refused_copy_is_kept_on_the_row_and_announced(store_settings, verified):
    refusal = ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject"
    )

    copied = offsite.copy(verified, s3=Store(refuse=refusal))

    assert copied.state == Backup.State.VERIFIED  # the local backup stands
    assert copied.offsite_url == ""
    assert copied.offsite_error.endswith("failed: AccessDenied: Access Denied")
    assert schedule.needs_announcing(copied)
    schedule.announce_failure(copied)
    email = NotificationDelivery.objects.get(project=copied.addon.project)
    assert "the off-site copy of a backup of its PostgreSQL failed" in email.subject
    assert "verified and kept here" in email.body and "AccessDenied" in email.body


def test_nothing_is_copied_without_a_store_or_before_the_backup_is_proven(
    settings, store_settings, verified
):
    store = Store()
    Backup.objects.filter(pk=verified.pk).update(state=Backup.State.FAILED)
    verified.refresh_from_db()
    offsite.copy(verified, s3=store)
    settings.DEPLOYER_BACKUP_S3_URL = ""
    Backup.objects.filter(pk=verified.pk).update(state=Backup.State.VERIFIED)
    verified.refresh_from_db()
    offsite.copy(verified, s3=store)

    assert store.uploads == []
    verified.refresh_from_db()
    assert verified.offsite_url == "" and verified.offsite_error == ""


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("DEPLOYER_BACKUP_S3_URL", "https://bucket", "must look like s3://bucket"),
        ("DEPLOYER_BACKUP_S3_URL", "s3://", "must look like s3://bucket"),
        ("DEPLOYER_BACKUP_S3_ENDPOINT", "minio:9000", "must be an http(s):// address"),
    ],
)
def test_a_malformed_store_setting_stops_the_start_with_its_name(name, value, said):
    env = {"PATH": "/usr/bin:/bin", name: value}
    if name == "DEPLOYER_BACKUP_S3_ENDPOINT":
        env["DEPLOYER_BACKUP_S3_URL"] = "s3://bucket"
    code = "import os, django; os.environ['DJANGO_SETTINGS_MODULE']='deployer.settings'; django.setup()"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode != 0 and said in done.stderr
