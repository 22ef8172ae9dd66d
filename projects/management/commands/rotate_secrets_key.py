"""Re-encrypt every stored secret with the primary (first) key of DEPLOYER_SECRETS_KEY.

Operator flow:
1. `manage.py generate_secrets_key` prints NEW.
2. Set DEPLOYER_SECRETS_KEY="NEW,OLD" everywhere (web and workers) and restart.
3. `manage.py rotate_secrets_key` re-encrypts every value with NEW, in one transaction.
4. Set DEPLOYER_SECRETS_KEY="NEW" and restart; OLD can be destroyed.

Moving off the development key (derived from SECRET_KEY): set DEPLOYER_SECRETS_KEY=NEW and
run this command with --from-development-key.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from projects import crypto
from projects.models import EnvVar, Project


class Command(BaseCommand):
    help = "Re-encrypt every environment variable and repository credential with the first key."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--from-development-key",
            action="store_true",
            help="Also decrypt with the key derived from SECRET_KEY (used while the setting "
            "was unset).",
        )

    def handle(self, *args, from_development_key: bool = False, **options) -> None:
        keys = crypto.configured_keys()
        if from_development_key:
            keys = [*keys, crypto.development_key(settings.SECRET_KEY)]
        if len(keys) == 1:
            self.stderr.write(
                "Only one key is configured: values are re-encrypted with it. To rotate, set "
                'DEPLOYER_SECRETS_KEY="NEW,OLD" first.'
            )
        unreadable: list[str] = []
        with transaction.atomic():
            env_vars = EnvVar.objects.select_for_update().select_related("project")
            for env_var in env_vars.iterator():
                try:
                    env_var.encrypted_value = crypto.rotate(env_var.encrypted_value, keys)
                except crypto.InvalidToken:
                    unreadable.append(f"{env_var.project.slug}: {env_var.key}")
                    continue
                env_var.save(update_fields=["encrypted_value"])
            projects = Project.objects.select_for_update().exclude(repo_credentials="")
            for project in projects.iterator():
                try:
                    project.repo_credentials = crypto.rotate(project.repo_credentials, keys)
                except crypto.InvalidToken:
                    unreadable.append(f"{project.slug}: repository credentials")
                    continue
                project.save(update_fields=["repo_credentials"])
            if unreadable:  # raising inside the transaction rolls every change back
                raise CommandError(
                    "No configured key decrypts these values; nothing was changed:\n  "
                    + "\n  ".join(unreadable)
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {EnvVar.objects.count()} variables and "
                f"{Project.objects.exclude(repo_credentials='').count()} repository credentials "
                "with the first key. You can now remove the old key from DEPLOYER_SECRETS_KEY."
            )
        )
