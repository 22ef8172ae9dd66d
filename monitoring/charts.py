"""A small response-time chart as inline SVG, drawn on the server: no script, no external service."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

LINE = "#2456d6"
FAILED = "#d93025"
GRID = "#dde1e6"
TEXT = "#5b6673"
LEFT, RIGHT, TOP, BOTTOM = 48, 6, 8, 18


@dataclass(frozen=True)
class Point:
    time: datetime
    latency_ms: float | None
    ok: bool


@dataclass(frozen=True)
class Bucket:
    index: int
    latency_ms: float | None  # mean of the answers in the slot; None without an answer
    failures: int


def bucketize(
    points: Sequence[Point], *, start: datetime, end: datetime, buckets: int
) -> list[Bucket]:
    """Points grouped into `buckets` equal slots of [start, end]; empty slots are left out."""
    span = (end - start).total_seconds()
    if span <= 0 or buckets <= 0:
        return []
    latencies: dict[int, list[float]] = {}
    failures: dict[int, int] = {}
    for point in points:
        offset = (point.time - start).total_seconds()
        if not 0 <= offset <= span:
            continue
        index = min(buckets - 1, int(offset / span * buckets))
        if point.latency_ms is not None:
            latencies.setdefault(index, []).append(point.latency_ms)
        if not point.ok:
            failures[index] = failures.get(index, 0) + 1
    return [
        Bucket(
            index,
            statistics.fmean(latencies[index]) if index in latencies else None,
            failures.get(index, 0),
        )
        for index in sorted(set(latencies) | set(failures))
    ]


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 10): a readable axis top."""
    value = max(value, 10.0)
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def response_time_chart(
    points: Sequence[Point],
    *,
    start: datetime,
    end: datetime,
    width: int = 640,
    height: int = 140,
    buckets: int = 144,
    label: str = "last 24 hours",
    start_label: str = "24 h ago",
) -> SafeString:
    """An <svg> of mean response time per slot, with failed checks as red marks at the bottom.

    The line breaks where no check answered. The chart's title says the same in words
    (median, slowest, failed checks) for screen readers and for anyone without the picture.
    """
    slots = bucketize(points, start=start, end=end, buckets=buckets)
    answered = [p.latency_ms for p in points if p.latency_ms is not None and start <= p.time <= end]
    failed = sum(bucket.failures for bucket in slots)
    if not slots:
        summary = f"Response time, {label}: no checks yet."
    else:
        summary = f"Response time, {label}: "
        if answered:
            summary += (
                f"median {statistics.median(answered):.0f} ms, slowest {max(answered):.0f} ms, "
            )
        summary += f"{failed} failed check{'s' if failed != 1 else ''}."
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    slot_w = plot_w / buckets
    top = nice_ceiling(max(answered, default=0.0))
    x, y, parts = frame(
        width,
        height,
        slots=buckets,
        top=top,
        summary=summary,
        top_label=f"{top:.0f} ms",
        start_label=start_label,
    )
    path = _line_path([(b.index, b.latency_ms) for b in slots], x, y)
    if path:
        parts.append(
            f'<path d="{path}" fill="none" stroke="{LINE}" stroke-width="1.5" '
            'stroke-linejoin="round" stroke-linecap="round" vector-effect="non-scaling-stroke"/>'
        )
    for bucket in slots:
        if bucket.failures:
            parts.append(
                f'<rect x="{LEFT + bucket.index * slot_w:.1f}" y="{TOP + plot_h - 4}" '
                f'width="{max(slot_w, 2):.1f}" height="4" fill="{FAILED}">'
                f"<title>{bucket.failures} failed check{'s' if bucket.failures != 1 else ''}"
                "</title></rect>"
            )
    if not slots:
        parts.append(_text(LEFT + plot_w / 2, TOP + plot_h / 2, "No checks yet", anchor="middle"))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above


def frame(
    width: int,
    height: int,
    *,
    slots: int,
    top: float,
    summary: str,
    top_label: str,
    start_label: str,
):
    """(x of a slot, y of a value, the SVG's opening parts): the frame every chart shares, its
    summary in words as its title, gridlines at 0 and `top`, the time from `start_label` to now."""
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    slot_w = plot_w / slots

    def x(index: int) -> float:
        return LEFT + (index + 0.5) * slot_w

    def y(value: float) -> float:
        return TOP + plot_h - min(max(value, 0), top) / top * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="none" '
        f'aria-label="{escape(summary)}">',
        f"<title>{escape(summary)}</title>",
        f'<line x1="{LEFT}" y1="{TOP}" x2="{width - RIGHT}" y2="{TOP}" stroke="{GRID}"/>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{width - RIGHT}" y2="{TOP + plot_h}" '
        f'stroke="{GRID}"/>',
        _text(LEFT - 4, TOP + 4, top_label, anchor="end"),
        _text(LEFT - 4, TOP + plot_h, "0", anchor="end"),
        _text(LEFT, height - 4, start_label, anchor="start"),
        _text(width - RIGHT, height - 4, "now", anchor="end"),
    ]
    return x, y, parts


def _line_path(values: list[tuple[int, float | None]], x, y) -> str:
    """SVG path commands joining consecutive answered slots; a gap starts a new segment."""
    segments: list[list[str]] = []
    previous = None
    for index, ms in values:
        if ms is None:
            previous = None
            continue
        if previous is None or index != previous + 1:
            segments.append([])
        segments[-1].append(f"{x(index):.1f},{y(ms):.1f}")
        previous = index
    # A lone point has no length: a tiny step with round caps draws it as a dot.
    return " ".join(
        f"M{seg[0]} h0.01" if len(seg) == 1 else "M" + " L".join(seg) for seg in segments
    )


def _text(x: float, y: float, text: str, *, anchor: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="10" fill="{TEXT}" text-anchor="{anchor}">'
        f"{escape(text)}</text>"
    )
