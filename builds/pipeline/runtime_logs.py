"""A running app's output, read from the engine in bounded pieces: the last lines, or the
lines after a cursor (the engine's timestamp of the last line seen), so a page can follow it.

The app is hostile at run time: it prints what it likes, as much as it likes. Each read
asks the engine for at most `tail` lines and stops after `max_bytes`; a line is cut at
`max_line_chars`. Redacting the project's secrets is the caller's job (it has them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import docker
from docker import errors as docker_errors

# The engine's timestamp of a line: RFC 3339 in UTC with up to nine fraction digits.
STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$")


class BadCursor(ValueError):
    """A cursor that is not one of the engine's timestamps."""


@dataclass(frozen=True)
class Line:
    at: str  # the engine's timestamp: the cursor to follow from
    text: str


@dataclass(frozen=True)
class Read:
    lines: list[Line]
    cut: bool  # the byte bound stopped the read: older lines of this span were left out


def moment(stamp: str) -> tuple[int, int]:
    """(seconds since the epoch, nanoseconds) of an engine timestamp; raises BadCursor."""
    match = STAMP.match(stamp)
    if not match:
        raise BadCursor(f"{stamp[:40]!r} is not a log timestamp.")
    seconds = datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    return int(seconds), int((match[2] or "").ljust(9, "0"))


def read(
    client: docker.DockerClient,
    container_id: str,
    *,
    after: str = "",
    since_seconds: float | None = None,
    tail: int,
    max_bytes: int,
    max_line_chars: int,
) -> Read:
    """The container's lines after the cursor `after` (or from `since_seconds`, a UNIX time,
    or the last `tail` when neither), oldest first; at most `tail` of them. A container that
    is gone has no lines. Raises docker's DockerException when the engine refuses."""
    start = None
    if after:
        start = moment(after)
    elif since_seconds is not None:
        start = (int(since_seconds), int((since_seconds % 1) * 1e9))
    try:
        chunks = client.api.logs(
            container_id,
            stdout=True,
            stderr=True,
            timestamps=True,
            stream=True,
            follow=False,
            tail=tail,
            # Inclusive, in (float) seconds: a microsecond early, and the lines at or before
            # the cursor are dropped below by their exact timestamps.
            since=start[0] + start[1] / 1e9 - 1e-6 if start else None,
        )
    except docker_errors.NotFound:
        return Read([], False)
    data, cut = bytearray(), False
    try:
        for chunk in chunks:
            data += chunk
            if len(data) >= max_bytes:
                cut = True
                break
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()
    return Read(_parse(bytes(data[:max_bytes]), start, max_line_chars, drop_last=cut), cut)


def _parse(data: bytes, start, max_line_chars: int, *, drop_last: bool) -> list[Line]:
    texts = data.decode("utf-8", "replace").split("\n")
    if texts and texts[-1] == "":
        texts.pop()
    elif drop_last and texts:
        texts.pop()  # the byte bound cut it in the middle: the next read has it whole
    lines = []
    for raw in texts:
        stamp, _, text = raw.partition(" ")
        try:
            at = moment(stamp)
        except BadCursor:
            continue
        if start is not None and at <= start:
            continue  # the cursor's own line (the engine's `since` includes it)
        text = text.rstrip("\r")
        if len(text) > max_line_chars:
            text = f"{text[:max_line_chars]} [deployer: line cut at {max_line_chars} characters]"
        lines.append(Line(stamp, text))
    return lines
