"""Writes per token per minute (DEPLOYER_API_WRITES_PER_MINUTE), counted in the cache.

A fixed one-minute window: one atomic increment per write, shared by every web process when
the cache is Redis (REDIS_URL set).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache

from api.errors import ApiError
from api.models import ApiToken

logger = logging.getLogger(__name__)


def check_write(token: ApiToken, now: float | None = None) -> None:
    """Count one write of `token`; raises ApiError 429 past the limit."""
    limit = settings.DEPLOYER_API_WRITES_PER_MINUTE
    if limit <= 0:
        return
    now = time.time() if now is None else now
    window = int(now // 60)
    key = f"api-writes:{token.pk}:{window}"
    try:
        cache.add(key, 0, timeout=120)
        count = cache.incr(key)
    except Exception:  # noqa: BLE001 - a cache that is away (Redis restarting) limits nothing
        logger.warning("The API write limit is not counted: the cache is unreachable.")
        return
    if count > limit:
        wait = 60 - int(now % 60)
        raise ApiError(
            429,
            "rate_limited",
            f"This token made more than {limit} changes this minute; try again in {wait} s.",
            details={"retry_after": wait},
        )
