"""Re-encrypt every stored secret with the primary (first) key of DEPLOYER_SECRETS_KEY.

Every model field named `encrypted_*`, in any installed app, holds a projects.crypto token and
is rotated: environment variable values, repository credentials, webhook secrets, ...

Operator flow:
1. `manage.py generate_secrets_key` prints NEW.
2. Set DEPLOYER_SECRETS_KEY="NEW,OLD" for the web process and the workers; restart them.
3. `manage.py rotate_secrets_key` re-encrypts every value with NEW, in one transaction.
4. Set DEPLOYER_SECRETS_KEY="NEW"; restart. OLD can be destroyed.

Leaving the development key (derived from SECRET_KEY): set DEPLOYER_SECRETS_KEY=NEW and run
this command with --from-development-key.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction

from projects import crypto

PREFIX = "encrypted_"


def encrypted_fields() -> list[tuple[type[models.Model], str]]:
    """(model, field name) for every concrete `encrypted_*` field of the installed apps."""
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.name.startswith(PREFIX)
    ]


class Command(BaseCommand):
    help = "Re-encrypt every encrypted_* field of every model with the first configured key."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--from-development-key",
            action="store_true",
            help="Also decrypt with the key derived from SECRET_KEY (used while "
            "DEPLOYER_SECRETS_KEY was unset).",
        )

    def handle(self, *args, from_development_key: bool = False, **options) -> None:
        keys = crypto.configured_keys()
        if from_development_key:
            keys = [*keys, crypto.development_key(settings.SECRET_KEY)]
        if len(keys) == 1:
            self.stderr.write(
                'Only one key is configured: to rotate, set DEPLOYER_SECRETS_KEY="NEW,OLD" first. '
                "Re-encrypting with the one key."
            )
        rotated, unreadable = 0, []
        with transaction.atomic():  # raising inside rolls every change back
            for model, name in encrypted_fields():
                rows = model._default_manager.select_for_update().exclude(**{name: ""})
                for pk, token in rows.values_list("pk", name).iterator():
                    try:
                        new_token = crypto.rotate(token, keys)
                    except crypto.InvalidToken:
                        unreadable.append(f"{model._meta.label} {pk} ({name})")
                        continue
                    model._default_manager.filter(pk=pk).update(**{name: new_token})
                    rotated += 1
            if unreadable:
                raise CommandError(
                    "No configured key decrypts these values; nothing was changed:\n  "
                    + "\n  ".join(unreadable)
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {rotated} values with the first key. "
                "You can now remove the old key from DEPLOYER_SECRETS_KEY."
            )
        )
