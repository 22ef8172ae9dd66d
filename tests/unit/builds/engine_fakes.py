"""A fake of the engine's log API (the one seam runtime logs cross), for view tests."""

from __future__ import annotations

from contextlib import contextmanager

from builds.pipeline.runtime_logs import moment


class FakeLogs:
    """`lines`: (engine timestamp, text); `api.logs` answers as the engine does: lines at or
    after `since`, the last `tail` of them, as timestamped chunks."""

    def __init__(self, lines: list[tuple[str, str]]):
        self.lines = lines
        self.asked: list[dict] = []
        self.api = self

    def logs(self, container, **params):
        self.asked.append(params)
        assert params["follow"] is False and params["stream"] is True
        chosen = [
            (at, text)
            for at, text in self.lines
            if params["since"] is None or _seconds(at) >= params["since"]
        ]
        if params["tail"] != "all":
            chosen = chosen[-params["tail"] :]
        return iter([f"{at} {text}\n".encode() for at, text in chosen])

    @contextmanager
    def client(self, timeout=None):
        yield self


def _seconds(at: str) -> float:
    seconds, nanos = moment(at)
    return seconds + nanos / 1e9
