from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from monitoring.charts import Point, bucketize, nice_ceiling, response_time_chart

SVG = "{http://www.w3.org/2000/svg}"
END = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
START = END - timedelta(hours=24)


def every_half_minute(latency, ok=True, hours=24):
    return [
        Point(START + timedelta(seconds=30 * i), latency(i), ok if not callable(ok) else ok(i))
        for i in range(hours * 120)
    ]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(str(svg))


def test_chart_is_well_formed_svg_with_a_title_saying_it_in_words():
    svg = parse(response_time_chart(every_half_minute(lambda i: 40.0), start=START, end=END))

    assert svg.tag == f"{SVG}svg"
    assert svg.get("role") == "img"
    title = svg.find(f"{SVG}title").text
    assert title == ("Response time, last 24 hours: median 40 ms, slowest 40 ms, 0 failed checks.")


def test_a_day_of_checks_is_drawn_as_one_line_of_at_most_144_points():
    svg = parse(
        response_time_chart(every_half_minute(lambda i: 10.0 + i % 7), start=START, end=END)
    )

    path = svg.find(f"{SVG}path").get("d")
    assert path.count("M") == 1
    assert path.count("L") == 143


def test_slower_answers_are_drawn_higher():
    points = [
        Point(START + timedelta(hours=1), 10.0, True),
        Point(START + timedelta(hours=2), 90.0, True),
    ]
    svg = parse(response_time_chart(points, start=START, end=END))

    moves = svg.find(f"{SVG}path").get("d").split()
    first_y = float(moves[0].split(",")[1])
    second_y = float(moves[2].split(",")[1])
    assert second_y < first_y  # SVG's y grows downwards


def test_the_line_breaks_where_no_check_answered():
    points = every_half_minute(
        lambda i: None if 1000 <= i < 1500 else 20.0, ok=lambda i: not 1000 <= i < 1500
    )

    svg = parse(response_time_chart(points, start=START, end=END))

    assert svg.find(f"{SVG}path").get("d").count("M") == 2


def test_failed_checks_are_red_marks_with_a_count():
    points = every_half_minute(lambda i: 20.0, ok=lambda i: i not in (5, 6, 2000))

    svg = parse(response_time_chart(points, start=START, end=END))

    marks = svg.findall(f"{SVG}rect")
    assert [m.find(f"{SVG}title").text for m in marks] == ["2 failed checks", "1 failed check"]
    assert "3 failed checks" in svg.find(f"{SVG}title").text


def test_no_checks_shows_a_message_instead_of_a_line():
    svg = parse(response_time_chart([], start=START, end=END))

    assert svg.find(f"{SVG}path") is None
    assert "No checks yet" in [t.text for t in svg.findall(f"{SVG}text")]
    assert svg.find(f"{SVG}title").text == "Response time, last 24 hours: no checks yet."


def test_a_single_check_is_still_visible_as_a_dot():
    svg = parse(
        response_time_chart([Point(END - timedelta(minutes=1), 30.0, True)], start=START, end=END)
    )

    assert svg.find(f"{SVG}path").get("d").endswith("h0.01")


def test_axis_top_is_a_round_number_above_the_slowest_answer():
    svg = parse(
        response_time_chart([Point(START + timedelta(hours=3), 730.0, True)], start=START, end=END)
    )

    assert "1000 ms" in [t.text for t in svg.findall(f"{SVG}text")]


def test_nice_ceiling_picks_1_2_5_steps():
    assert [nice_ceiling(v) for v in (0, 7, 10, 11, 180, 201, 4999)] == [
        10,
        10,
        10,
        20,
        200,
        500,
        5000,
    ]


def test_points_outside_the_period_are_ignored():
    points = [
        Point(START - timedelta(minutes=1), 5.0, False),
        Point(END + timedelta(minutes=1), 5.0, True),
    ]

    assert bucketize(points, start=START, end=END, buckets=144) == []


def test_bucket_holds_the_mean_latency_and_its_failures():
    points = [
        Point(START + timedelta(minutes=1), 10.0, True),
        Point(START + timedelta(minutes=2), 30.0, True),
        Point(START + timedelta(minutes=3), None, False),
    ]

    (bucket,) = bucketize(points, start=START, end=END, buckets=144)

    assert (bucket.index, bucket.latency_ms, bucket.failures) == (0, 20.0, 1)
