from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DEPLOYER_ENV")
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "deployer.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_the_default_secret_key():
    result = _load_settings(DEPLOYER_ENV="production", DEBUG="false")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_debug():
    result = _load_settings(DEPLOYER_ENV="production", SECRET_KEY="x" * 50, DEBUG="true")

    assert result.returncode != 0
    assert "DEBUG=True" in result.stderr


def test_production_starts_with_a_real_key_and_debug_off():
    result = _load_settings(DEPLOYER_ENV="production", SECRET_KEY="x" * 50, DEBUG="false")

    assert result.returncode == 0, result.stderr


def test_malformed_value_names_the_variable():
    result = _load_settings(DEPLOYER_DOCKER_TIMEOUT="soon")

    assert result.returncode != 0
    assert "DEPLOYER_DOCKER_TIMEOUT" in result.stderr


def test_embedded_defaults_use_sqlite_and_a_filesystem_broker():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "deployer.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://"]


def test_platform_backup_settings_are_checked_at_start_up():
    result = _load_settings(DEPLOYER_PLATFORM_BACKUP_KEEP="0")

    assert result.returncode != 0
    assert "DEPLOYER_PLATFORM_BACKUP_KEEP" in result.stderr
