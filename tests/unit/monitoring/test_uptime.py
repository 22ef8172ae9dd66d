from __future__ import annotations

import pytest

from monitoring.uptime import format_percent, uptime_percent


def test_uptime_is_the_share_of_ok_checks():
    assert uptime_percent(2877, 2880) == pytest.approx(99.895833, rel=1e-6)


def test_no_checks_is_no_data_not_zero_or_hundred():
    assert uptime_percent(0, 0) is None
    assert format_percent(None) == "no data"


def test_all_checks_ok_is_exactly_hundred():
    assert format_percent(uptime_percent(2880, 2880)) == "100 %"


def test_one_failed_check_in_many_never_rounds_up_to_hundred():
    assert format_percent(uptime_percent(20159, 20160)) == "99.99 %"


def test_percent_is_rounded_down_to_two_decimals():
    assert format_percent(99.8958) == "99.89 %"
    assert format_percent(50.0) == "50.00 %"


def test_all_failed_is_zero():
    assert format_percent(uptime_percent(0, 12)) == "0.00 %"
