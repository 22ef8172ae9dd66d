"""A container's figures from the engine's one-shot stats: plain values in, plain values out.

One-shot stats (`GET /containers/{id}/stats?stream=false&one-shot=true`, API 1.41) answer at
once with the cgroup's counters but no previous reading, so CPU and network are worked out
here from two rounds' counters: CPU time used over wall time passed, bytes now minus bytes then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Reading:
    """Counters and gauges of one container at one instant."""

    read_at: float  # seconds since the epoch, the engine's clock
    cpu_ns: int | None
    memory_bytes: int | None
    memory_limit_bytes: int | None
    rx_bytes: int | None
    tx_bytes: int | None

    def counters(self) -> list:
        return [self.read_at, self.cpu_ns, self.rx_bytes, self.tx_bytes]


@dataclass(frozen=True)
class Figures:
    cpu_percent: float | None
    memory_bytes: int | None
    memory_limit_bytes: int | None
    net_rx_bytes: int | None
    net_tx_bytes: int | None


def parse(stats: dict) -> Reading | None:
    """The reading in an engine's stats answer; None for a container that is not running
    (the engine then answers with empty figures and a zero time)."""
    read = _time(stats.get("read"))
    cpu = (stats.get("cpu_stats") or {}).get("cpu_usage") or {}
    memory = stats.get("memory_stats") or {}
    if read is None or not memory:
        return None
    networks = stats.get("networks") or {}
    rx = sum(int(n.get("rx_bytes") or 0) for n in networks.values()) if networks else None
    tx = sum(int(n.get("tx_bytes") or 0) for n in networks.values()) if networks else None
    return Reading(
        read_at=read,
        cpu_ns=int(cpu["total_usage"]) if "total_usage" in cpu else None,
        memory_bytes=memory_used(memory),
        memory_limit_bytes=int(memory["limit"]) if memory.get("limit") else None,
        rx_bytes=rx,
        tx_bytes=tx,
    )


def memory_used(memory: dict) -> int | None:
    """Memory in use as `docker stats` counts it: usage less the page cache the kernel can
    drop at once (cgroup v1 `total_inactive_file`, v2 `inactive_file`)."""
    if "usage" not in memory:
        return None
    usage = int(memory["usage"])
    details = memory.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):
        if key in details and int(details[key]) < usage:
            return usage - int(details[key])
    return usage


def figures(reading: Reading, previous: list | None) -> Figures:
    """The sample's figures from this reading and the previous round's counters (as stored by
    `Reading.counters()`). Without a previous reading, or when a counter went down (the
    container restarted and its cgroup started again at zero), rates are unknown: a gap."""
    cpu = rx = tx = None
    if previous and len(previous) == 4:
        then, cpu_then, rx_then, tx_then = previous
        elapsed = reading.read_at - then
        if elapsed > 0:
            cpu_ns = _delta(reading.cpu_ns, cpu_then)
            cpu = round(cpu_ns / (elapsed * 1e9) * 100, 2) if cpu_ns is not None else None
            rx = _delta(reading.rx_bytes, rx_then)
            tx = _delta(reading.tx_bytes, tx_then)
    return Figures(cpu, reading.memory_bytes, reading.memory_limit_bytes, rx, tx)


def _delta(now: int | None, then: int | None) -> int | None:
    if now is None or then is None or now < then:
        return None
    return now - then


def _time(text: str | None) -> float | None:
    """The engine's RFC 3339 time with nanoseconds; its zero time means no reading."""
    if not text or text.startswith("0001-"):
        return None
    head, _, rest = text.partition(".")
    fraction = "".join(ch for ch in rest if ch.isdigit())[:6]
    zone = rest[len("".join(ch for ch in rest if ch.isdigit())) :] if rest else text[19:]
    zone = "+00:00" if zone in ("Z", "") else zone
    try:
        return datetime.fromisoformat(f"{head[:19]}.{fraction or '0'}{zone}").timestamp()
    except ValueError:
        return None
