"""The one error detection raises."""

from __future__ import annotations


class DetectionError(Exception):
    """The repository cannot be turned into a plan.

    The message starts with one sentence saying what is wrong, followed by
    what was looked for and which project setting fixes it.
    """
