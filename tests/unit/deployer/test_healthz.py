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


# Who sees the details ---------------------------------------------------------------------------


def _docker_down(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such-docker.sock")


def test_healthz_from_another_host_shows_only_the_status(client, monkeypatch, tmp_path):
    _docker_down(monkeypatch, tmp_path)

    response = client.get("/healthz", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 503
    assert response.json() == {"status": "failing"}
    assert b"docker" not in response.content.lower()


def test_healthz_through_the_proxy_on_this_host_shows_only_the_status(
    client, monkeypatch, tmp_path, settings
):
    settings.DEPLOYER_BEHIND_PROXY = True
    _docker_down(monkeypatch, tmp_path)

    response = client.get("/healthz", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")

    assert response.status_code == 503
    assert response.json() == {"status": "failing"}


def test_healthz_with_a_via_header_from_loopback_shows_only_the_status(client):
    response = client.get("/healthz", REMOTE_ADDR="127.0.0.1", HTTP_VIA="1.1 proxy")

    assert set(response.json()) == {"status"}


def test_healthz_answers_ok_to_anyone_when_all_is_up(client):
    response = client.get("/healthz", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_shows_the_details_to_staff_from_anywhere(client, user, monkeypatch, tmp_path):
    user.is_staff = True
    user.save()
    client.force_login(user)
    _docker_down(monkeypatch, tmp_path)

    response = client.get("/healthz", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="1.2.3.4")

    assert response.json()["failing"] == ["docker"]
    assert "not reachable" in response.json()["checks"]["docker"]["detail"]


def test_healthz_hides_the_details_from_a_signed_in_member_who_is_not_staff(auth_client):
    response = auth_client.get("/healthz", REMOTE_ADDR="203.0.113.9")

    assert set(response.json()) == {"status"}
