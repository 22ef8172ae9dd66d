from __future__ import annotations

import secrets

from django.db import models

from routing.validators import validate_hostname


def new_token() -> str:
    """The challenge token: 32 hex digits, safe in a URL path, a TXT record and a Caddy matcher."""
    return secrets.token_hex(16)


class Domain(models.Model):
    """A custom domain a project answers on, besides its own <slug>.<base domain>.

    It is created pending with a random token and is routed only once verified: a DNS TXT
    record `_deployer-challenge.<hostname>` holding the token, or the token served at
    `http://<hostname>/.well-known/deployer-challenge/<token>` by this server's router.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        VERIFIED = "verified", "Verified"

    class Method(models.TextChoices):
        DNS = "dns", "DNS TXT record"
        HTTP = "http", "HTTP token"
        OWN_ADDRESS = "own", "under the app's own address"

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="domains"
    )
    # Stored lower-cased (routing.services normalises), so uniqueness ignores case as DNS does.
    hostname = models.CharField(
        max_length=253,
        unique=True,
        validators=[validate_hostname],
        error_messages={"unique": "This domain is already in use."},
    )
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    token = models.CharField(max_length=64, default=new_token, editable=False)
    # The proof the user last asked for; the periodic check retries that one.
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.DNS)
    verified_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    # Why the last check passed or failed, in words (never a fetched body).
    last_check_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname

    @property
    def verified(self) -> bool:
        return self.state == self.State.VERIFIED

    @property
    def challenge_name(self) -> str:
        return f"_deployer-challenge.{self.hostname}"

    @property
    def challenge_path(self) -> str:
        return f"/.well-known/deployer-challenge/{self.token}"
