from __future__ import annotations

import pytest

from tests.unit.webhooks import payloads
from webhooks import services
from webhooks.models import Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

SETUP = "/projects/shop/settings/webhooks/"
REGENERATE = "/projects/shop/settings/webhooks/regenerate/"


def test_setup_page_shows_payload_url_secret_and_every_provider(auth_client, project, secret):
    response = auth_client.get(SETUP)

    html = response.content.decode()
    assert response.status_code == 200
    assert "http://testserver/hooks/shop/" in html
    assert secret in html
    assert "application/json" in html
    for provider in ("GitHub", "GitLab", "Gitea and Forgejo", "Bitbucket Cloud", "post-receive"):
        assert provider in html
    assert "openssl dgst -sha256 -hmac" in html
    assert "<html" in html


def test_reading_the_setup_page_creates_no_secret(auth_client, project):
    for headers in ({}, {"HX-Request": "true"}):
        html = auth_client.get(SETUP, headers=headers).content.decode()
        assert "Create the webhook secret</button>" in html
        assert "Regenerate secret" not in html

    assert not WebhookEndpoint.objects.exists()


def test_the_first_post_creates_the_secret_stored_encrypted(auth_client, project):
    response = auth_client.post(SETUP + "regenerate/", headers={"HX-Request": "true"})

    endpoint = WebhookEndpoint.objects.get(project=project)
    html = response.content.decode()
    assert endpoint.decrypted_secret() not in endpoint.encrypted_secret
    assert len(endpoint.decrypted_secret()) == 48
    assert endpoint.decrypted_secret() in html
    assert "Webhook secret created" in html
    assert "GitHub" in html


def test_the_setup_page_answers_a_post_with_405_and_changes_nothing(auth_client, project):
    assert auth_client.post(SETUP).status_code == 405
    assert not WebhookEndpoint.objects.exists()


def test_htmx_request_gets_only_the_fragment(auth_client, project):
    response = auth_client.get(SETUP, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="webhooks">')
    assert "<html" not in html


def test_members_see_the_setup_but_strangers_get_404(client, project, other_user):
    client.force_login(other_user)
    assert client.get(SETUP).status_code == 404
    assert client.post(REGENERATE).status_code == 404

    project.members.add(other_user)
    assert client.get(SETUP).status_code == 200


def test_anonymous_users_are_sent_to_log_in(client, project):
    assert client.get(SETUP).status_code == 302
    assert client.post(REGENERATE).status_code == 302
    assert not WebhookEndpoint.objects.exists()


def test_regenerate_needs_a_post(auth_client, project, secret):
    assert auth_client.get(REGENERATE).status_code == 405
    assert services.saved_endpoint(project).decrypted_secret() == secret


def test_a_get_of_regenerate_creates_no_secret(auth_client, project):
    assert auth_client.get(REGENERATE).status_code == 405
    assert services.saved_endpoint(project) is None


def test_regenerate_from_the_page_replaces_the_secret_and_the_old_one_fails(
    auth_client, project, secret, post_hook
):
    response = auth_client.post(REGENERATE, headers={"HX-Request": "true"})

    new_secret = services.endpoint_for(project).decrypted_secret()
    assert response.status_code == 200
    assert new_secret != secret
    assert new_secret in response.content.decode()
    assert "the old one no longer works" in response.content.decode()
    assert post_hook(*payloads.generic(secret)).status_code == 401
    assert post_hook(*payloads.generic(new_secret)).status_code == 202


def test_regenerate_without_javascript_redirects_back_to_the_setup_page(
    auth_client, project, secret
):
    response = auth_client.post(REGENERATE)

    assert response.status_code == 302
    assert response["Location"] == SETUP


def test_setup_page_lists_the_last_20_deliveries_newest_first(
    auth_client, project, secret, post_hook
):
    for number in range(22):
        post_hook(
            *payloads.github(secret, ref=f"refs/heads/feature-{number}", delivery=f"id-{number}")
        )

    html = auth_client.get(SETUP).content.decode()

    assert html.count('<tr id="delivery-') == 20
    assert "id-21" in html
    assert "id-1<" not in html
    assert html.index("feature-21") < html.index("feature-20")


def test_setup_page_shows_the_build_a_delivery_started(auth_client, project, secret, post_hook):
    build_id = post_hook(*payloads.github(secret)).json()["build"]

    html = auth_client.get(SETUP).content.decode()

    assert f"#{build_id} (Queued)" in html
    assert Delivery.objects.get().build_id == build_id
