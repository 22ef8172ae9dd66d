"""A full git commit id: 40 lowercase hex digits, the one pattern every part checks against."""

from __future__ import annotations

import re

SHA = re.compile(r"[0-9a-f]{40}")


def is_sha(text: str) -> bool:
    return bool(SHA.fullmatch(text))
