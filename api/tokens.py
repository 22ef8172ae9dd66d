"""Creating, finding and revoking API tokens. A token is `dpl_<prefix>_<secret>`, shown once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from api.models import ApiToken

TOKEN_START = "dpl_"
# Scopes are ranked: each includes what the ones before it allow.
SCOPE_RANK = {ApiToken.Scope.READ: 0, ApiToken.Scope.DEPLOY: 1, ApiToken.Scope.ADMIN: 2}
# last_used_at is written at most this often per token, not on every request.
LAST_USE_PRECISION_SECONDS = 60


class TokenError(Exception):
    """A token that cannot be used; the message says why in a sentence."""


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_token(
    user,
    name: str,
    *,
    scope: str = ApiToken.Scope.READ,
    project=None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token and its text, which is never stored and cannot be shown again."""
    if scope not in SCOPE_RANK:
        raise ValueError(f"Unknown scope {scope!r}: choose read, deploy or admin.")
    if not name.strip():
        raise ValueError("A token needs a name.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("The expiry must be in the future.")
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100],
        prefix=prefix,
        hashed_secret=_digest(raw),
        scope=scope,
        project=project,
        expires_at=expires_at,
    )
    return token, raw


def authenticate(raw: str) -> ApiToken:
    """The live token `raw` stands for, with its last use noted; raises TokenError."""
    start, _, rest = raw.partition(TOKEN_START)
    prefix = rest.split("_", 1)[0] if not start else ""
    token = (
        ApiToken.objects.select_related("user", "project").filter(prefix=prefix).first()
        if prefix
        else None
    )
    if token is None or not hmac.compare_digest(token.hashed_secret, _digest(raw)):
        raise TokenError("The token is not valid.")
    if token.revoked_at is not None:
        raise TokenError("The token was revoked.")
    if token.is_expired:
        raise TokenError("The token has expired.")
    if not token.user.is_active:
        raise TokenError("The token's user is deactivated.")
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > (
        LAST_USE_PRECISION_SECONDS
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def allows(token: ApiToken, scope: str) -> bool:
    return SCOPE_RANK[token.scope] >= SCOPE_RANK[scope]


def revoke(token: ApiToken) -> bool:
    """Revoke the token at once; False when it already was."""
    now = timezone.now()
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    if revoked:
        token.revoked_at = now
    return bool(revoked)
