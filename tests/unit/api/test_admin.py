from __future__ import annotations

import pytest

from api import tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    staff = django_user_model.objects.create_superuser("root", password="x")
    client.force_login(staff)
    return client


def test_the_token_list_shows_prefixes_not_secrets(admin_client, user):
    token, raw = tokens.create_token(user, "ci")
    page = admin_client.get("/admin/api/apitoken/").content.decode()
    assert token.prefix in page
    assert raw not in page


def test_the_revoke_action_stops_tokens(admin_client, user):
    token, raw = tokens.create_token(user, "ci")
    admin_client.post("/admin/api/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    with pytest.raises(tokens.TokenError, match="revoked"):
        tokens.authenticate(raw)
