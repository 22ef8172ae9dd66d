from __future__ import annotations

import contextlib

import pytest

from builds import docker as docker_seam
from deployer import platform_state

pytestmark = pytest.mark.django_db


class FakeEngine:
    def __init__(self, root):
        self.root = root

    def info(self) -> dict:
        return {
            "ServerVersion": "20.10.24",
            "LiveRestoreEnabled": True,
            "DockerRootDir": str(self.root),
            "Images": 12,
            "ContainersRunning": 3,
        }


def test_a_worker_records_the_engines_version_live_restore_and_disk(monkeypatch, tmp_path):
    monkeypatch.setattr(
        docker_seam, "client", lambda timeout=None: contextlib.nullcontext(FakeEngine(tmp_path))
    )

    report = platform_state.record_engine_state("w1@host")

    assert report.version == "20.10.24" and report.live_restore
    assert report.disk_total > report.disk_free > 0
    assert (report.images, report.containers_running) == (12, 3)
    assert platform_state.engine_version() == "Docker 20.10.24"


def test_an_unreachable_engine_is_recorded_with_its_reason(monkeypatch):
    def unreachable(timeout=None):
        raise docker_seam.DockerUnavailable("The Docker engine is not reachable.")

    monkeypatch.setattr(docker_seam, "client", unreachable)

    report = platform_state.record_engine_state("w1@host")

    assert report.error == "The Docker engine is not reachable."
    with pytest.raises(RuntimeError, match="not reachable"):
        platform_state.engine_version()


def test_web_without_a_socket_reports_the_engine_as_the_worker_saw_it(
    monkeypatch, settings, tmp_path, client
):
    settings.DEPLOYER_ENGINE_FROM_WORKER = True
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    assert client.get("/healthz").status_code == 503  # no worker has reported yet

    monkeypatch.setattr(
        docker_seam, "client", lambda timeout=None: contextlib.nullcontext(FakeEngine(tmp_path))
    )
    platform_state.record_engine_state("w1@host")

    body = client.get("/healthz").json()
    assert body["checks"]["docker"] == {
        "ok": True,
        "detail": "Docker 20.10.24",
        "ms": body["checks"]["docker"]["ms"],
    }
