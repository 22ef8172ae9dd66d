"""`manage.py check --deploy` with the production variables the README documents.

They are read from the files an operator uses (`.env.example` and docker-compose.yml's
environment for web, worker and beat), not restated here, so a change there is checked.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_VARIABLE = re.compile(r"^\s{4}([A-Z][A-Z0-9_]*):\s*(.*?)\s*$")


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _compose_environment() -> dict[str, str]:
    text = (ROOT / "docker-compose.yml").read_text()
    block = text.split("environment: &deployer-env", 1)[1].split("network_mode:", 1)[0]
    values = {}
    for line in block.splitlines():
        match = COMPOSE_VARIABLE.match(line)
        if match:
            values[match[1]] = match[2].strip('"')
    return values


# ${NAME}, ${NAME:-default} and ${NAME:?message}, as Compose interpolates them from .env.
INTERPOLATION = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::([-?])([^}]*))?\}")


def _interpolate(value: str, env: dict[str, str]) -> str:
    def one(match: re.Match) -> str:
        name, kind, rest = match[1], match[2], match[3]
        if env.get(name):
            return env[name]
        assert kind != "?", f"{name} is required by docker-compose.yml"
        return rest if kind == "-" else ""

    return INTERPOLATION.sub(one, value)


def production_environment() -> dict[str, str]:
    env_file = _env_example()
    # What the operator generates (README, .env.example's comments):
    env_file["SECRET_KEY"] = secrets.token_urlsafe(50)
    env_file["DEPLOYER_SECRETS_KEY"] = Fernet.generate_key().decode()
    env_file["POSTGRES_PASSWORD"] = secrets.token_hex(12)
    compose = {k: _interpolate(v, env_file) for k, v in _compose_environment().items()}
    return {**env_file, **compose}


def _manage(args: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not (k in environment or k.startswith(("DEPLOYER_", "SECURE_", "SESSION_", "CSRF_")))
        and k not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**inherited, **environment, "DJANGO_SETTINGS_MODULE": "deployer.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_documented_production_variables_are_what_the_check_needs():
    environment = production_environment()

    assert environment["DEPLOYER_ENV"] == "production"
    assert environment["SESSION_COOKIE_SECURE"] == "true"
    assert environment["DEPLOYER_BEHIND_PROXY"] == "true"
    assert int(environment["SECURE_HSTS_SECONDS"]) > 0


def test_check_deploy_is_clean_with_the_documented_production_variables():
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], production_environment())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "security.W" not in result.stdout + result.stderr


def test_check_deploy_warns_without_them():
    environment = production_environment()
    for name in ("SESSION_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT"):
        environment.pop(name)

    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], environment)

    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def test_ssl_redirect_without_a_trusted_proxy_is_refused_at_start_up():
    environment = production_environment()
    environment["DEPLOYER_BEHIND_PROXY"] = "false"

    result = _manage(["check"], environment)

    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT=true needs DEPLOYER_BEHIND_PROXY=true" in result.stderr


def test_negative_hsts_seconds_name_the_variable():
    environment = {**production_environment(), "SECURE_HSTS_SECONDS": "-1"}

    result = _manage(["check"], environment)

    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS" in result.stderr
