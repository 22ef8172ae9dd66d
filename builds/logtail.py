"""The newest lines of the builds being followed, read once per web process and shared.

Fifty followers of one build each asked the database for the same few new lines four times
a second, and each rendered them. Here a process keeps, per running build, the last lines it
read, already rendered; a poll whose cursor falls inside them is answered from memory, and
only lines past the newest one kept are read, once, for every follower in the process.

Safe to share: a line never changes once stored (its number is unique in its build and it
was redacted before it was written), and builds.logfollow checks the user's role before it
asks, so a line reaches only someone who may see the build. A settled log, or a cursor
older than the kept lines, is read from the database as before: a viewer opening a page
costs one query, and memory stays bounded (MAX_LINES per build, MAX_BUILDS builds).
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from html import escape

from builds.models import BuildLogLine

# Lines kept per build: two polls' batches, so a follower a burst behind is still served here;
# and at most this many characters of them (lines may be 8,192 characters long).
MAX_LINES = 1000
MAX_CHARS = 500_000
# Builds kept per process, the least recently polled dropped first: at most 8 MB.
MAX_BUILDS = 16


@dataclass
class Tail:
    """Every stored line after `floor` up to `upto`, in order, as (seq, rendered <div>)."""

    floor: int
    upto: int
    seqs: list[int] = field(default_factory=list)
    divs: list[str] = field(default_factory=list)
    chars: int = 0
    # Held while one thread reads the newer lines: the others wait for them, not read them too.
    reading: threading.Lock = field(default_factory=threading.Lock)


_tails: OrderedDict[int, Tail] = OrderedDict()
_lock = threading.Lock()


def line_div(seq: int, text: str) -> str:
    """One escaped <div> for a line, in one f-string: format_html_join took 14 ms for a batch
    of 500 lines, paid by each of 50 followers when a build prints a burst."""
    stage = " stage-line" if text.startswith("==> ") else ""
    return (
        f'<div class="log-line{stage}" data-seq="{int(seq)}">'
        f'<span class="seq" aria-hidden="true">{int(seq)}</span>'
        f'<span class="text">{escape(text)}</span></div>'
    )


def read(build_id: int, after: int, limit: int) -> list[tuple[int, str]]:
    """Up to `limit` stored lines after `after`, as (seq, rendered <div>), from the database."""
    rows = BuildLogLine.objects.filter(build_id=build_id, seq__gt=after).order_by("seq")
    return [(seq, line_div(seq, text)) for seq, text in rows.values_list("seq", "text")[:limit]]


def lines_after(build_id: int, after: int, count: int, limit: int) -> list[tuple[int, str]]:
    """Up to `limit` lines after `after` of a running build whose row says `count` are stored.

    From the process's kept lines when the cursor is among them, reading only what is newer
    than the newest kept line, and only when `count` says there is some."""
    with _lock:
        tail = _tails.get(build_id)
        if tail is not None:
            _tails.move_to_end(build_id)
    if tail is None or after > tail.upto:
        # Nothing kept, or a follower ahead of it (the kept lines were read before a burst
        # and since left alone): keep from this cursor on.
        rows = read(build_id, after, max(limit, MAX_LINES))
        _keep(build_id, Tail(floor=after, upto=after), rows)
        return rows[:limit]
    if count > tail.upto:
        with tail.reading:
            if count > tail.upto:  # not read meanwhile by the thread this one waited for
                _extend(tail, read(build_id, tail.upto, MAX_LINES))
    with _lock:
        # Checked under the lock: another thread may just have dropped the oldest lines.
        if after >= tail.floor:
            start = bisect_right(tail.seqs, after)
            seqs, divs = tail.seqs[start : start + limit], tail.divs[start : start + limit]
            return list(zip(seqs, divs, strict=True))
    return read(build_id, after, limit)  # a follower further behind than the kept lines


def forget(build_id: int) -> None:
    """Drop a build's kept lines (its log settled: the last readers use the database)."""
    with _lock:
        _tails.pop(build_id, None)


def clear() -> None:
    with _lock:
        _tails.clear()


def _keep(build_id: int, tail: Tail, rows: list[tuple[int, str]]) -> None:
    _extend(tail, rows)
    with _lock:
        _tails[build_id] = tail
        while len(_tails) > MAX_BUILDS:
            _tails.popitem(last=False)


def _extend(tail: Tail, rows: list[tuple[int, str]]) -> None:
    """Append the rows newer than the newest kept (another thread may have read some first),
    then drop the oldest beyond MAX_LINES or MAX_CHARS."""
    with _lock:
        for seq, div in rows:
            if seq > tail.upto:
                tail.seqs.append(seq)
                tail.divs.append(div)
                tail.chars += len(div)
                tail.upto = seq
        excess = max(len(tail.seqs) - MAX_LINES, 0)
        dropped = sum(map(len, tail.divs[:excess]))
        while excess < len(tail.seqs) and tail.chars - dropped > MAX_CHARS:
            dropped += len(tail.divs[excess])
            excess += 1
        if excess:
            tail.floor = tail.seqs[excess - 1]
            tail.chars -= dropped
            del tail.seqs[:excess], tail.divs[:excess]
