from __future__ import annotations

import pytest
from django.utils import timezone

from deployer import doctor
from deployer.models import PlatformBackup

pytestmark = pytest.mark.django_db


def _info(tmp_path, **changes) -> dict:
    return {
        "ServerVersion": "20.10.24",
        "LiveRestoreEnabled": True,
        "DockerRootDir": str(tmp_path),
    } | changes


def test_engine_without_live_restore_is_named_with_its_fix(tmp_path):
    finding = doctor.check_engine(_info(tmp_path, LiveRestoreEnabled=False), "")

    assert not finding.ok
    assert "without live-restore" in finding.detail
    assert '"live-restore": true' in finding.fix


def test_unreachable_engine_is_a_finding_not_an_error(settings):
    def unreachable() -> dict:
        raise ConnectionError("no socket")

    findings = {f.name: f for f in doctor.run(info_of=unreachable)}

    assert not findings["Docker engine"].ok
    assert "dockerd" in findings["Docker engine"].fix


def test_tcp_migrate_req_off_says_how_to_turn_it_on(tmp_path):
    sysctl = tmp_path / "tcp_migrate_req"
    sysctl.write_text("0\n")

    finding = doctor.check_tcp_migrate_req(sysctl)

    assert not finding.ok
    assert "net.ipv4.tcp_migrate_req=1" in finding.fix
    sysctl.write_text("1\n")
    assert doctor.check_tcp_migrate_req(sysctl).ok


def test_tcp_migrate_req_missing_means_an_old_kernel(tmp_path):
    assert "5.14" in doctor.check_tcp_migrate_req(tmp_path / "absent").fix


def test_free_disk_below_twice_the_build_minimum_is_flagged(tmp_path, settings):
    settings.DEPLOYER_MIN_FREE_DISK_MB = 10**12

    finding = doctor.check_free_disk(_info(tmp_path))

    assert not finding.ok and "DEPLOYER_MIN_FREE_DISK_MB" in finding.fix
    settings.DEPLOYER_MIN_FREE_DISK_MB = 1
    assert doctor.check_free_disk(_info(tmp_path)).ok


def test_engine_folder_not_visible_is_flagged(tmp_path):
    assert not doctor.check_free_disk(_info(tmp_path / "elsewhere")).ok


def test_missing_secrets_key_is_flagged(settings):
    settings.DEPLOYER_SECRETS_KEY = ""

    finding = doctor.check_secrets_key()

    assert not finding.ok and "generate_secrets_key" in finding.fix


def test_check_deploy_problems_are_reported(settings):
    settings.DEBUG = True

    finding = doctor.check_deploy_checks()

    assert not finding.ok
    assert "check --deploy" in finding.fix


def test_backups_missing_or_stale_are_flagged(settings):
    settings.DEPLOYER_PLATFORM_BACKUP_MAX_AGE_HOURS = 48
    assert "No verified platform backup" in doctor.check_backups().detail

    backup = PlatformBackup.objects.create(state=PlatformBackup.State.VERIFIED)
    assert doctor.check_backups().ok

    PlatformBackup.objects.filter(pk=backup.pk).update(
        created_at=timezone.now() - timezone.timedelta(hours=49)
    )
    finding = doctor.check_backups()
    assert not finding.ok and "limit 48 h" in finding.detail


def test_a_failed_backup_does_not_count(settings):
    PlatformBackup.objects.create(state=PlatformBackup.State.FAILED, error="pg_dump failed")

    assert not doctor.check_backups().ok
