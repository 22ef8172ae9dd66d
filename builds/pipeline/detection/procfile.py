"""Procfile: `web:` and `release:` process lines."""

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
