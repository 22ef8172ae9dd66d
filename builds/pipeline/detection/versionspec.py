"""Python version specifiers as people write them, matched against available minors.

Understands PEP 440 (`>=3.10,<3.13`, `~=3.11`, `==3.13.*`, `!=3.12.*`),
Poetry (`^3.12`, `~3.12`, `>=3.9 <4`, `3.11 || 3.12`) and bare versions
(`3.12`, `3.12.1`, `python-3.12.1`). Patch levels come from the base image,
so a minor counts as allowed when some patch release of it satisfies the spec.
"""

from __future__ import annotations

import re

_CLAUSE = re.compile(r"(\^|~=|~|===|==|!=|>=|<=|>|<|=)?\s*v?(\*|\d+(?:\.\d+)*(?:\.\*)?)")
_MAX_PATCH = 60

Version = tuple[int, int, int]


class SpecError(ValueError):
    """The text is not a version specifier this module understands."""


def parse_minor(text: str) -> tuple[int, int]:
    """(3, 12) from "3.12" or "3.12.4"; raises SpecError."""
    match = re.fullmatch(r"\s*(\d+)\.(\d+)(?:\.\d+)?\s*", text)
    if not match:
        raise SpecError(f"not a Python version: {text!r}")
    return int(match[1]), int(match[2])


def clean(spec: str) -> str:
    """Drop a `python-`/`python` prefix and surrounding quotes and space."""
    spec = spec.strip().strip("\"'").strip()
    return re.sub(r"^(?:c?python)[-_ ]?(?=\d)", "", spec, flags=re.IGNORECASE)


def minor_allowed(spec: str, minor: tuple[int, int]) -> bool:
    """True if some patch release of `minor` satisfies `spec`; raises SpecError."""
    alternatives = [_parse(part) for part in re.split(r"\|\|?", clean(spec))]
    return any(
        all(_allows(op, target, wildcard, (*minor, patch)) for op, target, wildcard in clauses)
        for clauses in alternatives
        for patch in range(_MAX_PATCH)
    )


def _parse(text: str) -> list[tuple[str, tuple[int, ...], bool]]:
    clauses: list[tuple[str, tuple[int, ...], bool]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _CLAUSE.match(text, position)
        if not match:
            raise SpecError(f"not a version specifier: {text!r}")
        op, version = match[1] or "", match[2]
        if version == "*":
            clauses.append(("*", (), False))
        else:
            wildcard = version.endswith(".*")
            numbers = tuple(int(n) for n in version.removesuffix(".*").split("."))
            clauses.append((op, numbers, wildcard))
        position = match.end()
        separator = re.compile(r"\s*,?\s*").match(text, position)
        position = separator.end() if separator else position
    if not clauses:
        raise SpecError("empty version specifier")
    return clauses


def _pad(numbers: tuple[int, ...]) -> Version:
    padded = (*numbers, 0, 0, 0)
    return padded[0], padded[1], padded[2]


def _bump(numbers: tuple[int, ...], index: int) -> Version:
    """The first version past the given component: _bump((3, 12), 0) == (4, 0, 0)."""
    head = list(numbers[: index + 1])
    head[-1] += 1
    return _pad(tuple(head))


def _allows(op: str, target: tuple[int, ...], wildcard: bool, version: Version) -> bool:
    low = _pad(target)
    if op == "*":
        return True
    if wildcard or op in ("", "="):
        # Bare "3.12" and "3.12.*" mean any release starting with those numbers.
        prefix = version[: len(target)] == target
        return not prefix if op == "!=" else prefix
    if op in ("==", "==="):
        return version == low
    if op == "!=":
        return version != low
    if op == ">=":
        return version >= low
    if op == ">":
        return version > low
    if op == "<=":
        return version <= low
    if op == "<":
        return version < low
    if op == "~=":
        return version >= low and version < _bump(target, max(len(target) - 2, 0))
    if op == "^":
        first_nonzero = next((i for i, n in enumerate(target) if n), len(target) - 1)
        return version >= low and version < _bump(target, first_nonzero)
    if op == "~":
        return version >= low and version < _bump(target, min(len(target) - 1, 1))
    raise SpecError(f"unknown operator {op!r}")
