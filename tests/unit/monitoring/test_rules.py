from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitoring import rules
from monitoring.rules import Point, Thresholds

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MB = 1024 * 1024
LIMITS = Thresholds(memory_share=0.9, memory_minutes=5, error_rate=0.05, min_requests=20)


def memory_points(shares_by_minutes_ago: dict[float, float]) -> list[Point]:
    return [
        Point(NOW - timedelta(minutes=ago), 1, int(share * 256 * MB), 256 * MB)
        for ago, share in sorted(shares_by_minutes_ago.items(), reverse=True)
    ]


def test_memory_above_the_share_for_the_whole_window_fires():
    verdict = rules.memory(memory_points({6: 0.95, 3: 0.93, 0: 0.97}), NOW, LIMITS)
    assert verdict.firing
    assert "97% of its 256 MB limit" in verdict.reason


def test_memory_above_the_share_only_briefly_does_not_fire():
    verdict = rules.memory(memory_points({6: 0.5, 3: 0.95, 0: 0.97}), NOW, LIMITS)
    assert not verdict.firing


def test_memory_back_under_the_share_ends_the_episode():
    verdict = rules.memory(memory_points({6: 0.95, 3: 0.95, 0: 0.4}), NOW, LIMITS)
    assert not verdict.firing and "back at 40%" in verdict.reason


def test_a_gap_gives_no_verdict_rather_than_an_end():
    assert rules.memory([Point(NOW)], NOW, LIMITS) is None
    assert rules.errors([Point(NOW, requests=None)], NOW, LIMITS) is None
    assert rules.restarts([Point(NOW)], NOW, LIMITS) is None
    assert rules.evaluate([], NOW, LIMITS) == {}


def test_server_errors_above_the_rate_fire_once_enough_requests_were_seen():
    points = [Point(NOW - timedelta(minutes=m), requests=10, status_5xx=2) for m in (3, 1)]
    assert rules.errors(points, NOW, LIMITS).firing
    few = [Point(NOW, requests=10, status_5xx=9)]
    assert not rules.errors(few, NOW, LIMITS).firing  # 10 requests are below the minimum of 20


def test_server_errors_outside_the_window_do_not_count():
    points = [Point(NOW - timedelta(minutes=9), requests=100, status_5xx=100)]
    points.append(Point(NOW, requests=100, status_5xx=1))
    assert not rules.errors(points, NOW, LIMITS).firing


def test_restarts_within_the_window_fire_and_a_quiet_window_ends_them():
    points = [
        Point(NOW - timedelta(minutes=7), deployment_id=1, restarts=0),
        Point(NOW - timedelta(minutes=2), deployment_id=1, restarts=2),
    ]
    verdict = rules.restarts(points, NOW, LIMITS)
    assert verdict.firing and "2 times" in verdict.reason
    later = NOW + timedelta(minutes=10)
    quiet = [*points, Point(later, deployment_id=1, restarts=2)]
    assert not rules.restarts(quiet, later, LIMITS).firing


def test_a_new_deployment_starts_its_restart_count_again():
    points = [
        Point(NOW - timedelta(minutes=7), deployment_id=1, restarts=4),
        Point(NOW, deployment_id=2, restarts=0),
    ]
    assert not rules.restarts(points, NOW, LIMITS).firing


def test_a_restart_threshold_of_zero_turns_the_rule_off():
    points = [Point(NOW, deployment_id=1, restarts=9)]
    assert rules.restarts(points, NOW, Thresholds(restarts=0)) is None
