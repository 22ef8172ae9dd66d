from __future__ import annotations

from django.core.management.base import BaseCommand

from projects import crypto


class Command(BaseCommand):
    help = "Print a new random Fernet key for DEPLOYER_SECRETS_KEY."

    def handle(self, *args, **options) -> None:
        self.stdout.write(crypto.generate_key())
