"""Cron schedules: validated with a clear sentence, due by croniter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from processes import cron


def test_a_valid_schedule_is_kept_with_single_spaces():
    assert cron.check_schedule("  */5   *  * * mon-fri ") == "*/5 * * * mon-fri"


@pytest.mark.parametrize(
    ("schedule", "says"),
    [
        ("* * * *", "a schedule has 5 fields"),
        ("61 * * * *", "the minute field '61': '61' is not a value from 0 to 59"),
        ("* 5-2 * * *", "the range '5-2' runs backwards"),
        ("every day", "a schedule has 5 fields"),
        ("", "a schedule has 5 fields"),
    ],
)
def test_wrong_schedule_syntax_is_a_clear_error(schedule, says):
    with pytest.raises(ValidationError) as raised:
        cron.check_schedule(schedule)

    assert says in raised.value.messages[0]
    assert raised.value.messages[0].startswith("The schedule ")


def test_a_job_name_must_be_a_plain_word():
    assert cron.check_name("Clear-Sessions") == "clear-sessions"
    with pytest.raises(ValidationError, match="is not valid"):
        cron.check_name("../etc")


def test_due_in_the_minutes_its_schedule_names_only():
    at = datetime(2026, 12, 7, 3, 15, 42, tzinfo=UTC)

    assert cron.is_due("*/5 * * * *", at)
    assert cron.is_due("15 3 * * mon", at)  # 7 December 2026 is a Monday
    assert not cron.is_due("16 3 * * *", at)
    assert not cron.is_due("15 3 * * tue", at)
