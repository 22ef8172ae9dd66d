"""Create, list and revoke personal API tokens from the command line."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api import tokens
from api.expiry import parse_expiry
from api.models import ApiToken
from projects.models import Project


class Command(BaseCommand):
    help = "Personal API tokens: create (shown once), list, revoke."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="create a token and print it once")
        create.add_argument("user", help="the user the token acts as")
        create.add_argument("--name", default="", help="what it is for (default: cli)")
        create.add_argument(
            "--scope", choices=tokens.SCOPE_RANK, default="admin", help="default: admin"
        )
        create.add_argument("--project", default="", help="restrict it to this project (slug)")
        create.add_argument(
            "--expires", default="", help="30d, 12h, a date (2027-01-31) or never (default)"
        )
        listing = actions.add_parser("list", help="list tokens (never their secret)")
        listing.add_argument("user", nargs="?", default="", help="only this user's")
        revoke = actions.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix", help="the 8 characters after dpl_")

    def handle(self, *args, action: str, **options):
        getattr(self, f"_{action}")(**options)

    def _create(self, *, user: str, name: str, scope: str, project: str, expires: str, **_):
        found = get_user_model().objects.filter(username=user).first()
        if found is None:
            raise CommandError(f"No user named {user!r}.")
        restricted = None
        if project:
            restricted = Project.objects.visible_to(found).filter(slug=project).first()
            if restricted is None:
                raise CommandError(f"{user} cannot see a project named {project!r}.")
        try:
            token, raw = tokens.create_token(
                found,
                name or "cli",
                scope=scope,
                project=restricted,
                expires_at=parse_expiry(expires),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"Token {token.name} ({token.scope}) of {user}; it is not shown again:")
        self.stdout.write(raw)

    def _list(self, *, user: str, **_):
        found = ApiToken.objects.select_related("user", "project")
        if user:
            found = found.filter(user__username=user)
        for token in found:
            state = "revoked" if token.revoked_at else "expired" if token.is_expired else "active"
            self.stdout.write(
                f"{token.prefix}  {token.user.get_username():<16} {token.name:<20} "
                f"{token.scope:<7} {token.project.slug if token.project else '*':<20} "
                f"{state:<8} last used {token.last_used_at or 'never'}"
            )

    def _revoke(self, *, prefix: str, **_):
        token = ApiToken.objects.filter(prefix=prefix.removeprefix(tokens.TOKEN_START)[:8]).first()
        if token is None:
            raise CommandError(f"No token with prefix {prefix!r}.")
        if tokens.revoke(token):
            self.stdout.write(f"Token {token.name} of {token.user} revoked.")
        else:
            self.stdout.write(f"Token {token.name} of {token.user} was already revoked.")
