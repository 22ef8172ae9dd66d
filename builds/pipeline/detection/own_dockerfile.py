"""A repository's own Dockerfile: the images it starts FROM and the port it EXPOSEs.

Stage names (`FROM build AS final` after `FROM python:3.12 AS build`) and
`scratch` are not images; `ARG`s declared before the first FROM are
substituted with their defaults so the build stage can check registries.
"""

from __future__ import annotations

import re

_ARG = re.compile(r"^ARG\s+([A-Za-z_]\w*)(?:=(\S*))?", re.IGNORECASE)
_FROM = re.compile(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE)
_EXPOSE = re.compile(r"^EXPOSE\s+(\d+)", re.IGNORECASE)


def instructions(text: str) -> list[tuple[int, str]]:
    """(line, instruction) with continuation lines joined and comments dropped."""
    result: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        result.append((start, pending + line))
        pending = ""
    return result


def base_images(text: str) -> list[tuple[str, int]]:
    """(image, line) for every FROM that names an image rather than an earlier stage."""
    args: dict[str, str] = {}
    stages: set[str] = set()
    images: list[tuple[str, int]] = []
    for line, instruction in instructions(text):
        arg, source = _ARG.match(instruction), _FROM.match(instruction)
        if arg and not images and not stages:
            args[arg[1]] = arg[2] or ""
        elif source:
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m[1], m[0]), source[1])
            if image.lower() not in stages and image != "scratch":
                images.append((image, line))
            if source[2]:
                stages.add(source[2].lower())
    return images


def exposed_port(text: str) -> int | None:
    """The first EXPOSEd port, if any."""
    for _, instruction in instructions(text):
        match = _EXPOSE.match(instruction)
        if match:
            return int(match[1])
    return None
