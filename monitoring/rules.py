"""Alert rules on an app's recent samples: which fire now, and why, in words.

Pure: samples and thresholds in, verdicts out. A rule whose figures are missing (the
container went, the router log was unreadable) gives no verdict, so an open episode is
neither ended nor repeated by a gap. Episodes (one event when a rule starts firing, one
when it stops) are kept by monitoring.metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

MEMORY, ERRORS, RESTARTS = "memory", "5xx", "restarts"  # monitoring.models.MetricAlert.Rule


@dataclass(frozen=True)
class Point:
    """One raw sample as the rules read it."""

    at: datetime
    deployment_id: int | None = None
    memory_bytes: int | None = None
    memory_limit_bytes: int | None = None
    requests: int | None = None
    status_5xx: int = 0
    restarts: int | None = None


@dataclass(frozen=True)
class Thresholds:
    memory_share: float = 0.9
    memory_minutes: float = 5.0
    error_rate: float = 0.05
    min_requests: int = 20
    window_minutes: float = 5.0
    restarts: int = 1

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            memory_share=settings.DEPLOYER_ALERT_MEMORY_SHARE,
            memory_minutes=settings.DEPLOYER_ALERT_MEMORY_MINUTES,
            error_rate=settings.DEPLOYER_ALERT_5XX_RATE,
            min_requests=settings.DEPLOYER_ALERT_MIN_REQUESTS,
            window_minutes=settings.DEPLOYER_ALERT_WINDOW_MINUTES,
            restarts=settings.DEPLOYER_ALERT_RESTARTS,
        )

    @property
    def lookback(self) -> timedelta:
        """How far back the samples the rules need go (one window, plus the sample before)."""
        return timedelta(minutes=max(self.memory_minutes, self.window_minutes) * 2)


@dataclass(frozen=True)
class Verdict:
    firing: bool
    reason: str


def evaluate(points: Sequence[Point], now: datetime, limits: Thresholds) -> dict[str, Verdict]:
    """A verdict for each rule that can be judged from `points` (oldest first)."""
    verdicts = {}
    for rule, judge in ((MEMORY, memory), (ERRORS, errors), (RESTARTS, restarts)):
        verdict = judge(points, now, limits)
        if verdict is not None:
            verdicts[rule] = verdict
    return verdicts


def memory(points: Sequence[Point], now: datetime, limits: Thresholds) -> Verdict | None:
    """Fires when every sample for `memory_minutes` up to the latest is above the share."""
    known = [p for p in points if p.memory_bytes is not None and p.memory_limit_bytes]
    if not known:
        return None
    latest = known[-1]
    share = latest.memory_bytes / latest.memory_limit_bytes
    words = f"{share:.0%} of its {_mb(latest.memory_limit_bytes)} limit"
    if share <= limits.memory_share:
        return Verdict(False, f"Memory is back at {words}.")
    above_since = latest.at
    for point in reversed(known):
        if point.memory_bytes / point.memory_limit_bytes <= limits.memory_share:
            break
        above_since = point.at
    minutes = limits.memory_minutes
    if now - above_since < timedelta(minutes=minutes):
        return Verdict(
            False, f"Memory is at {words}, above {limits.memory_share:.0%} only briefly."
        )
    return Verdict(
        True,
        f"Memory has been above {limits.memory_share:.0%} of the limit for {_minutes(minutes)} "
        f"(now {words}): the app may soon be killed for running out of memory.",
    )


def errors(points: Sequence[Point], now: datetime, limits: Thresholds) -> Verdict | None:
    """Fires when more than `error_rate` of at least `min_requests` requests in the window
    were answered 5xx."""
    start = now - timedelta(minutes=limits.window_minutes)
    counted = [p for p in points if p.at > start and p.requests is not None]
    if not counted:
        return None
    total = sum(p.requests for p in counted)
    failed = sum(p.status_5xx for p in counted)
    window = _minutes(limits.window_minutes)
    if total < limits.min_requests or failed / total <= limits.error_rate:
        return Verdict(False, f"{failed} of {total} requests in the last {window} were 5xx.")
    return Verdict(
        True,
        f"{failed} of {total} requests ({failed / total:.0%}) in the last {window} were "
        f"answered with a server error (5xx); the rule allows {limits.error_rate:.0%}.",
    )


def restarts(points: Sequence[Point], now: datetime, limits: Thresholds) -> Verdict | None:
    """Fires when the live container was restarted `restarts` times or more in the window,
    counted from the last sample before the window."""
    if limits.restarts <= 0:
        return None
    known = [p for p in points if p.restarts is not None]
    if not known:
        return None
    latest = known[-1]
    same = [p for p in known if p.deployment_id == latest.deployment_id]
    start = now - timedelta(minutes=limits.window_minutes)
    before = [p for p in same if p.at <= start]
    baseline = before[-1] if before else same[0]
    count = latest.restarts - baseline.restarts
    window = _minutes(limits.window_minutes)
    if count < limits.restarts:
        return Verdict(False, f"No restart counted in the last {window}.")
    return Verdict(
        True,
        f"Docker restarted the app {count} time{'s' if count != 1 else ''} in the last {window}.",
    )


def _mb(value: int) -> str:
    return f"{value / 1024 / 1024:.0f} MB"


def _minutes(minutes: float) -> str:
    if minutes < 1:
        return f"{minutes * 60:.0f} s"
    return f"{minutes:g} minute{'s' if minutes != 1 else ''}"
