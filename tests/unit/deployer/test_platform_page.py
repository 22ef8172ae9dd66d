from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from deployer.models import EngineReport, PlatformBackup

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    staff = django_user_model.objects.create_user(username="ops", password="x", is_staff=True)
    client.force_login(staff)
    return client


def test_platform_page_is_for_staff_only(auth_client):
    response = auth_client.get("/platform/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_platform_page_shows_services_engine_disk_workers_queue_and_last_backup(staff_client):
    EngineReport.objects.create(
        hostname="worker@host",
        version="20.10.24",
        live_restore=True,
        root_dir="/var/lib/docker",
        disk_total=100 * 10**9,
        disk_free=40 * 10**9,
        recorded_at=timezone.now(),
    )
    PlatformBackup.objects.create(state=PlatformBackup.State.VERIFIED, size=2048)

    page = staff_client.get("/platform/").content.decode()

    for name in ("Deployer", "Database", "Broker", "Docker engine", "Caddy"):
        assert f'<td data-label="Service">{name}</td>' in page
    assert "Docker 20.10.24" in page
    assert "37.3\xa0GB free of 93.1\xa0GB" in page
    assert "<code>worker@host</code>" in page
    assert "waiting" in page
    assert "Last verified: #" in page


def test_platform_page_says_when_no_backup_was_verified(staff_client):
    PlatformBackup.objects.create(state=PlatformBackup.State.FAILED, error="pg_dump failed (1)")

    page = staff_client.get("/platform/").content.decode()

    assert "No verified platform backup exists" in page
    assert "pg_dump failed (1)" in page


def test_a_stale_worker_report_means_the_engine_is_down(staff_client):
    EngineReport.objects.create(
        hostname="gone@host",
        version="20.10.24",
        recorded_at=timezone.now() - timezone.timedelta(minutes=10),
    )

    page = staff_client.get("/platform/").content.decode()

    assert "No worker has reported since" in page


def test_healthz_adds_the_platform_summary_for_staff_only(staff_client):
    body = staff_client.get("/healthz").json()

    assert set(body["platform"]) == {
        "services",
        "engine_disk",
        "workers",
        "queue_length",
        "last_verified_backup",
    }
    assert "platform" not in Client().get("/healthz").json()
