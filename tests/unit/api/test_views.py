"""Account → API tokens: the dashboard page."""

from __future__ import annotations

import re

import pytest

from api import tokens
from api.models import ApiToken

pytestmark = pytest.mark.django_db


def test_the_page_needs_a_login(client):
    response = client.get("/account/tokens/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_new_token_is_shown_once_and_works(auth_client, project):
    form = {"name": "GitHub Actions", "scope": "deploy", "project": "shop", "expires": "30d"}
    page = auth_client.post("/account/tokens/", form).content.decode()
    raw = re.search(r"dpl_[0-9a-f]{8}_[\w-]+", page)[0]
    token = tokens.authenticate(raw)
    assert (token.scope, token.project, token.name) == ("deploy", project, "GitHub Actions")
    assert token.expires_at is not None
    again = auth_client.get("/account/tokens/").content.decode()
    assert raw not in again
    assert f"dpl_{token.prefix}_" in again


def test_a_token_cannot_be_restricted_to_someone_elses_project(client, other_user, project):
    client.force_login(other_user)
    form = {"name": "x", "scope": "deploy", "project": "shop", "expires": "30d"}
    response = client.post("/account/tokens/", form)
    assert response.status_code == 200
    assert not ApiToken.objects.exists()


def test_revoke_stops_the_token(auth_client, user):
    token, raw = tokens.create_token(user, "ci")
    auth_client.post(f"/account/tokens/{token.pk}/revoke/")
    with pytest.raises(tokens.TokenError):
        tokens.authenticate(raw)


def test_someone_elses_token_cannot_be_revoked(client, other_user, user):
    token, raw = tokens.create_token(user, "ci")
    client.force_login(other_user)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert tokens.authenticate(raw) == token
