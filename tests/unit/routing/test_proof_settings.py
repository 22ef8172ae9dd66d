"""The domain-proof settings parse strictly and schedule the periodic check."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

from tests.unit.deployer.test_settings import _load_settings


def test_a_router_address_that_is_not_an_ip_address_stops_start_up_naming_it():
    result = _load_settings(DEPLOYER_ROUTER_ADDRESSES="router.example.net")

    assert result.returncode != 0
    assert "'router.example.net' is not an IP address" in result.stderr


def _router_addresses(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "DEPLOYER_ROUTER_ADDRESSES"}
    code = "import django; django.setup(); from django.conf import settings as s; "
    code += "print(s.DEPLOYER_ROUTER_ADDRESSES)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "deployer.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_router_addresses_default_to_the_bind_address_unless_it_is_a_wildcard():
    assert _router_addresses(DEPLOYER_HTTP_BIND="127.0.0.1") == "['127.0.0.1']"
    assert _router_addresses(DEPLOYER_HTTP_BIND="0.0.0.0") == "[]"
    assert _router_addresses(DEPLOYER_HTTP_BIND="[::]") == "[]"


def test_pending_domains_are_checked_by_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["check-pending-domains"]

    assert entry["task"] == "routing.tasks.check_pending_domains"
    assert entry["schedule"] == settings.DEPLOYER_DOMAIN_CHECK_INTERVAL
