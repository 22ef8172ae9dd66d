"""Procfile: `web:` and `release:` process lines, and the other process types (`worker:`...)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass
class ProcessLine:
    command: str
    line: int


def read_procfile(text: str | None) -> dict[str, ProcessLine]:
    """Process type -> command, from Procfile text (the first line of a type wins)."""
    processes: dict[str, ProcessLine] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        match = re.match(r"^\s*([A-Za-z0-9_-]+)\s*:\s*(.+?)\s*$", line)
        if match and not line.lstrip().startswith("#"):
            processes.setdefault(match[1].lower(), ProcessLine(match[2], number))
    return processes


# Lines that are not process types of their own: the web process and the release command.
NOT_PROCESSES = ("web", "release")


def other_processes(processes: dict[str, ProcessLine]) -> dict[str, ProcessLine]:
    """The process types that run as containers of their own beside the web (worker:, ...)."""
    return {name: line for name, line in processes.items() if name not in NOT_PROCESSES}
