from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from projects import crypto
from tests.unit.webhooks import payloads
from webhooks import services
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


def _stored_token(project) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT encrypted_secret FROM webhooks_webhookendpoint WHERE project_id = %s",
            [project.pk],
        )
        return cursor.fetchone()[0]


def test_the_secret_is_stored_only_as_a_fernet_token(project, secret):
    token = _stored_token(project)

    assert secret not in token
    assert Fernet(crypto.configured_keys()[0].encode()).decrypt(token.encode()).decode() == secret


def test_after_key_rotation_the_same_secret_still_verifies_deliveries(settings, project, post_hook):
    old, new = crypto.generate_key(), crypto.generate_key()
    settings.DEPLOYER_SECRETS_KEY = old
    secret = services.endpoint_for(project).decrypted_secret()
    settings.DEPLOYER_SECRETS_KEY = f"{new},{old}"

    call_command("rotate_secrets_key", stdout=StringIO(), stderr=StringIO())
    settings.DEPLOYER_SECRETS_KEY = new

    assert services.endpoint_for(project).decrypted_secret() == secret
    assert post_hook(*payloads.github(secret)).status_code == 202


def test_a_secret_that_no_key_opens_refuses_deliveries_instead_of_crashing(
    project, secret, post_hook
):
    WebhookEndpoint.objects.filter(project=project).update(
        encrypted_secret=Fernet(Fernet.generate_key()).encrypt(secret.encode()).decode()
    )

    assert post_hook(*payloads.github(secret)).status_code == 401


def test_a_delivery_signed_for_one_project_is_refused_by_another(user, post_hook):
    from projects import services as project_services

    one = project_services.create_project(user, slug="one", repo_url="https://example.com/a/1.git")
    two = project_services.create_project(user, slug="two", repo_url="https://example.com/a/2.git")
    secret_of_one = services.endpoint_for(one).decrypted_secret()

    assert secret_of_one != services.endpoint_for(two).decrypted_secret()
    assert post_hook(*payloads.github(secret_of_one), slug="two").status_code == 401
    assert post_hook(*payloads.github(secret_of_one), slug="one").status_code == 202
