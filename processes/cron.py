"""Cron schedules: one validator (deployer.toml's, which says what is wrong in words) and
croniter, a maintained parser, for when a job is due."""

from __future__ import annotations

import re
from datetime import datetime

from croniter import croniter
from django.core.exceptions import ValidationError

from builds.pipeline.detection.deployer_toml import cron_problem

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def check_schedule(schedule: str) -> str:
    """The schedule with its fields separated by one space; ValidationError says what is wrong."""
    normalised = " ".join(str(schedule or "").split())
    problem = cron_problem(normalised)
    if problem is None and not croniter.is_valid(normalised):
        problem = "it is not a schedule cron understands"
    if problem:
        raise ValidationError(f"The schedule {normalised!r} is not valid: {problem}.")
    return normalised


def check_name(name: str) -> str:
    name = str(name or "").strip().lower()
    if not NAME.match(name):
        raise ValidationError(
            f"The job name {name!r} is not valid: use lowercase letters, digits, - and _ "
            "(up to 63, starting with a letter or digit)."
        )
    return name


def is_due(schedule: str, minute: datetime) -> bool:
    """Whether `schedule` fires in the minute `minute` (UTC) starts."""
    return croniter.match(schedule, minute.replace(second=0, microsecond=0))
