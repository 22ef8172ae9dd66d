from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitoring import metric_charts
from monitoring.metric_charts import Series, Value

START = datetime(2026, 12, 7, tzinfo=UTC)
END = START + timedelta(hours=1)


def at(minutes: float, value: float | None, seconds: float = 20) -> Value:
    return Value(START + timedelta(minutes=minutes), value, seconds)


def test_slots_average_take_the_peak_or_make_a_rate():
    values = [at(1, 10), at(2, 30), at(31, None)]
    assert metric_charts.slot_values(values, how="mean", start=START, end=END, slots=2) == [(0, 20)]
    assert metric_charts.slot_values(values, how="max", start=START, end=END, slots=2) == [(0, 30)]
    # 40 requests over two 20-second rounds: one per second.
    assert metric_charts.slot_values(values, how="rate", start=START, end=END, slots=2) == [
        (0, 1.0)
    ]


def test_a_gap_breaks_the_line_into_segments():
    chart = metric_charts.line_chart(
        [Series("CPU", [at(1, 5), at(2, 6), at(40, 7), at(41, 8)])],
        title="CPU",
        start=START,
        end=END,
        unit=lambda v: f"{v:.0f} %",
        start_label="1 h ago",
        slots=60,
    )
    assert chart.count(" M") + chart.count('d="M') == 2
    assert "CPU: CPU latest 8 %, peak 8 %." in chart


def test_chart_without_samples_says_so_and_escapes_its_names():
    chart = metric_charts.line_chart(
        [Series("<b>", [])], title="T", start=START, end=END, unit=str, start_label="x"
    )
    assert "No samples" in chart and "T: no samples." in chart
    assert "<b>" not in chart


def test_axis_top_reads_well_for_small_and_large_values():
    assert metric_charts.axis_top(0.3) == 0.5
    assert metric_charts.axis_top(12.5) == 20
    assert metric_charts.axis_top(0) == 1


def test_sparkline_is_empty_without_samples():
    assert metric_charts.sparkline([], start=START, end=END, label="CPU") == ""
    assert 'class="sparkline"' in metric_charts.sparkline(
        [at(5, 3)], start=START, end=END, label="CPU"
    )
