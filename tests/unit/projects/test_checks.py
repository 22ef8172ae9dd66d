from __future__ import annotations

from projects.checks import secrets_key_in_production


def test_production_without_a_secrets_key_fails_the_system_check(settings):
    settings.PRODUCTION = True
    settings.DEPLOYER_SECRETS_KEY = ""

    assert [error.id for error in secrets_key_in_production(None)] == ["projects.E001"]


def test_development_without_a_secrets_key_passes_the_system_check(settings):
    settings.PRODUCTION = False
    settings.DEPLOYER_SECRETS_KEY = ""

    assert secrets_key_in_production(None) == []
