"""System checks: `manage.py check`, `migrate` and `runserver` stop on a missing secrets key."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from projects.crypto import MISSING_KEY


@register()
def secrets_key_in_production(app_configs, **kwargs) -> list[Error]:
    if settings.PRODUCTION and not settings.DEPLOYER_SECRETS_KEY.strip(" ,"):
        return [Error(MISSING_KEY, id="projects.E001")]
    return []
