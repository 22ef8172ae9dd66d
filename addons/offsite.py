"""An off-site copy of each verified add-on backup, in an S3-compatible store the operator has
(DEPLOYER_BACKUP_S3_URL, DEPLOYER_BACKUP_S3_ENDPOINT, DEPLOYER_BACKUP_S3_REGION).

A backup on the same disk as the database it saves does not survive that disk. The copy is
made once the backup is verified (only a backup proven by a restore is worth keeping), under
`<prefix>/<installation>/<project>/<file name>`; its address or the store's refusal is kept
on the backup's row, and a refusal is announced like a failed backup. Restores read the local
file; an operator who lost the machine fetches the copy with any S3 client.

boto3 is imported only when a copy is made: a platform without a store never loads it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from addons.models import Backup
from builds.installation import installation_id

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    bucket: str
    prefix: str


def configured() -> bool:
    return bool(settings.DEPLOYER_BACKUP_S3_URL)


def target() -> Target:
    """The bucket and key prefix of DEPLOYER_BACKUP_S3_URL (checked at start-up)."""
    bucket, _, prefix = settings.DEPLOYER_BACKUP_S3_URL.removeprefix("s3://").partition("/")
    return Target(bucket, prefix.strip("/"))


def key_for(backup: Backup) -> str:
    where = target()
    parts = [where.prefix, installation_id(), backup.addon.project.slug, Path(backup.path).name]
    return "/".join(part for part in parts if part)


def client():
    """An S3 client for the configured store (boto3 reads the credentials)."""
    # Here, not at the top: only a platform with a store pays for boto3's memory.
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.DEPLOYER_BACKUP_S3_ENDPOINT or None,
        region_name=settings.DEPLOYER_BACKUP_S3_REGION or None,
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10),
    )


def copy(backup: Backup, s3=None) -> Backup:
    """Upload a verified backup's file; records the copy's address or the store's refusal on
    the row (never raises: the local backup stands either way)."""
    if not configured() or backup.state != Backup.State.VERIFIED:
        return backup
    key = key_for(backup)
    bucket = target().bucket
    try:
        (s3 or client()).upload_file(backup.path, bucket, key)
    except Exception as exc:  # noqa: BLE001 - any refusal is said on the row, in words
        error = f"The off-site copy to s3://{bucket}/{key} failed: {_words(exc)}"
        logger.warning("%s", error)
        Backup.objects.filter(pk=backup.pk).update(offsite_url="", offsite_error=error[:1000])
    else:
        Backup.objects.filter(pk=backup.pk).update(
            offsite_url=f"s3://{bucket}/{key}", offsite_error=""
        )
    backup.refresh_from_db()
    return backup


def _words(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error"):
        error = response["Error"]
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip(": ")
    return str(exc) or exc.__class__.__name__
