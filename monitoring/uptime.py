"""Uptime as the share of checks that found the app healthy.

Checks run at a fixed interval, so counting them weighs time evenly. Periods with no checks
(the engine unreachable, monitoring stopped, the app stopped on purpose) have no samples
and count neither way: they are unknown, not down.
"""

from __future__ import annotations

import math


def uptime_percent(ok: int, total: int) -> float | None:
    """The percentage of `total` checks that were `ok`; None without any check."""
    if total <= 0:
        return None
    return 100.0 * min(ok, total) / total


def format_percent(percent: float | None) -> str:
    """'99.93 %', rounded down so that one failed check never shows as 100 %."""
    if percent is None:
        return "no data"
    if percent >= 100.0:
        return "100 %"
    return f"{math.floor(percent * 100) / 100:.2f} %"
