from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from projects import crypto, services
from projects.management.commands.rotate_secrets_key import encrypted_fields
from projects.models import EnvVar, Project

pytestmark = pytest.mark.django_db


def _raw(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {column} <> '' ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def test_generate_secrets_key_prints_a_usable_fernet_key():
    out = StringIO()

    call_command("generate_secrets_key", stdout=out)

    Fernet(out.getvalue().strip().encode())


def test_rotation_re_encrypts_everything_so_the_new_key_alone_reads_it(settings, user):
    old, new = crypto.generate_key(), crypto.generate_key()
    settings.DEPLOYER_SECRETS_KEY = old
    project = services.create_project(
        user, slug="shop", repo_url="https://deploy:ghp_token@github.com/acme/shop.git"
    )
    services.import_env_file(project, "A=alpha\nB=beta\nC=")
    before = _raw("projects_envvar", "encrypted_value")
    credentials_before = _raw("projects_project", "encrypted_repo_credentials")

    settings.DEPLOYER_SECRETS_KEY = f"{new},{old}"
    call_command("rotate_secrets_key", stdout=StringIO(), stderr=StringIO())
    settings.DEPLOYER_SECRETS_KEY = new

    project = Project.objects.get(pk=project.pk)
    assert services.runtime_environment(project) == {"A": "alpha", "B": "beta", "C": ""}
    credentials = services.git_credentials(project)
    assert (credentials.username, credentials.password) == ("deploy", "ghp_token")
    assert set(_raw("projects_envvar", "encrypted_value")).isdisjoint(before)
    assert _raw("projects_project", "encrypted_repo_credentials") != credentials_before
    old_only = Fernet(old.encode())
    for token in _raw("projects_envvar", "encrypted_value"):
        with pytest.raises(crypto.InvalidToken):
            old_only.decrypt(token.encode())


def test_rotation_changes_nothing_when_a_value_cannot_be_decrypted(settings, project):
    settings.DEPLOYER_SECRETS_KEY = crypto.generate_key()
    services.add_env_var(project, "READABLE", "yes")
    lost = services.add_env_var(project, "LOST", "no")
    EnvVar.objects.filter(pk=lost.pk).update(
        encrypted_value=Fernet(Fernet.generate_key()).encrypt(b"x").decode()
    )
    before = _raw("projects_envvar", "encrypted_value")
    settings.DEPLOYER_SECRETS_KEY = f"{crypto.generate_key()},{settings.DEPLOYER_SECRETS_KEY}"

    with pytest.raises(CommandError, match=rf"projects.EnvVar {lost.pk} \(encrypted_value\)"):
        call_command("rotate_secrets_key", stdout=StringIO(), stderr=StringIO())

    assert _raw("projects_envvar", "encrypted_value") == before


def test_rotation_can_move_values_off_the_development_key(settings, project):
    settings.DEPLOYER_SECRETS_KEY = ""
    services.add_env_var(project, "A", "from development")
    settings.DEPLOYER_SECRETS_KEY = crypto.generate_key()

    call_command(
        "rotate_secrets_key", "--from-development-key", stdout=StringIO(), stderr=StringIO()
    )

    assert services.runtime_environment(project) == {"A": "from development"}


def test_rotation_covers_every_encrypted_field_of_every_app():
    found = {(model._meta.label, name) for model, name in encrypted_fields()}

    assert {
        ("projects.EnvVar", "encrypted_value"),
        ("projects.Project", "encrypted_repo_credentials"),
    } <= found
