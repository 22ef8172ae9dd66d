"""Create the first admin user once; its password comes from the environment (in clear, or as
the hash scripts/production_env.py stores) or is printed once."""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a superuser when none exists (DEPLOYER_ADMIN_USER, DEPLOYER_ADMIN_PASSWORD)."

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        username = os.environ.get("DEPLOYER_ADMIN_USER", "admin")
        password = os.environ.get("DEPLOYER_ADMIN_PASSWORD", "")
        password_hash = os.environ.get("DEPLOYER_ADMIN_PASSWORD_HASH", "")
        if password_hash and not password:
            user = User(username=username, email="", is_staff=True, is_superuser=True)
            user.password = password_hash  # made by scripts/production_env.py, printed once there
            user.save()
            self.stdout.write(self.style.SUCCESS(f"Created the admin user {username!r}."))
            return
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(self.style.SUCCESS(f"Created the admin user {username!r}."))
        if generated:
            self.stdout.write(
                f"Its password, shown only this once: {password}\n"
                "(set DEPLOYER_ADMIN_PASSWORD before the first run to choose it)"
            )
