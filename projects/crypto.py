"""Encryption at rest for environment variable values and repository credentials.

DEPLOYER_SECRETS_KEY holds comma-separated Fernet keys: the first encrypts, every one decrypts.
Rotation: set "NEW,OLD", run `manage.py rotate_secrets_key`, then set "NEW" alone.
In development, without the setting, a key is derived from SECRET_KEY (and a warning says so);
in production (DEPLOYER_ENV=production) nothing is encrypted or decrypted without it.
"""

from __future__ import annotations

import base64
import functools
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from deployer.keys import fernet_keys

logger = logging.getLogger(__name__)

MISSING_KEY = (
    "DEPLOYER_SECRETS_KEY is required when DEPLOYER_ENV=production: "
    "generate one with `manage.py generate_secrets_key`."
)

__all__ = [
    "InvalidToken",
    "SecretUnreadable",
    "decrypt",
    "encrypt",
    "fernet",
    "generate_key",
    "rotate",
]


class SecretUnreadable(InvalidToken):
    """No configured key decrypts a stored value (an InvalidToken that says why)."""

    def __init__(self) -> None:
        super().__init__(
            "A stored secret cannot be decrypted with DEPLOYER_SECRETS_KEY: was a key removed "
            "before `manage.py rotate_secrets_key` re-encrypted everything?"
        )


def generate_key() -> str:
    return Fernet.generate_key().decode()


def development_key(secret_key: str) -> str:
    """A stable Fernet key derived from SECRET_KEY, for development only."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"deployer secrets at rest"
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived).decode()


def configured_keys() -> list[str]:
    """The Fernet keys in force, primary first."""
    try:
        keys = fernet_keys(settings.DEPLOYER_SECRETS_KEY)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    if keys:
        return keys
    if settings.PRODUCTION:
        raise ImproperlyConfigured(MISSING_KEY)
    return [_development_key_announced(settings.SECRET_KEY)]


@functools.cache
def _development_key_announced(secret_key: str) -> str:
    logger.warning(
        "DEPLOYER_SECRETS_KEY is not set: encrypting secrets with a key derived from "
        "SECRET_KEY (acceptable in development only)."
    )
    return development_key(secret_key)


def fernet() -> MultiFernet:
    return _multi_fernet(tuple(configured_keys()))


@functools.cache
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in fernet_keys(",".join(keys))])
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext; raises SecretUnreadable (an InvalidToken) when no configured key opens it."""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable from exc


def rotate(token: str, keys: list[str] | None = None) -> str:
    """The same plaintext encrypted again with the primary key."""
    multi = _multi_fernet(tuple(keys)) if keys else fernet()
    return multi.rotate(token.encode()).decode()
