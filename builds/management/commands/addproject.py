"""Register a project from the command line, validated exactly as the web form validates it."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from projects import services


class Command(BaseCommand):
    help = "Register a project: addproject NAME --repo URL [--branch B] [--root DIR] [--env KEY=VALUE ...]"

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--repo", required=True, help="https://, ssh:// or git@host:path")
        parser.add_argument("--branch", default="main")
        parser.add_argument("--root", default="", help="the app's folder inside the repository")
        parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
        parser.add_argument("--owner", help="user name of the owner (default: the first superuser)")

    def handle(self, *args, name, repo, branch, root, env, owner, **options) -> None:
        owner_user = self._owner(owner)
        variables = []
        for item in env:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--env {item!r} must be KEY=VALUE.")
            variables.append((key, value))
        try:
            with transaction.atomic():
                project = services.create_project(
                    owner_user, slug=name, repo_url=repo, branch=branch, app_root=root
                )
                for key, value in variables:
                    services.add_env_var(project, key, value)
        except ValidationError as exc:
            raise CommandError(_describe(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Registered project {project.slug} ({project.repo_url}, branch {project.branch})."
            )
        )

    def _owner(self, username: str | None):
        User = get_user_model()
        if username:
            user = User.objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"No user named {username!r}.")
            return user
        user = User.objects.filter(is_superuser=True).order_by("pk").first()
        if user is None:
            raise CommandError("No superuser exists: create one, or pass --owner.")
        return user


def _describe(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)
