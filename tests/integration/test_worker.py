from __future__ import annotations

import pytest

from builds.models import WorkerHeartbeat
from builds.tasks import record_worker_heartbeat
from tests.integration.conftest import wait_until


@pytest.mark.django_db(transaction=True)
def test_worker_stores_the_docker_engine_version_in_postgresql(celery_worker, docker_client):
    record_worker_heartbeat.delay()

    def heartbeat_stored():
        """a WorkerHeartbeat row written by the worker"""
        return WorkerHeartbeat.objects.filter(hostname__startswith="test-worker@").first()

    heartbeat = wait_until(heartbeat_stored, timeout=30)
    assert heartbeat.docker_version == docker_client.version()["Version"]
    assert heartbeat.docker_error == ""
