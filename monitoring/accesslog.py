"""The router's JSON access log, read a little at a time: what each app served since last read.

Caddy writes one JSON object per request (routing.config.access_logging) to a file on this
host, and rolls it over by renaming it and starting a new one. A round reads from the byte
where the last one stopped: after a roll-over it finishes the renamed file (found by its
inode) and starts the new one at byte 0; a file shorter than the offset was truncated and is
read from its start. Only whole lines are read. A line that does not parse is counted and
skipped, never raised. No ORM here: files and plain values.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from monitoring import latency

ACCESS_LOGGER_PREFIX = "http.log.access"


@dataclass(frozen=True)
class Position:
    inode: int | None = None
    offset: int = 0


@dataclass(frozen=True)
class Request:
    host: str
    status: int
    ms: float


@dataclass
class Traffic:
    """What one app served in one round, as the router saw it."""

    requests: int = 0
    by_class: dict[int, int] = field(default_factory=dict)  # 2 -> count of 2xx, ...
    durations_ms: list[float] = field(default_factory=list)

    @property
    def p50_ms(self) -> float | None:
        return latency.percentile(self.durations_ms, 0.5)

    @property
    def p95_ms(self) -> float | None:
        return latency.percentile(self.durations_ms, 0.95)

    def histogram(self) -> dict[str, int] | None:
        return latency.histogram(self.durations_ms) if self.durations_ms else None


def read_new(
    path: str | Path, position: Position, *, max_bytes: int
) -> tuple[list[bytes], Position]:
    """The whole lines written since `position`, at most about `max_bytes`, and where to go on.

    A file seen for the first time is read from its end (what came before is history, not
    this round). A missing file gives nothing and keeps the position (Caddy has not written
    yet, or is rolling over).
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return [], position
    if position.inode is None:
        return [], Position(stat.st_ino, stat.st_size)
    lines: list[bytes] = []
    offset = position.offset
    if stat.st_ino != position.inode:
        rolled = _renamed_file(path, position.inode)
        if rolled is not None:
            lines, _ = _read_lines(rolled, position.offset, max_bytes)
        offset = 0
    elif stat.st_size < offset:
        offset = 0
    more, offset = _read_lines(path, offset, max(0, max_bytes - sum(map(len, lines))))
    return lines + more, Position(stat.st_ino, offset)


def _renamed_file(path: Path, inode: int) -> Path | None:
    """The rolled-over file that was `path` (Caddy renames it to <stem>-<time><suffix>)."""
    try:
        candidates = list(path.parent.glob(f"{path.stem}-*"))
    except OSError:
        return None
    for candidate in candidates:
        try:
            if candidate.stat().st_ino == inode:
                return candidate
        except OSError:
            continue
    return None


def _read_lines(path: Path, offset: int, max_bytes: int) -> tuple[list[bytes], int]:
    if max_bytes <= 0:
        return [], offset
    try:
        with path.open("rb") as file:
            file.seek(offset)
            chunk = file.read(max_bytes)
    except OSError:
        return [], offset
    end = chunk.rfind(b"\n")
    if end < 0:
        if len(chunk) >= max_bytes:  # one line longer than a round may read: skip it
            return [chunk], offset + len(chunk)
        return [], offset
    return chunk[: end + 1].splitlines(), offset + end + 1


def parse(lines: Iterable[bytes]) -> tuple[list[Request], int]:
    """The access entries among `lines`, and how many lines did not parse. Lines of other
    loggers are neither."""
    requests, bad = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not str(entry.get("logger", "")).startswith(ACCESS_LOGGER_PREFIX):
                continue
            host = str(entry["request"]["host"]).lower()
            requests.append(
                Request(_without_port(host), int(entry["status"]), float(entry["duration"]) * 1000)
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            bad += 1
    return requests, bad


def _without_port(host: str) -> str:
    if host.startswith("["):  # [::1]:8080
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def traffic(requests: Iterable[Request], projects_by_host: Mapping[str, int]) -> dict[int, Traffic]:
    """Requests grouped by the project whose host they asked for; other hosts are left out."""
    found: dict[int, Traffic] = {}
    for request in requests:
        project_id = projects_by_host.get(request.host)
        if project_id is None:
            continue
        one = found.setdefault(project_id, Traffic())
        one.requests += 1
        status_class = request.status // 100
        one.by_class[status_class] = one.by_class.get(status_class, 0) + 1
        one.durations_ms.append(request.ms)
    return found


def inode_of(path: str | Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None
