"""The Fernet keys DEPLOYER_SECRETS_KEY holds, checked in one place: by the settings at
start-up (a bad key stops every process at once) and by projects.crypto when it uses them."""

from __future__ import annotations

from cryptography.fernet import Fernet

INVALID_KEYS = (
    "DEPLOYER_SECRETS_KEY must be comma-separated Fernet keys "
    "(generate one with `manage.py generate_secrets_key`)."
)


def fernet_keys(value: str) -> list[str]:
    """The keys in `value`, primary first; raises ValueError (INVALID_KEYS) for one that is not
    a Fernet key."""
    keys = [key.strip() for key in value.split(",") if key.strip()]
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise ValueError(INVALID_KEYS) from None
    return keys
