"""Previews arrive on the webhook endpoint: the same project, secret and poster as there."""

from __future__ import annotations

from tests.unit.webhooks.conftest import post_hook, project, secret  # noqa: F401
