"""The errors a pipeline stage raises: one readable reason each, shown at the top of the build page."""

from __future__ import annotations


class StageError(Exception):
    """A stage failed for a reason the user can act on. `str(exc)` is that reason."""


class BuildCancelled(Exception):
    """The user cancelled the build while a stage was running."""
