"""Tokens: how they are sent, stored, limited, expired and revoked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from api import tokens
from api.models import ApiToken
from tests.unit.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_openapi_schema_is_served_without_a_token(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/projects/{slug}/deploy" in schema["paths"]


def test_an_unknown_api_path_is_a_json_404(api):
    response = api.get("/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_browsable_docs_are_served(client):
    assert client.get("/api/v1/docs").status_code == 200


def test_project_list_without_a_token_is_401_json(anonymous):
    response = anonymous.get("/projects")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_project_list_with_a_token_is_200(api, project):
    response = api.get("/projects")
    assert response.status_code == 200
    assert [p["slug"] for p in response.json()["items"]] == ["shop"]


def test_an_unknown_token_is_401(client):
    response = Api(client, "dpl_deadbeef_nothing").get("/projects")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "invalid_token",
        "message": "The token is not valid.",
    }


def test_a_token_with_a_wrong_secret_is_401(client, user):
    _token, raw = tokens.create_token(user, "ci")
    response = Api(client, raw[:-2] + "xx").get("/projects")
    assert response.status_code == 401


def test_only_the_digest_of_a_token_is_stored(user):
    token, raw = tokens.create_token(user, "ci")
    stored = ApiToken.objects.filter(pk=token.pk).values_list(flat=True)
    assert raw not in str(list(ApiToken.objects.filter(pk=token.pk).values()))
    assert stored
    assert raw.startswith(f"dpl_{token.prefix}_")


def test_a_revoked_token_is_refused(client, user):
    token, raw = tokens.create_token(user, "ci")
    assert tokens.revoke(token)
    response = Api(client, raw).get("/projects")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "The token was revoked."


def test_an_expired_token_is_refused(client, user):
    token, raw = tokens.create_token(user, "ci", expires_at=timezone.now() + timedelta(hours=1))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Api(client, raw).get("/projects")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "The token has expired."


def test_a_deactivated_users_token_is_refused(client, user):
    _token, raw = tokens.create_token(user, "ci")
    user.is_active = False
    user.save()
    assert Api(client, raw).get("/projects").status_code == 401


def test_use_is_recorded(client, user):
    token, raw = tokens.create_token(user, "ci")
    Api(client, raw).get("/me")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_me_names_the_user_and_scope(api_as, user):
    body = api_as("deploy").get("/me").json()
    assert body["username"] == user.username
    assert body["scope"] == "deploy"


def test_a_read_token_cannot_deploy(api_as, project):
    response = api_as("read").post(f"/projects/{project.slug}/deploy", {})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert not project.builds.exists()


def test_a_deploy_token_cannot_change_variables(api_as, project):
    response = api_as("deploy").post(f"/projects/{project.slug}/env", {"key": "A", "value": "b"})
    assert response.status_code == 403
    assert not project.env_vars.exists()


def test_a_project_token_sees_only_its_project(api_as, user, project):
    from projects import services

    other = services.create_project(user, slug="blog", repo_url="https://example.com/acme/b.git")
    api = api_as("deploy", project=project)
    assert [p["slug"] for p in api.get("/projects").json()["items"]] == ["shop"]
    response = api.post(f"/projects/{other.slug}/deploy", {})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "project_not_allowed"
    assert not other.builds.exists()


def test_someone_elses_project_is_404(client, make_token, other_user, project):
    response = Api(client, make_token("admin", owner=other_user)).get(f"/projects/{project.slug}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "project_not_found"


def test_writes_are_rate_limited_per_token(api, api_as, project, settings):
    settings.DEPLOYER_API_WRITES_PER_MINUTE = 2
    for key in ("A", "B"):
        assert (
            api.post(f"/projects/{project.slug}/env", {"key": key, "value": "x"}).status_code == 201
        )
    response = api.post(f"/projects/{project.slug}/env", {"key": "C", "value": "x"})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 0 < int(response["Retry-After"]) <= 60
    assert not project.env_vars.filter(key="C").exists()
    assert api.get(f"/projects/{project.slug}/env").status_code == 200  # reads are not counted
    fresh = api_as("admin")
    assert (
        fresh.post(f"/projects/{project.slug}/env", {"key": "C", "value": "x"}).status_code == 201
    )


def test_writes_go_on_when_the_cache_is_away(api, project, monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionError("Redis is restarting")

    monkeypatch.setattr("api.ratelimit.cache.add", unreachable)
    response = api.post(f"/projects/{project.slug}/env", {"key": "A", "value": "1"})
    assert response.status_code == 201


def test_a_wrong_method_is_a_json_405(api, project):
    response = api.get(f"/projects/{project.slug}/deploy")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "POST" in response["Allow"]
