from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from projects import crypto, services
from projects.models import EnvVar

pytestmark = pytest.mark.django_db


def _stored_column(env_var: EnvVar) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_value FROM projects_envvar WHERE id = %s", [env_var.pk])
        return cursor.fetchone()[0]


def test_value_round_trips_and_the_column_holds_only_ciphertext(project):
    env_var = services.add_env_var(project, "API_TOKEN", "tok_live_abc123")

    stored = _stored_column(env_var)

    assert "tok_live_abc123" not in stored
    assert stored.startswith("gAAAA")  # a Fernet token
    assert EnvVar.objects.get(pk=env_var.pk).decrypted_value() == "tok_live_abc123"


def test_the_same_value_encrypts_differently_each_time(project):
    first = services.add_env_var(project, "A", "same")
    second = services.add_env_var(project, "B", "same")

    assert _stored_column(first) != _stored_column(second)


def test_unicode_and_multiline_values_round_trip(project):
    value = "påsswörd 🔑\n-----BEGIN KEY-----\nabc"

    env_var = services.add_env_var(project, "KEY", value)

    assert EnvVar.objects.get(pk=env_var.pk).decrypted_value() == value


def test_first_configured_key_encrypts_and_every_key_decrypts(settings):
    old, new = crypto.generate_key(), crypto.generate_key()
    settings.DEPLOYER_SECRETS_KEY = old
    token = crypto.encrypt("s3cret")

    settings.DEPLOYER_SECRETS_KEY = f"{new},{old}"

    assert crypto.decrypt(token) == "s3cret"
    assert Fernet(new.encode()).decrypt(crypto.encrypt("x").encode()) == b"x"


def test_a_token_from_an_unknown_key_does_not_decrypt(settings):
    settings.DEPLOYER_SECRETS_KEY = crypto.generate_key()
    token = crypto.encrypt("s3cret")

    settings.DEPLOYER_SECRETS_KEY = crypto.generate_key()

    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(token)


def test_development_key_is_derived_from_secret_key_and_announced(settings, caplog):
    settings.DEPLOYER_SECRETS_KEY = ""
    settings.SECRET_KEY = "a-development-secret-key-only-for-this-test"
    crypto._development_key_announced.cache_clear()

    with caplog.at_level(logging.WARNING, logger="projects.crypto"):
        token = crypto.encrypt("value")

    assert crypto.configured_keys() == [crypto.development_key(settings.SECRET_KEY)]
    assert Fernet(crypto.development_key(settings.SECRET_KEY)).decrypt(token.encode()) == b"value"
    assert "derived from SECRET_KEY" in caplog.text


def test_production_refuses_to_encrypt_without_a_configured_key(settings):
    settings.DEPLOYER_SECRETS_KEY = ""
    settings.PRODUCTION = True

    with pytest.raises(ImproperlyConfigured, match="DEPLOYER_SECRETS_KEY is required"):
        crypto.encrypt("value")


def test_malformed_keys_are_refused_without_echoing_them(settings):
    settings.DEPLOYER_SECRETS_KEY = "not-a-fernet-key"

    with pytest.raises(ImproperlyConfigured) as caught:
        crypto.encrypt("value")

    assert "not-a-fernet-key" not in str(caught.value)


def test_a_value_no_key_opens_raises_an_error_that_says_why(settings, project):
    env_var = services.add_env_var(project, "A", "x")
    settings.DEPLOYER_SECRETS_KEY = crypto.generate_key()

    with pytest.raises(crypto.InvalidToken, match="rotate_secrets_key"):
        EnvVar.objects.get(pk=env_var.pk).decrypted_value()


def test_start_up_fails_on_a_malformed_secrets_key_without_printing_it():
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=root,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "deployer.settings",
            "DEPLOYER_SECRETS_KEY": f"{crypto.generate_key()},oops-not-a-key",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "DEPLOYER_SECRETS_KEY must be comma-separated Fernet keys" in result.stderr
    assert "oops-not-a-key" not in result.stderr
