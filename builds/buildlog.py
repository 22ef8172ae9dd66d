"""Writing a build's log: sequence numbers, a per-build cap, secret redaction and ANSI stripping."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

from django.conf import settings
from django.db import connection

from builds.durability import asynchronous_commits
from builds.models import Build, BuildLogLine

ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07]*(?:\x07|\x1b\\)|[@-Z\\-_])")
logger = logging.getLogger(__name__)
REDACTED = "********"
# Values this short would redact ordinary words ("1", "on"); they are not secrets worth hiding.
MIN_SECRET_LENGTH = 4


def clean(text: str) -> str:
    """Strip ANSI colour and cursor codes and carriage-return progress redraws."""
    text = ANSI_ESCAPE.sub("", text)
    if "\r" in text:
        text = text.rstrip("\r").rsplit("\r", 1)[-1]
    return text.rstrip("\n")


def redaction_values(secrets: Iterable[str]) -> set[str]:
    """The strings to hide for these secrets.

    A multi-line secret (a PEM private key, a service account file) is hidden as a whole,
    with either line ending, as JSON or `repr` prints it (`\\n`), and line by line: output
    reaches logs one line at a time, so each line of the key must be hidden on its own.
    """
    values: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        lines = secret.strip().splitlines()
        if len(lines) <= 1:
            values.add(secret)
            continue
        # Without the surrounding line breaks, so the text around the secret keeps its lines.
        for separator in ("\n", "\r\n", "\\n", "\\r\\n"):
            values.add(separator.join(lines))
        values.update(line.strip() for line in lines)
    return {value for value in values if len(value) >= MIN_SECRET_LENGTH}


class Redactor:
    """Replaces every secret value (longest first, so overlapping values are hidden whole)."""

    def __init__(self, secrets: Iterable[str]):
        values = redaction_values(secrets)
        self._pattern = (
            re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))
            if values
            else None
        )

    def __call__(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text) if self._pattern else text

    def lines(self, lines: Iterable[str]) -> list[str]:
        """Redact output read as lines: as one text first (a secret spanning lines), then each line."""
        joined = self("\n".join(lines))
        return [self(line) for line in joined.split("\n")] if joined else []


def cut(line: str, limit: int) -> str:
    """`line`, or its first `limit` characters and a notice that the rest was cut."""
    if len(line) <= limit:
        return line
    return f"{line[:limit]} [deployer: line cut at {limit} characters]"


class BuildLog:
    """Appends lines to one build's log; safe to call from the stage's threads.

    Lines are redacted before they are stored and numbered so a viewer can resume after
    the last line it saw. Past `DEPLOYER_BUILD_LOG_MAX_LINES` one notice is written and
    further lines are dropped; a line longer than `DEPLOYER_BUILD_LOG_MAX_LINE_CHARS` is cut,
    saying so.

    A writer thread stores them, many lines per query, so a build never waits for the
    database to log: one INSERT per line cost a code-only deploy about 0.3 s of its 1.5 s.
    It writes as soon as a line arrives (no batching delay; lines that arrive while it
    writes go in the next batch), so a viewer still sees a line within a poll. `flush()`
    waits until everything logged so far is stored; `close()` also ends the thread.
    Opened inside a transaction (tests, a caller's atomic block), the log writes in the
    caller's thread, since another connection could not see the build yet.
    """

    def __init__(self, build: Build, secrets: Iterable[str] = (), max_lines: int | None = None):
        self.build = build
        self.redact = Redactor(secrets)
        self.max_lines = max_lines or settings.DEPLOYER_BUILD_LOG_MAX_LINES
        self.max_line_chars = settings.DEPLOYER_BUILD_LOG_MAX_LINE_CHARS
        self.stage = ""
        self._changed = threading.Condition()
        last = build.log_lines.order_by("-seq").values_list("seq", flat=True).first()
        self._seq = self._stored = last or 0
        self._truncated = build.log_truncated
        self._pending: list[BuildLogLine] = []
        self._in_background = not connection.in_atomic_block
        self._writer: threading.Thread | None = None
        self._closing = False

    def hide(self, secrets: Iterable[str]) -> None:
        """Redact these secrets from here on: the stage that decrypts them says so first."""
        self.redact = Redactor(secrets)

    def __call__(self, text: str, stage: str | None = None) -> None:
        # The whole text first: a secret printed at once spanning lines is one mark, not many.
        for line in self.redact(str(text)).split("\n"):
            self._write(cut(self.redact(clean(line)), self.max_line_chars), stage or self.stage)

    def flush(self) -> None:
        """Return once every line logged so far is stored."""
        with self._changed:
            target = self._seq
            while self._stored < target and self._writer is not None and self._writer.is_alive():
                self._changed.wait(timeout=1)

    def close(self) -> None:
        """Store what is pending and end the writer thread."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
            writer = self._writer
        if writer is not None:
            writer.join()

    def _write(self, text: str, stage: str) -> None:
        with self._changed:
            if self._truncated:
                return
            if self._seq >= self.max_lines:
                self._truncated = True
                text = (
                    f"[deployer] The log reached its limit of {self.max_lines} lines; "
                    "further output is not stored (DEPLOYER_BUILD_LOG_MAX_LINES)."
                )
            self._seq += 1
            line = BuildLogLine(build_id=self.build.pk, seq=self._seq, stage=stage, text=text)
            if not self._in_background or self._closing:
                self._store([line], self._truncated)
                self._stored = self._seq
                return
            self._pending.append(line)
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_in_background, name=f"buildlog-{self.build.pk}", daemon=True
                )
                self._writer.start()
            self._changed.notify_all()

    def _write_in_background(self) -> None:
        try:
            # Log lines need not wait for the disk (builds/durability.py); the connection is this thread's.
            with asynchronous_commits():
                self._write_batches()
        finally:
            connection.close()

    def _write_batches(self) -> None:
        while True:
            with self._changed:
                while not self._pending and not self._closing:
                    self._changed.wait()
                if not self._pending:
                    return
                batch, self._pending = self._pending, []
                truncated = self._truncated
            try:
                self._store(batch, truncated)
            except Exception:  # a lost batch must not stop the build, nor its flush
                logger.exception(
                    "Could not store %d log lines of build %s", len(batch), self.build.pk
                )
            with self._changed:
                self._stored = batch[-1].seq
                self._changed.notify_all()

    def _store(self, lines: list[BuildLogLine], truncated: bool) -> None:
        BuildLogLine.objects.bulk_create(lines)
        Build.objects.filter(pk=self.build.pk).update(
            log_line_count=lines[-1].seq, log_truncated=truncated
        )
