from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_answers_200_with_every_part_named_when_all_are_up(client):
    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "docker"}
    assert body["checks"]["docker"]["detail"].startswith("Docker ")


def test_healthz_names_docker_when_the_engine_is_unreachable(client, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such-docker.sock")

    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 503
    assert body["failing"] == ["docker"]
    assert "not reachable" in body["checks"]["docker"]["detail"]
    assert body["checks"]["database"]["ok"] is True


def test_healthz_needs_no_login(client):
    assert client.get("/healthz").status_code in (200, 503)


def test_dashboard_redirects_anonymous_users_to_login(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_dashboard_shows_the_last_worker_heartbeat(auth_client):
    from django.utils import timezone

    from builds.models import WorkerHeartbeat

    WorkerHeartbeat.objects.create(
        hostname="w1@host", docker_version="20.10.24", seen_at=timezone.now()
    )

    response = auth_client.get("/")

    assert response.status_code == 200
    assert b"w1@host" in response.content
    assert b"Docker 20.10.24" in response.content
