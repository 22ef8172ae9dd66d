"""Line charts of an app's metrics and a tiny trend line, as inline SVG drawn on the server.

The same drawing as the response-time chart (monitoring.charts): equal time slots, a line
that breaks where a slot has no sample, the figures in words in the chart's title.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from monitoring.charts import BOTTOM, LEFT, RIGHT, TOP, _line_path, _text, frame

COLORS = ("#2456d6", "#d97706", "#d93025", "#0f9d58")


@dataclass(frozen=True)
class Value:
    time: datetime
    value: float | None
    seconds: float = 0.0  # the period the value covers: rates are counts over these


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Value]
    # How a slot's values become one: "mean", "max", or "rate" (their sum per second).
    how: str = "mean"
    color: str = ""
    dashed: bool = False


def slot_values(
    values: Sequence[Value], *, how: str, start: datetime, end: datetime, slots: int
) -> list[tuple[int, float | None]]:
    """(slot index, value) for each slot holding a known value, in order."""
    span = (end - start).total_seconds()
    if span <= 0 or slots <= 0:
        return []
    grouped: dict[int, list[Value]] = {}
    for value in values:
        offset = (value.time - start).total_seconds()
        if value.value is None or not 0 <= offset <= span:
            continue
        grouped.setdefault(min(slots - 1, int(offset / span * slots)), []).append(value)
    found = []
    for index in sorted(grouped):
        group = grouped[index]
        if how == "max":
            found.append((index, max(v.value for v in group)))
        elif how == "rate":
            seconds = sum(v.seconds for v in group)
            found.append((index, sum(v.value for v in group) / seconds if seconds else None))
        else:
            found.append((index, statistics.fmean(v.value for v in group)))
    return found


def axis_top(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (small values too)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    start: datetime,
    end: datetime,
    unit: Callable[[float], str],
    start_label: str,
    slots: int = 120,
    width: int = 640,
    height: int = 140,
    top: float | None = None,
) -> SafeString:
    """An <svg> with one line per series; its title says each series' latest and peak value."""
    lines = [
        (s, slot_values(s.values, how=s.how, start=start, end=end, slots=slots)) for s in series
    ]
    known = [v for _, found in lines for _, v in found if v is not None]
    words = []
    for one, found in lines:
        values = [v for _, v in found if v is not None]
        if values:
            words.append(f"{one.name} latest {unit(values[-1])}, peak {unit(max(values))}")
    summary = f"{title}: " + ("; ".join(words) if words else "no samples") + "."
    top = top or axis_top(max(known, default=0.0))
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    x, y, parts = frame(
        width,
        height,
        slots=slots,
        top=top,
        summary=summary,
        top_label=unit(top),
        start_label=start_label,
    )
    legend_x = LEFT + 90
    for number, (one, found) in enumerate(lines):
        color = one.color or COLORS[number % len(COLORS)]
        dash = ' stroke-dasharray="4 3"' if one.dashed else ""
        path = _line_path(found, x, y)
        if path:
            parts.append(
                f'<path d="{path}" fill="none" stroke="{color}" stroke-width="1.5"{dash} '
                'stroke-linejoin="round" stroke-linecap="round" vector-effect="non-scaling-stroke"/>'
            )
        parts.append(
            f'<text x="{legend_x:.1f}" y="{height - 4}" font-size="10" fill="{color}">'
            f"{escape(one.name)}</text>"
        )
        legend_x += 12 + 6 * len(one.name)
    if not known:
        parts.append(_text(LEFT + plot_w / 2, TOP + plot_h / 2, "No samples", anchor="middle"))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above


def sparkline(
    values: Sequence[Value], *, start: datetime, end: datetime, label: str, slots: int = 24
) -> SafeString:
    """A tiny trend line (80 x 20) without axes; its title says the figure in words."""
    found = slot_values(values, how="mean", start=start, end=end, slots=slots)
    numbers = [v for _, v in found if v is not None]
    if not numbers:
        return mark_safe("")
    width, height = 80, 20
    top = axis_top(max(numbers))
    summary = f"{label}: latest {numbers[-1]:.1f}, peak {max(numbers):.1f}"
    path = _line_path(
        found,
        lambda i: (i + 0.5) * width / slots,
        lambda v: 1 + (height - 2) * (1 - min(v, top) / top),
    )
    return mark_safe(  # noqa: S308 - the only text is escaped
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(summary)}"><title>{escape(summary)}</title>'
        f'<path d="{path}" fill="none" stroke="{COLORS[0]}" stroke-width="1.2" '
        'vector-effect="non-scaling-stroke"/></svg>'
    )
