"""scripts/production_env.py: the .env an operator generates once and Compose reads."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.hashers import check_password

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("production_env", ROOT / "scripts/production_env.py")
production_env = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(production_env)


@pytest.fixture(autouse=True)
def _django_pbkdf2(settings):
    # The hash production_env writes is Django's PBKDF2 one; tests otherwise use MD5 only.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]


def _generated(**kwargs) -> tuple[dict[str, str], str]:
    text, password = production_env.generate("deploy.example.com", "apps.example.com", **kwargs)
    values, problems = production_env.parse(text)
    assert problems == []
    return values, password


def test_generated_env_has_random_keys_a_fernet_key_and_only_the_admin_passwords_hash():
    values, password = _generated()
    again, _ = _generated()

    assert production_env.problems(values) == []
    assert values["SECRET_KEY"] != again["SECRET_KEY"]
    assert values["POSTGRES_PASSWORD"] != again["POSTGRES_PASSWORD"]
    Fernet(values["DEPLOYER_SECRETS_KEY"])  # a valid key, or this raises
    assert password not in "".join(values.values())
    assert check_password(password, values["DEPLOYER_ADMIN_PASSWORD_HASH"])
    assert values["CSRF_TRUSTED_ORIGINS"] == "https://deploy.example.com"
    assert values["DEPLOYER_BASE_DOMAIN"] == "apps.example.com"


def test_an_existing_env_is_never_overwritten(tmp_path):
    env = tmp_path / ".env"
    env.write_text("SECRET_KEY=mine\n")

    assert production_env.main(["--file", str(env), "generate", "--domain", "d.example"]) == 0

    assert env.read_text() == "SECRET_KEY=mine\n"


def test_generate_writes_a_private_file_and_prints_the_password_once(tmp_path, capsys):
    env = tmp_path / ".env"

    production_env.main(["--file", str(env), "generate", "--domain", "d.example"])

    printed = capsys.readouterr().out
    password = printed.strip().splitlines()[-1].strip()
    assert env.stat().st_mode & 0o777 == 0o600
    assert password not in env.read_text()
    values, _ = production_env.parse(env.read_text())
    assert check_password(password, values["DEPLOYER_ADMIN_PASSWORD_HASH"])


def test_plain_http_for_a_test_stack_turns_off_secure_cookies_and_redirects():
    values, _ = _generated(https=False, extra={"DEPLOYER_HTTP_PORT": "18080"})

    assert values["SESSION_COOKIE_SECURE"] == values["SECURE_SSL_REDIRECT"] == "false"
    assert values["DEPLOYER_HTTP_PORT"] == "18080"
    assert production_env.problems(values) == []


def test_check_names_each_missing_variable(tmp_path, capsys):
    env = tmp_path / ".env"
    env.write_text("ALLOWED_HOSTS=d.example\n")

    assert production_env.main(["--file", str(env), "check"]) == 1

    errors = capsys.readouterr().err
    for name in ("SECRET_KEY", "DEPLOYER_SECRETS_KEY", "POSTGRES_PASSWORD"):
        assert f"{name} is missing or empty." in errors


def test_check_names_each_malformed_variable():
    values, _ = _generated()
    values.update(
        SECRET_KEY="short",
        DEPLOYER_SECRETS_KEY="not-a-key",
        POSTGRES_PASSWORD="p@ss word that breaks a URL",
        DEPLOYER_HTTPS="maybe",
        DEPLOYER_WEB_PORT="99999",
        SECURE_HSTS_SECONDS="a year",
        DEPLOYER_ADMIN_PASSWORD_HASH="hunter2",
    )

    problems = production_env.problems(values)

    assert len(problems) == 7
    for name in (
        "SECRET_KEY",
        "DEPLOYER_SECRETS_KEY",
        "POSTGRES_PASSWORD",
        "DEPLOYER_HTTPS",
        "DEPLOYER_WEB_PORT",
        "SECURE_HSTS_SECONDS",
        "DEPLOYER_ADMIN_PASSWORD_HASH",
    ):
        assert any(problem.startswith(name) for problem in problems), name


def test_a_line_that_is_not_name_equals_value_is_named_by_its_number():
    _, problems = production_env.parse("SECRET_KEY=x\nthis is not a variable\n")

    assert problems == ["line 2: expected NAME=value, found 'this is not a variable'"]


def test_a_missing_env_file_says_how_to_make_one(tmp_path, capsys):
    assert production_env.main(["--file", str(tmp_path / ".env"), "check"]) == 1
    assert "scripts/install.sh" in capsys.readouterr().out
