from __future__ import annotations

from monitoring import containerstats

STATS = {
    "read": "2026-12-07T00:05:15.72799528Z",
    "cpu_stats": {"cpu_usage": {"total_usage": 618_215_393}},
    "memory_stats": {
        "usage": 52_359_168,
        "limit": 536_870_912,
        "stats": {"total_inactive_file": 102_400, "cache": 4_476_928},
    },
    "networks": {
        "eth0": {"rx_bytes": 1296, "tx_bytes": 10},
        "eth1": {"rx_bytes": 4, "tx_bytes": 0},
    },
}


def test_one_shot_stats_become_a_reading():
    reading = containerstats.parse(STATS)
    assert reading.cpu_ns == 618_215_393
    assert reading.memory_bytes == 52_359_168 - 102_400  # reclaimable page cache left out
    assert reading.memory_limit_bytes == 536_870_912
    assert (reading.rx_bytes, reading.tx_bytes) == (1300, 10)
    assert reading.read_at == 1796601915.727995


def test_cgroup_v2_memory_leaves_out_inactive_file():
    assert containerstats.memory_used({"usage": 1000, "stats": {"inactive_file": 300}}) == 700


def test_a_stopped_container_gives_no_reading():
    stopped = {"read": "0001-01-01T00:00:00Z", "memory_stats": {}, "cpu_stats": {}}
    assert containerstats.parse(stopped) is None
    assert containerstats.parse({}) is None


def test_cpu_and_network_are_worked_out_from_two_readings():
    reading = containerstats.parse(STATS)
    previous = [reading.read_at - 20, reading.cpu_ns - 4_000_000_000, 300, 0]
    figures = containerstats.figures(reading, previous)
    assert figures.cpu_percent == 20.0  # 4 s of CPU in 20 s
    assert (figures.net_rx_bytes, figures.net_tx_bytes) == (1000, 10)


def test_first_reading_and_a_restarted_container_leave_rates_unknown():
    reading = containerstats.parse(STATS)
    assert containerstats.figures(reading, None).cpu_percent is None
    restarted = [reading.read_at - 20, reading.cpu_ns + 1, 5000, 5000]
    figures = containerstats.figures(reading, restarted)
    assert figures.cpu_percent is None and figures.net_rx_bytes is None
    assert figures.memory_bytes == reading.memory_bytes
