"""`manage.py apitoken create|list|revoke` and reading an expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from api import tokens
from api.expiry import parse_expiry
from api.models import ApiToken


def run(*args: str) -> str:
    out = StringIO()
    call_command("apitoken", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_create_prints_a_token_that_works_once_stored_hashed(client, user):
    raw = run("create", user.username, "--scope", "deploy", "--expires", "30d").strip()
    token = tokens.authenticate(raw)
    assert token.user == user
    assert token.scope == "deploy"
    assert token.expires_at > datetime.now(UTC) + timedelta(days=29)
    assert token.hashed_secret != raw
    response = client.get("/api/v1/projects", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200


@pytest.mark.django_db
def test_create_restricted_to_a_project(user, project):
    raw = run("create", user.username, "--project", project.slug).strip()
    assert tokens.authenticate(raw).project == project


@pytest.mark.django_db
def test_create_for_an_unknown_user_fails(user):
    with pytest.raises(CommandError, match="No user named"):
        run("create", "nobody")


@pytest.mark.django_db
def test_list_never_shows_the_secret_and_revoke_stops_the_token(user):
    raw = run("create", user.username, "--name", "laptop").strip()
    token = ApiToken.objects.get()
    listing = run("list")
    assert token.prefix in listing
    assert raw not in listing
    run("revoke", token.prefix)
    with pytest.raises(tokens.TokenError, match="revoked"):
        tokens.authenticate(raw)


def test_expiry_accepts_durations_dates_and_never():
    now = datetime(2027, 1, 1, tzinfo=UTC)
    assert parse_expiry("12h", now) == now + timedelta(hours=12)
    assert parse_expiry("2w", now) == now + timedelta(weeks=2)
    assert parse_expiry("never", now) is None
    assert parse_expiry("2027-03-01", now).date().isoformat() == "2027-03-01"
    with pytest.raises(ValueError, match="not an expiry"):
        parse_expiry("soon", now)
