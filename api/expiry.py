"""Reading a token's expiry as people write it: "30d", "12h", "90m" or a date (2027-01-31)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_expiry(text: str, now: datetime | None = None) -> datetime | None:
    """When a token given `text` expires; None for "" or "never". Raises ValueError."""
    text = text.strip().lower()
    if text in ("", "never"):
        return None
    now = now or timezone.now()
    match = re.fullmatch(r"(\d+)\s*([mhdw])", text)
    if match:
        return now + timedelta(**{UNITS[match[2]]: int(match[1])})
    moment = parse_datetime(text)
    if moment is None and (day := parse_date(text)) is not None:
        moment = datetime(day.year, day.month, day.day)
    if moment is None:
        raise ValueError(f"{text!r} is not an expiry: give 30d, 12h, a date (2027-01-31) or never.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment
