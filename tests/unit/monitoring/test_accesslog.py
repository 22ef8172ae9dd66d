from __future__ import annotations

import json
import os

from monitoring import accesslog
from monitoring.accesslog import Position


def entry(host: str = "shop.localhost:8080", status: int = 200, seconds: float = 0.012) -> bytes:
    line = {
        "level": "info",
        "logger": "http.log.access.deployer",
        "msg": "handled request",
        "request": {"host": host, "method": "GET", "uri": "/"},
        "duration": seconds,
        "status": status,
    }
    return json.dumps(line).encode() + b"\n"


def test_a_file_seen_first_is_read_from_its_end(tmp_path):
    log = tmp_path / "access.log"
    log.write_bytes(entry() * 3)
    lines, position = accesslog.read_new(log, Position(), max_bytes=10_000)
    assert lines == []
    assert position == Position(os.stat(log).st_ino, log.stat().st_size)


def test_new_whole_lines_are_read_and_a_partial_one_waits(tmp_path):
    log = tmp_path / "access.log"
    log.write_bytes(entry())
    _, position = accesslog.read_new(log, Position(), max_bytes=10_000)
    with log.open("ab") as file:
        file.write(entry(status=500) + entry()[:20])
    lines, position = accesslog.read_new(log, position, max_bytes=10_000)
    assert [r.status for r in accesslog.parse(lines)[0]] == [500]
    with log.open("ab") as file:
        file.write(entry()[20:])
    lines, _ = accesslog.read_new(log, position, max_bytes=10_000)
    assert [r.status for r in accesslog.parse(lines)[0]] == [200]


def test_a_rolled_over_file_is_finished_before_the_new_one_is_read(tmp_path):
    log = tmp_path / "caddy-access.log"
    log.write_bytes(entry())
    _, position = accesslog.read_new(log, Position(), max_bytes=10_000)
    with log.open("ab") as file:
        file.write(entry(status=404))
    log.rename(tmp_path / "caddy-access-2026-12-07T00-00-00.000.log")
    log.write_bytes(entry(status=503))
    lines, position = accesslog.read_new(log, position, max_bytes=10_000)
    assert [r.status for r in accesslog.parse(lines)[0]] == [404, 503]
    assert position.offset == log.stat().st_size


def test_a_truncated_file_is_read_from_its_start(tmp_path):
    log = tmp_path / "access.log"
    log.write_bytes(entry() * 5)
    _, position = accesslog.read_new(log, Position(), max_bytes=10_000)
    log.write_bytes(entry(status=302))
    lines, _ = accesslog.read_new(log, position, max_bytes=10_000)
    assert [r.status for r in accesslog.parse(lines)[0]] == [302]


def test_a_missing_file_keeps_the_position(tmp_path):
    position = Position(123, 456)
    assert accesslog.read_new(tmp_path / "none.log", position, max_bytes=10) == ([], position)


def test_lines_that_do_not_parse_are_counted_and_skipped():
    other_logger = json.dumps({"logger": "tls", "msg": "x"}).encode()
    lines = [b"{not json", entry(), b'{"logger": "http.log.access.deployer"}', other_logger, b""]
    requests, bad = accesslog.parse(lines)
    assert [r.host for r in requests] == ["shop.localhost"]
    assert requests[0].ms == 12.0
    assert bad == 2


def test_traffic_is_grouped_by_project_with_status_classes_and_percentiles():
    lines = [entry(seconds=0.01)] * 18 + [entry(status=502, seconds=1.0)] * 2
    lines += [entry(host="SHOP.example.com", status=404), entry(host="unknown.localhost")]
    requests, _ = accesslog.parse(lines)
    found = accesslog.traffic(requests, {"shop.localhost": 7, "shop.example.com": 7})
    assert list(found) == [7]
    shop = found[7]
    assert shop.requests == 21
    assert shop.by_class == {2: 18, 5: 2, 4: 1}
    assert shop.p50_ms == 10.0
    assert shop.p95_ms == 1000.0
    assert sum(shop.histogram().values()) == 21
