"""Reading a running app's output in bounded pieces, with the engine's timestamps as cursor."""

from __future__ import annotations

import pytest
from docker import errors as docker_errors

from builds.pipeline import runtime_logs
from tests.unit.builds.engine_fakes import FakeLogs

CUT = " [deployer: line cut at 80 characters]"
LINES = [
    ("2026-12-06T10:00:00Z", "first"),
    ("2026-12-06T10:00:00.5Z", "second"),
    ("2026-12-06T10:00:00.500000001Z", "third"),
]


def _read(engine, **kwargs):
    options = {"tail": 100, "max_bytes": 1_000_000, "max_line_chars": 80, **kwargs}
    return runtime_logs.read(engine, "c1", **options)


def test_timestamps_compare_to_the_nanosecond_whatever_the_engine_trimmed():
    assert runtime_logs.moment("2026-12-06T10:00:00.5Z") == (1796551200, 500_000_000)
    assert runtime_logs.moment("2026-12-06T10:00:00Z") < runtime_logs.moment(
        "2026-12-06T10:00:00.000000001Z"
    )
    with pytest.raises(runtime_logs.BadCursor):
        runtime_logs.moment("2026-12-06 10:00:00")


def test_lines_after_the_cursor_only_never_the_cursors_own():
    engine = FakeLogs(LINES)

    read = _read(engine, after="2026-12-06T10:00:00.5Z")

    assert [line.text for line in read.lines] == ["third"]
    assert engine.asked[0]["since"] < 1796551200.5  # asked a little early, then dropped


def test_a_read_is_bounded_in_lines_bytes_and_line_length():
    engine = FakeLogs([*LINES, ("2026-12-06T10:00:01Z", "x" * 500)])

    assert [line.text for line in _read(engine, tail=2).lines] == ["third", "x" * 80 + CUT]
    long = _read(engine).lines[-1].text
    assert long == "x" * 80 + CUT
    cut = _read(engine, max_bytes=60)
    assert cut.cut and [line.text for line in cut.lines] == ["first", "second"]


def test_a_line_without_the_engines_timestamp_is_skipped_not_raised():
    engine = FakeLogs([("2026-12-06T10:00:00Z", "ok")])
    engine.lines.append(("garbage", "not a log line"))

    assert [line.text for line in _read(engine).lines] == ["ok"]


def test_a_container_that_is_gone_has_no_lines():
    class Gone:
        class api:
            @staticmethod
            def logs(container, **params):
                raise docker_errors.NotFound("No such container")

    assert _read(Gone()).lines == []
