"""Writing a build's log: sequence numbers, a per-build cap, secret redaction and ANSI stripping."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

from django.conf import settings

from builds.models import Build, BuildLogLine

ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07]*(?:\x07|\x1b\\)|[@-Z\\-_])")
REDACTED = "********"
# Values this short would redact ordinary words ("1", "on"); they are not secrets worth hiding.
MIN_SECRET_LENGTH = 4


def clean(text: str) -> str:
    """Strip ANSI colour and cursor codes and carriage-return progress redraws."""
    text = ANSI_ESCAPE.sub("", text)
    if "\r" in text:
        text = text.rstrip("\r").rsplit("\r", 1)[-1]
    return text.rstrip("\n")


class Redactor:
    """Replaces every secret value (longest first, so overlapping values are hidden whole)."""

    def __init__(self, secrets: Iterable[str]):
        values = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        self._pattern = (
            re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))
            if values
            else None
        )

    def __call__(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text) if self._pattern else text


class BuildLog:
    """Appends lines to one build's log; safe to call from the stage's threads.

    Every line is written at once (a viewer sees it within a poll), redacted before it
    is stored, and numbered so a viewer can resume after the last line it saw. Past
    `DEPLOYER_BUILD_LOG_MAX_LINES` one notice is written and further lines are dropped.
    """

    def __init__(self, build: Build, secrets: Iterable[str] = (), max_lines: int | None = None):
        self.build = build
        self.redact = Redactor(secrets)
        self.max_lines = max_lines or settings.DEPLOYER_BUILD_LOG_MAX_LINES
        self.stage = ""
        self._lock = threading.Lock()
        last = build.log_lines.order_by("-seq").values_list("seq", flat=True).first()
        self._seq = last or 0
        self._truncated = build.log_truncated

    def __call__(self, text: str, stage: str | None = None) -> None:
        for line in str(text).split("\n"):
            self._write(self.redact(clean(line)), stage or self.stage)

    def _write(self, text: str, stage: str) -> None:
        with self._lock:
            if self._truncated:
                return
            if self._seq >= self.max_lines:
                self._truncated = True
                text = (
                    f"[deployer] The log reached its limit of {self.max_lines} lines; "
                    "further output is not stored (DEPLOYER_BUILD_LOG_MAX_LINES)."
                )
            self._seq += 1
            BuildLogLine.objects.create(build=self.build, seq=self._seq, stage=stage, text=text)
            Build.objects.filter(pk=self.build.pk).update(
                log_line_count=self._seq, log_truncated=self._truncated
            )
